//! The sign-in pages and endpoints (zh-CN, sized for a 10-inch touch tablet) and the
//! [`SignedIn`] extractor, for any node's router: `app.merge(yizhan_accounts::router())`
//! with `Accounts: FromRef<AppState>`.
//!
//! | route | what |
//! | --- | --- |
//! | `GET /signin?next=/path` | password, phone-code and passkey tabs |
//! | `POST /signin/password` | form `id`, `password`, `next` |
//! | `POST /signin/code/send` | form `id`, `next`: sends a code, shows the page again |
//! | `POST /signin/code` | form `id`, `code`, `next` |
//! | `POST /signin/passkey/start`, `/finish` | JSON, used by the page's script |
//! | `POST /signout` | ends the session |
//! | `GET /account` | change password, register a passkey |
//! | `POST /account/password` | form `current`, `new`, `confirm` |
//! | `POST /account/passkey/start`, `/finish` | JSON, used by the page's script |
//!
//! The session cookie is `HttpOnly; SameSite=Lax; Path=/` (and `Secure` when configured).
//! Cross-site posts are refused by the node-wide guard (`yizhan_web::protect`), which every
//! node's router wears around these routes.

use axum::Json;
use axum::Router;
use axum::extract::rejection::JsonRejection;
use axum::extract::{
    DefaultBodyLimit, Form, FromRef, FromRequestParts, OptionalFromRequestParts, OriginalUri, Query, State,
};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method as HttpMethod, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::json;
use yizhan_core::Actor;

use crate::{
    AccountError, Accounts, PublicKeyCredential, RegisterPublicKeyCredential, Session, SignInError, password,
};

/// The session cookie's name.
pub const COOKIE_NAME: &str = "yizhan_session";
/// Request bodies of these routes are small forms and WebAuthn replies.
pub const BODY_BYTES_MAX: usize = 64 * 1024;
/// A `next` target longer than this is replaced by `/`.
pub const NEXT_CHARS_MAX: usize = 512;

/// The pages and endpoints of sign-in, for any state from which [`Accounts`] can be taken.
pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Accounts: FromRef<S>,
{
    Router::new()
        .route("/signin", get(signin_page))
        .route("/signin/password", post(signin_password))
        .route("/signin/code/send", post(send_code))
        .route("/signin/code", post(signin_code))
        .route("/signin/passkey/start", post(passkey_start))
        .route("/signin/passkey/finish", post(passkey_finish))
        .route("/signout", post(signout))
        .route("/account", get(account_page))
        .route("/account/password", post(change_password))
        .route("/account/passkey/start", post(register_start))
        .route("/account/passkey/finish", post(register_finish))
        .layer(DefaultBodyLimit::max(BODY_BYTES_MAX))
}

// ---- the extractor ----

/// The signed-in person. Rejects with a redirect to `/signin?next=<path>` for pages, and
/// with `401` JSON for `/api/...` paths and requests that accept only JSON.
/// `Option<SignedIn>` never rejects (None when nobody is signed in).
#[derive(Debug, Clone)]
pub struct SignedIn(pub Actor);

impl<S> FromRequestParts<S> for SignedIn
where
    Accounts: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match current(parts, &Accounts::from_ref(state)).await {
            Ok(Some((_, actor))) => Ok(SignedIn(actor)),
            Ok(None) => Err(not_signed_in(parts)),
            Err(e) => {
                tracing::error!(error = %e, "reading the session");
                Err(server_error(parts))
            }
        }
    }
}

impl<S> OptionalFromRequestParts<S> for SignedIn
where
    Accounts: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Option<Self>, Self::Rejection> {
        match current(parts, &Accounts::from_ref(state)).await {
            Ok(found) => Ok(found.map(|(_, actor)| SignedIn(actor))),
            Err(e) => {
                tracing::error!(error = %e, "reading the session");
                Err(server_error(parts))
            }
        }
    }
}

/// The client's IP address when the server passes it (`into_make_service_with_connect_info`),
/// so wrong passwords are counted per address; `None` when it does not (a router called
/// directly, a server started without it). Never rejects.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub Option<std::net::IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let info = parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>();
        Ok(ClientAddr(info.map(|c| c.0.ip())))
    }
}

