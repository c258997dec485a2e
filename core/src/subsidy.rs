//! Subsidies (补贴发放, 激励保障): the three document types of the management centre's subsidy
//! module and the rules of a monthly statement's life. The computation of the amounts, the
//! checks of ID-card and bank-card numbers and the pages live in `yizhan-subsidies`; the
//! documents are here because core's document-type table names their validation hooks.
//!
//! - `subsidy_standard` (id [`STANDARD_ID`], the province's): the amounts in fen, each version
//!   with the month it applies from; versions are only added, so history is kept. Flows down
//!   to hubs only ([`crate::doctype::Flow::DownToHubs`]): kiosks never need it.
//! - `subsidy_payee` (id `payee-<person>`, scope the county): a payee's ID-card and bank-card
//!   numbers sealed to the county hub's X25519 key (`x1:`, as farmers' phones) plus masked
//!   copies, and the bank's name. [`crate::doctype::Flow::Private`] with a county scope: it
//!   never leaves the county hub (no kiosk's scope holds a county code, and a hub never sends
//!   private documents to its parent).
//! - `subsidy_statement` (id `subsidy-<county>-<YYYYMM>`, scope the county): the month's lines
//!   with amounts and masked numbers only, and its steps. Regional: it flows up to the city and
//!   the province, which approve it, and their decision flows back down. The approvers check
//!   people and amounts; the full numbers stay at the county, whose administrators open them
//!   in the approved payment list.
//!
//! A statement's status is derived from its steps, never stored ([`derive`]): prepared (草稿),
//! submitted (待审批), approved (已批准, locked: nothing changes it afterwards), returned (退回,
//! a draft again with the approver's reason). The approver is never a person who prepared or
//! submitted it (the two-person rule).

use automerge::AutoCommit;
use autosurgeon::{Hydrate, Reconcile, hydrate, reconcile};

use crate::access::{Actor, CentreAction, Denied, authorize_centre};
use crate::region::{RegionCode, RegionLevel};
use crate::sealed::is_county_sealed;

pub const STANDARD_DOC_TYPE: &str = "subsidy_standard";
pub const PAYEE_DOC_TYPE: &str = "subsidy_payee";
pub const STATEMENT_DOC_TYPE: &str = "subsidy_statement";
/// The province's one standard document.
pub const STANDARD_ID: &str = "subsidy-standard";
pub const PROVINCE: &str = "51";
/// Any amount of a standard or a line: at most 1,000,000 元.
pub const AMOUNT_FEN_MAX: i64 = 100_000_000;
/// Versions of the standard kept (twenty years of monthly changes).
pub const VERSIONS_MAX: usize = 240;
/// Service categories priced apart from the default.
pub const CATEGORIES_MAX: usize = 20;
/// Lines of one statement (a county's experts and officers).
pub const LINES_MAX: usize = 5_000;
/// Steps of one statement (prepare, exclude, submit, return ... ).
pub const STEPS_MAX: usize = 1_000;
/// An exclusion's or a return's reason.
pub const REASON_CHARS_MAX: usize = 200;
pub const TEXT_CHARS_MAX: usize = 100;

/// Roles paid, as stored on a line.
pub const ROLE_EXPERT: &str = "expert";
pub const ROLE_OFFICER: &str = "officer";

/// One service category priced apart.
#[derive(Debug, Clone, PartialEq, Eq, Reconcile, Hydrate, serde::Serialize)]
pub struct CategoryAmount {
    pub category: String,
    pub fen: i64,
}

/// One version of the standard: every amount in fen.
#[derive(Debug, Clone, PartialEq, Eq, Reconcile, Hydrate, serde::Serialize)]
pub struct Standard {
    /// The first month it applies to, `YYYYMM`.
    pub effective_from: i64,
    /// Per valid service (有效服务) of a category not listed in `per_category`.
    pub per_valid_fen: i64,
    pub per_category: Vec<CategoryAmount>,
    /// Per on-site visit (上门服务).
    pub onsite_fen: i64,
    /// Travel reimbursed per visit at most (0: no cap).
    pub travel_cap_per_visit_fen: i64,
    /// Per consultation an officer recorded and that was closed.
    pub officer_per_closed_fen: i64,
    /// An officer's month at most (0: no cap).
    pub officer_month_cap_fen: i64,
    pub set_by: String,
    pub set_ms: i64,
}

