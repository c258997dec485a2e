//! QUIC transport for sync: the connection driver (the only place where QUIC streams, the
//! sans-IO [`yizhan_sync_proto::Session`] and the store meet), the hub's accept loop and the
//! uplink that dials a parent with capped exponential backoff.
//!
//! Besides the document session, every connection carries blob transfers (see [`BlobConfig`]):
//! each side serves the blob streams its peer opens and, once documents are in sync, fetches the
//! blobs it lacks on streams of its own.
//!
//! Authentication is mutual TLS, configured by the caller (see `yizhan-identity`); this crate
//! asks a [`PeerAuthorizer`] to turn the peer's verified certificate chain into a
//! [`PeerPolicy`] and refuses the connection when it cannot.

mod blobs;
pub mod congestion;
mod driver;
mod limiter;
pub mod linkemu;
mod status;
pub mod takedown;
mod tls;

pub use driver::{PeerAuthorizer, SessionOutcome, run_session, serve, uplink};
pub use limiter::RateLimiter;
pub use status::{BlobProgress, ChildEntry, Children, LinkState, SyncStatus, SyncStatusHandle};
pub use takedown::follow_takedowns;
pub use tls::{NodeTls, TlsError, child_authorizer, follow_revocations};
pub use yizhan_store::sync::PeerPolicy;

use std::time::Duration;

/// Limits and timings of one node's sync.
#[derive(Debug, Clone)]
pub struct NetConfig {
    pub node_id: String,
    /// Bytes per second this node sends on one link; `None` for no cap.
    pub send_bytes_per_s_max: Option<u64>,
    /// First retry after a failed dial; doubles up to `retry_max`.
    pub retry_min: Duration,
    pub retry_max: Duration,
    /// A session idle this long (no bytes either way) is closed; the uplink dials again.
    pub idle_timeout: Duration,
    /// A dial whose handshake has not finished by then fails (an unreachable hub answers
    /// nothing: without this bound the first retry would wait for QUIC's idle timeout).
    pub connect_timeout: Duration,
    /// Concurrent child connections a hub serves.
    pub children_max: usize,
    /// Bytes read from the stream per read call.
    pub read_chunk_bytes: usize,
    /// Blob transfer on this node's links.
    pub blobs: BlobConfig,
    /// Checks the parent's certificate chain on every connection the uplink makes (a resumed
    /// TLS session verified nothing); see [`NodeTls::parent_check`]. `None`: not checked again.
    pub parent_check: Option<ParentCheck>,
}

/// A check of the parent's certificate chain (verified, not revoked, in scope), run after
/// every handshake.
#[derive(Clone)]
pub struct ParentCheck(pub std::sync::Arc<CheckChain>);

/// A check of a certificate chain: `Err` with why it is refused.
pub type CheckChain =
    dyn Fn(&[rustls::pki_types::CertificateDer<'static>]) -> Result<(), String> + Send + Sync;

impl std::fmt::Debug for ParentCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ParentCheck")
    }
}

/// Which blobs a node fetches from its peers, and the bounds of blob transfer on one link.
#[derive(Debug, Clone)]
pub struct BlobConfig {
    /// Fetch blobs from peers at all (serving them is always on).
    pub fetch: bool,
    /// Fetch originals too; `false` leaves them on the node that recorded them (thumbnails,
    /// display copies, posters and video proxies still move).
    pub fetch_originals: bool,
    /// Wants outstanding on a fetch stream (the protocol allows 64).
    pub wants_in_flight_max: usize,
    /// Blobs taken from the store per fetch round.
    pub round_blobs_max: u32,
    /// Content bytes per slice this node sends; lowered to fit the peer's message limit and to
    /// about one second of the send cap, so a document never waits long behind a slice.
    pub slice_bytes: u32,
    /// Content bytes sent and not yet acknowledged, per stream.
    pub in_flight_bytes_max: u64,
    /// Blob streams a peer may have open at once; more are refused.
    pub serve_streams_max: usize,
    /// A blob the peer lacks (or sent corrupt) is asked for again after this, doubling up to
    /// `retry_max`.
    pub retry_min: Duration,
    pub retry_max: Duration,
}

impl Default for BlobConfig {
    fn default() -> Self {
        BlobConfig {
            fetch: true,
            fetch_originals: true,
            wants_in_flight_max: 8,
            round_blobs_max: 64,
            slice_bytes: yizhan_sync_proto::blob::SLICE_BYTES_DEFAULT,
            in_flight_bytes_max: yizhan_sync_proto::blob::IN_FLIGHT_BYTES_DEFAULT,
            serve_streams_max: 2,
            retry_min: Duration::from_secs(5),
            retry_max: Duration::from_secs(300),
        }
    }
}

impl BlobConfig {
    /// The roles this node fetches (empty: every role).
    pub fn fetch_roles(&self) -> Vec<&'static str> {
        if self.fetch_originals { Vec::new() } else { vec!["thumb", "display", "poster", "proxy"] }
    }
}

impl NetConfig {
    pub fn new(node_id: impl Into<String>) -> NetConfig {
        NetConfig {
            node_id: node_id.into(),
            send_bytes_per_s_max: None,
            retry_min: Duration::from_secs(1),
            retry_max: Duration::from_secs(300),
            idle_timeout: Duration::from_secs(120),
            connect_timeout: Duration::from_secs(10),
            children_max: 1024,
            read_chunk_bytes: 64 * 1024,
            blobs: BlobConfig::default(),
            parent_check: None,
        }
    }
}

/// How long a node shutting down waits for its peers to acknowledge the closing of its
/// connections.
pub const SHUTDOWN_WAIT: Duration = Duration::from_secs(2);

/// Closes an endpoint's connections with a goodbye (application code 0, "shutting down") and
/// waits at most [`SHUTDOWN_WAIT`] for the peers to acknowledge.
pub async fn close_endpoint(endpoint: &quinn::Endpoint) {
    endpoint.close(quinn::VarInt::from_u32(0), b"shutting down");
    if tokio::time::timeout(SHUTDOWN_WAIT, endpoint.wait_idle()).await.is_err() {
        tracing::info!("peers did not acknowledge the shutdown in time");
    }
}

#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error("connection: {0}")]
    Connection(#[from] quinn::ConnectionError),
    #[error("connect: {0}")]
    Connect(#[from] quinn::ConnectError),
    #[error("write: {0}")]
    Write(#[from] quinn::WriteError),
    #[error("read: {0}")]
    Read(#[from] quinn::ReadError),
    #[error("peer not authorised: {0}")]
    Unauthorized(String),
    #[error("sync session: {0}")]
    Session(#[from] yizhan_sync_proto::SessionError),
    #[error("store: {0}")]
    Store(#[from] yizhan_store::StoreError),
    #[error("session idle for {0:?}")]
    Idle(Duration),
    #[error("no answer to the handshake within {0:?}")]
    ConnectTimeout(Duration),
    #[error("blob transfer: {0}")]
    Blob(String),
}
