//! The circuit breaker (安全熔断) over real chains (kiosk → county → city → province, QUIC with
//! certificates on loopback, real SQLite, the hubs' routers with sign-in and the cross-site
//! token):
//! - province staff take down a published item at the desk: after one sync it is gone at a
//!   kiosk (page 404, not in the list, PDF gone), also at a kiosk that was offline during the
//!   takedown once it reconnects; lifted, it shows again at both; both are in the audit trail;
//! - county staff cannot take down another county's item or region; takedown documents that
//!   are forged (a tampered body, a county signing for another county, garbage) are ignored at
//!   the kiosk while a genuine one arriving after them applies;
//! - module-wide, region-wide and account takedowns, including items published after them.
#![allow(clippy::unwrap_used)]

use base64::Engine;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, ORIGIN, SET_COOKIE};
use yizhan_core::item::{Kind, no_checks};
use yizhan_core::publication::{Rules, StepKind};
use yizhan_core::published::PublishedDoc;
use yizhan_core::takedown::{SIGNATURE_CONTEXT, Takedown, TakedownDoc, Target};
use yizhan_core::{Actor, NewPerson, RegionCode, RegionLevel, Role};
use yizhan_hub::Hub;
use yizhan_hub::service::breaker::{self, Request};
use yizhan_hub::service::publication::{ItemInput, create_item, take_step};
use yizhan_store::Store;
use yizhan_test_support::{Chain, Pki, eventually, start_hub, start_uplink};

const PASSWORD: &str = "breaker-test-pw";
const CSRF: &str = "00112233445566778899aabbccddeeff";

const fn kind(name: &'static str) -> Kind {
    Kind {
        name,
        name_zh: "示例信息",
        rules: Rules {
            combined_sign_off: false,
            lowest_centre: RegionLevel::County,
            highest_centre: RegionLevel::Province,
        },
        fields: &[],
        check: no_checks,
    }
}
const DEMO_NOTE: Kind = kind("demo.note");
const OTHER_NOTE: Kind = kind("other.note");

fn actor(id: &str, role: Role, region: &str) -> Actor {
    Actor {
        person_id: id.into(), name: format!("名-{id}"), role, region: RegionCode::parse(region).unwrap()
    }
}

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

