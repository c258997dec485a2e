//! 供销对接 and 成果转化 over real chains (QUIC with certificates on loopback, real SQLite, the
//! nodes' routers with sign-in and the cross-site token):
//! - a farmer's offer drafted by the village officer at a kiosk while offline, synced, reviewed
//!   and signed off by two people of the county centre, shows at another county's kiosk; the
//!   kiosk cannot publish by itself, and a listing with a phone number never leaves the form;
//! - the bounty board: experts at a county hub and at the city claim a city's bounty, once each;
//!   the city picks one claim, which closes the others at the city and, once the pick has come
//!   down, at the county; no claim after the deadline; only the owning centre decides.
#![allow(clippy::unwrap_used)]

use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, ORIGIN, SET_COOKIE};
use yizhan_core::NewPerson;
use yizhan_core::item::{ItemDoc, NewItem};
use yizhan_core::publication::StepKind;
use yizhan_core::published::PublishedDoc;
use yizhan_hub::Hub;
use yizhan_test_support::{Chain, Kiosk, Pki, eventually, start_hub};

const PASSWORD: &str = "market-test-pw";
const CSRF: &str = "00112233445566778899aabbccddeeff";

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

fn person(id: &str, role: &str, region: &str) -> NewPerson {
    let industries = if role == "expert" { vec!["tea".to_string()] } else { Vec::new() };
    NewPerson {
        id: id.into(),
        name: format!("名-{id}"),
        role: role.into(),
        region_code: region.into(),
        industries,
        ..Default::default()
    }
}

/// A local date (UTC+8) `days` from today, as forms take it.
fn date_from_today(days: i64) -> String {
    let now_ms =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    yizhan_core::holidays::format_day(yizhan_core::holidays::local_day(now_ms) + days)
}

async fn add_people(hub: &Hub, people: &[(&str, &str, &str)]) {
    for (id, role, region) in people {
        hub.accounts.create_person(&person(id, role, region), Some(PASSWORD)).await.unwrap();
    }
}

