//! The village kiosk node: an axum server over the local store, usable with no network.
//!
//! Entry point: [`serve`] (used by `yizhan kiosk`). The HTML UI ([`ui`]) and the JSON API
//! ([`api`]) share one service layer ([`service`]); uploads are parsed in [`upload`], video
//! processing runs in the background ([`jobs`]); farmers' phones are sealed to the county
//! centre's key ([`sealing`]).

pub mod api;
pub mod demo;
pub mod error;
pub mod https;
pub mod industry;
pub mod innovation;
pub mod knowledge;
pub mod lectures;
pub mod market;
mod metrics;
pub mod published;
pub mod sealing;
pub mod service;
pub mod showcase;
pub mod sync_state;
pub mod ui;
pub mod upload;
pub mod village_stats;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use tokio::sync::Notify;
use yizhan_core::{FieldKey, RegionCode};
use yizhan_store::{Store, StoreClock, StoreConfig};

/// Upload bounds. A request carries at most `photos_max` photos and one video.
#[derive(Debug, Clone)]
pub struct UploadLimits {
    pub photos_max: usize,
    pub media: yizhan_media::Limits,
}

impl UploadLimits {
    /// The largest request body accepted: every photo and the video at their limits, plus
    /// room for the text fields.
    pub fn request_bytes_max(&self) -> u64 {
        self.photos_max as u64 * self.media.photo_bytes_max + self.media.video_bytes_max + 1024 * 1024
    }
}

impl Default for UploadLimits {
    fn default() -> UploadLimits {
        UploadLimits { photos_max: 9, media: yizhan_media::Limits::default() }
    }
}

#[derive(Debug, Clone)]
pub struct KioskConfig {
    pub data_dir: PathBuf,
    /// The sensitive-field key, kept outside the database.
    pub key_file: PathBuf,
    pub listen: SocketAddr,
    /// The region this kiosk serves; the form offers the towns within it.
    pub scope: RegionCode,
    pub limits: UploadLimits,
    /// This node's id; `None` keeps (or creates) the one stored in the data directory.
    pub node_id: Option<String>,
}

/// Where and how a kiosk reaches its county hub.
pub struct Uplink {
    pub parent_addr: SocketAddr,
    /// The TLS server name in the hub's certificate.
    pub server_name: String,
    pub parent_id: String,
    pub client: quinn::ClientConfig,
    pub net: yizhan_net::NetConfig,
}

/// What [`AppState::open`] takes to inject a clock: it becomes the store's clock
/// (`yizhan_store::StoreClock`), the node's one clock, which the kiosk then reads everywhere
/// (`AppState::clock` is that same clock).
pub trait Clock: Send + Sync {
    fn now_ms(&self) -> i64;
}

/// The system's clock (through [`StoreClock::system`]).
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        StoreClock::system().now_ms()
    }
}

impl Clock for StoreClock {
    fn now_ms(&self) -> i64 {
        StoreClock::now_ms(self)
    }
}

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    /// Solved cases to search while the officer types (找类似), kept in `data_dir/similar`.
    pub similar: std::sync::RwLock<yizhan_similar::SimilarIndex>,
    /// The link to the county hub (state `Disabled` when none is configured).
    pub sync: yizhan_net::SyncStatusHandle,
    pub store: Store,
    pub key: FieldKey,
    pub config: KioskConfig,
    pub node_id: String,
    /// The node's one clock: the store's.
    pub clock: StoreClock,
    /// Woken whenever a background job is queued.
    pub jobs_notify: Arc<Notify>,
    /// Sign-in of the village's officers; works offline (their credentials sync down).
    pub accounts: yizhan_accounts::Accounts,
    /// The uplink's endpoint once started, closed on shutdown.
    pub endpoint: std::sync::Mutex<Option<quinn::Endpoint>>,
    /// HTTP requests answered, for `/metrics`.
    pub requests: yizhan_web::metrics::RequestMetrics,
    /// How browsers reach this kiosk (HTTPS or not, its host name, a local certificate's fingerprint).
    pub web: https::WebAccess,
}

impl axum::extract::FromRef<AppState> for yizhan_accounts::Accounts {
    fn from_ref(state: &AppState) -> yizhan_accounts::Accounts {
        state.accounts.clone()
    }
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot open the store in {dir}: {source}")]
    Store { dir: PathBuf, source: yizhan_store::StoreError },
    #[error("field key {path}: {detail}")]
    Key { path: PathBuf, detail: String },
    #[error("find-similar index in {dir}: {detail}")]
    Similar { dir: PathBuf, detail: String },
    #[error("node id in {path}: {source}")]
    NodeId { path: PathBuf, source: std::io::Error },
}

impl AppState {
    pub fn open(config: KioskConfig, clock: Arc<dyn Clock>) -> Result<AppState, StartError> {
        AppState::open_with_sms(config, clock, Arc::new(yizhan_accounts::DevLogSender))
    }

