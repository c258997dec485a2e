//! 补贴发放 at a hub (管理中心): the province's standard, the county's payees (numbers sealed to
//! the county key, masked everywhere), the monthly statements (prepared from the consultations'
//! statistics contributions by `yizhan_subsidies::compute`, changed and submitted by the county,
//! approved or returned by a city or province centre: `core::subsidy::may_edit`/`may_decide`,
//! checked against the stored statement inside the write), and the approved payment list as
//! XLSX, with numbers in clear only for the county's administrators (`ExportPayments`), every
//! such export in the audit records. Nothing here logs a number or a sealed value.

use std::collections::BTreeMap;

use yizhan_core::subsidy::{
    self, Line, PayeeDoc, STATEMENT_DOC_TYPE, Standard, StandardDoc, State, StatementDoc, Status, Step,
};
use yizhan_core::{Actor, CentreAction, authorize_centre};
use yizhan_store::Db;
use yizhan_subsidies::pages::{PayeeRow, StatementRights, StatementRow, role_zh};
use yizhan_subsidies::{CaseFigures, Payee, numbers};

use super::ServiceError;
use crate::Hub;

/// Statements listed on one page (a province's 183 counties for about a year).
pub const STATEMENTS_LISTED_MAX: u32 = 2_000;
/// Consultations read for one county's month.
pub const CASES_PER_MONTH_MAX: u32 = 200_000;
/// People of a county listed for payee details.
pub const PEOPLE_LISTED_MAX: u32 = 5_000;
/// The audit action of a payment list with numbers in clear.
pub const AUDIT_EXPORT_PAYMENTS: &str = "export_payments";

type Inner<T> = Result<Result<T, ServiceError>, yizhan_store::StoreError>;

fn denied(e: subsidy::SubsidyDenied) -> ServiceError {
    match e {
        subsidy::SubsidyDenied::Denied(d) => ServiceError::Denied(d),
        other => ServiceError::Invalid(other.message_zh()),
    }
}

fn read_standard(db: &Db) -> Result<Option<StandardDoc>, yizhan_store::StoreError> {
    let Some(doc) = db.load_doc(subsidy::STANDARD_ID)? else { return Ok(None) };
    match StandardDoc::from_doc(&doc) {
        Ok(d) => Ok(Some(d)),
        Err(e) => {
            tracing::warn!(error = %e, "unreadable subsidy standard");
            Ok(None)
        }
    }
}

/// The standard's versions (none when the province has not set one) and whether `actor` may
/// add one here.
pub async fn standard(hub: &Hub, actor: &Actor) -> Result<(Vec<Standard>, bool), ServiceError> {
    super::require(hub, actor, CentreAction::Desk)?;
    let may_set = super::require(hub, actor, CentreAction::SetSubsidyStandard).is_ok();
    let versions =
        hub.store.call(|db| Ok(read_standard(db)?.map(|d| d.versions).unwrap_or_default())).await?;
    Ok((versions, may_set))
}

/// Adds a version of the standard (the province's administrators at the province hub).
pub async fn set_standard(hub: &Hub, actor: &Actor, mut v: Standard) -> Result<(), ServiceError> {
    super::require(hub, actor, CentreAction::SetSubsidyStandard)?;
    v.set_by = actor.person_id.clone();
    v.validate().map_err(|e| ServiceError::Invalid(e.message_zh()))?;
    hub.store
        .call(move |db| -> Inner<()> {
            v.set_ms = db.config().clock.now_ms();
            if db.doc_type(subsidy::STANDARD_ID)?.is_some() {
                return Ok(db
                    .update_doc(subsidy::STANDARD_ID, |doc| StandardDoc::add_version(doc, v))?
                    .map_err(|e| ServiceError::Invalid(e.message_zh())));
            }
            let mut doc = match StandardDoc::new(v).and_then(|d| d.to_doc()) {
                Ok(doc) => doc,
                Err(e) => return Ok(Err(ServiceError::Invalid(e.message_zh()))),
            };
            db.create_doc(subsidy::STANDARD_ID, subsidy::STANDARD_DOC_TYPE, &mut doc)?;
            Ok(Ok(()))
        })
        .await?
}

