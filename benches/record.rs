//! Recording benchmark: cases with one phone-like photo each, posted over HTTP to a real kiosk
//! process (the binary `cargo bench` builds, i.e. release), from a few concurrent clients.
//!
//! Prints one figure per line (`name: value`). Environment:
//! - `YIZHAN_BENCH_CASES` (default 10000): cases to record in all.
//! - `YIZHAN_BENCH_CLIENTS` (default 3): concurrent clients in the main phase.
//! - `YIZHAN_BENCH_DIR`: data directory to use (kept afterwards); default a temporary one.
//!
//! Phases: a short sequential phase (one client, `sequential_*` figures: latency with no
//! queueing), then the main concurrent phase (`cases_per_s`, `latency_*`). The in-process
//! baseline is `yizhan_media::process_photo` on the same photo; `overhead_ratio_*` divides the
//! record latency by it, so what the server adds (HTTP, multipart, hashing, fsyncs, SQLite,
//! queueing) is visible.
//!
//! Every request carries a distinct photo: the luma quantisation table of the JPEG is nudged
//! (a different number per request), so the decoded pixels, and with them the original,
//! display and thumbnail blobs, all differ, without the client re-encoding 2 MP per request and
//! stealing CPU from the kiosk on a small machine. `blobs_per_case` confirms it (3.00).
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use image::RgbImage;
use image::codecs::jpeg::JpegEncoder;
use reqwest::blocking::Client;
use reqwest::blocking::multipart::{Form, Part};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_yizhan");
const PHOTO_W: u32 = 1600;
const PHOTO_H: u32 = 1200;
const BASELINE_RUNS: usize = 21;
const SEQUENTIAL_CASES_MAX: usize = 50;

/// A running kiosk; SIGKILLed and reaped when dropped, also on panic.
struct Kiosk {
    child: Child,
    url: String,
}

impl Kiosk {
    fn start(dir: &Path) -> Kiosk {
        let mut child = Command::new(BIN)
            .arg("kiosk")
            .arg("--data-dir")
            .arg(dir)
            .args(["--listen", "127.0.0.1:0"])
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let tail = Arc::new(Mutex::new(Vec::new()));
        let (ready_tx, ready_rx) = mpsc::channel();
        drain(child.stdout.take().unwrap(), tail.clone(), Some(ready_tx));
        drain(child.stderr.take().unwrap(), tail.clone(), None);
        let mut kiosk = Kiosk { child, url: String::new() };
        match ready_rx.recv_timeout(Duration::from_secs(60)) {
            Ok(url) => kiosk.url = url,
            Err(_) => panic!("the kiosk did not start; output:\n{}", tail.lock().unwrap().join("\n")),
        }
        kiosk
    }
}

impl Drop for Kiosk {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Drains a pipe (the kiosk would block on a full one), keeping the last lines for errors.
fn drain(
    stream: impl Read + Send + 'static,
    tail: Arc<Mutex<Vec<String>>>,
    ready: Option<mpsc::Sender<String>>,
) {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stream);
        let mut buf = Vec::new();
        while matches!(reader.read_until(b'\n', &mut buf), Ok(n) if n > 0) {
            let line = String::from_utf8_lossy(&buf).trim_end().to_string();
            buf.clear();
            if let Some(tx) = &ready
                && let Some(rest) = line.split("kiosk ready: http://").nth(1)
            {
                let _ = tx.send(format!("http://{}", rest.split('/').next().unwrap_or_default()));
            }
            let mut tail = tail.lock().unwrap();
            if tail.len() >= 50 {
                tail.remove(0);
            }
            tail.push(line);
        }
    });
}

/// A 1600x1200 photo of a leaf with veins, spots, lighting and sensor-like noise, JPEG q90:
/// about what a mid-range phone's "small" setting or a messaging app sends (~300-600 KB).
fn phone_photo() -> Vec<u8> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let (w, h) = (PHOTO_W as f32, PHOTO_H as f32);
    let img = RgbImage::from_fn(PHOTO_W, PHOTO_H, |x, y| {
        let (fx, fy) = (x as f32 / w, y as f32 / h);
        // An elliptical leaf on soil, lit from the top left.
        let (dx, dy) = ((fx - 0.5) / 0.42, (fy - 0.5) / 0.3);
        let inside = dx * dx + dy * dy < 1.0;
        let light = 1.15 - 0.35 * (fx + fy);
        let vein = ((fy - 0.5 - 0.25 * (fx - 0.5)).abs() < 0.004) || ((fx * 23.0 + fy * 9.0).fract() < 0.035);
        let spot = ((fx * 17.0).sin() * (fy * 13.0).cos()) > 0.93;
        let base: [f32; 3] = match (inside, vein, spot) {
            (false, _, _) => [105.0, 82.0, 60.0],
            (true, _, true) => [120.0, 90.0, 40.0],
            (true, true, false) => [150.0, 190.0, 90.0],
            (true, false, false) => [60.0, 135.0, 45.0],
        };
        let mut px = [0u8; 3];
        for (c, p) in px.iter_mut().enumerate() {
            let noise = (next() % 13) as f32 - 6.0;
            *p = (base[c] * light + noise).clamp(0.0, 255.0) as u8;
        }
        image::Rgb(px)
    });
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, 90).encode_image(&img).unwrap();
    out
}

