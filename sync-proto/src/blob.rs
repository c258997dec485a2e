//! Blob transfer: verified, resumable streaming of content-addressed blobs, as sans-IO state
//! machines.
//!
//! A blob is named by the plain BLAKE3 hash of its content. It moves as *slices* in the Bao
//! verified-streaming format ([`abao`] with 16 KiB chunk groups, whose root hash is exactly
//! `blake3::hash(content)`): each [`BlobData`] carries the content of a range of whole groups plus
//! the tree nodes (proof) that link that range to the root. The receiver checks every group
//! against the blob's hash before it hands a single byte to its [`BlobSink`], so what a sink holds
//! is always a verified prefix of the blob.
//!
//! Resume rule: a receiver asks for a blob from the length of the verified prefix it holds
//! ([`BlobWant::offset`]); the sender answers from that offset rounded down to a group boundary
//! (and, when it is at or past the end, from the start of the final group, so that the final
//! group, which authenticates the blob's length, is always verified). A transfer cut at any point
//! therefore loses at most what was in flight.
//!
//! Architecture invariant: no I/O in here. The sender reads content through [`BlobSource`] (found
//! through [`BlobProvider`]), the receiver writes through [`BlobSink`]; the caller owns files,
//! sockets and timing.

use std::collections::VecDeque;
use std::io::{self, Cursor, Read, Seek, SeekFrom, Write};

use serde::{Deserialize, Serialize};

use crate::wire::{FRAME_HEADER_BYTES, WireError};

/// A blob's name: the BLAKE3 hash of its content.
pub type BlobHash = [u8; 32];

pub const T_BLOB_WANT: u8 = 0x10;
pub const T_BLOB_DATA: u8 = 0x11;
pub const T_BLOB_MISSING: u8 = 0x12;
pub const T_BLOB_ACK: u8 = 0x13;

/// The unit of verification: content is verified, stored and resumed in groups of this many
/// bytes. A protocol constant (both sides must agree; it is fixed by abao's `group_size_16k`
/// feature and announced by [`CAPABILITY`]).
pub const GROUP_BYTES: u64 = 16 * 1024;
/// Announced in the hello by nodes that speak this blob protocol.
pub const CAPABILITY: &str = "blob/bao-16k";
/// Size of the length header that starts every slice and every outboard.
pub const SLICE_HEADER_BYTES: usize = 8;
/// Content bytes per [`BlobData`] unless configured otherwise: a few seconds at 1 Mbit/s, so a
/// cut re-sends little, and far below the 4 MiB message limit.
pub const SLICE_BYTES_DEFAULT: u32 = 256 * 1024;
/// No [`BlobData`] may carry more content than this (with its proof, it stays under 1.1 MiB).
pub const SLICE_BYTES_MAX: u32 = 1024 * 1024;
/// The largest blob either side accepts unless configured lower.
pub const BLOB_BYTES_MAX: u64 = 2 * 1024 * 1024 * 1024;
/// Content bytes a sender has sent and not had acknowledged, unless configured otherwise.
pub const IN_FLIGHT_BYTES_DEFAULT: u64 = 1024 * 1024;
/// Wants a sender queues from one peer (on one stream) unless configured otherwise.
pub const WANTS_QUEUED_DEFAULT: usize = 64;

/// [`BlobMissing::code`]: the sender does not have the blob (or may not send it to this peer;
/// the two are not told apart, so a peer cannot probe for blobs outside its scope).
pub const MISSING_NOT_FOUND: u16 = 1;
/// [`BlobMissing::code`]: the sender has the blob but cannot read it now.
pub const MISSING_UNAVAILABLE: u16 = 2;
/// [`BlobMissing::code`]: the blob exceeds the sender's size limit.
pub const MISSING_TOO_LARGE: u16 = 3;

// ---- messages ----

/// Receiver to sender (0x10): send blob `hash` from `offset` (the verified bytes the receiver
/// already holds) to its end. A want for a blob already wanted on this stream replaces it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobWant {
    pub hash: BlobHash,
    pub offset: u64,
}

