//! The evaluation protocol of `shared/data/similar/README.md`, the plain-BM25 baseline it is
//! compared with, and the import of files in the same JSONL format.

use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::LazyLock;
use std::time::Instant;

use jieba_rs::Jieba;
use serde::Deserialize;

use crate::case::KnowledgeCase;
use crate::error::ImportError;
use crate::index::{RankParams, SearchQuery, SimilarIndex};

/// Most rows read from one JSONL file.
pub const JSONL_ROWS_MAX: usize = 5_000_000;
/// Longest line accepted (a case is at most ~100 KB of text).
const JSONL_LINE_BYTES_MAX: u64 = 1 << 20;

/// One line of an evaluation or import file. The evaluation format has `query`, `cluster`,
/// `answer`, `season`; knowledge files may use the field names of [`KnowledgeCase`] instead.
#[derive(Debug, Clone, Deserialize)]
pub struct JsonlRow {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default, alias = "question")]
    pub query: String,
    #[serde(default)]
    pub cluster: Option<serde_json::Value>,
    pub answer: String,
    #[serde(default)]
    pub season: Option<serde_json::Value>,
    #[serde(default)]
    pub industry: String,
    #[serde(default)]
    pub crop: String,
    #[serde(default)]
    pub region_code: String,
    #[serde(default)]
    pub source: String,
}

impl JsonlRow {
    fn season(&self) -> Option<u8> {
        self.season.as_ref().and_then(serde_json::Value::as_u64).and_then(|s| u8::try_from(s).ok())
    }

    fn cluster_key(&self) -> String {
        match &self.cluster {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(v) => v.to_string(),
            None => String::new(),
        }
    }
}

/// Reads a JSONL file of [`JsonlRow`]s (blank lines skipped).
pub fn read_jsonl(path: &Path) -> Result<Vec<JsonlRow>, ImportError> {
    let io = |source| ImportError::Io { path: path.to_owned(), source };
    let mut reader = BufReader::new(File::open(path).map_err(io)?);
    let mut rows = Vec::new();
    let mut buf = String::new();
    let mut line_no = 0;
    loop {
        buf.clear();
        let n = (&mut reader).take(JSONL_LINE_BYTES_MAX).read_line(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        line_no += 1;
        if n as u64 == JSONL_LINE_BYTES_MAX && !buf.ends_with('\n') {
            return Err(ImportError::Line {
                path: path.to_owned(),
                line: line_no,
                reason: "line too long".into(),
            });
        }
        if buf.trim().is_empty() {
            continue;
        }
        let row: JsonlRow = serde_json::from_str(buf.trim()).map_err(|e| ImportError::Line {
            path: path.to_owned(),
            line: line_no,
            reason: e.to_string(),
        })?;
        if rows.len() >= JSONL_ROWS_MAX {
            return Err(ImportError::TooManyRows { path: path.to_owned(), max: JSONL_ROWS_MAX });
        }
        rows.push(row);
    }
    Ok(rows)
}

fn row_case(row: &JsonlRow, fallback_id: String, source: &str) -> KnowledgeCase {
    KnowledgeCase {
        id: row.id.clone().unwrap_or(fallback_id),
        question: row.query.clone(),
        answer: row.answer.clone(),
        industry: row.industry.clone(),
        crop: row.crop.clone(),
        season: row.season(),
        region_code: row.region_code.clone(),
        source: if row.source.is_empty() { source.to_owned() } else { row.source.clone() },
        photo_hashes: Vec::new(),
    }
}

/// What an import did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportReport {
    pub added: usize,
    /// Rows refused by the case limits (empty answer, too long ...).
    pub refused: usize,
}

