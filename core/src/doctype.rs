//! The document types, in one table: what each is, how its scope is read from its content,
//! which way it flows between nodes, who writes it, and the hooks the store runs for it.
//!
//! The store's sync policy (`store::sync::PeerPolicy`) and its projection dispatch
//! (`store::projection`) read this table and match on nothing else, so adding a type is one
//! entry in [`DOC_TYPES`] plus its module (and, if it has a query table, one [`Projection`]
//! variant with its projector in the store).
//!
//! Architecture invariant: the scope of a document received from a peer is read from its
//! content by [`DocType::validate`], never taken from what the sender declared.

use automerge::AutoCommit;

use crate::{
    case, claim, evaluation, holidays, item, knowledge, lecture_views, people, private, published,
    revocation, seal_key, sensitive, showcase, subsidy, takedown, targets,
};

/// Which way documents of a type travel between a node and its peers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Within its region, both ways: up to every parent (all of a node's documents lie in its
    /// scope), down to the child whose scope holds it; accepted from a peer only within the
    /// scope that peer may write (cases, the people directory).
    Regional,
    /// Private, never leaves the county: like [`Flow::Regional`] downwards and from a kiosk up
    /// to its county hub, never from a hub up to its parent (a case's phone number, a
    /// person's credential).
    Private,
    /// Down to children only: sent only to a child whose scope lies strictly within the
    /// document's, accepted only from the parent and only by a node strictly within it (a
    /// county's sealing key goes to its kiosks; nobody but the county hub writes it).
    Down,
    /// Down to child hubs only: like [`Flow::Down`], but never sent to a kiosk (a town or
    /// village scope) nor accepted by one (the province's subsidy standard: kiosks have no use
    /// for it).
    DownToHubs,
    /// Public to everyone: sent to every peer; accepted from a parent, or from a child hub
    /// that publishes for its region (published knowledge, revocation lists).
    Public,
    /// Node-local: never sent, never accepted. (No document type is local today: sessions,
    /// sign-in failures and breach observations are node-local tables, not documents.)
    Local,
}

/// How a type's scope is read from its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeRule {
    /// The region code in the named field.
    Field(&'static str),
    /// [`knowledge::PUBLIC_SCOPE`], the whole province: every node may hold it.
    Public,
}

/// The kinds of node that write documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    Kiosk,
    CountyHub,
    /// Any hub: county, city or province.
    Hub,
    ProvinceHub,
}

/// The store's projector for a type: which query tables it maintains.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Projection {
    /// `cases`, `event_seen`, `doc_blobs`.
    Case,
    /// `case_private` and the masked phone in `cases`.
    CasePrivate,
    /// `people`.
    Person,
    /// `publications` (one row per pipeline item) and `doc_blobs`.
    PublicationItem,
    /// `public_items` (what this node shows without sign-in, withdrawn ones marked) and
    /// `doc_blobs`.
    Published,
    /// `bounty_claims` (the claims on each bounty this node holds).
    BountyClaim,
    /// `lecture_views` (views per lecture per node region per month).
    LectureViews,
    /// No query table: the document is read where it is used.
    None,
}

