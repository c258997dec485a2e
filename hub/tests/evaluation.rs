//! Targets (指标) and evaluations (考评, 激励保障) on a real county hub over HTTP: who may set
//! a region's goals (its own administrators; bad values change nothing), progress read back at
//! `/api/targets`; the evaluations score the county centre, its expert and its officer from
//! the rollups, the province's rule is not editable by a county, the XLSX export opens, and
//! another county's evaluations are refused.
#![allow(clippy::unwrap_used)]

use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, COOKIE, ORIGIN, SET_COOKIE};
use serde_json::Value;
use yizhan_core::{CaseDoc, Event, EventKind, NewCase, NewPerson};
use yizhan_hub::Hub;
use yizhan_test_support::{Pki, start_hub};

const COUNTY: &str = "510131";
const PASSWORD: &str = "eval-test-pw";
const CSRF: &str = "00112233445566778899aabbccddeeff";

async fn start() -> (Hub, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new();
    let county = Pki::hub(&pki.province, COUNTY);
    let hub = start_hub(dir.path(), &pki.hub_tls(&county), None).await;
    for (pid, role, region, industries) in [
        ("staff", "staff", COUNTY, vec![]),
        ("admin", "admin", COUNTY, vec![]),
        ("city-staff", "staff", "5101", vec![]),
        ("other-county", "staff", "510104", vec![]),
        ("expert-fruit", "expert", COUNTY, vec!["fruit"]),
        ("officer-1", "officer", "510131001001", vec![]),
        ("officer-2", "officer", "510131001001", vec![]),
        ("officer-3", "officer", "510131001002", vec![]),
    ] {
        let np = NewPerson {
            id: pid.into(),
            name: format!("名-{pid}"),
            role: role.into(),
            region_code: region.into(),
            industries: industries.into_iter().map(String::from).collect(),
            ..Default::default()
        };
        hub.accounts.create_person(&np, Some(PASSWORD)).await.unwrap();
    }
    (hub, dir)
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

async fn post_form(hub: &Hub, cookie: &str, path: &str, pairs: &[(&str, &str)]) -> (StatusCode, String) {
    let base = format!("http://{}", hub.http_addr);
    let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
    let res = client()
        .post(format!("{base}{path}"))
        .header(ORIGIN, &base)
        .header(COOKIE, cookie)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.text().await.unwrap_or_default())
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

async fn get_json(hub: &Hub, cookie: &str, path: &str) -> (StatusCode, Value) {
    let (status, body) = get(hub, cookie, path).await;
    (status, serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: {e}: {body}")))
}

/// 2026-03-10 12:00 UTC+8.
const MARCH_MS: i64 = 1_773_115_200_000;

/// A case recorded in `village` in March 2026 with `events` (kind, value, category) after it.
async fn case(hub: &Hub, id: &str, village: &str, industry: &str, events: &[(EventKind, i64, &str)]) {
    case_at(hub, id, village, industry, MARCH_MS, events).await;
}

/// Forty days ago (so within the last year's rate whenever the test runs).
fn recent_ms() -> i64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis();
    i64::try_from(now).unwrap() - 40 * 86_400_000
}

async fn case_at(
    hub: &Hub,
    id: &str,
    village: &str,
    industry: &str,
    at_ms: i64,
    events: &[(EventKind, i64, &str)],
) {
    let new = NewCase {
        region_code: village.into(),
        village_name: "光明村".into(),
        industry: industry.into(),
        subject: "柑橘".into(),
        description: "叶片有褐色病斑".into(),
        farmer_name: "何大姐".into(),
        officer: "officer-1".into(),
        ..NewCase::default()
    };
    let created = Event::new(format!("{id}-c"), at_ms, "officer-1", EventKind::Created);
    let (_, mut doc) = CaseDoc::create_by(&new, id, "kiosk-a", created, "officer-1").unwrap();
    for (n, (kind, value, category)) in events.iter().enumerate() {
        let mut e = Event::new(format!("{id}-{n}"), at_ms + 1000 * (n as i64 + 1), "x", kind.clone());
        e.value = *value;
        e.category = category.to_string();
        e.target = match kind {
            EventKind::Assigned => "expert-fruit".into(),
            _ => String::new(),
        };
        if *kind == EventKind::Answered {
            e.text = "喷药".into();
        }
        CaseDoc::append_event(&mut doc, e).unwrap();
    }
    let id = id.to_string();
    hub.store.call(move |db| db.create_doc(&id, "case", &mut doc)).await.unwrap();
}

const GOALS: [(&str, &str); 7] = [
    ("year", "2026"),
    ("centres", "1"),
    ("experts", "160"),
    ("officers", "330"),
    ("consultations", "5500"),
    ("achievement_items", "10"),
    ("industry_items", "6"),
];

#[tokio::test]
async fn a_countys_administrator_sets_its_targets_and_progress_is_read_back() {
    let (hub, _dir) = start().await;
    use EventKind::*;
    case_at(&hub, "a", "510131001001", "fruit", recent_ms(), &[(Escalated, 0, "")]).await;
    let staff = sign_in(&hub, "staff").await;
    let admin = sign_in(&hub, "admin").await;

    // No goals anywhere yet.
    let (status, t) = get_json(&hub, &staff, "/api/targets").await;
    assert_eq!(status, StatusCode::OK, "{t}");
    assert!(t["set_for"].is_null() && t["progress"].as_array().unwrap().is_empty(), "{t}");

    // Staff may not set them; a bad value is refused in Chinese and writes nothing.
    let (status, _) = post_form(&hub, &staff, "/desk/targets", &GOALS).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let mut bad = GOALS;
    bad[2] = ("experts", "-3");
    let (status, page) = post_form(&hub, &admin, "/desk/targets", &bad).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("指标值应为"), "{page}");
    bad[2] = ("experts", "很多");
    let (status, page) = post_form(&hub, &admin, "/desk/targets", &bad).await;
    assert_eq!((status, page.contains("应为整数")), (StatusCode::BAD_REQUEST, true), "{page}");
    let (_, t) = get_json(&hub, &staff, "/api/targets").await;
    assert!(t["set_for"].is_null(), "nothing written: {t}");

    let (status, _) = post_form(&hub, &admin, "/desk/targets", &GOALS).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, t) = get_json(&hub, &staff, "/api/targets").await;
    assert_eq!(status, StatusCode::OK, "{t}");
    assert_eq!((t["set_for"].as_str(), t["year"].as_i64()), (Some(COUNTY), Some(2026)));
    let of = |m: &str| t["progress"].as_array().unwrap().iter().find(|p| p["metric"] == m).unwrap().clone();
    assert_eq!((of("experts")["goal"].as_i64(), of("experts")["current"].as_i64()), (Some(160), Some(1)));
    assert_eq!(of("officers")["current"].as_i64(), Some(3));
    assert_eq!(of("centres")["current"].as_i64(), Some(1), "the county centre has staff");
    assert_eq!(of("consultations")["current"].as_i64(), Some(1));
    assert_eq!(of("industry_items")["current"].as_i64(), Some(0), "no industry module yet");
    // People added within the last year give the rate (people_since): the expert and the centre
    // were imported now, so each is forecast at 1 a day over 365.
    for m in ["experts", "officers"] {
        assert_eq!(of(m)["forecast"]["state"], "on", "{m}: {}", of(m));
    }
    assert_eq!(of("centres")["forecast"]["state"], "reached", "the county's own goal is one centre");
    assert!(of("centres")["per_day"].as_f64().unwrap() > 0.0, "{}", of("centres"));
    let rate = of("experts")["per_day"].as_f64().unwrap();
    assert!((rate - 1.0 / 365.0).abs() < 1e-9, "{rate}");
    assert_eq!(of("officers")["per_day"].as_f64(), Some(3.0 / 365.0));
    let (status, page) = get(&hub, &staff, "/desk/targets").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("data-testid=\"targets-table\"") && !page.contains("targets-form"),
        "staff see no form"
    );
    let (_, page) = get(&hub, &admin, "/desk/targets").await;
    assert!(page.contains("targets-form"), "the administrator sees the form");

    // The OpenAPI document describes what is sent.
    let (_, doc) = get_json(&hub, "", "/api/openapi.json").await;
    let schemas = &doc["components"]["schemas"];
    let keys = |v: &Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    let props = |name: &str| {
        let mut k: Vec<String> = schemas[name]["properties"].as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert!(doc["paths"]["/api/targets"]["get"].is_object(), "{doc}");
    assert_eq!(keys(&t), props("Targets"));
    assert_eq!(keys(&of("consultations")), props("Progress"));
    assert_eq!(of("consultations")["forecast"]["state"], "on", "one case in the last year: a rate");
    assert_eq!(keys(&of("consultations")["forecast"]), props("Forecast"));

    // Another county's goals: refused.
    let (status, _) = get_json(&hub, &staff, "/api/targets?region=510104").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn evaluations_score_the_centre_its_expert_and_officer_and_export_as_xlsx() {
    let (hub, _dir) = start().await;
    use EventKind::*;
    let full = [
        (Escalated, 0, ""),
        (Assigned, 0, ""),
        (Answered, 0, ""),
        (Closed, 0, ""),
        (Rated, 5, ""),
        (FollowedUp, 1, "技术指导"),
    ];
    for id in ["a", "b", "c", "d", "e"] {
        case(&hub, id, "510131001001", "fruit", &full).await;
    }
    // One more with a response breach: the expert's and the centre's score fall.
    case(
        &hub,
        "f",
        "510131001001",
        "fruit",
        &[(Escalated, 0, ""), (Assigned, 0, ""), (Breach, 0, "response")],
    )
    .await;
    let staff = sign_in(&hub, "staff").await;
    let (status, page) = get(&hub, &staff, "/desk/evaluation?year=2026&month=2026-03").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    // Expert: response 5 of 5 in time (the breached case never responded), valid 5/5, ratings
    // of 5; one response breach in 6 services is 16.7 per 100 services, 1 point each: 83.3.
    let expert_row = page.split("data-key=\"expert-fruit\"").nth(1).unwrap_or_else(|| panic!("{page}"));
    assert!(
        expert_row.contains("名-expert-fruit") && expert_row.contains("83.3") && expert_row.contains("良好"),
        "{expert_row}"
    );
    let officer_row =
        page.split("data-key=\"officer-1\"").nth(1).unwrap_or_else(|| panic!("no officer: {page}"));
    assert!(officer_row.contains("名-officer-1"), "{officer_row}");
    let county_row = page.split("data-key=\"510131\"").nth(1).unwrap();
    assert!(county_row.contains("蒲江县"), "{county_row}");
    assert!(page.contains("通报表扬") && page.contains("data-testid=\"evaluation-rule\""));
    assert!(!page.contains("rule-form"), "a county cannot change the province's rule");
    let (status, _) =
        post_form(&hub, &sign_in(&hub, "admin").await, "/desk/evaluation/rule", &[("w_triage", "1")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "an incomplete form");

    let (status, _) = get(&hub, &staff, "/desk/evaluation?region=510104").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "another county");
    let (status, _) = get(&hub, "", "/desk/evaluation").await;
    assert_ne!(status, StatusCode::OK, "sign-in needed");

    let res = client()
        .get(format!("http://{}/desk/evaluation/export?year=2026&month=2026-03", hub.http_addr))
        .header(COOKIE, &staff)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()[CONTENT_TYPE].to_str().unwrap().contains("spreadsheetml"));
    let bytes = res.bytes().await.unwrap();
    assert!(bytes.starts_with(b"PK"), "an XLSX is a zip");
    let names = String::from_utf8_lossy(&bytes).to_string();
    assert!(names.contains("xl/worksheets/sheet5.xml"), "five sheets and more");
}
