//! The consultation case (咨询/需求): one automerge document per case.
//!
//! The document holds the facts recorded at the kiosk, the attachments (blob references,
//! keyed by hash so concurrent additions merge without duplicates) and an append-only list
//! of events. The status is never stored: [`CaseDoc::state`] derives it from the events,
//! sorted by `(at_ms, id)`, so every node that holds the same events shows the same status
//! whatever order the edits arrived in.

use std::collections::BTreeMap;

use automerge::AutoCommit;
use autosurgeon::{Hydrate, Reconcile, hydrate, reconcile};
use serde::Serialize;

use crate::industry::Industry;
use crate::region::{RegionCode, RegionLevel};

pub const DOC_TYPE: &str = "case";
pub const SCHEMA_VERSION: u64 = 1;

/// Bounds on user-entered text, in characters.
pub const DESCRIPTION_CHARS_MAX: usize = 4000;
pub const SHORT_TEXT_CHARS_MAX: usize = 64;
pub const COMMENT_CHARS_MAX: usize = 2000;
/// A case carries at most this many attachments (originals and derived copies together).
pub const ATTACHMENTS_MAX: usize = 64;
/// A case carries at most this many events; a real service loop needs a few dozen.
pub const EVENTS_MAX: usize = 1000;
/// Travel costs of one on-site visit: at most 100,000 yuan, in fen.
pub const TRAVEL_COST_FEN_MAX: i64 = 10_000_000;
/// The officer (and event actor) recorded when a case is recorded at a kiosk with nobody signed
/// in. Person ids are ASCII, so it is never a person's id.
pub const UNSIGNED_OFFICER: &str = "未登录";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CaseError {
    #[error("field {field} is required")]
    Required { field: &'static str },
    #[error("field {field} is longer than {max} characters")]
    TooLong { field: &'static str, max: usize },
    #[error("unknown industry {0:?}")]
    Industry(String),
    #[error("invalid region: {0}")]
    Region(#[from] crate::region::RegionError),
    #[error("field {field} holds a control character")]
    ControlChars { field: &'static str },
    #[error("field {field} holds a bidirectional override or isolate character")]
    BidiChars { field: &'static str },
    #[error("phone number must be 7 to 15 digits")]
    Phone,
    #[error("rating must be 1 to 5")]
    Rating,
    #[error("travel costs must be 0 to 100000 yuan")]
    TravelCost,
    #[error("the case already has {0} attachments")]
    TooManyAttachments(usize),
    #[error("the case already has {0} events")]
    TooManyEvents(usize),
    #[error("document is not a case or is damaged: {0}")]
    Document(String),
}

impl CaseError {
    /// The message an officer sees.
    pub fn message_zh(&self) -> String {
        match self {
            CaseError::Required { field } => format!("请填写{}", field_zh(field)),
            CaseError::TooLong { field, max } => format!("{}太长：最多 {max} 字", field_zh(field)),
            CaseError::Industry(_) => "请选择产业".to_string(),
            CaseError::Region(_) => "请选择有效的乡镇（村）".to_string(),
            CaseError::ControlChars { field } => {
                format!("{}含有不允许的控制字符（如空字符），请删除后重新填写", field_zh(field))
            }
            CaseError::BidiChars { field } => {
                format!("{}含有不允许的文字方向控制字符，请删除后重新填写", field_zh(field))
            }
            CaseError::Phone => "手机号码应为 7 到 15 位数字".to_string(),
            CaseError::Rating => "评分应为 1 到 5 星".to_string(),
            CaseError::TravelCost => "差旅费应在 0 到 100000 元之间".to_string(),
            CaseError::TooManyAttachments(n) => format!("附件过多：每个案例最多 {n} 个"),
            CaseError::TooManyEvents(n) => format!("记录过多：每个案例最多 {n} 条"),
            CaseError::Document(_) => "案例数据已损坏，无法读取".to_string(),
        }
    }
}

fn field_zh(field: &str) -> &'static str {
    match field {
        "description" => "问题描述",
        "subject" => "作物或畜禽",
        "farmer_name" => "农户姓名",
        "village_name" => "村名",
        "officer" => "信息员",
        "comment" => "评价",
        "text" => "内容",
        "target" => "对象",
        "category" => "服务类别",
        _ => "必填项",
    }
}

/// A blob referenced by a case. `group` is the hash of the original that a derived copy
/// (display, thumbnail, poster, proxy) was made from; for an original it is its own hash.
/// Attachments are keyed by [`Attachment::key`] (group and role), so the same photo added on
/// two nodes is one attachment, while two roles that happen to share bytes (a small photo's
/// display copy and thumbnail) stay two.
#[derive(Debug, Clone, PartialEq, Eq, Reconcile, Hydrate, Serialize)]
pub struct Attachment {
    pub hash: String,
    pub kind: String,
    pub role: String,
    pub group: String,
    pub mime: String,
    pub bytes: u64,
    pub width: u64,
    pub height: u64,
    pub duration_ms: u64,
    pub name: String,
    pub added_at_ms: i64,
}

impl Attachment {
    pub fn key(&self) -> String {
        format!("{}/{}", self.group, self.role)
    }
}

/// One entry in the case's event log, stored flat so that a node running older code keeps
/// (and syncs) kinds it does not understand; see [`EventKind`] for the typed view.
#[derive(Debug, Clone, PartialEq, Eq, Reconcile, Hydrate, Serialize)]
pub struct Event {
    #[key]
    pub id: String,
    pub at_ms: i64,
    pub actor: String,
    pub kind: String,
    /// Free text (an answer, a rating comment, a follow-up note).
    pub text: String,
    /// A referenced entity (the expert assigned, the knowledge case that solved it).
    pub target: String,
    /// A small number (a rating 1-5, or 1/0 for a follow-up's validity).
    pub value: i64,
    /// A category (the follow-up's service category).
    pub category: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    Created,
    SimilarOffered,
    SolvedBySimilar,
    Escalated,
    Assigned,
    /// The centre sends the case up to the city or province centre (`target`: its region).
    EscalatedUp,
    Answered,
    OnSiteRequested,
    /// The centre dispatches the on-site visit (`value`: travel costs in fen, `text`: note).
    OnSiteDispatched,
    OnSiteVisited,
    Closed,
    Rated,
    FollowedUp,
    /// A service clock ran out (`category`: the clock, `target`: who was responsible);
    /// written by the hub that measures the clock, counted by statistics.
    Breach,
    /// The county centre reviewed the solved case and signs off its publication as knowledge
    /// (知识库) for find-similar (`text`: the reviewer's note).
    KnowledgeApproved,
    /// The centre decided not to publish it (wrong, local, or personal).
    KnowledgeWithheld,
    /// The county hub published it as knowledge (recorded by the system, with the document).
    KnowledgePublished,
    /// A centre (the county or one above) took the published knowledge down everywhere.
    KnowledgeWithdrawn,
    Unknown(String),
}

impl EventKind {
    pub fn code(&self) -> &str {
        match self {
            EventKind::Created => "created",
            EventKind::SimilarOffered => "similar_offered",
            EventKind::SolvedBySimilar => "solved_by_similar",
            EventKind::Escalated => "escalated",
            EventKind::Assigned => "assigned",
            EventKind::EscalatedUp => "escalated_up",
            EventKind::Answered => "answered",
            EventKind::OnSiteRequested => "onsite_requested",
            EventKind::OnSiteDispatched => "onsite_dispatched",
            EventKind::Breach => "breach",
            EventKind::OnSiteVisited => "onsite_visited",
            EventKind::Closed => "closed",
            EventKind::Rated => "rated",
            EventKind::FollowedUp => "followed_up",
            EventKind::KnowledgeApproved => "knowledge_approved",
            EventKind::KnowledgeWithheld => "knowledge_withheld",
            EventKind::KnowledgePublished => "knowledge_published",
            EventKind::KnowledgeWithdrawn => "knowledge_withdrawn",
            EventKind::Unknown(s) => s,
        }
    }

    /// Recorded by the officer at the village kiosk (every other kind is recorded at a hub:
    /// by a centre, an expert, or the hub's system). A hub refuses other kinds from a kiosk.
    pub fn is_recorded_at_kiosk(&self) -> bool {
        matches!(
            self,
            EventKind::Created
                | EventKind::SimilarOffered
                | EventKind::SolvedBySimilar
                | EventKind::Escalated
                | EventKind::Closed
                | EventKind::Rated
                | EventKind::OnSiteVisited
        )
    }

    pub fn parse(code: &str) -> EventKind {
        match code {
            "created" => EventKind::Created,
            "similar_offered" => EventKind::SimilarOffered,
            "solved_by_similar" => EventKind::SolvedBySimilar,
            "escalated" => EventKind::Escalated,
            "assigned" => EventKind::Assigned,
            "escalated_up" => EventKind::EscalatedUp,
            "answered" => EventKind::Answered,
            "onsite_requested" => EventKind::OnSiteRequested,
            "onsite_dispatched" => EventKind::OnSiteDispatched,
            "breach" => EventKind::Breach,
            "knowledge_approved" => EventKind::KnowledgeApproved,
            "knowledge_withheld" => EventKind::KnowledgeWithheld,
            "knowledge_published" => EventKind::KnowledgePublished,
            "knowledge_withdrawn" => EventKind::KnowledgeWithdrawn,
            "onsite_visited" => EventKind::OnSiteVisited,
            "closed" => EventKind::Closed,
            "rated" => EventKind::Rated,
            "followed_up" => EventKind::FollowedUp,
            other => EventKind::Unknown(other.to_string()),
        }
    }

    pub fn name_zh(&self) -> &'static str {
        match self {
            EventKind::Created => "登记",
            EventKind::SimilarOffered => "推送类似案例",
            EventKind::SolvedBySimilar => "类似案例已解决",
            EventKind::Escalated => "提交专家",
            EventKind::Assigned => "分派专家",
            EventKind::EscalatedUp => "上报上级中心",
            EventKind::Answered => "专家答复",
            EventKind::OnSiteRequested => "申请上门服务",
            EventKind::OnSiteDispatched => "派出上门服务",
            EventKind::Breach => "超时",
            EventKind::KnowledgeApproved => "审核发布为知识",
            EventKind::KnowledgeWithheld => "审核不发布",
            EventKind::KnowledgePublished => "发布到知识库",
            EventKind::KnowledgeWithdrawn => "撤回知识",
            EventKind::OnSiteVisited => "上门服务",
            EventKind::Closed => "办结",
            EventKind::Rated => "评价专家",
            EventKind::FollowedUp => "回访",
            EventKind::Unknown(_) => "其他",
        }
    }
}

/// Where a case stands, derived from its events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Recorded at the kiosk; not yet solved or sent on.
    Open,
    /// A similar solved case answered it; no expert needed.
    SolvedBySimilar,
    /// Sent to the county centre, waiting for triage (分诊).
    AwaitingTriage,
    /// An expert is assigned and has not answered yet.
    AwaitingAnswer,
    /// The expert asked for (or the centre dispatched) an on-site visit.
    OnSite,
    /// The expert answered.
    Answered,
    /// The officer ended the service.
    Closed,
    /// The county phoned back and recorded validity and category.
    FollowedUp,
}

impl Status {
    pub const ALL: [Status; 8] = [
        Status::Open,
        Status::SolvedBySimilar,
        Status::AwaitingTriage,
        Status::AwaitingAnswer,
        Status::OnSite,
        Status::Answered,
        Status::Closed,
        Status::FollowedUp,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::SolvedBySimilar => "solved_by_similar",
            Status::AwaitingTriage => "awaiting_triage",
            Status::AwaitingAnswer => "awaiting_answer",
            Status::OnSite => "on_site",
            Status::Answered => "answered",
            Status::Closed => "closed",
            Status::FollowedUp => "followed_up",
        }
    }

    pub fn from_code(code: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.code() == code)
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Status::Open => "待处理",
            Status::SolvedBySimilar => "已解决(类似案例)",
            Status::AwaitingTriage => "待分诊",
            Status::AwaitingAnswer => "待专家答复",
            Status::OnSite => "上门服务中",
            Status::Answered => "专家已答复",
            Status::Closed => "已办结",
            Status::FollowedUp => "已回访",
        }
    }
}