/// Signs in at `base` (a hub's or a kiosk's URL); returns the cookie header.
async fn sign_in(base: &str, id: &str) -> String {
    let res = client()
        .post(format!("{base}/signin/password"))
        .header(ORIGIN, base)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(encode(&[("id", id), ("password", PASSWORD), ("next", "/supply")]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "signing in {id}");
    let cookie = res.headers().get(SET_COOKIE).unwrap().to_str().unwrap();
    format!("{}; {}={CSRF}", cookie.split(';').next().unwrap(), yizhan_web::CSRF_COOKIE)
}

async fn get(url: &str, cookie: Option<&str>) -> (StatusCode, String) {
    let mut req = reqwest::Client::builder().no_proxy().build().unwrap().get(url);
    if let Some(c) = cookie {
        req = req.header(COOKIE, c);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    (status, res.text().await.unwrap_or_default())
}

/// Posts a form with the session's token; returns the status, the redirect target and the body.
async fn post(base: &str, cookie: &str, path: &str, form: &[(&str, &str)]) -> (StatusCode, String, String) {
    let res = client()
        .post(format!("{base}{path}"))
        .header(COOKIE, cookie)
        .header(ORIGIN, base)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(encode(form))
        .send()
        .await
        .unwrap();
    let location = res.headers().get(LOCATION).map(|l| l.to_str().unwrap().to_string()).unwrap_or_default();
    (res.status(), location, res.text().await.unwrap_or_default())
}

fn hub_url(hub: &Hub) -> String {
    format!("http://{}", hub.http_addr)
}

async fn doc_exists(store: &yizhan_store::Store, id: &str) -> bool {
    let id = id.to_string();
    store.call(move |db| db.doc_type(&id)).await.unwrap().is_some()
}

/// The pipeline items a store holds, with their stage.
async fn items(store: &yizhan_store::Store) -> Vec<(String, String)> {
    let rows = store.call(|db| db.all_publications()).await.unwrap();
    rows.into_iter().map(|r| (r.doc_id, r.stage)).collect()
}

fn offer_form() -> Vec<(&'static str, String)> {
    OFFER_FORM
        .iter()
        .map(|&(k, v)| match k {
            "valid_from" => (k, date_from_today(-1)),
            "valid_to" => (k, date_from_today(90)),
            _ => (k, v.to_string()),
        })
        .collect()
}

const OFFER_FORM: &[(&str, &str)] = &[
    ("kind", "supply.offer"),
    ("title", "蒲江丑柑 5000 斤待售"),
    ("product", "丑柑"),
    ("industry", "fruit"),
    ("quantity", "5000"),
    ("unit", "斤"),
    ("price", "3.5"),
    ("valid_from", "2026-01-01"),
    ("valid_to", "2099-12-31"),
    ("body", "果形端正，糖度 13 以上，可分批交货。"),
    ("ip_owner", "寿安镇某村种植户（经驿站登记）"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_officers_offer_drafted_offline_is_signed_off_by_the_county_and_shown_at_another_countys_kiosk() {
    let dir = tempfile::tempdir().unwrap();
    let chain = Chain::start(dir.path(), "5101", "510131").await;
    // Another county under the same city, with its own kiosk.
    let other_ca = Pki::hub(&chain.city_ca, "510104");
    let city_id = chain.city.config.node_id.clone();
    let other = start_hub(
        &dir.path().join("hub-510104"),
        &chain.pki.hub_tls(&other_ca),
        Some((&chain.city, &city_id)),
    )
    .await;
    let far_kiosk =
        Kiosk::start(&dir.path().join("kiosk-b"), &other_ca, &chain.pki.province, "kiosk-b", "510104017001")
            .await;
    far_kiosk.link(&other);

    // The officer's kiosk, not linked yet: offline.
    let kiosk = Kiosk::start(
        &dir.path().join("kiosk-a"),
        &chain.county_ca,
        &chain.pki.province,
        "kiosk-a",
        "510131001001",
    )
    .await;
    kiosk
        .state
        .accounts
        .create_person(&person("officer", "officer", "510131001001"), Some(PASSWORD))
        .await
        .unwrap();
    // Not signed in: no form, and a post is refused.
    let (_, page) = get(&format!("{}/supply", kiosk.url), None).await;
    assert!(page.contains("供销对接") && !page.contains("new-listing"), "{page}");
    let anonymous = format!("{}={CSRF}", yizhan_web::CSRF_COOKIE);
    let (s, _, _) = post(&kiosk.url, &anonymous, "/supply", OFFER_FORM).await;
    assert!(s.is_client_error(), "{s}");
    let officer = sign_in(&kiosk.url, "officer").await;
    let (s, page) = get(&format!("{}/supply/new", kiosk.url), Some(&officer)).await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("station-village") && page.contains("提交审核"), "{page}");

    // A phone number in the text: refused at the kiosk, nothing stored.
    let mut with_phone = OFFER_FORM.to_vec();
    with_phone.push(("body", "有意者请拨 138 1234 5678"));
    let with_phone: Vec<(&str, &str)> =
        with_phone.into_iter().filter(|(k, v)| *k != "body" || v.contains("138")).collect();
    let (s, _, body) = post(&kiosk.url, &officer, "/supply", &with_phone).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(body.contains("个人号码"), "{body}");
    // Dates that are no dates: refused the same way.
    let bad_date: Vec<(&str, &str)> =
        OFFER_FORM.iter().map(|&(k, v)| if k == "valid_to" { (k, "2026-02-30") } else { (k, v) }).collect();
    assert_eq!(post(&kiosk.url, &officer, "/supply", &bad_date).await.0, StatusCode::BAD_REQUEST);
    assert!(items(&kiosk.state.store).await.is_empty(), "nothing stored from refused forms");

    let good = offer_form();
    let good: Vec<(&str, &str)> = good.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (s, location, body) = post(&kiosk.url, &officer, "/supply", &good).await;
    assert_eq!(body, "");
    assert_eq!((s, location.as_str()), (StatusCode::SEE_OTHER, "/supply?submitted=1"));
    let drafted = items(&kiosk.state.store).await;
    assert_eq!(drafted.len(), 1);
    let (id, stage) = drafted[0].clone();
    assert_eq!(stage, "checked", "submitted and checked at the kiosk, waiting for the county");

    // The kiosk cannot publish by itself: a public document it makes is never accepted above.
    let forged_item = {
        let new = NewItem {
            kind: "supply.offer".into(),
            centre: "510131001001".into(),
            title: "假冒的发布".into(),
            body: "x".into(),
            ip_owner: "x".into(),
            author: "officer".into(),
            ..NewItem::default()
        };
        ItemDoc::create(&new, "item-forged", 1).unwrap().0
    };
    let kind = yizhan_supply::kind("supply.offer").unwrap();
    let forged = PublishedDoc::of_item(&forged_item, &kind, "kiosk-a", 1);
    let mut forged_doc = forged.to_doc().unwrap();
    kiosk
        .state
        .store
        .call(move |db| db.create_doc("pub-item-forged", yizhan_core::published::DOC_TYPE, &mut forged_doc))
        .await
        .unwrap();

    // Back online: the draft reaches the county and waits for review.
    kiosk.link(&chain.county);
    let county = &chain.county;
    add_people(county, &[("reviewer", "staff", "510131"), ("signer", "admin", "510131")]).await;
    let reviewer = sign_in(&hub_url(county), "reviewer").await;
    let signer = sign_in(&hub_url(county), "signer").await;
    eventually("the officer's draft waits in the county's review queue", || async {
        get(&format!("{}/desk/review", hub_url(county)), Some(&reviewer)).await.1.contains(&id)
    })
    .await;
    let step = |cookie: String, s: StepKind| {
        let (base, path) = (hub_url(county), format!("/desk/items/{id}/step"));
        async move { post(&base, &cookie, &path, &[("step", s.code()), ("note", "")]).await.0 }
    };
    assert_eq!(step(reviewer.clone(), StepKind::Review).await, StatusCode::SEE_OTHER);
    assert_eq!(
        step(reviewer.clone(), StepKind::SignOff).await,
        StatusCode::FORBIDDEN,
        "the reviewer never signs off"
    );
    assert_eq!(step(signer.clone(), StepKind::SignOff).await, StatusCode::SEE_OTHER);
    let public = PublishedDoc::id_for(&id);

    // Published: at the other county's kiosk, without sign-in, naming the station, not a number.
    eventually("the listing shows at the other county's kiosk", || async {
        get(&format!("{}/supply", far_kiosk.url), None).await.1.contains("蒲江丑柑 5000 斤待售")
    })
    .await;
    let (_, page) = get(&format!("{}/supply?industry=fruit&kind=supply.offer", far_kiosk.url), None).await;
    assert!(
        page.contains("村级驿站信息员") && page.contains("¥3.50 元/斤") && page.contains(&public),
        "{page}"
    );
    let (_, page) = get(&format!("{}/supply?industry=tea", far_kiosk.url), None).await;
    assert!(!page.contains(&public), "filtered out by industry");
    let (_, page) = get(&format!("{}/supply?region=510104", far_kiosk.url), None).await;
    assert!(!page.contains(&public), "filtered out by region");
    let (s, page) = get(&format!("{}/items/{public}", far_kiosk.url), None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("名-reviewer") && page.contains("名-signer"), "{page}");
    assert!(
        page.contains("川果") && page.contains("¥3.50 元") && !page.contains(">fruit<"),
        "shown for people: {page}"
    );
    // And at the hubs' public lists, and at the officer's own kiosk.
    eventually("the province lists it", || async {
        get(&format!("{}/supply", hub_url(&chain.province)), None).await.1.contains(&public)
    })
    .await;
    eventually("the officer's kiosk lists it", || async {
        get(&format!("{}/supply", kiosk.url), None).await.1.contains(&public)
    })
    .await;
    // The forged public document went nowhere.
    for store in [&county.store, &other.store, &far_kiosk.state.store, &chain.province.store] {
        assert!(!doc_exists(store, "pub-item-forged").await);
    }
}

/// A bounty published at the city (three people: who submits it may not sign it off), with
/// `deadline`; returns its public id.
async fn publish_bounty(city: &Hub, title: &str, deadline: &str) -> String {
    let base = hub_url(city);
    let author = sign_in(&base, "city-author").await;
    let reviewer = sign_in(&base, "city-reviewer").await;
    let signer = sign_in(&base, "city-signer").await;
    let (s, page) = get(&format!("{base}/achievements/new?kind=achievements.bounty"), Some(&author)).await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("悬赏金额（元）"), "amounts are typed in 元: {page}");
    let mut form = vec![
        ("kind", "achievements.bounty"),
        ("title", title),
        ("demander", "成都某茶业合作社"),
        ("industry", "tea"),
        ("reward", "五万"),
        ("deadline", deadline),
        ("body", "茶园采摘机械化改造，需现场调研。"),
        ("ip_owner", "成都某茶业合作社"),
    ];
    let (s, _, body) = post(&base, &author, "/achievements", &form).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(body.contains("悬赏金额须为金额"), "{body}");
    form[4] = ("reward", "50000");
    let (s, location, _) = post(&base, &author, "/achievements", &form).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let id = location.strip_prefix("/desk/items/").unwrap().to_string();
    for (cookie, step) in
        [(&author, StepKind::Submit), (&reviewer, StepKind::Review), (&signer, StepKind::SignOff)]
    {
        let (s, _, body) =
            post(&base, cookie, &format!("/desk/items/{id}/step"), &[("step", step.code()), ("note", "")])
                .await;
        assert_eq!(s, StatusCode::SEE_OTHER, "{step:?}: {body}");
    }
    PublishedDoc::id_for(&id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn experts_claim_a_citys_bounty_from_two_hubs_and_the_city_picks_one() {
    let dir = tempfile::tempdir().unwrap();
    let chain = Chain::start(dir.path(), "5101", "510131").await;
    let (city, county) = (&chain.city, &chain.county);
    add_people(
        city,
        &[
            ("city-author", "staff", "5101"),
            ("city-reviewer", "staff", "5101"),
            ("city-signer", "admin", "5101"),
            ("city-expert", "expert", "5101"),
        ],
    )
    .await;
    add_people(
        county,
        &[("e1", "expert", "510131"), ("e2", "expert", "510131"), ("county-staff", "staff", "510131")],
    )
    .await;
    let bounty = publish_bounty(city, "茶园采摘机械化改造", &date_from_today(60)).await;
    let (cb, ub) = (hub_url(county), hub_url(city));
    let page_path = format!("/achievements/bounty/{bounty}");
    let claim_path = format!("{page_path}/claim");
    eventually("the bounty reaches the county", || async {
        get(&format!("{cb}{page_path}"), None).await.0 == StatusCode::OK
    })
    .await;
    let (_, page) = get(&format!("{cb}/achievements?kind=achievements.bounty"), None).await;
    assert!(
        page.contains("茶园采摘机械化改造") && page.contains("抢单中") && page.contains("¥50000.00 元"),
        "{page}"
    );

    // Claims: an expert at the county, once; staff may not; an expert at the city.
    let e1 = sign_in(&cb, "e1").await;
    let (_, page) = get(&format!("{cb}{page_path}"), Some(&e1)).await;
    assert!(page.contains("claim-submit"), "{page}");
    let claim = |base: String, cookie: String, proposal: &'static str| {
        let path = claim_path.clone();
        async move { post(&base, &cookie, &path, &[("proposal", proposal)]).await }
    };
    assert_eq!(
        claim(cb.clone(), e1.clone(), "   ").await.0,
        StatusCode::BAD_REQUEST,
        "a proposal is required"
    );
    assert_eq!(claim(cb.clone(), e1.clone(), "先调研茶园坡度，再选型。").await.0, StatusCode::SEE_OTHER);
    let (s, _, body) = claim(cb.clone(), e1.clone(), "再抢一次").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(body.contains("您已抢过此单"), "{body}");
    let staff = sign_in(&cb, "county-staff").await;
    assert_eq!(
        claim(cb.clone(), staff.clone(), "我也想").await.0,
        StatusCode::BAD_REQUEST,
        "only experts claim"
    );
    let city_expert = sign_in(&ub, "city-expert").await;
    assert_eq!(claim(ub.clone(), city_expert.clone(), "提供整体改造方案。").await.0, StatusCode::SEE_OTHER);

    // The city sees both claims (the county's came up); the county only its own.
    let city_staff = sign_in(&ub, "city-reviewer").await;
    eventually("the county expert's claim reaches the city", || async {
        get(&format!("{ub}{page_path}"), Some(&city_staff)).await.1.matches("data-testid=\"claim\"").count()
            == 2
    })
    .await;
    let (_, page) = get(&format!("{ub}/achievements"), None).await;
    assert!(page.contains("2 人抢单"), "{page}");
    // Only the owning centre decides: the county's staff may not pick.
    let e1_claim = yizhan_core::claim::ClaimDoc::id_for(&bounty, "e1");
    let city_claim = yizhan_core::claim::ClaimDoc::id_for(&bounty, "city-expert");
    let pick = |base: String, cookie: String, claim: String, what: &'static str| async move {
        post(&base, &cookie, &format!("/achievements/claims/{claim}/{what}"), &[]).await.0
    };
    assert_eq!(pick(cb.clone(), staff.clone(), e1_claim.clone(), "pick").await, StatusCode::BAD_REQUEST);
    assert_eq!(
        pick(ub.clone(), city_staff.clone(), e1_claim.clone(), "done").await,
        StatusCode::BAD_REQUEST,
        "not picked yet"
    );
    assert_eq!(pick(ub.clone(), city_staff.clone(), e1_claim.clone(), "pick").await, StatusCode::SEE_OTHER);
    assert_eq!(
        pick(ub.clone(), city_staff.clone(), city_claim.clone(), "pick").await,
        StatusCode::BAD_REQUEST,
        "picking closes the others"
    );
    let (_, page) = get(&format!("{ub}{page_path}"), Some(&city_staff)).await;
    assert!(page.contains("已揭榜") && page.contains("未选中") && page.contains("名-e1"), "{page}");

    // The pick comes down to the county: no more claims there.
    eventually("the pick reaches the county", || async {
        get(&format!("{cb}{page_path}"), None).await.1.contains("已揭榜")
    })
    .await;
    let e2 = sign_in(&cb, "e2").await;
    let (s, _, body) = claim(cb.clone(), e2.clone(), "我来").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(body.contains("已揭榜"), "{body}");
    // Done.
    assert_eq!(pick(ub.clone(), city_staff.clone(), e1_claim.clone(), "done").await, StatusCode::SEE_OTHER);
    assert_eq!(pick(ub.clone(), city_staff.clone(), e1_claim.clone(), "done").await, StatusCode::BAD_REQUEST);
    let (_, page) = get(&format!("{ub}/achievements"), None).await;
    assert!(page.contains("已完成"), "{page}");

    // A bounty past its deadline (published earlier; the deadline read on the county's clock):
    // no claims.
    let new = NewItem {
        kind: "achievements.bounty".into(),
        centre: "5101".into(),
        title: "过期的榜单".into(),
        body: "x".into(),
        fields: [
            ("demander", "某合作社"),
            ("industry", "tea"),
            ("reward_fen", "100"),
            ("deadline", "2020-01-31"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
        ip_owner: "x".into(),
        author: "city-author".into(),
    };
    let (item, _) = ItemDoc::create(&new, "item-old", 1).unwrap();
    let old =
        PublishedDoc::of_item(&item, &yizhan_achievements::kind("achievements.bounty").unwrap(), "city", 1);
    let mut old_doc = old.to_doc().unwrap();
    city.store
        .call(move |db| db.create_doc("pub-item-old", yizhan_core::published::DOC_TYPE, &mut old_doc))
        .await
        .unwrap();
    eventually("the old bounty reaches the county", || async {
        get(&format!("{cb}/achievements/bounty/pub-item-old"), None).await.0 == StatusCode::OK
    })
    .await;
    let (s, _, body) =
        post(&cb, &e2, "/achievements/bounty/pub-item-old/claim", &[("proposal", "迟到的方案")]).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(body.contains("已过截止日期"), "{body}");
    assert!(get(&format!("{cb}/achievements/bounty/pub-item-old"), None).await.1.contains("已截止"));
}
