//! The operations desk over HTTP on a real county hub: sign-in required, people import with
//! row-by-row errors, 找专家, exports within the user's region with masked numbers, settings
//! for administrators only, and refusals that change nothing.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, ORIGIN, SET_COOKIE};
use yizhan_core::{CaseDoc, Event, EventKind, NewCase, NewPerson};
use yizhan_hub::Hub;
use yizhan_test_support::{Pki, start_hub};

const COUNTY: &str = "510131";
const VILLAGE: &str = "510131001001";
const PASSWORD: &str = "desk-test-pw";

async fn start() -> (Hub, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new();
    let county = Pki::hub(&pki.province, COUNTY);
    let hub = start_hub(dir.path(), &pki.hub_tls(&county), None).await;
    for (pid, role, region, industries, specialities) in [
        ("admin", "admin", COUNTY, vec![], vec![]),
        ("staff", "staff", COUNTY, vec![], vec![]),
        ("staff-x", "staff", "510104", vec![], vec![]),
        ("expert-fruit", "expert", COUNTY, vec!["fruit"], vec!["柑橘病害"]),
        ("expert-pig", "expert", COUNTY, vec!["pig"], vec!["生猪疫病"]),
        ("officer-1", "officer", VILLAGE, vec![], vec![]),
    ] {
        let np = NewPerson {
            id: pid.into(),
            name: format!("名-{pid}"),
            role: role.into(),
            region_code: region.into(),
            industries: industries.into_iter().map(String::from).collect(),
            specialities: specialities.into_iter().map(String::from).collect(),
            ..Default::default()
        };
        hub.accounts.create_person(&np, Some(PASSWORD)).await.unwrap();
    }
    (hub, dir)
}

fn encode(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
}

/// This test browser's cross-site token: in the cookie and again in the header, as the desk's
/// pages send it (see yizhan-web).
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

/// Signs in and returns the `Cookie` header value.
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
    // The session cookie and the browser's cross-site token cookie, sent together.
    format!("{}; {}={CSRF}", cookie.split(';').next().unwrap(), yizhan_web::CSRF_COOKIE)
}

async fn get(hub: &Hub, cookie: &str, path: &str) -> (StatusCode, String) {
    let res =
        client().get(format!("http://{}{path}", hub.http_addr)).header(COOKIE, cookie).send().await.unwrap();
    let status = res.status();
    (status, res.text().await.unwrap_or_default())
}

async fn post_form(hub: &Hub, cookie: &str, path: &str, form: &[(&str, &str)]) -> StatusCode {
    let base = format!("http://{}", hub.http_addr);
    client()
        .post(format!("{base}{path}"))
        .header(COOKIE, cookie)
        .header(ORIGIN, &base)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(encode(form))
        .send()
        .await
        .unwrap()
        .status()
}

