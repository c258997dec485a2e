//! The kiosk over real HTTP on loopback, with a real SQLite file, real photos and a real video.
//!
//! One test binary: the log capture (`common::LOGS`) sees what every test here logs, and the
//! phone-number test checks all of it. Sign-in, identity and events are in `api/officer.rs`;
//! find-similar is in `api/similar.rs`.
#![allow(clippy::unwrap_used)]

mod common;
#[path = "api/officer.rs"]
mod officer;
#[path = "api/similar.rs"]
mod similar;

use std::sync::Arc;
use std::time::Duration;

use reqwest::multipart::Form;
use serde_json::Value;
use yizhan_kiosk::{AppState, SystemClock, UploadLimits};

use common::*;

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
