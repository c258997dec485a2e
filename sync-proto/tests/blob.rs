//! Blob transfer between in-memory peers, through encoded frames: sizes, resumption, tampering,
//! flow control and garbage input.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::rc::Rc;

use rand::rngs::SmallRng;
use rand::{Rng, RngCore, SeedableRng};
use yizhan_sync_proto::MESSAGE_BYTES_MAX;
use yizhan_sync_proto::blob::{
    BlobAck, BlobData, BlobHash, BlobMessage, BlobProvider, BlobReceiver, BlobServer, BlobSink, BlobSource,
    BlobWant, GROUP_BYTES, MISSING_NOT_FOUND, MISSING_TOO_LARGE, ReceiveEvent, ReceiveState, ReceiverConfig,
    SenderConfig, SenderStats, T_BLOB_ACK, T_BLOB_DATA, T_BLOB_MISSING, T_BLOB_WANT, decode_frame, outboard,
};

const G: usize = GROUP_BYTES as usize;
const MAX: u32 = MESSAGE_BYTES_MAX;

#[derive(Clone)]
struct MemSource {
    content: Rc<Vec<u8>>,
    outboard: Rc<Vec<u8>>,
}

impl BlobSource for MemSource {
    fn size(&self) -> u64 {
        self.content.len() as u64
    }
    fn read_content(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        let start = offset as usize;
        buf.copy_from_slice(&self.content[start..start + buf.len()]);
        Ok(())
    }
    fn outboard(&self) -> &[u8] {
        &self.outboard
    }
}

#[derive(Default)]
struct MemProvider {
    blobs: HashMap<BlobHash, MemSource>,
    opened: usize,
}

impl MemProvider {
    fn add(&mut self, content: &[u8]) -> BlobHash {
        let (hash, ob) = outboard(content);
        assert_eq!(hash, *blake3_hash(content).as_bytes(), "the root hash is the plain BLAKE3 hash");
        self.blobs.insert(hash, MemSource { content: Rc::new(content.to_vec()), outboard: Rc::new(ob) });
        hash
    }
}

impl BlobProvider for MemProvider {
    type Source = MemSource;
    fn open_source(&mut self, hash: &BlobHash) -> std::io::Result<Option<MemSource>> {
        self.opened += 1;
        Ok(self.blobs.get(hash).cloned())
    }
}

fn blake3_hash(content: &[u8]) -> blake3::Hash {
    blake3::hash(content)
}

#[derive(Default)]
struct VecSink(Vec<u8>);

impl BlobSink for VecSink {
    fn write_verified(&mut self, offset: u64, bytes: &[u8]) -> std::io::Result<()> {
        assert_eq!(offset, self.0.len() as u64, "the sink is written in order");
        self.0.extend_from_slice(bytes);
        Ok(())
    }
}

fn random_content(rng: &mut SmallRng, n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    rng.fill_bytes(&mut v);
    v
}

#[derive(Debug, Default)]
struct Outcome {
    events: Vec<ReceiveEvent>,
    wire_to_receiver: u64,
    wire_to_sender: u64,
    sender: SenderStats,
    in_flight_max: u64,
}

impl Outcome {
    fn last(&self) -> &ReceiveEvent {
        self.events.last().unwrap()
    }
    fn corrupt(&self) -> bool {
        self.events.iter().any(|e| matches!(e, ReceiveEvent::Corrupt { .. }))
    }
}

