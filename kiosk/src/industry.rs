//! 产业信息 at the kiosk, readable without sign-in: the published industry records that
//! reached it by sync (public documents), the list with filters and search, and a record's
//! page with 相关信息, computed here from the kiosk's own documents (`yizhan_industry`), so it
//! works with no link. A withdrawn record is gone the moment its withdrawal arrives.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::routing::get;
use maud::Markup;
use yizhan_industry::catalogue::{self, Filter};
use yizhan_industry::pages;

use crate::AppState;
use crate::error::{AppError, PageError};
use crate::ui::{header_info, layout};

pub fn routes() -> Router<AppState> {
    Router::new().route("/industry", get(list_page)).route("/industry/{id}", get(record_page))
}

async fn list_page(State(state): State<AppState>, Query(filter): Query<Filter>) -> Result<Markup, PageError> {
    let all = catalogue::records(&state.store).await.map_err(AppError::from)?;
    let (total, shown) = catalogue::search(&all, &filter);
    let header = header_info(&state).await;
    Ok(layout("产业信息", header.as_ref(), None, pages::list(&filter, total, &shown)))
}

async fn record_page(State(state): State<AppState>, Path(id): Path<String>) -> Result<Markup, PageError> {
    let all = catalogue::records(&state.store).await.map_err(AppError::from)?;
    let r = all.iter().find(|r| r.doc.id == id).ok_or(AppError::NotFound)?;
    let related = catalogue::related(r, &all);
    // The industry as written (川果 or fruit) to its code; the record's region's centre point.
    let get = |k: &str| r.fields.get(k).map_or("", String::as_str);
    let industry = yizhan_industry::kinds::industry(get("industry")).map_or("", |i| i.code());
    let nearby = crate::innovation::suggestion(&state, get("region"), industry).await?;
    let header = header_info(&state).await;
    let body = maud::html! { (pages::record(r, &related)) @if let Some(n) = nearby { (n) } };
    Ok(layout(&r.doc.title, header.as_ref(), None, body))
}
