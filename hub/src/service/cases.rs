//! What the desk may show and do with one case: the case as the actor may see it (the
//! farmer's number opened and the opening audited only for whoever may see it in clear),
//! actions, an expert's answer with its media, the case's media jobs.

use std::collections::{HashMap, HashSet};

use yizhan_core::access::{Action, EventKindCode};
use yizhan_core::clock::ServicePolicy;
use yizhan_core::ranking::Suggestion;
use yizhan_core::{Actor, CaseDoc, CaseState, EventKind, RegionCode, RegionLevel, authorize};

use super::{ActInput, Carried, ServiceError, admin};
use crate::Hub;

/// A case as the actor may see it.
pub struct CaseView {
    pub case: CaseDoc,
    pub state: CaseState,
    pub clocks: Vec<yizhan_store::service::ClockRow>,
    /// Ranked experts, when the actor may assign.
    pub suggestions: Vec<Suggestion>,
    /// Names of the people the events name.
    pub names: HashMap<String, String>,
    pub phone_masked: String,
    /// The farmer's number in clear, only for whoever makes the follow-up call (the county
    /// centre); its opening is audited.
    pub phone_clear: Option<String>,
    pub policy: ServicePolicy,
    /// This hub's media jobs for the case, and which of its blobs the hub holds.
    pub jobs: Vec<yizhan_store::Job>,
    pub held: HashSet<String>,
}

impl CaseView {
    /// Whether the actor may append an event of this kind now.
    pub fn may(&self, actor: &Actor, kind: EventKindCode) -> bool {
        authorize(actor, Action::Event(kind), &self.case, &self.state).is_ok()
    }
}

/// The case `id` as `actor` may see it.
pub async fn case_view(hub: &Hub, actor: &Actor, id: &str) -> Result<CaseView, ServiceError> {
    let id = id.to_string();
    let directory = hub.directory.clone();
    let who = actor.clone();
    let mut view = hub
        .store
        .call(move |db| -> Result<Result<CaseView, ServiceError>, yizhan_store::StoreError> {
            let Some(doc) = db.load_doc(&id)? else {
                return Ok(Err(ServiceError::NotFound("案例不存在")));
            };
            let Ok(case) = CaseDoc::from_doc(&doc) else {
                return Ok(Err(ServiceError::NotFound("不是案例")));
            };
            let state = case.state();
            if let Err(d) = authorize(&who, Action::View, &case, &state) {
                return Ok(Err(d.into()));
            }
            let clocks = db.case_clocks(&id)?;
            let may_assign = authorize(&who, Action::Event(EventKindCode::Assigned), &case, &state).is_ok();
            let suggestions = if may_assign {
                super::suggestions(&directory, db, &state.centre, &case, super::SUGGESTIONS_MAX)?
            } else {
                Vec::new()
            };
            let mut names = HashMap::new();
            for e in &case.events {
                for p in [&e.actor, &e.target] {
                    if !p.is_empty()
                        && !names.contains_key(p)
                        && let Some(person) = db.person(p)?
                    {
                        names.insert(p.clone(), person.name);
                    }
                }
            }
            let phone_masked = db
                .load_doc(&yizhan_core::private::CasePrivate::id_for(&id))?
                .and_then(|d| yizhan_core::private::CasePrivate::from_doc(&d).ok())
                .map(|p| p.farmer_phone_masked)
                .unwrap_or_default();
            let policy = db.service_policy()?;
            let jobs = db.jobs_for_doc(&id)?;
            let held = db.blobs_held(case.attachments.values().map(|a| a.hash.as_str()))?;
            Ok(Ok(CaseView {
                case,
                state,
                clocks,
                suggestions,
                names,
                phone_masked,
                phone_clear: None,
                policy,
                jobs,
                held,
            }))
        })
        .await??;
    // The number in clear for whoever makes the follow-up call (the county centre); it is
    // sealed to the county's key, so only a county hub can open it.
    if authorize(actor, Action::ViewPhone, &view.case, &view.state).is_ok() && !view.phone_masked.is_empty() {
        view.phone_clear = hub.open_phone(&view.case.id).await;
    }
    if view.phone_clear.is_some() {
        let detail = format!("案例 {} {}", view.case.id, view.case.subject);
        admin::audit_view_phone(hub, actor, detail).await?;
    }
    Ok(view)
}

/// The case, when `actor` may take `action` on it.
pub async fn authorized_case(
    hub: &Hub,
    actor: &Actor,
    id: &str,
    action: Action,
) -> Result<(CaseDoc, CaseState), ServiceError> {
    let id = id.to_string();
    let doc = hub.store.call(move |db| db.load_doc(&id)).await?;
    let case = doc.and_then(|d| CaseDoc::from_doc(&d).ok()).ok_or(ServiceError::NotFound("案例不存在"))?;
    let state = case.state();
    authorize(actor, action, &case, &state)?;
    Ok((case, state))
}

