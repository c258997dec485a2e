//! TLS session resumption over real QUIC (issue 13): a kiosk that reconnects resumes its TLS
//! session, so an up-to-date sync no longer carries both certificate chains, and a kiosk
//! revoked since cannot get in by resuming: the hub checks the chain the session holds against
//! its revocation list on every connection.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::time::Duration;

use yizhan_core::{CaseDoc, Event, EventKind, NewCase};
use yizhan_identity::{Revoked, server_name_for};
use yizhan_net::{LinkState, NetConfig, PeerPolicy, SyncStatusHandle, run_session};
use yizhan_store::{Store, StoreConfig};
use yizhan_test_support::{Pki, start_hub};

async fn record(store: &Store, id: &str) {
    let new = NewCase {
        region_code: "510131001001".into(),
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
            let ev = Event::new(format!("{id}-c"), 1, "李", EventKind::Created);
            let (_, mut doc) = CaseDoc::create(&new, &id, "kiosk", ev).unwrap();
            db.create_doc(&id, "case", &mut doc)
        })
        .await
        .unwrap();
}

/// One connection from `endpoint` to the hub and a document session on it until it idles:
/// the bytes the connection moved (UDP payloads both ways, so QUIC and TLS included), whether
/// the session reached synced, and how the connection was closed.
async fn sync_once(
    endpoint: &quinn::Endpoint,
    store: &Store,
    hub: &yizhan_hub::Hub,
) -> (u64, bool, Option<quinn::ConnectionError>) {
    let conn = endpoint.connect(hub.sync_addr, &server_name_for(&hub.config.node_id)).unwrap().await.unwrap();
    let mut net = NetConfig::new("kiosk-a");
    net.idle_timeout = Duration::from_millis(800);
    let status = SyncStatusHandle::new(&hub.config.node_id);
    let policy = PeerPolicy::parent(&hub.config.node_id, "510131001001");
    let session = async {
        let (send, recv) = conn.open_bi().await?;
        run_session(store, &net, policy, send, recv, store.subscribe_feed(), &status).await
    };
    let _ = tokio::time::timeout(Duration::from_secs(10), session).await;
    let synced = status.get().link == LinkState::Synced;
    let stats = conn.stats();
    let closed = conn.close_reason();
    conn.close(quinn::VarInt::from_u32(0), b"done");
    (stats.udp_tx.bytes + stats.udp_rx.bytes, synced, closed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconnecting_kiosk_resumes_and_a_revoked_one_cannot() {
    let pki = Pki::new();
    let county_ca = Pki::hub(&pki.province, "510131");
    let county_tls = pki.hub_tls(&county_ca);
    let dirs: Vec<_> = (0..2).map(|_| tempfile::tempdir().unwrap()).collect();
    let county = start_hub(dirs[0].path(), &county_tls, None).await;
    let kiosk_tls = pki.kiosk_tls(&county_ca, "kiosk-a", "510131001001");
    let store = Store::open(StoreConfig::new(dirs[1].path())).unwrap();
    let endpoint = |_: ()| {
        let mut e = quinn::Endpoint::client("127.0.0.1:0".parse().unwrap()).unwrap();
        e.set_default_client_config(kiosk_tls.quic_client().unwrap());
        e
    };
    // One endpoint kept across connections, as the uplink keeps it (its TLS session cache).
    let kiosk = endpoint(());

    record(&store, "c1").await;
    let (first, synced, _) = sync_once(&kiosk, &store, &county).await;
    assert!(synced);
    assert!(county.store.call(|db| db.load_doc("c1")).await.unwrap().is_some());
    // Nothing new: the resumed connection carries no certificate chain.
    let (resumed, synced, closed) = sync_once(&kiosk, &store, &county).await;
    assert!(synced, "{closed:?}");
    // The same sync from a fresh endpoint, without a session to resume: a full handshake.
    let (full, synced, _) = sync_once(&endpoint(()), &store, &county).await;
    assert!(synced);
    println!("first sync {first} B; up-to-date sync: resumed {resumed} B, full handshake {full} B");
    assert!(resumed < 6_000, "an up-to-date sync over a resumed session took {resumed} bytes");
    // The two chains (ECDSA certificates, each with its CA's) are about 800 bytes together.
    assert!(resumed + 500 < full, "resumed {resumed} B is not short of the chains ({full} B)");

    // The county revokes the kiosk. Its next connection resumes (TLS verifies nothing then),
    // and the hub's check of the chain the session holds refuses it: closed with 403 before
    // any document is applied. (A full handshake would have failed in TLS itself, with a
    // certificate alert instead: the 403 shows the session was resumed and checked again.)
    let list =
        county_ca.sign_revocation_list(1, BTreeSet::from([Revoked::node("kiosk-a").unwrap()])).unwrap();
    county_tls.revocation.apply(&list.to_bytes(), std::time::SystemTime::now()).unwrap();
    record(&store, "c2").await;
    let (_, synced, closed) = sync_once(&kiosk, &store, &county).await;
    assert!(!synced);
    match closed {
        Some(quinn::ConnectionError::ApplicationClosed(c)) => {
            assert_eq!(c.error_code, quinn::VarInt::from_u32(403), "{c:?}")
        }
        other => panic!("expected the hub's refusal (application close 403), got {other:?}"),
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(county.store.call(|db| db.load_doc("c2")).await.unwrap().is_none());
}
