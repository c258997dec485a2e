//! The bounty board's projection (migration 10): `bounty_claims`, one row per claim document
//! this node holds (`yizhan_core::claim`), by bounty, so a board reads one bounty's claims
//! without scanning documents. Rebuilt by `rebuild-projections`.

use automerge::AutoCommit;
use rusqlite::{Connection, params};
use yizhan_core::claim::ClaimDoc;

use crate::StoreError;
use crate::db::Db;

/// Claims read for one bounty at most.
pub const CLAIMS_PER_BOUNTY_MAX: u32 = 500;

pub(crate) fn project_claim(tx: &Connection, id: &str, doc: &AutoCommit) -> Result<String, StoreError> {
    let c = ClaimDoc::from_doc(doc)
        .map_err(|e| StoreError::Corrupt { id: id.to_string(), detail: e.to_string() })?;
    tx.execute(
        "INSERT OR REPLACE INTO bounty_claims (id, bounty, region_code, expert, claimed_at_ms, picked, done)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![id, c.bounty, c.region_code, c.expert, c.claimed_at_ms, c.is_picked(), c.is_done()],
    )?;
    Ok(c.region_code)
}

pub(crate) fn clear(tx: &Connection) -> Result<(), StoreError> {
    tx.execute("DELETE FROM bounty_claims", [])?;
    Ok(())
}

impl Db {
    /// The claims on `bounty` this node holds, earliest first (at most [`CLAIMS_PER_BOUNTY_MAX`]).
    pub fn claims_of(&self, bounty: &str) -> Result<Vec<ClaimDoc>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id FROM bounty_claims WHERE bounty = ?1 ORDER BY claimed_at_ms, id LIMIT ?2",
        )?;
        let ids = stmt
            .query_map(params![bounty, CLAIMS_PER_BOUNTY_MAX], |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(doc) = self.load_doc(&id)?
                && let Ok(c) = ClaimDoc::from_doc(&doc)
            {
                out.push(c);
            }
        }
        Ok(out)
    }
}