/// One document type.
#[derive(Debug, Clone, Copy)]
pub struct DocType {
    /// The `doc_type` stored with the document and sent on the wire.
    pub name: &'static str,
    pub scope: ScopeRule,
    pub flow: Flow,
    /// The nodes that create documents of this type.
    pub created_by: &'static [NodeKind],
    /// The nodes that change them after creation (empty: written once).
    pub changed_by: &'static [NodeKind],
    /// The rule that decides who may write it (the function's path, for readers).
    pub authorised_by: &'static str,
    /// Parses the content and returns the scope read from it; the store runs it on every
    /// document received from a peer.
    pub validate: fn(&AutoCommit) -> Result<String, String>,
    /// The name of the validation hook (for readers and tests).
    pub validate_name: &'static str,
    pub projection: Projection,
    /// Whether a document of this type counts in the "未同步" (not yet synced) number: public
    /// documents and private parts are not, since they do not go (or not all) to the parent.
    pub counts_unsynced: bool,
    /// What a change received from a kiosk may do to a document of this type, beyond the
    /// node kinds in [`DocType::created_by`] and [`DocType::changed_by`] (which the store
    /// checks first): given the kiosk's node id, the document as held before the change
    /// (`None`: new) and after it.
    /// A hub runs it on every change a kiosk sends, so a tampered kiosk cannot write another
    /// person's steps (a review, an answer) into a document it may otherwise change.
    pub kiosk_change: fn(&str, Option<&AutoCommit>, &AutoCommit) -> Result<(), String>,
    /// Whether a document of this type is ready to go up to the node's parent; one that is not
    /// waits (and goes when a later change makes it ready). A farmer's phone recorded before the
    /// kiosk held its county's key is useless to the county until sealed to that key, so it
    /// goes up once, sealed, not twice.
    pub ready_to_send_up: fn(&AutoCommit) -> bool,
}

