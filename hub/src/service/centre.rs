//! What a centre's desk lists: the triage queue, an expert's work list, cases awaiting the
//! knowledge sign-off, the expert directory, and exports of service records (audited, with
//! farmers' numbers opened only for the county centre).

use std::collections::HashMap;

use serde::Deserialize;
use yizhan_core::clock::{ClockKind, ServicePolicy};
use yizhan_core::{Actor, CentreAction, Denied, Person, RegionLevel};
use yizhan_store::{CaseRow, PeopleFilter, QueueRow, ServiceFilter};

use super::ServiceError;
use super::admin::{AUDIT_EXPORT, AUDIT_EXPORT_PHONES, require};
use crate::Hub;

/// Rows per queue section.
const QUEUE_PAGE: u32 = 50;
/// Rows of an expert's work list and of the knowledge queue.
const LIST_ROWS: u32 = 200;

/// What the triage page shows a centre: its policy, the three queues (at most [`QUEUE_PAGE`]
/// rows each, by deadline), how many running clocks are overdue and nearly due, and those
/// clocks themselves, most urgent first.
pub struct QueuePage {
    pub policy: ServicePolicy,
    pub triage: Vec<QueueRow>,
    pub response: Vec<QueueRow>,
    pub followup: Vec<QueueRow>,
    pub overdue: i64,
    /// Nearly due, not yet overdue.
    pub nearly: i64,
    pub urgent: Vec<QueueRow>,
}

/// The queue page's data for `region` at `now` (public for `benches/triage.rs`).
pub fn queue_page(
    db: &yizhan_store::Db,
    region: &str,
    now: i64,
) -> Result<QueuePage, yizhan_store::StoreError> {
    let policy = db.service_policy()?;
    let warn = now + policy.warn_ms;
    let q = |kind, statuses: &[&str], before| db.clock_queue(kind, statuses, region, before, QUEUE_PAGE, 0);
    let triage = q(ClockKind::Triage, &["awaiting_triage"], None)?;
    let response = q(ClockKind::Response, &["awaiting_answer"], None)?;
    let followup = q(ClockKind::FollowUp, &["closed"], None)?;
    let (mut overdue, mut nearly, mut urgent) = (0, 0, Vec::new());
    for (k, statuses) in [
        (ClockKind::Triage, &["awaiting_triage"][..]),
        (ClockKind::Response, &["awaiting_answer"][..]),
        (ClockKind::FollowUp, &["closed"][..]),
    ] {
        overdue += db.count_running(k, Some(now))?;
        nearly += db.count_running(k, Some(warn))?;
        urgent.extend(q(k, statuses, Some(warn))?);
    }
    urgent.sort_by_key(|r| r.due_ms);
    urgent.truncate(QUEUE_PAGE as usize);
    Ok(QueuePage { policy, triage, response, followup, overdue, nearly: nearly - overdue, urgent })
}

/// The actor's centre's queues at `now`.
pub async fn queue(hub: &Hub, actor: &Actor, now: i64) -> Result<QueuePage, ServiceError> {
    require(hub, actor, CentreAction::Desk)?;
    let region = actor.region.to_string();
    Ok(hub.store.call(move |db| queue_page(db, &region, now)).await?)
}

/// The cases assigned to the expert.
pub async fn worklist(hub: &Hub, actor: &Actor) -> Result<Vec<CaseRow>, ServiceError> {
    let id = actor.person_id.clone();
    Ok(hub.store.call(move |db| db.expert_cases(&id, LIST_ROWS)).await?)
}

/// Solved cases waiting for the county centre's sign-off before they are published.
pub async fn knowledge_queue(hub: &Hub, actor: &Actor) -> Result<Vec<CaseRow>, ServiceError> {
    require(hub, actor, CentreAction::ReviewKnowledge)?;
    // What the publication pipeline has waiting for this person (each item checked against
    // its document with the pipeline's rules, so the queue never offers a refused step).
    let who = actor.clone();
    hub.store
        .call(move |db| {
            let items = db.waiting_for_review(&who, &[], LIST_ROWS)?;
            let mut rows = Vec::new();
            for i in items.into_iter().filter(|i| i.row.kind == yizhan_core::knowledge::DOC_TYPE) {
                rows.extend(db.case_row(&i.row.doc_id)?);
            }
            Ok(rows)
        })
        .await
        .map_err(ServiceError::from)
}

/// The expert directory: filters of the 找专家 page.
#[derive(Debug, Deserialize, Default)]
pub struct ExpertQuery {
    #[serde(default)]
    pub industry: String,
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub region: String,
}

/// Experts of the actor's region and above, with their records.
pub async fn experts(
    hub: &Hub,
    actor: &Actor,
    q: &ExpertQuery,
) -> Result<(Vec<Person>, HashMap<String, yizhan_core::ranking::ExpertRecord>), ServiceError> {
    require(hub, actor, CentreAction::Desk)?;
    let region =
        if q.region.starts_with(actor.region.as_str()) { q.region.clone() } else { actor.region.to_string() };
    let filter = PeopleFilter {
        role: Some("expert".into()),
        region: Some(region),
        include_above: true,
        industry: Some(q.industry.clone()),
        text: Some(q.q.clone()),
        active_only: true,
        limit: 200,
    };
    Ok(hub.store.call(move |db| Ok((db.find_people(&filter)?, db.expert_records()?))).await?)
}

