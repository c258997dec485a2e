//! 指标 (管理中心): the goals in force for a region the viewer covers, its progress with gauges
//! and the date each goal is reached at the current rate; the region's own administrators set
//! its goals here (the province's are the plan's 2025 goals until changed). The same data as
//! `/api/targets` (`service::targets`).

use axum::Form;
use axum::extract::{Query, State};
use axum::response::Redirect;
use maud::{Markup, html};
use serde::Deserialize;
use yizhan_accounts::SignedIn;
use yizhan_core::targets::{Forecast, Metric, Progress, YEAR_MAX, YEAR_MIN, date_label};
use yizhan_web::assets::{DASHBOARD_PATH, ECHARTS_PATH};

use super::{DeskError, shell};
use crate::Hub;
use crate::service;
use crate::service::targets::TargetsView;

#[derive(Debug, Default, Deserialize)]
pub struct TargetsParams {
    pub region: Option<String>,
}

/// The form's fields as typed (parsed here, so a bad number gets a Chinese message).
#[derive(Debug, Deserialize)]
pub struct TargetsForm {
    pub year: String,
    pub centres: String,
    pub experts: String,
    pub officers: String,
    pub consultations: String,
    pub achievement_items: String,
    pub industry_items: String,
}

fn forecast_zh(p: &Progress) -> String {
    match p.forecast {
        Forecast::Reached => "已完成".into(),
        Forecast::On { day } => format!("按当前速度 {} 完成", date_label(day)),
        Forecast::Stalled => "近一年无增长，按当前速度无法完成".into(),
        Forecast::Unknown => "无历史数据，无法预计".into(),
    }
}

/// The gauges' data for `assets/web/dashboard.js` (`data-targets`), and the table beside them.
pub fn targets_panel(v: &TargetsView, api_url: &str) -> Markup {
    let gauges: Vec<serde_json::Value> = v
        .progress
        .iter()
        .map(|p| serde_json::json!({"name": p.name, "progress": p.ratio, "current": p.current, "goal": p.goal}))
        .collect();
    let gauges = serde_json::Value::Array(gauges).to_string();
    html! {
        section.panel.targets data-testid="dash-targets" {
            h2 { "指标完成情况" }
            @match &v.applied {
                None => p.muted { "本地区及上级均未设定指标。" }
                Some(t) => {
                    p.small.muted {
                        (t.year) " 年目标，由" (yizhan_core::stats::region_name(&t.region_code)) "设定"
                        @if t.region_code != v.region { "（本地区未单独设定；进度按" (v.region_name) "的数字计算）" }
                    }
                    div.chart.gauges #dash-targets data-targets=(gauges) role="img" aria-label="指标完成仪表" {}
                    details open[false] {
                        summary { "数据表" }
                        (progress_table(v))
                    }
                }
            }
            p.small { a.json href=(api_url) { "JSON：" (api_url) } }
        }
    }
}

fn progress_table(v: &TargetsView) -> Markup {
    html! {
        table data-testid="targets-table" {
            thead { tr { th { "指标" } th { "目标" } th { "当前" } th { "完成率" } th { "预计" } } }
            tbody { @for p in &v.progress {
                tr class=[match p.on_time { Some(false) => Some("late"), _ => None }] data-metric=(p.metric.code()) {
                    td { (p.name) }
                    td { (p.goal) " " (p.unit) }
                    td { (p.current) " " (p.unit) }
                    td { (format!("{:.1}%", p.ratio * 100.0)) }
                    td { (forecast_zh(p))
                        @if let Some(rate) = p.per_day { br; span.small { "近一年每天 " (format!("{rate:.2}")) " " (p.unit) } } }
                }
            } }
        }
    }
}

pub(super) async fn targets_page(
    State(hub): State<Hub>,
    SignedIn(actor): SignedIn,
    Query(p): Query<TargetsParams>,
) -> Result<Markup, DeskError> {
    let v = service::targets::targets(&hub, &actor, p.region.as_deref()).await?;
    let api_url = format!("/api/targets?region={}", v.region);
    let current = |m: Metric| v.applied.as_ref().filter(|t| t.region_code == v.region).map(|t| t.goal(m));
    let body = html! {
        section.card {
            h1 { "指标 · " (v.region_name) }
            p.muted { "2025 年规划目标：运营中心 200 个、专家 3 万名、信息员 6 万名、累计咨询服务 100 万次、成果供需信息 2000 条、产业信息 1000 条。"
                "省级设定全省指标，市州、县市区可为本地区另行设定。产业信息、成果供需按已发布信息计数（相应模块上线前为 0）。" }
        }
        div.dash { (targets_panel(&v, &api_url)) }
        @if v.applied.is_some() {
            section.card { h2 { "明细" } (progress_table(&v)) }
        }
        @if v.may_set {
            section.card {
                h2 { "设定" (v.region_name) "指标" }
                form.settings method="post" action=(yizhan_web::action("/desk/targets")) data-testid="targets-form" {
                    label { "目标年份 " input type="number" name="year" min=(YEAR_MIN) max=(YEAR_MAX) required
                        value=(v.applied.as_ref().filter(|t| t.region_code == v.region).map_or(2025, |t| t.year)); }
                    @for m in Metric::ALL {
                        label { (m.name_zh()) "（" (m.unit_zh()) "） "
                            input type="number" name=(m.code()) min="0" required value=(current(m).map(|g| g.to_string()).unwrap_or_default()); }
                    }
                    button.primary type="submit" { "保存指标" }
                }
            }
        }
    };
    let mut shell = shell(Some(&actor));
    shell.scripts = vec![ECHARTS_PATH, DASHBOARD_PATH];
    Ok(shell.render("指标", body))
}

fn number(s: &str, what: &str) -> Result<i64, DeskError> {
    s.trim().parse::<i64>().map_err(|_| DeskError::bad_request(format!("{what}应为整数")))
}

pub(super) async fn save_targets(
    State(hub): State<Hub>,
    SignedIn(actor): SignedIn,
    form: Result<Form<TargetsForm>, axum::extract::rejection::FormRejection>,
) -> Result<Redirect, DeskError> {
    let Ok(Form(f)) = form else {
        return Err(DeskError::bad_request("请填写目标年份和全部六项指标"));
    };
    let year = number(&f.year, "目标年份")?;
    let mut goals = [0i64; 6];
    let fields =
        [&f.centres, &f.experts, &f.officers, &f.consultations, &f.achievement_items, &f.industry_items];
    for ((slot, m), v) in goals.iter_mut().zip(Metric::ALL).zip(fields) {
        *slot = number(v, m.name_zh())?;
    }
    service::targets::set_targets(&hub, &actor, year, goals).await?;
    Ok(Redirect::to("/desk/targets"))
}
