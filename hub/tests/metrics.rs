//! `/metrics` at a county hub and its kiosk over real QUIC: the store's figures, cases by
//! status, a service-clock breach, the link in both directions and the HTTP requests, in the
//! Prometheus text format, and no person's data.
#![allow(clippy::unwrap_used)]

use yizhan_core::clock::{ServicePolicy, WorkingHours};
use yizhan_core::{Event, EventKind};
use yizhan_test_support::{Kiosk, Pki, eventually, start_hub};

const COUNTY: &str = "510131";
const VILLAGE: &str = "510131001001";

async fn scrape(url: &str) -> String {
    let res = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(format!("{url}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let kind = res.headers().get("content-type").unwrap().to_str().unwrap().to_string();
    assert!(kind.starts_with("text/plain; version=0.0.4"), "{kind}");
    res.text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hub_and_kiosk_expose_sync_backlog_breaches_and_requests_without_personal_data() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new();
    let county_ca = Pki::hub(&pki.province, COUNTY);
    let hub = start_hub(&dir.path().join("hub"), &pki.hub_tls(&county_ca), None).await;
    // A one-millisecond triage limit counted around the clock: an escalated case breaches at once.
    let policy = ServicePolicy {
        triage_ms: 1,
        hours: WorkingHours::always(),
        observe_holidays: false,
        ..ServicePolicy::default()
    };
    hub.store.call(move |db| db.set_service_policy(&policy)).await.unwrap();
    let kiosk = Kiosk::start(&dir.path().join("kiosk"), &county_ca, &pki.province, "kiosk-a", VILLAGE).await;
    kiosk.link(&hub);

    let escalated = Event::new("c1-e", 2, "李信息员", EventKind::Escalated);
    yizhan_test_support::fixtures::record_case(&kiosk.state.store, "c1", VILLAGE, vec![escalated]).await;

    let hub_url = format!("http://{}", hub.http_addr);
    eventually("the hub counts the case and its triage breach", || async {
        let m = scrape(&hub_url).await;
        m.contains("yizhan_store_cases 1\n") && m.contains("yizhan_clock_breaches{clock=\"triage\"} 1\n")
    })
    .await;
    let m = scrape(&hub_url).await;
    assert!(m.contains("# TYPE yizhan_peer_backlog_docs gauge"), "{m}");
    assert!(m.contains("yizhan_peer_link_up{peer=\"kiosk-a\",relation=\"child\"} 1\n"), "{m}");
    assert!(m.contains("yizhan_peer_last_contact_age_seconds{peer=\"kiosk-a\",relation=\"child\"}"), "{m}");
    assert!(m.contains("yizhan_cases_by_status{status=\"awaiting_triage\"} 1\n"), "{m}");
    assert!(m.contains("yizhan_http_requests_total{class=\"2xx\"}"), "{m}");
    assert!(m.contains("yizhan_http_request_duration_seconds_count"), "{m}");

    eventually("the kiosk sees its case synced", || async {
        scrape(&kiosk.url).await.contains("yizhan_store_unsynced_documents 0\n")
    })
    .await;
    let k = scrape(&kiosk.url).await;
    assert!(k.contains("yizhan_store_cases 1\n"), "{k}");
    assert!(
        k.contains(&format!(
            "yizhan_peer_link_up{{peer=\"{}\",relation=\"parent\"}} 1\n",
            hub.config.node_id
        )),
        "{k}"
    );
    assert!(k.contains("yizhan_peer_last_sync_age_seconds{"), "{k}");
    for text in [&m, &k] {
        for personal in ["王大爷", "李信息员", "生猪", "不吃食"] {
            assert!(!text.contains(personal), "{personal} in /metrics");
        }
    }
}