/// What is derived from the event log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CaseState {
    pub status: Status,
    pub expert: Option<String>,
    pub solved_by: Option<String>,
    pub rating: Option<i64>,
    pub followup_valid: Option<bool>,
    pub followup_category: Option<String>,
    /// The region of the centre the case waits at: its county, or the city or province it
    /// was escalated up to.
    pub centre: String,
    /// Every expert assigned so far, in order (a reassigned expert keeps read access).
    pub experts_assigned: Vec<String>,
    /// Travel costs of dispatched on-site visits, in fen (分).
    pub travel_cost_fen: i64,
    /// The clocks that ran out (`triage`, `response`, `followup`), one entry per breach.
    pub breaches: Vec<String>,
    /// The centre's review for publication as knowledge: approved (true) or withheld (false).
    pub knowledge: Option<bool>,
    /// Published as knowledge (a `knowledge_published` step), and withdrawn since.
    pub knowledge_published: bool,
    pub knowledge_withdrawn: bool,
    /// Ids of the events that start and stop the service clocks (see [`crate::clock`]).
    pub marks: ClockMarks,
    /// Events that arrived but did not apply in the derived order (e.g. the losing side of
    /// two concurrent, conflicting actions). Shown in the timeline, counted nowhere.
    pub ignored_events: Vec<String>,
    pub last_event_at_ms: i64,
}