async fn current(parts: &Parts, accounts: &Accounts) -> Result<Option<(Session, Actor)>, crate::StoreError> {
    match session_token(&parts.headers, &accounts.config().cookie_name) {
        Some(token) => accounts.session(&token).await,
        None => Ok(None),
    }
}

fn full_path(parts: &Parts) -> String {
    let uri = parts.extensions.get::<OriginalUri>().map(|o| &o.0).unwrap_or(&parts.uri);
    uri.path_and_query().map(|p| p.as_str().to_string()).unwrap_or_else(|| "/".into())
}

fn wants_json(parts: &Parts) -> bool {
    let path = full_path(parts);
    if path.starts_with("/api/") || path == "/api" {
        return true;
    }
    let accept = parts.headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
    accept.contains("application/json") && !accept.contains("text/html")
}

fn not_signed_in(parts: &Parts) -> Response {
    if wants_json(parts) {
        return (StatusCode::UNAUTHORIZED, Json(json!({"error": "unauthorized", "message": "请先登录"})))
            .into_response();
    }
    // After signing in, a GET goes back where it was; anything else to the page it came from.
    let next = if parts.method == HttpMethod::GET || parts.method == HttpMethod::HEAD {
        full_path(parts)
    } else {
        referer_path(&parts.headers).unwrap_or_else(|| "/".into())
    };
    Redirect::to(&signin_url(&safe_next(&next))).into_response()
}

fn server_error(parts: &Parts) -> Response {
    if wants_json(parts) {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({"error": "internal", "message": "系统错误，请稍后再试"})),
        )
            .into_response();
    }
    (StatusCode::INTERNAL_SERVER_ERROR, page("出错了", html! { p.alert { "系统错误，请稍后再试" } }))
        .into_response()
}

fn signin_url(next: &str) -> String {
    if next == "/" {
        return "/signin".into();
    }
    let q: String = url::form_urlencoded::Serializer::new(String::new()).append_pair("next", next).finish();
    format!("/signin?{q}")
}

fn referer_path(headers: &HeaderMap) -> Option<String> {
    let referer = headers.get(header::REFERER)?.to_str().ok()?;
    let url = url::Url::parse(referer).ok()?;
    if Some(host_of(&url)?.as_str()) != headers.get(header::HOST).and_then(|h| h.to_str().ok()) {
        return None;
    }
    let mut p = url.path().to_string();
    if let Some(q) = url.query() {
        p.push('?');
        p.push_str(q);
    }
    Some(p)
}

fn host_of(url: &url::Url) -> Option<String> {
    let host = url.host_str()?;
    Some(match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    })
}

/// Only a local path may be a `next` target (never `//host` or `https://...`).
pub fn safe_next(next: &str) -> String {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && next.chars().count() <= NEXT_CHARS_MAX
        && !next.chars().any(|c| c.is_control() || c == '\\')
        && !next.starts_with("/signin")
        && !next.starts_with("/signout");
    if ok { next.to_string() } else { "/".into() }
}

// ---- cookies ----

/// The session token from the request's cookie named `name`.
pub fn session_token(headers: &HeaderMap, name: &str) -> Option<String> {
    yizhan_web::guard::cookie(headers, name)
}

