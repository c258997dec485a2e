//! Crash durability of the kiosk process: SIGKILL at random moments while cases with photos are
//! being recorded, restart on the same data directory, and check that every acknowledged case
//! and every blob it references is intact, and that no partial blob is visible anywhere.
//!
//! The data directory is kept across all rounds, so state (and the chance of damaging earlier
//! work) accumulates. Choices (clients per round, photos per case, kill delay, photo variants)
//! come from one seeded RNG; the seed is printed and `YIZHAN_DURABILITY_SEED=<seed>` replays the
//! same choices (the exact kill moment still depends on timing). `YIZHAN_DURABILITY_ROUNDS`
//! overrides the number of rounds (default 20).
//!
//! What SIGKILL covers: the process dies between any two instructions, so half-written temporary
//! files, uncommitted SQLite transactions and torn HTTP replies all occur. What it does not
//! cover: the page cache survives, so a missing fsync (power loss) is not detected here.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use image::RgbImage;
use image::codecs::jpeg::JpegEncoder;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::blocking::Client;
use reqwest::blocking::multipart::{Form, Part};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_yizhan");
const ROUNDS_DEFAULT: usize = 20;
/// Blobs up to this size live inside SQLite (`StoreConfig::inline_blob_bytes_max`).
const INLINE_BLOB_BYTES_MAX: usize = 16 * 1024;
/// When a round's SIGKILL comes. Half the rounds kill at a random moment (a request takes
/// ~80-400 ms in a debug build, so some kill the first requests and others kill after several
/// commits); the other half kill the instant the k-th acknowledgement reaches a client, which is
/// when a reply sent before its commit was durable would be caught (other requests are then in
/// flight at every stage).
enum KillAt {
    Delay(Duration),
    AfterAck(usize),
}
const KILL_DELAY_MS: std::ops::Range<u64> = 50..1200;
/// An `AfterAck` round kills anyway after this long.
const AFTER_ACK_WAIT_MAX: Duration = Duration::from_secs(5);
const READY_TIMEOUT: Duration = Duration::from_secs(30);
const LOG_LINES_KEPT: usize = 300;

// ---------------------------------------------------------------------------------------------
// The kiosk as a child process

type Log = Arc<Mutex<VecDeque<String>>>;

/// A running `yizhan kiosk`; killed (SIGKILL) and reaped when dropped, also on panic.
struct Kiosk {
    child: Child,
    url: String,
}

impl Kiosk {
    fn start(dir: &Path, log: &Log) -> Kiosk {
        let mut child = Command::new(BIN)
            .arg("kiosk")
            .arg("--data-dir")
            .arg(dir)
            .args(["--listen", "127.0.0.1:0"])
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (ready_tx, ready_rx) = mpsc::channel();
        drain(child.stdout.take().unwrap(), log.clone(), Some(ready_tx));
        drain(child.stderr.take().unwrap(), log.clone(), None);
        // The guard exists before we wait, so a start that times out still kills the child.
        let mut kiosk = Kiosk { child, url: String::new() };
        match ready_rx.recv_timeout(READY_TIMEOUT) {
            Ok(url) => kiosk.url = url,
            Err(_) => panic!(
                "the kiosk did not print its ready line within {READY_TIMEOUT:?}; log:\n{}",
                log_tail(log)
            ),
        }
        kiosk
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL (what `Child::kill` sends on Unix), then reap.
    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Kiosk {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads a child's output line by line into `log` (the pipe must be drained or the kiosk blocks
/// on logging) and reports the URL from the ready line.
fn drain(stream: impl Read + Send + 'static, log: Log, ready: Option<mpsc::Sender<String>>) {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stream);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match reader.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            let line = String::from_utf8_lossy(&buf).trim_end().to_string();
            if let Some(tx) = &ready
                && let Some(rest) = line.split("kiosk ready: http://").nth(1)
            {
                let addr = rest.split('/').next().unwrap_or_default();
                let _ = tx.send(format!("http://{addr}"));
            }
            let mut log = log.lock().unwrap();
            if log.len() >= LOG_LINES_KEPT {
                log.pop_front();
            }
            log.push_back(line);
        }
    });
}

fn log_tail(log: &Log) -> String {
    log.lock().unwrap().iter().cloned().collect::<Vec<_>>().join("\n")
}

