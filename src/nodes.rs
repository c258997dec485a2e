//! Running nodes from the command line, and their certificates on disk.
//!
//! Layout of a node's data directory: `yizhan.sqlite3` and `blobs/` (the store), `keys/` (the
//! sensitive-field key, kiosks), `pki/` (certificates: a kiosk's `node.pem`, `node.key` and
//! `roots.pem`; a hub's CA `ca.pem`, `ca.key`, `roots.pem` and `enrolment-codes.json`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use yizhan_core::RegionCode;
use yizhan_hub::enrol::{EnrolRequest, EnrolResponse, Enroller};
use yizhan_hub::{Hub, HubConfig, HubTls, ParentLink};
use yizhan_identity::{
    Authority, EnrolmentRequest, NodeCredentials, NodeIdentity, RevocationState, Role, TrustRoots,
    server_name_for, system_clock,
};
use yizhan_kiosk::{AppState, KioskConfig, SystemClock, Uplink, UploadLimits};
use yizhan_net::{NetConfig, NodeTls};

use crate::{DataArgs, config, data_dir};

#[derive(clap::Args)]
pub struct KioskArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// A configuration file (TOML) with any of the options below; flags and environment
    /// variables take precedence over it.
    #[arg(long, value_name = "FILE", env = "YIZHAN_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address to serve the UI on [default: 127.0.0.1:8080]. Use 0.0.0.0:8080 to let tablets on
    /// the station's network in.
    #[arg(long, env = "YIZHAN_LISTEN")]
    pub listen: Option<String>,
    /// The region this kiosk serves (county 6, town 9 or village 12 digits) [default: 510131].
    /// An enrolled kiosk serves the region of its certificate.
    #[arg(long, env = "YIZHAN_REGION")]
    pub region: Option<String>,
    /// The key for sensitive fields (default: keys/field.key in the data directory).
    #[arg(long, value_name = "FILE", env = "YIZHAN_KEY_FILE")]
    pub key_file: Option<PathBuf>,
    /// Load demo cases into an empty kiosk.
    #[arg(long)]
    pub demo: bool,
    /// The county hub's sync address (host:port); needs `yizhan enrol` first, which records it
    /// (so it is needed only to override that).
    #[arg(long, env = "YIZHAN_HUB")]
    pub hub: Option<String>,
    /// The county hub's node id.
    #[arg(long, env = "YIZHAN_HUB_ID")]
    pub hub_id: Option<String>,
    /// 特派员讲堂: disk space for lectures fetched in the background, in GB [default: 20]; the
    /// least recently watched are deleted past it.
    #[arg(long, value_name = "GB", env = "YIZHAN_LECTURE_BUDGET_GB")]
    pub lecture_budget_gb: Option<u64>,
    #[command(flatten)]
    pub sms: config::SmsArgs,
    #[command(flatten)]
    pub web: config::WebArgs,
}

/// The largest lecture budget accepted, in GB.
pub const LECTURE_BUDGET_GB_MAX: u64 = 100_000;

pub fn pki_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("pki")
}

fn node_tls(creds: NodeCredentials, roots: TrustRoots) -> NodeTls {
    NodeTls {
        creds: Arc::new(creds),
        revocation: Arc::new(RevocationState::new(roots.clone())),
        roots,
        clock: system_clock(),
    }
}

/// Opens a kiosk (and its uplink, when given) and returns it with its bound listener.
pub async fn start_kiosk(
    data_dir: PathBuf,
    listen: SocketAddr,
    region: &str,
    key_file: Option<PathBuf>,
    demo: bool,
    uplink: Option<(SocketAddr, String, NodeTls)>,
    sms: Arc<dyn yizhan_accounts::SmsSender>,
) -> anyhow::Result<(AppState, tokio::net::TcpListener)> {
    let web = yizhan_kiosk::https::WebAccess::default();
    start_kiosk_web(data_dir, listen, region, key_file, demo, uplink, sms, web).await
}

