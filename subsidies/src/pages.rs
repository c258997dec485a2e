//! The desk's page bodies of 补贴发放: 补贴标准 (the province's standard and its history),
//! 收款信息 (payees, masked), 补贴造册 (the statements of a region, the month's preparation,
//! the approved totals) and one statement (lines, exclusions, submission, approval, the payment
//! list). Amounts are shown in 元 (`yizhan_web::fmt::money`); the hub's shell wraps them.

use maud::{Markup, html};
use yizhan_core::subsidy::{Line, ROLE_EXPERT, Standard, State, StatementDoc, Status, Step};
use yizhan_web::{action, fmt};

pub const PATH: &str = "/desk/subsidies";
pub const STANDARD_PATH: &str = "/desk/subsidies/standard";
pub const PAYEES_PATH: &str = "/desk/subsidies/payees";

/// `YYYYMM` as `2026年5月`.
pub fn month_zh(month: i64) -> String {
    format!("{}年{}月", month / 100, month % 100)
}

pub fn role_zh(role: &str) -> &'static str {
    if role == ROLE_EXPERT { "科技特派员" } else { "信息员" }
}

fn standard_summary(s: &Standard) -> Markup {
    html! {
        ul.small data-testid="standard-summary" {
            li { "每次有效服务 " (fmt::money(s.per_valid_fen))
                @for c in &s.per_category { "；" (c.category) " " (fmt::money(c.fen)) } }
            li { "每次上门服务 " (fmt::money(s.onsite_fen)) }
            li { "差旅费按实报销，每次上门最多 "
                @if s.travel_cap_per_visit_fen == 0 { "不设上限" } @else { (fmt::money(s.travel_cap_per_visit_fen)) } }
            li { "信息员每件已办结咨询 " (fmt::money(s.officer_per_closed_fen)) "，每月最多 "
                @if s.officer_month_cap_fen == 0 { "不设上限" } @else { (fmt::money(s.officer_month_cap_fen)) } }
        }
    }
}

/// 补贴标准: the version in force, the history, and the province's form.
pub fn standard_page(
    current_month: i64,
    versions: &[Standard],
    may_set: bool,
    categories: &[&str],
) -> Markup {
    let mut history: Vec<&Standard> = versions.iter().collect();
    history.sort_by_key(|v| std::cmp::Reverse((v.effective_from, v.set_ms)));
    let current = history.iter().find(|v| v.effective_from <= current_month).copied();
    html! {
        section.card {
            h1 { "补贴标准" }
            p.muted { "由省级设定，各县市区按月造册时采用当月适用的标准。平台只记录和核算，不代为支付。" }
            @match current {
                None => p data-testid="no-standard" { "尚未设定补贴标准。" }
                Some(s) => { h2 { "现行标准（" (month_zh(s.effective_from)) "起）" } (standard_summary(s)) }
            }
        }
        @if !history.is_empty() {
            section.card {
                h2 { "历史版本" }
                table data-testid="standard-history" {
                    thead { tr { th { "起始月份" } th { "有效服务" } th { "上门服务" } th { "差旅上限/次" } th { "信息员/件" } th { "信息员月上限" } th { "设定时间" } } }
                    tbody { @for v in &history { tr {
                        td { (month_zh(v.effective_from)) }
                        td { (fmt::money(v.per_valid_fen)) @for c in &v.per_category { br; span.small { (c.category) " " (fmt::money(c.fen)) } } }
                        td { (fmt::money(v.onsite_fen)) }
                        td { (fmt::money(v.travel_cap_per_visit_fen)) }
                        td { (fmt::money(v.officer_per_closed_fen)) }
                        td { (fmt::money(v.officer_month_cap_fen)) }
                        td { (fmt::date(v.set_ms)) }
                    } } }
                }
            }
        }
        @if may_set {
            section.card {
                h2 { "设定新标准" }
                p.small.muted { "金额单位为元，最多两位小数。上限填 0 表示不设上限。新标准从所选月份起适用，此前月份仍按原标准。" }
                form.settings method="post" action=(action(STANDARD_PATH)) data-testid="standard-form" {
                    label { "起始月份 " input type="month" name="effective_from" required; }
                    label { "每次有效服务（元） " input type="text" inputmode="decimal" name="per_valid" required; }
                    @for c in categories {
                        label { (c) "（元，留空按上项） " input type="text" inputmode="decimal" name=(format!("cat_{c}")); }
                    }
                    label { "每次上门服务（元） " input type="text" inputmode="decimal" name="onsite" required; }
                    label { "每次上门差旅费上限（元） " input type="text" inputmode="decimal" name="travel_cap" required; }
                    label { "信息员每件已办结咨询（元） " input type="text" inputmode="decimal" name="officer_per_closed" required; }
                    label { "信息员每月上限（元） " input type="text" inputmode="decimal" name="officer_cap" required; }
                    button.primary type="submit" { "保存新标准" }
                }
            }
        }
    }
}

