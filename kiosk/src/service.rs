//! Operations shared by the HTML UI and the JSON API.

use automerge::AutoCommit;
use yizhan_core::access::{Action, EventKindCode};
use yizhan_core::case::DOC_TYPE;
use yizhan_core::{
    Actor, Attachment, CaseDoc, CaseState, Event, EventKind, Role, UNSIGNED_OFFICER, authorize,
};
use yizhan_store::{Db, Hash, Job, NewBlob};

use crate::AppState;
use crate::error::AppError;
use crate::upload::CaseUpload;

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, AppError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| AppError::Internal(e.to_string()))
}

/// Who acts when nobody is signed in at the kiosk (an offline station): an officer of the
/// kiosk's whole region without a person id, recorded as [`UNSIGNED_OFFICER`]. The same rules
/// ([`authorize`]) apply to her as to a signed-in officer; steps that are counted for people
/// ([`needs_sign_in`]) are not open to her at all.
pub fn unsigned_actor(state: &AppState) -> Actor {
    Actor {
        person_id: UNSIGNED_OFFICER.to_string(),
        name: UNSIGNED_OFFICER.to_string(),
        role: Role::Officer,
        region: state.config.scope.clone(),
    }
}

/// Checks that `actor` may append `ev` to the case as it stands, then appends it.
fn append_authorized(doc: &mut AutoCommit, actor: &Actor, ev: Event) -> Result<CaseDoc, AppError> {
    let case = CaseDoc::from_doc(doc)?;
    let code = EventKindCode::of(&ev.kind()).ok_or_else(|| AppError::Invalid("不支持的操作".into()))?;
    authorize(actor, Action::Event(code), &case, &case.state()).map_err(AppError::Forbidden)?;
    Ok(CaseDoc::append_event(doc, ev)?)
}