/// [`start_kiosk`] for browsers reaching it as `web` says (HTTPS on the station network).
#[allow(clippy::too_many_arguments)]
pub async fn start_kiosk_web(
    data_dir: PathBuf,
    listen: SocketAddr,
    region: &str,
    key_file: Option<PathBuf>,
    demo: bool,
    uplink: Option<(SocketAddr, String, NodeTls)>,
    sms: Arc<dyn yizhan_accounts::SmsSender>,
    web: yizhan_kiosk::https::WebAccess,
) -> anyhow::Result<(AppState, tokio::net::TcpListener)> {
    std::fs::create_dir_all(&data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
    let (scope, node_id) = match &uplink {
        Some((_, _, tls)) => {
            let id = tls.identity()?;
            (RegionCode::parse(id.scope())?, Some(id.node_id().to_string()))
        }
        // An enrolled kiosk is what its certificate says, whatever flags it was started with.
        None => match enrolled_identity(&data_dir)? {
            Some((node_id, scope)) => {
                if scope != region {
                    tracing::warn!(
                        node_id,
                        scope,
                        region,
                        "this kiosk is enrolled: its certificate's scope is used, not --region"
                    );
                }
                (RegionCode::parse(&scope)?, Some(node_id))
            }
            None => (RegionCode::parse(region).with_context(|| format!("region {region}"))?, None),
        },
    };
    let key_file = key_file.unwrap_or_else(|| data_dir.join("keys").join("field.key"));
    let config = KioskConfig { data_dir, key_file, listen, scope, limits: UploadLimits::default(), node_id };
    let state = AppState::open_for_web(config, Arc::new(SystemClock), sms, web)?;
    if demo {
        let n = yizhan_kiosk::demo::load_if_empty(&state)
            .await
            .map_err(|e| anyhow::anyhow!("loading demo cases: {e}"))?;
        if n > 0 {
            tracing::info!(cases = n, "loaded demo cases");
        }
        if uplink.is_none() {
            // A standalone demo kiosk has no county to send it its officers: make one here.
            // Officers serve a town or village: a county-wide demo kiosk's officer serves the
            // town its demo cases are recorded in.
            let region = match state.config.scope.level() {
                yizhan_core::RegionLevel::Town | yizhan_core::RegionLevel::Village => {
                    state.config.scope.to_string()
                }
                _ => state
                    .config
                    .scope
                    .county()
                    .and_then(|c| yizhan_core::regions().children(c.as_str()).first().map(|t| t.code.clone()))
                    .unwrap_or_else(|| state.config.scope.to_string()),
            };
            let officer = yizhan_core::NewPerson {
                id: "officer".into(),
                name: "演示信息员".into(),
                role: "officer".into(),
                region_code: region,
                ..Default::default()
            };
            match state.accounts.create_person(&officer, Some(crate::demo::DEMO_PASSWORD)).await {
                Ok(_) | Err(yizhan_accounts::AccountError::Exists(_)) => {
                    println!("演示信息员账号 officer，密码 {}", crate::demo::DEMO_PASSWORD);
                }
                Err(e) => tracing::warn!(error = %e, "creating the demo officer"),
            }
        }
    }
    if let Some((addr, hub_id, tls)) = uplink {
        tokio::spawn(yizhan_net::follow_revocations(state.store.clone(), tls.revocation.clone()));
        tokio::spawn(yizhan_net::follow_takedowns(state.store.clone(), tls.roots.clone()));
        let client = tls.quic_client()?;
        let mut net = NetConfig::new(state.node_id.clone());
        net.parent_check = Some(tls.parent_check()?);
        state.start_uplink(Uplink {
            parent_addr: addr,
            server_name: server_name_for(&hub_id),
            parent_id: hub_id,
            client,
            net,
        })?;
    }
    let listener =
        tokio::net::TcpListener::bind(listen).await.with_context(|| format!("binding {listen}"))?;
    Ok((state, listener))
}

/// The node id and scope in this data directory's enrolment certificate, if it was enrolled.
fn enrolled_identity(data_dir: &Path) -> anyhow::Result<Option<(String, String)>> {
    let pki = pki_dir(data_dir);
    if !pki.join(yizhan_identity::NODE_CHAIN_FILE).exists() {
        return Ok(None);
    }
    let creds = NodeCredentials::load(&pki)
        .with_context(|| format!("the enrolment certificate in {} cannot be read", pki.display()))?;
    let id = creds.identity()?;
    Ok(Some((id.node_id().to_string(), id.scope().to_string())))
}

/// The kiosk's options after merging flags and environment, its configuration file, what
/// enrolment recorded, and the defaults.
pub struct KioskOptions {
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    pub region: String,
    pub key_file: Option<PathBuf>,
    pub hub: Option<(SocketAddr, String)>,
    pub lecture_budget_bytes: u64,
    pub sms: Arc<dyn yizhan_accounts::SmsSender>,
    /// HTTPS for the UI, and the names browsers reach it by.
    pub web_tls: config::WebTls,
    pub web_names: Vec<String>,
}

pub fn kiosk_options(args: &KioskArgs) -> anyhow::Result<KioskOptions> {
    let file: config::KioskFile = config::load(args.config.as_deref())?;
    let sms = config::sms_sender(&args.sms, file.sms.as_ref())?;
    let data_dir = data_dir(args.data.data_dir.clone().or(file.data_dir), "kiosk")?;
    let listen = args.listen.clone().or(file.listen).unwrap_or_else(|| "127.0.0.1:8080".into());
    let listen = config::resolve("listen", &listen)?;
    let region = args.region.clone().or(file.region).unwrap_or_else(|| "510131".into());
    let recorded = config::load_uplink(&data_dir)?;
    let hub = match (args.hub.clone().or(file.hub), args.hub_id.clone().or(file.hub_id)) {
        (Some(addr), Some(id)) => Some((config::resolve("hub", &addr)?, id)),
        (None, None) => match recorded {
            Some(up) => Some((config::resolve("hub", &up.hub)?, up.hub_id)),
            None => None,
        },
        (Some(_), None) => bail!("--hub needs --hub-id (or hub_id in the configuration)"),
        (None, Some(_)) => bail!("--hub-id needs --hub (or hub in the configuration)"),
    };
    let lecture_budget_bytes = match args.lecture_budget_gb.or(file.lecture_budget_gb) {
        None => yizhan_lectures::BUDGET_BYTES_DEFAULT,
        Some(gb) if (1..=LECTURE_BUDGET_GB_MAX).contains(&gb) => gb * 1_000_000_000,
        Some(gb) => bail!("--lecture-budget-gb must be from 1 to {LECTURE_BUDGET_GB_MAX}, not {gb}"),
    };
    let county_web = pki_dir(&data_dir).join(yizhan_identity::web::WEB_CHAIN_FILE).exists();
    let (web_tls, web_names) = config::web_options(&args.web, file.web.as_ref(), listen, county_web)?;
    Ok(KioskOptions {
        data_dir,
        listen,
        region,
        key_file: args.key_file.clone().or(file.key_file),
        hub,
        lecture_budget_bytes,
        sms,
        web_tls,
        web_names,
    })
}

pub async fn run_kiosk(args: KioskArgs) -> anyhow::Result<()> {
    let o = kiosk_options(&args)?;
    let uplink = match o.hub {
        Some((addr, hub_id)) => {
            let pki = pki_dir(&o.data_dir);
            let creds = NodeCredentials::load(&pki)
                .with_context(|| format!("no certificate in {}: run `yizhan enrol` first", pki.display()))?;
            let roots = TrustRoots::load(&pki)?;
            Some((addr, hub_id, node_tls(creds, roots)))
        }
        None => None,
    };
    let (tls, web) = kiosk_web_tls(&o.data_dir, o.web_tls, &o.web_names)?;
    let (state, listener) =
        start_kiosk_web(o.data_dir.clone(), o.listen, &o.region, o.key_file, args.demo, uplink, o.sms, web)
            .await?;
    let budget = o.lecture_budget_bytes.to_string();
    state.store.call(move |db| db.set_setting(yizhan_kiosk::lectures::BUDGET_SETTING, &budget)).await?;
    let port = listener.local_addr()?.port();
    match tls {
        None => {
            println!(
                "驿站 kiosk ready: http://{}/  (data: {})",
                listener.local_addr()?,
                o.data_dir.display()
            );
            yizhan_kiosk::serve_until(state, listener, shutdown_signal()).await?;
        }
        Some(tls) => {
            let host = o.web_names.first().map(String::as_str).unwrap_or("localhost");
            let host = if host.contains(':') { format!("[{host}]") } else { host.to_string() };
            println!("驿站 kiosk ready: https://{host}:{port}/  (data: {})", o.data_dir.display());
            if let Some(fp) = &state.web.fingerprint {
                println!("本机网页证书指纹 (SHA-256), compare it on the tablet: {fp}");
            }
            yizhan_kiosk::serve_tls_until(state, listener, tls, shutdown_signal()).await?;
        }
    }
    Ok(())
}

/// The TLS configuration and browser access for `mode`: the county-issued web certificate
/// (checked against the roots now), or the local one (made at first start).
pub fn kiosk_web_tls(
    data_dir: &Path,
    mode: config::WebTls,
    names: &[String],
) -> anyhow::Result<(Option<Arc<rustls::ServerConfig>>, yizhan_kiosk::https::WebAccess)> {
    use yizhan_identity::web::{WEB_CHAIN_FILE, WEB_KEY_FILE, WebCredentials, load_or_create_local};
    let pki = pki_dir(data_dir);
    let creds = match mode {
        config::WebTls::Off => return Ok((None, yizhan_kiosk::https::WebAccess::default())),
        config::WebTls::County => {
            let creds = WebCredentials::load(&pki, WEB_CHAIN_FILE, WEB_KEY_FILE).with_context(|| {
                format!(
                    "no county web certificate in {} (`yizhan web-cert` on the county hub makes one; \
                     or use [web] tls = \"local\")",
                    pki.display()
                )
            })?;
            let roots = TrustRoots::load(&pki)?;
            creds.verify(&roots, SystemTime::now()).context("the county web certificate does not verify")?;
            creds
        }
        config::WebTls::Local => load_or_create_local(&pki, "yizhan-kiosk", names, SystemTime::now())
            .with_context(|| format!("the local web certificate in {}", pki.display()))?,
    };
    let fingerprint = (mode == config::WebTls::Local).then(|| creds.fingerprint());
    let host = names.iter().find(|n| n.parse::<std::net::IpAddr>().is_err()).cloned();
    let web = yizhan_kiosk::https::WebAccess { https: true, host, fingerprint };
    Ok((Some(creds.server_config()?), web))
}

/// Ctrl-C or SIGTERM (systemd's stop): the node closes its connections with a goodbye.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
    tracing::info!("shutting down");
}

