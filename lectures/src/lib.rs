//! 特派员讲堂 (lectures), under 成果转化: training materials (a video and/or a PDF) uploaded by
//! experts and centre staff at their hub desk, reviewed and signed off by two other people on the
//! one publication pipeline (kind `lectures.lecture`), public at hubs and kiosks.
//!
//! A lecture's large files (the video's original and proxy, the PDF) are attachments of kind
//! [`BLOB_KIND`]: sync fetches them after every other blob, and a kiosk only those its
//! [`plan`] wants (its region's industries, within its storage budget, least recently watched
//! evicted first). The video's poster stays an ordinary `video` poster (small, fetched early).
//! Pure: no store, no HTTP server, no clock.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use yizhan_core::item::{FieldSpec, ItemDoc, Kind};
use yizhan_core::publication::Rules;
use yizhan_core::published::PublishedDoc;
use yizhan_core::{Industry, RegionLevel};

pub mod pages;

pub const LECTURE: &str = "lectures.lecture";
/// The prefix of this module's kinds. Not `achievements.`: the targets count "achievement
/// supply/demand items" by that prefix, and a lecture is neither.
pub const PREFIX: &str = "lectures.";
/// The attachment kind of a lecture's large files (video original and proxy, PDF): sync ranks
/// them last, and a kiosk fetches them only as its plan wants.
pub const BLOB_KIND: &str = "lecture";
/// The role of a lecture's PDF (the document as shown; a kiosk that fetches no originals still
/// fetches it).
pub const PDF_ROLE: &str = "display";
/// A PDF uploaded at most (bytes).
pub const PDF_BYTES_MAX: u64 = 100 * 1024 * 1024;
/// A kiosk's storage budget for lectures by default (20 GB).
pub const BUDGET_BYTES_DEFAULT: u64 = 20 * 1000 * 1000 * 1000;
/// A lecture watched within this time is being watched: never evicted.
pub const WATCHING_MS: i64 = 3 * 60 * 60 * 1000;

pub const RULES: Rules = Rules {
    combined_sign_off: false,
    lowest_centre: RegionLevel::County,
    highest_centre: RegionLevel::Province,
};

const fn field(key: &'static str, label_zh: &'static str, required: bool) -> FieldSpec {
    FieldSpec { key, label_zh, required, multi_line: false }
}

pub const FIELDS: &[FieldSpec] = &[field("industry", "产业", true), field("speaker", "主讲人", true)];

pub fn kinds() -> Vec<Kind> {
    vec![Kind { name: LECTURE, name_zh: "特派员讲堂", rules: RULES, fields: FIELDS, check: check_item }]
}

/// Whether bytes are a PDF file (its header).
pub fn is_pdf(bytes: &[u8]) -> bool {
    bytes.starts_with(b"%PDF-")
}

/// The kind's own checks: a known industry, a speaker, the IP owner, a centre (not a village
/// station) owns it, and at least one video or PDF.
pub fn check_item(item: &ItemDoc) -> Vec<String> {
    let mut problems = Vec::new();
    let get = |k: &str| item.fields.get(k).map_or("", |v| v.trim());
    if RegionLevel::of(&item.centre).is_none_or(|l| l > RegionLevel::County) {
        problems.push("讲座须由运管中心上传".into());
    }
    let industry = get("industry");
    if !industry.is_empty() && Industry::from_code(industry).is_none() {
        problems.push(format!("产业“{industry}”不是 10+3 产业之一"));
    }
    if item.ip_owner.trim().is_empty() {
        problems.push("请填写知识产权归属".into());
    }
    let has_video = item.attachments.values().any(|a| a.kind == BLOB_KIND && a.role == "original");
    let has_pdf = item.attachments.values().any(|a| a.kind == BLOB_KIND && a.role == PDF_ROLE);
    if !has_video && !has_pdf {
        problems.push("请上传讲座视频或 PDF 课件".into());
    }
    // The published document is made from the item as signed off: a video is published with
    // its proxy (what hubs and kiosks play), so it waits for the transcoding.
    let has_proxy = item.attachments.values().any(|a| a.kind == BLOB_KIND && a.role == "proxy");
    if has_video && !has_proxy {
        problems.push("视频正在转码，完成后再提交审核".into());
    }
    problems
}

/// A file of a lecture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    pub hash: String,
    pub bytes: u64,
    pub mime: String,
}

/// A published lecture as pages and the kiosk's plan read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lecture {
    pub id: String,
    pub title: String,
    pub industry: String,
    pub speaker: String,
    pub description: String,
    pub ip_owner: String,
    pub centre: String,
    pub published_at_ms: i64,
    pub signed_off_by: String,
    pub video_original: Option<File>,
    pub video_proxy: Option<File>,
    pub poster: Option<File>,
    pub pdf: Option<File>,
}

impl Lecture {
    pub fn of(p: &PublishedDoc) -> Option<Lecture> {
        if p.kind != LECTURE || p.is_withdrawn() {
            return None;
        }
        let get = |k: &str| {
            p.fields.iter().find(|f| f.key == k).map(|f| f.value.trim().to_string()).unwrap_or_default()
        };
        let file = |kind: &str, role: &str| {
            p.attachments
                .values()
                .filter(|a| a.kind == kind && a.role == role)
                .min_by(|a, b| a.hash.cmp(&b.hash))
                .map(|a| File { hash: a.hash.clone(), bytes: a.bytes, mime: a.mime.clone() })
        };
        let pdf = p
            .attachments
            .values()
            .find(|a| a.kind == BLOB_KIND && a.role == PDF_ROLE && a.mime == "application/pdf")
            .map(|a| File { hash: a.hash.clone(), bytes: a.bytes, mime: a.mime.clone() });
        Some(Lecture {
            id: p.id.clone(),
            title: p.title.clone(),
            industry: get("industry"),
            speaker: get("speaker"),
            description: p.body.clone(),
            ip_owner: p.ip_owner.clone(),
            centre: p.centre.clone(),
            published_at_ms: p.published_at_ms,
            signed_off_by: p.signed_off_by.clone(),
            video_original: file(BLOB_KIND, "original"),
            video_proxy: file(BLOB_KIND, "proxy"),
            poster: file("video", "poster"),
            pdf,
        })
    }