/// Validates everything, then stores the blobs and the new case document. Nothing is stored
/// unless every field, photo and the video are acceptable. The case records the signed-in
/// officer (`who`: her person id and her name), or [`UNSIGNED_OFFICER`] when nobody is signed
/// in; sending it to an expert needs a signed-in officer.
pub async fn record_case(state: &AppState, up: CaseUpload, who: Option<&Actor>) -> Result<String, AppError> {
    let CaseUpload { case: mut new, photos, video, action, offered } = up;
    if action == crate::upload::FormAction::Escalate && who.is_none() {
        return Err(AppError::SignInRequired);
    }
    let actor = who.cloned().unwrap_or_else(|| unsigned_actor(state));
    // Whatever the form or the API sent as the officer, the case records who is signed in.
    new.officer = actor.name.clone();
    let officer_id = who.map(|a| a.person_id.clone()).unwrap_or_default();
    if let crate::upload::FormAction::SolvedBy(kb) = &action {
        let known = state.similar.read().map(|idx| idx.contains(kb)).unwrap_or(false);
        if !known {
            return Err(AppError::Invalid("所选的类似案例不存在".into()));
        }
    }
    let phone = new.validate()?;
    if let Ok(scope) = yizhan_core::RegionCode::parse(&new.region_code)
        && !state.config.scope.contains(&scope)
    {
        return Err(AppError::Invalid("所选乡镇不在本驿站的服务范围内".into()));
    }

    // Decode, orient and derive every photo, and write large blobs durably (still invisible),
    // all off the async threads. Any bad photo refuses the whole case.
    let limits = state.config.limits.media.clone();
    let store = state.store.clone();
    let now = state.clock.now_ms();
    let photo_blobs: Vec<(Attachment, NewBlob)> = blocking(move || {
        let photos = photos.into_iter().map(|p| (p.name, p.bytes)).collect();
        yizhan_uploads::prepare_photos(&store, photos, &limits, now)
    })
    .await??;
    let video: Option<(Attachment, NewBlob)> = match video {
        None => None,
        Some(v) => {
            let limits = state.config.limits.media.clone();
            let store = state.store.clone();
            Some(blocking(move || yizhan_uploads::prepare_video(&store, v, &limits, now)).await??)
        }
    };

    let id = state.new_id();
    let sealed = if phone.is_empty() {
        String::new()
    } else {
        state.key.seal(&phone, rand::random()).map_err(|e| AppError::Internal(e.to_string()))?
    };
    let officer = actor.person_id.clone();
    let created = Event::new(state.new_id(), now, &officer, EventKind::Created);
    let (_, mut doc) = CaseDoc::create_by(&new, &id, &state.node_id, created, &officer_id)?;
    let private = match yizhan_core::private::CasePrivate::for_case(&new, &id, &phone, sealed) {
        Some(mut p) => {
            seal_for_county(state, &mut p, &phone).await;
            Some(p.to_doc().map_err(AppError::Internal)?)
        }
        None => None,
    };
    // What the officer saw and chose on the form are events of the case, so they merge and count.
    if !offered.is_empty() {
        let mut ev = Event::new(state.new_id(), now, &officer, EventKind::SimilarOffered);
        ev.target = offered.join(",");
        append_authorized(&mut doc, &actor, ev)?;
    }
    match action {
        crate::upload::FormAction::Save => {}
        crate::upload::FormAction::Escalate => {
            let ev = Event::new(state.new_id(), now, &officer, EventKind::Escalated);
            append_authorized(&mut doc, &actor, ev)?;
        }
        crate::upload::FormAction::SolvedBy(kb) => {
            let mut ev = Event::new(state.new_id(), now, &officer, EventKind::SolvedBySimilar);
            ev.target = kb;
            append_authorized(&mut doc, &actor, ev)?;
        }
    }
    let video_hash = video.as_ref().map(|(a, _)| a.hash.clone());
    let (attachments, blobs): (Vec<Attachment>, Vec<NewBlob>) = photo_blobs.into_iter().chain(video).unzip();
    CaseDoc::add_attachments(&mut doc, attachments)?;

    let doc_id = id.clone();
    state
        .store
        .call(move |db: &mut Db| {
            let jobs: Vec<(&str, &str)> =
                video_hash.iter().map(|h| (yizhan_uploads::JOB_VIDEO, h.as_str())).collect();
            let mut docs = vec![(doc_id.clone(), DOC_TYPE, doc)];
            if let Some(p) = private {
                docs.push((
                    yizhan_core::private::CasePrivate::id_for(&doc_id),
                    yizhan_core::private::DOC_TYPE,
                    p,
                ));
            }
            db.create_docs_with(docs, blobs, &jobs)
        })
        .await?;
    state.jobs_notify.notify_one();
    tracing::info!(case = %id, "recorded case");
    Ok(id)
}

/// Seals the phone to the county centre's key too, when the kiosk holds it. Without it (or if
/// it cannot be read) the case is recorded all the same: [`crate::sealing::run`] seals the
/// phone once the key arrives.
async fn seal_for_county(state: &AppState, private: &mut yizhan_core::private::CasePrivate, phone: &str) {
    let Some(county) = state.config.scope.county() else { return };
    let key = match state.store.call(move |db| crate::sealing::current_county_key(db, county.as_str())).await
    {
        Ok(Some(key)) => key,
        Ok(None) => return,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the county seal key; the phone is sealed to it later");
            return;
        }
    };
    if let Err(e) = private.seal_for_county(phone, &key.1, rand::random(), rand::random()) {
        tracing::warn!(error = %e, key = %key.0, "cannot seal the phone to the county key");
    }
}

/// What the officer may record on a case from the kiosk.
pub fn kiosk_event_kind(code: &str) -> Option<EventKind> {
    match EventKind::parse(code) {
        k @ (EventKind::Escalated
        | EventKind::SolvedBySimilar
        | EventKind::SimilarOffered
        | EventKind::Closed
        | EventKind::Rated) => Some(k),
        _ => None,
    }
}

