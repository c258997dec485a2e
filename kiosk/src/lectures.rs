//! 特派员讲堂 at the kiosk, readable without sign-in: the published lectures that reached it
//! (public documents), each with its cache state (已缓存 / 下载中 x% / 未缓存); a lecture's page
//! plays the video from the kiosk's own copy, so it works with no link; evicted or not fetched,
//! it says 需联网观看.
//!
//! The pre-fetch plan ([`run`]): the region's industries are those of the kiosk's cases, of the
//! published 地方特色产业 records whose region contains the kiosk, and the setting
//! [`INDUSTRIES_SETTING`]; the budget is the setting [`BUDGET_SETTING`] (bytes; the binary writes
//! it from `--lecture-budget-gb`), else 20 GB. `yizhan_lectures::plan` decides, the store keeps
//! the plan (sync then fetches only wanted lectures' files, after everything else, pausing for
//! any case: `yizhan_net`), and evicted lectures' files are deleted here.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use maud::Markup;
use yizhan_core::RegionCode;
use yizhan_core::published::PublishedDoc;
use yizhan_lectures::{CacheState, Candidate, Filter, Lecture, pages};
use yizhan_store::Hash;

use crate::AppState;
use crate::error::{AppError, PageError};
use crate::ui::{header_info, layout};

pub const LIST_PATH: &str = "/lectures";
/// The kiosk's lecture budget in bytes (a setting the binary writes).
pub const BUDGET_SETTING: &str = "lectures.budget_bytes";
/// More industries to pre-fetch for, comma-separated codes (a setting).
pub const INDUSTRIES_SETTING: &str = "lectures.industries";
/// Published lectures and industry records read at most.
const READ_MAX: u32 = 500;
/// The plan is made again at least this often (and whenever documents arrive).
const REPLAN_EVERY: Duration = Duration::from_secs(60);
/// The last month a views query reads (`YYYYMM`): every month.
const VIEW_MONTH_MAX: u32 = 999_912;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(LIST_PATH, get(list_page))
        .route("/lectures/{id}", get(lecture_page))
        .route("/lectures/{id}/file/{hash}", get(file))
}

async fn published(state: &AppState, prefix: &'static str) -> Result<Vec<PublishedDoc>, AppError> {
    Ok(state.store.call(move |db| db.published_of_kinds(prefix, READ_MAX)).await?)
}

/// Each lecture's cache state here: every file it needs held, or being fetched (the plan wants
/// it; bytes held so far, partial transfers counted), or not.
async fn states(state: &AppState, lectures: &[Lecture]) -> Result<BTreeMap<String, CacheState>, AppError> {
    let files: Vec<(String, Vec<(String, u64)>)> = lectures
        .iter()
        .map(|l| (l.id.clone(), l.cached_files().iter().map(|f| (f.hash.clone(), f.bytes)).collect()))
        .collect();
    Ok(state
        .store
        .call(move |db| {
            let plan = db.lecture_plan()?;
            let mut out = BTreeMap::new();
            for (id, files) in files {
                let mut done = 0u64;
                let mut all = !files.is_empty();
                let total: u64 = files.iter().map(|(_, b)| *b).sum();
                for (hash, bytes) in &files {
                    let Some(h) = Hash::parse(hash) else {
                        all = false;
                        continue;
                    };
                    if db.has_blob(&h)? {
                        done += bytes;
                    } else {
                        all = false;
                        done += db.partial_blob_bytes(&h).min(*bytes);
                    }
                }
                let wanted = plan.get(&id).is_some_and(|r| r.wanted);
                let s = if all {
                    CacheState::Cached
                } else if wanted {
                    CacheState::Downloading { done_bytes: done, total_bytes: total }
                } else {
                    CacheState::NotCached
                };
                out.insert(id, s);
            }
            Ok(out)
        })
        .await?)
}

async fn list_page(State(state): State<AppState>, Query(filter): Query<Filter>) -> Result<Markup, PageError> {
    let docs = published(&state, yizhan_lectures::PREFIX).await?;
    let lectures = yizhan_lectures::lectures(&docs, &filter);
    let states = states(&state, &lectures).await?;
    let region = state.config.scope.to_string();
    let views = state
        .store
        .call(move |db| db.lecture_views_by_lecture(&region, 0, VIEW_MONTH_MAX))
        .await
        .map_err(AppError::from)?;
    let header = header_info(&state).await;
    let list = pages::list(LIST_PATH, &lectures, &filter, &states, &views);
    // 特派员风采 has no header link of its own (the header is full): it is linked here.
    let body = maud::html! {
        p.showcase-link { a href=(crate::showcase::PAGE_PATH) data-testid="showcase-link" { "特派员风采：推荐专家 →" } }
        (list)
    };
    Ok(layout("特派员讲堂", header.as_ref(), None, body))
}

async fn lecture(state: &AppState, id: &str) -> Result<Lecture, AppError> {
    published(state, yizhan_lectures::PREFIX)
        .await?
        .iter()
        .find(|p| p.id == id)
        .and_then(Lecture::of)
        .ok_or(AppError::NotFound)
}