/// A payee as the list shows her (masked).
#[derive(Debug, Clone)]
pub struct PayeeRow {
    pub person_id: String,
    pub name: String,
    pub role_zh: &'static str,
    /// Masked numbers and the bank, when entered.
    pub details: Option<(String, String, String)>,
    pub set_ms: i64,
}

/// 收款信息: the county's experts and officers with their masked details, and the entry form.
pub fn payees_page(county_name: &str, rows: &[PayeeRow], may_edit: bool) -> Markup {
    html! {
        section.card {
            h1 { "收款信息 · " (county_name) }
            p.muted { "身份证号和银行卡号加密保存在本县运管中心，只有县级管理员在已批准的发放清单中可查看完整号码（每次导出记入审计记录）。其他页面一律脱敏显示。" }
            table data-testid="payees" {
                thead { tr { th { "姓名" } th { "身份" } th { "身份证号" } th { "银行卡号" } th { "开户银行" } } }
                tbody { @for r in rows { tr data-person=(r.person_id) {
                    td { b { (r.name) } }
                    td { (r.role_zh) }
                    @match &r.details {
                        Some((id, card, bank)) => { td.mono { (id) } td.mono { (card) } td { (bank) } }
                        None => { td colspan="3" { span.muted { "未填写" } } }
                    }
                } }
                @if rows.is_empty() { tr { td colspan="5" { "本县还没有科技特派员或信息员。" } } } }
            }
        }
        @if may_edit && !rows.is_empty() {
            section.card {
                h2 { "填写或更新收款信息" }
                form.settings method="post" action=(action(PAYEES_PATH)) data-testid="payee-form" autocomplete="off" {
                    label { "人员 " select name="person_id" required {
                        @for r in rows { option value=(r.person_id) { (r.name) "（" (r.role_zh) "）" } } } }
                    label { "身份证号 " input type="text" name="id_card" maxlength="22" required autocomplete="off"; }
                    label { "银行卡号 " input type="text" inputmode="numeric" name="bank_card" maxlength="25" required autocomplete="off"; }
                    label { "开户银行 " input type="text" name="bank_name" maxlength="40" required; }
                    button.primary type="submit" { "保存（加密）" }
                }
            }
        }
    }
}

/// A statement in a list.
#[derive(Debug, Clone)]
pub struct StatementRow {
    pub id: String,
    pub county: String,
    pub month: i64,
    pub status: Status,
    pub lines: usize,
    pub total_fen: i64,
}