// ---------------------------------------------------------------------------------------------
// Photos

/// A JPEG of a leaf-like pattern with `noise` amplitude of random texture (noise makes it big).
fn make_photo(rng: &mut StdRng, w: u32, h: u32, noise: u8, quality: u8) -> Vec<u8> {
    let base: [i32; 3] = [rng.random_range(40..120), rng.random_range(100..200), rng.random_range(20..90)];
    let stripe = rng.random_range(9..40);
    // xorshift for the per-pixel noise: StdRng is unoptimised in a debug build and slow here.
    let mut state: u64 = rng.random::<u64>() | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let img = RgbImage::from_fn(w, h, |x, y| {
        let vein = if (x + y / 2) % stripe < 3 { 60 } else { 0 };
        let spot = if ((x / 37) * 7 + (y / 29) * 3) % 11 == 0 { -50 } else { 0 };
        let grad = (x * 40 / w) as i32 - (y * 30 / h) as i32;
        let mut px = [0u8; 3];
        for (c, p) in px.iter_mut().enumerate() {
            let n =
                if noise == 0 { 0 } else { (next() % (u64::from(noise) + 1)) as i32 - i32::from(noise) / 2 };
            *p = (base[c] + vein + spot + grad + n).clamp(0, 255) as u8;
        }
        image::Rgb(px)
    });
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, quality).encode_image(&img).unwrap();
    out
}

/// The same JPEG with an extra quantisation table (id 3) that no component uses, right after
/// SOI, its entries derived from `tag`: different bytes (a new original blob), same pixels (so
/// its derived copies deduplicate against earlier ones). (A comment segment would not do: the
/// kiosk stores originals without their metadata, comments included.)
fn with_tag(jpeg: &[u8], tag: &str) -> Vec<u8> {
    assert_eq!(&jpeg[..2], &[0xFF, 0xD8]);
    let digest = blake3::hash(tag.as_bytes());
    let mut table = vec![0x03]; // 8-bit precision, table 3
    table.extend(digest.as_bytes().iter().chain(digest.as_bytes()).map(|b| b | 1)); // 64 entries, none 0
    let len = u16::try_from(table.len() + 2).unwrap();
    let mut out = Vec::with_capacity(jpeg.len() + table.len() + 4);
    out.extend_from_slice(&[0xFF, 0xD8, 0xFF, 0xDB]);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&table);
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// Changes the first entries of the luma quantisation table by the base-3 digits of `n`: the
/// entropy-coded data stays as it is, but every decoded pixel changes a little, so the derived
/// display and thumbnail copies are new blobs too. Distinct for `n < 3^12`.
fn tweak_quant(jpeg: &mut [u8], n: u64) {
    let mut i = 2;
    while i + 4 <= jpeg.len() && jpeg[i] == 0xFF {
        let marker = jpeg[i + 1];
        let len = usize::from(u16::from_be_bytes([jpeg[i + 2], jpeg[i + 3]]));
        if marker == 0xDA {
            break; // start of scan: no tables after this in a baseline JPEG
        }
        if marker == 0xDB {
            let (mut j, end) = (i + 4, i + 2 + len);
            while j < end {
                let (precision, table) = (jpeg[j] >> 4, jpeg[j] & 0x0F);
                if precision == 0 && table == 0 {
                    let mut rest = n;
                    for q in &mut jpeg[j + 1..j + 13] {
                        *q = q.saturating_add((rest % 3) as u8).max(1);
                        rest /= 3;
                    }
                    return;
                }
                j += if precision == 0 { 65 } else { 129 };
            }
        }
        i += 2 + len;
    }
    panic!("no 8-bit luma quantisation table found");
}

fn blake3_hex(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}

// ---------------------------------------------------------------------------------------------
// Clients

/// One record request and what came of it.
#[derive(Debug, Clone)]
struct Sent {
    round: usize,
    subject: String,
    /// BLAKE3 of each photo as sent: the hashes the case's original attachments must have.
    originals: Vec<String>,
    /// Bytes of photos sent.
    bytes: usize,
    /// How long the request took (to the reply or the error).
    ms: u64,
    outcome: Outcome,
}

