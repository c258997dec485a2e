//! The hub node: accepts its children (kiosks, or lower hubs) over QUIC, dials its own parent
//! when it has one, so one binary serves county, city and province. A small web page lists
//! the children with their last contact, backlog and errors.

pub mod desk;
pub mod enrol;
pub mod export;
pub mod publish;
pub mod sealing;
pub mod service;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use maud::{DOCTYPE, Markup, html};
use serde::Serialize;
use yizhan_net::{Children, LinkState, NetConfig, PeerAuthorizer, PeerPolicy, SyncStatus, SyncStatusHandle};
use yizhan_store::{CaseFilter, Store, StoreConfig};

#[derive(Debug, Clone)]
pub struct ParentLink {
    pub addr: SocketAddr,
    /// The TLS server name in the parent's certificate.
    pub server_name: String,
    pub node_id: String,
}

#[derive(Debug, Clone)]
pub struct HubConfig {
    pub node_id: String,
    /// The region this hub serves: a county, city or the province code.
    pub scope: String,
    pub data_dir: PathBuf,
    pub http_listen: SocketAddr,
    pub sync_listen: SocketAddr,
    pub parent: Option<ParentLink>,
    pub net: NetConfig,
}

/// The hub's TLS: how it serves children, how it dials its parent, and who may connect.
pub struct HubTls {
    pub server: quinn::ServerConfig,
    pub client: Option<quinn::ClientConfig>,
    pub authorize: PeerAuthorizer,
    /// Present when this hub enrols kiosks (it holds a hub CA).
    pub enroller: Option<Arc<enrol::Enroller>>,
}