/// Enrols this kiosk: makes a key and request, redeems the code at the hub, saves the result.
pub fn enrol(data_dir: &Path, hub_url: &str, code: &str, node_id: &str, region: &str) -> anyhow::Result<()> {
    let identity = NodeIdentity::new(node_id, Role::Kiosk, region)?;
    let request = EnrolmentRequest::new(identity)?;
    let body = EnrolRequest { code: code.to_string(), csr_der_b64: B64.encode(request.csr_der()) };
    let url = format!("{}/api/enrol", hub_url.trim_end_matches('/'));
    let response = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?
        .post(&url)
        .json(&body)
        .send()
        .with_context(|| format!("cannot reach {url}"))?;
    if !response.status().is_success() {
        bail!("the hub refused the enrolment: {} {}", response.status(), response.text().unwrap_or_default());
    }
    let answer: EnrolResponse = response.json()?;
    let chain = answer
        .chain_der_b64
        .iter()
        .map(|c| B64.decode(c).map(rustls_cert))
        .collect::<Result<Vec<_>, _>>()
        .context("the hub's answer is not a certificate chain")?;
    let roots = TrustRoots::from_pem(answer.roots_pem.as_bytes())?;
    let creds = request.into_credentials(chain, &roots, SystemTime::now())?;
    let pki = pki_dir(data_dir);
    creds.save(&pki)?;
    roots.save(&pki)?;
    println!("enrolled {node_id} for {region}; certificates in {}", pki.display());
    // The hub's sync endpoint: the host the officer reached it at, its sync port.
    if !answer.hub_id.is_empty() && answer.sync_port != 0 {
        let host = url::Url::parse(hub_url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .context("the hub URL names no host")?;
        let host = if host.contains(':') { format!("[{host}]") } else { host };
        let uplink =
            config::UplinkFile { hub: format!("{host}:{}", answer.sync_port), hub_id: answer.hub_id };
        config::save_uplink(data_dir, &uplink)?;
        println!("this kiosk syncs with {} at {}; start it with `yizhan kiosk`", uplink.hub_id, uplink.hub);
    }
    println!(
        "check with the county operator that the province root fingerprint is {:?}",
        roots.fingerprints()
    );
    Ok(())
}

fn rustls_cert(der: Vec<u8>) -> rustls_pki_types::CertificateDer<'static> {
    rustls_pki_types::CertificateDer::from(der)
}