#[derive(Debug, Clone)]
enum Outcome {
    /// 201 with the case id: the kiosk promised the case is durable.
    Acked(String),
    /// No complete reply (the kiosk died first): the case may or may not exist.
    NoReply(String),
    /// Any other reply: never expected here.
    Refused(u16, String),
}

fn case_form(subject: &str, photos: &[Vec<u8>]) -> Form {
    let mut form = Form::new()
        .text("industry", "fruit")
        .text("subject", subject.to_string())
        .text("description", "叶片发黄，有褐色斑点，近一周扩散很快")
        .text("region_code", "510131001")
        .text("village_name", "和平村")
        .text("farmer_name", "王大爷")
        .text("farmer_phone", "13812345678")
        .text("officer", "李信息员");
    for (i, p) in photos.iter().enumerate() {
        let part =
            Part::bytes(p.clone()).file_name(format!("IMG_{i:04}.jpg")).mime_str("image/jpeg").unwrap();
        form = form.part("photos", part);
    }
    form
}

/// Posts cases until `stop` is set or the kiosk stops answering; signals each acknowledgement
/// on `acks` the moment it arrives.
fn client_loop(
    url: String,
    round: usize,
    thread: usize,
    seed: u64,
    bases: Arc<Vec<Vec<u8>>>,
    stop: Arc<AtomicBool>,
    acks: mpsc::Sender<()>,
) -> Vec<Sent> {
    let mut rng = StdRng::seed_from_u64(seed);
    let client = Client::builder()
        .default_headers(yizhan_web::client_headers())
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let mut sent = Vec::new();
    let mut n = 0;
    while !stop.load(Ordering::SeqCst) {
        let subject = format!("耐久测试 r{round:02} t{thread} #{n:03}");
        let count = rng.random_range(1..=2);
        let first = rng.random_range(0..bases.len());
        let photos: Vec<Vec<u8>> = (0..count)
            .map(|i| {
                // Two photos of one case always come from different bases, so they differ.
                let mut p = bases[(first + i) % bases.len()].clone();
                if rng.random_bool(0.5) {
                    tweak_quant(&mut p, rng.random_range(1..531_441));
                }
                // Mostly a fresh original; sometimes exactly a photo sent before (dedup path).
                if rng.random_bool(0.85) { with_tag(&p, &format!("{subject} p{i}")) } else { p }
            })
            .collect();
        let originals = photos.iter().map(|p| blake3_hex(p)).collect();
        let bytes = photos.iter().map(Vec::len).sum();
        let t0 = Instant::now();
        let outcome =
            match client.post(format!("{url}/api/cases")).multipart(case_form(&subject, &photos)).send() {
                Err(e) => Outcome::NoReply(e.to_string()),
                Ok(res) => {
                    let status = res.status().as_u16();
                    match res.text() {
                        Err(e) => Outcome::NoReply(format!("status {status}, body lost: {e}")),
                        Ok(body) if status == 201 => match serde_json::from_str::<Value>(&body) {
                            Ok(v) if v["id"].is_string() => {
                                Outcome::Acked(v["id"].as_str().unwrap().to_string())
                            }
                            _ => Outcome::Refused(status, body),
                        },
                        Ok(body) => Outcome::Refused(status, body),
                    }
                }
            };
        let ms = t0.elapsed().as_millis() as u64;
        if matches!(outcome, Outcome::Acked(_)) {
            let _ = acks.send(());
        }
        let gone = matches!(outcome, Outcome::NoReply(_));
        sent.push(Sent { round, subject, originals, bytes, ms, outcome });
        if gone {
            break;
        }
        n += 1;
    }
    sent
}

// ---------------------------------------------------------------------------------------------
// Verification

fn get(client: &Client, url: &str) -> reqwest::blocking::Response {
    client.get(url).send().unwrap_or_else(|e| panic!("GET {url}: {e}"))
}

fn get_json(client: &Client, url: &str) -> Value {
    let res = get(client, url);
    let status = res.status();
    let body = res.text().unwrap();
    assert!(status.is_success(), "GET {url}: {status}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {url}: {e}: {body}"))
}

/// Every case the kiosk lists, by id.
fn list_all(client: &Client, url: &str) -> BTreeMap<String, Value> {
    let mut all = BTreeMap::new();
    let mut offset = 0;
    loop {
        let page = get_json(client, &format!("{url}/api/cases?limit=500&offset={offset}"));
        let page = page.as_array().unwrap().clone();
        let n = page.len();
        for c in page {
            all.insert(c["id"].as_str().unwrap().to_string(), c);
        }
        if n < 500 {
            return all;
        }
        offset += n;
    }
}