/// A lecture's page: opening it counts as watching it now (its files are then the last to go)
/// and is one view (`yizhan_core::lecture_views`), recorded here offline too and synced up.
async fn lecture_page(State(state): State<AppState>, Path(id): Path<String>) -> Result<Markup, PageError> {
    let l = lecture(&state, &id).await?;
    let watched = l.id.clone();
    let (node, region) = (state.node_id.clone(), state.config.scope.to_string());
    let views = state
        .store
        .call(move |db| {
            db.lecture_watched(&watched)?;
            // A view that cannot be counted never keeps the lecture from being watched.
            if let Err(e) = db.record_lecture_view(&node, &region, &watched) {
                tracing::warn!(lecture = %watched, error = %e, "lecture view not counted");
            }
            Ok(db.lecture_views_by_lecture(&region, 0, VIEW_MONTH_MAX)?.get(&watched).copied())
        })
        .await
        .map_err(AppError::from)?;
    let s = states(&state, std::slice::from_ref(&l)).await?.get(&l.id).copied();
    let hashes: Vec<String> =
        [&l.video_proxy, &l.poster, &l.pdf].into_iter().flatten().map(|f| f.hash.clone()).collect();
    let held = state
        .store
        .call(move |db| db.blobs_held(hashes.iter().map(String::as_str)))
        .await
        .map_err(AppError::from)?;
    let held = |h: &str| held.contains(h);
    let header = header_info(&state).await;
    Ok(layout(&l.title, header.as_ref(), None, pages::page(LIST_PATH, &l, s, &held, views)))
}

/// A file of a published lecture, for everyone (range requests: video seeking). Playing it
/// counts as watching.
async fn file(
    State(state): State<AppState>,
    Path((id, hash)): Path<(String, String)>,
    req: axum::extract::Request,
) -> Result<Response, PageError> {
    let l = lecture(&state, &id).await?;
    if !l.has_file(&hash) {
        return Err(AppError::NotFound.into());
    }
    let watched = l.id.clone();
    state.store.call(move |db| db.lecture_watched(&watched)).await.map_err(AppError::from)?;
    Ok(yizhan_uploads::serve_blob(&state.store, &hash, req, false).await.into_response())
}

/// The industries the kiosk pre-fetches lectures for (see the module's documentation).
async fn region_industries(state: &AppState) -> Result<BTreeSet<String>, AppError> {
    let scope = state.config.scope.clone();
    let records = published(state, "industry.").await?;
    let (cases, extra) = state
        .store
        .call(|db| Ok((db.case_industries()?, db.setting(INDUSTRIES_SETTING)?.unwrap_or_default())))
        .await?;
    let from_records = records.iter().filter(|p| p.kind == "industry.local").filter_map(|p| {
        let region = p.fields.iter().find(|f| f.key == "region").map(|f| f.value.trim().to_string());
        let covers = region
            .or_else(|| Some(p.centre.clone()))
            .and_then(|r| RegionCode::parse(&r).ok())
            .is_some_and(|r| r.contains(&scope));
        covers.then(|| p.fields.iter().find(|f| f.key == "industry").map(|f| f.value.clone())).flatten()
    });
    let codes: Vec<String> =
        cases.into_iter().chain(from_records).chain(extra.split(',').map(str::to_string)).collect();
    Ok(yizhan_lectures::region_industries(codes.iter().map(String::as_str)))
}

/// Makes the plan once: which lectures to keep, and evicts the others' files.
pub async fn plan_once(state: &AppState) -> Result<yizhan_lectures::Plan, AppError> {
    let industries = region_industries(state).await?;
    let docs = published(state, yizhan_lectures::PREFIX).await?;
    let lectures = yizhan_lectures::lectures(&docs, &Filter::default());
    let now = state.clock.now_ms();
    let (rows, budget) = state.store.call(|db| Ok((db.lecture_plan()?, db.setting(BUDGET_SETTING)?))).await?;
    let budget =
        budget.and_then(|b| b.trim().parse::<u64>().ok()).unwrap_or(yizhan_lectures::BUDGET_BYTES_DEFAULT);
    let candidates: Vec<Candidate> = lectures
        .iter()
        .map(|l| Candidate {
            id: l.id.clone(),
            industry: l.industry.clone(),
            bytes: l.cached_bytes(),
            published_at_ms: l.published_at_ms,
            last_watched_ms: rows.get(&l.id).and_then(|r| r.last_watched_ms),
        })
        .collect();
    let plan = yizhan_lectures::plan(&candidates, &industries, budget, now);
    let (wanted, evict): (Vec<String>, Vec<String>) =
        (plan.wanted.iter().cloned().collect(), plan.evict.iter().cloned().collect());
    let freed = state
        .store
        .call(move |db| {
            db.set_lecture_plan(&wanted, &evict)?;
            let mut freed = 0;
            for id in &evict {
                freed += db.evict_lecture_blobs(id)?;
            }
            Ok(freed)
        })
        .await?;
    if freed > 0 {
        tracing::info!(bytes = freed, "evicted lectures past the budget");
    }
    Ok(plan)
}

/// Keeps the plan: at start, whenever documents arrive (debounced by the plan's own cost) and
/// every [`REPLAN_EVERY`].
pub async fn run(state: AppState) {
    if let Err(e) = state.store.call(|db| db.set_lectures_planned()).await {
        tracing::error!(error = %e, "cannot mark the lecture plan");
        return;
    }
    let mut feed = state.store.subscribe_feed();
    loop {
        if let Err(e) = plan_once(&state).await {
            tracing::warn!(error = %e, "lecture plan failed");
        }
        tokio::select! {
            changed = feed.changed() => if changed.is_err() { return },
            () = tokio::time::sleep(REPLAN_EVERY) => {}
        }
    }
}
