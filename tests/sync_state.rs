//! Honest sync state (issue 13): the kiosk says "已全部同步" and shows a case "已到县中心" only
//! once the county hub holds what it needs, as the hub told it over real QUIC with real
//! certificates on loopback (a county hub and the kiosk application with its HTTP server).
//! The kiosk's uplink is capped so the photo's original is seen on its way.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use serde_json::Value;
use yizhan_store::Hash;
use yizhan_test_support::{Kiosk, Pki, eventually, start_hub};

/// A noisy photo, large enough that its original takes seconds at the test's send cap.
fn photo() -> Vec<u8> {
    let mut seed = 7u32;
    let img = image::RgbImage::from_fn(1600, 1200, |x, y| {
        seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        let n = (seed >> 24) as u8 / 3;
        image::Rgb([(x / 7) as u8 ^ n, (y / 5) as u8 ^ n, ((x + y) / 11) as u8 ^ n])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90).encode_image(&img).unwrap();
    out.into_inner()
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().default_headers(yizhan_web::client_headers()).build().unwrap()
}

async fn post_case(kiosk: &Kiosk) -> String {
    let form = reqwest::multipart::Form::new()
        .text("industry", "fruit")
        .text("subject", "猕猴桃叶片发黄")
        .text("description", "叶片边缘发黄卷曲，果园一半的树都这样")
        .text("region_code", kiosk.state.config.scope.as_str().to_string())
        .text("farmer_name", "王大爷")
        .text("farmer_phone", "13812345678")
        .text("officer", "李信息员")
        .part(
            "photos",
            reqwest::multipart::Part::bytes(photo()).file_name("leaf.jpg").mime_str("image/jpeg").unwrap(),
        );
    let res = client().post(format!("{}/api/cases", kiosk.url)).multipart(form).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 201);
    res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string()
}

async fn get_text(url: String) -> String {
    client().get(url).send().await.unwrap().text().await.unwrap()
}

async fn get_json(url: String) -> Value {
    client().get(url).send().await.unwrap().json().await.unwrap()
}

/// The header's sync words on a kiosk page.
fn header_sync(page: &str) -> String {
    let start = page.find("data-testid=\"unsynced\"").unwrap();
    let rest = &page[start..];
    let open = rest.find('>').unwrap() + 1;
    let close = rest.find("</span>").unwrap();
    rest[open..close].to_string()
}

