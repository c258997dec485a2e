//! The one error of the service functions the desk calls: what went wrong, in words the page
//! shows (Chinese), and of which kind, so the web layer picks the status code.

use yizhan_core::Denied;
use yizhan_store::StoreError;

use super::ActError;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The authorisation rules refused it.
    #[error("{0}")]
    Denied(#[from] Denied),
    /// The request is wrong (a field, a file); the message says how.
    #[error("{0}")]
    Invalid(String),
    /// What it names does not exist here ("案例不存在").
    #[error("{0}")]
    NotFound(&'static str),
    /// This node cannot do it (a task failed, a key is missing); the message says what.
    #[error("{0}")]
    Failed(String),
    /// An upload was refused (too large, not a photo); it knows its status code.
    #[error("{0}")]
    Upload(#[from] yizhan_uploads::UploadError),
    #[error("store: {0}")]
    Store(#[from] StoreError),
}

impl ServiceError {
    pub fn message_zh(&self) -> String {
        match self {
            ServiceError::Denied(d) => d.message_zh().to_string(),
            ServiceError::Invalid(m) | ServiceError::Failed(m) => m.clone(),
            ServiceError::NotFound(m) => (*m).to_string(),
            ServiceError::Upload(e) => e.to_string(),
            ServiceError::Store(_) => "系统繁忙，请稍后重试".into(),
        }
    }
}

impl From<ActError> for ServiceError {
    fn from(e: ActError) -> ServiceError {
        match e {
            ActError::Denied(d) => ServiceError::Denied(d),
            ActError::Invalid(m) => ServiceError::Invalid(m),
            ActError::NotFound => ServiceError::NotFound("案例不存在"),
            // The action's own wording for a failed save.
            ActError::Store(e) => {
                tracing::error!(error = %e, "desk action");
                ServiceError::Failed("保存失败，请重试".into())
            }
        }
    }
}
