//! A small synchronous W3C WebDriver client for Debian's chromedriver, over reqwest's blocking
//! client: only the commands the browser tests use, no async runtime and no extra crates.
//!
//! [`Browser::start`] starts chromedriver on a free loopback port (in its own process group)
//! and a headless Chromium with a fresh profile. Dropping the [`Browser`] ends the session
//! (Chromium quits) and then kills the whole process group, also when a test panics.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

/// The key under which W3C WebDriver returns an element reference.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

pub const INSTALL_HINT: &str = "install Debian's packages with: apt-get install -y --no-install-recommends chromium chromium-driver fonts-noto-cjk";

/// Flags that work offline, as root, in a container without a GPU or a large /dev/shm.
const CHROMIUM_ARGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--disable-extensions",
    "--lang=zh-CN",
    "--remote-debugging-pipe",
];

/// A WebDriver error: the W3C error code (e.g. `no such element`) and chromedriver's message,
/// or a transport failure.
#[derive(Debug, Clone)]
pub struct WdError {
    pub error: String,
    pub message: String,
}

impl std::fmt::Display for WdError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let first_line = self.message.lines().next().unwrap_or_default();
        write!(f, "{}: {first_line}", self.error)
    }
}

pub type WdResult<T> = Result<T, WdError>;

/// An element reference in the current page.
#[derive(Debug, Clone)]
pub struct Element(String);

fn path_of(var: &str, default: &str) -> PathBuf {
    std::env::var_os(var).map(PathBuf::from).unwrap_or_else(|| PathBuf::from(default))
}

/// Fails (never skips) when the browser, its driver or the CJK fonts are missing.
fn require_installed() -> (PathBuf, PathBuf) {
    let chromium = path_of("CHROMIUM", "/usr/bin/chromium");
    let driver = path_of("CHROMEDRIVER", "/usr/bin/chromedriver");
    for (what, path) in [("chromium", &chromium), ("chromedriver", &driver)] {
        assert!(
            path.is_file(),
            "{what} not found at {} (set ${} to override); {INSTALL_HINT}",
            path.display(),
            what.to_uppercase()
        );
    }
    let cjk = Path::new("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc");
    assert!(
        cjk.is_file(),
        "no Chinese font at {} (pages and screenshots would show boxes); {INSTALL_HINT}",
        cjk.display()
    );
    (chromium, driver)
}

/// chromedriver and every Chromium process it started (one process group).
struct Driver {
    child: Child,
    log_path: PathBuf,
}