/// Every document type this build knows, and so accepts from a peer.
pub static DOC_TYPES: &[DocType] = &[
    DocType {
        name: case::DOC_TYPE,
        scope: ScopeRule::Field("region_code"),
        flow: Flow::Regional,
        created_by: &[NodeKind::Kiosk],
        changed_by: &[NodeKind::Kiosk, NodeKind::Hub],
        authorised_by: "core::access::authorize (every event, against the stored case)",
        validate: validate_case,
        validate_name: "doctype::validate_case",
        projection: Projection::Case,
        counts_unsynced: true,
        kiosk_change: case_kiosk_change,
        ready_to_send_up: always_ready,
    },
    DocType {
        name: private::DOC_TYPE,
        scope: ScopeRule::Field("region_code"),
        flow: Flow::Private,
        created_by: &[NodeKind::Kiosk],
        changed_by: &[NodeKind::Kiosk],
        authorised_by: "kiosk::service::record_case (written with its case)",
        validate: validate_case_private,
        validate_name: "doctype::validate_case_private",
        projection: Projection::CasePrivate,
        counts_unsynced: false,
        kiosk_change: any_kiosk_change,
        ready_to_send_up: private_ready_to_send_up,
    },
    DocType {
        name: people::DOC_TYPE,
        scope: ScopeRule::Field("region_code"),
        flow: Flow::Regional,
        created_by: &[NodeKind::Hub],
        changed_by: &[NodeKind::Hub],
        authorised_by: "accounts (administrators of the region)",
        validate: validate_person,
        validate_name: "doctype::validate_person",
        projection: Projection::Person,
        counts_unsynced: true,
        kiosk_change: any_kiosk_change,
        ready_to_send_up: always_ready,
    },
    DocType {
        name: people::CREDENTIAL_DOC_TYPE,
        scope: ScopeRule::Field("region_code"),
        flow: Flow::Private,
        created_by: &[NodeKind::Hub],
        changed_by: &[NodeKind::Kiosk, NodeKind::Hub],
        authorised_by: "accounts (the person herself, or administrators of the region)",
        validate: validate_credential,
        validate_name: "doctype::validate_credential",
        projection: Projection::None,
        counts_unsynced: true,
        kiosk_change: any_kiosk_change,
        ready_to_send_up: always_ready,
    },
    DocType {
        name: knowledge::DOC_TYPE,
        scope: ScopeRule::Public,
        flow: Flow::Public,
        created_by: &[NodeKind::CountyHub],
        // Only to add a withdrawal record (the case's `knowledge_withdrawn` step).
        changed_by: &[NodeKind::Hub],
        authorised_by: "hub::publish (after review and sign-off on the publication pipeline; withdrawn after the case's withdrawal step)",
        validate: validate_knowledge,
        validate_name: "doctype::validate_knowledge",
        projection: Projection::None,
        counts_unsynced: false,
        kiosk_change: any_kiosk_change,
        ready_to_send_up: always_ready,
    },
    DocType {
        name: item::DOC_TYPE,
        scope: ScopeRule::Field("centre"),
        flow: Flow::Regional,
        // A village station drafts a farmer's listing (owned by its village, flowing up to the
        // county); hubs draft their centre's items and take every step after submission.
        created_by: &[NodeKind::Kiosk, NodeKind::Hub],
        changed_by: &[NodeKind::Kiosk, NodeKind::Hub],
        authorised_by: "hub::service::publication (core::publication::authorize on every step, against the stored item; a kiosk's submission checked again before review), kiosk::market::draft_listing (the signed-in officer of the village)",
        validate: validate_item,
        validate_name: "doctype::validate_item",
        projection: Projection::PublicationItem,
        counts_unsynced: true,
        kiosk_change: item_kiosk_change,
        ready_to_send_up: always_ready,
    },
    DocType {
        name: published::DOC_TYPE,
        scope: ScopeRule::Public,
        flow: Flow::Public,
        created_by: &[NodeKind::Hub],
        changed_by: &[NodeKind::Hub],
        authorised_by: "hub::service::publication (made from a signed-off item; withdrawn by a centre containing it)",
        validate: validate_published,
        validate_name: "doctype::validate_published",
        projection: Projection::Published,
        counts_unsynced: false,
        kiosk_change: any_kiosk_change,
        ready_to_send_up: always_ready,
    },
    DocType {
        name: revocation::DOC_TYPE,
        scope: ScopeRule::Public,
        flow: Flow::Public,
        created_by: &[NodeKind::ProvinceHub, NodeKind::Hub],
        changed_by: &[NodeKind::ProvinceHub, NodeKind::Hub],
        // The signature is checked where the list is applied (against the trust roots).
        authorised_by: "identity::revocation (signed by the issuing CA)",
        validate: validate_revocation,
        validate_name: "doctype::validate_revocation",
        projection: Projection::None,
        counts_unsynced: false,
        kiosk_change: any_kiosk_change,
        ready_to_send_up: always_ready,
    },
    DocType {
        name: seal_key::DOC_TYPE,
        scope: ScopeRule::Field("county_code"),
        flow: Flow::Down,
        created_by: &[NodeKind::CountyHub],
        changed_by: &[NodeKind::CountyHub],
        authorised_by: "hub::sealing::publish_county_key (the county hub itself)",
        validate: validate_seal_key,
        validate_name: "doctype::validate_seal_key",
        projection: Projection::None,
        counts_unsynced: true,
        kiosk_change: any_kiosk_change,
        ready_to_send_up: always_ready,
    },
    DocType {
        name: holidays::DOC_TYPE,
        scope: ScopeRule::Field("region_code"),
        // Down from the province only: a hub below can never send a calendar up or sideways.
        flow: Flow::Down,
        created_by: &[NodeKind::ProvinceHub],
        changed_by: &[NodeKind::ProvinceHub],
        authorised_by: "hub::service::admin::publish_holidays (the province's administrators)",
        validate: validate_holidays,
        validate_name: "doctype::validate_holidays",
        projection: Projection::None,
        counts_unsynced: false,
        kiosk_change: any_kiosk_change,
        ready_to_send_up: always_ready,
    },
    DocType {
        name: targets::DOC_TYPE,
        scope: ScopeRule::Field("region_code"),
        // Down from the centre that set it to the hubs (and kiosks) below, never up: a county
        // hub holds its own, its city's and the province's goals.
        flow: Flow::Down,
        created_by: &[NodeKind::Hub],
        changed_by: &[NodeKind::Hub],
        authorised_by: "hub::service::targets::set_targets (CentreAction::SetTargets: the region's own administrators at its hub)",
        validate: validate_targets,
        validate_name: "doctype::validate_targets",
        projection: Projection::None,
        counts_unsynced: false,
        kiosk_change: any_kiosk_change,
        ready_to_send_up: always_ready,
    },
    DocType {
        name: evaluation::DOC_TYPE,
        scope: ScopeRule::Field("region_code"),
        // The province's one scoring rule (激励保障), down to every hub, never up.
        flow: Flow::Down,
        created_by: &[NodeKind::ProvinceHub],
        changed_by: &[NodeKind::ProvinceHub],
        authorised_by: "hub::service::evaluation::set_rule (CentreAction::ConfigureEvaluation: the province's administrators)",
        validate: validate_evaluation_rule,
        validate_name: "doctype::validate_evaluation_rule",
        projection: Projection::None,
        counts_unsynced: false,
        kiosk_change: any_kiosk_change,
        ready_to_send_up: always_ready,
    },
    DocType {
        name: claim::DOC_TYPE,
        // The expert's region: it flows up to the centre that owns the bounty (which must
        // contain it, `claim::may_claim`) and that centre's pick flows back down.
        scope: ScopeRule::Field("region_code"),
        flow: Flow::Regional,
        created_by: &[NodeKind::Hub],
        changed_by: &[NodeKind::Hub],
        authorised_by: "hub::market (core::claim::may_claim at the expert's hub; may_pick and may_finish at the owning centre)",
        validate: validate_claim,
        validate_name: "doctype::validate_claim",
        projection: Projection::BountyClaim,
        counts_unsynced: true,
        kiosk_change: any_kiosk_change,
        ready_to_send_up: always_ready,
    },
    DocType {
        name: takedown::DOC_TYPE,
        scope: ScopeRule::Public,
        // Public: a county's takedown goes up (its parents hide the item too) and down to
        // every kiosk; the province's to every node.
        flow: Flow::Public,
        created_by: &[NodeKind::Hub],
        // Only to add the signed lift.
        changed_by: &[NodeKind::Hub],
        // The signature is checked where it is applied (against the trust roots), as for
        // revocation lists: a relaying node cannot forge or alter one.
        authorised_by: "hub::service::breaker (province or county staff, their region's items; signed by the hub's identity key, verified by yizhan_net::follow_takedowns)",
        validate: validate_takedown,
        validate_name: "doctype::validate_takedown",
        projection: Projection::None,
        counts_unsynced: false,
        kiosk_change: any_kiosk_change,
        ready_to_send_up: always_ready,
    },
    DocType {
        name: sensitive::DOC_TYPE,
        scope: ScopeRule::Field("region_code"),
        // The province's one list (安全熔断), down to every hub and kiosk, never up.
        flow: Flow::Down,
        created_by: &[NodeKind::ProvinceHub],
        changed_by: &[NodeKind::ProvinceHub],
        authorised_by: "hub::service::breaker::set_words (the province's staff and administrators)",
        validate: validate_sensitive_words,
        validate_name: "doctype::validate_sensitive_words",
        projection: Projection::None,
        counts_unsynced: false,
        kiosk_change: any_kiosk_change,
        ready_to_send_up: always_ready,
    },
    DocType {
        name: subsidy::STANDARD_DOC_TYPE,
        scope: ScopeRule::Field("region_code"),
        // The province's amounts, down to every hub that prepares or approves statements.
        flow: Flow::DownToHubs,
        created_by: &[NodeKind::ProvinceHub],
        changed_by: &[NodeKind::ProvinceHub],
        authorised_by: "hub::service::subsidies::set_standard (CentreAction::SetSubsidyStandard: the province's administrators)",
        validate: validate_subsidy_standard,
        validate_name: "doctype::validate_subsidy_standard",
        projection: Projection::None,
        counts_unsynced: false,
        kiosk_change: any_kiosk_change,
        ready_to_send_up: always_ready,
    },
    DocType {
        name: subsidy::PAYEE_DOC_TYPE,
        // The county: private, so it never leaves the county hub (no kiosk's scope holds a
        // county code; a hub never sends private documents to its parent).
        scope: ScopeRule::Field("region_code"),
        flow: Flow::Private,
        created_by: &[NodeKind::CountyHub],
        changed_by: &[NodeKind::CountyHub],
        authorised_by: "hub::service::subsidies::set_payee (CentreAction::PrepareSubsidies: the county centre's staff; numbers sealed to the county key)",
        validate: validate_subsidy_payee,
        validate_name: "doctype::validate_subsidy_payee",
        projection: Projection::None,
        counts_unsynced: false,
        kiosk_change: any_kiosk_change,
        ready_to_send_up: always_ready,
    },
    DocType {
        name: subsidy::STATEMENT_DOC_TYPE,
        // The county: up to the city and province that approve it (masked numbers only), the
        // decision back down; never to a kiosk.
        scope: ScopeRule::Field("region_code"),
        flow: Flow::Regional,
        created_by: &[NodeKind::CountyHub],
        changed_by: &[NodeKind::Hub],
        authorised_by: "hub::service::subsidies (core::subsidy::may_edit at the county, may_decide at the city or province, against the stored statement)",
        validate: validate_subsidy_statement,
        validate_name: "doctype::validate_subsidy_statement",
        projection: Projection::None,
        counts_unsynced: true,
        kiosk_change: any_kiosk_change,
        ready_to_send_up: always_ready,
    },
    DocType {
        name: lecture_views::DOC_TYPE,
        // The recording node's region: up to every parent, so the county, city and province
        // count them; a node writes only its own month's document.
        scope: ScopeRule::Field("region_code"),
        flow: Flow::Regional,
        created_by: &[NodeKind::Kiosk, NodeKind::Hub],
        changed_by: &[NodeKind::Kiosk, NodeKind::Hub],
        authorised_by: "store::lectures::record_lecture_view (the node's own document; a kiosk's checked by lecture_views::kiosk_may_change)",
        validate: validate_lecture_views,
        validate_name: "doctype::validate_lecture_views",
        projection: Projection::LectureViews,
        // Counts, not work: never holds up lecture bytes nor shows as 未同步.
        counts_unsynced: false,
        kiosk_change: lecture_views::kiosk_may_change,
        ready_to_send_up: always_ready,
    },
    DocType {
        name: showcase::DOC_TYPE,
        scope: ScopeRule::Field("region_code"),
        // 特派员风采's featured experts: down from the centre that picked them to the hubs and
        // kiosks below (public figures only), never up; nobody below writes one.
        flow: Flow::Down,
        created_by: &[NodeKind::Hub],
        changed_by: &[NodeKind::Hub],
        authorised_by: "hub::service::showcase::set_featured (CentreAction::FeatureExperts: the centre's own staff, experts of its region)",
        validate: validate_showcase,
        validate_name: "doctype::validate_showcase",
        projection: Projection::None,
        counts_unsynced: false,
        kiosk_change: no_kiosk_change,
        ready_to_send_up: always_ready,
    },
];

