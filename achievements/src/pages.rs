//! The module's page bodies, the same at hubs and kiosks: the public list (achievements,
//! demands and the bounty board with each bounty's state and number of claims, as far as the
//! showing node knows them), a bounty's board section with the expert's claim form, and the
//! owning centre's list of claims with 揭榜 and 完成 buttons.

use std::collections::BTreeMap;

use maud::{Markup, html};
use yizhan_core::Industry;
use yizhan_core::claim::{Board, ClaimDoc};
use yizhan_web::fmt;

use crate::{ACHIEVEMENT, BOUNTY, DEMAND, Entry, Filter};

/// The public list at `base`; `boards` holds the board of each bounty this node knows the
/// claims of (by public id); a bounty without one shows its deadline state only.
pub fn list(
    base: &str,
    entries: &[Entry],
    filter: &Filter,
    now_ms: i64,
    boards: &BTreeMap<String, Board>,
) -> Markup {
    html! {
        section.card.market data-testid="achievements-list" {
            h1 { "成果转化" }
            p.muted { "科技成果、技术需求与悬赏榜单（你发榜我抢单）。平台只负责对接，不参与交易、不代收代付。" }
            form.filters method="get" action=(base) {
                label { "类别 "
                    select name="kind" {
                        option value="" selected[filter.kind.is_empty()] { "全部" }
                        option value=(ACHIEVEMENT) selected[filter.kind == ACHIEVEMENT] { "科技成果" }
                        option value=(DEMAND) selected[filter.kind == DEMAND] { "技术需求" }
                        option value=(BOUNTY) selected[filter.kind == BOUNTY] { "悬赏榜单" }
                    }
                }
                label { "产业 "
                    select name="industry" {
                        option value="" selected[filter.industry.is_empty()] { "全部" }
                        @for i in Industry::ALL { option value=(i.code()) selected[filter.industry == i.code()] { (i.name_zh()) } }
                    }
                }
                label { "地区代码 " input type="text" name="region" value=(filter.region) inputmode="numeric" maxlength="12"; }
                label.check { input type="checkbox" name="expired" value="1" checked[!filter.expired.is_empty()]; " 含已过期" }
                button type="submit" { "筛选" }
            }
            @if entries.is_empty() { p.muted { "暂无符合条件的信息" } }
            ul.listings {
                @for e in entries {
                    li.listing data-testid="entry" {
                        span.tag { (e.kind_zh()) }
                        @if e.kind == BOUNTY {
                            " " (board_tag(e, now_ms, boards.get(&e.id)))
                            " " a href=(format!("/achievements/bounty/{}", e.id)) { (e.title) }
                        } @else {
                            @if e.is_expired(now_ms) { " " span.tag.expired { "已过期" } }
                            " " a href=(format!("/items/{}", e.id)) { (e.title) }
                        }
                        div.facts {
                            span { (fmt::industry_or(&e.industry, "其他")) }
                            @if !e.party.is_empty() { " · " span { (e.party) } }
                            @if !e.maturity.is_empty() { " · " span { (e.maturity) } }
                            @if !e.transfer_mode.is_empty() { " · " span { (e.transfer_mode) } }
                            @if let Some(fen) = e.amount_fen {
                                " · " span.price { @if e.kind == BOUNTY { "悬赏 " } @else { "预算 " } (fmt::money(fen)) }
                            }
                        }
                        div.muted {
                            (fmt::region(&e.centre))
                            @if let Some(d) = e.deadline { " · 截止 " (yizhan_core::holidays::format_day(d)) }
                        }
                    }
                }
            }
        }
    }
}

fn board_tag(e: &Entry, now_ms: i64, board: Option<&Board>) -> Markup {
    let board = board
        .cloned()
        .unwrap_or_else(|| yizhan_core::claim::board(e.deadline.unwrap_or(i64::MAX), now_ms, &[]));
    html! {
        span.tag class=(format!("board-{}", board.status.code())) data-testid="board-status" { (board.status.name_zh()) }
        @if board.claims > 0 { " " span.muted data-testid="claims" { (board.claims) " 人抢单" } }
    }
}

/// A form target for a claim's id (already passed through `yizhan_web::action`).
pub type ActionFor<'a> = &'a dyn Fn(&str) -> String;