/// Runs one transfer through encoded frames until the receiver stops or nothing moves.
/// `tamper(n, data)` may change the n-th data message before it is encoded.
fn run(
    provider: &mut MemProvider,
    receiver: &mut BlobReceiver,
    sink: &mut VecSink,
    config: SenderConfig,
    tamper: &mut dyn FnMut(usize, &mut BlobData),
) -> Outcome {
    let mut out = Outcome::default();
    let mut server: BlobServer<MemSource> = BlobServer::new(config);
    let want = BlobMessage::Want(receiver.want()).encode(MAX).unwrap();
    out.wire_to_sender += want.len() as u64;
    let (msg, _) = decode_frame(&want, MAX).unwrap().unwrap();
    assert!(server.handle_message(msg).unwrap());
    let mut data_n = 0;
    loop {
        let mut wire = Vec::new();
        while let Some(mut msg) = server.poll_transmit(provider).unwrap() {
            if let BlobMessage::Data(d) = &mut msg {
                tamper(data_n, d);
                data_n += 1;
            }
            wire.extend(msg.encode(MAX).unwrap());
            out.in_flight_max = out.in_flight_max.max(server.bytes_in_flight());
        }
        if wire.is_empty() {
            out.sender = server.stats();
            return out;
        }
        out.wire_to_receiver += wire.len() as u64;
        let mut buf = &wire[..];
        while let Some((msg, used)) = decode_frame(buf, MAX).unwrap() {
            buf = &buf[used..];
            let event = receiver.handle_message(&msg, sink).unwrap();
            let progressed = matches!(event, ReceiveEvent::Progress { .. } | ReceiveEvent::Complete { .. });
            out.events.push(event);
            if progressed {
                let ack = BlobMessage::Ack(receiver.ack()).encode(MAX).unwrap();
                out.wire_to_sender += ack.len() as u64;
                server.handle_message(decode_frame(&ack, MAX).unwrap().unwrap().0).unwrap();
            }
            if receiver.state() != ReceiveState::Receiving {
                out.sender = server.stats();
                return out;
            }
        }
        assert!(buf.is_empty(), "whole frames only");
    }
}

fn no_tamper() -> impl FnMut(usize, &mut BlobData) {
    |_, _| {}
}

const SIZES: &[usize] = &[
    0,
    1,
    1000,
    G - 1,
    G,
    G + 1,
    3 * G,
    256 * 1024 - 1,
    256 * 1024,
    256 * 1024 + 1,
    1024 * 1024 + 12345,
    5 * 1024 * 1024 + 1,
];

#[test]
fn transfers_of_many_sizes_complete_and_verify() {
    let mut rng = SmallRng::seed_from_u64(1);
    let configs = [
        SenderConfig::default(),
        SenderConfig { slice_bytes: G as u32, in_flight_bytes_max: G as u64, ..SenderConfig::default() },
        // Not a multiple of the group size: rounded down to 3 groups.
        SenderConfig { slice_bytes: 3 * G as u32 + 100, in_flight_bytes_max: 1, ..SenderConfig::default() },
    ];
    for &size in SIZES {
        let content = random_content(&mut rng, size);
        for config in &configs {
            let mut provider = MemProvider::default();
            let hash = provider.add(&content);
            let mut receiver = BlobReceiver::new(hash, 0, ReceiverConfig::default());
            let mut sink = VecSink::default();
            let out = run(&mut provider, &mut receiver, &mut sink, config.clone(), &mut no_tamper());
            assert_eq!(out.last(), &ReceiveEvent::Complete { size_bytes: size as u64 }, "size {size}");
            assert!(sink.0 == content, "size {size}: exact bytes");
            assert_eq!(receiver.verified_bytes(), size as u64);
            assert_eq!(receiver.size_bytes(), Some(size as u64));
            assert_eq!(out.sender.content_bytes_sent, size as u64, "size {size}: nothing sent twice");
            assert_eq!(receiver.stats().content_bytes_duplicate, 0);
            let slice = (config.slice_bytes as u64 / GROUP_BYTES).max(1) * GROUP_BYTES;
            assert!(
                out.in_flight_max <= config.in_flight_bytes_max.max(slice),
                "size {size}: {}",
                out.in_flight_max
            );
        }
    }
}

#[test]
fn wire_overhead_of_a_20_mb_blob() {
    let mut rng = SmallRng::seed_from_u64(2);
    let size = 20 * 1000 * 1000;
    let content = random_content(&mut rng, size);
    let mut provider = MemProvider::default();
    let hash = provider.add(&content);
    let mut receiver = BlobReceiver::new(hash, 0, ReceiverConfig::default());
    let mut sink = VecSink::default();
    let out = run(&mut provider, &mut receiver, &mut sink, SenderConfig::default(), &mut no_tamper());
    assert_eq!(out.last(), &ReceiveEvent::Complete { size_bytes: size as u64 });
    assert!(sink.0 == content);
    let down = out.wire_to_receiver as f64 / size as f64;
    let both = (out.wire_to_receiver + out.wire_to_sender) as f64 / size as f64;
    println!(
        "20 MB blob: {} data messages, {} bytes to the receiver ({down:.5} of payload), {} bytes back (want + acks), \
         total {both:.5}; slice encodings {} bytes",
        out.sender.data_messages_sent, out.wire_to_receiver, out.wire_to_sender, out.sender.slice_bytes_sent
    );
    assert!(down < 1.01, "overhead {down}");
}