impl Standard {
    /// The amount of one valid service of `category`.
    pub fn service_fen(&self, category: &str) -> i64 {
        self.per_category.iter().find(|c| c.category == category).map_or(self.per_valid_fen, |c| c.fen)
    }

    pub fn validate(&self) -> Result<(), SubsidyError> {
        let month = self.effective_from;
        if !(200_001..=210_012).contains(&month) || !(1..=12).contains(&(month % 100)) {
            return Err(SubsidyError::Month);
        }
        let amounts = [
            self.per_valid_fen,
            self.onsite_fen,
            self.travel_cap_per_visit_fen,
            self.officer_per_closed_fen,
            self.officer_month_cap_fen,
        ];
        if amounts
            .iter()
            .chain(self.per_category.iter().map(|c| &c.fen))
            .any(|a| !(0..=AMOUNT_FEN_MAX).contains(a))
        {
            return Err(SubsidyError::Amount);
        }
        if self.per_category.len() > CATEGORIES_MAX
            || self
                .per_category
                .iter()
                .any(|c| c.category.trim().is_empty() || c.category.chars().count() > TEXT_CHARS_MAX)
        {
            return Err(SubsidyError::Category);
        }
        Ok(())
    }
}

/// The province's standard with its history.
#[derive(Debug, Clone, PartialEq, Eq, Reconcile, Hydrate)]
pub struct StandardDoc {
    pub doc_type: String,
    pub id: String,
    pub region_code: String,
    pub versions: Vec<Standard>,
}

impl StandardDoc {
    pub fn new(first: Standard) -> Result<StandardDoc, SubsidyError> {
        let d = StandardDoc {
            doc_type: STANDARD_DOC_TYPE.into(),
            id: STANDARD_ID.into(),
            region_code: PROVINCE.into(),
            versions: vec![first],
        };
        d.validate()?;
        Ok(d)
    }

    /// The version in force for `month` (`YYYYMM`): the latest effective on or before it, the
    /// one set last when two start the same month.
    pub fn applicable(&self, month: i64) -> Option<&Standard> {
        self.versions
            .iter()
            .filter(|v| v.effective_from <= month)
            .max_by_key(|v| (v.effective_from, v.set_ms))
    }

    pub fn validate(&self) -> Result<(), SubsidyError> {
        if self.doc_type != STANDARD_DOC_TYPE || self.id != STANDARD_ID || self.region_code != PROVINCE {
            return Err(SubsidyError::Malformed("not the province's subsidy standard".into()));
        }
        if self.versions.len() > VERSIONS_MAX {
            return Err(SubsidyError::TooMany);
        }
        self.versions.iter().try_for_each(Standard::validate)
    }

    pub fn to_doc(&self) -> Result<AutoCommit, SubsidyError> {
        self.validate()?;
        let mut doc = AutoCommit::new();
        reconcile(&mut doc, self).map_err(|e| SubsidyError::Malformed(e.to_string()))?;
        Ok(doc)
    }

    pub fn from_doc(doc: &AutoCommit) -> Result<StandardDoc, SubsidyError> {
        let d: StandardDoc = hydrate(doc).map_err(|e| SubsidyError::Malformed(e.to_string()))?;
        d.validate()?;
        Ok(d)
    }

    /// Adds a version (history is kept: nothing is replaced).
    pub fn add_version(doc: &mut AutoCommit, v: Standard) -> Result<(), SubsidyError> {
        let mut d = StandardDoc::from_doc(doc)?;
        d.versions.push(v);
        d.validate()?;
        reconcile(doc, &d).map_err(|e| SubsidyError::Malformed(e.to_string()))
    }
}

