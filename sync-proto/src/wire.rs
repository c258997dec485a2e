//! Frames and messages. A frame is `type: u8`, `length: u32 LE`, then `length` bytes of
//! payload (postcard-encoded). Types 0x80 and above are optional: a receiver that does not know
//! one skips it. An unknown type below 0x80 is a protocol error.

use serde::{Deserialize, Serialize};

use crate::MESSAGE_BYTES_MAX;

pub const FRAME_HEADER_BYTES: usize = 5;

/// An automerge change hash (SHA-256 of the change), as heads are exchanged.
pub type Hash = [u8; 32];

pub const T_HELLO: u8 = 0x01;
pub const T_DOCS: u8 = 0x02;
pub const T_ACK: u8 = 0x03;
pub const T_SKIP: u8 = 0x04;
pub const T_REWIND: u8 = 0x05;
pub const T_ERROR: u8 = 0x7F;
/// The first type a receiver may ignore when it does not know it.
pub const T_OPTIONAL_MIN: u8 = 0x80;
/// Optional: which of these blobs do you hold? (see [`HELD_CAPABILITY`]).
pub const T_HELD_QUERY: u8 = 0x80;
/// Optional: the sender holds these blobs, complete and verified.
pub const T_HELD: u8 = 0x81;
/// Announced in the hello by a node that wants to learn which blobs the peer holds (a kiosk
/// to its county hub): the peer then answers its [`HeldQuery`]s and tells it, in [`Held`]
/// messages, of every blob it completes from it.
pub const HELD_CAPABILITY: &str = "blob/held";
/// Blob hashes in one [`HeldQuery`] or [`Held`] (32 KiB of hashes); more is a protocol error.
pub const HELD_HASHES_MAX: usize = 1024;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    pub protocol_version: u16,
    pub node_id: String,
    /// Feature names this node supports beyond the base protocol.
    pub capabilities: Vec<String>,
    /// The largest frame payload this node accepts.
    pub message_bytes_max: u32,
    /// The sequence number of this node's latest local change.
    pub feed_head: u64,
    /// The highest sequence number of the receiver's feed this node has durably applied.
    pub your_checkpoint: u64,
    /// The sender's store incarnation: a random non-zero id its store draws each time it is
    /// opened (see docs/PROTOCOL.md, "Restored stores").
    pub incarnation: u64,
    /// The receiver's incarnation under which the sender recorded `your_checkpoint` (0 when it
    /// recorded none), and the receiver's feed head then (from the message that moved it).
    pub your_incarnation: u64,
    pub your_head: u64,
}

/// What the receiver lacks of one document: automerge changes (or a whole saved document
/// when the sender knows of no shared history), and the sender's heads once they are applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocChange {
    pub doc_id: String,
    pub doc_type: String,
    /// The region the document belongs to (checked against the sender's certificate scope).
    pub scope: String,
    pub data: Vec<u8>,
    pub heads: Vec<Hash>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Docs {
    pub batch: u64,
    /// Every entry of the sender's feed up to this sequence number is covered by this batch
    /// and the ones before it.
    pub upto_seq: u64,
    /// The sender's feed head when it sent this batch.
    pub feed_head: u64,
    pub docs: Vec<DocChange>,
    /// Documents of the receiver that the sender refused earlier, told again because the
    /// receiver's store was opened since it recorded the refusals (it may have been restored
    /// from a backup without them).
    pub refused: Vec<RejectedDoc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectedDoc {
    pub doc_id: String,
    /// A `RejectReason` code.
    pub code: u16,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ack {
    pub batch: u64,
    pub upto_seq: u64,
    pub rejected: Vec<RejectedDoc>,
}

/// Entries up to `upto_seq` held nothing the receiver lacks: advance the checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skip {
    pub upto_seq: u64,
    pub feed_head: u64,
}

/// The receiver's checkpoint of the sender's feed (from its hello) names history the sender's
/// store no longer holds (it went back: restored from an older backup). The receiver's
/// checkpoint is `upto_seq` from now on. Sent at most once per session, before any Docs or Skip.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rewind {
    pub upto_seq: u64,
    pub feed_head: u64,
}

/// Which of these blobs (plain BLAKE3 hashes) does the receiver hold, complete and verified?
/// At most [`HELD_HASHES_MAX`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldQuery {
    pub hashes: Vec<[u8; 32]>,
}

