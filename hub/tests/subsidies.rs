//! 补贴发放 over a real chain (kiosk → county → city → province, QUIC on loopback, real SQLite
//! files), through the desk's HTTP forms: the province sets the standard, which reaches the
//! county through the city and never the kiosk; the county enters payees' numbers (bad ones
//! refused in Chinese, nothing stored; good ones sealed: the plain numbers are not in the
//! county's database files, and no payee document leaves the county); the county prepares
//! March from cases recorded at the kiosk (answered, on-site with travel costs, closed,
//! followed up valid and invalid) and the amounts equal the standard applied by hand; it
//! excludes a line and submits; the preparer cannot approve, another county can neither see
//! nor approve, the city approves; approval locks; the payment list has full numbers only for
//! the county's administrator, and her export is in the audit records.
#![allow(clippy::unwrap_used)]

use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, COOKIE, ORIGIN, SET_COOKIE};
use yizhan_core::subsidy::{self, StatementDoc, Status};
use yizhan_core::{CaseDoc, Event, EventKind, NewCase, NewPerson};
use yizhan_hub::Hub;
use yizhan_store::Store;
use yizhan_test_support::{Chain, eventually};

const PASSWORD: &str = "subsidy-test-pw";
const COUNTY: &str = "510131";
const VILLAGE: &str = "510131001001";
/// 2026-03-10 12:00 UTC+8.
const MARCH_MS: i64 = 1_773_115_200_000;
const ID_CARD: &str = "510131198506120031";
const BANK_CARD: &str = "6228480012345678903";

struct Session {
    base: String,
    cookie: String,
    token: String,
}

fn http() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).no_proxy().build().unwrap()
}

async fn person(hub: &Hub, id: &str, role: &str, region: &str) {
    let np = NewPerson {
        id: id.into(),
        name: format!("名-{id}"),
        role: role.into(),
        region_code: region.into(),
        industries: if role == "expert" { vec!["fruit".into()] } else { vec![] },
        ..Default::default()
    };
    hub.accounts.create_person(&np, Some(PASSWORD)).await.unwrap();
}