/// The entry for `name`, if this build knows the type.
pub fn lookup(name: &str) -> Option<&'static DocType> {
    DOC_TYPES.iter().find(|t| t.name == name)
}

fn validate_case(doc: &AutoCommit) -> Result<String, String> {
    let case = case::CaseDoc::from_doc(doc).map_err(|e| e.to_string())?;
    crate::RegionCode::parse(&case.region_code).map_err(|e| e.to_string())?;
    Ok(case.region_code)
}

fn validate_case_private(doc: &AutoCommit) -> Result<String, String> {
    Ok(private::CasePrivate::from_doc(doc)?.region_code)
}

fn validate_person(doc: &AutoCommit) -> Result<String, String> {
    Ok(people::Person::from_doc(doc).map_err(|e| e.to_string())?.region_code)
}

fn validate_credential(doc: &AutoCommit) -> Result<String, String> {
    Ok(people::Credential::from_doc(doc).map_err(|e| e.to_string())?.region_code)
}

fn validate_knowledge(doc: &AutoCommit) -> Result<String, String> {
    knowledge::KnowledgeDoc::from_doc(doc).map_err(|e| e.to_string())?;
    Ok(knowledge::PUBLIC_SCOPE.to_string())
}

fn validate_item(doc: &AutoCommit) -> Result<String, String> {
    Ok(item::ItemDoc::from_doc(doc).map_err(|e| e.to_string())?.centre)
}

