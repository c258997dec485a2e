//! Who may do what (权限): one function, [`authorize`], that every node calls before it
//! appends an event or shows a case. Permissions follow the hierarchy: a centre acts on its
//! region (a county on its county, a city on its counties, the province on all), an officer on
//! her village, an expert on the cases assigned to her.
//!
//! Architecture invariant: a refused action changes nothing; callers check before they write.

use serde::Serialize;

use crate::case::{CaseDoc, CaseState, EventKind, Status};
use crate::people::{Person, Role};
use crate::region::{RegionCode, RegionLevel};

/// The signed-in person, as the permission rules see her.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Actor {
    pub person_id: String,
    pub name: String,
    pub role: Role,
    pub region: RegionCode,
}

impl Actor {
    pub fn from_person(p: &Person) -> Option<Actor> {
        if !p.active {
            return None;
        }
        Some(Actor { person_id: p.id.clone(), name: p.name.clone(), role: p.role()?, region: p.region()? })
    }

    /// Staff or an administrator of a centre (county, city or province).
    pub fn is_centre(&self) -> bool {
        matches!(self.role, Role::Staff | Role::Admin) && self.region.level() <= RegionLevel::County
    }

    /// True when the case lies within the actor's region.
    pub fn covers(&self, case_region: &str) -> bool {
        case_region.starts_with(self.region.as_str())
    }
}

/// Something a person may try to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// See the case and its timeline.
    View,
    /// See the farmer's phone number in clear (to phone back).
    ViewPhone,
    /// Append an event of this kind.
    Event(EventKindCode),
    /// Export service records of a region.
    Export,
    /// Add, import or change people of a region.
    ManagePeople,
}

/// [`EventKind`] without payload, so [`Action`] stays `Copy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKindCode {
    SimilarOffered,
    SolvedBySimilar,
    Escalated,
    Assigned,
    EscalatedUp,
    Answered,
    OnSiteRequested,
    OnSiteDispatched,
    OnSiteVisited,
    Closed,
    Rated,
    FollowedUp,
    KnowledgeApproved,
    KnowledgeWithheld,
    KnowledgeWithdrawn,
}

impl EventKindCode {
    pub fn of(kind: &EventKind) -> Option<EventKindCode> {
        Some(match kind {
            EventKind::SimilarOffered => EventKindCode::SimilarOffered,
            EventKind::SolvedBySimilar => EventKindCode::SolvedBySimilar,
            EventKind::Escalated => EventKindCode::Escalated,
            EventKind::Assigned => EventKindCode::Assigned,
            EventKind::EscalatedUp => EventKindCode::EscalatedUp,
            EventKind::Answered => EventKindCode::Answered,
            EventKind::OnSiteRequested => EventKindCode::OnSiteRequested,
            EventKind::OnSiteDispatched => EventKindCode::OnSiteDispatched,
            EventKind::OnSiteVisited => EventKindCode::OnSiteVisited,
            EventKind::Closed => EventKindCode::Closed,
            EventKind::Rated => EventKindCode::Rated,
            EventKind::FollowedUp => EventKindCode::FollowedUp,
            EventKind::KnowledgeApproved => EventKindCode::KnowledgeApproved,
            EventKind::KnowledgeWithheld => EventKindCode::KnowledgeWithheld,
            EventKind::KnowledgeWithdrawn => EventKindCode::KnowledgeWithdrawn,
            EventKind::Created
            | EventKind::Breach
            | EventKind::KnowledgePublished
            | EventKind::Unknown(_) => return None,
        })
    }
}

/// Why an action was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
pub enum Denied {
    #[error("the case lies outside the user's region")]
    OutOfRegion,
    #[error("this role may not do that")]
    Role,
    #[error("the case is not assigned to this expert")]
    NotAssigned,
    #[error("the case is not at this centre")]
    NotThisCentre,
    #[error("the case's status does not allow that now")]
    Status,
    #[error("this kind of event is recorded by the system")]
    SystemOnly,
    #[error("the reviewer may not also sign off")]
    SamePerson,
}

impl Denied {
    pub fn message_zh(&self) -> &'static str {
        match self {
            Denied::OutOfRegion => "无权操作：该案例不在您的管辖范围",
            Denied::Role => "无权操作：您的角色不能执行此操作",
            Denied::NotAssigned => "无权操作：该案例未分派给您",
            Denied::NotThisCentre => "无权操作：该案例不在本中心的待办中",
            Denied::Status => "当前状态下不能执行此操作",
            Denied::SystemOnly => "该记录由系统生成，不能手工添加",
            Denied::SamePerson => "审核人不能同时签发",
        }
    }
}

