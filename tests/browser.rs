#![allow(clippy::unwrap_used)]
//! End-to-end tests of the kiosk's web UI in a real headless Chromium, driven over WebDriver
//! by Debian's chromedriver, against the real `yizhan kiosk` binary.
//!
//! Needs Debian's `chromium chromium-driver fonts-noto-cjk`; fails (never skips) without them.
//! Override the binaries with $CHROMIUM and $CHROMEDRIVER. Screenshots of the pages go to
//! `target/screenshots/` for people to look at.

#[path = "support/kiosk.rs"]
mod kiosk;
#[path = "support/webdriver.rs"]
#[allow(dead_code)] // shared with the other browser tests; `click_at` is for canvases
mod webdriver;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use kiosk::Kiosk;
use serde_json::Value;
use webdriver::{Browser, WdResult};

const REGION: &str = "510131";
const TOWN: &str = "510131001";
const PHONE: &str = "13812345678";
const PHONE_MASKED: &str = "138****5678";
/// A 10-inch tablet in landscape.
const VIEWPORT: (u32, u32) = (1280, 800);
/// The bound on every wait for the page to reach a state.
const WAIT: Duration = Duration::from_secs(30);

fn start() -> (Kiosk, Browser) {
    let kiosk = Kiosk::start(env!("CARGO_BIN_EXE_yizhan"), REGION);
    let browser = Browser::start(VIEWPORT.0, VIEWPORT.1);
    (kiosk, browser)
}

/// `target/screenshots`, beside the binaries under test (so also with a shared target dir).
fn screenshot_dir() -> PathBuf {
    let bin = Path::new(env!("CARGO_BIN_EXE_yizhan"));
    let target = bin.parent().and_then(Path::parent).unwrap_or(Path::new("target"));
    let dir = target.join("screenshots");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
    dir
}

/// Saves the viewport (what the tablet shows) as `name.png` and the whole page as `name-full.png`.
fn save_screenshots(b: &Browser, name: &str) {
    let dir = screenshot_dir();
    // From the top, as the page first appears (the sticky header would otherwise be drawn
    // mid-page in the full-page capture).
    b.execute("window.scrollTo(0, 0)", vec![]).unwrap();
    let viewport = b.screenshot().unwrap_or_else(|e| panic!("screenshot of {name}: {e}"));
    std::fs::write(dir.join(format!("{name}.png")), viewport).unwrap();
    match b.screenshot_full_page() {
        Ok(full) => std::fs::write(dir.join(format!("{name}-full.png")), full).unwrap(),
        Err(e) => eprintln!("no full-page screenshot of {name}: {e}"),
    }
    eprintln!("screenshot: {}", dir.join(format!("{name}.png")).display());
}

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("{prefix}{}", nanos % 1_000_000_000)
}

fn has_chinese(s: &str) -> bool {
    s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
}

/// The case id if `url` is `<base>/cases/<uuid>`.
fn case_id_in(url: &str, base: &str) -> Option<String> {
    let id = url.strip_prefix(base)?.strip_prefix("/cases/")?;
    let is_uuid = id.len() == 36
        && id
            .char_indices()
            .all(|(i, c)| if [8, 13, 18, 23].contains(&i) { c == '-' } else { c.is_ascii_hexdigit() });
    is_uuid.then(|| id.to_string())
}

/// A real 800x600 JPEG (a leaf-green gradient with a yellow spot), like a phone photo.
fn write_jpeg(path: &Path) {
    let img = image::RgbImage::from_fn(800, 600, |x, y| {
        let (dx, dy) = (x as i64 - 500, y as i64 - 260);
        if dx * dx + dy * dy < 90 * 90 {
            image::Rgb([214, 190, 40])
        } else {
            image::Rgb([(40 + x / 10) as u8, (110 + y / 6) as u8, 50])
        }
    });
    img.save(path).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
}

fn set_text(b: &Browser, css: &str, text: &str) -> WdResult<()> {
    let el = b.find(css)?;
    b.clear(&el)?;
    b.send_keys(&el, text)?;
    let value = b.property(&el, "value")?;
    assert_eq!(value.as_str(), Some(text), "typing into {css}");
    Ok(())
}

/// Picks an option the way a person does: clicks it.
fn choose(b: &Browser, select_css: &str, value: &str) -> WdResult<()> {
    let select = b.find(select_css)?;
    b.click(&b.find(&format!("{select_css} option[value=\"{value}\"]"))?)?;
    let chosen = b.property(&select, "value")?;
    assert_eq!(chosen.as_str(), Some(value), "choosing {value} in {select_css}");
    Ok(())
}

struct CaseInput<'a> {
    subject: &'a str,
    photo: &'a Path,
}

