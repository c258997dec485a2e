//! The published industry records a node holds, as the public pages read them: filters
//! (kind, database, industry, region), search across all four databases, and 相关信息 (the
//! records sharing the most entities with one record).
//!
//! Computed on demand at every node (hub or kiosk) from its public documents, with a stated
//! bound: the newest [`RECORDS_MAX`] published, not withdrawn industry records (the
//! `public_items` projection lists them, `Db::public_items_of_module`). Each record's document
//! is read and its entities extracted once per process and kept in a cache of at most
//! [`CACHE_MAX`] records, keyed by the public document's id (a published document's content
//! never changes, only its withdrawal, which the projection reflects, so a cached record is
//! never stale; a withdrawn one is simply no longer listed). Nothing is stored: there is no
//! projection to rebuild.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, LazyLock, Mutex};

use yizhan_core::published::PublishedDoc;
use yizhan_core::{RegionCode, RegionLevel};
use yizhan_store::{Store, StoreError};

use crate::entities::{self, Entities};
use crate::kinds;

/// Published industry records considered at most (newest first).
pub const RECORDS_MAX: u32 = 5_000;
/// Records whose entities are cached per process at most (the cache is emptied when full).
pub const CACHE_MAX: usize = 20_000;
/// Related records shown per record.
pub const RELATED_MAX: usize = 8;
/// Results a list or search shows at most.
pub const RESULTS_MAX: usize = 100;
/// Characters of a search query.
pub const QUERY_CHARS_MAX: usize = 100;

/// One published record with what was extracted from it.
#[derive(Debug, Clone)]
pub struct Record {
    pub doc: PublishedDoc,
    pub fields: HashMap<String, String>,
    pub entities: Entities,
    /// Title, body and fields, lowercased, for search.
    text: String,
}

impl Record {
    pub fn from_doc(doc: PublishedDoc) -> Record {
        let fields: HashMap<String, String> =
            doc.fields.iter().map(|f| (f.key.clone(), f.value.clone())).collect();
        let entities = entities::of_record(&doc.title, &doc.body, &fields);
        let mut text = format!("{}\n{}\n{}", doc.title, doc.body, doc.ip_owner);
        for f in &doc.fields {
            text.push('\n');
            text.push_str(&f.value);
        }
        if let Some(i) = kinds::industry(fields.get(kinds::F_INDUSTRY).map_or("", String::as_str)) {
            text.push('\n');
            text.push_str(i.name_zh());
        }
        let text = text.to_lowercase();
        Record { doc, fields, entities, text }
    }

    pub fn field(&self, key: &str) -> &str {
        self.fields.get(key).map_or("", |v| v.trim())
    }

    /// The database's code (`status`, `leaders`, `support`, `trends`).
    pub fn database(&self) -> Option<&'static str> {
        kinds::database(self.field(kinds::F_DATABASE)).map(|(c, _)| c)
    }

    pub fn industry(&self) -> Option<yizhan_core::Industry> {
        kinds::industry(self.field(kinds::F_INDUSTRY))
    }

    pub fn region(&self) -> Option<RegionCode> {
        kinds::region(self.field(kinds::F_REGION))
    }
}

static CACHE: LazyLock<Mutex<HashMap<String, Arc<Record>>>> = LazyLock::new(Default::default);

fn cached(id: &str) -> Option<Arc<Record>> {
    CACHE.lock().unwrap_or_else(|p| p.into_inner()).get(id).cloned()
}

fn remember(records: &[Arc<Record>]) {
    let mut cache = CACHE.lock().unwrap_or_else(|p| p.into_inner());
    if cache.len() + records.len() > CACHE_MAX {
        cache.clear();
    }
    for r in records {
        cache.insert(r.doc.id.clone(), r.clone());
    }
}