/// Nudges luma quantisation entries 1..=12 (low-frequency AC) by the base-3 digits of `n`:
/// different pixels, same size and decoding cost. Distinct for `n < 3^12`.
fn vary(jpeg: &[u8], n: u64) -> Vec<u8> {
    let mut out = jpeg.to_vec();
    let mut i = 2;
    while i + 4 <= out.len() && out[i] == 0xFF && out[i + 1] != 0xDA {
        let len = usize::from(u16::from_be_bytes([out[i + 2], out[i + 3]]));
        if out[i + 1] == 0xDB {
            let (mut j, end) = (i + 4, i + 2 + len);
            while j < end {
                let (precision, table) = (out[j] >> 4, out[j] & 0x0F);
                if precision == 0 && table == 0 {
                    let mut rest = n;
                    for q in &mut out[j + 2..j + 14] {
                        *q = q.saturating_add((rest % 3) as u8);
                        rest /= 3;
                    }
                    return out;
                }
                j += if precision == 0 { 65 } else { 129 };
            }
        }
        i += 2 + len;
    }
    panic!("no 8-bit luma quantisation table in the photo");
}

fn form(n: usize, photo: Vec<u8>) -> Form {
    Form::new()
        .text("industry", "fruit")
        .text("subject", format!("柑橘叶片黄化 #{n}"))
        .text("description", "叶片发黄，有褐色斑点，近一周扩散很快，约三成果树受影响")
        .text("region_code", "510131001")
        .text("village_name", "和平村")
        .text("farmer_name", "王大爷")
        .text("farmer_phone", "13812345678")
        .text("officer", "李信息员")
        .part("photos", Part::bytes(photo).file_name("IMG_2025.jpg").mime_str("image/jpeg").unwrap())
}

/// Records cases numbered from the shared counter until `end`; returns each request's latency.
fn record(url: &str, photo: &[u8], next: &AtomicUsize, end: usize) -> Vec<Duration> {
    let client = Client::builder()
        .default_headers(yizhan_web::client_headers())
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap();
    let mut latencies = Vec::new();
    loop {
        let n = next.fetch_add(1, Ordering::SeqCst);
        if n >= end {
            return latencies;
        }
        let body = form(n, vary(photo, n as u64 + 1));
        let t0 = Instant::now();
        let res = client.post(format!("{url}/api/cases")).multipart(body).send().unwrap();
        let status = res.status();
        let text = res.text().unwrap();
        latencies.push(t0.elapsed());
        assert_eq!(status.as_u16(), 201, "case {n}: {text}");
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| match e.file_type() {
                    Ok(t) if t.is_dir() => dir_bytes(&e.path()),
                    _ => e.metadata().map(|m| m.len()).unwrap_or(0),
                })
                .sum()
        })
        .unwrap_or(0)
}