/// Downloads and re-hashes every attachment of a case, and checks that its originals are
/// exactly the photos sent, each with its display and thumbnail copy.
fn verify_case_deep(
    client: &Client,
    url: &str,
    id: &str,
    sent: &Sent,
    verified_blobs: &mut HashSet<String>,
    problems: &mut Vec<String>,
) {
    let res = get(client, &format!("{url}/api/cases/{id}"));
    if res.status() != 200 {
        problems.push(format!(
            "case {id} ({}) is listed but its detail answers {}",
            sent.subject,
            res.status()
        ));
        return;
    }
    let detail: Value = res.json().unwrap();
    if detail["subject"] != sent.subject.as_str() {
        problems.push(format!("case {id}: subject {} != sent {}", detail["subject"], sent.subject));
    }
    let attachments = detail["attachments"].as_array().unwrap();
    let field = |a: &Value, k: &str| a[k].as_str().unwrap_or_default().to_string();
    let mut originals: Vec<String> = attachments
        .iter()
        .filter(|a| field(a, "kind") == "photo" && field(a, "role") == "original")
        .map(|a| field(a, "hash"))
        .collect();
    originals.sort();
    let mut expected = sent.originals.clone();
    expected.sort();
    if originals != expected {
        problems.push(format!(
            "case {id} ({}): original photos {originals:?} != sent {expected:?}",
            sent.subject
        ));
    }
    for orig in &expected {
        for role in ["display", "thumb"] {
            let n =
                attachments.iter().filter(|a| field(a, "group") == *orig && field(a, "role") == role).count();
            if n != 1 {
                problems.push(format!("case {id} ({}): photo {orig} has {n} {role} copies", sent.subject));
            }
        }
    }
    if attachments.len() != 3 * expected.len() {
        problems.push(format!(
            "case {id} ({}): {} attachments for {} photos",
            sent.subject,
            attachments.len(),
            expected.len()
        ));
    }
    for a in attachments {
        let hash = field(a, "hash");
        if verified_blobs.contains(&hash) {
            continue;
        }
        let res = get(client, &format!("{url}/blobs/{hash}"));
        let status = res.status();
        let bytes = match res.bytes() {
            Ok(b) => b,
            Err(e) => {
                problems.push(format!("case {id}: blob {hash}: reading the body failed: {e}"));
                continue;
            }
        };
        if status != 200 {
            problems.push(format!(
                "case {id} ({}): blob {hash} ({}) answers {status}",
                sent.subject,
                field(a, "role")
            ));
        } else if bytes.len() as u64 != a["bytes"].as_u64().unwrap_or(0) || blake3_hex(&bytes) != hash {
            problems.push(format!(
                "case {id} ({}): blob {hash} ({}) is damaged: {} bytes (recorded {}), hashes to {}",
                sent.subject,
                field(a, "role"),
                bytes.len(),
                a["bytes"],
                blake3_hex(&bytes)
            ));
        } else {
            verified_blobs.insert(hash);
        }
    }
}

/// What a verification found, for the round's report line.
struct Verified {
    cases: usize,
    unacked_present: usize,
    deep_checked: usize,
}