/// The events at which the service clocks start and stop; the hub measures the times at which
/// it saw them on its own clock.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ClockMarks {
    /// The escalation (to the county, or up to the current centre) that started triage.
    pub triage_start: Option<String>,
    /// The assignment that ended it.
    pub triage_stop: Option<String>,
    /// The latest assignment (the response clock restarts on reassignment).
    pub response_start: Option<String>,
    /// The expert's answer or request for an on-site visit after it.
    pub response_stop: Option<String>,
    /// The closure that starts the follow-up clock, and the follow-up that stops it.
    pub followup_start: Option<String>,
    pub followup_stop: Option<String>,
}

/// The case document as stored in automerge.
#[derive(Debug, Clone, PartialEq, Eq, Reconcile, Hydrate)]
pub struct CaseDoc {
    pub doc_type: String,
    pub schema: u64,
    pub id: String,
    pub region_code: String,
    pub village_name: String,
    pub industry: String,
    pub subject: String,
    pub description: String,
    pub farmer_name: String,
    /// Sealed with the node's field key (see [`crate::sealed`]); empty when not given.
    pub farmer_phone_sealed: String,
    /// The phone as lists may show it (`138****5678`), so projections need no key.
    pub farmer_phone_masked: String,
    /// The officer's name: the signed-in officer's (from the person directory), or
    /// [`UNSIGNED_OFFICER`] when the case was recorded with nobody signed in. (Cases recorded
    /// before sign-in existed hold whatever was typed.)
    pub officer: String,
    /// The signed-in officer's person id; empty when nobody was signed in.
    #[autosurgeon(missing = "Default::default")]
    pub officer_id: String,
    pub origin_node: String,
    pub created_at_ms: i64,
    pub attachments: BTreeMap<String, Attachment>,
    pub events: Vec<Event>,
}

