//! An in-memory replica, as the store would be: automerge documents with a scope, a change feed,
//! per-peer checkpoints, shared heads and refusals, and the scope policy of each peer (from its
//! certificate). It persists across sessions, as a store does across connections.
//!
//! Same approach as `tests/session.rs`'s `Node`, with the store's rules (`store/src/sync.rs`):
//! the scope is read from the document's content, never from what the sender declared; the
//! store draws a new incarnation each time it is opened (restart or restore), and what it
//! records of a peer carries the peer's incarnation (see `Replica`).

use std::collections::BTreeMap;
use std::sync::Arc;

use automerge::transaction::Transactable;
use automerge::{ActorId, AutoCommit, ChangeHash, ObjType, ReadDoc, ScalarValue};
use yizhan_sync_proto::blob::{BlobHash, outboard};
use yizhan_sync_proto::{Checkpoint, DocChange, FeedEntry, Hash, Peer, RejectReason, Rejected, Replica};

use super::blobs::{BlobRef, SimBlob};

pub const DOC_TYPES: [&str; 2] = ["case", "notice"];

/// What one peer may receive and write.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Documents whose scope starts with this are sent to the peer ("" = all).
    pub send_scope: String,
    /// Documents whose scope starts with this are accepted from the peer.
    pub accept_scope: String,
}

#[derive(Clone)]
pub struct Stored {
    pub doc_type: String,
    pub scope: String,
    pub doc: AutoCommit,
}

#[derive(Clone)]
pub struct SimNode {
    pub id: String,
    pub scope: String,
    actor: ActorId,
    pub docs: BTreeMap<String, Stored>,
    /// doc id -> its latest feed sequence; `by_seq` is the same, indexed by sequence.
    feed: BTreeMap<String, u64>,
    by_seq: BTreeMap<u64, String>,
    pub seq: u64,
    /// This store's incarnations, oldest first: (id, first feed sequence it allocated).
    pub incarnations: Vec<(u64, u64)>,
    /// Highest sequence of each peer's feed durably applied here, with the peer's incarnation.
    pub recv: BTreeMap<String, Checkpoint>,
    /// (peer, doc) -> heads the peer is known to hold, and the peer's incarnation then.
    pub shared: BTreeMap<(String, String), (Vec<ChangeHash>, u64)>,
    /// Per peer, the session of record (the latest whose hello arrived): its number. In
    /// memory: a reopened store starts without.
    of_record: BTreeMap<String, u64>,
    next_session: u64,
    pub policies: BTreeMap<String, Policy>,
    /// Highest `peer_has_upto` per peer (the store's `sent_seq`), and the peer's incarnation.
    pub sent_seq: BTreeMap<String, u64>,
    holds_incarnation: BTreeMap<String, u64>,
    /// What the replica recorded from `peer_hello` and `peer_has_upto` and the world has not
    /// checked yet: (peer, its incarnation, seq).
    pub claims: Vec<(String, u64, u64)>,
    /// (peer, doc) the peer refused; cleared when a later version is acknowledged.
    pub refusals: BTreeMap<(String, String), RejectReason>,
    /// (peer, doc) refused here: the refusal, and the peer's incarnation that recorded it (0:
    /// not known to be recorded). Cleared when a version is accepted.
    pub issued: BTreeMap<(String, String), (Rejected, u64)>,
    /// Documents the last `apply` calls stored (for the world's scope invariant).
    pub applied: Vec<String>,
    /// Received documents that changed something here, and those that brought nothing new
    /// (redundant transfers: echoes, resends after a lost acknowledgement).
    pub received_new: u64,
    pub received_nothing_new: u64,
    /// Complete, verified blobs; verified prefixes of blobs being received (durable, like the
    /// store's partial files); the blobs each document references (the store's `doc_blobs`).
    pub blobs: BTreeMap<BlobHash, SimBlob>,
    pub partials: BTreeMap<BlobHash, Vec<u8>>,
    pub doc_blobs: BTreeMap<String, Vec<BlobRef>>,
    /// This node fetches originals too (otherwise they stay below it).
    pub fetch_originals: bool,
}

/// A fixed automerge actor per node (and store generation), so runs are deterministic.
fn actor(index: usize, generation: u32) -> ActorId {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&(index as u64 + 1).to_be_bytes());
    bytes[8..12].copy_from_slice(&generation.to_be_bytes());
    bytes[12..].copy_from_slice(b"yzsm");
    ActorId::from(&bytes[..])
}

