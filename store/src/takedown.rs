//! The takedowns this node applies (安全熔断, `yizhan_core::takedown`): node-local rows written
//! only after the document's signature was verified (`yizhan_net::follow_takedowns`), and the
//! one SQL condition every public read of published items adds ([`NOT_TAKEN_DOWN`]), so a
//! taken-down item is listed, counted and served nowhere, including items that arrive after
//! the takedown (the condition is evaluated on every read, not when the item arrived).
//!
//! A takedown hides an item when it is not lifted, the item's centre lies within the takedown's
//! region, and the target matches: the item's public id (or, for an account, one of the ids it
//! lists), its kind's prefix, or a region containing its centre.

use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use yizhan_core::takedown::{Takedown, Target};

use crate::StoreError;
use crate::db::Db;

/// Takedowns a list returns at most.
pub const TAKEDOWN_LIST_MAX: u32 = 500;

/// The condition, on a `public_items` row aliased `p`, that no applied takedown hides it.
pub const NOT_TAKEN_DOWN: &str = "NOT EXISTS (SELECT 1 FROM takedowns t WHERE t.lifted = 0
    AND substr(p.centre, 1, length(t.region)) = t.region
    AND ((t.target_kind = 'item' AND t.target = p.id)
      OR (t.target_kind = 'account' AND EXISTS (SELECT 1 FROM takedown_items ti WHERE ti.takedown = t.id AND ti.item = p.id))
      OR (t.target_kind = 'module' AND substr(p.kind, 1, length(t.target)) = t.target)
      OR (t.target_kind = 'region' AND substr(p.centre, 1, length(t.target)) = t.target)))";

/// A takedown as this node applies it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TakedownRow {
    pub id: String,
    /// `item`, `account`, `module` or `region`.
    pub target_kind: String,
    pub target: String,
    pub region: String,
    pub reason: String,
    pub by_name: String,
    pub issuer: String,
    pub at_ms: i64,
    pub lifted: bool,
    pub lift_reason: String,
    pub lifted_by_name: String,
    pub lifted_at_ms: i64,
}

/// A verified lift, as recorded.
#[derive(Debug, Clone)]
pub struct LiftRecord {
    pub reason: String,
    pub by_name: String,
    pub at_ms: i64,
}

const COLS: &str = "id, target_kind, target, region, reason, by_name, issuer, at_ms, lifted, lift_reason,
    lifted_by_name, lifted_at_ms";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TakedownRow> {
    Ok(TakedownRow {
        id: r.get(0)?,
        target_kind: r.get(1)?,
        target: r.get(2)?,
        region: r.get(3)?,
        reason: r.get(4)?,
        by_name: r.get(5)?,
        issuer: r.get(6)?,
        at_ms: r.get(7)?,
        lifted: r.get(8)?,
        lift_reason: r.get(9)?,
        lifted_by_name: r.get(10)?,
        lifted_at_ms: r.get(11)?,
    })
}

impl Db {
    /// Records a verified takedown (and its verified lift, if any), replacing what was recorded
    /// for its id. Call only after checking the signatures.
    pub fn apply_takedown(&mut self, t: &Takedown, lift: Option<&LiftRecord>) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        tx.execute(
            &format!(
                "INSERT OR REPLACE INTO takedowns ({COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
            ),
            params![
                t.id,
                t.target.code(),
                t.target.name(),
                t.region,
                t.reason,
                t.by_name,
                t.issuer,
                t.at_ms,
                lift.is_some(),
                lift.map(|l| l.reason.as_str()).unwrap_or_default(),
                lift.map(|l| l.by_name.as_str()).unwrap_or_default(),
                lift.map_or(0, |l| l.at_ms),
            ],
        )?;
        tx.execute("DELETE FROM takedown_items WHERE takedown = ?1", [&t.id])?;
        if let Target::Account { items, .. } = &t.target {
            let mut insert =
                tx.prepare_cached("INSERT OR IGNORE INTO takedown_items (takedown, item) VALUES (?1, ?2)")?;
            for item in items {
                insert.execute(params![t.id, item])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Records a lift of a recorded takedown (the lifting hub, which signed it).
    pub fn apply_lift(&mut self, id: &str, lift: &LiftRecord) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE takedowns SET lifted = 1, lift_reason = ?2, lifted_by_name = ?3, lifted_at_ms = ?4 WHERE id = ?1",
            params![id, lift.reason, lift.by_name, lift.at_ms],
        )?;
        Ok(())
    }

