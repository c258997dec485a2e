//! The hub's `/metrics` (Prometheus text): its store's figures, cases by status, service-clock
//! breaches, the links to its children and its parent (backlog, last contact, bytes moved) and
//! its HTTP requests. Counts, bytes and ages only: served without sign-in, like `/status`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use yizhan_web::metrics::Exposition;

use crate::Hub;

pub(crate) async fn metrics(State(hub): State<Hub>) -> Response {
    let figures = hub.store.call(|db| Ok((db.stats()?, db.breach_counts()?))).await;
    let view = hub.view().await;
    let ((stats, breaches), view) = match (figures, view) {
        (Ok(f), Ok(v)) => (f, v),
        (Err(e), _) | (_, Err(e)) => {
            tracing::error!(error = %e, "reading the hub's figures for /metrics");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let now_ms = hub.store.config().clock.now_ms();
    let mut e = Exposition::new();
    for (name, help, value) in stats.samples() {
        e.gauge(name, help, &[], value);
    }
    for s in &view.cases_by_status {
        e.gauge(
            "yizhan_cases_by_status",
            "Cases at this hub by status",
            &[("status", &s.status)],
            s.cases as f64,
        );
    }
    for (kind, n) in breaches {
        e.gauge(
            "yizhan_clock_breaches",
            "Service-clock runs this hub measures that ran past their deadline",
            &[("clock", &kind)],
            n as f64,
        );
    }
    for c in &view.children {
        let labels = [("peer", c.node_id.as_str()), ("relation", "child")];
        e.gauge(
            "yizhan_peer_backlog_docs",
            "Documents changed here that the child has not applied",
            &labels,
            c.backlog_docs as f64,
        );
        if let Some(t) = c.last_contact_ms {
            e.gauge(
                "yizhan_peer_last_contact_age_seconds",
                "Seconds since the peer was last heard from",
                &labels,
                (now_ms - t).max(0) as f64 / 1000.0,
            );
        }
        for (name, help, value) in c.link.samples(now_ms) {
            e.gauge(name, help, &labels, value);
        }
    }
    if let Some(p) = &view.parent {
        for (name, help, value) in p.samples(now_ms) {
            e.gauge(name, help, &[("peer", &p.peer), ("relation", "parent")], value);
        }
    }
    e.requests(&hub.requests);
    e.into_response()
}
