//! Links between a child and its parent, and the bytes in flight on them.
//!
//! A link carries at most one live session pair at a time (one QUIC connection, one ordered
//! stream each way). Bytes are delivered in order per direction after a delay (latency, jitter
//! and the link's bandwidth), in fragments that need not match frames. When the link drops,
//! both `Session` objects are dropped; what was in flight is lost, except that a side may
//! linger half-open (a "zombie", as a hub keeps a dead connection until its idle timeout) and
//! still receive the bytes already on their way to it, its replies going nowhere.

use yizhan_sync_proto::Session;

use super::blobs::BlobLink;

pub const CHILD: usize = 0;
pub const PARENT: usize = 1;

/// The streams of a connection: the document session, and blob streams (each opened by its
/// fetching side). The session has its own lane, as QUIC gives it priority over blob streams:
/// a slice never delays a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    Session,
    Blob { fetcher: usize, stream: u64 },
}

impl Lane {
    pub fn index(self) -> usize {
        match self {
            Lane::Session => 0,
            Lane::Blob { .. } => 1,
        }
    }
}

/// One side of a session pair, with what the driver learnt from its events.
pub struct Endpoint {
    pub session: Session,
    /// The last activity event was `Synced`.
    pub synced: bool,
}

impl Endpoint {
    pub fn new(session: Session) -> Endpoint {
        Endpoint { session, synced: false }
    }
}

pub struct Link {
    pub child: usize,
    pub parent: usize,
    pub latency_ms: u64,
    pub jitter_ms: u64,
    /// Bandwidth each way; a frame occupies the link for `len / bytes_per_ms`.
    pub bytes_per_ms: u64,
    /// Incremented on every connection; bytes in flight carry the epoch they were sent in.
    pub epoch: u64,
    /// [child side, parent side] while the link is up.
    pub live: Option<Box<[Endpoint; 2]>>,
    /// Partitions currently holding this link down.
    pub blocked: u32,
    /// A reconnect is scheduled.
    pub reconnecting: bool,
    /// Per lane and receiving side: the latest delivery time scheduled in this epoch (FIFO).
    pub last_at: [[u64; 2]; 2],
    /// Per lane and receiving side: the queue key of the latest delivery, to coalesce into it.
    pub last_key: [[Option<(u64, u64)>; 2]; 2],
    /// Per receiving side: session deliveries in flight in this epoch.
    pub pending: [usize; 2],
    /// Per receiving side: blob stream deliveries in flight in this epoch.
    pub blob_pending: [usize; 2],
    /// The blob side of the connection, per fetching side.
    pub blob: [BlobLink; 2],
    /// Messages each side sent since the counter was reset (for the second-round check).
    pub round_msgs: [Vec<u8>; 2],
}

impl Link {
    pub fn node(&self, side: usize) -> usize {
        if side == CHILD { self.child } else { self.parent }
    }

    pub fn is_up(&self) -> bool {
        self.live.is_some()
    }
}

/// Something scheduled on the fake clock.
#[derive(Debug)]
pub enum Ev {
    /// Bytes of connection `epoch`, on `lane`, arriving at side `to` of `link`.
    Deliver { link: usize, epoch: u64, to: usize, lane: Lane, bytes: Vec<u8> },
    /// Side `side` of `link` (connection `epoch`) looks again for blobs to fetch (a retry is due).
    FetchWake { link: usize, epoch: u64, side: usize },
    /// The node's store changed: its sessions are told (`local_changed`), as the driver's
    /// watch channel does, a little later.
    Notify { node: usize },
    /// The child dials its parent again (after a backoff).
    Reconnect { link: usize },
    /// A partition heals.
    PartitionEnd { links: Vec<usize>, generation: u64 },
}

/// Splits `bytes` into 1..=4 fragments at random points.
pub fn fragments(bytes: &[u8], rng: &mut impl rand::Rng) -> Vec<std::ops::Range<usize>> {
    let n = bytes.len();
    if n < 2 {
        return std::iter::once(0..n).collect();
    }
    let cuts = rng.random_range(0..=3usize);
    let mut points: Vec<usize> = (0..cuts).map(|_| rng.random_range(1..n)).collect();
    points.sort_unstable();
    points.dedup();
    let mut out = Vec::with_capacity(points.len() + 1);
    let mut start = 0;
    for p in points {
        out.push(start..p);
        start = p;
    }
    out.push(start..n);
    out
}
