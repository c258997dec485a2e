//! The publication pipeline over HTTP on real hubs (real SQLite, the hub's router, sign-in,
//! the cross-site token), generic over kinds with a tiny example kind registered here only:
//! draft → published by two different people; the reviewer cannot sign off; a county cannot
//! review a city's item; an item failing the automatic checks never reaches review; over a
//! real chain (kiosk → county → city → province, QUIC with certificates) a published item is
//! readable at the kiosk without sign-in and gone once the county withdraws it; knowledge's
//! published and withdrawn steps, and withdrawn knowledge leaving the kiosk's find-similar.
#![allow(clippy::unwrap_used)]

use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, ORIGIN, SET_COOKIE};
use yizhan_core::item::{FieldSpec, Kind};
use yizhan_core::publication::{Rules, StepKind};
use yizhan_core::{CaseDoc, Event, EventKind, NewCase, NewPerson, RegionLevel};
use yizhan_hub::Hub;
use yizhan_store::Store;
use yizhan_test_support::{Chain, Pki, eventually, start_hub};

const PASSWORD: &str = "pipeline-test-pw";
const CSRF: &str = "00112233445566778899aabbccddeeff";

/// The example kind: reviewed by one person, signed off by another, at county level or above.
const EXAMPLE: Kind = Kind {
    name: "example",
    name_zh: "示例信息",
    rules: Rules {
        combined_sign_off: false,
        lowest_centre: RegionLevel::County,
        highest_centre: RegionLevel::Province,
    },
    fields: &[
        FieldSpec { key: "price", label_zh: "参考价格", required: true, multi_line: false },
        FieldSpec { key: "contact", label_zh: "联系单位", required: false, multi_line: false },
    ],
    check: |item| {
        if item.title.contains("保证") { vec!["不得承诺保证收益".into()] } else { Vec::new() }
    },
};

async fn add_people(hub: &Hub, people: &[(&str, &str, &str)]) {
    for (id, role, region) in people {
        let np = NewPerson {
            id: (*id).into(),
            name: format!("名-{id}"),
            role: (*role).into(),
            region_code: (*region).into(),
            ..Default::default()
        };
        hub.accounts.create_person(&np, Some(PASSWORD)).await.unwrap();
    }
}

fn client() -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(COOKIE, format!("{}={CSRF}", yizhan_web::CSRF_COOKIE).parse().unwrap());
    headers.insert(yizhan_web::CSRF_HEADER, CSRF.parse().unwrap());
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .default_headers(headers)
        .build()
        .unwrap()
}

fn encode(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
}

