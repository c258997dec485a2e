#![allow(clippy::unwrap_used)]
//! The full service loop in a real headless Chromium against the real `yizhan demo` (a
//! province hub, a county hub and two kiosks on loopback, syncing over QUIC with mutual TLS):
//! an officer records a case on a kiosk and sends it to the experts; county staff assign an
//! expert at the hub; the expert answers; the answer reaches the kiosk, where the officer
//! closes the service and rates the expert; the county records its follow-up call.
//!
//! Needs Debian's `chromium chromium-driver fonts-noto-cjk` (see packaging/deps.sh).

#[path = "support/process.rs"]
#[allow(dead_code)] // shared by the binary's end-to-end tests, each using part of it
mod process;
#[path = "support/webdriver.rs"]
#[allow(dead_code)] // shared with tests/browser.rs, which uses all of it
mod webdriver;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use webdriver::{Browser, WdResult};

const PASSWORD: &str = "yizhan2026";
const VIEWPORT: (u32, u32) = (1280, 800);
/// Bound on every wait for a page or a sync to reach a state.
const WAIT: Duration = Duration::from_secs(60);

struct Demo {
    child: Child,
    kiosk: String,
    /// The other village's kiosk.
    kiosk_b: String,
    county: String,
    _data: tempfile::TempDir,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_demo() -> Demo {
    let data = tempfile::Builder::new().prefix("yizhan-demo-").tempdir().unwrap();
    let port = process::free_ports(4);
    let mut child = Command::new(env!("CARGO_BIN_EXE_yizhan"))
        .args(["demo", "--port", &port.to_string(), "--data-dir"])
        .arg(data.path())
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel::<String>();
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
    let url_in = |line: &str| {
        line.split("http://").nth(1).map(|r| format!("http://{}", r.trim().trim_end_matches('/')))
    };
    let (mut kiosk, mut kiosk_b, mut county) = (None, None, None);
    let deadline = Instant::now() + WAIT;
    let mut seen = Vec::new();
    while (kiosk.is_none() || kiosk_b.is_none() || county.is_none()) && Instant::now() < deadline {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
            if line.contains("kiosk kiosk-510131001001") && kiosk.is_none() {
                kiosk = url_in(&line);
            }
            if line.contains("kiosk kiosk-510131002001") && kiosk_b.is_none() {
                kiosk_b = url_in(&line);
            }
            if line.contains("county hub") {
                county = url_in(&line);
            }
            seen.push(line);
        }
    }
    let (Some(kiosk), Some(kiosk_b), Some(county)) = (kiosk, kiosk_b, county) else {
        panic!("the demo did not print its addresses; output:\n{}", seen.join("\n"));
    };
    std::thread::spawn(move || while rx.recv().is_ok() {});
    Demo { child, kiosk, kiosk_b, county, _data: data }
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

fn choose(b: &Browser, select_css: &str, value: &str) -> WdResult<()> {
    b.click(&b.find(&format!("{select_css} option[value=\"{value}\"]"))?)
}

/// Signs in on the node at `base` and lands on `next`. Retries while the account has not
/// reached that node yet (officers' accounts sync down from the county hub).
fn sign_in(b: &Browser, base: &str, id: &str, next: &str) {
    let deadline = Instant::now() + WAIT;
    loop {
        b.goto(&format!("{base}/signin?next={next}")).unwrap();
        let ok = (|| -> WdResult<()> {
            set_text(b, "form[action^='/signin/password?'] input[name=id]", id)?;
            set_text(b, "form[action^='/signin/password?'] input[name=password]", PASSWORD)?;
            b.click(&b.find("form[action^='/signin/password?'] button[type=submit]")?)
        })();
        ok.unwrap_or_else(|e| panic!("signing in {id}: {e}\n{}", b.diagnostics()));
        let landed = Instant::now() + Duration::from_secs(10);
        while Instant::now() < landed {
            if b.current_url().unwrap().starts_with(&format!("{base}{next}")) {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        assert!(
            Instant::now() < deadline,
            "{id} could not sign in at {base}; page:\n{}",
            b.source().unwrap()
        );
        std::thread::sleep(Duration::from_millis(1000));
    }
}

/// Signs out with the header's button and waits for the sign-in page.
fn sign_out(b: &Browser) {
    b.click(&b.find("form[action^='/signout?'] button").unwrap()).unwrap();
    b.wait_for("signed out", WAIT, |b| Ok(b.current_url()?.contains("/signin").then_some(())));
}

fn text_of(b: &Browser, css: &str) -> String {
    b.find(css).and_then(|e| b.text(&e)).unwrap_or_default()
}

/// Reloads `url` until `script` returns true in the page (sync in the background brings it);
/// "wait" from the script means look again without reloading (a video still loading).
fn reload_until_true(b: &Browser, url: &str, what: &str, script: &str) {
    let deadline = Instant::now() + WAIT;
    b.goto(url).unwrap();
    loop {
        let answer = b.execute(script, vec![]).unwrap();
        if answer == serde_json::json!(true) {
            return;
        }
        assert!(Instant::now() < deadline, "never: {what}");
        std::thread::sleep(Duration::from_millis(500));
        if answer != serde_json::json!("wait") {
            b.goto(url).unwrap();
        }
    }
}

/// Reloads `url` until `css` shows `want` (sync in the background brings it).
fn reload_until(b: &Browser, url: &str, css: &str, want: &str) {
    let deadline = Instant::now() + WAIT;
    loop {
        b.goto(url).unwrap();
        if text_of(b, css).contains(want) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{url}: {css} never showed {want:?}; page:\n{}",
            b.source().unwrap()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn a_case_goes_from_the_kiosk_to_an_expert_and_back_and_is_followed_up() {
    let demo = start_demo();
    let b = Browser::start(VIEWPORT.0, VIEWPORT.1);
    let (kiosk, county) = (demo.kiosk.clone(), demo.county.clone());

    // 1. The officer signs in at the kiosk and records a case for the experts, with a photo.
    let leaf = tempfile::Builder::new().suffix(".jpg").tempfile().unwrap();
    image::RgbImage::from_fn(800, 600, |x, y| {
        let spot = ((x as i32 - 300).pow(2) + (y as i32 - 250).pow(2)) < 90 * 90;
        if spot { image::Rgb([120, 80, 30]) } else { image::Rgb([40, (100 + y / 6) as u8, 50]) }
    })
    .save_with_format(leaf.path(), image::ImageFormat::Jpeg)
    .unwrap();
    sign_in(&b, &kiosk, "officer-1", "/cases/new");
    let filled = (|| -> WdResult<()> {
        choose(&b, "select[name=industry]", "fruit")?;
        set_text(&b, "input[name=subject]", "柑橘")?;
        set_text(
            &b,
            "textarea[name=description]",
            "柑橘叶片和果实上有木栓化的褐色病斑，周围有黄晕，疑似溃疡病。",
        )?;
        set_text(&b, "input[name=village_name]", "光明村")?;
        set_text(&b, "input[name=farmer_name]", "何大姐")?;
        set_text(&b, "input[name=farmer_phone]", "13812345678")?;
        b.send_keys(&b.find("input[name=photos]")?, &leaf.path().display().to_string())?;
        b.click(&b.find("button[name=intent][value=escalate]")?)
    })();
    filled.unwrap_or_else(|e| panic!("recording the case: {e}\n{}", b.diagnostics()));
    let case_url = b.wait_for("the case page", WAIT, |b| {
        let url = b.current_url()?;
        Ok((url.starts_with(&format!("{kiosk}/cases/")) && !url.ends_with("/new")).then_some(url))
    });
    let case_id = case_url.rsplit('/').next().unwrap().split(['?', '#']).next().unwrap().to_string();
    assert_eq!(text_of(&b, "[data-testid=status]"), "待分诊");
    // Recorded under the signed-in officer's name (not a typed one, not her account id).
    let page = b.source().unwrap();
    assert!(
        page.contains("刘信息员") && !page.contains(">officer-1<"),
        "the officer's name on the case page"
    );

    // 2. County staff see it in the triage queue and assign the suggested fruit expert.
    let desk_case = format!("/desk/cases/{case_id}");
    sign_in(&b, &county, "staff", "/desk");
    reload_until(&b, &format!("{county}/desk"), "[data-testid=triage-queue]", "柑橘");
    shot(&b, "desk-queue");
    b.goto(&format!("{county}{desk_case}")).unwrap();
    let first = b.find("[data-testid=suggestions] li").unwrap();
    assert!(
        b.text(&first).unwrap().contains("李果"),
        "the fruit expert is suggested first: {}",
        b.text(&first).unwrap()
    );
    assert!(b.text(&first).unwrap().contains("本县专家"));
    shot(&b, "desk-case-triage");
    b.click(&b.find("button[data-expert=expert-fruit]").unwrap()).unwrap();
    b.wait_for("the assignment", WAIT, |b| {
        Ok((text_of(b, "[data-testid=status]") == "待专家答复").then_some(()))
    });
    assert!(text_of(&b, "[data-testid=expert]").contains("李果"));
    // A second staff click cannot assign the same expert twice (she is not offered again).
    assert!(b.find("button[data-expert=expert-fruit]").is_err(), "the assigned expert is offered again");

    // 3. The expert signs in, finds it in her work list and answers.
    sign_out(&b);
    sign_in(&b, &county, "expert-fruit", "/desk");
    assert!(text_of(&b, "[data-testid=worklist]").contains("柑橘"), "the expert's work list");
    b.goto(&format!("{county}{desk_case}")).unwrap();
    set_text(
        &b,
        "[data-testid=answer-text]",
        "这是柑橘溃疡病。剪除病枝病叶集中烧毁，发病初期喷施氢氧化铜或春雷霉素，7-10 天一次，连喷 2-3 次。",
    )
    .unwrap();
    let photo = tempfile::Builder::new().suffix(".jpg").tempfile().unwrap();
    image::RgbImage::from_fn(640, 480, |x, y| image::Rgb([(x / 3) as u8, 120, (y / 2) as u8]))
        .save_with_format(photo.path(), image::ImageFormat::Jpeg)
        .unwrap();
    b.send_keys(&b.find("[data-testid=answer-photos]").unwrap(), &photo.path().display().to_string())
        .unwrap();
    // And a video showing how to spray; the hub makes its poster and 480p proxy.
    let video = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("media/tests/fixtures/landscape_960x540_h264_aac.mp4");
    b.send_keys(&b.find("[data-testid=answer-video]").unwrap(), &video.display().to_string()).unwrap();
    b.click(&b.find("[data-testid=answer-submit]").unwrap()).unwrap();
    b.wait_for(
        "the answer",
        WAIT,
        |b| Ok((text_of(b, "[data-testid=status]") == "专家已答复").then_some(())),
    );
    // The page follows the transcoding and reloads itself when the proxy is ready.
    b.wait_for("the answer's video player at the hub", WAIT, |b| {
        Ok(b.find("[data-testid=answer-video] video").is_ok().then_some(()))
    });
    shot(&b, "desk-case-answered");

    // 4. The answer syncs down; the officer (still signed in at the kiosk) closes and rates.
    reload_until(&b, &case_url, "[data-testid=answers]", "氢氧化铜");
    // The expert's photo reaches the kiosk too (blob sync after the documents).
    reload_until_true(
        &b,
        &case_url,
        "the answer's photo loaded at the kiosk",
        "const i = document.querySelector('[data-testid=answer-photos] img'); return !!i && i.complete && i.naturalWidth > 0;",
    );
    assert!(text_of(&b, "[data-testid=expert]").contains("李果"), "the kiosk names the expert");
    // The answer's video follows (proxy and poster before originals) and plays at the kiosk.
    reload_until_true(
        &b,
        &case_url,
        "the answer's video playable at the kiosk",
        "const v = document.querySelector('[data-testid=answer-video] video'); if (!v) return false; \
         return v.readyState < 1 ? 'wait' : v.duration > 2.5;",
    );
    shot(&b, "kiosk-answer");
    b.click(&b.find("form input[name=kind][value=closed] ~ button").unwrap()).unwrap();
    b.wait_for("the closure", WAIT, |b| Ok((text_of(b, "[data-testid=status]") == "已办结").then_some(())));
    choose(&b, "form.rate select[name=value]", "5").unwrap();
    set_text(&b, "form.rate textarea[name=text]", "答复及时，用药后病斑不再扩展。").unwrap();
    b.click(&b.find("form.rate button[type=submit]").unwrap()).unwrap();
    // (The form's own options read "5 星" too: wait for the recorded rating.)
    b.wait_for("the rating", WAIT, |b| Ok((text_of(b, "[data-testid=rating]") == "5 星").then_some(())));
    assert!(b.find("form.rate").is_err(), "rated once: the form is gone");

    // 5. Back at the county, staff record the follow-up call once the closure has arrived.
    b.goto(&format!("{county}/desk")).unwrap();
    sign_out(&b);
    sign_in(&b, &county, "staff", "/desk");
    reload_until(&b, &format!("{county}{desk_case}"), "[data-testid=status]", "已办结");
    // The county centre sees the farmer's number in clear to phone her (sealed to its key).
    reload_until(&b, &format!("{county}{desk_case}"), "[data-testid=phone]", "13812345678");
    assert!(text_of(&b, "[data-testid=rating]").contains('5'), "the rating reached the county");
    choose(&b, "[data-testid=followup-form] select[name=category]", "病虫害防治").unwrap();
    set_text(&b, "[data-testid=followup-form] input[name=text]", "农户反映效果好").unwrap();
    b.click(&b.find("[data-testid=followup-submit]").unwrap()).unwrap();
    b.wait_for("the follow-up", WAIT, |b| Ok((text_of(b, "[data-testid=status]") == "已回访").then_some(())));
    let timeline = text_of(&b, "[data-testid=timeline]");
    for step in ["登记", "提交专家", "分派专家", "专家答复", "办结", "评价专家", "回访"]
    {
        assert!(timeline.contains(step), "the timeline shows {step}: {timeline}");
    }
    assert!(timeline.contains("有效 · 病虫害防治"), "{timeline}");
    shot(&b, "desk-case-followed-up");

    // 6. The centre signs off its publication as knowledge; only then does it reach the other
    //    village's kiosk for find-similar, without the farmer's name or number.
    let similar_url = format!(
        "{}/api/similar?q=%E6%9F%91%E6%A9%98%E6%BA%83%E7%96%A1%E7%97%85&industry=fruit",
        demo.kiosk_b
    );
    let http = reqwest::blocking::Client::builder()
        .default_headers(yizhan_web::client_headers())
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let kb_id = format!("kb-{case_id}");
    let published = |http: &reqwest::blocking::Client| -> Option<serde_json::Value> {
        let hits: serde_json::Value = http.get(&similar_url).send().ok()?.json().ok()?;
        hits.as_array()?.iter().find(|h| h["id"] == kb_id.as_str()).cloned()
    };
    std::thread::sleep(Duration::from_secs(2));
    assert!(published(&http).is_none(), "nothing is published before the sign-off");
    b.click(&b.find("[data-testid=knowledge-approve]").unwrap()).unwrap();
    b.wait_for("the sign-off", WAIT, |b| {
        Ok(text_of(b, "[data-testid=timeline]").contains("审核发布为知识").then_some(()))
    });
    let deadline = Instant::now() + WAIT;
    let hit = loop {
        if let Some(hit) = published(&http) {
            break hit;
        }
        assert!(Instant::now() < deadline, "the approved knowledge never reached the other kiosk");
        std::thread::sleep(Duration::from_millis(500));
    };
    let text = hit.to_string();
    assert!(text.contains("氢氧化铜"), "{text}");
    assert!(!text.contains("何大姐") && !text.contains("13812345678"), "no personal data: {text}");
    // It names who owns the answer and that the county signed it off, on the officer's form too.
    assert_eq!((hit["owner"].as_str(), hit["reviewed"].as_bool()), (Some("李果 · 高级农艺师"), Some(true)));
    b.goto(&format!("{}/cases/new", demo.kiosk_b)).unwrap();
    set_text(&b, "input[name=subject]", "柑橘溃疡病").unwrap();
    b.wait_for("find-similar at kiosk B", WAIT, |b| {
        Ok(text_of(b, "[data-testid=similar]")
            .contains("知识产权：李果 · 高级农艺师 · 经县运管中心审核发布")
            .then_some(()))
    });
    shot(&b, "kiosk-b-similar");
    // The farmer's photo was hashed at publication: the same photo finds it at kiosk B.
    let form = reqwest::blocking::multipart::Form::new().text("q", "叶子").part(
        "photos",
        reqwest::blocking::multipart::Part::bytes(std::fs::read(leaf.path()).unwrap()).file_name("leaf.jpg"),
    );
    let hits: serde_json::Value =
        http.post(format!("{}/api/similar", demo.kiosk_b)).multipart(form).send().unwrap().json().unwrap();
    let hit = hits.as_array().unwrap().iter().find(|h| h["id"] == kb_id.as_str());
    assert_eq!(hit.map(|h| h["photo_match"].clone()), Some(serde_json::json!(true)), "{hits}");

    // The follow-up travels back to the kiosk too.
    reload_until(&b, &case_url, "[data-testid=status]", "已回访");

    // The county's administrator sees in the audit trail that staff saw the number in clear.
    b.goto(&format!("{county}/desk")).unwrap();
    sign_out(&b);
    sign_in(&b, &county, "admin", "/desk/audit");
    let audit = text_of(&b, "[data-testid=audit]");
    assert!(audit.contains("查看农户完整号码") && audit.contains(&case_id), "{audit}");
    assert_eq!(audit.matches("查看农户完整号码").count(), 1, "reloads within minutes are one look: {audit}");
    shot(&b, "desk-audit");
}

/// What overflows a phone's width on the current page: the page's own scroll width against the
/// viewport, and the elements (tag, class, right edge) that stick out; touch targets lower
/// than 44 px. Empty when the page fits.
const PHONE_CHECK: &str = r#"
const w = window.innerWidth, out = [];
if (document.documentElement.scrollWidth > w) out.push('page scrollWidth ' + document.documentElement.scrollWidth + ' > ' + w);
for (const el of document.querySelectorAll('body *')) {
  const r = el.getBoundingClientRect();
  if (r.width === 0 || r.height === 0) continue;
  const style = getComputedStyle(el);
  if (style.visibility === 'hidden' || style.position === 'fixed') continue;
  let clipped = false;
  for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
    const o = getComputedStyle(p).overflowX;
    if (o === 'auto' || o === 'scroll' || o === 'hidden') { clipped = true; break; }
  }
  if (!clipped && r.right > w + 1) out.push(el.tagName.toLowerCase() + '.' + el.className + ' right ' + Math.round(r.right));
  // Text squeezed to a character or two per line (a column or a menu item too narrow for its words).
  const text = (el.childElementCount === 0 ? el.innerText || '' : '').trim();
  const size = parseFloat(style.fontSize) || 16;
  if (text.length >= 3 && r.width < 2.5 * size && r.height > 2.5 * size) out.push(el.tagName.toLowerCase() + '.' + el.className + ' "' + text.slice(0, 8) + '" squeezed to ' + Math.round(r.width) + ' px');
  const target = el.matches('button, a.button, input[type=submit], select, input[type=text], input[type=password], input[type=tel]');
  if (target && r.height < 44) out.push(el.tagName.toLowerCase() + '.' + el.className + ' "' + (el.innerText || el.name || '').slice(0, 12) + '" height ' + Math.round(r.height));
}
return out.slice(0, 12);
"#;

/// Issue 10: every main page of kiosk, desk and sign-in works on a phone (390 x 844): nothing
/// overflows the viewport horizontally and touch targets stay at least 44 px high.
#[test]
fn every_main_page_fits_a_phone() {
    let demo = start_demo();
    let b = Browser::start(390, 844);
    let mut problems = Vec::new();
    let mut check = |b: &Browser, name: &str, url: &str| {
        b.goto(url).unwrap();
        shot(b, &format!("phone-{name}"));
        let found = b.execute(PHONE_CHECK, vec![]).unwrap();
        let found: Vec<String> =
            found.as_array().unwrap().iter().filter_map(|v| v.as_str().map(String::from)).collect();
        if !found.is_empty() {
            problems.push(format!("{name} ({url}): {}", found.join("; ")));
        }
    };
    let first_link = |b: &Browser, css: &str| -> String {
        let el = b.find(css).unwrap_or_else(|e| panic!("{css}: {e}\n{}", b.diagnostics()));
        b.property(&el, "href").unwrap().as_str().unwrap().to_string()
    };

    // Kiosk: signed out, then as the village's officer.
    check(&b, "kiosk-signin", &format!("{}/signin?next=/cases", demo.kiosk));
    sign_in(&b, &demo.kiosk, "officer-1", "/cases");
    check(&b, "kiosk-cases", &format!("{}/cases", demo.kiosk));
    b.goto(&format!("{}/cases", demo.kiosk)).unwrap();
    let case = first_link(&b, "a[href^='/cases/']:not([href='/cases/new'])");
    check(&b, "kiosk-case", &case);
    check(&b, "kiosk-new", &format!("{}/cases/new", demo.kiosk));
    check(&b, "kiosk-account", &format!("{}/account", demo.kiosk));
    check(&b, "kiosk-stats", &format!("{}/stats?by=industry", demo.kiosk));
    check(&b, "kiosk-items", &format!("{}/items", demo.kiosk));

    // County hub: the overview, then staff, an expert and an administrator on the desk.
    check(&b, "hub-home", &format!("{}/", demo.county));
    check(&b, "hub-items", &format!("{}/items", demo.county));
    sign_in(&b, &demo.county, "staff", "/desk");
    check(&b, "desk", &format!("{}/desk", demo.county));
    b.goto(&format!("{}/desk", demo.county)).unwrap();
    let desk_case = first_link(&b, "a[href^='/desk/cases/']");
    check(&b, "desk-case", &desk_case);
    for page in ["experts", "knowledge", "export", "review"] {
        check(&b, &format!("desk-{page}"), &format!("{}/desk/{page}", demo.county));
    }
    check(&b, "desk-stats", &format!("{}/desk/stats?by=town", demo.county));
    check(&b, "dashboard", &format!("{}/dashboard", demo.county));
    check(&b, "desk-targets", &format!("{}/desk/targets", demo.county));
    check(&b, "desk-evaluation", &format!("{}/desk/evaluation", demo.county));
    sign_out(&b);
    sign_in(&b, &demo.county, "expert-fruit", "/desk");
    check(&b, "desk-expert", &format!("{}/desk", demo.county));
    sign_out(&b);
    sign_in(&b, &demo.county, "admin", "/desk");
    for page in ["people", "settings", "audit", "people/officer-1", "targets"] {
        check(&b, &format!("desk-{}", page.replace('/', "-")), &format!("{}/desk/{page}", demo.county));
    }
    assert!(problems.is_empty(), "pages that do not fit a 390 px phone:\n{}", problems.join("\n"));
}

/// A local date (UTC+8) `days` from today, as a date input holds it.
fn date_from_today(days: i64) -> String {
    let now_ms =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    yizhan_core::holidays::format_day(yizhan_core::holidays::local_day(now_ms) + days)
}

/// Goes to the first link on the current page whose text, or whose table row's text, contains
/// `text`.
fn follow_link(b: &Browser, text: &str) {
    let href = b
        .execute(
            "const t = arguments[0]; \
             const a = [...document.querySelectorAll('a')].find(a => a.textContent.includes(t)) \
               || [...document.querySelectorAll('tr')].filter(r => r.textContent.includes(t)).map(r => r.querySelector('a')).find(a => a); \
             return a ? a.href : null;",
            vec![serde_json::json!(text)],
        )
        .unwrap();
    let href = href
        .as_str()
        .unwrap_or_else(|| panic!("no link {text:?}; page:\n{}", b.source().unwrap()))
        .to_string();
    b.goto(&href).unwrap();
}

/// 供销对接 and 成果转化 in the browser: the officer records a farmer's offer at the kiosk;
/// county staff review it and the administrator signs it off on the desk; it shows in the other
/// village's kiosk's public list; an expert claims a bounty on the county's board.
#[test]
fn an_officers_offer_is_signed_off_at_the_county_and_an_expert_claims_a_bounty() {
    let demo = start_demo();
    let b = Browser::start(390, 844);
    let title = format!("测试丑柑 {} 斤", std::process::id());
    sign_in(&b, &demo.kiosk, "officer-1", "/supply/new");
    choose(&b, "select[name=kind]", "supply.offer").unwrap();
    set_text(&b, "input[name=title]", &title).unwrap();
    set_text(&b, "input[name=product]", "丑柑").unwrap();
    choose(&b, "select[name=industry]", "fruit").unwrap();
    set_text(&b, "input[name=quantity]", "3000").unwrap();
    set_text(&b, "input[name=unit]", "斤").unwrap();
    set_text(&b, "input[name=price]", "4.2").unwrap();
    for (name, days) in [("valid_from", 0), ("valid_to", 30)] {
        b.execute(
            &format!("document.querySelector('input[name={name}]').value = arguments[0]"),
            vec![serde_json::json!(date_from_today(days))],
        )
        .unwrap();
    }
    set_text(&b, "textarea[name=body]", "果园在村口，可分批采摘。").unwrap();
    set_text(&b, "input[name=ip_owner]", "示范村种植户（经驿站登记）").unwrap();
    shot(&b, "market-kiosk-form");
    b.click(&b.find("[data-testid=listing-submit]").unwrap()).unwrap();
    b.wait_for("the offer is submitted", WAIT, |b| {
        Ok(b.current_url()?.contains("/supply?submitted=1").then_some(()))
    });
    sign_out(&b);

    // County staff review it, the administrator signs it off.
    sign_in(&b, &demo.county, "staff", "/desk/review");
    reload_until(&b, &format!("{}/desk/review", demo.county), "main", &title);
    follow_link(&b, &title);
    let item_url = b.current_url().unwrap();
    b.click(&b.find("[data-testid=step-review]").unwrap()).unwrap();
    reload_until(&b, &item_url, "main", "待签发");
    sign_out(&b);
    sign_in(&b, &demo.county, "admin", "/desk");
    b.goto(&item_url).unwrap();
    b.click(&b.find("[data-testid=step-sign_off]").unwrap()).unwrap();
    reload_until(&b, &item_url, "main", "已发布");
    sign_out(&b);

    // Published: in the other village's kiosk's public list, without sign-in.
    reload_until(&b, &format!("{}/supply?industry=fruit", demo.kiosk_b), "[data-testid=supply-list]", &title);
    let listing = text_of(&b, "[data-testid=supply-list]");
    assert!(listing.contains("¥4.20 元/斤") && listing.contains("村级驿站信息员"), "{listing}");
    shot(&b, "market-kiosk-list");

    // An expert claims the open tea bounty on the county's board.
    sign_in(&b, &demo.county, "expert-fruit", "/achievements");
    follow_link(&b, "茶园病虫害绿色防控技术指导");
    let bounty_url = b.current_url().unwrap();
    assert_eq!(text_of(&b, "[data-testid=bounty-board] [data-testid=claims]"), "1");
    set_text(&b, "textarea[name=proposal]", "建立虫情监测点，推广色板与生物农药。").unwrap();
    b.click(&b.find("[data-testid=claim-submit]").unwrap()).unwrap();
    reload_until(&b, &bounty_url, "[data-testid=bounty-board] [data-testid=claims]", "2");
    assert!(text_of(&b, "[data-testid=claim-refused]").contains("您已抢过此单"));
    shot(&b, "market-bounty-claimed");
}
