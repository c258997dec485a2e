//! The hub node: accepts its children (kiosks, or lower hubs) over QUIC, dials its own parent
//! when it has one, so one binary serves county, city and province. Its home page sends staff
//! and experts who are signed in to the desk; a status page (`/status`, `/api/hub`) shows
//! anyone the sync state and counts, never a person's data or a case's text.

pub mod api;
pub mod desk;
pub use status::centre_name_zh;
pub mod enrol;
pub mod export;
pub mod innovation;
pub mod lectures;
pub mod market;
mod metrics;
pub mod notify;
pub mod publish;
pub mod sealing;
pub mod service;
pub mod showcase;
mod status;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::Serialize;
use yizhan_net::{Children, NetConfig, PeerAuthorizer, PeerPolicy, SyncStatus, SyncStatusHandle};
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
    /// The hub's own TLS identity: it signs the circuit breaker's takedowns with it and
    /// verifies everyone's against its trust roots (`yizhan_net::follow_takedowns`). Without
    /// it the hub neither issues nor applies takedowns.
    pub node: Option<yizhan_net::NodeTls>,
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
    /// The kinds of publishable item this hub serves (registered by the modules).
    pub kinds: service::publication::Kinds,
    /// Sign-in of the centre's staff and experts.
    pub accounts: yizhan_accounts::Accounts,
    /// Wakes the media worker (posters and proxies of experts' answer videos).
    pub jobs_notify: Arc<tokio::sync::Notify>,
    /// The sync endpoint (children's connections and the uplink), closed on shutdown.
    pub endpoint: quinn::Endpoint,
    /// HTTP requests answered, for `/metrics`.
    pub requests: yizhan_web::metrics::RequestMetrics,
    /// The key that signs this hub's takedowns (安全熔断), from [`HubTls::node`].
    pub signer: Option<Arc<yizhan_identity::NodeCredentials>>,
    /// SMS notices of assignments and answers, sent in the background.
    pub notices: notify::Notifier,
}

impl Hub {
    /// Closes every sync connection with a goodbye, so that children and the parent release
    /// this node's partly sent blobs at once instead of waiting for a timeout; waits at most
    /// [`yizhan_net::SHUTDOWN_WAIT`] for the peers to acknowledge.
    pub async fn close(&self) {
        yizhan_net::close_endpoint(&self.endpoint).await;
    }
}

impl axum::extract::FromRef<Hub> for yizhan_accounts::Accounts {
    fn from_ref(hub: &Hub) -> yizhan_accounts::Accounts {
        hub.accounts.clone()
    }
}

pub async fn start(config: HubConfig, tls: HubTls) -> Result<Hub, HubError> {
    start_with_sms(config, tls, Arc::new(yizhan_accounts::DevLogSender)).await
}

