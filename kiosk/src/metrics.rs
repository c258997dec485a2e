//! The kiosk's `/metrics` (Prometheus text): its store's figures, the link to its county hub
//! and its HTTP requests. Counts, bytes and ages only: served without sign-in.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use yizhan_net::LinkState;
use yizhan_web::metrics::Exposition;

use crate::AppState;

pub(crate) async fn metrics(State(state): State<AppState>) -> Response {
    let stats = match state.store.call(|db| db.stats()).await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "reading the store's figures for /metrics");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let mut e = Exposition::new();
    for (name, help, value) in stats.samples() {
        e.gauge(name, help, &[], value);
    }
    let link = state.sync.get();
    if link.link != LinkState::Disabled {
        let now_ms = state.clock.now_ms();
        for (name, help, value) in link.samples(now_ms) {
            e.gauge(name, help, &[("peer", &link.peer), ("relation", "parent")], value);
        }
    }
    e.requests(&state.requests);
    e.into_response()
}
