//! A simulated node over the real store: a `yizhan_store::Db` (SQLite on a temporary
//! directory) whose `Replica` is the store's own (`store/src/sync.rs`: scope read from the
//! document's content, `PeerPolicy`, per-peer checkpoints, shared heads, refusals and
//! incarnations), driven synchronously from the world's one thread with the world's time.
//!
//! Determinism: the store draws each open's incarnation from SQLite's `random()`; the node
//! replaces it at once with one from the world's seeded RNG. Automerge actors are fixed per
//! node and store generation, and every change the node writes is committed under that actor.
//!
//! Blobs stay a stand-in kept beside the store (`blobs`, `partials`, `doc_blobs`): documents
//! reference them in a `blobs` map of their own, which the store does not read (its blob layer
//! is driven by case attachments, photos and videos that the media crate makes).
//!
//! The world also reads the store's bookkeeping (feed, checkpoints, shared heads, refusals)
//! straight from its tables to check it against the truth.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, OnceLock};

use automerge::transaction::Transactable;
use automerge::{ActorId, AutoCommit, ChangeHash, ObjType, ReadDoc, ScalarValue};
use yizhan_core::{CaseDoc, Event as CaseEvent, EventKind, NewCase};
use yizhan_store::sync::{PeerPolicy, SyncReplica};
use yizhan_store::{Db, StoreClock, StoreConfig, StoreError};
use yizhan_sync_proto::blob::{BlobHash, outboard};
use yizhan_sync_proto::{Checkpoint, DocChange, FeedEntry, Hash, Peer, Rejected, Replica};

use super::blobs::{BlobRef, SimBlob};

/// Every simulated document is a case (the store validates what it receives: a made-up
/// type would be refused). Hubs' "notices" are cases of their region.
pub const DOC_TYPE: &str = yizhan_core::case::DOC_TYPE;

/// The blob stand-in: complete verified blobs, verified prefixes of blobs being received
/// (durable, like the store's partial files) and the blobs each document references.
#[derive(Clone, Default)]
pub struct BlobSide {
    pub blobs: BTreeMap<BlobHash, SimBlob>,
    pub partials: BTreeMap<BlobHash, Vec<u8>>,
    pub doc_blobs: BTreeMap<String, Vec<BlobRef>>,
}

/// (peer, document).
pub type PeerDoc = (String, String);

/// A copy of a node's store taken at some moment (its database file and its blob stand-in).
pub struct Backup {
    pub path: PathBuf,
    pub blobs: BlobSide,
    pub seq: u64,
}

pub struct SimNode {
    pub id: String,
    pub scope: String,
    index: usize,
    actor: ActorId,
    dir: PathBuf,
    db: RefCell<Option<Db>>,
    /// The feed head, known until the next write.
    seq: Cell<Option<u64>>,
    clock: Arc<AtomicI64>,
    pub policies: BTreeMap<String, PeerPolicy>,
    /// Per peer, the session of record as the store decides it (the latest whose hello
    /// arrived), mirrored here to know which `peer_has_upto` calls the store records.
    of_record: BTreeMap<String, u64>,
    /// What the replica recorded from `peer_hello` and `peer_has_upto` and the world has not
    /// checked yet: (peer, its incarnation, seq).
    pub claims: Vec<(String, u64, u64)>,
    /// Documents the last `apply` calls stored (for the world's scope invariant).
    pub applied: Vec<String>,
    /// Received documents that changed something here, and those that brought nothing new.
    pub received_new: u64,
    pub received_nothing_new: u64,
    pub side: BlobSide,
    /// This node fetches originals too (otherwise they stay below it).
    pub fetch_originals: bool,
    backups_made: u32,
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

fn decode_heads(bytes: &[u8]) -> Vec<ChangeHash> {
    sorted(bytes.chunks_exact(32).filter_map(|c| <[u8; 32]>::try_from(c).ok()).map(ChangeHash).collect())
}

/// An empty store with every migration run and no incarnation, made once per process: each
/// node starts from a copy (running the migrations 36 times a seed costs more than the rest).
fn template() -> &'static Path {
    static TEMPLATE: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, path) = TEMPLATE.get_or_init(|| {
        let dir = tempfile::Builder::new().prefix("yizhan-sim-template").tempdir().unwrap();
        let mut db = Db::open(StoreConfig::new(dir.path().join("store"))).unwrap();
        db.conn().execute("DELETE FROM incarnations", []).unwrap();
        let path = dir.path().join("template.sqlite3");
        db.conn().execute("VACUUM INTO ?1", [path.to_string_lossy().to_string()]).unwrap();
        (dir, path)
    });
    path
}

