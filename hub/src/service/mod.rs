//! The expert service at a centre's hub (运管中心): actions on cases (assign, escalate up,
//! dispatch, follow up; an expert's answer), each authorised and appended as an event on the
//! hub's clock; the service clocks this hub measures and the breaches it records; the expert
//! directory the ranking scores.
//!
//! The desk's pages call this layer and only render what it returns: what a page may show is
//! decided here (authorisation, masking, opening a farmer's number), and so are the audit
//! records ([`cases`], [`centre`], [`people`], [`admin`]).
//!
//! Architecture invariant: an action is authorised against the case as stored, inside the
//! same database call that appends it, so a refused action writes nothing.
//! Architecture invariant: what concerns the centre rather than one case is authorised by
//! `core::authorize_centre` through [`require`], never by a role test in a handler.

pub mod admin;
pub mod breaker;
pub mod cases;
pub mod centre;
pub mod dashboard;
mod error;
pub mod evaluation;
pub mod lectures;
pub mod market;
pub mod people;
pub mod publication;
pub mod showcase;
pub mod stats;
pub mod subsidies;
pub mod targets;

pub use admin::require;
pub use cases::{CaseView, case_view};
pub use error::ServiceError;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use automerge::AutoCommit;
use yizhan_core::access::{Action, EventKindCode};
use yizhan_core::clock::{self, ClockKind};
use yizhan_core::ranking::{self, ExpertRecord, Suggestion};
use yizhan_core::{
    Actor, CaseDoc, CaseState, Event, EventKind, Person, RegionLevel, Role, Status, authorize,
};
use yizhan_store::{Db, Store, StoreError};

