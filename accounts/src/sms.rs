//! Sending sign-in codes by SMS (短信验证码) through a pluggable [`SmsSender`]: a gateway
//! reached over HTTP ([`HttpSmsSender`]) in production, [`DevLogSender`] in development.
//!
//! No sender logs a full phone number: only [`yizhan_core::mask_phone`]'s form.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use yizhan_core::sealed::mask_phone;

/// The signature every text starts with (carriers require a registered one).
pub const SMS_SIGNATURE: &str = "【四川乡村振兴科技在线】";
/// How long [`HttpSmsSender`] waits for the gateway, connection included.
pub const SMS_HTTP_TIMEOUT: Duration = Duration::from_secs(10);
/// A gateway's error body is quoted in the log up to this many characters.
pub const SMS_ERROR_BODY_CHARS_MAX: usize = 200;

/// The text of a sign-in code message.
pub fn code_text(code: &str, valid_minutes: i64) -> String {
    format!("{SMS_SIGNATURE}您的验证码是 {code}，{valid_minutes} 分钟内有效。")
}

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum SmsError {
    #[error("SMS gateway unreachable: {0}")]
    Unreachable(String),
    #[error("SMS gateway answered {status}: {body}")]
    Refused { status: u16, body: String },
    #[error("SMS sender misconfigured: {0}")]
    Config(String),
}

/// What a boxed [`SmsSender::send`] returns.
pub type SmsFuture<'a> = Pin<Box<dyn Future<Output = Result<(), SmsError>> + Send + 'a>>;

/// Delivers one text message to one phone. Implementations must not log the full number.
pub trait SmsSender: Send + Sync {
    fn send<'a>(&'a self, phone: &'a str, text: &'a str) -> SmsFuture<'a>;

    /// Delivers a sign-in code: by default the text of [`code_text`]; a provider that only
    /// sends registered templates (Aliyun) puts the code in its code template.
    fn send_code<'a>(&'a self, phone: &'a str, code: &'a str, valid_minutes: i64) -> SmsFuture<'a> {
        Box::pin(async move { self.send(phone, &code_text(code, valid_minutes)).await })
    }
}

/// Development: writes the masked phone and the text (with the code) to the log at INFO.
#[derive(Debug, Clone, Default)]
pub struct DevLogSender;

impl SmsSender for DevLogSender {
    fn send<'a>(&'a self, phone: &'a str, text: &'a str) -> SmsFuture<'a> {
        Box::pin(async move {
            tracing::info!(phone = %mask_phone(phone), text, "SMS (development sender, not sent)");
            Ok(())
        })
    }
}

/// Where and how [`HttpSmsSender`] reaches the gateway.
#[derive(Clone)]
pub struct HttpSmsConfig {
    /// The gateway endpoint: it receives `POST` with JSON `{"phone": "...", "text": "..."}`.
    pub url: String,
    /// Sent as `Authorization: Bearer <token>`.
    pub token: String,
    pub timeout: Duration,
}

impl std::fmt::Debug for HttpSmsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpSmsConfig").field("url", &self.url).field("timeout", &self.timeout).finish()
    }
}

impl HttpSmsConfig {
    pub fn new(url: impl Into<String>, token: impl Into<String>) -> HttpSmsConfig {
        HttpSmsConfig { url: url.into(), token: token.into(), timeout: SMS_HTTP_TIMEOUT }
    }
}

/// Production: posts each message as JSON to an SMS gateway (the province's SMS platform or a
/// carrier's HTTP interface behind a small adapter). Any 2xx answer counts as accepted.
#[derive(Debug, Clone)]
pub struct HttpSmsSender {
    client: reqwest::Client,
    config: HttpSmsConfig,
}

#[derive(serde::Serialize)]
struct SmsRequest<'a> {
    phone: &'a str,
    text: &'a str,
}

impl HttpSmsSender {
    pub fn new(config: HttpSmsConfig) -> Result<HttpSmsSender, SmsError> {
        let url = url::Url::parse(&config.url).map_err(|e| SmsError::Config(format!("gateway URL: {e}")))?;
        if url.scheme() != "https" && url.scheme() != "http" {
            return Err(SmsError::Config(format!("gateway URL scheme {:?}", url.scheme())));
        }
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .build()
            .map_err(|e| SmsError::Config(e.to_string()))?;
        Ok(HttpSmsSender { client, config })
    }
}

impl SmsSender for HttpSmsSender {
    fn send<'a>(&'a self, phone: &'a str, text: &'a str) -> SmsFuture<'a> {
        Box::pin(async move {
            let reply = self
                .client
                .post(&self.config.url)
                .bearer_auth(&self.config.token)
                .json(&SmsRequest { phone, text })
                .send()
                .await
                // Without the URL: reqwest's message names only the host, never the body.
                .map_err(|e| SmsError::Unreachable(e.without_url().to_string()))?;
            let status = reply.status();
            if status.is_success() {
                tracing::info!(phone = %mask_phone(phone), "SMS accepted by the gateway");
                return Ok(());
            }
            let body = reply.text().await.unwrap_or_default();
            let body: String = body.chars().take(SMS_ERROR_BODY_CHARS_MAX).collect();
            // A gateway might echo the number: mask it in what we log and return.
            let body = if phone.is_empty() { body } else { body.replace(phone, &mask_phone(phone)) };
            Err(SmsError::Refused { status: status.as_u16(), body })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_is_chinese_with_the_signature_and_validity() {
        assert_eq!(code_text("123456", 5), "【四川乡村振兴科技在线】您的验证码是 123456，5 分钟内有效。");
    }

    #[test]
    fn config_debug_hides_the_token_and_bad_urls_are_refused() {
        let c = HttpSmsConfig::new("https://sms.example/send", "s3cret-token");
        assert!(!format!("{c:?}").contains("s3cret"));
        assert!(matches!(HttpSmsSender::new(HttpSmsConfig::new("not a url", "t")), Err(SmsError::Config(_))));
        assert!(matches!(HttpSmsSender::new(HttpSmsConfig::new("ftp://x/y", "t")), Err(SmsError::Config(_))));
    }
}
