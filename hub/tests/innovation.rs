//! 农村双创平台 over a real chain (province → city → county → kiosk, QUIC with certificates on
//! loopback, real SQLite, the nodes' routers with sign-in and the cross-site token):
//! - a platform registered at the county and signed off by two other people shows on the
//!   kiosk's map page and JSON, without sign-in, with its filters;
//! - coordinates outside Sichuan (or outside the platform's county), or a mobile number as the
//!   organisation's phone, are refused with a Chinese message and nothing is created;
//! - an industry record's page at the kiosk suggests the nearest platforms serving its industry
//!   (基地选择的参考), ranked by distance from the record's county.
#![allow(clippy::unwrap_used)]

use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, ORIGIN, SET_COOKIE};
use yizhan_core::NewPerson;
use yizhan_core::publication::StepKind;
use yizhan_core::published::PublishedDoc;
use yizhan_hub::Hub;
use yizhan_test_support::{Chain, Kiosk, eventually};

const PASSWORD: &str = "innovation-test-pw";
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

fn hub_url(hub: &Hub) -> String {
    format!("http://{}", hub.http_addr)
}

async fn add_people(hub: &Hub, people: &[(&str, &str, &str)]) {
    for (id, role, region) in people {
        let p = NewPerson {
            id: (*id).into(),
            name: format!("名-{id}"),
            role: (*role).into(),
            region_code: (*region).into(),
            ..Default::default()
        };
        hub.accounts.create_person(&p, Some(PASSWORD)).await.unwrap();
    }
}

async fn sign_in(base: &str, id: &str) -> String {
    let res = client()
        .post(format!("{base}/signin/password"))
        .header(ORIGIN, base)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(encode(&[("id", id), ("password", PASSWORD), ("next", "/desk")]))
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

async fn item_count(hub: &Hub) -> usize {
    hub.store.call(|db| db.all_publications()).await.unwrap().len()
}

/// A platform to register: name, type, level, region, longitude, latitude, industries.
type Place = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
);

/// Real places: 蒲江县城, 雅安 名山区, 康定, 宜宾 翠屏区, 广元 利州区.
const PUJIANG: Place =
    ("蒲江县茶果星创天地", "xingchuang", "national", "510131", "103.4900", "30.2000", &["tea", "fruit"]);
const OTHERS: &[Place] = &[
    ("名山区茶叶科技园区", "park", "provincial", "511803", "103.1093", "30.0697", &["tea"]),
    (
        "康定高原牧业众创空间",
        "zhongchuang",
        "city",
        "513301",
        "101.9649",
        "30.0498",
        &["tea", "cattle_sheep"],
    ),
    ("宜宾翠屏茶业孵化器", "incubator", "provincial", "511502", "104.6200", "28.7650", &["tea"]),
    ("广元利州果业园区", "park", "provincial", "510802", "105.8436", "32.4354", &["fruit"]),
];

fn form_of(p: &Place, lon: &str, lat: &str, phone: &str) -> Vec<(&'static str, String)> {
    let mut f = vec![
        ("title", p.0.to_string()),
        ("platform_type", p.1.to_string()),
        ("level", p.2.to_string()),
        ("region", p.3.to_string()),
        ("longitude", lon.to_string()),
        ("latitude", lat.to_string()),
        ("operator", format!("{}运营公司", p.0)),
        ("org_phone", phone.to_string()),
        ("body", format!("{}：孵化、培训与技术示范。", p.0)),
        ("ip_owner", "四川省科技厅".to_string()),
    ];
    f.extend(p.6.iter().map(|i| ("industries", i.to_string())));
    f
}

