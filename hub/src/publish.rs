//! Publishing solved cases as knowledge (知识库): once the county centre has reviewed a case
//! that an expert answered and the officer closed, and signed off its publication (a
//! `knowledge_approved` event, see the desk), the county hub turns it into a knowledge document
//! without the farmer's personal data, naming the expert who owns the answer; it then syncs
//! down to every kiosk for find-similar and up to the province. Nothing is published unreviewed.
//!
//! Both ends are steps on the case's publication pipeline: the hub records `knowledge_published`
//! (by the system) in the same transaction as the document, and once a centre records
//! `knowledge_withdrawn` on the case (the desk's 撤回), the hub holding the case marks the
//! document withdrawn; the mark travels with it to every node, and kiosks drop it from
//! find-similar.

use yizhan_core::{CaseDoc, EventKind, KnowledgeDoc, Status};
use yizhan_store::{BlobBody, Db, Store, StoreError};

/// Feed entries examined per round.
const BATCH: u32 = 256;
/// Photos of one case hashed for find-similar (each gives `phash::CROP_FRACTIONS.len()` hashes).
pub const PHOTOS_HASHED_MAX: usize =
    yizhan_similar::PHOTO_HASHES_PER_CASE_MAX / yizhan_similar::phash::CROP_FRACTIONS.len();

pub fn knowledge_id(case_id: &str) -> String {
    format!("kb-{case_id}")
}

/// Builds the knowledge document of a solved case, or `None` when it is not (yet) solved by an
/// expert's answer. Personal numbers and the farmer's name are scrubbed from the text.
pub fn knowledge_of(case: &CaseDoc, publisher: &str, now_ms: i64) -> Option<KnowledgeDoc> {
    let state = case.state();
    // Signed off on the publication pipeline (`yizhan_core::publication`).
    if !matches!(state.status, Status::Closed | Status::FollowedUp)
        || yizhan_core::knowledge::publication_stage(case, &state)
            != yizhan_core::publication::Stage::SignedOff
    {
        return None;
    }
    let answers: Vec<&str> = case
        .ordered_events()
        .into_iter()
        .filter(|e| e.kind() == EventKind::Answered && !state.ignored_events.contains(&e.id))
        .map(|e| e.text.as_str())
        .collect();
    if answers.is_empty() {
        return None;
    }
    let question = format!("{}：{}", case.subject, case.description);
    let answer = answers.join("\n");
    let fields = yizhan_similar::SolvedCaseFields {
        id: &knowledge_id(&case.id),
        question: &question,
        answer: &answer,
        industry: &case.industry,
        crop: &case.subject,
        season: None,
        region_code: &case.region_code,
        source: publisher,
        photo_hashes: &[],
        farmer_name: &case.farmer_name,
        // The hub holds the phone sealed; any number left in the text is scrubbed by pattern.
        farmer_phone: "",
    };
    let k = yizhan_similar::KnowledgeCase::from_solved(&fields).ok()?;
    Some(KnowledgeDoc {
        doc_type: yizhan_core::knowledge::DOC_TYPE.into(),
        schema: yizhan_core::knowledge::SCHEMA_VERSION,
        id: k.id,
        case_id: case.id.clone(),
        question: k.question,
        answer: k.answer,
        industry: k.industry,
        crop: k.crop,
        region_code: k.region_code,
        photo_hashes: Vec::new(),
        published_at_ms: now_ms,
        publisher: publisher.into(),
        owner: owner_of(case, &state),
        approved_by: approver_of(case, &state),
        withdrawals: Default::default(),
    })
}

/// The answering expert as the assignment names her ("李果 · 高级农艺师"), or her id.
pub fn owner_of(case: &CaseDoc, state: &yizhan_core::CaseState) -> String {
    state.expert.as_deref().map(|e| case.expert_label(e)).unwrap_or_default()
}

fn approver_of(case: &CaseDoc, state: &yizhan_core::CaseState) -> String {
    case.ordered_events()
        .into_iter()
        .find(|e| e.kind() == EventKind::KnowledgeApproved && !state.ignored_events.contains(&e.id))
        .map(|e| e.actor.clone())
        .unwrap_or_default()
}

/// A solved, signed-off case ready to publish, with the farmer's photos this hub holds (their
/// display copies), whose perceptual hashes let a kiosk find it by a similar photo.
pub struct Pending {
    pub id: String,
    pub knowledge: KnowledgeDoc,
    pub photos: Vec<BlobBody>,
}

