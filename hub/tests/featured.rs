//! 特派员风采's featured experts across the chain over real QUIC: a county centre's staff member
//! features an expert on the hub's showcase page (cross-site guarded, audited); the county's
//! `showcase` document, with the expert's public figures and no phone, reaches a kiosk of the
//! county, whose `/experts` shows her without sign-in; the province's pick flows down too;
//! so does the city's; unpicking removes her; a county's staff cannot pick another county's
//! expert nor pick at the city's hub; a showcase written at a kiosk never travels up.
#![allow(clippy::unwrap_used)]

use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, COOKIE, ORIGIN, SET_COOKIE};
use yizhan_core::NewPerson;
use yizhan_core::showcase::{self, FeaturedExpert, ShowcaseDoc};
use yizhan_hub::Hub;
use yizhan_store::Store;
use yizhan_test_support::{Chain, eventually};

const PASSWORD: &str = "featured-test-pw";
const COUNTY: &str = "510131";
const VILLAGE: &str = "510131001001";

struct Session {
    base: String,
    cookie: String,
    token: String,
}

fn http() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).no_proxy().build().unwrap()
}

async fn person(hub: &Hub, id: &str, name: &str, role: &str, region: &str, phone: &str) {
    let np = NewPerson {
        id: id.into(),
        name: name.into(),
        role: role.into(),
        region_code: region.into(),
        industries: vec!["fruit".into()],
        title: "高级农艺师".into(),
        phone: phone.into(),
        ..Default::default()
    };
    hub.accounts.create_person(&np, Some(PASSWORD)).await.unwrap();
}

async fn sign_in(hub: &Hub, id: &str) -> Session {
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

    /// Posts with the session's cross-site token (`guarded`) or without it.
    async fn post(&self, path: &str, guarded: bool) -> StatusCode {
        let mut req = http()
            .post(format!("{}{path}", self.base))
            .header(ORIGIN, &self.base)
            .header(COOKIE, &self.cookie)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded");
        if guarded {
            req = req.header(yizhan_web::CSRF_HEADER, &self.token);
        }
        req.body("").send().await.unwrap().status()
    }
}

async fn get_url(url: &str) -> (StatusCode, String) {
    let res = http().get(url).send().await.unwrap();
    (res.status(), res.text().await.unwrap())
}