/// Checks the restarted kiosk against everything ever sent. Cases from `deep_rounds` (and every
/// case present without an acknowledgement) get their blobs downloaded and re-hashed; the rest
/// are checked from the listing (present, same subject, same photo count).
fn verify(
    client: &Client,
    url: &str,
    ledger: &[Sent],
    deep_round: Option<usize>,
    problems: &mut Vec<String>,
) -> Verified {
    let listed = list_all(client, url);
    let status = get_json(client, &format!("{url}/api/status"));
    if status["cases"].as_u64() != Some(listed.len() as u64) {
        problems.push(format!(
            "/api/status counts {} cases, the listing has {}",
            status["cases"],
            listed.len()
        ));
    }
    let by_subject: HashMap<&str, &Sent> = ledger.iter().map(|s| (s.subject.as_str(), s)).collect();
    let mut listed_subjects: HashMap<String, Vec<String>> = HashMap::new();
    for (id, c) in &listed {
        listed_subjects
            .entry(c["subject"].as_str().unwrap_or_default().to_string())
            .or_default()
            .push(id.clone());
    }
    for (subject, ids) in &listed_subjects {
        if ids.len() > 1 {
            problems.push(format!("subject {subject} recorded {} times: {ids:?}", ids.len()));
        }
        if !by_subject.contains_key(subject.as_str()) {
            problems.push(format!("case(s) {ids:?} with subject {subject:?} were never sent"));
        }
    }

    let mut acked = 0;
    let mut deep = Vec::new();
    for s in ledger {
        match &s.outcome {
            Outcome::Acked(id) => {
                acked += 1;
                match listed.get(id) {
                    None => problems.push(format!(
                        "LOST: case {id} ({}, round {}) was acknowledged but is not listed after the restart",
                        s.subject, s.round
                    )),
                    Some(c) => {
                        if c["subject"] != s.subject.as_str() {
                            problems.push(format!(
                                "case {id}: listed subject {} != sent {}",
                                c["subject"], s.subject
                            ));
                        }
                        if c["photo_count"].as_u64() != Some(s.originals.len() as u64) {
                            problems.push(format!(
                                "case {id} ({}): photo_count {} != {} sent",
                                s.subject,
                                c["photo_count"],
                                s.originals.len()
                            ));
                        }
                        if c["thumb_hash"].as_str().unwrap_or_default().is_empty() {
                            problems.push(format!("case {id} ({}): no thumbnail", s.subject));
                        }
                        if deep_round.is_none_or(|r| r == s.round) {
                            deep.push((id.clone(), s));
                        }
                    }
                }
            }
            Outcome::NoReply(_) => {}
            Outcome::Refused(code, body) => {
                problems
                    .push(format!("request {} (round {}) was refused: {code} {body}", s.subject, s.round));
            }
        }
    }
    if listed.len() < acked {
        problems.push(format!("{} cases listed, fewer than the {acked} acknowledged", listed.len()));
    }
    // A request that died before its reply may have been recorded; if so it must be whole.
    let mut unacked_present = 0;
    for s in ledger {
        let Outcome::NoReply(error) = &s.outcome else { continue };
        if let Some(ids) = listed_subjects.get(&s.subject) {
            unacked_present += 1;
            for id in ids {
                let c = &listed[id];
                if c["photo_count"].as_u64() != Some(s.originals.len() as u64) {
                    problems.push(format!(
                        "PARTIAL: unacknowledged case {id} ({}) has photo_count {} of {} sent (the request ended: {error})",
                        s.subject,
                        c["photo_count"],
                        s.originals.len()
                    ));
                }
                deep.push((id.clone(), s));
            }
        }
    }
    let mut verified_blobs = HashSet::new();
    for (id, s) in &deep {
        verify_case_deep(client, url, id, s, &mut verified_blobs, problems);
    }
    Verified { cases: listed.len(), unacked_present, deep_checked: deep.len() }
}