/// Loads a JSONL file into `index` (the `yizhan similar-import` command). Rows without an `id`
/// get `<file stem>:<row number>`, so importing the same file twice replaces, not duplicates.
/// Personal numbers are scrubbed on the way in. On a directory-backed index this ends with a
/// checkpoint.
pub fn import_jsonl(path: &Path, index: &mut SimilarIndex) -> Result<ImportReport, ImportError> {
    let rows = read_jsonl(path)?;
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("import").to_owned();
    let n = rows.len();
    let refused = index.upsert_batch(
        rows.iter().enumerate().map(|(i, r)| row_case(r, format!("{stem}:{}", i + 1), &stem)),
    )?;
    Ok(ImportReport { added: n - refused, refused })
}

/// Which clusters of the file to evaluate on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    All,
    /// One half of the clusters, chosen by a hash of the cluster id's part before `_` (the
    /// problem), so the periods of one problem stay together: half 0 or half 1. Used to tune on
    /// one half and report on the other.
    Half(u8),
}

#[derive(Debug, Clone)]
pub struct EvalOptions {
    pub params: RankParams,
    pub split: Split,
}

impl Default for EvalOptions {
    fn default() -> Self {
        EvalOptions { params: RankParams::default(), split: Split::All }
    }
}

/// Figures of one evaluation run.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalReport {
    pub method: String,
    pub cases: usize,
    pub answers: usize,
    pub probes: usize,
    pub recall_at_1: f64,
    pub recall_at_5: f64,
    pub mrr_at_10: f64,
    pub latency_p50_ms: f64,
    pub latency_p99_ms: f64,
    pub build_s: f64,
}

impl fmt::Display for EvalReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "recall@1: {:.3}", self.recall_at_1)?;
        writeln!(f, "recall@5: {:.3}", self.recall_at_5)?;
        writeln!(f, "mrr@10: {:.3}", self.mrr_at_10)?;
        writeln!(f, "latency_p50_ms: {:.3}", self.latency_p50_ms)?;
        writeln!(f, "latency_p99_ms: {:.3}", self.latency_p99_ms)?;
        writeln!(f, "probes: {}", self.probes)?;
        writeln!(f, "cases: {}", self.cases)?;
        writeln!(f, "answers: {}", self.answers)?;
        writeln!(f, "method: {}", self.method)?;
        write!(f, "build_s: {:.2}", self.build_s)
    }
}

fn half_of(cluster: &str) -> u8 {
    let problem = cluster.split('_').next().unwrap_or(cluster);
    let h = problem
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3));
    // splitmix64 finaliser: FNV's low and high bits are poorly mixed for short numeric ids.
    let mut z = h.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    ((z ^ (z >> 31)) & 1) as u8
}

fn select(rows: Vec<JsonlRow>, split: Split) -> Vec<JsonlRow> {
    match split {
        Split::All => rows,
        Split::Half(h) => rows.into_iter().filter(|r| half_of(&r.cluster_key()) == h).collect(),
    }
}

struct Metrics {
    hits1: usize,
    hits5: usize,
    rr: f64,
    probes: usize,
    lat_ms: Vec<f64>,
}

impl Metrics {
    fn new() -> Metrics {
        Metrics { hits1: 0, hits5: 0, rr: 0.0, probes: 0, lat_ms: Vec::new() }
    }
    fn add(&mut self, relevant_rank: Option<usize>, ms: f64) {
        self.probes += 1;
        self.lat_ms.push(ms);
        if let Some(r) = relevant_rank {
            self.hits1 += usize::from(r == 0);
            self.hits5 += usize::from(r < 5);
            if r < 10 {
                self.rr += 1.0 / (r + 1) as f64;
            }
        }
    }
    fn report(mut self, method: &str, cases: usize, answers: usize, build_s: f64) -> EvalReport {
        self.lat_ms.sort_by(f64::total_cmp);
        let pct = |p: f64| {
            if self.lat_ms.is_empty() {
                0.0
            } else {
                self.lat_ms[((self.lat_ms.len() - 1) as f64 * p).round() as usize]
            }
        };
        let n = self.probes.max(1) as f64;
        EvalReport {
            method: method.to_owned(),
            cases,
            answers,
            probes: self.probes,
            recall_at_1: self.hits1 as f64 / n,
            recall_at_5: self.hits5 as f64 / n,
            mrr_at_10: self.rr / n,
            latency_p50_ms: pct(0.5),
            latency_p99_ms: pct(0.99),
            build_s,
        }
    }
}

