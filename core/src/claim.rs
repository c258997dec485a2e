//! Claims on the bounty board (你发榜我抢单, 成果转化): an expert, signed in at her hub, claims
//! (抢单) a published bounty (`achievements.bounty`, a `crate::published::PublishedDoc`) with a
//! short proposal; the centre that owns the bounty picks one claim (揭榜) and later marks it
//! done. One document per claim, written at the expert's hub, id [`ClaimDoc::id_for`] (one claim
//! per expert per bounty: a second is the same document).
//!
//! Scope and flow: a claim's scope is the expert's region (`region_code`) and it flows like a
//! case (`Flow::Regional`): up from the expert's hub through every hub above it, and back down
//! to the hub whose scope holds it. So the owning centre sees the claims of the experts in its
//! region, and its pick travels back down to the expert's hub. A claim from an expert outside
//! the owning centre's region would never reach it: [`may_claim`] refuses it (a province bounty
//! is open to every expert; a city's to the experts of that city).
//!
//! The pick and the completion are decisions recorded on the claim by the owning centre, each in
//! a grow-only map keyed by kind, so concurrent writes merge; the board's state is derived from
//! the claims a node holds ([`board`]), never stored. Deadlines are read on the clock of the hub
//! that takes the step (the claiming hub refuses a claim after the deadline; the owning centre
//! never picks a claim made after it).

use std::collections::BTreeMap;

use automerge::AutoCommit;
use autosurgeon::{Hydrate, Reconcile, hydrate, reconcile};

use crate::access::{Actor, Denied};
use crate::people::Role;
use crate::region::RegionCode;
use crate::{holidays, text};

pub const DOC_TYPE: &str = "bounty_claim";
pub const SCHEMA_VERSION: u64 = 1;
/// A proposal at most, in characters.
pub const PROPOSAL_CHARS_MAX: usize = 1_000;
/// Names and ids at most, in characters.
pub const NAME_CHARS_MAX: usize = 100;
/// Ids at most (a bounty's public id, an expert's person id), in characters.
pub const ID_CHARS_MAX: usize = 200;

pub const PICKED: &str = "picked";
pub const DONE: &str = "done";

/// A decision of the owning centre on a claim: who, when (on her hub's clock).
#[derive(Debug, Clone, PartialEq, Eq, Reconcile, Hydrate)]
pub struct Decision {
    pub at_ms: i64,
    pub by: String,
    pub by_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Reconcile, Hydrate)]