/// A county's item of `kind`, drafted by `author`, reviewed and signed off by two others;
/// returns its public id.
async fn publish(hub: &Hub, kind: &str, title: &str, author: &str) -> String {
    let region = hub.config.scope.clone();
    let a = actor(author, Role::Staff, &region);
    let input = ItemInput {
        kind: kind.into(),
        title: title.into(),
        body: "春茶开始采摘，欢迎各地采购商联系合作社。".into(),
        fields: Default::default(),
        ip_owner: "蒲江县茶叶协会".into(),
    };
    let id = create_item(hub, &a, input).await.unwrap();
    take_step(hub, &a, &id, StepKind::Submit, "").await.unwrap();
    take_step(hub, &actor("reviewer", Role::Staff, &region), &id, StepKind::Review, "").await.unwrap();
    take_step(hub, &actor("signer", Role::Admin, &region), &id, StepKind::SignOff, "").await.unwrap();
    PublishedDoc::id_for(&id)
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

fn hub_url(hub: &Hub) -> String {
    format!("http://{}", hub.http_addr)
}

async fn sign_in(hub: &Hub, id: &str) -> String {
    let base = hub_url(hub);
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

async fn get(url: &str, cookie: Option<&str>) -> (StatusCode, String) {
    let mut req = reqwest::Client::builder().no_proxy().build().unwrap().get(url);
    if let Some(c) = cookie {
        req = req.header(COOKIE, c);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    (status, res.text().await.unwrap_or_default())
}

async fn post(hub: &Hub, cookie: &str, path: &str, form: &[(&str, &str)]) -> (StatusCode, String, String) {
    let base = hub_url(hub);
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
    (res.status(), location, res.text().await.unwrap_or_default())
}

/// Whether a store shows the published item (not withdrawn, not taken down), and lists it.
async fn shown(store: &Store, id: &str) -> bool {
    let id = id.to_string();
    store
        .call(move |db| {
            let one = db.shown_published(&id)?.is_some();
            let listed = db.public_items(500)?.iter().any(|r| r.id == id);
            assert_eq!(one, listed, "the item and the list agree");
            Ok(one)
        })
        .await
        .unwrap()
}

async fn holds(store: &Store, id: &str) -> bool {
    let id = id.to_string();
    store.call(move |db| db.doc_type(&id)).await.unwrap().is_some()
}

async fn audit_actions(hub: &Hub, region: &str) -> Vec<String> {
    let region = region.to_string();
    let rows = hub.store.call(move |db| db.audit_log(&region, 100)).await.unwrap();
    rows.into_iter().map(|r| format!("{} {}", r.action, r.detail)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_province_takedown_hides_the_item_at_kiosks_also_one_offline_and_a_lift_shows_it_again() {
    let dir = tempfile::tempdir().unwrap();
    let chain = Chain::start(dir.path(), "5101", "510131").await;
    let county = &chain.county;
    county.kinds.register(DEMO_NOTE);
    add_people(
        county,
        &[("author", "staff", "510131"), ("reviewer", "staff", "510131"), ("signer", "admin", "510131")],
    )
    .await;
    add_people(&chain.province, &[("prov-staff", "staff", "51")]).await;
    let kiosk = chain.kiosk(&dir.path().join("kiosk"), "kiosk-1", "510131001001").await;
    let offline = chain.kiosk_store(&dir.path().join("kiosk-2"), "kiosk-2", "510131001002");

    let public = publish(county, "demo.note", "春茶上市", "author").await;
    let page = format!("{}/items/{public}", kiosk.url);
    eventually("the item reaches the kiosk", || async { get(&page, None).await.0 == StatusCode::OK }).await;
    eventually("the item reaches the other kiosk", || async { shown(&offline.store, &public).await }).await;
    eventually("the item reaches the province", || async { holds(&chain.province.store, &public).await })
        .await;
    assert_eq!(get(&format!("{page}/pdf"), None).await.0, StatusCode::OK);
    // The second kiosk goes offline.
    offline.uplink.abort();

    // Province staff take it down at the desk, with a reason.
    let staff = sign_in(&chain.province, "prov-staff").await;
    let (s, page_body) = get(&format!("{}/desk/breaker", hub_url(&chain.province)), Some(&staff)).await;
    assert_eq!(s, StatusCode::OK);
    assert!(page_body.contains("takedown-form"), "{page_body}");
    let (s, _, body) = post(
        &chain.province,
        &staff,
        "/desk/breaker",
        &[("target_kind", "item"), ("target", ""), ("reason", "x")],
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "an empty target names nothing: {body}");
    let (s, _, body) = post(
        &chain.province,
        &staff,
        "/desk/breaker",
        &[("target_kind", "item"), ("target", &public), ("reason", " ")],
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "a reason is required: {body}");
    let (s, location, body) = post(
        &chain.province,
        &staff,
        "/desk/breaker",
        &[("target_kind", "item"), ("target", &public), ("reason", "含违禁词示例，先行下线")],
    )
    .await;
    assert_eq!((s, location.as_str()), (StatusCode::SEE_OTHER, "/desk/breaker"), "{body}");
    // Gone at the province at once, and at the kiosk after its sync: page, list and PDF.
    eventually("hidden at the province", || async {
        get(&format!("{}/items/{public}", hub_url(&chain.province)), None).await.0 == StatusCode::NOT_FOUND
    })
    .await;
    eventually("hidden at the kiosk", || async { get(&page, None).await.0 == StatusCode::NOT_FOUND }).await;
    assert!(!get(&format!("{}/items", kiosk.url), None).await.1.contains(&public));
    assert_eq!(get(&format!("{page}/pdf"), None).await.0, StatusCode::NOT_FOUND);
    assert!(!shown(&kiosk.state.store, &public).await);
    assert!(!shown(&county.store, &public).await, "hidden at the county too");
    // Staff see it marked with its reason.
    let (_, desk) = get(&format!("{}/desk/breaker", hub_url(&chain.province)), Some(&staff)).await;
    assert!(
        desk.contains("已熔断") && desk.contains("含违禁词示例，先行下线") && desk.contains(&public),
        "{desk}"
    );

    // The kiosk that was offline still shows it, until it reconnects.
    assert!(shown(&offline.store, &public).await, "offline: nothing arrived");
    let t = chain.pki.kiosk_tls(&chain.county_ca, "kiosk-2", "510131001002");
    let (uplink, _) = start_uplink(&offline.store, &t, county, |_| {});
    eventually("hidden at the kiosk that reconnected", || async { !shown(&offline.store, &public).await })
        .await;

    // Lifted: shown again everywhere after the next sync.
    let id = chain.province.store.call(|db| db.takedowns("51", 10)).await.unwrap()[0].id.clone();
    let (s, _, body) =
        post(&chain.province, &staff, &format!("/desk/breaker/{id}/lift"), &[("reason", "复核无问题，恢复")])
            .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    eventually("shown again at the kiosk", || async { get(&page, None).await.0 == StatusCode::OK }).await;
    assert!(get(&format!("{}/items", kiosk.url), None).await.1.contains(&public));
    assert_eq!(get(&format!("{page}/pdf"), None).await.0, StatusCode::OK);
    eventually("shown again at the other kiosk", || async { shown(&offline.store, &public).await }).await;
    let (_, desk) = get(&format!("{}/desk/breaker", hub_url(&chain.province)), Some(&staff)).await;
    assert!(desk.contains("已解除") && desk.contains("复核无问题，恢复"), "{desk}");
    // Both are in the province's audit trail.
    let audit = audit_actions(&chain.province, "51").await;
    assert!(audit.iter().any(|a| a.starts_with("takedown ") && a.contains(&public)), "{audit:?}");
    assert!(audit.iter().any(|a| a.starts_with("takedown_lift ") && a.contains(&id)), "{audit:?}");
    uplink.abort();
}

/// A takedown document signed with `creds`, as a forger or a genuine hub would make it.
fn signed_doc(creds: &yizhan_identity::NodeCredentials, t: &Takedown, tamper: bool) -> TakedownDoc {
    let mut signed = creds.sign_statement(SIGNATURE_CONTEXT, t.to_json().unwrap()).unwrap();
    if tamper {
        let mut other = t.clone();
        other.target = Target::Region { code: "51".into() };
        signed = signed.with_body(other.to_json().unwrap());
    }
    TakedownDoc {
        doc_type: yizhan_core::takedown::DOC_TYPE.into(),
        id: t.id.clone(),
        signed_b64: base64::engine::general_purpose::STANDARD.encode(signed.to_bytes()),
        lift_b64: None,
    }
}

fn takedown(id: &str, target: Target, region: &str, issuer: &str) -> Takedown {
    Takedown {
        id: id.into(),
        target,
        region: region.into(),
        reason: "伪造测试".into(),
        by: "x".into(),
        by_name: "某人".into(),
        at_ms: 1,
        issuer: issuer.into(),
    }
}

async fn store_doc(store: &Store, doc: TakedownDoc) {
    let mut d = doc.to_doc().unwrap();
    store.call(move |db| db.create_doc(&doc.id, yizhan_core::takedown::DOC_TYPE, &mut d)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counties_act_on_their_own_items_only_and_forged_takedowns_are_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let chain = Chain::start(dir.path(), "5101", "510131").await;
    let county = &chain.county;
    county.kinds.register(DEMO_NOTE);
    add_people(
        county,
        &[("author", "staff", "510131"), ("reviewer", "staff", "510131"), ("signer", "admin", "510131")],
    )
    .await;
    // Another county under the same city.
    let other_ca = Pki::hub(&chain.city_ca, "510104");
    let other_tls = chain.pki.hub_tls(&other_ca);
    let city_id = chain.city.config.node_id.clone();
    let other = start_hub(&dir.path().join("hub-510104"), &other_tls, Some((&chain.city, &city_id))).await;
    let kiosk = chain.kiosk(&dir.path().join("kiosk"), "kiosk-1", "510131001001").await;

    let public = publish(county, "demo.note", "春茶上市", "author").await;
    eventually("the item reaches the kiosk", || async { shown(&kiosk.state.store, &public).await }).await;
    eventually("the item reaches the other county", || async { holds(&other.store, &public).await }).await;

    // The other county's staff may not take it down, nor its county.
    let staff = actor("other-staff", Role::Staff, "510104");
    let e = breaker::take_down(&other, &staff, Request::Item(public.clone()), "越权").await.unwrap_err();
    assert!(e.message_zh().contains("本辖区"), "{e}");
    let e = breaker::take_down(&other, &staff, Request::Region("510131".into()), "越权").await.unwrap_err();
    assert!(e.message_zh().contains("本辖区"), "{e}");
    // A city's staff have no breaker (province and county staff only).
    let city_staff = actor("city-staff", Role::Staff, "5101");
    assert!(breaker::take_down(&chain.city, &city_staff, Request::Item(public.clone()), "x").await.is_err());
    assert!(other.store.call(|db| db.takedowns("51", 10)).await.unwrap().is_empty());

    // Forged documents, put into the province's store and synced down like any public document:
    // the other county signing for 510131, a province-signed takedown whose body was altered on
    // the way, a region takedown of the other county (valid, but 510131's item is not within
    // it), and garbage.
    let other_creds = &other_tls.creds;
    let province_creds = &chain.pki.hub_tls(&chain.pki.province).creds;
    let forged = [
        signed_doc(
            other_creds,
            &takedown("takedown-f1", Target::Item { id: public.clone() }, "510131", &other.config.node_id),
            false,
        ),
        signed_doc(
            province_creds,
            &takedown("takedown-f2", Target::Item { id: "pub-nothing".into() }, "51", "province"),
            true,
        ),
        signed_doc(
            other_creds,
            &takedown(
                "takedown-f3",
                Target::Region { code: "510104".into() },
                "510104",
                &other.config.node_id,
            ),
            false,
        ),
        TakedownDoc {
            doc_type: yizhan_core::takedown::DOC_TYPE.into(),
            id: "takedown-f4".into(),
            signed_b64: "bm90IGEgc2lnbmF0dXJl".into(),
            lift_b64: None,
        },
    ];
    for doc in forged {
        store_doc(&chain.province.store, doc).await;
    }
    for id in ["takedown-f1", "takedown-f2", "takedown-f3", "takedown-f4"] {
        eventually("the document reaches the kiosk", || async { holds(&kiosk.state.store, id).await }).await;
    }
    // Then a genuine one by the county, made directly (not through the desk) to show the kiosk's
    // follower has processed what came before it.
    let county_creds = &chain.pki.hub_tls(&chain.county_ca).creds;
    let other_public = publish(county, "demo.note", "第二条", "author").await;
    store_doc(
        &county.store,
        signed_doc(
            county_creds,
            &takedown(
                "takedown-g1",
                Target::Item { id: other_public.clone() },
                "510131",
                &county.config.node_id,
            ),
            false,
        ),
    )
    .await;
    eventually("the genuine takedown applies at the kiosk", || async {
        holds(&kiosk.state.store, &other_public).await && !shown(&kiosk.state.store, &other_public).await
    })
    .await;
    assert!(shown(&kiosk.state.store, &public).await, "no forged takedown hid the item");
    let applied = kiosk.state.store.call(|db| db.takedowns("51", 10)).await.unwrap();
    let ids: Vec<&str> = applied.iter().map(|t| t.id.as_str()).collect();
    assert!(ids.contains(&"takedown-g1") && ids.contains(&"takedown-f3"), "{ids:?}");
    assert!(
        !ids.contains(&"takedown-f1") && !ids.contains(&"takedown-f2") && !ids.contains(&"takedown-f4"),
        "{ids:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn module_region_and_account_takedowns_hide_every_matching_item_also_later_ones() {
    let dir = tempfile::tempdir().unwrap();
    let chain = Chain::start(dir.path(), "5101", "510131").await;
    let county = &chain.county;
    county.kinds.register(DEMO_NOTE);
    county.kinds.register(OTHER_NOTE);
    add_people(
        county,
        &[
            ("author", "staff", "510131"),
            ("author-2", "staff", "510131"),
            ("reviewer", "staff", "510131"),
            ("signer", "admin", "510131"),
        ],
    )
    .await;
    let kiosk = chain.kiosk(&dir.path().join("kiosk"), "kiosk-1", "510131001001").await;
    let demo = publish(county, "demo.note", "示例一", "author").await;
    let other = publish(county, "other.note", "其他一", "author-2").await;
    for id in [&demo, &other] {
        eventually("published items reach the kiosk", || async { shown(&kiosk.state.store, id).await }).await;
    }

    // The module `demo.` at the province: its items go, the other module's stay, and an item of
    // the module published afterwards never shows.
    let province = actor("prov-staff", Role::Staff, "51");
    let module = breaker::take_down(&chain.province, &province, Request::Module("demo.".into()), "模块整改")
        .await
        .unwrap();
    eventually("the module is hidden at the kiosk", || async { !shown(&kiosk.state.store, &demo).await })
        .await;
    assert!(shown(&kiosk.state.store, &other).await);
    let later = publish(county, "demo.note", "示例二", "author").await;
    eventually("the later item arrives", || async { holds(&kiosk.state.store, &later).await }).await;
    assert!(!shown(&kiosk.state.store, &later).await, "hidden although it arrived after the takedown");
    let (s, _) = get(&format!("{}/items/{later}", kiosk.url), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // The county's whole region, by its own staff.
    let county_staff = actor("reviewer", Role::Staff, "510131");
    let region = breaker::take_down(county, &county_staff, Request::Region("510131".into()), "全县整改")
        .await
        .unwrap();
    eventually("the region is hidden at the kiosk", || async { !shown(&kiosk.state.store, &other).await })
        .await;
    // The county may not lift the province's takedown; the province may lift the county's.
    let e = breaker::lift(county, &county_staff, &module, "x").await;
    assert!(e.is_err());
    eventually("the county holds the region takedown", || async {
        let region = region.clone();
        chain.province.store.call(move |db| db.takedown(&region)).await.unwrap().is_some()
    })
    .await;
    breaker::lift(&chain.province, &province, &region, "整改完成").await.unwrap();
    breaker::lift(&chain.province, &province, &module, "整改完成").await.unwrap();
    for id in [&demo, &other, &later] {
        eventually("shown again", || async { shown(&kiosk.state.store, id).await }).await;
    }

    // An account's items: author's go, author-2's stay.
    let account = breaker::take_down(county, &county_staff, Request::Account("author".into()), "账号异常")
        .await
        .unwrap();
    for id in [&demo, &later] {
        eventually("the account's items are hidden", || async { !shown(&kiosk.state.store, id).await }).await;
    }
    assert!(shown(&kiosk.state.store, &other).await);
    breaker::lift(county, &county_staff, &account, "核实无误").await.unwrap();
    eventually("shown again", || async { shown(&kiosk.state.store, &demo).await }).await;
}

/// A local date (UTC+8) `days` from today, as forms take it.
fn date_from_today(days: i64) -> String {
    let now_ms =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    yizhan_core::holidays::format_day(yizhan_core::holidays::local_day(now_ms) + days)
}

async fn stage(hub: &Hub, id: &str) -> String {
    let id = id.to_string();
    let rows = hub.store.call(|db| db.all_publications()).await.unwrap();
    rows.into_iter().find(|r| r.doc_id == id).map(|r| r.stage).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sensitive_word_holds_a_kiosk_listing_at_the_county_until_a_reviewer_clears_it() {
    let dir = tempfile::tempdir().unwrap();
    let chain = Chain::start(dir.path(), "5101", "510131").await;
    let county = &chain.county;
    add_people(county, &[("reviewer", "staff", "510131"), ("signer", "admin", "510131")]).await;
    add_people(&chain.province, &[("prov-admin", "admin", "51")]).await;
    // The province's list (neutral placeholder words), down to every node.
    let prov = sign_in(&chain.province, "prov-admin").await;
    let (s, _, body) = post(
        &chain.province,
        &prov,
        "/desk/breaker/words",
        &[("words", "违禁词示例\n假种子，"), ("per_hour", "50"), ("per_day", "500")],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    let long = "字".repeat(65);
    let (s, _, body) = post(
        &chain.province,
        &prov,
        "/desk/breaker/words",
        &[("words", &long), ("per_hour", "50"), ("per_day", "500")],
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "a word over 64 characters: {body}");
    assert!(body.contains("64"), "{body}");
    let county_staff = actor("reviewer", Role::Staff, "510131");
    assert!(breaker::set_words(county, &county_staff, "x", 5, 5).await.is_err(), "a county may not");
    let kiosk = chain.kiosk(&dir.path().join("kiosk"), "kiosk-1", "510131001001").await;
    eventually("the list reaches the kiosk", || async {
        kiosk.state.store.call(|db| db.sensitive_words()).await.unwrap().is_some_and(|w| w.words.len() == 2)
    })
    .await;
    assert!(
        audit_actions(&chain.province, "51").await.iter().any(|a| a.starts_with("sensitive_words 2 个词"))
    );

    // The officer drafts a listing whose text hides a listed word behind a space.
    kiosk
        .state
        .accounts
        .create_person(
            &NewPerson {
                id: "officer".into(),
                name: "名-officer".into(),
                role: "officer".into(),
                region_code: "510131001001".into(),
                ..Default::default()
            },
            Some(PASSWORD),
        )
        .await
        .unwrap();
    let res = client()
        .post(format!("{}/signin/password", kiosk.url))
        .header(ORIGIN, &kiosk.url)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(encode(&[("id", "officer"), ("password", PASSWORD), ("next", "/supply")]))
        .send()
        .await
        .unwrap();
    let cookie = res.headers().get(SET_COOKIE).unwrap().to_str().unwrap();
    let officer = format!("{}; {}={CSRF}", cookie.split(';').next().unwrap(), yizhan_web::CSRF_COOKIE);
    let (from, to) = (date_from_today(-1), date_from_today(90));
    let form = [
        ("kind", "supply.offer"),
        ("title", "蒲江丑柑 5000 斤待售"),
        ("product", "丑柑"),
        ("industry", "fruit"),
        ("quantity", "5000"),
        ("unit", "斤"),
        ("price", "3.5"),
        ("valid_from", from.as_str()),
        ("valid_to", to.as_str()),
        ("body", "果形端正，另有违禁 词示例出售。"),
        ("ip_owner", "寿安镇某村种植户（经驿站登记）"),
    ];
    let res = client()
        .post(format!("{}/supply", kiosk.url))
        .header(COOKIE, &officer)
        .header(ORIGIN, &kiosk.url)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(encode(&form))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let rows = kiosk.state.store.call(|db| db.all_publications()).await.unwrap();
    let id = rows[0].doc_id.clone();
    assert_eq!(rows[0].stage, "held", "held at the kiosk already");
    eventually("the draft reaches the county, held", || async { stage(county, &id).await == "held" }).await;

    // At the county: nobody reviews or signs it off while it is held.
    let reviewer = actor("reviewer", Role::Staff, "510131");
    let signer = actor("signer", Role::Admin, "510131");
    assert!(take_step(county, &signer, &id, StepKind::SignOff, "").await.is_err());
    assert!(take_step(county, &reviewer, &id, StepKind::Review, "").await.is_err());
    let e = take_step(county, &reviewer, &id, StepKind::Clear, " ").await.unwrap_err();
    assert!(e.message_zh().contains("意见"), "{e}");
    // The reviewer sees the matched word on the item page and in her queue.
    let cookie = sign_in(county, "reviewer").await;
    let (_, page) = get(&format!("{}/desk/items/{id}", hub_url(county)), Some(&cookie)).await;
    assert!(page.contains("命中敏感词：违禁词示例") && page.contains("待复核"), "{page}");
    let (_, queue) = get(&format!("{}/desk/review", hub_url(county)), Some(&cookie)).await;
    assert!(queue.contains(&id), "{queue}");
    // Cleared with a note: reviewed and signed off by two people, published.
    take_step(county, &reviewer, &id, StepKind::Clear, "经核实为品种名称，非违规内容").await.unwrap();
    assert_eq!(
        take_step(county, &reviewer, &id, StepKind::Review, "").await.unwrap().stage.code(),
        "reviewed"
    );
    assert_eq!(
        take_step(county, &signer, &id, StepKind::SignOff, "").await.unwrap().stage.code(),
        "published"
    );

    // A kiosk that has no list yet (or an older build) submits a draft that matches: the county
    // checks again and holds it when a reviewer first acts on it.
    let draft = yizhan_supply::StationDraft {
        kind: "supply.offer".into(),
        title: "假 种 子 处理".into(),
        body: "低价处理。".into(),
        fields: [
            ("product", "种子"),
            ("industry", "fruit"),
            ("quantity", "10"),
            ("unit", "斤"),
            ("price_fen", "100"),
            ("valid_from", from.as_str()),
            ("valid_to", to.as_str()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
        ip_owner: "某村种植户".into(),
    };
    let (_, mut doc) = yizhan_supply::station_draft(
        &draft,
        "510131001001",
        ("officer", "名-officer"),
        "kiosk-1",
        "item-unheld",
        kiosk.state.clock.now_ms(),
    )
    .unwrap();
    kiosk.state.store.call(move |db| db.create_doc("item-unheld", "pub_item", &mut doc)).await.unwrap();
    eventually("the unheld draft reaches the county", || async {
        stage(county, "item-unheld").await == "checked"
    })
    .await;
    let p = take_step(county, &reviewer, "item-unheld", StepKind::Review, "").await.unwrap();
    assert_eq!(p.stage.code(), "held", "held instead of reviewed");
    assert!(take_step(county, &signer, "item-unheld", StepKind::SignOff, "").await.is_err());

    // A county's own item with a listed word is held at once on submission.
    county.kinds.register(DEMO_NOTE);
    let author = actor("reviewer", Role::Staff, "510131");
    let input = ItemInput {
        kind: "demo.note".into(),
        title: "出售假种子".into(),
        body: "正文".into(),
        fields: Default::default(),
        ip_owner: "某合作社".into(),
    };
    let own = create_item(county, &author, input).await.unwrap();
    assert_eq!(take_step(county, &author, &own, StepKind::Submit, "").await.unwrap().stage.code(), "held");
    // Its author does not see which word (the matched words are for reviewers).
    let (_, page) = get(&format!("{}/desk/items/{own}", hub_url(county)), Some(&cookie)).await;
    assert!(page.contains("内容待复核") && !page.contains("命中敏感词：假种子"), "{page}");
    add_people(county, &[("reviewer-2", "staff", "510131")]).await;
    let other = sign_in(county, "reviewer-2").await;
    let (_, page) = get(&format!("{}/desk/items/{own}", hub_url(county)), Some(&other)).await;
    assert!(page.contains("命中敏感词：假种子"), "{page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_over_its_limit_trips_its_breaker_until_staff_lift_it() {
    let dir = tempfile::tempdir().unwrap();
    let chain = Chain::start(dir.path(), "5101", "510131").await;
    let county = &chain.county;
    county.kinds.register(DEMO_NOTE);
    add_people(
        county,
        &[("author", "staff", "510131"), ("reviewer", "staff", "510131"), ("signer", "admin", "510131")],
    )
    .await;
    let prov = actor("prov-admin", Role::Admin, "51");
    breaker::set_words(&chain.province, &prov, "违禁词示例", 2, 100).await.unwrap();
    eventually("the limits reach the county", || async {
        county.store.call(|db| db.sensitive_words()).await.unwrap().is_some()
    })
    .await;
    let kiosk = chain.kiosk(&dir.path().join("kiosk"), "kiosk-1", "510131001001").await;
    let first = publish(county, "demo.note", "第一条", "author").await;
    eventually("the item reaches the kiosk", || async { shown(&kiosk.state.store, &first).await }).await;
    let a = actor("author", Role::Staff, "510131");
    let draft = |title: &'static str| {
        let a = a.clone();
        async move {
            let input = ItemInput {
                kind: "demo.note".into(),
                title: title.into(),
                body: "正文".into(),
                fields: Default::default(),
                ip_owner: "某合作社".into(),
            };
            let id = create_item(county, &a, input).await.unwrap();
            take_step(county, &a, &id, StepKind::Submit, "").await.unwrap().stage.code().to_string()
        }
    };
    assert_eq!(draft("第二条").await, "checked", "two within the hour: the limit");
    assert_eq!(draft("第三条").await, "held", "the third trips the breaker");
    // The account's published items go offline everywhere.
    eventually("the account's item is hidden at the kiosk", || async {
        !shown(&kiosk.state.store, &first).await
    })
    .await;
    let rows = county.store.call(|db| db.takedowns("510131", 10)).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].target_kind.as_str(), rows[0].target.as_str()), ("account", "author"));
    assert!(rows[0].reason.contains("提交过于频繁"), "{:?}", rows[0]);
    assert_eq!(draft("第四条").await, "held", "held while the breaker is tripped");
    assert!(audit_actions(county, "510131").await.iter().any(|a| a.starts_with("takedown ")));
    // Staff lift it: the items show again.
    breaker::lift(county, &actor("reviewer", Role::Staff, "510131"), &rows[0].id, "已与作者核实")
        .await
        .unwrap();
    eventually("shown again", || async { shown(&kiosk.state.store, &first).await }).await;
}
