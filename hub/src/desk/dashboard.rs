//! 可视化中心 (`/dashboard`, 管理中心): the region the viewer chose (her own or one below) on a
//! map of Sichuan coloured by a measure (a city's counties when a city is shown, a county's
//! towns as a table), the monthly trend, the service funnel, the industries, target gauges
//! and the ranking of the regions one level down. Drawn by `assets/web/dashboard.js` with
//! ECharts from the `/api/stats` queries each panel names; every chart's numbers are also a
//! table in the page (`<details>`), so the page says everything without its script.

use axum::extract::{Query, State};
use maud::{Markup, html};
use yizhan_accounts::SignedIn;
use yizhan_core::stats::{Figures, GroupBy, Report, month_label};
use yizhan_core::{RegionLevel, region};
use yizhan_web::assets::{DASHBOARD_PATH, ECHARTS_PATH, MAPS_PATH};
use yizhan_web::fmt;

use super::{DeskError, shell};
use crate::Hub;
use crate::service;
use crate::service::dashboard::{DashboardParams, DashboardView, Place};

/// A measure the map can be coloured by and the ranking sorted by.
pub struct Measure {
    pub code: &'static str,
    pub name_zh: &'static str,
    /// Where the figure is in a `/api/stats` group: `counts.<name>` or `rates.<name>`.
    pub path: &'static str,
    /// Shown as a percentage (rates are fractions 0..1).
    pub percent: bool,
    /// Fewer is better (breaches): the ranking sorts ascending.
    pub lower_is_better: bool,
}

const fn m(code: &'static str, name_zh: &'static str, path: &'static str, percent: bool) -> Measure {
    Measure { code, name_zh, path, percent, lower_is_better: false }
}

pub const MEASURES: [Measure; 10] = [
    m("cases", "登记咨询", "counts.cases", false),
    m("solved_by_similar", "类似案例解决率", "rates.solved_by_similar", true),
    m("escalated", "提交专家", "counts.escalated", false),
    m("triaged_in_time", "1小时分诊率", "rates.triaged_in_time", true),
    m("responded_in_time", "3小时响应率", "rates.responded_in_time", true),
    m("closed", "已办结", "counts.closed", false),
    m("mean_rating", "平均评分", "rates.mean_rating", false),
    m("valid", "有效服务率", "rates.valid", true),
    m("onsite_visits", "上门服务", "counts.onsite_visits", false),
    Measure {
        code: "breaches",
        name_zh: "超时记录",
        path: "counts.breaches",
        percent: false,
        lower_is_better: true,
    },
];

impl Measure {
    pub fn find(code: &str) -> &'static Measure {
        MEASURES.iter().find(|m| m.code == code).unwrap_or(&MEASURES[0])
    }

    /// The measure's value in a group's figures (`None`: nothing measured).
    pub fn value(&self, f: &Figures) -> Option<f64> {
        let (part, name) = self.path.split_once('.').unwrap_or(("counts", self.path));
        if part == "rates" {
            let r = &f.rates;
            match name {
                "solved_by_similar" => r.solved_by_similar,
                "triaged_in_time" => r.triaged_in_time,
                "responded_in_time" => r.responded_in_time,
                "followed_up_in_time" => r.followed_up_in_time,
                "valid" => r.valid,
                "mean_rating" => r.mean_rating,
                _ => None,
            }
        } else {
            let counts = f.counts.to_array();
            yizhan_core::stats::Counts::NAMES.iter().position(|n| *n == name).map(|i| counts[i] as f64)
        }
    }

    pub fn show(&self, v: Option<f64>) -> String {
        match v {
            None => "—".into(),
            Some(v) if self.percent => format!("{:.1}%", v * 100.0),
            Some(v) if self.path == "rates.mean_rating" => format!("{v:.2}"),
            Some(v) => format!("{v:.0}"),
        }
    }
}

/// The regions one level down with their figures (zeros for those without cases), in code
/// order.
fn child_rows<'a>(places: &'a [Place], report: &'a Report) -> Vec<(&'a Place, Figures)> {
    places
        .iter()
        .map(|p| {
            let f = report
                .groups
                .iter()
                .find(|g| g.key == p.code)
                .map(|g| g.figures.clone())
                .unwrap_or_else(|| Figures::of(Default::default()));
            (p, f)
        })
        .collect()
}

/// The path from the viewer's top region to the one shown, each a link.
fn breadcrumb(top: &str, shown: &str, link: &dyn Fn(&str) -> String) -> Markup {
    let mut codes: Vec<&str> = [
        RegionLevel::Province,
        RegionLevel::City,
        RegionLevel::County,
        RegionLevel::Town,
        RegionLevel::Village,
    ]
    .into_iter()
    .filter_map(|l| region::ancestor_at(shown, l))
    .filter(|c| c.starts_with(top))
    .collect();
    codes.dedup();
    html! {
        nav.crumbs data-testid="dash-crumbs" {
            @for (i, c) in codes.iter().enumerate() {
                @if i > 0 { " › " }
                @let name = region::regions().get(c).map(|r| r.name.clone()).unwrap_or_else(|| (*c).to_string());
                @if *c == shown { b { (name) } } @else { a href=(link(c)) { (name) } }
            }
        }
    }
}

