//! Set-up shared by every multi-node test (DESIGN.md example 18): a certificate hierarchy
//! (province → city → county, as `yizhan-identity`'s [`Authority`] issues it), hubs started with
//! [`yizhan_hub::start`], kiosks as [`yizhan_kiosk::AppState`] with their HTTP server, or a bare
//! kiosk store with its uplink, all linked over real QUIC on loopback.
//!
//! A dev-dependency only: no crate that ships depends on it (`tests/architecture.rs`).
#![allow(clippy::unwrap_used)]

pub mod fixtures;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use yizhan_core::RegionCode;
use yizhan_hub::{Hub, HubConfig, HubTls, ParentLink};
use yizhan_identity::{
    Authority, NodeCredentials, NodeIdentity, RevocationState, Role, server_name_for, system_clock,
};
use yizhan_kiosk::{AppState, KioskConfig, SystemClock, Uplink, UploadLimits};
use yizhan_net::{NetConfig, NodeTls, PeerPolicy, SyncStatusHandle};
use yizhan_store::{Store, StoreConfig};

/// Network tuning for tests: reconnects within half a second, dead links noticed in two, blob
/// fetches retried within 0.4 s.
pub fn net(id: &str) -> NetConfig {
    let mut n = NetConfig::new(id);
    n.retry_min = Duration::from_millis(100);
    n.retry_max = Duration::from_millis(500);
    n.idle_timeout = Duration::from_secs(2);
    n.blobs.retry_min = Duration::from_millis(100);
    n.blobs.retry_max = Duration::from_millis(400);
    n
}

/// A node's TLS set-up from its credentials, trusting `authority`'s roots.
pub fn tls(creds: NodeCredentials, authority: &Authority) -> NodeTls {
    let roots = authority.roots().clone();
    NodeTls {
        creds: Arc::new(creds),
        revocation: Arc::new(RevocationState::new(roots.clone())),
        roots,
        clock: system_clock(),
    }
}

/// The TLS set-up of kiosk `node` of region `scope`, issued by `county` (its county hub's CA),
/// trusting `province`'s roots.
pub fn kiosk_tls(county: &Authority, province: &Authority, node: &str, scope: &str) -> NodeTls {
    let id = NodeIdentity::new(node, Role::Kiosk, scope).unwrap();
    tls(county.issue_credentials(&id, SystemTime::now()).unwrap(), province)
}

/// A certificate hierarchy: the province CA, and hub CAs below it.
pub struct Pki {
    pub province: Authority,
}

impl Pki {
    /// The province CA (`province`, scope `51`).
    pub fn new() -> Pki {
        Pki { province: Authority::init("province", "51", SystemTime::now()).unwrap() }
    }

    /// A hub CA below `parent` (the province's or a city's): `hub-<scope>`.
    pub fn hub(parent: &Authority, scope: &str) -> Authority {
        parent.create_child_hub(&format!("hub-{scope}"), scope, SystemTime::now()).unwrap()
    }

    /// The TLS set-up of a hub whose CA is `hub`.
    pub fn hub_tls(&self, hub: &Authority) -> NodeTls {
        tls(hub.own_credentials(SystemTime::now()).unwrap(), &self.province)
    }

    /// The TLS set-up of kiosk `node` of region `scope`, issued by its county hub's CA.
    pub fn kiosk_tls(&self, county: &Authority, node: &str, scope: &str) -> NodeTls {
        kiosk_tls(county, &self.province, node, scope)
    }
}

impl Default for Pki {
    fn default() -> Pki {
        Pki::new()
    }
}

/// Starts a hub on loopback (HTTP and QUIC on free ports) with `t`'s identity, dialling
/// `parent` (the parent hub and its node id) when given; `tune` adjusts the test [`net`].
pub async fn start_hub_tuned(
    dir: &Path,
    t: &NodeTls,
    parent: Option<(&Hub, &str)>,
    tune: impl FnOnce(&mut NetConfig),
) -> Hub {
    let id = t.identity().unwrap();
    let mut net = net(id.node_id());
    net.parent_check = Some(t.parent_check().unwrap());
    tune(&mut net);
    let config = HubConfig {
        node_id: id.node_id().to_string(),
        scope: id.scope().to_string(),
        data_dir: dir.to_path_buf(),
        http_listen: "127.0.0.1:0".parse().unwrap(),
        sync_listen: "127.0.0.1:0".parse().unwrap(),
        parent: parent.map(|(p, pid)| ParentLink {
            addr: p.sync_addr,
            server_name: server_name_for(pid),
            node_id: pid.to_string(),
        }),
        net,
    };
    let hub_tls = HubTls {
        server: t.quic_server().unwrap(),
        client: Some(t.quic_client().unwrap()),
        authorize: t.child_authorizer().unwrap(),
        enroller: None,
        node: Some(t.clone()),
    };
    yizhan_hub::start(config, hub_tls).await.unwrap()
}

/// [`start_hub_tuned`] with the test [`net`] as it is.
pub async fn start_hub(dir: &Path, t: &NodeTls, parent: Option<(&Hub, &str)>) -> Hub {
    start_hub_tuned(dir, t, parent, |_| {}).await
}

