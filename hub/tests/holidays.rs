//! The holiday calendar across the chain: the province's administrator publishes a year's
//! holidays and make-up days on the desk; the calendar flows down through the city hub to the
//! county, whose service clocks then count by it; nobody below the province can publish one,
//! nor send one up; a bad line changes nothing.
#![allow(clippy::unwrap_used)]

use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, COOKIE, ORIGIN, SET_COOKIE};
use yizhan_core::NewPerson;
use yizhan_core::clock::{HOUR_MS, MINUTE_MS};
use yizhan_core::holidays::{self, HolidayDoc};
use yizhan_hub::Hub;
use yizhan_store::Store;
use yizhan_test_support::{Chain, eventually};

const PASSWORD: &str = "holiday-test-pw";

/// A signed-in desk session: the session cookie with this client's cross-site token.
struct Session {
    base: String,
    cookie: String,
    token: String,
}

fn http() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).no_proxy().build().unwrap()
}

async fn sign_in(hub: &Hub, id: &str, role: &str, region: &str) -> Session {
    let np = NewPerson {
        id: id.into(),
        name: format!("名-{id}"),
        role: role.into(),
        region_code: region.into(),
        ..Default::default()
    };
    hub.accounts.create_person(&np, Some(PASSWORD)).await.unwrap();
    let base = format!("http://{}", hub.http_addr);
    let (csrf, token) = yizhan_web::client_cookie();
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([("id", id), ("password", PASSWORD), ("next", "/desk")])
        .finish();
    let res = http()
        .post(format!("{base}/signin/password"))
        .header(ORIGIN, &base)
        .header(COOKIE, &csrf)
        .header(yizhan_web::CSRF_HEADER, &token)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "signing in {id}");
    let session =
        res.headers().get(SET_COOKIE).unwrap().to_str().unwrap().split(';').next().unwrap().to_string();
    Session { base, cookie: format!("{session}; {csrf}"), token }
}

impl Session {
    async fn get(&self, path: &str) -> (StatusCode, String) {
        let res =
            http().get(format!("{}{path}", self.base)).header(COOKIE, &self.cookie).send().await.unwrap();
        (res.status(), res.text().await.unwrap())
    }

    async fn publish(&self, year: &str, text: &str) -> (StatusCode, String) {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs([("year", year), ("text", text)])
            .finish();
        let res = http()
            .post(format!("{}/desk/holidays", self.base))
            .header(ORIGIN, &self.base)
            .header(COOKIE, &self.cookie)
            .header(yizhan_web::CSRF_HEADER, &self.token)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        (res.status(), res.text().await.unwrap())
    }
}

async fn calendar_years(store: &Store) -> Vec<i64> {
    store.call(|db| db.holiday_docs()).await.unwrap().into_iter().map(|h| h.year).collect()
}

/// Milliseconds of a local (UTC+8) date and time.
fn local(date: &str, h: i64, m: i64) -> i64 {
    holidays::parse_day(date).unwrap() * 24 * HOUR_MS - 8 * HOUR_MS + h * HOUR_MS + m * MINUTE_MS
}

