//! Which blobs this node's parent hub holds (issue 13, honest sync state): the hub tells its
//! kiosk, in `Held` messages, of every blob it completes from it and answers the kiosk's
//! `HeldQuery` once documents are in sync (docs/PROTOCOL.md, "Blobs held"). The kiosk keeps
//! the answers in `peer_blobs` (migration 9), so the officer sees which cases the county
//! holds whole and what is still to send, also after a restart.
//!
//! What "the county holds a case" means: its documents (the case and its private part) are
//! applied there, and so are the blobs the county's desk shows: thumbnails, display copies,
//! video posters and proxies ([`NEEDED_ROLES`]). Originals do not count for a case (a photo
//! whose display copy is its original counts, being the same blob); they do count in what the
//! header still has to send, and "已全部同步" waits for them too.

use rusqlite::params;
use serde::Serialize;

use crate::db::{REFUSED_BY_PARENT, UNSYNCED_SINCE};
use crate::{Db, Hash, StoreError};

/// The roles of the blobs a county needs before a case is shown as held there.
pub const NEEDED_ROLES: [&str; 4] = ["thumb", "display", "poster", "proxy"];
/// The same, as an SQL list.
const NEEDED_ROLES_SQL: &str = "('thumb', 'display', 'poster', 'proxy')";
/// The peers this node reports to: its parent hubs.
const PARENTS: &str = "(SELECT peer_id FROM peers WHERE is_parent = 1)";

/// The SQL condition "the parent holds case `id` whole" for a case id expression `id`: its
/// documents applied there and every blob in a [`NEEDED_ROLES`] role held there.
pub(crate) fn case_at_parent_sql(id: &str) -> String {
    format!(
        "(NOT EXISTS (SELECT 1 FROM feed f WHERE f.doc_id IN ({id}, {id} || '.private')
                        AND (f.seq > {UNSYNCED_SINCE} OR f.doc_id IN {REFUSED_BY_PARENT}))
          AND EXISTS (SELECT 1 FROM feed f WHERE f.doc_id = {id})
          AND NOT EXISTS (SELECT 1 FROM doc_blobs b WHERE b.doc_id = {id} AND b.role IN {NEEDED_ROLES_SQL}
                            AND b.hash NOT IN (SELECT hash FROM peer_blobs WHERE peer_id IN {PARENTS})))"
    )
}

/// What this node still has to send its parent hub: blobs referenced by its documents that
/// it holds and the parent is not known to hold.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct UploadBacklog {
    /// Photos whose original the parent lacks (originals go last, so a photo is whole at the
    /// parent once its original is).
    pub photos: u64,
    /// Videos whose original the parent lacks.
    pub videos: u64,
    /// Every blob still to send (copies and originals), and their bytes.
    pub blobs: u64,
    pub bytes: u64,
    /// Of those, the blobs in a [`NEEDED_ROLES`] role (the county needs them to triage).
    pub needed_blobs: u64,
    pub needed_bytes: u64,
}

impl UploadBacklog {
    pub fn is_empty(&self) -> bool {
        self.blobs == 0
    }
}

impl Db {
    /// `peer` holds these blobs complete (kept for parents only: a hub does not track what
    /// its children hold).
    pub fn record_peer_holds(&mut self, peer: &str, hashes: &[Hash]) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        {
            let mut insert =
                tx.prepare_cached("INSERT OR IGNORE INTO peer_blobs (peer_id, hash) VALUES (?1, ?2)")?;
            for hash in hashes {
                insert.execute(params![peer, hash.as_str()])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Of `hashes`, those this node holds that a peer receiving documents within `send_scope`
    /// may receive (the others, held or not, are left out alike).
    pub fn held_for_peer(&self, hashes: &[Hash], send_scope: &str) -> Result<Vec<Hash>, StoreError> {
        let mut out = Vec::new();
        for hash in hashes {
            let held: bool = self.conn.query_row(
                "SELECT EXISTS(SELECT 1 FROM blobs WHERE hash = ?1)",
                [hash.as_str()],
                |r| r.get(0),
            )?;
            if held && self.blob_allowed(hash, send_scope)? {
                out.push(hash.clone());
            }
        }
        Ok(out)
    }

    /// Blobs referenced by documents within `send_scope` that `peer` is not recorded to hold,
    /// most wanted first (the fetch order), at most `limit`.
    pub fn blobs_to_confirm(
        &self,
        peer: &str,
        send_scope: &str,
        limit: usize,
    ) -> Result<Vec<Hash>, StoreError> {
        let sql = format!(
            "SELECT b.hash, MIN({}) AS blob_rank, MAX(b.bytes) AS bytes
             FROM doc_blobs b JOIN docs d ON d.id = b.doc_id
             WHERE substr(d.scope, 1, length(?2)) = ?2
               AND NOT EXISTS (SELECT 1 FROM peer_blobs p WHERE p.peer_id = ?1 AND p.hash = b.hash)
             GROUP BY b.hash ORDER BY blob_rank, bytes, b.hash LIMIT ?3",
            Db::BLOB_RANK
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt.query_map(params![peer, send_scope, limit], |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for row in rows {
            if let Some(hash) = Hash::parse(&row?) {
                out.push(hash);
            }
        }
        Ok(out)
    }

    /// What this node still has to send its parent hub (see [`UploadBacklog`]).
    pub fn upload_backlog(&self) -> Result<UploadBacklog, StoreError> {
        let sql = format!(
            "WITH pending AS (
                SELECT b.hash,
                       MAX(b.bytes) AS bytes,
                       MAX(b.role = 'original' AND b.kind = 'photo') AS photo,
                       MAX(b.role = 'original' AND b.kind = 'video') AS video,
                       MAX(b.role IN {NEEDED_ROLES_SQL}) AS needed
                FROM doc_blobs b
                WHERE EXISTS (SELECT 1 FROM blobs WHERE blobs.hash = b.hash)
                  AND b.hash NOT IN (SELECT hash FROM peer_blobs WHERE peer_id IN {PARENTS})
                GROUP BY b.hash)
             SELECT COALESCE(SUM(photo), 0), COALESCE(SUM(video), 0), COUNT(*), COALESCE(SUM(bytes), 0),
                    COALESCE(SUM(needed), 0), COALESCE(SUM(CASE WHEN needed THEN bytes ELSE 0 END), 0)
             FROM pending"
        );
        let n = |v: i64| v.max(0) as u64;
        Ok(self.conn.query_row(&sql, [], |r| {
            Ok(UploadBacklog {
                photos: n(r.get(0)?),
                videos: n(r.get(1)?),
                blobs: n(r.get(2)?),
                bytes: n(r.get(3)?),
                needed_blobs: n(r.get(4)?),
                needed_bytes: n(r.get(5)?),
            })
        })?)
    }

    /// Whether the parent hub holds case `id` whole (see the module's documentation).
    pub fn case_at_parent(&self, id: &str) -> Result<bool, StoreError> {
        let sql = format!("SELECT {}", case_at_parent_sql("?1"));
        Ok(self.conn.query_row(&sql, [id], |r| r.get(0))?)
    }
}
