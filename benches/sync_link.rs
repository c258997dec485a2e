//! Benchmark (not a test): what the county waits for when a village's cases cross a rural link.
//! A kiosk records cases offline through the real recording path (each photo a real JPEG,
//! turned into its stored copies by `yizhan_uploads::prepare_photos` as the kiosk does), then
//! syncs to its county hub, a `yizhan hub` process of its own, over an emulated link (1 Mbit/s,
//! 300 ms round trip, 2 % random loss, a 64 KiB drop-tail queue; in user space, this kernel
//! has no netem). Every figure is divided by what the officer recorded or what the county waits
//! for, never by what Yizhan chose to send:
//!
//! - wire / recorded: bytes on the link (both directions, IP and UDP headers included) over
//!   the bytes recorded (the case documents as saved, plus the photos as the officer gave
//!   them);
//! - time until the county can triage every case (documents and thumbnails held at the hub)
//!   and until it holds everything, each over the recorded bytes at line rate, and their ratio;
//! - a re-sync with nothing new: a fresh connection (resuming TLS) of an up-to-date kiosk, its
//!   bytes on the link;
//! - killed at half: when the hub holds half the photo bytes the link is cut (nothing the
//!   kiosk says on the way down gets through, as when it loses power), the kiosk's connection is
//!   dropped, and a new one starts (new endpoint, no TLS session: a restarted process): the
//!   total time over the uninterrupted run's, and the time from the restart until the hub holds
//!   everything against the remaining bytes at line rate plus 10 s.
//!
//! Two workloads: `small`, 50 cases × 3 photos of 640×480 at about 30 KB (photos sent through
//! messaging apps), and `phone`, 3 cases × 3 photos of 4000×3000 at about 3.7 MB.
//!
//! `cargo bench --bench sync_link`; `YIZHAN_BENCH_WORKLOAD` (`small`, `phone` or `both`, the
//! default), `YIZHAN_BENCH_CASES` (overrides the workload's count), `YIZHAN_BENCH_LOSS`
//! (default 0.02), `YIZHAN_BENCH_RATE` (bytes/s, default 125000), `YIZHAN_BENCH_RTT_MS`
//! (default 300).

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant, SystemTime};

use yizhan_core::{CaseDoc, Event, EventKind, NewCase};
use yizhan_identity::{Authority, NodeIdentity, RevocationState, Role, server_name_for, system_clock};
use yizhan_net::linkemu::{self, LinkCounters, LinkSpec};
use yizhan_net::{NetConfig, NodeTls, PeerPolicy, SyncStatusHandle};
use yizhan_store::{Db, Store, StoreConfig};

const PHOTOS_PER_CASE: usize = 3;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[derive(Clone, Copy)]
struct Workload {
    name: &'static str,
    cases: usize,
    width: u32,
    height: u32,
    /// The size a photo of this kind has, roughly (each is encoded until it is within 10 %).
    photo_bytes: usize,
}

const SMALL: Workload = Workload { name: "small", cases: 50, width: 640, height: 480, photo_bytes: 30_000 };
const PHONE: Workload =
    Workload { name: "phone", cases: 3, width: 4000, height: 3000, photo_bytes: 3_700_000 };

/// A photo-like JPEG: smooth shapes with grain, the grain's strength searched until the file
/// is within 10 % of `target` bytes (JPEG does not compress it further, like a real photo).
fn photo(seed: u64, width: u32, height: u32, target: usize) -> Vec<u8> {
    let encode = |grain: f32| {
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        };
        let (fx, fy, phase) = (3.0 + next() * 2.0, 2.0 + next() * 2.0, next() * 6.0);
        let img = image::RgbImage::from_fn(width, height, |px, py| {
            let (u, v) = (px as f32 / width as f32, py as f32 / height as f32);
            let tau = std::f32::consts::TAU;
            let base = ((u * fx * tau + phase).sin() * (v * fy * tau).cos() + 1.0) * 0.5;
            let g = next() * grain;
            let c = |k: f32| ((base * k + g) * 255.0).clamp(0.0, 255.0) as u8;
            image::Rgb([c(0.55), c(0.85), c(0.35)])
        });
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85).encode_image(&img).unwrap();
        out
    };
    let (mut lo, mut hi) = (0.0f32, 1.0f32);
    let mut best = encode(0.5);
    for _ in 0..12 {
        let mid = (lo + hi) / 2.0;
        best = encode(mid);
        let n = best.len();
        if n.abs_diff(target) * 10 <= target {
            break;
        }
        if n < target { lo = mid } else { hi = mid }
    }
    best
}

