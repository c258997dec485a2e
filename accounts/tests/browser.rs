//! The sign-in pages in a real headless Chromium, driven over WebDriver by Debian's
//! chromedriver: a password sign-in, a passkey registered on the account page and a
//! discoverable passkey sign-in, with the browser's WebAuthn answered by chromedriver's virtual
//! authenticator. This runs the pages' own script (base64url conversions around
//! `navigator.credentials`) against the real endpoints.
//!
//! Needs Debian's `chromium chromium-driver fonts-noto-cjk` (packaging/deps.sh test); fails,
//! never skips, without them. Override the binaries with $CHROMIUM and $CHROMEDRIVER.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use serde_json::{Value, json};
use yizhan_accounts::{Accounts, AccountsConfig, DevLogSender, SignedIn, passkeys, router};
use yizhan_core::{FieldKey, NewPerson};
use yizhan_store::{Store, StoreConfig};

const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";
const WAIT: Duration = Duration::from_secs(30);
const HINT: &str = "install them with packaging/deps.sh test";
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
    "--disable-extensions",
    "--lang=zh-CN",
    "--remote-debugging-pipe",
];

fn path_of(var: &str, default: &str) -> PathBuf {
    std::env::var_os(var).map(PathBuf::from).unwrap_or_else(|| PathBuf::from(default))
}