/// An escalated case as it arrives from a kiosk, with its private part (masked phone).
async fn receive_case(hub: &Hub, id: &str) {
    let new = NewCase {
        region_code: VILLAGE.into(),
        village_name: "光明村".into(),
        industry: "fruit".into(),
        subject: "柑橘".into(),
        description: "柑橘叶片有褐色病斑".into(),
        farmer_name: "何大姐".into(),
        farmer_phone: "13812345678".into(),
        officer: "officer-1".into(),
    };
    let (_, mut doc) =
        CaseDoc::create(&new, id, "kiosk", Event::new(format!("{id}-c"), 1, "officer-1", EventKind::Created))
            .unwrap();
    CaseDoc::append_event(&mut doc, Event::new(format!("{id}-e"), 2, "officer-1", EventKind::Escalated))
        .unwrap();
    let private =
        yizhan_core::private::CasePrivate::for_case(&new, id, "13812345678", "v1:sealed-elsewhere".into())
            .unwrap();
    let id = id.to_string();
    hub.store
        .call(move |db| {
            db.create_docs_with(
                vec![
                    (id.clone(), yizhan_core::case::DOC_TYPE, doc),
                    (
                        yizhan_core::private::CasePrivate::id_for(&id),
                        yizhan_core::private::DOC_TYPE,
                        private.to_doc().unwrap(),
                    ),
                ],
                Vec::new(),
                &[],
            )
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn the_desk_needs_sign_in_and_each_role_sees_and_does_only_its_part() {
    let (hub, _dir) = start().await;
    receive_case(&hub, "c1").await;

    // Not signed in: sent to the sign-in page.
    let res = client().get(format!("http://{}/desk", hub.http_addr)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(res.headers().get(LOCATION).unwrap().to_str().unwrap().starts_with("/signin"));

    let staff = sign_in(&hub, "staff").await;
    // The case reaches the triage queue once the clock keeper has seen it.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (s, body) = get(&hub, &staff, "/desk").await;
        assert_eq!(s, StatusCode::OK);
        if body.contains("/desk/cases/c1") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "c1 never reached the queue:\n{body}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (s, page) = get(&hub, &staff, "/desk/cases/c1").await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("138****5678"), "county staff see the masked number");
    assert!(!page.contains("13812345678"));
    assert!(page.contains("data-expert=\"expert-fruit\""), "the fruit expert is suggested");

    // Refusals change nothing: an officer may not assign, an expert may not see it unassigned,
    // a staff member of another county may not act on it.
    let before = hub.store.call(|db| Ok(db.load_doc("c1")?.unwrap().save())).await.unwrap();
    let officer = sign_in(&hub, "officer-1").await;
    assert_eq!(
        post_form(&hub, &officer, "/desk/cases/c1/act", &[("kind", "assigned"), ("target", "expert-fruit")])
            .await,
        StatusCode::FORBIDDEN
    );
    let other = sign_in(&hub, "staff-x").await;
    assert_eq!(
        post_form(&hub, &other, "/desk/cases/c1/act", &[("kind", "assigned"), ("target", "expert-fruit")])
            .await,
        StatusCode::FORBIDDEN
    );
    let pig = sign_in(&hub, "expert-pig").await;
    assert_eq!(get(&hub, &pig, "/desk/cases/c1").await.0, StatusCode::FORBIDDEN);
    assert_eq!(
        post_form(&hub, &staff, "/desk/cases/c1/act", &[("kind", "onsite_dispatched"), ("yuan", "12.345")])
            .await,
        StatusCode::BAD_REQUEST,
        "a malformed amount"
    );
    let after = hub.store.call(|db| Ok(db.load_doc("c1")?.unwrap().save())).await.unwrap();
    assert_eq!(before, after, "refused actions changed nothing");

    // Staff assign; the expert sees it in her work list; the other expert still does not.
    assert_eq!(
        post_form(&hub, &staff, "/desk/cases/c1/act", &[("kind", "assigned"), ("target", "expert-fruit")])
            .await,
        StatusCode::SEE_OTHER
    );
    let fruit = sign_in(&hub, "expert-fruit").await;
    assert!(get(&hub, &fruit, "/desk").await.1.contains("/desk/cases/c1"));
    assert!(!get(&hub, &pig, "/desk").await.1.contains("/desk/cases/c1"));
    // Experts have no export, people or 找专家 pages.
    for path in ["/desk/export/download?format=csv", "/desk/experts", "/desk/people", "/desk/settings"] {
        assert_eq!(get(&hub, &fruit, path).await.0, StatusCode::FORBIDDEN, "{path}");
    }

    // 找专家 by industry and speciality.
    let (s, found) = get(&hub, &staff, "/desk/experts?industry=fruit&q=%E6%9F%91%E6%A9%98").await;
    assert_eq!(s, StatusCode::OK);
    assert!(found.contains("名-expert-fruit") && !found.contains("名-expert-pig"), "{found}");

    // Exports: within the region, numbers masked; CSV and XLSX.
    let (s, csv) = get(&hub, &staff, "/desk/export/download?format=csv").await;
    assert_eq!(s, StatusCode::OK);
    assert!(csv.contains("c1") && csv.contains("138****5678") && !csv.contains("13812345678"), "{csv}");
    assert!(csv.contains("名-expert-fruit"), "the expert by name");
    let res = client()
        .get(format!("http://{}/desk/export/download?format=xlsx&industry=fruit", hub.http_addr))
        .header(COOKIE, &staff)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.bytes().await.unwrap().starts_with(b"PK"), "an XLSX (zip) file");
    assert_eq!(
        get(&hub, &staff, "/desk/export/download?format=csv&region=510104").await.0,
        StatusCode::FORBIDDEN
    );
    // Numbers in clear are for the county centre only, and only those sealed to its key open:
    // this case's number was sealed by a kiosk that never had the county's key.
    let (s, clear) = get(&hub, &staff, "/desk/export/download?format=csv&phones=1").await;
    assert_eq!(s, StatusCode::OK);
    assert!(clear.contains("138****5678") && !clear.contains("13812345678"), "{clear}");
    assert_eq!(
        get(&hub, &other, "/desk/export/download?format=csv").await.1.matches("c1").count(),
        0,
        "another county's staff export none of it"
    );
    // Every export is in the audit trail, which administrators of the region read (others may
    // not); the export that asked for numbers in clear says so.
    assert_eq!(get(&hub, &staff, "/desk/audit").await.0, StatusCode::FORBIDDEN);
    let admin = sign_in(&hub, "admin").await;
    let (s, audit) = get(&hub, &admin, "/desk/audit").await;
    assert_eq!(s, StatusCode::OK);
    let rows: Vec<&str> = audit.split("<tr>").skip(2).collect();
    assert_eq!(rows.len(), 3, "the three exports of the county's staff (not the other county's): {audit}");
    assert!(rows[0].contains("名-staff") && rows[0].contains("导出服务记录（含完整号码）"), "{}", rows[0]);
    assert!(rows[0].contains("CSV") && rows[0].contains("1 条"), "{}", rows[0]);
    assert!(rows[1].contains("XLSX") && rows[1].contains("产业 川果"), "{}", rows[1]);
    assert!(rows[2].contains("导出服务记录（号码遮蔽）"), "{}", rows[2]);

    // Settings: administrators only; a bad value is refused and changes nothing.
    let form = [
        ("triage_min", "30"),
        ("response_min", "120"),
        ("followup_days", "5"),
        ("warn_min", "10"),
        ("hours", "08:30-17:30"),
        ("d0", "1"),
        ("d1", "1"),
    ];
    assert_eq!(post_form(&hub, &staff, "/desk/settings", &form).await, StatusCode::FORBIDDEN);
    let admin = sign_in(&hub, "admin").await;
    let mut bad = form;
    bad[4] = ("hours", "18:00-08:00");
    assert_eq!(post_form(&hub, &admin, "/desk/settings", &bad).await, StatusCode::BAD_REQUEST);
    assert_eq!(
        hub.store.call(|db| db.service_policy()).await.unwrap(),
        yizhan_core::clock::ServicePolicy::default()
    );
    assert_eq!(post_form(&hub, &admin, "/desk/settings", &form).await, StatusCode::SEE_OTHER);
    let p = hub.store.call(|db| db.service_policy()).await.unwrap();
    assert_eq!((p.triage_ms, p.response_ms, p.hours.start_min), (30 * 60_000, 120 * 60_000, 8 * 60 + 30));
    assert_eq!(p.hours.days, [true, true, false, false, false, false, false]);
}

#[tokio::test]
async fn administrators_import_people_with_row_by_row_errors() {
    let (hub, _dir) = start().await;
    let admin = sign_in(&hub, "admin").await;
    let staff = sign_in(&hub, "staff").await;
    let csv = "编号,姓名,角色,地区代码,产业,专长,状态,职称,手机号\n\
               e-new,新专家,专家,510131,川果、川茶,柑橘病害、茶树栽培,可接单,农艺师,13900001111\n\
               e-bad,坏角色,农民,510131,川果,,,,\n\
               e-far,外县专家,专家,510104,川果,,,,\n\
               o-new,新信息员,信息员,510131001001,,,,,\n";
    let upload = |cookie: String, body: &'static str| {
        let hub_addr = hub.http_addr;
        async move {
            let base = format!("http://{hub_addr}");
            let part = reqwest::multipart::Part::bytes(body.as_bytes().to_vec()).file_name("people.csv");
            let res = client()
                .post(format!("{base}/desk/people"))
                .header(COOKIE, cookie)
                .header(ORIGIN, &base)
                .multipart(reqwest::multipart::Form::new().part("file", part))
                .send()
                .await
                .unwrap();
            (res.status(), res.text().await.unwrap())
        }
    };
    let csv: &'static str = Box::leak(csv.to_string().into_boxed_str());
    assert_eq!(upload(staff, csv).await.0, StatusCode::FORBIDDEN, "staff may not import");
    let (s, page) = upload(admin.clone(), csv).await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("data-testid=\"imported\">2<"), "two good rows: {page}");
    assert!(page.contains("data-testid=\"import-errors\">2<"), "two bad rows");
    assert!(page.contains("未知的角色") && page.contains("不在您的管辖范围内"), "row errors in Chinese");
    let p = hub.store.call(|db| db.person("e-new")).await.unwrap().unwrap();
    assert_eq!((p.industries.len(), p.phone_masked.as_str()), (2, "139****1111"));
    assert!(hub.store.call(|db| db.person("e-far")).await.unwrap().is_none());
    // A corrected re-import updates instead of failing.
    let fixed: &'static str = "编号,姓名,角色,地区代码,产业,专长\ne-new,新专家,专家,510131,川果,柑橘病害\n";
    let (_, page) = upload(admin, fixed).await;
    assert!(page.contains("data-testid=\"imported\">1<"), "{page}");
    let p = hub.store.call(|db| db.person("e-new")).await.unwrap().unwrap();
    assert_eq!(p.industries, vec!["fruit".to_string()]);
    // A garbage file is refused with a message, nothing stored.
    let (s, page) = upload(sign_in(&hub, "admin").await, "\u{0}\u{1}garbage").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(page.contains("data-testid=\"error\""));
}

#[tokio::test]
async fn administrators_stop_access_and_reset_passwords_within_their_region() {
    let (hub, _dir) = start().await;
    let admin = sign_in(&hub, "admin").await;
    let staff = sign_in(&hub, "staff").await;
    let pig = sign_in(&hub, "expert-pig").await;
    assert_eq!(get(&hub, &pig, "/desk").await.0, StatusCode::OK);

    // Staff may not; an administrator may not stop herself.
    assert_eq!(
        post_form(&hub, &staff, "/desk/people/expert-pig/active", &[("active", "0")]).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        post_form(&hub, &admin, "/desk/people/admin/active", &[("active", "0")]).await,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        post_form(&hub, &admin, "/desk/people/nobody/active", &[("active", "0")]).await,
        StatusCode::NOT_FOUND
    );
    // Someone outside the administrator's county.
    assert_eq!(
        post_form(&hub, &admin, "/desk/people/staff-x/active", &[("active", "0")]).await,
        StatusCode::FORBIDDEN
    );

    // Stopped: her session ends, she cannot sign in, she is no longer suggested.
    assert_eq!(
        post_form(&hub, &admin, "/desk/people/expert-pig/active", &[("active", "0")]).await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(get(&hub, &pig, "/desk").await.0, StatusCode::SEE_OTHER, "her session ended");
    assert!(!password_signs_in(&hub, "expert-pig", PASSWORD).await, "no session for a stopped person");
    let p = hub.store.call(|db| db.person("expert-pig")).await.unwrap().unwrap();
    assert!(!p.active);
    assert!(hub.store.call(|db| db.experts_for(COUNTY)).await.unwrap().iter().all(|e| e.id != "expert-pig"));

    // A new password works; a too-short one is refused.
    assert_eq!(
        post_form(&hub, &admin, "/desk/people/staff/password", &[("password", "short")]).await,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        post_form(&hub, &staff, "/desk/people/staff/password", &[("password", "staff-new-pw-1")]).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        post_form(&hub, &admin, "/desk/people/staff/password", &[("password", "staff-new-pw-1")]).await,
        StatusCode::SEE_OTHER
    );
    assert!(password_signs_in(&hub, "staff", "staff-new-pw-1").await, "signed in with the new password");

    // Five wrong passwords lock an expert out; the people page says until when; staff may not
    // lift it, the administrator may, and then her password works at once.
    for _ in 0..5 {
        assert!(!password_signs_in(&hub, "expert-fruit", "wrong-password").await);
    }
    assert!(!password_signs_in(&hub, "expert-fruit", PASSWORD).await, "locked out");
    let (_, page) = get(&hub, &admin, "/desk/people").await;
    assert!(page.contains("data-testid=\"locked-expert-fruit\""), "{page}");
    assert!(!page.contains("data-testid=\"locked-expert-pig\""));
    assert_eq!(post_form(&hub, &staff, "/desk/people/expert-fruit/unlock", &[]).await, StatusCode::FORBIDDEN);
    assert!(!password_signs_in(&hub, "expert-fruit", PASSWORD).await, "still locked out");
    assert_eq!(post_form(&hub, &admin, "/desk/people/expert-fruit/unlock", &[]).await, StatusCode::SEE_OTHER);
    assert!(!get(&hub, &admin, "/desk/people").await.1.contains("locked-expert-fruit"));
    assert!(password_signs_in(&hub, "expert-fruit", PASSWORD).await, "unlocked");
    // A password reset lifts a lockout too.
    for _ in 0..5 {
        assert!(!password_signs_in(&hub, "officer-1", "wrong-password").await);
    }
    assert!(!password_signs_in(&hub, "officer-1", PASSWORD).await, "locked out");
    let reset = [("password", "officer-new-pw-1")];
    assert_eq!(
        post_form(&hub, &admin, "/desk/people/officer-1/password", &reset).await,
        StatusCode::SEE_OTHER
    );
    assert!(password_signs_in(&hub, "officer-1", "officer-new-pw-1").await, "the reset lifted the lockout");
}

async fn password_signs_in(hub: &Hub, id: &str, password: &str) -> bool {
    let base = format!("http://{}", hub.http_addr);
    let res = client()
        .post(format!("{base}/signin/password"))
        .header(ORIGIN, &base)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(encode(&[("id", id), ("password", password), ("next", "/desk")]))
        .send()
        .await
        .unwrap();
    res.headers().get(SET_COOKIE).is_some()
}

fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../media/tests/fixtures").join(name);
    std::fs::read(path).unwrap()
}

fn png(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([(x * 7) as u8, (y * 5) as u8, 90]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// Posts an answer (multipart, as the browser sends it) and returns the status and body.
async fn post_answer(
    hub: &Hub,
    cookie: &str,
    case: &str,
    text: &str,
    files: Vec<(&str, &str, Vec<u8>)>,
) -> (StatusCode, String) {
    let base = format!("http://{}", hub.http_addr);
    let mut form = reqwest::multipart::Form::new().text("text", text.to_string());
    for (field, name, bytes) in files {
        form =
            form.part(field.to_string(), reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()));
    }
    let res = client()
        .post(format!("{base}/desk/cases/{case}/answer"))
        .header(COOKIE, cookie)
        .header(ORIGIN, &base)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.text().await.unwrap_or_default())
}

/// What a refused answer must leave untouched: the document, the jobs and the blob files.
async fn answer_footprint(hub: &Hub, dir: &std::path::Path) -> (Vec<u8>, usize, usize) {
    let doc = hub.store.call(|db| Ok(db.load_doc("c1")?.unwrap().save())).await.unwrap();
    let jobs = hub.store.call(|db| db.jobs_for_doc("c1")).await.unwrap().len();
    let files = walk(&dir.join("blobs"));
    (doc, jobs, files)
}

fn walk(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .map(|rd| rd.flatten().map(|e| if e.path().is_dir() { walk(&e.path()) } else { 1 }).sum())
        .unwrap_or(0)
}

#[tokio::test]
async fn experts_answer_with_photos_and_a_video_that_gets_a_proxy_on_the_hub() {
    let (hub, dir) = start().await;
    receive_case(&hub, "c1").await;
    let staff = sign_in(&hub, "staff").await;
    let assign = [("kind", "assigned"), ("target", "expert-fruit")];
    assert_eq!(post_form(&hub, &staff, "/desk/cases/c1/act", &assign).await, StatusCode::SEE_OTHER);
    let video = fixture("landscape_960x540_h264_aac.mp4");
    let photo = png(64, 48);

    // Refusals change nothing: an expert not assigned to the case (refused before the upload is
    // read), a video FFmpeg cannot read, a second video, an answer text past its limit.
    let before = answer_footprint(&hub, dir.path()).await;
    let pig = sign_in(&hub, "expert-pig").await;
    let (s, _) = post_answer(&hub, &pig, "c1", "看看", vec![("video", "v.mp4", video.clone())]).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let fruit = sign_in(&hub, "expert-fruit").await;
    let garbage = b"this is not a video at all".repeat(100);
    let (s, body) = post_answer(&hub, &fruit, "c1", "答复", vec![("video", "bad.mp4", garbage)]).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("视频（bad.mp4）"), "the error names the video: {body}");
    let two = vec![("video", "a.mp4", video.clone()), ("video", "b.mp4", video.clone())];
    let (s, body) = post_answer(&hub, &fruit, "c1", "答复", two).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(body.contains("只能上传一段视频"), "{body}");
    let (s, body) = post_answer(&hub, &fruit, "c1", &"长".repeat(6000), vec![]).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(body.contains("答复内容过长"), "{body}");
    // A chosen photo of 0 bytes is an error, not silently dropped; a post that is not a
    // multipart form gets a Chinese answer, not axum's English one.
    let (s, body) = post_answer(&hub, &fruit, "c1", "答复", vec![("photos", "empty.jpg", Vec::new())]).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("empty.jpg") && body.contains("空文件"), "{body}");
    let base = format!("http://{}", hub.http_addr);
    let res = client()
        .post(format!("{base}/desk/cases/c1/answer"))
        .header(COOKIE, fruit.as_str())
        .header(ORIGIN, &base)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body("text=%E7%AD%94")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let body = res.text().await.unwrap();
    assert!(body.contains("上传格式不正确") && !body.contains("Invalid"), "{body}");
    assert_eq!(answer_footprint(&hub, dir.path()).await, before, "refused answers left something behind");

    // The assigned expert answers with a photo and a video.
    let files = vec![("photos", "leaf.png", photo), ("video", "spray.mp4", video.clone())];
    let (s, _) = post_answer(&hub, &fruit, "c1", "喷施代森锰锌，见视频示范", files).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let case =
        hub.store.call(|db| Ok(CaseDoc::from_doc(&db.load_doc("c1")?.unwrap()).unwrap())).await.unwrap();
    let answer = case.events.iter().find(|e| e.kind() == EventKind::Answered).unwrap();
    let video_hash = blake3_hex(&video);
    let groups: Vec<&str> = answer.target.split(',').collect();
    assert_eq!(groups.len(), 2, "the answer names its photo and its video: {}", answer.target);
    assert!(groups.contains(&video_hash.as_str()));
    let original = case.attachments.get(&format!("{video_hash}/original")).unwrap();
    assert_eq!((original.kind.as_str(), original.width, original.height), ("video", 960, 540));
    assert!(original.duration_ms > 2_500, "{original:?}");

    // The hub's worker makes the poster and the proxy; the progress endpoint reports it.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let jobs = loop {
        let (s, body) = get(&hub, &fruit, "/desk/cases/c1/jobs").await;
        assert_eq!(s, StatusCode::OK);
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        let jobs = v["jobs"].as_array().unwrap().clone();
        assert_eq!(jobs.len(), 1, "{body}");
        if jobs[0]["state"] == "done" || jobs[0]["state"] == "failed" {
            break jobs;
        }
        assert!(std::time::Instant::now() < deadline, "the video job never finished: {body}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(jobs[0]["state"], "done", "{jobs:?}");
    assert_eq!(jobs[0]["progress"], 1.0);
    let case =
        hub.store.call(|db| Ok(CaseDoc::from_doc(&db.load_doc("c1")?.unwrap()).unwrap())).await.unwrap();
    let proxy = case.attachments.get(&format!("{video_hash}/proxy")).expect("a proxy");
    let poster = case.attachments.get(&format!("{video_hash}/poster")).expect("a poster");
    assert_eq!((proxy.width, proxy.height), (854, 480));

    // The case page shows the answer's player (proxy with poster), the photo, and no progress.
    let (_, page) = get(&hub, &fruit, "/desk/cases/c1").await;
    assert!(page.contains("data-testid=\"answer-video\""), "{page}");
    assert!(
        page.contains(&format!("/blobs/{}", proxy.hash)) && page.contains(&format!("/blobs/{}", poster.hash))
    );
    assert!(!page.contains("video-progress"));
    // Blobs need sign-in, and the proxy is served in ranges for seeking.
    let url = format!("http://{}/blobs/{}", hub.http_addr, proxy.hash);
    assert_ne!(client().get(&url).send().await.unwrap().status(), StatusCode::OK);
    let res = client().get(&url).header(COOKIE, &fruit).header("Range", "bytes=0-99").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(res.bytes().await.unwrap().len(), 100);
    // The job list follows the case's view rights: another county's staff may not read it.
    let other = sign_in(&hub, "staff-x").await;
    assert_eq!(get(&hub, &other, "/desk/cases/c1/jobs").await.0, StatusCode::FORBIDDEN);
}