    /// The files a kiosk keeps to show it offline: the video's proxy (the original stays at
    /// the hubs) and the PDF.
    pub fn cached_files(&self) -> Vec<&File> {
        self.video_proxy.iter().chain(self.pdf.iter()).collect()
    }

    pub fn cached_bytes(&self) -> u64 {
        self.cached_files().iter().map(|f| f.bytes).sum()
    }

    /// Whether `hash` is one of its files (what its page may serve).
    pub fn has_file(&self, hash: &str) -> bool {
        [&self.video_original, &self.video_proxy, &self.poster, &self.pdf]
            .into_iter()
            .flatten()
            .any(|f| f.hash == hash)
    }
}

/// Published lectures among `docs`, newest first, passing `filter`.
pub fn lectures(docs: &[PublishedDoc], filter: &Filter) -> Vec<Lecture> {
    let mut out: Vec<Lecture> = docs.iter().filter_map(Lecture::of).filter(|l| filter.matches(l)).collect();
    out.sort_by(|a, b| b.published_at_ms.cmp(&a.published_at_ms).then_with(|| a.id.cmp(&b.id)));
    out
}

/// What a list shows (its query string).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Filter {
    #[serde(default)]
    pub industry: String,
}

impl Filter {
    pub fn matches(&self, l: &Lecture) -> bool {
        self.industry.trim().is_empty() || l.industry == self.industry.trim()
    }
}

/// Where a lecture stands on this node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheState {
    /// Every file it needs is held here: it plays with no link.
    Cached,
    /// Being fetched: bytes held of the total.
    Downloading { done_bytes: u64, total_bytes: u64 },
    /// Not held (outside the plan, evicted, or not reached yet): needs the link.
    NotCached,
}

impl CacheState {
    pub fn label_zh(self) -> String {
        match self {
            CacheState::Cached => "已缓存".into(),
            CacheState::Downloading { done_bytes, total_bytes } => {
                let pct = (done_bytes.saturating_mul(100)).checked_div(total_bytes).unwrap_or(0).min(99);
                format!("下载中 {pct}%")
            }
            CacheState::NotCached => "未缓存".into(),
        }
    }
}

/// One lecture as the kiosk's plan sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub id: String,
    pub industry: String,
    /// Bytes of its [`Lecture::cached_files`].
    pub bytes: u64,
    pub published_at_ms: i64,
    /// When it was last watched here (the store's clock), if ever.
    pub last_watched_ms: Option<i64>,
}

/// What the kiosk keeps: lectures to hold (fetch if missing) and lectures to evict.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub wanted: BTreeSet<String>,
    pub evict: BTreeSet<String>,
}

/// The kiosk's pre-fetch plan. Lectures of `industries` (the kiosk's region's) are wanted, most
/// recently watched first (never watched: newest published first), while their bytes fit in
/// `budget_bytes`; a lecture watched within [`WATCHING_MS`] of `now_ms` is always kept (it is
/// being watched), even past the budget. Every other lecture is evicted (the least recently
/// watched go first because they are the ones that no longer fit). Lectures of other
/// industries are not fetched, but one watched here (fetched over the link) is kept the same way.
pub fn plan(candidates: &[Candidate], industries: &BTreeSet<String>, budget_bytes: u64, now_ms: i64) -> Plan {
    let watching = |c: &Candidate| c.last_watched_ms.is_some_and(|t| now_ms.saturating_sub(t) < WATCHING_MS);
    let mut order: Vec<&Candidate> = candidates
        .iter()
        .filter(|c| industries.contains(&c.industry) || c.last_watched_ms.is_some())
        .collect();
    // Most recently watched first, then never watched by newest publication.
    order.sort_by(|a, b| {
        b.last_watched_ms
            .cmp(&a.last_watched_ms)
            .then_with(|| b.published_at_ms.cmp(&a.published_at_ms))
            .then_with(|| a.id.cmp(&b.id))
    });
    let mut used: u64 = candidates.iter().filter(|c| watching(c)).map(|c| c.bytes).sum();
    let mut plan = Plan::default();
    for c in &order {
        if watching(c) {
            plan.wanted.insert(c.id.clone());
            continue;
        }
        if used.saturating_add(c.bytes) <= budget_bytes {
            used += c.bytes;
            plan.wanted.insert(c.id.clone());
        }
    }
    for c in candidates {
        if !plan.wanted.contains(&c.id) {
            plan.evict.insert(c.id.clone());
        }
    }
    plan
}

/// The industries a kiosk pre-fetches for: those of its cases and of its county's published
/// industry records (codes of the 10+3 only), plus any it is configured with.
pub fn region_industries<'a>(codes: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
    codes
        .into_iter()
        .map(str::trim)
        .filter(|c| Industry::from_code(c).is_some())
        .map(str::to_string)
        .collect()
}

/// Views counted per lecture (for the statistics line).
pub type Views = BTreeMap<String, u64>;

#[cfg(test)]
mod tests;
