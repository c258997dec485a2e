//! Statistics (管理中心 · 统计) for centre staff: a region they cover, a period and a breakdown,
//! read from the store's rollups (never a scan of the cases), with the people of the region.
//! Aggregates only: no person's name, number or case text.

use serde::{Deserialize, Serialize};
use yizhan_core::lecture_views::ViewStats;
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
    /// 特派员讲堂 views recorded within the region in the period (by the recording nodes'
    /// months and regions), with the titles of the lectures this hub holds.
    pub lecture_views: ViewStats,
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
    let mut view = hub
        .store
        .call(move |db| {
            let report = db.stats_report(&q)?;
            let people = db.people_stats(q.region.as_str())?;
            let lecture_views = db.lecture_view_stats(q.region.as_str(), q.period.from, q.period.to)?;
            Ok(StatsView { report, people, lecture_views })
        })
        .await?;
    let lectures = super::lectures::published(hub).await?;
    for l in &mut view.lecture_views.by_lecture {
        if let Some(p) = lectures.iter().find(|p| p.id == l.lecture) {
            l.title = p.title.clone();
        }
    }
    Ok(view)
}

/// The statistics as an XLSX workbook (audited as an export): the totals first (one measure a
/// row: its count and, where it has one, its rate), then the breakdown asked for and the service
/// categories. Aggregates only, like the page.
pub async fn export(hub: &Hub, actor: &Actor, p: &StatsParams) -> Result<(String, Vec<u8>), ServiceError> {
    use yizhan_records::{Cell, Sheet};
    let v = stats(hub, actor, p).await?;
    let r = &v.report;
    let rate = |x: Option<f64>| x.map_or(Cell::Empty, Cell::Percent);
    let n = |x: i64| Cell::Number(x as f64);
    let c = &r.totals.counts;
    let t = &r.totals.rates;
    let measures: Vec<(&str, Cell, Cell)> = vec![
        ("登记咨询", n(c.cases), Cell::Empty),
        ("类似案例解决", n(c.solved_by_similar), rate(t.solved_by_similar)),
        ("提交专家", n(c.escalated), Cell::Empty),
        ("上报市州或省", n(c.escalated_up), Cell::Empty),
        ("已分诊", n(c.triaged), Cell::Empty),
        ("1小时内分诊", n(c.triaged_in_time), rate(t.triaged_in_time)),
        ("已响应", n(c.responded), Cell::Empty),
        ("3小时内响应", n(c.responded_in_time), rate(t.responded_in_time)),
        ("上门服务", n(c.onsite_visits), Cell::Empty),
        ("差旅费（元）", Cell::Number(c.travel_cost_fen as f64 / 100.0), Cell::Empty),
        ("已办结", n(c.closed), Cell::Empty),
        ("评价次数", n(c.rated), Cell::Empty),
        ("平均评分", t.mean_rating.map_or(Cell::Empty, Cell::Score), Cell::Empty),
        ("已回访", n(c.followed_up), Cell::Empty),
        ("一周内回访", n(c.followed_up_in_time), rate(t.followed_up_in_time)),
        ("有效服务", n(c.valid), rate(t.valid)),
        ("超时记录", n(c.breaches), Cell::Empty),
        ("活跃驿站", n(r.active_kiosks), Cell::Empty),
    ];
    let mut sheets = vec![Sheet {
        name: "合计".into(),
        header: vec!["指标".into(), "数值".into(), "比率".into()],
        rows: measures
            .into_iter()
            .map(|(name, value, ratio)| vec![Cell::Text(name.into()), value, ratio])
            .collect(),
    }];
    if let Some(by) = r.by {
        let header = [
            by.name_zh(),
            "登记",
            "类似解决",
            "提交专家",
            "1小时分诊率",
            "3小时响应率",
            "上门",
            "办结",
            "平均评分",
            "一周回访率",
            "有效率",
            "超时",
        ];
        let rows = r
            .groups
            .iter()
            .map(|g| {
                let (c, t) = (&g.figures.counts, &g.figures.rates);
                vec![
                    Cell::Text(g.name.clone()),
                    n(c.cases),
                    n(c.solved_by_similar),
                    n(c.escalated),
                    rate(t.triaged_in_time),
                    rate(t.responded_in_time),
                    n(c.onsite_visits),
                    n(c.closed),
                    t.mean_rating.map_or(Cell::Empty, Cell::Score),
                    rate(t.followed_up_in_time),
                    rate(t.valid),
                    n(c.breaches),
                ]
            })
            .collect();
        sheets.push(Sheet { name: by.name_zh().into(), header: header.map(String::from).to_vec(), rows });
    }
    if !r.categories.is_empty() {
        sheets.push(Sheet {
            name: "服务类别".into(),
            header: vec!["类别".into(), "回访".into(), "有效".into()],
            rows: r
                .categories
                .iter()
                .map(|k| vec![Cell::Text(k.category.clone()), n(k.followed_up), n(k.valid)])
                .collect(),
        });
    }
    let bytes = yizhan_records::tables_xlsx(&sheets).map_err(|e| ServiceError::Invalid(e.message_zh()))?;
    let (who, region, detail) = (
        actor.person_id.clone(),
        actor.region.to_string(),
        format!("统计 {} {}至{}", r.region, r.from, r.to),
    );
    hub.store.call(move |db| db.record_audit(&who, &region, super::admin::AUDIT_EXPORT, &detail)).await?;
    Ok((format!("tongji-{}-{}-{}.xlsx", r.region, r.from, r.to), bytes))
}