fn validate_published(doc: &AutoCommit) -> Result<String, String> {
    published::PublishedDoc::from_doc(doc).map_err(|e| e.to_string())?;
    Ok(knowledge::PUBLIC_SCOPE.to_string())
}

fn validate_claim(doc: &AutoCommit) -> Result<String, String> {
    Ok(claim::ClaimDoc::from_doc(doc).map_err(|e| e.to_string())?.region_code)
}

fn validate_revocation(doc: &AutoCommit) -> Result<String, String> {
    revocation::RevocationDoc::from_doc(doc)?;
    Ok(knowledge::PUBLIC_SCOPE.to_string())
}

fn validate_takedown(doc: &AutoCommit) -> Result<String, String> {
    takedown::TakedownDoc::from_doc(doc)?;
    Ok(knowledge::PUBLIC_SCOPE.to_string())
}

fn validate_sensitive_words(doc: &AutoCommit) -> Result<String, String> {
    Ok(sensitive::SensitiveWords::from_doc(doc)?.region_code)
}

fn validate_holidays(doc: &AutoCommit) -> Result<String, String> {
    Ok(holidays::HolidayDoc::from_doc(doc)?.region_code)
}

fn validate_targets(doc: &AutoCommit) -> Result<String, String> {
    Ok(targets::TargetDoc::from_doc(doc).map_err(|e| e.to_string())?.region_code)
}

