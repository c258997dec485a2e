//! Two peers driven in memory over real automerge documents.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, HashMap};

use automerge::{AutoCommit, ChangeHash, ReadDoc, transaction::Transactable};
use yizhan_sync_proto::wire::FRAME_HEADER_BYTES;
use yizhan_sync_proto::{
    DocChange, Event, FeedEntry, Hash, RejectReason, Rejected, Replica, Session, SessionConfig,
};

/// An in-memory node: documents with a scope, a change feed, per-peer checkpoints and shared
/// heads. `peer_scopes` says which region each peer may write and receive ("" = everything).
#[derive(Default)]
struct Node {
    id: String,
    docs: BTreeMap<String, (String, String, AutoCommit)>,
    feed: BTreeMap<String, u64>,
    seq: u64,
    recv: HashMap<String, u64>,
    shared: HashMap<(String, String), Vec<ChangeHash>>,
    peer_scopes: HashMap<String, String>,
    peer_has: HashMap<String, u64>,
}

trait StrCompat {
    fn to_str_lossy_compat(&self) -> String;
}

impl StrCompat for automerge::Value<'_> {
    fn to_str_lossy_compat(&self) -> String {
        match self {
            automerge::Value::Scalar(s) => match s.as_ref() {
                automerge::ScalarValue::Str(t) => t.to_string(),
                other => other.to_string(),
            },
            automerge::Value::Object(_) => String::new(),
        }
    }
}

fn hashes(heads: &[ChangeHash]) -> Vec<Hash> {
    heads.iter().map(|h| h.0).collect()
}

impl Node {
    fn new(id: &str) -> Node {
        Node { id: id.into(), ..Default::default() }
    }

    fn touch(&mut self, doc_id: &str) {
        self.seq += 1;
        self.feed.insert(doc_id.to_string(), self.seq);
    }

    fn put(&mut self, doc_id: &str, scope: &str, key: &str, value: &str) {
        let entry = self
            .docs
            .entry(doc_id.to_string())
            .or_insert_with(|| ("case".into(), scope.into(), AutoCommit::new()));
        entry.2.put(automerge::ROOT, key, value).unwrap();
        self.touch(doc_id);
    }

    fn get(&self, doc_id: &str, key: &str) -> Option<String> {
        let doc = &self.docs.get(doc_id)?.2;
        doc.get(automerge::ROOT, key).unwrap().map(|(v, _)| v.to_str_lossy_compat())
    }

    fn heads(&mut self, doc_id: &str) -> Vec<ChangeHash> {
        let mut h = self.docs.get_mut(doc_id).unwrap().2.get_heads();
        h.sort();
        h
    }

    fn may(&self, peer: &str, scope: &str) -> bool {
        scope.starts_with(self.peer_scopes.get(peer).map(String::as_str).unwrap_or(""))
    }
}

impl Replica for Node {
    type Error = String;

    fn feed_head(&self) -> Result<u64, String> {
        Ok(self.seq)
    }

    fn feed_since(&self, seq: u64, limit: usize) -> Result<Vec<FeedEntry>, String> {
        let mut entries: Vec<FeedEntry> = self
            .feed
            .iter()
            .filter(|(_, s)| **s > seq)
            .map(|(id, s)| FeedEntry { seq: *s, doc_id: id.clone(), doc_type: "case".into() })
            .collect();
        entries.sort_by_key(|e| e.seq);
        entries.truncate(limit);
        Ok(entries)
    }

    fn recv_checkpoint(&self, peer: &str) -> Result<u64, String> {
        Ok(self.recv.get(peer).copied().unwrap_or(0))
    }

    fn outgoing(&mut self, peer: &str, entry: &FeedEntry) -> Result<Option<DocChange>, String> {
        let Some((doc_type, scope, doc)) = self.docs.get_mut(&entry.doc_id) else { return Ok(None) };
        if !scope.starts_with(self.peer_scopes.get(peer).map(String::as_str).unwrap_or("")) {
            return Ok(None);
        }
        let shared = self.shared.get(&(peer.to_string(), entry.doc_id.clone())).cloned().unwrap_or_default();
        let mut heads = doc.get_heads();
        heads.sort();
        if heads == shared {
            return Ok(None);
        }
        let data = if shared.is_empty() { doc.save() } else { doc.save_after(&shared) };
        Ok(Some(DocChange {
            doc_id: entry.doc_id.clone(),
            doc_type: doc_type.clone(),
            scope: scope.clone(),
            data,
            heads: hashes(&heads),
        }))
    }

