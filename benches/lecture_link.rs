//! Benchmark (not a test): does a lecture downloading at a kiosk delay a case's sync? On the
//! emulated rural link (`yizhan_net::linkemu`: 1 Mbit/s each way, 300 ms round trip, 2 % loss,
//! a 64 KiB drop-tail queue), a kiosk records a case (three real JPEG photos through the
//! recording path, `yizhan_uploads::prepare_photos`) and the figure is the time until the county
//! hub can triage it (the case document and its thumbnails held at the hub):
//!
//! - without a lecture: the kiosk is idle and in sync when the case is recorded;
//! - with a lecture: the county has published a lecture (a PDF of `YIZHAN_BENCH_LECTURE_MB`,
//!   default 50 MB, through the real pipeline) and the kiosk is downloading it when the case is
//!   recorded (at least 1 MB of it already verified on the kiosk's disk).
//!
//! The ratio of the two is what the lecture costs the case. The county hub runs in this process
//! (its publication pipeline is called directly); the kiosk is a bare store with its uplink
//! through the emulated link. `cargo bench --bench lecture_link`; `YIZHAN_BENCH_RUNS` (default
//! 3) runs of each, `YIZHAN_BENCH_LOSS`, `YIZHAN_BENCH_RATE` (bytes/s), `YIZHAN_BENCH_RTT_MS`.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use yizhan_core::publication::StepKind;
use yizhan_core::{Actor, CaseDoc, Event, EventKind, NewCase, RegionCode, Role};
use yizhan_hub::Hub;
use yizhan_hub::service::lectures::{self as svc, Files};
use yizhan_hub::service::publication::{self as pipeline, ItemInput};
use yizhan_identity::server_name_for;
use yizhan_net::linkemu::{self, LinkSpec};
use yizhan_net::{NetConfig, NodeTls, PeerPolicy, SyncStatusHandle};
use yizhan_store::{Hash, Store, StoreConfig};
use yizhan_test_support::{Pki, start_hub_tuned};

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// A photo-like JPEG of 640×480 (smooth shapes with grain; about 60 KB).
fn photo(seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    };
    let (w, h) = (640u32, 480u32);
    let img = image::RgbImage::from_fn(w, h, |px, py| {
        let (u, v) = (px as f32 / w as f32, py as f32 / h as f32);
        let base = ((u * 18.0).sin() * (v * 12.0).cos() + 1.0) * 0.5;
        let g = next() * 0.3;
        let c = |k: f32| ((base * k + g) * 255.0).clamp(0.0, 255.0) as u8;
        image::Rgb([c(0.55), c(0.85), c(0.35)])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85).encode_image(&img).unwrap();
    out
}

fn actor(id: &str, role: Role) -> Actor {
    Actor {
        person_id: id.into(),
        name: format!("名-{id}"),
        role,
        region: RegionCode::parse("510131").unwrap(),
    }
}

/// Publishes a lecture with a PDF of `bytes` at the county; returns the PDF's hash.
async fn publish_lecture(county: &Hub, bytes: usize, seed: u64) -> Hash {
    let staff = actor("staff", Role::Staff);
    let fields: BTreeMap<String, String> = [("industry", "fruit"), ("speaker", "王建国")]
        .into_iter()
        .map(|(k, v)| (k.into(), v.into()))
        .collect();
    let input = ItemInput {
        kind: yizhan_lectures::LECTURE.into(),
        title: "猕猴桃溃疡病冬季防控".into(),
        body: "讲座".into(),
        fields,
        ip_owner: "四川农业大学".into(),
    };
    let id = pipeline::create_item(county, &staff, input).await.unwrap();
    let mut pdf = b"%PDF-1.4\n".to_vec();
    pdf.extend(yizhan_test_support::fixtures::content(seed, bytes));
    let hash = Hash::of(&pdf);
    svc::add_files(county, &staff, &id, Files { video: None, pdf: Some(("课件.pdf".into(), pdf)) })
        .await
        .unwrap();
    for (who, step) in [
        (actor("staff", Role::Staff), StepKind::Submit),
        (actor("reviewer", Role::Staff), StepKind::Review),
        (actor("admin", Role::Admin), StepKind::SignOff),
    ] {
        pipeline::take_step(county, &who, &id, step, "").await.unwrap();
    }
    hash
}

