//! 特派员讲堂 at a hub: a lecture's files added to its draft (a video, which the hub's worker
//! turns into a poster and proxy as it does an expert's answer, and a PDF), and the published
//! lectures the pages list. Everything else (review, sign-off, publication, withdrawal) is the
//! publication pipeline's (`super::publication`).

use yizhan_core::item::{self, ItemAttachment, ItemDoc};
use yizhan_core::publication::Stage;
use yizhan_core::published::PublishedDoc;
use yizhan_core::{Actor, CentreAction, Denied};
use yizhan_lectures::{BLOB_KIND, LECTURE, PDF_ROLE};
use yizhan_store::{Db, StoreError};

use super::publication::load_item;
use super::{ServiceError, require};
use crate::Hub;

/// Published lectures read for a list at most.
pub const LIST_MAX: u32 = 500;

/// The files of one upload: a video already streamed to a temporary blob, a PDF in memory.
pub struct Files {
    pub video: Option<yizhan_uploads::VideoUpload>,
    pub pdf: Option<(String, Vec<u8>)>,
}

fn editable(db: &Db, id: &str, who: &str) -> Result<Result<(), ServiceError>, StoreError> {
    let Some(item) = load_item(db, id)? else {
        return Ok(Err(ServiceError::NotFound("条目不存在")));
    };
    if item.kind != LECTURE {
        return Ok(Err(ServiceError::Invalid("只有讲座可以上传视频和课件".into())));
    }
    if item.author != who {
        return Ok(Err(Denied::Role.into()));
    }
    if !matches!(item.pipeline().stage, Stage::Draft | Stage::CheckFailed) {
        return Ok(Err(Denied::Status.into()));
    }
    Ok(Ok(()))
}

fn as_item(a: &yizhan_core::Attachment, kind: &str, role: &str) -> ItemAttachment {
    ItemAttachment {
        hash: a.hash.clone(),
        group: a.group.clone(),
        kind: kind.into(),
        role: role.into(),
        name: a.name.chars().take(item::NAME_CHARS_MAX).collect(),
        mime: a.mime.clone(),
        bytes: a.bytes,
    }
}

/// Adds a lecture's video and/or PDF to its draft (only the author, while it is a draft or
/// failed its checks): the video probed (refused if FFmpeg cannot read it), the PDF checked to
/// be one; both recorded with the item's change in one transaction, the video's proxy job
/// queued in it.
pub async fn add_files(hub: &Hub, actor: &Actor, id: &str, files: Files) -> Result<(), ServiceError> {
    require(hub, actor, CentreAction::Desk)?;
    let Files { video, pdf } = files;
    if video.is_none() && pdf.is_none() {
        return Err(ServiceError::Invalid("请选择视频或 PDF 课件".into()));
    }
    if let Some((name, bytes)) = &pdf
        && !yizhan_lectures::is_pdf(bytes)
    {
        return Err(ServiceError::Invalid(format!("“{name}”不是 PDF 文件")));
    }
    let (who, item_id) = (actor.person_id.clone(), id.to_string());
    hub.store.call(move |db| editable(db, &item_id, &who)).await??;
    let limits = yizhan_media::Limits::default();
    let store = hub.store.clone();
    let now = hub.store.config().clock.now_ms();
    let prepared = tokio::task::spawn_blocking(move || {
        let mut out = Vec::new();
        if let Some(v) = video {
            let (a, blob) = yizhan_uploads::prepare_video(&store, v, &limits, now)?;
            out.push((as_item(&a, BLOB_KIND, "original"), blob));
        }
        if let Some((name, bytes)) = pdf {
            let blob = store.prepare_blob(bytes, "application/pdf")?;
            let hash = blob.info().hash.to_string();
            let a = blob.info().attachment(BLOB_KIND, PDF_ROLE, &hash, &name, now);
            out.push((as_item(&a, BLOB_KIND, PDF_ROLE), blob));
        }
        Ok::<_, yizhan_uploads::UploadError>(out)
    })
    .await
    .map_err(|_| ServiceError::Failed("视频或课件处理失败".into()))??;
    let jobs: Vec<String> =
        prepared.iter().filter(|(a, _)| a.role == "original").map(|(a, _)| a.hash.clone()).collect();
    let (attachments, blobs): (Vec<_>, Vec<_>) = prepared.into_iter().unzip();
    let (who, item_id) = (actor.person_id.clone(), id.to_string());
    hub.store
        .call(move |db| {
            // Checked again inside the write: a submission may have come in meanwhile.
            if let Err(e) = editable(db, &item_id, &who)? {
                return Ok(Err(e));
            }
            let jobs: Vec<(&str, &str)> =
                jobs.iter().map(|h| (yizhan_uploads::JOB_VIDEO, h.as_str())).collect();
            Ok(db
                .update_doc_with_jobs(&item_id, blobs, &jobs, |doc| {
                    ItemDoc::add_attachments(doc, attachments)
                })?
                .map(|_| ())
                .map_err(|e| ServiceError::Invalid(e.message_zh())))
        })
        .await??;
    hub.jobs_notify.notify_one();
    Ok(())
}

/// A video given as bytes (the demo's), as an upload streamed to a temporary blob.
pub async fn video_upload(
    hub: &Hub,
    name: &str,
    bytes: Vec<u8>,
) -> Result<yizhan_uploads::VideoUpload, ServiceError> {
    let store = hub.store.clone();
    let name = name.to_string();
    tokio::task::spawn_blocking(move || {
        let mut writer = store.blob_writer(bytes.len() as u64)?;
        writer.write(&bytes)?;
        Ok(yizhan_uploads::VideoUpload { name, writer })
    })
    .await
    .map_err(|_| ServiceError::Failed("视频处理失败".into()))?
}

/// The published lectures this hub holds (withdrawn ones left out by the readers).
pub async fn published(hub: &Hub) -> Result<Vec<PublishedDoc>, ServiceError> {
    Ok(hub.store.call(move |db| db.published_of_kinds(yizhan_lectures::PREFIX, LIST_MAX)).await?)
}

/// The last month a views query reads (`YYYYMM`): every month.
const VIEW_MONTH_MAX: u32 = 999_912;

/// Records one view of a published lecture at this hub (its own month's `lecture_views`
/// document, which syncs up to its parents).
pub async fn record_view(hub: &Hub, lecture: &str) -> Result<(), ServiceError> {
    let (node, region, lecture) = (hub.config.node_id.clone(), hub.config.scope.clone(), lecture.to_string());
    hub.store.call(move |db| db.record_lecture_view(&node, &region, &lecture)).await?;
    Ok(())
}

/// Views per lecture counted within this hub's region, every month (its own and those of the
/// nodes below it that synced up).
pub async fn views(hub: &Hub) -> Result<std::collections::BTreeMap<String, u64>, ServiceError> {
    let scope = hub.config.scope.clone();
    Ok(hub.store.call(move |db| db.lecture_views_by_lecture(&scope, 0, VIEW_MONTH_MAX)).await?)
}
