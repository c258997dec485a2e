//! QUIC configurations from a node's credentials (see `yizhan-identity`), and the hub's
//! authoriser that turns a verified child certificate into what the child may sync.

use std::sync::Arc;

use yizhan_identity::{
    NodeCredentials, NodeIdentity, RevocationState, TimeProvider, TrustRoots, peer_identity,
};
use yizhan_store::sync::PeerPolicy;

use crate::PeerAuthorizer;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("tls: {0}")]
    Config(#[from] yizhan_identity::TlsConfigError),
    #[error("quic crypto: {0}")]
    Quic(String),
}

/// Everything a node needs to speak sync over QUIC.
#[derive(Clone)]
pub struct NodeTls {
    pub creds: Arc<NodeCredentials>,
    pub roots: TrustRoots,
    pub revocation: Arc<RevocationState>,
    pub clock: Arc<dyn TimeProvider>,
}

/// QUIC idle timeout: a link quiet this long is dropped (the uplink dials again).
pub const QUIC_IDLE_TIMEOUT_MS: u32 = 300_000;
/// Keep-alives every 20 s: kiosks sit behind NATs that forget mappings quickly.
pub const QUIC_KEEP_ALIVE: std::time::Duration = std::time::Duration::from_secs(20);

fn transport() -> Arc<quinn::TransportConfig> {
    let mut transport = quinn::TransportConfig::default();
    transport.max_idle_timeout(Some(quinn::IdleTimeout::from(quinn::VarInt::from_u32(QUIC_IDLE_TIMEOUT_MS))));
    transport.keep_alive_interval(Some(QUIC_KEEP_ALIVE));
    // EXPERIMENT (temporary): candidates chosen by environment.
    let iw: Option<u64> = std::env::var("YIZHAN_QUIC_IW").ok().and_then(|v| v.parse().ok());
    match std::env::var("YIZHAN_QUIC_CC").as_deref() {
        Ok("bbr") => {
            let mut c = quinn::congestion::BbrConfig::default();
            if let Some(iw) = iw {
                c.initial_window(iw);
            }
            transport.congestion_controller_factory(Arc::new(c));
        }
        Ok("newreno") => {
            let mut c = quinn::congestion::NewRenoConfig::default();
            if let Some(iw) = iw {
                c.initial_window(iw);
            }
            transport.congestion_controller_factory(Arc::new(c));
        }
        _ => {
            let mut c = quinn::congestion::CubicConfig::default();
            if let Some(iw) = iw {
                c.initial_window(iw);
            }
            transport.congestion_controller_factory(Arc::new(c));
        }
    }
    if let Some(w) = std::env::var("YIZHAN_QUIC_SRW").ok().and_then(|v| v.parse::<u32>().ok()) {
        transport.stream_receive_window(quinn::VarInt::from_u32(w));
    }
    if let Some(w) = std::env::var("YIZHAN_QUIC_RW").ok().and_then(|v| v.parse::<u32>().ok()) {
        transport.receive_window(quinn::VarInt::from_u32(w));
    }
    if let Some(w) = std::env::var("YIZHAN_QUIC_SW").ok().and_then(|v| v.parse::<u64>().ok()) {
        transport.send_window(w);
    }
    eprintln!("EXPERIMENT transport: {transport:?}");
    Arc::new(transport)
}

impl NodeTls {
    pub fn identity(&self) -> Result<NodeIdentity, yizhan_identity::IdentityError> {
        self.creds.identity()
    }

    pub fn quic_server(&self) -> Result<quinn::ServerConfig, TlsError> {
        let rustls = yizhan_identity::server_config(
            &self.creds,
            &self.roots,
            self.revocation.clone(),
            &[yizhan_sync_proto::ALPN_V2],
            self.clock.clone(),
        )?;
        let crypto = quinn::crypto::rustls::QuicServerConfig::try_from(rustls)
            .map_err(|e| TlsError::Quic(e.to_string()))?;
        let mut config = quinn::ServerConfig::with_crypto(Arc::new(crypto));
        config.transport_config(transport());
        Ok(config)
    }

    pub fn quic_client(&self) -> Result<quinn::ClientConfig, TlsError> {
        let rustls = yizhan_identity::client_config(
            &self.creds,
            &self.roots,
            self.revocation.clone(),
            &[yizhan_sync_proto::ALPN_V2],
            self.clock.clone(),
        )?;
        let crypto = quinn::crypto::rustls::QuicClientConfig::try_from(rustls)
            .map_err(|e| TlsError::Quic(e.to_string()))?;
        let mut config = quinn::ClientConfig::new(Arc::new(crypto));
        config.transport_config(transport());
        Ok(config)
    }
}

/// A hub's authoriser: the TLS layer already refused anyone outside the hub's scope; this
/// maps the child's certificate identity to the documents it may send and receive.
pub fn child_authorizer(own: NodeIdentity) -> PeerAuthorizer {
    Arc::new(move |chain| {
        let peer = peer_identity(chain).map_err(|e| e.to_string())?;
        if !own.is_ancestor_of(&peer) {
            return Err(format!("{} ({}) is not within {}", peer.node_id(), peer.scope(), own.scope()));
        }
        Ok(match peer.role() {
            yizhan_identity::Role::Kiosk => PeerPolicy::child(peer.node_id(), peer.scope()),
            _ => PeerPolicy::child_hub(peer.node_id(), peer.scope()),
        })
    })
}

/// Applies every revocation list document in the store (now and as they arrive by sync) to the
/// node's TLS verifiers. A list that does not verify against the trust roots is ignored.
pub async fn follow_revocations(store: yizhan_store::Store, revocation: Arc<RevocationState>) {
    use base64::Engine;
    use yizhan_core::revocation::{DOC_TYPE, RevocationDoc};
    let reader = store.clone();
    store
        .follow(0, "revocation lists", move |after| {
            let (reader, revocation) = (reader.clone(), revocation.clone());
            async move {
                let (next, docs) = reader.call(move |db| db.docs_of_type_since(after, 256, DOC_TYPE)).await?;
                for r in docs.iter().filter_map(|(_, doc)| RevocationDoc::from_doc(doc).ok()) {
                    let bytes = base64::engine::general_purpose::STANDARD
                        .decode(r.list_b64.as_bytes())
                        .unwrap_or_default();
                    match revocation.apply(&bytes, std::time::SystemTime::now()) {
                        Ok(applied) => {
                            tracing::info!(issuer = %r.issuer, version = r.version, ?applied, "revocation list")
                        }
                        Err(e) => tracing::warn!(issuer = %r.issuer, error = %e, "ignored a revocation list"),
                    }
                }
                Ok(next)
            }
        })
        .await;
}
