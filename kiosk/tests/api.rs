//! The kiosk over real HTTP on loopback, with a real SQLite file, real photos and a real video.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use reqwest::multipart::{Form, Part};
use serde_json::Value;
use yizhan_core::RegionCode;
use yizhan_kiosk::{AppState, KioskConfig, SystemClock, UploadLimits};

struct Kiosk {
    url: String,
    dir: tempfile::TempDir,
    state: AppState,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Kiosk {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn config(dir: &Path, limits: UploadLimits) -> KioskConfig {
    KioskConfig {
        data_dir: dir.to_path_buf(),
        key_file: dir.join("keys/field.key"),
        listen: "127.0.0.1:0".parse().unwrap(),
        scope: RegionCode::parse("510131").unwrap(),
        limits,
        node_id: None,
    }
}

/// Everything any test in this binary logs, at every level, to check what logs may contain.
static LOGS: std::sync::LazyLock<Arc<std::sync::Mutex<Vec<u8>>>> = std::sync::LazyLock::new(|| {
    let buf = Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = buf.clone();
    let _ = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || LogSink(sink.clone()))
        .try_init();
    buf
});

struct LogSink(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogSink {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

async fn start_with(limits: UploadLimits) -> Kiosk {
    std::sync::LazyLock::force(&LOGS);
    let dir = tempfile::tempdir().unwrap();
    let state = AppState::open(config(dir.path(), limits), Arc::new(SystemClock)).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let s = state.clone();
    let server = tokio::spawn(async move {
        yizhan_kiosk::serve(s, listener).await.unwrap();
    });
    Kiosk { url, dir, state, server }
}

async fn start() -> Kiosk {
    start_with(UploadLimits::default()).await
}

/// A JPEG whose left half is red and right half blue, optionally with an EXIF Orientation.
fn jpeg(w: u32, h: u32, orientation: Option<u16>) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, _| {
        if x < w / 2 { image::Rgb([220, 20, 20]) } else { image::Rgb([20, 20, 220]) }
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img).write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    let plain = out.into_inner();
    match orientation {
        None => plain,
        Some(o) => {
            // APP1 "Exif\0\0" + little-endian TIFF with one IFD entry: Orientation (0x0112).
            let mut tiff = vec![b'I', b'I', 42, 0, 8, 0, 0, 0, 1, 0];
            tiff.extend_from_slice(&0x0112u16.to_le_bytes());
            tiff.extend_from_slice(&3u16.to_le_bytes());
            tiff.extend_from_slice(&1u32.to_le_bytes());
            tiff.extend_from_slice(&(u32::from(o)).to_le_bytes());
            tiff.extend_from_slice(&0u32.to_le_bytes());
            let mut app1 = b"Exif\0\0".to_vec();
            app1.extend_from_slice(&tiff);
            let len = (app1.len() + 2) as u16;
            let mut with = vec![0xFF, 0xD8, 0xFF, 0xE1];
            with.extend_from_slice(&len.to_be_bytes());
            with.extend_from_slice(&app1);
            with.extend_from_slice(&plain[2..]);
            with
        }
    }
}

/// This test browser's cross-site token (see yizhan-web): in its cookie and again in the header.
const CSRF: &str = "0123456789abcdef0123456789abcdef";

fn csrf_headers() -> reqwest::header::HeaderMap {
    let mut h = reqwest::header::HeaderMap::new();
    h.insert("cookie", format!("{}={CSRF}", yizhan_web::CSRF_COOKIE).parse().unwrap());
    h.insert(yizhan_web::CSRF_HEADER, CSRF.parse().unwrap());
    h
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().default_headers(csrf_headers()).build().unwrap()
}

fn fields(subject: &str) -> Form {
    Form::new()
        .text("industry", "fruit")
        .text("subject", subject.to_string())
        .text("description", "叶片发黄，有褐色斑点")
        .text("region_code", "510131001")
        .text("village_name", "和平村")
        .text("farmer_name", "王大爷")
        .text("farmer_phone", "13812345678")
        .text("officer", "李信息员")
}

fn file(name: &str, bytes: Vec<u8>) -> Part {
    Part::bytes(bytes).file_name(name.to_string())
}

async fn post(k: &Kiosk, form: Form) -> (u16, Value) {
    let res = reqwest::Client::builder()
        .default_headers(csrf_headers())
        .build()
        .unwrap()
        .post(format!("{}/api/cases", k.url))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap())
}

async fn get(k: &Kiosk, path: &str) -> Value {
    reqwest::get(format!("{}{path}", k.url)).await.unwrap().json().await.unwrap()
}

async fn status(k: &Kiosk) -> Value {
    get(k, "/api/status").await
}

#[tokio::test]
async fn records_a_case_with_oriented_photos_and_serves_verified_blobs() {
    let k = start().await;
    let form = fields("柑橘")
        .part("photos", file("a.jpg", jpeg(400, 200, Some(6))))
        .part("photos", file("b.jpg", jpeg(300, 100, None)));
    let (code, body) = post(&k, form).await;
    assert_eq!(code, 201, "{body}");
    let id = body["id"].as_str().unwrap();

    let list = get(&k, "/api/cases").await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["photo_count"], 2);
    assert_eq!(list[0]["farmer_phone_masked"], "138****5678");
    assert_eq!(list[0]["status"], "open");
    assert!(list[0]["unsynced"].as_bool().unwrap());