/// A payee's details, sealed to the county hub's key.
#[derive(Debug, Clone, PartialEq, Eq, Reconcile, Hydrate)]
pub struct PayeeDoc {
    pub doc_type: String,
    pub id: String,
    /// The county whose centre pays her (the scope).
    pub region_code: String,
    pub person_id: String,
    pub name: String,
    /// `x1:` sealed to the county key; never shown, never logged.
    pub id_card_sealed: String,
    pub id_card_masked: String,
    pub bank_card_sealed: String,
    pub bank_card_masked: String,
    pub bank_name: String,
    /// The county key's id the numbers are sealed to.
    pub key_id: String,
    pub set_by: String,
    pub set_ms: i64,
}

impl PayeeDoc {
    pub fn id_for(person_id: &str) -> String {
        format!("payee-{person_id}")
    }

    pub fn validate(&self) -> Result<(), SubsidyError> {
        if self.doc_type != PAYEE_DOC_TYPE || self.id != PayeeDoc::id_for(&self.person_id) {
            return Err(SubsidyError::Malformed("not a payee document".into()));
        }
        county(&self.region_code)?;
        if !is_county_sealed(&self.id_card_sealed) || !is_county_sealed(&self.bank_card_sealed) {
            return Err(SubsidyError::Malformed("payee numbers must be sealed".into()));
        }
        // A masked copy keeps at most eight digits of a number (four at each end).
        for m in [&self.id_card_masked, &self.bank_card_masked] {
            if m.chars().filter(char::is_ascii_digit).count() > 8 || !m.contains('*') {
                return Err(SubsidyError::Malformed("a masked number shows too much".into()));
            }
        }
        if [&self.name, &self.bank_name, &self.person_id].iter().any(|t| t.chars().count() > TEXT_CHARS_MAX) {
            return Err(SubsidyError::Malformed("text too long".into()));
        }
        Ok(())
    }

    pub fn to_doc(&self) -> Result<AutoCommit, SubsidyError> {
        self.validate()?;
        let mut doc = AutoCommit::new();
        reconcile(&mut doc, self).map_err(|e| SubsidyError::Malformed(e.to_string()))?;
        Ok(doc)
    }

    pub fn from_doc(doc: &AutoCommit) -> Result<PayeeDoc, SubsidyError> {
        let d: PayeeDoc = hydrate(doc).map_err(|e| SubsidyError::Malformed(e.to_string()))?;
        d.validate()?;
        Ok(d)
    }

    pub fn update(doc: &mut AutoCommit, next: &PayeeDoc) -> Result<(), SubsidyError> {
        next.validate()?;
        reconcile(doc, next).map_err(|e| SubsidyError::Malformed(e.to_string()))
    }
}

/// One person's line of a statement. Amounts in fen.
#[derive(Debug, Clone, PartialEq, Eq, Reconcile, Hydrate, serde::Serialize)]
pub struct Line {
    pub person_id: String,
    pub name: String,
    /// [`ROLE_EXPERT`] or [`ROLE_OFFICER`].
    pub role: String,
    pub valid_services: i64,
    pub service_fen: i64,
    pub onsite_visits: i64,
    pub onsite_fen: i64,
    pub travel_recorded_fen: i64,
    pub travel_fen: i64,
    pub closed: i64,
    pub officer_fen: i64,
    pub total_fen: i64,
    /// Masked ID-card and bank-card numbers ("" when the county holds no payee details).
    pub id_card_masked: String,
    pub bank_card_masked: String,
    /// Why the county excluded the line ("" = included).
    pub excluded: String,
}

impl Line {
    pub fn key(&self) -> (&str, &str) {
        (&self.person_id, &self.role)
    }

    pub fn paid_fen(&self) -> i64 {
        if self.excluded.is_empty() { self.total_fen } else { 0 }
    }
}

/// A step of a statement's life.
#[derive(Debug, Clone, PartialEq, Eq, Reconcile, Hydrate, serde::Serialize)]
pub struct Step {
    /// `prepared`, `excluded`, `included`, `submitted`, `approved`, `returned`.
    pub kind: String,
    pub person_id: String,
    pub name: String,
    pub at_ms: i64,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Reconcile, Hydrate)]