#[test]
fn resumes_from_a_verified_prefix() {
    let mut rng = SmallRng::seed_from_u64(3);
    for &size in &[G, 4 * G, 4 * G + 5, 40 * G + 1, 64 * G] {
        let content = random_content(&mut rng, size);
        let mut provider = MemProvider::default();
        let hash = provider.add(&content);
        let full_groups = size / G;
        let mut prefixes: Vec<usize> = vec![0, G, full_groups * G, 5000, size / 2];
        prefixes.retain(|&p| p <= size);
        for prefix in prefixes {
            let mut sink = VecSink(content[..prefix].to_vec());
            let mut receiver = BlobReceiver::new(hash, prefix as u64, ReceiverConfig::default());
            assert_eq!(receiver.want(), BlobWant { hash, offset: prefix as u64 });
            let out = run(&mut provider, &mut receiver, &mut sink, SenderConfig::default(), &mut no_tamper());
            assert_eq!(
                out.last(),
                &ReceiveEvent::Complete { size_bytes: size as u64 },
                "size {size} prefix {prefix}"
            );
            assert!(sink.0 == content, "size {size} prefix {prefix}");
            // Re-sent: the prefix's unaligned tail, or the final group when everything was held.
            let resent = out.sender.content_bytes_sent - (size - prefix) as u64;
            assert!(resent <= GROUP_BYTES, "size {size} prefix {prefix}: {resent} bytes re-sent");
            assert_eq!(receiver.stats().content_bytes_duplicate, resent);
        }
    }
}

/// Flips one byte of one data message at many positions: the receiver reports corruption, its
/// sink only ever holds a true prefix of the blob, and it never completes with bad bytes.
#[test]
fn a_flipped_byte_is_detected_and_nothing_unverified_is_accepted() {
    let mut rng = SmallRng::seed_from_u64(4);
    let size = 3 * G + 100; // 4 groups
    let content = random_content(&mut rng, size);
    let mut provider = MemProvider::default();
    let hash = provider.add(&content);
    let config = SenderConfig { slice_bytes: 2 * G as u32, ..SenderConfig::default() };
    // Message 0 covers groups 0-1, message 1 groups 2-3 (the final group).
    let mut cases: Vec<(usize, usize)> = Vec::new();
    for msg in 0..2 {
        cases.extend((0..300).map(|pos| (msg, pos))); // header, proof nodes and the first content
        for _ in 0..150 {
            // Message 1 holds a group and 100 bytes of content.
            cases.push((msg, rng.random_range(0..if msg == 0 { 2 * G } else { G + 100 })));
        }
    }
    let mut flips = 0;
    for (target, pos) in cases {
        let mut receiver = BlobReceiver::new(hash, 0, ReceiverConfig::default());
        let mut sink = VecSink::default();
        let mut flipped = false;
        let mut tamper = |n: usize, d: &mut BlobData| {
            if n == target && pos < d.slice.len() {
                d.slice[pos] ^= 0x01;
                flipped = true;
            }
        };
        let out = run(&mut provider, &mut receiver, &mut sink, config.clone(), &mut tamper);
        if !flipped {
            continue;
        }
        flips += 1;
        assert!(out.corrupt(), "flip in message {target} at {pos} went unnoticed: {:?}", out.events);
        assert_eq!(receiver.state(), ReceiveState::Corrupt);
        assert!(!out.events.iter().any(|e| matches!(e, ReceiveEvent::Complete { .. })));
        assert!(
            content.starts_with(&sink.0),
            "flip in message {target} at {pos}: unverified bytes in the sink"
        );
        assert_eq!(receiver.verified_bytes(), sink.0.len() as u64);
        if target == 1 {
            assert_eq!(sink.0.len(), 2 * G, "the verified prefix stays");
        }
        // A later attempt from another (honest) peer resumes from the verified prefix.
        let mut again = BlobReceiver::new(hash, receiver.verified_bytes(), ReceiverConfig::default());
        let out = run(&mut provider, &mut again, &mut sink, config.clone(), &mut no_tamper());
        assert_eq!(out.last(), &ReceiveEvent::Complete { size_bytes: size as u64 });
        assert!(sink.0 == content);
    }
    assert_eq!(flips, 900, "every case flipped a byte");
}

