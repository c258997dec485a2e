//! Blob transfer between two real stores on disk: a 20 MB video cut at random points with the
//! receiving side restarted from disk at each cut, and damaged partial files.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::Path;

use rand::rngs::SmallRng;
use rand::{Rng, RngCore, SeedableRng};
use yizhan_store::partial::{PartialBlob, StoreBlobs, StoredBlob, hash_bytes, outboard_dir, partial_dir};
use yizhan_store::{BlobBody, Db, Hash, NewBlob, StoreConfig, StoreError};
use yizhan_sync_proto::MESSAGE_BYTES_MAX;
use yizhan_sync_proto::blob::{
    BlobMessage, BlobServer, GROUP_BYTES, MISSING_UNAVAILABLE, ReceiveEvent, ReceiveState, ReceiverConfig,
    SLICE_BYTES_DEFAULT, SenderConfig, decode_frame,
};

const MAX: u32 = MESSAGE_BYTES_MAX;
const G: u64 = GROUP_BYTES;
const VIDEO_BYTES: usize = 20 * 1000 * 1000;

fn random_content(rng: &mut SmallRng, n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    rng.fill_bytes(&mut v);
    v
}

/// A sending store holding `content`, and an empty receiving store.
fn stores(content: &[u8]) -> (tempfile::TempDir, Db, tempfile::TempDir, Db, Hash) {
    let a = tempfile::tempdir().unwrap();
    let mut sender = Db::open(StoreConfig::new(a.path())).unwrap();
    let hash = sender.put_blob_bytes(content, "video/mp4").unwrap().hash;
    let b = tempfile::tempdir().unwrap();
    let receiver = Db::open(StoreConfig::new(b.path())).unwrap();
    (a, sender, b, receiver, hash)
}

fn lookup(db: &Db) -> impl FnMut(&Hash) -> Result<Option<BlobBody>, StoreError> + '_ {
    move |h| Ok(db.blob(h)?.map(|(_, body)| body))
}

#[derive(Debug, Default)]
struct Cut {
    at_byte: u64,
    verified: u64,
    /// Wire bytes of the frame that had partly arrived and was lost with the connection.
    partial_frame_bytes: u64,
    /// Content the sender had sent past what the receiver held: it is sent again.
    resent_content: u64,
}

struct Report {
    cuts: Vec<Cut>,
    connections: u32,
    content_sent: u64,
    wire_to_receiver: u64,
}

/// Moves the blob from `sender` to the store at `dir_b` over simulated connections that are cut
/// after the receiver has received `cuts[i]` bytes in total. At every cut every in-memory object of
/// both sides is dropped; the receiver starts again from its partial blob on disk. Bytes travel
/// in random-sized pieces; acks arrive at once. Returns when the blob is complete.
fn transfer_with_cuts(
    rng: &mut SmallRng,
    sender: &Db,
    dir_a: &Path,
    dir_b: &Path,
    hash: &Hash,
    config: &SenderConfig,
    cuts: &[u64],
) -> (Report, yizhan_store::FinishedBlob) {
    let mut report = Report { cuts: Vec::new(), connections: 0, content_sent: 0, wire_to_receiver: 0 };
    let mut delivered = 0u64;
    let mut durable = 0u64;
    loop {
        report.connections += 1;
        // The receiving process starts: all it has is its directory.
        let mut partial = PartialBlob::open(dir_b, hash).unwrap();
        assert_eq!(partial.verified_bytes(), durable, "everything acknowledged survived the restart");
        assert!(durable.is_multiple_of(G));
        let mut receiver = partial.receiver(ReceiverConfig::default());
        // A new connection to a sender (its state is gone too; the outboard comes from its cache).
        let mut provider = StoreBlobs::new(dir_a, lookup(sender));
        let mut server: BlobServer<StoredBlob> = BlobServer::new(config.clone());
        let want = BlobMessage::Want(receiver.want()).encode(MAX).unwrap();
        assert!(server.handle_message(decode_frame(&want, MAX).unwrap().unwrap().0).unwrap());
        let mut link: Vec<u8> = Vec::new();
        let mut rx: Vec<u8> = Vec::new();
        let mut sent_end = 0u64;
        loop {
            while let Some(msg) = server.poll_transmit(&mut provider).unwrap() {
                if let BlobMessage::Data(d) = &msg {
                    sent_end = sent_end.max(d.offset + u64::from(d.len));
                    report.content_sent += u64::from(d.len);
                }
                link.extend(msg.encode(MAX).unwrap());
            }
            assert!(!link.is_empty(), "the transfer stalled");
            let next_cut = cuts.iter().copied().find(|&c| c > delivered);
            let mut step = rng.random_range(1..=64 * 1024).min(link.len() as u64);
            if let Some(c) = next_cut {
                step = step.min(c - delivered);
            }
            rx.extend(link.drain(..step as usize));
            delivered += step;
            report.wire_to_receiver += step;
            while let Some((msg, used)) = decode_frame(&rx, MAX).unwrap() {
                rx.drain(..used);
                match receiver.handle_message(&msg, &mut partial).unwrap() {
                    ReceiveEvent::Progress { .. } => server.handle_ack(&receiver.ack()),
                    ReceiveEvent::Complete { size_bytes } => {
                        assert!(rx.is_empty() && link.is_empty());
                        return (report, partial.finish(size_bytes).unwrap());
                    }
                    other => panic!("{other:?}"),
                }
            }
            if next_cut == Some(delivered) {
                durable = receiver.verified_bytes();
                report.cuts.push(Cut {
                    at_byte: delivered,
                    verified: durable,
                    partial_frame_bytes: rx.len() as u64,
                    resent_content: sent_end.saturating_sub(durable),
                });
                break; // the connection drops and both processes lose their state
            }
        }
    }
}

