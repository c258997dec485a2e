//! The pages, endpoints and the extractor through the router (in process), and the SMS
//! adapters: the HTTP one against a local gateway, the development one through the log.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Request, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use common::*;
use tower::ServiceExt;
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_rs::prelude::Url;
use yizhan_accounts::sms::{DevLogSender, HttpSmsConfig, HttpSmsSender, SmsError, SmsSender, code_text};
use yizhan_accounts::{Accounts, AccountsConfig, SignedIn, passkeys, router};

const HOST: &str = "kiosk.example";

/// The node's app: the accounts router plus a page and an API route behind the extractor.
fn app(accounts: Accounts) -> Router {
    router::<Accounts>()
        .merge(yizhan_web::assets::routes())
        .route("/cases", get(|SignedIn(a): SignedIn| async move { format!("案例列表 · {}", a.name) }))
        .route("/cases/{id}/events", post(|SignedIn(_): SignedIn| async { "ok" }))
        .route("/api/cases", get(|SignedIn(a): SignedIn| async move { axum::Json(a.person_id) }))
        .route(
            "/maybe",
            get(|who: Option<SignedIn>| async move {
                who.map(|s| s.0.person_id).unwrap_or_else(|| "nobody".into())
            }),
        )
        .with_state(accounts)
        .layer(axum::middleware::from_fn(yizhan_web::protect))
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Reply {
    fn location(&self) -> &str {
        self.headers.get(header::LOCATION).map(|v| v.to_str().unwrap()).unwrap_or("")
    }
    fn set_cookie(&self) -> Option<String> {
        self.headers.get(header::SET_COOKIE).map(|v| v.to_str().unwrap().to_string())
    }
    /// The `name=value` part of the session cookie, to send back.
    fn cookie(&self) -> String {
        self.set_cookie().unwrap().split(';').next().unwrap().to_string()
    }
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

async fn send(app: &Router, req: Request<Body>) -> Reply {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 20).await.unwrap();
    Reply { status, headers, body: String::from_utf8(bytes.to_vec()).unwrap() }
}

fn get_req(path: &str, cookie: Option<&str>) -> Request<Body> {
    let mut b = Request::get(path).header(header::HOST, HOST).header(header::ACCEPT, "text/html");
    if let Some(c) = cookie {
        b = b.header(header::COOKIE, c);
    }
    b.body(Body::empty()).unwrap()
}

fn form_req(path: &str, form: &[(&str, &str)], cookie: Option<&str>) -> Request<Body> {
    let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
    let mut b = Request::post(path)
        .header(header::HOST, HOST)
        .header(header::ORIGIN, format!("https://{HOST}"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    b = with_token(b, cookie);
    b.body(Body::from(body)).unwrap()
}

/// A browser session's cross-site token (the node-wide guard wants it back on every post).
const CSRF: &str = "0123456789abcdef0123456789abcdef";

/// The request as the sign-in page's browser sends it: the guard's cookie and token beside the
/// session cookie, if any.
fn with_token(b: axum::http::request::Builder, cookie: Option<&str>) -> axum::http::request::Builder {
    let jar = match cookie {
        Some(c) => format!("{}={CSRF}; {c}", yizhan_web::CSRF_COOKIE),
        None => format!("{}={CSRF}", yizhan_web::CSRF_COOKIE),
    };
    b.header(header::COOKIE, jar).header(yizhan_web::CSRF_HEADER, CSRF)
}

fn json_req(path: &str, body: serde_json::Value, cookie: Option<&str>) -> Request<Body> {
    let mut b = Request::post(path)
        .header(header::HOST, HOST)
        .header(header::ORIGIN, format!("https://{HOST}"))
        .header(header::CONTENT_TYPE, "application/json");
    b = with_token(b, cookie);
    b.body(Body::from(body.to_string())).unwrap()
}

#[tokio::test]
async fn the_sign_in_page_has_three_ways_in_and_big_touch_targets() {
    let n = node_with(Some(passkeys(HOST, &format!("https://{HOST}"), "驿站").unwrap()), 7);
    let app = app(n.accounts.clone());
    let r = send(&app, get_req("/signin?next=/cases", None)).await;
    assert_eq!(r.status, StatusCode::OK);
    for text in
        ["lang=\"zh-CN\"", "密码登录", "短信验证码", "获取验证码", r#"id="tab-passkey""#, "/static/signin.js"]
    {
        assert!(r.body.contains(text), "missing {text}");
    }
    // The passkey script is a file of its own (the pages' Content-Security-Policy allows no inline script).
    let js = send(&app, get_req("/static/signin.js", None)).await;
    assert!(js.body.contains("navigator.credentials"));
    assert!(!r.body.contains("<script>"), "no inline script");
    assert!(r.body.contains(r#"name="next" value="/cases""#));
    // The one stylesheet (yizhan-web's) sizes the sign-in page's inputs and buttons for fingers.
    assert!(r.body.contains(r#"href="/static/app.css""#));
    let css = send(&app, get_req("/static/app.css", None)).await;
    assert!(
        css.body.contains(".signin input { font: inherit; font-size: 20px; min-height: 56px"),
        "inputs sized for fingers"
    );
    assert!(
        css.body.contains(".signin button {") && css.body.contains("min-height: 56px"),
        "buttons sized for fingers"
    );
    assert!(r.body.contains(r#"autocomplete="one-time-code""#));

    // Without passkeys the tab is not offered; a hostile next is dropped.
    let plain = node();
    let r = send(&app_of(&plain), get_req("/signin?next=//evil.example/", None)).await;
    assert!(!r.body.contains(r#"id="tab-passkey""#));
    assert!(r.body.contains(r#"name="next" value="/""#));
}

fn app_of(n: &Node) -> Router {
    app(n.accounts.clone())
}

#[tokio::test]
async fn pages_redirect_to_sign_in_and_the_api_answers_401() {
    let n = node();
    let app = app_of(&n);
    let r = send(&app, get_req("/cases?status=open", None)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), "/signin?next=%2Fcases%3Fstatus%3Dopen");

    let r = send(&app, get_req("/api/cases", None)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.json()["message"], "请先登录");

    // A POST goes back to the page it came from, not to the POST route.
    let mut req = form_req("/cases/c1/events", &[], None);
    req.headers_mut().insert(header::REFERER, format!("https://{HOST}/cases/c1").parse().unwrap());
    let r = send(&app, req).await;
    assert_eq!(r.location(), "/signin?next=%2Fcases%2Fc1");
    // A stale cookie is no better than none.
    let r = send(&app, get_req("/cases", Some("yizhan_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(send(&app, get_req("/maybe", None)).await.body, "nobody");
}

#[tokio::test]
async fn password_sign_in_sets_a_safe_cookie_and_goes_to_next() {
    let n = node();
    n.accounts.create_person(&officer("li-01"), Some(PASSWORD)).await.unwrap();
    let app = app_of(&n);

    let r = send(
        &app,
        form_req(
            "/signin/password",
            &[("id", "li-01"), ("password", "wrong-password"), ("next", "/cases")],
            None,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body.contains("账号或密码不正确"));
    assert!(r.body.contains(r#"value="li-01""#), "the id is kept");
    assert!(r.set_cookie().is_none());

    let r = send(
        &app,
        form_req("/signin/password", &[("id", "li-01"), ("password", PASSWORD), ("next", "/cases")], None),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), "/cases");
    let set = r.set_cookie().unwrap();
    for part in ["yizhan_session=", "HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=604800"] {
        assert!(set.contains(part), "{set} lacks {part}");
    }
    assert!(!set.contains("Secure"), "not configured: the kiosk may be served over plain HTTP");
    let cookie = r.cookie();
    let page = send(&app, get_req("/cases", Some(&cookie))).await;
    assert_eq!((page.status, page.body.as_str()), (StatusCode::OK, "案例列表 · 李秀英"));
    assert_eq!(send(&app, get_req("/api/cases", Some(&cookie))).await.body, "\"li-01\"");
    assert_eq!(send(&app, get_req("/maybe", Some(&cookie))).await.body, "li-01");
    // Already signed in: the sign-in page sends her on.
    assert_eq!(send(&app, get_req("/signin?next=/cases", Some(&cookie))).await.location(), "/cases");

    // An open redirect is not possible.
    let r = send(
        &app,
        form_req(
            "/signin/password",
            &[("id", "li-01"), ("password", PASSWORD), ("next", "//evil.example/")],
            None,
        ),
    )
    .await;
    assert_eq!(r.location(), "/");

    // Sign out: the cookie is cleared and the session is gone.
    let r = send(&app, form_req("/signout", &[], Some(&cookie))).await;
    assert_eq!(r.location(), "/signin?out=1");
    assert!(r.set_cookie().unwrap().contains("Max-Age=0"));
    assert_eq!(send(&app, get_req("/cases", Some(&cookie))).await.status, StatusCode::SEE_OTHER);
    assert!(send(&app, get_req("/signin?out=1", None)).await.body.contains("您已退出登录"));
}

#[tokio::test]
async fn the_cookie_is_secure_when_configured_and_foreign_origins_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = yizhan_store::Store::open(yizhan_store::StoreConfig::new(dir.path())).unwrap();
    let accounts = Accounts::new(
        store,
        field_key(7),
        AccountsConfig { secure_cookie: true, ..AccountsConfig::default() },
        Arc::new(DevLogSender),
        None,
    )
    .unwrap();
    accounts.create_person(&officer("li-01"), Some(PASSWORD)).await.unwrap();
    let app = app(accounts);
    let r = send(&app, form_req("/signin/password", &[("id", "li-01"), ("password", PASSWORD)], None)).await;
    assert!(r.set_cookie().unwrap().contains("; Secure"));

    let mut req = form_req("/signin/password", &[("id", "li-01"), ("password", PASSWORD)], None);
    req.headers_mut().insert(header::ORIGIN, "https://evil.example".parse().unwrap());
    let r = send(&app, req).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.set_cookie().is_none());
}

#[tokio::test]
async fn lockout_and_inactive_people_read_in_chinese() {
    let n = node();
    n.accounts.create_person(&officer("li-01"), Some(PASSWORD)).await.unwrap();
    let app = app_of(&n);
    let mut last = None;
    for _ in 0..yizhan_accounts::limits::FAILURES_BEFORE_LOCKOUT {
        last = Some(
            send(
                &app,
                form_req("/signin/password", &[("id", "li-01"), ("password", "wrong-password")], None),
            )
            .await,
        );
    }
    let r = last.unwrap();
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(r.body.contains("账号已锁定 15 分钟"), "{}", r.body);

    n.accounts.create_person(&officer("li-02"), Some(PASSWORD)).await.unwrap();
    deactivate(&n.store, "li-02").await;
    let r = send(&app, form_req("/signin/password", &[("id", "li-02"), ("password", PASSWORD)], None)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("该账号已停用"));
}

#[tokio::test]
async fn code_sign_in_through_the_page() {
    let n = node();
    n.accounts.create_person(&officer("li-01"), Some(PASSWORD)).await.unwrap();
    let app = app_of(&n);
    let notice = "如该账号已登记手机，验证码已发送，5 分钟内有效";

    let r = send(&app, form_req("/signin/code/send", &[("id", "li-01"), ("next", "/cases")], None)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains(notice));
    assert!(r.body.contains(r#"id="tab-code" checked"#), "the code tab stays open");
    // An unknown id reads the same and sends nothing.
    let r = send(&app, form_req("/signin/code/send", &[("id", "nobody")], None)).await;
    assert!(r.body.contains(notice));
    assert_eq!(n.sms.count(), 1);
    // Asking again at once: wait.
    let r = send(&app, form_req("/signin/code/send", &[("id", "li-01")], None)).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(r.body.contains("秒后再重新获取"));

    let r = send(&app, form_req("/signin/code", &[("id", "li-01"), ("code", ""), ("next", "/cases")], None))
        .await;
    assert!(r.body.contains("请填写短信验证码"));
    let code = n.sms.last_code();
    let r =
        send(&app, form_req("/signin/code", &[("id", "li-01"), ("code", &code), ("next", "/cases")], None))
            .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), "/cases");
    assert_eq!(send(&app, get_req("/cases", Some(&r.cookie()))).await.status, StatusCode::OK);
}

#[tokio::test]
async fn the_account_page_changes_the_password() {
    let n = node();
    n.accounts.create_person(&officer("li-01"), Some(PASSWORD)).await.unwrap();
    let app = app_of(&n);
    let r = send(&app, form_req("/signin/password", &[("id", "li-01"), ("password", PASSWORD)], None)).await;
    let cookie = r.cookie();

    let r = send(&app, get_req("/account", Some(&cookie))).await;
    assert_eq!(r.status, StatusCode::OK);
    for text in ["我的账号", "李秀英", "信息员", "鹤山街道（510131001001）", "修改密码", "退出登录"]
    {
        assert!(r.body.contains(text), "missing {text}");
    }
    assert!(!r.body.contains(r#"id="passkey-register""#), "passkeys are not enabled here");

    let r = send(
        &app,
        form_req(
            "/account/password",
            &[("current", PASSWORD), ("new", "new-password-1"), ("confirm", "new-password-2")],
            Some(&cookie),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("两次输入的新密码不一致"));
    let r = send(
        &app,
        form_req(
            "/account/password",
            &[("current", "wrong-password"), ("new", "new-password-1"), ("confirm", "new-password-1")],
            Some(&cookie),
        ),
    )
    .await;
    assert!(r.body.contains("当前密码不正确"));
    let r = send(
        &app,
        form_req(
            "/account/password",
            &[("current", PASSWORD), ("new", "short"), ("confirm", "short")],
            Some(&cookie),
        ),
    )
    .await;
    assert!(r.body.contains("密码至少 8 个字符"));
    let r = send(
        &app,
        form_req(
            "/account/password",
            &[("current", PASSWORD), ("new", "new-password-1"), ("confirm", "new-password-1")],
            Some(&cookie),
        ),
    )
    .await;
    assert_eq!(r.location(), "/account?done=password");
    assert!(send(&app, get_req("/account?done=password", Some(&cookie))).await.body.contains("密码已修改"));
    assert!(n.accounts.sign_in_password("li-01", "new-password-1").await.is_ok());
    // Not signed in: the account page sends to sign-in.
    assert_eq!(send(&app, get_req("/account", None)).await.location(), "/signin?next=%2Faccount");
}

#[tokio::test]
async fn passkey_json_endpoints_register_and_sign_in() {
    let origin = format!("https://{HOST}");
    let n = node_with(Some(passkeys(HOST, &origin, "驿站").unwrap()), 7);
    n.accounts.create_person(&officer("li-01"), Some(PASSWORD)).await.unwrap();
    let app = app_of(&n);
    let mut auth = SoftPasskey::new(true);

    // Registration needs a session.
    let r = send(&app, json_req("/account/passkey/start", serde_json::json!({}), None)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let cookie = send(&app, form_req("/signin/password", &[("id", "li-01"), ("password", PASSWORD)], None))
        .await
        .cookie();
    assert!(send(&app, get_req("/account", Some(&cookie))).await.body.contains(r#"id="passkey-register""#));
    let r = send(&app, json_req("/account/passkey/start", serde_json::json!({}), Some(&cookie))).await;
    assert_eq!(r.status, StatusCode::OK);
    let start = r.json();
    let options = serde_json::from_value(start["options"].clone()).unwrap();
    let reply = auth.do_registration(Url::parse(&origin).unwrap(), options).unwrap();
    let r = send(
        &app,
        json_req(
            "/account/passkey/finish",
            serde_json::json!({"ceremony": start["ceremony"], "credential": reply}),
            Some(&cookie),
        ),
    )
    .await;
    assert_eq!((r.status, r.json()["ok"].clone()), (StatusCode::OK, serde_json::json!(true)));

    // Sign in by id through the JSON endpoints.
    let r = send(&app, json_req("/signin/passkey/start", serde_json::json!({"id": "li-01"}), None)).await;
    assert_eq!(r.status, StatusCode::OK);
    let start = r.json();
    assert!(start["options"]["publicKey"]["challenge"].as_str().unwrap().len() >= 43);
    let options = serde_json::from_value(start["options"].clone()).unwrap();
    let assertion = auth.do_authentication(Url::parse(&origin).unwrap(), options).unwrap();
    let r = send(
        &app,
        json_req(
            "/signin/passkey/finish",
            serde_json::json!({"ceremony": start["ceremony"], "credential": assertion, "next": "/cases"}),
            None,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["next"], "/cases");
    assert!(r.set_cookie().unwrap().contains("HttpOnly"));
    assert_eq!(send(&app, get_req("/cases", Some(&r.cookie()))).await.status, StatusCode::OK);

    // Discoverable start needs no id; malformed replies get Chinese JSON errors.
    let r = send(&app, json_req("/signin/passkey/start", serde_json::json!({}), None)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.json()["ceremony"].is_string());
    let r = send(&app, json_req("/signin/passkey/finish", serde_json::json!({"ceremony": "x"}), None)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json()["message"], "请求格式不正确，请刷新页面后重试");
    let r = send(&app, json_req("/signin/passkey/start", serde_json::json!({"id": "nobody"}), None)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.json()["message"].as_str().unwrap().contains("尚未登记"));

    // Where passkeys are off, the endpoints say so.
    let plain = node();
    let r = send(&app_of(&plain), json_req("/signin/passkey/start", serde_json::json!({}), None)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.json()["message"], "本站点未启用指纹/通行密钥登录");
}

// ---- SMS adapters ----

/// What the gateway received: the Authorization header and the JSON body.
type Received = (Option<String>, serde_json::Value);

#[derive(Clone, Default)]
struct Gateway {
    seen: Arc<Mutex<Vec<Received>>>,
    status: Arc<Mutex<u16>>,
    delay_ms: Arc<Mutex<u64>>,
}

async fn gateway_handler(
    State(g): State<Gateway>,
    headers: HeaderMap,
    body: String,
) -> axum::response::Response {
    let delay = *g.delay_ms.lock().unwrap();
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    let auth = headers.get(header::AUTHORIZATION).map(|v| v.to_str().unwrap().to_string());
    let json: serde_json::Value = serde_json::from_str(&body).unwrap_or(serde_json::Value::Null);
    let phone = json["phone"].as_str().unwrap_or("").to_string();
    g.seen.lock().unwrap().push((auth, json));
    let status = StatusCode::from_u16(*g.status.lock().unwrap()).unwrap();
    (status, format!("rejected number {phone}: quota exceeded")).into_response()
}

async fn start_gateway() -> (Gateway, String) {
    let g = Gateway { status: Arc::new(Mutex::new(200)), ..Gateway::default() };
    let app = Router::new().route("/sms/send", post(gateway_handler)).with_state(g.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (g, format!("http://{addr}/sms/send"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_http_sender_posts_json_with_a_bearer_token_and_reports_failures() {
    let (gateway, url) = start_gateway().await;
    let sender = HttpSmsSender::new(HttpSmsConfig::new(&url, "gw-token-1")).unwrap();
    let text = code_text("654321", 5);
    sender.send(PHONE, &text).await.unwrap();
    {
        let seen = gateway.seen.lock().unwrap();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].0.as_deref(), Some("Bearer gw-token-1"));
        assert_eq!(
            seen[0].1,
            serde_json::json!({"phone": PHONE, "text": "【四川乡村振兴科技在线】您的验证码是 654321，5 分钟内有效。"})
        );
    }

    // A refusal is an error; the number the gateway echoed is masked in it.
    *gateway.status.lock().unwrap() = 500;
    let e = sender.send(PHONE, &text).await.unwrap_err();
    let SmsError::Refused { status, body } = &e else { panic!("{e}") };
    assert_eq!(*status, 500);
    assert!(body.contains("138****5678") && !body.contains(PHONE), "{body}");
    assert!(!e.to_string().contains(PHONE));

    // A gateway slower than the timeout.
    *gateway.status.lock().unwrap() = 200;
    *gateway.delay_ms.lock().unwrap() = 3000;
    let quick = HttpSmsSender::new(HttpSmsConfig {
        timeout: Duration::from_millis(300),
        ..HttpSmsConfig::new(&url, "t")
    })
    .unwrap();
    let started = std::time::Instant::now();
    assert!(matches!(quick.send(PHONE, &text).await, Err(SmsError::Unreachable(_))));
    assert!(started.elapsed() < Duration::from_secs(2));

    // Nobody listening.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/sms/send", l.local_addr().unwrap())
    };
    let down = HttpSmsSender::new(HttpSmsConfig::new(closed, "t")).unwrap();
    assert!(matches!(down.send(PHONE, &text).await, Err(SmsError::Unreachable(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_through_the_http_gateway_signs_in() {
    let (gateway, url) = start_gateway().await;
    let dir = tempfile::tempdir().unwrap();
    let store = yizhan_store::Store::open(yizhan_store::StoreConfig::new(dir.path())).unwrap();
    let sender = Arc::new(HttpSmsSender::new(HttpSmsConfig::new(&url, "gw")).unwrap());
    let accounts = Accounts::new(store, field_key(7), AccountsConfig::default(), sender, None).unwrap();
    accounts.create_person(&officer("li-01"), Some(PASSWORD)).await.unwrap();
    accounts.send_code("li-01").await.unwrap();
    let text = gateway.seen.lock().unwrap()[0].1["text"].as_str().unwrap().to_string();
    let code: String = text.chars().filter(|c| c.is_ascii_digit()).take(6).collect();
    accounts.sign_in_code("li-01", &code).await.unwrap();
}