pub struct StatementDoc {
    pub doc_type: String,
    pub id: String,
    pub region_code: String,
    /// `YYYYMM`: the month the counted consultations were recorded in.
    pub month: i64,
    /// The standard applied (a copy, so the statement reads the same if it changes later).
    pub standard: Standard,
    pub lines: Vec<Line>,
    pub steps: Vec<Step>,
}

impl StatementDoc {
    pub fn id_for(county: &str, month: i64) -> String {
        format!("subsidy-{county}-{month}")
    }

    pub fn validate(&self) -> Result<(), SubsidyError> {
        if self.doc_type != STATEMENT_DOC_TYPE
            || self.id != StatementDoc::id_for(&self.region_code, self.month)
        {
            return Err(SubsidyError::Malformed("not a subsidy statement".into()));
        }
        county(&self.region_code)?;
        self.standard.validate()?;
        if self.lines.len() > LINES_MAX || self.steps.len() > STEPS_MAX {
            return Err(SubsidyError::TooMany);
        }
        for l in &self.lines {
            let amounts = [
                l.service_fen,
                l.onsite_fen,
                l.travel_recorded_fen,
                l.travel_fen,
                l.officer_fen,
                l.total_fen,
            ];
            if amounts.iter().any(|a| !(0..=AMOUNT_FEN_MAX).contains(a)) {
                return Err(SubsidyError::Amount);
            }
            for m in [&l.id_card_masked, &l.bank_card_masked] {
                if m.chars().filter(char::is_ascii_digit).count() > 8 {
                    return Err(SubsidyError::Malformed("a statement carries masked numbers only".into()));
                }
            }
        }
        Ok(())
    }

    pub fn to_doc(&self) -> Result<AutoCommit, SubsidyError> {
        self.validate()?;
        let mut doc = AutoCommit::new();
        reconcile(&mut doc, self).map_err(|e| SubsidyError::Malformed(e.to_string()))?;
        Ok(doc)
    }

    pub fn from_doc(doc: &AutoCommit) -> Result<StatementDoc, SubsidyError> {
        let d: StatementDoc = hydrate(doc).map_err(|e| SubsidyError::Malformed(e.to_string()))?;
        d.validate()?;
        Ok(d)
    }

    pub fn update(doc: &mut AutoCommit, next: &StatementDoc) -> Result<(), SubsidyError> {
        next.validate()?;
        reconcile(doc, next).map_err(|e| SubsidyError::Malformed(e.to_string()))
    }

    /// The total paid (lines not excluded).
    pub fn total_fen(&self) -> i64 {
        self.lines.iter().map(Line::paid_fen).sum()
    }
}

fn county(code: &str) -> Result<RegionCode, SubsidyError> {
    let c = RegionCode::parse(code).map_err(|e| SubsidyError::Malformed(e.to_string()))?;
    if c.level() != RegionLevel::County {
        return Err(SubsidyError::Malformed("subsidies are kept by county centres".into()));
    }
    Ok(c)
}

/// Where a statement stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Draft,
    Submitted,
    Approved,
}

impl Status {
    pub fn name_zh(self) -> &'static str {
        match self {
            Status::Draft => "草稿",
            Status::Submitted => "待审批",
            Status::Approved => "已批准",
        }
    }
}

/// A statement's state, derived from its steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    pub status: Status,
    /// Everyone who prepared it or changed a line (none of them may approve it).
    pub preparers: Vec<String>,
    pub submitted_by: Option<String>,
    /// Who approved and when.
    pub approved: Option<(String, i64)>,
    /// The reason of the latest return, while it is a draft again.
    pub returned: Option<String>,
}