async fn showcase_at(store: &Store, region: &str) -> Option<ShowcaseDoc> {
    let id = ShowcaseDoc::id_for(region);
    store.call(move |db| db.load_doc(&id)).await.unwrap().map(|d| ShowcaseDoc::from_doc(&d).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_feature_an_expert_and_the_kiosk_shows_her_after_sync() {
    let dir = tempfile::tempdir().unwrap();
    let chain = Chain::start(dir.path(), "5101", COUNTY).await;
    person(&chain.county, "expert-a", "王果树", "expert", COUNTY, "13812345678").await;
    person(&chain.county, "c-staff", "县员工", "staff", COUNTY, "").await;
    // Another county's expert, entered at the city hub (people flow down only to their county).
    person(&chain.city, "expert-b", "赵邻县", "expert", "510183", "13912340000").await;
    person(&chain.province, "expert-p", "省专家", "expert", "51", "13700001111").await;
    person(&chain.province, "p-staff", "省员工", "staff", "51", "").await;
    let kiosk = chain.kiosk(&dir.path().join("kiosk"), "kiosk-1", VILLAGE).await;
    let (_, page) = get_url(&format!("{}/experts", kiosk.url)).await;
    assert!(page.contains("no-featured"), "nothing featured yet: {page}");

    // The county's staff member sees the button on the expert's page and features her.
    let staff = sign_in(&chain.county, "c-staff").await;
    let (s, page) = staff.get("/experts/expert-a").await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("data-testid=\"feature\""), "{page}");
    let (_, public) = get_url(&format!("{}/experts/expert-a", staff.base)).await;
    assert!(!public.contains("data-testid=\"feature\""), "no button without sign-in");
    assert_eq!(staff.post("/experts/expert-a/feature", false).await, StatusCode::FORBIDDEN, "the guard");
    assert!(showcase_at(&chain.county.store, COUNTY).await.is_none(), "a refused post writes nothing");
    assert_eq!(staff.post("/experts/expert-a/feature", true).await, StatusCode::SEE_OTHER);
    let doc = showcase_at(&chain.county.store, COUNTY).await.unwrap();
    assert_eq!(doc.experts.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), ["expert-a"]);
    let FeaturedExpert { name, title, industries, .. } = &doc.experts[0];
    assert_eq!(
        (name.as_str(), title.as_str(), industries.clone()),
        ("王果树", "高级农艺师", vec!["fruit".into()])
    );
    // Public figures only: no phone, masked or not, anywhere in the document.
    let all = format!("{doc:?}");
    assert!(!all.contains("1381") && !all.contains("5678") && !all.contains("****"), "{all}");
    let audit = chain.county.store.call(|db| db.audit_log(COUNTY, 10)).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|r| r.action == "feature_expert" && r.detail == "expert-a" && r.person_id == "c-staff"),
        "{audit:?}"
    );
    let (_, list) = get_url(&format!("{}/experts", staff.base)).await;
    assert!(list.contains("data-testid=\"featured\""), "the hub's list marks her: {list}");

    // Another county's expert, were she in the county hub's store: refused, nothing written.
    person(&chain.county, "expert-c", "钱外县", "expert", "510183", "13900002222").await;
    assert_eq!(staff.post("/experts/expert-c/feature", true).await, StatusCode::FORBIDDEN);
    assert_eq!(staff.post("/experts/nobody/feature", true).await, StatusCode::NOT_FOUND);
    assert_eq!(showcase_at(&chain.county.store, COUNTY).await.unwrap().experts.len(), 1);
    // The county's staff member has no say at another centre's hub (the city's): her credential
    // never leaves the county, and the rule refuses her there anyway.
    let county_actor = yizhan_core::Actor {
        person_id: "c-staff".into(),
        name: "县员工".into(),
        role: yizhan_core::Role::Staff,
        region: yizhan_core::RegionCode::parse(COUNTY).unwrap(),
    };
    let r = yizhan_hub::service::showcase::set_featured(
        &chain.city,
        &county_actor,
        "expert-b",
        yizhan_hub::service::showcase::Change::Feature,
    )
    .await;
    assert!(matches!(r, Err(yizhan_hub::service::ServiceError::Denied(_))), "{r:?}");
    assert!(showcase_at(&chain.city.store, "5101").await.is_none());
    // The city's own staff features the other county's expert: the city's list flows down too.
    person(&chain.city, "city-staff", "市员工", "staff", "5101", "").await;
    let city = sign_in(&chain.city, "city-staff").await;
    assert_eq!(city.post("/experts/expert-b/feature", true).await, StatusCode::SEE_OTHER);

    // The province features its own expert: that list flows down through the city and county.
    let province = sign_in(&chain.province, "p-staff").await;
    assert_eq!(province.post("/experts/expert-p/feature", true).await, StatusCode::SEE_OTHER);

    // The kiosk shows both, without sign-in, with no phone.
    eventually("the three featured experts reach the kiosk", || async {
        let (_, page) = get_url(&format!("{}/experts", kiosk.url)).await;
        page.contains("王果树") && page.contains("省专家") && page.contains("赵邻县")
    })
    .await;
    let (s, page) = get_url(&format!("{}/experts", kiosk.url)).await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("高级农艺师") && page.contains("省级推荐"), "{page}");
    assert!(page.contains("成都市推荐"), "{page}");
    assert!(!page.contains("钱外县") && !page.contains("1381") && !page.contains("1370"), "{page}");
    let (_, lectures) = get_url(&format!("{}/lectures", kiosk.url)).await;
    assert!(lectures.contains("href=\"/experts\""), "linked from 特派员讲堂: {lectures}");

    // Unpicking removes her at the kiosk too.
    assert_eq!(staff.post("/experts/expert-a/unfeature", true).await, StatusCode::SEE_OTHER);
    eventually("the unpick reaches the kiosk", || async {
        let (_, page) = get_url(&format!("{}/experts", kiosk.url)).await;
        !page.contains("王果树") && page.contains("省专家")
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_showcase_written_at_a_kiosk_never_travels_up() {
    let dir = tempfile::tempdir().unwrap();
    let chain = Chain::start(dir.path(), "5101", COUNTY).await;
    let kiosk = chain.kiosk_store(&dir.path().join("kiosk"), "kiosk-1", VILLAGE);
    // A tampered kiosk writes its county's list into its own store...
    let mut forged = ShowcaseDoc::new(COUNTY, "kiosk-1", 0);
    forged.experts.push(FeaturedExpert {
        id: "fake".into(),
        name: "伪造专家".into(),
        title: String::new(),
        region_code: COUNTY.into(),
        industries: Vec::new(),
        answered: 999,
        responded: 0,
        responded_in_time: 0,
        rated: 0,
        rating_sum: 0,
        onsite_visits: 0,
        lectures: Vec::new(),
    });
    kiosk
        .store
        .call(move |db| db.create_doc(&forged.id, showcase::DOC_TYPE, &mut forged.to_doc().unwrap()))
        .await
        .unwrap();
    // ...then a case that does travel up: once it is at the county hub, the kiosk has synced.
    yizhan_test_support::fixtures::record_case(&kiosk.store, "k1", VILLAGE, vec![]).await;
    eventually("the case reaches the county hub", || async {
        chain.county.store.call(|db| db.load_doc("k1")).await.unwrap().is_some()
    })
    .await;
    assert!(showcase_at(&chain.county.store, COUNTY).await.is_none());
    let (_, page) = get_url(&format!("http://{}/experts", chain.county.http_addr)).await;
    assert!(!page.contains("伪造专家"), "{page}");
    // The table refuses any kiosk change of the type, whatever it holds.
    let t = yizhan_core::doctype::lookup(showcase::DOC_TYPE).unwrap();
    assert!(!t.created_by.contains(&yizhan_core::doctype::NodeKind::Kiosk));
    let doc = ShowcaseDoc::new(COUNTY, "x", 0).to_doc().unwrap();
    assert!((t.kiosk_change)("kiosk-1", None, &doc).is_err());
}