/// chromedriver (in its own process group, with the Chromium it starts) and one session.
struct Browser {
    http: reqwest::blocking::Client,
    session: String,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Browser {
    fn start() -> Browser {
        use std::os::unix::process::CommandExt;
        let chromium = path_of("CHROMIUM", "/usr/bin/chromium");
        let driver = path_of("CHROMEDRIVER", "/usr/bin/chromedriver");
        assert!(chromium.is_file(), "no chromium at {}; {HINT}", chromium.display());
        assert!(driver.is_file(), "no chromedriver at {}; {HINT}", driver.display());
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(&driver)
            .arg("--port=0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.split("started successfully on port ").nth(1) {
                    let _ = tx.send(rest.trim().trim_end_matches('.').parse::<u16>().ok());
                }
            }
        });
        let port = rx.recv_timeout(Duration::from_secs(20)).ok().flatten().expect("chromedriver's port");
        let http =
            reqwest::blocking::Client::builder().timeout(Duration::from_secs(60)).no_proxy().build().unwrap();
        let mut args: Vec<String> = CHROMIUM_ARGS.iter().map(|s| s.to_string()).collect();
        args.push(format!("--user-data-dir={}", dir.path().join("profile").display()));
        args.push("--window-size=1280,800".into());
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "timeouts": {"implicit": 0, "pageLoad": 30_000, "script": 30_000},
            "goog:chromeOptions": {"binary": chromium.display().to_string(), "args": args},
        }}});
        let v: Value =
            http.post(format!("http://127.0.0.1:{port}/session")).json(&caps).send().unwrap().json().unwrap();
        let id = v["value"]["sessionId"].as_str().unwrap_or_else(|| panic!("no session: {v}; {HINT}"));
        Browser { http, session: format!("http://127.0.0.1:{port}/session/{id}"), child, _dir: dir }
    }

    fn cmd(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Result<Value, String> {
        let mut req = self.http.request(method, format!("{}{path}", self.session));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().map_err(|e| e.to_string())?;
        let ok = res.status().is_success();
        let v: Value = res.json().map_err(|e| e.to_string())?;
        if ok { Ok(v["value"].clone()) } else { Err(v["value"]["message"].to_string()) }
    }

    fn post(&self, path: &str, body: Value) -> Result<Value, String> {
        self.cmd(reqwest::Method::POST, path, Some(body))
    }

    fn goto(&self, url: &str) {
        self.post("/url", json!({"url": url})).unwrap();
    }

    fn url(&self) -> String {
        self.cmd(reqwest::Method::GET, "/url", None).unwrap().as_str().unwrap_or_default().to_string()
    }

    fn find(&self, css: &str) -> Result<String, String> {
        let v = self.post("/element", json!({"using": "css selector", "value": css}))?;
        Ok(v[ELEMENT_KEY].as_str().unwrap_or_default().to_string())
    }

    fn click(&self, css: &str) {
        let el = self.find(css).unwrap_or_else(|e| panic!("{css}: {e}\n{}", self.text()));
        self.post(&format!("/element/{el}/click"), json!({})).unwrap();
    }

    fn type_into(&self, css: &str, text: &str) {
        let el = self.find(css).unwrap();
        self.post(&format!("/element/{el}/value"), json!({"text": text})).unwrap();
    }

    fn text(&self) -> String {
        self.post(
            "/execute/sync",
            json!({"script": "return document.body ? document.body.innerText : ''", "args": []}),
        )
        .map(|v| v.as_str().unwrap_or_default().to_string())
        .unwrap_or_default()
    }

    fn wait_until(&self, what: &str, mut ok: impl FnMut(&Browser) -> bool) {
        let start = Instant::now();
        while !ok(self) {
            assert!(
                start.elapsed() < WAIT,
                "timed out waiting for {what}; at {}:\n{}",
                self.url(),
                self.text()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.http.delete(&self.session).timeout(Duration::from_secs(10)).send();
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A node serving the accounts router and one protected page, on `localhost` (a secure context
/// for WebAuthn without HTTPS).
fn serve(rt: &tokio::runtime::Runtime, dir: &std::path::Path) -> (String, Accounts) {
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let origin = format!("http://localhost:{}", listener.local_addr().unwrap().port());
        let store = Store::open(StoreConfig::new(dir)).unwrap();
        let accounts = Accounts::new(
            store,
            FieldKey::from_bytes(&[3u8; 32]).unwrap(),
            AccountsConfig::default(),
            Arc::new(DevLogSender),
            Some(passkeys("localhost", &origin, "驿站").unwrap()),
        )
        .unwrap();
        let officer = NewPerson {
            id: "li-01".into(),
            name: "李秀英".into(),
            role: "信息员".into(),
            region_code: "510131001001".into(),
            industries: vec!["fruit".into()],
            ..NewPerson::default()
        };
        accounts.create_person(&officer, Some("蒲江-猕猴桃-2026")).await.unwrap();
        let app = Router::new()
            .route("/home", get(|SignedIn(a): SignedIn| async move { format!("您好，{}", a.name) }))
            .merge(router())
            .merge(yizhan_web::assets::routes())
            .with_state(accounts.clone())
            .layer(axum::middleware::from_fn(yizhan_web::protect));
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (origin, accounts)
    })
}

#[test]
fn password_then_passkey_registration_then_passkey_sign_in_in_chromium() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (origin, accounts) = serve(&rt, dir.path());
    let b = Browser::start();
    // A platform authenticator with a fingerprint that always matches.
    b.post(
        "/webauthn/authenticator",
        json!({"protocol": "ctap2", "transport": "internal", "hasResidentKey": true,
               "hasUserVerification": true, "isUserVerified": true}),
    )
    .unwrap_or_else(|e| panic!("chromedriver's virtual authenticator: {e}"));

    // Not signed in: the page sends to the sign-in page, which comes back after the password.
    b.goto(&format!("{origin}/home"));
    b.wait_until("the sign-in page", |b| b.url().contains("/signin?next=%2Fhome"));
    b.type_into("form[action^='/signin/password?'] input[name=id]", "li-01");
    b.type_into("form[action^='/signin/password?'] input[name=password]", "蒲江-猕猴桃-2026");
    b.click("form[action^='/signin/password?'] button[type=submit]");
    b.wait_until("the protected page", |b| b.text().contains("您好，李秀英"));

    // Register this device's passkey on the account page.
    b.goto(&format!("{origin}/account"));
    b.click("#passkey-register");
    b.wait_until("the registration to finish", |b| b.text().contains("指纹/通行密钥已登记"));
    let summary = rt.block_on(accounts.credential_summary("li-01")).unwrap();
    assert_eq!(summary.passkeys, 1);

    // Sign out, then sign in with the passkey alone (no id typed: discoverable).
    b.click("form[action^='/signout?'] button");
    b.wait_until("the signed-out page", |b| b.text().contains("您已退出登录"));
    b.goto(&format!("{origin}/signin?next=/home"));
    b.click("label[for=tab-passkey]");
    b.click("#passkey-signin");
    b.wait_until("the passkey sign-in", |b| b.text().contains("您好，李秀英"));
    assert!(b.url().ends_with("/home"), "{}", b.url());

    // And by id (the server names the allowed credential).
    b.goto(&format!("{origin}/account"));
    b.click("form[action^='/signout?'] button");
    b.wait_until("the signed-out page", |b| b.text().contains("您已退出登录"));
    b.goto(&format!("{origin}/signin?next=/home"));
    b.click("label[for=tab-passkey]");
    b.type_into("#passkey-id", "li-01");
    b.click("#passkey-signin");
    b.wait_until("the passkey sign-in by id", |b| b.text().contains("您好，李秀英"));

    // An id without a passkey: the page says so in Chinese.
    b.goto(&format!("{origin}/account"));
    b.click("form[action^='/signout?'] button");
    b.wait_until("the signed-out page", |b| b.text().contains("您已退出登录"));
    b.click("label[for=tab-passkey]");
    b.type_into("#passkey-id", "nobody");
    b.click("#passkey-signin");
    b.wait_until("the refusal", |b| b.text().contains("尚未登记指纹或通行密钥"));
}
