//! The find-similar index: an in-memory inverted index over solved cases, searched with BM25
//! over three fields and re-ranked with crop, pest/disease, period, industry, region and photo
//! features; results are distinct answers.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::PathBuf;

use crate::analyze::{Analysis, analyze, name_similarity, period_similarity};
use crate::case::KnowledgeCase;
use crate::error::{CaseError, SearchError};
use crate::phash::{PHOTO_DISTANCE_MAX, hamming};
use crate::postings::Field;

/// Most results one search returns: the kiosk shows five; more is a list nobody reads.
pub const RESULTS_MAX: usize = 50;
/// Longest query text analysed (a case description is at most a few hundred characters).
pub const QUERY_CHARS_MAX: usize = 2_000;
/// Most photo hashes one query compares (4 photos of 4 hashes each).
pub const QUERY_PHOTOS_MAX: usize = 16;
/// Most cases one index holds: row ids are u32 and memory is ~300 bytes a case.
pub const CASES_MAX: usize = 5_000_000;

/// What the officer has typed so far (and the photos added).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchQuery {
    pub text: String,
    /// Industry code of the case being typed, when chosen: a soft boost.
    pub industry: Option<String>,
    /// Period code (same meaning as [`KnowledgeCase::season`]): a soft boost.
    pub season: Option<u8>,
    /// Region code of the kiosk: nearby cases get a soft boost.
    pub region_code: Option<String>,
    /// Perceptual hashes of the query's photos ([`crate::phash::photo_hashes`] of each).
    pub photo_hashes: Vec<u64>,
}

impl SearchQuery {
    pub fn text(text: impl Into<String>) -> SearchQuery {
        SearchQuery { text: text.into(), ..Default::default() }
    }
}

/// One result: the best-matching case of one distinct answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub id: String,
    pub score: f32,
    pub question: String,
    pub answer: String,
    /// Hamming distance of the closest photo match, when a photo matched.
    pub photo_distance: Option<u32>,
}

/// Ranking weights. Defaults were tuned on one half of the dev set's clusters (split by pest
/// id) and checked on the other half; see the crate README. Feature weights are fractions of
/// the best candidate's text score, so they mean the same for short and long queries.
#[derive(Debug, Clone, PartialEq)]
pub struct RankParams {
    pub k1: f32,
    pub b: f32,
    /// Weight of question words, question character bigrams, answer words.
    pub w_words: f32,
    pub w_grams: f32,
    pub w_answer: f32,
    /// Candidates re-ranked per query (rows, before grouping by answer).
    pub candidates: usize,
    /// Crop named by both: bonus when they agree, penalty when they differ.
    pub crop_match: f32,
    pub crop_mismatch: f32,
    /// Pest/disease named by both: bonus scaled by name similarity, penalty when unlike.
    pub problem_match: f32,
    pub problem_mismatch: f32,
    /// Query names a period: bonus scaled by month overlap, penalty for disjoint periods,
    /// penalty when the case names no period at all.
    pub period_match: f32,
    pub period_mismatch: f32,
    pub period_missing: f32,
    /// Soft boosts for the same industry, region (per shared level), period code.
    pub industry_match: f32,
    pub region_match: f32,
    pub season_match: f32,
    /// A photo within [`PHOTO_DISTANCE_MAX`] bits: bonus scaled by closeness.
    pub photo_match: f32,
    /// An answer that also solved other similar questions: share of the 2nd and 3rd best
    /// scores of the same answer added to its best.
    pub vote: f32,
    /// Terms in more than this fraction of cases (防治, 农药 ...) only add to cases that a
    /// rarer term already found: a case sharing nothing but such words is never a good match,
    /// and letting them open candidates costs a pass over a third of a million-case index.
    pub common_df_fraction: f32,
}

impl Default for RankParams {
    fn default() -> Self {
        RankParams {
            k1: 1.2,
            b: 0.75,
            w_words: 1.0,
            w_grams: 0.5,
            w_answer: 0.3,
            candidates: 400,
            crop_match: 0.1,
            crop_mismatch: 0.3,
            problem_match: 0.3,
            problem_mismatch: 0.5,
            period_match: 0.6,
            period_mismatch: 0.3,
            period_missing: 0.1,
            industry_match: 0.05,
            region_match: 0.05,
            season_match: 0.05,
            photo_match: 2.0,
            vote: 0.2,
            common_df_fraction: 0.1,
        }
    }
}

