//! The one web layer of every node kind (kiosk, county, city and province hubs, sign-in):
//! protection of state-changing requests against cross-site posts and the security headers of
//! every response ([`guard`]). Every node's whole router wears
//! `axum::middleware::from_fn(yizhan_web::protect)`; pages put the session's token into their
//! forms with [`action`] and into their head with [`csrf_meta`]. The page shell with the
//! navigation of the 4+1 modules and the error page ([`page`]), the one stylesheet and script
//! set ([`assets`], served under `/static/`), Chinese formatting of times, regions, industries
//! and money ([`fmt`]).

pub mod assets;
pub mod fmt;
pub mod guard;
pub mod metrics;
pub mod page;
pub mod published;

pub use guard::{
    CSRF_COOKIE, CSRF_HEADER, CSRF_QUERY, action, client_cookie, client_headers, csrf_meta, csrf_token,
    protect,
};
pub use page::{Module, NavLink, Shell, Viewer};
