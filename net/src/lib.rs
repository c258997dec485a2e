//! QUIC transport for sync: the connection driver (the only place where QUIC streams, the
//! sans-IO [`yizhan_sync_proto::Session`] and the store meet), the hub's accept loop and the
//! uplink that dials a parent with capped exponential backoff.
//!
//! Authentication is mutual TLS, configured by the caller (see `yizhan-identity`); this crate
//! asks a [`PeerAuthorizer`] to turn the peer's verified certificate chain into a
//! [`PeerPolicy`] and refuses the connection when it cannot.

mod driver;
mod limiter;
mod status;
mod tls;

pub use driver::{PeerAuthorizer, SessionOutcome, run_session, serve, uplink};
pub use limiter::RateLimiter;
pub use status::{ChildEntry, Children, LinkState, SyncStatus, SyncStatusHandle};
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
    /// Concurrent child connections a hub serves.
    pub children_max: usize,
    /// Bytes read from the stream per read call.
    pub read_chunk_bytes: usize,
}

impl NetConfig {
    pub fn new(node_id: impl Into<String>) -> NetConfig {
        NetConfig {
            node_id: node_id.into(),
            send_bytes_per_s_max: None,
            retry_min: Duration::from_secs(1),
            retry_max: Duration::from_secs(300),
            idle_timeout: Duration::from_secs(120),
            children_max: 1024,
            read_chunk_bytes: 64 * 1024,
        }
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
}