async fn sign_in(hub: &Hub, id: &str) -> String {
    let base = format!("http://{}", hub.http_addr);
    let res = client()
        .post(format!("{base}/signin/password"))
        .header(ORIGIN, &base)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(encode(&[("id", id), ("password", PASSWORD), ("next", "/desk")]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "signing in {id}");
    let cookie = res.headers().get(SET_COOKIE).unwrap().to_str().unwrap();
    format!("{}; {}={CSRF}", cookie.split(';').next().unwrap(), yizhan_web::CSRF_COOKIE)
}

async fn get_url(url: &str, cookie: Option<&str>) -> (StatusCode, String) {
    let mut req = reqwest::Client::builder().no_proxy().build().unwrap().get(url);
    if let Some(c) = cookie {
        req = req.header(COOKIE, c);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    (status, res.text().await.unwrap_or_default())
}

/// The published item's PDF from `url`, as Debian's tools read it (packaging/deps.sh test
/// installs them): encrypted with the PDF 2.0 handler, opening without a password, modifying
/// and copying forbidden; returns its text (decrypted with the empty user password) and the
/// number of images it embeds.
async fn pdf_at(url: &str) -> (String, usize) {
    let res = reqwest::Client::builder().no_proxy().build().unwrap().get(url).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "{url}");
    assert_eq!(res.headers()[CONTENT_TYPE], "application/pdf");
    let bytes = res.bytes().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (pdf, plain) = (dir.path().join("item.pdf"), dir.path().join("plain.pdf"));
    std::fs::write(&pdf, &bytes).unwrap();
    let tool = |program: &str, args: &[&std::ffi::OsStr]| {
        let out = std::process::Command::new(program).args(args).output().expect("qpdf and poppler-utils");
        assert!(out.status.success(), "{program}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let enc = tool("qpdf", &["--show-encryption".as_ref(), pdf.as_os_str()]);
    assert!(enc.contains("R = 6") && enc.contains("modify other: not allowed"), "{enc}");
    assert!(enc.contains("extract for any purpose: not allowed"), "{enc}");
    tool("qpdf", &["--decrypt".as_ref(), pdf.as_os_str(), plain.as_os_str()]);
    let text = tool("pdftotext", &["-raw".as_ref(), plain.as_os_str(), "-".as_ref()]);
    let images = tool("pdfimages", &["-list".as_ref(), plain.as_os_str()]);
    (text.split_whitespace().collect(), images.lines().skip(2).count())
}

async fn get(hub: &Hub, cookie: &str, path: &str) -> (StatusCode, String) {
    get_url(&format!("http://{}{path}", hub.http_addr), Some(cookie)).await
}

/// Posts a form with the session's token; returns the status and the redirect target.
async fn post(hub: &Hub, cookie: &str, path: &str, form: &[(&str, &str)]) -> (StatusCode, String) {
    let base = format!("http://{}", hub.http_addr);
    let res = client()
        .post(format!("{base}{path}"))
        .header(COOKIE, cookie)
        .header(ORIGIN, &base)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(encode(form))
        .send()
        .await
        .unwrap();
    let location = res.headers().get(LOCATION).map(|l| l.to_str().unwrap().to_string()).unwrap_or_default();
    (res.status(), location)
}

/// Creates a draft through the form; returns its id.
async fn create(hub: &Hub, cookie: &str, title: &str, body: &str) -> String {
    let (s, page) = get(hub, cookie, "/desk/items/new?kind=example").await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("参考价格") && page.contains("知识产权归属"), "the kind's fields: {page}");
    let (s, location) = post(
        hub,
        cookie,
        "/desk/items",
        &[
            ("kind", "example"),
            ("title", title),
            ("body", body),
            ("f.price", "每斤 12 元"),
            ("f.contact", ""),
            ("ip_owner", "蒲江县茶叶协会"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    location.strip_prefix("/desk/items/").unwrap().to_string()
}

/// The marker of an item's row in the review queue (its other lists link to it too).
fn queued(id: &str) -> String {
    format!("data-id=\"{id}\"")
}

/// A small real PNG (decoded by the hub like any photo).
fn png() -> Vec<u8> {
    let img = image::RgbImage::from_fn(64, 48, |x, y| image::Rgb([(x * 3) as u8, (y * 5) as u8, 90]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// Uploads photos to an item as the page's form does; returns the status.
async fn upload_photos(hub: &Hub, cookie: &str, id: &str, photos: Vec<Vec<u8>>) -> StatusCode {
    let base = format!("http://{}", hub.http_addr);
    let mut form = reqwest::multipart::Form::new();
    for (n, bytes) in photos.into_iter().enumerate() {
        form = form.part("photos", reqwest::multipart::Part::bytes(bytes).file_name(format!("茶园{n}.png")));
    }
    client()
        .post(format!("{base}/desk/items/{id}/photos"))
        .header(COOKIE, cookie)
        .header(ORIGIN, &base)
        .multipart(form)
        .send()
        .await
        .unwrap()
        .status()
}

/// The hash of the item's display photo (the public page shows it).
async fn display_photo(hub: &Hub, id: &str) -> String {
    let id = id.to_string();
    let doc = hub.store.call(move |db| db.load_doc(&id)).await.unwrap().unwrap();
    let item = yizhan_core::item::ItemDoc::from_doc(&doc).unwrap();
    item.attachments.values().find(|a| a.role == "display").unwrap().hash.clone()
}

async fn step(hub: &Hub, cookie: &str, id: &str, step: StepKind) -> StatusCode {
    post(hub, cookie, &format!("/desk/items/{id}/step"), &[("step", step.code()), ("note", "意见")]).await.0
}

/// The stage the item page shows.
async fn stage(hub: &Hub, cookie: &str, id: &str) -> String {
    let (s, page) = get(hub, cookie, &format!("/desk/items/{id}")).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    let at = page.find("data-stage=\"").unwrap() + "data-stage=\"".len();
    page[at..].split('"').next().unwrap().to_string()
}

async fn item_bytes(hub: &Hub, id: &str) -> Vec<u8> {
    let id = id.to_string();
    hub.store.call(move |db| Ok(db.load_doc(&id)?.unwrap().save())).await.unwrap()
}

async fn county_hub(dir: &std::path::Path, scope: &str) -> Hub {
    let pki = Pki::new();
    let ca = Pki::hub(&pki.province, scope);
    let hub = start_hub(dir, &pki.hub_tls(&ca), None).await;
    hub.kinds.register(EXAMPLE);
    hub
}

/// Draft → submitted → checked → reviewed → signed off → published by two people, then
/// withdrawn: every step on the hub's clock in the item's timeline.
async fn publish_through_the_desk(hub: &Hub, title: &str) -> (String, String) {
    let author = sign_in(hub, "author").await;
    let reviewer = sign_in(hub, "reviewer").await;
    let signer = sign_in(hub, "signer").await;
    let id = create(hub, &author, title, "明前茶开始采摘，欢迎订购。").await;
    assert_eq!(stage(hub, &author, &id).await, "draft");
    // A photo: decoded and stored with its copies; not a photo, or not the author: refused.
    assert_eq!(
        upload_photos(hub, &author, &id, vec![b"not a photo".to_vec()]).await,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(upload_photos(hub, &reviewer, &id, vec![png()]).await, StatusCode::FORBIDDEN);
    assert_eq!(upload_photos(hub, &author, &id, vec![png()]).await, StatusCode::SEE_OTHER);
    assert!(get(hub, &author, &format!("/desk/items/{id}")).await.1.contains("item-photos"));
    assert_eq!(
        step(hub, &reviewer, &id, StepKind::Submit).await,
        StatusCode::FORBIDDEN,
        "only the author submits"
    );
    assert_eq!(step(hub, &author, &id, StepKind::Submit).await, StatusCode::SEE_OTHER);
    assert_eq!(stage(hub, &author, &id).await, "checked", "the automatic checks passed");
    assert_eq!(
        upload_photos(hub, &author, &id, vec![png()]).await,
        StatusCode::FORBIDDEN,
        "submitted: no more changes"
    );
    // It waits in the reviewer's queue.
    let (_, queue) = get(hub, &reviewer, "/desk/review").await;
    assert!(queue.contains(&queued(&id)) && queue.contains(title), "{queue}");
    assert_eq!(
        step(hub, &reviewer, &id, StepKind::SignOff).await,
        StatusCode::FORBIDDEN,
        "no sign-off before review"
    );
    assert_eq!(step(hub, &reviewer, &id, StepKind::Review).await, StatusCode::SEE_OTHER);
    assert_eq!(stage(hub, &reviewer, &id).await, "reviewed");
    // The reviewer may not also sign off: refused, nothing written.
    let before = item_bytes(hub, &id).await;
    assert_eq!(step(hub, &reviewer, &id, StepKind::SignOff).await, StatusCode::FORBIDDEN);
    assert_eq!(item_bytes(hub, &id).await, before, "a refused step writes nothing");
    let (_, queue) = get(hub, &reviewer, "/desk/review").await;
    assert!(!queue.contains(&queued(&id)), "not offered to the reviewer");
    let (_, queue) = get(hub, &signer, "/desk/review").await;
    assert!(queue.contains(&queued(&id)) && queue.contains("签发"), "{queue}");
    assert_eq!(step(hub, &signer, &id, StepKind::SignOff).await, StatusCode::SEE_OTHER);
    assert_eq!(stage(hub, &signer, &id).await, "published");
    let (_, page) = get(hub, &signer, &format!("/desk/items/{id}")).await;
    for s in [
        "提交审核",
        "自动检查通过",
        "审核通过",
        "签发",
        "发布",
        "名-author",
        "名-reviewer",
        "名-signer",
        "系统",
    ] {
        assert!(page.contains(s), "timeline shows {s}: {page}");
    }
    (id.clone(), format!("pub-{id}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_item_goes_from_draft_to_published_by_two_people_and_is_withdrawn() {
    let dir = tempfile::tempdir().unwrap();
    let hub = county_hub(dir.path(), "510131").await;
    add_people(
        &hub,
        &[("author", "staff", "510131"), ("reviewer", "staff", "510131"), ("signer", "admin", "510131")],
    )
    .await;
    let (id, public) = publish_through_the_desk(&hub, "春茶上市").await;

    // Readable without sign-in, with its IP owner and who reviewed and signed it off.
    let base = format!("http://{}", hub.http_addr);
    let (s, page) = get_url(&format!("{base}/items/{public}"), None).await;
    assert_eq!(s, StatusCode::OK);
    for text in
        ["春茶上市", "参考价格", "每斤 12 元", "蒲江县茶叶协会", "审核：名-reviewer", "签发：名-signer"]
    {
        assert!(page.contains(text), "{text}: {page}");
    }
    assert!(get_url(&format!("{base}/items"), None).await.1.contains(&format!("/items/{public}")));
    let photo_url = format!("{base}/items/{public}/photos/{}", display_photo(&hub, &id).await);
    let (s, _) = get_url(&photo_url, None).await;
    assert_eq!(s, StatusCode::OK, "the photo of a published item, without sign-in");
    let other = format!("{base}/items/{public}/photos/{}", "0".repeat(64));
    assert_eq!(get_url(&other, None).await.0, StatusCode::NOT_FOUND, "only the item's own photos");
    // Its PDF: the text, the IP owner and platform as watermark, the photo.
    let (text, images) = pdf_at(&format!("{base}/items/{public}/pdf")).await;
    for t in
        ["春茶上市", "每斤12元", "知识产权归属：蒲江县茶叶协会", "四川乡村振兴科技在线", "签发：名-signer"]
    {
        assert!(text.contains(t), "{t}: {text}");
    }
    assert_eq!(images, 1, "the item's photo");
    // A post without the session's token is refused by the cross-site guard.
    let signer = sign_in(&hub, "signer").await;
    let res = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("{base}/desk/items/{id}/step"))
        .header(COOKIE, signer.split(';').next().unwrap())
        .header(ORIGIN, &base)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body("step=withdraw")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(stage(&hub, &signer, &id).await, "published");
    // Withdrawn: gone from the public pages at once.
    assert_eq!(step(&hub, &signer, &id, StepKind::Withdraw).await, StatusCode::SEE_OTHER);
    assert_eq!(stage(&hub, &signer, &id).await, "withdrawn");
    assert_eq!(get_url(&format!("{base}/items/{public}"), None).await.0, StatusCode::NOT_FOUND);
    assert!(!get_url(&format!("{base}/items"), None).await.1.contains(&public));
    assert_eq!(get_url(&photo_url, None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(get_url(&format!("{base}/items/{public}/pdf"), None).await.0, StatusCode::NOT_FOUND);
    let p = public.clone();
    let doc = hub.store.call(move |db| db.load_doc(&p)).await.unwrap().unwrap();
    let published = yizhan_core::published::PublishedDoc::from_doc(&doc).unwrap();
    assert!(published.is_withdrawn());
    let w = published.withdrawals.values().next().unwrap();
    assert_eq!((w.by.as_str(), w.note.as_str()), ("signer", "意见"), "who withdrew it, and why");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_item_failing_the_automatic_checks_never_reaches_review() {
    let dir = tempfile::tempdir().unwrap();
    let hub = county_hub(dir.path(), "510131").await;
    add_people(&hub, &[("author", "staff", "510131"), ("reviewer", "staff", "510131")]).await;
    let author = sign_in(&hub, "author").await;
    let reviewer = sign_in(&hub, "reviewer").await;
    for (title, body, problem) in [
        ("收购鲜叶", "请联系王师傅 138 1234 5678。", "疑似个人号码"),
        ("保证增收", "加入合作社。", "不得承诺保证收益"),
    ] {
        let id = create(&hub, &author, title, body).await;
        assert_eq!(step(&hub, &author, &id, StepKind::Submit).await, StatusCode::SEE_OTHER);
        assert_eq!(stage(&hub, &author, &id).await, "check_failed");
        let (_, page) = get(&hub, &author, &format!("/desk/items/{id}")).await;
        assert!(page.contains(problem), "the author sees why: {page}");
        let (_, queue) = get(&hub, &reviewer, "/desk/review").await;
        assert!(!queue.contains(&queued(&id)), "{queue}");
        let before = item_bytes(&hub, &id).await;
        assert_eq!(step(&hub, &reviewer, &id, StepKind::Review).await, StatusCode::FORBIDDEN);
        assert_eq!(item_bytes(&hub, &id).await, before);
        // Only the author may fix it; fixed and submitted again, it passes and waits for review.
        let fixed = [
            ("kind", "example"),
            ("title", "收购鲜叶"),
            ("body", "请到合作社咨询。"),
            ("f.price", "每斤 8 元"),
            ("ip_owner", "合作社"),
        ];
        let edit = format!("/desk/items/{id}/edit");
        assert_eq!(post(&hub, &reviewer, &edit, &fixed).await.0, StatusCode::FORBIDDEN);
        assert_eq!(item_bytes(&hub, &id).await, before);
        assert_eq!(post(&hub, &author, &edit, &fixed).await.0, StatusCode::SEE_OTHER);
        assert_eq!(step(&hub, &author, &id, StepKind::Submit).await, StatusCode::SEE_OTHER);
        assert_eq!(stage(&hub, &author, &id).await, "checked");
        let (_, queue) = get(&hub, &reviewer, "/desk/review").await;
        assert!(queue.contains(&queued(&id)), "{queue}");
        assert_eq!(
            post(&hub, &author, &edit, &fixed).await.0,
            StatusCode::FORBIDDEN,
            "no edits once checked"
        );
    }
    // Bad input is refused with a Chinese message and stores nothing.
    let long = "长".repeat(yizhan_core::item::TITLE_CHARS_MAX + 1);
    let (s, _) =
        post(&hub, &author, "/desk/items", &[("kind", "example"), ("title", &long), ("ip_owner", "x")]).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = post(&hub, &author, "/desk/items", &[("kind", "lecture"), ("title", "讲座")]).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "a kind this hub does not serve");
    assert_eq!(hub.store.call(|db| db.all_publications()).await.unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_county_cannot_review_a_city_item() {
    let dir = tempfile::tempdir().unwrap();
    let hub = county_hub(dir.path(), "5101").await;
    add_people(
        &hub,
        &[
            ("city-author", "staff", "5101"),
            ("city-reviewer", "staff", "5101"),
            ("county-staff", "staff", "510131"),
        ],
    )
    .await;
    let author = sign_in(&hub, "city-author").await;
    let county = sign_in(&hub, "county-staff").await;
    let city = sign_in(&hub, "city-reviewer").await;
    let id = create(&hub, &author, "成都市春茶指导价", "指导价发布。").await;
    assert_eq!(step(&hub, &author, &id, StepKind::Submit).await, StatusCode::SEE_OTHER);
    let (_, queue) = get(&hub, &county, "/desk/review").await;
    assert!(!queue.contains(&queued(&id)));
    let before = item_bytes(&hub, &id).await;
    assert_eq!(step(&hub, &county, &id, StepKind::Review).await, StatusCode::FORBIDDEN);
    assert_eq!(item_bytes(&hub, &id).await, before);
    assert_eq!(get(&hub, &county, &format!("/desk/items/{id}")).await.0, StatusCode::FORBIDDEN);
    let (_, queue) = get(&hub, &city, "/desk/review").await;
    assert!(queue.contains(&queued(&id)));
    assert_eq!(step(&hub, &city, &id, StepKind::Review).await, StatusCode::SEE_OTHER);
}

async fn record(store: &Store, id: &str, events: Vec<Event>) {
    let new = NewCase {
        region_code: "510131001001".into(),
        village_name: "和平村".into(),
        industry: "pig".into(),
        subject: "生猪".into(),
        description: "生猪耳朵发紫不吃食".into(),
        farmer_name: "王大爷".into(),
        farmer_phone: String::new(),
        officer: "李".into(),
    };
    let id = id.to_string();
    store
        .call(move |db| {
            let (_, mut doc) = CaseDoc::create(
                &new,
                &id,
                "kiosk",
                Event::new(format!("{id}-c"), 1, "李", EventKind::Created),
            )
            .unwrap();
            for e in events {
                CaseDoc::append_event(&mut doc, e).unwrap();
            }
            db.create_doc(&id, "case", &mut doc)
        })
        .await
        .unwrap();
}

async fn append(store: &Store, id: &str, ev: Event) {
    let id = id.to_string();
    store
        .call(move |db| Ok(db.update_doc(&id, |doc| CaseDoc::append_event(doc, ev))?.unwrap()))
        .await
        .unwrap();
}

async fn case(store: &Store, id: &str) -> Option<CaseDoc> {
    let id = id.to_string();
    let doc = store.call(move |db| db.load_doc(&id)).await.unwrap()?;
    Some(CaseDoc::from_doc(&doc).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn published_items_and_knowledge_reach_the_kiosk_and_withdrawals_take_them_down() {
    let dir = tempfile::tempdir().unwrap();
    let chain = Chain::start(dir.path(), "5101", "510131").await;
    let county = &chain.county;
    county.kinds.register(EXAMPLE);
    add_people(
        county,
        &[("author", "staff", "510131"), ("reviewer", "staff", "510131"), ("signer", "admin", "510131")],
    )
    .await;
    let kiosk = chain.kiosk(&dir.path().join("kiosk"), "kiosk-1", "510131001001").await;

    // A generic item: published at the county, readable at the kiosk without sign-in.
    let (id, public) = publish_through_the_desk(county, "春茶上市").await;
    let url = format!("{}/items/{public}", kiosk.url);
    eventually("the published item reaches the kiosk", || async {
        get_url(&url, None).await.0 == StatusCode::OK
    })
    .await;
    let (_, page) = get_url(&url, None).await;
    assert!(
        page.contains("春茶上市") && page.contains("蒲江县茶叶协会") && page.contains("签发：名-signer"),
        "{page}"
    );
    assert!(get_url(&format!("{}/items", kiosk.url), None).await.1.contains(&public));
    // Its photo follows as a blob of a public document, served without sign-in.
    let photo_url = format!("{}/items/{public}/photos/{}", kiosk.url, display_photo(county, &id).await);
    eventually("the item's photo reaches the kiosk", || async {
        get_url(&photo_url, None).await.0 == StatusCode::OK
    })
    .await;
    assert!(page.contains("public-photos"), "{page}");
    // The kiosk makes the same PDF itself, offline from the county: text, watermark, photo.
    let (text, images) = pdf_at(&format!("{url}/pdf")).await;
    assert!(text.contains("春茶上市") && text.contains("知识产权归属：蒲江县茶叶协会"), "{text}");
    assert_eq!(images, 1);
    eventually("the province holds it too", || async {
        let p = public.clone();
        chain.province.store.call(move |db| db.public_item(&p)).await.unwrap().is_some()
    })
    .await;

    // Knowledge: recorded and escalated at the kiosk, answered through the county (a kiosk may
    // not write the county's or the expert's events), closed at the kiosk, signed off at the
    // county, published with its step.
    let mut asg = Event::new("asg", 20, "县中心", EventKind::Assigned);
    asg.target = "expert-1".into();
    let mut ans = Event::new("ans", 30, "expert-1", EventKind::Answered);
    ans.text = "疑似猪丹毒：注射青霉素，隔离病猪。".into();
    let esc = Event::new("esc", 10, "李", EventKind::Escalated);
    record(&kiosk.state.store, "c1", vec![esc]).await;
    eventually("the case reaches the county", || async { case(&county.store, "c1").await.is_some() }).await;
    append(&county.store, "c1", asg).await;
    append(&county.store, "c1", ans).await;
    eventually("the answer reaches the kiosk", || async {
        case(&kiosk.state.store, "c1").await.map(|c| c.state().status) == Some(yizhan_core::Status::Answered)
    })
    .await;
    append(&kiosk.state.store, "c1", Event::new("close", 40, "李", EventKind::Closed)).await;
    eventually("the closed case reaches the county", || async {
        case(&county.store, "c1").await.map(|c| c.state().status) == Some(yizhan_core::Status::Closed)
    })
    .await;
    append(&county.store, "c1", Event::new("ok", 50, "reviewer", EventKind::KnowledgeApproved)).await;
    eventually("the county publishes it with a published step", || async {
        case(&county.store, "c1").await.is_some_and(|c| c.state().knowledge_published)
    })
    .await;
    let c = case(&county.store, "c1").await.unwrap();
    let steps: Vec<StepKind> =
        yizhan_core::knowledge::publication_steps(&c, &c.state()).iter().map(|s| s.kind).collect();
    assert_eq!(
        steps,
        [StepKind::Submit, StepKind::ChecksPassed, StepKind::ReviewAndSignOff, StepKind::Publish]
    );
    let similar_url = format!("{}/api/similar?{}", kiosk.url, encode(&[("q", "生猪耳朵发紫")]));
    let similar = || async {
        let (s, body) = get_url(&similar_url, None).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        body.contains("\"kb-c1\"")
    };
    eventually("the kiosk finds the knowledge", similar).await;

    // The county withdraws both on the desk.
    let signer = sign_in(county, "signer").await;
    assert_eq!(step(county, &signer, &id, StepKind::Withdraw).await, StatusCode::SEE_OTHER);
    let (_, page) = get(county, &signer, "/desk/cases/c1").await;
    assert!(page.contains("knowledge-withdraw"), "the case page offers 撤回");
    let (s, _) =
        post(county, &signer, "/desk/cases/c1/act", &[("kind", "knowledge_withdrawn"), ("text", "答复有误")])
            .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let c = case(&county.store, "c1").await.unwrap();
    assert!(c.state().knowledge_withdrawn);
    assert_eq!(
        yizhan_core::knowledge::publication_stage(&c, &c.state()),
        yizhan_core::publication::Stage::Withdrawn
    );
    eventually("the item is gone at the kiosk", || async {
        get_url(&url, None).await.0 == StatusCode::NOT_FOUND
    })
    .await;
    assert_eq!(get_url(&photo_url, None).await.0, StatusCode::NOT_FOUND, "and its photo with it");
    assert_eq!(get_url(&format!("{url}/pdf"), None).await.0, StatusCode::NOT_FOUND, "and its PDF");
    assert!(!get_url(&format!("{}/items", kiosk.url), None).await.1.contains(&public));
    eventually("find-similar at the kiosk no longer offers the knowledge", || async { !similar().await })
        .await;
    let doc = kiosk.state.store.call(|db| db.load_doc("kb-c1")).await.unwrap().unwrap();
    assert!(yizhan_core::KnowledgeDoc::from_doc(&doc).unwrap().is_withdrawn());
}