/// Runs the protocol with the default ranking on the whole file.
pub fn evaluate(dataset: &Path) -> Result<EvalReport, ImportError> {
    evaluate_with(dataset, &EvalOptions::default())
}

/// Runs the protocol: every row is indexed as a solved case (its query as the question, its
/// answer); every row whose cluster has at least two rows is searched with its query alone,
/// leaving only that row out; a result is relevant when its case's cluster is the probe's.
/// Results are distinct answers, as the kiosk shows them.
pub fn evaluate_with(dataset: &Path, opts: &EvalOptions) -> Result<EvalReport, ImportError> {
    let mut ev = Evaluation::load(dataset, opts.split)?;
    Ok(ev.run(&opts.params))
}

/// An evaluation file loaded and indexed once, to be run with several ranking weights.
pub struct Evaluation {
    rows: Vec<JsonlRow>,
    clusters: Vec<String>,
    index: SimilarIndex,
    build_s: f64,
}

impl Evaluation {
    pub fn load(dataset: &Path, split: Split) -> Result<Evaluation, ImportError> {
        let rows = select(read_jsonl(dataset)?, split);
        let t = Instant::now();
        let mut index = SimilarIndex::new();
        let cases: Vec<KnowledgeCase> =
            rows.iter().enumerate().map(|(i, r)| row_case(r, format!("r{i}"), "eval")).collect();
        index.upsert_batch(cases)?;
        let build_s = t.elapsed().as_secs_f64();
        let clusters = rows.iter().map(JsonlRow::cluster_key).collect();
        Ok(Evaluation { rows, clusters, index, build_s })
    }

    pub fn run(&mut self, params: &RankParams) -> EvalReport {
        self.index.set_params(params.clone());
        let mut sizes: HashMap<&str, usize> = HashMap::new();
        for c in &self.clusters {
            *sizes.entry(c.as_str()).or_default() += 1;
        }
        let clusters = &self.clusters;
        let cluster_of = |id: &str| {
            id.strip_prefix('r').and_then(|n| n.parse::<usize>().ok()).and_then(|i| clusters.get(i))
        };
        let mut m = Metrics::new();
        for (i, row) in self.rows.iter().enumerate() {
            if sizes.get(clusters[i].as_str()).copied().unwrap_or(0) < 2 {
                continue;
            }
            let id = format!("r{i}");
            let t = Instant::now();
            let hits = self
                .index
                .search_excluding(&SearchQuery::text(row.query.clone()), 10, Some(&id))
                .unwrap_or_default();
            let ms = t.elapsed().as_secs_f64() * 1e3;
            m.add(hits.iter().position(|h| cluster_of(&h.id) == Some(&clusters[i])), ms);
        }
        m.report(
            "similar (BM25F + entities + periods + answer dedup)",
            self.index.len(),
            self.index.answers_len(),
            self.build_s,
        )
    }

    /// Probes whose relevant answer is not in the top `k`, with what came first (for error
    /// analysis during development).
    pub fn misses(&self, k: usize) -> Vec<(String, String, String)> {
        let clusters = &self.clusters;
        let mut out = Vec::new();
        for (i, row) in self.rows.iter().enumerate() {
            let id = format!("r{i}");
            let hits = self
                .index
                .search_excluding(&SearchQuery::text(row.query.clone()), k, Some(&id))
                .unwrap_or_default();
            let hit = |h: &crate::index::Hit| {
                h.id.strip_prefix('r').and_then(|n| n.parse::<usize>().ok()).and_then(|j| clusters.get(j))
                    == Some(&clusters[i])
            };
            if !hits.iter().any(hit) && clusters.iter().filter(|c| **c == clusters[i]).count() > 1 {
                let first = hits.first().map(|h| h.question.clone()).unwrap_or_default();
                out.push((clusters[i].clone(), row.query.clone(), first));
            }
        }
        out
    }
}