/// One round over the feed after `after`: what became publishable. Returns the new checkpoint.
pub fn pending_round(
    db: &mut Db,
    after: i64,
    publisher: &str,
    now_ms: i64,
) -> Result<(i64, Vec<Pending>), StoreError> {
    let entries = db.changes_since(after, BATCH)?;
    let mut seq = after;
    let mut pending = Vec::new();
    for e in entries {
        seq = seq.max(e.seq);
        if e.doc_type != yizhan_core::case::DOC_TYPE {
            continue;
        }
        let kid = knowledge_id(&e.doc_id);
        let Some(doc) = db.load_doc(&e.doc_id)? else { continue };
        let Ok(case) = CaseDoc::from_doc(&doc) else { continue };
        if db.doc_type(&kid)?.is_some() {
            // Published already (answers added later stay with the case); withdrawn since?
            withdraw_if_asked(db, &case, &kid)?;
            continue;
        }
        let Some(knowledge) = knowledge_of(&case, publisher, now_ms) else { continue };
        let mut photos = Vec::new();
        for a in case.farmer_media("photo", "display").into_iter().take(PHOTOS_HASHED_MAX) {
            if let Some(hash) = yizhan_store::Hash::parse(&a.hash)
                && let Some((_, body)) = db.blob(&hash)?
            {
                photos.push(body);
            }
        }
        pending.push(Pending { id: kid, knowledge, photos });
    }
    Ok((seq, pending))
}

/// Adds the perceptual hashes of the held photos (blocking: decodes them). A photo that cannot
/// be read is skipped: the text still finds the case.
pub fn hash_photos(p: &mut Pending) {
    for body in p.photos.drain(..) {
        let bytes = match body {
            BlobBody::Inline(bytes) => bytes,
            BlobBody::File(path) => match std::fs::read(&path) {
                Ok(bytes) => bytes,
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "cannot read a photo to publish");
                    continue;
                }
            },
        };
        match yizhan_similar::phash::photo_hashes(&bytes) {
            Ok(hashes) => p.knowledge.photo_hashes.extend(hashes.iter().map(|h| format!("{h:016x}"))),
            Err(e) => tracing::warn!(knowledge = %p.id, error = %e, "cannot hash a photo to publish"),
        }
    }
}

/// Marks the knowledge document withdrawn when its case records a withdrawal step.
fn withdraw_if_asked(db: &mut Db, case: &CaseDoc, kid: &str) -> Result<(), StoreError> {
    let state = case.state();
    let Some(step) = case
        .ordered_events()
        .into_iter()
        .find(|e| e.kind() == EventKind::KnowledgeWithdrawn && !state.ignored_events.contains(&e.id))
    else {
        return Ok(());
    };
    let w = yizhan_core::published::Withdrawal {
        at_ms: step.at_ms,
        by: step.actor.clone(),
        by_name: step.actor.clone(),
        note: step.text.chars().take(yizhan_core::item::NOTE_CHARS_MAX).collect(),
    };
    let key = step.id.clone();
    match db.update_doc(kid, |doc| KnowledgeDoc::withdraw(doc, &key, w))? {
        Ok(k) => tracing::info!(knowledge = %kid, withdrawals = k.withdrawals.len(), "knowledge withdrawn"),
        Err(e) => tracing::warn!(knowledge = %kid, error = %e, "cannot mark knowledge withdrawn"),
    }
    Ok(())
}

/// Stores the knowledge documents not published yet, each with its case's
/// `knowledge_published` step in the same transaction; returns how many.
pub fn publish(db: &mut Db, pending: Vec<Pending>, publisher: &str) -> Result<usize, StoreError> {
    let mut published = 0;
    for p in pending {
        if db.doc_type(&p.id)?.is_some() {
            continue;
        }
        let Ok(mut doc) = p.knowledge.to_doc() else { continue };
        let case_id = p.knowledge.case_id.clone();
        let now_ms = db.config().clock.now_ms();
        let step = yizhan_core::Event::new(
            format!("{case_id}-knowledge-published"),
            now_ms,
            crate::service::system_actor(publisher),
            EventKind::KnowledgePublished,
        );
        db.batch(|db| {
            db.create_doc(&p.id, yizhan_core::knowledge::DOC_TYPE, &mut doc)?;
            db.update_doc(&case_id, |doc| CaseDoc::append_event(doc, step))?
                .map_err(|e| StoreError::Corrupt { id: case_id.clone(), detail: e.to_string() })?;
            Ok(())
        })?;
        published += 1;
    }
    Ok(published)
}

/// Runs for the life of the hub, waking on every feed change.
pub async fn run(store: Store, publisher: String) {
    let db_store = store.clone();
    store
        .follow_persisted("publish.feed_seq", "publishing knowledge", move |after| {
            let (db_store, publisher) = (db_store.clone(), publisher.clone());
            async move {
                let now_ms = db_store.config().clock.now_ms();
                let name = publisher.clone();
                let (next, mut pending) =
                    db_store.call(move |db| pending_round(db, after, &name, now_ms)).await?;
                if pending.is_empty() {
                    return Ok(next);
                }
                // Photos are decoded off the database thread.
                pending = tokio::task::spawn_blocking(move || {
                    pending.iter_mut().for_each(hash_photos);
                    pending
                })
                .await
                .map_err(|e| StoreError::Task(e.to_string()))?;
                let n = db_store.call(move |db| publish(db, pending, &publisher)).await?;
                if n > 0 {
                    tracing::info!(published = n, "published solved cases as knowledge");
                }
                Ok(next)
            }
        })
        .await;
}