/// Derives the state from the steps in `(at_ms, position)` order; a step that is not a valid
/// transition at its place is ignored (so two merged edits give the same state everywhere).
pub fn derive(steps: &[Step]) -> State {
    let mut order: Vec<(usize, &Step)> = steps.iter().enumerate().collect();
    order.sort_by_key(|(i, s)| (s.at_ms, *i));
    let mut st = State {
        status: Status::Draft,
        preparers: Vec::new(),
        submitted_by: None,
        approved: None,
        returned: None,
    };
    for (_, s) in order {
        match (s.kind.as_str(), st.status) {
            (_, Status::Approved) => {}
            ("prepared" | "excluded" | "included", Status::Draft) if !st.preparers.contains(&s.person_id) => {
                st.preparers.push(s.person_id.clone());
            }
            ("submitted", Status::Draft) => {
                st.status = Status::Submitted;
                st.submitted_by = Some(s.person_id.clone());
                st.returned = None;
            }
            ("approved", Status::Submitted)
                if !st.preparers.contains(&s.person_id)
                    && st.submitted_by.as_deref() != Some(&s.person_id) =>
            {
                st.status = Status::Approved;
                st.approved = Some((s.person_id.clone(), s.at_ms));
            }
            ("returned", Status::Submitted) => {
                st.status = Status::Draft;
                st.returned = Some(s.note.clone());
                st.submitted_by = None;
            }
            _ => {}
        }
    }
    st
}

/// May `actor` change (prepare again, exclude or include a line, submit) the statement of
/// `county` in `state`? The county's own centre staff, while it is a draft.
pub fn may_edit(actor: &Actor, county: &str, state: &State) -> Result<(), SubsidyDenied> {
    authorize_centre(actor, CentreAction::PrepareSubsidies, county)?;
    if state.status != Status::Draft {
        return Err(SubsidyDenied::Locked(state.status));
    }
    Ok(())
}

