//! The publication pipeline, for every document type that is published (knowledge today;
//! industry information, lectures, achievements, bounties and listings next):
//!
//! ```text
//! draft → submitted → checked (automatic) → reviewed → signed off → published → withdrawn
//!                   ↘ check failed        ↘ refused   ↘ refused
//!                     (fixed: submitted again)
//! ```
//!
//! Each step is an event with who and when (on the hub's clock); the stage is derived from the
//! events sorted by `(at_ms, id)`, never stored, and an event that is not a valid transition at
//! its place is kept but ignored (like the case's). Who may take which step is a pure rule
//! ([`authorize`]): reviewing, signing off and withdrawing are for staff of a centre whose region
//! contains the item's centre (so a county may not sign off a province item), and the signer must
//! be neither the reviewer nor the person who submitted the item (its uploader), unless the
//! type's rules allow review and sign-off in one step by one person (knowledge). The automatic checks and publishing are recorded by the system.
//!
//! A type whose rules allow it ([`Rules::combined_sign_off`]) may review and sign off in one
//! step by one person ([`StepKind::ReviewAndSignOff`]): knowledge from a solved case does, as
//! it did before the pipeline existed (the county centre that served the case signs it off).

use crate::access::{Actor, Denied};
use crate::region::RegionLevel;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    Draft,
    Submitted,
    Checked,
    CheckFailed,
    Reviewed,
    SignedOff,
    Published,
    Withdrawn,
    Refused,
    /// Held for review (安全熔断): the text matched the sensitive-word list, or the account's
    /// breaker tripped; nobody reviews or signs it off until a reviewer clears it with a note.
    Held,
}

impl Stage {
    pub const ALL: [Stage; 10] = [
        Stage::Draft,
        Stage::Submitted,
        Stage::Checked,
        Stage::CheckFailed,
        Stage::Reviewed,
        Stage::SignedOff,
        Stage::Published,
        Stage::Withdrawn,
        Stage::Refused,
        Stage::Held,
    ];

    pub fn parse(code: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|s| s.code() == code)
    }

    pub fn code(self) -> &'static str {
        match self {
            Stage::Draft => "draft",
            Stage::Submitted => "submitted",
            Stage::Checked => "checked",
            Stage::CheckFailed => "check_failed",
            Stage::Reviewed => "reviewed",
            Stage::SignedOff => "signed_off",
            Stage::Published => "published",
            Stage::Withdrawn => "withdrawn",
            Stage::Refused => "refused",
            Stage::Held => "held",
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Stage::Draft => "草稿",
            Stage::Submitted => "已提交",
            Stage::Checked => "待审核",
            Stage::CheckFailed => "自动检查未通过",
            Stage::Reviewed => "待签发",
            Stage::SignedOff => "已签发",
            Stage::Published => "已发布",
            Stage::Withdrawn => "已撤回",
            Stage::Refused => "不发布",
            Stage::Held => "待复核",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StepKind {
    /// The author hands the draft in.
    Submit,
    /// The automatic checks (recorded by the system).
    ChecksPassed,
    ChecksFailed,
    Review,
    SignOff,
    /// Review and sign-off in one step, where the type's rules allow it.
    ReviewAndSignOff,
    /// Not published (at review or at sign-off).
    Refuse,
    /// Published (recorded by the system once signed off).
    Publish,
    /// Taken down everywhere (the circuit breaker).
    Withdraw,
    /// Held for review (recorded by the system: a sensitive word, or the account's breaker).
    Hold,
    /// A reviewer clears a held item, with a note: it goes on to review.
    Clear,
}

impl StepKind {
    pub const ALL: [StepKind; 11] = [
        StepKind::Submit,
        StepKind::ChecksPassed,
        StepKind::ChecksFailed,
        StepKind::Review,
        StepKind::SignOff,
        StepKind::ReviewAndSignOff,
        StepKind::Refuse,
        StepKind::Publish,
        StepKind::Withdraw,
        StepKind::Hold,
        StepKind::Clear,
    ];

    /// The code stored in a step event and sent by forms.
    pub fn code(self) -> &'static str {
        match self {
            StepKind::Submit => "submit",
            StepKind::ChecksPassed => "checks_passed",
            StepKind::ChecksFailed => "checks_failed",
            StepKind::Review => "review",
            StepKind::SignOff => "sign_off",
            StepKind::ReviewAndSignOff => "review_and_sign_off",
            StepKind::Refuse => "refuse",
            StepKind::Publish => "publish",
            StepKind::Withdraw => "withdraw",
            StepKind::Hold => "hold",
            StepKind::Clear => "clear",
        }
    }

    pub fn parse(code: &str) -> Option<StepKind> {
        StepKind::ALL.into_iter().find(|k| k.code() == code)
    }

    /// The step as the timeline shows it; the buttons say the same.
    pub fn name_zh(self) -> &'static str {
        match self {
            StepKind::Submit => "提交审核",
            StepKind::ChecksPassed => "自动检查通过",
            StepKind::ChecksFailed => "自动检查未通过",
            StepKind::Review => "审核通过",
            StepKind::SignOff => "签发",
            StepKind::ReviewAndSignOff => "审核并签发",
            StepKind::Refuse => "退回",
            StepKind::Publish => "发布",
            StepKind::Withdraw => "撤回",
            StepKind::Hold => "暂停发布，待复核",
            StepKind::Clear => "复核放行",
        }
    }

    /// Steps only the system records, never a person.
    pub fn is_system(self) -> bool {
        matches!(self, StepKind::ChecksPassed | StepKind::ChecksFailed | StepKind::Publish | StepKind::Hold)
    }
}

