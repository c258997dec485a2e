//! Protection of every state-changing request against cross-site posts, and the security
//! headers of every response: one middleware, [`protect`], that every node's router wears.
//!
//! A request whose method can change state (anything but `GET`, `HEAD`, `OPTIONS`, `TRACE`)
//! passes only when both hold:
//!
//! 1. **Its origin is this site.** The `Origin` header, when present, must name the host and port
//!    the request was sent to (`null` never does); without `Origin`, a `Sec-Fetch-Site` header, when
//!    present, must say `same-origin` or `none`. A page on another port of the same host is
//!    another origin (cookies and `SameSite` do not separate ports; this check does).
//! 2. **It carries this browser session's token.** The token is the value of the `yizhan_csrf`
//!    cookie (128 random bits, `HttpOnly; SameSite=Strict`, set by this middleware on the first
//!    response to a browser), presented again in the `x-csrf-token` header (scripts, API clients)
//!    or the `_csrf` query parameter (forms: [`action`] writes it into a form's target, so
//!    multipart uploads need not be buffered to find it). Another site can neither read the
//!    cookie nor the pages that carry the token.
//!
//! A refusal is `403` with a Chinese message (JSON for `/api/` paths and JSON clients), is logged
//! with its reason and path (never the token), and the handler never runs, so nothing changes.
//! Non-browser clients (the sync enrolment endpoint aside, which is authenticated by its one-time
//! code and mounted outside this layer) fetch a token with any `GET`: the response's
//! `x-csrf-token` header repeats the cookie's value.

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The cookie that holds the browser session's token.
pub const CSRF_COOKIE: &str = "yizhan_csrf";
/// The request (and response) header that carries the token for scripts and API clients.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The query parameter that carries the token for forms.
pub const CSRF_QUERY: &str = "_csrf";
/// Random bytes in a token (hex-encoded: 32 characters).
pub const TOKEN_BYTES: usize = 16;

/// Every page's Content-Security-Policy: nothing from other sites, no framing, forms post only
/// here. Inline styles stay allowed (maud pages set `style` attributes).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data: blob:; \
     media-src 'self' blob:; style-src 'self' 'unsafe-inline'; script-src 'self'; object-src 'none'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

tokio::task_local! {
    static TOKEN: String;
}

/// This request's token, for pages that render forms or scripts; empty outside [`protect`].
pub fn csrf_token() -> String {
    TOKEN.try_with(Clone::clone).unwrap_or_default()
}

/// A form's target with this session's token: `form method="post" action=(action("/cases"))`.
pub fn action(path: &str) -> String {
    let sep = if path.contains('?') { '&' } else { '?' };
    format!("{path}{sep}{CSRF_QUERY}={}", csrf_token())
}

/// `<meta name="csrf-token">` for the page head: the shared script sends it with every `fetch`.
pub fn csrf_meta() -> maud::Markup {
    maud::html! { meta name="csrf-token" content=(csrf_token()); }
}

/// Why a state-changing request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `Origin` (or `Sec-Fetch-Site`) names another site.
    Origin,
    /// No token, or not this session's.
    Token,
}

/// The middleware: `router.layer(axum::middleware::from_fn(yizhan_web::protect))`.
pub async fn protect(req: Request, next: Next) -> Response {
    let existing = cookie(req.headers(), CSRF_COOKIE).filter(|t| well_formed(t));
    if changes_state(req.method())
        && let Err(refusal) = check(&req, existing.as_deref())
    {
        tracing::warn!(?refusal, method = %req.method(), path = req.uri().path(), "refused a state-changing request");
        let mut res = refused(&req, refusal);
        secure_headers(res.headers_mut());
        return res;
    }
    let token = existing.clone().unwrap_or_else(new_token);
    let mut res = TOKEN.scope(token.clone(), next.run(req)).await;
    let headers = res.headers_mut();
    if existing.is_none()
        && let Ok(v) =
            HeaderValue::from_str(&format!("{CSRF_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict"))
    {
        headers.append(header::SET_COOKIE, v);
    }
    if let Ok(v) = HeaderValue::from_str(&token) {
        headers.insert(CSRF_HEADER, v);
    }
    secure_headers(headers);
    res
}

/// Whether a request with this method may change state.
pub fn changes_state(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE)
}

