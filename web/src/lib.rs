//! The one web layer of every node kind (kiosk, county, city and province hubs, sign-in):
//! protection of state-changing requests against cross-site posts and the security headers of
//! every response ([`guard`]). Every node's whole router wears
//! `axum::middleware::from_fn(yizhan_web::protect)`; pages put the session's token into their
//! forms with [`action`] and into their head with [`csrf_meta`].

pub mod fmt;
pub mod guard;

pub use guard::{
    CSRF_COOKIE, CSRF_HEADER, CSRF_QUERY, action, client_cookie, client_headers, csrf_meta, csrf_token,
    protect,
};