/// 补贴造册: the region's statements, the month's preparation (a county), the approved totals.
pub fn statements_page(
    region_name: &str,
    rows: &[StatementRow],
    may_prepare: bool,
    last_month: i64,
    has_standard: bool,
) -> Markup {
    let waiting: Vec<&StatementRow> = rows.iter().filter(|r| r.status == Status::Submitted).collect();
    let mut totals: std::collections::BTreeMap<(i64, &str), i64> = std::collections::BTreeMap::new();
    for r in rows.iter().filter(|r| r.status == Status::Approved) {
        *totals.entry((r.month, r.county.as_str())).or_default() += r.total_fen;
    }
    let list = |rows: &[&StatementRow], testid: &str| {
        html! {
            table data-testid=(testid) {
                thead { tr { th { "月份" } th { "县市区" } th { "状态" } th { "人数" } th { "合计" } th { "" } } }
                tbody { @for r in rows { tr data-id=(r.id) {
                    td { (month_zh(r.month)) } td { (fmt::region(&r.county)) }
                    td class=(if r.status == Status::Approved { "ok" } else { "" }) { (r.status.name_zh()) }
                    td { (r.lines) } td { (fmt::money(r.total_fen)) }
                    td { a.button href=(format!("{PATH}/{}", r.id)) { "查看" } }
                } } }
            }
        }
    };
    html! {
        section.card {
            h1 { "补贴造册 · " (region_name) }
            p.muted { "县级运管中心按月编制科技特派员和信息员补贴清册，可剔除个别条目并注明原因，提交后由市州或省级运管中心另一人审批；批准后锁定，县级管理员导出发放清单交财务发放。平台只记录，不支付。" }
            p { a href=(STANDARD_PATH) { "补贴标准" } " · " a href=(PAYEES_PATH) { "收款信息" } }
        }
        @if may_prepare {
            section.card {
                h2 { "编制月度清册" }
                @if !has_standard { p.err { "省级尚未设定补贴标准，暂不能造册。" } }
                p.small.muted { "按该月登记的咨询计算（与统计口径一致），使用系统已有的回访结果（有效服务及类别）、上门服务次数和差旅费、信息员办结数。重新编制会按最新数据重算，已剔除的条目保持剔除。" }
                form.settings method="post" action=(action(&format!("{PATH}/prepare"))) data-testid="prepare-form" {
                    label { "月份 " input type="month" name="month" required value=(format!("{}-{:02}", last_month / 100, last_month % 100)); }
                    button.primary type="submit" { "编制/重新编制" }
                }
            }
        }
        @if !waiting.is_empty() {
            section.card { h2 { "待审批" } (list(&waiting, "statements-waiting")) }
        }
        section.card {
            h2 { "全部清册" }
            @if rows.is_empty() { p.muted { "还没有清册。" } }
            @else { (list(&rows.iter().collect::<Vec<_>>(), "statements")) }
        }
        section.card {
            h2 { "已批准补贴统计" }
            @if totals.is_empty() { p.muted { "还没有已批准的清册。" } }
            @else {
                table data-testid="approved-totals" {
                    thead { tr { th { "月份" } th { "县市区" } th { "已批准合计" } } }
                    tbody { @for ((month, county), fen) in &totals { tr {
                        td { (month_zh(*month)) } td { (fmt::region(county)) } td { (fmt::money(*fen)) }
                    } } }
                }
            }
        }
    }
}

fn step_zh(kind: &str) -> &'static str {
    match kind {
        "prepared" => "编制",
        "excluded" => "剔除",
        "included" => "恢复",
        "submitted" => "提交审批",
        "approved" => "批准",
        "returned" => "退回",
        _ => "其他",
    }
}

/// What the viewer may do with a statement.
#[derive(Debug, Clone, Copy, Default)]
pub struct StatementRights {
    pub edit: bool,
    pub decide: bool,
    /// The payment list (approved only): masked for staff, full numbers for the county's
    /// administrators.
    pub export: bool,
    pub export_full: bool,
}