/// What the officer enters to open a case, validated by [`NewCase::validate`].
/// Its `Debug` output masks the phone, so logging one leaks no number.
#[derive(Clone, Default)]
pub struct NewCase {
    pub region_code: String,
    pub village_name: String,
    pub industry: String,
    pub subject: String,
    pub description: String,
    pub farmer_name: String,
    pub farmer_phone: String,
    pub officer: String,
}

impl std::fmt::Debug for NewCase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewCase")
            .field("region_code", &self.region_code)
            .field("industry", &self.industry)
            .field("subject", &self.subject)
            .field("farmer_phone", &crate::sealed::mask_phone(&self.farmer_phone))
            .finish_non_exhaustive()
    }
}

/// Fields that may hold several lines (a description, an answer, a comment).
fn multi_line(field: &str) -> bool {
    matches!(field, "description" | "text" | "comment")
}

fn check_len(field: &'static str, value: &str, max: usize, required: bool) -> Result<(), CaseError> {
    if required && value.trim().is_empty() {
        return Err(CaseError::Required { field });
    }
    if value.chars().count() > max {
        return Err(CaseError::TooLong { field, max });
    }
    match crate::text::check(value, multi_line(field)) {
        Ok(()) => Ok(()),
        Err(crate::text::BadText::Control) => Err(CaseError::ControlChars { field }),
        Err(crate::text::BadText::Bidi) => Err(CaseError::BidiChars { field }),
    }
}