/// Dials `hub` from a kiosk's store as the kiosk does (policy towards a parent, woken by the
/// store's feed); abort the handle to cut the link. `tune` adjusts the test [`net`].
pub fn start_uplink(
    store: &Store,
    t: &NodeTls,
    hub: &Hub,
    tune: impl FnOnce(&mut NetConfig),
) -> (tokio::task::JoinHandle<()>, SyncStatusHandle) {
    let id = t.identity().unwrap();
    let mut endpoint = quinn::Endpoint::client("127.0.0.1:0".parse().unwrap()).unwrap();
    endpoint.set_default_client_config(t.quic_client().unwrap());
    let status = SyncStatusHandle::new(&hub.config.node_id);
    let mut net = net(id.node_id());
    net.parent_check = Some(t.parent_check().unwrap());
    tune(&mut net);
    let task = tokio::spawn(yizhan_net::uplink(
        endpoint,
        hub.sync_addr,
        server_name_for(&hub.config.node_id),
        store.clone(),
        net,
        PeerPolicy::parent(&hub.config.node_id, id.scope()),
        store.subscribe_feed(),
        status.clone(),
    ));
    (task, status)
}

/// A bare kiosk: its store in `dir`, syncing with `hub` (no HTTP, no media worker).
pub struct KioskStore {
    pub store: Store,
    pub status: SyncStatusHandle,
    pub uplink: tokio::task::JoinHandle<()>,
}

/// Opens a kiosk store in `dir` and links it to `hub`.
pub fn start_kiosk_store(dir: &Path, t: &NodeTls, hub: &Hub) -> KioskStore {
    let store = Store::open(StoreConfig::new(dir)).unwrap();
    tokio::spawn(yizhan_net::follow_takedowns(store.clone(), t.roots.clone()));
    let (uplink, status) = start_uplink(&store, t, hub, |_| {});
    KioskStore { store, status, uplink }
}

/// The kiosk application (`yizhan_kiosk::AppState`) with its HTTP server on loopback and its
/// followers; link it to a hub with [`Kiosk::link`]. The server stops when it is dropped.
pub struct Kiosk {
    pub state: AppState,
    pub url: String,
    pub tls: NodeTls,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Kiosk {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Kiosk {
    /// Starts kiosk `node` of region `scope` in `dir`, its certificate issued by `county` (its
    /// county hub's CA), trusting `province`'s roots.
    pub async fn start(
        dir: &Path,
        county: &Authority,
        province: &Authority,
        node: &str,
        scope: &str,
    ) -> Kiosk {
        let t = kiosk_tls(county, province, node, scope);
        let config = KioskConfig {
            data_dir: dir.to_path_buf(),
            key_file: dir.join("keys/field.key"),
            listen: "127.0.0.1:0".parse().unwrap(),
            scope: RegionCode::parse(scope).unwrap(),
            limits: UploadLimits::default(),
            node_id: Some(node.to_string()),
        };
        let state = AppState::open(config, Arc::new(SystemClock)).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(yizhan_net::follow_takedowns(state.store.clone(), t.roots.clone()));
        let s = state.clone();
        let server = tokio::spawn(async move {
            yizhan_kiosk::serve(s, listener).await.unwrap();
        });
        Kiosk { state, url, tls: t, server }
    }

    /// Starts the kiosk's uplink to `hub`.
    pub fn link(&self, hub: &Hub) {
        self.link_tuned(hub, |_| {});
    }

    /// Starts the kiosk's uplink to `hub`, `tune` adjusting the test [`net`] (a send cap).
    pub fn link_tuned(&self, hub: &Hub, tune: impl FnOnce(&mut NetConfig)) {
        let mut net = net(&self.state.node_id);
        net.parent_check = Some(self.tls.parent_check().unwrap());
        tune(&mut net);
        self.state
            .start_uplink(Uplink {
                parent_addr: hub.sync_addr,
                server_name: server_name_for(&hub.config.node_id),
                parent_id: hub.config.node_id.clone(),
                client: self.tls.quic_client().unwrap(),
                net,
            })
            .unwrap();
    }
}

/// A chain of hubs over real QUIC: province ← city ← county, each with its own store in a
/// directory of `dir`; kiosks join the county with [`Chain::kiosk`] or [`Chain::kiosk_store`].
pub struct Chain {
    pub pki: Pki,
    pub city_ca: Authority,
    pub county_ca: Authority,
    pub province: Hub,
    pub city: Hub,
    pub county: Hub,
}

impl Chain {
    /// Starts the province hub, city hub `city` (e.g. `5101`) and county hub `county` below it.
    pub async fn start(dir: &Path, city: &str, county: &str) -> Chain {
        let pki = Pki::new();
        let city_ca = Pki::hub(&pki.province, city);
        let county_ca = Pki::hub(&city_ca, county);
        let province = start_hub(&dir.join("province"), &pki.hub_tls(&pki.province), None).await;
        let city_hub = start_hub(
            &dir.join(format!("hub-{city}")),
            &pki.hub_tls(&city_ca),
            Some((&province, "province")),
        )
        .await;
        let city_id = city_hub.config.node_id.clone();
        let county_hub = start_hub(
            &dir.join(format!("hub-{county}")),
            &pki.hub_tls(&county_ca),
            Some((&city_hub, &city_id)),
        )
        .await;
        Chain { pki, city_ca, county_ca, province, city: city_hub, county: county_hub }
    }

    /// A kiosk application of region `scope` linked to the county hub.
    pub async fn kiosk(&self, dir: &Path, node: &str, scope: &str) -> Kiosk {
        let k = Kiosk::start(dir, &self.county_ca, &self.pki.province, node, scope).await;
        k.link(&self.county);
        k
    }

    /// A bare kiosk store of region `scope` linked to the county hub.
    pub fn kiosk_store(&self, dir: &Path, node: &str, scope: &str) -> KioskStore {
        start_kiosk_store(dir, &self.pki.kiosk_tls(&self.county_ca, node, scope), &self.county)
    }
}

/// Polls until `f` holds, for at most 30 s.
pub async fn eventually<F, Fut>(what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..600 {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for: {what}");
}
