//! Yizhan's durable local store: automerge documents with their history, query projections,
//! a change feed for sync, a content-addressed blob store and the background job queue, all
//! on one SQLite database (WAL) plus a directory of blob files.
//!
//! Architecture invariant: one thread owns the SQLite connection ([`Store`] is a cloneable
//! handle that sends it closures over a bounded channel), so async code never blocks on disk.
//! Large blob bytes are written and fsynced by the caller's blocking task before the actor
//! records them: the metadata database is not on the data path.

mod actor;
pub mod backup;
mod blobs;
pub mod claims;
mod db;
pub mod held;
pub mod keys;
pub mod lectures;
pub mod lock;
mod migrations;
pub mod partial;
mod projection;
pub mod publication;
pub mod service;
pub mod stats;
pub mod sync;
pub mod takedown;
mod targets;

pub use actor::Store;
pub use blobs::{BlobBody, BlobInfo, BlobWriter, FinishedBlob, Hash, NewBlob};
pub use db::{CaseFilter, CaseRow, Db, FeedEntry, Job, JobState, StoreStats};
pub use publication::{MODULE_LIST_MAX, PublicItemRow, PublicationRow, ReviewItem};
pub use service::{ClockRow, PeopleFilter, QueueRow, ServiceFilter, ServiceRow};

use std::path::PathBuf;

/// Limits and tuning of a store. Every bound is explicit.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    pub dir: PathBuf,
    /// Blobs up to this size live inside SQLite; larger ones are files named by hash.
    pub inline_blob_bytes_max: u64,
    /// After this many incremental change chunks a document is compacted into one snapshot.
    pub compact_after_changes: u32,
    /// Commands waiting for the database thread; senders wait when it is full.
    pub queue_len: usize,
    /// This node's clock: the time at which it first saw each case event (service clocks
    /// run on the hub's time). Tests inject one.
    pub clock: StoreClock,
    /// Keep the statistics rollups with the projections (always; `false` only for the
    /// benchmark that measures their cost: such a store needs `rebuild_projections` before
    /// its statistics mean anything).
    pub stats_rollups: bool,
}

/// The node's one clock: milliseconds since the Unix epoch, on this node's time. Every node
/// reads wall-clock time through its store's (`store.config().clock`): the kiosk's service
/// layer, sign-in (`accounts`), the sync driver (`net`), the hub's service clocks, sealing and
/// publishing. Tests inject one ([`StoreClock::fixed`], [`StoreClock::from_fn`]).
///
/// Architecture invariant: [`StoreClock::system`] is the only place outside the binaries and
/// the certificate checks (`yizhan_identity::system_time`) that reads the system's time.
#[derive(Clone)]
pub struct StoreClock(pub std::sync::Arc<dyn Fn() -> i64 + Send + Sync>);

/// The name other crates use for the one clock.
pub type Clock = StoreClock;

impl StoreClock {
    /// A clock that calls `f` for the time.
    pub fn from_fn(f: impl Fn() -> i64 + Send + Sync + 'static) -> StoreClock {
        StoreClock(std::sync::Arc::new(f))
    }

    /// A clock that always says `ms`.
    pub fn fixed(ms: i64) -> StoreClock {
        StoreClock::from_fn(move || ms)
    }

    /// The system's wall clock.
    pub fn system() -> StoreClock {
        StoreClock(std::sync::Arc::new(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
                .unwrap_or(0)
        }))
    }

    pub fn now_ms(&self) -> i64 {
        (self.0)()
    }
}

impl std::fmt::Debug for StoreClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreClock")
    }
}

impl StoreConfig {
    pub fn new(dir: impl Into<PathBuf>) -> StoreConfig {
        StoreConfig {
            dir: dir.into(),
            inline_blob_bytes_max: 16 * 1024,
            compact_after_changes: 32,
            queue_len: 256,
            clock: StoreClock::system(),
            stats_rollups: true,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("io on {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("document {0} not found")]
    NotFound(String),
    #[error("document {id} is damaged: {detail}")]
    Corrupt { id: String, detail: String },
    #[error("document {0} already exists")]
    Exists(String),
    #[error("blob {hash} failed verification: {detail}")]
    BlobCorrupt { hash: String, detail: String },
    #[error("the database was written by a newer Yizhan (schema {found}, this build knows {known})")]
    TooNew { found: i64, known: i64 },
    #[error("the store has shut down")]
    Closed,
    /// Another process holds this data directory (see [`lock`]).
    #[error("data directory {} is in use by another Yizhan process{}: stop it first, or use another --data-dir", dir.display(), pid.map(|p| format!(" (PID {p})")).unwrap_or_default())]
    InUse { dir: PathBuf, pid: Option<u32> },
    /// The operation hit a bug (it panicked); its transaction was rolled back and the store
    /// goes on serving other operations.
    #[error("a store operation failed unexpectedly (a bug; its changes were rolled back)")]
    Panicked,
    /// A task following the feed failed outside the store (reported by [`Store::follow`]).
    #[error("{0}")]
    Task(String),
}

pub(crate) fn io_err(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> StoreError {
    let path = path.into();
    move |source| StoreError::Io { path, source }
}
