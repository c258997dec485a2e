//! The publication pipeline at a hub, generic over kinds (`yizhan_core::item::Kind`): drafts,
//! every step authorised by `core::publication::authorize` against the item as stored, inside
//! the same database call that appends it, stamped with the hub's clock; the automatic checks
//! run on submission; sign-off publishes at once (a `published` public document, made in the
//! same transaction); withdrawal marks the public document, which every node then hides.
//!
//! Architecture invariant: published content only leaves a hub through this pipeline (and
//! knowledge's, `crate::publish`): the public document is made only from a signed-off item.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use yizhan_core::item::{self, ItemDoc, ItemStep, Kind, NewItem};
use yizhan_core::publication::{self, Pipeline, Stage, StepKind};
use yizhan_core::published::{PublishedDoc, Withdrawal};
use yizhan_core::{Actor, CentreAction, Denied};
use yizhan_store::{Db, ReviewItem, StoreError};

use super::{ServiceError, require};
use crate::Hub;

/// Items listed on the review queue at most.
pub const REVIEW_ROWS_MAX: u32 = 200;

/// The kinds this hub serves, registered by the modules it assembles (knowledge is built in
/// and not listed here).
#[derive(Clone, Default)]
pub struct Kinds {
    inner: Arc<RwLock<Vec<Kind>>>,
}

impl Kinds {
    /// Registers a kind (again under the same name: replaced).
    pub fn register(&self, kind: Kind) {
        let mut kinds = match self.inner.write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        kinds.retain(|k| k.name != kind.name);
        kinds.push(kind);
    }

