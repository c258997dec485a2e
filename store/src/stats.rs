//! Statistics rollups (migration 7): kept in the projection's transaction, read by region,
//! period and breakdown without touching the cases.
//!
//! Each projected case's contribution (`yizhan_core::stats::contribution`) is compared with
//! the one recorded for it in `stats_case`; when it changed, the old one is subtracted from
//! and the new one added to `stats_rollup`, at every level of the case's region and under each
//! dimension. A query reads the rows of one region (or of the regions one or two levels below
//! it, an index range given by `core::region::within_range`) for a range of months.

use rusqlite::{Connection, OptionalExtension, params};
use yizhan_core::stats::{self, COUNTERS, CategoryCount, Contribution, Counts, GroupBy, Query, Report};
use yizhan_core::{CaseDoc, CaseState, RegionLevel, region};

use crate::StoreError;
use crate::db::Db;

/// The dimensions of `stats_rollup`.
const DIM_TOTAL: &str = "";
const DIM_INDUSTRY: &str = "industry";
const DIM_EXPERT_LEVEL: &str = "expert_level";
const DIM_CATEGORY: &str = "category";
const DIM_KIOSK: &str = "kiosk";
/// Per person (migration 10), for the annual performance of experts and officers: kept only
/// for the province, city and county rows (evaluations are by centre).
const DIM_EXPERT: &str = "expert";
const DIM_OFFICER: &str = "officer";

/// The person dimensions [`Db::stats_by_person`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PersonDim {
    Expert,
    Officer,
}

fn encode(c: &Counts) -> String {
    c.to_array().iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

fn decode(s: &str) -> Counts {
    let mut a = [0i64; COUNTERS];
    for (slot, v) in a.iter_mut().zip(s.split(',')) {
        *slot = v.parse().unwrap_or(0);
    }
    Counts::from_array(a)
}

/// The keys a contribution is counted under, one per dimension (`None`: not counted there).
fn keys(c: &Contribution) -> [(&'static str, Option<&str>); 7] {
    [
        (DIM_TOTAL, Some("")),
        (DIM_INDUSTRY, Some(c.industry.as_str())),
        (DIM_EXPERT_LEVEL, Some(c.expert_level)),
        (DIM_CATEGORY, (!c.category.is_empty()).then_some(c.category.as_str())),
        (DIM_KIOSK, Some(c.kiosk.as_str())),
        (DIM_EXPERT, (!c.expert.is_empty()).then_some(c.expert.as_str())),
        (DIM_OFFICER, (!c.officer.is_empty()).then_some(c.officer.as_str())),
    ]
}

fn upsert_sql() -> String {
    let cols = Counts::NAMES.join(", ");
    let vals: Vec<String> = (0..COUNTERS).map(|i| format!("?{}", i + 6)).collect();
    let sets: Vec<String> = Counts::NAMES.iter().map(|n| format!("{n} = {n} + excluded.{n}")).collect();
    format!(
        "INSERT INTO stats_rollup (dim, level, region, month, key, {cols}) VALUES (?1, ?2, ?3, ?4, ?5, {})
         ON CONFLICT (dim, level, region, month, key) DO UPDATE SET {}",
        vals.join(", "),
        sets.join(", ")
    )
}

/// Adds `sign` × `counts` to every row of `(dim, key)` for the case's regions and month.
fn add_rows(
    tx: &Connection,
    c: &Contribution,
    dim: &str,
    key: &str,
    counts: &Counts,
    sign: i64,
) -> Result<(), StoreError> {
    if counts.is_zero() {
        return Ok(());
    }
    let mut stmt = tx.prepare_cached(&upsert_sql())?;
    let values = counts.to_array().map(|v| v * sign);
    let per_person = dim == DIM_EXPERT || dim == DIM_OFFICER;
    for r in stats::rollup_regions(&c.region) {
        if per_person && RegionLevel::of(r).is_none_or(|l| l > RegionLevel::County) {
            continue;
        }
        let level = RegionLevel::of(r).map_or(-1, stats::level_number);
        let mut args: Vec<rusqlite::types::Value> = vec![
            dim.to_string().into(),
            level.into(),
            r.to_string().into(),
            i64::from(c.month).into(),
            key.to_string().into(),
        ];
        args.extend(values.iter().map(|v| rusqlite::types::Value::from(*v)));
        stmt.execute(rusqlite::params_from_iter(args))?;
    }
    Ok(())
}

fn recorded(tx: &Connection, case_id: &str) -> Result<Option<Contribution>, StoreError> {
    let row = tx
        .prepare_cached(
            "SELECT month, region, industry, expert_level, category, kiosk, counts, expert, officer
             FROM stats_case WHERE case_id = ?1",
        )?
        .query_row([case_id], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, String>(6)?,
                r.get::<_, String>(7)?,
                r.get::<_, String>(8)?,
            ))
        })
        .optional()?;
    Ok(row.map(|(month, region, industry, level, category, kiosk, counts, expert, officer)| Contribution {
        month: u32::try_from(month).unwrap_or(0),
        region,
        industry,
        expert_level: stats::EXPERT_LEVELS.into_iter().find(|l| *l == level).unwrap_or("none"),
        category,
        kiosk,
        expert,
        officer,
        counts: decode(&counts),
    }))
}

