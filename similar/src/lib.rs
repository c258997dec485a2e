//! Find similar (找类似): offline search of solved cases, shown while the officer types.
//!
//! # Use
//! ```no_run
//! use yizhan_similar::{KnowledgeCase, SearchQuery, SimilarIndex, SolvedCaseFields};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut index = SimilarIndex::open(std::path::Path::new("/var/lib/yizhan/similar"))?;
//! // A solved case becomes knowledge without the farmer's personal data.
//! let case = KnowledgeCase::from_solved(&SolvedCaseFields {
//!     id: "case-1", question: "李树冬季枯叶蛾怎么防治", answer: "冬季刮除树皮……",
//!     farmer_name: "张三", farmer_phone: "13812345678", ..Default::default()
//! })?;
//! index.upsert(case)?;               // journaled: survives a crash
//! let hits = index.search(&SearchQuery::text("李树枯叶蛾冬天打什么药"), 5)?;
//! index.checkpoint()?;               // snapshot + empty journal (e.g. after a sync batch)
//! # Ok(()) }
//! ```
//!
//! # Design
//! - **Analysis** ([`analyze`]): full-width folding, jieba (one shared instance) with the
//!   agricultural vocabulary of `assets/vocab/` (crops, livestock, pests, diseases, chemicals,
//!   symptoms, growth stages, periods), synonym folding (冬天/寒冷季节 → 冬季, 防控 → 防治,
//!   打药/喷药 → 施药), stop words removed, character bigrams over runs of content words as the
//!   backoff for names jieba splits, entities (canonical crop; pest/disease name, also when not
//!   listed, from its ending: 蛾, 螟, 蚜, 病 ...), and the months a text names (season words,
//!   solar terms, festivals, `3-4月`, `九十月份`) as a 12-bit mask plus a season-concept token.
//! - **Index** ([`SimilarIndex`]): our own compact in-memory inverted index (varint posting
//!   lists) with three fields: question words and question bigrams per case, answer words per
//!   distinct answer. Incremental: add/replace/remove one case at a time; persisted as a
//!   snapshot plus an append-only journal. Chosen over tantivy because ranking needs per-case
//!   features on hundreds of candidates per keystroke and answer-level grouping, and because
//!   the measured 1M-case figures (crate README) meet the latency target on 2 cores.
//! - **Ranking**: BM25 per field (weighted sum), then the best few hundred cases are re-ranked
//!   with crop agreement/conflict, pest/disease name similarity/conflict, period overlap of
//!   query and case (month masks), industry, region and period-code soft boosts, and photo
//!   near-duplicates (64-bit DCT pHash, [`phash`]). Results are grouped by answer: one hit per
//!   distinct solution (its best case), with a small bonus for answers whose other cases also
//!   match.
//! - **Limits**: [`RESULTS_MAX`], [`QUERY_CHARS_MAX`], [`QUERY_PHOTOS_MAX`], [`CASES_MAX`] and the
//!   per-case limits in [`case`].

pub mod analyze;
pub mod case;
pub mod error;
pub mod eval;
pub mod index;
pub mod phash;
mod postings;
mod store;
mod vocab;

pub use analyze::{Analysis, analyze};
pub use case::{KnowledgeCase, PHOTO_HASHES_PER_CASE_MAX, SolvedCaseFields, scrub_personal_numbers};
pub use error::{CaseError, ImportError, SearchError, StoreError};
pub use eval::{
    EvalOptions, EvalReport, Evaluation, ImportReport, Split, evaluate, evaluate_with, import_jsonl,
};
pub use index::{
    CASES_MAX, Hit, QUERY_CHARS_MAX, QUERY_PHOTOS_MAX, RESULTS_MAX, RankParams, SearchQuery, SimilarIndex,
};
pub use store::decode_snapshot_body;
pub use vocab::vocabulary_size;
