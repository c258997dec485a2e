//! The store's side of a sync session: [`yizhan_sync_proto::Replica`] on SQLite.
//!
//! Architecture invariant: a document received from a peer is accepted only if this build
//! knows its type, its content validates, and the scope read from its content (not the
//! scope the sender declared) lies within what that peer may write. Each received batch is
//! applied in one transaction together with the peer's new checkpoint.

use automerge::{AutoCommit, ChangeHash};
use rusqlite::{OptionalExtension, params};
use yizhan_sync_proto::{DocChange, FeedEntry, Hash, RejectReason, Rejected, Replica};

use crate::db::{Db, load_doc, set_peer_sent_seq, touch_feed};
use crate::{StoreError, projection};

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
            send_private: own_scope.len() >= 9,
        }
    }

    /// A hub talking to a child (kiosk or lower hub): both ways only the child's scope.
    pub fn child(peer_id: &str, child_scope: &str) -> PeerPolicy {
        PeerPolicy {
            peer_id: peer_id.into(),
            is_parent: false,
            send_scope: child_scope.into(),
            accept_scope: child_scope.into(),
            accept_public: false,
            send_private: true,
        }
    }

    /// A hub talking to a child hub: like [`PeerPolicy::child`], and the child may publish.
    pub fn child_hub(peer_id: &str, child_scope: &str) -> PeerPolicy {
        PeerPolicy { accept_public: true, ..PeerPolicy::child(peer_id, child_scope) }
    }

    /// Whether a document of `doc_type` whose scope (read from its content) is `scope` may be
    /// sent to this peer:
    /// - a downward document (a county's sealing key) only to a child whose scope lies strictly
    ///   within the document's: the county's kiosks, never a parent;
    /// - a private part only when [`PeerPolicy::send_private`];
    /// - otherwise when its scope lies within the send scope, or it is public.
    pub fn sends(&self, doc_type: &str, scope: &str) -> bool {
        if projection::is_downward_type(doc_type) {
            return !self.is_parent
                && self.send_scope.len() > scope.len()
                && self.send_scope.starts_with(scope);
        }
        if projection::is_private_type(doc_type) && !self.send_private {
            return false;
        }
        scope.starts_with(&self.send_scope) || projection::is_public_type(doc_type)
    }

    /// Whether a document of `doc_type` whose scope (read from its content) is `scope` may be
    /// accepted from this peer:
    /// - a downward document only from the parent, and only when this node lies strictly within
    ///   its scope (a kiosk takes its own county's key; a county hub never takes one, so nobody
    ///   but the county hub writes its key);
    /// - otherwise when its scope lies within the accept scope, or it is public and
    ///   [`PeerPolicy::accept_public`].
    pub fn accepts(&self, doc_type: &str, scope: &str) -> bool {
        if projection::is_downward_type(doc_type) {
            return self.is_parent
                && self.accept_scope.len() > scope.len()
                && self.accept_scope.starts_with(scope);
        }
        scope.starts_with(&self.accept_scope) || (projection::is_public_type(doc_type) && self.accept_public)
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
    fn shared_heads(&self, doc_id: &str) -> Result<Vec<ChangeHash>, StoreError> {
        let bytes: Option<Vec<u8>> = self
            .db
            .conn
            .query_row(
                "SELECT heads FROM peer_docs WHERE peer_id = ?1 AND doc_id = ?2",
                params![self.policy.peer_id, doc_id],
                |r| r.get(0),
            )
            .optional()?;
        Ok(bytes.map(|b| decode_heads(&b)).unwrap_or_default())
    }
}

