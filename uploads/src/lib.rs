//! Media intake, shared by the kiosk (the farmer's photos and video) and the hub (an expert's
//! answer with photos or a video).
//!
//! Everything here is bounded: a field is refused as soon as it passes its limit, a video is
//! streamed to a temporary blob file (never held in memory), and nothing becomes visible until
//! the caller records the prepared blobs together with its document change in one transaction.
//! A recorded video gets a poster frame and a low-bitrate proxy from [`worker`], a durable job
//! queue in the store that survives restarts.

pub mod view;
pub mod worker;

use axum::extract::multipart::{Field, MultipartError};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use yizhan_core::Attachment;
use yizhan_media::Limits;
use yizhan_store::{BlobBody, BlobWriter, Hash, NewBlob, Store, StoreError};

pub use worker::{JOB_ATTEMPTS_MAX, JOB_VIDEO, run_worker};

/// Why an upload was refused. The messages are for the user, in Chinese.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("{0}")]
    TooLarge(String),
    #[error("{0}")]
    Invalid(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl UploadError {
    pub fn status(&self) -> StatusCode {
        match self {
            UploadError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            UploadError::Invalid(_) => StatusCode::BAD_REQUEST,
            UploadError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<StoreError> for UploadError {
    fn from(e: StoreError) -> UploadError {
        UploadError::Internal(e.to_string())
    }
}

/// Megabytes, for messages.
pub fn mb(bytes: u64) -> u64 {
    bytes / (1024 * 1024)
}

/// A multipart error as the user should read it: too large, or cut off / malformed.
pub fn multipart_err(e: MultipartError) -> UploadError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        UploadError::TooLarge("上传内容过大，请减少照片或压缩视频后重试".into())
    } else {
        UploadError::Invalid(format!("上传中断或格式错误，请重试（{}）", e.body_text()))
    }
}

/// Reads a field into memory, refusing it as soon as it passes `max` bytes.
pub async fn read_limited(
    field: &mut Field<'_>,
    max: u64,
    too_large: impl FnOnce() -> String,
) -> Result<Vec<u8>, UploadError> {
    let mut buf = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(multipart_err)? {
        if (buf.len() + chunk.len()) as u64 > max {
            return Err(UploadError::TooLarge(too_large()));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf)
}

/// A video streamed to a temporary blob file; nothing is visible until it is recorded.
pub struct VideoUpload {
    pub name: String,
    pub writer: BlobWriter,
}

/// Streams a video field to a temporary blob file, refusing it past `limits.video_bytes_max`.
/// An empty field with no file name (a file input left empty) gives `None`; an empty file
/// that was chosen (0 bytes) is refused.
pub async fn stream_video(
    store: &Store,
    field: &mut Field<'_>,
    name: String,
    limits: &Limits,
) -> Result<Option<VideoUpload>, UploadError> {
    let max = limits.video_bytes_max;
    let s = store.clone();
    let mut writer = blocking(move || s.blob_writer(max)).await??;
    while let Some(chunk) = field.chunk().await.map_err(multipart_err)? {
        if writer.size() + chunk.len() as u64 > max {
            return Err(UploadError::TooLarge(format!("视频过大：最多 {} MB", mb(max))));
        }
        writer = blocking(move || writer.write(&chunk).map(|()| writer)).await??;
    }
    if writer.size() == 0 {
        if name.is_empty() {
            return Ok(None);
        }
        return Err(UploadError::Invalid(format!("视频（{name}）是空文件（0 字节），请重新选择")));
    }
    Ok(Some(VideoUpload { name, writer }))
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, UploadError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| UploadError::Internal(e.to_string()))
}

/// The content type a video is served with, from its file name.
pub fn video_mime(name: &str) -> &'static str {
    let lower = name.to_ascii_lowercase();
    match lower.rsplit('.').next() {
        Some("mp4" | "m4v") => "video/mp4",
        Some("mov") => "video/quicktime",
        Some("webm") => "video/webm",
        Some("3gp") => "video/3gpp",
        Some("avi") => "video/x-msvideo",
        _ => "video/mp4",
    }
}

/// Decodes, orients and derives every photo (display and thumbnail JPEGs) and prepares the
/// blobs, without recording anything. Any bad photo refuses them all, naming it. Blocking: call
/// it off the async threads.
pub fn prepare_photos(
    store: &Store,
    photos: Vec<(String, Vec<u8>)>,
    limits: &Limits,
    now_ms: i64,
) -> Result<Vec<(Attachment, NewBlob)>, UploadError> {
    let mut out = Vec::new();
    for (i, (name, bytes)) in photos.into_iter().enumerate() {
        let done = yizhan_media::process_photo(&bytes, limits).map_err(|e| {
            UploadError::Invalid(format!("第 {} 张照片（{name}）：{}", i + 1, e.user_message_zh()))
        })?;
        drop(bytes);
        // The original as stored is the photo without its metadata (no GPS position).
        // A copy that would not be smaller than the original is the original itself: the same
        // blob (one hash, stored and sent once) under the copy's role, so it travels with that
        // role's priority.
        let original_copy = |is_original: bool| (is_original).then(|| done.original.clone());
        let display = original_copy(done.display_is_original).map(|b| (b, done.format.mime()));
        let thumb = original_copy(done.thumb_is_original).map(|b| (b, done.format.mime()));
        let orig = store.prepare_blob(done.original, done.format.mime())?;
        let group = orig.info().hash.to_string();
        let mut a = orig.info().attachment("photo", "original", &group, &name, now_ms);
        (a.width, a.height) = (done.width.into(), done.height.into());
        out.push((a, orig));
        for (role, (bytes, mime)) in [
            ("display", display.unwrap_or((done.display_jpeg, "image/jpeg"))),
            ("thumb", thumb.unwrap_or((done.thumb_jpeg, "image/jpeg"))),
        ] {
            let blob = store.prepare_blob(bytes, mime)?;
            out.push((blob.info().attachment("photo", role, &group, &name, now_ms), blob));
        }
    }
    Ok(out)
}

/// Probes a streamed video (refusing what FFmpeg cannot read or what is too long) and prepares
/// its blob as the group's original. Blocking: call it off the async threads.
pub fn prepare_video(
    store: &Store,
    video: VideoUpload,
    limits: &Limits,
    now_ms: i64,
) -> Result<(Attachment, NewBlob), UploadError> {
    let VideoUpload { name, writer } = video;
    let info = yizhan_media::probe_video(writer.tmp_path(), limits)
        .map_err(|e| UploadError::Invalid(format!("视频（{name}）：{}", e.user_message_zh())))?;
    let blob = store.prepare_finished(writer.finish()?, video_mime(&name))?;
    let hash = blob.info().hash.to_string();
    let mut a = blob.info().attachment("video", "original", &hash, &name, now_ms);
    let (w, h) = info.upright_size();
    (a.width, a.height, a.duration_ms) = (w.into(), h.into(), info.duration_ms);
    Ok((a, blob))
}

/// Serves a blob by hash. Blobs never change, so they may be cached for a year (`cache`:
/// `public` on a kiosk, `private` behind a sign-in); file blobs are streamed from disk and
/// honour range requests (video seeking).
pub async fn serve_blob(store: &Store, hash: &str, req: axum::extract::Request, private: bool) -> Response {
    let Some(hash) = Hash::parse(hash) else { return StatusCode::NOT_FOUND.into_response() };
    let found = match store.call(move |db| db.blob(&hash)).await {
        Ok(found) => found,
        Err(e) => {
            tracing::error!(error = %e, "cannot read a blob");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let cache = header::HeaderValue::from_static(if private {
        "private, max-age=31536000, immutable"
    } else {
        "public, max-age=31536000, immutable"
    });
    match found {
        None => StatusCode::NOT_FOUND.into_response(),
        Some((info, BlobBody::Inline(bytes))) => {
            ([(header::CONTENT_TYPE, info.mime.as_str())], [(header::CACHE_CONTROL, cache)], bytes)
                .into_response()
        }
        Some((info, BlobBody::File(path))) => {
            use tower::ServiceExt;
            let mime = info.mime.parse().unwrap_or(mime::APPLICATION_OCTET_STREAM);
            match tower_http::services::ServeFile::new_with_mime(path, &mime).oneshot(req).await {
                Ok(mut res) => {
                    res.headers_mut().insert(header::CACHE_CONTROL, cache);
                    res.into_response()
                }
                Err(e) => match e {},
            }
        }
    }
}

/// The bytes of blobs held here, in order (those missing, unreadable or larger than
/// `bytes_max` left out): for the photos a published item's PDF embeds.
pub async fn blob_bytes(store: &Store, hashes: Vec<String>, bytes_max: u64) -> Vec<Vec<u8>> {
    // The store's thread only looks the blobs up; files are read off it, on a blocking thread.
    let found = store
        .call(move |db| {
            let mut out = Vec::new();
            for h in hashes.iter().filter_map(|h| Hash::parse(h)) {
                match db.blob(&h)? {
                    Some((info, body)) if info.size <= bytes_max => out.push(body),
                    _ => {}
                }
            }
            Ok(out)
        })
        .await;
    let bodies = found.unwrap_or_else(|e| {
        tracing::error!(error = %e, "cannot read blobs");
        Vec::new()
    });
    let read = tokio::task::spawn_blocking(move || {
        bodies
            .into_iter()
            .filter_map(|body| match body {
                BlobBody::Inline(bytes) => Some(bytes),
                BlobBody::File(path) => std::fs::read(&path)
                    .inspect_err(|e| tracing::warn!(error = %e, "cannot read a blob file"))
                    .ok(),
            })
            .collect()
    })
    .await;
    read.unwrap_or_else(|e| {
        tracing::error!(error = %e, "reading blob files failed");
        Vec::new()
    })
}