async fn sign_in(hub: &Hub, id: &str, role: &str, region: &str) -> Session {
    person(hub, id, role, region).await;
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

    async fn bytes(&self, path: &str) -> (StatusCode, Vec<u8>) {
        let res =
            http().get(format!("{}{path}", self.base)).header(COOKIE, &self.cookie).send().await.unwrap();
        (res.status(), res.bytes().await.unwrap().to_vec())
    }

    async fn post(&self, path: &str, pairs: &[(&str, &str)]) -> (StatusCode, String) {
        let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
        let res = http()
            .post(format!("{}{path}", self.base))
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

/// A case recorded at the kiosk in March 2026 by `officer`, with `events` (kind, value,
/// category; an assignment names `expert`) after it.
async fn case(store: &Store, id: &str, officer: &str, expert: &str, events: &[(EventKind, i64, &str)]) {
    let new = NewCase {
        region_code: VILLAGE.into(),
        village_name: "光明村".into(),
        industry: "fruit".into(),
        subject: "柑橘".into(),
        description: "叶片有褐色病斑".into(),
        farmer_name: "何大姐".into(),
        officer: officer.into(),
        ..NewCase::default()
    };
    let created = Event::new(format!("{id}-c"), MARCH_MS, officer, EventKind::Created);
    let (_, mut doc) = CaseDoc::create_by(&new, id, "kiosk-a", created, officer).unwrap();
    for (n, (kind, value, category)) in events.iter().enumerate() {
        let mut e = Event::new(format!("{id}-{n}"), MARCH_MS + 1000 * (n as i64 + 1), "x", kind.clone());
        e.value = *value;
        e.category = category.to_string();
        if *kind == EventKind::Assigned {
            e.target = expert.into();
        }
        if *kind == EventKind::Answered {
            e.text = "喷药".into();
        }
        CaseDoc::append_event(&mut doc, e).unwrap();
    }
    let id = id.to_string();
    store.call(move |db| db.create_doc(&id, "case", &mut doc)).await.unwrap();
}

async fn doc_type(store: &Store, id: &str) -> Option<String> {
    let id = id.to_string();
    store.call(move |db| db.doc_type(&id)).await.unwrap()
}

async fn statement(store: &Store, id: &str) -> Option<StatementDoc> {
    let id = id.to_string();
    let doc = store.call(move |db| db.load_doc(&id)).await.unwrap()?;
    Some(StatementDoc::from_doc(&doc).unwrap())
}

/// Every byte of the store's database files (the main file and its write-ahead log).
async fn database_bytes(store: &Store) -> Vec<u8> {
    let path = store.call(|db| Ok(db.database_path())).await.unwrap();
    let mut all = std::fs::read(&path).unwrap();
    for suffix in ["-wal", "-shm"] {
        if let Ok(b) = std::fs::read(format!("{}{suffix}", path.display())) {
            all.extend(b);
        }
    }
    all
}

/// Every document of the store, saved without compression, one after the other.
async fn documents_uncompressed(store: &Store) -> Vec<u8> {
    store
        .call(|db| {
            let mut all = Vec::new();
            for e in db.changes_since(0, 100_000)? {
                if let Some(mut doc) = db.load_doc(&e.doc_id)? {
                    all.extend(doc.save_nocompress());
                }
            }
            Ok(all)
        })
        .await
        .unwrap()
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// The payment list's rows (header first) as text.
fn xlsx_rows(bytes: &[u8]) -> Vec<Vec<String>> {
    yizhan_records::read_rows(bytes, "list.xlsx", &yizhan_records::ImportLimits::default())
        .unwrap()
        .into_iter()
        .map(|r| r.cells)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_county_prepares_a_month_the_city_approves_and_the_numbers_stay_sealed_at_the_county() {
    let dir = tempfile::tempdir().unwrap();
    let chain = Chain::start(dir.path(), "5101", COUNTY).await;
    let kiosk = chain.kiosk_store(&dir.path().join("kiosk"), "kiosk-a", VILLAGE);
    let province_admin = sign_in(&chain.province, "p-admin", "admin", "51").await;
    let county_staff = sign_in(&chain.county, "c-staff", "staff", COUNTY).await;
    let county_admin = sign_in(&chain.county, "c-admin", "admin", COUNTY).await;
    let city_staff = sign_in(&chain.city, "ci-staff", "staff", "5101").await;
    let other_county = sign_in(&chain.city, "o-staff", "staff", "510104").await;
    for (id, role, region) in [
        ("e1", "expert", COUNTY),
        ("e2", "expert", COUNTY),
        ("o1", "officer", VILLAGE),
        ("o2", "officer", VILLAGE),
    ] {
        person(&chain.county, id, role, region).await;
    }

    // The province's standard: 50 元 per valid service, 80 元 for 病虫害防治, 100 元 per visit,
    // travel up to 150 元 per visit, 5 元 per closed consultation up to 10 元 a month.
    let standard = [
        ("effective_from", "2026-01"),
        ("per_valid", "50"),
        ("cat_病虫害防治", "80"),
        ("onsite", "100"),
        ("travel_cap", "150"),
        ("officer_per_closed", "5"),
        ("officer_cap", "10"),
    ];
    assert_eq!(county_staff.post("/desk/subsidies/standard", &standard).await.0, StatusCode::FORBIDDEN);
    let (status, page) = province_admin
        .post("/desk/subsidies/standard", &[("effective_from", "2026-01"), ("per_valid", "五十")])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("应为金额"), "{page}");
    assert_eq!(province_admin.post("/desk/subsidies/standard", &standard).await.0, StatusCode::SEE_OTHER);
    eventually("the standard reaches the county through the city", || async {
        doc_type(&chain.county.store, subsidy::STANDARD_ID).await.is_some()
    })
    .await;

    // Cases of the village in March, with their whole service history written straight into the
    // county's store (a kiosk may not write the county's or the expert's events, so syncing
    // finished histories up from the kiosk's store is refused; the service loop is tested
    // elsewhere).
    use EventKind::*;
    let answered = [(Escalated, 0, ""), (Assigned, 0, ""), (Answered, 0, ""), (Closed, 0, "")];
    let mut a = answered.to_vec();
    a.push((FollowedUp, 1, "技术指导"));
    case(&chain.county.store, "case-a", "o1", "e1", &a).await;
    case(
        &chain.county.store,
        "case-b",
        "o1",
        "e1",
        &[
            (Escalated, 0, ""),
            (Assigned, 0, ""),
            (OnSiteRequested, 0, ""),
            (OnSiteDispatched, 20_000, ""),
            (OnSiteVisited, 0, ""),
            (Answered, 0, ""),
            (Closed, 0, ""),
            (FollowedUp, 1, "病虫害防治"),
        ],
    )
    .await;
    case(
        &chain.county.store,
        "case-c",
        "o2",
        "e1",
        &[
            (Escalated, 0, ""),
            (Assigned, 0, ""),
            (OnSiteRequested, 0, ""),
            (OnSiteDispatched, 9_000, ""),
            (Answered, 0, ""),
            (Closed, 0, ""),
            (FollowedUp, 0, "其他"),
        ],
    )
    .await;
    let mut d = answered.to_vec();
    d.push((FollowedUp, 1, "技术指导"));
    case(&chain.county.store, "case-d", "o1", "e2", &d).await;
    case(&chain.county.store, "case-e", "o2", "e2", &[(Escalated, 0, "")]).await;
    eventually("the cases reach the county", || async {
        doc_type(&chain.county.store, "case-e").await.is_some()
            && doc_type(&chain.county.store, "case-a").await.is_some()
    })
    .await;

    // Payee details: bad numbers are refused in Chinese and store nothing.
    let payee = |id: &'static str, card: &'static str| {
        [("person_id", "e1"), ("id_card", id), ("bank_card", card), ("bank_name", "中国农业银行")]
    };
    let (status, page) =
        county_staff.post("/desk/subsidies/payees", &payee("510131198506120032", BANK_CARD)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("身份证号码校验位不正确"), "{page}");
    let (status, page) =
        county_staff.post("/desk/subsidies/payees", &payee(ID_CARD, "6228480012345678904")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("银行卡号校验不通过"), "{page}");
    assert!(doc_type(&chain.county.store, "payee-e1").await.is_none(), "nothing stored");
    assert_eq!(
        city_staff.post("/desk/subsidies/payees", &payee(ID_CARD, BANK_CARD)).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        county_staff.post("/desk/subsidies/payees", &payee(ID_CARD, BANK_CARD)).await.0,
        StatusCode::SEE_OTHER
    );
    let (status, page) = county_staff.get("/desk/subsidies/payees").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("5101**********0031") && page.contains("6228 **** **** 8903"), "{page}");
    assert!(!page.contains(ID_CARD) && !page.contains(BANK_CARD));

    // March, prepared by the county's staff.
    let (status, _) = county_staff.post("/desk/subsidies/prepare", &[("month", "2026-03")]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let id = StatementDoc::id_for(COUNTY, 202603);
    let s = statement(&chain.county.store, &id).await.unwrap();
    let got: Vec<(&str, &str, i64)> =
        s.lines.iter().map(|l| (l.person_id.as_str(), l.role.as_str(), l.total_fen)).collect();
    // By hand: e1: 50 + 80 (valid) + 2 × 100 (visits) + min(200, 150) + min(90, 150) = 570 元;
    // e2: 50 元; o1: 3 closed × 5 = 15, capped at 10 元; o2: 1 closed (case-e is not) = 5 元.
    assert_eq!(
        got,
        vec![
            ("e1", "expert", 57_000),
            ("e2", "expert", 5_000),
            ("o1", "officer", 1_000),
            ("o2", "officer", 500)
        ]
    );
    let e1 = &s.lines[0];
    assert_eq!(
        (e1.valid_services, e1.onsite_visits, e1.travel_recorded_fen, e1.travel_fen),
        (2, 2, 29_000, 24_000)
    );
    assert_eq!(
        (e1.id_card_masked.as_str(), e1.bank_card_masked.as_str()),
        ("5101**********0031", "6228 **** **** 8903")
    );
    // The per-person rollups agree with the statement's counts.
    let rollup = chain
        .county
        .store
        .call(|db| {
            db.stats_by_person(
                &yizhan_core::RegionCode::parse(COUNTY).unwrap(),
                yizhan_core::stats::Period::new(202603, 202603).unwrap(),
                yizhan_store::stats::PersonDim::Expert,
            )
        })
        .await
        .unwrap();
    let e1_rollup = rollup.iter().find(|(k, _)| k == "e1").unwrap();
    assert_eq!((e1_rollup.1.valid, e1_rollup.1.onsite_visits, e1_rollup.1.travel_cost_fen), (2, 2, 29_000));

    // The county excludes o2's line with a reason, and submits.
    let act = format!("/desk/subsidies/{id}/act");
    let (status, page) = county_staff
        .post(&act, &[("action", "exclude"), ("person_id", "o2"), ("role", "officer"), ("reason", "")])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a reason is required: {page}");
    let exclude =
        [("action", "exclude"), ("person_id", "o2"), ("role", "officer"), ("reason", "当月已另行发放")];
    assert_eq!(county_staff.post(&act, &exclude).await.0, StatusCode::SEE_OTHER);
    let (_, page) = county_staff.get(&format!("/desk/subsidies/{id}")).await;
    assert!(page.contains("¥630.00 元") && page.contains("当月已另行发放"), "{page}");
    assert_eq!(county_staff.post(&act, &[("action", "submit")]).await.0, StatusCode::SEE_OTHER);

    // The preparer cannot approve (she is not a city or province centre, and it is hers).
    assert_eq!(county_staff.post(&act, &[("action", "approve")]).await.0, StatusCode::FORBIDDEN);
    assert_eq!(county_admin.post(&act, &[("action", "approve")]).await.0, StatusCode::FORBIDDEN);
    eventually("the submitted statement reaches the city", || async {
        statement(&chain.city.store, &id)
            .await
            .is_some_and(|s| subsidy::derive(&s.steps).status == Status::Submitted)
    })
    .await;
    // Another county's staff neither sees nor approves it.
    assert_eq!(other_county.get(&format!("/desk/subsidies/{id}")).await.0, StatusCode::FORBIDDEN);
    assert_eq!(other_county.post(&act, &[("action", "approve")]).await.0, StatusCode::FORBIDDEN);
    let (_, list) = other_county.get("/desk/subsidies").await;
    assert!(!list.contains(&id), "{list}");
    // The city sees masked numbers only, and approves.
    let (status, page) = city_staff.get(&format!("/desk/subsidies/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("待审批") && page.contains("5101**********0031") && !page.contains(ID_CARD),
        "{page}"
    );
    assert_eq!(city_staff.post(&act, &[("action", "approve")]).await.0, StatusCode::SEE_OTHER);
    eventually("the approval reaches the county", || async {
        statement(&chain.county.store, &id)
            .await
            .is_some_and(|s| subsidy::derive(&s.steps).status == Status::Approved)
    })
    .await;

    // Approved is locked: no exclusion, no new preparation, no second decision.
    let include = [("action", "include"), ("person_id", "o2"), ("role", "officer")];
    let (status, page) = county_staff.post(&act, &include).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("已锁定"), "{page}");
    assert_eq!(
        county_staff.post("/desk/subsidies/prepare", &[("month", "2026-03")]).await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        city_staff.post(&act, &[("action", "return"), ("reason", "重算")]).await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(statement(&chain.county.store, &id).await.unwrap().total_fen(), 63_000);

    // The payment list: masked for staff, in clear for the county's administrator (audited).
    let export = format!("/desk/subsidies/{id}/payments.xlsx");
    assert_eq!(city_staff.bytes(&export).await.0, StatusCode::FORBIDDEN);
    let (status, bytes) = county_staff.bytes(&export).await;
    assert_eq!(status, StatusCode::OK);
    let rows = xlsx_rows(&bytes);
    let flat = rows.concat().join("|");
    assert!(
        flat.contains("5101**********0031") && !flat.contains(ID_CARD) && !flat.contains(BANK_CARD),
        "{flat}"
    );
    assert!(!flat.contains("名-o2"), "the excluded line is not paid: {flat}");
    let (status, bytes) = county_admin.bytes(&export).await;
    assert_eq!(status, StatusCode::OK);
    let rows = xlsx_rows(&bytes);
    let e1_row = rows.iter().find(|r| r.iter().any(|c| c == "名-e1")).unwrap();
    assert!(e1_row.contains(&ID_CARD.to_string()) && e1_row.contains(&BANK_CARD.to_string()), "{e1_row:?}");
    assert!(e1_row.contains(&"570".to_string()), "{e1_row:?}");
    let audit = chain.county.store.call(|db| db.audit_log(COUNTY, 50)).await.unwrap();
    let opened: Vec<_> = audit.iter().filter(|a| a.action == "export_payments").collect();
    assert_eq!(opened.len(), 1, "{audit:?}");
    assert!(
        opened[0].person_id == "c-admin"
            && opened[0].detail.contains(&id)
            && !opened[0].detail.contains(ID_CARD)
    );

    // The 统计 page counts the approved month.
    let (_, page) = county_staff.get("/desk/stats?from=2026-03&to=2026-03").await;
    assert!(page.contains("已批准补贴（补贴发放）：<b>¥630.00 元</b>，1 份"), "{page}");

    // Sealed at rest: the plain numbers are nowhere in the county's database files; the payee
    // document never left the county, and the kiosk holds none of the three types.
    let county_bytes = database_bytes(&chain.county.store).await;
    assert!(!contains(&county_bytes, ID_CARD) && !contains(&county_bytes, BANK_CARD));
    // automerge compresses large columns, so the file alone could hide a clear number: every
    // document the county holds, saved uncompressed, shows its masked copies and sealed values
    // (the check can fail) and never the numbers.
    let plain = documents_uncompressed(&chain.county.store).await;
    assert!(
        contains(&plain, "x1:") && contains(&plain, "5101**********0031") && contains(&plain, "中国农业银行")
    );
    assert!(!contains(&plain, ID_CARD) && !contains(&plain, BANK_CARD));
    for hub in [&chain.city, &chain.province] {
        assert!(doc_type(&hub.store, "payee-e1").await.is_none());
        let (b, plain) = (database_bytes(&hub.store).await, documents_uncompressed(&hub.store).await);
        assert!(!contains(&b, ID_CARD) && !contains(&b, BANK_CARD));
        assert!(!contains(&plain, ID_CARD) && !contains(&plain, BANK_CARD) && !contains(&plain, "x1:"));
    }
    // The kiosk's link runs: an officer added at the county now reaches it; by then everything
    // the county would send it has been offered.
    person(&chain.county, "o3", "officer", VILLAGE).await;
    eventually("a new officer reaches the kiosk", || async {
        doc_type(&kiosk.store, "person:o3").await.is_some()
    })
    .await;
    let kiosk_docs = kiosk.store.call(|db| db.changes_since(0, 10_000)).await.unwrap();
    assert!(kiosk_docs.iter().any(|e| e.doc_type == "person"));
    for e in &kiosk_docs {
        assert!(!e.doc_type.starts_with("subsidy_"), "{} reached the kiosk", e.doc_id);
    }
    assert!(doc_type(&kiosk.store, subsidy::STANDARD_ID).await.is_none());
    assert!(doc_type(&kiosk.store, "payee-e1").await.is_none());
    assert!(doc_type(&kiosk.store, &id).await.is_none());
}
