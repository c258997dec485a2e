//! Queries and local records of the expert service: the people directory, the service clocks
//! this node measures, the triage queue, experts' work lists and records, service records
//! for export.

use std::collections::HashMap;

use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use yizhan_core::Person;

use yizhan_core::clock::{ClockKind, ClockView, ServicePolicy};
use yizhan_core::holidays::{Calendar, HolidayDoc};
use yizhan_core::ranking::ExpertRecord;

use crate::StoreError;

/// Audit records kept per node (the oldest go first).
pub const AUDIT_ROWS_MAX: i64 = 100_000;

/// One audit record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditRow {
    pub at_ms: i64,
    pub person_id: String,
    /// The acting person's region.
    pub region: String,
    pub action: String,
    pub detail: String,
}
use crate::db::Db;

/// Rows a list query returns at most.
pub const SERVICE_LIST_MAX: u32 = 500;
/// Rows one export returns at most.
pub const EXPORT_ROWS_MAX: u32 = 200_000;
const POLICY_KEY: &str = "service_policy";
/// Published holiday calendars read (one per year).
const HOLIDAY_YEARS_MAX: i64 = 200;

/// What to look for in the people directory (找专家 / 人员).
#[derive(Debug, Clone, Default)]
pub struct PeopleFilter {
    pub role: Option<String>,
    /// People whose region lies within this one, or (with `include_above`) above it.
    pub region: Option<String>,
    pub include_above: bool,
    pub industry: Option<String>,
    /// Matched against name, specialities and title.
    pub text: Option<String>,
    pub active_only: bool,
    pub limit: u32,
}

/// A case waiting at a centre, with its clock.
#[derive(Debug, Clone, Serialize)]
pub struct QueueRow {
    pub case: crate::CaseRow,
    pub kind: String,
    pub started_ms: i64,
    pub due_ms: i64,
    pub stopped_ms: Option<i64>,
}

/// One clock this node measures for a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClockRow {
    pub kind: String,
    pub started_ms: i64,
    pub due_ms: i64,
    pub stopped_ms: Option<i64>,
}

/// One case as the service records (exports, statistics) show it.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceRow {
    pub case: crate::CaseRow,
    pub centre: String,
    pub rating: i64,
    pub followup_valid: i64,
    pub followup_category: String,
    pub travel_cost_fen: i64,
    pub breaches: i64,
    /// Minutes from start to stop of each clock this node measured (when stopped).
    pub triage_minutes: Option<i64>,
    pub response_minutes: Option<i64>,
}

/// Filters of an export.
#[derive(Debug, Clone, Default)]
pub struct ServiceFilter {
    /// Cases within this region.
    pub region: String,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    pub industry: Option<String>,
    pub expert: Option<String>,
    pub status: Option<String>,
    pub limit: u32,
}

fn person_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Person> {
    let split = |s: String| s.split_whitespace().map(str::to_string).collect::<Vec<_>>();
    Ok(Person {
        doc_type: yizhan_core::people::DOC_TYPE.into(),
        schema: yizhan_core::people::SCHEMA_VERSION,
        id: r.get(0)?,
        name: r.get(1)?,
        role: r.get(2)?,
        region_code: r.get(3)?,
        industries: split(r.get(4)?),
        specialities: split(r.get(5)?),
        availability: r.get(6)?,
        title: r.get(7)?,
        phone_masked: r.get(8)?,
        active: r.get(9)?,
        updated_at_ms: r.get(10)?,
    })
}

const PERSON_COLS: &str = "id, name, role, region_code, industries, specialities, availability, title, phone_masked, active, updated_at_ms";

const CASE_COLS: &str = "c.id, c.region_code, c.village_name, c.industry, c.subject, c.description, c.farmer_name,
    c.phone_masked, c.officer, c.status, c.expert, c.created_at_ms, c.updated_at_ms, c.photo_count, c.video_count,
    c.thumb_hash, 0";

fn like(text: &str) -> String {
    let escaped = text.trim().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{escaped}%")
}

impl Db {
    // ---- people ----

    /// A person from the directory projection.
    pub fn person(&self, id: &str) -> Result<Option<Person>, StoreError> {
        Ok(self
            .conn
            .query_row(&format!("SELECT {PERSON_COLS} FROM people WHERE id = ?1"), [id], person_row)
            .optional()?)
    }