    fn apply(&mut self, peer: &str, upto_seq: u64, docs: Vec<DocChange>) -> Result<Vec<Rejected>, String> {
        let mut rejected = Vec::new();
        for d in docs {
            let reject =
                |reason, detail: &str| Rejected { doc_id: d.doc_id.clone(), reason, detail: detail.into() };
            if !self.may(peer, &d.scope) {
                rejected.push(reject(RejectReason::OutOfScope, "outside the peer's scope"));
                continue;
            }
            let mut doc = match self.docs.get_mut(&d.doc_id) {
                Some((_, _, existing)) => existing.fork(),
                None => AutoCommit::new(),
            };
            let before = doc.get_heads();
            if doc.load_incremental(&d.data).is_err() {
                rejected.push(reject(RejectReason::Invalid, "not automerge"));
                continue;
            }
            if !doc.get_missing_deps(&[]).is_empty() {
                rejected.push(reject(RejectReason::MissingDeps, "history missing"));
                continue;
            }
            let changed = doc.get_heads() != before;
            self.docs.insert(d.doc_id.clone(), (d.doc_type.clone(), d.scope.clone(), doc));
            let mut sender_heads: Vec<ChangeHash> = d.heads.iter().map(|h| ChangeHash(*h)).collect();
            sender_heads.sort();
            self.shared.insert((peer.to_string(), d.doc_id.clone()), sender_heads);
            if changed {
                self.touch(&d.doc_id);
            }
        }
        self.recv.insert(peer.to_string(), upto_seq.max(self.recv.get(peer).copied().unwrap_or(0)));
        Ok(rejected)
    }

    fn acknowledged(&mut self, peer: &str, docs: &[(String, Vec<Hash>)]) -> Result<(), String> {
        for (id, heads) in docs {
            let mut h: Vec<ChangeHash> = heads.iter().map(|h| ChangeHash(*h)).collect();
            h.sort();
            self.shared.insert((peer.to_string(), id.clone()), h);
        }
        Ok(())
    }

    fn forget_shared(&mut self, peer: &str, doc_id: &str) -> Result<(), String> {
        self.shared.remove(&(peer.to_string(), doc_id.to_string()));
        Ok(())
    }

    fn refused(&mut self, _peer: &str, _refused: &[Rejected]) -> Result<(), String> {
        Ok(())
    }

    fn peer_has_upto(&mut self, peer: &str, seq: u64) -> Result<(), String> {
        let e = self.peer_has.entry(peer.to_string()).or_default();
        *e = (*e).max(seq);
        Ok(())
    }
}

struct Run {
    rounds: u32,
    bytes: u64,
    messages: u64,
    events_a: Vec<Event>,
    events_b: Vec<Event>,
}

/// Runs a session between `a` (kiosk) and `b` (hub) until no bytes move. A round is one
/// flight in each direction at once, i.e. one round trip of latency.
fn sync(a: &mut Node, b: &mut Node, config: impl Fn(&str) -> SessionConfig) -> Run {
    let mut sa = Session::new(config(&a.id), b.id.clone());
    let mut sb = Session::new(config(&b.id), a.id.clone());
    sa.start(a).unwrap();
    sb.start(b).unwrap();
    let mut run = Run { rounds: 0, bytes: 0, messages: 0, events_a: vec![], events_b: vec![] };
    loop {
        let a_out: Vec<Vec<u8>> = std::iter::from_fn(|| sa.poll_transmit()).collect();
        let b_out: Vec<Vec<u8>> = std::iter::from_fn(|| sb.poll_transmit()).collect();
        if a_out.is_empty() && b_out.is_empty() {
            break;
        }
        run.rounds += 1;
        assert!(run.rounds < 1000, "no progress");
        for f in a_out {
            run.bytes += f.len() as u64;
            run.messages += 1;
            sb.handle_bytes(&f, b).unwrap();
        }
        for f in b_out {
            run.bytes += f.len() as u64;
            run.messages += 1;
            sa.handle_bytes(&f, a).unwrap();
        }
    }
    run.events_a = std::iter::from_fn(|| sa.poll_event()).collect();
    run.events_b = std::iter::from_fn(|| sb.poll_event()).collect();
    run
}

fn cfg(id: &str) -> SessionConfig {
    SessionConfig::new(id)
}

fn kiosk_and_hub() -> (Node, Node) {
    let mut kiosk = Node::new("kiosk-1");
    let mut hub = Node::new("hub-510131");
    kiosk.peer_scopes.insert("hub-510131".into(), String::new());
    hub.peer_scopes.insert("kiosk-1".into(), "510131001".into());
    (kiosk, hub)
}

