//! Benchmark (not a test): a kiosk syncs N offline cases with 3 photos each to its county hub
//! over an emulated rural link (1 Mbit/s, 300 ms round trip, 2 % loss, in user space: this
//! kernel has no netem) and reports bytes on the wire / payload bytes, time / the link's limit,
//! and the hub's CPU time per synced case. (An up-to-date sync is two hellos, one round trip:
//! `store/tests/sync.rs` counts it exactly.)
//!
//! `cargo bench --bench sync_link`; `YIZHAN_BENCH_CASES` (default 100), `YIZHAN_BENCH_LOSS`
//! (default 0.02), `YIZHAN_BENCH_RATE` (bytes/s, default 125000) and `YIZHAN_BENCH_RTT_MS`
//! (default 300) adjust it; `YIZHAN_BENCH_LINK=loopback` dials the hub directly, without the
//! emulator (a LAN-like check that transport settings do not slow fast links). The hub runs as
//! its own `yizhan hub` process so its CPU is its own.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use yizhan_core::{Attachment, CaseDoc, Event, EventKind, NewCase};
use yizhan_identity::{Authority, NodeIdentity, RevocationState, Role, server_name_for, system_clock};
use yizhan_net::linkemu::{self, LinkSpec};
use yizhan_net::{NetConfig, NodeTls, PeerPolicy, SyncStatusHandle};
use yizhan_store::{Store, StoreConfig};

const ROLES: [(&str, usize); 3] = [("original", 60_000), ("display", 25_000), ("thumb", 4_000)];

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line (11 and 12 after the name).
    fields.get(11).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
        + fields.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
}