    /// Like [`AppState::open`], sending sign-in codes through `sms`.
    pub fn open_with_sms(
        config: KioskConfig,
        clock: Arc<dyn Clock>,
        sms: Arc<dyn yizhan_accounts::SmsSender>,
    ) -> Result<AppState, StartError> {
        AppState::open_for_web(config, clock, sms, https::WebAccess::default())
    }

    /// Like [`AppState::open_with_sms`], for browsers reaching the kiosk as `web` says (over
    /// HTTPS: `Secure` session cookies, passkeys for its host name).
    pub fn open_for_web(
        config: KioskConfig,
        clock: Arc<dyn Clock>,
        sms: Arc<dyn yizhan_accounts::SmsSender>,
        web: https::WebAccess,
    ) -> Result<AppState, StartError> {
        let mut store_config = StoreConfig::new(&config.data_dir);
        store_config.clock = StoreClock::from_fn(move || clock.now_ms());
        let store = Store::open(store_config)
            .map_err(|source| StartError::Store { dir: config.data_dir.clone(), source })?;
        let key = load_or_create_key(&config.key_file)?;
        let node_id = match &config.node_id {
            Some(id) => id.clone(),
            None => load_or_create_node_id(&config.data_dir)?,
        };
        let sync = yizhan_net::SyncStatusHandle::new("");
        let similar_dir = config.data_dir.join("similar");
        let similar = yizhan_similar::SimilarIndex::open(&similar_dir)
            .map_err(|e| StartError::Similar { dir: similar_dir, detail: e.to_string() })?;
        let passkeys = passkeys_origin(&web, config.listen.port()).and_then(|(host, origin)| {
            yizhan_accounts::passkeys(&host, &origin, "驿站")
                .map_err(|e| tracing::warn!(error = %e, host, "passkeys are off"))
                .ok()
        });
        let mut accounts_config = yizhan_accounts::AccountsConfig::for_node(&node_id);
        accounts_config.secure_cookie = web.https;
        accounts_config.web_fingerprint = web.fingerprint.clone();
        let accounts =
            yizhan_accounts::Accounts::new(store.clone(), key.clone(), accounts_config, sms, passkeys)
                .map_err(|e| StartError::Key { path: config.key_file.clone(), detail: e.to_string() })?;
        let store_clock = store.config().clock.clone();
        Ok(AppState(Arc::new(Inner {
            accounts,
            similar: std::sync::RwLock::new(similar),
            sync,
            store,
            key,
            config,
            node_id,
            clock: store_clock,
            jobs_notify: Arc::new(Notify::new()),
            endpoint: std::sync::Mutex::new(None),
            requests: Default::default(),
            web,
        })))
    }

    /// Starts syncing with the county hub whenever it is reachable.
    pub fn start_uplink(&self, uplink: Uplink) -> std::io::Result<()> {
        let bind: SocketAddr = if uplink.parent_addr.is_ipv6() { "[::]:0" } else { "0.0.0.0:0" }
            .parse()
            .map_err(|_| std::io::Error::other("bad bind address"))?;
        let mut endpoint = quinn::Endpoint::client(bind)?;
        endpoint.set_default_client_config(uplink.client);
        if let Ok(mut slot) = self.endpoint.lock() {
            *slot = Some(endpoint.clone());
        }
        self.sync.update(|s| s.peer = uplink.parent_id.clone());
        let mut net = uplink.net;
        net.node_id = self.node_id.clone();
        tokio::spawn(yizhan_net::uplink(
            endpoint,
            uplink.parent_addr,
            uplink.server_name,
            self.store.clone(),
            net,
            yizhan_net::PeerPolicy::parent(&uplink.parent_id, self.config.scope.as_str()),
            self.store.subscribe_feed(),
            self.sync.clone(),
        ));
        Ok(())
    }

    /// Closes the uplink with a goodbye (see [`yizhan_net::close_endpoint`]).
    pub async fn close(&self) {
        let endpoint = self.endpoint.lock().ok().and_then(|e| e.clone());
        if let Some(endpoint) = endpoint {
            yizhan_net::close_endpoint(&endpoint).await;
        }
    }

    pub fn new_id(&self) -> String {
        uuid::Uuid::new_v4().to_string()
    }
}

/// Passkeys need a secure origin with a host name, and a fixed port: over HTTPS the configured
/// host name (`https://<host>:<port>`; none with only an IP address, which cannot be a relying
/// party), over plain HTTP `http://localhost:<port>` (browsers count localhost as secure).
fn passkeys_origin(web: &https::WebAccess, port: u16) -> Option<(String, String)> {
    if port == 0 {
        return None;
    }
    if !web.https {
        return Some(("localhost".into(), format!("http://localhost:{port}")));
    }
    let host = web.host.as_deref().filter(|h| h.parse::<std::net::IpAddr>().is_err())?;
    let origin = if port == 443 { format!("https://{host}") } else { format!("https://{host}:{port}") };
    Some((host.to_string(), origin))
}

