//! The command line end to end, with real processes: the province CA and a county hub CA made
//! from the county's signing request (its key never leaves the county's directory), both hubs
//! running, a kiosk enrolled with a one-time code, its case reaching the province over
//! QUIC, and a revocation issued at the province refusing the kiosk at its next connection.
#![allow(clippy::unwrap_used)]

#[path = "support/process.rs"]
#[allow(dead_code)] // shared by the binary's end-to-end tests, each using part of it
mod process;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use process::{BIN, Proc};

fn run(args: &[&str]) -> (bool, String) {
    let out = Command::new(BIN).args(args).env("RUST_LOG", "warn").output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

fn spawn(args: &[&str]) -> Proc {
    Proc::spawn(args, "info")
}

/// `驿站 hub X (S) ready: http://A/  sync on B` → (A, B)
fn hub_addrs(line: &str) -> (String, String) {
    let http = line.split("http://").nth(1).unwrap().split('/').next().unwrap().to_string();
    let sync = line.split("sync on ").nth(1).unwrap().trim().to_string();
    (http, sync)
}

fn get_json(url: &str) -> serde_json::Value {
    reqwest::blocking::get(url).unwrap().json().unwrap()
}

fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("timed out waiting for: {what}");
}

fn post_case(kiosk: &str, subject: &str) -> String {
    let form = reqwest::blocking::multipart::Form::new()
        .text("industry", "pig")
        .text("subject", subject.to_string())
        .text("description", "不吃食，发烧")
        .text("region_code", "510131001001")
        .text("officer", "李信息员");
    let res = reqwest::blocking::Client::builder()
        .default_headers(yizhan_web::client_headers())
        .build()
        .unwrap()
        .post(format!("http://{kiosk}/api/cases"))
        .multipart(form)
        .send()
        .unwrap();
    assert_eq!(res.status().as_u16(), 201);
    res.json::<serde_json::Value>().unwrap()["id"].as_str().unwrap().to_string()
}