#[test]
fn a_sender_whose_content_does_not_match_the_hash_is_caught() {
    let mut rng = SmallRng::seed_from_u64(5);
    for &size in &[0usize, 1, G, 10 * G + 3] {
        let real = random_content(&mut rng, size);
        let mut fake = real.clone();
        if size > 0 {
            fake[size / 2] ^= 0x80;
        } else {
            fake.push(7);
        }
        let (hash, _) = outboard(&real);
        let mut provider = MemProvider::default();
        let fake_hash = provider.add(&fake);
        // The liar serves `fake` (with its own, consistent outboard) under the real hash.
        let liar = provider.blobs.remove(&fake_hash).unwrap();
        provider.blobs.insert(hash, liar);
        let mut receiver = BlobReceiver::new(hash, 0, ReceiverConfig::default());
        let mut sink = VecSink::default();
        let out = run(&mut provider, &mut receiver, &mut sink, SenderConfig::default(), &mut no_tamper());
        assert!(out.corrupt(), "size {size}: {:?}", out.events);
        assert!(real.starts_with(&sink.0), "size {size}");
    }
    // The empty blob's (single, empty) chunk is verified too: served under another blob's hash, it
    // is refused.
    let mut provider = MemProvider::default();
    let empty = provider.add(&[]);
    let other = outboard(b"not empty").0;
    let src = provider.blobs.remove(&empty).unwrap();
    provider.blobs.insert(other, src);
    let mut receiver = BlobReceiver::new(other, 0, ReceiverConfig::default());
    let out =
        run(&mut provider, &mut receiver, &mut VecSink::default(), SenderConfig::default(), &mut no_tamper());
    assert!(out.corrupt(), "{:?}", out.events);
}

#[test]
fn a_missing_or_too_large_blob_is_reported() {
    let mut provider = MemProvider::default();
    let hash = provider.add(&[1u8; 100_000]);
    let unknown = outboard(b"nobody has this").0;
    let mut receiver = BlobReceiver::new(unknown, 0, ReceiverConfig::default());
    let out =
        run(&mut provider, &mut receiver, &mut VecSink::default(), SenderConfig::default(), &mut no_tamper());
    assert_eq!(out.events, vec![ReceiveEvent::Missing { code: MISSING_NOT_FOUND }]);
    assert_eq!(receiver.state(), ReceiveState::Missing);

    let small = SenderConfig { blob_bytes_max: 50_000, ..SenderConfig::default() };
    let mut receiver = BlobReceiver::new(hash, 0, ReceiverConfig::default());
    let out = run(&mut provider, &mut receiver, &mut VecSink::default(), small, &mut no_tamper());
    assert_eq!(out.events, vec![ReceiveEvent::Missing { code: MISSING_TOO_LARGE }]);

    // The receiver's own limit: a peer announcing more is refused before anything is written.
    let mut receiver = BlobReceiver::new(hash, 0, ReceiverConfig { blob_bytes_max: 50_000 });
    let mut sink = VecSink::default();
    let out = run(&mut provider, &mut receiver, &mut sink, SenderConfig::default(), &mut no_tamper());
    assert!(out.corrupt(), "{:?}", out.events);
    assert!(sink.0.is_empty());
}

