//! `yizhan demo` as a newcomer runs it: after the nodes start and sync settles, a kiosk's
//! find-similar (找类似) already finds the solved cases the county centre published.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_yizhan");

/// The demo process, killed on drop.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A base port with the four after it free (the demo serves on base..base+3).
fn free_ports() -> u16 {
    for _ in 0..50 {
        let base = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        if base > 60_000 {
            continue;
        }
        let all_free = (0..4).all(|i| std::net::TcpListener::bind(("127.0.0.1", base + i)).is_ok());
        if all_free {
            return base;
        }
    }
    panic!("no four free ports in a row");
}

#[test]
fn a_fresh_demo_kiosk_finds_the_countys_published_knowledge() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_ports();
    let mut child = Command::new(BIN)
        .args(["demo", "--data-dir", dir.path().to_str().unwrap(), "--port", &port.to_string()])
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, lines) = mpsc::channel();
    for pipe in [
        Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
        Box::new(child.stderr.take().unwrap()),
    ] {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
    }
    let _demo = Proc(child);
    // "  kiosk kiosk-510131001001 (…): http://127.0.0.1:P/"
    let mut seen = Vec::new();
    let started = Instant::now();
    let kiosk = loop {
        assert!(started.elapsed() < Duration::from_secs(60), "the demo never started:\n{}", seen.join("\n"));
        let Ok(line) = lines.recv_timeout(Duration::from_millis(200)) else { continue };
        if line.contains("kiosk kiosk-510131001001") {
            break line.split("http://").nth(1).unwrap().trim_end_matches('/').to_string();
        }
        seen.push(line);
    };
    // The first kiosk's own demo case describes rice blast; the county has published its answer.
    let url = format!("http://{kiosk}/api/similar?q={}", "水稻叶片上有梭形褐色病斑，中间灰白色");
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let found = reqwest::blocking::get(&url).ok().and_then(|r| r.json::<serde_json::Value>().ok());
        let text = found.as_ref().map(|v| v.to_string()).unwrap_or_default();
        if text.contains("稻瘟病") {
            assert!(!text.contains("示范农户"), "the farmer's name is scrubbed: {text}");
            break;
        }
        assert!(Instant::now() < deadline, "find-similar never found the demo knowledge: {text}");
        std::thread::sleep(Duration::from_millis(500));
    }
}