fn sorted(mut h: Vec<ChangeHash>) -> Vec<ChangeHash> {
    h.sort();
    h
}

fn to_hashes(heads: &[ChangeHash]) -> Vec<Hash> {
    heads.iter().map(|h| h.0).collect()
}

pub fn content_str(doc: &AutoCommit, key: &str) -> Option<String> {
    match doc.get(automerge::ROOT, key).ok()?? {
        (automerge::Value::Scalar(s), _) => match s.as_ref() {
            ScalarValue::Str(t) => Some(t.to_string()),
            _ => None,
        },
        _ => None,
    }
}

/// The blobs a document references (its `blobs` map).
pub fn blob_refs(doc: &AutoCommit) -> Vec<BlobRef> {
    let Ok(Some((automerge::Value::Object(ObjType::Map), obj))) = doc.get(automerge::ROOT, "blobs") else {
        return Vec::new();
    };
    let mut refs: Vec<BlobRef> = doc
        .keys(&obj)
        .filter_map(|hex| {
            let value = match doc.get(&obj, hex.as_str()).ok()?? {
                (automerge::Value::Scalar(s), _) => match s.as_ref() {
                    ScalarValue::Str(t) => t.to_string(),
                    _ => return None,
                },
                _ => return None,
            };
            BlobRef::parse(&hex, &value)
        })
        .collect();
    refs.sort();
    refs
}

/// An edit a node makes to a document it holds.
#[derive(Debug, Clone)]
pub enum Edit {
    Put {
        key: &'static str,
        value: String,
    },
    Delete {
        key: &'static str,
    },
    AppendNote(String),
    CountView,
    /// Attachments: blobs recorded here with the change.
    Attach(Vec<BlobRef>),
}

impl SimNode {
    pub fn new(index: usize, id: &str, scope: &str, incarnation: u64) -> SimNode {
        SimNode {
            id: id.into(),
            scope: scope.into(),
            actor: actor(index, 0),
            docs: BTreeMap::new(),
            feed: BTreeMap::new(),
            by_seq: BTreeMap::new(),
            seq: 0,
            incarnations: vec![(incarnation, 1)],
            recv: BTreeMap::new(),
            shared: BTreeMap::new(),
            of_record: BTreeMap::new(),
            next_session: 0,
            policies: BTreeMap::new(),
            sent_seq: BTreeMap::new(),
            holds_incarnation: BTreeMap::new(),
            claims: Vec::new(),
            refusals: BTreeMap::new(),
            issued: BTreeMap::new(),
            applied: Vec::new(),
            received_new: 0,
            received_nothing_new: 0,
            blobs: BTreeMap::new(),
            partials: BTreeMap::new(),
            doc_blobs: BTreeMap::new(),
            fetch_originals: true,
        }
    }

    /// Replaces this node's whole state with an older copy (a store restored from a backup),
    /// and opens it. Changes made from now on get a new automerge actor, as a freshly opened
    /// store's would, so they never collide with the changes made after the backup.
    pub fn restore(&mut self, backup: &SimNode, index: usize, generation: u32, incarnation: u64) {
        *self = backup.clone();
        self.actor = actor(index, generation);
        self.reopen(incarnation);
    }

    /// The store is opened again: a new incarnation, from the next sequence number.
    pub fn reopen(&mut self, incarnation: u64) {
        self.incarnations.push((incarnation, self.seq + 1));
        self.of_record.clear();
    }

    pub fn current_incarnation(&self) -> u64 {
        self.incarnations.last().map_or(0, |i| i.0)
    }

    fn is_current(&self, peer: Peer<'_>) -> bool {
        self.of_record.get(peer.id) == Some(&peer.session)
    }

    fn touch(&mut self, doc_id: &str) {
        self.seq += 1;
        if let Some(old) = self.feed.insert(doc_id.to_string(), self.seq) {
            self.by_seq.remove(&old);
        }
        self.by_seq.insert(self.seq, doc_id.to_string());
    }

    pub fn feed_seq(&self, doc_id: &str) -> Option<u64> {
        self.feed.get(doc_id).copied()
    }

    /// Feed entries with `after < seq <= upto`, as (seq, doc id).
    pub fn feed_range(&self, after: u64, upto: u64) -> Vec<(u64, String)> {
        if upto <= after {
            return Vec::new();
        }
        self.by_seq.range(after + 1..=upto).map(|(s, d)| (*s, d.clone())).collect()
    }