impl NewCase {
    /// Checks every field; returns the normalised phone digits (empty if none was given).
    pub fn validate(&self) -> Result<String, CaseError> {
        RegionCode::parse(&self.region_code)?;
        Industry::from_code(&self.industry).ok_or_else(|| CaseError::Industry(self.industry.clone()))?;
        check_len("subject", &self.subject, SHORT_TEXT_CHARS_MAX, true)?;
        check_len("description", &self.description, DESCRIPTION_CHARS_MAX, true)?;
        check_len("farmer_name", &self.farmer_name, SHORT_TEXT_CHARS_MAX, false)?;
        check_len("village_name", &self.village_name, SHORT_TEXT_CHARS_MAX, false)?;
        check_len("officer", &self.officer, SHORT_TEXT_CHARS_MAX, true)?;
        let phone: String = self.farmer_phone.chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
        if !phone.is_empty()
            && (!(7..=15).contains(&phone.len()) || !phone.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(CaseError::Phone);
        }
        Ok(phone)
    }
}

impl Event {
    pub fn new(id: impl Into<String>, at_ms: i64, actor: impl Into<String>, kind: EventKind) -> Event {
        Event {
            id: id.into(),
            at_ms,
            actor: actor.into(),
            kind: kind.code().to_string(),
            text: String::new(),
            target: String::new(),
            value: 0,
            category: String::new(),
        }
    }

    pub fn kind(&self) -> EventKind {
        EventKind::parse(&self.kind)
    }

    /// Validates the free-form parts of an event before it is appended.
    pub fn validate(&self) -> Result<(), CaseError> {
        check_len("text", &self.text, DESCRIPTION_CHARS_MAX, false)?;
        check_len("category", &self.category, SHORT_TEXT_CHARS_MAX, false)?;
        check_len("target", &self.target, usize::MAX, false)?;
        check_len("officer", &self.actor, SHORT_TEXT_CHARS_MAX, true)?;
        match self.kind() {
            EventKind::Rated if !(1..=5).contains(&self.value) => Err(CaseError::Rating),
            EventKind::Assigned | EventKind::EscalatedUp if self.target.trim().is_empty() => {
                Err(CaseError::Required { field: "target" })
            }
            EventKind::OnSiteDispatched if !(0..=TRAVEL_COST_FEN_MAX).contains(&self.value) => {
                Err(CaseError::TravelCost)
            }
            EventKind::FollowedUp if !(0..=1).contains(&self.value) || self.category.trim().is_empty() => {
                Err(CaseError::Required { field: "category" })
            }
            EventKind::Answered if self.text.trim().is_empty() => Err(CaseError::Required { field: "text" }),
            _ => Ok(()),
        }
    }
}