fn assert_same(a: &mut Node, b: &mut Node, ids: &[String]) {
    for id in ids {
        assert_eq!(a.heads(id), b.heads(id), "{id}");
    }
}

#[test]
fn offline_records_reach_the_hub_and_an_up_to_date_sync_is_one_round_trip() {
    let (mut kiosk, mut hub) = kiosk_and_hub();
    let ids: Vec<String> = (0..300).map(|i| format!("case-{i}")).collect();
    for id in &ids {
        kiosk.put(id, "510131001001", "description", "叶片发黄");
    }
    let run = sync(&mut kiosk, &mut hub, cfg);
    assert_eq!(hub.docs.len(), 300);
    assert_same(&mut kiosk, &mut hub, &ids);
    assert!(run.events_a.contains(&Event::Synced) && run.events_b.contains(&Event::Synced));
    assert!(run.rounds <= 6, "300 documents in pipelined batches took {} round trips", run.rounds);
    assert_eq!(kiosk.peer_has["hub-510131"], kiosk.seq, "the kiosk knows the hub has everything");

    // Nothing changed on either side: the hellos are the whole exchange.
    let again = sync(&mut kiosk, &mut hub, cfg);
    assert_eq!((again.rounds, again.messages), (1, 2));
    assert!(again.bytes < 300, "{} bytes for an up-to-date sync", again.bytes);
    assert!(again.events_a.contains(&Event::Synced) && again.events_b.contains(&Event::Synced));

    // One new change costs one document, not three hundred.
    kiosk.put("case-7", "510131001001", "status_note", "已喷药");
    let one = sync(&mut kiosk, &mut hub, cfg);
    assert_eq!(hub.get("case-7", "status_note").as_deref(), Some("已喷药"));
    assert!(one.bytes < 1500, "{} bytes for one changed document", one.bytes);
}

#[test]
fn concurrent_offline_edits_merge_on_both_sides() {
    let (mut kiosk, mut hub) = kiosk_and_hub();
    kiosk.put("c1", "510131001001", "description", "猪不吃食");
    sync(&mut kiosk, &mut hub, cfg);
    // Offline: the kiosk adds a note while the hub assigns an expert.
    kiosk.put("c1", "510131001001", "note", "体温 41 度");
    hub.put("c1", "510131001001", "expert", "张专家");
    let run = sync(&mut kiosk, &mut hub, cfg);
    for node in [&kiosk, &hub] {
        assert_eq!(node.get("c1", "note").as_deref(), Some("体温 41 度"));
        assert_eq!(node.get("c1", "expert").as_deref(), Some("张专家"));
    }
    assert_same(&mut kiosk, &mut hub, &["c1".to_string()]);
    assert!(run.events_a.contains(&Event::Synced));
    // And the merge does not echo back and forth.
    let again = sync(&mut kiosk, &mut hub, cfg);
    assert_eq!(again.messages, 2, "{:?}", again.events_a);
}