/// The node's published, not withdrawn industry records, newest first (at most
/// [`RECORDS_MAX`]).
pub async fn records(store: &Store) -> Result<Vec<Arc<Record>>, StoreError> {
    let rows = store.call(|db| db.public_items_of_module(kinds::KIND_PREFIX, RECORDS_MAX)).await?;
    let missing: Vec<String> =
        rows.iter().filter(|r| cached(&r.id).is_none()).map(|r| r.id.clone()).collect();
    if !missing.is_empty() {
        let docs = store
            .call(move |db| {
                let mut docs = Vec::new();
                for id in missing {
                    if let Some(doc) = db.load_doc(&id)?
                        && let Ok(p) = PublishedDoc::from_doc(&doc)
                    {
                        docs.push(p);
                    }
                }
                Ok(docs)
            })
            .await?;
        // Chinese analysis is CPU work: off the runtime's threads.
        let parsed = tokio::task::spawn_blocking(move || {
            docs.into_iter().map(|d| Arc::new(Record::from_doc(d))).collect::<Vec<_>>()
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?;
        remember(&parsed);
    }
    Ok(rows.iter().filter_map(|r| cached(&r.id)).filter(|r| !r.doc.is_withdrawn()).collect())
}

/// One published record (not withdrawn), by its public document's id.
pub async fn record(store: &Store, id: &str) -> Result<Option<Arc<Record>>, StoreError> {
    Ok(records(store).await?.into_iter().find(|r| r.doc.id == id))
}

/// The filters of the list page (empty = any).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(default)]
pub struct Filter {
    /// `news` or `local` (or the kind's full name).
    pub kind: String,
    /// A database's code.
    pub db: String,
    /// An industry's code.
    pub industry: String,
    /// A region code: records of that region or within it.
    pub region: String,
    /// Words, all of which must occur (title, text, fields, IP owner).
    pub q: String,
}

impl Filter {
    /// Whether `r` passes every filter.
    pub fn matches(&self, r: &Record) -> bool {
        let kind = self.kind.trim();
        if !kind.is_empty() && r.doc.kind != kind && r.doc.kind != format!("{}{kind}", kinds::KIND_PREFIX) {
            return false;
        }
        if !self.db.trim().is_empty() && r.database() != kinds::database(&self.db).map(|(c, _)| c) {
            return false;
        }
        if !self.industry.trim().is_empty() {
            let wanted = kinds::industry(&self.industry).map(|i| i.code().to_string());
            if wanted.is_none_or(|w| !r.entities.industries.contains(&w)) {
                return false;
            }
        }
        if !self.region.trim().is_empty() {
            let Ok(wanted) = RegionCode::parse(self.region.trim()) else { return false };
            let own = r.region().is_some_and(|own| wanted.contains(&own));
            let named =
                r.entities.regions.iter().any(|c| RegionCode::parse(c).is_ok_and(|c| wanted.contains(&c)));
            if !(own || named) {
                return false;
            }
        }
        let q: String = self.q.chars().take(QUERY_CHARS_MAX).collect::<String>().to_lowercase();
        q.split_whitespace().all(|w| r.text.contains(w))
    }
}

/// The records passing `filter`, newest first: (total matching, the first [`RESULTS_MAX`]).
pub fn search(all: &[Arc<Record>], filter: &Filter) -> (usize, Vec<Arc<Record>>) {
    let matching: Vec<Arc<Record>> = all.iter().filter(|r| filter.matches(r)).cloned().collect();
    let total = matching.len();
    (total, matching.into_iter().take(RESULTS_MAX).collect())
}

/// One entity two records share, as the page names it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Shared {
    Enterprise(String),
    Institution(String),
    Crop(String),
    Region(String),
    Industry(String),
}

impl Shared {
    fn weight(&self) -> u32 {
        match self {
            Shared::Enterprise(_) | Shared::Institution(_) => 5,
            Shared::Crop(_) => 3,
            Shared::Region(code) => match RegionLevel::of(code) {
                Some(RegionLevel::City) => 1,
                _ => 3,
            },
            Shared::Industry(_) => 2,
        }
    }

    /// The entity in Chinese.
    pub fn name_zh(&self) -> String {
        match self {
            Shared::Enterprise(n) | Shared::Institution(n) | Shared::Crop(n) => n.clone(),
            Shared::Region(code) => yizhan_core::regions().get(code).map_or(code.clone(), |r| r.name.clone()),
            Shared::Industry(code) => {
                yizhan_core::Industry::from_code(code).map_or(code.clone(), |i| i.name_zh().into())
            }
        }
    }
}

/// What `a` and `b` share.
pub fn shared(a: &Entities, b: &Entities) -> Vec<Shared> {
    let both = |x: &BTreeSet<String>, y: &BTreeSet<String>| x.intersection(y).cloned().collect::<Vec<_>>();
    let mut out: Vec<Shared> = Vec::new();
    out.extend(both(&a.enterprises, &b.enterprises).into_iter().map(Shared::Enterprise));
    out.extend(both(&a.institutions, &b.institutions).into_iter().map(Shared::Institution));
    out.extend(both(&a.crops, &b.crops).into_iter().map(Shared::Crop));
    out.extend(both(&a.regions, &b.regions).into_iter().map(Shared::Region));
    out.extend(both(&a.industries, &b.industries).into_iter().map(Shared::Industry));
    out
}

/// A related record: its score (the weights of the shared entities) and what it shares.
#[derive(Debug, Clone)]
pub struct Related {
    pub record: Arc<Record>,
    pub score: u32,
    pub shared: Vec<Shared>,
}

/// The records sharing entities with `record`, best first (score, then newer), at most
/// [`RELATED_MAX`]. Sharing only an industry or a city is not enough (score at least 3).
pub fn related(record: &Record, all: &[Arc<Record>]) -> Vec<Related> {
    let mut out: Vec<Related> = all
        .iter()
        .filter(|r| r.doc.id != record.doc.id)
        .filter_map(|r| {
            let shared = shared(&record.entities, &r.entities);
            let score: u32 = shared.iter().map(Shared::weight).sum();
            (score >= 3).then(|| Related { record: r.clone(), score, shared })
        })
        .collect();
    out.sort_by(|a, b| {
        b.score
            .cmp(&a.score)
            .then(b.record.doc.published_at_ms.cmp(&a.record.doc.published_at_ms))
            .then(a.record.doc.id.cmp(&b.record.doc.id))
    });
    out.truncate(RELATED_MAX);
    out
}