impl RankParams {
    /// Sets one weight by name (used by the evaluation example's parameter sweeps).
    pub fn set(&mut self, name: &str, value: f32) -> bool {
        let slot = match name {
            "k1" => &mut self.k1,
            "b" => &mut self.b,
            "w_words" => &mut self.w_words,
            "w_grams" => &mut self.w_grams,
            "w_answer" => &mut self.w_answer,
            "crop_match" => &mut self.crop_match,
            "crop_mismatch" => &mut self.crop_mismatch,
            "problem_match" => &mut self.problem_match,
            "problem_mismatch" => &mut self.problem_mismatch,
            "period_match" => &mut self.period_match,
            "period_mismatch" => &mut self.period_mismatch,
            "period_missing" => &mut self.period_missing,
            "industry_match" => &mut self.industry_match,
            "region_match" => &mut self.region_match,
            "season_match" => &mut self.season_match,
            "photo_match" => &mut self.photo_match,
            "vote" => &mut self.vote,
            "common_df_fraction" => &mut self.common_df_fraction,
            "candidates" => {
                self.candidates = value.max(1.0) as usize;
                return true;
            }
            _ => return false,
        };
        *slot = value;
        true
    }
}

/// Small strings that repeat across cases (industry, crop, region, source, entity names).
#[derive(Debug, Default, Clone)]
pub(crate) struct Interner {
    pub ids: HashMap<Box<str>, u32>,
    pub names: Vec<Box<str>>,
}

impl Interner {
    pub fn intern(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        let id = self.names.len() as u32;
        self.names.push(s.into());
        self.ids.insert(s.into(), id);
        id
    }
    pub fn name(&self, id: u32) -> &str {
        self.names.get(id as usize).map_or("", |s| s)
    }
}

/// One indexed case (internal row; ids only grow, removed rows are tombstones until compaction).
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub id: Box<str>,
    pub question: Box<str>,
    pub group: u32,
    pub words_len: u32,
    pub grams_len: u32,
    pub period: u64,
    pub season: Option<u8>,
    pub industry: u32,
    pub crop: u32,
    pub region: u32,
    pub source: u32,
    /// Interned canonical crops and problem names found in the question.
    pub crops: Box<[u32]>,
    pub problems: Box<[u32]>,
    pub photos: Box<[u64]>,
    pub deleted: bool,
}

/// What the scoring loop reads per posting, kept apart from [`Row`] so a million-case scan
/// touches 8 bytes a case instead of a cache line (measured: p99 at 1M cases fell by half).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Hot {
    /// Answer group; [`Hot::DELETED`] for a removed case.
    pub group: u32,
    pub words_len: u16,
    pub grams_len: u16,
}

impl Hot {
    pub const DELETED: u32 = u32::MAX;

    pub fn of(row: &Row) -> Hot {
        Hot {
            group: if row.deleted { Hot::DELETED } else { row.group },
            words_len: row.words_len.min(u32::from(u16::MAX)) as u16,
            grams_len: row.grams_len.min(u32::from(u16::MAX)) as u16,
        }
    }
}

/// All cases that share one answer (after whitespace normalisation): one result at most.
#[derive(Debug, Clone)]
pub(crate) struct Group {
    pub answer: Box<str>,
    pub answer_len: u32,
    pub live: u32,
}

/// See the crate documentation.
#[derive(Debug, Default)]
pub struct SimilarIndex {
    pub(crate) params: RankParams,
    pub(crate) rows: Vec<Row>,
    /// `Hot::of(rows[i])`, see [`Hot`].
    pub(crate) hot: Vec<Hot>,
    pub(crate) groups: Vec<Group>,
    pub(crate) ids: HashMap<Box<str>, u32>,
    pub(crate) answers: HashMap<Box<str>, u32>,
    pub(crate) words: Field,
    pub(crate) grams: Field,
    pub(crate) answer_words: Field,
    pub(crate) strings: Interner,
    pub(crate) entities: Interner,
    /// Every photo hash of every live row, and the row it belongs to (two arrays, so the
    /// scan reads 8 bytes a hash).
    pub(crate) photo_hashes: Vec<u64>,
    pub(crate) photo_rows: Vec<u32>,
    pub(crate) live: usize,
    pub(crate) deleted: usize,
    /// Set when the index lives in a directory (see `store.rs`).
    pub(crate) dir: Option<PathBuf>,
}

