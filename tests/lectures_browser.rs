#![allow(clippy::unwrap_used)]
//! 特派员讲堂 in a real headless Chromium: the real `yizhan demo` publishes its lectures at the
//! county hub (through the pipeline) and the first kiosk pre-fetches the kiwifruit lecture (its
//! county's industry); then every hub is stopped (the whole demo process ends) and the kiosk is
//! started alone on its data directory: with no link, the lecture's page shows 已缓存 and its
//! video plays from the kiosk's copy (the `<video>` element's readyState reaches
//! HAVE_CURRENT_DATA and its currentTime advances).
//!
//! Needs Debian's `chromium chromium-driver fonts-noto-cjk` (see packaging/deps.sh).

#[path = "support/process.rs"]
#[allow(dead_code)] // shared by the binary's end-to-end tests, each using part of it
mod process;
#[path = "support/webdriver.rs"]
#[allow(dead_code)] // shared with tests/browser.rs, which uses all of it
mod webdriver;

use std::time::{Duration, Instant};

use process::{Proc, free_ports};
use webdriver::Browser;

const WAIT: Duration = Duration::from_secs(120);
const KIOSK: &str = "kiosk-510131001001";

fn url_in(line: &str) -> Option<String> {
    line.split("http://").nth(1).map(|r| format!("http://{}", r.trim().trim_end_matches('/')))
}

fn get(url: &str) -> String {
    reqwest::blocking::get(url).ok().and_then(|r| r.text().ok()).unwrap_or_default()
}

/// The href of the lecture titled `title` on a list page.
fn lecture_href(list: &str, title: &str) -> Option<String> {
    let at = list.find(title)?;
    Some(list[..at].rsplit("href=\"").next()?.split('"').next()?.to_string())
}

#[test]
fn a_prefetched_lecture_plays_at_the_kiosk_with_every_hub_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_ports(4);
    let demo = Proc::spawn_in(&["demo", "--port", &port.to_string()], Some(dir.path()), "warn");
    let started = Instant::now();
    let mut kiosk = None;
    while kiosk.is_none() {
        assert!(started.elapsed() < WAIT, "the demo never started");
        let Ok(line) = demo.lines.recv_timeout(Duration::from_millis(200)) else { continue };
        if line.contains(&format!("kiosk {KIOSK}")) {
            kiosk = url_in(&line);
        }
    }
    let kiosk = kiosk.unwrap();
    // Pre-fetched while the link is up.
    let deadline = Instant::now() + WAIT;
    let href = loop {
        let list = get(&format!("{kiosk}/lectures"));
        if let Some(href) = lecture_href(&list, "猕猴桃溃疡病冬季防控")
            && get(&format!("{kiosk}{href}")).contains("已缓存")
        {
            break href;
        }
        assert!(Instant::now() < deadline, "the lecture was never pre-fetched: {list}");
        std::thread::sleep(Duration::from_millis(500));
    };
    // Every hub stopped: the demo process ends; the kiosk starts alone on its data directory.
    drop(demo);
    let listen = format!("127.0.0.1:{}", free_ports(1));
    let alone = Proc::spawn_in(&["kiosk", "--listen", &listen], Some(&dir.path().join(KIOSK)), "warn");
    let started = Instant::now();
    let mut url = None;
    while url.is_none() {
        assert!(started.elapsed() < WAIT, "the kiosk never started alone");
        let Ok(line) = alone.lines.recv_timeout(Duration::from_millis(200)) else { continue };
        if line.contains("kiosk ready") {
            url = url_in(&line)
                .map(|u| u.split_whitespace().next().unwrap_or_default().trim_end_matches('/').to_string());
        }
    }
    let url = url.unwrap();
    let b = Browser::start(1280, 800);
    b.goto(&format!("{url}{href}")).unwrap();
    let page = b.source().unwrap();
    assert!(page.contains("已缓存") && !page.contains("需联网观看"), "{page}");
    b.find("[data-testid=video-player]").unwrap_or_else(|e| panic!("no player: {e}\n{}", b.diagnostics()));
    b.execute(
        "const v = document.querySelector('video'); v.muted = true; v.play().catch(e => { window.playError = String(e); });",
        vec![],
    )
    .unwrap();
    b.wait_for("the video has data", WAIT, |b| {
        let state = b.execute("return document.querySelector('video').readyState", vec![])?;
        Ok((state.as_i64().unwrap_or(0) >= 2).then_some(()))
    });
    let t0 = b.execute("return document.querySelector('video').currentTime", vec![]).unwrap();
    let t0 = t0.as_f64().unwrap_or(0.0);
    b.wait_for("the video plays (currentTime advances)", WAIT, |b| {
        let t = b.execute("return document.querySelector('video').currentTime", vec![])?;
        let err = b.execute("return window.playError || ''", vec![])?;
        assert_eq!(err, serde_json::json!(""), "play() failed");
        Ok((t.as_f64().unwrap_or(0.0) > t0 + 0.3).then_some(()))
    });
}