/// Which of `hashes` the hub holds, and whether it holds the case document.
async fn hub_holds(hub: &yizhan_hub::Hub, case_id: &str, hashes: &[(String, String)]) -> (bool, Vec<bool>) {
    let (id, hashes) = (case_id.to_string(), hashes.to_vec());
    hub.store
        .call(move |db| {
            let doc = db.load_doc(&id)?.is_some();
            let mut held = Vec::new();
            for (hash, _) in &hashes {
                held.push(db.blob(&Hash::parse(hash).unwrap())?.is_some());
            }
            Ok((doc, held))
        })
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kiosk_says_all_synced_only_once_the_county_holds_every_blob() {
    let pki = Pki::new();
    let county_ca = Pki::hub(&pki.province, "510131");
    let dirs: Vec<_> = (0..2).map(|_| tempfile::tempdir().unwrap()).collect();
    let county = start_hub(dirs[0].path(), &pki.hub_tls(&county_ca), None).await;
    let kiosk = Kiosk::start(dirs[1].path(), &county_ca, &pki.province, "kiosk-a", "510131001001").await;

    // Recorded offline: nothing has reached the county.
    let case_id = post_case(&kiosk).await;
    let list = get_text(format!("{}/cases", kiosk.url)).await;
    let words = header_sync(&list);
    assert!(words.contains("未同步") && words.contains("待传 1 张照片"), "{words}");
    assert!(!list.contains("已到县中心") && !list.contains("全部同步"));
    let case: Value = get_json(format!("{}/api/cases/{case_id}", kiosk.url)).await;
    let blobs: Vec<(String, String)> = case["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["hash"].as_str().unwrap().to_string(), a["role"].as_str().unwrap().to_string()))
        .collect();
    let needed: Vec<bool> = blobs.iter().map(|(_, role)| role != "original").collect();
    assert!(needed.iter().any(|n| *n) && needed.iter().any(|n| !*n), "{blobs:?}");

    // Linked at 300 kB/s: the documents arrive at once, the copies soon, the original later.
    kiosk.link_tuned(&county, |n| n.send_bytes_per_s_max = Some(300_000));
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut seen_waiting_for_blobs = false;
    let mut seen_at_county_with_original_missing = false;
    loop {
        // The kiosk's words first, then what the hub holds: a hub never loses a blob, so what
        // it lacks now it lacked when the kiosk spoke.
        let page = get_text(format!("{}/cases/{case_id}", kiosk.url)).await;
        let list = get_text(format!("{}/cases", kiosk.url)).await;
        let status = get_json(format!("{}/api/status", kiosk.url)).await;
        let api_case = get_json(format!("{}/api/cases/{case_id}", kiosk.url)).await;
        let (doc_at_hub, held) = hub_holds(&county, &case_id, &blobs).await;
        // Each view was taken at its own moment (the state moves between them): each claim
        // is checked against what the hub held after all of them.
        let words = header_sync(&page);
        let all_synced = words.contains("全部同步");
        let all_claims = [
            all_synced,
            header_sync(&list).contains("全部同步"),
            status["to_county"]["all_synced"].as_bool().unwrap(),
        ];
        let needed_held = blobs.iter().zip(&held).all(|((_, role), h)| *h || role == "original");
        let at_county = page.contains("data-testid=\"at-county\"");
        let at_claims =
            [at_county, api_case["at_county"].as_bool().unwrap(), list.contains("data-testid=\"at-county\"")];
        if all_claims.iter().any(|c| *c) {
            assert!(doc_at_hub && held.iter().all(|h| *h), "全部同步 while the hub lacks {held:?}");
        }
        if at_claims.iter().any(|c| *c) {
            assert!(doc_at_hub && needed_held, "已到县中心 while the hub lacks {held:?}");
        }
        let link = page.contains("已同步 ");
        if link {
            assert!(held.iter().all(|h| *h), "已同步 while the hub lacks {held:?}");
        }
        if doc_at_hub && !held.iter().all(|h| *h) {
            assert!(!all_synced && words.contains("待传"), "{words}");
            seen_waiting_for_blobs = true;
        }
        if at_county && !held.iter().all(|h| *h) {
            seen_at_county_with_original_missing = true;
        }
        if all_synced {
            break;
        }
        assert!(Instant::now() < deadline, "never all synced: {words}; hub holds {held:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(seen_waiting_for_blobs, "the documents were never seen at the hub before the blobs");
    assert!(seen_at_county_with_original_missing, "the case was never at the county before its original");

    // Everything arrived: the case is at the county, nothing is left to send, and the rate the
    // estimate uses was measured (under the cap).
    let page = get_text(format!("{}/cases/{case_id}", kiosk.url)).await;
    assert!(page.contains("已到县中心"));
    let status = get_json(format!("{}/api/status", kiosk.url)).await;
    let to_county = &status["to_county"];
    assert_eq!(to_county["bytes_to_send"], 0, "{status}");
    assert_eq!(to_county["photos_to_send"], 0);
    let rate = to_county["measured_bytes_per_s"].as_u64().unwrap();
    assert!(rate > 10_000 && rate < 400_000, "measured {rate} B/s under a 300 kB/s cap");

    // The kiosk keeps what it learnt: a restart still shows everything at the county without
    // asking again (and a new case is again waiting).
    eventually("the link settles as synced", || async {
        get_text(format!("{}/cases", kiosk.url)).await.contains("已同步 ")
    })
    .await;
    let stored = kiosk.state.store.call(|db| db.upload_backlog()).await.unwrap();
    assert!(stored.is_empty(), "{stored:?}");
}
