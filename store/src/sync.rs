//! The store's side of a sync session: [`yizhan_sync_proto::Replica`] on SQLite.
//!
//! Architecture invariant: a document received from a peer is accepted only if this build
//! knows its type, its content validates, and the scope read from its content (not the
//! scope the sender declared) lies within what that peer may write. Each received batch is
//! applied in one transaction together with the peer's new checkpoint.
//!
//! Restored stores (docs/PROTOCOL.md): every open of the store draws a new incarnation
//! (`incarnations`, with the first feed sequence it could allocate), so a backup restored and
//! opened never shares one with the history it lost. Checkpoints (`peers.recv_incarnation`)
//! and shared heads (`peer_docs.incarnation`) carry the peer's incarnation they were recorded
//! under; refusals this node issued wait in `refusals_issued` until the peer recorded them in
//! its current incarnation.

use std::collections::HashMap;

use automerge::{AutoCommit, ChangeHash};
use rusqlite::{Connection, OptionalExtension, params};
use yizhan_sync_proto::blob::{from_hex, to_hex};
use yizhan_sync_proto::{
    BlobHash, Checkpoint, DocChange, FeedEntry, Hash, Peer, RejectReason, Rejected, Replica,
};

use crate::db::{Db, load_doc, replace_peer_sent_seq, set_peer_sent_seq, touch_feed};
use yizhan_core::doctype::Flow;
use yizhan_core::region::{RegionLevel, at_or_below, strictly_within};

use crate::{StoreError, projection};

/// Incarnations kept (one per open): a peer's checkpoint recorded under an older one is
/// treated as unknown, and that peer is offered the whole feed again.
pub const INCARNATIONS_KEPT: i64 = 1000;

/// Incarnation ids are u64 on the wire and i64 in SQLite: the same 64 bits.
fn to_sql(id: u64) -> i64 {
    id as i64
}

fn from_sql(id: i64) -> u64 {
    id as u64
}

/// Draws this open's incarnation (random, non-zero, new) and records it with the first feed
/// sequence it can allocate; keeps the latest [`INCARNATIONS_KEPT`].
pub(crate) fn open_incarnation(conn: &mut Connection) -> Result<u64, StoreError> {
    let tx = conn.transaction()?;
    // AUTOINCREMENT: the next sequence is past every one ever allocated in this database.
    let next_seq: i64 = tx.query_row(
        "SELECT max(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'feed'), 0),
                    COALESCE((SELECT MAX(seq) FROM feed), 0)) + 1",
        [],
        |r| r.get(0),
    )?;
    let id = loop {
        // SQLite's generator is seeded from the operating system's randomness.
        let id: i64 = tx.query_row("SELECT random()", [], |r| r.get(0))?;
        if id != 0
            && tx.execute(
                "INSERT OR IGNORE INTO incarnations (n, id, first_seq)
                 VALUES ((SELECT COALESCE(MAX(n), 0) + 1 FROM incarnations), ?1, ?2)",
                params![id, next_seq],
            )? == 1
        {
            break id;
        }
    };
    tx.execute(
        "DELETE FROM incarnations WHERE n <= (SELECT MAX(n) FROM incarnations) - ?1",
        [INCARNATIONS_KEPT],
    )?;
    tx.commit()?;
    Ok(from_sql(id))
}

/// The sync sessions of this process: numbers in the order they began, and per peer the
/// session of record (the one whose peer's hello arrived last; see `Replica`). In memory: a
/// store opened again starts without.
#[derive(Debug, Default)]
pub struct Sessions {
    next: u64,
    of_record: HashMap<String, u64>,
}