/// What the payee form sends, as typed.
#[derive(Clone)]
pub struct PayeeInput {
    pub person_id: String,
    pub id_card: String,
    pub bank_card: String,
    pub bank_name: String,
}

/// Never shows the numbers.
impl std::fmt::Debug for PayeeInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PayeeInput").field("person_id", &self.person_id).finish_non_exhaustive()
    }
}

fn read_payee(db: &Db, person_id: &str) -> Result<Option<PayeeDoc>, yizhan_store::StoreError> {
    let Some(doc) = db.load_doc(&PayeeDoc::id_for(person_id))? else { return Ok(None) };
    Ok(PayeeDoc::from_doc(&doc).ok())
}

/// The county's experts and officers with their masked details (the county centre's staff at
/// the county hub).
pub async fn payees(hub: &Hub, actor: &Actor) -> Result<(String, Vec<PayeeRow>, bool), ServiceError> {
    super::require(hub, actor, CentreAction::PrepareSubsidies)?;
    let county = hub.config.scope.clone();
    let rows = hub
        .store
        .call(move |db| {
            let people = db.find_people(&yizhan_store::PeopleFilter {
                region: Some(county.clone()),
                active_only: true,
                limit: PEOPLE_LISTED_MAX,
                ..Default::default()
            })?;
            let mut rows = Vec::new();
            for p in people.into_iter().filter(|p| p.role == "expert" || p.role == "officer") {
                let payee = read_payee(db, &p.id)?;
                rows.push(PayeeRow {
                    role_zh: role_zh(&p.role),
                    details: payee
                        .as_ref()
                        .map(|d| (d.id_card_masked.clone(), d.bank_card_masked.clone(), d.bank_name.clone())),
                    set_ms: payee.as_ref().map_or(0, |d| d.set_ms),
                    person_id: p.id,
                    name: p.name,
                });
            }
            Ok(rows)
        })
        .await?;
    Ok((yizhan_core::stats::region_name(&hub.config.scope), rows, true))
}

/// Checks the numbers (GB 11643, Luhn; nothing is stored when one is wrong), seals them to the
/// county key and writes the payee's document.
pub async fn set_payee(hub: &Hub, actor: &Actor, input: PayeeInput) -> Result<(), ServiceError> {
    super::require(hub, actor, CentreAction::PrepareSubsidies)?;
    let bad = |e: numbers::NumberError| ServiceError::Invalid(e.message_zh());
    let id_card = numbers::check_id_card(&input.id_card).map_err(bad)?;
    let bank_card = numbers::check_bank_card(&input.bank_card).map_err(bad)?;
    let bank_name = numbers::check_bank_name(&input.bank_name).map_err(bad)?;
    let h = hub.clone();
    let key = tokio::task::spawn_blocking(move || h.county_key())
        .await
        .map_err(|e| ServiceError::Failed(format!("读取本县加密密钥失败：{e}")))?
        .map_err(|e| {
            tracing::error!(error = %e, "the county sealing key");
            ServiceError::Failed("本县加密密钥不可用，无法保存收款信息".into())
        })?;
    let public = key.public_key();
    let seal = |v: &str| {
        public
            .seal(v, rand::random(), rand::random())
            .map_err(|e| ServiceError::Failed(format!("加密失败：{e}")))
    };
    let (id_sealed, bank_sealed) = (seal(&id_card)?, seal(&bank_card)?);
    let county = hub.config.scope.clone();
    let who = actor.person_id.clone();
    hub.store
        .call(move |db| -> Inner<()> {
            let Some(person) = db.person(&input.person_id)? else {
                return Ok(Err(ServiceError::NotFound("人员不存在")));
            };
            if !person.region_code.starts_with(&county)
                || !(person.role == "expert" || person.role == "officer")
            {
                return Ok(Err(ServiceError::Invalid("只能为本县的科技特派员和信息员填写收款信息".into())));
            }
            let next = PayeeDoc {
                doc_type: subsidy::PAYEE_DOC_TYPE.into(),
                id: PayeeDoc::id_for(&person.id),
                region_code: county.clone(),
                person_id: person.id.clone(),
                name: person.name.clone(),
                id_card_sealed: id_sealed,
                id_card_masked: numbers::mask_id_card(&id_card),
                bank_card_sealed: bank_sealed,
                bank_card_masked: numbers::mask_bank_card(&bank_card),
                bank_name,
                key_id: public.key_id(),
                set_by: who,
                set_ms: db.config().clock.now_ms(),
            };
            let written = if db.doc_type(&next.id)?.is_some() {
                db.update_doc(&next.id, |doc| PayeeDoc::update(doc, &next))?
            } else {
                match next.to_doc() {
                    Ok(mut doc) => {
                        db.create_doc(&next.id, subsidy::PAYEE_DOC_TYPE, &mut doc).map(|_| Ok(()))?
                    }
                    Err(e) => Err(e),
                }
            };
            Ok(written.map_err(|e| ServiceError::Invalid(e.message_zh())))
        })
        .await?
}

