//! The store's side of 特派员讲堂's pre-fetch at kiosks (`yizhan_lectures`): the plan the
//! kiosk keeps (`lecture_plan`, migration 12, node-local: which published lectures it wants and
//! when each was last watched, on the store's clock), the blobs of a lecture it holds, the
//! eviction of a lecture's files, and whether higher-priority work waits on the link (sync asks
//! before every lecture byte).
//!
//! Also the `lecture_views` projection (migration 14) of the nodes' view counts
//! (`yizhan_core::lecture_views`), rebuildable, and the recording of a view.
//!
//! A lecture's large files are `doc_blobs` rows of kind [`LECTURE_BLOB_KIND`]. They rank after
//! every other blob (`Db::BLOB_RANK`). On a node whose setting [`PLANNED_SETTING`] is set (a
//! kiosk), [`Db::missing_blobs`] lists only those of lectures its plan wants, and never a
//! lecture video's original.

use std::collections::BTreeMap;

use automerge::AutoCommit;
use rusqlite::{Connection, OptionalExtension, params};
use yizhan_core::lecture_views::{self, LectureCount, LectureViewsDoc, MonthViews, RegionViews, ViewStats};
use yizhan_core::{region, stats};

use crate::db::{REFUSED_BY_PARENT, UNSYNCED_SINCE};
use crate::{Db, Hash, StoreError, blobs, projection};

/// The attachment kind of a lecture's large files (`yizhan_lectures::BLOB_KIND`).
pub const LECTURE_BLOB_KIND: &str = "lecture";
/// The setting that makes this node fetch only the lectures its plan wants.
pub const PLANNED_SETTING: &str = "lectures.planned";
/// Lectures in a plan at most.
pub const PLAN_ROWS_MAX: usize = 100_000;

/// The `missing_blobs` condition on a `doc_blobs` row `b`: not a lecture file, or (on a node
/// without a plan) any lecture file, or (with one) a lecture file other than a video's
/// original of a lecture the plan wants.
pub(crate) const LECTURE_FILTER_SQL: &str = "(b.kind <> 'lecture'
    OR NOT EXISTS (SELECT 1 FROM settings WHERE key = 'lectures.planned')
    OR (b.role <> 'original' AND EXISTS (SELECT 1 FROM lecture_plan lp WHERE lp.doc_id = b.doc_id AND lp.wanted = 1)))";

/// One lecture's row of the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PlanRow {
    pub wanted: bool,
    pub last_watched_ms: Option<i64>,
}

impl Db {
    /// Makes this node fetch only the lectures its plan wants (a kiosk, at start).
    pub fn set_lectures_planned(&mut self) -> Result<(), StoreError> {
        self.set_setting(PLANNED_SETTING, "1")
    }