fn uplink(
    tls: &NodeTls,
    addr: std::net::SocketAddr,
    store: &Store,
    hub_id: &str,
) -> tokio::task::JoinHandle<()> {
    let mut endpoint = quinn::Endpoint::client("127.0.0.1:0".parse().unwrap()).unwrap();
    endpoint.set_default_client_config(tls.quic_client().unwrap());
    let mut net = NetConfig::new("kiosk-bench");
    net.parent_check = Some(tls.parent_check().unwrap());
    tokio::spawn(yizhan_net::uplink(
        endpoint,
        addr,
        server_name_for(hub_id),
        store.clone(),
        net,
        PeerPolicy::parent(hub_id, "510131001001"),
        store.subscribe_feed(),
        SyncStatusHandle::new(hub_id),
    ))
}

/// Records a case with three photos at the kiosk; returns its id and its thumbnails' hashes.
async fn record_case(store: &Store, n: u64) -> (String, Vec<String>) {
    let given: Vec<(String, Vec<u8>)> =
        (0..3).map(|p| (format!("p{p}.jpg"), photo(n * 10 + p + 1))).collect();
    let limits = yizhan_media::Limits::default();
    let prepared = yizhan_uploads::prepare_photos(store, given, &limits, 1).unwrap();
    let thumbs = prepared.iter().filter(|(a, _)| a.role == "thumb").map(|(a, _)| a.hash.clone()).collect();
    let id = format!("case-{n}");
    let id2 = id.clone();
    store
        .call(move |db| {
            let new = NewCase {
                region_code: "510131001001".into(),
                village_name: "和平村".into(),
                industry: "fruit".into(),
                subject: "猕猴桃".into(),
                description: "叶片出现褐色病斑，枝干有红褐色菌脓。".into(),
                farmer_name: "王大爷".into(),
                farmer_phone: String::new(),
                officer: "李信息员".into(),
            };
            let created = Event::new(format!("{id2}-c"), 1, "李", EventKind::Created);
            let (_, mut doc) = CaseDoc::create(&new, &id2, "kiosk-bench", created).unwrap();
            let (attachments, blobs): (Vec<_>, Vec<_>) = prepared.into_iter().unzip();
            CaseDoc::add_attachments(&mut doc, attachments).unwrap();
            db.create_doc_with(&id2, "case", &mut doc, blobs, &[])
        })
        .await
        .unwrap();
    (id, thumbs)
}

async fn can_triage(county: &Store, id: &str, thumbs: &[String]) -> bool {
    let (id, thumbs) = (id.to_string(), thumbs.to_vec());
    county
        .call(move |db| {
            Ok(db.doc_type(&id)?.is_some()
                && db.blobs_held(thumbs.iter().map(String::as_str))?.len() == thumbs.len())
        })
        .await
        .unwrap()
}

