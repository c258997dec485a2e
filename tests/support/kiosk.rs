//! Runs the real `yizhan kiosk` binary on a free loopback port with a fresh data directory.
//! Dropping the [`Kiosk`] kills it, also when a test panics.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

pub struct Kiosk {
    child: Child,
    /// e.g. `http://127.0.0.1:40123` (no trailing slash).
    pub base: String,
    log: Arc<Mutex<String>>,
    _data: tempfile::TempDir,
}

fn drain(pipe: impl Read + Send + 'static, log: Arc<Mutex<String>>, ready: Option<mpsc::Sender<String>>) {
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            if let (Some(tx), Some(rest)) = (&ready, line.split("kiosk ready: ").nth(1)) {
                let _ = tx.send(
                    rest.split_whitespace().next().unwrap_or_default().trim_end_matches('/').to_string(),
                );
            }
            if let Ok(mut log) = log.lock() {
                log.push_str(&line);
                log.push('\n');
            }
        }
    });
}

impl Kiosk {
    /// Starts `bin kiosk --region <region>` and waits (bounded) until `/healthz` answers.
    pub fn start(bin: &str, region: &str) -> Kiosk {
        Kiosk::start_with(bin, region, |_| {})
    }

    /// Like [`Kiosk::start`], after `prepare` has set up the fresh data directory.
    #[allow(dead_code)] // not every test binary that includes this module prepares
    pub fn start_with(bin: &str, region: &str, prepare: impl FnOnce(&std::path::Path)) -> Kiosk {
        let data = tempfile::Builder::new().prefix("yizhan-kiosk-").tempdir().expect("temp dir");
        prepare(data.path());
        let mut child = Command::new(bin)
            .args(["kiosk", "--listen", "127.0.0.1:0", "--region", region, "--data-dir"])
            .arg(data.path())
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {bin}: {e}"));
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        drain(child.stdout.take().expect("piped"), log.clone(), Some(tx));
        drain(child.stderr.take().expect("piped"), log.clone(), None);
        let mut kiosk = Kiosk { child, base: String::new(), log, _data: data };

        let timeout = Duration::from_secs(30);
        kiosk.base = match rx.recv_timeout(timeout) {
            Ok(base) => base,
            Err(e) => panic!(
                "the kiosk did not print its address within {timeout:?} ({e}); output:\n{}",
                kiosk.log()
            ),
        };
        let http = reqwest::blocking::Client::builder()
            .default_headers(yizhan_web::client_headers())
            .timeout(Duration::from_secs(5))
            .no_proxy()
            .build()
            .expect("http client");
        let start = Instant::now();
        loop {
            let ok = http
                .get(format!("{}/healthz", kiosk.base))
                .send()
                .ok()
                .and_then(|r| r.json::<serde_json::Value>().ok())
                .is_some_and(|v| v["status"] == "ok");
            if ok {
                return kiosk;
            }
            assert!(
                start.elapsed() < timeout,
                "{}/healthz never answered ok; output:\n{}",
                kiosk.base,
                kiosk.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Everything the kiosk printed so far (stdout and stderr).
    pub fn log(&self) -> String {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// GET a JSON document from the kiosk's API.
    pub fn get_json(&self, path: &str) -> serde_json::Value {
        let http = reqwest::blocking::Client::builder()
            .default_headers(yizhan_web::client_headers())
            .timeout(Duration::from_secs(10))
            .no_proxy()
            .build()
            .expect("http client");
        let res = http.get(self.url(path)).send().unwrap_or_else(|e| panic!("GET {path}: {e}"));
        assert!(res.status().is_success(), "GET {path}: {}", res.status());
        res.json().unwrap_or_else(|e| panic!("GET {path}: not JSON: {e}"))
    }
}

impl Drop for Kiosk {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let log = self.log();
            let lines: Vec<&str> = log.lines().collect();
            eprintln!(
                "kiosk {} output (last 40 lines):\n{}",
                self.base,
                lines[lines.len().saturating_sub(40)..].join("\n")
            );
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
