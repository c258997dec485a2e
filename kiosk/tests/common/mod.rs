//! What the kiosk's HTTP tests share: a kiosk on loopback, forms, photos, sign-in and the log capture.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use reqwest::multipart::{Form, Part};
use serde_json::Value;
use yizhan_core::RegionCode;
use yizhan_kiosk::{AppState, KioskConfig, SystemClock, UploadLimits};

pub struct Kiosk {
    pub url: String,
    pub dir: tempfile::TempDir,
    pub state: AppState,
    pub server: tokio::task::JoinHandle<()>,
}

impl Drop for Kiosk {
    fn drop(&mut self) {
        self.server.abort();
    }
}

pub fn config(dir: &Path, limits: UploadLimits) -> KioskConfig {
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
pub static LOGS: std::sync::LazyLock<Arc<std::sync::Mutex<Vec<u8>>>> = std::sync::LazyLock::new(|| {
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

pub async fn start_with(limits: UploadLimits) -> Kiosk {
    start_configured(|_| {}, limits).await
}

/// A kiosk whose configuration `tune` adjusts (it is served on loopback whatever it says).
pub async fn start_configured(tune: impl FnOnce(&mut KioskConfig), limits: UploadLimits) -> Kiosk {
    std::sync::LazyLock::force(&LOGS);
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path(), limits);
    tune(&mut cfg);
    let state = AppState::open(cfg, Arc::new(SystemClock)).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let s = state.clone();
    let server = tokio::spawn(async move {
        yizhan_kiosk::serve(s, listener).await.unwrap();
    });
    Kiosk { url, dir, state, server }
}

pub async fn start() -> Kiosk {
    start_with(UploadLimits::default()).await
}

/// A JPEG whose left half is red and right half blue, optionally with an EXIF Orientation.
pub fn jpeg(w: u32, h: u32, orientation: Option<u16>) -> Vec<u8> {
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
pub const CSRF: &str = "0123456789abcdef0123456789abcdef";

pub fn csrf_headers() -> reqwest::header::HeaderMap {
    let mut h = reqwest::header::HeaderMap::new();
    h.insert("cookie", format!("{}={CSRF}", yizhan_web::CSRF_COOKIE).parse().unwrap());
    h.insert(yizhan_web::CSRF_HEADER, CSRF.parse().unwrap());
    h
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder().default_headers(csrf_headers()).build().unwrap()
}

pub fn fields(subject: &str) -> Form {
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

pub fn file(name: &str, bytes: Vec<u8>) -> Part {
    Part::bytes(bytes).file_name(name.to_string())
}

pub async fn post(k: &Kiosk, form: Form) -> (u16, Value) {
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

pub async fn get(k: &Kiosk, path: &str) -> Value {
    reqwest::get(format!("{}{path}", k.url)).await.unwrap().json().await.unwrap()
}

pub async fn status(k: &Kiosk) -> Value {
    get(k, "/api/status").await
}

pub async fn assert_nothing_stored(k: &Kiosk) {
    let s = status(k).await;
    assert_eq!((s["cases"].as_i64(), s["blobs"].as_i64()), (Some(0), Some(0)), "{s}");
    let tmp = k.dir.path().join("blobs/tmp");
    assert_eq!(std::fs::read_dir(tmp).unwrap().count(), 0, "no temporary blob left behind");
}

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../media/tests/fixtures").join(name)
}

pub fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() { out.extend(walk(&p)) } else { out.push(p) }
    }
    out
}

pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

pub const PASSWORD: &str = "correct-horse-battery-staple";

/// Adds an officer of the kiosk's town to the directory and signs her in; returns the `Cookie`.
pub async fn sign_in(k: &Kiosk, id: &str, name: &str) -> String {
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

pub async fn post_as(k: &Kiosk, cookie: &str, form: Form) -> (u16, Value) {
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

pub async fn page(k: &Kiosk, cookie: Option<&str>, path: &str) -> String {
    let mut req = client().get(format!("{}{path}", k.url));
    if let Some(c) = cookie {
        req = req.header("Cookie", c);
    }
    req.send().await.unwrap().text().await.unwrap()
}

/// Appends an event as another node would have (the hub's assignment and answer, say).
pub async fn append(k: &Kiosk, id: &str, ev: yizhan_core::Event) {
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

pub fn event(
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
pub fn timeline(html: &str) -> &str {
    let start = html.find("data-testid=\"timeline\"").unwrap();
    let end = html[start..].find("</ol>").unwrap();
    &html[start..start + end]
}
