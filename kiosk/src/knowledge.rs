//! Knowledge arriving by sync goes into the find-similar index; knowledge withdrawn since
//! (a withdrawal record arriving on its document) leaves it.
//!
//! The index's own journal makes every upsert durable; the feed position reached is kept in
//! `similar/feed-checkpoint`, so a restart resumes instead of re-reading every document.

use yizhan_core::KnowledgeDoc;
use yizhan_similar::KnowledgeCase;

use crate::AppState;

/// Feed entries examined per round.
const BATCH: u32 = 256;

fn to_case(k: KnowledgeDoc) -> KnowledgeCase {
    KnowledgeCase {
        id: k.id,
        question: k.question,
        answer: k.answer,
        industry: k.industry,
        crop: k.crop,
        season: None,
        region_code: k.region_code,
        source: k.publisher,
        photo_hashes: k.photo_hashes.iter().filter_map(|h| u64::from_str_radix(h, 16).ok()).collect(),
    }
}

/// Indexes the knowledge documents past `after`; returns the new position and how many.
pub async fn ingest_round(state: &AppState, after: i64) -> Result<(i64, usize), String> {
    let (seq, docs) = state
        .store
        .call(move |db| db.docs_of_type_since(after, BATCH, yizhan_core::knowledge::DOC_TYPE))
        .await
        .map_err(|e| e.to_string())?;
    let docs: Vec<KnowledgeDoc> =
        docs.iter().filter_map(|(_, doc)| KnowledgeDoc::from_doc(doc).ok()).collect();
    let n = docs.len();
    if n > 0 {
        let st = state.clone();
        tokio::task::spawn_blocking(move || {
            let mut index = st.similar.write().map_err(|_| "index poisoned".to_string())?;
            for k in docs {
                // Withdrawn (the circuit breaker): no longer offered by find-similar.
                if k.is_withdrawn() {
                    if let Err(e) = index.remove(&k.id) {
                        tracing::warn!(error = %e, "cannot drop withdrawn knowledge from the index");
                    }
                    continue;
                }
                // Scrubbed again by the index on insert; a refused entry is logged and skipped.
                if let Err(e) = index.upsert(to_case(k)) {
                    tracing::warn!(error = %e, "knowledge entry refused by the index");
                }
            }
            Ok::<_, String>(())
        })
        .await
        .map_err(|e| e.to_string())??;
    }
    Ok((seq, n))
}

pub async fn run(state: AppState) {
    let path = state.config.data_dir.join("similar").join("feed-checkpoint");
    let start: i64 = std::fs::read_to_string(&path).ok().and_then(|s| s.trim().parse().ok()).unwrap_or(0);
    let store = state.store.clone();
    store
        .follow(start, "indexing knowledge", move |after| {
            let (state, path) = (state.clone(), path.clone());
            async move {
                let (next, n) = ingest_round(&state, after).await.map_err(yizhan_store::StoreError::Task)?;
                if n > 0 {
                    tracing::info!(entries = n, "indexed knowledge for find-similar");
                }
                if next != after
                    && let Err(e) = std::fs::write(&path, next.to_string())
                {
                    tracing::warn!(error = %e, "cannot save the knowledge feed position");
                }
                Ok(next)
            }
        })
        .await;
}