/// What one peer may receive and write, from its authenticated certificate.
#[derive(Debug, Clone)]
pub struct PeerPolicy {
    pub peer_id: String,
    /// True when the peer is this node's parent hub (its acknowledgements clear "未同步").
    pub is_parent: bool,
    /// Documents whose scope starts with this are sent to the peer ("" = all).
    pub send_scope: String,
    /// Documents whose scope starts with this are accepted from the peer.
    pub accept_scope: String,
    /// Public documents (published knowledge) are accepted from this peer: from a parent, or
    /// from a child hub that publishes for its region.
    pub accept_public: bool,
    /// Private parts (phone numbers) are sent to this peer: a kiosk's to its county hub, a
    /// hub's to its children; never from a hub to its parent.
    pub send_private: bool,
    /// True when the peer is a village kiosk below this hub: what it sends is checked against
    /// the node kinds that may create and change each type, and the type's
    /// `kiosk_change` rule (`yizhan_core::doctype::DocType`).
    pub peer_is_kiosk: bool,
}

impl PeerPolicy {
    /// A kiosk or hub talking to its parent: send everything held (all of it lies within our
    /// own scope), accept what lies within our own scope.
    pub fn parent(peer_id: &str, own_scope: &str) -> PeerPolicy {
        PeerPolicy {
            peer_id: peer_id.into(),
            is_parent: true,
            send_scope: String::new(),
            accept_scope: own_scope.into(),
            accept_public: true,
            // A kiosk (town or village scope) sends them to its county; a hub keeps them.
            send_private: at_or_below(own_scope, RegionLevel::Town),
            peer_is_kiosk: false,
        }
    }

    /// A hub talking to a child kiosk: both ways only the kiosk's scope, and only what a kiosk
    /// may write.
    pub fn child(peer_id: &str, child_scope: &str) -> PeerPolicy {
        PeerPolicy {
            peer_id: peer_id.into(),
            is_parent: false,
            send_scope: child_scope.into(),
            accept_scope: child_scope.into(),
            accept_public: false,
            send_private: true,
            peer_is_kiosk: true,
        }
    }

    /// A hub talking to a child hub: both ways only the child's scope; the child may publish.
    pub fn child_hub(peer_id: &str, child_scope: &str) -> PeerPolicy {
        PeerPolicy { accept_public: true, peer_is_kiosk: false, ..PeerPolicy::child(peer_id, child_scope) }
    }

    /// Whether this peer may make the change `before` → `after` to a document of `doc_type`
    /// by the type's writers in core's table: a kiosk only creates and changes the types whose
    /// `created_by`/`changed_by` name kiosks, and only as the type's `kiosk_change` allows.
    /// Hubs are trusted with every type within the scope they may write.
    pub fn may_write(
        &self,
        doc_type: &str,
        before: Option<&AutoCommit>,
        after: &AutoCommit,
    ) -> Result<(), String> {
        if !self.peer_is_kiosk {
            return Ok(());
        }
        let Some(t) = yizhan_core::doctype::lookup(doc_type) else {
            return Err(format!("unknown type {doc_type:?}"));
        };
        let writers = if before.is_none() { t.created_by } else { t.changed_by };
        if !writers.contains(&yizhan_core::doctype::NodeKind::Kiosk) {
            let verb = if before.is_none() { "create" } else { "change" };
            return Err(format!("a kiosk may not {verb} a {doc_type}"));
        }
        (t.kiosk_change)(&self.peer_id, before, after)
    }

    /// Whether a document of `doc_type` whose scope (read from its content) is `scope` may be
    /// sent to this peer, by the type's flow in core's table (`yizhan_core::doctype::Flow`):
    /// - down: only to a child whose scope lies strictly within the document's (a county's
    ///   sealing key to the county's kiosks), never to a parent; down to hubs: the same, but
    ///   never to a kiosk (a town or village scope);
    /// - private: only when [`PeerPolicy::send_private`], and within the send scope;
    /// - regional: when its scope lies within the send scope;
    /// - public: to every peer; node-local: never.
    pub fn sends(&self, doc_type: &str, scope: &str) -> bool {
        match projection::flow(doc_type) {
            Flow::Down => !self.is_parent && strictly_within(&self.send_scope, scope),
            Flow::DownToHubs => {
                !self.is_parent
                    && strictly_within(&self.send_scope, scope)
                    && !at_or_below(&self.send_scope, RegionLevel::Town)
            }
            Flow::Private => self.send_private && scope.starts_with(&self.send_scope),
            Flow::Regional => scope.starts_with(&self.send_scope),
            Flow::Public => true,
            Flow::Local => false,
        }
    }