    pub fn heads(&mut self, doc_id: &str) -> Option<Vec<ChangeHash>> {
        self.docs.get_mut(doc_id).map(|s| sorted(s.doc.get_heads()))
    }

    /// True when this node holds every change of `heads` in `doc_id`.
    pub fn holds(&mut self, doc_id: &str, heads: &[ChangeHash]) -> bool {
        let Some(s) = self.docs.get_mut(doc_id) else { return false };
        // Cheap: a hash lookup (no queued changes are ever kept, see `apply`).
        heads.iter().all(|h| s.doc.document().get_change_meta_by_hash(h).is_some())
    }

    /// Creates a document here (locally authored) referencing `attachments` (blobs already
    /// recorded here); returns the change's hash.
    pub fn create(
        &mut self,
        doc_id: &str,
        doc_type: &str,
        scope: &str,
        title: &str,
        attachments: &[BlobRef],
    ) -> ChangeHash {
        let mut doc = AutoCommit::new().with_actor(self.actor.clone());
        doc.put(automerge::ROOT, "scope", scope).unwrap();
        doc.put(automerge::ROOT, "created_by", self.id.as_str()).unwrap();
        doc.put(automerge::ROOT, "title", title).unwrap();
        doc.put_object(automerge::ROOT, "notes", ObjType::List).unwrap();
        doc.put(automerge::ROOT, "views", ScalarValue::counter(0)).unwrap();
        let blobs = doc.put_object(automerge::ROOT, "blobs", ObjType::Map).unwrap();
        for a in attachments {
            doc.put(&blobs, yizhan_sync_proto::blob::to_hex(&a.hash), a.value()).unwrap();
        }
        let hash = doc.commit().unwrap();
        self.doc_blobs.insert(doc_id.into(), blob_refs(&doc));
        self.docs.insert(doc_id.into(), Stored { doc_type: doc_type.into(), scope: scope.into(), doc });
        self.touch(doc_id);
        hash
    }

    /// Records a blob made here (a photo taken): hashed, with its outboard.
    pub fn record_blob(&mut self, content: Vec<u8>) -> BlobHash {
        let (hash, ob) = outboard(&content);
        self.blobs.insert(hash, SimBlob { content: Arc::new(content), outboard: Arc::new(ob) });
        hash
    }

    /// Records a blob received whole: hashed once more as a whole before it becomes visible.
    pub fn finish_blob(&mut self, info: &BlobRef, content: Vec<u8>) -> Result<(), String> {
        if *blake3::hash(&content).as_bytes() != info.hash || content.len() as u64 != info.bytes {
            return Err(format!(
                "blob {} received complete does not match",
                yizhan_sync_proto::blob::to_hex(&info.hash)
            ));
        }
        self.record_blob(content);
        Ok(())
    }

    /// Blobs referenced by documents within `scope` that this node lacks (complete), most
    /// wanted first, originals only if it fetches them (the store's `missing_blobs`).
    pub fn missing_blobs(&self, scope: &str) -> Vec<BlobRef> {
        let mut best: BTreeMap<BlobHash, BlobRef> = BTreeMap::new();
        for (doc_id, refs) in &self.doc_blobs {
            if !self.docs.get(doc_id).is_some_and(|d| d.scope.starts_with(scope)) {
                continue;
            }
            for r in refs {
                if self.blobs.contains_key(&r.hash) || (r.role == "original" && !self.fetch_originals) {
                    continue;
                }
                let keep = best.get(&r.hash).is_none_or(|b| r.rank() < b.rank());
                if keep {
                    best.insert(r.hash, r.clone());
                }
            }
        }
        let mut list: Vec<BlobRef> = best.into_values().collect();
        list.sort_by_key(|a| (a.rank(), a.bytes, a.hash));
        list
    }

    /// Whether a document within `send_scope` references the blob (it may be served there).
    pub fn blob_allowed(&self, hash: &BlobHash, send_scope: &str) -> bool {
        self.doc_blobs.iter().any(|(doc_id, refs)| {
            refs.iter().any(|r| r.hash == *hash)
                && self.docs.get(doc_id).is_some_and(|d| d.scope.starts_with(send_scope))
        })
    }

