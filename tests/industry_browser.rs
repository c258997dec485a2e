#![allow(clippy::unwrap_used)]
//! 产业信息 in a real headless Chromium against the real `yizhan demo` (a province hub, a county
//! hub and two kiosks on loopback, syncing over QUIC with mutual TLS): a county centre's staff
//! member uploads an industry record with a photo on the desk's form and submits it; a second
//! person reviews it and a third signs it off (the uploader is not offered the sign-off); after
//! sync it shows at a kiosk, without sign-in, with its fields, photo, IP owner and 相关信息;
//! its PDF link downloads a PDF there naming the IP owner (checked with qpdf and pdftotext when
//! installed); the kiosk's list fits a 390 px phone.
//!
//! Needs Debian's `chromium chromium-driver fonts-noto-cjk` (see packaging/deps.sh).

#[path = "support/process.rs"]
#[allow(dead_code)] // shared by the binary's end-to-end tests, each using part of it
mod process;
#[path = "support/webdriver.rs"]
#[allow(dead_code)] // shared with tests/browser.rs, which uses all of it
mod webdriver;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use process::{Proc, free_ports};
use webdriver::{Browser, WdResult};

const PASSWORD: &str = "yizhan2026";
const VIEWPORT: (u32, u32) = (1280, 800);
/// Bound on every wait for a page or a sync to reach a state.
const WAIT: Duration = Duration::from_secs(90);

/// Starts the demo; returns it with the first kiosk's and the county hub's URLs.
fn start_demo(dir: &Path) -> (Proc, String, String) {
    let port = free_ports(4);
    let demo = Proc::spawn_in(&["demo", "--port", &port.to_string()], Some(dir), "warn");
    let url_in = |line: &str| {
        line.split("http://").nth(1).map(|r| format!("http://{}", r.trim().trim_end_matches('/')))
    };
    let (mut kiosk, mut county) = (None, None);
    let mut seen = Vec::new();
    let started = Instant::now();
    while kiosk.is_none() || county.is_none() {
        assert!(started.elapsed() < WAIT, "the demo never started:\n{}", seen.join("\n"));
        let Ok(line) = demo.lines.recv_timeout(Duration::from_millis(200)) else { continue };
        if line.contains("kiosk kiosk-510131001001") {
            kiosk = url_in(&line);
        }
        if line.contains("county hub") {
            county = url_in(&line);
        }
        seen.push(line);
    }
    (demo, kiosk.unwrap(), county.unwrap())
}

