//! Knowledge arriving by sync goes into the find-similar index.
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
        .call(move |db| {
            let entries = db.changes_since(after, BATCH)?;
            let mut seq = after;
            let mut docs = Vec::new();
            for e in entries {
                seq = seq.max(e.seq);
                if e.doc_type == yizhan_core::knowledge::DOC_TYPE
                    && let Some(doc) = db.load_doc(&e.doc_id)?
                    && let Ok(k) = KnowledgeDoc::from_doc(&doc)
                {
                    docs.push(k);
                }
            }
            Ok((seq, docs))
        })
        .await
        .map_err(|e| e.to_string())?;
    let n = docs.len();
    if n > 0 {
        let st = state.clone();
        tokio::task::spawn_blocking(move || {
            let mut index = st.similar.write().map_err(|_| "index poisoned".to_string())?;
            for k in docs {
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
    let mut seq: i64 = std::fs::read_to_string(&path).ok().and_then(|s| s.trim().parse().ok()).unwrap_or(0);
    let mut feed = state.store.subscribe_feed();
    loop {
        match ingest_round(&state, seq).await {
            Ok((next, n)) => {
                if n > 0 {
                    tracing::info!(entries = n, "indexed knowledge for find-similar");
                }
                if next != seq {
                    seq = next;
                    if let Err(e) = std::fs::write(&path, seq.to_string()) {
                        tracing::warn!(error = %e, "cannot save the knowledge feed position");
                    }
                    continue;
                }
            }
            Err(e) => tracing::error!(error = %e, "indexing knowledge"),
        }
        if feed.changed().await.is_err() {
            return;
        }
    }
}