fn run_cut_test(seed: u64, config: SenderConfig, resent_per_cut_max: u64) {
    println!(
        "seed {seed} (replay: BLOB_CUT_SEED={seed}; slice {} bytes, in flight at most {} bytes)",
        config.slice_bytes, config.in_flight_bytes_max
    );
    let mut rng = SmallRng::seed_from_u64(seed);
    let content = random_content(&mut rng, VIDEO_BYTES);
    let (a, sender, b, mut receiving_db, hash) = stores(&content);
    let mut cuts: Vec<u64> = (0..12).map(|_| rng.random_range(1..VIDEO_BYTES as u64)).collect();
    cuts.sort_unstable();
    cuts.dedup();
    let (report, finished) = transfer_with_cuts(&mut rng, &sender, a.path(), b.path(), &hash, &config, &cuts);

    // The finished blob becomes visible only now, and holds exactly the bytes sent.
    assert!(receiving_db.blob(&hash).unwrap().is_none());
    let info = receiving_db
        .record_new_blob(NewBlob::from_finished(finished, "video/mp4", 16 * 1024).unwrap())
        .unwrap();
    assert_eq!(info.size, VIDEO_BYTES as u64);
    match receiving_db.blob(&hash).unwrap() {
        Some((_, BlobBody::File(path))) => assert!(fs::read(path).unwrap() == content, "exact bytes"),
        other => panic!("{other:?}"),
    }
    receiving_db.verify_blob(&hash).unwrap();
    assert_eq!(fs::read_dir(partial_dir(b.path())).unwrap().count(), 0, "no partial file left");

    let slice = u64::from(config.slice_bytes);
    let frame_max = slice + slice / 100 + 1024;
    for (i, c) in report.cuts.iter().enumerate() {
        println!(
            "  cut {i:2} at wire byte {:>8}: verified {:>8}, lost partial frame {:>6} B, content re-sent {:>7} B",
            c.at_byte, c.verified, c.partial_frame_bytes, c.resent_content
        );
        assert!(c.partial_frame_bytes <= frame_max, "cut {i}: more than one frame lost");
        assert!(c.resent_content <= resent_per_cut_max, "cut {i}: {} bytes re-sent", c.resent_content);
    }
    let n = report.cuts.len() as u64;
    assert!(n >= 10, "only {n} cuts");
    let resent = report.content_sent - VIDEO_BYTES as u64;
    let lost_frames: u64 = report.cuts.iter().map(|c| c.partial_frame_bytes).sum();
    println!(
        "  {n} cuts, {} connections: content re-sent {resent} B in total = {} B per cut ({:.2} slices); \
         partial frames lost {lost_frames} B = {} B per cut; wire to receiver / payload = {:.4}",
        report.connections,
        resent / n,
        resent as f64 / n as f64 / slice as f64,
        lost_frames / n,
        report.wire_to_receiver as f64 / VIDEO_BYTES as f64
    );
    assert!(resent <= n * resent_per_cut_max);
    drop(a);
}