/// A bounty's board section under its public page: the state, the number of claims this node
/// knows, the picked expert; `claim_form`: the signed-in expert's form (already passed through
/// `yizhan_web::action`) or why she may not claim; `owner`: the claims with the owning centre's
/// buttons, posting to `pick_action(claim id)` and `done_action(claim id)`.
pub fn board(
    board: &Board,
    deadline: Option<i64>,
    reward_fen: Option<i64>,
    claim_form: Option<Result<String, &str>>,
    owner: Option<(&[ClaimDoc], ActionFor<'_>, ActionFor<'_>)>,
) -> Markup {
    html! {
        section.card.market.bounty data-testid="bounty-board" {
            h2 { "揭榜状态" }
            p {
                span.tag class=(format!("board-{}", board.status.code())) data-testid="board-status" { (board.status.name_zh()) }
                " 抢单人数：" b data-testid="claims" { (board.claims) }
                @if let Some(fen) = reward_fen { " · 悬赏 " (fmt::money(fen)) }
                @if let Some(d) = deadline { " · 截止 " (yizhan_core::holidays::format_day(d)) }
            }
            @if let Some(name) = &board.picked { p data-testid="picked" { "揭榜专家：" b { (name) } } }
            p.muted { "悬赏由发榜方与揭榜专家直接约定与结算，平台不代收代付。" }
            @match claim_form {
                Some(Ok(action)) => {
                    form.claim-form method="post" action=(action) {
                        label { "方案简述（1000 字以内） " textarea name="proposal" required maxlength="1000" rows="4" {} }
                        button type="submit" data-testid="claim-submit" { "我要抢单" }
                    }
                }
                Some(Err(why)) => p.muted data-testid="claim-refused" { (why) },
                None => {}
            }
            @if let Some((claims, pick, done)) = owner {
                h3 { "抢单专家" }
                @if claims.is_empty() { p.muted { "暂无专家抢单" } }
                ul.claims {
                    @for c in claims {
                        @let status = c.status(claims);
                        li data-testid="claim" {
                            b { (c.expert_name) } " " span.muted { (fmt::region(&c.region_code)) " · " (fmt::time_short(c.claimed_at_ms)) }
                            " " span.tag { (status.name_zh()) }
                            div.body { (c.proposal) }
                            @if status == yizhan_core::claim::ClaimStatus::Waiting && board.picked.is_none() {
                                form method="post" action=(pick(&c.id)) { button type="submit" data-testid="pick" { "选定揭榜" } }
                            }
                            @if status == yizhan_core::claim::ClaimStatus::Picked {
                                form method="post" action=(done(&c.id)) { button type="submit" data-testid="done" { "标记完成" } }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The centre's form for one of the module's kinds, posting to `action` (already passed through
/// `yizhan_web::action`): amounts typed in 元, maturity and mode of transfer from their lists.
pub fn form(action: &str, kind: &yizhan_core::item::Kind) -> Markup {
    html! {
        section.card.market {
            h1 { "登记" (kind.name_zh) }
            p.muted { "经本中心两人审核、签发后公开。请勿填写个人手机号、身份证号。" }
            form.listing-form method="post" action=(action) {
                input type="hidden" name="kind" value=(kind.name);
                label { "标题 " input type="text" name="title" required maxlength="100"; }
                @for f in kind.fields {
                    @match f.key {
                        "industry" => (industry_select()),
                        "maturity" => (choice("maturity", f.label_zh, crate::MATURITIES)),
                        "transfer_mode" => (choice("transfer_mode", f.label_zh, crate::TRANSFER_MODES)),
                        "deadline" => label { (f.label_zh) " " input type="date" name="deadline" required; },
                        key if key.ends_with("_fen") => label {
                            (f.label_zh.replace("（分）", "")) "（元）" @if !f.required { "（可不填）" } " "
                            input type="text" name=(key.trim_end_matches("_fen")) inputmode="decimal" maxlength="14" required[f.required];
                        },
                        key => label { (f.label_zh) " " input type="text" name=(key) maxlength="100" required[f.required]; },
                    }
                }
                label { "说明 " textarea name="body" required maxlength="2000" rows="4" {} }
                label { "知识产权归属 " input type="text" name="ip_owner" required maxlength="100"; }
                button type="submit" { "保存草稿" }
            }
        }
    }
}

fn industry_select() -> Markup {
    html! {
        label { "产业 "
            select name="industry" required {
                option value="" { "请选择" }
                @for i in Industry::ALL { option value=(i.code()) { (i.name_zh()) } }
            }
        }
    }
}

fn choice(name: &str, label: &str, options: &[&str]) -> Markup {
    html! {
        label { (label) " "
            select name=(name) required {
                option value="" { "请选择" }
                @for o in options { option value=(o) { (o) } }
            }
        }
    }
}

/// The fields of a submitted form for `kind`: amounts typed in 元 (`reward`, `budget`) become
/// fen; empty ones are left out; keys the kind does not name are ignored. Errors in Chinese.
pub fn fields_of_form(
    kind: &yizhan_core::item::Kind,
    pairs: &[(String, String)],
) -> Result<BTreeMap<String, String>, String> {
    let mut fields = BTreeMap::new();
    for f in kind.fields {
        let typed = f.key.strip_suffix("_fen").unwrap_or(f.key);
        let Some(v) = pairs.iter().find(|(k, _)| k == typed).map(|(_, v)| v.trim()) else { continue };
        if v.is_empty() {
            continue;
        }
        let value = if f.key.ends_with("_fen") {
            let fen = fmt::yuan_to_fen(v)
                .filter(|f| *f > 0)
                .ok_or_else(|| format!("{}须为金额（元，最多两位小数）", f.label_zh.replace("（分）", "")))?;
            fen.to_string()
        } else {
            v.to_string()
        };
        fields.insert(f.key.to_string(), value);
    }
    Ok(fields)
}