    /// The plan as stored, by published document id.
    pub fn lecture_plan(&self) -> Result<BTreeMap<String, PlanRow>, StoreError> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT doc_id, wanted, last_watched_ms FROM lecture_plan ORDER BY doc_id LIMIT {PLAN_ROWS_MAX}"
        ))?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                PlanRow { wanted: r.get::<_, i64>(1)? != 0, last_watched_ms: r.get(2)? },
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Records which lectures are wanted (every id given; the others not), keeping watch times.
    pub fn set_lecture_plan(&mut self, wanted: &[String], not_wanted: &[String]) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        let mut changed = 0;
        {
            let mut up = tx.prepare_cached(
                "INSERT INTO lecture_plan (doc_id, wanted) VALUES (?1, ?2)
                 ON CONFLICT(doc_id) DO UPDATE SET wanted = ?2 WHERE lecture_plan.wanted <> ?2",
            )?;
            for id in wanted.iter().take(PLAN_ROWS_MAX) {
                changed += up.execute(params![id, 1])?;
            }
            for id in not_wanted.iter().take(PLAN_ROWS_MAX) {
                changed += up.execute(params![id, 0])?;
            }
        }
        tx.commit()?;
        if changed > 0 {
            self.fetch_plan_epoch += 1;
        }
        Ok(())
    }

    /// Records that a lecture was watched now (the store's clock).
    pub fn lecture_watched(&mut self, doc_id: &str) -> Result<(), StoreError> {
        let now = self.config().clock.now_ms();
        self.conn.execute(
            "INSERT INTO lecture_plan (doc_id, wanted, last_watched_ms) VALUES (?1, 0, ?2)
             ON CONFLICT(doc_id) DO UPDATE SET last_watched_ms = ?2",
            params![doc_id, now],
        )?;
        Ok(())
    }

    /// Bytes of a partially received blob kept on disk (0 when none).
    pub fn partial_blob_bytes(&self, hash: &Hash) -> u64 {
        crate::partial::partial_len(&self.config().dir, hash)
    }

    /// Deletes the lecture files of published document `doc_id` this node holds, unless another
    /// document that is not a lecture's references them. Returns the bytes freed. The row goes
    /// first (the blob is no longer visible), then the file.
    pub fn evict_lecture_blobs(&mut self, doc_id: &str) -> Result<u64, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT DISTINCT bl.hash, bl.size, bl.inline_data IS NULL FROM doc_blobs b JOIN blobs bl ON bl.hash = b.hash
             WHERE b.doc_id = ?1 AND b.kind = 'lecture'
               AND NOT EXISTS (SELECT 1 FROM doc_blobs o WHERE o.hash = b.hash AND o.kind <> 'lecture')",
        )?;
        let rows: Vec<(String, i64, bool)> =
            stmt.query_map([doc_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?.collect::<Result<_, _>>()?;
        drop(stmt);
        let mut freed = 0u64;
        for (hash, size, is_file) in rows {
            let Some(h) = Hash::parse(&hash) else { continue };
            self.conn.execute("DELETE FROM blobs WHERE hash = ?1", [&hash])?;
            if is_file {
                let path = blobs::blob_path(&self.config().dir, &h);
                match std::fs::remove_file(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(StoreError::Io { path, source: e }),
                }
            }
            freed += size.max(0) as u64;
        }
        Ok(freed)
    }

    /// Work that goes before any lecture byte on the link to the parent, in either direction:
    /// whether documents wait to be applied there (not counting types that are not counted as
    /// unsynced, nor refused ones) or blobs the parent needs for a case (thumbnails, display
    /// copies, posters, proxies) that it is not known to hold; and the blobs other than lecture
    /// files that this node lacks within `accept_scope` or from public documents, in `roles`
    /// (empty: all), at most `limit` (the fetcher leaves out those the peer lacks itself).
    pub fn priority_work(
        &self,
        accept_scope: &str,
        roles: &[&str],
        limit: u32,
    ) -> Result<(bool, Vec<Hash>), StoreError> {
        let public = projection::public_types_sql();
        let not_counted = projection::not_counted_types_sql();
        let up_sql = format!(
            "SELECT EXISTS(SELECT 1 FROM feed WHERE doc_type NOT IN {not_counted} AND doc_type NOT IN {public}
                             AND seq > {UNSYNCED_SINCE} AND doc_id NOT IN {REFUSED_BY_PARENT}
                             AND EXISTS (SELECT 1 FROM peers WHERE is_parent = 1))
                 OR EXISTS(SELECT 1 FROM doc_blobs b JOIN docs d ON d.id = b.doc_id
                             WHERE d.doc_type NOT IN {public} AND b.kind <> 'lecture'
                               AND b.role IN ('thumb', 'display', 'poster', 'proxy')
                               AND EXISTS (SELECT 1 FROM blobs WHERE blobs.hash = b.hash)
                               AND EXISTS (SELECT 1 FROM peers WHERE is_parent = 1)
                               AND b.hash NOT IN (SELECT hash FROM peer_blobs WHERE peer_id IN
                                                  (SELECT peer_id FROM peers WHERE is_parent = 1)))"
        );
        let up: bool = self.conn.query_row(&up_sql, [], |r| r.get(0))?;
        let role_clause = if roles.is_empty() {
            String::new()
        } else {
            let marks: Vec<String> = (0..roles.len()).map(|i| format!("?{}", i + 2)).collect();
            format!("AND b.role IN ({})", marks.join(", "))
        };
        let limit = limit.min(crate::db::LIST_LIMIT_MAX);
        let down_sql = format!(
            "SELECT DISTINCT b.hash FROM doc_blobs b JOIN docs d ON d.id = b.doc_id
             WHERE b.kind <> 'lecture' {role_clause}
               AND (substr(d.scope, 1, length(?1)) = ?1 OR d.doc_type IN {public})
               AND NOT EXISTS (SELECT 1 FROM blobs WHERE blobs.hash = b.hash)
             LIMIT {limit}"
        );
        let mut stmt = self.conn.prepare(&down_sql)?;
        let args = std::iter::once(accept_scope).chain(roles.iter().copied());
        let rows = stmt.query_map(rusqlite::params_from_iter(args), |r| r.get::<_, String>(0))?;
        let mut down = Vec::new();
        for row in rows {
            if let Some(h) = Hash::parse(&row?) {
                down.push(h);
            }
        }
        Ok((up, down))
    }

    /// The industries of the cases this node holds (codes, at most 64).
    pub fn case_industries(&self) -> Result<Vec<String>, StoreError> {
        let mut stmt =
            self.conn.prepare("SELECT DISTINCT industry FROM cases WHERE industry <> '' LIMIT 64")?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Whether blob `hash` is held here.
    pub fn has_blob(&self, hash: &Hash) -> Result<bool, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT 1 FROM blobs WHERE hash = ?1", [hash.as_str()], |r| r.get::<_, i64>(0))
            .optional()?
            .is_some())
    }
}