/// The region whose statements `actor` sees here: hers, narrowed to the hub's scope.
fn region_seen(hub: &Hub, actor: &Actor) -> Result<String, ServiceError> {
    super::require(hub, actor, CentreAction::Desk)?;
    let own = actor.region.as_str();
    if own.starts_with(&hub.config.scope) {
        Ok(own.to_string())
    } else if hub.config.scope.starts_with(own) {
        Ok(hub.config.scope.clone())
    } else {
        Err(yizhan_core::Denied::OutOfRegion.into())
    }
}

fn read_statement(db: &Db, id: &str) -> Result<Option<StatementDoc>, yizhan_store::StoreError> {
    if db.doc_type(id)?.as_deref() != Some(STATEMENT_DOC_TYPE) {
        return Ok(None);
    }
    let Some(doc) = db.load_doc(id)? else { return Ok(None) };
    Ok(StatementDoc::from_doc(&doc).ok())
}

/// The statements of the region `actor` sees here, newest month first, with whether she may
/// prepare one, last month, and whether a standard is known.
pub async fn statements(
    hub: &Hub,
    actor: &Actor,
) -> Result<(String, Vec<StatementRow>, bool, i64, bool), ServiceError> {
    let region = region_seen(hub, actor)?;
    let may_prepare = super::require(hub, actor, CentreAction::PrepareSubsidies).is_ok();
    let name = yizhan_core::stats::region_name(&region);
    hub.store
        .call(move |db| {
            let ids = db.doc_ids_with_prefix(
                STATEMENT_DOC_TYPE,
                &format!("subsidy-{region}"),
                STATEMENTS_LISTED_MAX,
            )?;
            let mut rows = Vec::new();
            for id in ids {
                if let Some(s) = read_statement(db, &id)? {
                    rows.push(StatementRow {
                        status: subsidy::derive(&s.steps).status,
                        lines: s.lines.iter().filter(|l| l.excluded.is_empty()).count(),
                        total_fen: s.total_fen(),
                        county: s.region_code,
                        month: s.month,
                        id,
                    });
                }
            }
            rows.sort_by(|a, b| b.month.cmp(&a.month).then(a.county.cmp(&b.county)));
            let now = i64::from(yizhan_core::stats::month_of_ms(db.config().clock.now_ms()));
            let last = if now % 100 == 1 { now - 100 + 11 } else { now - 1 };
            let has_standard = read_standard(db)?.is_some();
            Ok((name, rows, may_prepare, last, has_standard))
        })
        .await
        .map_err(ServiceError::from)
}