    pub fn find_people(&self, f: &PeopleFilter) -> Result<Vec<Person>, StoreError> {
        let mut clauses = Vec::new();
        let mut args: Vec<String> = Vec::new();
        if let Some(role) = f.role.as_ref().filter(|s| !s.is_empty()) {
            args.push(role.clone());
            clauses.push(format!("role = ?{}", args.len()));
        }
        if let Some(region) = f.region.as_ref().filter(|s| !s.is_empty()) {
            args.push(format!("{}%", region.replace(['%', '_'], "")));
            let n = args.len();
            if f.include_above {
                args.push(region.clone());
                clauses.push(format!("(region_code LIKE ?{n} OR ?{} LIKE region_code || '%')", args.len()));
            } else {
                clauses.push(format!("region_code LIKE ?{n}"));
            }
        }
        if let Some(ind) = f.industry.as_ref().filter(|s| !s.is_empty()) {
            args.push(format!("% {} %", ind.replace(['%', '_'], "")));
            clauses.push(format!("industries LIKE ?{}", args.len()));
        }
        if let Some(t) = f.text.as_ref().filter(|s| !s.trim().is_empty()) {
            args.push(like(t));
            let n = args.len();
            clauses.push(format!(
                "(name LIKE ?{n} ESCAPE '\\' OR specialities LIKE ?{n} ESCAPE '\\' OR title LIKE ?{n} ESCAPE '\\')"
            ));
        }
        if f.active_only {
            clauses.push("active = 1".into());
        }
        let where_sql =
            if clauses.is_empty() { String::new() } else { format!("WHERE {}", clauses.join(" AND ")) };
        let limit = if f.limit == 0 { SERVICE_LIST_MAX } else { f.limit };
        let sql = format!(
            "SELECT {PERSON_COLS} FROM people {where_sql} ORDER BY region_code, name, id LIMIT {limit}"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows =
            stmt.query_map(rusqlite::params_from_iter(args.iter()), person_row)?.collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// Every expert who may serve cases of `centre` (within it or above it), with no limit:
    /// the ranking scores them all.
    pub fn experts_for(&self, centre: &str) -> Result<Vec<Person>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {PERSON_COLS} FROM people WHERE role = 'expert' AND active = 1
               AND (region_code LIKE ?1 || '%' OR ?1 LIKE region_code || '%')"
        ))?;
        let rows = stmt.query_map([centre], person_row)?.collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// Every expert's record from the cases this node holds (`expert > ''`: a range of the
    /// covering index `cases_by_expert`, skipping unassigned cases).
    pub fn expert_records(&self) -> Result<HashMap<String, ExpertRecord>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT expert,
                    SUM(status IN ('awaiting_answer', 'on_site')),
                    SUM(rating > 0), SUM(rating),
                    SUM(status IN ('answered', 'closed', 'followed_up')),
                    SUM(breaches > 0)
             FROM cases WHERE expert > '' GROUP BY expert",
        )?;
        let rows = stmt.query_map([], |r| {
            let n = |i: usize| -> rusqlite::Result<u32> {
                Ok(u32::try_from(r.get::<_, i64>(i)?.max(0)).unwrap_or(u32::MAX))
            };
            Ok((
                r.get::<_, String>(0)?,
                ExpertRecord {
                    open: n(1)?,
                    ratings: n(2)?,
                    rating_sum: n(3)?,
                    responses: n(4)?,
                    breaches: n(5)?,
                },
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    // ---- audit ----

    /// Records who did something with sensitive data on this node (an export, a number shown
    /// in clear). Node-local: it does not sync. At most [`AUDIT_ROWS_MAX`] rows are kept.
    pub fn record_audit(
        &mut self,
        person_id: &str,
        region: &str,
        action: &str,
        detail: &str,
    ) -> Result<(), StoreError> {
        let now = self.config().clock.now_ms();
        self.conn.execute(
            "INSERT INTO audit (at_ms, person_id, region, action, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![now, person_id, region, action, detail],
        )?;
        let id = self.conn.last_insert_rowid();
        if id % 1000 == 0 {
            self.conn.execute("DELETE FROM audit WHERE id <= ?1", [id - AUDIT_ROWS_MAX])?;
        }
        Ok(())
    }

    /// [`Db::record_audit`], unless the same person recorded the same thing within `window_ms`
    /// (a page reloaded while she phones the farmer is one look at the number, not ten).
    pub fn record_audit_coalesced(
        &mut self,
        person_id: &str,
        region: &str,
        action: &str,
        detail: &str,
        window_ms: i64,
    ) -> Result<(), StoreError> {
        let since = self.config().clock.now_ms() - window_ms;
        let recent: bool = self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM audit WHERE person_id = ?1 AND action = ?2 AND detail = ?3 AND at_ms > ?4)",
            params![person_id, action, detail, since],
            |r| r.get(0),
        )?;
        if recent { Ok(()) } else { self.record_audit(person_id, region, action, detail) }
    }

    /// The latest audit records of people in `region` (a prefix), newest first.
    pub fn audit_log(&self, region: &str, limit: u32) -> Result<Vec<AuditRow>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT at_ms, person_id, region, action, detail FROM audit
             WHERE substr(region, 1, length(?1)) = ?1 ORDER BY id DESC LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![region, limit], |r| {
            Ok(AuditRow {
                at_ms: r.get(0)?,
                person_id: r.get(1)?,
                region: r.get(2)?,
                action: r.get(3)?,
                detail: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    // ---- clocks ----

    /// This node's service policy (the default until an administrator changes it).
    /// The centre's policy, with the holiday calendar in force: the official years built in,
    /// each replaced by the province's published calendar for that year when this node holds one.
    pub fn service_policy(&self) -> Result<ServicePolicy, StoreError> {
        let mut policy: ServicePolicy =
            self.setting(POLICY_KEY)?.and_then(|v| serde_json::from_str(&v).ok()).unwrap_or_default();
        let mut calendar = Calendar::official().clone();
        for h in self.holiday_docs()? {
            match (i32::try_from(h.year), h.entries()) {
                (Ok(year), Ok(entries)) => calendar.set_year(year, entries),
                (_, Err(e)) => tracing::warn!(id = %h.id, error = %e, "holiday calendar not applied"),
                _ => {}
            }
        }
        policy.calendar = std::sync::Arc::new(calendar);
        Ok(policy)
    }

    /// The province's published holiday calendars this node holds (ids `holidays-YYYY`: a range
    /// of the primary key, never a scan of the documents).
    pub fn holiday_docs(&self) -> Result<Vec<HolidayDoc>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id FROM docs WHERE id >= 'holidays-' AND id < 'holidays.' AND doc_type = ?1 ORDER BY id LIMIT ?2",
        )?;
        let ids: Vec<String> = stmt
            .query_map(params![yizhan_core::holidays::DOC_TYPE, HOLIDAY_YEARS_MAX], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let mut out = Vec::new();
        for id in ids {
            let Some(doc) = self.load_doc(&id)? else { continue };
            match HolidayDoc::from_doc(&doc) {
                Ok(h) => out.push(h),
                Err(e) => tracing::warn!(%id, error = %e, "unreadable holiday calendar"),
            }
        }
        Ok(out)
    }

    pub fn set_service_policy(&mut self, policy: &ServicePolicy) -> Result<(), StoreError> {
        let v = serde_json::to_string(policy).map_err(|e| StoreError::Task(e.to_string()))?;
        self.set_setting(POLICY_KEY, &v)
    }

    /// Clock runs this node measures that ran past their deadline, by clock kind (`triage`, ...).
    pub fn breach_counts(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT kind, COUNT(*) FROM case_clocks WHERE breached = 1 GROUP BY kind ORDER BY kind",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// When this node first saw each event of a case, on its own clock.
    pub fn events_seen(&self, case_id: &str) -> Result<HashMap<String, i64>, StoreError> {
        let mut stmt =
            self.conn.prepare_cached("SELECT event_id, seen_ms FROM event_seen WHERE case_id = ?1")?;
        let rows = stmt.query_map([case_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Replaces the clocks this node measures for a case. A clock whose run (start event)
    /// is unchanged keeps its breach mark.
    pub fn set_case_clocks(&mut self, case_id: &str, views: &[ClockView]) -> Result<(), StoreError> {
        let tx = self.conn.savepoint()?;
        {
            let kinds: Vec<&str> = views.iter().map(|v| v.kind.code()).collect();
            let mut existing = tx.prepare_cached("SELECT kind FROM case_clocks WHERE case_id = ?1")?;
            let old: Vec<String> = existing.query_map([case_id], |r| r.get(0))?.collect::<Result<_, _>>()?;
            for k in old.iter().filter(|k| !kinds.contains(&k.as_str())) {
                tx.execute("DELETE FROM case_clocks WHERE case_id = ?1 AND kind = ?2", params![case_id, k])?;
            }
            let mut up = tx.prepare_cached(
                "INSERT INTO case_clocks (case_id, kind, start_event, started_ms, due_ms, stopped_ms, breached)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0)
                 ON CONFLICT(case_id, kind) DO UPDATE SET
                    breached = CASE WHEN start_event = ?3 THEN breached ELSE 0 END,
                    start_event = ?3, started_ms = ?4, due_ms = ?5, stopped_ms = ?6",
            )?;
            for v in views {
                up.execute(params![
                    case_id,
                    v.kind.code(),
                    v.start_event,
                    v.started_ms,
                    v.due_ms,
                    v.stopped_ms
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    pub fn mark_breached(&mut self, case_id: &str, kind: ClockKind) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE case_clocks SET breached = 1 WHERE case_id = ?1 AND kind = ?2",
            params![case_id, kind.code()],
        )?;
        Ok(())
    }

    /// Cases with a running clock past its deadline whose breach is not recorded yet.
    pub fn unrecorded_breaches(&self, now_ms: i64, limit: u32) -> Result<Vec<String>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT DISTINCT case_id FROM case_clocks WHERE stopped_ms IS NULL AND due_ms < ?1 AND breached = 0 LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![now_ms, limit], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Running clocks of `kind` in deadline order (most urgent first) whose case is in
    /// `status` at `centre`: the triage queue (kind triage, status awaiting_triage) and the
    /// list of answers due (kind response).
    pub fn clock_queue(
        &self,
        kind: ClockKind,
        statuses: &[&str],
        region: &str,
        due_before_ms: Option<i64>,
        limit: u32,
        offset: u32,
    ) -> Result<Vec<QueueRow>, StoreError> {
        let statuses =
            statuses.iter().map(|s| format!("'{}'", s.replace('\'', ""))).collect::<Vec<_>>().join(", ");
        let sql = format!(
            "SELECT {CASE_COLS}, k.kind, k.started_ms, k.due_ms, k.stopped_ms
             FROM case_clocks k JOIN cases c ON c.id = k.case_id
             WHERE k.kind = ?1 AND k.stopped_ms IS NULL AND k.due_ms < ?2
               AND c.status IN ({statuses}) AND c.region_code LIKE ?3 || '%'
             ORDER BY k.due_ms, c.id LIMIT ?4 OFFSET ?5"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(
            params![
                kind.code(),
                due_before_ms.unwrap_or(i64::MAX),
                region,
                limit.clamp(1, SERVICE_LIST_MAX),
                offset
            ],
            |r| {
                Ok(QueueRow {
                    case: crate::db::case_row(r)?,
                    kind: r.get(17)?,
                    started_ms: r.get(18)?,
                    due_ms: r.get(19)?,
                    stopped_ms: r.get(20)?,
                })
            },
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn count_running(&self, kind: ClockKind, due_before_ms: Option<i64>) -> Result<i64, StoreError> {
        Ok(self.conn.query_row(
            "SELECT COUNT(*) FROM case_clocks WHERE kind = ?1 AND stopped_ms IS NULL AND due_ms < ?2",
            params![kind.code(), due_before_ms.unwrap_or(i64::MAX)],
            |r| r.get(0),
        )?)
    }

    /// The clocks this node measures for a case.
    pub fn case_clocks(&self, case_id: &str) -> Result<Vec<ClockRow>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT kind, started_ms, due_ms, stopped_ms FROM case_clocks WHERE case_id = ?1",
        )?;
        let rows = stmt.query_map([case_id], |r| {
            Ok(ClockRow { kind: r.get(0)?, started_ms: r.get(1)?, due_ms: r.get(2)?, stopped_ms: r.get(3)? })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// An expert's cases: waiting for her answer first, then answered ones, newest first.
    pub fn expert_cases(&self, expert: &str, limit: u32) -> Result<Vec<crate::CaseRow>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {CASE_COLS} FROM cases c WHERE c.expert = ?1
             ORDER BY c.status NOT IN ('awaiting_answer', 'on_site'), c.updated_at_ms DESC LIMIT ?2"
        ))?;
        let rows = stmt.query_map(params![expert, limit.clamp(1, SERVICE_LIST_MAX)], crate::db::case_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Cases of a region in a status, oldest change first (e.g. closed cases to phone back).
    pub fn cases_in_status(
        &self,
        region: &str,
        status: &str,
        limit: u32,
    ) -> Result<Vec<crate::CaseRow>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {CASE_COLS} FROM cases c WHERE c.status = ?1 AND c.region_code LIKE ?2 || '%'
             ORDER BY c.updated_at_ms, c.id LIMIT ?3"
        ))?;
        let rows =
            stmt.query_map(params![status, region, limit.clamp(1, SERVICE_LIST_MAX)], crate::db::case_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// One case's row (the knowledge queue lists the cases the pipeline has waiting).
    pub fn case_row(&self, id: &str) -> Result<Option<crate::CaseRow>, StoreError> {
        let mut stmt =
            self.conn.prepare_cached(&format!("SELECT {CASE_COLS} FROM cases c WHERE c.id = ?1"))?;
        Ok(stmt.query_row([id], crate::db::case_row).optional()?)
    }

    /// Service records for an export.
    pub fn service_rows(&self, f: &ServiceFilter) -> Result<Vec<ServiceRow>, StoreError> {
        let mut clauses = vec!["c.region_code LIKE ?1 || '%'".to_string()];
        let mut args: Vec<rusqlite::types::Value> = vec![f.region.replace(['%', '_'], "").into()];
        if let Some(v) = f.from_ms {
            args.push(v.into());
            clauses.push(format!("c.created_at_ms >= ?{}", args.len()));
        }
        if let Some(v) = f.to_ms {
            args.push(v.into());
            clauses.push(format!("c.created_at_ms < ?{}", args.len()));
        }
        for (col, v) in [("c.industry", &f.industry), ("c.expert", &f.expert), ("c.status", &f.status)] {
            if let Some(v) = v.as_ref().filter(|v| !v.is_empty()) {
                args.push(v.clone().into());
                clauses.push(format!("{col} = ?{}", args.len()));
            }
        }
        let limit = if f.limit == 0 { EXPORT_ROWS_MAX } else { f.limit.min(EXPORT_ROWS_MAX) };
        let sql = format!(
            "SELECT {CASE_COLS}, c.centre, c.rating, c.followup_valid, c.followup_category, c.travel_cost_fen, c.breaches,
                (SELECT (stopped_ms - started_ms) / 60000 FROM case_clocks WHERE case_id = c.id AND kind = 'triage'),
                (SELECT (stopped_ms - started_ms) / 60000 FROM case_clocks WHERE case_id = c.id AND kind = 'response')
             FROM cases c WHERE {} ORDER BY c.created_at_ms, c.id LIMIT {limit}",
            clauses.join(" AND ")
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(args.iter()), |r| {
            Ok(ServiceRow {
                case: crate::db::case_row(r)?,
                centre: r.get(17)?,
                rating: r.get(18)?,
                followup_valid: r.get(19)?,
                followup_category: r.get(20)?,
                travel_cost_fen: r.get(21)?,
                breaches: r.get(22)?,
                triage_minutes: r.get(23)?,
                response_minutes: r.get(24)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

impl crate::StoreStats {
    /// The figures as metric samples: (name, help, value), for a node's `/metrics`.
    pub fn samples(&self) -> [(&'static str, &'static str, f64); 6] {
        [
            ("yizhan_store_documents", "Documents in the store", self.docs as f64),
            ("yizhan_store_cases", "Consultation cases in the store", self.cases as f64),
            (
                "yizhan_store_unsynced_documents",
                "Documents the parent hub has not applied yet",
                self.unsynced_docs as f64,
            ),
            ("yizhan_store_blobs", "Photos, videos and their copies held", self.blobs as f64),
            ("yizhan_store_blob_bytes", "Bytes of blobs held", self.blob_bytes as f64),
            ("yizhan_jobs_pending", "Background media jobs waiting or running", self.jobs_pending as f64),
        ]
    }
}