#[test]
fn in_flight_bytes_are_capped_and_wants_are_bounded() {
    let mut rng = SmallRng::seed_from_u64(6);
    let content = random_content(&mut rng, 100 * G + 1);
    let mut provider = MemProvider::default();
    let hash = provider.add(&content);
    let config = SenderConfig {
        slice_bytes: 4 * G as u32,
        in_flight_bytes_max: 10 * GROUP_BYTES,
        wants_queued_max: 3,
        ..SenderConfig::default()
    };
    let mut server: BlobServer<MemSource> = BlobServer::new(config);
    server.handle_want(BlobWant { hash, offset: 0 }).unwrap();
    let mut sent = Vec::new();
    while let Some(BlobMessage::Data(d)) = server.poll_transmit(&mut provider).unwrap() {
        sent.push((d.offset, d.len));
    }
    // Two slices of 4 groups fit in 10 groups; a third would not.
    assert_eq!(sent, vec![(0, 4 * G as u32), (4 * GROUP_BYTES, 4 * G as u32)]);
    assert_eq!(server.bytes_in_flight(), 8 * GROUP_BYTES);
    // An ack that claims more than was sent frees only what was sent.
    server.handle_ack(&BlobAck { hash, offset: u64::MAX });
    assert_eq!(server.bytes_in_flight(), 0);
    // Acks for other blobs are ignored.
    server.handle_ack(&BlobAck { hash: [9; 32], offset: 5 });
    let mut n = 0;
    while server.poll_transmit(&mut provider).unwrap().is_some() {
        n += 1;
    }
    assert_eq!(n, 2);

    // A repeated want replaces the transfer: the receiver restarted from what it holds.
    server.handle_want(BlobWant { hash, offset: 4 * GROUP_BYTES + 100 }).unwrap();
    assert_eq!(server.bytes_in_flight(), 0);
    match server.poll_transmit(&mut provider).unwrap() {
        Some(BlobMessage::Data(d)) => assert_eq!(d.offset, 4 * GROUP_BYTES, "rounded down to a group"),
        other => panic!("{other:?}"),
    }

    // The want queue is bounded.
    for i in 0..3u8 {
        server.handle_want(BlobWant { hash: [i; 32], offset: 0 }).unwrap();
    }
    server.handle_want(BlobWant { hash: [1; 32], offset: 7 }).unwrap(); // replaces, no growth
    assert!(server.handle_want(BlobWant { hash: [200; 32], offset: 0 }).is_err());
}

/// A receiver that never acknowledges cannot make the sender keep track of unbounded transfers,
/// however small the blobs.
#[test]
fn unacknowledged_small_transfers_are_bounded() {
    let mut provider = MemProvider::default();
    let hashes: Vec<BlobHash> = (0..5u8).map(|i| provider.add(&[i; 10])).collect();
    let config = SenderConfig { wants_queued_max: 2, ..SenderConfig::default() };
    let mut server: BlobServer<MemSource> = BlobServer::new(config);
    let mut poll_all = |server: &mut BlobServer<MemSource>| {
        let mut n = 0;
        while server.poll_transmit(&mut provider).unwrap().is_some() {
            n += 1;
        }
        n
    };
    server.handle_want(BlobWant { hash: hashes[0], offset: 0 }).unwrap();
    server.handle_want(BlobWant { hash: hashes[1], offset: 0 }).unwrap();
    assert_eq!(poll_all(&mut server), 2);
    server.handle_want(BlobWant { hash: hashes[2], offset: 0 }).unwrap();
    server.handle_want(BlobWant { hash: hashes[3], offset: 0 }).unwrap();
    assert!(server.handle_want(BlobWant { hash: hashes[4], offset: 0 }).is_err());
    assert_eq!(poll_all(&mut server), 0, "two transfers await acks");
    server.handle_ack(&BlobAck { hash: hashes[0], offset: 10 });
    assert_eq!(poll_all(&mut server), 1);
    server.handle_ack(&BlobAck { hash: hashes[1], offset: 10 });
    server.handle_ack(&BlobAck { hash: hashes[2], offset: 10 });
    assert_eq!(poll_all(&mut server), 1);
    assert_eq!(server.bytes_in_flight(), 10);
}