/// Opens /cases/new and fills every field as an information officer would.
fn fill_case_form(b: &Browser, k: &Kiosk, input: &CaseInput<'_>) {
    b.goto(&k.url("/cases/new")).unwrap_or_else(|e| panic!("opening /cases/new: {e}\n{}", b.diagnostics()));
    b.wait_for("the new-case form", WAIT, |b| Ok(Some(b.find("form#case-form")?)));
    let h1 = b.text(&b.find("h1").unwrap()).unwrap();
    assert_eq!(h1, "登记新案例", "the form's heading");
    let filled = (|| -> WdResult<()> {
        choose(b, "select[name=industry]", "fruit")?;
        set_text(b, "input[name=subject]", input.subject)?;
        set_text(b, "textarea[name=description]", "叶片发黄，叶脉仍绿，约两亩果园都有，施过一次复合肥。")?;
        choose(b, "select#region_code[name=region_code]", TOWN)?;
        set_text(b, "input[name=village_name]", "和平村")?;
        set_text(b, "input[name=farmer_name]", "张大山")?;
        set_text(b, "input[name=farmer_phone]", PHONE)?;
        let photos = b.find("input[type=file][name=photos]")?;
        b.send_keys(&photos, &input.photo.display().to_string())?;
        let picked =
            b.execute("return Array.from(arguments[0].files).map(f => f.name)", vec![photos.arg()])?;
        let name = input.photo.file_name().unwrap().to_string_lossy().to_string();
        assert_eq!(picked, serde_json::json!([name]), "the photo picked in the file input");
        Ok(())
    })();
    if let Err(e) = filled {
        panic!("filling the case form: {e}\n{}", b.diagnostics());
    }
}

fn submit(b: &Browser) {
    let button = b.find("form#case-form button[type=submit]").unwrap();
    assert_eq!(b.text(&button).unwrap(), "保存案例", "the submit button");
    b.click(&button).unwrap_or_else(|e| panic!("clicking 保存案例: {e}\n{}", b.diagnostics()));
}

/// Script errors in the page are failures; failed resource loads are only printed.
fn check_console(b: &Browser, page: &str) {
    let entries = b.console_log();
    for (level, message) in &entries {
        eprintln!("console on {page}: [{level}] {message}");
    }
    let errors: Vec<_> = entries
        .iter()
        .filter(|(level, message)| level == "SEVERE" && !message.contains("Failed to load resource"))
        .collect();
    assert!(errors.is_empty(), "script errors on {page}: {errors:?}");
}

