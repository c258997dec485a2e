//! The one stylesheet and script set of every node (`assets/web/`), embedded at compile time
//! and served under `/static/`. Every node's router merges [`routes`].

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

/// The stylesheet of every page: shared rules first, then those of each page family (the
/// `<body>` class the shell sets).
pub const APP_CSS: &str = include_str!("../../assets/web/app.css");
/// Progressive enhancement (upload and transcoding progress); every page works without it.
pub const APP_JS: &str = include_str!("../../assets/web/app.js");
/// Passkey ceremonies on the sign-in and account pages.
pub const SIGNIN_JS: &str = include_str!("../../assets/web/signin.js");

fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "no-cache")], body)
}

/// `/static/app.css`, `/static/app.js`, `/static/signin.js`.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/static/app.css", get(|| async { asset("text/css; charset=utf-8", APP_CSS) }))
        .route("/static/app.js", get(|| async { asset("text/javascript; charset=utf-8", APP_JS) }))
        .route("/static/signin.js", get(|| async { asset("text/javascript; charset=utf-8", SIGNIN_JS) }))
}