fn validate_evaluation_rule(doc: &AutoCommit) -> Result<String, String> {
    Ok(evaluation::EvaluationRule::from_doc(doc).map_err(|e| e.to_string())?.region_code)
}

fn validate_subsidy_standard(doc: &AutoCommit) -> Result<String, String> {
    Ok(subsidy::StandardDoc::from_doc(doc).map_err(|e| e.to_string())?.region_code)
}

fn validate_subsidy_payee(doc: &AutoCommit) -> Result<String, String> {
    Ok(subsidy::PayeeDoc::from_doc(doc).map_err(|e| e.to_string())?.region_code)
}

fn validate_subsidy_statement(doc: &AutoCommit) -> Result<String, String> {
    Ok(subsidy::StatementDoc::from_doc(doc).map_err(|e| e.to_string())?.region_code)
}

fn validate_lecture_views(doc: &AutoCommit) -> Result<String, String> {
    Ok(lecture_views::LectureViewsDoc::from_doc(doc).map_err(|e| e.to_string())?.region_code)
}

fn validate_showcase(doc: &AutoCommit) -> Result<String, String> {
    Ok(showcase::ShowcaseDoc::from_doc(doc).map_err(|e| e.to_string())?.region_code)
}

fn validate_seal_key(doc: &AutoCommit) -> Result<String, String> {
    Ok(seal_key::SealKeyDoc::from_doc(doc)?.county_code)
}

/// For types that go up as soon as they are written.
fn always_ready(_doc: &AutoCommit) -> bool {
    true
}

/// A case's private part goes up once its phone (if any) is sealed to the county's key; a
/// document that does not hydrate goes (the hub refuses it and says why).
fn private_ready_to_send_up(doc: &AutoCommit) -> bool {
    match private::CasePrivate::from_doc(doc) {
        Ok(p) => p.farmer_phone_sealed.is_empty() || crate::sealed::is_county_sealed(&p.farmer_phone_county),
        Err(_) => true,
    }
}

/// For types a kiosk may write with no restriction beyond its scope and the node kinds.
fn any_kiosk_change(_kiosk: &str, _before: Option<&AutoCommit>, _after: &AutoCommit) -> Result<(), String> {
    Ok(())
}

/// For types only hubs write: a kiosk's change is refused whatever it holds.
fn no_kiosk_change(kiosk: &str, _before: Option<&AutoCommit>, _after: &AutoCommit) -> Result<(), String> {
    Err(format!("kiosk {kiosk} may not write this document"))
}