/// One step: who took it and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub id: String,
    pub at_ms: i64,
    /// The person's id (or the node's, for system steps).
    pub actor: String,
    pub kind: StepKind,
}

/// A type's rules for the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    /// One person may review and sign off in one step.
    pub combined_sign_off: bool,
    /// The lowest centre level that may review and sign off (a county centre may act on
    /// county items; `City` would leave counties out).
    pub lowest_centre: RegionLevel,
    /// The highest (`Province`: any centre containing the item; `County`: only the county).
    pub highest_centre: RegionLevel,
}

/// The pipeline's state, derived from its steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pipeline {
    pub stage: Stage,
    pub submitted_by: Option<String>,
    pub reviewed_by: Option<String>,
    pub signed_off_by: Option<String>,
    pub published_at_ms: Option<i64>,
    pub withdrawn_by: Option<String>,
    /// Steps that were not valid transitions where they sorted (kept, not applied).
    pub ignored: Vec<String>,
}

/// The stage after `kind` from `stage`, or `None` when it is not a valid transition.
fn next(stage: Stage, kind: StepKind) -> Option<Stage> {
    use Stage as S;
    use StepKind as K;
    Some(match (stage, kind) {
        // Handed in again once the author fixed what the checks found.
        (S::Draft | S::CheckFailed, K::Submit) => S::Submitted,
        (S::Submitted, K::ChecksPassed) => S::Checked,
        (S::Submitted, K::ChecksFailed) => S::CheckFailed,
        (S::Checked, K::Review) => S::Reviewed,
        (S::Checked, K::ReviewAndSignOff) | (S::Reviewed, K::SignOff) => S::SignedOff,
        (S::Checked | S::Reviewed | S::Held, K::Refuse) => S::Refused,
        (S::Checked, K::Hold) => S::Held,
        (S::Held, K::Clear) => S::Checked,
        (S::SignedOff, K::Publish) => S::Published,
        (S::SignedOff | S::Published, K::Withdraw) => S::Withdrawn,
        _ => return None,
    })
}