    /// Edits a document held here; returns the change's hash.
    pub fn edit(&mut self, doc_id: &str, edit: &Edit) -> ChangeHash {
        let doc = &mut self.docs.get_mut(doc_id).unwrap().doc;
        doc.set_actor(self.actor.clone());
        match edit {
            Edit::Put { key, value } => doc.put(automerge::ROOT, *key, value.as_str()).unwrap(),
            Edit::Delete { key } => {
                // Deleting a key nobody set is not a change: set it first so there is one.
                if doc.get(automerge::ROOT, *key).unwrap().is_none() {
                    doc.put(automerge::ROOT, *key, "").unwrap();
                }
                doc.delete(automerge::ROOT, *key).unwrap()
            }
            Edit::AppendNote(text) => {
                let (_, notes) = doc.get(automerge::ROOT, "notes").unwrap().unwrap();
                let len = doc.length(&notes);
                doc.insert(&notes, len, text.as_str()).unwrap()
            }
            Edit::CountView => doc.increment(automerge::ROOT, "views", 1).unwrap(),
            Edit::Attach(refs) => {
                let (_, blobs) = doc.get(automerge::ROOT, "blobs").unwrap().unwrap();
                for a in refs {
                    doc.put(&blobs, yizhan_sync_proto::blob::to_hex(&a.hash), a.value()).unwrap();
                }
            }
        }
        let hash = doc.commit().unwrap();
        let refs = blob_refs(doc);
        self.doc_blobs.insert(doc_id.into(), refs);
        self.touch(doc_id);
        hash
    }

    fn send_scope(&self, peer: &str) -> Option<&str> {
        self.policies.get(peer).map(|p| p.send_scope.as_str())
    }
}

impl Replica for SimNode {
    type Error = String;

    fn incarnation(&self) -> Result<u64, String> {
        Ok(self.current_incarnation())
    }

    fn feed_head(&self) -> Result<u64, String> {
        Ok(self.seq)
    }

    fn incarnation_end(&self, incarnation: u64) -> Result<Option<u64>, String> {
        let Some(k) = self.incarnations.iter().position(|i| i.0 == incarnation) else { return Ok(None) };
        Ok(Some(self.incarnations.get(k + 1).map_or(self.seq, |next| next.1 - 1)))
    }

    fn peer_holds(&self, peer: &str) -> Result<Checkpoint, String> {
        Ok(Checkpoint {
            seq: self.sent_seq.get(peer).copied().unwrap_or(0),
            incarnation: self.holds_incarnation.get(peer).copied().unwrap_or(0),
            head: 0,
        })
    }

    fn feed_since(&self, seq: u64, limit: usize) -> Result<Vec<FeedEntry>, String> {
        Ok(self
            .by_seq
            .range(seq + 1..)
            .take(limit)
            .map(|(s, id)| FeedEntry {
                seq: *s,
                doc_id: id.clone(),
                doc_type: self.docs[id].doc_type.clone(),
            })
            .collect())
    }

    fn begin_session(&mut self, peer: &str) -> Result<(Checkpoint, u64), String> {
        self.next_session += 1;
        Ok((self.recv.get(peer).copied().unwrap_or_default(), self.next_session))
    }

    fn peer_hello(&mut self, peer: Peer<'_>, has_upto: u64) -> Result<(), String> {
        if self.of_record.get(peer.id).is_none_or(|s| *s < peer.session) {
            self.of_record.insert(peer.id.to_string(), peer.session);
            self.sent_seq.insert(peer.id.to_string(), has_upto);
            self.holds_incarnation.insert(peer.id.to_string(), peer.incarnation);
            self.claims.push((peer.id.to_string(), peer.incarnation, has_upto));
        }
        Ok(())
    }

    fn outgoing(&mut self, peer: Peer<'_>, entry: &FeedEntry) -> Result<Option<DocChange>, String> {
        let Some(send_scope) = self.send_scope(peer.id).map(str::to_string) else {
            return Err(format!("no policy for peer {}", peer.id));
        };
        if self.refusals.contains_key(&(peer.id.to_string(), entry.doc_id.clone())) {
            return Ok(None); // refused already: stays unsynced until a new version is delivered
        }
        let Some(stored) = self.docs.get_mut(&entry.doc_id) else { return Ok(None) };
        if !stored.scope.starts_with(&send_scope) {
            return Ok(None);
        }
        let (shared, tag) =
            self.shared.get(&(peer.id.to_string(), entry.doc_id.clone())).cloned().unwrap_or_default();
        let heads = sorted(stored.doc.get_heads());
        // Heads recorded under another incarnation of the peer are no proof that it holds
        // them: the (possibly empty) change after them goes, and the peer says if it lacks them.
        if heads == shared && tag == peer.incarnation {
            return Ok(None);
        }
        let data = if shared.is_empty() { stored.doc.save() } else { stored.doc.save_after(&shared) };
        Ok(Some(DocChange {
            doc_id: entry.doc_id.clone(),
            doc_type: stored.doc_type.clone(),
            scope: stored.scope.clone(),
            data,
            heads: to_hashes(&heads),
        }))
    }