/// Decides whether `actor` may do `action` on the case (whose derived state is `state`).
/// Status checks mirror [`CaseDoc::state`]'s transitions, so an allowed event also applies.
pub fn authorize(actor: &Actor, action: Action, case: &CaseDoc, state: &CaseState) -> Result<(), Denied> {
    let in_region = actor.covers(&case.region_code);
    let is_expert_of_case =
        actor.role == Role::Expert && state.expert.as_deref() == Some(actor.person_id.as_str());
    let was_expert_of_case =
        actor.role == Role::Expert && state.experts_assigned.iter().any(|e| e == &actor.person_id);
    match action {
        Action::View => {
            if (in_region && actor.role != Role::Expert) || was_expert_of_case {
                Ok(())
            } else if actor.role == Role::Expert {
                Err(Denied::NotAssigned)
            } else {
                Err(Denied::OutOfRegion)
            }
        }
        Action::ViewPhone => {
            // The county centre phones the farmer back (follow-up calls), so its staff see the
            // number in clear. Officers and experts see it masked, as the kiosk shows it; nobody
            // above the county sees it (it does not even reach their nodes).
            if !in_region {
                return Err(Denied::OutOfRegion);
            }
            match actor.role {
                Role::Staff | Role::Admin if actor.region.level() == RegionLevel::County => Ok(()),
                _ => Err(Denied::Role),
            }
        }
        Action::Export => match actor.role {
            Role::Staff | Role::Admin if in_region => Ok(()),
            Role::Staff | Role::Admin => Err(Denied::OutOfRegion),
            _ => Err(Denied::Role),
        },
        Action::ManagePeople => match actor.role {
            Role::Admin if in_region => Ok(()),
            Role::Admin => Err(Denied::OutOfRegion),
            _ => Err(Denied::Role),
        },
        Action::Event(kind) => authorize_event(actor, kind, in_region, is_expert_of_case, case, state),
    }
}

fn authorize_event(
    actor: &Actor,
    kind: EventKindCode,
    in_region: bool,
    is_expert_of_case: bool,
    case: &CaseDoc,
    state: &CaseState,
) -> Result<(), Denied> {
    use EventKindCode as K;
    use Status::*;
    let status_ok = |ok: bool| if ok { Ok(()) } else { Err(Denied::Status) };
    match kind {
        // The officer's own steps at the kiosk.
        K::SimilarOffered | K::SolvedBySimilar | K::Escalated | K::Closed | K::Rated | K::OnSiteVisited => {
            if actor.role != Role::Officer && !(kind == K::OnSiteVisited && is_expert_of_case) {
                return Err(Denied::Role);
            }
            if actor.role == Role::Officer && !in_region {
                return Err(Denied::OutOfRegion);
            }
            status_ok(match kind {
                K::SimilarOffered | K::SolvedBySimilar | K::Escalated => state.status == Open,
                K::Closed => matches!(state.status, Answered | SolvedBySimilar),
                K::Rated => {
                    matches!(state.status, Closed | FollowedUp)
                        && state.rating.is_none()
                        && state.expert.is_some()
                }
                _ => state.status == OnSite,
            })
        }
        // The centre's steps: only the centre the case currently waits at, or one above it.
        K::Assigned | K::EscalatedUp | K::OnSiteDispatched => {
            if !actor.is_centre() {
                return Err(Denied::Role);
            }
            if !in_region {
                return Err(Denied::OutOfRegion);
            }
            if !state.centre.starts_with(actor.region.as_str())
                && !actor.region.as_str().starts_with(&state.centre)
            {
                return Err(Denied::NotThisCentre);
            }
            // A county may not act on a case it escalated to the city or province.
            if Some(actor.region.level()) > crate::RegionLevel::of(&state.centre) {
                return Err(Denied::NotThisCentre);
            }
            status_ok(match kind {
                K::Assigned | K::EscalatedUp => matches!(state.status, AwaitingTriage | AwaitingAnswer),
                _ => state.status == OnSite,
            })
        }
        K::FollowedUp => {
            if !actor.is_centre() {
                return Err(Denied::Role);
            }
            if !in_region {
                return Err(Denied::OutOfRegion);
            }
            status_ok(state.status == Closed)
        }
        // Publication as knowledge is signed off by the county centre that served the case.
        K::KnowledgeApproved | K::KnowledgeWithheld => {
            if !actor.is_centre() || actor.region.level() != RegionLevel::County {
                return Err(Denied::Role);
            }
            if !in_region {
                return Err(Denied::OutOfRegion);
            }
            // The rest is the publication pipeline's: the case must be waiting for sign-off.
            let step = match kind {
                K::KnowledgeApproved => crate::publication::StepKind::ReviewAndSignOff,
                _ => crate::publication::StepKind::Refuse,
            };
            let pipeline = crate::publication::derive(&crate::knowledge::publication_steps(case, state));
            let centre = crate::knowledge::publication_centre(case);
            crate::publication::authorize(
                &crate::knowledge::PUBLICATION_RULES,
                &pipeline,
                centre,
                actor,
                step,
            )
        }
        // The circuit breaker: the county centre or any centre above it, once signed off.
        K::KnowledgeWithdrawn => {
            if !actor.is_centre() {
                return Err(Denied::Role);
            }
            if !in_region {
                return Err(Denied::OutOfRegion);
            }
            let pipeline = crate::publication::derive(&crate::knowledge::publication_steps(case, state));
            crate::publication::authorize(
                &crate::knowledge::PUBLICATION_RULES,
                &pipeline,
                crate::knowledge::publication_centre(case),
                actor,
                crate::publication::StepKind::Withdraw,
            )
        }
        // The assigned expert's steps.
        K::Answered | K::OnSiteRequested => {
            if actor.role != Role::Expert {
                return Err(Denied::Role);
            }
            if !is_expert_of_case {
                return Err(Denied::NotAssigned);
            }
            status_ok(match kind {
                K::Answered => matches!(state.status, AwaitingAnswer | OnSite | Answered),
                _ => state.status == AwaitingAnswer,
            })
        }
    }
}

