//! Three tiers over real QUIC on loopback with real certificates: kiosk → county hub →
//! province hub, each with its own SQLite store.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime};

use yizhan_core::{CaseDoc, Event, EventKind, NewCase, SealKeyDoc};
use yizhan_identity::{Authority, NodeIdentity, Revoked, Role};
use yizhan_net::LinkState;
use yizhan_store::Store;
use yizhan_test_support::{eventually, start_hub, start_kiosk_store as start_kiosk, tls};

struct Pki {
    province: Authority,
    county: Authority,
    other_county: Authority,
}

fn pki() -> Pki {
    let now = SystemTime::now();
    let province = Authority::init("province", "51", now).unwrap();
    let county = province.create_child_hub("hub-510131", "510131", now).unwrap();
    let other_county = province.create_child_hub("hub-510104", "510104", now).unwrap();
    Pki { province, county, other_county }
}

fn case_fields(region: &str) -> NewCase {
    NewCase {
        region_code: region.into(),
        village_name: "和平村".into(),
        industry: "pig".into(),
        subject: "生猪".into(),
        description: "不吃食".into(),
        farmer_name: "王大爷".into(),
        farmer_phone: String::new(),
        officer: "李".into(),
    }
}

async fn record(store: &Store, id: &str, region: &str) {
    let new = NewCase {
        region_code: region.into(),
        village_name: "和平村".into(),
        industry: "pig".into(),
        subject: "生猪".into(),
        description: "不吃食".into(),
        farmer_name: "王大爷".into(),
        farmer_phone: String::new(),
        officer: "李".into(),
    };
    let id = id.to_string();
    store
        .call(move |db| {
            let (_, mut doc) = CaseDoc::create(
                &new,
                &id,
                "kiosk",
                Event::new(format!("{id}-c"), 1, "李", EventKind::Created),
            )
            .unwrap();
            db.create_doc(&id, "case", &mut doc)
        })
        .await
        .unwrap();
}

async fn append(store: &Store, id: &str, ev: Event) {
    let id = id.to_string();
    store
        .call(move |db| Ok(db.update_doc(&id, |doc| CaseDoc::append_event(doc, ev))?.unwrap()))
        .await
        .unwrap();
}