impl CaseDoc {
    /// Builds the document for a new case. The farmer's phone is not in it: it goes into the
    /// case's private document ([`crate::private::CasePrivate`]), which never travels past the
    /// county hub.
    pub fn create(
        new: &NewCase,
        id: &str,
        origin_node: &str,
        created: Event,
    ) -> Result<(CaseDoc, AutoCommit), CaseError> {
        CaseDoc::create_by(new, id, origin_node, created, "")
    }

    /// [`CaseDoc::create`], recording the signed-in officer's person id (`""`: nobody).
    pub fn create_by(
        new: &NewCase,
        id: &str,
        origin_node: &str,
        created: Event,
        officer_id: &str,
    ) -> Result<(CaseDoc, AutoCommit), CaseError> {
        new.validate()?;
        let case = CaseDoc {
            doc_type: DOC_TYPE.to_string(),
            schema: SCHEMA_VERSION,
            id: id.to_string(),
            region_code: new.region_code.trim().to_string(),
            village_name: new.village_name.trim().to_string(),
            industry: new.industry.clone(),
            subject: new.subject.trim().to_string(),
            description: new.description.trim().to_string(),
            farmer_name: new.farmer_name.trim().to_string(),
            // Kept empty (schema 1 had these fields): see `CasePrivate`.
            farmer_phone_sealed: String::new(),
            farmer_phone_masked: String::new(),
            officer: new.officer.trim().to_string(),
            officer_id: officer_id.to_string(),
            origin_node: origin_node.to_string(),
            created_at_ms: created.at_ms,
            attachments: BTreeMap::new(),
            events: vec![created],
        };
        let mut doc = AutoCommit::new();
        reconcile(&mut doc, &case).map_err(|e| CaseError::Document(e.to_string()))?;
        Ok((case, doc))
    }

    /// Reads a case out of a document (loaded from the store or received by sync).
    pub fn from_doc(doc: &AutoCommit) -> Result<CaseDoc, CaseError> {
        let case: CaseDoc = hydrate(doc).map_err(|e| CaseError::Document(e.to_string()))?;
        if case.doc_type != DOC_TYPE {
            return Err(CaseError::Document(format!("doc_type is {:?}", case.doc_type)));
        }
        Ok(case)
    }

    /// Appends an event to the document (the only way events change).
    pub fn append_event(doc: &mut AutoCommit, event: Event) -> Result<CaseDoc, CaseError> {
        event.validate()?;
        let mut case = CaseDoc::from_doc(doc)?;
        if case.events.len() >= EVENTS_MAX {
            return Err(CaseError::TooManyEvents(EVENTS_MAX));
        }
        if case.events.iter().any(|e| e.id == event.id) {
            return Ok(case); // idempotent: the same event recorded twice is one event
        }
        // An event never sorts before one its writer had already seen, whatever that node's
        // clock says (kiosk clocks drift): the derived order respects causality, and
        // concurrent events keep their wall-clock order.
        let mut event = event;
        if let Some(last) = case.events.iter().map(|e| e.at_ms).max() {
            event.at_ms = event.at_ms.max(last.saturating_add(1));
        }
        case.events.push(event);
        reconcile(doc, &case).map_err(|e| CaseError::Document(e.to_string()))?;
        Ok(case)
    }

    /// Adds attachments (idempotent per [`Attachment::key`]).
    pub fn add_attachments(doc: &mut AutoCommit, attachments: Vec<Attachment>) -> Result<CaseDoc, CaseError> {
        let mut case = CaseDoc::from_doc(doc)?;
        for a in attachments {
            let key = a.key();
            if !case.attachments.contains_key(&key) && case.attachments.len() >= ATTACHMENTS_MAX {
                return Err(CaseError::TooManyAttachments(ATTACHMENTS_MAX));
            }
            case.attachments.insert(key, a);
        }
        reconcile(doc, &case).map_err(|e| CaseError::Document(e.to_string()))?;
        Ok(case)
    }