/// Approved totals in fen of the statements within `region` for the months `from..=to`
/// (`YYYYMM`): (approved statements, total). For the 统计 page.
pub fn approved_total(
    db: &Db,
    region: &str,
    from: u32,
    to: u32,
) -> Result<(i64, i64), yizhan_store::StoreError> {
    let ids =
        db.doc_ids_with_prefix(STATEMENT_DOC_TYPE, &format!("subsidy-{region}"), STATEMENTS_LISTED_MAX)?;
    let (mut n, mut fen) = (0, 0);
    for id in ids {
        if let Some(s) = read_statement(db, &id)?
            && (i64::from(from)..=i64::from(to)).contains(&s.month)
            && subsidy::derive(&s.steps).status == Status::Approved
        {
            n += 1;
            fen += s.total_fen();
        }
    }
    Ok((n, fen))
}

/// [`approved_total`] for the 统计 page: `from` and `to` as `YYYY-MM`. The statements a hub
/// holds are those of its region (a county's own, a city's or the province's synced up).
pub async fn approved_totals(
    hub: &Hub,
    region: &str,
    from: &str,
    to: &str,
) -> Result<(i64, i64), ServiceError> {
    let month =
        |m: &str| yizhan_core::stats::parse_month(m).map_err(|e| ServiceError::Invalid(e.message_zh()));
    let (from, to, region) = (month(from)?, month(to)?, region.to_string());
    Ok(hub.store.call(move |db| approved_total(db, &region, from, to)).await?)
}

fn step(actor: &Actor, kind: &str, at_ms: i64, note: &str) -> Step {
    Step {
        kind: kind.into(),
        person_id: actor.person_id.clone(),
        name: actor.name.clone(),
        at_ms,
        note: note.into(),
    }
}

/// The next step's time: after every step the statement holds (a drifting clock never sorts a
/// step before what it answers).
fn next_ms(doc: &StatementDoc, now_ms: i64) -> i64 {
    doc.steps.iter().map(|s| s.at_ms + 1).max().unwrap_or(now_ms).max(now_ms)
}

/// Prepares (or prepares again) the county's statement of `month` (`YYYY-MM`) from the
/// consultations recorded that month and the standard in force then. Returns its id.
pub async fn prepare(hub: &Hub, actor: &Actor, month: &str) -> Result<String, ServiceError> {
    super::require(hub, actor, CentreAction::PrepareSubsidies)?;
    let month = yizhan_core::stats::parse_month(month).map_err(|e| ServiceError::Invalid(e.message_zh()))?;
    let county = hub.config.scope.clone();
    let actor = actor.clone();
    hub.store
        .call(move |db| -> Inner<String> {
            let now = db.config().clock.now_ms();
            if month > yizhan_core::stats::month_of_ms(now) {
                return Ok(Err(ServiceError::Invalid("不能为尚未到来的月份造册".into())));
            }
            let Some(standard) = read_standard(db)?.and_then(|d| d.applicable(i64::from(month)).cloned())
            else {
                return Ok(Err(ServiceError::Invalid("该月没有适用的补贴标准（须由省级先设定）".into())));
            };
            let id = StatementDoc::id_for(&county, i64::from(month));
            let existing = read_statement(db, &id)?;
            if let Some(s) = &existing
                && let Err(e) = subsidy::may_edit(&actor, &county, &subsidy::derive(&s.steps))
            {
                return Ok(Err(denied(e)));
            }
            let cases: Vec<CaseFigures> = db
                .case_counts_in(&county, month, CASES_PER_MONTH_MAX)?
                .into_iter()
                .map(|c| CaseFigures {
                    expert: c.expert,
                    officer: c.officer,
                    category: c.category,
                    valid: c.counts.valid > 0,
                    onsite_visits: c.counts.onsite_visits,
                    travel_cost_fen: c.counts.travel_cost_fen,
                    closed: c.counts.closed > 0,
                })
                .collect();
            let mut people = BTreeMap::new();
            for pid in cases.iter().flat_map(|c| [&c.expert, &c.officer]).filter(|p| !p.is_empty()) {
                if people.contains_key(pid.as_str()) {
                    continue;
                }
                let name = db.person(pid)?.map_or_else(|| pid.clone(), |p| p.name);
                let payee = read_payee(db, pid)?;
                people.insert(
                    pid.clone(),
                    Payee {
                        name,
                        id_card_masked: payee.as_ref().map(|p| p.id_card_masked.clone()).unwrap_or_default(),
                        bank_card_masked: payee.map(|p| p.bank_card_masked).unwrap_or_default(),
                    },
                );
            }
            let mut lines = yizhan_subsidies::compute(&standard, &cases, &people);
            if lines.len() > subsidy::LINES_MAX {
                return Ok(Err(ServiceError::Invalid("该月人员过多，无法造册".into())));
            }
            match existing {
                Some(mut s) => {
                    yizhan_subsidies::compute::keep_exclusions(&mut lines, &s.lines);
                    let at = next_ms(&s, now);
                    s.lines = lines;
                    s.standard = standard;
                    s.steps.push(step(&actor, "prepared", at, ""));
                    let r = db.update_doc(&id, |doc| StatementDoc::update(doc, &s))?;
                    Ok(r.map(|()| id.clone()).map_err(|e| ServiceError::Invalid(e.message_zh())))
                }
                None => {
                    let s = StatementDoc {
                        doc_type: STATEMENT_DOC_TYPE.into(),
                        id: id.clone(),
                        region_code: county.clone(),
                        month: i64::from(month),
                        standard,
                        lines,
                        steps: vec![step(&actor, "prepared", now, "")],
                    };
                    match s.to_doc() {
                        Ok(mut doc) => {
                            db.create_doc(&id, STATEMENT_DOC_TYPE, &mut doc)?;
                            Ok(Ok(id))
                        }
                        Err(e) => Ok(Err(ServiceError::Invalid(e.message_zh()))),
                    }
                }
            }
        })
        .await?
}