/// Suggestions shown on a case's triage page.
pub const SUGGESTIONS_MAX: usize = 10;
/// Cases whose clocks are refreshed per feed round.
const FEED_BATCH: u32 = 512;
/// Where the clock keeper's feed position is kept (node settings).
const CLOCKS_FEED_KEY: &str = "clocks.feed_seq";
/// How often running clocks are checked for deadlines that passed.
pub const BREACH_CHECK_EVERY: Duration = Duration::from_secs(30);
/// The expert directory is reloaded at most this often (and only when the store changed).
const DIRECTORY_TTL: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum ActError {
    #[error("{0}")]
    Denied(#[from] yizhan_core::Denied),
    #[error("{0}")]
    Invalid(String),
    #[error("case not found")]
    NotFound,
    #[error("store: {0}")]
    Store(#[from] StoreError),
}

impl ActError {
    pub fn message_zh(&self) -> String {
        match self {
            ActError::Denied(d) => d.message_zh().to_string(),
            ActError::Invalid(m) => m.clone(),
            ActError::NotFound => "案例不存在".into(),
            ActError::Store(_) => "保存失败，请重试".into(),
        }
    }
}

/// What a person submits for an action.
#[derive(Debug, Clone, Default)]
pub struct ActInput {
    pub kind: String,
    pub text: String,
    pub target: String,
    pub value: i64,
    pub category: String,
}

/// Which clocks this hub measures for a case: triage and response while the case waits at
/// this centre, follow-up when this hub is the case's county.
fn measures(scope: &str, case: &CaseDoc, state: &CaseState, kind: ClockKind) -> bool {
    match kind {
        ClockKind::Triage | ClockKind::Response => state.centre == scope,
        ClockKind::FollowUp => {
            RegionLevel::of(scope) == Some(RegionLevel::County) && case.region_code.starts_with(scope)
        }
    }
}

/// The system actor that writes breach records.
pub fn system_actor(node_id: &str) -> String {
    format!("system:{node_id}")
}

/// Recomputes the clocks this hub measures for one case and records breaches that are due.
/// Returns how many breach records were appended.
pub fn refresh_case(db: &mut Db, scope: &str, node_id: &str, case_id: &str) -> Result<usize, StoreError> {
    let policy = db.service_policy()?;
    refresh_case_with(db, &policy, scope, node_id, case_id)
}

fn refresh_case_with(
    db: &mut Db,
    policy: &yizhan_core::clock::ServicePolicy,
    scope: &str,
    node_id: &str,
    case_id: &str,
) -> Result<usize, StoreError> {
    let Some(doc) = db.load_doc(case_id)? else { return Ok(0) };
    let Ok(case) = CaseDoc::from_doc(&doc) else { return Ok(0) };
    let state = case.state();
    let seen = db.events_seen(case_id)?;
    let now_ms = db.config().clock.now_ms();
    let views: Vec<_> = clock::clocks(&state, &|id: &str| seen.get(id).copied(), policy, now_ms)
        .into_iter()
        .filter(|v| measures(scope, &case, &state, v.kind))
        .collect();
    db.set_case_clocks(case_id, &views)?;
    let due = clock::due_breaches(&case.events, &state, &views, &system_actor(node_id), now_ms);
    if due.is_empty() {
        // Runs already recorded (by this or another node) need no new record.
        for v in views.iter().filter(|v| v.state.is_breach()) {
            db.mark_breached(case_id, v.kind)?;
        }
        return Ok(0);
    }
    let n = due.len();
    let kinds: Vec<ClockKind> = due.iter().filter_map(|e| ClockKind::from_code(&e.category)).collect();
    db.update_doc(case_id, |doc: &mut AutoCommit| {
        for ev in due {
            CaseDoc::append_event(doc, ev)?;
        }
        Ok::<_, yizhan_core::CaseError>(())
    })?
    .map_err(|e| StoreError::Corrupt { id: case_id.into(), detail: e.to_string() })?;
    for k in kinds {
        db.mark_breached(case_id, k)?;
    }
    tracing::info!(case = %case_id, breaches = n, "recorded service-clock breaches");
    Ok(n)
}

/// One round over the feed after `after`: refreshes the clocks of changed cases.
/// One transaction per round: a round over 512 cases commits (and syncs to disk) once.
/// A holiday calendar arriving (the province published a year) moves every deadline: all
/// clocks are recomputed.
pub fn clocks_round(db: &mut Db, scope: &str, node_id: &str, after: i64) -> Result<i64, StoreError> {
    db.batch(|db| {
        let policy = db.service_policy()?;
        let entries = db.changes_since(after, FEED_BATCH)?;
        let mut seq = after;
        let mut calendar_changed = false;
        for e in entries {
            seq = seq.max(e.seq);
            if e.doc_type == yizhan_core::case::DOC_TYPE {
                refresh_case_with(db, &policy, scope, node_id, &e.doc_id)?;
            } else if e.doc_type == yizhan_core::holidays::DOC_TYPE {
                calendar_changed = true;
            }
        }
        if calendar_changed {
            refresh_every_case(db, scope, node_id)?;
        }
        Ok(seq)
    })
}

/// Recomputes the clocks of every case this node holds, under the policy in force now.
fn refresh_every_case(db: &mut Db, scope: &str, node_id: &str) -> Result<(), StoreError> {
    let policy = db.service_policy()?;
    let mut after = 0;
    loop {
        let entries = db.changes_since(after, FEED_BATCH)?;
        let Some(last) = entries.last().map(|e| e.seq) else { return Ok(()) };
        for e in entries.iter().filter(|e| e.doc_type == yizhan_core::case::DOC_TYPE) {
            refresh_case_with(db, &policy, scope, node_id, &e.doc_id)?;
        }
        after = last;
    }
}

/// Checks running clocks whose deadline passed since they were computed (one transaction).
pub fn breach_round(db: &mut Db, scope: &str, node_id: &str) -> Result<usize, StoreError> {
    db.batch(|db| {
        let policy = db.service_policy()?;
        let now_ms = db.config().clock.now_ms();
        let mut n = 0;
        for case_id in db.unrecorded_breaches(now_ms, FEED_BATCH)? {
            n += refresh_case_with(db, &policy, scope, node_id, &case_id)?;
        }
        Ok(n)
    })
}

/// Recomputes every clock (after the policy changed).
pub fn refresh_all(db: &mut Db, scope: &str, node_id: &str) -> Result<(), StoreError> {
    db.batch(|db| refresh_every_case(db, scope, node_id))
}

/// Runs for the life of the hub: follows the feed, and checks deadlines every
/// [`BREACH_CHECK_EVERY`].
pub async fn run_clocks(store: Store, scope: String, node_id: String) {
    let ticker = {
        let (store, scope, node_id) = (store.clone(), scope.clone(), node_id.clone());
        async move {
            let mut tick = tokio::time::interval(BREACH_CHECK_EVERY);
            loop {
                tick.tick().await;
                let (scope, node_id) = (scope.clone(), node_id.clone());
                if let Err(e) = store.call(move |db| breach_round(db, &scope, &node_id)).await {
                    tracing::warn!(error = %e, "checking service clocks");
                }
            }
        }
    };
    tokio::spawn(ticker);
    let db_store = store.clone();
    store
        .follow_persisted(CLOCKS_FEED_KEY, "measuring service clocks", move |after| {
            let (db_store, scope, node_id) = (db_store.clone(), scope.clone(), node_id.clone());
            async move { db_store.call(move |db| clocks_round(db, &scope, &node_id, after)).await }
        })
        .await;
}

/// Appends the event of an action if `actor` may do it now; otherwise changes nothing.
pub fn act(
    db: &mut Db,
    actor: &Actor,
    case_id: &str,
    input: ActInput,
    event_id: String,
) -> Result<CaseState, ActError> {
    act_with(db, actor, case_id, input, event_id, Carried::default())
}

/// What an event carries besides its fields, stored with it in one transaction: attachments
/// (an expert's photos and video), their blobs, and the jobs to queue (a video's poster and
/// proxy).
#[derive(Default)]
pub struct Carried {
    pub attachments: Vec<yizhan_core::Attachment>,
    pub blobs: Vec<yizhan_store::NewBlob>,
    /// (job kind, blob hash)
    pub jobs: Vec<(&'static str, String)>,
}

/// Like [`act`], also storing what the event carries in the same transaction: either the
/// answer and all its photos and video are stored, or nothing.
pub fn act_with(
    db: &mut Db,
    actor: &Actor,
    case_id: &str,
    input: ActInput,
    event_id: String,
    carried: Carried,
) -> Result<CaseState, ActError> {
    let Carried { attachments, blobs, jobs } = carried;
    let jobs: Vec<(&str, &str)> = jobs.iter().map(|(k, h)| (*k, h.as_str())).collect();
    let kind = EventKind::parse(&input.kind);
    let code = EventKindCode::of(&kind).ok_or(yizhan_core::Denied::SystemOnly)?;
    // The expert's name and title travel in the assignment, so a kiosk (which holds no
    // expert directory) shows who answers.
    let mut expert_label = None;
    if kind == EventKind::Assigned {
        let expert = db.person(input.target.trim())?;
        match expert {
            Some(p) if p.active && p.role() == Some(Role::Expert) => {
                expert_label =
                    Some(if p.title.is_empty() { p.name } else { format!("{} · {}", p.name, p.title) });
            }
            _ => return Err(ActError::Invalid(format!("专家“{}”不存在或已停用", input.target.trim()))),
        }
    }
    let now_ms = db.config().clock.now_ms();
    let mut ev = Event::new(event_id, now_ms, actor.person_id.clone(), kind);
    ev.text = input.text.trim().to_string();
    if let Some(label) = expert_label
        && ev.text.is_empty()
    {
        ev.text = label;
    }
    ev.target = input.target.trim().to_string();
    ev.value = input.value;
    ev.category = input.category.trim().to_string();
    let actor = actor.clone();
    match db.update_doc_with_jobs(case_id, blobs, &jobs, move |doc: &mut AutoCommit| {
        let case = CaseDoc::from_doc(doc).map_err(|e| ActError::Invalid(e.message_zh()))?;
        let state = case.state();
        authorize(&actor, Action::Event(code), &case, &state)?;
        let ev_id = ev.id.clone();
        if !attachments.is_empty() {
            CaseDoc::add_attachments(doc, attachments).map_err(|e| ActError::Invalid(e.message_zh()))?;
        }
        let case = CaseDoc::append_event(doc, ev).map_err(|e| ActError::Invalid(e.message_zh()))?;
        let st = case.state();
        if st.ignored_events.contains(&ev_id) {
            return Err(ActError::Invalid(format!("当前状态（{}）不能执行此操作", st.status.name_zh())));
        }
        Ok(st)
    }) {
        Ok(r) => r,
        Err(StoreError::NotFound(_)) => Err(ActError::NotFound),
        Err(e) => Err(e.into()),
    }
}

pub type Experts = Arc<Vec<Person>>;
pub type Records = Arc<HashMap<String, ExpertRecord>>;

/// The experts a centre may choose from, with their records; cached for [`DIRECTORY_TTL`].
#[derive(Clone, Default)]
pub struct Directory {
    inner: Arc<Mutex<Option<Loaded>>>,
}

struct Loaded {
    at: Instant,
    feed_head: i64,
    experts: Experts,
    records: Records,
}

impl Directory {
    /// The directory for `centre`, reloaded when older than the TTL and the store changed.
    pub fn get(&self, db: &Db, centre: &str) -> Result<(Experts, Records), StoreError> {
        let head = db.feed_head()?;
        let mut guard = match self.inner.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if let Some(l) = guard.as_ref()
            && (l.feed_head == head || l.at.elapsed() < DIRECTORY_TTL)
        {
            return Ok((l.experts.clone(), l.records.clone()));
        }
        let experts = Arc::new(db.experts_for(centre)?);
        let records = Arc::new(db.expert_records()?);
        *guard = Some(Loaded {
            at: Instant::now(),
            feed_head: head,
            experts: experts.clone(),
            records: records.clone(),
        });
        Ok((experts, records))
    }

    /// Drops the cache (after an assignment, so the loads shown are current).
    pub fn invalidate(&self) {
        if let Ok(mut g) = self.inner.lock() {
            *g = None;
        }
    }
}

/// Ranks the experts of `centre` for a case.
pub fn suggestions(
    directory: &Directory,
    db: &Db,
    centre: &str,
    case: &CaseDoc,
    limit: usize,
) -> Result<Vec<Suggestion>, StoreError> {
    let (experts, records) = directory.get(db, centre)?;
    let empty = ExpertRecord::default();
    Ok(ranking::rank(case, centre, experts.iter().map(|p| (p, records.get(&p.id).unwrap_or(&empty))), limit))
}

/// Whether a case is still open for the service (for lists).
pub fn is_open(status: Status) -> bool {
    matches!(status, Status::AwaitingTriage | Status::AwaitingAnswer | Status::OnSite)
}