fn json_link(url: &str) -> Markup {
    html! { a.small.json href=(url) { "JSON：" (url) } }
}

/// A chart's panel: its title, the chart, its numbers as a table (open when there is no
/// chart) and the `/api/stats` query it draws.
fn panel(id: &str, title: &str, class: &str, chart: Option<Markup>, table: Markup, url: &str) -> Markup {
    html! {
        section class=(format!("panel {class}").trim_end()) data-testid=(format!("dash-{id}")) {
            h2 { (title) }
            @if let Some(c) = &chart { (c) }
            details open[chart.is_none()] { summary { "数据表" } (table) }
            p.small { (json_link(url)) }
        }
    }
}

fn funnel_steps(f: &Figures) -> [(&'static str, i64); 6] {
    let c = &f.counts;
    [
        ("登记咨询", c.cases),
        ("类似案例解决", c.solved_by_similar),
        ("提交专家", c.escalated),
        ("专家已答复", c.answered),
        ("已办结", c.closed),
        ("有效服务", c.valid),
    ]
}

fn body(hub: &Hub, actor_region: &str, v: &DashboardView, measure: &Measure, targets: Markup) -> Markup {
    let scope = hub.config.scope.as_str();
    let top = if actor_region.starts_with(scope) { actor_region } else { scope };
    let q = &v.query;
    let (from, to) = (month_label(q.period.from), month_label(q.period.to));
    let link = |code: &str| format!("/dashboard?region={code}&from={from}&to={to}&measure={}", measure.code);
    let level = q.region.level();
    let child = service::dashboard::child_grouping(level);
    let map_url = match level {
        RegionLevel::Province => Some(format!("{MAPS_PATH}/sichuan.json")),
        RegionLevel::City => Some(format!("{MAPS_PATH}/counties/{}.json", q.region)),
        _ => None,
    };
    let totals = &v.months.totals;
    let rows = v.children.as_ref().map(|r| child_rows(&v.places, r)).unwrap_or_default();
    let mut ranked: Vec<&(&Place, Figures)> = rows.iter().collect();
    ranked.sort_by(|a, b| {
        let (x, y) = (
            measure.value(&a.1).unwrap_or(f64::NEG_INFINITY),
            measure.value(&b.1).unwrap_or(f64::NEG_INFINITY),
        );
        let o = y.partial_cmp(&x).unwrap_or(std::cmp::Ordering::Equal);
        if measure.lower_is_better { o.reverse() } else { o }
    });
    let child_name = child.map(|c| c.name_zh().trim_start_matches('按')).unwrap_or("");
    let child_url = v.api_url(child);
    let level_link = matches!(level, RegionLevel::Province | RegionLevel::City | RegionLevel::County);
    html! {
        div.dash data-testid="dashboard"
            data-region=(q.region) data-level=(level.name_zh()) data-measure=(measure.code)
            data-measure-path=(measure.path) data-measure-name=(measure.name_zh)
            data-measure-percent=(if measure.percent { "1" } else { "0" })
            data-link=(format!("/dashboard?from={from}&to={to}&measure={}&region=", measure.code)) {
            section.card.dash-head {
                h1 { "可视化中心 · " (v.months.region_name) }
                (breadcrumb(top, q.region.as_str(), &link))
                form.filters method="get" action="/dashboard" data-testid="dash-form" {
                    input type="hidden" name="region" value=(q.region);
                    label { "从 " input type="month" name="from" value=(from); }
                    label { "到 " input type="month" name="to" value=(to); }
                    label { "地图指标 " select name="measure" {
                        @for ms in &MEASURES { option value=(ms.code) selected[ms.code == measure.code] { (ms.name_zh) } }
                    } }
                    button.primary type="submit" { "查看" }
                }
                p.muted.small { (from) " 至 " (to) "，按登记月份统计（之后同步到的办结、评价、回访计入登记当月）。" }
            }
            div.summary.dash-tiles data-testid="dash-totals" {
                div.stat { b { (totals.counts.cases) } "登记咨询" }
                div.stat { b { (Measure::find("solved_by_similar").show(totals.rates.solved_by_similar)) } "类似案例解决率" }
                div.stat { b { (totals.counts.escalated) } "提交专家" }
                div.stat { b { (Measure::find("responded_in_time").show(totals.rates.responded_in_time)) } "3小时响应率" }
                div.stat { b { (totals.counts.closed) } "已办结" }
                div.stat { b { (Measure::find("valid").show(totals.rates.valid)) } "有效服务率" }
            }
            div.dash-grid {
                @if let Some(ch) = child {
                    (panel(
                        "map",
                        &format!("{} · {}", if map_url.is_some() { "地图" } else { ch.name_zh() }, measure.name_zh),
                        "wide",
                        map_url.as_ref().map(|u| html! {
                            div.chart.map #dash-map data-api=(child_url) data-geo=(u) role="img"
                                aria-label=(format!("{}地图，按{}着色", v.months.region_name, measure.name_zh)) {}
                            p.small.muted { "点击" (child_name) "查看下一级。" }
                        }),
                        html! {
                            table data-testid="dash-map-table" {
                                thead { tr { th { (child_name) } th { "登记咨询" } th { (measure.name_zh) } } }
                                tbody { @for (p, f) in &rows {
                                    tr data-code=(p.code) {
                                        td { @if level_link { a href=(link(&p.code)) { (p.name) } } @else { (p.name) } }
                                        td { (f.counts.cases) }
                                        td { (measure.show(measure.value(f))) }
                                    }
                                } }
                            }
                        },
                        &child_url,
                    ))
                }
                (panel(
                    "trend",
                    "月度趋势",
                    "",
                    Some(html! { div.chart #dash-trend data-api=(v.api_url(Some(GroupBy::Month))) role="img" aria-label="月度趋势图" {} }),
                    html! {
                        table { thead { tr { th { "月份" } th { "登记" } th { "提交专家" } th { "办结" } th { "有效" } } }
                            tbody { @for g in &v.months.groups { tr {
                                td { (g.key) } td { (g.figures.counts.cases) } td { (g.figures.counts.escalated) }
                                td { (g.figures.counts.closed) } td { (g.figures.counts.valid) }
                            } } } }
                    },
                    &v.api_url(Some(GroupBy::Month)),
                ))
                (panel(
                    "funnel",
                    "服务漏斗",
                    "",
                    Some(html! { div.chart #dash-funnel data-api=(v.api_url(None)) role="img" aria-label="服务漏斗图" {} }),
                    html! {
                        table { tbody { @for (name, n) in funnel_steps(totals) { tr { td { (name) } td { (n) } } } } }
                    },
                    &v.api_url(None),
                ))
                (panel(
                    "industry",
                    "产业分布",
                    "",
                    Some(html! { div.chart #dash-industry data-api=(v.api_url(Some(GroupBy::Industry))) role="img" aria-label="产业分布图" {} }),
                    html! {
                        table { thead { tr { th { "产业" } th { "登记" } th { "办结" } th { "有效率" } } }
                            tbody { @for g in &v.industries.groups { tr {
                                td { (g.name) } td { (g.figures.counts.cases) } td { (g.figures.counts.closed) }
                                td { (Measure::find("valid").show(g.figures.rates.valid)) }
                            } } } }
                    },
                    &v.api_url(Some(GroupBy::Industry)),
                ))
                (panel(
                    "gauges",
                    "时效与质量",
                    "",
                    Some(html! { div.chart #dash-gauges data-api=(v.api_url(None)) role="img" aria-label="时效与质量仪表" {} }),
                    html! {
                        table { tbody {
                            @for code in ["triaged_in_time", "responded_in_time", "valid"] {
                                @let ms = Measure::find(code);
                                tr { td { (ms.name_zh) } td { (ms.show(ms.value(totals))) } }
                            }
                        } }
                    },
                    &v.api_url(None),
                ))
                (targets)
                @if child.is_some() {
                    section.panel.rank data-testid="dash-ranking" {
                        h2 { (child_name) "排名 · " (measure.name_zh) }
                        table {
                            thead { tr { th { "名次" } th { (child_name) } th { (measure.name_zh) }
                                @if measure.code != "cases" { th { "登记咨询" } } } }
                            tbody { @for (i, (p, f)) in ranked.iter().map(|r| (&r.0, &r.1)).enumerate() {
                                tr { td { (i + 1) } td { (p.name) } td { (measure.show(measure.value(f))) }
                                    @if measure.code != "cases" { td { (f.counts.cases) } } }
                            } }
                        }
                        p.small { (json_link(&child_url)) }
                    }
                }
            }
        }
    }
}

pub(super) async fn dashboard_page(
    State(hub): State<Hub>,
    SignedIn(actor): SignedIn,
    Query(p): Query<DashboardParams>,
) -> Result<Markup, DeskError> {
    let measure = Measure::find(p.measure.as_deref().unwrap_or(""));
    let view = service::dashboard::dashboard(&hub, &actor, &p).await?;
    let targets = service::targets::targets(&hub, &actor, Some(view.query.region.as_str())).await?;
    let targets =
        super::targets::targets_panel(&targets, &format!("/api/targets?region={}", view.query.region));
    let mut shell = shell(Some(&actor));
    shell.scripts = vec![ECHARTS_PATH, DASHBOARD_PATH];
    let title = format!("可视化中心 · {}", fmt::region(view.query.region.as_str()));
    Ok(shell.render(&title, body(&hub, actor.region.as_str(), &view, measure, targets)))
}
