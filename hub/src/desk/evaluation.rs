//! 考评 (激励保障, 管理中心): the annual evaluation of city and county centres, the county
//! monthly ranking, the annual performance of experts and officers and the commendation list
//! (通报表扬), scored by the province's rule (shown on the page, editable by the province's
//! administrators); exported as XLSX and printable (the print rules in `assets/web/app.css`).

use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use yizhan_accounts::SignedIn;
use yizhan_core::evaluation::{self, Evaluation, EvaluationRule, Measure, Subject};
use yizhan_core::stats::month_label;

use super::{DeskError, page};
use crate::Hub;
use crate::service;
use crate::service::evaluation::{EvaluationParams, EvaluationView};

fn pct(r: Option<f64>) -> String {
    r.map_or_else(|| "—".into(), |v| format!("{:.1}%", v * 100.0))
}

fn table(id: &str, subject: Subject, list: &[Evaluation], first: &str) -> Markup {
    html! {
        table.evaluation data-testid=(id) {
            thead { tr {
                th { "名次" } th { (first) } th { "服务次数" }
                @for m in subject.measures() { th { (m.name_zh()) } }
                th { "超时" } th { "得分" } th { "等级" }
            } }
            tbody {
                @for (i, e) in list.iter().enumerate() {
                    tr data-key=(e.key) {
                        td { (i + 1) } td { b { (e.name) } } td { (e.services) }
                        @for (m, r) in &e.rates { td { span.small { (m.name_zh()) " " } (pct(*r)) } }
                        td { (e.breaches) } td { b { (format!("{:.1}", e.score)) } }
                        td class=(match e.grade { Some(evaluation::Grade::Excellent) => "ok", Some(evaluation::Grade::Fail) => "err", _ => "" }) {
                            (e.grade.map_or("不参评", |g| g.name_zh()))
                        }
                    }
                }
                @if list.is_empty() { tr { td colspan="9" { "本期没有记录。" } } }
            }
        }
    }
}

fn rule_text(r: &EvaluationRule) -> Markup {
    html! {
        p {
            "得分 = 100 × Σ(权重 × 指标) ÷ Σ权重（只计适用且有数据的指标），每 100 次服务每次超时扣 " (r.breach_penalty) " 分，限 0–100 分。"
            "权重：" @for m in Measure::ALL { (m.name_zh()) " " (r.weight(m)) "；" }
            "中心按分诊、响应、回访、有效、评分、办结计分；专家按响应、有效、评分；信息员按办结、有效、类似案例解决。"
            "等级：≥" (r.excellent) " 优秀，≥" (r.good) " 良好，≥" (r.pass) " 合格，其余不合格；服务少于 " (r.min_services) " 次不参评。"
            "通报表扬：各类优秀者按得分排前 " (r.commend_max) " 名。"
        }
    }
}

fn rule_form(r: &EvaluationRule) -> Markup {
    let field = |name: &str, label: &str, v: i64| {
        html! { label { (label) " " input type="number" name=(name) min="0" max="100000" required value=(v); } }
    };
    html! {
        form.settings.no-print method="post" action=(yizhan_web::action("/desk/evaluation/rule")) data-testid="rule-form" {
            @for (m, name) in Measure::ALL.iter().zip(["w_triage", "w_response", "w_followup", "w_valid", "w_rating", "w_closure", "w_similar"]) {
                (field(name, &format!("{}权重", m.name_zh()), r.weight(*m)))
            }
            (field("breach_penalty", "每次超时扣分（每百次服务）", r.breach_penalty))
            (field("excellent", "优秀分数线", r.excellent))
            (field("good", "良好分数线", r.good))
            (field("pass", "合格分数线", r.pass))
            (field("min_services", "参评最少服务次数", r.min_services))
            (field("commend_max", "通报表扬名额", r.commend_max))
            button.primary type="submit" { "保存评价规则" }
        }
    }
}

fn query_string(v: &EvaluationView) -> String {
    format!("region={}&year={}&month={}", v.region, v.year, month_label(v.month))
}