/// Sender to receiver (0x11): a verified slice. `slice` is the Bao slice encoding of content
/// bytes `[offset, offset + len)` (cut at the blob's end): the blob's size as u64 LE (trusted
/// only once the final group verifies), then the tree nodes and content groups in pre-order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobData {
    pub hash: BlobHash,
    pub offset: u64,
    pub len: u32,
    #[serde(with = "serde_bytes")]
    pub slice: Vec<u8>,
}

/// Sender to receiver (0x12): the blob cannot be sent; `code` is a `MISSING_*` constant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobMissing {
    pub hash: BlobHash,
    pub code: u16,
}

/// Receiver to sender (0x13): the receiver holds the first `offset` bytes of the blob, verified
/// and durable. Frees the sender's in-flight budget.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobAck {
    pub hash: BlobHash,
    pub offset: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlobMessage {
    Want(BlobWant),
    Data(BlobData),
    Missing(BlobMissing),
    Ack(BlobAck),
}

impl BlobMessage {
    pub fn type_byte(&self) -> u8 {
        match self {
            BlobMessage::Want(_) => T_BLOB_WANT,
            BlobMessage::Data(_) => T_BLOB_DATA,
            BlobMessage::Missing(_) => T_BLOB_MISSING,
            BlobMessage::Ack(_) => T_BLOB_ACK,
        }
    }

    pub fn hash(&self) -> &BlobHash {
        match self {
            BlobMessage::Want(m) => &m.hash,
            BlobMessage::Data(m) => &m.hash,
            BlobMessage::Missing(m) => &m.hash,
            BlobMessage::Ack(m) => &m.hash,
        }
    }

    /// The postcard payload (without the frame header).
    pub fn encode_payload(&self) -> Result<Vec<u8>, WireError> {
        match self {
            BlobMessage::Want(m) => postcard::to_allocvec(m),
            BlobMessage::Data(m) => postcard::to_allocvec(m),
            BlobMessage::Missing(m) => postcard::to_allocvec(m),
            BlobMessage::Ack(m) => postcard::to_allocvec(m),
        }
        .map_err(|e| WireError::Encode(e.to_string()))
    }

    /// Encodes one frame (`type`, `length: u32 LE`, payload). Fails if the payload exceeds `max`.
    pub fn encode(&self, max: u32) -> Result<Vec<u8>, WireError> {
        let payload = self.encode_payload()?;
        let len = u32::try_from(payload.len()).map_err(|_| WireError::TooLarge { len: u32::MAX, max })?;
        if len > max {
            return Err(WireError::TooLarge { len, max });
        }
        let mut frame = Vec::with_capacity(FRAME_HEADER_BYTES + payload.len());
        frame.push(self.type_byte());
        frame.extend_from_slice(&len.to_le_bytes());
        frame.extend_from_slice(&payload);
        Ok(frame)
    }

    /// Decodes the payload of a blob message. Trailing bytes are allowed (a newer minor revision
    /// may append fields). A type outside 0x10-0x13 is `UnknownType`.
    pub fn decode(type_byte: u8, payload: &[u8]) -> Result<BlobMessage, WireError> {
        fn de<'a, T: Deserialize<'a>>(type_byte: u8, p: &'a [u8]) -> Result<T, WireError> {
            postcard::take_from_bytes(p)
                .map(|(v, _rest)| v)
                .map_err(|e| WireError::Malformed { type_byte, detail: e.to_string() })
        }
        Ok(match type_byte {
            T_BLOB_WANT => BlobMessage::Want(de(type_byte, payload)?),
            T_BLOB_DATA => BlobMessage::Data(de(type_byte, payload)?),
            T_BLOB_MISSING => BlobMessage::Missing(de(type_byte, payload)?),
            T_BLOB_ACK => BlobMessage::Ack(de(type_byte, payload)?),
            t => return Err(WireError::UnknownType(t)),
        })
    }
}