pub struct EventInput {
    pub kind: String,
    pub text: String,
    pub target: String,
    pub value: i64,
    pub category: String,
}

/// Steps that need a signed-in officer: sending the case to an expert, ending the service and
/// rating the expert (they start the centre's clocks and are counted for people).
pub fn needs_sign_in(kind: &EventKind) -> bool {
    matches!(kind, EventKind::Escalated | EventKind::Closed | EventKind::Rated)
}

/// Appends an event if it is a valid next step and the actor may take it, through
/// [`authorize`] against the case as stored; otherwise refuses and changes nothing. The actor is
/// the signed-in person (`who`, whose id the event records), or with nobody signed in
/// [`unsigned_actor`], who is refused whatever a signed-in officer would be refused and every
/// step that [`needs_sign_in`].
pub async fn add_event(
    state: &AppState,
    case_id: &str,
    input: EventInput,
    who: Option<&Actor>,
) -> Result<CaseState, AppError> {
    let kind = kiosk_event_kind(&input.kind).ok_or_else(|| AppError::Invalid("不支持的操作".into()))?;
    if needs_sign_in(&kind) && who.is_none() {
        return Err(AppError::SignInRequired);
    }
    let code = EventKindCode::of(&kind).ok_or_else(|| AppError::Invalid("不支持的操作".into()))?;
    let actor = who.cloned().unwrap_or_else(|| unsigned_actor(state));
    let mut ev = Event::new(state.new_id(), state.clock.now_ms(), actor.person_id.clone(), kind);
    ev.text = input.text;
    ev.target = input.target;
    ev.value = input.value;
    ev.category = input.category;
    let id = case_id.to_string();
    state
        .store
        .call(move |db| {
            db.update_doc(&id, move |doc: &mut AutoCommit| {
                let case = CaseDoc::from_doc(doc)?;
                authorize(&actor, Action::Event(code), &case, &case.state()).map_err(AppError::Forbidden)?;
                let ev_id = ev.id.clone();
                let case = CaseDoc::append_event(doc, ev).map_err(AppError::from)?;
                let st = case.state();
                if st.ignored_events.contains(&ev_id) {
                    return Err(AppError::Invalid(format!(
                        "当前状态（{}）不能执行此操作",
                        st.status.name_zh()
                    )));
                }
                Ok(st)
            })
        })
        .await?
}

pub struct CaseView {
    pub case: CaseDoc,
    pub state: CaseState,
    pub jobs: Vec<Job>,
    /// The case's blobs this kiosk holds (a video's proxy may still be on its way).
    pub held: std::collections::HashSet<String>,
    pub unsynced: bool,
    /// The county hub holds the case whole: its documents and the copies it needs
    /// (`yizhan_store::held`).
    pub at_parent: bool,
    /// The farmer's phone as lists show it (from the private part, when this node holds it).
    pub phone_masked: String,
    /// Names of the people the events name by id, as this kiosk's directory holds them.
    pub names: std::collections::HashMap<String, String>,
}

impl CaseView {
    /// Who took a step, by name, never by account id: experts by the name their assignment
    /// carries (or the directory's), the centre's staff by their centre, officers by the
    /// directory (the kiosk holds its village's officers) or the name the case recorded.
    pub fn actor_name(&self, e: &Event) -> String {
        use EventKind as K;
        let c = &self.case;
        match e.kind() {
            K::Answered | K::OnSiteRequested => self.expert_name(&e.actor),
            K::Assigned
            | K::EscalatedUp
            | K::OnSiteDispatched
            | K::FollowedUp
            | K::KnowledgeApproved
            | K::KnowledgeWithheld
            | K::KnowledgeWithdrawn => "县运管中心".to_string(),
            K::Breach | K::KnowledgePublished => "系统".to_string(),
            _ => {
                if let Some(name) = self.names.get(&e.actor) {
                    name.clone()
                } else if e.actor == UNSIGNED_OFFICER {
                    UNSIGNED_OFFICER.to_string()
                } else if !c.officer_id.is_empty() && e.actor == c.officer_id {
                    c.officer.clone()
                } else if looks_like_id(&e.actor) {
                    "信息员".to_string() // someone this kiosk's directory does not hold
                } else {
                    e.actor.clone() // recorded before sign-in: the name that was typed
                }
            }
        }
    }