/// The sender holds these blobs, complete, verified and durable: an answer to a [`HeldQuery`]
/// (the subset held) or unsolicited, as it completes blobs fetched from the receiver. At most
/// [`HELD_HASHES_MAX`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Held {
    pub hashes: Vec<[u8; 32]>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorMsg {
    pub code: u16,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Hello(Hello),
    Docs(Docs),
    Ack(Ack),
    Skip(Skip),
    Rewind(Rewind),
    HeldQuery(HeldQuery),
    Held(Held),
    Error(ErrorMsg),
    /// An optional message type this build does not know; skipped.
    Unknown {
        type_byte: u8,
    },
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WireError {
    #[error("frame of {len} bytes exceeds the limit of {max}")]
    TooLarge { len: u32, max: u32 },
    #[error("unknown required message type 0x{0:02x}")]
    UnknownType(u8),
    #[error("malformed payload of message type 0x{type_byte:02x}: {detail}")]
    Malformed { type_byte: u8, detail: String },
    #[error("cannot encode message: {0}")]
    Encode(String),
}

impl Message {
    pub fn type_byte(&self) -> u8 {
        match self {
            Message::Hello(_) => T_HELLO,
            Message::Docs(_) => T_DOCS,
            Message::Ack(_) => T_ACK,
            Message::Skip(_) => T_SKIP,
            Message::Rewind(_) => T_REWIND,
            Message::HeldQuery(_) => T_HELD_QUERY,
            Message::Held(_) => T_HELD,
            Message::Error(_) => T_ERROR,
            Message::Unknown { type_byte } => *type_byte,
        }
    }

    /// Encodes one frame. Fails if the payload would exceed `max` bytes.
    pub fn encode(&self, max: u32) -> Result<Vec<u8>, WireError> {
        let payload = match self {
            Message::Hello(m) => postcard::to_allocvec(m),
            Message::Docs(m) => postcard::to_allocvec(m),
            Message::Ack(m) => postcard::to_allocvec(m),
            Message::Skip(m) => postcard::to_allocvec(m),
            Message::Rewind(m) => postcard::to_allocvec(m),
            Message::HeldQuery(m) => postcard::to_allocvec(m),
            Message::Held(m) => postcard::to_allocvec(m),
            Message::Error(m) => postcard::to_allocvec(m),
            Message::Unknown { .. } => Ok(Vec::new()),
        }
        .map_err(|e| WireError::Encode(e.to_string()))?;
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

    fn decode(type_byte: u8, payload: &[u8]) -> Result<Message, WireError> {
        fn de<'a, T: Deserialize<'a>>(type_byte: u8, p: &'a [u8]) -> Result<T, WireError> {
            // Trailing bytes are allowed: a newer minor revision may append fields.
            postcard::take_from_bytes(p)
                .map(|(v, _rest)| v)
                .map_err(|e| WireError::Malformed { type_byte, detail: e.to_string() })
        }
        fn bounded<T: HashList>(m: T, type_byte: u8) -> Result<T, WireError> {
            if m.hash_count() > HELD_HASHES_MAX {
                return Err(WireError::Malformed {
                    type_byte,
                    detail: format!("{} hashes, more than {HELD_HASHES_MAX}", m.hash_count()),
                });
            }
            Ok(m)
        }
        Ok(match type_byte {
            T_HELLO => Message::Hello(de(type_byte, payload)?),
            T_DOCS => Message::Docs(de(type_byte, payload)?),
            T_ACK => Message::Ack(de(type_byte, payload)?),
            T_SKIP => Message::Skip(de(type_byte, payload)?),
            T_REWIND => Message::Rewind(de(type_byte, payload)?),
            T_HELD_QUERY => Message::HeldQuery(bounded(de::<HeldQuery>(type_byte, payload)?, type_byte)?),
            T_HELD => Message::Held(bounded(de::<Held>(type_byte, payload)?, type_byte)?),
            T_ERROR => Message::Error(de(type_byte, payload)?),
            t if t >= T_OPTIONAL_MIN => Message::Unknown { type_byte: t },
            t => return Err(WireError::UnknownType(t)),
        })
    }
}

trait HashList {
    fn hash_count(&self) -> usize;
}

impl HashList for HeldQuery {
    fn hash_count(&self) -> usize {
        self.hashes.len()
    }
}

impl HashList for Held {
    fn hash_count(&self) -> usize {
        self.hashes.len()
    }
}

/// Reassembles frames from a byte stream. Holds at most one frame (header + `max` bytes).
pub struct FrameDecoder {
    buf: Vec<u8>,
    max: u32,
}

impl FrameDecoder {
    pub fn new(max: u32) -> FrameDecoder {
        FrameDecoder { buf: Vec::new(), max: max.min(MESSAGE_BYTES_MAX) }
    }

    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete message, if one has arrived. After an error the stream is unusable.
    pub fn next_message(&mut self) -> Result<Option<Message>, WireError> {
        if self.buf.len() < FRAME_HEADER_BYTES {
            return Ok(None);
        }
        let type_byte = self.buf[0];
        let len = u32::from_le_bytes([self.buf[1], self.buf[2], self.buf[3], self.buf[4]]);
        if len > self.max {
            return Err(WireError::TooLarge { len, max: self.max });
        }
        let end = FRAME_HEADER_BYTES + len as usize;
        if self.buf.len() < end {
            return Ok(None);
        }
        let msg = Message::decode(type_byte, &self.buf[FRAME_HEADER_BYTES..end]);
        self.buf.drain(..end);
        msg.map(Some)
    }

    /// Bytes received but not yet forming a whole frame.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }
}