    /// The takedowns this node applies or applied, newest first, within `region` or above it
    /// (a county's staff see the province's takedowns that act on their county too).
    pub fn takedowns(&self, region: &str, limit: u32) -> Result<Vec<TakedownRow>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {COLS} FROM takedowns
             WHERE substr(region, 1, length(?1)) = ?1 OR substr(?1, 1, length(region)) = region
             ORDER BY at_ms DESC, id LIMIT ?2"
        ))?;
        let rows = stmt.query_map(params![region, limit.clamp(1, TAKEDOWN_LIST_MAX)], row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// One recorded takedown.
    pub fn takedown(&self, id: &str) -> Result<Option<TakedownRow>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!("SELECT {COLS} FROM takedowns WHERE id = ?1"))?;
        Ok(stmt.query_row([id], row).optional()?)
    }

    /// The takedown in force hiding the published item `id`, if any (the newest).
    pub fn takedown_of(&self, id: &str) -> Result<Option<TakedownRow>, StoreError> {
        let cols: Vec<String> = COLS.split(',').map(|c| format!("t.{}", c.trim())).collect();
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {} FROM public_items p JOIN takedowns t ON t.lifted = 0
                AND substr(p.centre, 1, length(t.region)) = t.region
                AND ((t.target_kind = 'item' AND t.target = p.id)
                  OR (t.target_kind = 'account' AND EXISTS (SELECT 1 FROM takedown_items ti WHERE ti.takedown = t.id AND ti.item = p.id))
                  OR (t.target_kind = 'module' AND substr(p.kind, 1, length(t.target)) = t.target)
                  OR (t.target_kind = 'region' AND substr(p.centre, 1, length(t.target)) = t.target))
             WHERE p.id = ?1 ORDER BY t.at_ms DESC LIMIT 1",
            cols.join(", ")
        ))?;
        Ok(stmt.query_row([id], row).optional()?)
    }

    /// The public ids of the items `person` submitted that are published and lie within
    /// `region`, at most `limit` (an account takedown lists them).
    pub fn published_items_of_author(
        &self,
        person: &str,
        region: &str,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT doc_id FROM publications WHERE author = ?1 AND stage IN ('published', 'withdrawn')
             AND substr(centre, 1, length(?2)) = ?2 ORDER BY last_at_ms DESC LIMIT ?3",
        )?;
        let ids = stmt.query_map(params![person, region, limit as i64], |r| r.get::<_, String>(0))?;
        Ok(ids
            .map(|id| id.map(|i| yizhan_core::published::PublishedDoc::id_for(&i)))
            .collect::<Result<_, _>>()?)
    }
}

impl Db {
    /// A published item as the public may read it: `None` when the id is not a published
    /// document, or it is withdrawn, or a takedown in force hides it. Every public read of one
    /// item (pages, photos, PDFs, APIs) goes through this.
    pub fn shown_published(
        &self,
        id: &str,
    ) -> Result<Option<yizhan_core::published::PublishedDoc>, StoreError> {
        if self.doc_type(id)?.as_deref() != Some(yizhan_core::published::DOC_TYPE) {
            return Ok(None);
        }
        let Some(p) =
            self.load_doc(id)?.and_then(|d| yizhan_core::published::PublishedDoc::from_doc(&d).ok())
        else {
            return Ok(None);
        };
        if p.is_withdrawn() || self.takedown_of(id)?.is_some() {
            return Ok(None);
        }
        Ok(Some(p))
    }
}

/// How long a submission counts towards an account's limits (the daily one).
pub const SUBMISSION_WINDOW_MS: i64 = 24 * 3600 * 1000;
const HOUR_MS: i64 = 3600 * 1000;

impl Db {
    /// Records a submission by `person` now and returns how many she made within the last hour
    /// and the last day, this one included (rows older than a day are dropped, so the table
    /// holds at most a day of submissions).
    pub fn record_submission(&mut self, person: &str) -> Result<(u64, u64), StoreError> {
        let now = self.config().clock.now_ms();
        self.conn.execute("DELETE FROM submissions WHERE at_ms <= ?1", [now - SUBMISSION_WINDOW_MS])?;
        self.conn.execute("INSERT INTO submissions (person, at_ms) VALUES (?1, ?2)", params![person, now])?;
        let count = |since: i64| -> Result<u64, StoreError> {
            let n: i64 = self.conn.query_row(
                "SELECT COUNT(*) FROM submissions WHERE person = ?1 AND at_ms > ?2",
                params![person, since],
                |r| r.get(0),
            )?;
            Ok(n.max(0) as u64)
        };
        Ok((count(now - HOUR_MS)?, count(now - SUBMISSION_WINDOW_MS)?))
    }

    /// Whether an account takedown in force names `person` (her breaker has tripped).
    pub fn account_taken_down(&self, person: &str) -> Result<bool, StoreError> {
        Ok(self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM takedowns WHERE target_kind = 'account' AND target = ?1 AND lifted = 0)",
            [person],
            |r| r.get(0),
        )?)
    }

    /// The province's sensitive-word list, if this node holds it (an unreadable one is logged
    /// and treated as absent).
    pub fn sensitive_words(&self) -> Result<Option<yizhan_core::sensitive::SensitiveWords>, StoreError> {
        use yizhan_core::sensitive::{DOC_ID, SensitiveWords};
        let Some(doc) = self.load_doc(DOC_ID)? else { return Ok(None) };
        match SensitiveWords::from_doc(&doc) {
            Ok(s) => Ok(Some(s)),
            Err(e) => {
                tracing::warn!(error = %e, "unreadable sensitive-word list");
                Ok(None)
            }
        }
    }
}