/// Issue: an officer records a case with a photo in the browser, then finds it in the list.
#[test]
fn officer_records_a_case_with_a_photo_and_sees_it_listed() {
    let t0 = Instant::now();
    let (kiosk, b) = start();
    eprintln!("kiosk and browser up in {:?}", t0.elapsed());
    let photo_dir = tempfile::tempdir().unwrap();
    let photo = photo_dir.path().join("yellow-leaf.jpg");
    write_jpeg(&photo);
    let subject = unique("柑橘黄叶-");

    fill_case_form(&b, &kiosk, &CaseInput { subject: &subject, photo: &photo });
    // The chosen photo is previewed in the browser (an object URL, no upload yet), with the count.
    let preview = b.wait_for("the chosen photo's preview", WAIT, |b| {
        let p = b.execute(
            "const i = document.querySelector('[data-testid=photo-previews] img[data-testid=photo-preview]'); \
             const c = document.querySelector('[data-testid=photo-previews] .count'); \
             return i && i.complete && i.naturalWidth > 0 ? {src: i.getAttribute('src'), count: c.textContent} : null;",
            vec![],
        )?;
        Ok((!p.is_null()).then_some(p))
    });
    assert!(preview["src"].as_str().unwrap().starts_with("blob:"), "{preview}");
    assert_eq!(preview["count"], "已选 1 张照片", "{preview}");
    check_console(&b, "/cases/new");
    save_screenshots(&b, "new-case-form");

    let t_submit = Instant::now();
    submit(&b);
    let id = b.wait_for("the browser to open the new case's page /cases/<id>", WAIT, |b| {
        Ok(case_id_in(&b.current_url()?, &kiosk.base))
    });
    b.wait_for("the status 待处理 on the case page", WAIT, |b| {
        let status = b.text(&b.find("[data-testid=status]")?)?;
        Ok((status == "待处理").then_some(()))
    });
    let img_state = "const imgs = Array.from(document.querySelectorAll('.photos img'));
        return imgs.map(i => ({complete: i.complete, w: i.naturalWidth, h: i.naturalHeight, src: i.getAttribute('src')}));";
    let thumbs: Vec<Value> = b.wait_for("the photo thumbnail to load (naturalWidth > 0)", WAIT, |b| {
        let imgs = b.execute(img_state, vec![])?;
        let imgs = imgs.as_array().cloned().unwrap_or_default();
        let loaded =
            imgs.len() == 1 && imgs.iter().all(|i| i["complete"] == true && i["w"].as_u64() > Some(0));
        Ok(loaded.then_some(imgs))
    });
    eprintln!("case {id} shown with its photo {:?} after {:?}", thumbs[0], t_submit.elapsed());

    let page_text = b.execute("return document.body.innerText", vec![]).unwrap();
    let page_text = page_text.as_str().unwrap();
    assert!(page_text.contains(&subject), "the case page shows the subject {subject}:\n{page_text}");
    assert!(
        page_text.contains(PHONE_MASKED),
        "the case page shows the masked phone {PHONE_MASKED}:\n{page_text}"
    );
    let source = b.source().unwrap();
    assert!(!source.contains(PHONE), "the plain phone number {PHONE} is in the case page's source");
    let timeline = b.find_all("ol[data-testid=timeline] li").unwrap();
    assert!(!timeline.is_empty(), "the timeline has the 登记 event\n{}", b.diagnostics());
    let first = b.text(&timeline[0]).unwrap();
    // Nobody signed in at this kiosk: the case is recorded as 未登录, by name, not an account id.
    assert!(first.contains("登记") && first.contains("未登录"), "the first timeline entry: {first}");
    check_console(&b, "the case page");
    save_screenshots(&b, "case-page");

    // The API agrees: one photo, the phone masked.
    let cases = kiosk.get_json("/api/cases");
    let case = cases.as_array().unwrap().iter().find(|c| c["id"] == id.as_str());
    let case = case.unwrap_or_else(|| panic!("case {id} missing from /api/cases: {cases}"));
    assert_eq!(case["subject"], subject.as_str());
    assert_eq!(case["photo_count"], 1, "{case}");
    assert_eq!(case["farmer_phone_masked"], PHONE_MASKED, "{case}");
    assert!(!cases.to_string().contains(PHONE), "the plain phone number is in /api/cases");

    b.goto(&kiosk.url("/cases")).unwrap_or_else(|e| panic!("opening /cases: {e}\n{}", b.diagnostics()));
    let link = b.wait_for(&format!("the case {subject} in the list"), WAIT, |b| {
        for li in b.find_all("ul[data-testid=case-list] li.case")? {
            if b.text(&b.find_in(&li, "b")?)? == subject {
                return Ok(Some(b.property(&b.find_in(&li, "a")?, "href")?));
            }
        }
        Ok(None)
    });
    assert_eq!(
        link.as_str(),
        Some(kiosk.url(&format!("/cases/{id}")).as_str()),
        "the list links to the case"
    );
    assert!(!b.source().unwrap().contains(PHONE), "the plain phone number {PHONE} is in the list's source");
    check_console(&b, "/cases");
    save_screenshots(&b, "case-list");
    assert!(!kiosk.log().contains(PHONE), "the plain phone number {PHONE} is in the kiosk's log");
    eprintln!("test 1 done in {:?}", t0.elapsed());
}