pub(super) async fn evaluation_page(
    State(hub): State<Hub>,
    SignedIn(actor): SignedIn,
    Query(p): Query<EvaluationParams>,
) -> Result<Markup, DeskError> {
    let v = service::evaluation::evaluations(&hub, &actor, &p).await?;
    let commended: Vec<(&str, &Evaluation)> =
        [("市州中心", &v.cities), ("县级中心", &v.counties), ("专家", &v.experts), ("信息员", &v.officers)]
            .into_iter()
            .flat_map(|(what, list)| {
                evaluation::commendations(&v.rule, list).into_iter().map(move |e| (what, e))
            })
            .collect();
    let body = html! {
        section.card {
            h1 { "考评 · " (v.region_name) " · " (v.year) "年" }
            form.filters.no-print method="get" action="/desk/evaluation" {
                input type="hidden" name="region" value=(v.region);
                label { "年度 " input type="number" name="year" min="2000" max="2100" value=(v.year); }
                label { "月度排名月份 " input type="month" name="month" value=(month_label(v.month)); }
                button.primary type="submit" { "查看" }
                " " a.button href=(format!("/desk/evaluation/export?{}", query_string(&v))) data-testid="evaluation-export" { "导出 XLSX" }
                " " a.button href="#print" data-print { "打印" }
            }
            p.small.muted { "按登记月份统计，数据来自统计汇总；之后同步到的办结、评价、回访会改变已过月份的得分。" }
        }
        section.card data-testid="commendations" {
            h2 { (v.year) "年通报表扬" }
            @if commended.is_empty() { p { "本年度暂无评为优秀的中心或人员。" } }
            @else {
                table { thead { tr { th { "类别" } th { "名称" } th { "得分" } } }
                    tbody { @for (what, e) in &commended { tr { td { (what) } td { b { (e.name) } } td { (format!("{:.1}", e.score)) } } } } }
            }
        }
        @if !v.cities.is_empty() {
            section.card { h2 { (v.year) "年市州运营中心考评" } (table("eval-cities", Subject::Centre, &v.cities, "市州")) }
        }
        section.card { h2 { (v.year) "年县级运营中心考评" } (table("eval-counties", Subject::Centre, &v.counties, "县市区")) }
        section.card { h2 { (month_label(v.month)) " 县级月度排名" } (table("eval-ranking", Subject::Centre, &v.county_ranking, "县市区")) }
        section.card { h2 { (v.year) "年专家绩效" } (table("eval-experts", Subject::Expert, &v.experts, "专家")) }
        section.card { h2 { (v.year) "年信息员绩效" } (table("eval-officers", Subject::Officer, &v.officers, "信息员")) }
        section.card data-testid="evaluation-rule" {
            h2 { "评价规则（省级设定）" }
            (rule_text(&v.rule))
            @if v.may_configure { (rule_form(&v.rule)) }
        }
    };
    Ok(page("考评", Some(&actor), body))
}

pub(super) async fn export(
    State(hub): State<Hub>,
    SignedIn(actor): SignedIn,
    Query(p): Query<EvaluationParams>,
) -> Result<Response, DeskError> {
    let (name, bytes) = service::evaluation::export(&hub, &actor, &p).await?;
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

/// The rule form's fields as typed (parsed here, so a bad number gets a Chinese message).
#[derive(Debug, Deserialize)]
pub struct RuleForm {
    w_triage: String,
    w_response: String,
    w_followup: String,
    w_valid: String,
    w_rating: String,
    w_closure: String,
    w_similar: String,
    breach_penalty: String,
    excellent: String,
    good: String,
    pass: String,
    min_services: String,
    commend_max: String,
}

pub(super) async fn save_rule(
    State(hub): State<Hub>,
    SignedIn(actor): SignedIn,
    form: Result<Form<RuleForm>, FormRejection>,
) -> Result<Redirect, DeskError> {
    let Ok(Form(f)) = form else {
        return Err(DeskError::bad_request("请填写评价规则的全部数值"));
    };
    let n = |s: &str| s.trim().parse::<i64>().map_err(|_| DeskError::bad_request("评价规则的数值应为整数"));
    let mut rule = EvaluationRule::default();
    for (m, v) in Measure::ALL.iter().zip([
        &f.w_triage,
        &f.w_response,
        &f.w_followup,
        &f.w_valid,
        &f.w_rating,
        &f.w_closure,
        &f.w_similar,
    ]) {
        rule.set_weight(*m, n(v)?);
    }
    rule.breach_penalty = n(&f.breach_penalty)?;
    rule.excellent = n(&f.excellent)?;
    rule.good = n(&f.good)?;
    rule.pass = n(&f.pass)?;
    rule.min_services = n(&f.min_services)?;
    rule.commend_max = n(&f.commend_max)?;
    service::evaluation::set_rule(&hub, &actor, rule).await?;
    Ok(Redirect::to("/desk/evaluation"))
}
