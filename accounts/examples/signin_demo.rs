//! Try the sign-in pages in a browser: `cargo run -p yizhan-accounts --example signin_demo [port]`,
//! then open http://localhost:8090/ (passkeys work on `localhost` without HTTPS). A store in a
//! temporary directory holds one officer, `demo-01`, password `demo-password`, phone
//! 13800000000; sign-in codes are written to the log.

use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use maud::html;
use yizhan_accounts::{Accounts, AccountsConfig, DevLogSender, SignedIn, passkeys, router};
use yizhan_core::{FieldKey, NewPerson};
use yizhan_store::{Store, StoreConfig};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt().with_env_filter("info").init();
    let port: u16 = std::env::args().nth(1).and_then(|p| p.parse().ok()).unwrap_or(8090);
    let dir = tempfile::tempdir()?;
    let store = Store::open(StoreConfig::new(dir.path()))?;
    let origin = format!("http://localhost:{port}");
    let accounts = Accounts::new(
        store,
        FieldKey::from_bytes(&[9u8; 32])?,
        AccountsConfig::default(),
        Arc::new(DevLogSender),
        Some(passkeys("localhost", &origin, "驿站")?),
    )?;
    let officer = NewPerson {
        id: "demo-01".into(),
        name: "李秀英".into(),
        role: "信息员".into(),
        region_code: "510131001001".into(),
        industries: vec!["fruit".into()],
        phone: "13800000000".into(),
        ..NewPerson::default()
    };
    accounts.create_person(&officer, Some("demo-password")).await?;
    let app = Router::new()
        .route(
            "/",
            get(|SignedIn(actor): SignedIn| async move {
                html! {
                    h1 { "您好，" (actor.name) }
                    p { a href="/account" { "我的账号" } }
                }
            }),
        )
        .merge(router())
        .with_state(accounts);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    tracing::info!("open {origin}/ (demo-01 / demo-password)");
    axum::serve(listener, app).await?;
    Ok(())
}