    let case = get(&k, &format!("/api/cases/{id}")).await;
    let atts = case["attachments"].as_array().unwrap();
    assert_eq!(atts.len(), 6, "two originals, two display copies, two thumbnails");
    // Orientation 6 (rotate 90° clockwise) turns the 400x200 photo upright as 200x400.
    let rotated = atts.iter().find(|a| a["role"] == "original" && a["name"] == "a.jpg").unwrap();
    assert_eq!((rotated["width"].as_u64(), rotated["height"].as_u64()), (Some(200), Some(400)));
    for a in atts {
        let bytes = reqwest::get(format!("{}/blobs/{}", k.url, a["hash"].as_str().unwrap()))
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(blake3::hash(&bytes).to_hex().as_str(), a["hash"].as_str().unwrap());
        assert_eq!(bytes.len() as u64, a["bytes"].as_u64().unwrap());
    }
    assert_eq!(case["events"][0]["kind"], "created");
    // Nobody is signed in: whatever the form said, the case is recorded as 未登录, with no
    // person id, and marked so in the API.
    assert_eq!(case["events"][0]["actor"], "未登录");
    assert_eq!(case["events"][0]["actor_name"], "未登录");
    assert_eq!((case["officer"].as_str(), case["officer_id"].as_str()), (Some("未登录"), Some("")));
    assert_eq!(case["officer_signed_in"], false);
    assert_eq!(list[0]["officer_signed_in"], false);

    // The HTML pages show it.
    let page = reqwest::get(format!("{}/cases/{id}", k.url)).await.unwrap().text().await.unwrap();
    assert!(page.contains("柑橘") && page.contains("待处理") && page.contains("138****5678"));
    assert!(page.contains("data-testid=\"unsigned\""), "the case page marks it 未登录");
    let list_page = reqwest::get(format!("{}/cases?q=%E6%9F%91", k.url)).await.unwrap().text().await.unwrap();
    assert!(list_page.contains(&format!("/cases/{id}")));
    assert!(list_page.contains("未登录登记"), "the list marks it 未登录");
    assert_eq!(status(&k).await["unsynced_docs"], 1);
}

async fn assert_nothing_stored(k: &Kiosk) {
    let s = status(k).await;
    assert_eq!((s["cases"].as_i64(), s["blobs"].as_i64()), (Some(0), Some(0)), "{s}");
    let tmp = k.dir.path().join("blobs/tmp");
    assert_eq!(std::fs::read_dir(tmp).unwrap().count(), 0, "no temporary blob left behind");
}

#[tokio::test]
async fn bad_input_gets_a_chinese_error_and_stores_nothing() {
    let limits = UploadLimits {
        photos_max: 2,
        media: yizhan_media::Limits { photo_bytes_max: 200_000, ..Default::default() },
    };
    let k = start_with(limits).await;
    let video = std::fs::read(fixture("landscape_960x540_h264_aac.mp4")).unwrap();
    let heic = {
        let mut b = vec![0, 0, 0, 24];
        b.extend_from_slice(b"ftypheic\0\0\0\0mif1heic");
        b.extend_from_slice(&[0u8; 64]);
        b
    };
    let cases: Vec<(&str, Form, u16, &str)> = vec![
        ("missing description", fields("x").text("description", ""), 422, "问题描述"),
        ("unknown industry", fields("x").text("industry", "rice"), 422, "产业"),
        ("bad phone", fields("x").text("farmer_phone", "12ab"), 422, "手机"),
        ("town outside scope", fields("x").text("region_code", "510104017"), 422, "服务范围"),
        ("NUL in the subject", fields("柑\0橘"), 422, "控制字符"),
        ("escape in the farmer's name", fields("x").text("farmer_name", "王\u{1b}[2J"), 422, "控制字符"),
        (
            "override in the description",
            fields("x").text("description", "叶片\u{202E}发黄"),
            422,
            "方向控制字符",
        ),
        ("isolate in the village", fields("x").text("village_name", "和平\u{2066}村"), 422, "方向控制字符"),
        ("0-byte photo", fields("x").part("photos", file("empty.jpg", Vec::new())), 422, "空文件"),
        ("0-byte video", fields("x").part("video", file("empty.mp4", Vec::new())), 422, "空文件"),
        ("HEIC photo", fields("x").part("photos", file("IMG_0001.HEIC", heic)), 422, "HEIC"),
        ("garbage photo", fields("x").part("photos", file("leaf.jpg", b"not a photo".to_vec())), 422, "照片"),
        (
            "photo too large",
            fields("x").part("photos", file("big.jpg", vec![0xFF; 300_000])),
            413,
            "照片过大",
        ),
        (
            "too many photos",
            fields("x")
                .part("photos", file("1.jpg", jpeg(10, 10, None)))
                .part("photos", file("2.jpg", jpeg(10, 10, None)))
                .part("photos", file("3.jpg", jpeg(10, 10, None))),
            422,
            "照片过多",
        ),
        (
            "corrupt video with good photo",
            fields("x")
                .part("photos", file("ok.jpg", jpeg(100, 100, None)))
                .part("video", file("v.mp4", video[..20_000].to_vec())),
            422,
            "视频",
        ),
    ];
    for (what, form, want_code, want_text) in cases {
        let (code, body) = post(&k, form).await;
        assert_eq!(code, want_code, "{what}: {body}");
        let msg = body["message"].as_str().unwrap();
        assert!(msg.contains(want_text), "{what}: message {msg:?} should mention {want_text:?}");
        assert_nothing_stored(&k).await;
    }
    // The HTML form re-renders with the message and keeps what was typed.
    let form = fields("保留的作物").text("description", "");
    let res = reqwest::Client::builder()
        .default_headers(csrf_headers())
        .build()
        .unwrap()
        .post(format!("{}/cases", k.url))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 422);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("data-testid=\"form-error\"")
            && html.contains("请填写问题描述")
            && html.contains("保留的作物")
    );
    assert_nothing_stored(&k).await;
    // A description may have several lines, as a textarea sends them (\r\n): not refused for that.
    let (code, body) = post(&k, fields("多行").text("description", "第一行\r\n第二行\n\t第三行")).await;
    assert_eq!(code, 201, "{body}");
}

