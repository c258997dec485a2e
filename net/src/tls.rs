//! QUIC configurations from a node's credentials (see `yizhan-identity`), and the hub's
//! authoriser that turns a verified child certificate into what the child may sync.

use std::sync::Arc;

use yizhan_identity::{
    NodeCredentials, NodeIdentity, PeerSide, RevocationState, TimeProvider, TrustRoots, peer_identity,
    recheck_peer,
};
use yizhan_store::sync::PeerPolicy;

use crate::congestion::RateBoundedBbrConfig;
use crate::{ParentCheck, PeerAuthorizer};

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
/// Congestion window of a new connection: ten full packets (RFC 9002's 14,720 bytes). quinn's
/// BBR would start at 200 packets (240 KB), six times what a 1 Mbit/s, 300 ms link holds in
/// flight (37.5 KB) plus a small router buffer: most of that first flight would be dropped.
pub const QUIC_INITIAL_WINDOW_BYTES: u64 = 14_720;
/// Bytes a peer may send ahead on one stream: 1.25 MB covers a 100 Mbit/s path with a 100 ms
/// round trip (a rural link needs 37.5 KB; a blob stream keeps at most 1 MiB unacknowledged
/// anyway). quinn's default, stated here with the two below.
pub const QUIC_STREAM_RECEIVE_WINDOW: u32 = 1_250_000;
/// Bytes a peer may send ahead on the whole connection: four streams at their full window (the
/// document session and blob streams both ways). Bounds what one child can make a hub buffer;
/// quinn's default is unbounded.
pub const QUIC_RECEIVE_WINDOW: u32 = 4 * QUIC_STREAM_RECEIVE_WINDOW;
/// Bytes this side buffers for sending, unacknowledged or not yet sent, on one connection.
pub const QUIC_SEND_WINDOW: u64 = 4 * QUIC_STREAM_RECEIVE_WINDOW as u64;

/// The one transport configuration of server and client.
///
/// Congestion control is BBR with its window bounded by a measured delivery rate
/// ([`crate::congestion`]), chosen by measurement (`benches/sync_link.rs`, figures in the
/// README): 100 cases over the emulated rural link (1 Mbit/s, 300 ms round trip, 2 % random
/// loss) took 2.94 times the link's limit with Cubic (quinn's default), 3.64 with NewReno,
/// 1.18-1.20 with quinn's BBR (which overfilled the router's queue: a third of the datagrams
/// dropped) and 1.17 with the bounded BBR, no datagram dropped but the random 2 %.
fn transport() -> Arc<quinn::TransportConfig> {
    let mut transport = quinn::TransportConfig::default();
    transport.max_idle_timeout(Some(quinn::IdleTimeout::from(quinn::VarInt::from_u32(QUIC_IDLE_TIMEOUT_MS))));
    transport.keep_alive_interval(Some(QUIC_KEEP_ALIVE));
    transport.stream_receive_window(quinn::VarInt::from_u32(QUIC_STREAM_RECEIVE_WINDOW));
    transport.receive_window(quinn::VarInt::from_u32(QUIC_RECEIVE_WINDOW));
    transport.send_window(QUIC_SEND_WINDOW);
    transport.congestion_controller_factory(Arc::new(RateBoundedBbrConfig::new(QUIC_INITIAL_WINDOW_BYTES)));
    // No path MTU discovery: datagrams stay at QUIC's 1200 bytes. quinn's search sends four
    // padded probes each way, about 11.6 KB per connection (measured by
    // `hub/tests/resumption.rs`; one probe each way still cost 2.9 KB), which was most of what
    // an up-to-date sync over a resumed session costs; staying at 1200 instead of 1452 costs
    // about 0.8 % more header bytes on a bulk transfer (about 55 bytes of IP, UDP and QUIC per
    // datagram).
    transport.mtu_discovery_config(None);
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

impl NodeTls {
    /// A hub's authoriser for every accepted connection: the child's chain (as the TLS session
    /// holds it: a resumed session's handshake verified nothing) is checked again against the
    /// trust roots, the revocation list as it is now, validity and scope
    /// (`yizhan_identity::recheck_peer`), then mapped as [`child_authorizer`] does. A child
    /// revoked since its last full handshake cannot get in by resuming.
    pub fn child_authorizer(&self) -> Result<PeerAuthorizer, yizhan_identity::IdentityError> {
        let own = self.identity()?;
        let scope_only = child_authorizer(own.clone());
        let (roots, revocation, clock) = (self.roots.clone(), self.revocation.clone(), self.clock.clone());
        Ok(Arc::new(move |chain| {
            let now = clock.current_time().ok_or("no clock")?;
            recheck_peer(&roots, &revocation, &own, chain, now, PeerSide::Child)
                .map_err(|e| e.to_string())?;
            scope_only(chain)
        }))
    }

    /// The dialer's check of the hub it reached, on every connection (resumed or not): its
    /// chain against the trust roots, the revocation list as it is now and scope.
    pub fn parent_check(&self) -> Result<ParentCheck, yizhan_identity::IdentityError> {
        let own = self.identity()?;
        let (roots, revocation, clock) = (self.roots.clone(), self.revocation.clone(), self.clock.clone());
        Ok(ParentCheck(Arc::new(move |chain| {
            let now = clock.current_time().ok_or("no clock")?;
            recheck_peer(&roots, &revocation, &own, chain, now, PeerSide::Parent)
                .map(|_| ())
                .map_err(|e| e.to_string())
        })))
    }
}

/// Maps a child's certificate identity to the documents it may send and receive, checking only
/// its scope: use [`NodeTls::child_authorizer`], which first re-verifies the chain (a resumed
/// TLS session verified nothing).
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
                    match revocation.apply(&bytes, yizhan_identity::system_time()) {
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
