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

/// A node's checkpoint of a peer's change feed: the peer's sequence number up to which it
/// applied everything, the incarnation of the peer's store and the peer's feed head when the
/// message that moved it was sent (0, 0: none recorded).
///
/// It says: "every document whose feed entry had a sequence up to `seq` when the peer's head
/// was `head` is held here at that version". That stays true as the peer's feed grows, and
/// stops being known when the peer's store went back before `head`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Checkpoint {
    pub incarnation: u64,
    pub seq: u64,
    pub head: u64,
}

/// How much of a checkpoint `seen` that a peer holds of this node's feed still stands, given
/// where `seen.incarnation` ends in this store's history as it is now (`end`: its last sequence,
/// the feed head if current; `None` if not in the history), what this node recorded the peer to
/// hold (`holds`, with the peer's incarnation then) and the peer's incarnation now:
///
/// - all of it, when it was recorded while the feed head was still within that incarnation as
///   this store has it now (a restart keeps an incarnation's history whole; a restore cuts it at
///   the backup, and a checkpoint learnt after the cut may pass documents that moved in the
///   lost history);
/// - otherwise what this node recorded the peer to hold, if the peer's store was not opened
///   again since (that record was made in this store's history as it is now);
/// - otherwise nothing.
pub fn checkpoint_stands(
    seen: Checkpoint,
    end: Option<u64>,
    holds: Checkpoint,
    peer_incarnation: u64,
) -> u64 {
    if seen.seq == 0 {
        return 0;
    }
    if end.is_some_and(|end| seen.seq <= seen.head && seen.head <= end) {
        return seen.seq;
    }
    if holds.incarnation == peer_incarnation {
        return seen.seq.min(holds.seq);
    }
    0
}

/// The peer of a session as the session knows it: the identity the transport authenticated,
/// the incarnation of its store that its hello announced, and the session's number from
/// [`Replica::begin_session`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer<'a> {
    pub id: &'a str,
    pub incarnation: u64,
    pub session: u64,
}

/// The node's side of a sync session with one peer.
///
/// Restored stores (docs/PROTOCOL.md): a store draws a new incarnation each time it is opened,
/// so a store restored from a backup never shares one with the history it lost. What a node
/// records of a peer (its checkpoint, the heads it holds) carries the peer's incarnation, and
/// shared heads are proof only for a session with that same incarnation. Of several sessions
/// with one peer (a dead connection not noticed yet, and the new one), only the one whose
/// peer's hello arrived last (the session of record) moves the peer's checkpoint and
/// `peer_has_upto`; the others may still apply documents.
pub trait Replica {
    type Error: std::fmt::Display;