/// Distinct, incompressible bytes: photos do not compress further either.
fn noise(seed: u64, n: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let cases: usize = env_or("YIZHAN_BENCH_CASES", 100);
    let loss: f64 = env_or("YIZHAN_BENCH_LOSS", 0.02);
    let rural = LinkSpec::rural();
    let rate_bytes_per_s: u64 = env_or("YIZHAN_BENCH_RATE", rural.rate_bytes_per_s);
    let rtt_ms: u64 = env_or("YIZHAN_BENCH_RTT_MS", 300);
    let loopback = std::env::var("YIZHAN_BENCH_LINK").is_ok_and(|v| v == "loopback");
    let spec = LinkSpec { loss, rate_bytes_per_s, delay: Duration::from_millis(rtt_ms / 2), ..rural };
    let tmp = tempfile::tempdir().expect("tempdir");
    let now = SystemTime::now();

    // Certificates: a province CA and the county hub's CA, saved where `yizhan hub` reads them.
    let province = Authority::init("province", "51", now).expect("province CA");
    let county = province.create_child_hub("hub-510131", "510131", now).expect("county CA");
    let hub_dir = tmp.path().join("hub");
    county.save(&hub_dir.join("pki")).expect("save county CA");
    let kiosk_id = NodeIdentity::new("kiosk-bench", Role::Kiosk, "510131001001").expect("identity");
    let roots = county.roots().clone();
    let tls = NodeTls {
        creds: Arc::new(county.issue_credentials(&kiosk_id, now).expect("kiosk cert")),
        revocation: Arc::new(RevocationState::new(roots.clone())),
        roots,
        clock: system_clock(),
    };

    // The kiosk's offline backlog.
    let store = Store::open(StoreConfig::new(tmp.path().join("kiosk"))).expect("kiosk store");
    let mut payload_blob_bytes = 0u64;
    for c in 0..cases {
        let mut blobs = Vec::new();
        let mut attachments = Vec::new();
        for p in 0..3u64 {
            let mut group = String::new();
            for (role, size) in ROLES {
                let blob = store
                    .prepare_blob(noise((c as u64) * 10 + p * 3 + size as u64, size), "image/jpeg")
                    .expect("blob");
                let hash = blob.info().hash.to_string();
                if role == "original" {
                    group = hash.clone();
                }
                payload_blob_bytes += size as u64;
                attachments.push(Attachment {
                    hash,
                    kind: "photo".into(),
                    role: role.into(),
                    group: group.clone(),
                    mime: "image/jpeg".into(),
                    bytes: size as u64,
                    width: 0,
                    height: 0,
                    duration_ms: 0,
                    name: format!("p{p}.jpg"),
                    added_at_ms: 1,
                });
                blobs.push(blob);
            }
        }
        let id = format!("case-{c}");
        store
            .call(move |db| {
                let new = NewCase {
                    region_code: "510131001001".into(),
                    village_name: "和平村".into(),
                    industry: "fruit".into(),
                    subject: "柑橘".into(),
                    description: format!("第{c}个案例：叶片发黄，叶脉仍绿，约两亩果园都有，施过一次复合肥。"),
                    farmer_name: "王大爷".into(),
                    farmer_phone: String::new(),
                    officer: "李信息员".into(),
                };
                let (_, mut doc) = CaseDoc::create(
                    &new,
                    &id,
                    "kiosk-bench",
                    Event::new(format!("{id}-c"), 1, "李", EventKind::Created),
                )
                .expect("case");
                CaseDoc::add_attachments(&mut doc, attachments).expect("attachments");
                db.create_doc_with(&id, "case", &mut doc, blobs, &[])
            })
            .await
            .expect("record");
    }
    let payload_doc_bytes: u64 = store
        .call(move |db| {
            let mut total = 0u64;
            for c in 0..cases {
                if let Some(mut d) = db.load_doc(&format!("case-{c}"))? {
                    total += d.save().len() as u64;
                }
            }
            Ok(total)
        })
        .await
        .expect("doc sizes");
    let payload = payload_doc_bytes + payload_blob_bytes;

    // The county hub, as its own process.
    let mut hub = Command::new(env!("CARGO_BIN_EXE_yizhan"))
        .args(["hub", "--http", "127.0.0.1:0", "--sync", "127.0.0.1:0", "--data-dir"])
        .arg(&hub_dir)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start yizhan hub");
    // The ready line names both addresses (a first start prints the admin's password before it).
    let mut hub_out = BufReader::new(hub.stdout.take().expect("stdout"));
    let mut line = String::new();
    while !line.contains("sync on ") {
        line.clear();
        assert!(hub_out.read_line(&mut line).expect("hub output") > 0, "the hub exited before it was ready");
    }
    let sync_addr = line.split("sync on ").nth(1).expect("sync address").trim().parse().expect("address");
    let http =
        line.split("http://").nth(1).and_then(|s| s.split('/').next()).expect("http address").to_string();
    let hub_pid = hub.id();
    let (link_addr, counters) = if loopback {
        (sync_addr, Arc::default())
    } else {
        linkemu::start(sync_addr, spec.clone()).await.expect("link emulator")
    };
    let cpu_before = cpu_ticks(hub_pid);

    let mut endpoint = quinn::Endpoint::client("127.0.0.1:0".parse().expect("addr")).expect("endpoint");
    endpoint.set_default_client_config(tls.quic_client().expect("client config"));
    let status = SyncStatusHandle::new("hub-510131");
    let mut net = NetConfig::new("kiosk-bench");
    net.idle_timeout = Duration::from_secs(10);
    let started = Instant::now();
    tokio::spawn(yizhan_net::uplink(
        endpoint,
        link_addr,
        server_name_for("hub-510131"),
        store.clone(),
        net,
        PeerPolicy::parent("hub-510131", "510131001001"),
        store.subscribe_feed(),
        status.clone(),
    ));

    // Done when the hub holds every case and no blob is waiting for it.
    let client = reqwest::Client::new();
    let total_blobs = (cases * 9) as u64;
    // Give up at four times the link's limit plus ten minutes.
    let give_up = Duration::from_secs_f64(4.0 * payload as f64 / spec.rate_bytes_per_s as f64 + 600.0);
    let mut next_progress = Duration::from_secs(60);
    let elapsed = loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let Ok(res) = client.get(format!("http://{http}/api/hub")).send().await else { continue };
        let Ok(view) = res.json::<serde_json::Value>().await else { continue };
        let child = &view["children"][0]["link"];
        let done_cases = view["cases"].as_u64() == Some(cases as u64);
        let blobs_received = child["blobs_received"].as_u64().unwrap_or(0);
        if done_cases && blobs_received >= total_blobs {
            break started.elapsed();
        }
        if started.elapsed() >= next_progress {
            next_progress += Duration::from_secs(60);
            println!(
                "progress: {:.0} s, cases {}, blobs {blobs_received} of {total_blobs}",
                started.elapsed().as_secs_f64(),
                view["cases"].as_u64().unwrap_or(0)
            );
        }
        if started.elapsed() > give_up {
            println!("gave up after {:.0} s: {view}", started.elapsed().as_secs_f64());
            break started.elapsed();
        }
    };
    let hub_cpu_s = (cpu_ticks(hub_pid) - cpu_before) as f64 / 100.0;
    let wire = counters.bytes_up.load(std::sync::atomic::Ordering::Relaxed)
        + counters.bytes_down.load(std::sync::atomic::Ordering::Relaxed);
    let link_limit_s = payload as f64 / spec.rate_bytes_per_s as f64;

    if loopback {
        println!("link: loopback, no emulator");
    } else {
        println!(
            "link: {} bytes/s, rtt {} ms, loss {:.1} %, queue {} bytes",
            spec.rate_bytes_per_s,
            spec.delay.as_millis() * 2,
            loss * 100.0,
            spec.queue_bytes_max
        );
    }
    println!("cases: {cases} (3 photos each: original 60 KB, display 25 KB, thumbnail 4 KB)");
    println!("payload_bytes: {payload} (documents {payload_doc_bytes}, blobs {payload_blob_bytes})");
    println!("sync_time_s: {:.1}", elapsed.as_secs_f64());
    if !loopback {
        use std::sync::atomic::Ordering::Relaxed;
        println!("wire_bytes: {wire}");
        println!("wire_over_payload: {:.3}", wire as f64 / payload as f64);
        println!("time_over_link_limit: {:.2}", elapsed.as_secs_f64() / link_limit_s);
        println!(
            "datagrams: {} (largest {} bytes); dropped by the link {} ({} bytes), {} of them by a full queue",
            counters.datagrams.load(Relaxed),
            counters.datagram_bytes_max.load(Relaxed),
            counters.dropped.load(Relaxed),
            counters.dropped_bytes.load(Relaxed),
            counters.dropped_queue_full.load(Relaxed)
        );
    }
    println!("hub_cpu_ms_per_case: {:.1}", hub_cpu_s * 1000.0 / cases as f64);
    println!("up_to_date_sync_messages: 2 (hellos; one round trip: see store/tests/sync.rs)");
    let _ = hub.kill();
    let _ = hub.wait();
}