pub struct ClaimDoc {
    pub doc_type: String,
    pub schema: u64,
    pub id: String,
    /// The bounty's public document id.
    pub bounty: String,
    /// The region of the centre that owns the bounty.
    pub bounty_centre: String,
    /// The expert's region: the claim's sync scope.
    pub region_code: String,
    pub expert: String,
    pub expert_name: String,
    pub proposal: String,
    /// On the clock of the hub where she claimed.
    pub claimed_at_ms: i64,
    /// [`PICKED`] and [`DONE`], each at most once.
    pub decisions: BTreeMap<String, Decision>,
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ClaimError {
    #[error("{0} is required")]
    Required(&'static str),
    #[error("{0} is too long")]
    TooLong(&'static str),
    #[error("{0} holds a control or bidirectional character")]
    BadText(&'static str),
    #[error("bad region code {0:?}")]
    Region(String),
    #[error("unknown decision {0:?}")]
    Decision(String),
    #[error("document is not a claim or is damaged: {0}")]
    Document(String),
}

impl ClaimError {
    pub fn message_zh(&self) -> String {
        match self {
            ClaimError::Required("proposal") => "请填写方案简述".into(),
            ClaimError::Required(_) => "信息不完整".into(),
            ClaimError::TooLong("proposal") => format!("方案简述不能超过 {PROPOSAL_CHARS_MAX} 字"),
            ClaimError::TooLong(_) => "信息过长".into(),
            ClaimError::BadText(_) => "含有不允许的控制字符".into(),
            ClaimError::Region(_) | ClaimError::Decision(_) | ClaimError::Document(_) => {
                "抢单记录已损坏".into()
            }
        }
    }
}

fn check(field: &'static str, value: &str, max: usize, multi_line: bool) -> Result<(), ClaimError> {
    if value.chars().count() > max {
        return Err(ClaimError::TooLong(field));
    }
    text::check(value, multi_line).map_err(|_| ClaimError::BadText(field))
}

/// Where a claim stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimStatus {
    /// Waiting for the owning centre.
    Waiting,
    /// Picked (揭榜).
    Picked,
    /// Picked and done.
    Done,
    /// Another claim was picked.
    NotPicked,
}

impl ClaimStatus {
    pub fn name_zh(self) -> &'static str {
        match self {
            ClaimStatus::Waiting => "待选定",
            ClaimStatus::Picked => "已揭榜",
            ClaimStatus::Done => "已完成",
            ClaimStatus::NotPicked => "未选中",
        }
    }
}

impl ClaimDoc {
    /// One claim per expert per bounty.
    pub fn id_for(bounty: &str, expert: &str) -> String {
        format!("claim-{bounty}-{expert}")
    }

    /// A new claim by `actor` (her region is its scope).
    pub fn new(
        actor: &Actor,
        bounty: &str,
        bounty_centre: &str,
        proposal: &str,
        at_ms: i64,
    ) -> Result<(ClaimDoc, AutoCommit), ClaimError> {
        let claim = ClaimDoc {
            doc_type: DOC_TYPE.into(),
            schema: SCHEMA_VERSION,
            id: Self::id_for(bounty, &actor.person_id),
            bounty: bounty.into(),
            bounty_centre: bounty_centre.into(),
            region_code: actor.region.to_string(),
            expert: actor.person_id.clone(),
            expert_name: actor.name.clone(),
            proposal: proposal.trim().into(),
            claimed_at_ms: at_ms,
            decisions: BTreeMap::new(),
        };
        let doc = claim.to_doc()?;
        Ok((claim, doc))
    }

    pub fn validate(&self) -> Result<(), ClaimError> {
        if self.doc_type != DOC_TYPE {
            return Err(ClaimError::Document(format!("doc_type is {:?}", self.doc_type)));
        }
        for (field, value) in [("bounty", &self.bounty), ("expert", &self.expert)] {
            if value.is_empty() {
                return Err(ClaimError::Required(field));
            }
            check(field, value, ID_CHARS_MAX, false)?;
        }
        if self.id != Self::id_for(&self.bounty, &self.expert) {
            return Err(ClaimError::Document("id does not name its bounty and expert".into()));
        }
        for code in [&self.region_code, &self.bounty_centre] {
            RegionCode::parse(code).map_err(|_| ClaimError::Region(code.clone()))?;
        }
        check("expert_name", &self.expert_name, NAME_CHARS_MAX, false)?;
        if self.proposal.trim().is_empty() {
            return Err(ClaimError::Required("proposal"));
        }
        check("proposal", &self.proposal, PROPOSAL_CHARS_MAX, true)?;
        for (k, d) in &self.decisions {
            if k != PICKED && k != DONE {
                return Err(ClaimError::Decision(k.clone()));
            }
            check("by", &d.by, ID_CHARS_MAX, false)?;
            check("by_name", &d.by_name, NAME_CHARS_MAX, false)?;
        }
        Ok(())
    }

    pub fn to_doc(&self) -> Result<AutoCommit, ClaimError> {
        self.validate()?;
        let mut doc = AutoCommit::new();
        reconcile(&mut doc, self).map_err(|e| ClaimError::Document(e.to_string()))?;
        Ok(doc)
    }

    pub fn from_doc(doc: &AutoCommit) -> Result<ClaimDoc, ClaimError> {
        let c: ClaimDoc = hydrate(doc).map_err(|e| ClaimError::Document(e.to_string()))?;
        c.validate()?;
        Ok(c)
    }

    /// Records a decision ([`PICKED`] or [`DONE`]) once; a second one of the same kind keeps the first.
    pub fn decide(doc: &mut AutoCommit, kind: &str, d: Decision) -> Result<ClaimDoc, ClaimError> {
        let mut c = ClaimDoc::from_doc(doc)?;
        if kind != PICKED && kind != DONE {
            return Err(ClaimError::Decision(kind.into()));
        }
        c.decisions.entry(kind.to_string()).or_insert(d);
        c.validate()?;
        reconcile(doc, &c).map_err(|e| ClaimError::Document(e.to_string()))?;
        Ok(c)
    }

    pub fn is_picked(&self) -> bool {
        self.decisions.contains_key(PICKED)
    }

    pub fn is_done(&self) -> bool {
        self.is_picked() && self.decisions.contains_key(DONE)
    }

    /// Its status among all the claims on its bounty that a node holds (itself included).
    pub fn status(&self, all: &[ClaimDoc]) -> ClaimStatus {
        match picked(all) {
            Some(p) if p.id == self.id && self.is_done() => ClaimStatus::Done,
            Some(p) if p.id == self.id => ClaimStatus::Picked,
            Some(_) => ClaimStatus::NotPicked,
            None => ClaimStatus::Waiting,
        }
    }
}

/// The picked claim among a bounty's claims: the earliest pick if two centres' picks ever merged
/// (by time, then id), so every node that holds the same claims agrees.
pub fn picked(all: &[ClaimDoc]) -> Option<&ClaimDoc> {
    all.iter()
        .filter_map(|c| c.decisions.get(PICKED).map(|d| (d.at_ms, &c.id, c)))
        .min_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)))
        .map(|(_, _, c)| c)
}