/// Something a person may do at a centre's desk that concerns no single case: the desk's
/// pages and the centre's administration. Case actions go through [`authorize`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CentreAction {
    /// Work at the desk: the triage queue, the expert directory, exports of service records.
    Desk,
    /// Export service records with farmers' numbers in clear (for the county's follow-up calls).
    ExportPhones,
    /// Review solved cases for publication as knowledge (the county centre signs off).
    ReviewKnowledge,
    /// Administer the centre: people, lockouts, the audit records, the settings page.
    Administer,
    /// Change the service-clock policy of the centre whose hub this is.
    SetPolicy,
    /// Publish the year's holidays and make-up working days (the province's administrators,
    /// at the province hub).
    PublishHolidays,
    /// Read the statistics of a region (`centre` names it): centre staff of that region or
    /// one above it.
    Statistics,
    /// Set the targets (指标) of the region whose hub this is: its own administrators (the
    /// province's for the province, a city's or county's for theirs).
    SetTargets,
    /// Configure the scoring rule of the evaluations (激励保障): the province's administrators,
    /// at the province hub.
    ConfigureEvaluation,
    /// Set the subsidy standard (补贴标准): the province's administrators, at the province hub.
    SetSubsidyStandard,
    /// Enter payees' details and prepare, change and submit the monthly subsidy statement of
    /// the county whose hub this is (`centre`): that county centre's own staff.
    PrepareSubsidies,
    /// Approve or return a county's statement (`centre` names the county): centre staff of
    /// the city or the province containing it.
    ApproveSubsidies,
    /// Export the approved payment list with ID-card and bank-card numbers in clear: the
    /// county's own administrators (the finance office works from their list).
    ExportPayments,
    /// Pick and unpick 特派员风采's featured experts of the region whose hub this is: that
    /// centre's own staff and administrators (the province's, a city's or a county's).
    FeatureExperts,
}