    /// Whether a document of `doc_type` whose scope (read from its content) is `scope` may be
    /// accepted from this peer, by the type's flow:
    /// - down: only from the parent, and only when this node lies strictly within its scope (a
    ///   kiosk takes its own county's key; a county hub never takes one, so nobody but the
    ///   county hub writes its key); down to hubs: the same, and never at a kiosk;
    /// - regional and private: when its scope lies within the accept scope;
    /// - public: as regional, or when [`PeerPolicy::accept_public`]; node-local: never.
    pub fn accepts(&self, doc_type: &str, scope: &str) -> bool {
        match projection::flow(doc_type) {
            Flow::Down => self.is_parent && strictly_within(&self.accept_scope, scope),
            Flow::DownToHubs => {
                self.is_parent
                    && strictly_within(&self.accept_scope, scope)
                    && !at_or_below(&self.accept_scope, RegionLevel::Town)
            }
            Flow::Regional | Flow::Private => scope.starts_with(&self.accept_scope),
            Flow::Public => self.accept_public || scope.starts_with(&self.accept_scope),
            Flow::Local => false,
        }
    }
}

/// A replica over the database for one session; build it on the database thread.
pub struct SyncReplica<'a> {
    pub db: &'a mut Db,
    pub policy: &'a PeerPolicy,
    /// Wall-clock time of this call, recorded as the peer's last contact.
    pub now_ms: i64,
}

fn to_hashes(heads: &[ChangeHash]) -> Vec<Hash> {
    let mut h: Vec<Hash> = heads.iter().map(|h| h.0).collect();
    h.sort_unstable();
    h
}

fn encode_heads(heads: &[Hash]) -> Vec<u8> {
    let mut sorted = heads.to_vec();
    sorted.sort_unstable();
    sorted.concat()
}

fn decode_heads(bytes: &[u8]) -> Vec<ChangeHash> {
    bytes.chunks_exact(32).filter_map(|c| <[u8; 32]>::try_from(c).ok()).map(ChangeHash).collect()
}

