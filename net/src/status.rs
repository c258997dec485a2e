//! What the UI shows about a link: state, progress of the current session, what is waiting.

use std::sync::{Arc, Mutex};

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum LinkState {
    /// No parent configured.
    Disabled,
    Connecting,
    Syncing,
    Synced,
    /// The last attempt failed; the next is due at `retry_at_ms`.
    Offline {
        retry_at_ms: i64,
        error: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncStatus {
    pub peer: String,
    pub link: LinkState,
    pub last_synced_at_ms: Option<i64>,
    /// Documents sent and received in the current (or last) session.
    pub docs_sent: u64,
    pub docs_received: u64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    /// Blobs this node lacks that documents within this link's scope reference (after the
    /// role filter), and their declared bytes: what this link may still bring. Counted at the
    /// start of every fetch round.
    pub blobs_waiting: u64,
    pub blob_bytes_waiting: u64,
    /// Blobs received complete and verified in the current (or last) session, and the verified
    /// content bytes received (partial blobs included).
    pub blobs_received: u64,
    pub blob_bytes_received: u64,
    /// Content bytes of blobs sent in the current (or last) session (re-sent bytes count again).
    pub blob_bytes_sent: u64,
    /// The blob being received now, if any.
    pub blob_receiving: Option<BlobProgress>,
    /// The blob being sent now, if any.
    pub blob_sending: Option<BlobProgress>,
    /// Blob content bytes per second the peer acknowledged as durable, over the last 20 s of
    /// sending (kept from the last measurement while nothing moves; `None` until measured).
    pub blob_ack_bytes_per_s: Option<u64>,
}

impl SyncStatus {
    /// The link's figures as metric samples: (name, help, value), for a node's `/metrics`;
    /// `now_ms` on the node's clock gives the age of the last sync.
    pub fn samples(&self, now_ms: i64) -> Vec<(&'static str, &'static str, f64)> {
        let up = matches!(self.link, LinkState::Syncing | LinkState::Synced);
        let mut out = vec![
            (
                "yizhan_peer_link_up",
                "1 while the sync link to the peer is connected",
                f64::from(u8::from(up)),
            ),
            (
                "yizhan_peer_docs_sent",
                "Documents sent to the peer in the current or last session",
                self.docs_sent as f64,
            ),
            (
                "yizhan_peer_docs_received",
                "Documents received in the current or last session",
                self.docs_received as f64,
            ),
            (
                "yizhan_peer_bytes_sent",
                "Bytes sent to the peer in the current or last session",
                self.bytes_sent as f64,
            ),
            (
                "yizhan_peer_bytes_received",
                "Bytes received in the current or last session",
                self.bytes_received as f64,
            ),
            (
                "yizhan_peer_blobs_waiting",
                "Blobs this node lacks that the peer may bring",
                self.blobs_waiting as f64,
            ),
            (
                "yizhan_peer_blob_bytes_waiting",
                "Bytes of the blobs still to fetch from the peer",
                self.blob_bytes_waiting as f64,
            ),
        ];
        if let Some(t) = self.last_synced_at_ms {
            out.push((
                "yizhan_peer_last_sync_age_seconds",
                "Seconds since the last complete sync with the peer",
                (now_ms - t).max(0) as f64 / 1000.0,
            ));
        }
        out
    }
}

/// Progress of one blob transfer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BlobProgress {
    pub hash: String,
    /// The attachment role (`thumb`, `original`, ..) when known (the receiving side knows it).
    pub role: String,
    /// Receiving: verified and durable bytes; sending: bytes sent.
    pub done_bytes: u64,
    pub total_bytes: u64,
}

/// A shared, cheaply cloned view of one link's status.
#[derive(Clone)]
pub struct SyncStatusHandle(Arc<Mutex<SyncStatus>>);

impl SyncStatusHandle {
    pub fn new(peer: &str) -> SyncStatusHandle {
        SyncStatusHandle(Arc::new(Mutex::new(SyncStatus {
            peer: peer.to_string(),
            link: LinkState::Disabled,
            last_synced_at_ms: None,
            docs_sent: 0,
            docs_received: 0,
            bytes_sent: 0,
            bytes_received: 0,
            blobs_waiting: 0,
            blob_bytes_waiting: 0,
            blobs_received: 0,
            blob_bytes_received: 0,
            blob_bytes_sent: 0,
            blob_receiving: None,
            blob_sending: None,
            blob_ack_bytes_per_s: None,
        })))
    }

    pub fn get(&self) -> SyncStatus {
        match self.0.lock() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    pub fn update(&self, f: impl FnOnce(&mut SyncStatus)) {
        match self.0.lock() {
            Ok(mut g) => f(&mut g),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }
}

/// A hub's record of one child: the scope its certificate grants and its link status.
#[derive(Clone)]
pub struct ChildEntry {
    pub scope: String,
    pub status: SyncStatusHandle,
}

/// The children a hub has heard from, by node id.
pub type Children = Arc<Mutex<std::collections::BTreeMap<String, ChildEntry>>>;