/// The board's state of a bounty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BoardStatus {
    /// Open for claims.
    Open,
    /// Past its deadline with nobody picked.
    Expired,
    /// A claim was picked (揭榜).
    Claimed,
    Done,
}

impl BoardStatus {
    pub fn name_zh(self) -> &'static str {
        match self {
            BoardStatus::Open => "抢单中",
            BoardStatus::Expired => "已截止",
            BoardStatus::Claimed => "已揭榜",
            BoardStatus::Done => "已完成",
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            BoardStatus::Open => "open",
            BoardStatus::Expired => "expired",
            BoardStatus::Claimed => "claimed",
            BoardStatus::Done => "done",
        }
    }
}

/// What the board shows of a bounty from the claims a node holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Board {
    pub status: BoardStatus,
    pub claims: usize,
    /// The picked expert's name.
    pub picked: Option<String>,
}

/// Whether the local day of `now_ms` is after the deadline day.
pub fn past(deadline_day: i64, now_ms: i64) -> bool {
    holidays::local_day(now_ms) > deadline_day
}

/// The board of a bounty whose deadline is `deadline_day` (a local day), at `now_ms`.
pub fn board(deadline_day: i64, now_ms: i64, claims: &[ClaimDoc]) -> Board {
    let p = picked(claims);
    let status = match p {
        Some(c) if c.is_done() => BoardStatus::Done,
        Some(_) => BoardStatus::Claimed,
        None if past(deadline_day, now_ms) => BoardStatus::Expired,
        None => BoardStatus::Open,
    };
    Board { status, claims: claims.len(), picked: p.map(|c| c.expert_name.clone()) }
}

/// Why a claim or decision is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("only experts claim bounties")]
    NotExpert,
    #[error("the expert's claim would not reach the owning centre")]
    OutOfReach,
    #[error("past the deadline")]
    PastDeadline,
    #[error("this expert already claimed it")]
    AlreadyClaimed,
    #[error("a claim was already picked")]
    Closed,
    #[error("not a staff member of the owning centre")]
    NotOwner,
    #[error("the claim is not picked, or already done")]
    Status,
}

impl Refusal {
    pub fn message_zh(self) -> &'static str {
        match self {
            Refusal::NotExpert => "只有专家可以抢单",
            Refusal::OutOfReach => "该榜单由其他地区的运管中心发布，您所在地区的抢单无法送达",
            Refusal::PastDeadline => "已过截止日期",
            Refusal::AlreadyClaimed => "您已抢过此单",
            Refusal::Closed => "此榜已揭榜，不再接受抢单",
            Refusal::NotOwner => "只有发榜的运管中心可以选定揭榜人",
            Refusal::Status => "当前状态下不能进行此操作",
        }
    }

    pub fn denied(self) -> Denied {
        match self {
            Refusal::NotExpert | Refusal::NotOwner => Denied::Role,
            Refusal::OutOfReach => Denied::OutOfRegion,
            _ => Denied::Status,
        }
    }
}