/// Registers `p` at `hub` and takes it through the pipeline (author submits, two others review
/// and sign off); returns its public id.
async fn register(hub: &Hub, people: [&str; 3], p: &Place) -> String {
    let base = hub_url(hub);
    let author = sign_in(&base, people[0]).await;
    let form = form_of(p, p.4, p.5, "028-88551234");
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (s, location, body) = post(&base, &author, "/innovation", &form).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{}: {body}", p.0);
    let id = location.strip_prefix("/desk/items/").unwrap().to_string();
    let mut cookies = vec![author];
    for who in &people[1..] {
        cookies.push(sign_in(&base, who).await);
    }
    for (cookie, step) in cookies.iter().zip([StepKind::Submit, StepKind::Review, StepKind::SignOff]) {
        let path = format!("/desk/items/{id}/step");
        let (s, _, body) = post(&base, cookie, &path, &[("step", step.code()), ("note", "")]).await;
        assert_eq!(s, StatusCode::SEE_OTHER, "{step:?}: {body}");
    }
    PublishedDoc::id_for(&id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn platforms_are_checked_signed_off_shown_at_a_kiosk_and_suggested_beside_an_industry_record() {
    let dir = tempfile::tempdir().unwrap();
    let chain = Chain::start(dir.path(), "5101", "510131").await;
    let kiosk = Kiosk::start(
        &dir.path().join("kiosk"),
        &chain.county_ca,
        &chain.pki.province,
        "kiosk-a",
        "510131001001",
    )
    .await;
    kiosk.link(&chain.county);
    let county = &chain.county;
    add_people(
        county,
        &[("author", "staff", "510131"), ("reviewer", "staff", "510131"), ("signer", "admin", "510131")],
    )
    .await;
    add_people(
        &chain.province,
        &[("p-author", "staff", "51"), ("p-reviewer", "staff", "51"), ("p-signer", "admin", "51")],
    )
    .await;
    let base = hub_url(county);
    let author = sign_in(&base, "author").await;
    let (s, page) = get(&format!("{base}/innovation/new"), Some(&author)).await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("登记农村双创平台") && page.contains("星创天地"), "{page}");

    // Refused, nothing created: 重庆 (inside Sichuan's bounding box, outside its border), 西安,
    // a point of 邛崃 (next to 蒲江), a mobile as the organisation's phone.
    for (lon, lat, phone, expected) in [
        ("106.5516", "29.5630", "", "不在四川省范围内"),
        ("108.9398", "34.3416", "", "不在四川省范围内"),
        ("103.4612", "30.4102", "", "不在所在地区"),
        ("103.4900", "30.2000", "13812345678", "不能填个人手机号"),
        ("东经103", "30.2000", "", "须为数字"),
    ] {
        let form = form_of(&PUJIANG, lon, lat, phone);
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (s, _, body) = post(&base, &author, "/innovation", &form).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{lon},{lat}");
        assert!(body.contains(expected), "{expected}: {body}");
    }
    assert_eq!(item_count(county).await, 0, "nothing created from refused forms");
    // Not signed in: no form.
    let anonymous = format!("{}={CSRF}", yizhan_web::CSRF_COOKIE);
    let form = form_of(&PUJIANG, PUJIANG.4, PUJIANG.5, "");
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (s, location, _) = post(&base, &anonymous, "/innovation", &form).await;
    assert!(s.is_client_error() || location.starts_with("/signin"), "{s} {location}");
    // A county registers only in its county.
    let form = form_of(&OTHERS[0], OTHERS[0].4, OTHERS[0].5, "");
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (s, _, body) = post(&base, &author, "/innovation", &form).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(body.contains("辖区内"), "{body}");
    assert_eq!(item_count(county).await, 0);

    // Registered and signed off by two others: 蒲江 at the county, the rest at the province.
    let pujiang = register(county, ["author", "reviewer", "signer"], &PUJIANG).await;
    let mut ids = vec![pujiang.clone()];
    for p in OTHERS {
        ids.push(register(&chain.province, ["p-author", "p-reviewer", "p-signer"], p).await);
    }

    // At the kiosk, without sign-in: the map page lists all five, the JSON too.
    eventually("the platforms reach the kiosk", || async {
        let (_, page) = get(&format!("{}/innovation", kiosk.url), None).await;
        ids.iter().all(|id| page.contains(id.as_str()))
    })
    .await;
    let (s, page) = get(&format!("{}/innovation", kiosk.url), None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        page.contains("data-testid=\"innovation-map\"") && page.contains("/static/innovation.js"),
        "{page}"
    );
    assert!(
        page.contains("蒲江县茶果星创天地") && page.contains("国家级") && page.contains("028-88551234"),
        "{page}"
    );
    let json = |q: &'static str| {
        let url = format!("{}/api/innovation{q}", kiosk.url);
        async move {
            let (s, body) = get(&url, None).await;
            assert_eq!(s, StatusCode::OK, "{body}");
            let v: serde_json::Value = serde_json::from_str(&body).unwrap();
            let mut names: Vec<String> = v["platforms"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["name"].as_str().unwrap().to_string())
                .collect();
            names.sort();
            names
        }
    };
    assert_eq!(json("").await.len(), 5);
    assert_eq!(json("?type=park").await, vec!["名山区茶叶科技园区", "广元利州果业园区"]);
    assert_eq!(json("?level=national").await, vec!["蒲江县茶果星创天地"]);
    assert_eq!(json("?industry=fruit&city=5108").await, vec!["广元利州果业园区"]);
    assert_eq!(json("?industry=pig").await, Vec::<String>::new());
    let (_, page) = get(&format!("{}/innovation?type=incubator", kiosk.url), None).await;
    assert_eq!(page.matches("data-testid=\"platform\"").count(), 1, "{page}");
    let (s, page) = get(&format!("{}/items/{pujiang}", kiosk.url), None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("名-reviewer") && page.contains("名-signer"), "{page}");
    // The hub documents its JSON.
    let (_, doc) = get(&format!("{}/api/openapi.json", hub_url(&chain.province)), None).await;
    assert!(doc.contains("/api/innovation") && doc.contains("longitude"), "{doc}");

    // An industry record of 蒲江's tea: the nearest tea platforms, from the county's centre
    // point (103.5065, 30.1968): 蒲江 (2 km), 名山 (41 km), 康定 (149 km); not 宜宾 (192 km).
    let form = [
        ("kind", "industry.local"),
        ("title", "蒲江县茶叶产业现状"),
        ("body", "蒲江县茶园面积约二十万亩，以雀舌为主。"),
        ("ip_owner", "蒲江县农业农村局"),
        ("f.database", "产业现状"),
        ("f.region", "510131"),
        ("f.industry", "川茶"),
        ("f.crops", "茶叶"),
        ("f.source", "蒲江县农业农村局"),
        ("f.date", "2026-04-20"),
    ];
    let (s, location, body) = post(&base, &author, "/desk/items", &form).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    let record = location.strip_prefix("/desk/items/").unwrap().to_string();
    let (reviewer, signer) = (sign_in(&base, "reviewer").await, sign_in(&base, "signer").await);
    for (cookie, step) in
        [(&author, StepKind::Submit), (&reviewer, StepKind::Review), (&signer, StepKind::SignOff)]
    {
        let path = format!("/desk/items/{record}/step");
        assert_eq!(
            post(&base, cookie, &path, &[("step", step.code()), ("note", "")]).await.0,
            StatusCode::SEE_OTHER
        );
    }
    let record = PublishedDoc::id_for(&record);
    let url = format!("{}/industry/{record}", kiosk.url);
    eventually("the record reaches the kiosk", || async { get(&url, None).await.0 == StatusCode::OK }).await;
    let (_, page) = get(&url, None).await;
    let order: Vec<&str> = page
        .split("data-testid=\"nearest\" data-id=\"")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap())
        .collect();
    assert_eq!(order, vec![ids[0].as_str(), ids[1].as_str(), ids[2].as_str()], "{page}");
    assert!(
        page.contains("基地选择的参考") && page.contains("41 公里") && page.contains("149 公里"),
        "{page}"
    );
    // The same at the hub.
    let (_, page) = get(&format!("{base}/industry/{record}"), None).await;
    assert!(page.contains("41 公里") && !page.contains(&ids[3]), "{page}");
}
