//! 安全熔断 (the circuit breaker) at the desk: province and county staff take offline an item,
//! an account's items, a module or a region's live content with a reason, see every takedown
//! that acts on their region (in force or lifted, with reasons), and lift one. Each is a signed
//! public document every node applies (`service::breaker`).

use axum::Form;
use axum::extract::{Path, State};
use axum::response::Redirect;
use maud::{Markup, html};
use serde::Deserialize;
use yizhan_accounts::SignedIn;

use super::{DeskError, page};
use crate::Hub;
use crate::service::breaker::{self, Request};

#[derive(Debug, Deserialize)]
pub struct TakeDownForm {
    /// `item`, `account`, `module` or `region`.
    pub target_kind: String,
    pub target: String,
    pub reason: String,
}

#[derive(Debug, Deserialize)]
pub struct LiftForm {
    pub reason: String,
}

fn kind_zh(code: &str) -> &'static str {
    match code {
        "item" => "单条信息",
        "account" => "账号的信息",
        "module" => "整个模块",
        "region" => "整个地区",
        _ => "其他",
    }
}

pub(super) async fn breaker_page(State(hub): State<Hub>, SignedIn(actor): SignedIn) -> Result<Markup, DeskError> {
    let rows = breaker::list(&hub, &actor).await?;
    let body = html! {
        section.card {
            h1 { "安全熔断" }
            p { "立即下线一条信息、某账号的全部信息、整个模块或整个地区的已发布内容。熔断是签名的公开文件，"
                "同步到每个节点（含离线后重新连接的驿站）后即不再展示；解除后恢复展示。每次熔断和解除都记入审计记录。" }
            form.settings method="post" action=(yizhan_web::action("/desk/breaker")) data-testid="takedown-form" {
                label { "对象 "
                    select name="target_kind" {
                        option value="item" { "单条信息（填信息编号，如 pub-item-…）" }
                        option value="account" { "账号的信息（填账号）" }
                        option value="module" { "整个模块（填类别前缀，如 supply.）" }
                        option value="region" { "整个地区（填地区代码）" }
                    }
                }
                label { "编号或代码 " input type="text" name="target" required maxlength="100"; }
                label { "原因 " textarea name="reason" rows="3" maxlength="500" required {} }
                button.primary type="submit" { "立即熔断" }
            }
        }
        section.card {
            h2 { "熔断记录" }
            @if rows.is_empty() { p.muted { "暂无熔断" } }
            @else {
                table.list data-testid="takedowns" {
                    thead { tr { th { "对象" } th { "原因" } th { "发出" } th { "状态" } } }
                    tbody {
                        @for r in &rows {
                            tr {
                                td { (kind_zh(&r.target_kind)) " " code { (r.target) } " · " (yizhan_web::fmt::region(&r.region)) }
                                td { (r.reason) }
                                td { (r.by_name) " · " (yizhan_web::fmt::time_short(r.at_ms)) }
                                td {
                                    @if r.lifted {
                                        "已解除：" (r.lift_reason) "（" (r.lifted_by_name) " · " (yizhan_web::fmt::time_short(r.lifted_at_ms)) "）"
                                    } @else {
                                        b { "已熔断" }
                                        form method="post" action=(yizhan_web::action(&format!("/desk/breaker/{}/lift", r.id))) {
                                            input type="text" name="reason" required maxlength="500" placeholder="解除原因";
                                            button type="submit" { "解除" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page("安全熔断", Some(&actor), body))
}

pub(super) async fn take_down(
    State(hub): State<Hub>,
    SignedIn(actor): SignedIn,
    Form(f): Form<TakeDownForm>,
) -> Result<Redirect, DeskError> {
    let request = match f.target_kind.as_str() {
        "item" => Request::Item(f.target),
        "account" => Request::Account(f.target),
        "module" => Request::Module(f.target),
        "region" => Request::Region(f.target),
        _ => {
            return Err(DeskError(axum::http::StatusCode::BAD_REQUEST, "未知的熔断对象".into()));
        }
    };
    breaker::take_down(&hub, &actor, request, &f.reason).await?;
    Ok(Redirect::to("/desk/breaker"))
}

pub(super) async fn lift(
    State(hub): State<Hub>,
    SignedIn(actor): SignedIn,
    Path(id): Path<String>,
    Form(f): Form<LiftForm>,
) -> Result<Redirect, DeskError> {
    breaker::lift(&hub, &actor, &id, &f.reason).await?;
    Ok(Redirect::to("/desk/breaker"))
}