/// One kiosk's recorded backlog, the hashes the county needs to triage, and all of them.
struct Recorded {
    store: Store,
    case_ids: Vec<String>,
    thumbs: Vec<String>,
    blobs: Vec<(String, u64)>,
    doc_bytes: u64,
    photo_bytes: u64,
}

async fn record(dir: &std::path::Path, w: Workload, photos: &[Vec<u8>]) -> Recorded {
    let store = Store::open(StoreConfig::new(dir.join("kiosk"))).unwrap();
    let limits = yizhan_media::Limits::default();
    let (mut thumbs, mut blobs, mut case_ids) = (Vec::new(), Vec::new(), Vec::new());
    let mut photo_bytes = 0u64;
    for c in 0..w.cases {
        let given: Vec<(String, Vec<u8>)> = (0..PHOTOS_PER_CASE)
            .map(|p| (format!("p{p}.jpg"), photos[c * PHOTOS_PER_CASE + p].clone()))
            .collect();
        photo_bytes += given.iter().map(|(_, b)| b.len() as u64).sum::<u64>();
        let prepared = yizhan_uploads::prepare_photos(&store, given, &limits, 1).unwrap();
        for (a, _) in &prepared {
            if a.role == "thumb" {
                thumbs.push(a.hash.clone());
            }
            if !blobs.iter().any(|(h, _)| *h == a.hash) {
                blobs.push((a.hash.clone(), a.bytes));
            }
        }
        let id = format!("case-{c}");
        case_ids.push(id.clone());
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
                let created = Event::new(format!("{id}-c"), 1, "李", EventKind::Created);
                let (_, mut doc) = CaseDoc::create(&new, &id, "kiosk-bench", created).unwrap();
                let (attachments, new_blobs): (Vec<_>, Vec<_>) = prepared.into_iter().unzip();
                CaseDoc::add_attachments(&mut doc, attachments).unwrap();
                db.create_doc_with(&id, "case", &mut doc, new_blobs, &[])
            })
            .await
            .unwrap();
    }
    let ids = case_ids.clone();
    let doc_bytes = store
        .call(move |db| {
            let mut total = 0u64;
            for id in &ids {
                if let Some(mut d) = db.load_doc(id)? {
                    total += d.save().len() as u64;
                }
            }
            Ok(total)
        })
        .await
        .unwrap();
    Recorded { store, case_ids, thumbs, blobs, doc_bytes, photo_bytes }
}

struct Hub {
    process: std::process::Child,
    sync_addr: std::net::SocketAddr,
    dir: std::path::PathBuf,
    db: Option<Db>,
}

impl Hub {
    fn start(dir: &std::path::Path) -> Hub {
        let mut process = Command::new(env!("CARGO_BIN_EXE_yizhan"))
            .args(["hub", "--http", "127.0.0.1:0", "--sync", "127.0.0.1:0", "--data-dir"])
            .arg(dir)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut out = BufReader::new(process.stdout.take().unwrap());
        let mut line = String::new();
        while !line.contains("sync on ") {
            line.clear();
            assert!(out.read_line(&mut line).unwrap() > 0, "the hub exited before it was ready");
        }
        let sync_addr = line.split("sync on ").nth(1).unwrap().trim().parse().unwrap();
        // Keep reading its output so it never blocks on a full pipe.
        std::thread::spawn(move || for _ in out.lines() {});
        Hub { process, sync_addr, dir: dir.to_path_buf(), db: None }
    }