    /// An expert by name: her assignment's label, else the directory's name, else "专家".
    pub fn expert_name(&self, id: &str) -> String {
        let label = self.case.expert_label(id);
        if label != id {
            return label;
        }
        self.names.get(id).cloned().unwrap_or_else(|| "专家".to_string())
    }
}

/// Person ids are ASCII letters, digits and `-_.` (see `NewPerson::build`).
fn looks_like_id(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

pub async fn case_view(state: &AppState, id: &str) -> Result<CaseView, AppError> {
    let id = id.to_string();
    let (case, jobs, held, (unsynced, at_parent), private, names) = state
        .store
        .call(move |db| {
            let Some(doc) = db.load_doc(&id)? else { return Ok(Err(AppError::NotFound)) };
            let case = match CaseDoc::from_doc(&doc) {
                Ok(c) => c,
                Err(e) => return Ok(Err(e.into())),
            };
            let held = db.blobs_held(case.attachments.values().map(|a| a.hash.as_str()))?;
            let jobs = db.jobs_for_doc(&id)?;
            let unsynced = (db.doc_unsynced(&id)?, db.case_at_parent(&id)?);
            let private = db.load_doc(&yizhan_core::private::CasePrivate::id_for(&id))?;
            let mut names = std::collections::HashMap::new();
            for actor in case.events.iter().map(|e| e.actor.as_str()).chain([case.officer_id.as_str()]) {
                if looks_like_id(actor)
                    && !names.contains_key(actor)
                    && let Some(p) = db.person(actor)?
                {
                    names.insert(actor.to_string(), p.name);
                }
            }
            Ok(Ok((case, jobs, held, unsynced, private, names)))
        })
        .await??;
    let state = case.state();
    let phone_masked = private
        .and_then(|p| yizhan_core::private::CasePrivate::from_doc(&p).ok())
        .map(|p| p.farmer_phone_masked)
        .unwrap_or_else(|| case.farmer_phone_masked.clone());
    Ok(CaseView { case, state, jobs, held, unsynced, at_parent, phone_masked, names })
}

/// Parses a hash from a URL.
pub fn parse_hash(s: &str) -> Result<Hash, AppError> {
    Hash::parse(s).ok_or(AppError::NotFound)
}

/// One similar solved case, as the form and the case page show it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct SimilarCase {
    pub id: String,
    pub question: String,
    pub answer: String,
    pub score: f32,
    /// True when one of the query's photos matched this case's photo.
    pub photo_match: bool,
    /// Who owns the answer's intellectual property (the answering expert, with her title), as
    /// the knowledge entry names it; empty for entries without one (imported knowledge).
    pub owner: String,
    /// True when a county centre reviewed and signed off the entry before publishing it.
    pub reviewed: bool,
}

/// The knowledge that solved a case (找类似 → 解决了): from its knowledge document (which
/// names the owner of the answer), else from the find-similar index (imported knowledge).
pub async fn solving_answer(state: &AppState, kb: &str) -> Result<Option<SimilarCase>, AppError> {
    let id = kb.to_string();
    let doc = state
        .store
        .call(move |db| Ok(db.load_doc(&id)?.and_then(|d| yizhan_core::KnowledgeDoc::from_doc(&d).ok())))
        .await?;
    if let Some(k) = doc {
        return Ok(Some(SimilarCase {
            id: k.id,
            question: k.question,
            answer: k.answer,
            score: 0.0,
            photo_match: false,
            owner: k.owner,
            reviewed: !k.approved_by.is_empty(),
        }));
    }
    let indexed = state.similar.read().ok().and_then(|idx| idx.get(kb));
    Ok(indexed.map(|k| SimilarCase {
        id: k.id,
        question: k.question,
        answer: k.answer,
        score: 0.0,
        photo_match: false,
        owner: String::new(),
        reviewed: false,
    }))
}