fn is_hash(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Every file under `blobs/<xx>/` must be complete: named by the BLAKE3 of its bytes, in the
/// directory of its first two hex digits. Returns the hashes found and their total bytes.
fn check_blob_files(dir: &Path, problems: &mut Vec<String>) -> (HashSet<String>, u64) {
    let (mut files, mut bytes) = (HashSet::new(), 0);
    for shard in std::fs::read_dir(dir.join("blobs")).unwrap() {
        let shard = shard.unwrap();
        let shard_name = shard.file_name().to_string_lossy().to_string();
        if shard_name == "tmp" {
            continue;
        }
        if !shard.file_type().unwrap().is_dir() {
            problems.push(format!("stray file blobs/{shard_name}"));
            continue;
        }
        for f in std::fs::read_dir(shard.path()).unwrap() {
            let f = f.unwrap();
            let name = f.file_name().to_string_lossy().to_string();
            if !is_hash(&name) || name[..2] != shard_name {
                problems.push(format!("stray file blobs/{shard_name}/{name}"));
                continue;
            }
            let content = std::fs::read(f.path()).unwrap();
            let got = blake3_hex(&content);
            if got != name {
                problems.push(format!(
                    "PARTIAL: blobs/{shard_name}/{name} ({} bytes) hashes to {got}",
                    content.len()
                ));
            }
            if content.len() <= INLINE_BLOB_BYTES_MAX {
                problems.push(format!(
                    "blobs/{shard_name}/{name} is only {} bytes: small blobs belong in SQLite",
                    content.len()
                ));
            }
            bytes += content.len() as u64;
            files.insert(name);
        }
    }
    (files, bytes)
}

/// Compares the blob files with the `blobs` table (read while the kiosk runs): a recorded file
/// blob without its file is a loss; a file without a row is an orphan of a request that died
/// before its commit (harmless, but never reclaimed). Returns the number of orphans.
fn check_blob_rows(dir: &Path, problems: &mut Vec<String>) -> usize {
    let (files, _) = check_blob_files(dir, problems);
    let conn = rusqlite::Connection::open_with_flags(
        dir.join("yizhan.sqlite3"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .unwrap();
    conn.busy_timeout(Duration::from_secs(10)).unwrap();
    let mut stmt = conn.prepare("SELECT hash FROM blobs WHERE inline_data IS NULL").unwrap();
    let rows: HashSet<String> = stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect();
    for missing in rows.difference(&files) {
        problems.push(format!(
            "LOST: blob {missing} is recorded as a file but blobs/{}/{missing} is missing",
            &missing[..2]
        ));
    }
    files.difference(&rows).count()
}

fn tmp_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir.join("blobs").join("tmp"))
        .map(|rd| rd.flatten().map(|e| e.file_name().to_string_lossy().to_string()).collect())
        .unwrap_or_default()
}

/// `yizhan check`: SQLite integrity_check and every recorded blob re-hashed.
fn store_check(dir: &Path, problems: &mut Vec<String>) {
    let out =
        Command::new(BIN).arg("check").arg("--data-dir").arg(dir).env("NO_COLOR", "1").output().unwrap();
    if !out.status.success() {
        problems.push(format!(
            "`yizhan check` failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
}

fn fail(seed: u64, what: &str, problems: &[String], log: &Log) -> ! {
    panic!(
        "{what}: {} problem(s) (seed {seed}; replay with YIZHAN_DURABILITY_SEED={seed}):\n  {}\nkiosk log tail:\n{}",
        problems.len(),
        problems.join("\n  "),
        log_tail(log)
    )
}

// ---------------------------------------------------------------------------------------------

#[test]
fn sigkill_while_recording_loses_nothing_acknowledged() {
    let seed = std::env::var("YIZHAN_DURABILITY_SEED")
        .ok()
        .map(|s| s.trim().parse::<u64>().expect("YIZHAN_DURABILITY_SEED must be a u64"))
        .unwrap_or_else(|| {
            let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
            t.as_nanos() as u64 ^ u64::from(std::process::id()).rotate_left(32)
        });
    let rounds =
        std::env::var("YIZHAN_DURABILITY_ROUNDS").ok().and_then(|s| s.parse().ok()).unwrap_or(ROUNDS_DEFAULT);
    println!("durability seed: {seed} (replay with YIZHAN_DURABILITY_SEED={seed}), {rounds} rounds");
    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(seed);

    // A few distinct photos: small (every blob inline in SQLite) up to phone-ish (file blobs).
    let bases: Arc<Vec<Vec<u8>>> = Arc::new(vec![
        make_photo(&mut rng, 240, 180, 0, 60),
        make_photo(&mut rng, 800, 600, 16, 85),
        make_photo(&mut rng, 1400, 1050, 6, 85),
        make_photo(&mut rng, 1024, 768, 4, 80),
    ]);
    let sizes: Vec<usize> = bases.iter().map(Vec::len).collect();
    println!("base photos: {sizes:?} bytes");
    assert!(
        sizes.iter().any(|&n| n <= INLINE_BLOB_BYTES_MAX) && sizes.iter().any(|&n| n > INLINE_BLOB_BYTES_MAX)
    );

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let log: Log = Arc::new(Mutex::new(VecDeque::new()));
    let http = Client::builder()
        .default_headers(yizhan_web::client_headers())
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let mut ledger: Vec<Sent> = Vec::new();

    for round in 0..=rounds {
        let mut problems = Vec::new();
        let kiosk = Kiosk::start(&data, &log);
        let left = tmp_files(&data);
        if !left.is_empty() {
            problems.push(format!("blobs/tmp still holds {left:?} after the restart"));
        }
        if round > 0 {
            // The last round's cases get a deep check now; the final pass checks everything.
            let deep_round = if round == rounds { None } else { Some(round - 1) };
            let v = verify(&http, &kiosk.url, &ledger, deep_round, &mut problems);
            store_check(&data, &mut problems);
            let orphans = check_blob_rows(&data, &mut problems);
            let acked = ledger.iter().filter(|s| matches!(s.outcome, Outcome::Acked(_))).count();
            println!(
                "  after restart: {} cases listed ({acked} acknowledged in all, {} unacknowledged present), \
                 {} deep-checked, {orphans} orphan blob file(s)",
                v.cases, v.unacked_present, v.deep_checked
            );
        }
        if !problems.is_empty() {
            fail(seed, &format!("verification after round {round}"), &problems, &log);
        }
        if round == rounds {
            break;
        }

        // Record from several clients, then SIGKILL the kiosk at a random moment.
        let clients = rng.random_range(2..=3);
        let kill_at = if rng.random_bool(0.5) {
            KillAt::Delay(Duration::from_millis(rng.random_range(KILL_DELAY_MS)))
        } else {
            KillAt::AfterAck(rng.random_range(1..=3))
        };
        let stop = Arc::new(AtomicBool::new(false));
        let (ack_tx, ack_rx) = mpsc::channel();
        let load_started = Instant::now();
        let threads: Vec<_> = (0..clients)
            .map(|t| {
                let (url, bases, stop, seed) = (kiosk.url.clone(), bases.clone(), stop.clone(), rng.random());
                let acks = ack_tx.clone();
                std::thread::spawn(move || client_loop(url, round, t, seed, bases, stop, acks))
            })
            .collect();
        drop(ack_tx);
        let how = match kill_at {
            KillAt::Delay(delay) => {
                std::thread::sleep(delay);
                format!("after {} ms", delay.as_millis())
            }
            KillAt::AfterAck(k) => {
                let deadline = load_started + AFTER_ACK_WAIT_MAX;
                let mut seen = 0;
                while seen < k
                    && ack_rx.recv_timeout(deadline.saturating_duration_since(Instant::now())).is_ok()
                {
                    seen += 1;
                }
                format!("right after ack {seen}/{k} ({} ms)", load_started.elapsed().as_millis())
            }
        };
        let pid = kiosk.pid();
        kiosk.kill();
        stop.store(true, Ordering::SeqCst);
        let mut sent = Vec::new();
        for t in threads {
            sent.extend(t.join().unwrap());
        }
        let acked = sent.iter().filter(|s| matches!(s.outcome, Outcome::Acked(_))).count();
        let mut ack_ms: Vec<u64> =
            sent.iter().filter(|s| matches!(s.outcome, Outcome::Acked(_))).map(|s| s.ms).collect();
        ack_ms.sort_unstable();
        let sent_kib = sent.iter().map(|s| s.bytes).sum::<usize>() / 1024;
        let torn = tmp_files(&data).len();
        // The crash state itself: no blob file may be partial, before anything repairs it.
        let (files, bytes) = check_blob_files(&data, &mut problems);
        let files = files.len();
        println!(
            "round {round:2}: pid {pid}, {clients} clients, SIGKILL {how}: {} sent ({sent_kib} KiB of photos), \
             {acked} acknowledged (median {} ms); {torn} temp file(s) left, {files} blob files ({} KiB) all whole; \
             {:.1} s since start",
            sent.len(),
            ack_ms.get(ack_ms.len() / 2).copied().unwrap_or(0),
            bytes / 1024,
            started.elapsed().as_secs_f64()
        );
        ledger.extend(sent);
        if !problems.is_empty() {
            fail(seed, &format!("blob files after the kill in round {round}"), &problems, &log);
        }
    }

    let acked = ledger.iter().filter(|s| matches!(s.outcome, Outcome::Acked(_))).count();
    println!(
        "durability: {rounds} rounds, {} requests, {acked} acknowledged, all intact; {:.1} s (seed {seed})",
        ledger.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(acked >= rounds / 4, "too few cases were acknowledged ({acked}) for the test to mean much");
}
