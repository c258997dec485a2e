//! Prometheus metrics of every node kind (`/metrics`): the text exposition format (0.0.4) and
//! the HTTP request metrics every router records. Figures only: counts, bytes, ages and
//! durations, never a person's data or a case's content.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Upper bounds of the request-duration histogram, in seconds.
pub const DURATION_BUCKETS_S: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

/// The text of one scrape, written family by family.
#[derive(Debug, Default)]
pub struct Exposition {
    out: String,
    families: BTreeSet<String>,
}

impl Exposition {
    pub fn new() -> Exposition {
        Exposition::default()
    }

    /// A value that goes up and down (queue lengths, ages, backlogs).
    pub fn gauge(&mut self, name: &str, help: &str, labels: &[(&str, &str)], value: f64) {
        self.sample(name, help, "gauge", labels, value);
    }

    /// A value that only grows while the process runs (requests, bytes moved).
    pub fn counter(&mut self, name: &str, help: &str, labels: &[(&str, &str)], value: f64) {
        self.sample(name, help, "counter", labels, value);
    }

    fn sample(&mut self, name: &str, help: &str, kind: &str, labels: &[(&str, &str)], value: f64) {
        self.family(name, help, kind);
        self.line(name, labels, value);
    }

    fn family(&mut self, name: &str, help: &str, kind: &str) {
        if self.families.insert(name.to_string()) {
            let _ = writeln!(self.out, "# HELP {name} {}", help.replace('\\', "\\\\").replace('\n', "\\n"));
            let _ = writeln!(self.out, "# TYPE {name} {kind}");
        }
    }

    fn line(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let v = v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n");
                let _ = write!(self.out, "{k}=\"{v}\"");
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {}", number(value));
    }

    /// The requests recorded by [`track`].
    pub fn requests(&mut self, m: &RequestMetrics) {
        let Ok(r) = m.0.lock() else { return };
        for (class, n) in r.by_class.iter().enumerate() {
            let label = format!("{}xx", class + 1);
            self.counter(
                "yizhan_http_requests_total",
                "HTTP requests answered, by status class",
                &[("class", &label)],
                *n as f64,
            );
        }
        let name = "yizhan_http_request_duration_seconds";
        self.family(name, "Time to answer an HTTP request (until the response head)", "histogram");
        let mut cumulative = 0u64;
        for (bound, n) in DURATION_BUCKETS_S.iter().zip(r.buckets.iter()) {
            cumulative += n;
            self.line(&format!("{name}_bucket"), &[("le", &number(*bound))], cumulative as f64);
        }
        self.line(&format!("{name}_bucket"), &[("le", "+Inf")], r.count as f64);
        self.line(&format!("{name}_sum"), &[], r.sum_s);
        self.line(&format!("{name}_count"), &[], r.count as f64);
    }

    pub fn finish(self) -> String {
        self.out
    }

    /// The scrape as an HTTP response.
    pub fn into_response(self) -> Response {
        ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], self.out)
            .into_response()
    }
}

fn number(v: f64) -> String {
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e15 { format!("{}", v as i64) } else { format!("{v}") }
}

#[derive(Debug, Default)]
struct Requests {
    /// 1xx .. 5xx.
    by_class: [u64; 5],
    /// Non-cumulative counts per bucket of [`DURATION_BUCKETS_S`].
    buckets: [u64; DURATION_BUCKETS_S.len()],
    count: u64,
    sum_s: f64,
}

/// The HTTP request metrics of one node, shared by its router's layer and its `/metrics`.
#[derive(Debug, Clone, Default)]
pub struct RequestMetrics(Arc<Mutex<Requests>>);

impl RequestMetrics {
    pub fn record(&self, status: u16, seconds: f64) {
        let Ok(mut r) = self.0.lock() else { return };
        let class = usize::from(status / 100).clamp(1, 5) - 1;
        r.by_class[class] += 1;
        if let Some(i) = DURATION_BUCKETS_S.iter().position(|b| seconds <= *b) {
            r.buckets[i] += 1;
        }
        r.count += 1;
        r.sum_s += seconds;
    }
}

/// The layer every node's router wears: counts each answered request and its duration.
pub async fn track(State(metrics): State<RequestMetrics>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let response = next.run(req).await;
    metrics.record(response.status().as_u16(), started.elapsed().as_secs_f64());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exposition_has_one_header_per_family_escaped_labels_and_a_cumulative_histogram() {
        let m = RequestMetrics::default();
        m.record(200, 0.003);
        m.record(200, 0.2);
        m.record(404, 30.0);
        let mut e = Exposition::new();
        e.gauge("yizhan_peer_backlog_docs", "Documents a peer lacks", &[("peer", "kiosk-\"a\"")], 3.0);
        e.gauge("yizhan_peer_backlog_docs", "Documents a peer lacks", &[("peer", "kiosk-b")], 0.0);
        e.requests(&m);
        let text = e.finish();
        assert_eq!(text.matches("# TYPE yizhan_peer_backlog_docs gauge").count(), 1, "{text}");
        assert!(text.contains("yizhan_peer_backlog_docs{peer=\"kiosk-\\\"a\\\"\"} 3\n"), "{text}");
        assert!(text.contains("yizhan_http_requests_total{class=\"2xx\"} 2\n"), "{text}");
        assert!(text.contains("yizhan_http_requests_total{class=\"4xx\"} 1\n"), "{text}");
        assert!(text.contains("yizhan_http_request_duration_seconds_bucket{le=\"0.005\"} 1\n"), "{text}");
        assert!(text.contains("yizhan_http_request_duration_seconds_bucket{le=\"0.25\"} 2\n"), "{text}");
        assert!(text.contains("yizhan_http_request_duration_seconds_bucket{le=\"10\"} 2\n"), "{text}");
        assert!(text.contains("yizhan_http_request_duration_seconds_bucket{le=\"+Inf\"} 3\n"), "{text}");
        assert!(text.contains("yizhan_http_request_duration_seconds_count 3\n"), "{text}");
    }
}