/// Derives the pipeline from its steps, in `(at_ms, id)` order whatever order they merged in.
pub fn derive(steps: &[Step]) -> Pipeline {
    let mut sorted: Vec<&Step> = steps.iter().collect();
    sorted.sort_by(|a, b| (a.at_ms, &a.id).cmp(&(b.at_ms, &b.id)));
    let mut p = Pipeline {
        stage: Stage::Draft,
        submitted_by: None,
        reviewed_by: None,
        signed_off_by: None,
        published_at_ms: None,
        withdrawn_by: None,
        ignored: Vec::new(),
    };
    for s in sorted {
        // The signer is never the reviewer, whatever a peer wrote.
        // Nor the person who submitted it (the uploader never signs off her own item; a type
        // whose rules allow one person to review and sign off in one step is exempt).
        let same_person = s.kind == StepKind::SignOff
            && (p.reviewed_by.as_deref() == Some(s.actor.as_str())
                || p.submitted_by.as_deref() == Some(s.actor.as_str()));
        let Some(stage) = next(p.stage, s.kind).filter(|_| !same_person) else {
            p.ignored.push(s.id.clone());
            continue;
        };
        match s.kind {
            StepKind::Submit => p.submitted_by = Some(s.actor.clone()),
            StepKind::Review => p.reviewed_by = Some(s.actor.clone()),
            StepKind::SignOff => p.signed_off_by = Some(s.actor.clone()),
            StepKind::ReviewAndSignOff => {
                p.reviewed_by = Some(s.actor.clone());
                p.signed_off_by = Some(s.actor.clone());
            }
            StepKind::Publish => p.published_at_ms = Some(s.at_ms),
            StepKind::Withdraw => p.withdrawn_by = Some(s.actor.clone()),
            StepKind::ChecksPassed
            | StepKind::ChecksFailed
            | StepKind::Refuse
            | StepKind::Hold
            | StepKind::Clear => {}
        }
        p.stage = stage;
    }
    p
}

/// Whether `actor` may take step `kind` on an item owned by the centre `item_centre` (a region
/// code: the item's sign-off level) whose pipeline is `p`.
pub fn authorize(
    rules: &Rules,
    p: &Pipeline,
    item_centre: &str,
    actor: &Actor,
    kind: StepKind,
) -> Result<(), Denied> {
    if kind.is_system() {
        return Err(Denied::SystemOnly);
    }
    if kind == StepKind::ReviewAndSignOff && !rules.combined_sign_off {
        return Err(Denied::Role);
    }
    if kind != StepKind::Submit {
        // Reviewing, signing off, refusing and withdrawing: a centre's staff, at a level the
        // type allows, whose region contains the item's centre (a county may not act on a
        // province item). Withdrawing (the circuit breaker) is also open to every centre above
        // the levels that sign off.
        let level = actor.region.level();
        let too_high = level < rules.highest_centre && kind != StepKind::Withdraw;
        if !actor.is_centre() || level > rules.lowest_centre || too_high {
            return Err(Denied::Role);
        }
        if !item_centre.starts_with(actor.region.as_str()) {
            return Err(Denied::OutOfRegion);
        }
    }
    if kind == StepKind::SignOff && p.reviewed_by.as_deref() == Some(actor.person_id.as_str()) {
        return Err(Denied::SamePerson);
    }
    if kind == StepKind::SignOff && p.submitted_by.as_deref() == Some(actor.person_id.as_str()) {
        return Err(Denied::SamePerson);
    }
    if next(p.stage, kind).is_none() {
        return Err(Denied::Status);
    }
    Ok(())
}

/// Whether the item was held (a [`StepKind::Hold`] that applied) since it was last submitted:
/// a held and cleared item is not held again for the same submission.
pub fn held_since_submitted(steps: &[Step], p: &Pipeline) -> bool {
    let mut sorted: Vec<&Step> = steps.iter().filter(|s| !p.ignored.contains(&s.id)).collect();
    sorted.sort_by(|a, b| (a.at_ms, &a.id).cmp(&(b.at_ms, &b.id)));
    let last_submit = sorted.iter().rposition(|s| s.kind == StepKind::Submit);
    sorted.iter().enumerate().any(|(i, s)| s.kind == StepKind::Hold && last_submit.is_none_or(|j| i > j))
}

