//! Yizhan's sync protocol (see docs/PROTOCOL.md): the wire format and a sans-IO session.
//!
//! Architecture invariant: no tokio, quinn, rusqlite or clock in here. A [`Session`] takes the
//! bytes that arrived and returns the bytes to send and the events that happened; the node's
//! documents are reached through the [`Replica`] trait, which the store implements on SQLite
//! and tests implement in memory.

pub mod blob;
mod replica;
mod session;
pub mod wire;

pub use replica::{
    BlobHash, Checkpoint, FeedEntry, Peer, RejectReason, Rejected, Replica, checkpoint_stands,
};
pub use session::{Event, PeerInfo, Session, SessionConfig, SessionError, SessionStats};
pub use wire::{DocChange, FrameDecoder, Hash, Message, WireError};

/// The ALPN of protocol version 2. A breaking change gets a new ALPN; the old one is kept
/// for a release once there has been one (version 1 never left development: it is not
/// accepted, see docs/PROTOCOL.md).
pub const ALPN_V2: &[u8] = b"yizhan/sync/2";
/// Version 2: store incarnations in the hello and the Rewind message (restored stores).
pub const PROTOCOL_VERSION: u16 = 2;
/// No frame's payload may exceed this; a peer may announce a smaller limit in its hello.
pub const MESSAGE_BYTES_MAX: u32 = 4 * 1024 * 1024;