#[derive(clap::Args)]
pub struct HubArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// A configuration file (TOML) with any of the options below; flags and environment
    /// variables take precedence over it.
    #[arg(long, value_name = "FILE", env = "YIZHAN_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address of the web UI, status page and enrolment endpoint [default: 127.0.0.1:8090].
    #[arg(long, env = "YIZHAN_HTTP")]
    pub http: Option<String>,
    /// UDP address children dial for sync (QUIC) [default: 0.0.0.0:7443].
    #[arg(long, env = "YIZHAN_SYNC")]
    pub sync: Option<String>,
    /// The parent hub's sync address (host:port), if this hub has one.
    #[arg(long, env = "YIZHAN_PARENT")]
    pub parent: Option<String>,
    /// The parent hub's node id.
    #[arg(long, env = "YIZHAN_PARENT_ID")]
    pub parent_id: Option<String>,
    #[command(flatten)]
    pub sms: config::SmsArgs,
}

/// Starts a hub whose CA lives in `data_dir/pki`.
pub async fn start_hub(
    data_dir: PathBuf,
    http: SocketAddr,
    sync: SocketAddr,
    parent: Option<(SocketAddr, String)>,
    sms: Arc<dyn yizhan_accounts::SmsSender>,
) -> anyhow::Result<Hub> {
    let pki = pki_dir(&data_dir);
    let authority = Authority::load(&pki, SystemTime::now()).with_context(|| {
        format!("no hub CA in {}: run `yizhan ca-init` or `yizhan ca-add-hub`", pki.display())
    })?;
    let identity = authority.identity().clone();
    let tls = node_tls(authority.own_credentials(SystemTime::now())?, authority.roots().clone());
    let enroller = Enroller::open(authority, pki.join("enrolment-codes.json"))?;
    let config = HubConfig {
        node_id: identity.node_id().to_string(),
        scope: identity.scope().to_string(),
        data_dir,
        http_listen: http,
        sync_listen: sync,
        parent: parent.map(|(addr, id)| ParentLink { addr, server_name: server_name_for(&id), node_id: id }),
        net: NetConfig { parent_check: Some(tls.parent_check()?), ..NetConfig::new(identity.node_id()) },
    };
    let hub_tls = HubTls {
        server: tls.quic_server()?,
        client: Some(tls.quic_client()?),
        authorize: tls.child_authorizer()?,
        enroller: Some(Arc::new(enroller)),
        node: Some(tls.clone()),
    };
    let hub = yizhan_hub::start_with_sms(config, hub_tls, sms).await?;
    tokio::spawn(yizhan_net::follow_revocations(hub.store.clone(), tls.revocation.clone()));
    Ok(hub)
}