/// Takes an action on a case (authorised inside the write, see [`super::act`]).
pub async fn act(hub: &Hub, actor: &Actor, id: &str, input: ActInput) -> Result<(), ServiceError> {
    let (actor, case_id) = (actor.clone(), id.to_string());
    let event_id = uuid::Uuid::new_v4().to_string();
    let assigned = input.kind == "assigned";
    let ev = event_id.clone();
    hub.store.call(move |db| Ok(super::act(db, &actor, &case_id, input, event_id))).await??;
    if assigned {
        hub.directory.invalidate();
        crate::notify::event_written(hub, id, &ev).await;
    }
    Ok(())
}

/// An expert's answer, as read from her upload: the text, the photos (file name, bytes) and
/// the video already streamed into a temporary blob.
pub struct Answer {
    pub text: String,
    pub photos: Vec<(String, Vec<u8>)>,
    pub video: Option<yizhan_uploads::VideoUpload>,
}

/// Stores an expert's answer: every photo decoded and the video probed before anything is
/// stored; then the answer, its photos and its video in one transaction (authorised inside
/// it); the video's poster and proxy are made in the background.
pub async fn answer(hub: &Hub, actor: &Actor, id: &str, answer: Answer) -> Result<(), ServiceError> {
    let Answer { text, photos, video } = answer;
    let limits = yizhan_media::Limits::default();
    let store = hub.store.clone();
    let now = hub.store.config().clock.now_ms();
    let prepared = tokio::task::spawn_blocking(move || {
        let mut out = yizhan_uploads::prepare_photos(&store, photos, &limits, now)?;
        if let Some(v) = video {
            out.push(yizhan_uploads::prepare_video(&store, v, &limits, now)?);
        }
        Ok::<_, yizhan_uploads::UploadError>(out)
    })
    .await
    .map_err(|_| ServiceError::Failed("照片和视频处理失败".into()))??;
    let groups: Vec<String> =
        prepared.iter().filter(|(a, _)| a.role == "original").map(|(a, _)| a.group.clone()).collect();
    let jobs = prepared
        .iter()
        .filter(|(a, _)| a.kind == "video" && a.role == "original")
        .map(|(a, _)| (yizhan_uploads::JOB_VIDEO, a.hash.clone()))
        .collect();
    let (attachments, blobs): (Vec<_>, Vec<_>) = prepared.into_iter().unzip();
    let carried = Carried { attachments, blobs, jobs };
    let input = ActInput { kind: "answered".into(), text, target: groups.join(","), ..Default::default() };
    let (actor, case_id) = (actor.clone(), id.to_string());
    let event_id = uuid::Uuid::new_v4().to_string();
    let ev = event_id.clone();
    hub.store.call(move |db| Ok(super::act_with(db, &actor, &case_id, input, event_id, carried))).await??;
    hub.jobs_notify.notify_one();
    crate::notify::event_written(hub, id, &ev).await;
    Ok(())
}

/// The case's media jobs on this hub, for the case page's progress bar.
pub async fn case_jobs(hub: &Hub, actor: &Actor, id: &str) -> Result<Vec<yizhan_store::Job>, ServiceError> {
    authorized_case(hub, actor, id, Action::View).await?;
    let id = id.to_string();
    Ok(hub.store.call(move |db| db.jobs_for_doc(&id)).await?)
}

impl CaseView {
    /// The expert's answers since she was (last) assigned: once she has answered, the page
    /// confirms it instead of showing the empty form again. Empty for anyone but an expert.
    pub fn answers_by(&self, actor: &Actor) -> Vec<&yizhan_core::Event> {
        if actor.role != yizhan_core::Role::Expert {
            return Vec::new();
        }
        let (c, s) = (&self.case, &self.state);
        let events = c.ordered_events();
        let live = |e: &yizhan_core::Event| !s.ignored_events.contains(&e.id);
        let since = events
            .iter()
            .rposition(|e| live(e) && e.kind() == EventKind::Assigned && e.target == actor.person_id)
            .map_or(0, |i| i + 1);
        events[since..]
            .iter()
            .copied()
            .filter(|e| live(e) && e.kind() == EventKind::Answered && e.actor == actor.person_id)
            .collect()
    }

    /// The centres a case may be escalated to from the one it waits at: its city's (from a
    /// county), then the province's.
    pub fn centres_above(&self) -> Vec<(String, &'static str)> {
        let Ok(centre) = RegionCode::parse(&self.state.centre) else { return Vec::new() };
        let prefix_at = |level: RegionLevel| {
            (1..=centre.as_str().len())
                .map(|n| &centre.as_str()[..n])
                .find(|p| RegionCode::parse(p).is_ok_and(|c| c.level() == level))
                .map(str::to_string)
        };
        let mut up = Vec::new();
        if centre.level() > RegionLevel::City
            && let Some(city) = prefix_at(RegionLevel::City)
        {
            up.push((city, "上报市州运管中心"));
        }
        if centre.level() > RegionLevel::Province
            && let Some(province) = prefix_at(RegionLevel::Province)
        {
            up.push((province, "上报省运管中心"));
        }
        up
    }
}
