//! Background video processing: a poster frame and a low-bitrate proxy for each recorded video,
//! on whichever node recorded it (a kiosk for the farmer's video, a hub for an expert's or a
//! lecture's).
//!
//! Jobs live in the store, so a job interrupted by a crash or power cut runs again at the
//! next start. Progress is written to the job row (in steps of 2 %) for the UI to poll.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use yizhan_core::CaseDoc;
use yizhan_core::item::{self, ItemDoc};
use yizhan_store::{BlobBody, Hash, Job, JobState, Store};

/// The job that makes a video's poster and proxy.
pub const JOB_VIDEO: &str = "video";
/// A job that fails for an operating reason (not bad media) is tried this many times.
pub const JOB_ATTEMPTS_MAX: i64 = 3;
/// How long the worker sleeps when idle before it looks again (it is also woken on enqueue).
const IDLE_POLL: Duration = Duration::from_secs(30);
/// Pause after a failed attempt before the next job.
const RETRY_PAUSE: Duration = Duration::from_secs(5);

/// Runs the store's jobs one at a time, forever. `notify` wakes it when a job is queued.
pub async fn run_worker(store: Store, notify: Arc<Notify>) {
    loop {
        match store.call(|db| db.claim_job()).await {
            Ok(Some(job)) => run_job(&store, job).await,
            Ok(None) => {
                let _ = tokio::time::timeout(IDLE_POLL, notify.notified()).await;
            }
            Err(e) => {
                tracing::error!(error = %e, "job queue unavailable");
                tokio::time::sleep(IDLE_POLL).await;
            }
        }
    }
}

enum JobError {
    /// The media itself cannot be processed: retrying will not help.
    Media(String),
    /// Disk or database trouble: worth another attempt.
    Operating(String),
}

async fn run_job(store: &Store, job: Job) {
    let id = job.id;
    let outcome = match job.kind.as_str() {
        JOB_VIDEO => video_job(store, &job).await,
        other => Err(JobError::Media(format!("unknown job kind {other}"))),
    };
    let (job_state, error) = match outcome {
        Ok(()) => (JobState::Done, String::new()),
        Err(JobError::Media(msg)) => (JobState::Failed, msg),
        Err(JobError::Operating(msg)) if job.attempts < JOB_ATTEMPTS_MAX => (JobState::Pending, msg),
        Err(JobError::Operating(msg)) => (JobState::Failed, msg),
    };
    if job_state != JobState::Done {
        tracing::warn!(job = id, case = %job.doc_id, error = %error, "video job did not complete");
    }
    if let Err(e) = store.call(move |db| db.finish_job(id, job_state, &error)).await {
        tracing::error!(job = id, error = %e, "could not record job outcome");
    }
    if job_state == JobState::Pending {
        tokio::time::sleep(RETRY_PAUSE).await;
    }
}

async fn video_job(store: &Store, job: &Job) -> Result<(), JobError> {
    let op = |e: yizhan_store::StoreError| JobError::Operating(e.to_string());
    let io = |e: std::io::Error| JobError::Operating(e.to_string());
    let hash = Hash::parse(&job.blob_hash).ok_or_else(|| JobError::Media("bad blob hash".into()))?;
    let h = hash.clone();
    let path = match store.call(move |db| db.blob(&h)).await.map_err(op)? {
        Some((_, BlobBody::File(path))) => path,
        Some((_, BlobBody::Inline(_))) | None => return Err(JobError::Media("video blob missing".into())),
    };
    let job_id = job.id;
    let out = store.config().dir.join("blobs").join("tmp").join(format!("job-{job_id}.mp4"));
    let s = store.clone();
    let rt = tokio::runtime::Handle::current();
    let (poster, proxy_info, out) = tokio::task::spawn_blocking(move || {
        let poster = yizhan_media::make_poster(&path)?;
        let mut last = 0.0f32;
        let proxy = yizhan_media::transcode_proxy(&path, &out, &mut |p| {
            if p - last >= 0.02 || p >= 1.0 {
                last = p;
                let _ = rt.block_on(s.call(move |db| db.set_job_progress(job_id, f64::from(p))));
            }
            true
        })?;
        Ok::<_, yizhan_media::MediaError>((poster, proxy, out))
    })
    .await
    .map_err(|e| JobError::Operating(e.to_string()))?
    .map_err(|e| JobError::Media(e.user_message_zh()))?;

    let doc_id = job.doc_id.clone();
    let now = store.config().clock.now_ms();
    let group = hash.to_string();
    let s = store.clone();
    // Prepare both blobs off the database thread, then record them with the document change
    // in one transaction.
    let (proxy, poster) = tokio::task::spawn_blocking(move || -> Result<_, JobError> {
        let size_max = std::fs::metadata(&out).map(|m| m.len()).map_err(io)?;
        let mut w = s.blob_writer(size_max).map_err(op)?;
        let mut file = std::fs::File::open(&out).map_err(io)?;
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = std::io::Read::read(&mut file, &mut buf).map_err(io)?;
            if n == 0 {
                break;
            }
            w.write(&buf[..n]).map_err(op)?;
        }
        let proxy = s.prepare_finished(w.finish().map_err(op)?, "video/mp4").map_err(op)?;
        let _ = std::fs::remove_file(&out);
        let poster = s.prepare_blob(poster, "image/jpeg").map_err(op)?;
        Ok((proxy, poster))
    })
    .await
    .map_err(|e| JobError::Operating(e.to_string()))??;

    let mut proxy_att = proxy.info().attachment("video", "proxy", &group, "", now);
    (proxy_att.width, proxy_att.height, proxy_att.duration_ms) =
        (proxy_info.width.into(), proxy_info.height.into(), proxy_info.duration_ms);
    let poster_att = poster.info().attachment("video", "poster", &group, "", now);
    store
        .call(move |db| {
            // A case's video, or a publishable item's (a lecture): the derived copies go into
            // the document that references the original, with the original's kind for the
            // proxy (a lecture's files rank last in sync) and `video` for the poster.
            if db.doc_type(&doc_id)?.as_deref() == Some(item::DOC_TYPE) {
                return Ok(db
                    .update_doc_with(&doc_id, vec![proxy, poster], |doc| {
                        let kind = ItemDoc::from_doc(doc)?
                            .attachments
                            .values()
                            .find(|a| a.hash == group && a.role == "original")
                            .map_or_else(|| "video".to_string(), |a| a.kind.clone());
                        let proxy = item_attachment(&proxy_att, &kind);
                        ItemDoc::add_attachments(doc, vec![proxy, item_attachment(&poster_att, "video")])
                    })?
                    .map(|_| ())
                    .map_err(|e| e.to_string()));
            }
            Ok(db
                .update_doc_with(&doc_id, vec![proxy, poster], |doc| {
                    CaseDoc::add_attachments(doc, vec![proxy_att, poster_att])
                })?
                .map(|_| ())
                .map_err(|e| e.to_string()))
        })
        .await
        .map_err(op)?
        .map_err(JobError::Operating)?;
    Ok(())
}

/// A case attachment as a publishable item's, under `kind`.
fn item_attachment(a: &yizhan_core::Attachment, kind: &str) -> item::ItemAttachment {
    item::ItemAttachment {
        hash: a.hash.clone(),
        group: a.group.clone(),
        kind: kind.into(),
        role: a.role.clone(),
        name: a.name.chars().take(item::NAME_CHARS_MAX).collect(),
        mime: a.mime.clone(),
        bytes: a.bytes,
    }
}