/// The two checks of a state-changing request, given the session's token from its cookie.
pub fn check(req: &Request, session_token: Option<&str>) -> Result<(), Refusal> {
    let headers = req.headers();
    if !same_origin(headers) {
        return Err(Refusal::Origin);
    }
    let Some(expected) = session_token else { return Err(Refusal::Token) };
    let presented = headers
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| query_param(req.uri().query().unwrap_or(""), CSRF_QUERY));
    match presented {
        Some(p) if constant_time_eq(p.as_bytes(), expected.as_bytes()) => Ok(()),
        _ => Err(Refusal::Token),
    }
}

/// Whether the request comes from a page of this site (see the module docs).
pub fn same_origin(headers: &HeaderMap) -> bool {
    if let Some(origin) = headers.get(header::ORIGIN) {
        let Ok(origin) = origin.to_str() else { return false };
        let Ok(url) = url::Url::parse(origin) else { return false };
        let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) else { return false };
        let Some(request_host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
            return false;
        };
        return match split_host_port(request_host) {
            Some((h, p)) => {
                h.eq_ignore_ascii_case(host)
                    && p.unwrap_or(if url.scheme() == "https" { 443 } else { 80 }) == port
            }
            None => false,
        };
    }
    match headers.get("sec-fetch-site").map(|v| v.as_bytes()) {
        None => true,
        Some(site) => site == b"same-origin" || site == b"none",
    }
}

/// `host`, `host:port`, `[v6]`, `[v6]:port`.
fn split_host_port(s: &str) -> Option<(&str, Option<u16>)> {
    if s.starts_with('[') {
        let end = s.find(']')?;
        let (host, rest) = s.split_at(end + 1);
        return match rest {
            "" => Some((host, None)),
            _ => Some((host, Some(rest.strip_prefix(':')?.parse().ok()?))),
        };
    }
    match s.rsplit_once(':') {
        Some((h, p)) => Some((h, Some(p.parse().ok()?))),
        None => Some((s, None)),
    }
}

/// The value of cookie `name` in the request.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value.trim().to_string())
}

/// For clients that are not browsers (tests, benchmarks, scripts): a token of their own, sent as
/// a browser sends its, in the cookie and again in the header. A client that also sends a session
/// cookie must put both cookies in one `Cookie` header ([`client_cookie`]).
pub fn client_headers() -> HeaderMap {
    let token = new_token();
    let mut h = HeaderMap::new();
    if let (Ok(c), Ok(t)) =
        (HeaderValue::from_str(&format!("{CSRF_COOKIE}={token}")), HeaderValue::from_str(&token))
    {
        h.insert(header::COOKIE, c);
        h.insert(CSRF_HEADER, t);
    }
    h
}

/// A non-browser client's token: the `Cookie` pair to send and the value of `x-csrf-token`.
pub fn client_cookie() -> (String, String) {
    let token = new_token();
    (format!("{CSRF_COOKIE}={token}"), token)
}