/// Issues a kiosk's web certificate with this hub's CA into `out` (see `yizhan web-cert`).
pub fn web_cert(
    data_dir: &Path,
    node_id: &str,
    scope: &str,
    names: &[String],
    out: &Path,
) -> anyhow::Result<()> {
    use yizhan_identity::web::{WEB_CHAIN_FILE, WEB_KEY_FILE};
    let pki = pki_dir(data_dir);
    let authority = Authority::load(&pki, SystemTime::now())
        .with_context(|| format!("no hub CA in {}: run this on the county hub's machine", pki.display()))?;
    let kiosk = NodeIdentity::new(node_id, Role::Kiosk, scope)?;
    let creds = authority.issue_web_credentials(&kiosk, names, SystemTime::now())?;
    creds.save(out, WEB_CHAIN_FILE, WEB_KEY_FILE)?;
    println!(
        "web certificate for {node_id} ({}) in {}: copy {WEB_CHAIN_FILE} and {WEB_KEY_FILE} into the kiosk's pki/ directory",
        names.join(", "),
        out.display()
    );
    Ok(())
}

/// Revokes a node's certificates: signs this hub's (or the province's) next revocation list
/// and stores it as a public document, which syncs down to every node.
pub fn revoke(data_dir: &Path, node_id: &str) -> anyhow::Result<()> {
    use yizhan_core::revocation::RevocationDoc;
    let pki = pki_dir(data_dir);
    let authority = Authority::load(&pki, SystemTime::now())?;
    let issuer = authority.identity().node_id().to_string();
    // The province hub may be running on this directory: write beside it.
    let mut db = yizhan_store::Db::open_alongside(yizhan_store::StoreConfig::new(data_dir))?;
    let id = RevocationDoc::id_for(&issuer);
    let existing = match db.load_doc(&id)? {
        Some(doc) => Some(RevocationDoc::from_doc(&doc).map_err(anyhow::Error::msg)?),
        None => None,
    };
    let (version, mut revoked) = match &existing {
        Some(r) => {
            let bytes = B64.decode(&r.list_b64)?;
            let signed = yizhan_identity::SignedRevocationList::from_bytes(&bytes)?;
            let (list, _signer) = signed.verify(authority.roots(), SystemTime::now())?;
            (r.version, list.revoked)
        }
        None => (0, std::collections::BTreeSet::new()),
    };
    revoked.insert(yizhan_identity::Revoked::node(node_id)?);
    let signed = authority.sign_revocation_list(version + 1, revoked)?;
    let list_b64 = B64.encode(signed.to_bytes());
    match existing {
        Some(_) => {
            db.update_doc(&id, |doc| RevocationDoc::update(doc, version + 1, list_b64.clone()))?
                .map_err(anyhow::Error::msg)?;
        }
        None => {
            let r = RevocationDoc {
                doc_type: yizhan_core::revocation::DOC_TYPE.into(),
                id: id.clone(),
                issuer: issuer.clone(),
                version: version + 1,
                list_b64,
            };
            let mut doc = r.to_doc().map_err(anyhow::Error::msg)?;
            db.create_doc(&id, yizhan_core::revocation::DOC_TYPE, &mut doc)?;
        }
    }
    println!(
        "{issuer} revoked {node_id} (list version {}); it reaches every node with the next sync",
        version + 1
    );
    Ok(())
}