    fn apply(
        &mut self,
        peer: Peer<'_>,
        upto_seq: u64,
        peer_head: u64,
        docs: Vec<DocChange>,
    ) -> Result<Vec<Rejected>, String> {
        let Some(accept_scope) = self.policies.get(peer.id).map(|p| p.accept_scope.clone()) else {
            return Err(format!("no policy for peer {}", peer.id));
        };
        let mut rejected = Vec::new();
        for d in docs {
            let reject = |reason, detail: String| Rejected { doc_id: d.doc_id.clone(), reason, detail };
            if !DOC_TYPES.contains(&d.doc_type.as_str()) {
                rejected.push(reject(RejectReason::Forbidden, format!("unknown type {:?}", d.doc_type)));
                continue;
            }
            let existing = self.docs.get_mut(&d.doc_id);
            if let Some(s) = &existing
                && s.doc_type != d.doc_type
            {
                rejected.push(reject(RejectReason::Invalid, format!("{} is a {}", d.doc_id, s.doc_type)));
                continue;
            }
            // Whole document or nothing: work on a fork.
            let mut doc = match existing {
                Some(s) => s.doc.fork().with_actor(self.actor.clone()),
                None => AutoCommit::new().with_actor(self.actor.clone()),
            };
            let before = sorted(doc.get_heads());
            if let Err(e) = doc.load_incremental(&d.data) {
                rejected.push(reject(RejectReason::Invalid, e.to_string()));
                continue;
            }
            let sender_heads: Vec<ChangeHash> = sorted(d.heads.iter().map(|h| ChangeHash(*h)).collect());
            if !doc.get_missing_deps(&[]).is_empty()
                || sender_heads.iter().any(|h| doc.document().get_change_meta_by_hash(h).is_none())
            {
                rejected.push(reject(RejectReason::MissingDeps, "history missing".into()));
                continue;
            }
            let Some(scope) = content_str(&doc, "scope") else {
                rejected.push(reject(RejectReason::Invalid, "no scope".into()));
                continue;
            };
            if scope != d.scope {
                rejected
                    .push(reject(RejectReason::Invalid, format!("declared {} but holds {scope}", d.scope)));
                continue;
            }
            if !scope.starts_with(&accept_scope) {
                rejected.push(reject(RejectReason::OutOfScope, format!("{scope} is outside {accept_scope}")));
                continue;
            }
            let changed = sorted(doc.get_heads()) != before;
            if changed {
                self.received_new += 1;
                self.doc_blobs.insert(d.doc_id.clone(), blob_refs(&doc));
                self.docs.insert(d.doc_id.clone(), Stored { doc_type: d.doc_type.clone(), scope, doc });
                self.touch(&d.doc_id);
                self.applied.push(d.doc_id.clone());
            }
            if !changed {
                self.received_nothing_new += 1;
            }
            self.shared.insert((peer.id.to_string(), d.doc_id.clone()), (sender_heads, peer.incarnation));
            self.issued.remove(&(peer.id.to_string(), d.doc_id.clone()));
        }
        for r in rejected.iter().filter(|r| r.reason != RejectReason::MissingDeps) {
            self.issued.insert((peer.id.to_string(), r.doc_id.clone()), (r.clone(), 0));
        }
        // A batch with a refusal does not move the checkpoint: if the acknowledgement carrying
        // the refusal is lost, the sender offers the document again and learns of it then. Nor
        // does a session with an incarnation of the peer older than the latest hello's.
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
            let h = sorted(heads.iter().map(|h| ChangeHash(*h)).collect());
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
            let e = self.sent_seq.entry(peer.id.to_string()).or_default();
            *e = (*e).max(seq);
            self.claims.push((peer.id.to_string(), peer.incarnation, seq));
        }
        Ok(())
    }
}