const Y2027: &str = "# 示例：2027 年国庆\n2027-10-01..2027-10-07 休 国庆节\n2027-09-25 班 国庆节调休\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_province_publishes_a_year_and_county_clocks_count_by_it() {
    let dir = tempfile::tempdir().unwrap();
    let chain = Chain::start(dir.path(), "5101", "510131").await;
    let province_admin = sign_in(&chain.province, "p-admin", "admin", "51").await;
    let province_staff = sign_in(&chain.province, "p-staff", "staff", "51").await;
    let county_admin = sign_in(&chain.county, "c-admin", "admin", "510131").await;

    // Every administrator sees the calendar in force; 2025 and 2026 are built in.
    let (status, page) = county_admin.get("/desk/holidays").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("2026") && page.contains("随程序发布"), "{page}");
    assert!(!page.contains("发布一年的安排"), "the county may not publish");
    let (_, page) = province_admin.get("/desk/holidays").await;
    assert!(page.contains("发布一年的安排"), "{page}");

    // Nobody but the province's administrators may publish; a bad line changes nothing.
    assert_eq!(county_admin.publish("2027", Y2027).await.0, StatusCode::FORBIDDEN);
    assert_eq!(province_staff.publish("2027", Y2027).await.0, StatusCode::FORBIDDEN);
    let (status, page) =
        province_admin.publish("2027", "2027-10-01..2027-10-07 休 国庆节\n2027-02-30 休\n").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("第 2 行"), "{page}");
    let (status, _) = province_admin.publish("2027", "2029-05-01 休 劳动节").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(calendar_years(&chain.province.store).await.is_empty());

    // Before 2027 is published, a Monday-to-Friday centre's clock runs through 1 October 2027
    // (a Friday).
    let weekdays = yizhan_core::clock::ServicePolicy {
        hours: yizhan_core::clock::WorkingHours {
            days: [true, true, true, true, true, false, false],
            start_min: 9 * 60,
            end_min: 17 * 60,
        },
        ..Default::default()
    };
    let county_store = chain.county.store.clone();
    let w = weekdays.clone();
    county_store.call(move |db| db.set_service_policy(&w)).await.unwrap();
    // An hour of working time from Thursday 30 September 16:30 and from Friday 24 September 16:30.
    let due = |store: Store| async move {
        let p = store.call(|db| db.service_policy()).await.unwrap();
        (
            p.add_working(local("2027-09-30", 16, 30), HOUR_MS),
            p.add_working(local("2027-09-24", 16, 30), HOUR_MS),
        )
    };
    assert_eq!(due(county_store.clone()).await, (local("2027-10-01", 9, 30), local("2027-09-27", 9, 30)));

    // The province publishes; the county (through the city) counts by it.
    let (status, _) = province_admin.publish("2027", Y2027).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    eventually("the 2027 calendar reaches the county through the city", || async {
        calendar_years(&chain.county.store).await == vec![2027]
    })
    .await;
    assert_eq!(calendar_years(&chain.city.store).await, vec![2027]);
    // The holiday week is skipped; the make-up Saturday 25 September is worked.
    assert_eq!(due(county_store.clone()).await, (local("2027-10-08", 9, 30), local("2027-09-25", 9, 30)));
    let (_, page) = county_admin.get("/desk/holidays").await;
    assert!(page.contains("省平台发布"), "{page}");

    // Published again, the year is replaced everywhere.
    let (status, _) = province_admin.publish("2027", "2027-10-01..2027-10-08 休 国庆节\n").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    eventually("the corrected 2027 calendar reaches the county", || async {
        due(county_store.clone()).await == (local("2027-10-11", 9, 30), local("2027-09-27", 9, 30))
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_calendar_written_below_the_province_never_travels_up() {
    let dir = tempfile::tempdir().unwrap();
    let chain = Chain::start(dir.path(), "5101", "510131").await;
    // A county hub writes a calendar into its own store (as a tampered hub might)...
    let forged = HolidayDoc {
        doc_type: holidays::DOC_TYPE.into(),
        id: HolidayDoc::id_for(2028),
        region_code: holidays::PROVINCE.into(),
        year: 2028,
        text: "2028-01-03..2028-01-31 休 伪造\n".into(),
        published_by: "c-admin".into(),
        published_ms: 0,
    };
    chain
        .county
        .store
        .call(move |db| {
            let mut doc = forged.to_doc().unwrap();
            db.create_doc(&forged.id, holidays::DOC_TYPE, &mut doc)
        })
        .await
        .unwrap();
    // ...then a case that does travel up: once it is at the province, the county has synced.
    yizhan_test_support::fixtures::record_case(&chain.county.store, "c1", "510131001001", vec![]).await;
    eventually("the case reaches the province", || async {
        chain.province.store.call(|db| db.load_doc("c1")).await.unwrap().is_some()
    })
    .await;
    assert!(calendar_years(&chain.city.store).await.is_empty());
    assert!(calendar_years(&chain.province.store).await.is_empty());
}
