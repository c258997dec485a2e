//! An expert's answer (`/desk/cases/{id}/answer`): the text, photos and one video, read from
//! the multipart body with every bound enforced, then stored by the service layer.

use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path, State};
use axum::response::Redirect;
use yizhan_accounts::SignedIn;
use yizhan_core::access::{Action, EventKindCode};

use super::DeskError;
use crate::Hub;
use crate::service::{self, cases::Answer};

/// Photos an expert may attach to one answer.
pub const ANSWER_PHOTOS_MAX: usize = 6;
/// An answer's request body: its photos and one video at the media limits, plus the text.
pub fn answer_bytes_max() -> usize {
    let l = yizhan_media::Limits::default();
    let media = l.photo_bytes_max * ANSWER_PHOTOS_MAX as u64 + l.video_bytes_max;
    usize::try_from(media + 1024 * 1024).unwrap_or(usize::MAX)
}

pub const ANSWER_TEXT_BYTES_MAX: u64 = 16 * 1024;

fn upload_err(e: yizhan_uploads::UploadError) -> DeskError {
    service::ServiceError::from(e).into()
}

/// An expert's answer with photos and a video. The expert's right to answer is checked before
/// the upload is read; the service layer decodes every photo and probes the video before
/// anything is stored.
pub(super) async fn answer_form(
    State(hub): State<Hub>,
    SignedIn(actor): SignedIn,
    Path(id): Path<String>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Redirect, DeskError> {
    service::cases::authorized_case(&hub, &actor, &id, Action::Event(EventKindCode::Answered)).await?;
    let mut multipart = multipart.map_err(|e| DeskError::not_multipart(&e))?;
    let limits = yizhan_media::Limits::default();
    let bad = |m: String| DeskError::bad_request(m);
    let mut text = String::new();
    let mut photos: Vec<(String, Vec<u8>)> = Vec::new();
    let mut video = None;
    while let Some(mut field) =
        multipart.next_field().await.map_err(|e| upload_err(yizhan_uploads::multipart_err(e)))?
    {
        let name = field.name().unwrap_or_default().to_string();
        match (name.as_str(), field.file_name().map(str::to_string)) {
            ("text", None) => {
                let bytes =
                    yizhan_uploads::read_limited(&mut field, ANSWER_TEXT_BYTES_MAX, || "答复内容过长".into())
                        .await
                        .map_err(upload_err)?;
                text = String::from_utf8(bytes).map_err(|_| bad("答复内容的文字编码有误".into()))?;
            }
            ("photos", Some(file_name)) => {
                let bytes = yizhan_uploads::read_limited(&mut field, limits.photo_bytes_max, || {
                    format!("照片过大：每张最多 {} MB", yizhan_uploads::mb(limits.photo_bytes_max))
                })
                .await
                .map_err(upload_err)?;
                if bytes.is_empty() {
                    if file_name.is_empty() {
                        continue; // the empty part a form sends when no file was chosen
                    }
                    return Err(bad(format!("照片（{file_name}）是空文件（0 字节），请重新选择")));
                }
                if photos.len() >= ANSWER_PHOTOS_MAX {
                    return Err(bad(format!("照片过多：每次答复最多 {ANSWER_PHOTOS_MAX} 张")));
                }
                photos.push((file_name, bytes));
            }
            ("video", Some(file_name)) => {
                if video.is_some() {
                    return Err(bad("每次答复只能上传一段视频".into()));
                }
                video = yizhan_uploads::stream_video(&hub.store, &mut field, file_name, &limits)
                    .await
                    .map_err(upload_err)?;
            }
            _ => {} // unknown fields are skipped
        }
    }
    service::cases::answer(&hub, &actor, &id, Answer { text, photos, video }).await?;
    Ok(Redirect::to(&format!("/desk/cases/{id}")))
}