    /// This store's current incarnation: a random non-zero id drawn each time it is opened.
    fn incarnation(&self) -> Result<u64, Self::Error>;
    /// The sequence number of the latest local change.
    fn feed_head(&self) -> Result<u64, Self::Error>;
    /// Local feed entries after `seq`, oldest first, at most `limit`.
    fn feed_since(&self, seq: u64, limit: usize) -> Result<Vec<FeedEntry>, Self::Error>;
    /// Where incarnation `incarnation` of this store ends in its history as it is now: the
    /// last sequence it could allocate before the next incarnation began (the feed head for the
    /// current one); `None` when it is not in the history (lost with a restore, or older than
    /// the incarnations kept).
    fn incarnation_end(&self, incarnation: u64) -> Result<Option<u64>, Self::Error>;
    /// What `peer_hello` and `peer_has_upto` recorded of `peer` holding the local feed: the
    /// sequence and the peer's incarnation then (`head` unused).
    fn peer_holds(&self, peer: &str) -> Result<Checkpoint, Self::Error>;
    /// A session with `peer` starts: the checkpoint of the peer's feed held here, and a number
    /// greater than that of every session with any peer begun before in this process.
    fn begin_session(&mut self, peer: &str) -> Result<(Checkpoint, u64), Self::Error>;
    /// `peer`'s hello arrived, and it holds the local feed up to `has_upto`. If no later
    /// session's hello arrived before, this session becomes the session of record for the
    /// peer and `has_upto` replaces what `peer_has_upto` recorded (the peer's store may have
    /// gone back); otherwise this call changes nothing.
    fn peer_hello(&mut self, peer: Peer<'_>, has_upto: u64) -> Result<(), Self::Error>;
    /// What `peer` lacks of the entry's document, or `None` when it lacks nothing or may not
    /// have the document (outside its scope). Shared heads recorded under another incarnation
    /// of the peer are no proof: the change sent is then computed from them (possibly empty)
    /// and the peer answers "missing history" if it does not hold them.
    fn outgoing(&mut self, peer: Peer<'_>, entry: &FeedEntry) -> Result<Option<DocChange>, Self::Error>;
    /// Applies a batch from `peer` and advances its checkpoint to `upto_seq`, atomically and
    /// durably. A document it refuses is reported and leaves no trace but a record of the
    /// refusal (other than for missing history; see `refusals_to_tell`), which a version
    /// accepted later clears; the others apply. A document whose declared heads are not all
    /// held once applied is refused as missing history. The checkpoint moves only when nothing
    /// was refused and this is the session of record: to the `max` of the sequences and of the
    /// heads when recorded under `peer.incarnation`, to `(peer.incarnation, upto_seq,
    /// peer_head)` otherwise. `peer_head` is the peer's feed head when it sent the batch.
    fn apply(
        &mut self,
        peer: Peer<'_>,
        upto_seq: u64,
        peer_head: u64,
        docs: Vec<DocChange>,
    ) -> Result<Vec<Rejected>, Self::Error>;
    /// `peer`'s store went back: its checkpoint is `(peer.incarnation, upto_seq, peer_head)`,
    /// replacing what was recorded (if this is the session of record).
    fn rewound(&mut self, peer: Peer<'_>, upto_seq: u64, peer_head: u64) -> Result<(), Self::Error>;
    /// `peer` durably holds these documents at (at least) these heads.
    fn acknowledged(&mut self, peer: Peer<'_>, docs: &[(String, Vec<Hash>)]) -> Result<(), Self::Error>;
    /// `peer` may not hold the document at all: the next offer sends the whole document.
    fn forget_shared(&mut self, peer: Peer<'_>, doc_id: &str) -> Result<(), Self::Error>;
    /// `peer` refused these documents (other than for missing history); they stay unsynced
    /// until a later version is delivered.
    fn refused(&mut self, peer: Peer<'_>, refused: &[Rejected]) -> Result<(), Self::Error>;
    /// Documents of `peer` refused here (`apply` keeps them until a version is accepted) that
    /// it has not recorded as refused under `peer.incarnation`, at most `limit`.
    fn refusals_to_tell(&mut self, peer: Peer<'_>, limit: usize) -> Result<Vec<Rejected>, Self::Error>;
    /// `peer` recorded these refusals in its incarnation `peer.incarnation`.
    fn refusals_told(&mut self, peer: Peer<'_>, doc_ids: &[String]) -> Result<(), Self::Error>;
    /// `peer` holds everything of the local feed up to `seq` that it may hold (it acknowledged
    /// it, or the entries held nothing it lacks): `max` with what was recorded. Ignored unless
    /// this is the session of record.
    fn peer_has_upto(&mut self, peer: Peer<'_>, seq: u64) -> Result<(), Self::Error>;

    /// Of `hashes`, the blobs this node holds complete that `peer` may receive (a blob outside
    /// its send scope is answered as not held, so a query cannot probe for it).
    fn blobs_held(&mut self, peer: Peer<'_>, hashes: &[BlobHash]) -> Result<Vec<BlobHash>, Self::Error> {
        let _ = (peer, hashes);
        Ok(Vec::new())
    }
    /// `peer` holds these blobs, complete and verified (recorded when this node wants to know:
    /// a kiosk of its county hub).
    fn peer_holds_blobs(&mut self, peer: Peer<'_>, hashes: &[BlobHash]) -> Result<(), Self::Error> {
        let _ = (peer, hashes);
        Ok(())
    }
    /// Blobs referenced by documents sent to `peer` that it is not recorded to hold, most
    /// wanted first, at most `limit`: what to ask it about once documents are in sync.
    fn blobs_to_confirm(&mut self, peer: Peer<'_>, limit: usize) -> Result<Vec<BlobHash>, Self::Error> {
        let _ = (peer, limit);
        Ok(Vec::new())
    }
}

/// A blob's name on the wire: its plain BLAKE3 hash.
pub type BlobHash = [u8; 32];
