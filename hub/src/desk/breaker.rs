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
pub struct WordsForm {
    pub words: String,
    pub per_hour: u64,
    pub per_day: u64,
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

pub(super) async fn breaker_page(
    State(hub): State<Hub>,
    SignedIn(actor): SignedIn,
) -> Result<Markup, DeskError> {
    let rows = breaker::list(&hub, &actor).await?;
    let (words, may_set_words) = breaker::words(&hub, &actor).await?;
    let (per_hour, per_day) = words
        .as_ref()
        .map_or((yizhan_core::sensitive::DEFAULT_PER_HOUR, yizhan_core::sensitive::DEFAULT_PER_DAY), |w| {
            (w.per_hour, w.per_day)
        });
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
        section.card data-testid="sensitive-words" {
            h2 { "敏感词与提交上限" }
            p { "提交的信息（讲座、供求、成果、需求、榜单等）命中敏感词时不会发布，转为“待复核”，须审核人员写明意见后复核放行。"
                "匹配前统一全角半角、大小写，并去掉字间的空格和标点。"
                "同一账号 1 小时内提交超过 " b { (per_hour) } " 条或 24 小时内超过 " b { (per_day) } " 条即自动熔断该账号，待工作人员解除。" }
            p.muted { "词表共 " (words.as_ref().map_or(0, |w| w.words.len())) " 个词（上限 " (yizhan_core::sensitive::WORDS_MAX) " 个，每个不超过 " (yizhan_core::sensitive::WORD_CHARS_MAX) " 字）。" }
            @if may_set_words {
                form.settings method="post" action=(yizhan_web::action("/desk/breaker/words")) {
                    label { "敏感词（每行一个，或以逗号分隔）"
                        textarea name="words" rows="8" {
                            @if let Some(w) = &words { (w.words.join("\n")) }
                        }
                    }
                    label { "每小时提交上限 " input type="number" name="per_hour" min="1" max=(yizhan_core::sensitive::LIMIT_MAX) value=(per_hour) required; }
                    label { "每天提交上限 " input type="number" name="per_day" min="1" max=(yizhan_core::sensitive::LIMIT_MAX) value=(per_day) required; }
                    button.primary type="submit" { "保存并下发" }
                }
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

pub(super) async fn save_words(
    State(hub): State<Hub>,
    SignedIn(actor): SignedIn,
    Form(f): Form<WordsForm>,
) -> Result<Redirect, DeskError> {
    breaker::set_words(&hub, &actor, &f.words, f.per_hour, f.per_day).await?;
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
