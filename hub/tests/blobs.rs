//! Blobs over real QUIC on loopback with real certificates: photos and videos recorded at a
//! kiosk reach the county and province hubs verified, in priority order, filtered by role, only
//! within scope, and an interrupted transfer resumes from its verified prefix.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, SystemTime};

use yizhan_core::{Attachment, CaseDoc, Event, EventKind, NewCase};
use yizhan_hub::Hub;
use yizhan_identity::{Authority, NodeIdentity, Role, server_name_for};
use yizhan_net::{NetConfig, NodeTls, SyncStatus};
use yizhan_store::partial::PartialBlob;
use yizhan_store::{Db, Hash, Store, StoreConfig};
use yizhan_sync_proto::MESSAGE_BYTES_MAX;
use yizhan_sync_proto::blob::{
    BlobMessage, BlobReceiver, BlobSink, BlobWant, GROUP_BYTES, IN_FLIGHT_BYTES_DEFAULT, MISSING_NOT_FOUND,
    ReceiveEvent, ReceiverConfig, SLICE_BYTES_DEFAULT, decode_frame, from_hex,
};
use yizhan_sync_proto::wire::{Hello, Message};

// ---- setup (nodes from yizhan-test-support) ----

use yizhan_test_support::{eventually, start_hub_tuned as start_hub, start_uplink, tls};

struct Pki {
    province: Authority,
    county: Authority,
}

fn pki() -> Pki {
    let now = SystemTime::now();
    let province = Authority::init("province", "51", now).unwrap();
    let county = province.create_child_hub("hub-510131", "510131", now).unwrap();
    Pki { province, county }
}

fn kiosk_tls(pki: &Pki, node: &str, scope: &str) -> NodeTls {
    let id = NodeIdentity::new(node, Role::Kiosk, scope).unwrap();
    tls(pki.county.issue_credentials(&id, SystemTime::now()).unwrap(), &pki.province)
}

fn child_status(hub: &Hub, child: &str) -> Option<SyncStatus> {
    hub.children.lock().unwrap().get(child).map(|c| c.status.get())
}

// ---- media ----

