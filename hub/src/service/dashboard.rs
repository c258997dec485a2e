//! The visualisation centre (大数据可视化展示中心, `/dashboard`): what one page needs of the
//! statistics, read from the rollups (`Db::stats_report`, never a scan of the cases) for a
//! region the viewer covers: the region's breakdown one level down (the map and the ranking),
//! its months (the trend), its industries. Authorised exactly as `/api/stats`
//! ([`super::stats::query`]); the page's script fetches the same figures from `/api/stats`
//! with the URLs [`DashboardView::api_url`] gives.

use serde::Deserialize;
use yizhan_core::stats::{GroupBy, Period, Query, Report, month_label, month_of_ms};
use yizhan_core::{Actor, RegionLevel, regions};

use super::ServiceError;
use super::stats::StatsParams;
use crate::Hub;

/// The months the dashboard shows when no period is asked for: the last twelve.
pub const DEFAULT_MONTHS: u32 = 12;

/// What the page asks: every field optional.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct DashboardParams {
    pub region: Option<String>,
    /// A named period (`2026`, `2026-Q2`, `2026-05`).
    pub period: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    /// The measure the map is coloured by (a code of the page's measures).
    pub measure: Option<String>,
}

/// A region one level below the one shown, from the regions table (with or without figures).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub code: String,
    pub name: String,
}

/// The figures of one dashboard page.
#[derive(Debug, Clone)]
pub struct DashboardView {
    pub query: Query,
    /// The breakdown one level down (cities of the province, counties of a city, towns of a
    /// county, villages of a town); `None` for a village.
    pub children: Option<Report>,
    /// Every region one level down, in code order (the map and tables list them all, zeros
    /// included).
    pub places: Vec<Place>,
    pub months: Report,
    pub industries: Report,
}

/// The level one below `region`'s, as a grouping.
pub fn child_grouping(level: RegionLevel) -> Option<GroupBy> {
    match level {
        RegionLevel::Province => Some(GroupBy::City),
        RegionLevel::City => Some(GroupBy::County),
        RegionLevel::County => Some(GroupBy::Town),
        RegionLevel::Town => Some(GroupBy::Village),
        RegionLevel::Village => None,
    }
}

impl DashboardView {
    /// The `/api/stats` query behind a chart: this region and period, broken down by `by`.
    pub fn api_url(&self, by: Option<GroupBy>) -> String {
        let q = &self.query;
        let mut url = format!(
            "/api/stats?region={}&from={}&to={}",
            q.region,
            month_label(q.period.from),
            month_label(q.period.to)
        );
        if let Some(b) = by {
            url.push_str("&by=");
            url.push_str(b.code());
        }
        url
    }
}

/// Resolves and authorises the page's region and period (the last [`DEFAULT_MONTHS`] months
/// when none is asked for).
pub fn query(hub: &Hub, actor: &Actor, p: &DashboardParams) -> Result<Query, ServiceError> {
    let blank = |s: &Option<String>| s.as_deref().is_none_or(|v| v.trim().is_empty());
    let mut q = super::stats::query(
        hub,
        actor,
        &StatsParams {
            region: p.region.clone(),
            from: p.from.clone(),
            to: p.to.clone(),
            period: p.period.clone(),
            by: None,
        },
    )?;
    if blank(&p.period) && blank(&p.from) && blank(&p.to) {
        let now = month_of_ms(hub.store.config().clock.now_ms());
        q.period = Period::ending(now, DEFAULT_MONTHS).map_err(|e| ServiceError::Invalid(e.message_zh()))?;
    }
    Ok(q)
}

/// The dashboard's figures for a signed-in centre member.
pub async fn dashboard(hub: &Hub, actor: &Actor, p: &DashboardParams) -> Result<DashboardView, ServiceError> {
    let q = query(hub, actor, p)?;
    let child = child_grouping(q.region.level());
    let places = regions()
        .children(q.region.as_str())
        .into_iter()
        .map(|r| Place { code: r.code.clone(), name: r.name.clone() })
        .collect();
    let q2 = q.clone();
    let (children, months, industries) = hub
        .store
        .call(move |db| {
            let with = |by: Option<GroupBy>| Query { by, ..q2.clone() };
            let children = child.map(|c| db.stats_report(&with(Some(c)))).transpose()?;
            let months = db.stats_report(&with(Some(GroupBy::Month)))?;
            let industries = db.stats_report(&with(Some(GroupBy::Industry)))?;
            Ok((children, months, industries))
        })
        .await?;
    Ok(DashboardView { query: q, children, places, months, industries })
}
