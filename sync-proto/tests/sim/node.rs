//! An in-memory replica, as the store would be: automerge documents with a scope, a change feed,
//! per-peer checkpoints, shared heads and refusals, and the scope policy of each peer (from its
//! certificate). It persists across sessions, as a store does across connections.
//!
//! Same approach as `tests/session.rs`'s `Node`, with the store's rules (`store/src/sync.rs`):
//! the scope is read from the document's content, never from what the sender declared.

use std::collections::BTreeMap;

use automerge::transaction::Transactable;
use automerge::{ActorId, AutoCommit, ChangeHash, ObjType, ReadDoc, ScalarValue};
use yizhan_sync_proto::{DocChange, FeedEntry, Hash, RejectReason, Rejected, Replica};

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
    /// Highest sequence of each peer's feed durably applied here.
    pub recv: BTreeMap<String, u64>,
    /// (peer, doc) -> heads the peer is known to hold.
    pub shared: BTreeMap<(String, String), Vec<ChangeHash>>,
    pub policies: BTreeMap<String, Policy>,
    /// Highest `peer_has_upto` per peer (the store's `sent_seq`).
    pub sent_seq: BTreeMap<String, u64>,
    /// `peer_has_upto` calls not yet checked by the world: (peer, seq).
    pub claims: Vec<(String, u64)>,
    /// (peer, doc) the peer refused; cleared when a later version is acknowledged.
    pub refusals: BTreeMap<(String, String), RejectReason>,
    /// Documents the last `apply` calls stored (for the world's scope invariant).
    pub applied: Vec<String>,
    /// Received documents that changed something here, and those that brought nothing new
    /// (redundant transfers: echoes, resends after a lost acknowledgement).
    pub received_new: u64,
    pub received_nothing_new: u64,
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

/// An edit a node makes to a document it holds.
#[derive(Debug, Clone)]
pub enum Edit {
    Put { key: &'static str, value: String },
    Delete { key: &'static str },
    AppendNote(String),
    CountView,
}

impl SimNode {
    pub fn new(index: usize, id: &str, scope: &str) -> SimNode {
        SimNode {
            id: id.into(),
            scope: scope.into(),
            actor: actor(index, 0),
            docs: BTreeMap::new(),
            feed: BTreeMap::new(),
            by_seq: BTreeMap::new(),
            seq: 0,
            recv: BTreeMap::new(),
            shared: BTreeMap::new(),
            policies: BTreeMap::new(),
            sent_seq: BTreeMap::new(),
            claims: Vec::new(),
            refusals: BTreeMap::new(),
            applied: Vec::new(),
            received_new: 0,
            received_nothing_new: 0,
        }
    }

    /// Replaces this node's whole state with an older copy (a store restored from a backup).
    /// Changes made from now on get a new automerge actor, as a freshly opened store's would,
    /// so they never collide with the changes made after the backup.
    pub fn restore(&mut self, backup: &SimNode, index: usize, generation: u32) {
        *self = backup.clone();
        self.actor = actor(index, generation);
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

    /// Creates a document here (locally authored); returns the change's hash.
    pub fn create(&mut self, doc_id: &str, doc_type: &str, scope: &str, title: &str) -> ChangeHash {
        let mut doc = AutoCommit::new().with_actor(self.actor.clone());
        doc.put(automerge::ROOT, "scope", scope).unwrap();
        doc.put(automerge::ROOT, "created_by", self.id.as_str()).unwrap();
        doc.put(automerge::ROOT, "title", title).unwrap();
        doc.put_object(automerge::ROOT, "notes", ObjType::List).unwrap();
        doc.put(automerge::ROOT, "views", ScalarValue::counter(0)).unwrap();
        let hash = doc.commit().unwrap();
        self.docs.insert(doc_id.into(), Stored { doc_type: doc_type.into(), scope: scope.into(), doc });
        self.touch(doc_id);
        hash
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
        }
        let hash = doc.commit().unwrap();
        self.touch(doc_id);
        hash
    }

    fn send_scope(&self, peer: &str) -> Option<&str> {
        self.policies.get(peer).map(|p| p.send_scope.as_str())
    }
}

impl Replica for SimNode {
    type Error = String;

    fn feed_head(&self) -> Result<u64, String> {
        Ok(self.seq)
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

    fn recv_checkpoint(&self, peer: &str) -> Result<u64, String> {
        Ok(self.recv.get(peer).copied().unwrap_or(0))
    }

    fn outgoing(&mut self, peer: &str, entry: &FeedEntry) -> Result<Option<DocChange>, String> {
        let Some(send_scope) = self.send_scope(peer).map(str::to_string) else {
            return Err(format!("no policy for peer {peer}"));
        };
        if self.refusals.contains_key(&(peer.to_string(), entry.doc_id.clone())) {
            return Ok(None); // refused already: stays unsynced until a new version is delivered
        }
        let Some(stored) = self.docs.get_mut(&entry.doc_id) else { return Ok(None) };
        if !stored.scope.starts_with(&send_scope) {
            return Ok(None);
        }
        let shared = self.shared.get(&(peer.to_string(), entry.doc_id.clone())).cloned().unwrap_or_default();
        let heads = sorted(stored.doc.get_heads());
        if heads == shared {
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

    fn apply(&mut self, peer: &str, upto_seq: u64, docs: Vec<DocChange>) -> Result<Vec<Rejected>, String> {
        let Some(accept_scope) = self.policies.get(peer).map(|p| p.accept_scope.clone()) else {
            return Err(format!("no policy for peer {peer}"));
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
            if !doc.get_missing_deps(&[]).is_empty() {
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
                self.docs.insert(d.doc_id.clone(), Stored { doc_type: d.doc_type.clone(), scope, doc });
                self.touch(&d.doc_id);
                self.applied.push(d.doc_id.clone());
            }
            if !changed {
                self.received_nothing_new += 1;
            }
            let sender_heads = sorted(d.heads.iter().map(|h| ChangeHash(*h)).collect());
            self.shared.insert((peer.to_string(), d.doc_id.clone()), sender_heads);
        }
        // A batch with a refusal does not move the checkpoint: if the acknowledgement carrying
        // the refusal is lost, the sender offers the document again and learns of it then.
        if rejected.is_empty() {
            let r = self.recv.entry(peer.to_string()).or_default();
            *r = (*r).max(upto_seq);
        }
        Ok(rejected)
    }

    fn acknowledged(&mut self, peer: &str, docs: &[(String, Vec<Hash>)]) -> Result<(), String> {
        for (id, heads) in docs {
            self.refusals.remove(&(peer.to_string(), id.clone()));
            let h = sorted(heads.iter().map(|h| ChangeHash(*h)).collect());
            self.shared.insert((peer.to_string(), id.clone()), h);
        }
        Ok(())
    }

    fn forget_shared(&mut self, peer: &str, doc_id: &str) -> Result<(), String> {
        self.shared.remove(&(peer.to_string(), doc_id.to_string()));
        Ok(())
    }

    fn refused(&mut self, peer: &str, refused: &[Rejected]) -> Result<(), String> {
        for r in refused {
            self.refusals.insert((peer.to_string(), r.doc_id.clone()), r.reason);
        }
        Ok(())
    }

    fn peer_has_upto(&mut self, peer: &str, seq: u64) -> Result<(), String> {
        let e = self.sent_seq.entry(peer.to_string()).or_default();
        *e = (*e).max(seq);
        self.claims.push((peer.to_string(), seq));
        Ok(())
    }
}