/// One statement, its state and what `actor` may do with it (centre staff whose region
/// contains the county).
pub async fn statement(
    hub: &Hub,
    actor: &Actor,
    id: &str,
) -> Result<(StatementDoc, State, StatementRights), ServiceError> {
    super::require(hub, actor, CentreAction::Desk)?;
    let id = id.to_string();
    let s = hub
        .store
        .call(move |db| read_statement(db, &id))
        .await?
        .ok_or(ServiceError::NotFound("清册不存在"))?;
    authorize_centre(actor, CentreAction::Statistics, &s.region_code)?;
    let state = subsidy::derive(&s.steps);
    let at_county = hub.config.scope == s.region_code;
    let export = at_county
        && state.status == Status::Approved
        && authorize_centre(actor, CentreAction::PrepareSubsidies, &s.region_code).is_ok();
    let rights = StatementRights {
        edit: at_county && subsidy::may_edit(actor, &s.region_code, &state).is_ok(),
        decide: subsidy::may_decide(actor, &s.region_code, &state).is_ok(),
        export,
        export_full: export && authorize_centre(actor, CentreAction::ExportPayments, &s.region_code).is_ok(),
    };
    Ok((s, state, rights))
}

/// What a statement's form asks.
#[derive(Debug, Clone)]
pub enum StatementAction {
    Exclude { person_id: String, role: String, reason: String },
    Include { person_id: String, role: String },
    Submit,
    Approve,
    Return { reason: String },
}

fn reason(r: &str) -> Result<String, ServiceError> {
    let r = r.trim();
    if r.is_empty() || r.chars().count() > subsidy::REASON_CHARS_MAX || r.chars().any(char::is_control) {
        return Err(ServiceError::Invalid(format!("请填写原因（不超过 {} 字）", subsidy::REASON_CHARS_MAX)));
    }
    Ok(r.to_string())
}

