//! Errors at the HTTP boundary: a status code and a Chinese message for people, the detail
//! for the log.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use yizhan_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Input the user can correct; the message is shown as is.
    #[error("invalid input: {0}")]
    Invalid(String),
    #[error("not found")]
    NotFound,
    #[error("request too large: {0}")]
    TooLarge(String),
    #[error("media: {0}")]
    Media(#[from] yizhan_media::MediaError),
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("internal: {0}")]
    Internal(String),
    /// The step needs a signed-in officer.
    #[error("not signed in")]
    SignInRequired,
    /// A POST to an upload endpoint that is not a multipart form.
    #[error("not a multipart request: {0}")]
    NotMultipart(String),
    /// The signed-in person may not do this.
    #[error("forbidden: {0}")]
    Forbidden(yizhan_core::Denied),
}

impl From<yizhan_uploads::UploadError> for AppError {
    fn from(e: yizhan_uploads::UploadError) -> AppError {
        match e {
            yizhan_uploads::UploadError::TooLarge(m) => AppError::TooLarge(m),
            yizhan_uploads::UploadError::Invalid(m) => AppError::Invalid(m),
            yizhan_uploads::UploadError::Internal(m) => AppError::Internal(m),
        }
    }
}

impl From<axum::extract::multipart::MultipartRejection> for AppError {
    fn from(e: axum::extract::multipart::MultipartRejection) -> AppError {
        AppError::NotMultipart(e.body_text())
    }
}

impl From<yizhan_core::CaseError> for AppError {
    fn from(e: yizhan_core::CaseError) -> AppError {
        AppError::Invalid(e.message_zh())
    }
}

impl AppError {
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::Invalid(_) | AppError::Media(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Store(StoreError::NotFound(_)) => StatusCode::NOT_FOUND,
            AppError::Store(_) | AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            AppError::SignInRequired => StatusCode::UNAUTHORIZED,
            AppError::NotMultipart(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            AppError::Invalid(_) => "invalid",
            AppError::NotFound | AppError::Store(StoreError::NotFound(_)) => "not_found",
            AppError::TooLarge(_) => "too_large",
            AppError::Media(_) => "media",
            AppError::Store(_) | AppError::Internal(_) => "internal",
            AppError::SignInRequired => "sign_in_required",
            AppError::NotMultipart(_) => "not_multipart",
            AppError::Forbidden(_) => "forbidden",
        }
    }

    /// What the officer reads.
    pub fn message_zh(&self) -> String {
        match self {
            AppError::Invalid(m) | AppError::TooLarge(m) => m.clone(),
            AppError::NotFound | AppError::Store(StoreError::NotFound(_)) => "找不到该内容".to_string(),
            AppError::Media(e) => e.user_message_zh(),
            AppError::Store(_) | AppError::Internal(_) => "系统出错，已记录。请稍后重试".to_string(),
            AppError::SignInRequired => {
                "请先用信息员账号登录：提交专家、办结和评价都要记录是哪位信息员办理的。未登录时可以先保存案例。"
                    .to_string()
            }
            AppError::Forbidden(d) => d.message_zh().to_string(),
            AppError::NotMultipart(_) => {
                "提交格式不对：请用登记表单上传（multipart/form-data 格式，可带照片和视频）".to_string()
            }
        }
    }

    pub(crate) fn log(&self) {
        if self.status().is_server_error() {
            tracing::error!(error = %self, "request failed");
        } else {
            tracing::info!(error = %self, "request refused");
        }
    }
}

/// JSON error body: `{"error": code, "message": 中文}`.
pub struct ApiError(pub AppError);

impl<E: Into<AppError>> From<E> for ApiError {
    fn from(e: E) -> ApiError {
        ApiError(e.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.0.log();
        let body = serde_json::json!({ "error": self.0.code(), "message": self.0.message_zh() });
        (self.0.status(), axum::Json(body)).into_response()
    }
}

/// HTML error page.
pub struct PageError(pub AppError);

impl<E: Into<AppError>> From<E> for PageError {
    fn from(e: E) -> PageError {
        PageError(e.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        self.0.log();
        let page = crate::ui::error_page(&self.0);
        (self.0.status(), page).into_response()
    }
}
