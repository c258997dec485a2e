//! What the targets (指标, `core::targets`) and evaluations (`core::evaluation`) read from the
//! store: the `targets` documents that apply to a region (found by id, `targets-<region>`, for
//! the region and each one above it), the published items of the modules counted by kind prefix
//! (`public_items`), the province's evaluation rule (by id) and people's names.

use rusqlite::params;
use yizhan_core::targets::{DOC_TYPE, TargetDoc};
use yizhan_core::{RegionLevel, region};

use crate::StoreError;
use crate::db::Db;

impl Db {
    /// The targets documents this node holds for `region` and the regions above it (the
    /// province's, its city's, its own), top first; unreadable ones are logged and skipped.
    pub fn target_docs(&self, region_code: &str) -> Result<Vec<TargetDoc>, StoreError> {
        let mut out = Vec::new();
        for level in [RegionLevel::Province, RegionLevel::City, RegionLevel::County] {
            let Some(code) = region::ancestor_at(region_code, level) else { continue };
            let id = TargetDoc::id_for(code);
            if self.doc_type(&id)?.as_deref() != Some(DOC_TYPE) {
                continue;
            }
            let Some(doc) = self.load_doc(&id)? else { continue };
            match TargetDoc::from_doc(&doc) {
                Ok(t) => out.push(t),
                Err(e) => tracing::warn!(%id, error = %e, "unreadable targets document"),
            }
        }
        Ok(out)
    }

    /// Published items (not withdrawn) whose kind starts with one of `prefixes` and whose
    /// centre lies within `region_code`: all of them, and those published since `since_ms`.
    pub fn published_counts(
        &self,
        prefixes: &[&str],
        region_code: &str,
        since_ms: i64,
    ) -> Result<(i64, i64), StoreError> {
        let (lo, hi) = region::within_range(region_code);
        // Taken-down items (安全熔断) are not counted, as they are not shown.
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT COUNT(*), COALESCE(SUM(published_at_ms >= ?4), 0) FROM public_items p
             WHERE withdrawn = 0 AND centre >= ?1 AND centre < ?2 AND substr(kind, 1, length(?3)) = ?3 AND {}",
            crate::takedown::NOT_TAKEN_DOWN
        ))?;
        let (mut all, mut recent) = (0, 0);
        for p in prefixes {
            let (a, r): (i64, i64) =
                stmt.query_row(params![lo, hi, p, since_ms], |r| Ok((r.get(0)?, r.get(1)?)))?;
            all += a;
            recent += r;
        }
        Ok((all, recent))
    }
}

impl Db {
    /// The province's evaluation rule (激励保障) if this node holds it, else the default rule;
    /// an unreadable one is logged and the default applies.
    pub fn evaluation_rule(&self) -> Result<yizhan_core::evaluation::EvaluationRule, StoreError> {
        use yizhan_core::evaluation::{self, EvaluationRule};
        if self.doc_type(evaluation::RULE_ID)?.as_deref() == Some(evaluation::DOC_TYPE)
            && let Some(doc) = self.load_doc(evaluation::RULE_ID)?
        {
            match EvaluationRule::from_doc(&doc) {
                Ok(r) => return Ok(r),
                Err(e) => tracing::warn!(error = %e, "unreadable evaluation rule: the default applies"),
            }
        }
        Ok(EvaluationRule::default())
    }

    /// People's names by id (those this node's directory holds).
    pub fn person_names(
        &self,
        ids: &[String],
    ) -> Result<std::collections::HashMap<String, String>, StoreError> {
        let mut stmt = self.conn.prepare_cached("SELECT name FROM people WHERE id = ?1")?;
        let mut out = std::collections::HashMap::new();
        for id in ids {
            let mut rows = stmt.query([id])?;
            if let Some(r) = rows.next()? {
                out.insert(id.clone(), r.get::<_, String>(0)?);
            }
        }
        Ok(out)
    }
}