/// What an export asks for, as the form sends it.
#[derive(Debug, Deserialize, Default)]
pub struct ExportQuery {
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
    #[serde(default)]
    pub region: String,
    #[serde(default)]
    pub industry: String,
    #[serde(default)]
    pub expert: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub format: String,
    /// "1": numbers in clear (county centres only).
    #[serde(default)]
    pub phones: String,
}

/// A built export file.
pub struct ExportFile {
    pub bytes: Vec<u8>,
    pub content_type: &'static str,
    pub file_name: String,
}

/// A day "2026-01-31" as the UTC+8 midnight that starts it.
fn parse_day(s: &str) -> Result<Option<i64>, ServiceError> {
    use chrono::NaiveDate;
    if s.trim().is_empty() {
        return Ok(None);
    }
    let d = NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| ServiceError::Invalid("日期格式应为 2026-01-31".into()))?;
    let Some(t) = d.and_hms_opt(0, 0, 0) else { return Ok(None) };
    Ok(Some(t.and_utc().timestamp_millis() - 8 * 3600 * 1000))
}

/// Service records of the actor's region as CSV or XLSX; every export is audited, and
/// farmers' numbers are in clear only when a county centre asks (its hub alone opens them).
pub async fn export(hub: &Hub, actor: &Actor, q: &ExportQuery) -> Result<ExportFile, ServiceError> {
    require(hub, actor, CentreAction::Desk)?;
    let region = if q.region.is_empty() { actor.region.to_string() } else { q.region.clone() };
    if !region.starts_with(actor.region.as_str()) {
        return Err(Denied::OutOfRegion.into());
    }
    let filter = ServiceFilter {
        region,
        from_ms: parse_day(&q.from)?,
        to_ms: parse_day(&q.to)?.map(|t| t + 24 * 3600 * 1000),
        industry: Some(q.industry.clone()),
        expert: Some(q.expert.clone()),
        status: Some(q.status.clone()),
        limit: 0,
    };
    let county_key = if q.phones == "1" {
        require(hub, actor, CentreAction::ExportPhones)?;
        debug_assert_eq!(actor.region.level(), RegionLevel::County);
        let h = hub.clone();
        let key = tokio::task::spawn_blocking(move || h.county_key()).await.ok().and_then(Result::ok);
        if key.is_none() {
            return Err(ServiceError::Failed("本节点无法解开电话号码".into()));
        }
        tracing::info!(person = %actor.person_id, "export with phone numbers in clear");
        key
    } else {
        None
    };
    let csv = q.format == "csv";
    let audit = (
        actor.person_id.clone(),
        actor.region.to_string(),
        if county_key.is_some() { AUDIT_EXPORT_PHONES } else { AUDIT_EXPORT },
        format!(
            "{} · 地区 {} · {}–{} · 产业 {} · 专家 {} · 状态 {}",
            if csv { "CSV" } else { "XLSX" },
            yizhan_web::fmt::region(&filter.region),
            if q.from.is_empty() { "不限" } else { q.from.as_str() },
            if q.to.is_empty() { "不限" } else { q.to.as_str() },
            if q.industry.is_empty() { "全部" } else { yizhan_web::fmt::industry(&q.industry) },
            if q.expert.is_empty() { "全部" } else { q.expert.as_str() },
            if q.status.is_empty() { "全部" } else { q.status.as_str() },
        ),
    );
    let (rows, names, phones) = hub
        .store
        .call(move |db| {
            let rows = db.service_rows(&filter)?;
            let (who, region, action, detail) = audit;
            db.record_audit(&who, &region, action, &format!("{} 条 · {detail}", rows.len()))?;
            let mut phones = HashMap::new();
            if let Some(key) = &county_key {
                for r in &rows {
                    if let Ok(Some(p)) = crate::sealing::open_phone_in(db, key, &r.case.id) {
                        phones.insert(r.case.id.clone(), p);
                    }
                }
            }
            let mut names = HashMap::new();
            for r in &rows {
                if !r.case.expert.is_empty() && !names.contains_key(&r.case.expert) {
                    let n =
                        db.person(&r.case.expert)?.map(|p| p.name).unwrap_or_else(|| r.case.expert.clone());
                    names.insert(r.case.expert.clone(), n);
                }
            }
            Ok((rows, names, phones))
        })
        .await?;
    let records: Vec<yizhan_records::ServiceRecord> = rows
        .into_iter()
        .map(|r| {
            let clear = phones.get(&r.case.id).cloned();
            let mut rec = crate::export::record(r, &names);
            if let Some(p) = clear {
                rec.phone = p;
            }
            rec
        })
        .collect();
    // The file's name stamps the hub's clock in China's time (UTC+8).
    let stamp = yizhan_web::fmt::file_stamp(hub.store.config().clock.now_ms());
    // Building a large XLSX takes seconds: off the async threads.
    let built = tokio::task::spawn_blocking(move || {
        if csv { Ok(yizhan_records::export_csv(&records)) } else { yizhan_records::export_xlsx(&records) }
    })
    .await
    .map_err(|_| ServiceError::Failed("导出失败".into()))?;
    let bytes = built.map_err(|e| ServiceError::Invalid(e.message_zh()))?;
    Ok(if csv {
        ExportFile {
            bytes,
            content_type: "text/csv; charset=utf-8",
            file_name: format!("service-{stamp}.csv"),
        }
    } else {
        ExportFile {
            bytes,
            content_type: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            file_name: format!("service-{stamp}.xlsx"),
        }
    })
}
