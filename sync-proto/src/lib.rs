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

pub use replica::{FeedEntry, RejectReason, Rejected, Replica};
pub use session::{Event, PeerInfo, Session, SessionConfig, SessionError, SessionStats};
pub use wire::{DocChange, FrameDecoder, Hash, Message, WireError};

/// The ALPN of protocol version 1. A breaking change gets a new ALPN; the old one is kept
/// for a release.
pub const ALPN_V1: &[u8] = b"yizhan/sync/1";
pub const PROTOCOL_VERSION: u16 = 1;
/// No frame's payload may exceed this; a peer may announce a smaller limit in its hello.
pub const MESSAGE_BYTES_MAX: u32 = 4 * 1024 * 1024;