/// Reads one frame from the front of `buf`: the message and the bytes it used, or `None` when the
/// frame is not complete yet. A frame longer than `max` is an error as soon as its header is seen.
pub fn decode_frame(buf: &[u8], max: u32) -> Result<Option<(BlobMessage, usize)>, WireError> {
    let Some(header) = buf.get(..FRAME_HEADER_BYTES) else {
        return Ok(None);
    };
    let len = u32::from_le_bytes([header[1], header[2], header[3], header[4]]);
    if len > max {
        return Err(WireError::TooLarge { len, max });
    }
    let end = FRAME_HEADER_BYTES + len as usize;
    let Some(payload) = buf.get(FRAME_HEADER_BYTES..end) else {
        return Ok(None);
    };
    BlobMessage::decode(header[0], payload).map(|m| Some((m, end)))
}

// ---- helpers ----

/// `offset` rounded down to a group boundary.
pub fn align_down(offset: u64) -> u64 {
    offset - offset % GROUP_BYTES
}

/// Lowercase hex, as the store names blobs.
pub fn to_hex(hash: &BlobHash) -> String {
    abao::Hash::from(*hash).to_hex().to_string()
}

/// Parses 64 hex digits.
pub fn from_hex(hex: &str) -> Option<BlobHash> {
    abao::Hash::from_hex(hex).ok().map(|h| *h.as_bytes())
}

/// The size of the outboard (length header plus tree nodes, no content) of a blob of `size`
/// bytes: 8 + 64 * (groups - 1) bytes, about 0.4 % of the content.
pub fn outboard_bytes(size: u64) -> u64 {
    u64::try_from(abao::encode::outboard_size(size)).unwrap_or(u64::MAX)
}

/// Checks an outboard's shape against a blob size (its length and length header). The tree
/// nodes themselves are checked by every receiver.
pub fn outboard_fits(outboard: &[u8], size: u64) -> bool {
    outboard.len() as u64 == outboard_bytes(size)
        && outboard.get(..SLICE_HEADER_BYTES).is_some_and(|h| h == size.to_le_bytes())
}

/// Computes a blob's hash and outboard from its content, streamed in any pieces.
pub struct OutboardBuilder {
    encoder: abao::encode::Encoder<Cursor<Vec<u8>>>,
    size: u64,
}

impl Default for OutboardBuilder {
    fn default() -> Self {
        OutboardBuilder::new()
    }
}

impl OutboardBuilder {
    pub fn new() -> OutboardBuilder {
        OutboardBuilder { encoder: abao::encode::Encoder::new_outboard(Cursor::new(Vec::new())), size: 0 }
    }

    pub fn update(&mut self, content: &[u8]) {
        self.size += content.len() as u64;
        // Writing into a Vec cannot fail.
        let written = self.encoder.write_all(content);
        debug_assert!(written.is_ok());
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// The blob's hash and its outboard.
    pub fn finish(mut self) -> (BlobHash, Vec<u8>) {
        let hash = self.encoder.finalize();
        debug_assert!(hash.is_ok());
        let hash = hash.map(|h| *h.as_bytes()).unwrap_or_default();
        (hash, self.encoder.into_inner().into_inner())
    }
}

/// The hash and outboard of content held in memory.
pub fn outboard(content: &[u8]) -> (BlobHash, Vec<u8>) {
    let mut b = OutboardBuilder::new();
    b.update(content);
    b.finish()
}

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("the peer has {0} blob wants outstanding, the limit")]
    WantQueueFull(usize),
    #[error("reading blob {hash}: {source}")]
    Source { hash: String, source: io::Error },
    #[error("writing blob {hash}: {source}")]
    Sink { hash: String, source: io::Error },
    #[error("a message for blob {got} reached the transfer of {expected}")]
    OtherBlob { expected: String, got: String },
    #[error("the transfer of blob {0} has ended")]
    Finished(String),
}

// ---- receiver ----