/// Like [`start`], sending sign-in codes and notices (assignments, answers) through `sms`.
pub async fn start_with_sms(
    config: HubConfig,
    tls: HubTls,
    sms: Arc<dyn yizhan_accounts::SmsSender>,
) -> Result<Hub, HubError> {
    // Ports first: a hub whose address is taken stops before it creates a store, keys or
    // documents.
    let mut endpoint = quinn::Endpoint::server(tls.server, config.sync_listen)
        .map_err(|source| HubError::Listen { addr: config.sync_listen, source })?;
    let listener = tokio::net::TcpListener::bind(config.http_listen)
        .await
        .map_err(|source| HubError::Listen { addr: config.http_listen, source })?;
    let store = Store::open(StoreConfig::new(&config.data_dir))?;
    // A county centre opens the phones its kiosks seal to it: its key exists (and is
    // published to them) before anything is served.
    if is_county(&config.scope) {
        sealing::publish_county_key(&store, &config.scope, &config.data_dir).await?;
    }
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
    if is_county(&config.scope) {
        tokio::spawn(publish::run(store.clone(), config.node_id.clone()));
    }
    // Every centre measures its service clocks and records breaches.
    tokio::spawn(service::run_clocks(store.clone(), config.scope.clone(), config.node_id.clone()));
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
        sms,
        passkeys,
    )?;
    let jobs_notify = Arc::new(tokio::sync::Notify::new());
    tokio::spawn(yizhan_uploads::run_worker(store.clone(), jobs_notify.clone()));
    let notices = notify::Notifier::start(store.clone(), accounts.clone());
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
        kinds: service::publication::Kinds::default(),
        endpoint: endpoint.clone(),
        requests: Default::default(),
        signer: tls.node.as_ref().map(|n| n.creds.clone()),
        notices,
    };
    // The circuit breaker's takedowns, verified and applied as they arrive (or are made here).
    if let Some(node) = &tls.node {
        tokio::spawn(yizhan_net::follow_takedowns(hub.store.clone(), node.roots.clone()));
    }
    // The modules this hub serves: their kinds on the publication pipeline.
    for kind in yizhan_supply::kinds()
        .into_iter()
        .chain(yizhan_achievements::kinds())
        .chain(yizhan_industry::kinds())
        .chain(yizhan_lectures::kinds())
    {
        hub.kinds.register(kind);
    }
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
    /// Cases by status code (`awaiting_triage`, ...): counts only, shown without sign-in.
    pub cases_by_status: Vec<StatusCount>,
    pub parent: Option<SyncStatus>,
    pub children: Vec<ChildView>,
}

/// How many cases at this hub have one status.
#[derive(Debug, Clone, Serialize)]
pub struct StatusCount {
    pub status: String,
    pub name_zh: String,
    pub cases: i64,
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
        let (cases, by_status, rows) = self
            .store
            .call(move |db| {
                let cases = db.count_cases(&CaseFilter::default())?;
                let mut by_status = Vec::new();
                for s in yizhan_core::Status::ALL {
                    let filter = CaseFilter { status: Some(s.code().to_string()), ..Default::default() };
                    let n = db.count_cases(&filter)?;
                    if n > 0 {
                        by_status.push(StatusCount {
                            status: s.code().into(),
                            name_zh: s.name_zh().into(),
                            cases: n,
                        });
                    }
                }
                let mut rows = Vec::new();
                for (id, scope, link) in children {
                    let backlog_docs = db.backlog_docs(&id, &scope)?;
                    let last_contact_ms = db.peer_last_contact_ms(&id)?;
                    rows.push(ChildView { node_id: id, scope, link, last_contact_ms, backlog_docs });
                }
                Ok((cases, by_status, rows))
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
            cases_by_status: by_status,
            parent: self.parent_status.as_ref().map(SyncStatusHandle::get),
            children: rows,
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
    let requests = hub.requests.clone();
    Router::new()
        .merge(desk::routes())
        .merge(market::routes())
        .merge(innovation::routes())
        .merge(showcase::routes())
        .merge(lectures::routes())
        .merge(api::routes())
        .merge(yizhan_accounts::router())
        .merge(yizhan_web::assets::routes())
        .merge(yizhan_web::assets::dashboard_routes())
        .route("/", get(status::home))
        .route("/status", get(status::page))
        .route("/api/hub", get(api))
        .route("/healthz", get(|| async { axum::Json(serde_json::json!({"status": "ok"})) }))
        .route("/metrics", get(metrics::metrics))
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
        .layer(axum::middleware::from_fn_with_state(requests, yizhan_web::metrics::track))
}

async fn api(State(hub): State<Hub>) -> Result<axum::Json<HubView>, axum::http::StatusCode> {
    hub.view().await.map(axum::Json).map_err(|e| {
        tracing::error!(error = %e, "hub view");
        axum::http::StatusCode::INTERNAL_SERVER_ERROR
    })
}

/// True when `scope` is a county: a county hub seals phones for its kiosks and publishes
/// their solved cases.
pub fn is_county(scope: &str) -> bool {
    yizhan_core::RegionLevel::of(scope) == Some(yizhan_core::RegionLevel::County)
}