/// Several wants pipelined on one stream are answered in order; the receiving side routes data
/// to one receiver per blob.
#[test]
fn pipelined_wants_on_one_stream_all_complete() {
    let mut rng = SmallRng::seed_from_u64(7);
    let mut provider = MemProvider::default();
    let contents: Vec<Vec<u8>> =
        [5000, 0, 3 * G + 1, 300_000, 17].iter().map(|&n| random_content(&mut rng, n)).collect();
    let hashes: Vec<BlobHash> = contents.iter().map(|c| provider.add(c)).collect();
    let missing = outboard(b"absent").0;
    let mut receivers: HashMap<BlobHash, (BlobReceiver, VecSink)> = HashMap::new();
    let mut server: BlobServer<MemSource> = BlobServer::new(SenderConfig::default());
    for h in hashes.iter().chain([&missing]) {
        let r = BlobReceiver::new(*h, 0, ReceiverConfig::default());
        server.handle_want(r.want()).unwrap();
        receivers.insert(*h, (r, VecSink::default()));
    }
    loop {
        let mut msgs = Vec::new();
        while let Some(m) = server.poll_transmit(&mut provider).unwrap() {
            msgs.push(m);
        }
        if msgs.is_empty() {
            break;
        }
        for m in msgs {
            let (r, sink) = receivers.get_mut(m.hash()).unwrap();
            if let ReceiveEvent::Progress { .. } | ReceiveEvent::Complete { .. } =
                r.handle_message(&m, sink).unwrap()
            {
                server.handle_ack(&r.ack());
            }
        }
    }
    for (h, c) in hashes.iter().zip(&contents) {
        let (r, sink) = &receivers[h];
        assert_eq!(r.state(), ReceiveState::Complete);
        assert!(sink.0 == *c);
    }
    assert_eq!(receivers[&missing].0.state(), ReceiveState::Missing);
    assert_eq!(server.bytes_in_flight(), 0);
    assert!(server.is_idle());
}