fn screenshot_dir() -> PathBuf {
    let bin = Path::new(env!("CARGO_BIN_EXE_yizhan"));
    let target = bin.parent().and_then(Path::parent).unwrap_or(Path::new("target"));
    let dir = target.join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn shot(b: &Browser, name: &str) {
    b.execute("window.scrollTo(0, 0)", vec![]).unwrap();
    if let Ok(png) = b.screenshot_full_page().or_else(|_| b.screenshot()) {
        std::fs::write(screenshot_dir().join(format!("{name}.png")), png).unwrap();
    }
}

fn set_text(b: &Browser, css: &str, text: &str) -> WdResult<()> {
    let el = b.find(css)?;
    b.clear(&el)?;
    b.send_keys(&el, text)
}

fn text_of(b: &Browser, css: &str) -> String {
    b.find(css).and_then(|e| b.text(&e)).unwrap_or_default()
}

/// Signs in on the hub at `base` with the password form and lands on `next`.
fn sign_in(b: &Browser, base: &str, id: &str, next: &str) {
    b.goto(&format!("{base}/signin?next={next}")).unwrap();
    (|| -> WdResult<()> {
        set_text(b, "form[action^='/signin/password?'] input[name=id]", id)?;
        set_text(b, "form[action^='/signin/password?'] input[name=password]", PASSWORD)?;
        b.click(&b.find("form[action^='/signin/password?'] button[type=submit]")?)
    })()
    .unwrap_or_else(|e| panic!("signing in {id}: {e}\n{}", b.diagnostics()));
    b.wait_for(&format!("{id} signed in"), WAIT, |b| {
        Ok(b.current_url()?.starts_with(&format!("{base}{next}")).then_some(()))
    });
}

fn sign_out(b: &Browser) {
    b.click(&b.find("form[action^='/signout?'] button").unwrap()).unwrap();
    b.wait_for("signed out", WAIT, |b| Ok(b.current_url()?.contains("/signin").then_some(())));
}

/// Clicks the step button `code` on the item page and waits for the stage `stage`.
fn take_step(b: &Browser, code: &str, stage: &str) {
    b.click(
        &b.find(&format!("[data-testid=step-{code}]"))
            .unwrap_or_else(|e| panic!("no {code} button: {e}\n{}", b.diagnostics())),
    )
    .unwrap();
    b.wait_for(&format!("stage {stage}"), WAIT, |b| {
        let now = b.execute(
            "const s = document.querySelector('[data-testid=stage]'); return s ? s.dataset.stage : ''",
            vec![],
        )?;
        Ok((now == serde_json::json!(stage)).then_some(()))
    });
}

/// The text of an (encrypted, openable) PDF, whitespace removed: decrypted by `qpdf` and read by
/// `pdftotext`; `None` when either is not installed.
fn pdf_text(pdf: &[u8]) -> Option<String> {
    let dir = tempfile::tempdir().unwrap();
    let (file, plain) = (dir.path().join("item.pdf"), dir.path().join("plain.pdf"));
    std::fs::write(&file, pdf).unwrap();
    let run = |program: &str, args: &[&std::ffi::OsStr]| -> Option<String> {
        let out = std::process::Command::new(program).args(args).output().ok()?;
        assert!(out.status.success(), "{program}: {}", String::from_utf8_lossy(&out.stderr));
        Some(String::from_utf8_lossy(&out.stdout).into_owned())
    };
    run("qpdf", &["--decrypt".as_ref(), file.as_os_str(), plain.as_os_str()])?;
    let text = run("pdftotext", &["-raw".as_ref(), plain.as_os_str(), "-".as_ref()])?;
    Some(text.split_whitespace().collect())
}

#[test]
fn a_centre_uploads_an_industry_record_a_second_person_signs_it_off_and_a_kiosk_shows_it() {
    let dir = tempfile::tempdir().unwrap();
    let (_demo, kiosk, county) = start_demo(dir.path());
    let b = Browser::start(VIEWPORT.0, VIEWPORT.1);
    let title = format!("蒲江县西来镇晚熟柑橘示范园建设（{}）", std::process::id());
    let photo = tempfile::Builder::new().suffix(".jpg").tempfile().unwrap();
    image::RgbImage::from_fn(640, 480, |x, y| image::Rgb([(200 + x / 20) as u8, (120 + y / 8) as u8, 30]))
        .save_with_format(photo.path(), image::ImageFormat::Jpeg)
        .unwrap();

    // 1. The county centre's staff member uploads one record on the desk's form, with a photo.
    sign_in(&b, &county, "staff", "/desk");
    b.goto(&format!("{county}/desk/industry/import")).unwrap();
    assert!(b.source().unwrap().contains("下载模板"), "the bulk upload is offered too");
    b.click(&b.find("a[href='/desk/items/new?kind=industry.local']").unwrap()).unwrap();
    (|| -> WdResult<()> {
        set_text(&b, "input[name=title]", &title)?;
        set_text(&b, "input[name='f.database']", "产业现状")?;
        set_text(&b, "input[name='f.region']", "510131104")?;
        set_text(&b, "input[name='f.industry']", "川果")?;
        set_text(&b, "input[name='f.crops']", "柑橘、不知火")?;
        set_text(&b, "input[name='f.institutions']", "四川省农业科学院园艺研究所")?;
        set_text(&b, "input[name='f.source']", "蒲江县统计局")?;
        set_text(&b, "input[name='f.date']", "2026-05-20")?;
        set_text(
            &b,
            "textarea[name=body]",
            "西来镇新建晚熟柑橘示范园500亩，四川省农业科学院园艺研究所提供完熟栽培技术，配套避雨设施和分选冷链。",
        )?;
        set_text(&b, "input[name=ip_owner]", "蒲江县农业农村局")?;
        b.click(&b.find("[data-testid=item-form] button[type=submit]")?)
    })()
    .unwrap_or_else(|e| panic!("filling the form: {e}\n{}", b.diagnostics()));
    let item_url = b.wait_for("the draft's page", WAIT, |b| {
        let url = b.current_url()?;
        Ok((url.contains("/desk/items/item-")).then_some(url))
    });
    b.send_keys(
        &b.find("[data-testid=photos-form] input[name=photos]").unwrap(),
        &photo.path().display().to_string(),
    )
    .unwrap();
    b.click(&b.find("[data-testid=photos-form] button[type=submit]").unwrap()).unwrap();
    b.wait_for("the photo", WAIT, |b| Ok(b.find("[data-testid=item-photos] img").ok()));
    take_step(&b, "submit", "checked");
    shot(&b, "industry-desk-submitted");
    sign_out(&b);

    // 2. A second person reviews it; a third signs it off (the uploader may not).
    sign_in(&b, &county, "reviewer", "/desk");
    b.goto(&item_url).unwrap();
    take_step(&b, "review", "reviewed");
    sign_out(&b);
    sign_in(&b, &county, "staff", "/desk");
    b.goto(&item_url).unwrap();
    assert!(b.find("[data-testid=step-sign_off]").is_err(), "the uploader is not offered the sign-off");
    sign_out(&b);
    sign_in(&b, &county, "admin", "/desk");
    b.goto(&item_url).unwrap();
    take_step(&b, "sign_off", "published");
    shot(&b, "industry-desk-published");
    sign_out(&b);

    // 3. After sync it shows at the kiosk, without sign-in, with its IP owner and 相关信息.
    let deadline = Instant::now() + WAIT;
    loop {
        b.goto(&format!("{kiosk}/industry?q=西来镇")).unwrap();
        if b.source().unwrap().contains(&title) {
            break;
        }
        assert!(Instant::now() < deadline, "the record never reached the kiosk:\n{}", b.diagnostics());
        std::thread::sleep(Duration::from_millis(500));
    }
    shot(&b, "industry-kiosk-list");
    b.click(&b.find("[data-testid=industry-list] li a").unwrap()).unwrap();
    b.wait_for("the record's page", WAIT, |b| Ok(b.find("[data-testid=industry-record]").ok()));
    assert_eq!(text_of(&b, "[data-testid=ip-owner]"), "蒲江县农业农村局");
    let record = text_of(&b, "[data-testid=industry-record]");
    for text in
        [title.as_str(), "成都市 蒲江县 西来镇", "川果", "产业现状", "签发：蒲江县管理员", "审核：李审核"]
    {
        assert!(record.contains(text), "{text}: {record}");
    }
    // The photo arrives after the document (blobs follow documents): wait until it loads.
    b.wait_for("the photo at the kiosk", WAIT, |b| {
        let loaded = b.execute(
            "const i = document.querySelector('[data-testid=industry-photos] img'); return !!i && i.complete && i.naturalWidth > 0",
            vec![],
        )?;
        if loaded != serde_json::json!(true) {
            b.goto(&b.current_url()?)?;
        }
        Ok((loaded == serde_json::json!(true)).then_some(()))
    });
    let related = text_of(&b, "[data-testid=related]");
    assert!(
        related.contains("相关信息") && (related.contains("柑橘") || related.contains("园艺研究所")),
        "{related}"
    );
    shot(&b, "industry-kiosk-record");

    // Its PDF downloads at the kiosk: the link the page shows, fetched like the browser would
    // (the kiosk's public pages need no cookie).
    let href = b
        .execute("return document.querySelector('[data-testid=public-pdf]').href", vec![])
        .unwrap_or_else(|e| panic!("no PDF link: {e}\n{}", b.diagnostics()));
    let href = href.as_str().unwrap().to_string();
    assert!(href.starts_with(&kiosk), "{href}");
    let res = reqwest::blocking::Client::builder().no_proxy().build().unwrap().get(&href).send().unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::OK, "{href}");
    assert_eq!(res.headers()[reqwest::header::CONTENT_TYPE], "application/pdf");
    let pdf = res.bytes().unwrap();
    assert!(pdf.starts_with(b"%PDF"), "not a PDF: {:?}", &pdf[..pdf.len().min(16)]);
    if let Some(text) = pdf_text(&pdf) {
        assert!(text.contains("知识产权归属：蒲江县农业农村局"), "the IP owner is not in the PDF:\n{text}");
    } else {
        eprintln!("qpdf or pdftotext missing: the PDF's text is not checked");
    }

    // The kiosk's list on a 390 px phone: nothing wider than the screen.
    let phone = Browser::start(390, 844);
    phone.goto(&format!("{kiosk}/industry")).unwrap();
    let width = phone.execute("return document.documentElement.scrollWidth", vec![]).unwrap();
    assert!(width.as_u64().unwrap() <= 390, "the list overflows a phone: {width}");
    shot(&phone, "industry-kiosk-phone");
}