#[derive(Debug, thiserror::Error)]
pub enum HubError {
    #[error("store: {0}")]
    Store(#[from] yizhan_store::StoreError),
    #[error("cannot listen on {addr}: {source}")]
    Listen { addr: SocketAddr, source: std::io::Error },
    #[error("a parent is configured but no client TLS configuration was given")]
    NoClientTls,
    #[error("field key {path}: {source}")]
    Key { path: PathBuf, source: std::io::Error },
    #[error("sign-in: {0}")]
    Accounts(#[from] yizhan_accounts::AccountError),
    #[error("county sealing key: {0}")]
    Sealing(#[from] sealing::SealingError),
}

/// A running hub. Dropping it does not stop the tasks; they end with the runtime.
#[derive(Clone)]
pub struct Hub {
    pub config: HubConfig,
    pub store: Store,
    pub http_addr: SocketAddr,
    pub sync_addr: SocketAddr,
    pub children: Children,
    pub parent_status: Option<SyncStatusHandle>,
    pub enroller: Option<Arc<enrol::Enroller>>,
    /// The experts this centre may assign, cached for ranking.
    pub directory: service::Directory,
    /// Sign-in of the centre's staff and experts.
    pub accounts: yizhan_accounts::Accounts,
    /// Wakes the media worker (posters and proxies of experts' answer videos).
    pub jobs_notify: Arc<tokio::sync::Notify>,
}

impl axum::extract::FromRef<Hub> for yizhan_accounts::Accounts {
    fn from_ref(hub: &Hub) -> yizhan_accounts::Accounts {
        hub.accounts.clone()
    }
}

pub async fn start(config: HubConfig, tls: HubTls) -> Result<Hub, HubError> {
    let store = Store::open(StoreConfig::new(&config.data_dir))?;
    // A county centre opens the phones its kiosks seal to it: its key exists (and is
    // published to them) before anything is served.
    if config.scope.len() == 6 {
        sealing::publish_county_key(&store, &config.scope, &config.data_dir).await?;
    }
    let mut endpoint = quinn::Endpoint::server(tls.server, config.sync_listen)
        .map_err(|source| HubError::Listen { addr: config.sync_listen, source })?;
    let sync_addr =
        endpoint.local_addr().map_err(|source| HubError::Listen { addr: config.sync_listen, source })?;
    let children: Children = Arc::default();
    tokio::spawn(yizhan_net::serve(
        endpoint.clone(),
        store.clone(),
        config.net.clone(),
        tls.authorize,
        store.subscribe_feed(),
        children.clone(),
    ));
    let parent_status = match &config.parent {
        None => None,
        Some(parent) => {
            let client = tls.client.ok_or(HubError::NoClientTls)?;
            endpoint.set_default_client_config(client);
            let status = SyncStatusHandle::new(&parent.node_id);
            tokio::spawn(yizhan_net::uplink(
                endpoint.clone(),
                parent.addr,
                parent.server_name.clone(),
                store.clone(),
                config.net.clone(),
                PeerPolicy::parent(&parent.node_id, &config.scope),
                store.subscribe_feed(),
                status.clone(),
            ));
            Some(status)
        }
    };
    // County hubs publish their solved cases as knowledge for the kiosks' find-similar.
    if config.scope.len() == 6 {
        tokio::spawn(publish::run(store.clone(), config.node_id.clone()));
    }
    // Every centre measures its service clocks and records breaches.
    tokio::spawn(service::run_clocks(store.clone(), config.scope.clone(), config.node_id.clone()));
    let listener = tokio::net::TcpListener::bind(config.http_listen)
        .await
        .map_err(|source| HubError::Listen { addr: config.http_listen, source })?;
    let http_addr =
        listener.local_addr().map_err(|source| HubError::Listen { addr: config.http_listen, source })?;
    let key_path = config.data_dir.join("keys").join("field.key");
    let key = yizhan_store::keys::load_or_create(&key_path)
        .map_err(|source| HubError::Key { path: key_path.clone(), source })?;
    let field_key = yizhan_core::FieldKey::from_bytes(&key).map_err(|e| HubError::Key {
        path: key_path.clone(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()),
    })?;
    // Passkeys need a host name origin: offered at http://localhost:<port> on this machine.
    let passkeys = yizhan_accounts::passkeys(
        "localhost",
        &format!("http://localhost:{}", http_addr.port()),
        "驿站运营工作台",
    )
    .ok();
    let accounts = yizhan_accounts::Accounts::new(
        store.clone(),
        field_key,
        yizhan_accounts::AccountsConfig::for_node(&config.node_id),
        Arc::new(yizhan_accounts::DevLogSender),
        passkeys,
    )?;
    let jobs_notify = Arc::new(tokio::sync::Notify::new());
    tokio::spawn(yizhan_uploads::run_worker(store.clone(), jobs_notify.clone()));
    let hub = Hub {
        jobs_notify,
        accounts,
        config,
        store,
        http_addr,
        sync_addr,
        children,
        parent_status,
        enroller: tls.enroller,
        directory: service::Directory::default(),
    };
    let app = router(hub.clone());
    tokio::spawn(async move {
        // The peer's address reaches handlers (enrolment limits wrong codes per address).
        let app = app.into_make_service_with_connect_info::<SocketAddr>();
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "hub web server stopped");
        }
    });
    Ok(hub)
}

#[derive(Debug, Clone, Serialize)]
pub struct ChildView {
    pub node_id: String,
    pub scope: String,
    pub link: SyncStatus,
    pub last_contact_ms: Option<i64>,
    /// Documents changed here, within the child's scope, that it has not applied yet.
    pub backlog_docs: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct HubView {
    pub node_id: String,
    pub scope: String,
    pub scope_name: String,
    pub cases: i64,
    pub parent: Option<SyncStatus>,
    pub children: Vec<ChildView>,
    /// The latest cases that reached this hub.
    pub recent: Vec<yizhan_store::CaseRow>,
}

impl Hub {
    pub async fn view(&self) -> Result<HubView, yizhan_store::StoreError> {
        let children: Vec<(String, String, SyncStatus)> = {
            let map = match self.children.lock() {
                Ok(m) => m,
                Err(p) => p.into_inner(),
            };
            map.iter().map(|(id, c)| (id.clone(), c.scope.clone(), c.status.get())).collect()
        };
        let (cases, rows, recent) = self
            .store
            .call(move |db| {
                let cases = db.count_cases(&CaseFilter::default())?;
                let recent = db.list_cases(&CaseFilter { limit: 20, ..Default::default() })?;
                let mut rows = Vec::new();
                for (id, scope, link) in children {
                    let backlog_docs = db.backlog_docs(&id, &scope)?;
                    let last_contact_ms = db.peer_last_contact_ms(&id)?;
                    rows.push(ChildView { node_id: id, scope, link, last_contact_ms, backlog_docs });
                }
                Ok((cases, rows, recent))
            })
            .await?;
        Ok(HubView {
            node_id: self.config.node_id.clone(),
            scope: self.config.scope.clone(),
            scope_name: match yizhan_core::regions().path_name(&self.config.scope) {
                name if name.is_empty() => {
                    yizhan_core::regions().get(&self.config.scope).map(|r| r.name.clone()).unwrap_or_default()
                }
                name => name,
            },
            cases,
            parent: self.parent_status.as_ref().map(SyncStatusHandle::get),
            children: rows,
            recent,
        })
    }
}

/// A centre with nobody who can sign in gets an administrator `admin` with a random first
/// password, printed once on the console (never logged); she imports the others.
pub async fn ensure_admin(hub: &Hub) -> Result<Option<String>, HubError> {
    let scope = hub.config.scope.clone();
    let filter = yizhan_store::PeopleFilter {
        role: Some("admin".into()),
        region: Some(scope.clone()),
        active_only: true,
        limit: 1,
        ..Default::default()
    };
    if !hub.store.call(move |db| db.find_people(&filter)).await?.is_empty() {
        return Ok(None);
    }
    let password: String = {
        use rand::Rng;
        const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
        let mut rng = rand::rng();
        (0..12).map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())])).collect()
    };
    let admin = yizhan_core::NewPerson {
        id: "admin".into(),
        name: "管理员".into(),
        role: "admin".into(),
        region_code: scope,
        ..Default::default()
    };
    match hub.accounts.create_person(&admin, Some(&password)).await {
        Ok(_) => Ok(Some(password)),
        Err(yizhan_accounts::AccountError::Exists(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

fn router(hub: Hub) -> Router {
    Router::new()
        .merge(desk::routes())
        .merge(yizhan_accounts::router())
        .route("/", get(page))
        .route("/api/hub", get(api))
        .route("/healthz", get(|| async { axum::Json(serde_json::json!({"status": "ok"})) }))
        .with_state(hub.clone())
        .layer(axum::middleware::from_fn(yizhan_web::protect))
        // Enrolment is a kiosk's machine-to-machine call, authenticated by its one-time code and
        // carrying no cookie: outside the cross-site guard (it still gets the security headers).
        .merge(
            Router::new()
                .route(
                    "/api/enrol",
                    axum::routing::post(enrol::enrol)
                        .layer(axum::extract::DefaultBodyLimit::max(enrol::ENROL_REQUEST_BYTES_MAX)),
                )
                .with_state(hub)
                .layer(axum::middleware::map_response(|mut res: axum::response::Response| async move {
                    yizhan_web::guard::secure_headers(res.headers_mut());
                    res
                })),
        )
}

async fn api(State(hub): State<Hub>) -> Result<axum::Json<HubView>, axum::http::StatusCode> {
    hub.view().await.map(axum::Json).map_err(|e| {
        tracing::error!(error = %e, "hub view");
        axum::http::StatusCode::INTERNAL_SERVER_ERROR
    })
}

fn fmt_ms(ms: Option<i64>) -> String {
    use chrono::TimeZone;
    let Some(ms) = ms else { return "从未".to_string() };
    let Some(cst) = chrono::FixedOffset::east_opt(8 * 3600) else { return "-".into() };
    cst.timestamp_millis_opt(ms).single().map(|t| t.format("%m-%d %H:%M:%S").to_string()).unwrap_or_default()
}

fn link_zh(link: &LinkState) -> (String, &'static str) {
    match link {
        LinkState::Disabled => ("未配置".into(), "off"),
        LinkState::Connecting => ("连接中".into(), "busy"),
        LinkState::Syncing => ("同步中".into(), "busy"),
        LinkState::Synced => ("已同步".into(), "ok"),
        LinkState::Offline { error, .. } => (format!("离线：{error}"), "err"),
    }
}

async fn page(State(hub): State<Hub>) -> Result<Markup, axum::http::StatusCode> {
    let v = hub.view().await.map_err(|_| axum::http::StatusCode::INTERNAL_SERVER_ERROR)?;
    Ok(html! {
        (DOCTYPE)
        html lang="zh-CN" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta http-equiv="refresh" content="5";
                title { "运管中心 · " (v.node_id) }
                style { (maud::PreEscaped(HUB_CSS)) }
            }
            body {
                h1 { "运管中心同步状态" }
                p { a href="/desk" data-testid="desk-link" { "进入运营工作台（分诊、专家、回访、导出）→" } }
                p { (v.scope_name) "（" (v.scope) "） · 节点 " (v.node_id) " · 案例 " b data-testid="hub-cases" { (v.cases) } " 个" }
                @if let Some(p) = &v.parent {
                    @let (text, class) = link_zh(&p.link);
                    p { "上级 " (p.peer) "：" span class=(class) { (text) } " · 最近同步 " (fmt_ms(p.last_synced_at_ms)) }
                }
                h2 { "下级节点（" (v.children.len()) "）" }
                table {
                    thead { tr { th { "节点" } th { "范围" } th { "状态" } th { "最近联系" } th { "待发文档" } th { "本次收/发" } th { "待收文件" } th { "本次收文件" } } }
                    tbody {
                        @for c in &v.children {
                            @let (text, class) = link_zh(&c.link.link);
                            tr {
                                td { (c.node_id) }
                                td { (yizhan_core::regions().path_name(&c.scope)) }
                                td class=(class) { (text) }
                                td { (fmt_ms(c.last_contact_ms)) }
                                td { (c.backlog_docs) }
                                td { (c.link.docs_received) " / " (c.link.docs_sent) }
                                td { (c.link.blobs_waiting) " 个（" (format!("{:.1}", c.link.blob_bytes_waiting as f64 / 1_048_576.0)) " MB）" }
                                td { (c.link.blobs_received) " 个" }
                            }
                        }
                    }
                }
                h2 { "最近到达的案例" }
                table data-testid="recent-cases" {
                    thead { tr { th { "登记时间" } th { "地点" } th { "作物或畜禽" } th { "问题" } th { "状态" } } }
                    tbody {
                        @for c in &v.recent {
                            tr {
                                td { (fmt_ms(Some(c.created_at_ms))) }
                                td { (yizhan_core::regions().path_name(&c.region_code)) " " (c.village_name) }
                                td { (c.subject) }
                                td { (c.description.chars().take(40).collect::<String>()) }
                                td { (yizhan_core::Status::from_code(&c.status).map(yizhan_core::Status::name_zh).unwrap_or("")) }
                            }
                        }
                    }
                }
            }
        }
    })
}

const HUB_CSS: &str = "body{font:18px/1.6 'Noto Sans CJK SC',sans-serif;margin:20px;background:#f4f6f1}
table{border-collapse:collapse;background:#fff;width:100%}th,td{border:1px solid #d9ddd2;padding:8px 12px;text-align:left}
.ok{color:#1b5e20;font-weight:700}.busy{color:#8a4b00}.err{color:#c62828}.off{color:#777}
@media (max-width:640px){*{box-sizing:border-box}body{margin:10px}table,thead,tbody,tr,th,td{display:block;width:100%}
thead{position:absolute;left:-9999px;top:-9999px}tr{border:1px solid #d9ddd2;border-radius:10px;margin:0 0 10px;padding:6px 10px;background:#fff}
th,td{border:0;padding:3px 0}}";
