//! What a session needs from the node's store. The store implements it on SQLite; tests and
//! the simulator implement it in memory.

use crate::wire::{DocChange, Hash};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedEntry {
    pub seq: u64,
    pub doc_id: String,
    pub doc_type: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectReason {
    /// The document lies outside what the sender may write (its certificate's scope).
    OutOfScope = 1,
    /// The changes depend on history the receiver does not have: send the whole document.
    MissingDeps = 2,
    /// The bytes are not a valid document of the stated type.
    Invalid = 3,
    /// The receiver does not accept this document type from this peer.
    Forbidden = 4,
}

impl RejectReason {
    pub fn from_code(code: u16) -> RejectReason {
        match code {
            1 => RejectReason::OutOfScope,
            2 => RejectReason::MissingDeps,
            4 => RejectReason::Forbidden,
            _ => RejectReason::Invalid,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    pub doc_id: String,
    pub reason: RejectReason,
    pub detail: String,
}

/// The node's side of a sync session with one peer.
pub trait Replica {
    type Error: std::fmt::Display;

    /// The sequence number of the latest local change.
    fn feed_head(&self) -> Result<u64, Self::Error>;
    /// Local feed entries after `seq`, oldest first, at most `limit`.
    fn feed_since(&self, seq: u64, limit: usize) -> Result<Vec<FeedEntry>, Self::Error>;
    /// The highest sequence number of `peer`'s feed durably applied here.
    fn recv_checkpoint(&self, peer: &str) -> Result<u64, Self::Error>;
    /// What `peer` lacks of the entry's document, or `None` when it lacks nothing or may not
    /// have the document (outside its scope).
    fn outgoing(&mut self, peer: &str, entry: &FeedEntry) -> Result<Option<DocChange>, Self::Error>;
    /// Applies a batch from `peer` and advances its checkpoint to `upto_seq`, atomically and
    /// durably. A document it refuses is reported and leaves no trace; the others apply.
    fn apply(
        &mut self,
        peer: &str,
        upto_seq: u64,
        docs: Vec<DocChange>,
    ) -> Result<Vec<Rejected>, Self::Error>;
    /// `peer` durably holds these documents at (at least) these heads.
    fn acknowledged(&mut self, peer: &str, docs: &[(String, Vec<Hash>)]) -> Result<(), Self::Error>;
    /// `peer` may not hold the document at all: the next offer sends the whole document.
    fn forget_shared(&mut self, peer: &str, doc_id: &str) -> Result<(), Self::Error>;
    /// `peer` refused these documents (other than for missing history); they stay unsynced
    /// until a later version is delivered.
    fn refused(&mut self, peer: &str, refused: &[Rejected]) -> Result<(), Self::Error>;
    /// `peer` holds everything of the local feed up to `seq` that it may hold (it said so in
    /// its hello or acknowledged it, or the entries held nothing it lacks).
    fn peer_has_upto(&mut self, peer: &str, seq: u64) -> Result<(), Self::Error>;
}
