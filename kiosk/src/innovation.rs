//! 农村双创平台 at the kiosk, readable without sign-in (also on the station network): the map
//! and list (`/innovation`) and its JSON (`/api/innovation`) from the published platforms that
//! reached the kiosk by sync, so it works with no link; and the nearest platforms beside
//! industry records and bounties (基地选择的参考). Centres register platforms at their hubs.

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use maud::Markup;
use yizhan_achievements::map;
use yizhan_achievements::platform::{self, Platform, PlatformFilter};

use crate::AppState;
use crate::error::{AppError, PageError};
use crate::ui::{header_info, shell};

pub fn routes() -> Router<AppState> {
    Router::new().route(map::PAGE_PATH, get(page)).route(map::API_PATH, get(api))
}

/// The published platforms the kiosk holds (not withdrawn), in the map's order.
pub async fn platforms(state: &AppState, filter: &PlatformFilter) -> Result<Vec<Platform>, AppError> {
    let docs = state.store.call(|db| db.published_of_kinds(platform::PLATFORM, map::PLATFORMS_MAX)).await?;
    Ok(platform::platforms(&docs, filter))
}

/// The 基地选择的参考 section for a record of `industry` in `region`, if any.
pub async fn suggestion(state: &AppState, region: &str, industry: &str) -> Result<Option<Markup>, AppError> {
    let all = platforms(state, &PlatformFilter::default()).await?;
    Ok(map::suggestion(&all, region, industry))
}

async fn page(
    State(state): State<AppState>,
    who: Option<yizhan_accounts::SignedIn>,
    Query(filter): Query<PlatformFilter>,
) -> Result<Markup, PageError> {
    let shown = platforms(&state, &filter).await?;
    let header = header_info(&state).await;
    let who = who.map(|s| s.0);
    let mut shell = shell(header.as_ref(), who.as_ref());
    shell.scripts = vec![yizhan_web::assets::ECHARTS_PATH, yizhan_web::assets::INNOVATION_PATH];
    Ok(shell.render("农村双创平台", map::page(&filter, &shown, yizhan_web::assets::MAPS_PATH, false)))
}

/// The platforms passing the filter (the hub's `/api/innovation` answers the same shape).
async fn api(
    State(state): State<AppState>,
    Query(filter): Query<PlatformFilter>,
) -> Result<Json<serde_json::Value>, PageError> {
    let platforms = platforms(&state, &filter).await?;
    Ok(Json(serde_json::json!({ "platforms": platforms })))
}