/// The test: a 20 MB video cut at 12 random points, the receiver restarted each time.
/// With one slice in flight, each cut re-sends at most one slice.
#[test]
fn a_20_mb_video_cut_at_random_points_resends_at_most_one_slice_per_cut() {
    let seed = std::env::var("BLOB_CUT_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x2013_0611);
    let config =
        SenderConfig { in_flight_bytes_max: u64::from(SLICE_BYTES_DEFAULT), ..SenderConfig::default() };
    run_cut_test(seed, config, u64::from(SLICE_BYTES_DEFAULT));
}

/// With the default window (1 MiB, four slices) the bytes that had *arrived* and are lost stay at
/// most one frame per cut; what the sender re-sends is at most its window.
#[test]
fn a_20_mb_video_cut_with_the_default_window() {
    let seed = std::env::var("BLOB_CUT_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x0b10_b5ee);
    let config = SenderConfig::default();
    let window = config.in_flight_bytes_max;
    run_cut_test(seed, config, window);
}

/// Receives the first `groups` groups of `content` into a partial blob through the protocol.
fn receive_prefix(dir_b: &Path, sender: &Db, dir_a: &Path, hash: &Hash, groups: u64) -> u64 {
    let mut partial = PartialBlob::open(dir_b, hash).unwrap();
    let mut receiver = partial.receiver(ReceiverConfig::default());
    let mut provider = StoreBlobs::new(dir_a, lookup(sender));
    let config = SenderConfig { slice_bytes: G as u32, in_flight_bytes_max: G, ..SenderConfig::default() };
    let mut server: BlobServer<StoredBlob> = BlobServer::new(config);
    server.handle_want(receiver.want()).unwrap();
    while receiver.verified_bytes() < groups * G {
        let msg = server.poll_transmit(&mut provider).unwrap().unwrap();
        receiver.handle_message(&msg, &mut partial).unwrap();
        server.handle_ack(&receiver.ack());
    }
    partial.verified_bytes()
}

/// Completes a partial blob through the protocol; returns the content bytes sent.
fn complete(dir_b: &Path, sender: &Db, dir_a: &Path, hash: &Hash) -> (PartialBlob, u64, u64) {
    let mut partial = PartialBlob::open(dir_b, hash).unwrap();
    let start = partial.verified_bytes();
    let mut receiver = partial.receiver(ReceiverConfig::default());
    let mut provider = StoreBlobs::new(dir_a, lookup(sender));
    let mut server: BlobServer<StoredBlob> = BlobServer::new(SenderConfig::default());
    server.handle_want(receiver.want()).unwrap();
    loop {
        let msg = server.poll_transmit(&mut provider).unwrap().unwrap();
        match receiver.handle_message(&msg, &mut partial).unwrap() {
            ReceiveEvent::Progress { .. } => server.handle_ack(&receiver.ack()),
            ReceiveEvent::Complete { size_bytes } => return (partial, start, size_bytes),
            other => panic!("{other:?}"),
        }
    }
}

fn flip(path: &Path, at: u64) {
    let mut bytes = fs::read(path).unwrap();
    bytes[at as usize] ^= 0x10;
    fs::write(path, bytes).unwrap();
}

#[test]
fn damaged_partial_files_are_caught_and_never_become_visible() {
    let mut rng = SmallRng::seed_from_u64(11);
    let size = 40 * G + 777;
    let content = random_content(&mut rng, size as usize);
    let (a, sender, b, mut receiving_db, hash) = stores(&content);
    let data_path = partial_dir(b.path()).join(hash.as_str());
    let groups_path = partial_dir(b.path()).join(format!("{hash}.groups"));

    // 1. Bytes past the vouched-for prefix (an unsynced tail, a torn write) are dropped on reopen.
    assert_eq!(receive_prefix(b.path(), &sender, a.path(), &hash, 6), 6 * G);
    let mut tail = fs::read(&data_path).unwrap();
    tail.extend(random_content(&mut rng, 20_000));
    fs::write(&data_path, &tail).unwrap();
    let mut groups = fs::read(&groups_path).unwrap();
    groups.extend([7u8; 45]); // a garbage record and a torn one
    fs::write(&groups_path, &groups).unwrap();
    let partial = PartialBlob::open(b.path(), &hash).unwrap();
    assert_eq!(partial.verified_bytes(), 6 * G);
    assert_eq!(fs::metadata(&data_path).unwrap().len(), 6 * G, "the tail is truncated");
    // A second transfer of the same blob cannot open it meanwhile.
    assert!(PartialBlob::open(b.path(), &hash).is_err());
    drop(partial);

    // 2. A flipped byte inside the prefix: the prefix ends before that group.
    flip(&data_path, 2 * G + 100);
    assert_eq!(PartialBlob::open(b.path(), &hash).unwrap().verified_bytes(), 2 * G);
    assert_eq!(fs::read(&data_path).unwrap(), content[..2 * G as usize]);

    // 3. A damaged record, then a damaged header.
    assert_eq!(receive_prefix(b.path(), &sender, a.path(), &hash, 8), 8 * G);
    flip(&groups_path, 16 + 5 * 32 + 3);
    assert_eq!(PartialBlob::open(b.path(), &hash).unwrap().verified_bytes(), 5 * G);
    flip(&groups_path, 2);
    assert_eq!(PartialBlob::open(b.path(), &hash).unwrap().verified_bytes(), 0);

    // 4. After each repair the transfer resumes and completes with the exact bytes.
    assert_eq!(receive_prefix(b.path(), &sender, a.path(), &hash, 3), 3 * G);
    let (partial, start, size_bytes) = complete(b.path(), &sender, a.path(), &hash);
    assert_eq!((start, size_bytes), (3 * G, size));
    let finished = partial.finish(size_bytes).unwrap();
    assert_eq!(fs::read(&finished.path).unwrap(), content);
    // (Not recorded: the blob is fetched again below.)
    fs::remove_file(&finished.path).unwrap();

    // 5. Complete, then damaged before it is finished: finishing refuses it and deletes it.
    let (partial, _, size_bytes) = complete(b.path(), &sender, a.path(), &hash);
    flip(&data_path, 17 * G + 5);
    let err = partial.finish(size_bytes).unwrap_err();
    assert!(matches!(err, StoreError::BlobCorrupt { .. }), "{err}");
    assert!(!data_path.exists() && !groups_path.exists());
    assert!(receiving_db.blob(&hash).unwrap().is_none(), "never visible");
    assert_eq!(
        fs::read_dir(b.path().join("blobs").join(&hash.as_str()[..2])).map(|d| d.count()).unwrap_or(0),
        0,
        "no file under the final name"
    );

    // 6. Complete, damaged, then the process restarts: reopen cuts the prefix at the bad group and
    //    the transfer fetches only the rest.
    let (partial, _, _) = complete(b.path(), &sender, a.path(), &hash);
    drop(partial);
    flip(&data_path, 30 * G + 1);
    let (partial, start, size_bytes) = complete(b.path(), &sender, a.path(), &hash);
    assert_eq!(start, 30 * G);
    // Finishing an incomplete partial blob is refused and keeps it.
    let partial = {
        let held = partial.verified_bytes();
        assert!(PartialBlob::open(b.path(), &hash).is_err(), "locked");
        drop(partial);
        let p = PartialBlob::open(b.path(), &hash).unwrap();
        assert_eq!(p.verified_bytes(), 40 * G, "the short final group is fetched again after a restart");
        assert!(p.finish(held).is_err());
        assert!(data_path.exists());
        complete(b.path(), &sender, a.path(), &hash).0
    };
    let finished = partial.finish(size_bytes).unwrap();
    receiving_db.record_new_blob(NewBlob::from_finished(finished, "video/mp4", 16 * 1024).unwrap()).unwrap();
    receiving_db.verify_blob(&hash).unwrap();
    match receiving_db.blob(&hash).unwrap() {
        Some((_, BlobBody::File(path))) => assert_eq!(fs::read(path).unwrap(), content),
        other => panic!("{other:?}"),
    }
    drop(a);
}

#[test]
fn the_sender_outboard_cache_and_rotten_blobs() {
    let mut rng = SmallRng::seed_from_u64(12);
    let content = random_content(&mut rng, 3_000_000);
    let (a, sender, b, _receiving_db, hash) = stores(&content);
    let cache = outboard_dir(a.path()).join(hash.as_str());
    let body = || sender.blob(&hash).unwrap().unwrap().1;

    // Computed on first use and cached (with a checksum); a damaged cache is recomputed.
    StoredBlob::open(a.path(), &hash, body()).unwrap();
    let cached = fs::read(&cache).unwrap();
    assert_eq!(cached.len() as u64, yizhan_sync_proto::blob::outboard_bytes(3_000_000) + 32);
    flip(&cache, 100);
    StoredBlob::open(a.path(), &hash, body()).unwrap();
    assert_eq!(fs::read(&cache).unwrap(), cached);
    let (partial, _, size) = complete(b.path(), &sender, a.path(), &hash);
    assert_eq!(fs::read(partial.finish(size).unwrap().path).unwrap(), content);

    // A blob file that rotted after its outboard was cached: the receiver refuses the bad slice.
    let Some((_, BlobBody::File(blob_path))) = sender.blob(&hash).unwrap() else { panic!() };
    flip(&blob_path, 1_000_000);
    let b2 = tempfile::tempdir().unwrap();
    let mut partial = PartialBlob::open(b2.path(), &hash).unwrap();
    let mut receiver = partial.receiver(ReceiverConfig::default());
    let mut provider = StoreBlobs::new(a.path(), lookup(&sender));
    let mut server: BlobServer<StoredBlob> = BlobServer::new(SenderConfig::default());
    server.handle_want(receiver.want()).unwrap();
    let corrupt = loop {
        let msg = server.poll_transmit(&mut provider).unwrap().unwrap();
        match receiver.handle_message(&msg, &mut partial).unwrap() {
            ReceiveEvent::Progress { .. } => server.handle_ack(&receiver.ack()),
            other => break other,
        }
    };
    assert!(matches!(corrupt, ReceiveEvent::Corrupt { offset: 786_432, .. }), "{corrupt:?}");
    assert_eq!(receiver.state(), ReceiveState::Corrupt);
    assert_eq!(partial.verified_bytes(), 786_432, "the slices before the damage are kept");
    drop(partial);

    // Without a cached outboard the sender notices itself and answers "unavailable".
    fs::remove_file(&cache).unwrap();
    assert!(matches!(StoredBlob::open(a.path(), &hash, body()), Err(StoreError::BlobCorrupt { .. })));
    let mut server: BlobServer<StoredBlob> = BlobServer::new(SenderConfig::default());
    server.handle_want(receiver.want()).unwrap();
    assert!(server.poll_transmit(&mut provider).is_err());
    match server.poll_transmit(&mut provider).unwrap() {
        Some(BlobMessage::Missing(m)) => assert_eq!(m.code, MISSING_UNAVAILABLE),
        other => panic!("{other:?}"),
    }
}

#[test]
fn small_and_empty_blobs_move_inline() {
    let mut rng = SmallRng::seed_from_u64(13);
    for size in [0usize, 1, 5000, 16 * 1024] {
        let content = random_content(&mut rng, size);
        let (a, sender, b, mut receiving_db, hash) = stores(&content);
        assert!(matches!(sender.blob(&hash).unwrap(), Some((_, BlobBody::Inline(_)))));
        let (partial, _, size_bytes) = complete(b.path(), &sender, a.path(), &hash);
        assert_eq!(size_bytes, size as u64);
        let finished = partial.finish(size_bytes).unwrap();
        receiving_db
            .record_new_blob(NewBlob::from_finished(finished, "image/jpeg", 16 * 1024).unwrap())
            .unwrap();
        match receiving_db.blob(&hash).unwrap() {
            Some((_, BlobBody::Inline(bytes))) => assert_eq!(bytes, content),
            other => panic!("{other:?}"),
        }
        assert_eq!(hash_bytes(&hash), *blake3::hash(&content).as_bytes());
    }
}