fn line_row(id: &str, l: &Line, edit: bool) -> Markup {
    html! {
        tr data-person=(l.person_id) data-role=(l.role) class=(if l.excluded.is_empty() { "" } else { "excluded" }) {
            td { b { (l.name) } br; span.small { (role_zh(&l.role)) } }
            td { @if l.role == ROLE_EXPERT {
                (l.valid_services) " 次有效服务 " (fmt::money(l.service_fen)) br;
                (l.onsite_visits) " 次上门 " (fmt::money(l.onsite_fen)) br;
                "差旅 " (fmt::money(l.travel_fen))
                @if l.travel_fen != l.travel_recorded_fen { span.small { "（登记 " (fmt::money(l.travel_recorded_fen)) "，超出上限部分不报）" } }
            } @else {
                (l.closed) " 件已办结 " (fmt::money(l.officer_fen))
            } }
            td { b { (fmt::money(l.total_fen)) } }
            td.mono { @if l.id_card_masked.is_empty() { span.err { "未填收款信息" } } @else { (l.id_card_masked) br; (l.bank_card_masked) } }
            td {
                @if !l.excluded.is_empty() { span.err { "已剔除：" (l.excluded) } }
                @if edit {
                    form method="post" action=(action(&format!("{PATH}/{id}/act"))) {
                        input type="hidden" name="person_id" value=(l.person_id);
                        input type="hidden" name="role" value=(l.role);
                        @if l.excluded.is_empty() {
                            input type="hidden" name="action" value="exclude";
                            input type="text" name="reason" maxlength="200" placeholder="剔除原因" required;
                            button type="submit" { "剔除" }
                        } @else {
                            input type="hidden" name="action" value="include";
                            button type="submit" { "恢复" }
                        }
                    }
                }
            }
        }
    }
}

/// One statement.
pub fn statement_page(doc: &StatementDoc, state: &State, rights: StatementRights) -> Markup {
    let id = &doc.id;
    let included = doc.lines.iter().filter(|l| l.excluded.is_empty()).count();
    html! {
        section.card {
            h1 { (fmt::region(&doc.region_code)) " " (month_zh(doc.month)) " 补贴清册" }
            p data-testid="statement-status" { "状态：" b { (state.status.name_zh()) }
                @if let Some((_, at)) = &state.approved { "（" (fmt::time_short(*at)) " 批准，已锁定）" } }
            @if let Some(reason) = &state.returned { p.err data-testid="returned" { "已退回：" (reason) } }
            p { "发放 " (included) " 人，合计 " b data-testid="statement-total" { (fmt::money(doc.total_fen())) }
                @if included < doc.lines.len() { "（剔除 " (doc.lines.len() - included) " 条）" } }
            h2 { "采用标准（" (month_zh(doc.standard.effective_from)) "起）" }
            (standard_summary(&doc.standard))
        }
        section.card {
            h2 { "明细" }
            table data-testid="statement-lines" {
                thead { tr { th { "姓名" } th { "服务" } th { "金额" } th { "收款信息（脱敏）" } th { "" } } }
                tbody { @for l in &doc.lines { (line_row(id, l, rights.edit)) }
                    @if doc.lines.is_empty() { tr { td colspan="5" { "该月没有应发补贴的人员。" } } } }
            }
        }
        @if rights.edit || rights.decide || rights.export {
            section.card.no-print {
                h2 { "操作" }
                @if rights.edit {
                    form method="post" action=(action(&format!("{PATH}/{id}/act"))) data-testid="submit-form" {
                        input type="hidden" name="action" value="submit";
                        button.primary type="submit" { "提交审批" }
                    }
                }
                @if rights.decide {
                    form method="post" action=(action(&format!("{PATH}/{id}/act"))) data-testid="approve-form" {
                        input type="hidden" name="action" value="approve";
                        button.primary type="submit" { "批准" }
                    }
                    form method="post" action=(action(&format!("{PATH}/{id}/act"))) data-testid="return-form" {
                        input type="hidden" name="action" value="return";
                        input type="text" name="reason" maxlength="200" placeholder="退回原因" required;
                        button type="submit" { "退回" }
                    }
                }
                @if rights.export {
                    a.button href=(format!("{PATH}/{id}/payments.xlsx")) data-testid="export" {
                        "导出发放清单（XLSX" @if rights.export_full { "，含完整号码，记入审计" } @else { "，号码脱敏" } "）" }
                }
            }
        }
        section.card {
            h2 { "记录" }
            (steps_list(&doc.steps))
        }
    }
}

fn steps_list(steps: &[Step]) -> Markup {
    let mut order: Vec<&Step> = steps.iter().collect();
    order.sort_by_key(|s| s.at_ms);
    html! {
        ol.small data-testid="statement-steps" { @for s in order {
            li { (fmt::time_short(s.at_ms)) " " (s.name) " " (step_zh(&s.kind)) @if !s.note.is_empty() { "：" (s.note) } }
        } }
    }
}