/// May `actor` approve or return it? Centre staff of the city or the province containing the
/// county, while it waits, and never a person who prepared or submitted it.
pub fn may_decide(actor: &Actor, county: &str, state: &State) -> Result<(), SubsidyDenied> {
    authorize_centre(actor, CentreAction::ApproveSubsidies, county)?;
    if state.status != Status::Submitted {
        return Err(SubsidyDenied::NotWaiting(state.status));
    }
    if state.preparers.contains(&actor.person_id) || state.submitted_by.as_deref() == Some(&actor.person_id) {
        return Err(SubsidyDenied::OwnStatement);
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubsidyDenied {
    #[error("{0}")]
    Denied(#[from] Denied),
    #[error("the statement is {0:?}: it can no longer be changed")]
    Locked(Status),
    #[error("the statement is {0:?}, not waiting for approval")]
    NotWaiting(Status),
    #[error("the approver prepared or submitted it")]
    OwnStatement,
}

impl SubsidyDenied {
    pub fn message_zh(&self) -> String {
        match self {
            SubsidyDenied::Denied(d) => d.message_zh().to_string(),
            SubsidyDenied::Locked(Status::Approved) => "该月补贴清册已批准，已锁定，不能再修改".into(),
            SubsidyDenied::Locked(_) => "该月补贴清册已提交审批，审批或退回前不能修改".into(),
            SubsidyDenied::NotWaiting(s) => format!("该清册当前为「{}」，不在待审批状态", s.name_zh()),
            SubsidyDenied::OwnStatement => "不能审批自己编制或提交的清册（须由另一人审批）".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubsidyError {
    #[error("malformed subsidy document: {0}")]
    Malformed(String),
    #[error("the month must be YYYYMM between 2000 and 2100")]
    Month,
    #[error("an amount lies outside 0..={AMOUNT_FEN_MAX} fen")]
    Amount,
    #[error("a category is empty, too long, or there are too many")]
    Category,
    #[error("too many versions, lines or steps")]
    TooMany,
}

impl SubsidyError {
    pub fn message_zh(&self) -> String {
        match self {
            SubsidyError::Malformed(_) => "补贴数据格式不正确".into(),
            SubsidyError::Month => "起始月份应为 2000 年至 2100 年间的月份".into(),
            SubsidyError::Amount => format!("金额应在 0 至 {} 元之间", AMOUNT_FEN_MAX / 100),
            SubsidyError::Category => format!("服务类别不能为空，最多 {CATEGORIES_MAX} 个"),
            SubsidyError::TooMany => "条目过多".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(kind: &str, who: &str, at_ms: i64) -> Step {
        Step { kind: kind.into(), person_id: who.into(), name: who.into(), at_ms, note: "n".into() }
    }

    #[test]
    fn status_follows_the_steps_and_the_two_person_rule() {
        let check = |steps: &[Step], status: Status| assert_eq!(derive(steps).status, status, "{steps:?}");
        check(&[step("prepared", "a", 1)], Status::Draft);
        check(&[step("prepared", "a", 1), step("submitted", "a", 2)], Status::Submitted);
        // The preparer's own approval is ignored.
        check(
            &[step("prepared", "a", 1), step("submitted", "b", 2), step("approved", "a", 3)],
            Status::Submitted,
        );
        check(
            &[step("prepared", "a", 1), step("submitted", "b", 2), step("approved", "b", 3)],
            Status::Submitted,
        );
        check(
            &[step("prepared", "a", 1), step("submitted", "a", 2), step("approved", "c", 3)],
            Status::Approved,
        );
        // Approved is locked: later steps change nothing.
        check(
            &[
                step("prepared", "a", 1),
                step("submitted", "a", 2),
                step("approved", "c", 3),
                step("returned", "c", 4),
            ],
            Status::Approved,
        );
        check(
            &[step("prepared", "a", 1), step("submitted", "a", 2), step("returned", "c", 3)],
            Status::Draft,
        );
        // Order is by time, not by position.
        check(
            &[step("approved", "c", 3), step("submitted", "a", 2), step("prepared", "a", 1)],
            Status::Approved,
        );
    }

    #[test]
    fn a_payee_document_with_a_clear_number_does_not_validate() {
        let good = PayeeDoc {
            doc_type: PAYEE_DOC_TYPE.into(),
            id: PayeeDoc::id_for("e1"),
            region_code: "510131".into(),
            person_id: "e1".into(),
            name: "e".into(),
            id_card_sealed: "x1:AAAA".into(),
            id_card_masked: "5101**********0031".into(),
            bank_card_sealed: "x1:BBBB".into(),
            bank_card_masked: "6228 **** **** 8903".into(),
            bank_name: "银行".into(),
            key_id: "k".into(),
            set_by: "s".into(),
            set_ms: 0,
        };
        assert!(good.validate().is_ok());
        let clear = PayeeDoc { id_card_sealed: "510131198506120031".into(), ..good.clone() };
        assert!(clear.validate().is_err());
        let unmasked = PayeeDoc { bank_card_masked: "6228480012345678903*".into(), ..good.clone() };
        assert!(unmasked.validate().is_err());
        // Only a county keeps payees (a kiosk's village or the province cannot).
        assert!(PayeeDoc { region_code: "510131001001".into(), ..good.clone() }.validate().is_err());
        assert!(PayeeDoc { region_code: "51".into(), ..good }.validate().is_err());
    }

    #[test]
    fn the_standard_in_force_is_the_latest_started() {
        let v = |from: i64, fen: i64, set_ms: i64| Standard {
            effective_from: from,
            per_valid_fen: fen,
            per_category: vec![],
            onsite_fen: 0,
            travel_cap_per_visit_fen: 0,
            officer_per_closed_fen: 0,
            officer_month_cap_fen: 0,
            set_by: "p".into(),
            set_ms,
        };
        let mut d = StandardDoc::new(v(202601, 100, 1)).expect("valid");
        d.versions.push(v(202606, 200, 2));
        d.versions.push(v(202606, 300, 3));
        assert!(d.applicable(202512).is_none());
        assert_eq!(d.applicable(202605).map(|s| s.per_valid_fen), Some(100));
        assert_eq!(d.applicable(202606).map(|s| s.per_valid_fen), Some(300));
        assert_eq!(d.applicable(202701).map(|s| s.per_valid_fen), Some(300));
        let doc = d.to_doc().expect("doc");
        assert_eq!(StandardDoc::from_doc(&doc).expect("read"), d);
        assert_eq!(v(202613, 1, 1).validate(), Err(SubsidyError::Month));
        assert_eq!(v(202601, -1, 1).validate(), Err(SubsidyError::Amount));
    }
}