fn blake3_hex(bytes: &[u8]) -> String {
    yizhan_store::Hash::of(bytes).to_string()
}

#[tokio::test]
async fn administrators_correct_one_person_and_a_bad_field_changes_nothing() {
    let (hub, _dir) = start().await;
    let admin = sign_in(&hub, "admin").await;
    let staff = sign_in(&hub, "staff").await;
    let (s, page) = get(&hub, &admin, "/desk/people/expert-fruit").await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("value=\"fruit\" checked"), "her industry is ticked: {page}");
    assert_eq!(get(&hub, &staff, "/desk/people/expert-fruit").await.0, StatusCode::FORBIDDEN);
    assert_eq!(get(&hub, &admin, "/desk/people/staff-x").await.0, StatusCode::FORBIDDEN, "another county");

    let person = |id: &'static str| {
        let store = hub.store.clone();
        async move { store.call(move |db| db.person(id)).await.unwrap().unwrap() }
    };
    let before = person("expert-fruit").await;
    let save = |form: Vec<(&'static str, &'static str)>| {
        let (hub, admin) = (&hub, &admin);
        async move { post_form(hub, admin, "/desk/people/expert-fruit", &form).await }
    };
    // Refused, and nothing changes: an empty name, a region outside the county, an unknown
    // industry, a malformed phone; and staff may not.
    let good = vec![
        ("name", "李果"),
        ("region_code", COUNTY),
        ("industry", "fruit"),
        ("industry", "tea"),
        ("specialities", "柑橘病害、茶树病虫害"),
        ("availability", "busy"),
        ("title", "高级农艺师"),
        ("phone", ""),
    ];
    let with = |k: &'static str, v: &'static str| {
        let mut f: Vec<(&str, &str)> = good.iter().filter(|(n, _)| *n != k).cloned().collect();
        f.push((k, v));
        f
    };
    for bad in
        [with("name", " "), with("region_code", "510104"), with("industry", "durian"), with("phone", "12ab")]
    {
        assert_eq!(save(bad.clone()).await, StatusCode::BAD_REQUEST, "{bad:?}");
    }
    assert_eq!(post_form(&hub, &staff, "/desk/people/expert-fruit", &good).await, StatusCode::FORBIDDEN);
    assert_eq!(person("expert-fruit").await, before, "refusals changed nothing");

    // A correction: the directory and the suggestions follow it.
    assert_eq!(save(good.clone()).await, StatusCode::SEE_OTHER);
    let after = person("expert-fruit").await;
    assert_eq!(after.name, "李果");
    assert_eq!(after.industries, vec!["fruit".to_string(), "tea".to_string()]);
    assert_eq!(after.specialities, vec!["柑橘病害".to_string(), "茶树病虫害".to_string()]);
    assert_eq!((after.availability.as_str(), after.title.as_str()), ("busy", "高级农艺师"));
    assert_eq!((after.id.as_str(), after.role.as_str(), after.active), ("expert-fruit", "expert", true));
    assert_eq!(after.phone_masked, before.phone_masked, "an empty phone keeps the number");
    let tea = hub.store.call(|db| db.experts_for(COUNTY)).await.unwrap();
    assert!(tea.iter().any(|e| e.id == "expert-fruit" && e.industries.contains(&"tea".to_string())));
    // An officer moved to another village takes her sign-in secrets with her (their document's
    // region is what sends them to that village's kiosk).
    let moved = [("name", "名-officer-1"), ("region_code", "510131002001"), ("phone", "")];
    assert_eq!(post_form(&hub, &admin, "/desk/people/officer-1", &moved).await, StatusCode::SEE_OTHER);
    let credential = hub
        .store
        .call(|db| Ok(db.load_doc(&yizhan_core::people::Credential::doc_id("officer-1"))?.unwrap()))
        .await
        .unwrap();
    let credential = yizhan_core::people::Credential::from_doc(&credential).unwrap();
    assert_eq!(credential.region_code, "510131002001");
    assert!(!credential.password_hash.is_empty(), "her password stays");
    assert!(password_signs_in(&hub, "officer-1", PASSWORD).await);
}