#[tokio::test]
async fn a_post_that_is_not_multipart_gets_a_chinese_answer() {
    let k = start().await;
    let client = client();
    for path in ["/api/cases", "/api/similar"] {
        let res = client
            .post(format!("{}{path}", k.url))
            .json(&serde_json::json!({"subject": "x"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 415, "{path}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"], "not_multipart", "{path}: {body}");
        assert!(body["message"].as_str().unwrap().contains("表单"), "{path}: {body}");
    }
    let res = client
        .post(format!("{}/cases", k.url))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("subject=x")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 415);
    let html = res.text().await.unwrap();
    assert!(html.contains("提交格式不对") && html.contains("lang=\"zh-CN\""), "{html}");
    assert!(!html.contains("Invalid") && !html.contains("multipart/form-data` header"), "{html}");
    assert_nothing_stored(&k).await;
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../media/tests/fixtures").join(name)
}

#[tokio::test]
async fn a_video_gets_a_poster_and_a_low_bitrate_proxy_in_the_background() {
    let k = start().await;
    let video = std::fs::read(fixture("landscape_960x540_h264_aac.mp4")).unwrap();
    let (code, body) = post(&k, fields("生猪").part("video", file("pig.mp4", video.clone()))).await;
    assert_eq!(code, 201, "{body}");
    let id = body["id"].as_str().unwrap().to_string();
    let mut case = Value::Null;
    for _ in 0..240 {
        case = get(&k, &format!("/api/cases/{id}")).await;
        if case["jobs"].as_array().unwrap().iter().all(|j| j["state"] == "done" || j["state"] == "failed") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let jobs = case["jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0]["state"], "done", "{case}");
    assert_eq!(jobs[0]["progress"], 1.0);
    let atts = case["attachments"].as_array().unwrap();
    let role = |r: &str| atts.iter().find(|a| a["role"] == r).unwrap_or_else(|| panic!("no {r} in {case}"));
    let original = role("original");
    assert_eq!(original["hash"].as_str().unwrap(), blake3::hash(&video).to_hex().as_str());
    assert_eq!(original["duration_ms"].as_u64().map(|d| d > 1000), Some(true));
    let proxy = role("proxy");
    assert_eq!(proxy["group"], original["hash"]);
    assert!(proxy["height"].as_u64().unwrap() <= 480);
    let bytes = reqwest::get(format!("{}/blobs/{}", k.url, proxy["hash"].as_str().unwrap()))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let path = k.dir.path().join("proxy-check.mp4");
    std::fs::write(&path, &bytes).unwrap();
    let info = yizhan_media::probe_video(&path, &Default::default()).unwrap();
    assert_eq!(info.video_codec, "h264");
    assert!((bytes.len() as u64) * 8 * 1000 / info.duration_ms.max(1) < 1_000_000, "proxy under 1 Mbit/s");
    let poster = reqwest::get(format!("{}/blobs/{}", k.url, role("poster")["hash"].as_str().unwrap()))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(image::load_from_memory(&poster).is_ok());
    // A range request (video seeking in the browser) is honoured.
    let partial = reqwest::Client::builder()
        .default_headers(csrf_headers())
        .build()
        .unwrap()
        .get(format!("{}/blobs/{}", k.url, proxy["hash"].as_str().unwrap()))
        .header("Range", "bytes=0-99")
        .send()
        .await
        .unwrap();
    assert_eq!(partial.status().as_u16(), 206);
    assert_eq!(partial.bytes().await.unwrap().len(), 100);
}

#[tokio::test]
async fn events_follow_the_service_loop_and_refuse_invalid_steps() {
    let k = start().await;
    let (_, body) = post(&k, fields("水稻")).await;
    let id = body["id"].as_str().unwrap();
    let client = reqwest::Client::builder().default_headers(csrf_headers()).build().unwrap();
    let send = |ev: Value| {
        let client = client.clone();
        let url = format!("{}/api/cases/{id}/events", k.url);
        async move {
            let res = client.post(url).json(&ev).send().await.unwrap();
            (res.status().as_u16(), res.json::<Value>().await.unwrap())
        }
    };
    // Sending it to an expert needs a signed-in officer; with nobody signed in it is refused.
    let (code, body) = send(serde_json::json!({"kind": "escalated", "actor": "李信息员"})).await;
    assert_eq!(code, 401, "{body}");
    assert!(body["message"].as_str().unwrap().contains("登录"), "{body}");
    let cookie = sign_in(&k, "officer-1", "刘芳").await;
    let res = client
        .post(format!("{}/api/cases/{id}/events", k.url))
        .header("Cookie", &cookie)
        .json(&serde_json::json!({"kind": "escalated"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let case: Value = res.json().await.unwrap();
    assert_eq!(case["status"], "awaiting_triage");
    assert_eq!(
        (case["events"][1]["actor"].as_str(), case["events"][1]["actor_name"].as_str()),
        (Some("officer-1"), Some("刘芳"))
    );
    // Escalating twice or an expert's action from the kiosk: refused. Closing and rating need
    // a signed-in officer (401 without one).
    for (ev, expected) in [
        (serde_json::json!({"kind": "escalated", "actor": "李信息员"}), 401),
        (serde_json::json!({"kind": "closed", "actor": "李信息员"}), 401),
        (serde_json::json!({"kind": "assigned", "actor": "李信息员", "target": "x"}), 422),
        (serde_json::json!({"kind": "rated", "actor": "李信息员", "value": 9}), 401),
    ] {
        let (code, body) = send(ev.clone()).await;
        assert_eq!(code, expected, "{ev}: {body}");
        assert!(!body["message"].as_str().unwrap().is_empty());
    }
    let case = get(&k, &format!("/api/cases/{id}")).await;
    assert_eq!(case["events"].as_array().unwrap().len(), 2, "refused events change nothing");
    let missing = client.get(format!("{}/api/cases/no-such-case", k.url)).send().await.unwrap();
    assert_eq!(missing.status().as_u16(), 404);
}

#[tokio::test]
async fn the_phone_number_is_encrypted_at_rest_and_masked_everywhere() {
    let k = start().await;
    let (code, body) = post(&k, fields("茶树").part("photos", file("t.jpg", jpeg(64, 64, None)))).await;
    assert_eq!(code, 201);
    let id = body["id"].as_str().unwrap().to_string();
    // Checkpoint the WAL so the database file holds everything, then scan every file.
    k.state.store.call(|db| db.integrity_check()).await.unwrap();
    let mut scanned = 0;
    for entry in walk(k.dir.path()) {
        let bytes = std::fs::read(&entry).unwrap();
        assert!(!contains(&bytes, b"13812345678"), "{} holds the plain phone number", entry.display());
        scanned += 1;
    }
    assert!(scanned >= 3);
    // The sealed value in the document opens with the key, and only with it.
    let id2 = id.clone();
    let (doc, private) = k
        .state
        .store
        .call(move |db| Ok((db.load_doc(&id2)?, db.load_doc(&format!("{id2}.private"))?)))
        .await
        .unwrap();
    // The case document itself holds no number at all; its private part holds it sealed.
    let case = yizhan_core::CaseDoc::from_doc(&doc.unwrap()).unwrap();
    assert!(case.farmer_phone_sealed.is_empty() && case.farmer_phone_masked.is_empty());
    let private = yizhan_core::private::CasePrivate::from_doc(&private.unwrap()).unwrap();
    assert_eq!(k.state.key.open(&private.farmer_phone_sealed).unwrap(), "13812345678");
    assert!(yizhan_core::FieldKey::from_bytes(&[1; 32]).unwrap().open(&private.farmer_phone_sealed).is_err());
    // Neither the API nor the pages reveal it.
    for path in
        [format!("/api/cases/{id}"), "/api/cases".to_string(), format!("/cases/{id}"), "/cases".to_string()]
    {
        let text = reqwest::get(format!("{}{path}", k.url)).await.unwrap().text().await.unwrap();
        assert!(!text.contains("13812345678"), "{path}");
        assert!(text.contains("138****5678") || path == "/cases", "{path} shows the masked number");
    }
    // Nothing logged (at any level, by any test here) holds it.
    let logs = LOGS.lock().unwrap().clone();
    assert!(contains(&logs, "recorded case".as_bytes()), "the log capture works");
    assert!(!contains(&logs, b"13812345678"), "the phone number reached the log");
    // The key lives outside the database, readable by its owner only.
    let key_meta = std::fs::metadata(k.dir.path().join("keys/field.key")).unwrap();
    assert_eq!(key_meta.len(), 32);
    #[cfg(unix)]
    assert_eq!(std::os::unix::fs::PermissionsExt::mode(&key_meta.permissions()) & 0o777, 0o600);
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() { out.extend(walk(&p)) } else { out.push(p) }
    }
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn health_openapi_and_reference_data() {
    let k = start().await;
    assert_eq!(get(&k, "/healthz").await["status"], "ok");
    let spec = get(&k, "/api/openapi.json").await;
    assert!(spec["openapi"].as_str().unwrap().starts_with("3."));
    for p in ["/api/cases", "/api/cases/{id}", "/api/cases/{id}/events", "/api/status"] {
        assert!(spec["paths"][p].is_object(), "{p} documented");
    }
    assert_eq!(get(&k, "/api/industries").await.as_array().unwrap().len(), 13);
    let towns = get(&k, "/api/regions/510131/children").await;
    assert!(towns.as_array().unwrap().iter().any(|t| t["code"] == "510131001"));
    let form = reqwest::get(format!("{}/cases/new", k.url)).await.unwrap().text().await.unwrap();
    assert!(form.contains("510131001") && form.contains("川粮油"));
    assert_eq!(
        reqwest::get(format!("{}/blobs/{}", k.url, "0".repeat(64))).await.unwrap().status().as_u16(),
        404
    );
    assert_eq!(
        reqwest::get(format!("{}/blobs/..%2F..%2Fetc%2Fpasswd", k.url)).await.unwrap().status().as_u16(),
        404
    );
}

#[tokio::test]
async fn cases_survive_a_restart() {
    let k = start().await;
    let (_, body) = post(&k, fields("玉米").part("photos", file("c.jpg", jpeg(2000, 1500, None)))).await;
    let id = body["id"].as_str().unwrap().to_string();
    let dir = k.dir.path().to_path_buf();
    k.server.abort();
    // Another connection to the same database (as `yizhan check` opens it beside a running
    // node; a second node on the directory is refused) sees everything the kiosk acknowledged.
    // Killing and restarting the process itself is tests/durability.rs.
    let reopened = yizhan_store::Db::open_alongside(yizhan_store::StoreConfig::new(&dir)).unwrap();
    let doc = reopened.load_doc(&id).unwrap().unwrap();
    assert_eq!(yizhan_core::CaseDoc::from_doc(&doc).unwrap().subject, "玉米");
    assert_eq!(reopened.count_cases(&Default::default()).unwrap(), 1);
    assert!(matches!(
        AppState::open(config(&dir, UploadLimits::default()), Arc::new(SystemClock)),
        Err(yizhan_kiosk::StartError::Store { source: yizhan_store::StoreError::InUse { .. }, .. })
    ));
}

fn knowledge(
    id: &str,
    question: &str,
    answer: &str,
    industry: &str,
    crop: &str,
) -> yizhan_similar::KnowledgeCase {
    yizhan_similar::KnowledgeCase {
        id: id.into(),
        question: question.into(),
        answer: answer.into(),
        industry: industry.into(),
        crop: crop.into(),
        season: None,
        region_code: "510131".into(),
        source: "test".into(),
        photo_hashes: vec![],
    }
}

#[tokio::test]
async fn similar_solved_cases_show_while_typing_and_can_close_a_case() {
    let k = start().await;
    {
        let mut idx = k.state.similar.write().unwrap();
        idx.upsert(knowledge(
            "kb-1",
            "柑橘叶片发黄，叶脉绿色怎么办",
            "缺铁黄化：叶面喷施螯合铁",
            "fruit",
            "柑橘",
        ))
        .unwrap();
        idx.upsert(knowledge("kb-2", "水稻叶片有梭形褐色病斑", "稻瘟病：用三环唑防治", "grain_oil", "水稻"))
            .unwrap();
    }
    let hits =
        get(&k, "/api/similar?q=%E6%9F%91%E6%A9%98%E5%8F%B6%E7%89%87%E5%8F%91%E9%BB%84&industry=fruit").await;
    assert_eq!(hits[0]["id"], "kb-1", "{hits}");
    assert!(hits[0]["answer"].as_str().unwrap().contains("螯合铁"));

    // "解决了" on the form: the case is recorded as solved by kb-1, with what was offered.
    let (code, body) = post(
        &k,
        fields("柑橘").text("solved_by", "kb-1").text("offered", "kb-1,kb-2").text("intent", "save"),
    )
    .await;
    assert_eq!(code, 201, "{body}");
    let case = get(&k, &format!("/api/cases/{}", body["id"].as_str().unwrap())).await;
    assert_eq!(case["status"], "solved_by_similar");
    let events = case["events"].as_array().unwrap();
    assert!(events.iter().any(|e| e["kind"] == "similar_offered" && e["target"] == "kb-1,kb-2"));
    assert!(
        events
            .iter()
            .any(|e| e["kind"] == "solved_by_similar" && e["target"] == "kb-1" && e["applied"] == true)
    );

    // "提交专家" on the form sends it on (a signed-in officer's step).
    let cookie = sign_in(&k, "officer-1", "刘芳").await;
    let (code, body) = post_as(&k, &cookie, fields("水稻").text("intent", "escalate")).await;
    assert_eq!(code, 201);
    assert_eq!(
        get(&k, &format!("/api/cases/{}", body["id"].as_str().unwrap())).await["status"],
        "awaiting_triage"
    );

    // A solving case that does not exist is refused and nothing is stored.
    let before = status(&k).await["cases"].as_i64();
    let (code, _) = post(&k, fields("柑橘").text("solved_by", "kb-404")).await;
    assert_eq!(code, 422);
    assert_eq!(status(&k).await["cases"].as_i64(), before);

    // An open case's page offers similar cases with a "解决了" button.
    let (_, body) = post(&k, fields("柑橘")).await;
    let page = reqwest::get(format!("{}/cases/{}", k.url, body["id"].as_str().unwrap()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("data-testid=\"case-similar\"") && page.contains("螯合铁") && page.contains("解决了")
    );
}

#[tokio::test]
async fn knowledge_arriving_by_sync_is_searchable() {
    let k = start().await;
    let kdoc = yizhan_core::KnowledgeDoc {
        doc_type: "knowledge".into(),
        schema: 1,
        id: "kb-x1".into(),
        case_id: "x1".into(),
        question: "茶树嫩叶卷曲发红，有小绿叶蝉".into(),
        answer: "小贯小绿叶蝉：及时分批采摘，喷施联苯菊酯".into(),
        industry: "tea".into(),
        crop: "茶树".into(),
        region_code: "510131".into(),
        photo_hashes: vec![],
        published_at_ms: 1,
        publisher: "hub-510131".into(),
        owner: "王春茶 · 高级农艺师".into(),
        approved_by: "staff".into(),
    };
    // As the sync replica would store it.
    k.state
        .store
        .call(move |db| {
            let mut doc = kdoc.to_doc().unwrap();
            db.create_doc("kb-x1", "knowledge", &mut doc)
        })
        .await
        .unwrap();
    let mut found = Value::Null;
    for _ in 0..100 {
        found = get(&k, "/api/similar?q=%E8%8C%B6%E6%A0%91%E5%8F%B6%E8%9D%89").await; // 茶树叶蝉
        if found.as_array().is_some_and(|a| !a.is_empty()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(found[0]["id"], "kb-x1", "{found}");
    // Knowledge is not a case: the case list does not show it.
    assert_eq!(status(&k).await["cases"], 0);
}

const PASSWORD: &str = "correct-horse-battery-staple";

/// Adds an officer of the kiosk's town to the directory and signs her in; returns the `Cookie`.
async fn sign_in(k: &Kiosk, id: &str, name: &str) -> String {
    let np = yizhan_core::NewPerson {
        id: id.into(),
        name: name.into(),
        role: "officer".into(),
        region_code: "510131001".into(),
        ..Default::default()
    };
    k.state.accounts.create_person(&np, Some(PASSWORD)).await.unwrap();
    let res = reqwest::Client::builder()
        .default_headers(csrf_headers())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("{}/signin/password", k.url))
        .header("Origin", &k.url)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!("id={id}&password={PASSWORD}&next=%2Fcases"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 303, "signing in {id}");
    let cookie = res.headers().get("set-cookie").unwrap().to_str().unwrap();
    // The session cookie and this test browser's cross-site token cookie, sent together.
    format!("{}; {}={CSRF}", cookie.split(';').next().unwrap(), yizhan_web::CSRF_COOKIE)
}

async fn post_as(k: &Kiosk, cookie: &str, form: Form) -> (u16, Value) {
    let res = client()
        .post(format!("{}/api/cases", k.url))
        .header("Cookie", cookie)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap())
}

async fn page(k: &Kiosk, cookie: Option<&str>, path: &str) -> String {
    let mut req = client().get(format!("{}{path}", k.url));
    if let Some(c) = cookie {
        req = req.header("Cookie", c);
    }
    req.send().await.unwrap().text().await.unwrap()
}

/// Appends an event as another node would have (the hub's assignment and answer, say).
async fn append(k: &Kiosk, id: &str, ev: yizhan_core::Event) {
    let id = id.to_string();
    k.state
        .store
        .call(move |db| {
            db.update_doc(&id, move |doc| yizhan_core::CaseDoc::append_event(doc, ev).map(|_| ()))
        })
        .await
        .unwrap()
        .unwrap();
}

fn event(
    id: &str,
    actor: &str,
    kind: yizhan_core::EventKind,
    target: &str,
    text: &str,
) -> yizhan_core::Event {
    let mut ev = yizhan_core::Event::new(id, 0, actor, kind);
    ev.target = target.into();
    ev.text = text.into();
    ev
}

/// The timeline section of a case page.
fn timeline(html: &str) -> &str {
    let start = html.find("data-testid=\"timeline\"").unwrap();
    let end = html[start..].find("</ol>").unwrap();
    &html[start..start + end]
}

#[tokio::test]
async fn the_signed_in_officer_is_recorded_by_id_and_name_and_escalating_needs_her() {
    let k = start().await;
    // With nobody signed in, "提交专家" on the form is refused, in Chinese, and nothing is stored.
    let (code, body) = post(&k, fields("柑橘").text("intent", "escalate")).await;
    assert_eq!(code, 401, "{body}");
    assert!(body["message"].as_str().unwrap().contains("登录"), "{body}");
    let res = client()
        .post(format!("{}/cases", k.url))
        .multipart(fields("柑橘").text("intent", "escalate"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 401);
    let html = res.text().await.unwrap();
    assert!(html.contains("data-testid=\"form-error\"") && html.contains("请先用信息员账号登录"), "{html}");
    assert_nothing_stored(&k).await;
    // The form names the officer; there is no field to type one in.
    let anonymous_form = page(&k, None, "/cases/new").await;
    assert!(!anonymous_form.contains("name=\"officer\""));
    assert!(anonymous_form.contains("未登录") && anonymous_form.contains("/signin?next=/cases/new"));
    assert!(!anonymous_form.contains("value=\"escalate\""), "no 提交专家 without sign-in");
    let cookie = sign_in(&k, "officer-1", "刘芳").await;
    let form = page(&k, Some(&cookie), "/cases/new").await;
    assert!(
        !form.contains("name=\"officer\"") && form.contains("刘芳") && form.contains("value=\"escalate\"")
    );

    // Signed in: her id and her name are recorded, whatever the request says the officer is.
    let (code, body) =
        post_as(&k, &cookie, fields("柑橘").text("officer", "冒名顶替").text("intent", "escalate")).await;
    assert_eq!(code, 201, "{body}");
    let id = body["id"].as_str().unwrap().to_string();
    let case = get(&k, &format!("/api/cases/{id}")).await;
    assert_eq!((case["officer"].as_str(), case["officer_id"].as_str()), (Some("刘芳"), Some("officer-1")));
    assert_eq!(case["officer_signed_in"], true);
    assert_eq!(case["status"], "awaiting_triage");
    for e in case["events"].as_array().unwrap() {
        assert_eq!((e["actor"].as_str(), e["actor_name"].as_str()), (Some("officer-1"), Some("刘芳")), "{e}");
    }
    let list = get(&k, "/api/cases").await;
    assert_eq!(
        (list[0]["officer"].as_str(), list[0]["officer_signed_in"].as_bool()),
        (Some("刘芳"), Some(true))
    );

    // The county assigns and the expert answers (events as they arrive by sync); the officer
    // closes. Every step in the timeline names a person or a centre, never an account id.
    append(
        &k,
        &id,
        event("e-asg", "staff-7", yizhan_core::EventKind::Assigned, "expert-fruit", "李果 · 高级农艺师"),
    )
    .await;
    append(&k, &id, event("e-ans", "expert-fruit", yizhan_core::EventKind::Answered, "", "喷施氢氧化铜"))
        .await;
    let res = client()
        .post(format!("{}/api/cases/{id}/events", k.url))
        .header("Cookie", &cookie)
        .json(&serde_json::json!({"kind": "closed"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let html = page(&k, None, &format!("/cases/{id}")).await;
    let tl = timeline(&html);
    assert!(
        tl.contains("办结") && tl.contains("刘芳") && tl.contains("李果") && tl.contains("县运管中心"),
        "{tl}"
    );
    for account in ["officer-1", "expert-fruit", "staff-7"] {
        assert!(!tl.contains(account), "the timeline shows the account id {account}: {tl}");
    }
    assert!(!html.contains("data-testid=\"unsigned\""), "a signed-in officer's case is not marked 未登录");
}

#[tokio::test]
async fn with_nobody_signed_in_add_event_refuses_what_a_signed_in_officer_would_be_refused() {
    let k = start().await;
    // A case of a town outside this kiosk's region (510131), as another node recorded it.
    let new = yizhan_core::NewCase { region_code: "510104017".into(), ..Default::default() };
    let new = yizhan_core::NewCase {
        industry: "fruit".into(),
        subject: "柑橘".into(),
        description: "叶片发黄".into(),
        officer: "x".into(),
        ..new
    };
    let (_, mut doc) = yizhan_core::CaseDoc::create(
        &new,
        "elsewhere",
        "kiosk-b",
        yizhan_core::Event::new("c0", 1, "x", yizhan_core::EventKind::Created),
    )
    .unwrap();
    k.state.store.call(move |db| db.create_doc("elsewhere", "case", &mut doc)).await.unwrap();
    let input = |kind: &str| yizhan_kiosk::service::EventInput {
        kind: kind.into(),
        text: String::new(),
        target: "kb-1".into(),
        value: 0,
        category: String::new(),
    };
    // An officer of this kiosk's region may not act on it; nor may nobody.
    let officer = yizhan_core::Actor {
        person_id: "officer-1".into(),
        name: "刘芳".into(),
        role: yizhan_core::Role::Officer,
        region: RegionCode::parse("510131").unwrap(),
    };
    for who in [Some(&officer), None] {
        for kind in ["solved_by_similar", "similar_offered"] {
            let e =
                yizhan_kiosk::service::add_event(&k.state, "elsewhere", input(kind), who).await.unwrap_err();
            assert!(
                matches!(e, yizhan_kiosk::error::AppError::Forbidden(yizhan_core::Denied::OutOfRegion)),
                "{kind} by {who:?}: {e}"
            );
        }
    }
    // Steps that need a person are refused outright with nobody signed in.
    for kind in ["escalated", "closed", "rated"] {
        let e = yizhan_kiosk::service::add_event(&k.state, "elsewhere", input(kind), None).await.unwrap_err();
        assert!(matches!(e, yizhan_kiosk::error::AppError::SignInRequired), "{kind}: {e}");
    }
    let doc = k.state.store.call(|db| db.load_doc("elsewhere")).await.unwrap().unwrap();
    assert_eq!(yizhan_core::CaseDoc::from_doc(&doc).unwrap().events.len(), 1, "nothing appended");
    // On a case of its own region, nobody may still record what the form records.
    let (_, body) = post(&k, fields("柑橘")).await;
    let id = body["id"].as_str().unwrap();
    let st = yizhan_kiosk::service::add_event(&k.state, id, input("similar_offered"), None).await.unwrap();
    assert_eq!(st.status, yizhan_core::Status::Open);
}

#[tokio::test]
async fn every_status_has_its_own_wording_and_only_valid_steps_are_offered() {
    use yizhan_core::EventKind as K;
    let k = start().await;
    let (_, body) = post(&k, fields("柑橘")).await;
    let id = body["id"].as_str().unwrap().to_string();
    let mut rating = event("e7", "officer-1", K::Rated, "", "");
    rating.value = 5;
    let mut follow = event("e8", "staff-7", K::FollowedUp, "", "");
    follow.value = 1;
    follow.category = "病虫害防治".into();
    let steps: Vec<(Option<yizhan_core::Event>, &str, &str, &[&str])> = vec![
        (None, "待处理", "尚未提交专家", &["提交专家"]),
        (Some(event("e1", "officer-1", K::Escalated, "", "")), "待分诊", "等待分派专家", &[]),
        (
            Some(event("e2", "staff-7", K::Assigned, "expert-fruit", "李果")),
            "待专家答复",
            "等待专家答复",
            &[],
        ),
        (Some(event("e3", "expert-fruit", K::OnSiteRequested, "", "")), "上门服务中", "上门", &[]),
        (
            Some(event("e4", "expert-fruit", K::Answered, "", "喷药")),
            "专家已答复",
            "问题解决后请办结",
            &["办结"],
        ),
        (Some(event("e5", "officer-1", K::Closed, "", "")), "已办结", "请评价专家", &["提交评价"]),
        (Some(rating), "已办结", "县运管中心将电话回访", &[]),
        (Some(follow), "已回访", "已回访", &[]),
    ];
    for (ev, status, note, offered) in steps {
        if let Some(ev) = ev {
            append(&k, &id, ev).await;
        }
        let html = page(&k, None, &format!("/cases/{id}")).await;
        assert!(html.contains(&format!("data-testid=\"status\">{status}<")), "{status}");
        let note_at = html.find("data-testid=\"status-note\"").unwrap();
        let note_html = &html[note_at..note_at + html[note_at..].find("</p>").unwrap()];
        assert!(note_html.contains(note), "{status}: {note_html}");
        assert!(!html.contains("等待县运管中心和专家处理"), "{status}");
        for (button, testid) in [("提交专家", "escalate"), ("办结", "close"), ("提交评价", "rate")]
        {
            let shown = html.contains(&format!("data-testid=\"{testid}\""));
            assert_eq!(shown, offered.contains(&button), "{status}: {button}");
        }
        let list = page(&k, None, "/cases").await;
        assert!(list.contains(&format!(">{status}<")), "the list shows {status}");
    }
}

#[tokio::test]
async fn a_case_solved_by_a_similar_case_shows_the_answer_that_solved_it() {
    let k = start().await;
    let kdoc = yizhan_core::KnowledgeDoc {
        doc_type: "knowledge".into(),
        schema: 1,
        id: "kb-x1".into(),
        case_id: "x1".into(),
        question: "柑橘叶片发黄，叶脉绿色".into(),
        answer: "缺铁黄化：叶面喷施螯合铁".into(),
        industry: "fruit".into(),
        crop: "柑橘".into(),
        region_code: "510131".into(),
        photo_hashes: vec![],
        published_at_ms: 1,
        publisher: "hub-510131".into(),
        owner: "王春茶 · 高级农艺师".into(),
        approved_by: "staff".into(),
    };
    k.state
        .store
        .call(move |db| {
            let mut doc = kdoc.to_doc().unwrap();
            db.create_doc("kb-x1", "knowledge", &mut doc)
        })
        .await
        .unwrap();
    for _ in 0..100 {
        if k.state.similar.read().unwrap().contains("kb-x1") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Recorded without a farmer (the officer's own question).
    let (code, body) =
        post(&k, fields("柑橘").text("farmer_name", "").text("farmer_phone", "").text("solved_by", "kb-x1"))
            .await;
    assert_eq!(code, 201, "{body}");
    let id = body["id"].as_str().unwrap().to_string();
    let html = page(&k, None, &format!("/cases/{id}")).await;
    let at = html.find("data-testid=\"solved-by\"").expect("the solving answer is shown");
    let section = &html[at..at + html[at..].find("</section>").unwrap()];
    assert!(section.contains("螯合铁") && section.contains("知识产权：王春茶 · 高级农艺师"), "{section}");
    assert!(!html.contains("<dt>农户</dt>"), "no empty 农户 row");
    assert!(html.contains("data-testid=\"close\""), "closing is valid for a solved case");
    let case = get(&k, &format!("/api/cases/{id}")).await;
    assert_eq!(case["solved_by"]["owner"], "王春茶 · 高级农艺师");
    assert!(case["solved_by"]["answer"].as_str().unwrap().contains("螯合铁"));
    // Once closed, 办结 is no longer offered, and the page says it is closed.
    let cookie = sign_in(&k, "officer-1", "刘芳").await;
    let res = client()
        .post(format!("{}/api/cases/{id}/events", k.url))
        .header("Cookie", &cookie)
        .json(&serde_json::json!({"kind": "closed"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let html = page(&k, Some(&cookie), &format!("/cases/{id}")).await;
    assert!(!html.contains("data-testid=\"close\""), "no 办结 on a closed case");
    assert!(html.contains("服务已办结") && html.contains("data-testid=\"solved-by\""));
    assert!(!html.contains("请评价专家"), "no expert to rate");
}

/// APP1 Exif with Orientation 6 and a GPS IFD holding a latitude (a recognisable rational).
fn jpeg_with_gps(w: u32, h: u32) -> (Vec<u8>, [u8; 8]) {
    const SECONDS: [u8; 8] = [0xD2, 0x04, 0, 0, 0x64, 0, 0, 0]; // 1234/100
    let plain = jpeg(w, h, None);
    let mut tiff = b"II\x2A\x00".to_vec();
    tiff.extend_from_slice(&8u32.to_le_bytes());
    tiff.extend_from_slice(&2u16.to_le_bytes());
    for (tag, typ, count, value) in [(0x0112u16, 3u16, 1u32, 6u32), (0x8825, 4, 1, 38)] {
        tiff.extend_from_slice(&tag.to_le_bytes());
        tiff.extend_from_slice(&typ.to_le_bytes());
        tiff.extend_from_slice(&count.to_le_bytes());
        tiff.extend_from_slice(&value.to_le_bytes());
    }
    tiff.extend_from_slice(&0u32.to_le_bytes());
    assert_eq!(tiff.len(), 38);
    tiff.extend_from_slice(&1u16.to_le_bytes());
    tiff.extend_from_slice(&0x0002u16.to_le_bytes()); // GPSLatitude, RATIONAL x3 at 56
    tiff.extend_from_slice(&5u16.to_le_bytes());
    tiff.extend_from_slice(&3u32.to_le_bytes());
    tiff.extend_from_slice(&56u32.to_le_bytes());
    tiff.extend_from_slice(&0u32.to_le_bytes());
    assert_eq!(tiff.len(), 56);
    for v in [30u32, 1, 39, 1] {
        tiff.extend_from_slice(&v.to_le_bytes());
    }
    tiff.extend_from_slice(&SECONDS);
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&tiff);
    let mut out = vec![0xFF, 0xD8, 0xFF, 0xE1];
    out.extend_from_slice(&u16::try_from(app1.len() + 2).unwrap().to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&plain[2..]);
    (out, SECONDS)
}

#[tokio::test]
async fn the_original_photo_served_without_sign_in_carries_no_location() {
    use image::ImageDecoder;
    let k = start().await;
    let (photo, gps) = jpeg_with_gps(400, 200);
    assert!(contains(&photo, &gps));
    let (code, body) = post(&k, fields("柑橘").part("photos", file("gps.jpg", photo.clone()))).await;
    assert_eq!(code, 201, "{body}");
    let case = get(&k, &format!("/api/cases/{}", body["id"].as_str().unwrap())).await;
    let original =
        case["attachments"].as_array().unwrap().iter().find(|a| a["role"] == "original").unwrap().clone();
    let hash = original["hash"].as_str().unwrap();
    let served =
        reqwest::get(format!("{}/blobs/{hash}", k.url)).await.unwrap().bytes().await.unwrap().to_vec();
    assert_eq!(blake3::hash(&served).to_hex().as_str(), hash, "the hash is of the stored (stripped) bytes");
    assert!(!contains(&served, &gps), "the GPS latitude is still in the original");
    assert!(!contains(&served, &0x8825u16.to_le_bytes()), "a GPS IFD pointer is still in the original");
    // The same pixels (not re-encoded), and still upright: the orientation is kept.
    let pixels =
        |b: &[u8]| image::load_from_memory_with_format(b, image::ImageFormat::Jpeg).unwrap().to_rgb8();
    assert_eq!(pixels(&served), pixels(&photo));
    let mut decoder =
        image::ImageReader::with_format(std::io::Cursor::new(&served), image::ImageFormat::Jpeg)
            .into_decoder()
            .unwrap();
    assert_eq!(decoder.orientation().unwrap(), image::metadata::Orientation::Rotate90);
    assert_eq!((original["width"].as_u64(), original["height"].as_u64()), (Some(200), Some(400)));
    // Nor does any copy, nor any file on the kiosk's disk.
    k.state.store.call(|db| db.integrity_check()).await.unwrap();
    for f in walk(k.dir.path()) {
        assert!(!contains(&std::fs::read(&f).unwrap(), &gps), "{} holds the GPS latitude", f.display());
    }
}

#[tokio::test]
async fn the_form_previews_chosen_photos_in_the_browser() {
    let k = start().await;
    let form = page(&k, None, "/cases/new").await;
    assert!(form.contains("data-preview=\"#photo-previews\"") && form.contains("id=\"photo-previews\""));
    let js = page(&k, None, "/static/app.js").await;
    assert!(js.contains("URL.createObjectURL") && js.contains("已选 "));
}