fn file_bytes(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// A `Vm*` line of /proc/<pid>/status, in KiB.
fn proc_status_kib(pid: u32, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// User + system CPU seconds the process has used, from /proc/<pid>/stat.
fn proc_cpu_s(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(')')?.1; // the command name may contain spaces
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    let hz: f64 = Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0);
    Some(ticks as f64 / hz)
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok()).unwrap_or(default)
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument that does not name us means "not me".
    if std::env::args().skip(1).any(|a| !a.starts_with('-') && !"record".contains(a.as_str())) {
        return;
    }
    let cases = env_usize("YIZHAN_BENCH_CASES", 10_000).max(1);
    let clients = env_usize("YIZHAN_BENCH_CLIENTS", 3).clamp(1, 16);
    let sequential = (cases / 10).min(SEQUENTIAL_CASES_MAX);

    let photo = phone_photo();
    println!("photo: {PHOTO_W}x{PHOTO_H} JPEG");
    println!("photo_bytes: {}", photo.len());
    println!("cases: {cases}");
    println!("clients: {clients}");

    // Baseline: the photo work alone, in this process, one at a time.
    let limits = yizhan_media::Limits::default();
    let mut runs: Vec<Duration> = (0..BASELINE_RUNS + 2)
        .map(|i| {
            let p = vary(&photo, 600_000 + i as u64);
            let t0 = Instant::now();
            let done = yizhan_media::process_photo(&p, &limits).unwrap();
            let t = t0.elapsed();
            assert!(!done.display_jpeg.is_empty() && !done.thumb_jpeg.is_empty());
            t
        })
        .skip(2)
        .collect();
    runs.sort();
    let baseline = percentile(&runs, 0.5);
    println!("baseline_process_photo_ms: {:.1}", ms(baseline));

    let tmp;
    let dir = match std::env::var_os("YIZHAN_BENCH_DIR") {
        Some(d) => std::path::PathBuf::from(d),
        None => {
            tmp = tempfile::tempdir().unwrap();
            tmp.path().join("data")
        }
    };
    let kiosk = Kiosk::start(&dir);
    let pid = kiosk.child.id();
    let next = Arc::new(AtomicUsize::new(0));

    // Sequential phase: latency without queueing.
    let seq = {
        let mut l = record(&kiosk.url, &photo, &next, sequential);
        l.sort();
        l
    };
    next.store(sequential, Ordering::SeqCst); // `record` takes one number past its end
    if !seq.is_empty() {
        println!("sequential_cases: {}", seq.len());
        println!("sequential_latency_p50_ms: {:.1}", ms(percentile(&seq, 0.5)));
        println!("overhead_ratio_sequential: {:.2}", ms(percentile(&seq, 0.5)) / ms(baseline));
    }

    // Main phase: `clients` at once.
    let cpu0 = proc_cpu_s(pid).unwrap_or(0.0);
    let started = Instant::now();
    let progress = {
        let next = next.clone();
        std::thread::spawn(move || {
            let mut last = 0;
            loop {
                std::thread::sleep(Duration::from_secs(10));
                let n = next.load(Ordering::SeqCst).min(cases);
                if n >= cases {
                    return;
                }
                if n > last {
                    eprintln!("  ... {n}/{cases} cases, {:.0} s", started.elapsed().as_secs_f64());
                    last = n;
                }
            }
        })
    };
    let photo = Arc::new(photo);
    let threads: Vec<_> = (0..clients)
        .map(|_| {
            let (url, photo, next) = (kiosk.url.clone(), photo.clone(), next.clone());
            std::thread::spawn(move || record(&url, &photo, &next, cases))
        })
        .collect();
    let mut lat: Vec<Duration> = threads.into_iter().flat_map(|t| t.join().unwrap()).collect();
    let elapsed = started.elapsed();
    let cpu = proc_cpu_s(pid).unwrap_or(0.0) - cpu0;
    progress.join().unwrap();
    lat.sort();

    let main_cases = lat.len();
    if main_cases > 0 {
        let p50 = percentile(&lat, 0.5);
        println!("main_phase_cases: {main_cases}");
        println!("elapsed_s: {:.1}", elapsed.as_secs_f64());
        println!("cases_per_s: {:.1}", main_cases as f64 / elapsed.as_secs_f64());
        println!("latency_p50_ms: {:.1}", ms(p50));
        println!("latency_p99_ms: {:.1}", ms(percentile(&lat, 0.99)));
        println!("latency_max_ms: {:.1}", ms(percentile(&lat, 1.0)));
        println!("overhead_ratio_p50: {:.2}", ms(p50) / ms(baseline));
        println!("kiosk_cpu_ms_per_case: {:.1}", cpu * 1000.0 / main_cases as f64);
    }

    // Storage and memory, read from the running kiosk at the end.
    let http = Client::builder().default_headers(yizhan_web::client_headers()).build().unwrap();
    let status: Value = http.get(format!("{}/api/status", kiosk.url)).send().unwrap().json().unwrap();
    let stored = status["cases"].as_u64().unwrap_or(0);
    assert_eq!(stored, cases as u64, "the kiosk lists {stored} cases, {cases} were recorded");
    let hwm = proc_status_kib(pid, "VmHWM").unwrap_or(0);
    let rss = proc_status_kib(pid, "VmRSS").unwrap_or(0);
    let n = cases as f64;
    let db = dir.join("yizhan.sqlite3");
    let wal = dir.join("yizhan.sqlite3-wal");
    println!("blobs_per_case: {:.2}", status["blobs"].as_f64().unwrap_or(0.0) / n);
    println!("data_dir_bytes: {}", dir_bytes(&dir));
    println!("data_dir_kib_per_case: {:.1}", dir_bytes(&dir) as f64 / n / 1024.0);
    println!("blob_files_kib_per_case: {:.1}", dir_bytes(&dir.join("blobs")) as f64 / n / 1024.0);
    println!("sqlite_bytes: {}", file_bytes(&db));
    println!("sqlite_kib_per_case: {:.2}", file_bytes(&db) as f64 / n / 1024.0);
    println!("sqlite_wal_bytes: {}", file_bytes(&wal));
    println!("kiosk_peak_rss_mib: {:.1}", hwm as f64 / 1024.0);
    println!("kiosk_rss_end_mib: {:.1}", rss as f64 / 1024.0);
    drop(kiosk);
}