pub async fn run_hub(args: HubArgs) -> anyhow::Result<()> {
    let file: config::HubFile = config::load(args.config.as_deref())?;
    let sms = config::sms_sender(&args.sms, file.sms.as_ref())?;
    let data_dir = data_dir(args.data.data_dir.or(file.data_dir), "hub")?;
    let http = config::resolve("http", &args.http.or(file.http).unwrap_or_else(|| "127.0.0.1:8090".into()))?;
    let sync = config::resolve("sync", &args.sync.or(file.sync).unwrap_or_else(|| "0.0.0.0:7443".into()))?;
    let parent = match (args.parent.or(file.parent), args.parent_id.or(file.parent_id)) {
        (Some(addr), Some(id)) => Some((config::resolve("parent", &addr)?, id)),
        (None, None) => None,
        _ => bail!(
            "a parent hub needs both --parent and --parent-id (or parent and parent_id in the configuration)"
        ),
    };
    let hub = start_hub(data_dir, http, sync, parent, sms).await?;
    if let Some(password) = yizhan_hub::ensure_admin(&hub).await? {
        // Shown once, on the operator's console only (never logged): change it after signing in.
        println!(
            "首次启动：管理员账号 admin，初始密码 {password}（登录 http://{}/desk 后请修改）",
            hub.http_addr
        );
    }
    println!(
        "驿站 hub {} ({}) ready: http://{}/  sync on {}",
        hub.config.node_id, hub.config.scope, hub.http_addr, hub.sync_addr
    );
    shutdown_signal().await;
    hub.close().await;
    Ok(())
}

