//! Issue 10: the kiosk refuses cross-site posts (another site, another port of this host, no
//! token) to its form and its API, stores nothing for them, and sends the security headers.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use reqwest::multipart::Form;
use reqwest::{Client, StatusCode};
use yizhan_core::RegionCode;
use yizhan_kiosk::{AppState, KioskConfig, SystemClock, UploadLimits};

/// The walkthrough's forged post: `curl -H 'Origin: http://evil.example' -F ... /cases`.
fn forged() -> Form {
    Form::new()
        .text("industry", "pig")
        .text("subject", "假")
        .text("description", "跨站")
        .text("officer", "x")
        .text("region_code", "510131001001")
        .text("intent", "escalate")
}

async fn cases(state: &AppState) -> i64 {
    state.store.call(|db| db.count_cases(&Default::default())).await.unwrap()
}

#[tokio::test]
async fn cross_site_posts_are_refused_and_store_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let config = KioskConfig {
        data_dir: dir.path().to_path_buf(),
        key_file: dir.path().join("keys/field.key"),
        listen: "127.0.0.1:0".parse().unwrap(),
        scope: RegionCode::parse("510131").unwrap(),
        limits: UploadLimits::default(),
        node_id: None,
    };
    let state = AppState::open(config, Arc::new(SystemClock)).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let base = format!("http://{addr}");
    let server = tokio::spawn(yizhan_kiosk::serve(state.clone(), listener));
    let sibling = format!("http://127.0.0.1:{}", addr.port().wrapping_add(1));
    let plain = Client::builder().no_proxy().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let with_token = Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(yizhan_web::client_headers())
        .build()
        .unwrap();

    for path in ["/cases", "/api/cases"] {
        // Another site, another port of this host (a token does not help), an opaque origin.
        for origin in ["http://evil.example", sibling.as_str(), "null"] {
            let res = with_token
                .post(format!("{base}{path}"))
                .header("origin", origin)
                .multipart(forged())
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::FORBIDDEN, "{path} from {origin}");
        }
        // A same-site page on another port of a browser that sends no Origin.
        let res = with_token
            .post(format!("{base}{path}"))
            .header("sec-fetch-site", "same-site")
            .multipart(forged())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{path} same-site");
        // No token at all: what an auto-submitting page elsewhere sends.
        let res = plain.post(format!("{base}{path}")).multipart(forged()).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{path} without a token");
        let text = res.text().await.unwrap();
        assert!(text.contains("请求被拒绝"), "{text}");
    }
    assert_eq!(cases(&state).await, 0, "nothing was recorded");

    // A browser's own form: the page sets the token cookie and writes the token into the form.
    let res = plain.get(format!("{base}/cases/new")).send().await.unwrap();
    for h in ["content-security-policy", "x-content-type-options", "x-frame-options", "referrer-policy"] {
        assert!(res.headers().contains_key(h), "{h} on the form page");
    }
    let cookie = res.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
    let page = res.text().await.unwrap();
    let token = cookie.split_once('=').unwrap().1.to_string();
    let action = format!("/cases?{}={token}", yizhan_web::CSRF_QUERY);
    assert!(page.contains(&format!("action=\"{action}\"")), "the form carries the session's token");
    let form = Form::new()
        .text("industry", "fruit")
        .text("subject", "柑橘")
        .text("description", "叶片发黄，有褐色斑点")
        .text("region_code", "510131001")
        .text("village_name", "和平村")
        .text("farmer_name", "王大爷")
        .text("officer", "李信息员");
    let res = plain
        .post(format!("{base}{action}"))
        .header("cookie", &cookie)
        .header("origin", &base)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_redirection() || res.status().is_success(), "{}", res.status());
    assert_eq!(cases(&state).await, 1, "the kiosk's own form records");
    server.abort();
}