fn session_cookie(accounts: &Accounts, session: &Session) -> HeaderValue {
    let c = accounts.config();
    let max_age = (c.session_max_ms / 1000).max(0);
    let secure = if c.secure_cookie { "; Secure" } else { "" };
    let v = format!(
        "{}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}",
        c.cookie_name, session.token
    );
    // The token is base64url: always a valid header value.
    HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn clear_cookie(accounts: &Accounts) -> HeaderValue {
    let secure = if accounts.config().secure_cookie { "; Secure" } else { "" };
    let name = &accounts.config().cookie_name;
    HeaderValue::from_str(&format!("{name}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}"))
        .unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn signed_in_redirect(accounts: &Accounts, session: &Session, next: &str) -> Response {
    let mut r = Redirect::to(&safe_next(next)).into_response();
    r.headers_mut().insert(header::SET_COOKIE, session_cookie(accounts, session));
    r
}

// ---- the sign-in page ----

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tab {
    Password,
    Code,
    Passkey,
}

struct SignInPage<'a> {
    next: &'a str,
    id: &'a str,
    tab: Tab,
    error: Option<String>,
    notice: Option<String>,
    passkeys: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct NextQuery {
    next: String,
    out: Option<String>,
}

async fn signin_page(
    State(accounts): State<Accounts>,
    signed_in: Option<SignedIn>,
    Query(q): Query<NextQuery>,
) -> Response {
    let next = safe_next(&q.next);
    if signed_in.is_some() {
        return Redirect::to(&next).into_response();
    }
    let notice = q.out.map(|_| "您已退出登录".to_string());
    signin_markup(&SignInPage {
        next: &next,
        id: "",
        tab: Tab::Password,
        error: None,
        notice,
        passkeys: accounts.passkeys_enabled(),
    })
    .into_response()
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PasswordForm {
    id: String,
    password: String,
    next: String,
}

async fn signin_password(
    State(accounts): State<Accounts>,
    ClientAddr(client): ClientAddr,
    Form(f): Form<PasswordForm>,
) -> Response {
    let next = safe_next(&f.next);
    match accounts.sign_in_password_from(&f.id, &f.password, client).await {
        Ok(session) => signed_in_redirect(&accounts, &session, &next),
        Err(e) => failed_page(&accounts, &e, &next, f.id.trim(), Tab::Password),
    }
}

fn failed_page(accounts: &Accounts, e: &SignInError, next: &str, id: &str, tab: Tab) -> Response {
    if matches!(e, SignInError::Store(_) | SignInError::Internal(_) | SignInError::Damaged(_)) {
        tracing::error!(error = %e, "sign-in failed");
    }
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let page = signin_markup(&SignInPage {
        next,
        id,
        tab,
        error: Some(e.message_zh()),
        notice: None,
        passkeys: accounts.passkeys_enabled(),
    });
    (status, page).into_response()
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CodeForm {
    id: String,
    code: String,
    next: String,
}

async fn send_code(State(accounts): State<Accounts>, Form(f): Form<CodeForm>) -> Response {
    let next = safe_next(&f.next);
    let id = f.id.trim();
    if id.is_empty() {
        return signin_markup(&SignInPage {
            next: &next,
            id,
            tab: Tab::Code,
            error: Some("请填写账号".into()),
            notice: None,
            passkeys: accounts.passkeys_enabled(),
        })
        .into_response();
    }
    match accounts.send_code(id).await {
        // An unknown id and one without a phone read exactly like success.
        Ok(()) | Err(SignInError::NoPhone) => signin_markup(&SignInPage {
            next: &next,
            id,
            tab: Tab::Code,
            error: None,
            notice: Some(SignInError::NoPhone.message_zh()),
            passkeys: accounts.passkeys_enabled(),
        })
        .into_response(),
        Err(e) => failed_page(&accounts, &e, &next, id, Tab::Code),
    }
}

async fn signin_code(State(accounts): State<Accounts>, Form(f): Form<CodeForm>) -> Response {
    let next = safe_next(&f.next);
    if f.code.trim().is_empty() {
        return signin_markup(&SignInPage {
            next: &next,
            id: f.id.trim(),
            tab: Tab::Code,
            error: Some("请填写短信验证码".into()),
            notice: None,
            passkeys: accounts.passkeys_enabled(),
        })
        .into_response();
    }
    match accounts.sign_in_code(&f.id, &f.code).await {
        Ok(session) => signed_in_redirect(&accounts, &session, &next),
        Err(e) => failed_page(&accounts, &e, &next, f.id.trim(), Tab::Code),
    }
}

// ---- passkey sign-in (JSON) ----

fn json_error(status: u16, code: &str, message: String) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, Json(json!({"error": code, "message": message}))).into_response()
}

fn sign_in_json_error(e: &SignInError) -> Response {
    if matches!(e, SignInError::Store(_) | SignInError::Internal(_) | SignInError::Damaged(_)) {
        tracing::error!(error = %e, "passkey sign-in failed");
    }
    json_error(e.status(), "signin", e.message_zh())
}

fn account_json_error(e: &AccountError) -> Response {
    if e.status() >= 500 {
        tracing::error!(error = %e, "account change failed");
    }
    json_error(e.status(), "account", e.message_zh())
}

fn bad_json(e: &JsonRejection) -> Response {
    tracing::warn!(error = %e, "malformed passkey request");
    json_error(400, "request", "请求格式不正确，请刷新页面后重试".into())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PasskeyStart {
    id: Option<String>,
}

async fn passkey_start(
    State(accounts): State<Accounts>,
    body: Result<Json<PasskeyStart>, JsonRejection>,
) -> Response {
    let Json(body) = match body {
        Ok(b) => b,
        Err(e) => return bad_json(&e),
    };
    match accounts.start_auth(body.id.as_deref()).await {
        Ok((ceremony, options)) => Json(json!({"ceremony": ceremony, "options": options})).into_response(),
        Err(e) => sign_in_json_error(&e),
    }
}

#[derive(Debug, Deserialize)]
struct PasskeyFinish {
    ceremony: String,
    credential: PublicKeyCredential,
    #[serde(default)]
    next: String,
}

async fn passkey_finish(
    State(accounts): State<Accounts>,
    body: Result<Json<PasskeyFinish>, JsonRejection>,
) -> Response {
    let Json(body) = match body {
        Ok(b) => b,
        Err(e) => return bad_json(&e),
    };
    match accounts.finish_auth(&body.ceremony, &body.credential).await {
        Ok(session) => {
            let next = safe_next(&body.next);
            let mut r = Json(json!({"ok": true, "next": next})).into_response();
            r.headers_mut().insert(header::SET_COOKIE, session_cookie(&accounts, &session));
            r
        }
        Err(e) => sign_in_json_error(&e),
    }
}

async fn signout(State(accounts): State<Accounts>, headers: HeaderMap) -> Response {
    if let Some(token) = session_token(&headers, &accounts.config().cookie_name)
        && let Err(e) = accounts.sign_out(&token).await
    {
        tracing::error!(error = %e, "ending a session");
    }
    let mut r = Redirect::to("/signin?out=1").into_response();
    r.headers_mut().insert(header::SET_COOKIE, clear_cookie(&accounts));
    r
}

// ---- the account page ----

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct AccountQuery {
    done: Option<String>,
}

async fn account_page(
    State(accounts): State<Accounts>,
    SignedIn(actor): SignedIn,
    Query(q): Query<AccountQuery>,
) -> Response {
    let notice = match q.done.as_deref() {
        Some("password") => Some("密码已修改".to_string()),
        Some("passkey") => Some("指纹/通行密钥已登记，下次可直接用它登录".to_string()),
        _ => None,
    };
    account_response(&accounts, &actor, StatusCode::OK, None, notice).await
}

async fn account_response(
    accounts: &Accounts,
    actor: &Actor,
    status: StatusCode,
    error: Option<String>,
    notice: Option<String>,
) -> Response {
    let summary = match accounts.credential_summary(&actor.person_id).await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "reading a credential summary");
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                page("出错了", html! { p.alert { (e.message_zh()) } }),
            )
                .into_response();
        }
    };
    let body = html! {
        section.card {
            h1 { "我的账号" }
            dl {
                dt { "姓名" } dd { (actor.name) }
                dt { "账号" } dd { (actor.person_id) }
                dt { "角色" } dd { (actor.role.name_zh()) }
                dt { "地区" } dd { (region_name(actor)) }
                dt { "登录方式" } dd {
                    @if summary.has_password { "密码 " }
                    @if summary.has_phone { "短信验证码 " }
                    @if summary.passkeys > 0 { "指纹/通行密钥（" (summary.passkeys) " 个）" }
                }
                @if let Some(fp) = &accounts.config().web_fingerprint {
                    dt { "本机网页证书指纹（SHA-256）" }
                    dd.fingerprint { code { (fp) } }
                }
            }
        }
        @if let Some(e) = &error { p.alert role="alert" { (e) } }
        @if let Some(n) = &notice { p.notice role="status" { (n) } }
        section.card {
            h2 { "修改密码" }
            form method="post" action=(yizhan_web::action("/account/password")) {
                @if summary.has_password {
                    label { "当前密码" input type="password" name="current" autocomplete="current-password" required; }
                }
                label { "新密码（至少 " (password::PASSWORD_CHARS_MIN) " 位）"
                    input type="password" name="new" autocomplete="new-password" required minlength=(password::PASSWORD_CHARS_MIN) maxlength=(password::PASSWORD_CHARS_MAX); }
                label { "再输入一次新密码"
                    input type="password" name="confirm" autocomplete="new-password" required minlength=(password::PASSWORD_CHARS_MIN) maxlength=(password::PASSWORD_CHARS_MAX); }
                button.primary.big type="submit" { "保存新密码" }
            }
        }
        @if accounts.passkeys_enabled() {
            section.card {
                h2 { "指纹 / 通行密钥" }
                p.small { "在这台设备上登记后，可用指纹、面容或设备密码直接登录，不必输入密码。" }
                button.primary.big type="button" id="passkey-register" { "登记本设备的指纹/通行密钥" }
                p.alert id="passkey-msg" role="alert" hidden {}
            }
        }
        form method="post" action=(yizhan_web::action("/signout")) {
            button.big type="submit" { "退出登录" }
        }
    };
    (status, page("我的账号", body)).into_response()
}

