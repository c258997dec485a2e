//! 统计 (管理中心): the figures of a region the viewer covers, for a period of whole months,
//! broken down by region, industry, month or expert level, with the people of the region. The
//! same data as `/api/stats` (`service::stats`); this page only renders it.

use axum::extract::{Query, State};
use maud::{Markup, html};
use yizhan_accounts::SignedIn;
use yizhan_core::stats::{Counts, Figures, GroupBy, Rates, Report, month_label, month_of_ms};
use yizhan_core::{RegionLevel, regions};
use yizhan_web::fmt;

use super::{DeskError, page};
use crate::Hub;
use crate::service;
use crate::service::stats::{StatsParams, StatsView};

fn pct(r: Option<f64>) -> String {
    r.map_or_else(|| "—".into(), |v| format!("{:.1}%", v * 100.0))
}

fn mean(r: Option<f64>) -> String {
    r.map_or_else(|| "—".into(), |v| format!("{v:.2}"))
}

/// The tiles of the totals.
fn tiles(f: &Figures) -> Markup {
    let (c, r): (&Counts, &Rates) = (&f.counts, &f.rates);
    let tile = |label: &str, value: String, note: String| {
        html! { div.stat { b { (value) } (label) @if !note.is_empty() { br; span.small { (note) } } } }
    };
    html! {
        div.summary data-testid="stats-totals" {
            (tile("登记咨询", c.cases.to_string(), String::new()))
            (tile("类似案例解决", c.solved_by_similar.to_string(), format!("解决率 {}", pct(r.solved_by_similar))))
            (tile("提交专家", c.escalated.to_string(), format!("上报市州或省 {}", c.escalated_up)))
            (tile("1小时内分诊", c.triaged_in_time.to_string(), format!("已分诊 {} · {}", c.triaged, pct(r.triaged_in_time))))
            (tile("3小时内响应", c.responded_in_time.to_string(), format!("已响应 {} · {}", c.responded, pct(r.responded_in_time))))
            (tile("上门服务", c.onsite_visits.to_string(), format!("差旅费 {}", fmt::money(c.travel_cost_fen))))
            (tile("已办结", c.closed.to_string(), String::new()))
            (tile("平均评分", mean(r.mean_rating), format!("{} 次评价", c.rated)))
            (tile("一周内回访", c.followed_up_in_time.to_string(), format!("已回访 {} · {}", c.followed_up, pct(r.followed_up_in_time))))
            (tile("有效服务", c.valid.to_string(), format!("有效率 {}", pct(r.valid))))
            (tile("超时记录", c.breaches.to_string(), format!("分诊 {} · 响应 {} · 回访 {}", c.breach_triage, c.breach_response, c.breach_followup)))
        }
    }
}

fn groups_table(report: &Report) -> Markup {
    html! {
        table data-testid="stats-groups" {
            thead { tr {
                th { "分组" } th { "登记" } th { "类似解决" } th { "提交专家" } th { "1小时分诊率" }
                th { "3小时响应率" } th { "上门" } th { "办结" } th { "平均评分" } th { "一周回访率" } th { "有效率" } th { "超时" }
            } }
            tbody {
                @for g in &report.groups {
                    @let (c, r) = (&g.figures.counts, &g.figures.rates);
                    tr {
                        td { b { (g.name) } @if g.name != g.key { " " span.small { (g.key) } } }
                        td { "登记 " (c.cases) }
                        td { "类似解决 " (c.solved_by_similar) }
                        td { "提交专家 " (c.escalated) }
                        td { "分诊 " (pct(r.triaged_in_time)) }
                        td { "响应 " (pct(r.responded_in_time)) }
                        td { "上门 " (c.onsite_visits) }
                        td { "办结 " (c.closed) }
                        td { "评分 " (mean(r.mean_rating)) }
                        td { "回访 " (pct(r.followed_up_in_time)) }
                        td { "有效 " (pct(r.valid)) }
                        td { "超时 " (c.breaches) }
                    }
                }
            }
        }
    }
}