fn query_param(query: &str, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

fn well_formed(token: &str) -> bool {
    token.len() == TOKEN_BYTES * 2 && token.bytes().all(|b| b.is_ascii_hexdigit())
}

fn new_token() -> String {
    let bytes: [u8; TOKEN_BYTES] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Sets the headers every response carries (a handler's own value is kept).
pub fn secure_headers(headers: &mut HeaderMap) {
    let fixed: [(&str, &str); 4] = [
        ("content-security-policy", CONTENT_SECURITY_POLICY),
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "same-origin"),
    ];
    for (name, value) in fixed {
        if !headers.contains_key(name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
}

fn wants_json(req: &Request) -> bool {
    let path = req.uri().path();
    let accept = req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
    let json_body = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("application/json"));
    path.starts_with("/api/")
        || json_body
        || (accept.contains("application/json") && !accept.contains("text/html"))
}

fn refused(req: &Request, refusal: Refusal) -> Response {
    let message = match refusal {
        Refusal::Origin => "请求被拒绝：请求来自其他网站或页面。",
        Refusal::Token => "请求被拒绝：页面已过期或缺少安全校验，请返回上一页刷新后重试。",
    };
    let code = match refusal {
        Refusal::Origin => "origin",
        Refusal::Token => "csrf",
    };
    if wants_json(req) {
        return (StatusCode::FORBIDDEN, axum::Json(serde_json::json!({"error": code, "message": message})))
            .into_response();
    }
    let page = maud::html! {
        (maud::DOCTYPE)
        html lang="zh-CN" {
            head { meta charset="utf-8"; meta name="viewport" content="width=device-width, initial-scale=1"; title { "请求被拒绝" } }
            body { h1 { "请求被拒绝" } p data-testid="refused" { (message) } p { a href="/" { "返回首页" } } }
        }
    };
    (StatusCode::FORBIDDEN, page).into_response()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::body::Body;
    use axum::routing::get;
    use tower::ServiceExt;

    fn app() -> Router {
        Router::new()
            .route("/form", get(|| async { action("/cases") }).post(|| async { "changed" }))
            .layer(axum::middleware::from_fn(protect))
    }

    fn post(uri: &str, headers: &[(&str, &str)]) -> Request {
        let mut b = Request::builder().method("POST").uri(uri).header("host", "127.0.0.1:8080");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(Body::empty()).unwrap()
    }

    const T: &str = "0123456789abcdef0123456789abcdef";

    async fn status(req: Request) -> StatusCode {
        app().oneshot(req).await.unwrap().status()
    }

    #[tokio::test]
    async fn a_post_needs_this_origin_and_the_session_token() {
        let cookie = format!("{CSRF_COOKIE}={T}");
        let ok = [("cookie", cookie.as_str()), (CSRF_HEADER, T)];
        assert_eq!(status(post("/form", &ok)).await, StatusCode::OK, "no Origin: a non-browser client");
        let same = [("cookie", cookie.as_str()), (CSRF_HEADER, T), ("origin", "http://127.0.0.1:8080")];
        assert_eq!(status(post("/form", &same)).await, StatusCode::OK);
        let form_uri = format!("/form?{CSRF_QUERY}={T}");
        assert_eq!(
            status(post(&form_uri, &[("cookie", cookie.as_str())])).await,
            StatusCode::OK,
            "token in query"
        );
        for origin in
            ["http://127.0.0.1:9999", "http://evil.example", "null", "http://127.0.0.1", "not a url"]
        {
            let h = [("cookie", cookie.as_str()), (CSRF_HEADER, T), ("origin", origin)];
            assert_eq!(status(post("/form", &h)).await, StatusCode::FORBIDDEN, "origin {origin}");
        }
        let cross = [("cookie", cookie.as_str()), (CSRF_HEADER, T), ("sec-fetch-site", "same-site")];
        assert_eq!(
            status(post("/form", &cross)).await,
            StatusCode::FORBIDDEN,
            "a sibling port without Origin"
        );
        assert_eq!(status(post("/form", &[(CSRF_HEADER, T)])).await, StatusCode::FORBIDDEN, "no cookie");
        assert_eq!(
            status(post("/form", &[("cookie", cookie.as_str())])).await,
            StatusCode::FORBIDDEN,
            "no token"
        );
        let other = [("cookie", cookie.as_str()), (CSRF_HEADER, "0123456789abcdef0123456789abcdee")];
        assert_eq!(status(post("/form", &other)).await, StatusCode::FORBIDDEN, "another session's token");
    }

    #[tokio::test]
    async fn a_page_gets_a_token_cookie_and_the_security_headers() {
        let req = Request::builder().uri("/form").header("host", "h:1").body(Body::empty()).unwrap();
        let res = app().oneshot(req).await.unwrap();
        let set =
            res.headers().get(header::SET_COOKIE).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        assert!(set.starts_with(&format!("{CSRF_COOKIE}=")) && set.contains("HttpOnly"), "{set}");
        let token = res.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        assert!(well_formed(&token) && set.contains(&token));
        for h in ["content-security-policy", "x-content-type-options", "x-frame-options", "referrer-policy"] {
            assert!(res.headers().contains_key(h), "{h}");
        }
        let body = axum::body::to_bytes(res.into_body(), 1024).await.unwrap();
        assert_eq!(
            body,
            format!("/cases?{CSRF_QUERY}={token}").as_bytes(),
            "the form target carries the token"
        );
    }

    #[test]
    fn hosts_and_ports_are_compared_exactly() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("[::1]:8080"));
        h.insert(header::ORIGIN, HeaderValue::from_static("http://[::1]:8080"));
        assert!(same_origin(&h));
        h.insert(header::HOST, HeaderValue::from_static("kiosk.local"));
        h.insert(header::ORIGIN, HeaderValue::from_static("http://kiosk.local"));
        assert!(same_origin(&h));
        h.insert(header::ORIGIN, HeaderValue::from_static("http://kiosk.local:81"));
        assert!(!same_origin(&h));
        h.remove(header::HOST);
        assert!(!same_origin(&h), "no Host to compare with");
    }
}
