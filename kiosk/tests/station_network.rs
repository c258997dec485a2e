//! A kiosk listening beyond loopback (`--listen 0.0.0.0:8080`, for the station's tablets):
//! everything that shows or changes a case needs a signed-in person; the sign-in page, its
//! assets and the health check do not. On loopback, recording needs no sign-in (other tests).
#![allow(clippy::unwrap_used)]

#[allow(dead_code)]
mod common;

use common::*;
use yizhan_kiosk::UploadLimits;

/// A kiosk configured to listen on every address, served here on loopback.
async fn start_on_station_network() -> Kiosk {
    start_configured(|c| c.listen = "0.0.0.0:8080".parse().unwrap(), UploadLimits::default()).await
}

async fn status_of(k: &Kiosk, cookie: Option<&str>, path: &str) -> (u16, String) {
    let mut req = reqwest::Client::builder()
        .default_headers(csrf_headers())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("{}{path}", k.url));
    if let Some(c) = cookie {
        req = req.header("Cookie", c);
    }
    let res = req.send().await.unwrap();
    let location = res.headers().get("location").map(|l| l.to_str().unwrap().to_string()).unwrap_or_default();
    (res.status().as_u16(), location)
}

#[tokio::test]
async fn on_the_station_network_cases_photos_and_the_api_need_sign_in() {
    let k = start_on_station_network().await;
    // An officer records a case with a photo (signed in), so there is something to protect.
    let cookie = sign_in(&k, "officer-a", "李信息员").await;
    let form = fields("柑橘黄叶").part("photos", file("leaf.jpg", jpeg(640, 480, None)));
    let (code, body) = post_as(&k, &cookie, form).await;
    assert_eq!(code, 201, "{body}");
    let id = body["id"].as_str().unwrap().to_string();
    let case = get_with(&k, &cookie, &format!("/api/cases/{id}")).await;
    let photo = case["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["role"] == "original")
        .map(|a| a["hash"].as_str().unwrap().to_string())
        .unwrap();

    // Without a session: pages and the photo go to sign-in, the API answers 401.
    for path in ["/", "/cases", "/cases/new", &format!("/cases/{id}"), &format!("/blobs/{photo}")] {
        let (status, location) = status_of(&k, None, path).await;
        assert_eq!(status, 303, "{path}");
        assert!(location.starts_with("/signin"), "{path} -> {location}");
    }
    for path in ["/api/cases", &format!("/api/cases/{id}"), "/api/similar?q=黄叶"] {
        assert_eq!(status_of(&k, None, path).await.0, 401, "{path}");
    }
    // Nor can a case be recorded or changed without one; nothing is stored.
    let (code, _) = post(&k, fields("偷偷记录")).await;
    assert_eq!(code, 401);
    let res = client()
        .post(format!("{}/api/cases/{id}/events", k.url))
        .json(&serde_json::json!({ "kind": "closed" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 401);
    assert_eq!(status(&k).await["cases"].as_i64(), Some(1));

    // What holds nothing personal stays open: sign-in, its assets, health, the API description.
    for path in ["/signin", "/static/app.css", "/healthz", "/api/openapi.json", "/api/industries"] {
        assert_eq!(status_of(&k, None, path).await.0, 200, "{path}");
    }
    // Published content is public: the modules' lists, every published item's list.
    for path in ["/industry", "/items", "/supply", "/achievements"] {
        let (status, body) = status_of(&k, None, path).await;
        assert_eq!(status, 200, "{path}: {body}");
    }
    // Drafting a listing for a farmer is not: the form sends to sign-in, a post is refused and
    // stores nothing.
    let (status, location) = status_of(&k, None, "/supply/new").await;
    assert!(status == 303 && location.starts_with("/signin"), "{status} {location}");
    let res = reqwest::Client::builder()
        .default_headers(csrf_headers())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("{}/supply", k.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("kind=supply.offer&title=%E5%81%B7%E5%81%B7")
        .send()
        .await
        .unwrap();
    let location = res.headers().get("location").map(|l| l.to_str().unwrap().to_string());
    assert!(
        res.status().is_client_error() || location.as_deref().is_some_and(|l| l.starts_with("/signin")),
        "{} {location:?}",
        res.status()
    );
    // Signed in, everything is there.
    for path in ["/cases", &format!("/cases/{id}"), &format!("/blobs/{photo}"), "/api/cases"] {
        assert_eq!(status_of(&k, Some(&cookie), path).await.0, 200, "{path}");
    }
}

async fn get_with(k: &Kiosk, cookie: &str, path: &str) -> serde_json::Value {
    client()
        .get(format!("{}{path}", k.url))
        .header("Cookie", cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}
