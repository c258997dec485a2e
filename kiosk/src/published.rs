//! Published items (`yizhan_core::published`) at the kiosk, readable without sign-in: the list
//! of what is published and not withdrawn (the `public_items` projection), and one item's page.
//! A withdrawn or taken-down item is gone from both the moment its withdrawal or takedown
//! arrives by sync.

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use maud::{Markup, html};
use yizhan_core::published::PublishedDoc;

use crate::AppState;
use crate::error::{AppError, PageError};
use crate::ui::{header_info as stats, layout};

/// Items listed at most.
pub const LIST_MAX: u32 = 100;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/items", get(list_page))
        .route("/items/{id}", get(item_page))
        .route("/items/{id}/photos/{hash}", get(photo))
        .route("/items/{id}/pdf", get(pdf))
}

/// Published items not withdrawn, newest first.
pub async fn list(state: &AppState) -> Result<Vec<yizhan_store::PublicItemRow>, AppError> {
    Ok(state.store.call(|db| db.public_items(LIST_MAX)).await?)
}

/// One published item, unless it is unknown, withdrawn or taken down (安全熔断).
pub async fn item(state: &AppState, id: &str) -> Result<PublishedDoc, AppError> {
    let id = id.to_string();
    state.store.call(move |db| db.shown_published(&id)).await?.ok_or(AppError::NotFound)
}

/// A published item's photo (no sign-in); gone once the item is withdrawn.
async fn photo(
    State(state): State<AppState>,
    Path((id, hash)): Path<(String, String)>,
    req: axum::extract::Request,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    match item(&state, &id).await {
        Ok(p) if p.attachments.values().any(|a| a.hash == hash) => {
            yizhan_uploads::serve_blob(&state.store, &hash, req, false).await
        }
        Ok(_) => PageError(AppError::NotFound).into_response(),
        Err(e) => PageError(e).into_response(),
    }
}

async fn list_page(State(state): State<AppState>) -> Result<Markup, PageError> {
    let rows = list(&state).await?;
    let rows: Vec<_> =
        rows.into_iter().map(|r| (r.id, r.title, r.kind_name, r.centre, r.published_at_ms)).collect();
    let header = stats(&state).await;
    let body = html! { section.card { h1 { "已发布信息" } (yizhan_web::published::list(&rows)) } };
    Ok(layout("已发布信息", header.as_ref(), None, body))
}

async fn item_page(State(state): State<AppState>, Path(id): Path<String>) -> Result<Markup, PageError> {
    let p = item(&state, &id).await?;
    let header = stats(&state).await;
    Ok(layout(&p.title, header.as_ref(), None, yizhan_web::published::item(&p)))
}

/// The item's watermarked, non-editable PDF (no sign-in); gone once the item is withdrawn.
async fn pdf(State(state): State<AppState>, Path(id): Path<String>) -> axum::response::Response {
    use axum::response::IntoResponse;
    let p = match item(&state, &id).await {
        Ok(p) => p,
        Err(e) => return PageError(e).into_response(),
    };
    let photos = yizhan_web::published::pdf_photos(&p);
    let bytes_max = yizhan_media::Limits::default().photo_bytes_max;
    let photos = yizhan_uploads::blob_bytes(&state.store, photos, bytes_max).await;
    match yizhan_web::published::pdf(&p, photos).await {
        Ok(response) => response,
        Err((status, message)) => {
            (status, crate::ui::shell(None, None).error_page(message, "案例列表")).into_response()
        }
    }
}