/// Like [`receive_case`], with the phone sealed to this county hub's key (as a kiosk that holds
/// the county's key seals it), so the county can open it.
async fn receive_sealed_case(hub: &Hub, id: &str) {
    receive_case(hub, id).await;
    let public = hub.county_key().unwrap().public_key();
    let pid = yizhan_core::private::CasePrivate::id_for(id);
    hub.store
        .call(move |db| {
            db.update_doc(&pid, |doc| -> Result<(), String> {
                let mut p = yizhan_core::private::CasePrivate::from_doc(doc)?;
                p.seal_for_county("13812345678", &public, [7u8; 32], [9u8; 24]).map_err(|e| e.to_string())?;
                p.update_doc(doc)
            })
        })
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn without_sign_in_the_hub_shows_counts_and_sync_state_but_no_persons_data() {
    let (hub, _dir) = start().await;
    receive_case(&hub, "c1").await;
    let base = format!("http://{}", hub.http_addr);
    for path in ["/", "/status", "/api/hub"] {
        let res = client().get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        let body = res.text().await.unwrap();
        for secret in ["何大姐", "138****5678", "褐色病斑", "officer-1", "光明村"] {
            assert!(!body.contains(secret), "{path} shows {secret} without sign-in:\n{body}");
        }
    }
    let view: serde_json::Value =
        client().get(format!("{base}/api/hub")).send().await.unwrap().json().await.unwrap();
    assert_eq!(view["cases"], 1, "the counts stay public: {view}");
    assert!(view.get("recent").is_none(), "{view}");
    let (_, status) = get(&hub, "", "/status").await;
    assert!(status.contains("运管中心同步状态") && status.contains("上级中心"), "{status}");
    assert!(!status.contains("上级 "), "no English peer label: {status}");

    // Staff, administrators and experts who are signed in land on the desk; an officer (who
    // has no desk here) gets the overview.
    for id in ["staff", "admin", "expert-fruit"] {
        let cookie = sign_in(&hub, id).await;
        let res = client().get(format!("{base}/")).header(COOKIE, &cookie).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{id}");
        assert_eq!(res.headers().get(LOCATION).unwrap(), "/desk", "{id}");
    }
    let officer = sign_in(&hub, "officer-1").await;
    let (s, body) = get(&hub, &officer, "/").await;
    assert_eq!(s, StatusCode::OK);
    assert!(!body.contains("何大姐"), "{body}");
}

#[tokio::test]
async fn only_the_county_centre_sees_the_farmers_number_in_clear_on_the_desk() {
    let (hub, _dir) = start().await;
    receive_sealed_case(&hub, "c1").await;
    let staff = sign_in(&hub, "staff").await;
    assert_eq!(
        post_form(&hub, &staff, "/desk/cases/c1/act", &[("kind", "assigned"), ("target", "expert-fruit")])
            .await,
        StatusCode::SEE_OTHER
    );
    for (id, clear) in [("staff", true), ("admin", true), ("officer-1", false), ("expert-fruit", false)] {
        let cookie = sign_in(&hub, id).await;
        let (s, page) = get(&hub, &cookie, "/desk/cases/c1").await;
        assert_eq!(s, StatusCode::OK, "{id}");
        assert_eq!(page.contains("13812345678"), clear, "{id} sees the number in clear: {clear}");
        assert!(page.contains("138****5678") || clear, "{id} sees the masked number");
    }
}

/// Tries a password for `id` over HTTP from the loopback address `from` (127.0.0.x).
async fn password_from(hub: &Hub, from: &str, id: &str, password: &str) -> StatusCode {
    let base = format!("http://{}", hub.http_addr);
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .local_address(from.parse::<std::net::IpAddr>().unwrap())
        .default_headers(yizhan_web::client_headers())
        .build()
        .unwrap();
    client
        .post(format!("{base}/signin/password"))
        .header(ORIGIN, &base)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(encode(&[("id", id), ("password", password), ("next", "/desk")]))
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn a_wrong_password_storm_from_one_address_does_not_lock_the_administrator_out_elsewhere() {
    let (hub, _dir) = start().await;
    for _ in 0..yizhan_accounts::limits::FAILURES_BEFORE_LOCKOUT * 2 {
        let s = password_from(&hub, "127.0.0.2", "admin", "not-her-password").await;
        assert!(s == StatusCode::UNAUTHORIZED || s == StatusCode::TOO_MANY_REQUESTS, "{s}");
    }
    assert_eq!(
        password_from(&hub, "127.0.0.2", "admin", PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS,
        "the guessing address is locked out"
    );
    assert_eq!(
        password_from(&hub, "127.0.0.3", "admin", PASSWORD).await,
        StatusCode::SEE_OTHER,
        "the administrator signs in from her own address"
    );
}

/// The `<li>` of the suggestion list that offers `expert` (empty when she is not offered).
fn suggestion_of<'a>(page: &'a str, expert: &str) -> &'a str {
    let Some(list) = page.split("data-testid=\"suggestions\"").nth(1) else { return "" };
    let list = list.split("</ol>").next().unwrap();
    list.split("<li").find(|li| li.contains(&format!("data-expert=\"{expert}\""))).unwrap_or("")
}

#[tokio::test]
async fn the_desk_marks_experts_of_another_industry_states_deadlines_and_confirms_an_answer() {
    let (hub, _dir) = start().await;
    receive_case(&hub, "c1").await;
    let staff = sign_in(&hub, "staff").await;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let queue = loop {
        let (_, body) = get(&hub, &staff, "/desk").await;
        if body.contains("/desk/cases/c1") {
            break body;
        }
        assert!(std::time::Instant::now() < deadline, "c1 never reached the queue:\n{body}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    // Deadlines: the limit says it counts working hours; the wall-clock deadline comes first,
    // then the working time left.
    assert!(queue.contains("分诊时限 1 小时，按工作时间（08:00–18:00）计"), "{queue}");
    assert!(queue.contains("回访时限 7 天，按自然日计"), "{queue}");
    let row = queue.split("data-testid=\"triage-queue\"").nth(1).unwrap();
    let (cell, _) = row.split_once("</td>").unwrap();
    let cell = cell.rsplit("<td class=\"due\">").next().unwrap();
    assert!(cell.starts_with("<b>截止 ") && cell.contains("月") && cell.contains("日 "), "{cell}");
    assert!(cell.contains("剩余工作时间") || cell.contains("已超时"), "{cell}");
    assert!(!queue.contains("分诊时限 1 小时）"), "the old heading: {queue}");

    // Suggestions: the fruit expert matches, the pig expert is offered but marked and demoted.
    let (_, page) = get(&hub, &staff, "/desk/cases/c1").await;
    let fruit_li = suggestion_of(&page, "expert-fruit");
    assert!(fruit_li.contains("class=\"primary\"") && fruit_li.contains("行业对口"), "{fruit_li}");
    assert!(fruit_li.contains("专长相符：柑橘病害"), "{fruit_li}");
    let pig_li = suggestion_of(&page, "expert-pig");
    assert!(pig_li.contains("class=\"secondary\"") && pig_li.contains("行业不符"), "{pig_li}");
    assert!(!pig_li.contains("class=\"primary\""), "{pig_li}");

    // Once assigned, she is not offered again for reassignment.
    let assign = [("kind", "assigned"), ("target", "expert-fruit")];
    assert_eq!(post_form(&hub, &staff, "/desk/cases/c1/act", &assign).await, StatusCode::SEE_OTHER);
    let (_, page) = get(&hub, &staff, "/desk/cases/c1").await;
    assert!(page.contains("改派专家"), "{page}");
    assert_eq!(suggestion_of(&page, "expert-fruit"), "", "the assigned expert is not offered again");
    assert!(!suggestion_of(&page, "expert-pig").is_empty());

    // The expert answers: the page confirms it with the answer as submitted and offers no
    // empty form, only a supplement she opens on purpose.
    let fruit = sign_in(&hub, "expert-fruit").await;
    let (_, before) = get(&hub, &fruit, "/desk/cases/c1").await;
    assert!(before.contains("data-testid=\"answer-text\"") && !before.contains("answer-submitted"));
    let (s, _) = post_answer(&hub, &fruit, "c1", "剪除病叶，喷施代森锰锌", vec![]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, after) = get(&hub, &fruit, "/desk/cases/c1").await;
    let confirm = after.split("data-testid=\"answer-submitted\"").nth(1).expect("a confirmation");
    let confirm = confirm.split("</section>").next().unwrap();
    assert!(confirm.contains("已提交") && confirm.contains("剪除病叶，喷施代森锰锌"), "{confirm}");
    let (open_form, _) = after.split_once("data-testid=\"answer-more\"").expect("the supplement, folded");
    assert!(!open_form.contains("data-testid=\"answer-text\""), "no empty answer form before the fold");
    assert!(after.contains("提交补充答复"));
}

/// Issue 10: a page on another site, or on another port of this host, cannot make a signed-in
/// member of staff assign a case or an administrator set someone's password; neither can a post
/// without the session's token. Every desk page carries the security headers.
#[tokio::test]
async fn cross_site_posts_are_refused_and_change_nothing() {
    let (hub, _dir) = start().await;
    receive_case(&hub, "c1").await;
    let staff = sign_in(&hub, "staff").await;
    let admin = sign_in(&hub, "admin").await;
    let base = format!("http://{}", hub.http_addr);
    let sibling = format!("http://127.0.0.1:{}", hub.http_addr.port().wrapping_add(1));
    let before = hub.store.call(|db| Ok(db.load_doc("c1")?.unwrap().save())).await.unwrap();
    let assign = encode(&[("kind", "assigned"), ("target", "expert-fruit")]);
    let reset = encode(&[("password", "attacker-pw-123"), ("confirm", "attacker-pw-123")]);
    for (who, cookie, path, body) in [
        ("staff", &staff, "/desk/cases/c1/act", &assign),
        ("admin", &admin, "/desk/people/officer-1/password", &reset),
    ] {
        for origin in [sibling.as_str(), "http://evil.example", "null"] {
            let res = client()
                .post(format!("{base}{path}"))
                .header(COOKIE, cookie.as_str())
                .header(ORIGIN, origin)
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(body.clone())
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::FORBIDDEN, "{who} {path} from {origin}");
            assert!(res.text().await.unwrap().contains("请求被拒绝"));
        }
        // The session cookie alone (no token): what a cross-site form would send.
        let session_only = cookie.split(';').next().unwrap().to_string();
        let res = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .unwrap()
            .post(format!("{base}{path}"))
            .header(COOKIE, session_only)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{who} {path} without the token");
    }
    let after = hub.store.call(|db| Ok(db.load_doc("c1")?.unwrap().save())).await.unwrap();
    assert_eq!(before, after, "the case is unchanged");
    assert!(!password_signs_in(&hub, "officer-1", "attacker-pw-123").await, "the password is unchanged");
    assert!(password_signs_in(&hub, "officer-1", PASSWORD).await);

    // The same posts from the desk's own pages go through.
    assert_eq!(
        post_form(&hub, &staff, "/desk/cases/c1/act", &[("kind", "assigned"), ("target", "expert-fruit")])
            .await,
        StatusCode::SEE_OTHER
    );

    for path in ["/desk", "/desk/cases/c1", "/signin", "/"] {
        let res = client().get(format!("{base}{path}")).header(COOKIE, staff.as_str()).send().await.unwrap();
        let h = res.headers();
        let csp =
            h.get("content-security-policy").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
        assert!(
            csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'self'"),
            "{path}: {csp}"
        );
        assert_eq!(h.get("x-content-type-options").unwrap(), "nosniff", "{path}");
        assert_eq!(h.get("x-frame-options").unwrap(), "DENY", "{path}");
        assert!(h.contains_key("referrer-policy"), "{path}");
    }
}
