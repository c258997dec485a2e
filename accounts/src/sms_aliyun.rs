//! Aliyun SMS (阿里云短信服务, Dysmsapi `SendSms`, API version 2017-05-25) as an [`SmsSender`].
//!
//! RPC style: every parameter travels in the query string of a `GET`, signed with HMAC-SHA1
//! (`SignatureVersion` 1.0) over `GET&%2F&` + the percent-encoded, name-sorted, percent-encoded
//! query, keyed with the AccessKey secret and `&`. Aliyun only sends registered templates: the
//! sign name (签名) and two template codes come from the configuration — one for sign-in codes
//! (its variable `${code}`), one for notices (its variable `${content}` gets the text without
//! [`SMS_SIGNATURE`], which Aliyun adds from the sign name).
//!
//! Secrets never reach a log or `Debug`; phone numbers appear only masked. One request per
//! message, bounded by [`SMS_HTTP_TIMEOUT`]; no retries here (a lost notice is logged by the
//! caller; a lost sign-in code is asked for again by its person).

use hmac::{KeyInit, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use rand::RngCore;
use yizhan_core::sealed::mask_phone;
use yizhan_store::StoreClock;

use crate::sms::{SMS_ERROR_BODY_CHARS_MAX, SMS_HTTP_TIMEOUT, SMS_SIGNATURE, SmsError, SmsFuture, SmsSender};

/// Aliyun's public endpoint for Dysmsapi.
pub const ALIYUN_ENDPOINT: &str = "https://dysmsapi.aliyuncs.com/";
/// The API version the parameters below follow.
pub const ALIYUN_API_VERSION: &str = "2017-05-25";
/// The template variable a notice's text goes into.
pub const ALIYUN_NOTICE_VARIABLE: &str = "content";
/// The template variable a sign-in code goes into.
pub const ALIYUN_CODE_VARIABLE: &str = "code";

/// RFC 3986's unreserved characters stay; everything else is `%XY` (space is `%20`, not `+`).
const ALIYUN_ENCODE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// Aliyun's percent-encoding (its documentation's `specialUrlEncode`).
pub fn aliyun_encode(s: &str) -> String {
    utf8_percent_encode(s, ALIYUN_ENCODE).to_string()
}

/// The signature of a request's parameters (without `Signature`), base64, not yet encoded for
/// the URL.
pub fn aliyun_signature(method: &str, params: &[(String, String)], secret: &str) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let query = sorted
        .iter()
        .map(|(k, v)| format!("{}={}", aliyun_encode(k), aliyun_encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let to_sign = format!("{method}&{}&{}", aliyun_encode("/"), aliyun_encode(&query));
    // HMAC accepts keys of any length: this cannot fail.
    let mut mac = match hmac::Hmac::<sha1::Sha1>::new_from_slice(format!("{secret}&").as_bytes()) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(to_sign.as_bytes());
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// What [`AliyunSmsSender`] needs. `Debug` leaves the secret out.
#[derive(Clone)]
pub struct AliyunSmsConfig {
    /// `https://dysmsapi.aliyuncs.com/` in production; a local server in tests.
    pub endpoint: String,
    pub access_key_id: String,
    pub access_key_secret: String,
    /// The registered sign name (签名), e.g. `四川乡村振兴科技在线`.
    pub sign_name: String,
    /// The template for sign-in codes (`${code}`).
    pub code_template: String,
    /// The template for notices (`${content}`).
    pub notice_template: String,
    pub region_id: String,
    pub timeout: std::time::Duration,
    /// The request's `Timestamp` is read from this clock (the store's).
    pub clock: StoreClock,
}

impl std::fmt::Debug for AliyunSmsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AliyunSmsConfig")
            .field("endpoint", &self.endpoint)
            .field("access_key_id", &self.access_key_id)
            .field("sign_name", &self.sign_name)
            .field("code_template", &self.code_template)
            .field("notice_template", &self.notice_template)
            .field("region_id", &self.region_id)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl AliyunSmsConfig {
    /// The production endpoint, region `cn-hangzhou` and [`SMS_HTTP_TIMEOUT`].
    pub fn new(
        access_key_id: impl Into<String>,
        access_key_secret: impl Into<String>,
        sign_name: impl Into<String>,
        code_template: impl Into<String>,
        notice_template: impl Into<String>,
    ) -> AliyunSmsConfig {
        AliyunSmsConfig {
            endpoint: ALIYUN_ENDPOINT.into(),
            access_key_id: access_key_id.into(),
            access_key_secret: access_key_secret.into(),
            sign_name: sign_name.into(),
            code_template: code_template.into(),
            notice_template: notice_template.into(),
            region_id: "cn-hangzhou".into(),
            timeout: SMS_HTTP_TIMEOUT,
            clock: StoreClock::system(),
        }
    }
}

/// Sends through Aliyun's `SendSms`. A message counts as sent when Aliyun answers 200 with
/// `"Code":"OK"`.
#[derive(Debug, Clone)]
pub struct AliyunSmsSender {
    client: reqwest::Client,
    config: AliyunSmsConfig,
}

#[derive(serde::Deserialize)]
struct AliyunReply {
    #[serde(rename = "Code", default)]
    code: String,
    #[serde(rename = "Message", default)]
    message: String,
}

impl AliyunSmsSender {
    /// Refuses an endpoint that is not an http(s) URL and empty keys, sign name or templates.
    pub fn new(config: AliyunSmsConfig) -> Result<AliyunSmsSender, SmsError> {
        let url = url::Url::parse(&config.endpoint)
            .map_err(|e| SmsError::Config(format!("Aliyun endpoint: {e}")))?;
        if url.scheme() != "https" && url.scheme() != "http" {
            return Err(SmsError::Config(format!("Aliyun endpoint scheme {:?}", url.scheme())));
        }
        for (name, value) in [
            ("access_key_id", &config.access_key_id),
            ("access_key_secret", &config.access_key_secret),
            ("sign_name", &config.sign_name),
            ("code_template", &config.code_template),
            ("notice_template", &config.notice_template),
            ("region_id", &config.region_id),
        ] {
            if value.trim().is_empty() {
                return Err(SmsError::Config(format!("Aliyun SMS needs {name}")));
            }
        }
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .build()
            .map_err(|e| SmsError::Config(e.to_string()))?;
        Ok(AliyunSmsSender { client, config })
    }

    /// The signed query string of one `SendSms` request.
    fn signed_query(&self, phone: &str, template: &str, param_json: &str) -> String {
        let c = &self.config;
        let timestamp = chrono::DateTime::from_timestamp_millis(c.clock.now_ms())
            .unwrap_or_default()
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        let mut nonce = [0u8; 16];
        rand::rng().fill_bytes(&mut nonce);
        let nonce: String = nonce.iter().map(|b| format!("{b:02x}")).collect();
        let params: Vec<(String, String)> = [
            ("AccessKeyId", c.access_key_id.as_str()),
            ("Action", "SendSms"),
            ("Format", "JSON"),
            ("PhoneNumbers", phone),
            ("RegionId", c.region_id.as_str()),
            ("SignName", c.sign_name.as_str()),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureNonce", nonce.as_str()),
            ("SignatureVersion", "1.0"),
            ("TemplateCode", template),
            ("TemplateParam", param_json),
            ("Timestamp", timestamp.as_str()),
            ("Version", ALIYUN_API_VERSION),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let signature = aliyun_signature("GET", &params, &c.access_key_secret);
        let mut query = format!("Signature={}", aliyun_encode(&signature));
        for (k, v) in &params {
            query.push('&');
            query.push_str(&aliyun_encode(k));
            query.push('=');
            query.push_str(&aliyun_encode(v));
        }
        query
    }

    async fn send_template(
        &self,
        phone: &str,
        template: &str,
        variable: &str,
        value: &str,
    ) -> Result<(), SmsError> {
        let param = serde_json::json!({ variable: value }).to_string();
        let query = self.signed_query(phone, template, &param);
        let base = self.config.endpoint.split('?').next().unwrap_or_default();
        let reply = self
            .client
            .get(format!("{base}?{query}"))
            .send()
            .await
            // Without the URL: it carries the number and the signature.
            .map_err(|e| SmsError::Unreachable(e.without_url().to_string()))?;
        let status = reply.status();
        let body = reply.text().await.unwrap_or_default();
        let parsed: Option<AliyunReply> = serde_json::from_str(&body).ok();
        if status.is_success() && parsed.as_ref().is_some_and(|r| r.code == "OK") {
            tracing::info!(phone = %mask_phone(phone), template, "SMS accepted by Aliyun");
            return Ok(());
        }
        let detail = match parsed {
            Some(r) => format!("{}: {}", r.code, r.message),
            None => body,
        };
        let detail: String = detail.chars().take(SMS_ERROR_BODY_CHARS_MAX).collect();
        let detail = if phone.is_empty() { detail } else { detail.replace(phone, &mask_phone(phone)) };
        Err(SmsError::Refused { status: status.as_u16(), body: detail })
    }
}

impl SmsSender for AliyunSmsSender {
    fn send<'a>(&'a self, phone: &'a str, text: &'a str) -> SmsFuture<'a> {
        Box::pin(async move {
            // Aliyun puts the sign name in brackets itself.
            let content = text.strip_prefix(SMS_SIGNATURE).unwrap_or(text);
            self.send_template(phone, &self.config.notice_template, ALIYUN_NOTICE_VARIABLE, content).await
        })
    }

    fn send_code<'a>(&'a self, phone: &'a str, code: &'a str, _valid_minutes: i64) -> SmsFuture<'a> {
        Box::pin(async move {
            self.send_template(phone, &self.config.code_template, ALIYUN_CODE_VARIABLE, code).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked example of Aliyun's SMS documentation ("HTTP 协议及签名"): its parameters,
    /// secret `testSecret` and published signature.
    #[test]
    fn the_documented_example_signs_as_published() {
        let params: Vec<(String, String)> = [
            ("AccessKeyId", "testId"),
            ("Action", "SendSms"),
            ("Format", "XML"),
            ("OutId", "123"),
            ("PhoneNumbers", "15300000001"),
            ("RegionId", "cn-hangzhou"),
            ("SignName", "阿里云短信测试专用"),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureNonce", "45e25e9b-0a6f-4070-8c85-2956eda1b466"),
            ("SignatureVersion", "1.0"),
            ("TemplateCode", "SMS_71390007"),
            ("TemplateParam", "{\"customer\":\"test\"}"),
            ("Timestamp", "2017-07-12T02:42:19Z"),
            ("Version", "2017-05-25"),
        ]
        .into_iter()
        .rev() // the order given does not matter
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let sig = aliyun_signature("GET", &params, "testSecret");
        assert_eq!(sig, "zJDF+Lrzhj/ThnlvIToysFRq6t4=");
        assert_eq!(aliyun_encode(&sig), "zJDF%2BLrzhj%2FThnlvIToysFRq6t4%3D");
        assert_ne!(aliyun_signature("GET", &params, "testSecreT"), sig);
        assert_eq!(aliyun_encode("a b*~"), "a%20b%2A~");
    }

    #[test]
    fn debug_hides_the_secret_and_missing_fields_are_refused() {
        let c = AliyunSmsConfig::new("LTAIid", "very-s3cret", "驿站", "SMS_1", "SMS_2");
        assert!(!format!("{c:?}").contains("s3cret"));
        assert!(AliyunSmsSender::new(c.clone()).is_ok());
        let mut no_sign = c.clone();
        no_sign.sign_name = " ".into();
        let e = AliyunSmsSender::new(no_sign).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("sign_name"), "{e}");
        let mut bad = c;
        bad.endpoint = "ftp://x/".into();
        assert!(matches!(AliyunSmsSender::new(bad), Err(SmsError::Config(_))));
    }
}