/// Reads the 32-byte field key, creating it (mode 0600) on first start.
fn load_or_create_key(path: &Path) -> Result<FieldKey, StartError> {
    let err = |detail: String| StartError::Key { path: path.to_path_buf(), detail };
    let key = yizhan_store::keys::load_or_create(path).map_err(|e| err(e.to_string()))?;
    FieldKey::from_bytes(&key).map_err(|e| err(e.to_string()))
}

fn load_or_create_node_id(dir: &Path) -> Result<String, StartError> {
    let path = dir.join("node-id");
    let err = |source| StartError::NodeId { path: path.clone(), source };
    match std::fs::read_to_string(&path) {
        Ok(id) if !id.trim().is_empty() => Ok(id.trim().to_string()),
        Ok(_) | Err(_) => {
            let id = format!("kiosk-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
            // An empty file is what a crash during the first start leaves: replace it.
            let _ = std::fs::remove_file(&path);
            yizhan_store::keys::write_private(&path, id.as_bytes()).map_err(err)?;
            Ok(id)
        }
    }
}

/// The whole HTTP application: UI, API, blobs and static assets.
pub fn router(state: AppState) -> Router {
    let body_max = usize::try_from(state.config.limits.request_bytes_max()).unwrap_or(usize::MAX);
    ui::routes()
        .merge(published::routes())
        .merge(market::routes())
        .merge(industry::routes())
        .merge(innovation::routes())
        .merge(lectures::routes())
        .merge(showcase::routes())
        .merge(api::routes())
        .layer(DefaultBodyLimit::max(body_max))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), station_network_sign_in))
        .merge(yizhan_accounts::router())
        .route("/metrics", axum::routing::get(metrics::metrics))
        .with_state(state.clone())
        .layer(axum::middleware::from_fn(yizhan_web::protect))
        .layer(axum::middleware::from_fn_with_state(state.requests.clone(), yizhan_web::metrics::track))
}

/// Paths of the kiosk that hold nothing about a person or a case: served to anyone.
fn is_public_path(path: &str) -> bool {
    matches!(path, "/healthz" | "/favicon.ico" | "/api/openapi.json" | "/api/industries" | "/api/status")
        || path.starts_with("/api/regions/")
        || path.starts_with("/static/")
        // Published public documents (产业信息, 供销对接, 成果转化 with 特派员讲堂 and its 双创平台 map,
        // every published item and its PDF, 特派员风采's featured experts), and their photos (each served only while the item is
        // published and references it). Drafting a listing there needs a signed-in officer: its
        // handlers check.
        || path == showcase::PAGE_PATH
        || ["/industry", "/items", "/supply", "/achievements", "/lectures", "/innovation", "/api/innovation"]
            .iter()
            .any(|p| path == *p || path.strip_prefix(p).is_some_and(|rest| rest.starts_with('/')))
}

/// A kiosk that listens beyond loopback (`--listen 0.0.0.0:8080`, for the station's tablets) is
/// reachable by anyone on the station's Wi-Fi: there every page and API that shows or changes
/// cases, and every photo and video, needs a signed-in person. On loopback only the kiosk's own
/// screen reaches it, and recording stays possible before anyone signs in (marked "未登录").
async fn station_network_sign_in(
    axum::extract::State(state): axum::extract::State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::extract::FromRequestParts;
    if state.config.listen.ip().is_loopback() || is_public_path(req.uri().path()) {
        return next.run(req).await;
    }
    let (mut parts, body) = req.into_parts();
    match yizhan_accounts::SignedIn::from_request_parts(&mut parts, &state).await {
        Ok(_) => next.run(axum::extract::Request::from_parts(parts, body)).await,
        Err(refusal) => refusal,
    }
}

/// Opens the kiosk, starts its background worker and serves until the process ends.
pub async fn serve(state: AppState, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    serve_until(state, listener, std::future::pending()).await
}

/// [`serve`] until `shutdown` completes; then in-flight requests finish and the uplink closes
/// with a goodbye.
pub async fn serve_until(
    state: AppState,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    start_background(&state);
    // The client address reaches sign-in, which locks out per account and address.
    let app = router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let served = axum::serve(listener, app).with_graceful_shutdown(shutdown).await;
    state.close().await;
    served
}

/// [`serve_until`] over TLS with `tls` (HTTPS on the station network, see [`https`]).
pub async fn serve_tls_until(
    state: AppState,
    listener: tokio::net::TcpListener,
    tls: Arc<tokio_rustls::rustls::ServerConfig>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    let listener = https::TlsListener::new(listener, tls)?.tap_io(|_| {});
    start_background(&state);
    let app = router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let served = axum::serve(listener, app).with_graceful_shutdown(shutdown).await;
    state.close().await;
    served
}

fn start_background(state: &AppState) {
    tokio::spawn(yizhan_uploads::run_worker(state.store.clone(), state.jobs_notify.clone()));
    tokio::spawn(knowledge::run(state.clone()));
    tokio::spawn(lectures::run(state.clone()));
    tokio::spawn(sealing::run(state.clone()));
}