/// Garbage from the network never panics a decoder, a receiver or a server.
#[test]
fn garbage_never_panics() {
    let seed = 0x5eed_b10b;
    println!("garbage seed {seed}");
    let mut rng = SmallRng::seed_from_u64(seed);
    let content = random_content(&mut rng, 7 * G + 3);
    let mut provider = MemProvider::default();
    let hash = provider.add(&content);
    // Valid frames to mutate.
    let mut valid: Vec<Vec<u8>> = Vec::new();
    let mut server: BlobServer<MemSource> =
        BlobServer::new(SenderConfig { slice_bytes: 2 * G as u32, ..Default::default() });
    server.handle_want(BlobWant { hash, offset: 0 }).unwrap();
    while let Some(m) = server.poll_transmit(&mut provider).unwrap() {
        valid.push(m.encode(MAX).unwrap());
        server.handle_ack(&BlobAck { hash, offset: u64::MAX });
    }
    valid.push(BlobMessage::Want(BlobWant { hash, offset: 3 }).encode(MAX).unwrap());
    valid.push(BlobMessage::Ack(BlobAck { hash, offset: 3 }).encode(MAX).unwrap());

    let mut delivered = 0;
    let types = [T_BLOB_WANT, T_BLOB_DATA, T_BLOB_MISSING, T_BLOB_ACK, 0x00, 0x14, 0xFF];
    for i in 0..4000 {
        // 1. Random or mutated frames through the decoder.
        let mut frame = if i % 2 == 0 {
            let mut f = valid[rng.random_range(0..valid.len())].clone();
            for _ in 0..rng.random_range(1..8) {
                let p = rng.random_range(0..f.len());
                f[p] = rng.random();
            }
            if rng.random_bool(0.2) {
                f.truncate(rng.random_range(0..f.len()));
            }
            f
        } else {
            let n = rng.random_range(0..200);
            let mut f = vec![types[rng.random_range(0..types.len())]];
            f.extend((n as u32).to_le_bytes());
            f.extend((0..n).map(|_| rng.random::<u8>()));
            f
        };
        if rng.random_bool(0.1) {
            frame.extend((0..rng.random_range(0..10)).map(|_| rng.random::<u8>()));
        }
        let decoded = decode_frame(&frame, MAX);
        // 2. Whatever decoded goes to a fresh receiver (who may hold a prefix) and a server.
        if let Ok(Some((msg, _))) = decoded {
            delivered += 1;
            let held = GROUP_BYTES * rng.random_range(0..3);
            let mut receiver = BlobReceiver::new(hash, held, ReceiverConfig::default());
            let mut sink = VecSink(content[..held as usize].to_vec());
            if let Ok(ReceiveEvent::Progress { .. } | ReceiveEvent::Complete { .. }) =
                receiver.handle_message(&msg, &mut sink)
            {
                assert!(content.starts_with(&sink.0), "iteration {i}: unverified bytes accepted");
            }
            let mut server: BlobServer<MemSource> = BlobServer::new(SenderConfig::default());
            let _ = server.handle_message(msg);
            for _ in 0..3 {
                let _ = server.poll_transmit(&mut provider);
            }
        }
    }
    assert!(delivered > 500, "only {delivered} garbage frames decoded");
    // 3. Random data messages with a plausible header straight into a receiver.
    for i in 0..3000 {
        let size: u64 = if rng.random_bool(0.5) { content.len() as u64 } else { rng.random() };
        let mut slice = size.to_le_bytes().to_vec();
        let n = rng.random_range(0..3 * G);
        slice.extend(random_content(&mut rng, n));
        let data = BlobData {
            hash,
            offset: if rng.random_bool(0.5) { GROUP_BYTES * rng.random_range(0..8) } else { rng.random() },
            len: if rng.random_bool(0.5) { rng.random_range(0..4 * G as u32) } else { rng.random() },
            slice,
        };
        let mut receiver = BlobReceiver::new(hash, 0, ReceiverConfig::default());
        let mut sink = VecSink::default();
        let event = receiver.handle_data(&data, &mut sink).unwrap();
        assert!(
            matches!(event, ReceiveEvent::Corrupt { .. }),
            "iteration {i}: random bytes verified: {event:?}"
        );
        assert!(sink.0.is_empty());
    }
    // 4. Random wants and acks against a server holding the blob.
    let mut server: BlobServer<MemSource> = BlobServer::new(SenderConfig::default());
    for _ in 0..2000 {
        let h = if rng.random_bool(0.7) { hash } else { [rng.random(); 32] };
        let offset =
            if rng.random_bool(0.5) { rng.random() } else { rng.random_range(0..content.len() as u64 + 2) };
        if rng.random_bool(0.5) {
            let _ = server.handle_want(BlobWant { hash: h, offset });
        } else {
            server.handle_ack(&BlobAck { hash: h, offset });
        }
        if let Ok(Some(BlobMessage::Data(d))) = server.poll_transmit(&mut provider) {
            assert!(d.offset.is_multiple_of(GROUP_BYTES));
            assert!(d.offset < content.len() as u64);
        }
    }
    assert!(provider.opened > 0);
}

#[test]
fn message_layouts_are_stable() {
    let hash = [0xAB; 32];
    let want = BlobMessage::Want(BlobWant { hash, offset: 300 }).encode(MAX).unwrap();
    // type, length, 32 hash bytes, varint offset.
    let mut expected = vec![T_BLOB_WANT, 34, 0, 0, 0];
    expected.extend([0xAB; 32]);
    expected.extend([0xAC, 0x02]);
    assert_eq!(want, expected);
    let data = BlobMessage::Data(BlobData { hash, offset: 16384, len: 3, slice: vec![1, 2, 3] })
        .encode(MAX)
        .unwrap();
    let mut expected = vec![T_BLOB_DATA, 40, 0, 0, 0];
    expected.extend([0xAB; 32]);
    expected.extend([0x80, 0x80, 0x01, 3, 3, 1, 2, 3]);
    assert_eq!(data, expected);
    let missing = BlobMessage::Missing(super_missing(hash)).encode(MAX).unwrap();
    assert_eq!(missing[0], T_BLOB_MISSING);
    assert_eq!(missing.len(), 5 + 32 + 1);
    // A too-large frame is refused from its header.
    let mut big = vec![T_BLOB_DATA];
    big.extend((MAX + 1).to_le_bytes());
    assert!(decode_frame(&big, MAX).is_err());
}

fn super_missing(hash: BlobHash) -> yizhan_sync_proto::blob::BlobMissing {
    yizhan_sync_proto::blob::BlobMissing { hash, code: MISSING_NOT_FOUND }
}