impl Replica for SyncReplica<'_> {
    type Error = StoreError;

    fn feed_head(&self) -> Result<u64, StoreError> {
        let head: i64 = self.db.conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM feed", [], |r| r.get(0))?;
        Ok(head.max(0) as u64)
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

    fn recv_checkpoint(&self, peer: &str) -> Result<u64, StoreError> {
        let seq: Option<i64> = self
            .db
            .conn
            .query_row("SELECT recv_seq FROM peers WHERE peer_id = ?1", [peer], |r| r.get(0))
            .optional()?;
        Ok(seq.unwrap_or(0).max(0) as u64)
    }

    fn outgoing(&mut self, peer: &str, entry: &FeedEntry) -> Result<Option<DocChange>, StoreError> {
        debug_assert_eq!(peer, self.policy.peer_id);
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
            params![peer, entry.doc_id],
            |r| r.get(0),
        )?;
        if refused {
            return Ok(None); // stays unsynced (and shown so) until a new version is delivered
        }
        if !self.policy.sends(&doc_type, &scope) {
            return Ok(None);
        }
        let Some((mut doc, doc_type)) = load_doc(&self.db.conn, &entry.doc_id)? else { return Ok(None) };
        let shared = self.shared_heads(&entry.doc_id)?;
        let heads = doc.get_heads();
        let mut sorted = heads.clone();
        sorted.sort_unstable();
        let mut shared_sorted = shared.clone();
        shared_sorted.sort_unstable();
        if sorted == shared_sorted {
            return Ok(None);
        }
        let data = if shared.is_empty() { doc.save() } else { doc.save_after(&shared) };
        Ok(Some(DocChange { doc_id: entry.doc_id.clone(), doc_type, scope, data, heads: to_hashes(&heads) }))
    }

    fn apply(
        &mut self,
        peer: &str,
        upto_seq: u64,
        docs: Vec<DocChange>,
    ) -> Result<Vec<Rejected>, StoreError> {
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
            if let Err(e) = doc.load_incremental(&d.data) {
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
                projection::project(&tx, &d.doc_type, &d.doc_id, &doc, self.now_ms)?;
            }
            tx.execute(
                "INSERT OR REPLACE INTO peer_docs (peer_id, doc_id, heads) VALUES (?1, ?2, ?3)",
                params![peer, d.doc_id, encode_heads(&d.heads)],
            )?;
        }
        // A batch with a refusal does not move the checkpoint: if the acknowledgement carrying
        // the refusal is lost, the sender offers the document again and learns of it then.
        let upto = if rejected.is_empty() { i64::try_from(upto_seq).unwrap_or(i64::MAX) } else { 0 };
        tx.execute(
            "INSERT INTO peers (peer_id, recv_seq, last_contact_ms, is_parent) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(peer_id) DO UPDATE SET recv_seq = max(recv_seq, ?2), last_contact_ms = ?3",
            params![peer, upto, self.now_ms, self.policy.is_parent],
        )?;
        tx.commit()?;
        Ok(rejected)
    }

    fn acknowledged(&mut self, peer: &str, docs: &[(String, Vec<Hash>)]) -> Result<(), StoreError> {
        let tx = self.db.conn.transaction()?;
        for (id, heads) in docs {
            tx.execute("DELETE FROM peer_refusals WHERE peer_id = ?1 AND doc_id = ?2", params![peer, id])?;
            tx.execute(
                "INSERT OR REPLACE INTO peer_docs (peer_id, doc_id, heads) VALUES (?1, ?2, ?3)",
                params![peer, id, encode_heads(heads)],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn forget_shared(&mut self, peer: &str, doc_id: &str) -> Result<(), StoreError> {
        self.db
            .conn
            .execute("DELETE FROM peer_docs WHERE peer_id = ?1 AND doc_id = ?2", params![peer, doc_id])?;
        Ok(())
    }

    fn refused(&mut self, peer: &str, refused: &[Rejected]) -> Result<(), StoreError> {
        let tx = self.db.conn.transaction()?;
        for r in refused {
            tracing::warn!(peer, doc = %r.doc_id, reason = ?r.reason, detail = %r.detail, "peer refused a document");
            tx.execute(
                "INSERT OR REPLACE INTO peer_refusals (peer_id, doc_id, code, detail) VALUES (?1, ?2, ?3, ?4)",
                params![peer, r.doc_id, r.reason as i64, r.detail],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn peer_has_upto(&mut self, peer: &str, seq: u64) -> Result<(), StoreError> {
        let seq = i64::try_from(seq).unwrap_or(i64::MAX);
        set_peer_sent_seq(&self.db.conn, peer, self.policy.is_parent, seq, self.now_ms)
    }
}