/// jieba with its default dictionary only: the baseline must not benefit from our vocabulary.
/// Built only when the baseline runs (evaluation), never on a kiosk.
static PLAIN_JIEBA: LazyLock<Jieba> = LazyLock::new(Jieba::new);

fn plain_words(text: &str) -> Vec<String> {
    PLAIN_JIEBA
        .cut(text, true)
        .into_iter()
        .map(|t| t.word.trim().to_lowercase())
        .filter(|w| w.chars().any(char::is_alphanumeric))
        .collect()
}

/// Which text the baseline indexes per row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BaselineDoc {
    Question,
    QuestionAndAnswer,
}

/// The reference method: plain BM25 (k1 1.2, b 0.75) over jieba words, one ranked list of rows
/// (no answer dedup), same probes and relevance.
pub fn evaluate_baseline(
    dataset: &Path,
    split: Split,
    doc: BaselineDoc,
    dedup: bool,
) -> Result<EvalReport, ImportError> {
    let rows = select(read_jsonl(dataset)?, split);
    let t = Instant::now();
    let docs: Vec<Vec<String>> = rows
        .iter()
        .map(|r| match doc {
            BaselineDoc::Question => plain_words(&r.query),
            BaselineDoc::QuestionAndAnswer => plain_words(&format!("{} {}", r.query, r.answer)),
        })
        .collect();
    let mut post: HashMap<&str, Vec<(u32, u32)>> = HashMap::new();
    for (d, words) in docs.iter().enumerate() {
        for (w, tf) in crate::postings::term_counts(words) {
            post.entry(w).or_default().push((d as u32, tf));
        }
    }
    let n = docs.len() as f32;
    let avg = docs.iter().map(Vec::len).sum::<usize>() as f32 / n.max(1.0);
    let build_s = t.elapsed().as_secs_f64();
    let clusters: Vec<String> = rows.iter().map(JsonlRow::cluster_key).collect();
    let mut sizes: HashMap<&str, usize> = HashMap::new();
    for c in &clusters {
        *sizes.entry(c.as_str()).or_default() += 1;
    }
    let mut m = Metrics::new();
    let mut acc = vec![0f32; docs.len()];
    for (i, row) in rows.iter().enumerate() {
        if sizes.get(clusters[i].as_str()).copied().unwrap_or(0) < 2 {
            continue;
        }
        let t = Instant::now();
        acc.iter_mut().for_each(|a| *a = 0.0);
        let q = plain_words(&row.query);
        let mut seen: Vec<&str> = Vec::new();
        for w in &q {
            if seen.contains(&w.as_str()) {
                continue;
            }
            seen.push(w);
            let Some(list) = post.get(w.as_str()) else { continue };
            let df = list.len() as f32;
            let idf = (1.0 + (n - df + 0.5) / (df + 0.5)).ln();
            for &(d, tf) in list {
                let (tf, dl) = (tf as f32, docs[d as usize].len() as f32);
                acc[d as usize] += idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * dl / avg));
            }
        }
        let mut ranked: Vec<(f32, usize)> =
            acc.iter().enumerate().filter(|&(d, &s)| d != i && s > 0.0).map(|(d, &s)| (s, d)).collect();
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut top: Vec<usize> = Vec::new();
        let mut answers_seen: Vec<&str> = Vec::new();
        for &(_, d) in &ranked {
            if top.len() == 10 {
                break;
            }
            if dedup {
                if answers_seen.contains(&rows[d].answer.as_str()) {
                    continue;
                }
                answers_seen.push(&rows[d].answer);
            }
            top.push(d);
        }
        let ms = t.elapsed().as_secs_f64() * 1e3;
        m.add(top.iter().position(|&d| clusters[d] == clusters[i]), ms);
    }
    let method =
        format!("plain BM25 over jieba words ({doc:?}{})", if dedup { ", answer dedup" } else { "" });
    Ok(m.report(&method, rows.len(), 0, build_s))
}