/// Elements of `before` (by id) that `after` no longer holds unchanged.
fn removed_or_changed<'a, T: PartialEq>(
    before: &'a [T],
    after: &[T],
    id: impl Fn(&T) -> &str,
) -> Option<&'a T> {
    before.iter().find(|b| !after.iter().any(|a| id(a) == id(b) && a == *b))
}

/// A kiosk records the officer's steps of a case (recording, similar cases, escalation,
/// closing, rating): it never removes or rewrites an event, and never adds a centre's or an
/// expert's (an assignment, an answer, a follow-up), which only hubs record.
fn case_kiosk_change(_kiosk: &str, before: Option<&AutoCommit>, after: &AutoCommit) -> Result<(), String> {
    let after = case::CaseDoc::from_doc(after).map_err(|e| e.to_string())?;
    let before = match before {
        Some(doc) => case::CaseDoc::from_doc(doc).map_err(|e| e.to_string())?.events,
        None => Vec::new(),
    };
    if let Some(e) = removed_or_changed(&before, &after.events, |e| &e.id) {
        return Err(format!("a kiosk may not remove or change event {} ({})", e.id, e.kind));
    }
    for e in after.events.iter().filter(|a| !before.iter().any(|b| b.id == a.id)) {
        // A kind this build does not know (a newer kiosk's) means nothing to this hub's rules.
        if !e.kind().is_recorded_at_kiosk() && !matches!(e.kind(), case::EventKind::Unknown(_)) {
            return Err(format!("a kiosk may not record a {} event ({})", e.kind, e.id));
        }
    }
    Ok(())
}

/// A village station drafts and submits a listing: it never removes or rewrites a step, and
/// adds only its author's submission and its own automatic checks (`system:<kiosk>`: checks
/// passed or failed, or held for a sensitive word; checked again at the hub before review);
/// reviews, clearing a hold, sign-offs and publication are taken at hubs.
fn item_kiosk_change(kiosk: &str, before: Option<&AutoCommit>, after: &AutoCommit) -> Result<(), String> {
    let after = item::ItemDoc::from_doc(after).map_err(|e| e.to_string())?;
    let before = match before {
        Some(doc) => item::ItemDoc::from_doc(doc).map_err(|e| e.to_string())?.steps,
        None => Vec::new(),
    };
    if let Some(s) = removed_or_changed(&before, &after.steps, |s| &s.id) {
        return Err(format!("a kiosk may not remove or change step {} ({})", s.id, s.kind));
    }
    for s in after.steps.iter().filter(|a| !before.iter().any(|b| b.id == a.id)) {
        use crate::publication::StepKind as K;
        let allowed = match K::parse(&s.kind) {
            Some(K::Submit) => s.actor == after.author,
            Some(K::ChecksPassed | K::ChecksFailed | K::Hold) => {
                s.actor.strip_prefix("system:") == Some(kiosk)
            }
            _ => false,
        };
        if !allowed {
            return Err(format!(
                "a kiosk may only add its author's submission and its checks, not a {} by {} ({})",
                s.kind, s.actor, s.id
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_found() {
        for t in DOC_TYPES {
            assert_eq!(DOC_TYPES.iter().filter(|u| u.name == t.name).count(), 1, "{}", t.name);
            assert_eq!(lookup(t.name).map(|u| u.name), Some(t.name));
            assert!(!t.created_by.is_empty(), "{}: somebody creates it", t.name);
        }
        assert!(lookup("bounty").is_none());
    }

    #[test]
    fn public_types_have_the_public_scope_and_flow() {
        for t in DOC_TYPES {
            assert_eq!(t.scope == ScopeRule::Public, t.flow == Flow::Public, "{}", t.name);
        }
    }

    #[test]
    fn garbage_does_not_validate() {
        for t in DOC_TYPES {
            assert!((t.validate)(&AutoCommit::new()).is_err(), "{}", t.name);
        }
    }
}