/// Incompressible, reproducible bytes.
fn content(seed: u64, n: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

struct Media {
    kind: &'static str,
    role: &'static str,
    bytes: Vec<u8>,
    mime: &'static str,
}

fn media(kind: &'static str, role: &'static str, seed: u64, n: usize) -> Media {
    let mime =
        if kind == "video" && matches!(role, "original" | "proxy") { "video/mp4" } else { "image/jpeg" };
    Media { kind, role, bytes: content(seed, n), mime }
}

/// A photo (300 KB original, display copy, inline thumbnail) and a video (original, proxy,
/// poster), seeded by `seed`.
fn photo_and_video(seed: u64, video_bytes: usize) -> Vec<Media> {
    vec![
        media("photo", "original", seed, 300_000),
        media("photo", "display", seed + 1, 60_000),
        media("photo", "thumb", seed + 2, 8_000),
        media("video", "original", seed + 3, video_bytes),
        media("video", "proxy", seed + 4, 400_000),
        media("video", "poster", seed + 5, 30_000),
    ]
}

fn new_case(region: &str) -> NewCase {
    NewCase {
        region_code: region.into(),
        village_name: "和平村".into(),
        industry: "pig".into(),
        subject: "生猪".into(),
        description: "不吃食，皮肤发红".into(),
        farmer_name: "王".into(),
        farmer_phone: String::new(),
        officer: "李".into(),
    }
}

fn attachments_of(
    id: &str,
    media: &[(Hash, &'static str, &'static str, &'static str, u64)],
) -> Vec<Attachment> {
    media
        .iter()
        .map(|(hash, kind, role, mime, bytes)| {
            let group =
                media.iter().find(|(_, k, r, _, _)| k == kind && *r == "original").map_or(hash, |(h, ..)| h);
            Attachment {
                hash: hash.to_string(),
                kind: (*kind).into(),
                role: (*role).into(),
                group: group.to_string(),
                mime: (*mime).into(),
                bytes: *bytes,
                width: 0,
                height: 0,
                duration_ms: 0,
                name: format!("{id}-{kind}-{role}"),
                added_at_ms: 1,
            }
        })
        .collect()
}

/// Records a case whose attachments' blobs exist only in this store, the way the kiosk does:
/// blobs prepared off the database thread, then recorded with the document in one transaction.
/// Returns each blob's hash and role.
async fn record_with_media(
    store: &Store,
    id: &str,
    region: &str,
    media: Vec<Media>,
) -> Vec<(Hash, &'static str)> {
    let s = store.clone();
    let prepared = tokio::task::spawn_blocking(move || {
        media
            .into_iter()
            .map(|m| {
                let blob = s.prepare_blob(m.bytes, m.mime).unwrap();
                (m.kind, m.role, m.mime, blob)
            })
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    let meta: Vec<_> = prepared
        .iter()
        .map(|(k, r, mime, b)| (b.info().hash.clone(), *k, *r, *mime, b.info().size))
        .collect();
    let attachments = attachments_of(id, &meta);
    let blobs = prepared.into_iter().map(|(.., b)| b).collect();
    let (id2, region) = (id.to_string(), region.to_string());
    store
        .call(move |db| {
            let (_, mut doc) = CaseDoc::create(
                &new_case(&region),
                &id2,
                "kiosk",
                Event::new(format!("{id2}-c"), 1, "李", EventKind::Created),
            )
            .unwrap();
            CaseDoc::add_attachments(&mut doc, attachments).unwrap();
            db.create_doc_with(&id2, "case", &mut doc, blobs, &[])
        })
        .await
        .unwrap();
    meta.into_iter().map(|(h, _, r, _, _)| (h, r)).collect()
}

/// The blob is recorded here and its bytes re-hash to its name.
async fn holds(store: &Store, hash: &Hash) -> bool {
    let h = hash.clone();
    store.call(move |db| Ok(db.verify_blob(&h).is_ok())).await.unwrap()
}

async fn recorded(store: &Store, hash: &Hash) -> bool {
    let h = hash.clone();
    store.call(move |db| Ok(db.blob(&h)?.is_some())).await.unwrap()
}

// ---- the store's view: what is missing, in which order, and what may be served ----

#[test]
fn missing_blobs_come_thumbnails_first_filtered_by_role_and_scope() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = Db::open(StoreConfig::new(dir.path())).unwrap();
    let files = photo_and_video(1, 2_000_000);
    let meta: Vec<_> =
        files.iter().map(|m| (Hash::of(&m.bytes), m.kind, m.role, m.mime, m.bytes.len() as u64)).collect();
    let hash_of =
        |role: &str, kind: &str| meta.iter().find(|m| m.2 == role && m.1 == kind).unwrap().0.clone();
    let (_, mut doc) = CaseDoc::create(
        &new_case("510131001001"),
        "c1",
        "kiosk",
        Event::new("c1-c", 1, "李", EventKind::Created),
    )
    .unwrap();
    CaseDoc::add_attachments(&mut doc, attachments_of("c1", &meta)).unwrap();
    // The document arrives without its blobs (as from a peer).
    db.create_doc("c1", "case", &mut doc).unwrap();

    let order = |db: &Db, roles: &[&str], scope: &str| -> Vec<(String, String)> {
        db.missing_blobs(scope, roles, 100).unwrap().into_iter().map(|(_, kind, role)| (kind, role)).collect()
    };
    let s = |k: &str, r: &str| (k.to_string(), r.to_string());
    assert_eq!(
        order(&db, &[], ""),
        vec![
            s("photo", "thumb"),
            s("video", "poster"),
            s("photo", "display"),
            s("video", "proxy"),
            s("photo", "original"),
            s("video", "original"),
        ],
        "thumbnails, then display copies and posters (smaller first), proxies, originals (photos first)"
    );
    let total: u64 = meta.iter().map(|m| m.4).sum();
    assert_eq!(db.missing_blob_totals("", &[]).unwrap(), (6, total));
    let no_originals = ["thumb", "display", "poster", "proxy"];
    assert_eq!(order(&db, &no_originals, "").len(), 4);
    assert!(order(&db, &no_originals, "").iter().all(|(_, r)| r != "original"));
    assert_eq!(db.missing_blobs("", &[], 2).unwrap().len(), 2, "bounded");
    assert_eq!(order(&db, &[], "510131").len(), 6);
    assert!(order(&db, &[], "510131002").is_empty(), "another village's scope wants none of them");

    // Who may be served what: a document within the peer's scope must reference the blob.
    let thumb = hash_of("thumb", "photo");
    assert!(db.blob_allowed(&thumb, "").unwrap());
    assert!(db.blob_allowed(&thumb, "510131001001").unwrap());
    assert!(!db.blob_allowed(&thumb, "510131002001").unwrap());
    assert!(!db.blob_allowed(&Hash::of(b"unreferenced"), "").unwrap());

    // A blob held is no longer missing; one held only in part still is.
    let thumb_bytes = files.iter().find(|m| m.role == "thumb").unwrap().bytes.clone();
    db.put_blob_bytes(&thumb_bytes, "image/jpeg").unwrap();
    assert!(db.blob_for_peer(&thumb, "510131001").unwrap().is_some());
    assert!(db.blob_for_peer(&thumb, "510131002").unwrap().is_none(), "answered as if missing");
    let poster = hash_of("poster", "video");
    let poster_bytes = &files.iter().find(|m| m.role == "poster").unwrap().bytes;
    let mut partial = PartialBlob::open(dir.path(), &poster).unwrap();
    partial.append(0, &poster_bytes[..GROUP_BYTES as usize]).unwrap();
    drop(partial);
    let after = order(&db, &[], "");
    assert_eq!(after.first(), Some(&s("video", "poster")), "a partial blob is still missing");
    assert_eq!(after.len(), 5);

    // The table is a projection: rebuilt from the documents, it says the same.
    db.rebuild_projections().unwrap();
    assert_eq!(order(&db, &[], ""), after);
}

// ---- over QUIC ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_blob_reaches_the_county_and_the_province_verified() {
    let pki = pki();
    let now = SystemTime::now();
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let province_tls = tls(pki.province.own_credentials(now).unwrap(), &pki.province);
    let county_tls = tls(pki.county.own_credentials(now).unwrap(), &pki.province);
    let province = start_hub(dirs[0].path(), &province_tls, None, |_| {}).await;
    let county = start_hub(dirs[1].path(), &county_tls, Some((&province, "province")), |_| {}).await;
    let kiosk_store = Store::open(StoreConfig::new(dirs[2].path())).unwrap();
    let blobs = record_with_media(&kiosk_store, "c1", "510131001001", photo_and_video(10, 2_500_000)).await;
    let (_uplink, kiosk_status) =
        start_uplink(&kiosk_store, &kiosk_tls(&pki, "kiosk-a", "510131001001"), &county, |_| {});

    eventually("the county holds every blob, verified", || async {
        for (h, _) in &blobs {
            if !holds(&county.store, h).await {
                return false;
            }
        }
        true
    })
    .await;
    eventually("the province holds every blob, verified", || async {
        for (h, _) in &blobs {
            if !holds(&province.store, h).await {
                return false;
            }
        }
        true
    })
    .await;
    let county_view = child_status(&county, "kiosk-a").unwrap();
    assert_eq!(county_view.blobs_waiting, 0, "{county_view:?}");
    assert!(kiosk_status.get().blob_bytes_sent > 0 || county_view.blobs_received > 0);
    let province_view = child_status(&province, "hub-510131").unwrap();
    assert_eq!(province_view.blobs_waiting, 0, "{province_view:?}");
    // Nothing travelled down to the kiosk that it did not already hold.
    assert_eq!(kiosk_store.call(|db| db.stats()).await.unwrap().blobs, 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn originals_stay_below_a_province_that_does_not_fetch_them() {
    let pki = pki();
    let now = SystemTime::now();
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let province_tls = tls(pki.province.own_credentials(now).unwrap(), &pki.province);
    let county_tls = tls(pki.county.own_credentials(now).unwrap(), &pki.province);
    let province = start_hub(dirs[0].path(), &province_tls, None, |n| n.blobs.fetch_originals = false).await;
    let county = start_hub(dirs[1].path(), &county_tls, Some((&province, "province")), |_| {}).await;
    let kiosk_store = Store::open(StoreConfig::new(dirs[2].path())).unwrap();
    let blobs = record_with_media(&kiosk_store, "c1", "510131001001", photo_and_video(20, 1_000_000)).await;
    let (_uplink, _) =
        start_uplink(&kiosk_store, &kiosk_tls(&pki, "kiosk-a", "510131001001"), &county, |_| {});

    eventually("the county holds every blob", || async {
        for (h, _) in &blobs {
            if !holds(&county.store, h).await {
                return false;
            }
        }
        true
    })
    .await;
    eventually("the province holds thumbnails, display copies, posters and proxies", || async {
        for (h, role) in &blobs {
            if *role != "original" && !holds(&province.store, h).await {
                return false;
            }
        }
        true
    })
    .await;
    // Give the province every chance to (wrongly) fetch the originals.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    for (h, role) in &blobs {
        if *role == "original" {
            assert!(!recorded(&province.store, h).await, "the province fetched an original");
        }
    }
    assert_eq!(
        child_status(&province, "hub-510131").unwrap().blobs_waiting,
        0,
        "originals are not waited for"
    );
}

/// Receives into memory.
struct VecSink(Vec<u8>);

impl BlobSink for VecSink {
    fn write_verified(&mut self, offset: u64, bytes: &[u8]) -> std::io::Result<()> {
        assert_eq!(offset, self.0.len() as u64);
        self.0.extend_from_slice(bytes);
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blob_referenced_only_outside_a_peers_scope_is_never_served_to_it() {
    let pki = pki();
    let now = SystemTime::now();
    let dir = tempfile::tempdir().unwrap();
    let county_tls = tls(pki.county.own_credentials(now).unwrap(), &pki.province);
    let county = start_hub(dir.path(), &county_tls, None, |_| {}).await;
    // The county holds a case of kiosk A's village and one of another village, each with a photo.
    let ours =
        record_with_media(&county.store, "ours", "510131001001", vec![media("photo", "display", 31, 40_000)])
            .await;
    let theirs = record_with_media(
        &county.store,
        "theirs",
        "510131002001",
        vec![media("photo", "display", 32, 40_000)],
    )
    .await;
    let (ours, theirs) = (ours[0].0.clone(), theirs[0].0.clone());
    let nowhere = Hash::of(b"a blob nobody holds");

    // Kiosk A connects with its own certificate and asks for all three directly.
    let t = kiosk_tls(&pki, "kiosk-a", "510131001001");
    let mut endpoint = quinn::Endpoint::client("127.0.0.1:0".parse().unwrap()).unwrap();
    endpoint.set_default_client_config(t.quic_client().unwrap());
    let conn = endpoint.connect(county.sync_addr, &server_name_for("hub-510131")).unwrap().await.unwrap();
    let (mut session, _session_rx) = conn.open_bi().await.unwrap();
    let hello = Hello {
        protocol_version: yizhan_sync_proto::PROTOCOL_VERSION,
        node_id: "kiosk-a".into(),
        capabilities: vec![yizhan_sync_proto::blob::CAPABILITY.into()],
        message_bytes_max: MESSAGE_BYTES_MAX,
        feed_head: 0,
        your_checkpoint: 0,
        incarnation: 1,
        your_incarnation: 0,
        your_head: 0,
    };
    session.write_all(&Message::Hello(hello).encode(MESSAGE_BYTES_MAX).unwrap()).await.unwrap();
    let (mut send, mut recv) = conn.open_bi().await.unwrap();
    for h in [&ours, &theirs, &nowhere] {
        let want = BlobMessage::Want(BlobWant { hash: from_hex(h.as_str()).unwrap(), offset: 0 });
        send.write_all(&want.encode(MESSAGE_BYTES_MAX).unwrap()).await.unwrap();
    }
    let mut receiver = BlobReceiver::new(from_hex(ours.as_str()).unwrap(), 0, ReceiverConfig::default());
    let mut sink = VecSink(Vec::new());
    let mut missing = Vec::new();
    let mut complete = false;
    let mut buf = Vec::new();
    let mut piece = vec![0u8; 64 * 1024];
    while missing.len() < 2 || !complete {
        let n = tokio::time::timeout(Duration::from_secs(10), recv.read(&mut piece))
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        buf.extend_from_slice(&piece[..n]);
        while let Some((msg, used)) = decode_frame(&buf, MESSAGE_BYTES_MAX).unwrap() {
            buf.drain(..used);
            match msg {
                BlobMessage::Data(d) => {
                    assert_eq!(d.hash, from_hex(ours.as_str()).unwrap(), "only the in-scope blob is sent");
                    match receiver.handle_data(&d, &mut sink).unwrap() {
                        ReceiveEvent::Complete { .. } => complete = true,
                        ReceiveEvent::Progress { .. } => {}
                        other => panic!("{other:?}"),
                    }
                    send.write_all(&BlobMessage::Ack(receiver.ack()).encode(MESSAGE_BYTES_MAX).unwrap())
                        .await
                        .unwrap();
                }
                BlobMessage::Missing(m) => missing.push(m),
                other => panic!("{other:?}"),
            }
        }
    }
    assert_eq!(Hash::of(&sink.0), ours);
    // Out of scope and nonexistent are answered alike: the kiosk cannot probe for other villages' blobs.
    assert_eq!(missing[0].hash, from_hex(theirs.as_str()).unwrap());
    assert_eq!(missing[1].hash, from_hex(nowhere.as_str()).unwrap());
    assert_eq!(missing[0].code, MISSING_NOT_FOUND);
    assert_eq!(missing[1].code, MISSING_NOT_FOUND);
    assert_eq!(child_status(&county, "kiosk-a").unwrap().blob_bytes_sent, 40_000);
    conn.close(0u32.into(), b"done");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_cut_mid_blob_resumes_from_the_verified_prefix() {
    const VIDEO: u64 = 8_000_000;
    let pki = pki();
    let now = SystemTime::now();
    let dirs: Vec<_> = (0..2).map(|_| tempfile::tempdir().unwrap()).collect();
    let county_tls = tls(pki.county.own_credentials(now).unwrap(), &pki.province);
    let county = start_hub(dirs[0].path(), &county_tls, None, |_| {}).await;
    let kiosk_store = Store::open(StoreConfig::new(dirs[1].path())).unwrap();
    let video = record_with_media(
        &kiosk_store,
        "c1",
        "510131001001",
        vec![media("video", "original", 41, VIDEO as usize)],
    )
    .await[0]
        .0
        .clone();
    let t = kiosk_tls(&pki, "kiosk-a", "510131001001");
    // A capped link (2 MB/s) so the transfer takes a few seconds.
    let cap = |n: &mut NetConfig| n.send_bytes_per_s_max = Some(2_000_000);

    let (uplink, first) = start_uplink(&kiosk_store, &t, &county, cap);
    eventually("the video is partly at the county", || async {
        child_status(&county, "kiosk-a")
            .and_then(|s| s.blob_receiving)
            .is_some_and(|p| p.done_bytes >= 3_000_000 && p.total_bytes == VIDEO)
    })
    .await;
    // Cut the link: the kiosk's connection goes away mid-blob.
    uplink.abort();
    let sent_before_cut = {
        tokio::time::sleep(Duration::from_millis(200)).await;
        first.get().blob_bytes_sent
    };
    assert!(!recorded(&county.store, &video).await);
    // The county kept a verified prefix on disk (as a restarted county would find it).
    let mut verified = None;
    for _ in 0..200 {
        let (dir, h) = (dirs[0].path().to_path_buf(), video.clone());
        // Fails while the county's (ending) transfer still holds it.
        if let Ok(p) = tokio::task::spawn_blocking(move || PartialBlob::open(&dir, &h)).await.unwrap() {
            verified = Some(p.verified_bytes());
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let verified = verified.expect("the county's transfer let go of the partial blob");
    assert!((3_000_000..VIDEO).contains(&verified), "verified prefix {verified}");
    assert!(verified.is_multiple_of(GROUP_BYTES));
    let lost = sent_before_cut.saturating_sub(verified);
    assert!(
        lost <= IN_FLIGHT_BYTES_DEFAULT + u64::from(SLICE_BYTES_DEFAULT),
        "lost {lost} bytes in flight (sent {sent_before_cut}, verified {verified})"
    );

    // The link comes back: the transfer resumes from the prefix, not from zero.
    let (_uplink, second) = start_uplink(&kiosk_store, &t, &county, cap);
    eventually("the county holds the video, verified", || async { holds(&county.store, &video).await }).await;
    let resent = second.get().blob_bytes_sent;
    println!(
        "video {VIDEO} bytes: {sent_before_cut} sent before the cut, {verified} verified at the county, \
         {resent} sent after it ({} re-sent)",
        (sent_before_cut + resent).saturating_sub(VIDEO)
    );
    assert_eq!(resent, VIDEO - verified, "exactly the bytes past the verified prefix");
    assert!(sent_before_cut + resent <= VIDEO + IN_FLIGHT_BYTES_DEFAULT + u64::from(SLICE_BYTES_DEFAULT));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_later_cases_thumbnail_comes_before_an_earlier_cases_original_in_flight() {
    const VIDEO: u64 = 6_000_000;
    let pki = pki();
    let now = SystemTime::now();
    let dirs: Vec<_> = (0..2).map(|_| tempfile::tempdir().unwrap()).collect();
    let county_tls = tls(pki.county.own_credentials(now).unwrap(), &pki.province);
    let county = start_hub(dirs[0].path(), &county_tls, None, |_| {}).await;
    let kiosk_store = Store::open(StoreConfig::new(dirs[1].path())).unwrap();
    let video = record_with_media(
        &kiosk_store,
        "c1",
        "510131001001",
        vec![media("video", "original", 51, VIDEO as usize)],
    )
    .await[0]
        .0
        .clone();
    let t = kiosk_tls(&pki, "kiosk-a", "510131001001");
    // 1 MB/s: the video takes about six seconds.
    let cap = |n: &mut NetConfig| n.send_bytes_per_s_max = Some(1_000_000);
    let (_uplink, status) = start_uplink(&kiosk_store, &t, &county, cap);
    eventually("the video is partly at the county", || async {
        child_status(&county, "kiosk-a")
            .and_then(|s| s.blob_receiving)
            .is_some_and(|p| p.done_bytes >= 1_000_000 && p.total_bytes == VIDEO)
    })
    .await;

    // A new case while the original is on its way: its thumbnail and display copy are what the
    // county needs first.
    let later = record_with_media(
        &kiosk_store,
        "c2",
        "510131001001",
        vec![media("photo", "thumb", 52, 6_000), media("photo", "display", 53, 40_000)],
    )
    .await;
    eventually("the later case's copies are at the county", || async {
        holds(&county.store, &later[0].0).await && holds(&county.store, &later[1].0).await
    })
    .await;
    assert!(!recorded(&county.store, &video).await, "the thumbnail did not wait for the whole original");

    eventually("the county holds the video, verified", || async { holds(&county.store, &video).await }).await;
    let sent = status.get().blob_bytes_sent;
    println!("sent {sent} blob bytes for {} recorded", VIDEO + 46_000);
    // Giving up the transfer in flight wastes at most what was on its way; the rest resumed
    // from the verified prefix.
    assert!(sent <= VIDEO + 46_000 + IN_FLIGHT_BYTES_DEFAULT + u64::from(SLICE_BYTES_DEFAULT), "sent {sent}");
}
