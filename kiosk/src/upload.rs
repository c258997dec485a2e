//! Parsing a case upload (multipart form) with every size bound enforced while streaming.

use axum::extract::Multipart;
use yizhan_core::NewCase;
use yizhan_uploads::{VideoUpload, mb, multipart_err, read_limited};

use crate::error::AppError;
use crate::{AppState, UploadLimits};

/// A text field longer than this is refused before it is buffered further.
pub const TEXT_FIELD_BYTES_MAX: usize = 16 * 1024;

pub struct PhotoUpload {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// What the officer chose on the form besides saving.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum FormAction {
    /// Save the case as open.
    #[default]
    Save,
    /// Save and send it to the county centre for an expert (提交专家).
    Escalate,
    /// A similar solved case answered it (解决了): save it as solved by that case.
    SolvedBy(String),
}

#[derive(Default)]
pub struct CaseUpload {
    pub case: NewCase,
    pub photos: Vec<PhotoUpload>,
    pub video: Option<VideoUpload>,
    pub action: FormAction,
    /// The similar cases shown to the officer (ids), recorded as offered.
    pub offered: Vec<String>,
}

pub async fn parse(state: &AppState, mut multipart: Multipart) -> Result<CaseUpload, AppError> {
    let limits: &UploadLimits = &state.config.limits;
    let mut up = CaseUpload::default();
    while let Some(mut field) = multipart.next_field().await.map_err(multipart_err)? {
        let name = field.name().unwrap_or_default().to_string();
        let file_name = field.file_name().map(str::to_string);
        match (name.as_str(), file_name) {
            ("photos" | "photo", Some(file_name)) => {
                let bytes = read_limited(&mut field, limits.media.photo_bytes_max, || {
                    format!("照片过大：每张最多 {} MB", mb(limits.media.photo_bytes_max))
                })
                .await?;
                if bytes.is_empty() {
                    if file_name.is_empty() {
                        continue; // a file input with no file chosen
                    }
                    return Err(AppError::Invalid(format!(
                        "照片（{file_name}）是空文件（0 字节），请重新拍摄或选择照片"
                    )));
                }
                if up.photos.len() >= limits.photos_max {
                    return Err(AppError::Invalid(format!(
                        "照片过多：每个案例最多 {} 张",
                        limits.photos_max
                    )));
                }
                up.photos.push(PhotoUpload { name: file_name, bytes });
            }
            ("video", Some(file_name)) => {
                if up.video.is_some() {
                    return Err(AppError::Invalid("每个案例只能上传一段视频".into()));
                }
                up.video =
                    yizhan_uploads::stream_video(&state.store, &mut field, file_name, &limits.media).await?;
            }
            (_, Some(_)) => return Err(AppError::Invalid(format!("未知的上传文件字段：{name}"))),
            (_, None) => {
                let bytes =
                    read_limited(&mut field, TEXT_FIELD_BYTES_MAX as u64, || "填写的内容过长".into()).await?;
                let text = String::from_utf8(bytes).map_err(|_| AppError::Invalid("文字编码有误".into()))?;
                let c = &mut up.case;
                match name.as_str() {
                    "region_code" => c.region_code = text,
                    "village_name" => c.village_name = text,
                    "industry" => c.industry = text,
                    "subject" => c.subject = text,
                    "description" => c.description = text,
                    "farmer_name" => c.farmer_name = text,
                    "farmer_phone" => c.farmer_phone = text,
                    // "officer" is not read: the case records who is signed in.
                    "intent" => {
                        match text.as_str() {
                            "escalate" => up.action = FormAction::Escalate,
                            "save" | "" => {} // the default; never overrides a choice of a solving case
                            _ => return Err(AppError::Invalid("未知的操作".into())),
                        }
                    }
                    "solved_by" if !text.trim().is_empty() => {
                        up.action = FormAction::SolvedBy(text.trim().to_string())
                    }
                    "offered" => {
                        up.offered = text
                            .split(',')
                            .map(str::trim)
                            .filter(|s| !s.is_empty())
                            .take(yizhan_similar::RESULTS_MAX)
                            .map(str::to_string)
                            .collect()
                    }
                    _ => {} // unknown text fields (e.g. a county picker) are ignored
                }
            }
        }
    }
    Ok(up)
}
