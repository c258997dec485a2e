//! Statistics on a real county hub over HTTP: `/api/stats` and the 统计 page need a signed-in
//! centre member, each sees her region and below (a county cannot see another county's
//! figures), the figures follow the cases' events, and the OpenAPI document describes what is
//! sent.
#![allow(clippy::unwrap_used)]

use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, COOKIE, ORIGIN, SET_COOKIE};
use serde_json::Value;
use yizhan_core::{CaseDoc, Event, EventKind, NewCase, NewPerson};
use yizhan_hub::Hub;
use yizhan_test_support::{Pki, start_hub};

const COUNTY: &str = "510131";
const PASSWORD: &str = "stats-test-pw";
const CSRF: &str = "00112233445566778899aabbccddeeff";

async fn start() -> (Hub, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new();
    let county = Pki::hub(&pki.province, COUNTY);
    let hub = start_hub(dir.path(), &pki.hub_tls(&county), None).await;
    for (pid, role, region, industries) in [
        ("staff", "staff", COUNTY, vec![]),
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
    let created = Event::new(format!("{id}-c"), MARCH_MS, "officer-1", EventKind::Created);
    let (_, mut doc) = CaseDoc::create(&new, id, "kiosk-a", created).unwrap();
    for (n, (kind, value, category)) in events.iter().enumerate() {
        let mut e = Event::new(format!("{id}-{n}"), MARCH_MS + 1000 * (n as i64 + 1), "x", kind.clone());
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

#[tokio::test]
async fn statistics_need_a_centre_member_and_stay_within_her_region() {
    let (hub, _dir) = start().await;
    use EventKind::*;
    case(
        &hub,
        "a",
        "510131001001",
        "fruit",
        &[
            (Escalated, 0, ""),
            (Assigned, 0, ""),
            (Answered, 0, ""),
            (Closed, 0, ""),
            (Rated, 4, ""),
            (FollowedUp, 1, "技术指导"),
        ],
    )
    .await;
    case(&hub, "b", "510131001002", "fruit", &[(Escalated, 0, ""), (Breach, 0, "triage")]).await;
    case(&hub, "c", "510131002001", "tea", &[]).await;

    // Nobody signed in: 401 JSON, and no figures.
    let (status, body) = get_json(&hub, "", "/api/stats").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(body.get("totals").is_none());

    let staff = sign_in(&hub, "staff").await;
    let (status, s) = get_json(&hub, &staff, "/api/stats?from=2026-01&to=2026-12&by=industry").await;
    assert_eq!(status, StatusCode::OK, "{s}");
    assert_eq!(s["region"], COUNTY);
    let t = &s["totals"]["counts"];
    assert_eq!(
        (t["cases"].as_i64(), t["escalated"].as_i64(), t["closed"].as_i64()),
        (Some(3), Some(2), Some(1))
    );
    assert_eq!((t["rating_sum"].as_i64(), t["rated"].as_i64()), (Some(4), Some(1)));
    assert_eq!((t["triaged"].as_i64(), t["breach_triage"].as_i64()), (Some(1), Some(1)));
    assert_eq!(s["totals"]["rates"]["mean_rating"].as_f64(), Some(4.0));
    assert_eq!(s["totals"]["rates"]["valid"].as_f64(), Some(1.0));
    let groups = s["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 13, "all 10+3 industries are listed");
    let fruit = groups.iter().find(|g| g["key"] == "fruit").unwrap();
    assert_eq!((fruit["name"].as_str(), fruit["counts"]["cases"].as_i64()), (Some("川果"), Some(2)));
    assert_eq!(s["categories"][0]["category"], "技术指导");
    assert_eq!(s["active_kiosks"], 1);
    // People: two officers in one village, one in another (below the plan of two).
    assert_eq!(s["people"]["officers"], 3);
    assert_eq!(s["people"]["villages_below_plan"], 1);
    assert_eq!(s["people"]["villages_below_plan_listed"][0]["village"], "510131001002");
    assert_eq!(s["people"]["experts"], 1);
    // No person's data in an aggregate.
    let text = s.to_string();
    for personal in ["何大姐", "名-", "officer-1", "叶片"] {
        assert!(!text.contains(personal), "{personal} in {text}");
    }

    // The same figures as XLSX from the 统计 page's link: the totals sheet first, then the
    // breakdown; another county's figures are refused, and nothing without sign-in.
    let (_, page) = get(&hub, &staff, "/desk/stats?from=2026-01&to=2026-12&by=industry").await;
    let href = page.split("data-testid=\"stats-xlsx\"").next().unwrap().rsplit("href=\"").next().unwrap();
    let href = href.split('"').next().unwrap().replace("&amp;", "&");
    assert_eq!(href, "/desk/stats/export?region=510131&from=2026-01&to=2026-12&by=industry");
    let res =
        client().get(format!("http://{}{href}", hub.http_addr)).header(COOKIE, &staff).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()[CONTENT_TYPE].to_str().unwrap().contains("spreadsheetml"));
    let bytes = res.bytes().await.unwrap();
    let rows = yizhan_records::read_rows(&bytes, "tongji.xlsx", &Default::default()).unwrap();
    let cell = |name: &str| {
        rows.iter()
            .find(|r| r.cells[0] == name)
            .map(|r| r.cells[1..].to_vec())
            .unwrap_or_else(|| panic!("{name}: {rows:?}"))
    };
    assert_eq!(cell("登记咨询")[0], t["cases"].as_i64().unwrap().to_string());
    assert_eq!(cell("已办结")[0], t["closed"].as_i64().unwrap().to_string());
    assert_eq!(cell("有效服务"), ["1", "1"], "the count and its rate (100 %)");
    let (status, _) = get(&hub, &staff, "/desk/stats/export?region=510104").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "another county");
    let (status, _) = get(&hub, "", "/desk/stats/export").await;
    assert_ne!(status, StatusCode::OK, "sign-in needed");

    // A town of the county, by village; March only; another month is empty.
    let (_, s) = get_json(&hub, &staff, "/api/stats?region=510131001&period=2026-03&by=village").await;
    assert_eq!(s["totals"]["counts"]["cases"], 2);
    let keys: Vec<&str> =
        s["groups"].as_array().unwrap().iter().map(|g| g["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["510131001001", "510131001002"]);
    let (_, s) = get_json(&hub, &staff, "/api/stats?period=2026-04").await;
    assert_eq!(s["totals"]["counts"]["cases"], 0);
    let (_, s) = get_json(&hub, &staff, "/api/stats?period=2026-Q1&by=month").await;
    let months: Vec<(&str, i64)> = s["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["key"].as_str().unwrap(), g["counts"]["cases"].as_i64().unwrap()))
        .collect();
    assert_eq!(months, [("2026-01", 0), ("2026-02", 0), ("2026-03", 3)]);

    // Bad parameters: 400 with a Chinese message.
    for bad in
        ["from=2026-13", "by=planet", "by=county", "from=2026-05&to=2026-01", "region=12", "period=2026-Q7"]
    {
        let (status, body) = get_json(&hub, &staff, &format!("/api/stats?{bad}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert_eq!(body["error"], "invalid");
        assert!(
            body["message"].as_str().unwrap().chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
            "{body}"
        );
    }

    // Another county's staff: refused for this county, whether asked or by default.
    let other = sign_in(&hub, "other-county").await;
    for path in ["/api/stats", "/api/stats?region=510131", "/api/stats?region=510131001"] {
        let (status, body) = get_json(&hub, &other, path).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {body}");
        assert!(body.get("totals").is_none());
    }
    let (status, page) = get(&hub, &other, "/desk/stats?region=510131").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(!page.contains("stats-totals"));
    // A county member cannot read the city above her either.
    let (status, _) = get_json(&hub, &staff, "/api/stats?region=5101").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // The city's staff covers this county (the region this hub holds).
    let city = sign_in(&hub, "city-staff").await;
    let (status, s) = get_json(&hub, &city, "/api/stats?from=2026-01").await;
    assert_eq!((status, s["region"].as_str()), (StatusCode::OK, Some(COUNTY)));
    // Officers and experts are not centre staff.
    for id in ["officer-1", "expert-fruit"] {
        let c = sign_in(&hub, id).await;
        let (status, _) = get_json(&hub, &c, "/api/stats").await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{id}");
    }

    // The page: in the 管理中心 navigation, the same figures.
    let (status, page) = get(&hub, &staff, "/desk/stats?from=2026-01&to=2026-12&by=county").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("stats-error"), "by county of a county is refused with a message");
    let (status, page) = get(&hub, &staff, "/desk/stats?from=2026-01&to=2026-12&by=town").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(r#"href="/desk/stats""#), "registered in the navigation");
    assert!(page.contains("stats-totals") && page.contains("stats-groups") && page.contains("stats-people"));
    assert!(page.contains("<b>3</b>登记咨询"), "{page}");
    assert!(page.contains("510131001") && page.contains("技术指导"));
}

#[tokio::test]
async fn the_openapi_document_describes_what_api_stats_sends() {
    let (hub, _dir) = start().await;
    case(&hub, "a", "510131001001", "fruit", &[(EventKind::Escalated, 0, "")]).await;
    let (status, doc) = get_json(&hub, "", "/api/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["paths"]["/api/stats"]["get"].is_object(), "{doc}");
    let params: Vec<&str> = doc["paths"]["/api/stats"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(params, ["region", "from", "to", "period", "by"]);
    let schemas = &doc["components"]["schemas"];
    let staff = sign_in(&hub, "staff").await;
    let (_, s) = get_json(&hub, &staff, "/api/stats?by=expert_level&period=2026").await;
    // Every object sent has exactly the properties its schema lists.
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
    assert_eq!(keys(&s), props("Stats"));
    assert_eq!(keys(&s["totals"]), props("Figures"));
    assert_eq!(keys(&s["totals"]["counts"]), props("Counts"));
    assert_eq!(keys(&s["totals"]["rates"]), props("Rates"));
    assert_eq!(keys(&s["groups"][0]), props("Group"));
    assert_eq!(keys(&s["people"]), props("PeopleStats"));
    assert_eq!(keys(&s["people"]["experts_by_level"][0]), props("LevelCount"));
    assert_eq!(keys(&s["people"]["experts_by_industry"][0]), props("IndustryCount"));
    assert_eq!(keys(&s["lecture_views"]), props("LectureViews"));
    assert_eq!(keys(&s["lecture_views"]["by_month"][0]), props("MonthViews"));
    assert_eq!(s["groups"].as_array().unwrap().len(), 4);
    assert_eq!(s["groups"][3]["key"], "none");
    assert_eq!(s["groups"][3]["counts"]["cases"], 1);
}
