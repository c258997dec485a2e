//! The Aliyun adapter against a local server that checks what Aliyun checks: the HMAC-SHA1
//! signature recomputed with the server's copy of the secret, and the SendSms parameters.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::routing::get;
use yizhan_accounts::sms::{SmsError, SmsSender};
use yizhan_accounts::sms_aliyun::{AliyunSmsConfig, AliyunSmsSender, aliyun_signature};

const ID: &str = "LTAI-test-id";
const SECRET: &str = "server-side-secret";
const PHONE: &str = "13800138000";

#[derive(Clone, Default)]
struct Server {
    /// (template code, template param) of every accepted request.
    accepted: Arc<Mutex<Vec<(String, serde_json::Value)>>>,
}

async fn send_sms(State(s): State<Server>, RawQuery(q): RawQuery) -> (StatusCode, String) {
    let q = q.unwrap_or_default();
    let mut params: Vec<(String, String)> = url::form_urlencoded::parse(q.as_bytes()).into_owned().collect();
    let Some(at) = params.iter().position(|(k, _)| k == "Signature") else {
        return (StatusCode::BAD_REQUEST, r#"{"Code":"MissingSignature"}"#.into());
    };
    let (_, signature) = params.remove(at);
    if aliyun_signature("GET", &params, SECRET) != signature {
        return (
            StatusCode::BAD_REQUEST,
            r#"{"Code":"SignatureDoesNotMatch","Message":"Specified signature is not matched with our calculation."}"#
                .into(),
        );
    }
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap_or_default();
    let ok = get("Action") == "SendSms"
        && get("AccessKeyId") == ID
        && get("Version") == "2017-05-25"
        && get("SignatureMethod") == "HMAC-SHA1"
        && get("SignatureVersion") == "1.0"
        && get("PhoneNumbers") == PHONE
        && get("SignName") == "四川乡村振兴科技在线"
        && get("Timestamp") == "2026-12-07T08:00:00Z"
        && get("SignatureNonce").len() == 32;
    let Ok(param) = serde_json::from_str::<serde_json::Value>(&get("TemplateParam")) else {
        return (StatusCode::BAD_REQUEST, r#"{"Code":"isv.INVALID_JSON_PARAM"}"#.into());
    };
    if !ok {
        return (StatusCode::BAD_REQUEST, r#"{"Code":"isv.INVALID_PARAMETERS"}"#.into());
    }
    if let Ok(mut a) = s.accepted.lock() {
        a.push((get("TemplateCode"), param));
    }
    (StatusCode::OK, r#"{"Code":"OK","Message":"OK","BizId":"1","RequestId":"r"}"#.into())
}

async fn server() -> (String, Server) {
    let s = Server::default();
    let app = Router::new().route("/", get(send_sms)).with_state(s.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|e| panic!("{e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/"), s)
}

fn config(endpoint: &str, secret: &str) -> AliyunSmsConfig {
    let mut c = AliyunSmsConfig::new(ID, secret, "四川乡村振兴科技在线", "SMS_CODE_1", "SMS_NOTICE_2");
    c.endpoint = endpoint.into();
    // 2026-12-07T08:00:00Z
    c.clock = yizhan_store::StoreClock::from_fn(|| 1_796_630_400_000);
    c
}

#[tokio::test]
async fn codes_and_notices_go_to_their_templates_signed() {
    let (endpoint, server) = server().await;
    let sender = AliyunSmsSender::new(config(&endpoint, SECRET)).unwrap_or_else(|e| panic!("{e}"));
    sender.send_code(PHONE, "042137", 5).await.unwrap_or_else(|e| panic!("{e}"));
    let notice = "【四川乡村振兴科技在线】新案件：水稻 叶片发黄（双流区），请在3小时内答复。";
    sender.send(PHONE, notice).await.unwrap_or_else(|e| panic!("{e}"));
    let accepted = server.accepted.lock().map(|a| a.clone()).unwrap_or_default();
    assert_eq!(accepted.len(), 2);
    assert_eq!(accepted[0].0, "SMS_CODE_1");
    assert_eq!(accepted[0].1, serde_json::json!({ "code": "042137" }));
    assert_eq!(accepted[1].0, "SMS_NOTICE_2");
    // Aliyun adds the sign name itself: the text goes without it.
    assert_eq!(
        accepted[1].1,
        serde_json::json!({ "content": "新案件：水稻 叶片发黄（双流区），请在3小时内答复。" })
    );
}

#[tokio::test]
async fn a_wrong_secret_is_refused_with_aliyuns_reason_and_no_number() {
    let (endpoint, server) = server().await;
    let sender = AliyunSmsSender::new(config(&endpoint, "not-the-secret")).unwrap_or_else(|e| panic!("{e}"));
    let e = sender.send(PHONE, "测试").await.err().unwrap_or_else(|| panic!("a wrong secret was accepted"));
    match &e {
        SmsError::Refused { status, body } => {
            assert_eq!(*status, 400);
            assert!(body.contains("SignatureDoesNotMatch"), "{body}");
        }
        other => panic!("{other:?}"),
    }
    assert!(!e.to_string().contains(PHONE));
    assert!(server.accepted.lock().map(|a| a.is_empty()).unwrap_or(false));
}

#[tokio::test]
async fn an_unreachable_endpoint_fails_plainly_within_the_timeout() {
    // A port nothing listens on (bound, then released).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"));
    let mut c = config(&format!("http://127.0.0.1:{port}/"), SECRET);
    c.timeout = std::time::Duration::from_secs(2);
    let sender = AliyunSmsSender::new(c).unwrap_or_else(|e| panic!("{e}"));
    let e = sender.send(PHONE, "测试").await.err().unwrap_or_else(|| panic!("sent to nowhere"));
    assert!(matches!(e, SmsError::Unreachable(_)), "{e:?}");
    assert!(!e.to_string().contains(PHONE), "{e}");
}
