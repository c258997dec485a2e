//! Statistics (管理中心 · 统计) for centre staff: a region they cover, a period and a breakdown,
//! read from the store's rollups (never a scan of the cases), with the people of the region.
//! Aggregates only: no person's name, number or case text.

use serde::{Deserialize, Serialize};
use yizhan_core::stats::{self, PeopleStats, Period, Query, Report};
use yizhan_core::{Actor, CentreAction};

use super::ServiceError;
use crate::Hub;

/// What a page or `/api/stats` asks: every field optional.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct StatsParams {
    /// A region code; defaults to the viewer's region (or this hub's, when hers lies above it).
    pub region: Option<String>,
    /// First month, `YYYY-MM`; defaults to January of `to`'s year.
    pub from: Option<String>,
    /// Last month, `YYYY-MM`; defaults to this month.
    pub to: Option<String>,
    /// A named period (`2026`, `2026-Q2`, `2026-05`); overrides `from` and `to`.
    pub period: Option<String>,
    /// `city|county|town|village|industry|month|expert_level`.
    pub by: Option<String>,
}

/// The figures of one region and period, and the people of the region.
#[derive(Debug, Clone, Serialize)]
pub struct StatsView {
    #[serde(flatten)]
    pub report: Report,
    pub people: PeopleStats,
}

/// Parses and authorises a statistics request: centre staff (staff or administrators of a
/// county, city or province centre) for a region within theirs and within this hub's.
pub fn query(hub: &Hub, actor: &Actor, p: &StatsParams) -> Result<Query, ServiceError> {
    let scope = hub.config.scope.as_str();
    let own = actor.region.as_str();
    let default_region = if own.starts_with(scope) { own } else { scope };
    let region = p.region.as_deref().map(str::trim).filter(|s| !s.is_empty()).unwrap_or(default_region);
    let now_ms = hub.store.config().clock.now_ms();
    let invalid = |e: stats::StatsError| ServiceError::Invalid(e.message_zh());
    let mut q =
        Query::parse(region, p.from.as_deref(), p.to.as_deref(), p.by.as_deref(), now_ms).map_err(invalid)?;
    if let Some(named) = p.period.as_deref().filter(|s| !s.trim().is_empty()) {
        q.period = Period::parse_named(named).map_err(invalid)?;
    }
    yizhan_core::authorize_centre(actor, CentreAction::Statistics, q.region.as_str())?;
    if !q.region.as_str().starts_with(scope) {
        return Err(ServiceError::Invalid(format!("本节点只保存{}的数据", stats::region_name(scope))));
    }
    Ok(q)
}

/// The statistics a signed-in centre member asked for.
pub async fn stats(hub: &Hub, actor: &Actor, p: &StatsParams) -> Result<StatsView, ServiceError> {
    let q = query(hub, actor, p)?;
    Ok(hub
        .store
        .call(move |db| {
            let report = db.stats_report(&q)?;
            let people = db.people_stats(q.region.as_str())?;
            Ok(StatsView { report, people })
        })
        .await?)
}