    /// An expert as the hub named her in her latest assignment ("李果 · 高级农艺师"); her id
    /// when no assignment carries a name (nodes below the county hold no expert directory).
    pub fn expert_label(&self, expert_id: &str) -> String {
        self.ordered_events()
            .into_iter()
            .rev()
            .find(|e| e.kind() == EventKind::Assigned && e.target == expert_id && !e.text.is_empty())
            .map(|e| e.text.clone())
            .unwrap_or_else(|| expert_id.to_string())
    }

    /// True when the case was recorded by a signed-in officer (her person id is recorded).
    pub fn officer_signed_in(&self) -> bool {
        !self.officer_id.is_empty()
    }

    /// The attachment groups (original hashes) of photos and videos that came with experts'
    /// answers, as opposed to the farmer's.
    pub fn answer_groups(&self) -> std::collections::HashSet<&str> {
        self.events
            .iter()
            .filter(|e| e.kind() == EventKind::Answered)
            .flat_map(|e| e.target.split(','))
            .filter(|g| !g.is_empty())
            .collect()
    }

    /// The farmer's media (not an answer's) of `kind` (photo, video) in `role`, oldest first.
    pub fn farmer_media(&self, kind: &str, role: &str) -> Vec<&Attachment> {
        let answers = self.answer_groups();
        let mut media: Vec<&Attachment> = self
            .attachments
            .values()
            .filter(|a| a.kind == kind && a.role == role && !answers.contains(a.group.as_str()))
            .collect();
        media.sort_by(|a, b| (a.added_at_ms, &a.hash).cmp(&(b.added_at_ms, &b.hash)));
        media
    }

    /// The videos an answer carries (their `original` attachments).
    pub fn answer_videos<'a>(&'a self, answer: &'a Event) -> impl Iterator<Item = &'a Attachment> + 'a {
        answer
            .target
            .split(',')
            .filter_map(|g| self.attachments.get(&format!("{g}/original")))
            .filter(|a| a.kind == "video")
    }

    pub fn industry(&self) -> Option<Industry> {
        Industry::from_code(&self.industry)
    }

    /// Events in the order the status is derived in: by time, ties broken by id.
    pub fn ordered_events(&self) -> Vec<&Event> {
        let mut events: Vec<&Event> = self.events.iter().collect();
        events.sort_by(|a, b| (a.at_ms, &a.id).cmp(&(b.at_ms, &b.id)));
        events.dedup_by(|a, b| a.id == b.id);
        events
    }

    /// Derives the status and its details from the events. Each event either applies (a
    /// valid transition from the state reached so far) or is ignored, so two nodes holding
    /// the same set of events derive the same state.
    pub fn state(&self) -> CaseState {
        let mut st = CaseState {
            status: Status::Open,
            expert: None,
            solved_by: None,
            rating: None,
            followup_valid: None,
            followup_category: None,
            centre: crate::region::ancestor_at(&self.region_code, RegionLevel::County)
                .unwrap_or(&self.region_code)
                .to_string(),
            experts_assigned: Vec::new(),
            travel_cost_fen: 0,
            breaches: Vec::new(),
            knowledge: None,
            knowledge_published: false,
            knowledge_withdrawn: false,
            marks: ClockMarks::default(),
            ignored_events: Vec::new(),
            last_event_at_ms: self.created_at_ms,
        };
        for ev in self.ordered_events() {
            st.last_event_at_ms = st.last_event_at_ms.max(ev.at_ms);
            let applied = apply(&mut st, ev);
            if !applied {
                st.ignored_events.push(ev.id.clone());
            }
        }
        st
    }
}