pub fn enrol_code(data_dir: &Path, scope: &str, node_id: Option<&str>, hours: u64) -> anyhow::Result<()> {
    let pki = pki_dir(data_dir);
    let authority = Authority::load(&pki, SystemTime::now())?;
    let enroller = Enroller::open(authority, pki.join("enrolment-codes.json"))?;
    let code =
        enroller.issue(scope, node_id, Duration::from_secs(hours * 3600)).map_err(anyhow::Error::msg)?;
    println!("{code}");
    Ok(())
}

pub fn ca_init(data_dir: &Path, node_id: &str) -> anyhow::Result<()> {
    let pki = pki_dir(data_dir);
    if pki.join("ca.key").exists() {
        bail!("{} already holds a CA; refusing to replace it", pki.display());
    }
    let authority = Authority::init(node_id, "51", SystemTime::now())?;
    authority.save(&pki)?;
    println!(
        "province CA {node_id} created in {}; root fingerprint {:?}",
        pki.display(),
        authority.roots().fingerprints()
    );
    Ok(())
}

pub fn ca_add_hub(ca_dir: &Path, out_dir: &Path, node_id: &str, scope: &str) -> anyhow::Result<()> {
    let parent = Authority::load(&pki_dir(ca_dir), SystemTime::now())?;
    let out = pki_dir(out_dir);
    if out.join("ca.key").exists() {
        bail!("{} already holds a CA; refusing to replace it", out.display());
    }
    let hub = parent.create_child_hub(node_id, scope, SystemTime::now())?;
    hub.save(&out)?;
    println!("hub CA {node_id} ({scope}) created in {}", out.display());
    Ok(())
}

pub fn ca_request(data_dir: &Path, node_id: &str, scope: &str) -> anyhow::Result<()> {
    let csr = yizhan_identity::request_hub_ca(&pki_dir(data_dir), node_id, scope)?;
    println!(
        "hub {node_id} ({scope}): its CA key stays in {}; carry the request {} to the province, which runs \
         `yizhan ca-sign --ca-dir PROVINCE_DIR --csr ca-request.csr --out-dir ANSWER`; then here: \
         `yizhan ca-install --data-dir {} --answer ANSWER`",
        pki_dir(data_dir).display(),
        csr.display(),
        data_dir.display()
    );
    Ok(())
}