async fn case(store: &Store, id: &str) -> Option<CaseDoc> {
    let id = id.to_string();
    let doc = store.call(move |db| db.load_doc(&id)).await.unwrap()?;
    Some(CaseDoc::from_doc(&doc).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cases_flow_up_three_tiers_and_concurrent_edits_merge_everywhere() {
    let pki = pki();
    let now = SystemTime::now();
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let province_tls = tls(pki.province.own_credentials(now).unwrap(), &pki.province);
    let county_tls = tls(pki.county.own_credentials(now).unwrap(), &pki.province);
    let kiosk_id = NodeIdentity::new("kiosk-a", Role::Kiosk, "510131001001").unwrap();
    let kiosk_tls = tls(pki.county.issue_credentials(&kiosk_id, now).unwrap(), &pki.province);

    let province = start_hub(dirs[0].path(), &province_tls, None).await;
    let county = start_hub(dirs[1].path(), &county_tls, Some((&province, "province"))).await;
    let kiosk = start_kiosk(dirs[2].path(), &kiosk_tls, &county);

    record(&kiosk.store, "c1", "510131001001").await;
    eventually("the case reaches the province", || async { case(&province.store, "c1").await.is_some() })
        .await;
    eventually("the kiosk shows it synced", || async {
        kiosk.store.call(|db| db.stats()).await.unwrap().unsynced_docs == 0
    })
    .await;
    assert!(matches!(
        kiosk.status.get().link,
        LinkState::Synced | LinkState::Syncing | LinkState::Connecting
    ));

    // A case's private part (the sealed phone) reaches the county, which phones back, and
    // never the province. It goes up once sealed to the county's key (published by the county
    // hub, synced down to the kiosk).
    {
        let key_doc =
            || async { kiosk.store.call(|db| db.load_doc(&SealKeyDoc::id_for("510131"))).await.unwrap() };
        eventually("the county's sealing key reaches the kiosk", || async { key_doc().await.is_some() })
            .await;
        let (_, key) = SealKeyDoc::from_doc(&key_doc().await.unwrap()).unwrap().current().unwrap();
        let new = NewCase { farmer_phone: "13812345678".into(), ..case_fields("510131001001") };
        let mut private = yizhan_core::private::CasePrivate::for_case(
            &new,
            "c1",
            "13812345678",
            "v1:SEALED-PHONE-BYTES".into(),
        )
        .unwrap();
        private.seal_for_county("13812345678", &key, [7; 32], [9; 24]).unwrap();
        kiosk
            .store
            .call(move |db| {
                let mut doc = private.to_doc().unwrap();
                db.create_doc("c1.private", "case_private", &mut doc)
            })
            .await
            .unwrap();
    }
    eventually("the private part reaches the county", || async {
        county.store.call(|db| db.load_doc("c1.private")).await.unwrap().is_some()
    })
    .await;
    let row = county.store.call(|db| db.list_cases(&Default::default())).await.unwrap();
    assert_eq!(row[0].phone_masked, "138****5678");

    // The kiosk and the county hub act on the case at the same time.
    append(&kiosk.store, "c1", Event::new("k-esc", 10, "李", EventKind::Escalated)).await;
    let mut note = Event::new("h-note", 11, "县中心", EventKind::Unknown("note".into()));
    note.text = "已电话联系".into();
    append(&county.store, "c1", note).await;
    eventually("all three hold the same case", || async {
        let (k, c, p) = (
            case(&kiosk.store, "c1").await,
            case(&county.store, "c1").await,
            case(&province.store, "c1").await,
        );
        k.as_ref().map(|k| k.events.len()) == Some(3) && k == c && c == p
    })
    .await;
    let p = case(&province.store, "c1").await.unwrap();
    assert_eq!(p.state().status, yizhan_core::Status::AwaitingTriage);
    assert!(province.store.call(|db| db.load_doc("c1.private")).await.unwrap().is_none());
    province.store.call(|db| db.integrity_check()).await.unwrap();
    for entry in std::fs::read_dir(dirs[0].path()).unwrap().flatten() {
        if entry.path().is_file() {
            let bytes = std::fs::read(entry.path()).unwrap();
            assert!(
                !bytes.windows(18).any(|w| w == b"SEALED-PHONE-BYTES"),
                "{:?} holds the sealed phone",
                entry.path()
            );
        }
    }

    // The hubs' status pages list their children with their last contact.
    let view = county.view().await.unwrap();
    assert_eq!(view.children.len(), 1);
    assert_eq!(view.children[0].node_id, "kiosk-a");
    assert!(view.children[0].last_contact_ms.is_some());
    assert_eq!(view.cases, 1);
    let page = reqwest_get(&format!("http://{}/status", county.http_addr)).await;
    assert!(page.contains("kiosk-a") && page.contains("运管中心"));
}

async fn reqwest_get(url: &str) -> String {
    // A minimal HTTP/1.0 GET over tokio, to keep this crate free of an HTTP client.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.trim_start_matches("http://");
    let (addr, path) = rest.split_once('/').map_or((rest, "/".to_string()), |(a, p)| (a, format!("/{p}")));
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").as_bytes()).await.unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    String::from_utf8_lossy(&out).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_kiosks_and_out_of_scope_documents_are_refused_and_nothing_is_stored() {
    let pki = pki();
    let now = SystemTime::now();
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let county_tls = tls(pki.county.own_credentials(now).unwrap(), &pki.province);
    let county = start_hub(dirs[0].path(), &county_tls, None).await;

    // A kiosk enrolled in another county dials this county's hub: refused at the handshake.
    let foreign = NodeIdentity::new("kiosk-x", Role::Kiosk, "510104017001").unwrap();
    let foreign_tls = tls(pki.other_county.issue_credentials(&foreign, now).unwrap(), &pki.province);
    let foreign_kiosk = start_kiosk(dirs[1].path(), &foreign_tls, &county);
    record(&foreign_kiosk.store, "x1", "510104017001").await;

    // A kiosk of this county pushes one case of its own village and one of another village.
    let own = NodeIdentity::new("kiosk-a", Role::Kiosk, "510131001001").unwrap();
    let own_tls = tls(pki.county.issue_credentials(&own, now).unwrap(), &pki.province);
    let kiosk = start_kiosk(dirs[2].path(), &own_tls, &county);
    record(&kiosk.store, "ours", "510131001001").await;
    record(&kiosk.store, "not-ours", "510131002001").await;

    eventually("the kiosk's own case arrives", || async { case(&county.store, "ours").await.is_some() })
        .await;
    eventually("the foreign kiosk is offline", || async {
        matches!(foreign_kiosk.status.get().link, LinkState::Offline { .. })
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(case(&county.store, "not-ours").await.is_none(), "a case outside the kiosk's scope was stored");
    assert!(case(&county.store, "x1").await.is_none(), "a foreign kiosk's case was stored");
    assert_eq!(county.store.call(|db| db.count_cases(&Default::default())).await.unwrap(), 1);
    assert!(county.view().await.unwrap().children.iter().all(|c| c.node_id != "kiosk-x"));
    // The refused case stays "not synced" at the kiosk.
    assert_eq!(kiosk.store.call(|db| db.stats()).await.unwrap().unsynced_docs, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_kiosk_is_refused() {
    let pki = pki();
    let now = SystemTime::now();
    let dirs: Vec<_> = (0..2).map(|_| tempfile::tempdir().unwrap()).collect();
    let county_tls = tls(pki.county.own_credentials(now).unwrap(), &pki.province);
    let county = start_hub(dirs[0].path(), &county_tls, None).await;
    let id = NodeIdentity::new("kiosk-a", Role::Kiosk, "510131001001").unwrap();
    let kiosk_tls = tls(pki.county.issue_credentials(&id, now).unwrap(), &pki.province);

    // Revoke before it ever connects: the county hub's revocation state is shared with its TLS.
    let list =
        pki.county.sign_revocation_list(1, BTreeSet::from([Revoked::node("kiosk-a").unwrap()])).unwrap();
    county_tls.revocation.apply(&list.to_bytes(), now).unwrap();
    let kiosk = start_kiosk(dirs[1].path(), &kiosk_tls, &county);
    record(&kiosk.store, "c1", "510131001001").await;
    eventually("the revoked kiosk is offline", || async {
        matches!(kiosk.status.get().link, LinkState::Offline { .. })
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(case(&county.store, "c1").await.is_none());
    let LinkState::Offline { error, .. } = kiosk.status.get().link else { unreachable!() };
    assert!(!error.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_solved_case_is_published_as_knowledge_and_reaches_every_kiosk_without_personal_data() {
    let pki = pki();
    let now = SystemTime::now();
    let dirs: Vec<_> = (0..4).map(|_| tempfile::tempdir().unwrap()).collect();
    let province_tls = tls(pki.province.own_credentials(now).unwrap(), &pki.province);
    let county_tls = tls(pki.county.own_credentials(now).unwrap(), &pki.province);
    let province = start_hub(dirs[0].path(), &province_tls, None).await;
    let county = start_hub(dirs[1].path(), &county_tls, Some((&province, "province"))).await;
    let kiosk_a = {
        let id = NodeIdentity::new("kiosk-a", Role::Kiosk, "510131001001").unwrap();
        start_kiosk(
            dirs[2].path(),
            &tls(pki.county.issue_credentials(&id, now).unwrap(), &pki.province),
            &county,
        )
    };
    let kiosk_b = {
        let id = NodeIdentity::new("kiosk-b", Role::Kiosk, "510131002001").unwrap();
        start_kiosk(
            dirs[3].path(),
            &tls(pki.county.issue_credentials(&id, now).unwrap(), &pki.province),
            &county,
        )
    };

    // Kiosk A records and escalates; the county assigns and the expert answers; A closes.
    record(&kiosk_a.store, "c1", "510131001001").await;
    append(&kiosk_a.store, "c1", Event::new("esc", 10, "李", EventKind::Escalated)).await;
    eventually("the case reaches the county", || async { case(&county.store, "c1").await.is_some() }).await;
    let mut asg = Event::new("asg", 20, "县中心", EventKind::Assigned);
    asg.target = "expert-1".into();
    append(&county.store, "c1", asg).await;
    let mut ans = Event::new("ans", 30, "张专家", EventKind::Answered);
    ans.text = "猪丹毒可能性大：注射青霉素，王大爷请打13812345678复诊。".into();
    append(&county.store, "c1", ans).await;
    eventually("the answer reaches kiosk A", || async {
        case(&kiosk_a.store, "c1").await.map(|c| c.state().status) == Some(yizhan_core::Status::Answered)
    })
    .await;
    append(&kiosk_a.store, "c1", Event::new("close", 40, "李", EventKind::Closed)).await;
    eventually("the closure reaches the county", || async {
        case(&county.store, "c1").await.map(|c| c.state().status) == Some(yizhan_core::Status::Closed)
    })
    .await;
    // Nothing is published before the county centre signs it off.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(county.store.call(|db| db.load_doc("kb-c1")).await.unwrap().is_none(), "unreviewed, unpublished");
    append(&county.store, "c1", Event::new("ok", 50, "staff", EventKind::KnowledgeApproved)).await;

    // Published at the county, it reaches the other village's kiosk and the province.
    let knowledge = |store: Store| async move {
        let doc = store.call(|db| db.load_doc("kb-c1")).await.unwrap()?;
        Some(yizhan_core::KnowledgeDoc::from_doc(&doc).unwrap())
    };
    eventually("kiosk B receives the knowledge", || async {
        knowledge(kiosk_b.store.clone()).await.is_some()
    })
    .await;
    eventually("the province receives it", || async { knowledge(province.store.clone()).await.is_some() })
        .await;
    let k = knowledge(kiosk_b.store.clone()).await.unwrap();
    assert!(k.answer.contains("青霉素"));
    assert_eq!(
        (k.owner.as_str(), k.approved_by.as_str()),
        ("expert-1", "staff"),
        "who owns it and who signed it off"
    );
    assert!(!k.answer.contains("13812345678") && !k.answer.contains("王大爷"), "{}", k.answer);
    assert!(!k.question.contains("13812345678"));
    // Kiosk B still holds no case of village A.
    assert!(case(&kiosk_b.store, "c1").await.is_none());
}

/// Four tiers (`yizhan_test_support::Chain`): a case climbs kiosk → county → city → province,
/// and an edit made at the province comes back down to the kiosk.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_case_climbs_four_tiers_through_a_city_hub_and_edits_come_back_down() {
    let dir = tempfile::tempdir().unwrap();
    let chain = yizhan_test_support::Chain::start(dir.path(), "5101", "510131").await;
    let kiosk = chain.kiosk_store(&dir.path().join("kiosk-a"), "kiosk-a", "510131001001");

    record(&kiosk.store, "c4", "510131001001").await;
    eventually("the case reaches the province through the city", || async {
        case(&chain.province.store, "c4").await.is_some()
    })
    .await;
    assert!(case(&chain.city.store, "c4").await.is_some());
    assert!(case(&chain.county.store, "c4").await.is_some());

    let answer =
        Event { text: "注射疫苗".into(), ..Event::new("c4-p", 10, "省专家", EventKind::Answered) };
    append(&chain.province.store, "c4", answer).await;
    eventually("the province's answer reaches the kiosk", || async {
        case(&kiosk.store, "c4").await.is_some_and(|c| c.events.iter().any(|e| e.id == "c4-p"))
    })
    .await;
}
