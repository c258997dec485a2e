//! 特派员讲堂 view counts over real QUIC on loopback (kiosk → county → city → province, each with
//! its own SQLite store and real certificates): views recorded at a kiosk with no link reach
//! the county and the province when the link comes up; cutting and restoring the link (the
//! documents sent again) never counts a view twice; a view at the county's own lecture page
//! counts too and shows there ("观看 N 次"); the province's `/api/stats` shows them by month,
//! region and lecture.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, COOKIE, ORIGIN, SET_COOKIE};
use serde_json::Value;
use yizhan_core::publication::StepKind;
use yizhan_core::{Actor, NewPerson, RegionCode, Role};
use yizhan_hub::Hub;
use yizhan_hub::service::lectures::{self as svc, Files};
use yizhan_hub::service::publication::{self as pipeline, ItemInput};
use yizhan_store::{Store, StoreConfig};
use yizhan_test_support::{Chain, eventually, start_uplink};

const COUNTY: &str = "510131";
const VILLAGE: &str = "510131001001";
const KIOSK: &str = "kiosk-views-1";
const PASSWORD: &str = "views-test-pw";
const CSRF: &str = "00112233445566778899aabbccddeeff";
const ALL_MONTHS: (u32, u32) = (0, 999_912);

fn actor(id: &str, role: Role) -> Actor {
    Actor {
        person_id: id.into(), name: format!("名-{id}"), role, region: RegionCode::parse(COUNTY).unwrap()
    }
}

/// Publishes a lecture (a small PDF) at the county; returns its published id.
async fn publish_lecture(county: &Hub, title: &str) -> String {
    let staff = actor("staff", Role::Staff);
    let fields: BTreeMap<String, String> =
        [("industry", "pig"), ("speaker", "刘红")].into_iter().map(|(k, v)| (k.into(), v.into())).collect();
    let input = ItemInput {
        kind: yizhan_lectures::LECTURE.into(),
        title: title.into(),
        body: "要点".into(),
        fields,
        ip_owner: "蒲江县农业农村局".into(),
    };
    let id = pipeline::create_item(county, &staff, input).await.unwrap();
    let pdf = b"%PDF-1.4\n% lecture\n".to_vec();
    svc::add_files(county, &staff, &id, Files { video: None, pdf: Some(("课件.pdf".into(), pdf)) })
        .await
        .unwrap();
    for (who, step) in [
        (actor("staff", Role::Staff), StepKind::Submit),
        (actor("reviewer", Role::Staff), StepKind::Review),
        (actor("admin", Role::Admin), StepKind::SignOff),
    ] {
        pipeline::take_step(county, &who, &id, step, "").await.unwrap();
    }
    svc::published(county).await.unwrap().into_iter().find(|p| p.title == title).unwrap().id
}

async fn views(store: &Store, region: &'static str) -> BTreeMap<String, u64> {
    store.call(move |db| db.lecture_views_by_lecture(region, ALL_MONTHS.0, ALL_MONTHS.1)).await.unwrap()
}

async fn record(store: &Store, lecture: &str) {
    let lecture = lecture.to_string();
    store.call(move |db| db.record_lecture_view(KIOSK, VILLAGE, &lecture)).await.unwrap();
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

async fn sign_in(hub: &Hub, id: &str) -> String {
    let base = format!("http://{}", hub.http_addr);
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([("id", id), ("password", PASSWORD), ("next", "/desk")])
        .finish();
    let res = client()
        .post(format!("{base}/signin/password"))
        .header(ORIGIN, &base)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "signing in {id}");
    let cookie = res.headers().get(SET_COOKIE).unwrap().to_str().unwrap();
    format!("{}; {}={CSRF}", cookie.split(';').next().unwrap(), yizhan_web::CSRF_COOKIE)
}