pub fn ca_sign(ca_dir: &Path, csr: &Path, out_dir: &Path) -> anyhow::Result<()> {
    let authority = Authority::load(&pki_dir(ca_dir), SystemTime::now())?;
    if out_dir.join(yizhan_identity::CA_CHAIN_FILE).exists() {
        bail!("{} already holds an answer; choose a new directory", out_dir.display());
    }
    let hub = yizhan_identity::sign_hub_request(&authority, csr, out_dir, SystemTime::now())?;
    println!(
        "signed the CA of {} ({}) into {}; carry it to the hub and run `yizhan ca-install --answer DIR` there. \
         Root fingerprint {:?}",
        hub.node_id(),
        hub.scope(),
        out_dir.display(),
        authority.roots().fingerprints()
    );
    Ok(())
}

pub fn ca_install(data_dir: &Path, answer: &Path) -> anyhow::Result<()> {
    let pki = pki_dir(data_dir);
    let authority = yizhan_identity::install_hub_ca(&pki, answer, SystemTime::now())?;
    println!(
        "hub CA {} ({}) installed in {}. Check that the root fingerprint {:?} is the one the province \
         printed at `ca-init`; then start the hub: `yizhan hub --data-dir {}` (with --parent and --parent-id)",
        authority.identity().node_id(),
        authority.identity().scope(),
        pki.display(),
        authority.roots().fingerprints(),
        data_dir.display()
    );
    Ok(())
}

#[cfg(test)]
mod option_tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Kiosk {
        #[command(flatten)]
        args: KioskArgs,
    }

    fn parse(argv: &[&str]) -> KioskArgs {
        let argv = std::iter::once("kiosk").chain(argv.iter().copied());
        Kiosk::try_parse_from(argv).unwrap_or_else(|e| panic!("{e}")).args
    }

    #[test]
    fn flags_beat_the_file_which_beats_enrolment_and_defaults() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let data = dir.path().join("data");
        let file = dir.path().join("kiosk.toml");
        std::fs::write(
            &file,
            format!(
                "data_dir = {:?}\nlisten = \"0.0.0.0:8081\"\nregion = \"510131001001\"\n",
                data.to_str().unwrap_or_default()
            ),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let f = file.to_str().unwrap_or_default();
        let o = kiosk_options(&parse(&["--config", f])).unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(
            (o.data_dir.clone(), o.listen.port(), o.region.as_str()),
            (data.clone(), 8081, "510131001001")
        );
        assert_eq!(o.hub, None);
        let o = kiosk_options(&parse(&["--config", f, "--listen", "127.0.0.1:9000"]))
            .unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(o.listen, "127.0.0.1:9000".parse().unwrap_or_else(|e| panic!("{e}")));
        // What enrolment recorded is used when neither flags nor file name a hub.
        config::save_uplink(
            &data,
            &config::UplinkFile { hub: "127.0.0.1:7443".into(), hub_id: "hub-510131".into() },
        )
        .unwrap_or_else(|e| panic!("{e:#}"));
        let o = kiosk_options(&parse(&["--config", f])).unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(o.hub.map(|(a, id)| (a.port(), id)), Some((7443, "hub-510131".to_string())));
        let o = kiosk_options(&parse(&["--config", f, "--hub", "127.0.0.1:7000", "--hub-id", "hub-x"]))
            .unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(o.hub.map(|(a, id)| (a.port(), id)), Some((7000, "hub-x".to_string())));
        // Half a hub is an error, and so is an option the file does not know.
        assert!(kiosk_options(&parse(&["--config", f, "--hub", "127.0.0.1:7000"])).is_err());
        std::fs::write(&file, "hubb = \"x\"\n").unwrap_or_else(|e| panic!("{e}"));
        assert!(kiosk_options(&parse(&["--config", f])).is_err());
    }
}