fn form(hub: &Hub, actor_region: &str, p: &StatsParams, report: Option<&Report>) -> Markup {
    let scope = hub.config.scope.as_str();
    let top = if actor_region.starts_with(scope) { actor_region } else { scope };
    let now = month_of_ms(hub.store.config().clock.now_ms());
    let year = now / 100;
    let chosen = report.map(|r| r.region.as_str()).unwrap_or(top);
    // The viewer's region and the regions one and two levels below it that the table knows.
    let mut places = vec![(top.to_string(), fmt::region(top))];
    for child in regions().children(top) {
        places.push((child.code.clone(), format!("· {}", child.name)));
        if RegionLevel::of(&child.code).is_some_and(|l| l <= RegionLevel::City) {
            for g in regions().children(&child.code) {
                places.push((g.code.clone(), format!("·· {}", g.name)));
            }
        }
    }
    let presets = [
        (year.to_string(), format!("{year}年")),
        (format!("{year}-Q1"), format!("{year}年一季度")),
        (format!("{year}-Q2"), format!("{year}年二季度")),
        (format!("{year}-Q3"), format!("{year}年三季度")),
        (format!("{year}-Q4"), format!("{year}年四季度")),
        (month_label(now), format!("本月（{}）", month_label(now))),
        ((year - 1).to_string(), format!("{}年", year - 1)),
    ];
    let period = p.period.clone().unwrap_or_default();
    let by = p.by.clone().unwrap_or_default();
    html! {
        form.filters method="get" action="/desk/stats" data-testid="stats-form" {
            label { "地区 " select name="region" {
                @for (code, name) in &places { option value=(code) selected[code == chosen] { (name) } }
            } }
            label { "期间 " select name="period" {
                option value="" selected[period.is_empty()] { "自定义（按下方月份）" }
                @for (v, name) in &presets { option value=(v) selected[*v == period] { (name) } }
            } }
            label { "从 " input type="month" name="from" value=(p.from.clone().unwrap_or_default()); }
            label { "到 " input type="month" name="to" value=(p.to.clone().unwrap_or_default()); }
            label { "分组 " select name="by" {
                option value="" selected[by.is_empty()] { "不分组" }
                @for g in GroupBy::ALL { option value=(g.code()) selected[g.code() == by] { (g.name_zh()) } }
            } }
            button.primary type="submit" { "查询" }
        }
    }
}

fn people_section(v: &StatsView) -> Markup {
    let p = &v.people;
    html! {
        section.card data-testid="stats-people" {
            h2 { "人员与站点" }
            div.summary {
                div.stat { b { (p.experts) } "专家" br; span.small {
                    @for l in &p.experts_by_level { (l.name) " " (l.count) " " }
                } }
                div.stat { b { (p.officers) } "信息员" br; span.small { (p.villages_with_officers) " 个村有信息员" } }
                div.stat.warn { b { (p.villages_below_plan) } "信息员不足 2 名的村" }
                div.stat { b { (v.report.active_kiosks) } "本期有登记的驿站" }
                div.stat { b { (p.centres.len()) } "运管中心" }
            }
            h3 { "专家（按产业）" }
            p { @for i in &p.experts_by_industry { span.tag.ok { (i.name) " " (i.count) } " " } }
            @if !p.villages_below_plan_listed.is_empty() {
                h3 { "信息员不足的村" }
                table { thead { tr { th { "村" } th { "信息员" } } } tbody {
                    @for vo in &p.villages_below_plan_listed { tr { td { (vo.name) " " span.small { (vo.village) } } td { (vo.officers) " 名" } } }
                } }
            }
            @if !p.centres.is_empty() {
                h3 { "运管中心" }
                table { thead { tr { th { "中心" } th { "工作人员" } } } tbody {
                    @for c in &p.centres { tr { td { (c.name) } td { (c.staff) " 人" } } }
                } }
            }
        }
    }
}