/// Takes a step on a statement, authorised against the statement as stored inside the write
/// (a refused step writes nothing).
pub async fn act(hub: &Hub, actor: &Actor, id: &str, action: StatementAction) -> Result<(), ServiceError> {
    super::require(hub, actor, CentreAction::Desk)?;
    let action = match action {
        StatementAction::Exclude { person_id, role, reason: r } => {
            StatementAction::Exclude { person_id, role, reason: reason(&r)? }
        }
        StatementAction::Return { reason: r } => StatementAction::Return { reason: reason(&r)? },
        a => a,
    };
    let (id, actor, scope) = (id.to_string(), actor.clone(), hub.config.scope.clone());
    hub.store
        .call(move |db| -> Inner<()> {
            let Some(mut s) = read_statement(db, &id)? else {
                return Ok(Err(ServiceError::NotFound("清册不存在")));
            };
            let state = subsidy::derive(&s.steps);
            let at = next_ms(&s, db.config().clock.now_ms());
            let county = s.region_code.clone();
            let edit = || {
                if scope != county {
                    return Err(ServiceError::Invalid("清册只能在本县运管中心修改".into()));
                }
                subsidy::may_edit(&actor, &county, &state).map_err(denied)
            };
            let checked = match &action {
                StatementAction::Exclude { person_id, role, reason } => edit().and_then(|()| {
                    let line = s.lines.iter_mut().find(|l| l.key() == (person_id.as_str(), role.as_str()));
                    let line: &mut Line = line.ok_or(ServiceError::NotFound("清册中没有该人员"))?;
                    line.excluded.clone_from(reason);
                    let note = format!("{}（{}）：{reason}", line.name, role_zh(role));
                    s.steps.push(step(&actor, "excluded", at, &note));
                    Ok(())
                }),
                StatementAction::Include { person_id, role } => edit().and_then(|()| {
                    let line = s.lines.iter_mut().find(|l| l.key() == (person_id.as_str(), role.as_str()));
                    let line: &mut Line = line.ok_or(ServiceError::NotFound("清册中没有该人员"))?;
                    line.excluded.clear();
                    let note = format!("{}（{}）", line.name, role_zh(role));
                    s.steps.push(step(&actor, "included", at, &note));
                    Ok(())
                }),
                StatementAction::Submit => edit().map(|()| s.steps.push(step(&actor, "submitted", at, ""))),
                StatementAction::Approve => subsidy::may_decide(&actor, &county, &state)
                    .map_err(denied)
                    .map(|()| s.steps.push(step(&actor, "approved", at, ""))),
                StatementAction::Return { reason } => subsidy::may_decide(&actor, &county, &state)
                    .map_err(denied)
                    .map(|()| s.steps.push(step(&actor, "returned", at, reason))),
            };
            if let Err(e) = checked {
                return Ok(Err(e));
            }
            Ok(db
                .update_doc(&id, |doc| StatementDoc::update(doc, &s))?
                .map_err(|e| ServiceError::Invalid(e.message_zh())))
        })
        .await?
}