fn region_name(actor: &Actor) -> String {
    // Villages are not in the reference data: name the town and show the code.
    let code = actor.region.as_str();
    let known = match actor.region.level() {
        yizhan_core::RegionLevel::Village => {
            yizhan_core::region::ancestor_at(code, yizhan_core::RegionLevel::Town).unwrap_or(code)
        }
        _ => code,
    };
    match yizhan_core::regions().get(known) {
        Some(r) if known == code => r.name.clone(),
        Some(r) => format!("{}（{code}）", r.name),
        None => code.to_string(),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ChangePasswordForm {
    current: String,
    new: String,
    confirm: String,
}

async fn change_password(
    State(accounts): State<Accounts>,
    SignedIn(actor): SignedIn,
    Form(f): Form<ChangePasswordForm>,
) -> Response {
    if f.new != f.confirm {
        return account_response(
            &accounts,
            &actor,
            StatusCode::BAD_REQUEST,
            Some("两次输入的新密码不一致".into()),
            None,
        )
        .await;
    }
    match accounts.change_password(&actor.person_id, &f.current, &f.new).await {
        Ok(()) => Redirect::to("/account?done=password").into_response(),
        Err(e) => {
            if e.status() >= 500 {
                tracing::error!(error = %e, "changing a password");
            }
            let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            account_response(&accounts, &actor, status, Some(e.message_zh()), None).await
        }
    }
}

async fn register_start(State(accounts): State<Accounts>, SignedIn(actor): SignedIn) -> Response {
    match accounts.start_register(&actor.person_id).await {
        Ok((ceremony, options)) => Json(json!({"ceremony": ceremony, "options": options})).into_response(),
        Err(e) => account_json_error(&e),
    }
}

#[derive(Debug, Deserialize)]
struct RegisterFinish {
    ceremony: String,
    credential: RegisterPublicKeyCredential,
}

async fn register_finish(
    State(accounts): State<Accounts>,
    SignedIn(actor): SignedIn,
    body: Result<Json<RegisterFinish>, JsonRejection>,
) -> Response {
    let Json(body) = match body {
        Ok(b) => b,
        Err(e) => return bad_json(&e),
    };
    match accounts.finish_register(&actor.person_id, &body.ceremony, &body.credential).await {
        Ok(()) => Json(json!({"ok": true})).into_response(),
        Err(e) => account_json_error(&e),
    }
}

// ---- markup ----

/// The sign-in and account pages' shell (they name the person and sign out themselves).
fn page(title: &str, body: Markup) -> Markup {
    let mut shell = yizhan_web::Shell::new("signin", "驿站", "/");
    shell.brand_sub = Some("四川乡村振兴科技在线".into());
    shell.scripts = vec!["/static/signin.js"];
    shell.render(title, body)
}

fn signin_markup(p: &SignInPage<'_>) -> Markup {
    let tabs = if p.passkeys { 3 } else { 2 };
    let body = html! {
        h1 { "登录" }
        @if let Some(e) = &p.error { p.alert role="alert" data-testid="error" { (e) } }
        @if let Some(n) = &p.notice { p.notice role="status" data-testid="notice" { (n) } }
        div.tabs class=(format!("n{tabs}")) {
            input type="radio" name="tab" id="tab-password" checked[p.tab == Tab::Password];
            label for="tab-password" { "密码登录" }
            input type="radio" name="tab" id="tab-code" checked[p.tab == Tab::Code];
            label for="tab-code" { "短信验证码" }
            @if p.passkeys {
                input type="radio" name="tab" id="tab-passkey" checked[p.tab == Tab::Passkey];
                label for="tab-passkey" { "指纹/通行密钥" }
            }
            section.panel.password.card {
                form method="post" action=(yizhan_web::action("/signin/password")) {
                    input type="hidden" name="next" value=(p.next);
                    label { "账号（编号）" input type="text" name="id" value=(p.id) autocomplete="username" autocapitalize="off" required maxlength="32"; }
                    label { "密码" input type="password" name="password" autocomplete="current-password" required maxlength=(password::PASSWORD_CHARS_MAX); }
                    button.primary.big type="submit" { "登录" }
                }
            }
            section.panel.code.card {
                // "登录" comes before "获取验证码" in the document, so Enter in the code field
                // signs in; the grid shows the send button beside the code field.
                form.code-form method="post" action=(yizhan_web::action("/signin/code")) {
                    input type="hidden" name="next" value=(p.next);
                    label.wide { "账号（编号）" input type="text" name="id" value=(p.id) autocomplete="username" autocapitalize="off" required maxlength="32"; }
                    label { "短信验证码" input type="text" name="code" inputmode="numeric" autocomplete="one-time-code" maxlength="6" pattern="[0-9]*"; }
                    button.primary.big.wide type="submit" { "登录" }
                    button.send type="submit" formaction=(yizhan_web::action("/signin/code/send")) formnovalidate { "获取验证码" }
                }
                p.small { "验证码发送到账号登记的手机，" (crate::limits::CODE_TTL_MS / 60_000) " 分钟内有效。" }
            }
            @if p.passkeys {
                section.panel.passkey.card {
                    p { "用这台设备上登记过的指纹、面容或设备密码登录。" }
                    label { "账号（可不填）" input type="text" id="passkey-id" autocomplete="username webauthn" autocapitalize="off" maxlength="32" value=(p.id); }
                    p.alert id="passkey-msg" role="alert" hidden {}
                    button.primary.big type="button" id="passkey-signin" data-next=(p.next) { "使用指纹/通行密钥登录" }
                }
            }
        }
    };
    page("登录", body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_targets_are_local_paths_only() {
        assert_eq!(safe_next("/cases/abc?x=1"), "/cases/abc?x=1");
        assert_eq!(safe_next("//evil.example/x"), "/");
        assert_eq!(safe_next("/\\evil.example"), "/");
        assert_eq!(safe_next("https://evil.example/"), "/");
        assert_eq!(safe_next("cases"), "/");
        assert_eq!(safe_next(""), "/");
        assert_eq!(safe_next("/signin?next=/signin"), "/");
        assert_eq!(safe_next(&format!("/{}", "a".repeat(600))), "/");
        assert_eq!(signin_url("/cases?status=open"), "/signin?next=%2Fcases%3Fstatus%3Dopen");
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut h = HeaderMap::new();
        h.append(header::COOKIE, HeaderValue::from_static("a=1; yizhan_session=tok-en_1"));
        h.append(header::COOKIE, HeaderValue::from_static("b=2"));
        assert_eq!(session_token(&h, COOKIE_NAME).as_deref(), Some("tok-en_1"));
        assert_eq!(session_token(&h, "other"), None);
        assert_eq!(session_token(&HeaderMap::new(), COOKIE_NAME), None);
    }
}