async fn get(hub: &Hub, cookie: &str, path: &str) -> (StatusCode, String) {
    let mut req = client().get(format!("http://{}{path}", hub.http_addr));
    if !cookie.is_empty() {
        req = req.header(COOKIE, cookie);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    (status, res.text().await.unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn views_recorded_offline_reach_the_county_and_province_once() {
    let dir = tempfile::tempdir().unwrap();
    let chain = Chain::start(dir.path(), "5101", COUNTY).await;
    let a = publish_lecture(&chain.county, "生猪非洲猪瘟生物安全").await;
    let b = publish_lecture(&chain.county, "柑橘修剪").await;

    // The kiosk has no link: its views wait in its store.
    let kiosk = Store::open(StoreConfig::new(dir.path().join("kiosk"))).unwrap();
    for l in [&a, &a, &b, &a] {
        record(&kiosk, l).await;
    }
    let expected = BTreeMap::from([(a.clone(), 3), (b.clone(), 1)]);
    assert_eq!(views(&kiosk, VILLAGE).await, expected);
    assert!(views(&chain.county.store, COUNTY).await.is_empty());

    // The link comes up: the county counts them, and the province.
    let tls = chain.pki.kiosk_tls(&chain.county_ca, KIOSK, VILLAGE);
    let (uplink, _) = start_uplink(&kiosk, &tls, &chain.county, |_| {});
    eventually("the county counts the kiosk's views", || async {
        views(&chain.county.store, COUNTY).await == expected
    })
    .await;
    eventually("the province counts them", || async { views(&chain.province.store, "51").await == expected })
        .await;

    // Cut the link, one more view offline, link again: the document goes again, each view
    // counted once.
    uplink.abort();
    let _ = uplink.await;
    record(&kiosk, &b).await;
    let (uplink, _) = start_uplink(&kiosk, &tls, &chain.county, |_| {});
    let expected = BTreeMap::from([(a.clone(), 3), (b.clone(), 2)]);
    eventually("the province counts the view made while cut off", || async {
        views(&chain.province.store, "51").await == expected
    })
    .await;
    uplink.abort();
    let _ = uplink.await;
    let (_uplink, _) = start_uplink(&kiosk, &tls, &chain.county, |_| {});
    // Everything sent again on a fresh connection: the county then holds the kiosk's document
    // exactly as the kiosk has it, and still counts each view once.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert_eq!(views(&chain.county.store, COUNTY).await, expected);
    assert_eq!(views(&chain.city.store, "5101").await, expected);
    assert_eq!(views(&chain.province.store, "51").await, expected);

    // A view at the county's own page counts, shows there and goes up.
    let (status, page) = get(&chain.county, "", &format!("/lectures/{a}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("data-testid=\"lecture-views\""), "{page}");
    assert!(page.contains("4 次"), "county page shows 3 from the kiosk and its own: {page}");
    let (_, list) = get(&chain.county, "", "/lectures").await;
    assert!(list.contains("观看 4 次") && list.contains("观看 2 次"), "{list}");
    eventually("the province counts the county's own view", || async {
        views(&chain.province.store, "51").await.get(&a) == Some(&4)
    })
    .await;

    // The province's statistics: by month, region and lecture (the lectures' titles as held).
    let np = NewPerson {
        id: "prov-staff".into(),
        name: "省级人员".into(),
        role: "staff".into(),
        region_code: "51".into(),
        ..Default::default()
    };
    chain.province.accounts.create_person(&np, Some(PASSWORD)).await.unwrap();
    let cookie = sign_in(&chain.province, "prov-staff").await;
    let (status, body) = get(&chain.province, &cookie, "/api/stats").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let s: Value = serde_json::from_str(&body).unwrap();
    let v = &s["lecture_views"];
    assert_eq!(v["total"], 6, "{v}");
    assert_eq!(
        v["by_month"].as_array().unwrap().iter().map(|m| m["views"].as_u64().unwrap()).sum::<u64>(),
        6
    );
    let regions: BTreeMap<String, u64> = v["by_region"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["region"].as_str().unwrap().to_string(), r["views"].as_u64().unwrap()))
        .collect();
    assert_eq!(regions, BTreeMap::from([(VILLAGE.to_string(), 5), (COUNTY.to_string(), 1)]));
    assert_eq!(v["by_lecture"][0]["lecture"], a.as_str());
    assert_eq!(v["by_lecture"][0]["views"], 4);
    assert_eq!(v["by_lecture"][0]["title"], "生猪非洲猪瘟生物安全");
    // Each object sent has exactly the properties its OpenAPI schema lists.
    let (_, doc) = get(&chain.province, "", "/api/openapi.json").await;
    let doc: Value = serde_json::from_str(&doc).unwrap();
    let keys = |v: &Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    for (sent, schema) in [
        (v, "LectureViews"),
        (&v["by_month"][0], "MonthViews"),
        (&v["by_region"][0], "RegionViews"),
        (&v["by_lecture"][0], "LectureCount"),
    ] {
        assert_eq!(keys(sent), keys(&doc["components"]["schemas"][schema]["properties"]), "{schema}");
    }
    let (status, page) = get(&chain.province, &cookie, "/desk/stats").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("data-testid=\"stats-lecture-views-total\">6<"), "{page}");
    // Without sign-in, no statistics.
    let (status, _) = get(&chain.province, "", "/api/stats").await;
    assert_ne!(status, StatusCode::OK);
}