/// The approved statement's payment list as XLSX: the lines not excluded, with the numbers in
/// clear for the county's administrators (opened with the county key; the export and how many
/// payees' numbers it opened go to the audit records), masked for the county's other staff.
pub async fn export(hub: &Hub, actor: &Actor, id: &str) -> Result<(String, Vec<u8>), ServiceError> {
    use yizhan_records::{Cell, Sheet};
    let (s, state, rights) = statement(hub, actor, id).await?;
    if state.status != Status::Approved {
        return Err(ServiceError::Invalid("只有已批准的清册可以导出发放清单".into()));
    }
    if !rights.export {
        return Err(yizhan_core::Denied::Role.into());
    }
    let key = if rights.export_full {
        let h = hub.clone();
        let k = tokio::task::spawn_blocking(move || h.county_key())
            .await
            .map_err(|e| ServiceError::Failed(format!("读取本县加密密钥失败：{e}")))?
            .map_err(|e| {
                tracing::error!(error = %e, "the county sealing key");
                ServiceError::Failed("本县加密密钥不可用，无法导出完整号码".into())
            })?;
        Some(k)
    } else {
        None
    };
    let lines: Vec<Line> = s.lines.iter().filter(|l| l.excluded.is_empty()).cloned().collect();
    let pids: Vec<String> = lines.iter().map(|l| l.person_id.clone()).collect();
    let payees = hub
        .store
        .call(move |db| {
            let mut m = BTreeMap::new();
            for p in pids {
                if let Some(d) = read_payee(db, &p)? {
                    m.insert(p, d);
                }
            }
            Ok(m)
        })
        .await?;
    let mut opened = 0;
    let mut rows = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let payee = payees.get(&l.person_id);
        let (id_card, bank_card) = match (payee, &key) {
            (Some(p), Some(k)) => match (k.open(&p.id_card_sealed), k.open(&p.bank_card_sealed)) {
                (Ok(a), Ok(b)) => {
                    opened += 1;
                    (a, b)
                }
                _ => {
                    tracing::warn!(person = %l.person_id, "a payee's numbers do not open with the county key");
                    ("（无法解密）".to_string(), "（无法解密）".to_string())
                }
            },
            (Some(p), None) => (p.id_card_masked.clone(), p.bank_card_masked.clone()),
            (None, _) => ("（未填写）".to_string(), "（未填写）".to_string()),
        };
        let yuan = |fen: i64| Cell::Number(fen as f64 / 100.0);
        rows.push(vec![
            Cell::Number(i as f64 + 1.0),
            Cell::Text(l.name.clone()),
            Cell::Text(role_zh(&l.role).into()),
            Cell::Text(id_card),
            Cell::Text(bank_card),
            Cell::Text(payee.map(|p| p.bank_name.clone()).unwrap_or_default()),
            Cell::Number(l.valid_services as f64),
            yuan(l.service_fen),
            Cell::Number(l.onsite_visits as f64),
            yuan(l.onsite_fen),
            yuan(l.travel_fen),
            Cell::Number(l.closed as f64),
            yuan(l.officer_fen),
            yuan(l.total_fen),
        ]);
    }
    let header = [
        "序号",
        "姓名",
        "身份",
        "身份证号",
        "银行卡号",
        "开户银行",
        "有效服务次数",
        "服务补贴（元）",
        "上门次数",
        "上门补贴（元）",
        "差旅费（元）",
        "办结件数",
        "信息员补贴（元）",
        "合计（元）",
    ];
    let approved = state.approved.clone().unwrap_or_default();
    let about = Sheet {
        name: "说明".into(),
        header: vec!["项目".into(), "内容".into()],
        rows: vec![
            vec![Cell::Text("县市区".into()), Cell::Text(yizhan_core::stats::region_name(&s.region_code))],
            vec![Cell::Text("月份".into()), Cell::Text(yizhan_subsidies::pages::month_zh(s.month))],
            vec![Cell::Text("合计（元）".into()), Cell::Number(s.total_fen() as f64 / 100.0)],
            vec![Cell::Text("批准人".into()), Cell::Text(approved.0)],
            vec![Cell::Text("说明".into()), Cell::Text("平台只记录和核算，由财务按本清单发放".into())],
        ],
    };
    let sheets = [Sheet { name: "发放清单".into(), header: header.map(String::from).to_vec(), rows }, about];
    let bytes =
        yizhan_records::tables_xlsx(&sheets).map_err(|e| ServiceError::Failed(format!("导出失败：{e}")))?;
    let (who, region) = (actor.person_id.clone(), actor.region.to_string());
    let (action, detail) = if key.is_some() {
        (AUDIT_EXPORT_PAYMENTS, format!("补贴发放清单 {}：完整号码 {opened} 人", s.id))
    } else {
        (super::admin::AUDIT_EXPORT, format!("补贴发放清单 {}（号码脱敏）", s.id))
    };
    hub.store.call(move |db| db.record_audit(&who, &region, action, &detail)).await?;
    Ok((format!("butie-{}-{}.xlsx", s.region_code, s.month), bytes))
}