/// One run: seconds until the county can triage the case, and (with a lecture) the lecture's
/// bytes at the kiosk when the case was recorded and when the county could triage it.
async fn run(spec: &LinkSpec, lecture_bytes: Option<usize>, n: u64) -> (f64, Option<(u64, u64)>) {
    let tmp = tempfile::tempdir().unwrap();
    let pki = Pki::new();
    let county_ca = Pki::hub(&pki.province, "510131");
    // The tests' hub configuration times idle streams out after 2 s: far less than a slice takes
    // on this link.
    let county = start_hub_tuned(&tmp.path().join("county"), &pki.hub_tls(&county_ca), None, |n| {
        n.idle_timeout = Duration::from_secs(120);
    })
    .await;
    let pdf = match lecture_bytes {
        Some(b) => {
            let h = publish_lecture(&county, b, n).await;
            eprintln!("published a lecture of {b} bytes");
            Some(h)
        }
        None => None,
    };
    let (link, _counters) = linkemu::start(county.sync_addr, spec.clone()).await.unwrap();
    let store = Store::open(StoreConfig::new(tmp.path().join("kiosk"))).unwrap();
    let tls = pki.kiosk_tls(&county_ca, "kiosk-bench", "510131001001");
    let up = uplink(&tls, link, &store, &county.config.node_id);
    let lecture_len = |h: Hash| {
        let s = store.clone();
        async move {
            s.call(move |db| Ok(db.partial_blob_bytes(&h).max(if db.has_blob(&h)? { u64::MAX } else { 0 })))
                .await
                .unwrap()
        }
    };
    match &pdf {
        // Downloading: at least 1 MB of it verified.
        Some(h) => {
            let deadline = Instant::now() + Duration::from_secs(600);
            let mut said = Instant::now();
            loop {
                let n = lecture_len(h.clone()).await;
                if n >= 1_000_000 {
                    break;
                }
                if said.elapsed() > Duration::from_secs(10) {
                    eprintln!("waiting for the lecture's download: {n} bytes so far");
                    said = Instant::now();
                }
                assert!(Instant::now() < deadline, "the lecture never started downloading");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        // In sync and idle.
        None => tokio::time::sleep(Duration::from_secs(5)).await,
    }
    let before = match &pdf {
        Some(h) => lecture_len(h.clone()).await,
        None => 0,
    };
    let started = Instant::now();
    let (id, thumbs) = record_case(&store, n).await;
    while !can_triage(&county.store, &id, &thumbs).await {
        assert!(started.elapsed() < Duration::from_secs(900), "the case never reached the county");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let triage_s = started.elapsed().as_secs_f64();
    let progress = match pdf {
        Some(h) => Some((before, lecture_len(h).await)),
        None => None,
    };
    up.abort();
    (triage_s, progress)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // `RUST_LOG=yizhan_net=debug` shows the lecture's pauses.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .try_init();
    let rural = LinkSpec::rural();
    let spec = LinkSpec {
        loss: env_or("YIZHAN_BENCH_LOSS", rural.loss),
        rate_bytes_per_s: env_or("YIZHAN_BENCH_RATE", rural.rate_bytes_per_s),
        delay: Duration::from_millis(env_or("YIZHAN_BENCH_RTT_MS", 300u64) / 2),
        ..rural
    };
    let lecture_mb: usize = env_or("YIZHAN_BENCH_LECTURE_MB", 50);
    let runs: u64 = env_or("YIZHAN_BENCH_RUNS", 3);
    println!(
        "link: {} bytes/s, rtt {} ms, loss {:.1} %, queue {} bytes; lecture {lecture_mb} MB; {runs} runs each",
        spec.rate_bytes_per_s,
        spec.delay.as_millis() * 2,
        spec.loss * 100.0,
        spec.queue_bytes_max
    );
    let (mut without, mut with) = (Vec::new(), Vec::new());
    for n in 0..runs {
        let (t, _) = run(&spec, None, n).await;
        println!("run {n}: time_to_triage_without_lecture_s: {t:.2}");
        without.push(t);
        let (t, p) = run(&spec, Some(lecture_mb * 1_000_000), n).await;
        let (a, b) = p.unwrap_or_default();
        println!(
            "run {n}: time_to_triage_with_lecture_s: {t:.2} (lecture bytes at the kiosk: {a} when recorded, {} when triageable)",
            if b == u64::MAX { "all".to_string() } else { b.to_string() }
        );
        with.push(t);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    };
    let (a, b) = (median(&mut without), median(&mut with));
    println!("time_to_triage_without_lecture_s (median): {a:.2}");
    println!("time_to_triage_with_lecture_s (median): {b:.2}");
    println!("with_over_without: {:.2}", b / a);
}
