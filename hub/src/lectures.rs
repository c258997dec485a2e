//! The hub's pages of 特派员讲堂 (assembled from `yizhan-lectures`): the public list with the
//! industry filter, a lecture's page (video player over the proxy, the PDF in the browser's
//! viewer) and its files, without sign-in; the author's upload of a draft's video and PDF
//! (the draft itself is the pipeline's item form, `/desk/items/new?kind=lectures.lecture`).
//! Handlers parse, call `crate::service::lectures` or the pipeline, render.

use std::collections::BTreeMap;

use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::Markup;
use yizhan_accounts::SignedIn;
use yizhan_lectures::{Filter, Lecture, pages};

use crate::Hub;
use crate::desk::{DeskError, shell};
use crate::service::{self, lectures as svc};

pub const LIST_PATH: &str = "/lectures";

pub fn routes() -> axum::Router<Hub> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route(LIST_PATH, get(list))
        .route("/lectures/{id}", get(lecture_page))
        .route("/lectures/{id}/file/{hash}", get(file))
        .route(
            "/desk/lectures/{id}/files",
            post(files_form).layer(axum::extract::DefaultBodyLimit::max(files_bytes_max())),
        )
}

/// The request body of a lecture's upload: a video at the media limit, a PDF at its limit, and
/// the form's framing.
pub fn files_bytes_max() -> usize {
    let l = yizhan_media::Limits::default();
    usize::try_from(l.video_bytes_max + yizhan_lectures::PDF_BYTES_MAX + 64 * 1024).unwrap_or(usize::MAX)
}

async fn lecture(hub: &Hub, id: &str) -> Result<Lecture, DeskError> {
    svc::published(hub)
        .await?
        .iter()
        .find(|p| p.id == id)
        .and_then(Lecture::of)
        .ok_or(DeskError(StatusCode::NOT_FOUND, "该讲座不存在或已撤回".into()))
}

async fn list(State(hub): State<Hub>, Query(filter): Query<Filter>) -> Result<Markup, DeskError> {
    let docs = svc::published(&hub).await?;
    let lectures = yizhan_lectures::lectures(&docs, &filter);
    let views = svc::views(&hub).await?;
    let body = pages::list(LIST_PATH, &lectures, &filter, &BTreeMap::new(), &views);
    Ok(shell(None).render("特派员讲堂", body))
}

/// A lecture's page: opening it is one view (`yizhan_core::lecture_views`); it shows the views
/// counted within this hub's region (its own and those synced up from below).
async fn lecture_page(State(hub): State<Hub>, Path(id): Path<String>) -> Result<Markup, DeskError> {
    let l = lecture(&hub, &id).await?;
    // A view that cannot be counted never keeps the lecture from being watched.
    if let Err(e) = svc::record_view(&hub, &l.id).await {
        tracing::warn!(lecture = %l.id, error = %e.message_zh(), "lecture view not counted");
    }
    let views = svc::views(&hub).await?.get(&l.id).copied().unwrap_or(0);
    let hashes: Vec<String> =
        [&l.video_proxy, &l.poster, &l.pdf].into_iter().flatten().map(|f| f.hash.clone()).collect();
    let held = hub.store.call(move |db| db.blobs_held(hashes.iter().map(String::as_str))).await?;
    let held = |h: &str| held.contains(h);
    Ok(shell(None).render(&l.title, pages::page(LIST_PATH, &l, None, &held, Some(views))))
}

/// A file of a published lecture, for everyone (range requests: video seeking).
async fn file(
    State(hub): State<Hub>,
    Path((id, hash)): Path<(String, String)>,
    req: axum::extract::Request,
) -> Result<Response, DeskError> {
    let l = lecture(&hub, &id).await?;
    if !l.has_file(&hash) {
        return Err(DeskError(StatusCode::NOT_FOUND, "文件不存在".into()));
    }
    Ok(yizhan_uploads::serve_blob(&hub.store, &hash, req, false).await.into_response())
}

fn upload_err(e: yizhan_uploads::UploadError) -> DeskError {
    service::ServiceError::from(e).into()
}

/// A draft's video (field `video`) and/or PDF (field `pdf`), every bound enforced while reading.
async fn files_form(
    State(hub): State<Hub>,
    SignedIn(actor): SignedIn,
    Path(id): Path<String>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Redirect, DeskError> {
    service::require(&hub, &actor, yizhan_core::CentreAction::Desk)?;
    let mut multipart = multipart.map_err(|e| DeskError::not_multipart(&e))?;
    let limits = yizhan_media::Limits::default();
    let mut files = svc::Files { video: None, pdf: None };
    while let Some(mut field) =
        multipart.next_field().await.map_err(|e| upload_err(yizhan_uploads::multipart_err(e)))?
    {
        let name = field.name().unwrap_or_default().to_string();
        let Some(file_name) = field.file_name().map(str::to_string) else { continue };
        match name.as_str() {
            "video" if files.video.is_none() => {
                files.video = yizhan_uploads::stream_video(&hub.store, &mut field, file_name, &limits)
                    .await
                    .map_err(upload_err)?;
            }
            "pdf" if files.pdf.is_none() => {
                let max = yizhan_lectures::PDF_BYTES_MAX;
                let bytes = yizhan_uploads::read_limited(&mut field, max, || {
                    format!("课件过大：最多 {} MB", yizhan_uploads::mb(max))
                })
                .await
                .map_err(upload_err)?;
                if !bytes.is_empty() {
                    files.pdf = Some((file_name, bytes));
                }
            }
            _ => {} // unknown or repeated fields are skipped
        }
    }
    svc::add_files(&hub, &actor, &id, files).await?;
    Ok(Redirect::to(&format!("/desk/items/{id}")))
}
