//! The audit records (审计记录): who exported service records or saw farmers' numbers in
//! clear on this hub, for the administrators of the region.

use axum::extract::State;
use maud::{Markup, html};
use yizhan_accounts::SignedIn;
use yizhan_web::fmt;

use super::{DeskError, page};
use crate::Hub;
use crate::service;
use crate::service::admin::{AUDIT_EXPORT, AUDIT_EXPORT_PHONES, AUDIT_SHOWN, AUDIT_VIEW_PHONE};

fn audit_action_zh(action: &str) -> &str {
    match action {
        AUDIT_EXPORT => "导出服务记录（号码遮蔽）",
        AUDIT_EXPORT_PHONES => "导出服务记录（含完整号码）",
        AUDIT_VIEW_PHONE => "查看农户完整号码",
        crate::service::showcase::AUDIT_FEATURE => "设为推荐专家",
        crate::service::showcase::AUDIT_UNFEATURE => "取消推荐专家",
        crate::service::showcase::AUDIT_REFRESH => "刷新推荐专家数据",
        other => other,
    }
}

pub(super) async fn audit_page(
    State(hub): State<Hub>,
    SignedIn(actor): SignedIn,
) -> Result<Markup, DeskError> {
    let (rows, names) = service::admin::audit_log(&hub, &actor).await?;
    let body = html! {
        section.card {
            h1 { "审计记录" }
            p.muted { "本节点上导出服务记录和查看农户完整号码的记录（最近 " (AUDIT_SHOWN) " 条）。" }
            @if rows.is_empty() { p.muted { "暂无记录" } }
            @else {
                table data-testid="audit" {
                    thead { tr { th { "时间" } th { "人员" } th { "操作" } th { "内容" } } }
                    tbody {
                        @for r in &rows {
                            tr {
                                td { (fmt::time_short(r.at_ms)) }
                                td { (names.get(&r.person_id).cloned().unwrap_or_else(|| r.person_id.clone())) " " span.muted { (r.person_id) } }
                                td { (audit_action_zh(&r.action)) }
                                td { (r.detail) }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page("审计记录", Some(&actor), body))
}