/// Results shown while typing.
pub const SIMILAR_SHOWN: usize = 5;

/// Searches the solved cases for what the officer has typed (and photographed).
pub async fn similar(
    state: &AppState,
    text: String,
    industry: Option<String>,
    photos: Vec<Vec<u8>>,
) -> Result<Vec<SimilarCase>, AppError> {
    let state2 = state.clone();
    let mut hits = blocking(move || {
        let mut photo_hashes = Vec::new();
        for p in photos.iter().take(yizhan_similar::QUERY_PHOTOS_MAX) {
            // A photo that does not decode just does not help the search.
            if let Ok(h) = yizhan_similar::phash::photo_hashes(p) {
                photo_hashes.extend(h);
            }
        }
        let query = yizhan_similar::SearchQuery {
            text: text.chars().take(yizhan_similar::QUERY_CHARS_MAX).collect(),
            industry: industry.filter(|i| !i.is_empty()),
            season: None,
            region_code: Some(state2.config.scope.to_string()),
            photo_hashes,
        };
        let index = state2.similar.read().map_err(|_| AppError::Internal("similar index poisoned".into()))?;
        index.search(&query, SIMILAR_SHOWN).map_err(|e| AppError::Invalid(e.to_string()))
    })
    .await??
    .into_iter()
    .map(|h| SimilarCase {
        photo_match: h.photo_distance.is_some(),
        id: h.id,
        question: h.question,
        answer: h.answer,
        score: h.score,
        owner: String::new(),
        reviewed: false,
    })
    .collect::<Vec<_>>();
    // The knowledge documents name the owner and the sign-off (the index does not carry them).
    let ids: Vec<String> = hits.iter().map(|h| h.id.clone()).collect();
    let credits = state
        .store
        .call(move |db| {
            let mut out = Vec::with_capacity(ids.len());
            for id in &ids {
                let k = db.load_doc(id)?.and_then(|d| yizhan_core::KnowledgeDoc::from_doc(&d).ok());
                out.push(k.map(|k| (k.owner, !k.approved_by.is_empty())).unwrap_or_default());
            }
            Ok(out)
        })
        .await?;
    for (h, (owner, reviewed)) in hits.iter_mut().zip(credits) {
        (h.owner, h.reviewed) = (owner, reviewed);
    }
    Ok(hits)
}

/// The figures of the kiosk's village (本村统计) for a period, read from the store's rollups:
/// for a signed-in officer, for the narrower of her region and the kiosk's (they must nest).
pub async fn village_stats(
    state: &AppState,
    actor: &yizhan_core::Actor,
    from: Option<&str>,
    to: Option<&str>,
    by: Option<&str>,
) -> Result<yizhan_core::stats::Report, AppError> {
    use yizhan_core::{Denied, Role};
    if actor.role != Role::Officer {
        return Err(AppError::Forbidden(Denied::Role));
    }
    let (kiosk, own) = (state.config.scope.as_str(), actor.region.as_str());
    let region = if own.starts_with(kiosk) {
        own
    } else if kiosk.starts_with(own) {
        kiosk
    } else {
        return Err(AppError::Forbidden(Denied::OutOfRegion));
    };
    let q = yizhan_core::stats::Query::parse(region, from, to, by, state.clock.now_ms())
        .map_err(|e| AppError::Invalid(e.message_zh()))?;
    Ok(state.store.call(move |db| db.stats_report(&q)).await?)
}
