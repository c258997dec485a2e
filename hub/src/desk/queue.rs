//! The desk's home (`/desk`): a centre's triage queue by deadline, with the overdue and
//! nearly-overdue clocks first; an expert's list of the cases assigned to her.

use axum::extract::State;
use maud::{Markup, html};
use yizhan_accounts::SignedIn;
use yizhan_core::clock::{ClockKind, MINUTE_MS, ServicePolicy};
use yizhan_core::{Actor, Role, Status};
use yizhan_store::QueueRow;
use yizhan_web::fmt;

use super::clocks::{counting_zh, due_cell};
use super::{DeskError, case_list, page};
use crate::Hub;
use crate::service;
pub use crate::service::centre::{QueuePage, queue_page};

pub(super) async fn home(State(hub): State<Hub>, SignedIn(actor): SignedIn) -> Result<Markup, DeskError> {
    if actor.role == Role::Expert {
        return worklist(hub, actor).await;
    }
    let now = hub.store.config().clock.now_ms();
    let QueuePage { policy, triage, response, followup, overdue, nearly, urgent } =
        service::centre::queue(&hub, &actor, now).await?;
    let body = html! {
        section.summary {
            div.stat.err { b data-testid="overdue-count" { (overdue) } span { "已超时" } }
            div.stat.warn { b data-testid="nearly-count" { (nearly) } span { "临期（" (policy.warn_ms / MINUTE_MS) " 分钟内）" } }
            div.stat { b { (triage.len()) } span { "待分诊" } }
            div.stat { b { (response.len()) } span { "待专家答复" } }
            div.stat { b { (followup.len()) } span { "待回访" } }
        }
        @if !urgent.is_empty() {
            section.card.urgent data-testid="urgent" {
                h2 { "超时与临期" }
                table {
                    thead { tr { th { "环节" } th { "截止时间" } th { "地点" } th { "问题" } th { "" } } }
                    tbody {
                        @for r in &urgent {
                            @let left = r.due_ms - now;
                            tr class=(if left < 0 { "late" } else { "soon" }) {
                                td { (ClockKind::from_code(&r.kind).map(ClockKind::name_zh).unwrap_or("")) }
                                (due_cell(&policy, &r.kind, r.due_ms, now))
                                td { (fmt::region(&r.case.region_code)) " " (r.case.village_name) }
                                td { b { (r.case.subject) } " " (r.case.description.chars().take(40).collect::<String>()) }
                                td { a.button href=(format!("/desk/cases/{}", r.case.id)) { "处理" } }
                            }
                        }
                    }
                }
            }
        }
        (queue_sections(&policy, [&triage, &response, &followup], now))
    };
    Ok(page("分诊队列", Some(&actor), body))
}

/// The page's three queue sections: triage, answers due, follow-up calls due.
pub fn queue_sections(
    policy: &ServicePolicy,
    [triage, response, followup]: [&[QueueRow]; 3],
    now: i64,
) -> Markup {
    html! {
        (queue_table("待分诊", "分诊时限", policy, ClockKind::Triage, triage, now, "triage-queue"))
        (queue_table("待专家答复", "答复时限", policy, ClockKind::Response, response, now, "response-queue"))
        (queue_table("待回访", "回访时限", policy, ClockKind::FollowUp, followup, now, "followup-queue"))
    }
}

/// One queue, by deadline: the heading says the limit and how its clock counts (working
/// time or calendar days); each row shows the wall-clock deadline, then what is left.
pub fn queue_table(
    title: &str,
    limit_zh: &str,
    policy: &ServicePolicy,
    kind: ClockKind,
    rows: &[QueueRow],
    now: i64,
    testid: &str,
) -> Markup {
    let limit_ms = match kind {
        ClockKind::Triage => policy.triage_ms,
        ClockKind::Response => policy.response_ms,
        ClockKind::FollowUp => policy.followup_ms,
    };
    html! {
        section.card {
            h2 { (title) }
            p.muted data-testid=(format!("{testid}-limit")) { "按截止时间排序 · " (limit_zh) " " (fmt::limit(limit_ms)) "，" (counting_zh(policy, kind)) }
            @if rows.is_empty() {
                p.muted { "暂无" }
            } @else {
                table data-testid=(testid) {
                    thead { tr { th { "截止时间" } th { "地点" } th { "产业" } th { "问题" } th { "专家" } th { "" } } }
                    tbody {
                        @for r in rows {
                            @let left = r.due_ms - now;
                            tr class=(if left < 0 { "late" } else if left < policy.warn_ms { "soon" } else { "" }) {
                                (due_cell(policy, &r.kind, r.due_ms, now))
                                td { (fmt::region(&r.case.region_code)) " " (r.case.village_name) }
                                td { (fmt::industry(&r.case.industry)) }
                                td { b { (r.case.subject) } " " (r.case.description.chars().take(40).collect::<String>()) }
                                td { (r.case.expert) }
                                td { a.button href=(format!("/desk/cases/{}", r.case.id)) { "处理" } }
                            }
                        }
                    }
                }
            }
        }
    }
}

async fn worklist(hub: Hub, actor: Actor) -> Result<Markup, DeskError> {
    let rows = service::centre::worklist(&hub, &actor).await?;
    let body = html! {
        section.card {
            h2 { "分派给我的案例" }
            @let status = |r: &yizhan_store::CaseRow| Status::from_code(&r.status).map(Status::name_zh).unwrap_or("").to_string();
            (case_list(&rows, "worklist", ("状态", &status), "查看并答复", "暂无分派给您的案例"))
        }
    };
    Ok(page("我的案例", Some(&actor), body))
}