struct Scratch {
    row_acc: Vec<f32>,
    row_touched: Vec<u32>,
    group_acc: Vec<f32>,
    group_touched: Vec<u32>,
}

thread_local! {
    // Score accumulators reused across searches: allocating 4 bytes per case per keystroke
    // would dominate the latency of a million-case index.
    static SCRATCH: RefCell<Scratch> = const { RefCell::new(Scratch {
        row_acc: Vec::new(), row_touched: Vec::new(), group_acc: Vec::new(), group_touched: Vec::new(),
    }) };
}

fn normalize_answer(a: &str) -> String {
    a.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn bm25(tf: u32, len: u32, avg: f32, k1: f32, b: f32) -> f32 {
    let tf = tf as f32;
    tf * (k1 + 1.0) / (tf + k1 * (1.0 - b + b * len as f32 / avg))
}

fn idf(df: u32, n: u32) -> f32 {
    let (df, n) = (df as f32, n as f32);
    (1.0 + (n - df + 0.5) / (df + 0.5)).ln().max(0.0)
}

/// Shared leading levels of two region codes (province 2, city 4, county 6 digits): 0..=3.
fn region_levels(a: &str, b: &str) -> u32 {
    if a.is_empty() || b.is_empty() {
        return 0;
    }
    let common = a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count();
    [2, 4, 6].iter().filter(|&&n| common >= n).count() as u32
}

impl SimilarIndex {
    /// An empty index in memory.
    pub fn new() -> SimilarIndex {
        SimilarIndex::default()
    }

    pub fn with_params(params: RankParams) -> SimilarIndex {
        SimilarIndex { params, ..Default::default() }
    }

    pub fn params(&self) -> &RankParams {
        &self.params
    }

    pub fn set_params(&mut self, params: RankParams) {
        self.params = params;
    }

    /// Number of live cases.
    pub fn len(&self) -> usize {
        self.live
    }

    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Number of distinct answers among live cases.
    pub fn answers_len(&self) -> usize {
        self.groups.iter().filter(|g| g.live > 0).count()
    }

    pub fn contains(&self, id: &str) -> bool {
        self.ids.contains_key(id)
    }

    /// The stored case (personal data already removed).
    pub fn get(&self, id: &str) -> Option<KnowledgeCase> {
        let &r = self.ids.get(id)?;
        let row = self.rows.get(r as usize)?;
        let group = self.groups.get(row.group as usize)?;
        Some(KnowledgeCase {
            id: row.id.to_string(),
            question: row.question.to_string(),
            answer: group.answer.to_string(),
            industry: self.strings.name(row.industry).to_owned(),
            crop: self.strings.name(row.crop).to_owned(),
            season: row.season,
            region_code: self.strings.name(row.region).to_owned(),
            source: self.strings.name(row.source).to_owned(),
            photo_hashes: row.photos.to_vec(),
        })
    }

    /// Every live case, in insertion order.
    pub fn cases(&self) -> impl Iterator<Item = KnowledgeCase> + '_ {
        self.rows.iter().filter(|r| !r.deleted).filter_map(|r| self.get(&r.id))
    }

    /// Adds a case, or replaces the case with the same id, in memory only (see
    /// [`SimilarIndex::upsert`] for the journaled version).
    pub(crate) fn insert_mem(&mut self, case: KnowledgeCase) -> Result<(), CaseError> {
        case.validate()?;
        let case = case.scrubbed();
        if self.ids.contains_key(case.id.as_str()) {
            self.remove_mem(&case.id);
        }
        if self.rows.len() >= CASES_MAX {
            return Err(CaseError::IndexFull { max: CASES_MAX });
        }
        let row_id = self.rows.len() as u32;
        let answer = normalize_answer(&case.answer);
        let group = match self.answers.get(answer.as_str()) {
            Some(&g) => g,
            None => {
                let g = self.groups.len() as u32;
                let a = analyze(&answer);
                let answer_len = self.answer_words.add(g, &a.words);
                self.groups.push(Group { answer: answer.as_str().into(), answer_len, live: 0 });
                self.answers.insert(answer.into(), g);
                g
            }
        };
        if let Some(g) = self.groups.get_mut(group as usize) {
            g.live += 1;
        }
        let a = analyze(&case.question);
        let words_len = self.words.add(row_id, &a.words);
        let grams_len = self.grams.add(row_id, &a.grams);
        let crops: Box<[u32]> = a.crops.iter().map(|c| self.entities.intern(c)).collect();
        let problems: Box<[u32]> = a.problems.iter().map(|c| self.entities.intern(c)).collect();
        for &h in &case.photo_hashes {
            self.photo_hashes.push(h);
            self.photo_rows.push(row_id);
        }
        let row = Row {
            id: case.id.as_str().into(),
            question: case.question.as_str().into(),
            group,
            words_len,
            grams_len,
            period: a.period,
            season: case.season,
            industry: self.strings.intern(&case.industry),
            crop: self.strings.intern(&case.crop),
            region: self.strings.intern(&case.region_code),
            source: self.strings.intern(&case.source),
            crops,
            problems,
            photos: case.photo_hashes.into(),
            deleted: false,
        };
        self.ids.insert(row.id.clone(), row_id);
        self.hot.push(Hot::of(&row));
        self.rows.push(row);
        self.live += 1;
        Ok(())
    }

    /// Removes a case from memory; `false` when there was none with this id.
    pub(crate) fn remove_mem(&mut self, id: &str) -> bool {
        let Some(r) = self.ids.remove(id) else { return false };
        let Some(row) = self.rows.get_mut(r as usize) else { return false };
        row.deleted = true;
        if let Some(h) = self.hot.get_mut(r as usize) {
            h.group = Hot::DELETED;
        }
        if let Some(g) = self.groups.get_mut(row.group as usize) {
            g.live = g.live.saturating_sub(1);
        }
        if !row.photos.is_empty() {
            let mut i = 0;
            while i < self.photo_rows.len() {
                if self.photo_rows[i] == r {
                    self.photo_rows.swap_remove(i);
                    self.photo_hashes.swap_remove(i);
                } else {
                    i += 1;
                }
            }
        }
        self.live -= 1;
        self.deleted += 1;
        true
    }

    /// Searches; see [`SimilarIndex::search_excluding`].
    pub fn search(&self, query: &SearchQuery, k: usize) -> Result<Vec<Hit>, SearchError> {
        self.search_excluding(query, k, None)
    }

    /// The `k` most similar distinct answers, best first, each shown by its best-matching case.
    /// `exclude` leaves one case out (the case being typed, or the probe of an evaluation):
    /// only that case, not the other cases that share its answer.
    pub fn search_excluding(
        &self,
        query: &SearchQuery,
        k: usize,
        exclude: Option<&str>,
    ) -> Result<Vec<Hit>, SearchError> {
        if k == 0 || k > RESULTS_MAX {
            return Err(SearchError::BadResultCount { max: RESULTS_MAX });
        }
        if query.text.chars().count() > QUERY_CHARS_MAX {
            return Err(SearchError::QueryTooLong { max_chars: QUERY_CHARS_MAX });
        }
        if query.photo_hashes.len() > QUERY_PHOTOS_MAX {
            return Err(SearchError::TooManyPhotos { max: QUERY_PHOTOS_MAX });
        }
        let q = analyze(&query.text);
        let excluded = exclude.and_then(|id| self.ids.get(id).copied());
        Ok(SCRATCH.with(|s| self.ranked(&q, query, k, excluded, &mut s.borrow_mut())))
    }

    /// Is this term too common to open candidates (see [`RankParams::common_df_fraction`])?
    fn is_common(&self, df: u32, docs: u32) -> bool {
        df as f32 > self.params.common_df_fraction * docs as f32
    }

    /// Adds one field's BM25 to the row accumulators. `common`: `None` scores every term,
    /// `Some(false)` only rare terms, `Some(true)` only common terms, and those only into rows
    /// already touched.
    fn score_rows(
        &self,
        field: &Field,
        terms: &[String],
        weight: f32,
        len: impl Fn(&Hot) -> u16,
        common: Option<bool>,
        s: &mut Scratch,
    ) {
        if weight == 0.0 {
            return;
        }
        let (avg, n, p) = (field.avg_len(), field.docs, &self.params);
        for (i, t) in terms.iter().enumerate() {
            if terms[..i].contains(t) {
                continue; // each query term counts once
            }
            let Some(list) = field.get(t) else { continue };
            let is_common = self.is_common(list.df, n);
            if common.is_some_and(|c| c != is_common) {
                continue;
            }
            let update_only = common == Some(true);
            let w = weight * idf(list.df, n);
            for (doc, tf) in list.iter() {
                let (Some(hot), Some(acc)) = (self.hot.get(doc as usize), s.row_acc.get_mut(doc as usize))
                else {
                    continue;
                };
                if *acc == 0.0 {
                    if update_only {
                        continue;
                    }
                    s.row_touched.push(doc);
                }
                *acc += w * bm25(tf, u32::from(len(hot)), avg, p.k1, p.b);
            }
        }
    }

    fn score_groups(&self, terms: &[String], weight: f32, s: &mut Scratch) {
        if weight == 0.0 {
            return;
        }
        let field = &self.answer_words;
        let (avg, n, p) = (field.avg_len(), field.docs, &self.params);
        for (i, t) in terms.iter().enumerate() {
            if terms[..i].contains(t) {
                continue;
            }
            let Some(list) = field.get(t) else { continue };
            let w = weight * idf(list.df, n);
            for (doc, tf) in list.iter() {
                let (Some(g), Some(acc)) = (self.groups.get(doc as usize), s.group_acc.get_mut(doc as usize))
                else {
                    continue;
                };
                if *acc == 0.0 {
                    s.group_touched.push(doc);
                }
                *acc += w * bm25(tf, g.answer_len, avg, p.k1, p.b);
            }
        }
    }

    fn ranked(
        &self,
        q: &Analysis,
        query: &SearchQuery,
        k: usize,
        excluded: Option<u32>,
        s: &mut Scratch,
    ) -> Vec<Hit> {
        let p = &self.params;
        let n_rows = self.rows.len();
        if s.row_acc.len() < n_rows {
            s.row_acc.resize(n_rows, 0.0);
        }
        if s.group_acc.len() < self.groups.len() {
            s.group_acc.resize(self.groups.len(), 0.0);
        }

        // 1. BM25 per field, term at a time.
        // Rare terms first; common ones then only refine what the rare ones found. A query made
        // of common words only (怎么防治) scores them all the plain way.
        let has_rare = [(&self.words, &q.words), (&self.grams, &q.grams)]
            .iter()
            .any(|(f, terms)| terms.iter().any(|t| f.get(t).is_some_and(|l| !self.is_common(l.df, f.docs))));
        if has_rare {
            for common in [false, true] {
                self.score_rows(&self.words, &q.words, p.w_words, |h| h.words_len, Some(common), s);
                self.score_rows(&self.grams, &q.grams, p.w_grams, |h| h.grams_len, Some(common), s);
            }
        } else {
            self.score_rows(&self.words, &q.words, p.w_words, |h| h.words_len, None, s);
            self.score_rows(&self.grams, &q.grams, p.w_grams, |h| h.grams_len, None, s);
        }
        self.score_groups(&q.words, p.w_answer, s);

        // 2. Candidates: best rows by text score, plus rows with a matching photo.
        let mut cands: Vec<(f32, u32)> = Vec::with_capacity(s.row_touched.len());
        for &r in &s.row_touched {
            let Some(hot) = self.hot.get(r as usize) else { continue };
            if hot.group == Hot::DELETED || Some(r) == excluded {
                continue;
            }
            let g = s.group_acc.get(hot.group as usize).copied().unwrap_or(0.0);
            cands.push((s.row_acc[r as usize] + g, r));
        }
        let m = p.candidates.max(k);
        if cands.len() > m {
            cands.select_nth_unstable_by(m - 1, |a, b| b.0.total_cmp(&a.0));
            cands.truncate(m);
        }
        let mut photo_best: HashMap<u32, u32> = HashMap::new();
        if !query.photo_hashes.is_empty() {
            for (i, &h) in self.photo_hashes.iter().enumerate() {
                let d = query.photo_hashes.iter().map(|&qh| hamming(qh, h)).min().unwrap_or(64);
                if d <= PHOTO_DISTANCE_MAX {
                    let r = self.photo_rows[i];
                    if Some(r) != excluded {
                        let e = photo_best.entry(r).or_insert(d);
                        *e = (*e).min(d);
                    }
                }
            }
            for &r in photo_best.keys() {
                if !cands.iter().any(|c| c.1 == r) {
                    cands.push((0.0, r));
                }
            }
        }
        // Reset the accumulators for the next search.
        for &r in &s.row_touched {
            s.row_acc[r as usize] = 0.0;
        }
        for &g in &s.group_touched {
            s.group_acc[g as usize] = 0.0;
        }
        s.row_touched.clear();
        s.group_touched.clear();
        if cands.is_empty() {
            return Vec::new();
        }

        // 3. Re-rank with entity, period and context features, scaled to the best text score.
        let scale = cands.iter().map(|c| c.0).fold(0.0f32, f32::max).max(1.0);
        let q_crops: Vec<u32> =
            q.crops.iter().filter_map(|c| self.entities.ids.get(c.as_str()).copied()).collect();
        let q_industry = query.industry.as_deref().unwrap_or("");
        let q_region = query.region_code.as_deref().unwrap_or("");
        let mut name_sim_cache: HashMap<u32, f32> = HashMap::new();
        let mut scored: Vec<(f32, u32)> = Vec::with_capacity(cands.len());
        for &(base, r) in &cands {
            let Some(row) = self.rows.get(r as usize) else { continue };
            let mut f = 0.0f32;
            if !q.crops.is_empty() && !row.crops.is_empty() {
                if row.crops.iter().any(|c| q_crops.contains(c)) {
                    f += p.crop_match;
                } else {
                    f -= p.crop_mismatch;
                }
            }
            if !q.problems.is_empty() && !row.problems.is_empty() {
                let mut best = 0.0f32;
                for &e in row.problems.iter() {
                    let sim = *name_sim_cache.entry(e).or_insert_with(|| {
                        let name = self.entities.name(e);
                        q.problems.iter().map(|qp| name_similarity(qp, name)).fold(0.0, f32::max)
                    });
                    best = best.max(sim);
                }
                f += p.problem_match * best - p.problem_mismatch * (1.0 - best);
            }
            if q.period != 0 {
                if row.period == 0 {
                    f -= p.period_missing;
                } else {
                    let ps = period_similarity(q.period, row.period);
                    if ps == 0.0 {
                        f -= p.period_mismatch;
                    } else {
                        f += p.period_match * ps;
                    }
                }
            }
            if !q_industry.is_empty() && self.strings.name(row.industry) == q_industry {
                f += p.industry_match;
            }
            if !q_region.is_empty() {
                f += p.region_match * region_levels(q_region, self.strings.name(row.region)) as f32 / 3.0;
            }
            if query.season.is_some() && query.season == row.season {
                f += p.season_match;
            }
            if let Some(&d) = photo_best.get(&r) {
                f += p.photo_match * (1.0 - d as f32 / (PHOTO_DISTANCE_MAX + 1) as f32);
            }
            scored.push((base + f * scale, r));
        }

        // 4. One result per answer: its best case, plus a share of its runners-up (an answer
        // that solved several questions like this one is the likelier solution).
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut by_group: HashMap<u32, (usize, f32, u8)> = HashMap::new(); // group -> (index of best, bonus, count)
        let mut order: Vec<u32> = Vec::new();
        for (i, &(sc, r)) in scored.iter().enumerate() {
            let Some(row) = self.rows.get(r as usize) else { continue };
            match by_group.get_mut(&row.group) {
                None => {
                    by_group.insert(row.group, (i, 0.0, 1));
                    order.push(row.group);
                }
                Some((_, bonus, n)) if *n < 3 => {
                    *bonus += p.vote * sc.max(0.0) / 2.0;
                    *n += 1;
                }
                Some(_) => {}
            }
        }
        let mut groups: Vec<(f32, usize)> = order
            .iter()
            .filter_map(|g| by_group.get(g))
            .map(|&(i, bonus, _)| (scored[i].0 + bonus, i))
            .collect();
        groups.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        groups
            .into_iter()
            .take(k)
            .filter_map(|(score, i)| {
                let r = scored[i].1;
                let row = self.rows.get(r as usize)?;
                let group = self.groups.get(row.group as usize)?;
                Some(Hit {
                    id: row.id.to_string(),
                    score,
                    question: row.question.to_string(),
                    answer: group.answer.to_string(),
                    photo_distance: photo_best.get(&r).copied(),
                })
            })
            .collect()
    }
}