/// Whether `actor` may claim a bounty owned by `bounty_centre`, deadline `deadline_day`, at
/// `now_ms` (the claiming hub's clock), given the claims on it this hub holds.
pub fn may_claim(
    actor: &Actor,
    bounty_centre: &str,
    deadline_day: i64,
    now_ms: i64,
    claims: &[ClaimDoc],
) -> Result<(), Refusal> {
    if actor.role != Role::Expert {
        return Err(Refusal::NotExpert);
    }
    let Ok(centre) = RegionCode::parse(bounty_centre) else { return Err(Refusal::OutOfReach) };
    if !centre.contains(&actor.region) {
        return Err(Refusal::OutOfReach);
    }
    if claims.iter().any(|c| c.expert == actor.person_id) {
        return Err(Refusal::AlreadyClaimed);
    }
    if picked(claims).is_some() {
        return Err(Refusal::Closed);
    }
    if past(deadline_day, now_ms) {
        return Err(Refusal::PastDeadline);
    }
    Ok(())
}

/// Whether `actor` may pick `claim` (揭榜) among `claims` (its bounty's, as this hub holds them):
/// staff or administrators of the owning centre itself; nobody picked yet; the claim made by
/// the deadline.
pub fn may_pick(
    actor: &Actor,
    claim: &ClaimDoc,
    deadline_day: i64,
    claims: &[ClaimDoc],
) -> Result<(), Refusal> {
    owner(actor, claim)?;
    if picked(claims).is_some() || claim.is_picked() {
        return Err(Refusal::Closed);
    }
    if past(deadline_day, claim.claimed_at_ms) {
        return Err(Refusal::PastDeadline);
    }
    Ok(())
}

/// Whether `actor` may mark the picked `claim` done.
pub fn may_finish(actor: &Actor, claim: &ClaimDoc) -> Result<(), Refusal> {
    owner(actor, claim)?;
    if !claim.is_picked() || claim.is_done() {
        return Err(Refusal::Status);
    }
    Ok(())
}