impl Driver {
    fn start(driver: &Path, dir: &Path) -> Driver {
        use std::os::unix::process::CommandExt;
        let log_path = dir.join("chromedriver.log");
        let child = Command::new(driver)
            .arg("--port=0")
            .arg(format!("--log-path={}", log_path.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}; {INSTALL_HINT}", driver.display()));
        Driver { child, log_path }
    }

    /// Reads the port chromedriver prints once it listens (`--port=0` picks a free one).
    fn wait_port(&mut self, timeout: Duration) -> u16 {
        let stdout = self.child.stdout.take().expect("chromedriver stdout is piped");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.split("started successfully on port ").nth(1) {
                    let _ = tx.send(rest.trim().trim_end_matches('.').parse::<u16>().ok());
                }
                // Keep draining so chromedriver never blocks on a full pipe.
            }
        });
        match rx.recv_timeout(timeout) {
            Ok(Some(port)) => port,
            other => panic!(
                "chromedriver did not report its port within {timeout:?} ({other:?}); log:\n{}",
                self.log_tail(40)
            ),
        }
    }

    fn log_tail(&self, lines: usize) -> String {
        let log = std::fs::read_to_string(&self.log_path).unwrap_or_default();
        // Only chromedriver's own timestamped lines, not the JSON it dumps between them.
        let all: Vec<&str> = log.lines().filter(|l| l.starts_with('[')).collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // The group id is chromedriver's pid (process_group(0)); Chromium's processes share it.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A headless Chromium session. Field order matters: the session is ended in `drop`, then
/// the driver is killed, then the profile directory is removed.
pub struct Browser {
    http: reqwest::blocking::Client,
    session_url: String,
    driver: Driver,
    _dir: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium whose viewport is `width` x `height`.
    pub fn start(width: u32, height: u32) -> Browser {
        let (chromium, driver_bin) = require_installed();
        let dir = tempfile::Builder::new().prefix("yizhan-browser-").tempdir().expect("temp dir");
        let mut driver = Driver::start(&driver_bin, dir.path());
        let port = driver.wait_port(Duration::from_secs(20));
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(60))
            .no_proxy()
            .build()
            .expect("http client");
        let profile = dir.path().join("profile");
        let mut args: Vec<String> = CHROMIUM_ARGS.iter().map(|s| s.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.display()));
        args.push(format!("--window-size={width},{height}"));
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "pageLoadStrategy": "normal",
            "timeouts": {"implicit": 0, "pageLoad": 30_000, "script": 30_000},
            "goog:chromeOptions": {"binary": chromium.display().to_string(), "args": args},
            "goog:loggingPrefs": {"browser": "ALL"},
        }}});
        let base = format!("http://127.0.0.1:{port}");
        let res = http.post(format!("{base}/session")).json(&caps).send();
        let value =
            match res.map_err(|e| e.to_string()).and_then(|r| r.json::<Value>().map_err(|e| e.to_string())) {
                Ok(v) => v,
                Err(e) => panic!("chromedriver: new session failed: {e}; log:\n{}", driver.log_tail(40)),
            };
        let Some(session) = value["value"]["sessionId"].as_str() else {
            panic!(
                "chromedriver could not start Chromium: {}; {INSTALL_HINT}; log:\n{}",
                value["value"]["message"],
                driver.log_tail(40)
            );
        };
        let session_url = format!("{base}/session/{session}");
        let browser = Browser { http, session_url, driver, _dir: dir };
        browser.set_viewport(width, height);
        browser
    }

    /// Sizes the window so that the page itself (the layout viewport) is `width` x `height`.
    fn set_viewport(&self, width: u32, height: u32) {
        let inner = "return [window.innerWidth, window.innerHeight, window.outerWidth, window.outerHeight]";
        let sizes = |b: &Browser| -> Vec<i64> {
            let v = b.execute(inner, vec![]).unwrap_or_else(|e| panic!("reading the window size: {e}"));
            v.as_array().map(|a| a.iter().filter_map(Value::as_i64).collect()).unwrap_or_default()
        };
        let s = sizes(self);
        if s.len() == 4 && (s[0], s[1]) != (i64::from(width), i64::from(height)) {
            let (w, h) = (i64::from(width) + s[2] - s[0], i64::from(height) + s[3] - s[1]);
            if let Err(e) = self.post("/window/rect", json!({"x": 0, "y": 0, "width": w, "height": h})) {
                panic!("resizing the window to {w}x{h}: {e}");
            }
        }
        let s = sizes(self);
        assert!(
            s.len() == 4 && (s[0], s[1]) == (i64::from(width), i64::from(height)),
            "the page's viewport is {s:?} (inner w, h, outer w, h), not {width}x{height}"
        );
    }

    fn cmd(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> WdResult<Value> {
        let transport = |e: reqwest::Error| WdError { error: "transport".into(), message: e.to_string() };
        let mut req = self.http.request(method, format!("{}{path}", self.session_url));
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req.send().map_err(transport)?;
        let ok = res.status().is_success();
        let v: Value = res.json().map_err(transport)?;
        let value = v.get("value").cloned().unwrap_or(Value::Null);
        if ok {
            Ok(value)
        } else {
            Err(WdError {
                error: value["error"].as_str().unwrap_or("unknown error").to_string(),
                message: value["message"].as_str().unwrap_or_default().to_string(),
            })
        }
    }

    fn post(&self, path: &str, body: Value) -> WdResult<Value> {
        self.cmd(reqwest::Method::POST, path, Some(body))
    }

    fn get(&self, path: &str) -> WdResult<Value> {
        self.cmd(reqwest::Method::GET, path, None)
    }

    /// Navigates and waits for the page load (bounded by the 30 s page-load timeout).
    pub fn goto(&self, url: &str) -> WdResult<()> {
        self.post("/url", json!({ "url": url })).map(drop)
    }

    pub fn current_url(&self) -> WdResult<String> {
        Ok(self.get("/url")?.as_str().unwrap_or_default().to_string())
    }

    pub fn source(&self) -> WdResult<String> {
        Ok(self.get("/source")?.as_str().unwrap_or_default().to_string())
    }

    pub fn find(&self, css: &str) -> WdResult<Element> {
        let v = self.post("/element", json!({"using": "css selector", "value": css}))?;
        element_of(&v)
    }

    pub fn find_all(&self, css: &str) -> WdResult<Vec<Element>> {
        let v = self.post("/elements", json!({"using": "css selector", "value": css}))?;
        v.as_array().map(|a| a.iter().map(element_of).collect()).unwrap_or_else(|| Ok(Vec::new()))
    }

    /// The first descendant of `parent` matching `css`.
    pub fn find_in(&self, parent: &Element, css: &str) -> WdResult<Element> {
        let v = self.post(
            &format!("/element/{}/element", parent.0),
            json!({"using": "css selector", "value": css}),
        )?;
        element_of(&v)
    }

    pub fn click(&self, el: &Element) -> WdResult<()> {
        self.post(&format!("/element/{}/click", el.0), json!({})).map(drop)
    }

    pub fn clear(&self, el: &Element) -> WdResult<()> {
        self.post(&format!("/element/{}/clear", el.0), json!({})).map(drop)
    }

    /// Types text; for a file input, `text` is a local path (chromedriver runs on this machine).
    pub fn send_keys(&self, el: &Element, text: &str) -> WdResult<()> {
        self.post(&format!("/element/{}/value", el.0), json!({ "text": text })).map(drop)
    }

    /// The rendered (visible) text of an element.
    pub fn text(&self, el: &Element) -> WdResult<String> {
        Ok(self.get(&format!("/element/{}/text", el.0))?.as_str().unwrap_or_default().to_string())
    }

    pub fn property(&self, el: &Element, name: &str) -> WdResult<Value> {
        self.get(&format!("/element/{}/property/{name}", el.0))
    }

    /// A real mouse click (pointer down and up, as a person's) at a point of the viewport, in
    /// CSS pixels: for canvases, where there is no element to click.
    pub fn click_at(&self, x: i64, y: i64) -> WdResult<()> {
        let actions = json!({"actions": [{
            "type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"},
            "actions": [
                {"type": "pointerMove", "duration": 0, "origin": "viewport", "x": x, "y": y},
                {"type": "pointerDown", "button": 0},
                {"type": "pause", "duration": 50},
                {"type": "pointerUp", "button": 0}
            ]
        }]});
        self.post("/actions", actions).map(drop)
    }

    /// Runs a synchronous script; elements may be passed as arguments with [`Element::arg`].
    pub fn execute(&self, script: &str, args: Vec<Value>) -> WdResult<Value> {
        self.post("/execute/sync", json!({ "script": script, "args": args }))
    }

    /// A PNG of the viewport, as a tablet would show it.
    pub fn screenshot(&self) -> WdResult<Vec<u8>> {
        decode_png(&self.get("/screenshot")?)
    }

    /// A PNG of the whole page, through the DevTools protocol (chromedriver's extension).
    pub fn screenshot_full_page(&self) -> WdResult<Vec<u8>> {
        let v = self.post(
            "/goog/cdp/execute",
            json!({"cmd": "Page.captureScreenshot", "params": {"format": "png", "captureBeyondViewport": true}}),
        )?;
        decode_png(&v["data"])
    }

    /// Browser console entries since the last call (chromedriver's log extension).
    pub fn console_log(&self) -> Vec<(String, String)> {
        let Ok(v) = self.post("/se/log", json!({"type": "browser"})) else { return Vec::new() };
        v.as_array()
            .map(|entries| {
                entries
                    .iter()
                    .map(|e| {
                        (
                            e["level"].as_str().unwrap_or_default().to_string(),
                            e["message"].as_str().unwrap_or_default().to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Polls `probe` every 200 ms until it yields a value, failing after `timeout` with `what`,
    /// the last error and what the page showed.
    pub fn wait_for<T>(
        &self,
        what: &str,
        timeout: Duration,
        mut probe: impl FnMut(&Browser) -> WdResult<Option<T>>,
    ) -> T {
        let start = Instant::now();
        let mut last = String::from("(no error: the condition was false)");
        loop {
            match probe(self) {
                Ok(Some(v)) => return v,
                Ok(None) => {}
                Err(e) => last = e.to_string(),
            }
            if start.elapsed() > timeout {
                panic!(
                    "timed out after {timeout:?} waiting for {what}; last: {last}\n{}",
                    self.diagnostics()
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// What the browser shows now, for failure messages.
    pub fn diagnostics(&self) -> String {
        let url = self.current_url().unwrap_or_else(|e| format!("? ({e})"));
        let text = self
            .execute("return document.body ? document.body.innerText : ''", vec![])
            .ok()
            .and_then(|v| v.as_str().map(|s| s.chars().take(1500).collect::<String>()))
            .unwrap_or_default();
        let console: Vec<String> =
            self.console_log().into_iter().map(|(l, m)| format!("  [{l}] {m}")).collect();
        format!(
            "browser at {url}\npage text:\n{text}\nconsole:\n{}\nchromedriver log tail:\n{}",
            console.join("\n"),
            self.driver.log_tail(15)
        )
    }
}

impl Element {
    /// This element as a script argument.
    pub fn arg(&self) -> Value {
        json!({ ELEMENT_KEY: self.0 })
    }
}

fn element_of(v: &Value) -> WdResult<Element> {
    v[ELEMENT_KEY]
        .as_str()
        .map(|id| Element(id.to_string()))
        .ok_or_else(|| WdError { error: "bad response".into(), message: format!("not an element: {v}") })
}

fn decode_png(v: &Value) -> WdResult<Vec<u8>> {
    let b64 = v.as_str().unwrap_or_default();
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|e| WdError { error: "bad screenshot".into(), message: e.to_string() })
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Ends the session so Chromium quits cleanly (its helpers too); the driver's process
        // group is killed right after, whatever happened here.
        let _ = self.http.delete(&self.session_url).timeout(Duration::from_secs(10)).send();
    }
}