/// Brings the rollups up to date with one case's new state: subtracts what it contributed
/// before (as recorded) and adds what it contributes now. Called inside the projection's
/// transaction; writes nothing when the contribution did not change.
pub(crate) fn update_case(
    tx: &Connection,
    id: &str,
    case: &CaseDoc,
    state: &CaseState,
) -> Result<(), StoreError> {
    update_contribution(tx, id, stats::contribution(case, state))
}

/// The rollup update of [`update_case`], from a contribution already computed.
fn update_contribution(tx: &Connection, id: &str, new: Contribution) -> Result<(), StoreError> {
    let old = recorded(tx, id)?;
    if old.as_ref() == Some(&new) {
        return Ok(());
    }
    let same_place = old.as_ref().is_some_and(|o| o.month == new.month && o.region == new.region);
    for (i, (dim, new_key)) in keys(&new).into_iter().enumerate() {
        let old_key = old.as_ref().map(|o| keys(o)[i].1.map(str::to_string)).unwrap_or(None);
        match (same_place, old_key.as_deref(), new_key) {
            // Same rows: add the difference.
            (true, Some(ok), Some(nk)) if ok == nk => {
                let mut delta = new.counts;
                if let Some(o) = &old {
                    delta.sub(&o.counts);
                }
                add_rows(tx, &new, dim, nk, &delta, 1)?;
            }
            _ => {
                if let (Some(o), Some(ok)) = (&old, old_key.as_deref()) {
                    add_rows(tx, o, dim, ok, &o.counts, -1)?;
                }
                if let Some(nk) = new_key {
                    add_rows(tx, &new, dim, nk, &new.counts, 1)?;
                }
            }
        }
    }
    tx.prepare_cached(
        "INSERT OR REPLACE INTO stats_case (case_id, month, region, industry, expert_level, category, kiosk, counts,
         expert, officer) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        id,
        i64::from(new.month),
        new.region,
        new.industry,
        new.expert_level,
        new.category,
        new.kiosk,
        encode(&new.counts),
        new.expert,
        new.officer
    ])?;
    Ok(())
}

pub(crate) fn clear(tx: &Connection) -> Result<(), StoreError> {
    tx.execute("DELETE FROM stats_case", [])?;
    tx.execute("DELETE FROM stats_rollup", [])?;
    Ok(())
}

fn sums_sql() -> String {
    Counts::NAMES.iter().map(|n| format!("COALESCE(SUM({n}), 0)")).collect::<Vec<_>>().join(", ")
}

fn counts_at(r: &rusqlite::Row<'_>, first: usize) -> rusqlite::Result<Counts> {
    let mut a = [0i64; COUNTERS];
    for (i, slot) in a.iter_mut().enumerate() {
        *slot = r.get(first + i)?;
    }
    Ok(Counts::from_array(a))
}

impl Db {
    /// Records cases' contributions in the rollups in one transaction, through the same code
    /// the projection runs for every case write: for bulk loads of history that has no
    /// documents here (the statistics benchmark fills a province's five years this way).
    /// A later `rebuild_projections` recomputes the rollups from documents only.
    pub fn apply_contributions(
        &mut self,
        items: impl IntoIterator<Item = (String, Contribution)>,
    ) -> Result<usize, StoreError> {
        let tx = self.conn.transaction()?;
        let mut n = 0;
        for (id, c) in items {
            update_contribution(&tx, &id, c)?;
            n += 1;
        }
        tx.commit()?;
        Ok(n)
    }