fn owner(actor: &Actor, claim: &ClaimDoc) -> Result<(), Refusal> {
    if !actor.is_centre() || actor.region.as_str() != claim.bounty_centre {
        return Err(Refusal::NotOwner);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(id: &str, role: Role, region: &str) -> Actor {
        Actor {
            person_id: id.into(),
            name: format!("名{id}"),
            role,
            region: RegionCode::parse(region).unwrap(),
        }
    }

    const DAY_MS: i64 = 86_400_000;
    /// Deadline 2026-12-10; "now" is noon (UTC+8) on a day relative to it.
    fn deadline() -> i64 {
        holidays::days_from_civil(2026, 12, 10)
    }
    fn noon(days_from_deadline: i64) -> i64 {
        (deadline() + days_from_deadline) * DAY_MS + 4 * 3_600_000
    }

    fn claim(expert: &str, region: &str, at: i64) -> ClaimDoc {
        ClaimDoc::new(
            &actor(expert, Role::Expert, region),
            "pub-b1",
            "5101",
            "先做土壤检测，再给出方案。",
            at,
        )
        .unwrap()
        .0
    }

    #[test]
    fn claiming_rules() {
        let e = actor("e1", Role::Expert, "510131");
        assert_eq!(may_claim(&e, "5101", deadline(), noon(0), &[]), Ok(()));
        assert_eq!(may_claim(&e, "51", deadline(), noon(0), &[]), Ok(()));
        assert_eq!(may_claim(&e, "5101", deadline(), noon(1), &[]), Err(Refusal::PastDeadline));
        assert_eq!(may_claim(&e, "5103", deadline(), noon(0), &[]), Err(Refusal::OutOfReach));
        assert_eq!(may_claim(&e, "garbage", deadline(), noon(0), &[]), Err(Refusal::OutOfReach));
        let staff = actor("s1", Role::Staff, "5101");
        assert_eq!(may_claim(&staff, "5101", deadline(), noon(0), &[]), Err(Refusal::NotExpert));
        let mine = claim("e1", "510131", noon(-1));
        assert_eq!(
            may_claim(&e, "5101", deadline(), noon(0), std::slice::from_ref(&mine)),
            Err(Refusal::AlreadyClaimed)
        );
        let mut other = claim("e2", "510104", noon(-1));
        let e3 = actor("e3", Role::Expert, "510104");
        assert_eq!(may_claim(&e3, "5101", deadline(), noon(0), std::slice::from_ref(&other)), Ok(()));
        other
            .decisions
            .insert(PICKED.into(), Decision { at_ms: noon(0), by: "s1".into(), by_name: "s".into() });
        assert_eq!(may_claim(&e3, "5101", deadline(), noon(0), &[other]), Err(Refusal::Closed));
    }

    #[test]
    fn picking_closes_the_others_and_done_follows() {
        let staff = actor("s1", Role::Staff, "5101");
        let county_staff = actor("s2", Role::Staff, "510131");
        let a = claim("e1", "510131", noon(-2));
        let b = claim("e2", "510104", noon(-1));
        let late = claim("e3", "510104", noon(1));
        let all = vec![a.clone(), b.clone(), late.clone()];
        assert_eq!(may_pick(&county_staff, &a, deadline(), &all), Err(Refusal::NotOwner));
        assert_eq!(may_pick(&actor("x", Role::Expert, "5101"), &a, deadline(), &all), Err(Refusal::NotOwner));
        assert_eq!(may_pick(&staff, &late, deadline(), &all), Err(Refusal::PastDeadline));
        assert_eq!(may_pick(&staff, &a, deadline(), &all), Ok(()));
        assert_eq!(may_finish(&staff, &a), Err(Refusal::Status));
        let mut doc = a.to_doc().unwrap();
        let d = Decision { at_ms: noon(0), by: "s1".into(), by_name: "s".into() };
        let a = ClaimDoc::decide(&mut doc, PICKED, d.clone()).unwrap();
        let all = vec![a.clone(), b.clone()];
        assert_eq!(may_pick(&staff, &b, deadline(), &all), Err(Refusal::Closed));
        assert_eq!((a.status(&all), b.status(&all)), (ClaimStatus::Picked, ClaimStatus::NotPicked));
        assert_eq!(
            board(deadline(), noon(5), &all),
            Board { status: BoardStatus::Claimed, claims: 2, picked: Some("名e1".into()) }
        );
        assert_eq!(may_finish(&staff, &a), Ok(()));
        let a = ClaimDoc::decide(&mut doc, DONE, d).unwrap();
        assert_eq!(may_finish(&staff, &a), Err(Refusal::Status));
        let all = vec![a.clone(), b];
        assert_eq!(a.status(&all), ClaimStatus::Done);
        assert_eq!(board(deadline(), noon(5), &all).status, BoardStatus::Done);
        assert_eq!(board(deadline(), noon(0), &[]).status, BoardStatus::Open);
        assert_eq!(board(deadline(), noon(1), &[]).status, BoardStatus::Expired);
    }

    #[test]
    fn two_picks_merged_agree_on_the_earliest() {
        let mut a = claim("e1", "510131", 1);
        let mut b = claim("e2", "510104", 1);
        a.decisions.insert(PICKED.into(), Decision { at_ms: 20, by: "s".into(), by_name: "s".into() });
        b.decisions.insert(PICKED.into(), Decision { at_ms: 10, by: "t".into(), by_name: "t".into() });
        let all = vec![a.clone(), b.clone()];
        assert_eq!(picked(&all).map(|c| c.id.clone()), Some(b.id.clone()));
        assert_eq!(a.status(&all), ClaimStatus::NotPicked);
    }

    #[test]
    fn bad_claims_are_refused() {
        let e = actor("e1", Role::Expert, "510131");
        assert_eq!(
            ClaimDoc::new(&e, "pub-b1", "5101", "  ", 1).unwrap_err(),
            ClaimError::Required("proposal")
        );
        assert_eq!(
            ClaimDoc::new(&e, "pub-b1", "5101", &"长".repeat(PROPOSAL_CHARS_MAX + 1), 1).unwrap_err(),
            ClaimError::TooLong("proposal")
        );
        assert!(ClaimDoc::new(&e, "pub-b1", "nowhere", "x", 1).is_err());
        let mut c = claim("e1", "510131", 1);
        c.id = "claim-other".into();
        assert!(c.to_doc().is_err());
        assert!(ClaimDoc::from_doc(&AutoCommit::new()).is_err());
        let (_, mut doc) = ClaimDoc::new(&e, "pub-b1", "5101", "方案", 1).unwrap();
        let d = Decision { at_ms: 1, by: "s".into(), by_name: "s".into() };
        assert!(ClaimDoc::decide(&mut doc, "approve", d).is_err());
    }
}