/// A file that is not an image is refused with a Chinese message, and nothing is stored;
/// with a real photo picked in the returned form, the case is then recorded.
#[test]
fn a_file_that_is_not_a_photo_is_refused_in_chinese_and_nothing_is_stored() {
    let t0 = Instant::now();
    let (kiosk, b) = start();
    let before = kiosk.get_json("/api/status");
    assert_eq!(before["cases"], 0, "a fresh kiosk has no case: {before}");

    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("leaf.jpg");
    std::fs::write(&fake, b"not a photo").unwrap();
    let subject = unique("水稻-");
    fill_case_form(&b, &kiosk, &CaseInput { subject: &subject, photo: &fake });
    submit(&b);

    let message = b.wait_for("the form to come back with [data-testid=form-error]", WAIT, |b| {
        let text = b.text(&b.find("[data-testid=form-error]")?)?;
        Ok((!text.is_empty()).then_some(text))
    });
    eprintln!("form error: {message}");
    assert!(has_chinese(&message), "the error is in Chinese: {message:?}");
    assert!(message.contains("照片"), "the error says the photo is the problem: {message:?}");
    // The officer's input is kept, so only the photo has to be picked again.
    let kept = b.property(&b.find("input[name=subject]").unwrap(), "value").unwrap();
    assert_eq!(kept.as_str(), Some(subject.as_str()), "the subject is kept in the re-rendered form");
    let button = b.find("form#case-form button[type=submit]").unwrap();
    assert_eq!(b.property(&button, "disabled").unwrap(), false, "the form can be submitted again");
    save_screenshots(&b, "form-error");
    check_console(&b, "the refused form");

    let cases = kiosk.get_json("/api/cases");
    assert_eq!(cases, serde_json::json!([]), "no case is stored after a refused upload");
    let after = kiosk.get_json("/api/status");
    assert_eq!(after["cases"], 0, "{after}");
    assert_eq!(after["blobs"], before["blobs"], "no blob is stored after a refused upload: {after}");

    // The officer picks a real photo in the returned form and saves again: now it is recorded.
    let photo = dir.path().join("real-leaf.jpg");
    write_jpeg(&photo);
    let input = b.find("input[type=file][name=photos]").unwrap();
    b.send_keys(&input, &photo.display().to_string()).unwrap();
    submit(&b);
    let id = b.wait_for("the corrected case's page /cases/<id>", WAIT, |b| {
        Ok(case_id_in(&b.current_url()?, &kiosk.base))
    });
    let status = b.wait_for("the status on the corrected case's page", WAIT, |b| {
        Ok(Some(b.text(&b.find("[data-testid=status]")?)?))
    });
    assert_eq!(status, "待处理");
    let cases = kiosk.get_json("/api/cases");
    assert_eq!(cases.as_array().map(Vec::len), Some(1), "{cases}");
    assert_eq!(cases[0]["id"], id.as_str());
    assert_eq!(cases[0]["subject"], subject.as_str());
    assert_eq!(cases[0]["photo_count"], 1, "{cases}");
    eprintln!("test 2 done in {:?}", t0.elapsed());
}

/// Issue 4: while the officer types, similar solved cases appear with their answers, and
/// "解决了" completes the consultation as solved by that case.
#[test]
fn similar_solved_cases_appear_while_typing_and_solve_the_case() {
    let bin = env!("CARGO_BIN_EXE_yizhan");
    let kb_dir = tempfile::tempdir().unwrap();
    let kb = kb_dir.path().join("kb.jsonl");
    let rows = [
        ("柑橘叶片发黄，叶脉还是绿的，怎么办？", "c1", "缺铁黄化：叶面喷施螯合铁，改良酸化土壤。"),
        ("水稻叶片上有梭形褐色病斑怎么防治？", "c2", "稻瘟病：发病初期用三环唑喷雾。"),
        ("生猪发烧不吃食，耳朵发紫怎么办？", "c3", "疑似猪瘟或蓝耳病：隔离病猪，立即联系兽医。"),
    ];
    let lines: Vec<String> = rows
        .iter()
        .map(|(q, c, a)| serde_json::json!({"query": q, "cluster": c, "answer": a, "season": 3}).to_string())
        .collect();
    std::fs::write(&kb, lines.join("\n")).unwrap();
    let kiosk = Kiosk::start_with(bin, REGION, |dir| {
        let out = std::process::Command::new(bin)
            .args(["similar-import", "--data-dir"])
            .arg(dir)
            .arg("--file")
            .arg(&kb)
            .output()
            .unwrap();
        assert!(out.status.success(), "similar-import: {}", String::from_utf8_lossy(&out.stderr));
    });
    let b = Browser::start(VIEWPORT.0, VIEWPORT.1);
    b.goto(&kiosk.url("/cases/new")).unwrap();
    b.wait_for("the new-case form", WAIT, |b| Ok(Some(b.find("form#case-form")?)));
    choose(&b, "select[name=industry]", "fruit").unwrap();
    set_text(&b, "input[name=subject]", "柑橘").unwrap();
    set_text(&b, "textarea[name=description]", "叶片发黄，叶脉还绿").unwrap();
    choose(&b, "select#region_code[name=region_code]", TOWN).unwrap();
    let first = b.wait_for("similar cases to appear while typing", WAIT, |b| {
        let panel = b.find("[data-testid=similar]")?;
        let text = b.text(&panel)?;
        Ok(text.contains("螯合铁").then_some(text))
    });
    assert!(first.contains("解决了"), "{first}");
    save_screenshots(&b, "similar-while-typing");
    b.click(&b.find("[data-testid=similar] button.solve").unwrap()).unwrap();
    let status = b.wait_for("the case page of the solved case", WAIT, |b| {
        if !b.current_url()?.contains("/cases/") || b.current_url()?.ends_with("/new") {
            return Ok(None);
        }
        Ok(Some(b.text(&b.find("[data-testid=status]")?)?))
    });
    assert_eq!(status, "已解决(类似案例)");
    let cases = kiosk.get_json("/api/cases");
    assert_eq!(cases[0]["status"], "solved_by_similar");
}