    /// The statistics of a region over a period, with the breakdown asked for, from the
    /// rollups only.
    pub fn stats_report(&self, q: &Query) -> Result<Report, StoreError> {
        let region = q.region.as_str();
        let level = stats::level_number(q.region.level());
        let (from, to) = (i64::from(q.period.from), i64::from(q.period.to));
        let sums = sums_sql();
        let totals = self
            .conn
            .prepare_cached(&format!(
                "SELECT {sums} FROM stats_rollup
             WHERE dim = '' AND level = ?1 AND region = ?2 AND month BETWEEN ?3 AND ?4 AND key = ''"
            ))?
            .query_row(params![level, region, from, to], |r| counts_at(r, 0))?;
        let grouped =
            |sql: String, args: Vec<rusqlite::types::Value>| -> Result<Vec<(String, Counts)>, StoreError> {
                let mut stmt = self.conn.prepare_cached(&sql)?;
                let rows = stmt.query_map(rusqlite::params_from_iter(args), |r| {
                    let key: rusqlite::types::Value = r.get(0)?;
                    let key = match key {
                        rusqlite::types::Value::Integer(i) => i.to_string(),
                        rusqlite::types::Value::Text(t) => t,
                        _ => String::new(),
                    };
                    Ok((key, counts_at(r, 1)?))
                })?;
                Ok(rows.collect::<Result<_, _>>()?)
            };
        let base: Vec<rusqlite::types::Value> =
            vec![level.into(), region.to_string().into(), from.into(), to.into()];
        let groups = match q.by {
            None => Vec::new(),
            Some(by) => match by.level() {
                Some(l) => {
                    let (lo, hi) = region::within_range(region);
                    grouped(
                        format!(
                            "SELECT region, {sums} FROM stats_rollup
                             WHERE dim = '' AND level = ?1 AND region >= ?2 AND region < ?3 AND month BETWEEN ?4 AND ?5
                             GROUP BY region ORDER BY region"
                        ),
                        vec![stats::level_number(l).into(), lo.into(), hi.into(), from.into(), to.into()],
                    )?
                }
                None => {
                    let (dim, col) = match by {
                        GroupBy::Industry => (DIM_INDUSTRY, "key"),
                        GroupBy::ExpertLevel => (DIM_EXPERT_LEVEL, "key"),
                        _ => (DIM_TOTAL, "month"),
                    };
                    let mut args = base.clone();
                    args.push(dim.to_string().into());
                    grouped(
                        format!(
                            "SELECT {col}, {sums} FROM stats_rollup
                             WHERE dim = ?5 AND level = ?1 AND region = ?2 AND month BETWEEN ?3 AND ?4
                             GROUP BY {col} ORDER BY {col}"
                        ),
                        args,
                    )?
                }
            },
        };
        let mut args = base.clone();
        args.push(DIM_CATEGORY.to_string().into());
        let categories = grouped(
            format!(
                "SELECT key, {sums} FROM stats_rollup
                 WHERE dim = ?5 AND level = ?1 AND region = ?2 AND month BETWEEN ?3 AND ?4 GROUP BY key ORDER BY key"
            ),
            args,
        )?
        .into_iter()
        .filter(|(_, c)| c.followed_up > 0)
        .map(|(category, c)| CategoryCount { category, followed_up: c.followed_up, valid: c.valid })
        .collect();
        let active_kiosks: i64 = self
            .conn
            .prepare_cached(
                "SELECT COUNT(*) FROM (SELECT key FROM stats_rollup
             WHERE dim = ?5 AND level = ?1 AND region = ?2 AND month BETWEEN ?3 AND ?4 AND key > ''
             GROUP BY key HAVING SUM(cases) > 0)",
            )?
            .query_row(params![level, region, from, to, DIM_KIOSK], |r| r.get(0))?;
        Ok(stats::report(q, totals, groups, categories, active_kiosks))
    }

    /// The people of a region: experts by level and industry, officers per village, centres.
    pub fn people_stats(&self, region: &str) -> Result<stats::PeopleStats, StoreError> {
        let (lo, hi) = region::within_range(region);
        let mut stmt = self.conn.prepare_cached(
            "SELECT role, region_code, industries FROM people
             WHERE active = 1 AND region_code >= ?1 AND region_code < ?2",
        )?;
        let rows: Vec<(String, String, String)> = stmt
            .query_map(params![lo, hi], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<_, _>>()?;
        Ok(stats::people_stats(rows.iter().map(|(role, region, industries)| stats::PersonFacts {
            role,
            region,
            industries: industries.split_whitespace().collect(),
        })))
    }

    /// Experts, officers and operations centres (regions with staff) of `region` and below,
    /// still active, that this node has known only since `since_ms` (`people_since`): what was
    /// added lately, for the targets' rates.
    pub fn people_added_since(&self, region: &str, since_ms: i64) -> Result<(i64, i64, i64), StoreError> {
        let (lo, hi) = region::within_range(region);
        let (experts, officers) = self.conn.query_row(
            "SELECT COALESCE(SUM(p.role = 'expert'), 0), COALESCE(SUM(p.role = 'officer'), 0)
             FROM people p JOIN people_since s ON s.id = p.id
             WHERE p.active = 1 AND p.region_code >= ?1 AND p.region_code < ?2 AND s.since_ms >= ?3",
            params![lo, hi, since_ms],
            |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)),
        )?;
        let centres = self.conn.query_row(
            "SELECT COUNT(*) FROM (
                SELECT p.region_code FROM people p JOIN people_since s ON s.id = p.id
                WHERE p.active = 1 AND p.role IN ('staff', 'admin') AND p.region_code >= ?1 AND p.region_code < ?2
                GROUP BY p.region_code HAVING MIN(s.since_ms) >= ?3)",
            params![lo, hi, since_ms],
            |r| r.get::<_, i64>(0),
        )?;
        Ok((experts, officers, centres))
    }

    /// Counters per expert or officer (person id) of a county, city or the province over a
    /// period, from the person rows of the rollups (kept at those levels only).
    pub fn stats_by_person(
        &self,
        region_code: &yizhan_core::RegionCode,
        period: stats::Period,
        dim: PersonDim,
    ) -> Result<Vec<(String, Counts)>, StoreError> {
        let dim = match dim {
            PersonDim::Expert => DIM_EXPERT,
            PersonDim::Officer => DIM_OFFICER,
        };
        let sums = sums_sql();
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT key, {sums} FROM stats_rollup
             WHERE dim = ?1 AND level = ?2 AND region = ?3 AND month BETWEEN ?4 AND ?5 GROUP BY key ORDER BY key"
        ))?;
        let level = stats::level_number(region_code.level());
        let rows = stmt.query_map(
            params![dim, level, region_code.as_str(), i64::from(period.from), i64::from(period.to)],
            |r| Ok((r.get::<_, String>(0)?, counts_at(r, 1)?)),
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// One consultation's counters with whom and what it counted for (a `stats_case` row).
#[derive(Debug, Clone)]
pub struct CaseCounts {
    pub case_id: String,
    pub expert: String,
    pub officer: String,
    pub category: String,
    pub counts: Counts,
}

impl Db {
    /// The contributions of the consultations recorded in `month` (`YYYYMM`) within `region`
    /// (a county's monthly subsidy statement: the rows the person rollups are summed from).
    /// At most `limit` rows, by case id.
    pub fn case_counts_in(
        &self,
        region: &str,
        month: u32,
        limit: u32,
    ) -> Result<Vec<CaseCounts>, StoreError> {
        let (lo, hi) = region::within_range(region);
        let mut stmt = self.conn.prepare_cached(
            "SELECT case_id, expert, officer, category, counts FROM stats_case
             WHERE month = ?1 AND region >= ?2 AND region < ?3 ORDER BY case_id LIMIT ?4",
        )?;
        let rows = stmt.query_map(params![i64::from(month), lo, hi, limit], |r| {
            Ok(CaseCounts {
                case_id: r.get(0)?,
                expert: r.get(1)?,
                officer: r.get(2)?,
                category: r.get(3)?,
                counts: decode(&r.get::<_, String>(4)?),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The ids of the documents of `doc_type` whose id starts with `prefix` (at most `limit`,
    /// in id order): a region's subsidy statements, `subsidy-<county>-<month>`.
    pub fn doc_ids_with_prefix(
        &self,
        doc_type: &str,
        prefix: &str,
        limit: u32,
    ) -> Result<Vec<String>, StoreError> {
        let hi = format!("{prefix}\u{10FFFF}");
        let mut stmt = self.conn.prepare_cached(
            "SELECT id FROM docs WHERE id >= ?1 AND id < ?2 AND doc_type = ?3 ORDER BY id LIMIT ?4",
        )?;
        let rows = stmt.query_map(params![prefix, hi, doc_type, limit], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