fn open_db(dir: &Path, clock: &Arc<AtomicI64>, incarnation: u64) -> Db {
    let mut config = StoreConfig::new(dir);
    let c = Arc::clone(clock);
    config.clock = StoreClock(Arc::new(move || c.load(Ordering::Relaxed)));
    let mut db = Db::open(config).unwrap();
    let conn = db.conn();
    // The simulated process never dies mid-write (a restart closes the store): no fsyncs.
    conn.pragma_update(None, "synchronous", "OFF").unwrap();
    // The incarnation from the world's RNG instead of SQLite's own randomness.
    conn.execute(
        "UPDATE incarnations SET id = ?1 WHERE n = (SELECT MAX(n) FROM incarnations)",
        [incarnation as i64],
    )
    .unwrap();
    db
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
    pub fn new(
        index: usize,
        id: &str,
        scope: &str,
        incarnation: u64,
        root: &Path,
        clock: &Arc<AtomicI64>,
    ) -> SimNode {
        let dir = root.join(format!("node-{index}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(template(), dir.join("yizhan.sqlite3")).unwrap();
        let db = open_db(&dir, clock, incarnation);
        SimNode {
            id: id.into(),
            scope: scope.into(),
            index,
            actor: actor(index, 0),
            dir,
            db: RefCell::new(Some(db)),
            seq: Cell::new(None),
            clock: Arc::clone(clock),
            policies: BTreeMap::new(),
            of_record: BTreeMap::new(),
            claims: Vec::new(),
            applied: Vec::new(),
            received_new: 0,
            received_nothing_new: 0,
            side: BlobSide::default(),
            fetch_originals: true,
            backups_made: 0,
        }
    }

    fn with_db<T>(&self, f: impl FnOnce(&mut Db) -> Result<T, StoreError>) -> T {
        let mut db = self.db.borrow_mut();
        f(db.as_mut().unwrap()).unwrap()
    }

    fn query<T: rusqlite::types::FromSql>(&self, sql: &str, params: impl rusqlite::Params) -> Vec<Vec<T>> {
        self.with_db(|db| {
            let conn = db.conn();
            let mut stmt = conn.prepare(sql)?;
            let n = stmt.column_count();
            let rows = stmt.query_map(params, |r| (0..n).map(|i| r.get(i)).collect::<Result<Vec<T>, _>>())?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    /// A copy of the store as it is now (`VACUUM INTO`: a consistent database file).
    pub fn backup(&mut self) -> Backup {
        self.backups_made += 1;
        let path = self.dir.with_file_name(format!("backup-{}-{}.sqlite3", self.index, self.backups_made));
        let target = path.to_string_lossy().to_string();
        self.with_db(|db| Ok(db.conn().execute("VACUUM INTO ?1", [target])?));
        Backup { path, blobs: self.side.clone(), seq: self.seq() }
    }

    /// Replaces the store with an older copy (a store restored from a backup) and opens it.
    /// Changes made from now on get a new automerge actor, as a freshly opened store's would,
    /// so they never collide with the changes made after the backup.
    pub fn restore(&mut self, backup: &Backup, generation: u32, incarnation: u64) {
        self.db.borrow_mut().take();
        let path = self.dir.join("yizhan.sqlite3");
        for suffix in ["-wal", "-shm"] {
            let _ = std::fs::remove_file(self.dir.join(format!("yizhan.sqlite3{suffix}")));
        }
        std::fs::copy(&backup.path, &path).unwrap();
        self.side = backup.blobs.clone();
        self.actor = actor(self.index, generation);
        self.reopen(incarnation);
    }

    /// The store is opened again: a new incarnation, from the next sequence number.
    pub fn reopen(&mut self, incarnation: u64) {
        self.db.borrow_mut().take();
        *self.db.borrow_mut() = Some(open_db(&self.dir, &self.clock, incarnation));
        self.seq.set(None);
        self.of_record.clear();
    }

    /// This store's incarnations, oldest first: (id, first feed sequence it allocated).
    pub fn incarnations(&self) -> Vec<(u64, u64)> {
        self.query::<i64>("SELECT id, first_seq FROM incarnations ORDER BY n", [])
            .into_iter()
            .map(|r| (r[0] as u64, r[1] as u64))
            .collect()
    }

    pub fn seq(&self) -> u64 {
        if let Some(seq) = self.seq.get() {
            return seq;
        }
        let seq = self.with_db(|db| db.feed_head()).max(0) as u64;
        self.seq.set(Some(seq));
        seq
    }

    pub fn feed_seq(&self, doc_id: &str) -> Option<u64> {
        self.query::<i64>("SELECT seq FROM feed WHERE doc_id = ?1", [doc_id]).first().map(|r| r[0] as u64)
    }

    /// Feed entries with `after < seq <= upto`, as (seq, doc id).
    pub fn feed_range(&self, after: u64, upto: u64) -> Vec<(u64, String)> {
        if upto <= after {
            return Vec::new();
        }
        self.with_db(|db| db.changes_since(after as i64, u32::MAX))
            .into_iter()
            .filter(|f| f.seq as u64 <= upto)
            .map(|f| (f.seq as u64, f.doc_id))
            .collect()
    }

    /// Every document held: id -> scope (read by the store from its content).
    pub fn doc_scopes(&self) -> BTreeMap<String, String> {
        self.query::<String>("SELECT id, scope FROM docs ORDER BY id", [])
            .into_iter()
            .map(|mut r| {
                let scope = r.pop().unwrap();
                (r.pop().unwrap(), scope)
            })
            .collect()
    }

    pub fn has_doc(&self, doc_id: &str) -> bool {
        !self.query::<i64>("SELECT 1 FROM docs WHERE id = ?1", [doc_id]).is_empty()
    }

    pub fn load(&self, doc_id: &str) -> Option<AutoCommit> {
        self.with_db(|db| db.load_doc(doc_id))
    }

    pub fn heads(&self, doc_id: &str) -> Option<Vec<ChangeHash>> {
        self.load(doc_id).map(|mut d| sorted(d.get_heads()))
    }

    /// True when this node holds every change of `heads` in `doc_id`.
    pub fn holds(&self, doc_id: &str, heads: &[ChangeHash]) -> bool {
        let Some(mut doc) = self.load(doc_id) else { return false };
        heads.iter().all(|h| doc.document().get_change_meta_by_hash(h).is_some())
    }

    pub fn hydrate(&self, doc_id: &str) -> Option<automerge::hydrate::Value> {
        self.load(doc_id).map(|mut d| d.document().hydrate(None))
    }

    /// Creates a case here (locally authored) in region `scope` referencing `attachments`
    /// (blobs already recorded here); returns the change's hash.
    pub fn create(&mut self, doc_id: &str, scope: &str, title: &str, attachments: &[BlobRef]) -> ChangeHash {
        let now = self.clock.load(Ordering::Relaxed);
        let new = NewCase {
            region_code: scope.into(),
            village_name: "村".into(),
            industry: "pig".into(),
            subject: title.into(),
            description: title.into(),
            farmer_name: String::new(),
            farmer_phone: String::new(),
            officer: self.id.clone(),
        };
        let created = CaseEvent::new(format!("{doc_id}-c"), now, self.id.as_str(), EventKind::Created);
        let (case, _) = CaseDoc::create(&new, doc_id, &self.id, created).unwrap();
        let mut doc = AutoCommit::new().with_actor(self.actor.clone());
        autosurgeon::reconcile(&mut doc, &case).unwrap();
        doc.put(automerge::ROOT, "title", title).unwrap();
        doc.put_object(automerge::ROOT, "notes", ObjType::List).unwrap();
        doc.put(automerge::ROOT, "views", ScalarValue::counter(0)).unwrap();
        let blobs = doc.put_object(automerge::ROOT, "blobs", ObjType::Map).unwrap();
        for a in attachments {
            doc.put(&blobs, yizhan_sync_proto::blob::to_hex(&a.hash), a.value()).unwrap();
        }
        let hash = doc.commit().unwrap();
        self.side.doc_blobs.insert(doc_id.into(), blob_refs(&doc));
        self.with_db(|db| db.create_doc(doc_id, DOC_TYPE, &mut doc));
        self.seq.set(None);
        hash
    }

    /// Records a blob made here (a photo taken): hashed, with its outboard.
    pub fn record_blob(&mut self, content: Vec<u8>) -> BlobHash {
        let (hash, ob) = outboard(&content);
        self.side.blobs.insert(hash, SimBlob { content: Arc::new(content), outboard: Arc::new(ob) });
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
        let scopes = self.doc_scopes();
        let mut best: BTreeMap<BlobHash, BlobRef> = BTreeMap::new();
        for (doc_id, refs) in &self.side.doc_blobs {
            if !scopes.get(doc_id).is_some_and(|s| s.starts_with(scope)) {
                continue;
            }
            for r in refs {
                if self.side.blobs.contains_key(&r.hash) || (r.role == "original" && !self.fetch_originals) {
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
        let docs: Vec<&String> = self
            .side
            .doc_blobs
            .iter()
            .filter(|(_, refs)| refs.iter().any(|r| r.hash == *hash))
            .map(|(d, _)| d)
            .collect();
        if docs.is_empty() {
            return false;
        }
        let scopes = self.doc_scopes();
        docs.iter().any(|d| scopes.get(*d).is_some_and(|s| s.starts_with(send_scope)))
    }

    /// Edits a document held here; returns the change's hash.
    pub fn edit(&mut self, doc_id: &str, edit: &Edit) -> ChangeHash {
        let actor = self.actor.clone();
        let (hash, refs) = self
            .with_db(|db| {
                db.update_doc(doc_id, |doc| {
                    doc.set_actor(actor);
                    apply_edit(doc, edit);
                    let hash = doc.commit().unwrap();
                    Ok::<_, StoreError>((hash, blob_refs(doc)))
                })
            })
            .unwrap();
        self.side.doc_blobs.insert(doc_id.into(), refs);
        self.seq.set(None);
        hash
    }

    /// The store's checkpoints of its peers' feeds.
    pub fn recv(&self) -> BTreeMap<String, Checkpoint> {
        self.query::<rusqlite::types::Value>(
            "SELECT peer_id, recv_seq, recv_incarnation, recv_head FROM peers ORDER BY peer_id",
            [],
        )
        .into_iter()
        .map(|r| {
            let int = |v: &rusqlite::types::Value| match v {
                rusqlite::types::Value::Integer(i) => *i,
                _ => 0,
            };
            let rusqlite::types::Value::Text(peer) = &r[0] else { panic!("peer id") };
            let cp = Checkpoint {
                seq: int(&r[1]) as u64,
                incarnation: int(&r[2]) as u64,
                head: int(&r[3]) as u64,
            };
            (peer.clone(), cp)
        })
        .collect()
    }

    /// The store's shared heads: (peer, doc) -> heads the peer is known to hold, and the peer's
    /// incarnation then.
    pub fn shared(&self) -> Vec<(PeerDoc, (Vec<ChangeHash>, u64))> {
        self.query::<rusqlite::types::Value>(
            "SELECT peer_id, doc_id, heads, incarnation FROM peer_docs ORDER BY peer_id, doc_id",
            [],
        )
        .into_iter()
        .map(|r| {
            use rusqlite::types::Value as V;
            match (&r[0], &r[1], &r[2], &r[3]) {
                (V::Text(p), V::Text(d), V::Blob(h), V::Integer(i)) => {
                    ((p.clone(), d.clone()), (decode_heads(h), *i as u64))
                }
                other => panic!("peer_docs row {other:?}"),
            }
        })
        .collect()
    }

    /// What `peer_has_upto` recorded of the peer (the store's `sent_seq`).
    pub fn sent_seq(&self, peer: &str) -> u64 {
        self.with_db(|db| db.peer_sent_seq(peer)).max(0) as u64
    }

    /// Whether the peer refused the document (until a later version is acknowledged).
    pub fn refused_by(&self, peer: &str, doc_id: &str) -> bool {
        !self
            .query::<i64>("SELECT 1 FROM peer_refusals WHERE peer_id = ?1 AND doc_id = ?2", [peer, doc_id])
            .is_empty()
    }

    /// Where an incarnation of this store ends (the store's own `Replica::incarnation_end`).
    pub fn incarnation_end(&self, incarnation: u64) -> Option<u64> {
        let policy = PeerPolicy::child("-", "-");
        self.with_db(|db| SyncReplica { db, policy: &policy, now_ms: 0 }.incarnation_end(incarnation))
    }

    /// The store's replica for a session with `peer` at time `now_ms`, recording what the
    /// world checks.
    pub fn replica(&mut self, peer: &str, now_ms: u64) -> Tap<'_> {
        self.seq.set(None);
        let db = self.db.get_mut().as_mut().unwrap();
        let policy = self.policies.get(peer).unwrap_or_else(|| panic!("no policy for peer {peer}"));
        Tap {
            inner: SyncReplica { db, policy, now_ms: now_ms as i64 },
            of_record: &mut self.of_record,
            claims: &mut self.claims,
            applied: &mut self.applied,
            received_new: &mut self.received_new,
            received_nothing_new: &mut self.received_nothing_new,
            doc_blobs: &mut self.side.doc_blobs,
        }
    }
}

fn apply_edit(doc: &mut AutoCommit, edit: &Edit) {
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
}

/// The store's `SyncReplica`, with what the world checks recorded on the way: the claims of
/// `peer_hello` and `peer_has_upto` the store records, and the documents `apply` stored.
pub struct Tap<'a> {
    inner: SyncReplica<'a>,
    of_record: &'a mut BTreeMap<String, u64>,
    claims: &'a mut Vec<(String, u64, u64)>,
    applied: &'a mut Vec<String>,
    received_new: &'a mut u64,
    received_nothing_new: &'a mut u64,
    doc_blobs: &'a mut BTreeMap<String, Vec<BlobRef>>,
}

impl Replica for Tap<'_> {
    type Error = StoreError;

    fn incarnation(&self) -> Result<u64, StoreError> {
        self.inner.incarnation()
    }
    fn feed_head(&self) -> Result<u64, StoreError> {
        self.inner.feed_head()
    }
    fn feed_since(&self, seq: u64, limit: usize) -> Result<Vec<FeedEntry>, StoreError> {
        self.inner.feed_since(seq, limit)
    }
    fn incarnation_end(&self, incarnation: u64) -> Result<Option<u64>, StoreError> {
        self.inner.incarnation_end(incarnation)
    }
    fn peer_holds(&self, peer: &str) -> Result<Checkpoint, StoreError> {
        self.inner.peer_holds(peer)
    }
    fn begin_session(&mut self, peer: &str) -> Result<(Checkpoint, u64), StoreError> {
        self.inner.begin_session(peer)
    }
    fn peer_hello(&mut self, peer: Peer<'_>, has_upto: u64) -> Result<(), StoreError> {
        // The store's rule: unless a later session's hello arrived first.
        if self.of_record.get(peer.id).is_none_or(|s| *s <= peer.session) {
            self.of_record.insert(peer.id.to_string(), peer.session);
            self.claims.push((peer.id.to_string(), peer.incarnation, has_upto));
        }
        self.inner.peer_hello(peer, has_upto)
    }
    fn outgoing(&mut self, peer: Peer<'_>, entry: &FeedEntry) -> Result<Option<DocChange>, StoreError> {
        self.inner.outgoing(peer, entry)
    }
    fn apply(
        &mut self,
        peer: Peer<'_>,
        upto_seq: u64,
        peer_head: u64,
        docs: Vec<DocChange>,
    ) -> Result<Vec<Rejected>, StoreError> {
        let before = self.inner.feed_head()?;
        let offered = docs.len() as u64;
        let rejected = self.inner.apply(peer, upto_seq, peer_head, docs)?;
        let stored = self.inner.feed_since(before, usize::MAX)?;
        for e in &stored {
            let doc = self.inner.db.load_doc(&e.doc_id)?.unwrap();
            self.doc_blobs.insert(e.doc_id.clone(), blob_refs(&doc));
            self.applied.push(e.doc_id.clone());
        }
        *self.received_new += stored.len() as u64;
        *self.received_nothing_new += offered - rejected.len() as u64 - stored.len() as u64;
        Ok(rejected)
    }
    fn rewound(&mut self, peer: Peer<'_>, upto_seq: u64, peer_head: u64) -> Result<(), StoreError> {
        self.inner.rewound(peer, upto_seq, peer_head)
    }
    fn acknowledged(&mut self, peer: Peer<'_>, docs: &[(String, Vec<Hash>)]) -> Result<(), StoreError> {
        self.inner.acknowledged(peer, docs)
    }
    fn forget_shared(&mut self, peer: Peer<'_>, doc_id: &str) -> Result<(), StoreError> {
        self.inner.forget_shared(peer, doc_id)
    }
    fn refused(&mut self, peer: Peer<'_>, refused: &[Rejected]) -> Result<(), StoreError> {
        self.inner.refused(peer, refused)
    }
    fn refusals_to_tell(&mut self, peer: Peer<'_>, limit: usize) -> Result<Vec<Rejected>, StoreError> {
        self.inner.refusals_to_tell(peer, limit)
    }
    fn refusals_told(&mut self, peer: Peer<'_>, doc_ids: &[String]) -> Result<(), StoreError> {
        self.inner.refusals_told(peer, doc_ids)
    }
    fn peer_has_upto(&mut self, peer: Peer<'_>, seq: u64) -> Result<(), StoreError> {
        if self.of_record.get(peer.id) == Some(&peer.session) {
            self.claims.push((peer.id.to_string(), peer.incarnation, seq));
        }
        self.inner.peer_has_upto(peer, seq)
    }
}