    /// (every case document held, every thumbnail held, every blob held, blob bytes held).
    fn holds(&mut self, r: &Recorded) -> (bool, bool, bool, u64) {
        if self.db.is_none() {
            self.db = Db::open_alongside(StoreConfig::new(self.dir.clone())).ok();
        }
        let Some(db) = &self.db else { return (false, false, false, 0) };
        let docs = r.case_ids.iter().all(|id| db.doc_type(id).ok().flatten().is_some());
        let thumbs =
            db.blobs_held(r.thumbs.iter().map(String::as_str)).map_or(0, |h| h.len()) == r.thumbs.len();
        let held = db.blobs_held(r.blobs.iter().map(|(h, _)| h.as_str())).unwrap_or_default();
        let bytes = r.blobs.iter().filter(|(h, _)| held.contains(h)).map(|(_, n)| n).sum();
        (docs, docs && thumbs, docs && held.len() == r.blobs.len(), bytes)
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

struct Figures {
    /// Bytes the hub sent (acknowledgements, requests), datagrams both ways, dropped by the link.
    down: u64,
    datagrams: u64,
    dropped: u64,
    recorded: u64,
    photo_bytes: u64,
    /// Documents plus every distinct blob the kiosk stored (originals and their copies).
    stored: u64,
    wire: u64,
    /// Every case document at the county.
    docs_s: f64,
    triage_s: f64,
    /// Bytes on the link until the county could triage.
    triage_wire: u64,
    all_s: f64,
    resync_bytes: Option<u64>,
    /// (seconds from the restart until everything, the bound: remaining bytes at line rate + 10 s)
    restart: Option<(f64, f64)>,
}

fn client_config(tls: &NodeTls) -> quinn::ClientConfig {
    tls.quic_client().unwrap()
}

fn start_uplink(
    config: quinn::ClientConfig,
    addr: std::net::SocketAddr,
    store: &Store,
) -> tokio::task::JoinHandle<()> {
    let mut endpoint = quinn::Endpoint::client("127.0.0.1:0".parse().unwrap()).unwrap();
    endpoint.set_default_client_config(config);
    let mut net = NetConfig::new("kiosk-bench");
    net.idle_timeout = Duration::from_secs(10);
    tokio::spawn(yizhan_net::uplink(
        endpoint,
        addr,
        server_name_for("hub-510131"),
        store.clone(),
        net,
        PeerPolicy::parent("hub-510131", "510131001001"),
        store.subscribe_feed(),
        SyncStatusHandle::new("hub-510131"),
    ))
}

async fn run(w: Workload, photos: &[Vec<u8>], spec: &LinkSpec, kill_at_half: bool) -> Figures {
    let tmp = tempfile::tempdir().unwrap();
    let now = SystemTime::now();
    let province = Authority::init("province", "51", now).unwrap();
    let county = province.create_child_hub("hub-510131", "510131", now).unwrap();
    let hub_dir = tmp.path().join("hub");
    county.save(&hub_dir.join("pki")).unwrap();
    let kiosk_id = NodeIdentity::new("kiosk-bench", Role::Kiosk, "510131001001").unwrap();
    let roots = county.roots().clone();
    let tls = NodeTls {
        creds: Arc::new(county.issue_credentials(&kiosk_id, now).unwrap()),
        revocation: Arc::new(RevocationState::new(roots.clone())),
        roots,
        clock: system_clock(),
    };
    let r = record(tmp.path(), w, photos).await;
    let recorded = r.doc_bytes + r.photo_bytes;
    let blob_total: u64 = r.blobs.iter().map(|(_, n)| n).sum();
    let mut hub = Hub::start(&hub_dir);
    let (link, counters): (_, Arc<LinkCounters>) = linkemu::start(hub.sync_addr, spec.clone()).await.unwrap();

    let config = client_config(&tls);
    let started = Instant::now();
    let mut uplink = start_uplink(config.clone(), link, &r.store);
    let give_up = Duration::from_secs_f64(6.0 * recorded as f64 / spec.rate_bytes_per_s as f64 + 300.0);
    let (mut triage, mut all, mut restarted, mut docs_at) = (None, None, None, None);
    let mut triage_wire = 0;
    let mut restart_bound = 0.0;
    while all.is_none() && started.elapsed() < give_up {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let (docs, can_triage, holds_all, bytes) = hub.holds(&r);
        if docs && docs_at.is_none() {
            docs_at = Some(started.elapsed());
        }
        if can_triage && triage.is_none() {
            triage = Some(started.elapsed());
            triage_wire = counters.bytes_on_link.load(Relaxed);
        }
        if holds_all {
            all = Some(started.elapsed());
        }
        if kill_at_half && restarted.is_none() && bytes * 2 >= blob_total {
            // Cut: the kiosk "loses power"; its connection dies without a word reaching the hub.
            counters.cut.store(true, Relaxed);
            uplink.abort();
            tokio::time::sleep(Duration::from_secs(2)).await;
            counters.cut.store(false, Relaxed);
            let (_, _, _, bytes) = hub.holds(&r);
            restart_bound = (blob_total - bytes) as f64 / spec.rate_bytes_per_s as f64 + 10.0;
            restarted = Some(Instant::now());
            // A restarted process: a new endpoint and no TLS session to resume.
            uplink = start_uplink(client_config(&tls), link, &r.store);
        }
    }
    let all = all.unwrap_or_else(|| panic!("gave up after {:.0} s", started.elapsed().as_secs_f64()));
    let wire = counters.bytes_on_link.load(Relaxed);
    let down = counters.bytes_down.load(Relaxed);
    let datagrams = counters.datagrams.load(Relaxed);
    let dropped = counters.dropped.load(Relaxed);
    // A fresh connection with nothing new (resuming TLS with the first connection's session).
    let mut resync_bytes = None;
    if !kill_at_half {
        uplink.abort();
        tokio::time::sleep(Duration::from_secs(3)).await;
        let before = counters.bytes_on_link.load(Relaxed);
        uplink = start_uplink(config, link, &r.store);
        tokio::time::sleep(Duration::from_secs(5)).await;
        resync_bytes = Some(counters.bytes_on_link.load(Relaxed) - before);
    }
    uplink.abort();
    Figures {
        down,
        datagrams,
        dropped,
        recorded,
        photo_bytes: r.photo_bytes,
        stored: r.doc_bytes + blob_total,
        wire,
        docs_s: docs_at.unwrap_or(all).as_secs_f64(),
        triage_s: triage.unwrap_or(all).as_secs_f64(),
        triage_wire,
        all_s: all.as_secs_f64(),
        resync_bytes,
        restart: restarted
            .map(|t| ((started + all).saturating_duration_since(t).as_secs_f64(), restart_bound)),
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let rural = LinkSpec::rural();
    let spec = LinkSpec {
        loss: env_or("YIZHAN_BENCH_LOSS", rural.loss),
        rate_bytes_per_s: env_or("YIZHAN_BENCH_RATE", rural.rate_bytes_per_s),
        delay: Duration::from_millis(env_or("YIZHAN_BENCH_RTT_MS", 300u64) / 2),
        ..rural
    };
    let which = std::env::var("YIZHAN_BENCH_WORKLOAD").unwrap_or_else(|_| "both".into());
    println!(
        "link: {} bytes/s, rtt {} ms, loss {:.1} %, queue {} bytes",
        spec.rate_bytes_per_s,
        spec.delay.as_millis() * 2,
        spec.loss * 100.0,
        spec.queue_bytes_max
    );
    for mut w in [SMALL, PHONE] {
        if which != "both" && which != w.name {
            continue;
        }
        w.cases = env_or("YIZHAN_BENCH_CASES", w.cases);
        let photos: Vec<Vec<u8>> = (0..w.cases * PHOTOS_PER_CASE)
            .map(|i| photo(i as u64 + 1, w.width, w.height, w.photo_bytes))
            .collect();
        let mean = photos.iter().map(Vec::len).sum::<usize>() / photos.len();
        println!(
            "\n== {}: {} cases × {PHOTOS_PER_CASE} photos of {}×{} (mean {mean} bytes)",
            w.name, w.cases, w.width, w.height
        );
        let line_rate = |bytes: u64| bytes as f64 / spec.rate_bytes_per_s as f64;
        let f = run(w, &photos, &spec, false).await;
        println!("recorded_bytes: {} (at line rate {:.1} s)", f.recorded, line_rate(f.recorded));
        println!(
            "stored_bytes: {} (documents {}, blobs {}: what the kiosk holds to send)",
            f.stored,
            f.recorded - f.photo_bytes,
            f.stored - (f.recorded - f.photo_bytes)
        );
        println!(
            "wire_bytes: {} (hub to kiosk {}; datagrams {}, {} dropped)",
            f.wire, f.down, f.datagrams, f.dropped
        );
        println!("wire_over_recorded: {:.3}", f.wire as f64 / f.recorded as f64);
        println!("time_to_documents_s: {:.1}", f.docs_s);
        println!(
            "time_to_triage_s: {:.1} ({:.3} of recorded at line rate; {} bytes on the link by then, {:.1} s at line rate)",
            f.triage_s,
            f.triage_s / line_rate(f.recorded),
            f.triage_wire,
            line_rate(f.triage_wire)
        );
        println!(
            "time_to_everything_s: {:.1} ({:.3} of recorded at line rate)",
            f.all_s,
            f.all_s / line_rate(f.recorded)
        );
        println!("triage_over_everything: {:.3}", f.triage_s / f.all_s);
        if let Some(b) = f.resync_bytes {
            println!("resync_nothing_new_bytes: {b} (a new connection resuming TLS, 5 s)");
        }
        let k = run(w, &photos, &spec, true).await;
        println!("killed_at_half_total_s: {:.1} ({:.3} of uninterrupted)", k.all_s, k.all_s / f.all_s);
        println!("killed_at_half_wire_over_recorded: {:.3}", k.wire as f64 / k.recorded as f64);
        if let Some((tail, bound)) = k.restart {
            println!("after_restart_s: {tail:.1} (bound: remaining at line rate + 10 s = {bound:.1})");
        }
    }
}