    pub fn all(&self) -> Vec<Kind> {
        match self.inner.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    pub fn get(&self, name: &str) -> Option<Kind> {
        self.all().into_iter().find(|k| k.name == name)
    }

    fn rules(&self) -> Vec<(&'static str, publication::Rules)> {
        self.all().into_iter().map(|k| (k.name, k.rules)).collect()
    }
}

/// What an author fills in for a new item.
#[derive(Debug, Clone, Default)]
pub struct ItemInput {
    pub kind: String,
    pub title: String,
    pub body: String,
    pub fields: BTreeMap<String, String>,
    pub ip_owner: String,
}

/// Creates a draft owned by the author's centre; returns its id.
pub async fn create_item(hub: &Hub, actor: &Actor, input: ItemInput) -> Result<String, ServiceError> {
    require(hub, actor, CentreAction::Desk)?;
    let kind = hub.kinds.get(input.kind.trim()).ok_or_else(|| ServiceError::Invalid("未知的类别".into()))?;
    let new = NewItem {
        kind: kind.name.into(),
        centre: actor.region.to_string(),
        title: input.title,
        body: input.body,
        // Empty fields are left out (an optional field not filled in).
        fields: input.fields.into_iter().filter(|(_, v)| !v.trim().is_empty()).collect(),
        ip_owner: input.ip_owner,
        author: actor.person_id.clone(),
    };
    let id = format!("item-{}", uuid::Uuid::new_v4());
    let id2 = id.clone();
    hub.store
        .call(move |db| {
            let now_ms = db.config().clock.now_ms();
            let (_, mut doc) = match ItemDoc::create(&new, &id2, now_ms) {
                Ok(v) => v,
                Err(e) => return Ok(Err(ServiceError::Invalid(e.message_zh()))),
            };
            db.create_doc(&id2, item::DOC_TYPE, &mut doc)?;
            Ok(Ok(()))
        })
        .await??;
    Ok(id)
}

/// Drafts a file of records may create at once (the bulk upload's bound).
pub const ITEMS_PER_BATCH_MAX: usize = 500;

/// Creates several drafts owned by the author's centre in one transaction: every one, or (on
/// any refusal) none. Returns their ids in the order given.
pub async fn create_items(
    hub: &Hub,
    actor: &Actor,
    inputs: Vec<ItemInput>,
) -> Result<Vec<String>, ServiceError> {
    require(hub, actor, CentreAction::Desk)?;
    if inputs.len() > ITEMS_PER_BATCH_MAX {
        return Err(ServiceError::Invalid(format!("每次最多创建 {ITEMS_PER_BATCH_MAX} 条")));
    }
    let mut news = Vec::new();
    for input in inputs {
        let kind =
            hub.kinds.get(input.kind.trim()).ok_or_else(|| ServiceError::Invalid("未知的类别".into()))?;
        news.push(NewItem {
            kind: kind.name.into(),
            centre: actor.region.to_string(),
            title: input.title,
            body: input.body,
            fields: input.fields.into_iter().filter(|(_, v)| !v.trim().is_empty()).collect(),
            ip_owner: input.ip_owner,
            author: actor.person_id.clone(),
        });
    }
    let ids: Vec<String> = news.iter().map(|_| format!("item-{}", uuid::Uuid::new_v4())).collect();
    let ids2 = ids.clone();
    hub.store
        .call(move |db| {
            let now_ms = db.config().clock.now_ms();
            let mut refused = None;
            let done = db.batch(|db| {
                for (n, (new, id)) in news.iter().zip(&ids2).enumerate() {
                    let mut doc = match ItemDoc::create(new, id, now_ms) {
                        Ok((_, doc)) => doc,
                        Err(e) => {
                            refused =
                                Some(ServiceError::Invalid(format!("第 {} 条：{}", n + 1, e.message_zh())));
                            return Err(StoreError::Task("item refused".into()));
                        }
                    };
                    db.create_doc(id, item::DOC_TYPE, &mut doc)?;
                }
                Ok(())
            });
            match (done, refused) {
                (Ok(()), _) => Ok(Ok(())),
                (Err(_), Some(e)) => Ok(Err(e)),
                (Err(e), None) => Err(e),
            }
        })
        .await??;
    Ok(ids)
}

/// Changes what the author wrote, while the item is a draft or failed its checks (then she
/// submits it again). Only the author.
pub async fn edit_item(hub: &Hub, actor: &Actor, id: &str, input: ItemInput) -> Result<(), ServiceError> {
    require(hub, actor, CentreAction::Desk)?;
    let (actor, id) = (actor.clone(), id.to_string());
    let content = NewItem {
        title: input.title,
        body: input.body,
        fields: input.fields.into_iter().filter(|(_, v)| !v.trim().is_empty()).collect(),
        ip_owner: input.ip_owner,
        ..NewItem::default()
    };
    hub.store
        .call(move |db| {
            let Some(item) = load_item(db, &id)? else {
                return Ok(Err(ServiceError::NotFound("条目不存在")));
            };
            if item.author != actor.person_id {
                return Ok(Err(Denied::Role.into()));
            }
            if !matches!(item.pipeline().stage, Stage::Draft | Stage::CheckFailed) {
                return Ok(Err(Denied::Status.into()));
            }
            Ok(db
                .update_doc(&id, |doc| ItemDoc::edit(doc, &content))?
                .map(|_| ())
                .map_err(|e| ServiceError::Invalid(e.message_zh())))
        })
        .await?
}

/// Photos an author adds to one item in one upload.
pub const ITEM_PHOTOS_PER_UPLOAD_MAX: usize = 6;

/// Adds photos to a draft (or an item that failed its checks): each decoded, oriented and
/// stripped of its metadata with display and thumbnail copies (`yizhan_uploads`), all stored
/// with the item's change in one transaction, or none. Only the author.
pub async fn add_photos(
    hub: &Hub,
    actor: &Actor,
    id: &str,
    photos: Vec<(String, Vec<u8>)>,
) -> Result<(), ServiceError> {
    require(hub, actor, CentreAction::Desk)?;
    if photos.is_empty() {
        return Err(ServiceError::Invalid("请选择照片".into()));
    }
    let editable = |db: &Db, id: &str, who: &str| -> Result<Result<(), ServiceError>, StoreError> {
        let Some(item) = load_item(db, id)? else {
            return Ok(Err(ServiceError::NotFound("条目不存在")));
        };
        if item.author != who {
            return Ok(Err(Denied::Role.into()));
        }
        if !matches!(item.pipeline().stage, Stage::Draft | Stage::CheckFailed) {
            return Ok(Err(Denied::Status.into()));
        }
        Ok(Ok(()))
    };
    let (who, item_id) = (actor.person_id.clone(), id.to_string());
    hub.store.call(move |db| editable(db, &item_id, &who)).await??;
    let limits = yizhan_media::Limits::default();
    let store = hub.store.clone();
    let now = hub.store.config().clock.now_ms();
    let prepared =
        tokio::task::spawn_blocking(move || yizhan_uploads::prepare_photos(&store, photos, &limits, now))
            .await
            .map_err(|_| ServiceError::Failed("照片处理失败".into()))??;
    let (attachments, blobs): (Vec<_>, Vec<_>) = prepared
        .into_iter()
        .map(|(a, blob)| {
            let name = a.name.chars().take(item::NAME_CHARS_MAX).collect();
            let att = item::ItemAttachment {
                hash: a.hash,
                group: a.group,
                kind: a.kind,
                role: a.role,
                name,
                mime: a.mime,
                bytes: a.bytes,
            };
            (att, blob)
        })
        .unzip();
    let (who, item_id) = (actor.person_id.clone(), id.to_string());
    hub.store
        .call(move |db| {
            // Checked again inside the write: a submission may have come in meanwhile.
            if let Err(e) = editable(db, &item_id, &who)? {
                return Ok(Err(e));
            }
            Ok(db
                .update_doc_with(&item_id, blobs, |doc| ItemDoc::add_attachments(doc, attachments))?
                .map(|_| ())
                .map_err(|e| ServiceError::Invalid(e.message_zh())))
        })
        .await?
}

/// A photo of a published item, for everyone: the blob's hash when the item is published, not
/// withdrawn, and references it.
pub async fn public_photo(hub: &Hub, id: &str, hash: &str) -> Result<bool, ServiceError> {
    Ok(public_item(hub, id).await?.is_some_and(|p| p.attachments.values().any(|a| a.hash == hash)))
}

/// Everything the item page shows.
#[derive(Debug, Clone)]
pub struct ItemView {
    pub item: ItemDoc,
    pub pipeline: Pipeline,
    /// The kind, when this hub serves it.
    pub kind: Option<Kind>,
    /// The steps the viewer may take now.
    pub actions: Vec<StepKind>,
    /// The public document's id once published.
    pub public_id: Option<String>,
    /// The viewer is the author and may still change it.
    pub editable: bool,
    /// The takedown in force hiding its public document (安全熔断), shown to staff as 已熔断.
    pub taken_down: Option<yizhan_store::takedown::TakedownRow>,
}

/// Whether `actor` may see the item: its author, or centre staff whose region contains it.
fn may_view(actor: &Actor, item: &ItemDoc) -> Result<(), Denied> {
    if item.author == actor.person_id {
        return Ok(());
    }
    if !actor.is_centre() {
        return Err(Denied::Role);
    }
    if !item.centre.starts_with(actor.region.as_str()) {
        return Err(Denied::OutOfRegion);
    }
    Ok(())
}

/// The steps `actor` may take on the item now.
fn actions(kind: &Kind, item: &ItemDoc, p: &Pipeline, actor: &Actor) -> Vec<StepKind> {
    StepKind::ALL.into_iter().filter(|k| may_take(kind, item, p, actor, *k).is_ok()).collect()
}

/// The pipeline's rule, plus: only the author submits her draft.
fn may_take(kind: &Kind, item: &ItemDoc, p: &Pipeline, actor: &Actor, step: StepKind) -> Result<(), Denied> {
    if step == StepKind::Submit && item.author != actor.person_id {
        return Err(Denied::Role);
    }
    publication::authorize(&kind.rules, p, &item.centre, actor, step)
}

pub(crate) fn load_item(db: &Db, id: &str) -> Result<Option<ItemDoc>, StoreError> {
    if db.doc_type(id)?.as_deref() != Some(item::DOC_TYPE) {
        return Ok(None);
    }
    Ok(db.load_doc(id)?.and_then(|d| ItemDoc::from_doc(&d).ok()))
}

/// The item as `actor` may see it.
pub async fn item_view(hub: &Hub, actor: &Actor, id: &str) -> Result<ItemView, ServiceError> {
    let id = id.to_string();
    let (item, published) = hub
        .store
        .call(move |db| {
            let item = load_item(db, &id)?;
            let public = PublishedDoc::id_for(&id);
            let published = db.doc_type(&public)?.map(|_| public);
            Ok((item, published))
        })
        .await?;
    let item = item.ok_or(ServiceError::NotFound("条目不存在"))?;
    may_view(actor, &item)?;
    let pipeline = item.pipeline();
    let kind = hub.kinds.get(&item.kind);
    let actions = kind.as_ref().map(|k| actions(k, &item, &pipeline, actor)).unwrap_or_default();
    let editable =
        item.author == actor.person_id && matches!(pipeline.stage, Stage::Draft | Stage::CheckFailed);
    let taken_down = match &published {
        Some(public) => super::breaker::of_item(hub, public).await?,
        None => None,
    };
    Ok(ItemView { item, pipeline, kind, actions, public_id: published, editable, taken_down })
}

fn system_step(id: String, at_ms: i64, node_id: &str, kind: StepKind, note: String) -> ItemStep {
    ItemStep {
        id,
        at_ms,
        actor: super::system_actor(node_id),
        actor_name: "系统".into(),
        role: "system".into(),
        kind: kind.code().into(),
        note,
    }
}

/// Cuts a note to what a step holds.
fn note_of(text: &str) -> String {
    text.trim().chars().take(item::NOTE_CHARS_MAX).collect()
}

/// Takes `step` on the item for `actor`: authorised against the item as stored and appended
/// in one transaction with what follows from it (the automatic checks after a submission;
/// the `publish` step and the public document after a sign-off; the withdrawal mark on the
/// public document). A refused step writes nothing. Returns the pipeline after it.
pub async fn take_step(
    hub: &Hub,
    actor: &Actor,
    id: &str,
    step: StepKind,
    note: &str,
) -> Result<Pipeline, ServiceError> {
    let (actor, id, note) = (actor.clone(), id.to_string(), note.trim().to_string());
    if note.chars().count() > item::NOTE_CHARS_MAX {
        return Err(ServiceError::Invalid(format!("意见不能超过 {} 字", item::NOTE_CHARS_MAX)));
    }
    if yizhan_core::text::check(&note, true).is_err() {
        return Err(ServiceError::Invalid("意见含有不允许的控制字符".into()));
    }
    let kinds = hub.kinds.clone();
    let node_id = hub.config.node_id.clone();
    let step_id = uuid::Uuid::new_v4().to_string();
    let (pipeline, trip) = hub
        .store
        .call(move |db| {
            // One transaction: a refusal anywhere (the step, the checks, the public document)
            // rolls every write back.
            let mut refused = None;
            let mut tripped = None;
            let done = db.batch(|db| {
                match step_in(db, &kinds, &node_id, &actor, &id, step, note, step_id, &mut tripped) {
                    Ok(p) => Ok(p),
                    Err(ServiceError::Store(e)) => Err(e),
                    Err(e) => {
                        refused = Some(e);
                        Err(StoreError::Task("step refused".into()))
                    }
                }
            });
            match (done, refused) {
                (Ok(p), _) => Ok(Ok((p, tripped))),
                (Err(_), Some(e)) => Ok(Err(e)),
                (Err(e), None) => Err(e),
            }
        })
        .await??;
    // An account over its submission limits: its breaker trips (a signed account takedown).
    if let Some(trip) = trip {
        super::breaker::trip_account(hub, trip).await?;
    }
    Ok(pipeline)
}

#[allow(clippy::too_many_arguments)]
fn step_in(
    db: &mut Db,
    kinds: &Kinds,
    node_id: &str,
    actor: &Actor,
    id: &str,
    step: StepKind,
    note: String,
    step_id: String,
    tripped: &mut Option<super::breaker::Trip>,
) -> Result<Pipeline, ServiceError> {
    let item = load_item(db, id)?.ok_or(ServiceError::NotFound("条目不存在"))?;
    let kind =
        kinds.get(&item.kind).ok_or_else(|| ServiceError::Invalid("本中心不处理该类别的条目".into()))?;
    may_take(&kind, &item, &item.pipeline(), actor, step)?;
    // The checks run again before anyone reviews: an item submitted at a village station was
    // checked there, by code this hub does not control.
    if matches!(step, StepKind::Review | StepKind::ReviewAndSignOff) {
        let problems = item::automatic_checks(&kind, &item);
        if !problems.is_empty() {
            return Err(ServiceError::Invalid(format!("自动检查未通过：{}", problems.join("；"))));
        }
    }
    let now_ms = db.config().clock.now_ms();
    // The sensitive words, checked again here before anyone reviews (安全熔断): an item that
    // matches and was not held since it was submitted (a kiosk's draft, or a list that changed)
    // is held instead of reviewed.
    if matches!(step, StepKind::Review | StepKind::ReviewAndSignOff) {
        let hits = super::breaker::sensitive_hits(db, &item)?;
        let p = item.pipeline();
        if !hits.is_empty() && !yizhan_core::publication::held_since_submitted(&item.pipeline_steps(), &p) {
            let hold =
                system_step(format!("{step_id}-hold"), now_ms, node_id, StepKind::Hold, hold_note(&hits));
            return Ok(append(db, id, hold)?.pipeline());
        }
    }
    if step == StepKind::Clear && note.is_empty() {
        return Err(ServiceError::Invalid("复核放行须写明意见".into()));
    }
    let own = ItemStep {
        id: step_id.clone(),
        at_ms: now_ms,
        actor: actor.person_id.clone(),
        actor_name: actor.name.clone(),
        role: actor.role.code().into(),
        kind: step.code().into(),
        note: note.clone(),
    };
    let mut follow = Vec::new();
    let item = append(db, id, own)?;
    match step {
        StepKind::Submit => {
            let problems = item::automatic_checks(&kind, &item);
            let (k, text) = if problems.is_empty() {
                (StepKind::ChecksPassed, String::new())
            } else {
                (StepKind::ChecksFailed, note_of(&problems.join("；")))
            };
            follow.push(system_step(format!("{step_id}-checks"), now_ms, node_id, k, text));
            // 安全熔断: a sensitive word, or an account over its limits or taken down, holds
            // the item for review (it is not refused).
            if problems.is_empty() {
                let hits = super::breaker::sensitive_hits(db, &item)?;
                let account = super::breaker::account_check(db, &item.author)?;
                let mut notes = Vec::new();
                if !hits.is_empty() {
                    notes.push(hold_note(&hits));
                }
                if let Some(n) = &account {
                    notes.push(n.note());
                }
                if !notes.is_empty() {
                    follow.push(system_step(
                        format!("{step_id}-hold"),
                        now_ms,
                        node_id,
                        StepKind::Hold,
                        note_of(&notes.join("；")),
                    ));
                }
                *tripped = account.and_then(|a| a.newly_tripped());
            }
        }
        StepKind::SignOff | StepKind::ReviewAndSignOff => {
            follow.push(system_step(
                format!("{step_id}-publish"),
                now_ms,
                node_id,
                StepKind::Publish,
                String::new(),
            ));
        }
        _ => {}
    }
    let mut item = item;
    for s in follow {
        item = append(db, id, s)?;
    }
    let pipeline = item.pipeline();
    let public_id = PublishedDoc::id_for(id);
    if pipeline.stage == Stage::Published && db.doc_type(&public_id)?.is_none() {
        let published = PublishedDoc::of_item(&item, &kind, node_id, now_ms);
        let mut doc = published.to_doc().map_err(|e| ServiceError::Invalid(e.message_zh()))?;
        db.create_doc(&public_id, yizhan_core::published::DOC_TYPE, &mut doc)?;
    }
    if step == StepKind::Withdraw && db.doc_type(&public_id)?.is_some() {
        let w = Withdrawal { at_ms: now_ms, by: actor.person_id.clone(), by_name: actor.name.clone(), note };
        db.update_doc(&public_id, |doc| PublishedDoc::withdraw(doc, &step_id, w))?
            .map_err(|e| ServiceError::Invalid(e.message_zh()))?;
    }
    Ok(pipeline)
}

/// The note of a hold for sensitive words (shown to reviewers).
fn hold_note(hits: &[String]) -> String {
    note_of(&format!("{}{}", super::breaker::HOLD_WORDS_PREFIX, hits.join("、")))
}

fn append(db: &mut Db, id: &str, s: ItemStep) -> Result<ItemDoc, ServiceError> {
    let step_id = s.id.clone();
    let item = match db.update_doc(id, |doc| ItemDoc::append_step(doc, s))? {
        Ok(item) => item,
        Err(e) => return Err(ServiceError::Invalid(e.message_zh())),
    };
    if item.pipeline().ignored.contains(&step_id) {
        return Err(ServiceError::Denied(Denied::Status));
    }
    Ok(item)
}

/// What waits for `actor` on the pipeline (review or sign-off), across kinds, from the
/// `publications` table.
pub async fn review_queue(hub: &Hub, actor: &Actor) -> Result<Vec<ReviewItem>, ServiceError> {
    require(hub, actor, CentreAction::Desk)?;
    let (who, rules) = (actor.clone(), hub.kinds.rules());
    Ok(hub
        .store
        .call(move |db| {
            let rows = db.waiting_for_review(&who, &rules, REVIEW_ROWS_MAX)?;
            // The `publications` row does not name who submitted an item: a sign-off waiting
            // for its own uploader is dropped here (`core::publication::authorize` refuses it).
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                if r.step == StepKind::SignOff
                    && r.row.doc_type == item::DOC_TYPE
                    && load_item(db, &r.row.doc_id)?
                        .is_some_and(|i| i.pipeline().submitted_by.as_deref() == Some(who.person_id.as_str()))
                {
                    continue;
                }
                out.push(r);
            }
            Ok(out)
        })
        .await?)
}

/// The pipeline rows of the viewer's region (drafts, checks, published...), newest first.
pub async fn items(hub: &Hub, actor: &Actor) -> Result<Vec<yizhan_store::PublicationRow>, ServiceError> {
    require(hub, actor, CentreAction::Desk)?;
    let region = actor.region.to_string();
    Ok(hub.store.call(move |db| db.publications(&region, REVIEW_ROWS_MAX)).await?)
}

/// A published item for anyone, without sign-in: `None` when unknown, withdrawn or taken
/// down (安全熔断).
pub async fn public_item(hub: &Hub, id: &str) -> Result<Option<PublishedDoc>, ServiceError> {
    let id = id.to_string();
    Ok(hub.store.call(move |db| db.shown_published(&id)).await?)
}

/// Published items that are not withdrawn, newest first, for everyone.
pub async fn public_items(hub: &Hub) -> Result<Vec<yizhan_store::PublicItemRow>, ServiceError> {
    Ok(hub.store.call(|db| db.public_items(REVIEW_ROWS_MAX)).await?)
}