/// 特派员讲堂 views in the region and period: the total, by month, by the recording nodes'
/// regions, and the most viewed lectures.
fn lecture_views_section(v: &StatsView) -> Markup {
    let l = &v.lecture_views;
    html! {
        section.card data-testid="stats-lecture-views" {
            h2 { "讲堂观看" }
            div.summary { div.stat { b data-testid="stats-lecture-views-total" { (l.total) } "次观看（特派员讲堂）" } }
            @if l.total > 0 {
                h3 { "按月" }
                table { thead { tr { th { "月份" } th { "观看" } } } tbody {
                    @for m in &l.by_month { tr { td { (m.month) } td { (m.views) } } }
                } }
                h3 { "按地区（观看所在的驿站或中心）" }
                table { thead { tr { th { "地区" } th { "观看" } } } tbody {
                    @for r in &l.by_region { tr { td { (r.name) } td { (r.views) } } }
                } }
                h3 { "观看最多的讲座" }
                table { thead { tr { th { "讲座" } th { "观看" } } } tbody {
                    @for c in l.by_lecture.iter().take(LECTURES_SHOWN) {
                        tr {
                            td { @if c.title.is_empty() { (c.lecture) } @else { a href=(format!("/lectures/{}", c.lecture)) { (c.title) } } }
                            td { (c.views) }
                        }
                    }
                } }
            }
        }
    }
}

/// Lectures listed on the page at most (the API lists them all).
const LECTURES_SHOWN: usize = 20;

pub(super) async fn stats_page(
    State(hub): State<Hub>,
    SignedIn(actor): SignedIn,
    Query(p): Query<StatsParams>,
) -> Result<Markup, DeskError> {
    let form_only = |msg: Option<String>| {
        html! {
            section.card {
                h1 { "统计" }
                (form(&hub, actor.region.as_str(), &p, None))
                @if let Some(m) = msg { p.alert data-testid="stats-error" { (m) } }
            }
        }
    };
    let view = match service::stats::stats(&hub, &actor, &p).await {
        Ok(v) => v,
        Err(e @ service::ServiceError::Invalid(_)) => {
            return Ok(page("统计", Some(&actor), form_only(Some(e.message_zh()))));
        }
        Err(e) => return Err(e.into()),
    };
    let r = &view.report;
    let subsidies = service::subsidies::approved_totals(&hub, &r.region, &r.from, &r.to).await?;
    let body = html! {
        section.card {
            h1 { "统计 · " (r.region_name) }
            (form(&hub, actor.region.as_str(), &p, Some(r)))
            p.muted { (r.from) " 至 " (r.to) "（按登记月份统计；之后同步到的办结、评价、回访计入登记当月）" }
        }
        (tiles(&r.totals))
        @if let Some(by) = r.by {
            section.card { h2 { (by.name_zh()) } (groups_table(r)) }
        }
        @if !r.categories.is_empty() {
            section.card data-testid="stats-categories" {
                h2 { "服务类别（回访记录）" }
                table { thead { tr { th { "类别" } th { "回访" } th { "有效" } } } tbody {
                    @for c in &r.categories { tr { td { (c.category) } td { (c.followed_up) } td { (c.valid) } } }
                } }
            }
        }
        (people_section(&view))
        (lecture_views_section(&view))
        p data-testid="stats-subsidies" { "已批准补贴（补贴发放）：" b { (yizhan_web::fmt::money(subsidies.1)) }
            "，" (subsidies.0) " 份月度清册（按清册月份）" }
        p.small {
            a href=(export_href(r)) data-testid="stats-xlsx" { "导出 XLSX" }
            " · 数据接口：" a href="/api/openapi.json" { "/api/stats" } "（JSON，说明见 OpenAPI 文档）"
        }
    };
    Ok(page("统计", Some(&actor), body))
}

/// The export of what the page shows (region, months and breakdown as resolved).
fn export_href(r: &Report) -> String {
    let mut pairs = vec![("region", r.region.as_str()), ("from", r.from.as_str()), ("to", r.to.as_str())];
    if let Some(by) = r.by {
        pairs.push(("by", by.code()));
    }
    let query: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("/desk/stats/export?{}", query.join("&"))
}

/// The statistics as XLSX (the same figures, region and period as the page).
pub(super) async fn export(
    State(hub): State<Hub>,
    SignedIn(actor): SignedIn,
    Query(p): Query<StatsParams>,
) -> Result<axum::response::Response, DeskError> {
    use axum::http::header;
    use axum::response::IntoResponse;
    let (name, bytes) = service::stats::export(&hub, &actor, &p).await?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string(),
            ),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
        ],
        bytes,
    )
        .into_response())
}