/// Where a receiver puts verified bytes (a partial blob file, a buffer in tests).
pub trait BlobSink {
    /// Appends `bytes`, which are verified content of the blob starting at `offset`. `offset` is
    /// always the number of bytes the sink holds (the `verified_bytes` the receiver was created
    /// with, plus everything written since). The receiver acknowledges the bytes to the sender
    /// once this returns, so a sink that must survive a restart makes them durable first.
    fn write_verified(&mut self, offset: u64, bytes: &[u8]) -> io::Result<()>;
}

#[derive(Debug, Clone)]
pub struct ReceiverConfig {
    /// A peer announcing a larger blob is treated as corrupt.
    pub blob_bytes_max: u64,
}

impl Default for ReceiverConfig {
    fn default() -> Self {
        ReceiverConfig { blob_bytes_max: BLOB_BYTES_MAX }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReceiveEvent {
    /// More verified bytes are in the sink. `size_bytes` is the size the peer announces; it is
    /// authenticated only by [`ReceiveEvent::Complete`].
    Progress { verified_bytes: u64, size_bytes: u64 },
    /// The whole blob is in the sink and its final group (and so its size) verified.
    Complete { size_bytes: u64 },
    /// The peer cannot send the blob (a `MISSING_*` code).
    Missing { code: u16 },
    /// The peer sent bytes that do not verify, or broke the protocol. Nothing of that message
    /// reached the sink; the verified prefix stays. The transfer is over: drop this peer's
    /// stream and ask again (another peer, or later) from [`BlobReceiver::verified_bytes`].
    Corrupt { offset: u64, detail: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReceiveState {
    Receiving,
    Complete,
    Missing,
    Corrupt,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReceiverStats {
    /// Content bytes in messages that verified.
    pub content_bytes_received: u64,
    /// Of those, bytes the sink already held (a re-sent final group).
    pub content_bytes_duplicate: u64,
    pub messages_received: u64,
}

/// Receives one blob from one peer.
#[derive(Debug)]
pub struct BlobReceiver {
    hash: BlobHash,
    config: ReceiverConfig,
    verified: u64,
    size: Option<u64>,
    state: ReceiveState,
    stats: ReceiverStats,
}

impl BlobReceiver {
    /// A transfer of `hash` to a sink that already holds `verified_bytes` verified bytes (0 for
    /// a new blob; a reopened partial blob's length after a restart).
    pub fn new(hash: BlobHash, verified_bytes: u64, config: ReceiverConfig) -> BlobReceiver {
        BlobReceiver {
            hash,
            config,
            verified: verified_bytes,
            size: None,
            state: ReceiveState::Receiving,
            stats: ReceiverStats::default(),
        }
    }

    pub fn hash(&self) -> &BlobHash {
        &self.hash
    }

    /// The request that starts (or resumes) the transfer.
    pub fn want(&self) -> BlobWant {
        BlobWant { hash: self.hash, offset: self.verified }
    }

    /// The acknowledgement to send after a [`ReceiveEvent::Progress`] or `Complete`.
    pub fn ack(&self) -> BlobAck {
        BlobAck { hash: self.hash, offset: self.verified }
    }

    pub fn verified_bytes(&self) -> u64 {
        self.verified
    }

    /// The size the peer announced (authenticated once the state is `Complete`).
    pub fn size_bytes(&self) -> Option<u64> {
        self.size
    }

    pub fn state(&self) -> ReceiveState {
        self.state
    }

    pub fn stats(&self) -> ReceiverStats {
        self.stats
    }

    /// Handles a message from the sender. Wants and acks (which a sender never sends) are a
    /// protocol violation.
    pub fn handle_message(
        &mut self,
        msg: &BlobMessage,
        sink: &mut (impl BlobSink + ?Sized),
    ) -> Result<ReceiveEvent, BlobError> {
        match msg {
            BlobMessage::Data(d) => self.handle_data(d, sink),
            BlobMessage::Missing(m) => self.handle_missing(m),
            BlobMessage::Want(_) | BlobMessage::Ack(_) => {
                self.check_hash(msg.hash())?;
                self.check_receiving()?;
                Ok(self.corrupt(0, "the sender sent a want or an ack".into()))
            }
        }
    }

    pub fn handle_missing(&mut self, msg: &BlobMissing) -> Result<ReceiveEvent, BlobError> {
        self.check_hash(&msg.hash)?;
        self.check_receiving()?;
        self.state = ReceiveState::Missing;
        Ok(ReceiveEvent::Missing { code: msg.code })
    }

    /// Verifies a slice and writes the new verified bytes to `sink`. Bytes that do not verify
    /// never reach the sink.
    pub fn handle_data(
        &mut self,
        data: &BlobData,
        sink: &mut (impl BlobSink + ?Sized),
    ) -> Result<ReceiveEvent, BlobError> {
        self.check_hash(&data.hash)?;
        self.check_receiving()?;
        self.stats.messages_received += 1;
        let (size, content) = match self.verify(data) {
            Ok(v) => v,
            Err(detail) => return Ok(self.corrupt(data.offset, detail)),
        };
        self.stats.content_bytes_received += content.len() as u64;
        let end = data.offset + content.len() as u64;
        // `verify` checked `data.offset <= self.verified`.
        let held = usize::try_from(self.verified - data.offset).unwrap_or(usize::MAX).min(content.len());
        self.stats.content_bytes_duplicate += held as u64;
        if end > self.verified {
            sink.write_verified(self.verified, &content[held..])
                .map_err(|source| BlobError::Sink { hash: to_hex(&self.hash), source })?;
            self.verified = end;
        }
        self.size = Some(size);
        if end == size && self.verified == size {
            // This slice held the final group, which verified against the root: the size is real.
            self.state = ReceiveState::Complete;
            return Ok(ReceiveEvent::Complete { size_bytes: size });
        }
        Ok(ReceiveEvent::Progress { verified_bytes: self.verified, size_bytes: size })
    }

    /// Checks a slice against the hash; returns the announced size and the verified content of
    /// `[data.offset, data.offset + content.len())`, or why the slice is refused.
    fn verify(&self, data: &BlobData) -> Result<(u64, Vec<u8>), String> {
        let header = data.slice.get(..SLICE_HEADER_BYTES).ok_or("slice shorter than its header")?;
        let mut size_le = [0u8; SLICE_HEADER_BYTES];
        size_le.copy_from_slice(header);
        let size = u64::from_le_bytes(size_le);
        if size > self.config.blob_bytes_max {
            return Err(format!(
                "the peer announces {size} bytes, over the limit of {}",
                self.config.blob_bytes_max
            ));
        }
        if let Some(known) = self.size
            && known != size
        {
            return Err(format!("the announced size changed from {known} to {size}"));
        }
        if self.verified > size {
            return Err(format!(
                "the peer announces {size} bytes, fewer than the {} verified",
                self.verified
            ));
        }
        if data.offset > self.verified {
            return Err(format!(
                "slice at {} leaves a gap after the {} verified bytes",
                data.offset, self.verified
            ));
        }
        if !data.offset.is_multiple_of(GROUP_BYTES) {
            return Err(format!("slice offset {} is not on a group boundary", data.offset));
        }
        if data.len > SLICE_BYTES_MAX {
            return Err(format!("slice of {} bytes exceeds the limit of {SLICE_BYTES_MAX}", data.len));
        }
        if data.offset > size || (data.offset == size && size > 0) {
            return Err(format!("slice at {} starts past the end ({size} bytes)", data.offset));
        }
        let expected = u64::from(data.len).min(size - data.offset);
        if expected == 0 && size > 0 {
            return Err("empty slice".into());
        }
        let mut decoder = abao::decode::SliceDecoder::new(
            &data.slice[..],
            &abao::Hash::from(self.hash),
            data.offset,
            u64::from(data.len),
        );
        let mut content = Vec::with_capacity(usize::try_from(expected).unwrap_or(0));
        (&mut decoder)
            .take(expected + 1)
            .read_to_end(&mut content)
            .map_err(|e| format!("slice at {} does not verify: {e}", data.offset))?;
        if content.len() as u64 != expected {
            return Err(format!(
                "slice at {} holds {} bytes, expected {expected}",
                data.offset,
                content.len()
            ));
        }
        let rest = decoder.into_inner();
        if !rest.is_empty() {
            return Err(format!("slice at {} has {} trailing bytes", data.offset, rest.len()));
        }
        Ok((size, content))
    }

    fn corrupt(&mut self, offset: u64, detail: String) -> ReceiveEvent {
        self.state = ReceiveState::Corrupt;
        ReceiveEvent::Corrupt { offset, detail }
    }

    fn check_hash(&self, got: &BlobHash) -> Result<(), BlobError> {
        if *got != self.hash {
            return Err(BlobError::OtherBlob { expected: to_hex(&self.hash), got: to_hex(got) });
        }
        Ok(())
    }

    fn check_receiving(&self) -> Result<(), BlobError> {
        match self.state {
            ReceiveState::Receiving => Ok(()),
            _ => Err(BlobError::Finished(to_hex(&self.hash))),
        }
    }
}

// ---- sender ----

/// A stored blob, as the sender reads it.
pub trait BlobSource {
    /// Content length in bytes.
    fn size(&self) -> u64;
    /// Fills `buf` with the content starting at `offset` (the range lies within the blob).
    fn read_content(&self, offset: u64, buf: &mut [u8]) -> io::Result<()>;
    /// The blob's outboard (see [`OutboardBuilder`]); must have [`outboard_bytes`]`(size)` bytes.
    fn outboard(&self) -> &[u8];
}

/// Finds the blobs a peer may have. Return `Ok(None)` both for a blob this node lacks and for
/// one the peer may not receive.
pub trait BlobProvider {
    type Source: BlobSource;
    fn open_source(&mut self, hash: &BlobHash) -> io::Result<Option<Self::Source>>;
}

#[derive(Debug, Clone)]
pub struct SenderConfig {
    /// Content bytes per [`BlobData`]: rounded down to whole groups, at most [`SLICE_BYTES_MAX`].
    pub slice_bytes: u32,
    /// Content bytes sent and not yet acknowledged (at least one slice is always allowed).
    pub in_flight_bytes_max: u64,
    /// Wants queued from the peer; one more is a protocol violation. Also the number of fully
    /// sent transfers that may await their last acknowledgement.
    pub wants_queued_max: usize,
    /// Larger blobs are answered with [`MISSING_TOO_LARGE`].
    pub blob_bytes_max: u64,
}

impl Default for SenderConfig {
    fn default() -> Self {
        SenderConfig {
            slice_bytes: SLICE_BYTES_DEFAULT,
            in_flight_bytes_max: IN_FLIGHT_BYTES_DEFAULT,
            wants_queued_max: WANTS_QUEUED_DEFAULT,
            blob_bytes_max: BLOB_BYTES_MAX,
        }
    }
}

impl SenderConfig {
    fn slice_len(&self) -> u64 {
        align_down(u64::from(self.slice_bytes.min(SLICE_BYTES_MAX))).max(GROUP_BYTES)
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SenderStats {
    /// Content bytes put into [`BlobData`] messages (re-sent bytes count again).
    pub content_bytes_sent: u64,
    /// Bytes of slice encodings (content plus proof and header).
    pub slice_bytes_sent: u64,
    pub data_messages_sent: u64,
    pub transfers_started: u64,
}

struct Sending<S> {
    hash: BlobHash,
    source: S,
    size: u64,
    /// The next content offset to send.
    next: u64,
    acked: u64,
    /// The slice holding the final group has been sent.
    sent_final: bool,
}

struct Unacked {
    hash: BlobHash,
    acked: u64,
    end: u64,
}

/// Answers one peer's wants (on one stream), one blob at a time in the order wanted, in slices,
/// with at most `in_flight_bytes_max` content bytes unacknowledged.
pub struct BlobServer<S: BlobSource> {
    config: SenderConfig,
    wants: VecDeque<BlobWant>,
    current: Option<Sending<S>>,
    /// Transfers fully sent whose last bytes are not yet acknowledged.
    unacked: VecDeque<Unacked>,
    /// Replies decided before they could be sent (a `BlobMissing` after a read error).
    replies: VecDeque<BlobMessage>,
    stats: SenderStats,
}

impl<S: BlobSource> BlobServer<S> {
    pub fn new(config: SenderConfig) -> BlobServer<S> {
        BlobServer {
            config,
            wants: VecDeque::new(),
            current: None,
            unacked: VecDeque::new(),
            replies: VecDeque::new(),
            stats: SenderStats::default(),
        }
    }

    pub fn stats(&self) -> SenderStats {
        self.stats
    }

    /// Queues a want. A want for a blob already queued or being sent replaces it (the receiver
    /// lost what it had not acknowledged). Fails when the peer exceeds the queue limit: the
    /// caller closes the stream with a protocol error.
    pub fn handle_want(&mut self, want: BlobWant) -> Result<(), BlobError> {
        self.unacked.retain(|u| u.hash != want.hash);
        if let Some(cur) = self.current.as_mut()
            && cur.hash == want.hash
        {
            cur.next = start_offset(want.offset, cur.size);
            cur.acked = cur.next;
            cur.sent_final = false;
            return Ok(());
        }
        if let Some(queued) = self.wants.iter_mut().find(|w| w.hash == want.hash) {
            queued.offset = want.offset;
            return Ok(());
        }
        if self.wants.len() >= self.config.wants_queued_max {
            return Err(BlobError::WantQueueFull(self.wants.len()));
        }
        self.wants.push_back(want);
        Ok(())
    }

    /// Records the receiver's verified length. Acks for unknown blobs (stale, from before a
    /// replacing want) are ignored; an ack never frees more than was sent.
    pub fn handle_ack(&mut self, ack: &BlobAck) {
        if let Some(cur) = self.current.as_mut()
            && cur.hash == ack.hash
        {
            cur.acked = cur.acked.max(ack.offset.min(cur.next));
            return;
        }
        if let Some(i) = self.unacked.iter().position(|u| u.hash == ack.hash) {
            let u = &mut self.unacked[i];
            u.acked = u.acked.max(ack.offset.min(u.end));
            if u.acked >= u.end {
                self.unacked.remove(i);
            }
        }
    }

    /// Handles a message from the receiver. Data and missing (which a receiver never sends) are
    /// reported as `Ok(false)`: the caller closes the stream with a protocol error.
    pub fn handle_message(&mut self, msg: BlobMessage) -> Result<bool, BlobError> {
        match msg {
            BlobMessage::Want(w) => self.handle_want(w).map(|()| true),
            BlobMessage::Ack(a) => {
                self.handle_ack(&a);
                Ok(true)
            }
            BlobMessage::Data(_) | BlobMessage::Missing(_) => Ok(false),
        }
    }

    /// Content bytes sent and not yet acknowledged.
    pub fn bytes_in_flight(&self) -> u64 {
        let cur = self.current.as_ref().map_or(0, |c| c.next - c.acked);
        cur + self.unacked.iter().map(|u| u.end - u.acked).sum::<u64>()
    }

    /// Nothing is queued or being sent (acknowledgements may still be outstanding).
    pub fn is_idle(&self) -> bool {
        self.wants.is_empty() && self.current.is_none() && self.replies.is_empty()
    }

    /// The next message to send, or `None` when there is nothing to send until a want or an
    /// ack arrives. A read error abandons that blob (a `BlobMissing` follows on the next call)
    /// and is returned for the caller to log.
    pub fn poll_transmit<P>(&mut self, provider: &mut P) -> Result<Option<BlobMessage>, BlobError>
    where
        P: BlobProvider<Source = S> + ?Sized,
    {
        if let Some(reply) = self.replies.pop_front() {
            return Ok(Some(reply));
        }
        loop {
            let Some(cur) = self.current.as_mut() else {
                // A peer that never acknowledges can leave at most this many transfers open,
                // however small its blobs.
                if self.unacked.len() >= self.config.wants_queued_max {
                    return Ok(None);
                }
                let Some(want) = self.wants.pop_front() else {
                    return Ok(None);
                };
                let missing = |code| Ok(Some(BlobMessage::Missing(BlobMissing { hash: want.hash, code })));
                let source = match provider.open_source(&want.hash) {
                    Ok(Some(s)) => s,
                    Ok(None) => return missing(MISSING_NOT_FOUND),
                    Err(source) => return self.abandon(want.hash, source),
                };
                let size = source.size();
                if size > self.config.blob_bytes_max {
                    return missing(MISSING_TOO_LARGE);
                }
                if !outboard_fits(source.outboard(), size) {
                    let e = io::Error::new(io::ErrorKind::InvalidData, "outboard does not fit the blob size");
                    return self.abandon(want.hash, e);
                }
                let next = start_offset(want.offset, size);
                self.stats.transfers_started += 1;
                self.current =
                    Some(Sending { hash: want.hash, source, size, next, acked: next, sent_final: false });
                continue;
            };
            if cur.sent_final {
                if cur.acked < cur.size {
                    self.unacked.push_back(Unacked { hash: cur.hash, acked: cur.acked, end: cur.size });
                }
                self.current = None;
                continue;
            }
            let len = self.config.slice_len().min(cur.size - cur.next);
            let in_flight = self.bytes_in_flight();
            if in_flight > 0 && in_flight + len > self.config.in_flight_bytes_max {
                return Ok(None);
            }
            let Some(cur) = self.current.as_mut() else {
                return Ok(None);
            };
            let slice = match make_slice(&cur.source, cur.next, len) {
                Ok(s) => s,
                Err(source) => {
                    let hash = cur.hash;
                    self.current = None;
                    return self.abandon(hash, source);
                }
            };
            let data = BlobData { hash: cur.hash, offset: cur.next, len: len as u32, slice };
            cur.next += len;
            cur.sent_final = cur.next >= cur.size;
            self.stats.content_bytes_sent += len;
            self.stats.slice_bytes_sent += data.slice.len() as u64;
            self.stats.data_messages_sent += 1;
            return Ok(Some(BlobMessage::Data(data)));
        }
    }

    fn abandon(&mut self, hash: BlobHash, source: io::Error) -> Result<Option<BlobMessage>, BlobError> {
        self.replies.push_back(BlobMessage::Missing(BlobMissing { hash, code: MISSING_UNAVAILABLE }));
        Err(BlobError::Source { hash: to_hex(&hash), source })
    }
}

/// Where a sender starts for a want at `offset`: on a group boundary, and never past the start
/// of the final group, which must be verified to authenticate the size.
fn start_offset(offset: u64, size: u64) -> u64 {
    align_down(offset.min(size.saturating_sub(1)))
}

/// The Bao slice encoding of content `[start, start + len)`.
fn make_slice<S: BlobSource + ?Sized>(source: &S, start: u64, len: u64) -> io::Result<Vec<u8>> {
    let content = ContentReader { source, pos: 0 };
    let mut extractor =
        abao::encode::SliceExtractor::new_outboard(content, Cursor::new(source.outboard()), start, len);
    let groups = len.div_ceil(GROUP_BYTES).max(1);
    let mut slice = Vec::with_capacity(usize::try_from(len + groups * 64 + 64 * 64).unwrap_or(0));
    extractor.read_to_end(&mut slice)?;
    Ok(slice)
}

/// A [`BlobSource`]'s content as `Read + Seek`, as the slice extractor wants it.
struct ContentReader<'a, S: ?Sized> {
    source: &'a S,
    pos: u64,
}

impl<S: BlobSource + ?Sized> Read for ContentReader<'_, S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.source.size().saturating_sub(self.pos);
        let n = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
        if n == 0 {
            return Ok(0);
        }
        self.source.read_content(self.pos, &mut buf[..n])?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl<S: BlobSource + ?Sized> Seek for ContentReader<'_, S> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let pos = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.source.size().checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = pos.ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek out of range"))?;
        Ok(self.pos)
    }
}