#[test]
fn documents_outside_the_senders_scope_are_refused_and_not_stored() {
    let (mut kiosk, mut hub) = kiosk_and_hub();
    kiosk.put("mine", "510131001001", "d", "x");
    kiosk.put("not-mine", "510104017001", "d", "y");
    let run = sync(&mut kiosk, &mut hub, cfg);
    assert!(hub.docs.contains_key("mine"));
    assert!(!hub.docs.contains_key("not-mine"));
    let refused: Vec<_> = run
        .events_a
        .iter()
        .filter_map(|e| match e {
            Event::RefusedByPeer(r) => Some(r.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(refused.len(), 1);
    assert_eq!((refused[0].doc_id.as_str(), refused[0].reason), ("not-mine", RejectReason::OutOfScope));
}

#[test]
fn a_hub_sends_a_kiosk_only_what_lies_in_its_scope() {
    let (mut kiosk, mut hub) = kiosk_and_hub();
    hub.put("for-this-village", "510131001001", "d", "x");
    hub.put("other-village", "510131002001", "d", "y");
    sync(&mut kiosk, &mut hub, cfg);
    assert!(kiosk.docs.contains_key("for-this-village"));
    assert!(!kiosk.docs.contains_key("other-village"));
}

#[test]
fn a_peer_missing_history_gets_the_whole_document() {
    let (mut kiosk, mut hub) = kiosk_and_hub();
    kiosk.put("c1", "510131001001", "a", "1");
    sync(&mut kiosk, &mut hub, cfg);
    // The hub loses the document (restored from an old backup); the kiosk thinks it has it.
    hub.docs.remove("c1");
    kiosk.put("c1", "510131001001", "b", "2");
    sync(&mut kiosk, &mut hub, cfg);
    assert_eq!(hub.get("c1", "a").as_deref(), Some("1"));
    assert_eq!(hub.get("c1", "b").as_deref(), Some("2"));
}

#[test]
fn large_backlogs_are_split_into_bounded_messages() {
    let (mut kiosk, mut hub) = kiosk_and_hub();
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    let ids: Vec<String> = (0..40).map(|i| format!("big-{i}")).collect();
    for id in &ids {
        // Random CJK text does not compress: ~30 KB per document.
        let text: String =
            (0..10_000).map(|_| char::from_u32(rng.random_range(0x4E00..0x9FA5)).unwrap()).collect();
        kiosk.put(id, "510131001001", "description", &text);
    }
    let small = |id: &str| SessionConfig { message_bytes_max: 64 * 1024, ..SessionConfig::new(id) };
    let run = sync(&mut kiosk, &mut hub, small);
    assert_same(&mut kiosk, &mut hub, &ids);
    assert!(run.messages > 20, "40 documents of 30 KB need many 64 KB messages, got {}", run.messages);
}

#[test]
fn new_local_changes_flow_during_a_session() {
    let (mut kiosk, mut hub) = kiosk_and_hub();
    let mut sa = Session::new(cfg("kiosk-1"), "hub-510131");
    let mut sb = Session::new(cfg("hub-510131"), "kiosk-1");
    sa.start(&mut kiosk).unwrap();
    sb.start(&mut hub).unwrap();
    let shuttle = |sa: &mut Session, sb: &mut Session, kiosk: &mut Node, hub: &mut Node| {
        for _ in 0..10 {
            while let Some(f) = sa.poll_transmit() {
                sb.handle_bytes(&f, hub).unwrap();
            }
            while let Some(f) = sb.poll_transmit() {
                sa.handle_bytes(&f, kiosk).unwrap();
            }
        }
    };
    shuttle(&mut sa, &mut sb, &mut kiosk, &mut hub);
    kiosk.put("live", "510131001001", "d", "刚登记");
    sa.local_changed(&mut kiosk).unwrap();
    shuttle(&mut sa, &mut sb, &mut kiosk, &mut hub);
    assert_eq!(hub.get("live", "d").as_deref(), Some("刚登记"));
}

#[test]
fn garbage_from_the_network_is_an_error_never_a_panic() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let (mut kiosk, mut hub) = kiosk_and_hub();
    kiosk.put("c1", "510131001001", "a", "1");
    // A valid hello first, so later garbage reaches the open-state handlers too.
    let mut sb = Session::new(cfg("hub-510131"), "kiosk-1");
    sb.start(&mut hub).unwrap();
    let mut sa = Session::new(cfg("kiosk-1"), "hub-510131");
    sa.start(&mut kiosk).unwrap();
    let hello = sa.poll_transmit().unwrap();
    for i in 0..3000 {
        let mut s = Session::new(cfg("hub-510131"), "kiosk-1");
        s.start(&mut hub).unwrap();
        if i % 2 == 0 {
            s.handle_bytes(&hello, &mut hub).unwrap();
        }
        let len = rng.random_range(0..64);
        let mut bytes: Vec<u8> = (0..len).map(|_| rng.random()).collect();
        if i % 3 == 0 && bytes.len() > FRAME_HEADER_BYTES {
            bytes[0] = rng.random_range(1..=4); // a known type with a corrupt body
            let body = (bytes.len() - FRAME_HEADER_BYTES) as u32;
            bytes[1..5].copy_from_slice(&body.to_le_bytes());
        }
        let _ = s.handle_bytes(&bytes, &mut hub);
    }
    // Oversized frames are refused before buffering them.
    let mut s = Session::new(cfg("hub-510131"), "kiosk-1");
    s.start(&mut hub).unwrap();
    let err = s.handle_bytes(&[0x02, 0xFF, 0xFF, 0xFF, 0x7F], &mut hub).unwrap_err();
    assert!(err.to_string().contains("exceeds"), "{err}");
    assert!(s.is_closed());
    // A hello from someone other than the authenticated peer is refused.
    let mut s = Session::new(cfg("hub-510131"), "kiosk-2");
    s.start(&mut hub).unwrap();
    assert!(s.handle_bytes(&hello, &mut hub).is_err());
}
