//! 本村统计: the kiosk's own figures for a signed-in officer (consultations recorded, solved by a
//! similar case, sent to experts, closed, ratings, follow-ups), by month or industry, read from
//! the store's rollups (`service::village_stats`).

use axum::extract::{Query, State};
use maud::{Markup, html};
use serde::Deserialize;
use yizhan_accounts::SignedIn;
use yizhan_core::stats::{Figures, GroupBy, month_label, month_of_ms};

use crate::AppState;
use crate::error::PageError;
use crate::service;

#[derive(Debug, Deserialize, Default)]
pub struct StatsQuery {
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
    #[serde(default)]
    pub by: String,
}

fn pct(r: Option<f64>) -> String {
    r.map_or_else(|| "—".into(), |v| format!("{:.0}%", v * 100.0))
}

fn figures_row(label: &str, f: &Figures) -> Markup {
    let (c, r) = (&f.counts, &f.rates);
    html! {
        tr {
            td { b { (label) } }
            td { "登记 " (c.cases) }
            td { "类似解决 " (c.solved_by_similar) }
            td { "提交专家 " (c.escalated) }
            td { "专家答复 " (c.answered) }
            td { "办结 " (c.closed) }
            td { "评分 " (r.mean_rating.map_or_else(|| "—".into(), |v| format!("{v:.1}"))) }
            td { "回访有效 " (pct(r.valid)) }
        }
    }
}

pub async fn stats_page(
    State(state): State<AppState>,
    SignedIn(actor): SignedIn,
    Query(q): Query<StatsQuery>,
) -> Result<Markup, PageError> {
    let by = if q.by.is_empty() { "month" } else { q.by.as_str() };
    let opt = |s: &str| (!s.trim().is_empty()).then(|| s.to_string());
    let report =
        service::village_stats(&state, &actor, opt(&q.from).as_deref(), opt(&q.to).as_deref(), Some(by))
            .await?;
    let this_month = month_label(month_of_ms(state.clock.now_ms()));
    let c = &report.totals.counts;
    let body = html! {
        section.card {
            h1 { "本村统计 · " (report.region_name) }
            form.stats-filters method="get" action="/stats" {
                label { "从 " input type="month" name="from" value=(q.from) max=(this_month); }
                label { "到 " input type="month" name="to" value=(q.to) max=(this_month); }
                label { "分组 " select name="by" {
                    @for g in [GroupBy::Month, GroupBy::Industry] {
                        option value=(g.code()) selected[g.code() == by] { (g.name_zh()) }
                    }
                } }
                button.primary type="submit" { "查询" }
            }
            p.small { (report.from) " 至 " (report.to) "，按登记月份统计（之后的办结、评价、回访计入登记当月）。" }
        }
        section.card data-testid="village-stats" {
            dl {
                dt { "登记咨询" } dd { b { (c.cases) } " 件" }
                dt { "类似案例解决" } dd { (c.solved_by_similar) " 件（" (pct(report.totals.rates.solved_by_similar)) "）" }
                dt { "提交专家" } dd { (c.escalated) " 件，专家已答复 " (c.answered) " 件" }
                dt { "已办结" } dd { (c.closed) " 件" }
                dt { "平均评分" } dd { (report.totals.rates.mean_rating.map_or_else(|| "暂无".into(), |v| format!("{v:.1} 星（{} 次评价）", c.rated))) }
                dt { "县中心回访" } dd { (c.followed_up) " 件，有效 " (c.valid) " 件" }
            }
        }
        section.card {
            h2 { (GroupBy::parse(by).map(|g| g.name_zh()).unwrap_or("分组")) }
            table.stats-table { tbody {
                @for g in report.groups.iter().filter(|g| g.figures.counts.cases > 0 || by == "month") {
                    (figures_row(&g.name, &g.figures))
                }
            } }
        }
    };
    let header = crate::ui::header_info(&state).await;
    Ok(crate::ui::layout("本村统计", header.as_ref(), Some(&actor), body))
}