/// Starts the enrolled kiosk syncing with the county hub; returns it and its web address.
fn start_kiosk(data: &Path, county_sync: &str) -> (Proc, String) {
    let k = spawn(&[
        "kiosk",
        "--data-dir",
        p(data),
        "--listen",
        "127.0.0.1:0",
        "--hub",
        county_sync,
        "--hub-id",
        "hub-510131",
    ]);
    let line = k.wait_line("kiosk ready: http://");
    let addr = line.split("http://").nth(1).and_then(|rest| rest.split('/').next()).unwrap().to_string();
    (k, addr)
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn enrol_a_kiosk_with_a_code_sync_to_the_province_and_revoke_it() {
    let tmp = tempfile::tempdir().unwrap();
    let (prov, county, kiosk) =
        (tmp.path().join("province"), tmp.path().join("county"), tmp.path().join("kiosk"));

    let (ok, out) = run(&["ca-init", "--data-dir", p(&prov)]);
    assert!(ok, "{out}");
    // The county's CA key is made on the county's machine; only its signing request travels.
    let request = |dir: &Path, id: &str, scope: &str| {
        run(&["ca-request", "--data-dir", p(dir), "--node-id", id, "--scope", scope])
    };
    let (ok, out) = request(&county, "hub-510131", "510131");
    assert!(ok && out.contains("ca-sign"), "{out}");
    assert!(!request(&county, "hub-510131", "510131").0, "a pending request is not replaced");
    let csr = county.join("pki").join("ca-request.csr");
    let answer = tmp.path().join("answer");
    let (ok, out) = run(&["ca-sign", "--ca-dir", p(&prov), "--csr", p(&csr), "--out-dir", p(&answer)]);
    assert!(ok && out.contains("hub-510131"), "{out}");
    // An answer to another hub's request (another key) is refused and installs nothing.
    let other = tmp.path().join("other");
    assert!(request(&other, "hub-510104", "510104").0);
    let other_answer = tmp.path().join("other-answer");
    let other_csr = other.join("pki").join("ca-request.csr");
    assert!(run(&["ca-sign", "--ca-dir", p(&prov), "--csr", p(&other_csr), "--out-dir", p(&other_answer)]).0);
    let (ok, out) = run(&["ca-install", "--data-dir", p(&county), "--answer", p(&other_answer)]);
    assert!(!ok && out.contains("does not match"), "{out}");
    assert!(!county.join("pki").join("ca.key").exists());
    let (ok, out) = run(&["ca-install", "--data-dir", p(&county), "--answer", p(&answer)]);
    assert!(ok && out.contains("installed"), "{out}");
    assert!(!county.join("pki").join("ca-request.key").exists(), "the pending key became the CA key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(county.join("pki").join("ca.key")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // A second CA in the same place is refused, not overwritten.
    assert!(!run(&["ca-init", "--data-dir", p(&prov)]).0);
    assert!(!request(&county, "hub-510131", "510131").0, "a hub with a CA makes no new request");

    let province = spawn(&["hub", "--data-dir", p(&prov), "--http", "127.0.0.1:0", "--sync", "127.0.0.1:0"]);
    let (prov_http, prov_sync) = hub_addrs(&province.wait_line("ready: http://"));
    let county_hub = spawn(&[
        "hub",
        "--data-dir",
        p(&county),
        "--http",
        "127.0.0.1:0",
        "--sync",
        "127.0.0.1:0",
        "--parent",
        &prov_sync,
        "--parent-id",
        "province",
    ]);
    let (county_http, county_sync) = hub_addrs(&county_hub.wait_line("ready: http://"));

    // The county operator issues a one-time code; the kiosk enrols with it.
    let (ok, code) = run(&["enrol-code", "--data-dir", p(&county), "--scope", "510131001001"]);
    assert!(ok, "{code}");
    let code = code.trim().to_string();
    let hub_url = format!("http://{county_http}");
    let enrol = |c: &str| {
        run(&[
            "enrol",
            "--data-dir",
            p(&kiosk),
            "--hub-url",
            &hub_url,
            "--code",
            c,
            "--node-id",
            "kiosk-1",
            "--region",
            "510131001001",
        ])
    };
    let (ok, out) = enrol("ABCDE-FGHJK");
    assert!(!ok, "a wrong code must fail: {out}");
    // Another host guessing codes (from 127.0.0.2) locks out only itself.
    let prankster = reqwest::blocking::Client::builder()
        .default_headers(yizhan_web::client_headers())
        .local_address("127.0.0.2".parse().ok())
        .build()
        .unwrap();
    let guess = |c: &str| {
        prankster
            .post(format!("{hub_url}/api/enrol"))
            .json(&serde_json::json!({ "code": c, "csr_der_b64": "" }))
            .send()
            .unwrap()
    };
    for _ in 0..yizhan_identity::EnrolmentLimits::default().max_failed_attempts {
        assert_eq!(guess("ZZZZZ-ZZZZZ").status().as_u16(), 403);
    }
    let locked = guess(&code);
    assert_eq!(locked.status().as_u16(), 403);
    assert!(locked.text().unwrap().contains("locked"), "the right code is refused to the locked-out host");
    let (ok, out) = enrol(&code);
    assert!(ok, "the kiosk at another address still enrols: {out}");
    // Issue 14: enrolment records the county hub's address; the kiosk needs no --hub after it.
    assert!(out.contains("syncs with hub-510131"), "{out}");
    let (ok, out) = enrol(&code);
    assert!(!ok, "a used code must fail: {out}");

    // Issue 13: started with no flags at all (another --region even), the enrolled kiosk is
    // what its certificate says: it takes no new node id and no other scope.
    {
        let k = spawn(&["kiosk", "--data-dir", p(&kiosk), "--listen", "127.0.0.1:0", "--region", "510104"]);
        let line = k.wait_line("kiosk ready: http://");
        let addr = line.split("http://").nth(1).and_then(|rest| rest.split('/').next()).unwrap().to_string();
        let status = get_json(&format!("http://{addr}/api/status"));
        assert_eq!(
            (status["node_id"].as_str(), status["scope"].as_str()),
            (Some("kiosk-1"), Some("510131001001")),
            "{status}"
        );
    }
    assert!(
        !kiosk.join("node-id").exists()
            || std::fs::read_to_string(kiosk.join("node-id")).unwrap().trim() == "kiosk-1"
    );

    // The enrolled kiosk, started with no hub flags (enrolment recorded the hub), syncs through
    // the county to the province.
    let k = spawn(&["kiosk", "--data-dir", p(&kiosk), "--listen", "127.0.0.1:0"]);
    let line = k.wait_line("kiosk ready: http://");
    let kiosk_addr =
        line.split("http://").nth(1).and_then(|rest| rest.split('/').next()).unwrap().to_string();
    post_case(&kiosk_addr, "生猪-第一例");
    // The hubs' public status shows counts only (no case's content without sign-in).
    eventually("the case reaches the province", || {
        get_json(&format!("http://{prov_http}/api/hub"))["cases"].as_i64() == Some(1)
    });
    eventually("the kiosk shows everything synced", || {
        get_json(&format!("http://{kiosk_addr}/api/status"))["unsynced_docs"] == 0
    });

    // Issue 13, restarts without stalls. Killed (no goodbye) and started again, the kiosk takes
    // over its connection at once: the county closes the dead one (which would hold the kiosk's
    // partly sent blobs until QUIC's idle timeout) as soon as the new one is authorised.
    // (What the county said about earlier connections of this kiosk is not about this one.)
    while county_hub.lines.try_recv().is_ok() {}
    drop(k);
    let (k, _) = start_kiosk(&kiosk, &county_sync);
    county_hub.wait_line("the child reconnected");
    // Stopped with SIGTERM (systemd's stop), the kiosk closes its connection with a goodbye
    // that the county sees, and exits cleanly.
    let mut k = k;
    let term = Command::new("kill").args(["-TERM", &k.child.id().to_string()]).status().unwrap();
    assert!(term.success());
    county_hub.wait_line("shutting down");
    let stopped = Instant::now() + Duration::from_secs(30);
    let exit = loop {
        if let Some(status) = k.child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < stopped, "the kiosk did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(exit.success(), "a clean stop: {exit}");
    let (k, _) = start_kiosk(&kiosk, &county_sync);

    // The province revokes the kiosk; the list syncs down to the county, which refuses the
    // kiosk at its next connection.
    let (ok, out) = run(&["revoke", "--data-dir", p(&prov), "--node-id", "kiosk-1"]);
    assert!(ok, "{out}");
    county_hub.wait_line("revocation list");
    drop(k);
    let (_kiosk_process, kiosk_addr) = start_kiosk(&kiosk, &county_sync);
    post_case(&kiosk_addr, "生猪-第二例");
    eventually("the revoked kiosk is offline", || {
        get_json(&format!("http://{kiosk_addr}/api/status"))["sync"]["link"]["state"] == "offline"
    });
    std::thread::sleep(Duration::from_secs(1));
    let county_cases = get_json(&format!("http://{county_http}/api/hub"));
    assert_eq!(county_cases["cases"].as_i64(), Some(1), "a revoked kiosk's case arrived: {county_cases}");
    assert_eq!(get_json(&format!("http://{kiosk_addr}/api/status"))["unsynced_docs"], 1);
}