impl SyncReplica<'_> {
    /// The heads the peer is recorded to hold, and its incarnation then.
    fn shared_heads(&self, doc_id: &str) -> Result<(Vec<ChangeHash>, u64), StoreError> {
        let row: Option<(Vec<u8>, i64)> = self
            .db
            .conn
            .query_row(
                "SELECT heads, incarnation FROM peer_docs WHERE peer_id = ?1 AND doc_id = ?2",
                params![self.policy.peer_id, doc_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        Ok(row.map(|(b, i)| (decode_heads(&b), from_sql(i))).unwrap_or_default())
    }

    /// Whether this session is the peer's session of record.
    fn of_record(&self, peer: Peer<'_>) -> bool {
        self.db.sessions.of_record.get(peer.id) == Some(&peer.session)
    }
}

impl Replica for SyncReplica<'_> {
    type Error = StoreError;

    fn incarnation(&self) -> Result<u64, StoreError> {
        // The latest row: another process that opened the database (a `yizhan check`) added
        // one, and this process's later changes lie in its range.
        let id: i64 =
            self.db
                .conn
                .query_row("SELECT id FROM incarnations ORDER BY n DESC LIMIT 1", [], |r| r.get(0))?;
        Ok(from_sql(id))
    }

    fn feed_head(&self) -> Result<u64, StoreError> {
        let head: i64 = self.db.conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM feed", [], |r| r.get(0))?;
        Ok(head.max(0) as u64)
    }

    fn incarnation_end(&self, incarnation: u64) -> Result<Option<u64>, StoreError> {
        let Some(n): Option<i64> = self
            .db
            .conn
            .query_row("SELECT n FROM incarnations WHERE id = ?1", [to_sql(incarnation)], |r| r.get(0))
            .optional()?
        else {
            return Ok(None); // not in this store's history (lost with a restore, or too old)
        };
        let next: Option<i64> = self
            .db
            .conn
            .query_row("SELECT first_seq FROM incarnations WHERE n > ?1 ORDER BY n LIMIT 1", [n], |r| {
                r.get(0)
            })
            .optional()?;
        Ok(Some(match next {
            Some(first) => first.saturating_sub(1).max(0) as u64,
            None => self.feed_head()?,
        }))
    }

    fn peer_holds(&self, peer: &str) -> Result<Checkpoint, StoreError> {
        let row: Option<(i64, i64)> = self
            .db
            .conn
            .query_row("SELECT sent_seq, sent_incarnation FROM peers WHERE peer_id = ?1", [peer], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?;
        let (seq, incarnation) = row.unwrap_or((0, 0));
        Ok(Checkpoint { incarnation: from_sql(incarnation), seq: seq.max(0) as u64, head: 0 })
    }

    fn feed_since(&self, seq: u64, limit: usize) -> Result<Vec<FeedEntry>, StoreError> {
        let seq = i64::try_from(seq).unwrap_or(i64::MAX);
        Ok(self
            .db
            .changes_since(seq, u32::try_from(limit).unwrap_or(u32::MAX))?
            .into_iter()
            .map(|f| FeedEntry { seq: f.seq.max(0) as u64, doc_id: f.doc_id, doc_type: f.doc_type })
            .collect())
    }

    fn begin_session(&mut self, peer: &str) -> Result<(Checkpoint, u64), StoreError> {
        let row: Option<(i64, i64, i64)> = self
            .db
            .conn
            .query_row(
                "SELECT recv_seq, recv_incarnation, recv_head FROM peers WHERE peer_id = ?1",
                [peer],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let (seq, incarnation, head) = row.unwrap_or((0, 0, 0));
        self.db.sessions.next += 1;
        let checkpoint = Checkpoint {
            incarnation: from_sql(incarnation),
            seq: seq.max(0) as u64,
            head: head.max(0) as u64,
        };
        Ok((checkpoint, self.db.sessions.next))
    }

    fn peer_hello(&mut self, peer: Peer<'_>, has_upto: u64) -> Result<(), StoreError> {
        let record = &mut self.db.sessions.of_record;
        if record.get(peer.id).is_some_and(|s| *s > peer.session) {
            return Ok(()); // a later session's hello arrived first
        }
        record.insert(peer.id.to_string(), peer.session);
        let seq = i64::try_from(has_upto).unwrap_or(i64::MAX);
        replace_peer_sent_seq(&self.db.conn, peer.id, self.policy.is_parent, seq, self.now_ms)?;
        self.db.conn.execute(
            "UPDATE peers SET sent_incarnation = ?2 WHERE peer_id = ?1",
            params![peer.id, to_sql(peer.incarnation)],
        )?;
        Ok(())
    }

    fn outgoing(&mut self, peer: Peer<'_>, entry: &FeedEntry) -> Result<Option<DocChange>, StoreError> {
        debug_assert_eq!(peer.id, self.policy.peer_id);
        let row: Option<(String, String)> = self
            .db
            .conn
            .query_row("SELECT scope, doc_type FROM docs WHERE id = ?1", [&entry.doc_id], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?;
        let Some((scope, doc_type)) = row else { return Ok(None) };
        let refused: bool = self.db.conn.query_row(
            "SELECT EXISTS(SELECT 1 FROM peer_refusals WHERE peer_id = ?1 AND doc_id = ?2)",
            params![peer.id, entry.doc_id],
            |r| r.get(0),
        )?;
        if refused {
            return Ok(None); // stays unsynced (and shown so) until a new version is delivered
        }
        if !self.policy.sends(&doc_type, &scope) {
            return Ok(None);
        }
        let Some((mut doc, doc_type)) = load_doc(&self.db.conn, &entry.doc_id)? else { return Ok(None) };
        if self.policy.is_parent && !projection::ready_to_send_up(&doc_type, &doc) {
            return Ok(None); // goes with the change that makes it ready (a later feed entry)
        }
        let (shared, shared_incarnation) = self.shared_heads(&entry.doc_id)?;
        let heads = doc.get_heads();
        let mut sorted = heads.clone();
        sorted.sort_unstable();
        let mut shared_sorted = shared.clone();
        shared_sorted.sort_unstable();
        // Heads recorded under another incarnation of the peer are no proof it holds them
        // (its store may have been restored since): the change after them goes, possibly
        // empty, and the peer answers "missing history" if it lacks them.
        if sorted == shared_sorted && shared_incarnation == peer.incarnation {
            return Ok(None);
        }
        let data = if shared.is_empty() { doc.save() } else { doc.save_after(&shared) };
        Ok(Some(DocChange { doc_id: entry.doc_id.clone(), doc_type, scope, data, heads: to_hashes(&heads) }))
    }

    fn apply(
        &mut self,
        peer: Peer<'_>,
        upto_seq: u64,
        peer_head: u64,
        docs: Vec<DocChange>,
    ) -> Result<Vec<Rejected>, StoreError> {
        let of_record = self.of_record(peer);
        let rollups = self.db.config().stats_rollups;
        let tx = self.db.conn.transaction()?;
        let mut rejected = Vec::new();
        for d in docs {
            let reject = |reason, detail: String| Rejected { doc_id: d.doc_id.clone(), reason, detail };
            if !projection::is_known_type(&d.doc_type) {
                rejected.push(reject(RejectReason::Forbidden, format!("unknown type {:?}", d.doc_type)));
                continue;
            }
            let existing = load_doc(&tx, &d.doc_id)?;
            if let Some((_, t)) = &existing
                && *t != d.doc_type
            {
                rejected.push(reject(RejectReason::Invalid, format!("{} is a {t}", d.doc_id)));
                continue;
            }
            let is_new = existing.is_none();
            let mut doc = existing.map(|(doc, _)| doc).unwrap_or_else(AutoCommit::new);
            let before = doc.get_heads();
            // What a kiosk changes is checked against the document as held before its change.
            let held = (self.policy.peer_is_kiosk && !is_new).then(|| doc.clone());
            if let Err(e) = yizhan_core::untrusted::load_incremental(&mut doc, &d.data) {
                rejected.push(reject(RejectReason::Invalid, e.to_string()));
                continue;
            }
            if !doc.get_missing_deps(&[]).is_empty() {
                rejected.push(reject(
                    RejectReason::MissingDeps,
                    "changes depend on history not held here".into(),
                ));
                continue;
            }
            // The sender computed the changes from heads it believed held here.
            if d.heads.iter().any(|h| doc.get_change_meta_by_hash(&ChangeHash(*h)).is_none()) {
                rejected
                    .push(reject(RejectReason::MissingDeps, "the sender's heads are not held here".into()));
                continue;
            }
            let scope = match projection::validate(&d.doc_type, &doc) {
                Ok(scope) => scope,
                Err(e) => {
                    rejected.push(reject(RejectReason::Invalid, e));
                    continue;
                }
            };
            if !self.policy.accepts(&d.doc_type, &scope) {
                rejected.push(reject(
                    RejectReason::OutOfScope,
                    format!("{scope} is outside {}", self.policy.accept_scope),
                ));
                continue;
            }
            if doc.get_heads() != before
                && let Err(why) = self.policy.may_write(&d.doc_type, held.as_ref(), &doc)
            {
                rejected.push(reject(RejectReason::Forbidden, why));
                continue;
            }
            if doc.get_heads() != before {
                if is_new {
                    tx.execute(
                        "INSERT INTO docs (id, doc_type, snapshot, scope) VALUES (?1, ?2, ?3, ?4)",
                        params![d.doc_id, d.doc_type, doc.save(), scope],
                    )?;
                } else {
                    // Store the received changes as one more chunk; compaction folds them in later.
                    let chunk = doc.save_after(&before);
                    let n: i64 = tx.query_row(
                        "UPDATE docs SET change_count = change_count + 1, scope = ?2 WHERE id = ?1 RETURNING change_count",
                        params![d.doc_id, scope],
                        |r| r.get(0),
                    )?;
                    tx.execute(
                        "INSERT INTO doc_changes (doc_id, n, data) VALUES (?1, ?2, ?3)",
                        params![d.doc_id, n, chunk],
                    )?;
                }
                touch_feed(&tx, &d.doc_id, &d.doc_type)?;
                projection::project(&tx, &d.doc_type, &d.doc_id, &doc, self.now_ms, rollups)?;
            }
            tx.execute(
                "INSERT OR REPLACE INTO peer_docs (peer_id, doc_id, heads, incarnation) VALUES (?1, ?2, ?3, ?4)",
                params![peer.id, d.doc_id, encode_heads(&d.heads), to_sql(peer.incarnation)],
            )?;
            tx.execute(
                "DELETE FROM refusals_issued WHERE peer_id = ?1 AND doc_id = ?2",
                params![peer.id, d.doc_id],
            )?;
        }
        // Refusals wait here until the peer recorded them in its current incarnation.
        for r in rejected.iter().filter(|r| r.reason != RejectReason::MissingDeps) {
            tx.execute(
                "INSERT OR REPLACE INTO refusals_issued (peer_id, doc_id, code, detail, told_incarnation)
                 VALUES (?1, ?2, ?3, ?4, 0)",
                params![peer.id, r.doc_id, r.reason as i64, r.detail],
            )?;
        }
        tx.execute(
            "INSERT INTO peers (peer_id, last_contact_ms, is_parent) VALUES (?1, ?2, ?3)
             ON CONFLICT(peer_id) DO UPDATE SET last_contact_ms = ?2",
            params![peer.id, self.now_ms, self.policy.is_parent],
        )?;
        // A batch with a refusal does not move the checkpoint: if the acknowledgement carrying
        // the refusal is lost, the sender offers the document again and learns of it then. Nor
        // does a session other than the peer's session of record.
        if rejected.is_empty() && of_record {
            let upto = i64::try_from(upto_seq).unwrap_or(i64::MAX);
            let head = i64::try_from(peer_head).unwrap_or(i64::MAX);
            tx.execute(
                "UPDATE peers SET
                    recv_seq = CASE WHEN recv_incarnation = ?3 THEN max(recv_seq, ?2) ELSE ?2 END,
                    recv_head = CASE WHEN recv_incarnation = ?3 THEN max(recv_head, ?4) ELSE ?4 END,
                    recv_incarnation = ?3
                 WHERE peer_id = ?1",
                params![peer.id, upto, to_sql(peer.incarnation), head],
            )?;
        }
        tx.commit()?;
        Ok(rejected)
    }

    fn rewound(&mut self, peer: Peer<'_>, upto_seq: u64, peer_head: u64) -> Result<(), StoreError> {
        if !self.of_record(peer) {
            return Ok(());
        }
        tracing::warn!(peer = peer.id, upto_seq, "the peer's store went back (restored from a backup)");
        let upto = i64::try_from(upto_seq).unwrap_or(i64::MAX);
        let head = i64::try_from(peer_head).unwrap_or(i64::MAX);
        self.db.conn.execute(
            "INSERT INTO peers (peer_id, recv_seq, recv_incarnation, recv_head, last_contact_ms, is_parent)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT(peer_id) DO UPDATE SET recv_seq = ?2, recv_incarnation = ?3, recv_head = ?4,
                                               last_contact_ms = ?5",
            params![peer.id, upto, to_sql(peer.incarnation), head, self.now_ms, self.policy.is_parent],
        )?;
        Ok(())
    }

    fn acknowledged(&mut self, peer: Peer<'_>, docs: &[(String, Vec<Hash>)]) -> Result<(), StoreError> {
        let tx = self.db.conn.transaction()?;
        for (id, heads) in docs {
            tx.execute("DELETE FROM peer_refusals WHERE peer_id = ?1 AND doc_id = ?2", params![peer.id, id])?;
            tx.execute(
                "INSERT OR REPLACE INTO peer_docs (peer_id, doc_id, heads, incarnation) VALUES (?1, ?2, ?3, ?4)",
                params![peer.id, id, encode_heads(heads), to_sql(peer.incarnation)],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn forget_shared(&mut self, peer: Peer<'_>, doc_id: &str) -> Result<(), StoreError> {
        self.db
            .conn
            .execute("DELETE FROM peer_docs WHERE peer_id = ?1 AND doc_id = ?2", params![peer.id, doc_id])?;
        Ok(())
    }

    fn refused(&mut self, peer: Peer<'_>, refused: &[Rejected]) -> Result<(), StoreError> {
        let tx = self.db.conn.transaction()?;
        for r in refused {
            tracing::warn!(peer = peer.id, doc = %r.doc_id, reason = ?r.reason, detail = %r.detail, "peer refused a document");
            tx.execute(
                "INSERT OR REPLACE INTO peer_refusals (peer_id, doc_id, code, detail) VALUES (?1, ?2, ?3, ?4)",
                params![peer.id, r.doc_id, r.reason as i64, r.detail],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn refusals_to_tell(&mut self, peer: Peer<'_>, limit: usize) -> Result<Vec<Rejected>, StoreError> {
        let mut stmt = self.db.conn.prepare(
            "SELECT doc_id, code, detail FROM refusals_issued
             WHERE peer_id = ?1 AND told_incarnation != ?2 ORDER BY doc_id LIMIT ?3",
        )?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt.query_map(params![peer.id, to_sql(peer.incarnation), limit], |r| {
            Ok(Rejected {
                doc_id: r.get(0)?,
                reason: RejectReason::from_code(u16::try_from(r.get::<_, i64>(1)?).unwrap_or(u16::MAX)),
                detail: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn refusals_told(&mut self, peer: Peer<'_>, doc_ids: &[String]) -> Result<(), StoreError> {
        let tx = self.db.conn.transaction()?;
        for id in doc_ids {
            tx.execute(
                "UPDATE refusals_issued SET told_incarnation = ?3 WHERE peer_id = ?1 AND doc_id = ?2",
                params![peer.id, id, to_sql(peer.incarnation)],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn peer_has_upto(&mut self, peer: Peer<'_>, seq: u64) -> Result<(), StoreError> {
        if !self.of_record(peer) {
            return Ok(());
        }
        let seq = i64::try_from(seq).unwrap_or(i64::MAX);
        set_peer_sent_seq(&self.db.conn, peer.id, self.policy.is_parent, seq, self.now_ms)
    }

    fn blobs_held(&mut self, _peer: Peer<'_>, hashes: &[BlobHash]) -> Result<Vec<BlobHash>, StoreError> {
        let asked: Vec<crate::Hash> = hashes.iter().filter_map(|h| crate::Hash::parse(&to_hex(h))).collect();
        let held = self.db.held_for_peer(&asked, &self.policy.send_scope)?;
        Ok(held.iter().filter_map(|h| from_hex(h.as_str())).collect())
    }

    fn peer_holds_blobs(&mut self, peer: Peer<'_>, hashes: &[BlobHash]) -> Result<(), StoreError> {
        if !self.policy.is_parent {
            return Ok(()); // a hub does not track what its children hold
        }
        let held: Vec<crate::Hash> = hashes.iter().filter_map(|h| crate::Hash::parse(&to_hex(h))).collect();
        self.db.record_peer_holds(peer.id, &held)
    }

    fn blobs_to_confirm(&mut self, peer: Peer<'_>, limit: usize) -> Result<Vec<BlobHash>, StoreError> {
        if !self.policy.is_parent {
            return Ok(Vec::new());
        }
        let hashes = self.db.blobs_to_confirm(peer.id, &self.policy.send_scope, limit)?;
        Ok(hashes.iter().filter_map(|h| from_hex(h.as_str())).collect())
    }
}