/// The step waiting for `actor` on this item, if any: review or sign-off by someone allowed to
/// take it (the queue "waiting for my review").
pub fn waiting_for(rules: &Rules, p: &Pipeline, item_centre: &str, actor: &Actor) -> Option<StepKind> {
    let candidates: &[StepKind] = match p.stage {
        Stage::Checked if rules.combined_sign_off => &[StepKind::ReviewAndSignOff, StepKind::Review],
        Stage::Checked => &[StepKind::Review],
        Stage::Reviewed => &[StepKind::SignOff],
        Stage::Held => &[StepKind::Clear],
        _ => &[],
    };
    candidates.iter().copied().find(|k| authorize(rules, p, item_centre, actor, *k).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{RegionCode, Role};
    use Stage as S;
    use StepKind as K;

    const TWO_PEOPLE: Rules = Rules {
        combined_sign_off: false,
        lowest_centre: RegionLevel::County,
        highest_centre: RegionLevel::Province,
    };
    const ONE_STEP: Rules = Rules { combined_sign_off: true, ..TWO_PEOPLE };
    const COUNTY_ONLY: Rules = Rules { combined_sign_off: true, ..COUNTY_ONLY_BASE };
    const COUNTY_ONLY_BASE: Rules = Rules {
        combined_sign_off: true,
        lowest_centre: RegionLevel::County,
        highest_centre: RegionLevel::County,
    };

    fn step(n: i64, actor: &str, kind: StepKind) -> Step {
        Step { id: format!("e{n}"), at_ms: n * 1000, actor: actor.into(), kind }
    }

    fn actor(id: &str, role: Role, region: &str) -> Actor {
        Actor { person_id: id.into(), name: id.into(), role, region: RegionCode::parse(region).unwrap() }
    }

    /// (steps as (actor, kind), expected stage, expected ignored step ids)
    fn check(steps: &[(&str, StepKind)], stage: Stage, ignored: &[&str]) {
        let steps: Vec<Step> =
            steps.iter().enumerate().map(|(i, (a, k))| step(i as i64 + 1, a, *k)).collect();
        let p = derive(&steps);
        assert_eq!(
            (p.stage, p.ignored.iter().map(String::as_str).collect::<Vec<_>>()),
            (stage, ignored.to_vec())
        );
        // Any merge order gives the same state.
        let mut reversed = steps.clone();
        reversed.reverse();
        assert_eq!(derive(&reversed), p);
    }

    #[test]
    fn stages_from_events() {
        let base = [("au", K::Submit), ("sys", K::ChecksPassed)];
        check(&[], S::Draft, &[]);
        check(&base[..1], S::Submitted, &[]);
        check(&base, S::Checked, &[]);
        check(&[("au", K::Submit), ("sys", K::ChecksFailed)], S::CheckFailed, &[]);
        check(
            &[("au", K::Submit), ("sys", K::ChecksFailed), ("au", K::Submit), ("sys", K::ChecksPassed)],
            S::Checked,
            &[],
        );
        check(&[base[0], base[1], ("r", K::Review)], S::Reviewed, &[]);
        check(&[base[0], base[1], ("r", K::Review), ("s", K::SignOff)], S::SignedOff, &[]);
        check(&[base[0], base[1], ("r", K::Review), ("r", K::SignOff)], S::Reviewed, &["e4"]);
        check(&[base[0], base[1], ("r", K::Review), ("s", K::Refuse)], S::Refused, &[]);
        // The uploader never signs off her own item, whatever a peer wrote.
        check(&[base[0], base[1], ("r", K::Review), ("au", K::SignOff)], S::Reviewed, &["e4"]);
        check(&[base[0], base[1], ("au", K::ReviewAndSignOff)], S::SignedOff, &[]);
        check(&[base[0], base[1], ("r", K::ReviewAndSignOff), ("sys", K::Publish)], S::Published, &[]);
        check(
            &[base[0], base[1], ("r", K::Review), ("s", K::SignOff), ("sys", K::Publish), ("w", K::Withdraw)],
            S::Withdrawn,
            &[],
        );
        // Out of order: nothing skips a step; nothing follows a refusal or a withdrawal.
        check(&[("au", K::Submit), ("r", K::Review)], S::Submitted, &["e2"]);
        check(&[("au", K::Submit), ("sys", K::Publish)], S::Submitted, &["e2"]);
        check(&[base[0], base[1], ("r", K::Refuse), ("s", K::SignOff)], S::Refused, &["e4"]);
        check(
            &[base[0], base[1], ("r", K::ReviewAndSignOff), ("w", K::Withdraw), ("sys", K::Publish)],
            S::Withdrawn,
            &["e5"],
        );
    }

    #[test]
    fn who_may_take_which_step() {
        let county_staff = actor("c1", Role::Staff, "510131");
        let county_staff_2 = actor("c2", Role::Admin, "510131");
        let other_county = actor("o1", Role::Staff, "510104");
        let city_staff = actor("m1", Role::Staff, "5101");
        let province_staff = actor("p1", Role::Staff, "51");
        let expert = actor("x1", Role::Expert, "510131");
        let officer = actor("v1", Role::Officer, "510131001001");
        let checked = derive(&[step(1, "au", K::Submit), step(2, "sys", K::ChecksPassed)]);
        let reviewed =
            derive(&[step(1, "au", K::Submit), step(2, "sys", K::ChecksPassed), step(3, "c1", K::Review)]);
        let ok = Ok(());
        // (rules, pipeline, item's centre, actor, step, expected)
        type Row<'a> = (&'a Rules, &'a Pipeline, &'a str, &'a Actor, StepKind, Result<(), Denied>);
        let table: &[Row] = &[
            (&TWO_PEOPLE, &checked, "510131", &county_staff, K::Review, ok.clone()),
            (&TWO_PEOPLE, &checked, "510131", &city_staff, K::Review, ok.clone()),
            (&TWO_PEOPLE, &checked, "510131", &other_county, K::Review, Err(Denied::OutOfRegion)),
            (&TWO_PEOPLE, &checked, "510131", &expert, K::Review, Err(Denied::Role)),
            (&TWO_PEOPLE, &checked, "510131", &officer, K::Review, Err(Denied::Role)),
            (&TWO_PEOPLE, &checked, "510131", &county_staff, K::SignOff, Err(Denied::Status)),
            (&TWO_PEOPLE, &checked, "510131", &county_staff, K::ReviewAndSignOff, Err(Denied::Role)),
            (&ONE_STEP, &checked, "510131", &county_staff, K::ReviewAndSignOff, ok.clone()),
            (&TWO_PEOPLE, &reviewed, "510131", &county_staff, K::SignOff, Err(Denied::SamePerson)),
            (&TWO_PEOPLE, &reviewed, "510131", &county_staff_2, K::SignOff, ok.clone()),
            (&TWO_PEOPLE, &reviewed, "510131", &county_staff_2, K::Refuse, ok.clone()),
            // The uploader (who submitted it) may review it but never sign it off.
            (
                &TWO_PEOPLE,
                &reviewed,
                "510131",
                &actor("au", Role::Staff, "510131"),
                K::SignOff,
                Err(Denied::SamePerson),
            ),
            (
                &ONE_STEP,
                &checked,
                "510131",
                &actor("au", Role::Staff, "510131"),
                K::ReviewAndSignOff,
                ok.clone(),
            ),
            // A county may not sign off a province item; the province may.
            (&TWO_PEOPLE, &reviewed, "51", &county_staff_2, K::SignOff, Err(Denied::OutOfRegion)),
            (&TWO_PEOPLE, &reviewed, "51", &province_staff, K::SignOff, ok.clone()),
            (&TWO_PEOPLE, &reviewed, "5101", &city_staff, K::SignOff, ok.clone()),
            // A type signed off at city level or above leaves counties out.
            (&COUNTY_ONLY, &checked, "510131", &county_staff, K::ReviewAndSignOff, ok.clone()),
            (&COUNTY_ONLY, &checked, "510131", &city_staff, K::ReviewAndSignOff, Err(Denied::Role)),
            (
                &Rules { lowest_centre: RegionLevel::City, ..TWO_PEOPLE },
                &checked,
                "510131",
                &county_staff,
                K::Review,
                Err(Denied::Role),
            ),
            // System steps are never a person's.
            (&TWO_PEOPLE, &checked, "510131", &county_staff, K::ChecksPassed, Err(Denied::SystemOnly)),
            (&TWO_PEOPLE, &reviewed, "510131", &province_staff, K::Publish, Err(Denied::SystemOnly)),
            (
                &TWO_PEOPLE,
                &Pipeline { stage: S::Draft, ..checked.clone() },
                "510131",
                &officer,
                K::Submit,
                ok.clone(),
            ),
            (&TWO_PEOPLE, &checked, "510131", &county_staff, K::Withdraw, Err(Denied::Status)),
            // Any centre above may withdraw, even where only the county signs off.
            (
                &COUNTY_ONLY,
                &Pipeline { stage: S::Published, ..checked.clone() },
                "510131",
                &province_staff,
                K::Withdraw,
                ok.clone(),
            ),
            (
                &COUNTY_ONLY,
                &Pipeline { stage: S::Published, ..checked.clone() },
                "510131",
                &other_county,
                K::Withdraw,
                Err(Denied::OutOfRegion),
            ),
            (
                &COUNTY_ONLY,
                &Pipeline { stage: S::Published, ..checked.clone() },
                "510131",
                &expert,
                K::Withdraw,
                Err(Denied::Role),
            ),
            (
                &TWO_PEOPLE,
                &Pipeline { stage: S::Published, ..checked.clone() },
                "510131",
                &county_staff,
                K::Withdraw,
                ok.clone(),
            ),
        ];
        for (i, (rules, p, centre, a, kind, expected)) in table.iter().enumerate() {
            assert_eq!(&authorize(rules, p, centre, a, *kind), expected, "row {i}: {} {kind:?}", a.person_id);
        }
    }

    #[test]
    fn step_codes_round_trip() {
        for k in StepKind::ALL {
            assert_eq!(StepKind::parse(k.code()), Some(k));
        }
        for st in Stage::ALL {
            assert_eq!(Stage::parse(st.code()), Some(st));
        }
        assert_eq!(StepKind::parse("approve"), None);
    }

    #[test]
    fn waiting_for_my_review() {
        let c1 = actor("c1", Role::Staff, "510131");
        let c2 = actor("c2", Role::Staff, "510131");
        let checked = derive(&[step(1, "au", K::Submit), step(2, "sys", K::ChecksPassed)]);
        let reviewed =
            derive(&[step(1, "au", K::Submit), step(2, "sys", K::ChecksPassed), step(3, "c1", K::Review)]);
        assert_eq!(waiting_for(&TWO_PEOPLE, &checked, "510131", &c1), Some(K::Review));
        assert_eq!(waiting_for(&ONE_STEP, &checked, "510131", &c1), Some(K::ReviewAndSignOff));
        assert_eq!(waiting_for(&TWO_PEOPLE, &reviewed, "510131", &c1), None, "not her own review");
        assert_eq!(waiting_for(&TWO_PEOPLE, &reviewed, "510131", &c2), Some(K::SignOff));
        assert_eq!(waiting_for(&TWO_PEOPLE, &reviewed, "51", &c2), None);
    }
}
