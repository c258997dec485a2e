//! Two peers driven in memory over real automerge documents.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, HashMap};

use automerge::{AutoCommit, ChangeHash, ReadDoc, transaction::Transactable};
use yizhan_sync_proto::wire::FRAME_HEADER_BYTES;
use yizhan_sync_proto::{
    BlobHash, Checkpoint, DocChange, Event, FeedEntry, Hash, Peer, RejectReason, Rejected, Replica, Session,
    SessionConfig,
};

/// An in-memory node: documents with a scope, a change feed, per-peer checkpoints and shared
/// heads. `peer_scopes` says which region each peer may write and receive ("" = everything).
/// The store's rules for incarnations (`store/src/sync.rs`) in their simplest form.
#[derive(Default, Clone)]
struct Node {
    id: String,
    docs: BTreeMap<String, (String, String, AutoCommit)>,
    feed: BTreeMap<String, u64>,
    seq: u64,
    /// This store's incarnations, oldest first: (id, first sequence it allocated).
    incarnations: Vec<(u64, u64)>,
    recv: HashMap<String, Checkpoint>,
    /// (peer, doc) -> (heads, the peer's incarnation they were recorded under).
    shared: HashMap<(String, String), (Vec<ChangeHash>, u64)>,
    peer_scopes: HashMap<String, String>,
    peer_has: HashMap<String, u64>,
    holds_incarnation: HashMap<String, u64>,
    /// Per peer, the session of record (the latest whose hello arrived): its number. In
    /// memory: a reopened store starts without.
    of_record: HashMap<String, u64>,
    next_session: u64,
    /// Documents refused by each peer (sender side), and refused here (with the peer's
    /// incarnation that recorded the refusal).
    refusals: HashMap<(String, String), RejectReason>,
    issued: BTreeMap<(String, String), (Rejected, u64)>,
    /// Blobs held here, and blobs referenced by documents here, with their documents' scope.
    blobs: std::collections::BTreeSet<BlobHash>,
    blob_refs: BTreeMap<BlobHash, String>,
    /// Blobs each peer told it holds.
    peer_blobs: std::collections::BTreeSet<(String, BlobHash)>,
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
        let mut node = Node { id: id.into(), ..Default::default() };
        node.reopen();
        node
    }

    /// The store is opened again (a restart, or a restore from a backup): a new incarnation.
    fn reopen(&mut self) {
        // Unique in the process, as a random 64-bit id is in practice.
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let id = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.incarnations.push((id, self.seq + 1));
        self.of_record.clear();
    }

    fn is_current(&self, peer: Peer<'_>) -> bool {
        self.of_record.get(peer.id) == Some(&peer.session)
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

    fn incarnation(&self) -> Result<u64, String> {
        Ok(self.incarnations.last().map_or(0, |i| i.0))
    }

    fn incarnation_end(&self, incarnation: u64) -> Result<Option<u64>, String> {
        let Some(k) = self.incarnations.iter().position(|i| i.0 == incarnation) else { return Ok(None) };
        Ok(Some(self.incarnations.get(k + 1).map_or(self.seq, |next| next.1 - 1)))
    }

    fn peer_holds(&self, peer: &str) -> Result<Checkpoint, String> {
        Ok(Checkpoint {
            seq: self.peer_has.get(peer).copied().unwrap_or(0),
            incarnation: self.holds_incarnation.get(peer).copied().unwrap_or(0),
            head: 0,
        })
    }

    fn begin_session(&mut self, peer: &str) -> Result<(Checkpoint, u64), String> {
        self.next_session += 1;
        Ok((self.recv.get(peer).copied().unwrap_or_default(), self.next_session))
    }

    fn peer_hello(&mut self, peer: Peer<'_>, has_upto: u64) -> Result<(), String> {
        if self.of_record.get(peer.id).is_none_or(|s| *s < peer.session) {
            self.of_record.insert(peer.id.to_string(), peer.session);
            self.peer_has.insert(peer.id.to_string(), has_upto);
            self.holds_incarnation.insert(peer.id.to_string(), peer.incarnation);
        }
        Ok(())
    }

    fn outgoing(&mut self, peer: Peer<'_>, entry: &FeedEntry) -> Result<Option<DocChange>, String> {
        if self.refusals.contains_key(&(peer.id.to_string(), entry.doc_id.clone())) {
            return Ok(None);
        }
        let Some((doc_type, scope, doc)) = self.docs.get_mut(&entry.doc_id) else { return Ok(None) };
        if !scope.starts_with(self.peer_scopes.get(peer.id).map(String::as_str).unwrap_or("")) {
            return Ok(None);
        }
        let (shared, tag) =
            self.shared.get(&(peer.id.to_string(), entry.doc_id.clone())).cloned().unwrap_or_default();
        let mut heads = doc.get_heads();
        heads.sort();
        if heads == shared && tag == peer.incarnation {
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

    fn apply(
        &mut self,
        peer: Peer<'_>,
        upto_seq: u64,
        peer_head: u64,
        docs: Vec<DocChange>,
    ) -> Result<Vec<Rejected>, String> {
        let mut rejected = Vec::new();
        for d in docs {
            let reject =
                |reason, detail: &str| Rejected { doc_id: d.doc_id.clone(), reason, detail: detail.into() };
            if !self.may(peer.id, &d.scope) {
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
            let mut sender_heads: Vec<ChangeHash> = d.heads.iter().map(|h| ChangeHash(*h)).collect();
            if !doc.get_missing_deps(&[]).is_empty()
                || sender_heads.iter().any(|h| doc.get_change_meta_by_hash(h).is_none())
            {
                rejected.push(reject(RejectReason::MissingDeps, "history missing"));
                continue;
            }
            let changed = doc.get_heads() != before;
            self.docs.insert(d.doc_id.clone(), (d.doc_type.clone(), d.scope.clone(), doc));
            sender_heads.sort();
            self.shared.insert((peer.id.to_string(), d.doc_id.clone()), (sender_heads, peer.incarnation));
            self.issued.remove(&(peer.id.to_string(), d.doc_id.clone()));
            if changed {
                self.touch(&d.doc_id);
            }
        }
        for r in rejected.iter().filter(|r| r.reason != RejectReason::MissingDeps) {
            self.issued.insert((peer.id.to_string(), r.doc_id.clone()), (r.clone(), 0));
        }
        if rejected.is_empty() && self.is_current(peer) {
            let cp = self.recv.entry(peer.id.to_string()).or_default();
            if cp.incarnation == peer.incarnation {
                cp.seq = cp.seq.max(upto_seq);
                cp.head = cp.head.max(peer_head);
            } else {
                *cp = Checkpoint { incarnation: peer.incarnation, seq: upto_seq, head: peer_head };
            }
        }
        Ok(rejected)
    }

    fn rewound(&mut self, peer: Peer<'_>, upto_seq: u64, peer_head: u64) -> Result<(), String> {
        if self.is_current(peer) {
            self.recv.insert(
                peer.id.to_string(),
                Checkpoint { incarnation: peer.incarnation, seq: upto_seq, head: peer_head },
            );
        }
        Ok(())
    }

    fn acknowledged(&mut self, peer: Peer<'_>, docs: &[(String, Vec<Hash>)]) -> Result<(), String> {
        for (id, heads) in docs {
            self.refusals.remove(&(peer.id.to_string(), id.clone()));
            let mut h: Vec<ChangeHash> = heads.iter().map(|h| ChangeHash(*h)).collect();
            h.sort();
            self.shared.insert((peer.id.to_string(), id.clone()), (h, peer.incarnation));
        }
        Ok(())
    }

    fn forget_shared(&mut self, peer: Peer<'_>, doc_id: &str) -> Result<(), String> {
        self.shared.remove(&(peer.id.to_string(), doc_id.to_string()));
        Ok(())
    }

    fn refused(&mut self, peer: Peer<'_>, refused: &[Rejected]) -> Result<(), String> {
        for r in refused {
            self.refusals.insert((peer.id.to_string(), r.doc_id.clone()), r.reason);
        }
        Ok(())
    }

    fn refusals_to_tell(&mut self, peer: Peer<'_>, limit: usize) -> Result<Vec<Rejected>, String> {
        Ok(self
            .issued
            .iter()
            .filter(|((p, _), (_, told))| p == peer.id && *told != peer.incarnation)
            .take(limit)
            .map(|(_, (r, _))| r.clone())
            .collect())
    }

    fn refusals_told(&mut self, peer: Peer<'_>, doc_ids: &[String]) -> Result<(), String> {
        for id in doc_ids {
            if let Some(entry) = self.issued.get_mut(&(peer.id.to_string(), id.clone())) {
                entry.1 = peer.incarnation;
            }
        }
        Ok(())
    }

    fn peer_has_upto(&mut self, peer: Peer<'_>, seq: u64) -> Result<(), String> {
        if self.is_current(peer) {
            let e = self.peer_has.entry(peer.id.to_string()).or_default();
            *e = (*e).max(seq);
        }
        Ok(())
    }

    fn blobs_held(&mut self, peer: Peer<'_>, hashes: &[BlobHash]) -> Result<Vec<BlobHash>, String> {
        Ok(hashes
            .iter()
            .filter(|h| {
                self.blobs.contains(*h) && self.blob_refs.get(*h).is_some_and(|s| self.may(peer.id, s))
            })
            .copied()
            .collect())
    }

    fn peer_holds_blobs(&mut self, peer: Peer<'_>, hashes: &[BlobHash]) -> Result<(), String> {
        self.peer_blobs.extend(hashes.iter().map(|h| (peer.id.to_string(), *h)));
        Ok(())
    }

    fn blobs_to_confirm(&mut self, peer: Peer<'_>, limit: usize) -> Result<Vec<BlobHash>, String> {
        Ok(self
            .blob_refs
            .keys()
            .filter(|h| !self.peer_blobs.contains(&(peer.id.to_string(), **h)))
            .take(limit)
            .copied()
            .collect())
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

fn rewinds(events: &[Event]) -> (usize, usize) {
    let went_back = events.iter().filter(|e| matches!(e, Event::WentBack { .. })).count();
    let peer_went_back = events.iter().filter(|e| matches!(e, Event::PeerWentBack { .. })).count();
    (went_back, peer_went_back)
}

#[test]
fn a_restart_keeps_the_up_to_date_sync_at_two_hellos() {
    let (mut kiosk, mut hub) = kiosk_and_hub();
    for i in 0..20 {
        kiosk.put(&format!("c{i}"), "510131001001", "d", "x");
        hub.put(&format!("h{i}"), "510131001001", "d", "y");
    }
    sync(&mut kiosk, &mut hub, cfg);
    kiosk.reopen();
    hub.reopen();
    let again = sync(&mut kiosk, &mut hub, cfg);
    assert_eq!((again.rounds, again.messages), (1, 2));
    assert_eq!(rewinds(&again.events_a), (0, 0));
    // A change after the restart goes as a change, not as a whole document.
    kiosk.put("c3", "510131001001", "e", "z");
    let one = sync(&mut kiosk, &mut hub, cfg);
    assert_eq!(hub.get("c3", "e").as_deref(), Some("z"));
    assert!(one.bytes < 1000, "{} bytes", one.bytes);
}

/// A kiosk's store is restored from a backup and records more than it had lost: its new
/// changes reuse feed sequence numbers the hub already passed. The hub is told, gets the new
/// documents, and sends back what the kiosk lost.
#[test]
fn a_store_restored_from_an_older_backup_converges_even_past_the_old_checkpoint() {
    let (mut kiosk, mut hub) = kiosk_and_hub();
    for i in 0..5 {
        kiosk.put(&format!("early-{i}"), "510131001001", "d", "x");
    }
    sync(&mut kiosk, &mut hub, cfg);
    let backup = kiosk.clone();
    for i in 0..5 {
        kiosk.put(&format!("lost-{i}"), "510131001001", "d", "y");
    }
    kiosk.put("early-1", "510131001001", "e", "edited after the backup");
    hub.put("from-hub", "510131001001", "d", "z");
    sync(&mut kiosk, &mut hub, cfg);
    let checkpoint = hub.recv["kiosk-1"].seq;

    kiosk = backup;
    kiosk.reopen();
    // More new records than were lost: the kiosk's head passes the hub's checkpoint.
    for i in 0..10 {
        kiosk.put(&format!("after-{i}"), "510131001001", "d", "w");
    }
    assert!(kiosk.seq > checkpoint);
    let run = sync(&mut kiosk, &mut hub, cfg);
    assert_eq!(rewinds(&run.events_a), (1, 0), "the kiosk finds the hub's checkpoint names lost history");
    assert_eq!(rewinds(&run.events_b), (0, 1));
    let mut all: Vec<String> = hub.docs.keys().cloned().collect();
    all.sort();
    assert_eq!(all.len(), 5 + 5 + 1 + 10);
    for id in &all {
        assert!(kiosk.docs.contains_key(id), "{id} is back on the kiosk");
    }
    assert_same(&mut kiosk, &mut hub, &all);
    assert_eq!(kiosk.get("early-1", "e").as_deref(), Some("edited after the backup"));
    assert_eq!(hub.recv["kiosk-1"].seq, kiosk.seq);
    assert_eq!(kiosk.recv["hub-510131"].seq, hub.seq);
    let again = sync(&mut kiosk, &mut hub, cfg);
    assert_eq!((again.rounds, again.messages), (1, 2));
}

/// The hub is restored: the kiosk's records of what the hub holds are no proof any more, so it
/// offers its documents again (as changes from the heads it recorded) and the hub asks for
/// whole documents where it lacks the history.
#[test]
fn a_restored_hub_gets_back_what_it_lost_from_its_kiosk() {
    let (mut kiosk, mut hub) = kiosk_and_hub();
    kiosk.put("a", "510131001001", "d", "1");
    sync(&mut kiosk, &mut hub, cfg);
    let backup = hub.clone();
    kiosk.put("b", "510131001001", "d", "2");
    kiosk.put("a", "510131001001", "e", "3");
    sync(&mut kiosk, &mut hub, cfg);
    hub = backup;
    hub.reopen();
    hub.put("new-at-hub", "510131001001", "d", "4");
    let run = sync(&mut kiosk, &mut hub, cfg);
    assert!(run.events_a.contains(&Event::Synced) && run.events_b.contains(&Event::Synced));
    assert_eq!(hub.get("a", "e").as_deref(), Some("3"));
    assert_eq!(hub.get("b", "d").as_deref(), Some("2"));
    assert_eq!(kiosk.get("new-at-hub", "d").as_deref(), Some("4"));
    let ids = ["a".to_string(), "b".to_string(), "new-at-hub".to_string()];
    assert_same(&mut kiosk, &mut hub, &ids);
    let again = sync(&mut kiosk, &mut hub, cfg);
    assert_eq!((again.rounds, again.messages), (1, 2));
}

/// The kiosk is restored from a backup taken after it recorded an out-of-scope case and before
/// the hub refused it: the hub's checkpoint is still valid, so the case is not offered again,
/// and only the hub knows it refused it. It tells the kiosk again, once.
#[test]
fn a_refusal_a_restore_forgot_is_told_again() {
    let (mut kiosk, mut hub) = kiosk_and_hub();
    kiosk.put("mine", "510131001001", "d", "x");
    kiosk.put("not-mine", "510104017001", "d", "y");
    let backup = kiosk.clone();
    let first = sync(&mut kiosk, &mut hub, cfg);
    assert!(first.events_a.iter().any(|e| matches!(e, Event::RefusedByPeer(_))));
    assert!(kiosk.refusals.contains_key(&("hub-510131".to_string(), "not-mine".to_string())));
    // Told once: a plain reconnect is two hellos.
    assert_eq!(sync(&mut kiosk, &mut hub, cfg).messages, 2);

    kiosk = backup;
    kiosk.reopen();
    assert!(kiosk.refusals.is_empty());
    let run = sync(&mut kiosk, &mut hub, cfg);
    assert_eq!(rewinds(&run.events_a), (0, 0), "the hub's checkpoint is still valid");
    let told: Vec<&str> = run
        .events_a
        .iter()
        .filter_map(|e| match e {
            Event::RefusedByPeer(r) => Some(r.iter().map(|r| r.doc_id.as_str())),
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(told, ["not-mine"]);
    assert_eq!(kiosk.refusals[&("hub-510131".to_string(), "not-mine".to_string())], RejectReason::OutOfScope);
    assert_eq!(sync(&mut kiosk, &mut hub, cfg).messages, 2);
    // A restart (not a restore) tells it again too: the hub cannot tell the two apart.
    kiosk.reopen();
    assert_eq!(sync(&mut kiosk, &mut hub, cfg).messages, 4);
    assert_eq!(sync(&mut kiosk, &mut hub, cfg).messages, 2);
}

#[test]
fn a_rewind_out_of_place_is_a_protocol_error() {
    use yizhan_sync_proto::wire::{Message, Rewind, Skip};
    let (mut kiosk, mut hub) = kiosk_and_hub();
    kiosk.put("a", "510131001001", "d", "1");
    sync(&mut kiosk, &mut hub, cfg);
    let frame = |m: Message| m.encode(yizhan_sync_proto::MESSAGE_BYTES_MAX).unwrap();
    let hello_from_kiosk = || {
        let mut s = Session::new(cfg("kiosk-1"), "hub-510131");
        s.start(&mut kiosk.clone()).unwrap();
        s.poll_transmit().unwrap()
    };
    let hello = hello_from_kiosk();
    let cases = [
        // Not going back.
        vec![frame(Message::Rewind(Rewind { upto_seq: kiosk.seq, feed_head: kiosk.seq }))],
        // After a batch.
        vec![
            frame(Message::Skip(Skip { upto_seq: kiosk.seq, feed_head: kiosk.seq })),
            frame(Message::Rewind(Rewind { upto_seq: 0, feed_head: kiosk.seq })),
        ],
        // Twice.
        vec![
            frame(Message::Rewind(Rewind { upto_seq: 0, feed_head: kiosk.seq })),
            frame(Message::Rewind(Rewind { upto_seq: 0, feed_head: kiosk.seq })),
        ],
    ];
    for (i, frames) in cases.iter().enumerate() {
        let mut s = Session::new(cfg("hub-510131"), "kiosk-1");
        s.start(&mut hub).unwrap();
        s.handle_bytes(&hello, &mut hub).unwrap();
        let result: Result<Vec<()>, _> = frames.iter().map(|f| s.handle_bytes(f, &mut hub)).collect();
        assert!(result.is_err() && s.is_closed(), "case {i}");
    }
    // A hello without an incarnation is refused.
    let mut s = Session::new(cfg("hub-510131"), "kiosk-1");
    s.start(&mut hub).unwrap();
    let mut dec = yizhan_sync_proto::FrameDecoder::new(yizhan_sync_proto::MESSAGE_BYTES_MAX);
    dec.push(&hello);
    let Ok(Some(Message::Hello(mut h))) = dec.next_message() else { panic!("not a hello") };
    h.incarnation = 0;
    assert!(s.handle_bytes(&frame(Message::Hello(h)), &mut hub).is_err());
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
            bytes[0] = rng.random_range(1..=5); // a known type with a corrupt body
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

/// A kiosk that announces `blob/held` learns which of its blobs the hub holds: by asking once
/// the documents are in sync (so a notice lost with a connection is made good), never about a
/// blob outside what the hub may receive from it, and not at all once it knows.
#[test]
fn a_kiosk_learns_which_of_its_blobs_the_hub_holds() {
    let (mut kiosk, mut hub) = kiosk_and_hub();
    kiosk.put("c1", "510131001001", "d", "x");
    let (thumb, original, foreign) = ([1u8; 32], [2u8; 32], [3u8; 32]);
    for h in [thumb, original] {
        kiosk.blob_refs.insert(h, "510131001001".into());
        kiosk.blobs.insert(h);
    }
    // The hub already holds the thumbnail (and a blob of another village, which it must not
    // admit to this kiosk even when asked).
    hub.blobs.extend([thumb, foreign]);
    hub.blob_refs.insert(thumb, "510131001001".into());
    hub.blob_refs.insert(foreign, "510131002001".into());
    kiosk.blob_refs.insert(foreign, "510131001001".into());
    let wants = |id: &str| {
        let mut c = SessionConfig::new(id);
        if id.starts_with("kiosk") {
            c.capabilities.push(yizhan_sync_proto::wire::HELD_CAPABILITY.into());
        }
        c
    };
    let run = sync(&mut kiosk, &mut hub, wants);
    assert!(hub.docs.contains_key("c1"));
    let told: Vec<_> = kiosk.peer_blobs.iter().map(|(_, h)| *h).collect();
    assert_eq!(told, vec![thumb], "only the thumbnail: the foreign blob is not admitted");
    assert!(run.events_a.contains(&Event::PeerHoldsBlobs(1)));

    // The hub completes the original (its notice lost with the link): the next session asks
    // about what is still unknown and learns it.
    hub.blobs.insert(original);
    hub.blob_refs.insert(original, "510131001001".into());
    sync(&mut kiosk, &mut hub, wants);
    assert!(kiosk.peer_blobs.contains(&("hub-510131".to_string(), original)));

    // Once it knows about every blob its documents reference, an up-to-date sync is the two
    // hellos again (the foreign blob, never admitted, would be asked about in every session).
    kiosk.blob_refs.remove(&foreign);
    let again = sync(&mut kiosk, &mut hub, wants);
    assert_eq!((again.rounds, again.messages), (1, 2));
    // A kiosk that does not announce the capability never asks, and a hub never tells it.
    let (mut k2, mut h2) = kiosk_and_hub();
    k2.put("c1", "510131001001", "d", "x");
    k2.blob_refs.insert(thumb, "510131001001".into());
    h2.blobs.insert(thumb);
    h2.blob_refs.insert(thumb, "510131001001".into());
    sync(&mut k2, &mut h2, cfg);
    assert!(k2.peer_blobs.is_empty());
}