fn apply(st: &mut CaseState, ev: &Event) -> bool {
    use Status::*;
    match (ev.kind(), st.status) {
        (EventKind::Created, _) | (EventKind::SimilarOffered, Open) => true,
        (EventKind::SolvedBySimilar, Open) => {
            st.status = SolvedBySimilar;
            st.solved_by = Some(ev.target.clone());
            true
        }
        (EventKind::Escalated, Open) => {
            st.status = AwaitingTriage;
            st.marks.triage_start = Some(ev.id.clone());
            true
        }
        (EventKind::Assigned, AwaitingTriage | AwaitingAnswer) if !ev.target.is_empty() => {
            if st.status == AwaitingTriage {
                st.marks.triage_stop = Some(ev.id.clone());
            }
            st.status = AwaitingAnswer;
            st.expert = Some(ev.target.clone());
            if !st.experts_assigned.contains(&ev.target) {
                st.experts_assigned.push(ev.target.clone());
            }
            st.marks.response_start = Some(ev.id.clone());
            st.marks.response_stop = None;
            true
        }
        // Up to a centre strictly above the current one that contains the case.
        (EventKind::EscalatedUp, AwaitingTriage | AwaitingAnswer)
            if crate::region::strictly_within(&st.centre, &ev.target)
                && matches!(RegionLevel::of(&ev.target), Some(RegionLevel::Province | RegionLevel::City)) =>
        {
            st.status = AwaitingTriage;
            st.centre = ev.target.clone();
            st.expert = None;
            st.marks.triage_start = Some(ev.id.clone());
            st.marks.triage_stop = None;
            st.marks.response_start = None;
            st.marks.response_stop = None;
            true
        }
        (EventKind::OnSiteRequested, AwaitingAnswer) => {
            st.status = OnSite;
            st.marks.response_stop.get_or_insert_with(|| ev.id.clone());
            true
        }
        (EventKind::OnSiteDispatched, OnSite | Answered) if ev.value >= 0 => {
            st.travel_cost_fen = st.travel_cost_fen.saturating_add(ev.value);
            true
        }
        (EventKind::OnSiteVisited, OnSite) => true,
        (EventKind::Answered, AwaitingAnswer | OnSite | Answered) => {
            st.status = Answered;
            st.marks.response_stop.get_or_insert_with(|| ev.id.clone());
            true
        }
        (EventKind::Closed, Answered | SolvedBySimilar) => {
            st.status = Closed;
            st.marks.followup_start = Some(ev.id.clone());
            true
        }
        // Reviewed once, after the service ended, and only if an expert answered.
        (EventKind::KnowledgeApproved | EventKind::KnowledgeWithheld, Closed | FollowedUp)
            if st.knowledge.is_none() && st.expert.is_some() =>
        {
            st.knowledge = Some(ev.kind() == EventKind::KnowledgeApproved);
            true
        }
        (EventKind::KnowledgePublished, _)
            if st.knowledge == Some(true) && !st.knowledge_published && !st.knowledge_withdrawn =>
        {
            st.knowledge_published = true;
            true
        }
        // Signed off (published or not yet): taken down once.
        (EventKind::KnowledgeWithdrawn, _) if st.knowledge == Some(true) && !st.knowledge_withdrawn => {
            st.knowledge_withdrawn = true;
            true
        }
        (EventKind::Breach, _) if !ev.category.is_empty() => {
            st.breaches.push(ev.category.clone());
            true
        }
        (EventKind::Rated, Closed | FollowedUp) if st.rating.is_none() && st.expert.is_some() => {
            st.rating = Some(ev.value);
            true
        }
        (EventKind::FollowedUp, Closed) => {
            st.status = FollowedUp;
            st.marks.followup_stop = Some(ev.id.clone());
            st.followup_valid = Some(ev.value != 0);
            st.followup_category = Some(ev.category.clone());
            true
        }
        _ => false,
    }
}