/// Projects a `lecture_views` document: its rows replace those it had (a re-sent or merged
/// document never counts twice). Returns its scope, the recording node's region.
pub(crate) fn project_views(tx: &Connection, id: &str, doc: &AutoCommit) -> Result<String, StoreError> {
    let v = LectureViewsDoc::from_doc(doc)
        .map_err(|e| StoreError::Corrupt { id: id.to_string(), detail: e.to_string() })?;
    tx.execute("DELETE FROM lecture_views WHERE doc_id = ?1", [id])?;
    let mut ins = tx.prepare_cached(
        "INSERT INTO lecture_views (doc_id, lecture, region_code, month, views) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for (lecture, n) in &v.counts {
        ins.execute(params![id, lecture, v.region_code, v.month as i64, *n as i64])?;
    }
    Ok(v.region_code)
}

/// Rows of a views query read at most (regions, months, lectures).
pub const VIEW_ROWS_MAX: u32 = 10_000;

impl Db {
    /// Records one view of published lecture `lecture` at this node (`node`, whose region is
    /// `region`): adds one to its count in this node's document of this month (the store's
    /// clock), creating the document on the month's first view. The document syncs up like any
    /// other; offline, it waits.
    pub fn record_lecture_view(
        &mut self,
        node: &str,
        region: &str,
        lecture: &str,
    ) -> Result<u64, StoreError> {
        let month = stats::month_of_ms(self.config().clock.now_ms());
        let id = LectureViewsDoc::id_for(node, month);
        let corrupt =
            |e: lecture_views::ViewsError| StoreError::Corrupt { id: id.clone(), detail: e.to_string() };
        if self.load_doc(&id)?.is_some() {
            let v = self.update_doc(&id, |doc| LectureViewsDoc::add_view(doc, lecture))?.map_err(corrupt)?;
            Ok(v.counts.get(lecture).copied().unwrap_or(0))
        } else {
            let (_, mut doc) = LectureViewsDoc::new(node, region, month, lecture).map_err(corrupt)?;
            self.create_doc(&id, lecture_views::DOC_TYPE, &mut doc)?;
            Ok(1)
        }
    }

    /// Views per lecture recorded within `region` (every node there), in months `from..=to`
    /// (`YYYYMM`).
    pub fn lecture_views_by_lecture(
        &self,
        region: &str,
        from: u32,
        to: u32,
    ) -> Result<BTreeMap<String, u64>, StoreError> {
        let (lo, hi) = region::within_range(region);
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT lecture, SUM(views) FROM lecture_views
             WHERE region_code >= ?1 AND region_code < ?2 AND month BETWEEN ?3 AND ?4
             GROUP BY lecture LIMIT {VIEW_ROWS_MAX}"
        ))?;
        let rows = stmt.query_map(params![lo, hi, from, to], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?.max(0) as u64))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The lecture views of `region` in months `from..=to`: the total, by month (every month of
    /// the period), by the recording nodes' regions and by lecture (most viewed first).
    pub fn lecture_view_stats(&self, region: &str, from: u32, to: u32) -> Result<ViewStats, StoreError> {
        let (lo, hi) = region::within_range(region);
        let group = |col: &str| -> Result<Vec<(String, u64)>, StoreError> {
            let mut stmt = self.conn.prepare(&format!(
                "SELECT CAST({col} AS TEXT), SUM(views) AS n FROM lecture_views
                 WHERE region_code >= ?1 AND region_code < ?2 AND month BETWEEN ?3 AND ?4
                 GROUP BY {col} ORDER BY n DESC, {col} LIMIT {VIEW_ROWS_MAX}"
            ))?;
            let rows = stmt.query_map(params![lo, hi, from, to], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?.max(0) as u64))
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        };
        let months: BTreeMap<u32, u64> =
            group("month")?.into_iter().filter_map(|(m, n)| Some((m.parse().ok()?, n))).collect();
        let period = stats::Period::new(from, to).ok();
        let by_month = period
            .iter()
            .flat_map(|p| p.months())
            .map(|m| MonthViews { month: stats::month_label(m), views: months.get(&m).copied().unwrap_or(0) })
            .collect();
        let by_region: Vec<RegionViews> = group("region_code")?
            .into_iter()
            .map(|(r, views)| RegionViews { name: stats::region_name(&r), region: r, views })
            .collect();
        let by_lecture: Vec<LectureCount> = group("lecture")?
            .into_iter()
            .map(|(lecture, views)| LectureCount { lecture, title: String::new(), views })
            .collect();
        Ok(ViewStats { total: by_region.iter().map(|r| r.views).sum(), by_month, by_region, by_lecture })
    }
}