/// Decides whether `actor` may do `action` at the desk of the hub whose scope is `centre`.
pub fn authorize_centre(actor: &Actor, action: CentreAction, centre: &str) -> Result<(), Denied> {
    let county_centre = actor.is_centre() && actor.region.level() == RegionLevel::County;
    let ok = match action {
        CentreAction::Desk => actor.is_centre(),
        CentreAction::ExportPhones | CentreAction::ReviewKnowledge => county_centre,
        CentreAction::Administer => actor.role == Role::Admin,
        CentreAction::SetPolicy => actor.role == Role::Admin && actor.region.as_str() == centre,
        CentreAction::PublishHolidays | CentreAction::ConfigureEvaluation => {
            actor.role == Role::Admin
                && actor.region.level() == RegionLevel::Province
                && actor.region.as_str() == centre
        }
        CentreAction::SetTargets => {
            actor.role == Role::Admin
                && actor.region.as_str() == centre
                && actor.region.level() <= RegionLevel::County
        }
        CentreAction::FeatureExperts => {
            actor.is_centre()
                && actor.region.as_str() == centre
                && actor.region.level() <= RegionLevel::County
        }
        CentreAction::SetSubsidyStandard => {
            actor.role == Role::Admin
                && actor.region.level() == RegionLevel::Province
                && actor.region.as_str() == centre
        }
        CentreAction::PrepareSubsidies => county_centre && actor.region.as_str() == centre,
        CentreAction::ExportPayments => {
            county_centre && actor.role == Role::Admin && actor.region.as_str() == centre
        }
        CentreAction::ApproveSubsidies => {
            if actor.is_centre() && !actor.covers(centre) {
                return Err(Denied::OutOfRegion);
            }
            actor.is_centre() && actor.region.level() < RegionLevel::County
        }
        CentreAction::Statistics => {
            if actor.is_centre() && !actor.covers(centre) {
                return Err(Denied::OutOfRegion);
            }
            actor.is_centre()
        }
    };
    if ok { Ok(()) } else { Err(Denied::Role) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(role: Role, region: &str) -> Actor {
        Actor {
            person_id: "p".into(),
            name: "p".into(),
            role,
            region: RegionCode::parse(region).unwrap_or_else(|e| panic!("{region}: {e}")),
        }
    }

    #[test]
    fn centre_actions_follow_role_and_level() {
        use CentreAction::*;
        let check = |role, region: &str, action, centre: &str, ok: bool| {
            assert_eq!(
                authorize_centre(&actor(role, region), action, centre).is_ok(),
                ok,
                "{role:?} {region} {action:?}"
            );
        };
        check(Role::Staff, "510131", Desk, "510131", true);
        check(Role::Staff, "5101", Desk, "5101", true);
        check(Role::Expert, "510131", Desk, "510131", false);
        check(Role::Officer, "510131001001", Desk, "510131", false);
        check(Role::Staff, "510131", ExportPhones, "510131", true);
        check(Role::Staff, "5101", Statistics, "510131", true);
        check(Role::Staff, "510131", Statistics, "510131001", true);
        check(Role::Staff, "510131", Statistics, "510132", false);
        check(Role::Staff, "510131", Statistics, "5101", false);
        check(Role::Officer, "510131001001", Statistics, "510131001001", false);
        check(Role::Staff, "5101", ExportPhones, "5101", false);
        check(Role::Admin, "510131", ReviewKnowledge, "510131", true);
        check(Role::Admin, "51", ReviewKnowledge, "51", false);
        check(Role::Admin, "5101", Administer, "5101", true);
        check(Role::Staff, "5101", Administer, "5101", false);
        check(Role::Admin, "510131", SetPolicy, "510131", true);
        check(Role::Admin, "51", SetPolicy, "510131", false);
        check(Role::Admin, "51", PublishHolidays, "51", true);
        check(Role::Staff, "51", PublishHolidays, "51", false);
        check(Role::Admin, "5101", PublishHolidays, "5101", false);
        check(Role::Admin, "510131", PublishHolidays, "510131", false);
        check(Role::Admin, "51", SetTargets, "51", true);
        check(Role::Admin, "51", ConfigureEvaluation, "51", true);
        check(Role::Admin, "5101", ConfigureEvaluation, "5101", false);
        check(Role::Staff, "51", ConfigureEvaluation, "51", false);
        check(Role::Admin, "510131", SetTargets, "510131", true);
        check(Role::Admin, "51", SetTargets, "5101", false);
        check(Role::Staff, "51", SetTargets, "51", false);
        check(Role::Admin, "510131001", SetTargets, "510131001", false);
        check(Role::Staff, "510131", FeatureExperts, "510131", true);
        check(Role::Staff, "5101", FeatureExperts, "5101", true);
        check(Role::Staff, "510131", FeatureExperts, "510132", false);
        check(Role::Staff, "51", FeatureExperts, "5101", false);
        check(Role::Expert, "510131", FeatureExperts, "510131", false);
        // 补贴发放: the province sets the standard, the county prepares, the city or province
        // approves, the county's administrators export numbers in clear.
        check(Role::Admin, "51", SetSubsidyStandard, "51", true);
        check(Role::Staff, "51", SetSubsidyStandard, "51", false);
        check(Role::Admin, "5101", SetSubsidyStandard, "5101", false);
        check(Role::Staff, "510131", PrepareSubsidies, "510131", true);
        check(Role::Staff, "510131", PrepareSubsidies, "510132", false);
        check(Role::Staff, "5101", PrepareSubsidies, "5101", false);
        check(Role::Expert, "510131", PrepareSubsidies, "510131", false);
        check(Role::Staff, "5101", ApproveSubsidies, "510131", true);
        check(Role::Staff, "51", ApproveSubsidies, "510131", true);
        check(Role::Staff, "5120", ApproveSubsidies, "510131", false);
        check(Role::Admin, "510131", ApproveSubsidies, "510131", false);
        check(Role::Admin, "510131", ExportPayments, "510131", true);
        check(Role::Staff, "510131", ExportPayments, "510131", false);
        check(Role::Admin, "510104", ExportPayments, "510131", false);
        check(Role::Admin, "5101", ExportPayments, "5101", false);
    }
}
