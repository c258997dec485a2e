//! Blobs in the simulation: what a node holds, what its documents reference, and one blob
//! stream (a fetch round), driven the way `net/src/blobs.rs` drives the sans-IO
//! `yizhan_sync_proto::blob` over a QUIC stream.
//!
//! A fetch round: the fetching side lists the blobs referenced by documents within what it
//! accepts from the peer that it does not hold (most wanted first, originals only if it fetches
//! them, none waiting for a retry), opens a stream and keeps `wants_max` wants outstanding,
//! acknowledging every verified slice once its sink holds it; a complete blob is hashed once more
//! as a whole before it is recorded. The serving side answers from what it holds and may send
//! (a document within the peer's send scope references the blob), `BlobMissing` otherwise. A
//! blob the peer lacked is asked for again after a delay that doubles. Partial blobs (verified
//! prefixes) are durable: a cut or a restart resumes from them.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use yizhan_sync_proto::blob::{
    BlobHash, BlobMessage, BlobProvider, BlobReceiver, BlobServer, BlobSink, BlobSource, GROUP_BYTES,
    ReceiveEvent, ReceiverConfig, SLICE_BYTES_MAX, SenderConfig, align_down, decode_frame, to_hex,
};

/// Blobs a fetch round takes from the list, and wants outstanding on its stream (the same
/// defaults as `net::BlobConfig`).
pub const ROUND_BLOBS_MAX: usize = 64;
pub const WANTS_MAX: usize = 8;
/// A blob the peer lacked is asked for again after this, doubling up to the max (sim ms).
pub const RETRY_MIN_MS: u64 = 5_000;
pub const RETRY_MAX_MS: u64 = 300_000;
/// The largest control frame (want, ack) a server reads, as `net/src/blobs.rs`.
pub const CONTROL_FRAME_BYTES_MAX: u32 = 64 * 1024;

/// A complete, verified blob as a store holds it: content and outboard.
#[derive(Clone)]
pub struct SimBlob {
    pub content: Arc<Vec<u8>>,
    pub outboard: Arc<Vec<u8>>,
}

/// A blob as a document references it: attachments are `hash hex -> "role:bytes"` in the
/// document's `blobs` map.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct BlobRef {
    pub hash: BlobHash,
    pub role: String,
    pub bytes: u64,
}

impl BlobRef {
    pub fn value(&self) -> String {
        format!("{}:{}", self.role, self.bytes)
    }

    pub fn parse(hex: &str, value: &str) -> Option<BlobRef> {
        let hash = yizhan_sync_proto::blob::from_hex(hex)?;
        let (role, bytes) = value.split_once(':')?;
        Some(BlobRef { hash, role: role.to_string(), bytes: bytes.parse().ok()? })
    }

    /// Fetch order, as the store's `missing_blobs`: thumbnails, display copies, originals.
    pub fn rank(&self) -> u8 {
        match self.role.as_str() {
            "thumb" => 0,
            "display" => 1,
            "original" => 3,
            _ => 5,
        }
    }
}

pub struct MemSource(SimBlob);

impl BlobSource for MemSource {
    fn size(&self) -> u64 {
        self.0.content.len() as u64
    }

    fn read_content(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        let start = usize::try_from(offset).map_err(|_| std::io::ErrorKind::InvalidInput)?;
        let range = self.0.content.get(start..start + buf.len()).ok_or(std::io::ErrorKind::UnexpectedEof)?;
        buf.copy_from_slice(range);
        Ok(())
    }

    fn outboard(&self) -> &[u8] {
        &self.0.outboard
    }
}

/// What a serving node may send one peer: blobs it holds that a document within the peer's
/// send scope references (anything else is answered exactly like a missing blob).
pub struct Provider<'a> {
    pub blobs: &'a BTreeMap<BlobHash, SimBlob>,
    pub allowed: &'a dyn Fn(&BlobHash) -> bool,
}

impl BlobProvider for Provider<'_> {
    type Source = MemSource;

    fn open_source(&mut self, hash: &BlobHash) -> std::io::Result<Option<MemSource>> {
        if !(self.allowed)(hash) {
            return Ok(None);
        }
        Ok(self.blobs.get(hash).cloned().map(MemSource))
    }
}

/// A partial blob: its verified prefix, durable as soon as written.
pub struct PartialSink<'a>(pub &'a mut Vec<u8>);

impl BlobSink for PartialSink<'_> {
    fn write_verified(&mut self, offset: u64, bytes: &[u8]) -> std::io::Result<()> {
        if offset != self.0.len() as u64 {
            return Err(std::io::Error::other(format!("write at {offset}, {} held", self.0.len())));
        }
        self.0.extend_from_slice(bytes);
        Ok(())
    }
}

/// Content bytes per slice for a peer accepting frames of `peer_max` bytes over a link carrying
/// `bytes_per_s`: whole groups, room for the proof, at most about a second of the link (the
/// rule of `net::blobs::slice_bytes_for` with the link's rate as the send cap).
pub fn slice_bytes_for(peer_max: u32, configured: u32, bytes_per_s: u64) -> u32 {
    let budget = u64::from(peer_max).saturating_sub(8 * 1024);
    let fits = budget / (GROUP_BYTES + 64) * GROUP_BYTES;
    let bytes = u64::from(configured.min(SLICE_BYTES_MAX)).min(fits).min(bytes_per_s);
    u32::try_from(align_down(bytes).max(GROUP_BYTES)).unwrap_or(SLICE_BYTES_MAX)
}

/// One wanted blob on a fetch stream.
pub struct Wanted {
    pub info: BlobRef,
    pub receiver: BlobReceiver,
}

/// A fetch stream: the fetching side's wants and the serving side's server.
pub struct Stream {
    pub id: u64,
    pub queue: VecDeque<BlobRef>,
    pub outstanding: Vec<Wanted>,
    /// Bytes received not yet forming a frame, on each side.
    pub at_fetcher: Vec<u8>,
    pub at_server: Vec<u8>,
    pub server: BlobServer<MemSource>,
    /// The fetcher's message limit (frames the server sends must fit it).
    pub fetcher_max: u32,
}

impl Stream {
    pub fn new(id: u64, queue: VecDeque<BlobRef>, config: SenderConfig, fetcher_max: u32) -> Stream {
        Stream {
            id,
            queue,
            outstanding: Vec::new(),
            at_fetcher: Vec::new(),
            at_server: Vec::new(),
            server: BlobServer::new(config),
            fetcher_max,
        }
    }
}

/// Blobs to ask for again later, per connection and fetching side: (due at, delay).
#[derive(Default)]
pub struct Retry {
    pub entries: BTreeMap<BlobHash, (u64, u64)>,
}

impl Retry {
    pub fn fail(&mut self, hash: &BlobHash, now: u64) {
        let delay =
            self.entries.get(hash).map_or(RETRY_MIN_MS, |(_, d)| (d * 2).clamp(RETRY_MIN_MS, RETRY_MAX_MS));
        self.entries.insert(*hash, (now + delay, delay));
    }

    /// Asks again after `delay` without counting a failure (another transfer holds the blob).
    pub fn defer(&mut self, hash: &BlobHash, delay: u64, now: u64) {
        let failures = self.entries.get(hash).map_or(0, |(_, d)| *d);
        self.entries.insert(*hash, (now + delay, failures));
    }

    pub fn clear(&mut self, hash: &BlobHash) {
        self.entries.remove(hash);
    }

    pub fn blocked(&self, hash: &BlobHash, now: u64) -> bool {
        self.entries.get(hash).is_some_and(|(until, _)| *until > now)
    }

    pub fn next_due(&self, now: u64) -> Option<u64> {
        self.entries.values().map(|(until, _)| *until).filter(|u| *u > now).min()
    }
}

/// The blob side of one connection for one fetching side.
#[derive(Default)]
pub struct BlobLink {
    /// The document session reported `Synced` on this connection: fetching may start.
    pub synced_once: bool,
    pub stream: Option<Stream>,
    pub next_stream: u64,
    pub retry: Retry,
    /// A retry wake-up is scheduled at this time.
    pub wake_at: Option<u64>,
}

/// Reads the frames that arrived whole from `buf`. A frame that does not decode is an error.
pub fn take_frames(buf: &mut Vec<u8>, max: u32) -> Result<Vec<BlobMessage>, String> {
    let mut out = Vec::new();
    loop {
        match decode_frame(buf, max) {
            Ok(Some((msg, used))) => {
                buf.drain(..used);
                out.push(msg);
            }
            Ok(None) => return Ok(out),
            Err(e) => return Err(e.to_string()),
        }
    }
}

/// What the fetching side does with one message from the server.
pub enum Fetched {
    /// Send this acknowledgement.
    Ack(BlobMessage),
    /// The blob is complete in the partial sink: acknowledge, then verify and record it.
    Complete(BlobMessage, BlobRef),
    /// The server cannot send it: ask again later.
    Missing(BlobHash),
}

/// Handles a message from the server for a wanted blob, writing verified bytes to `partial`.
pub fn fetched(stream: &mut Stream, msg: &BlobMessage, partial: &mut Vec<u8>) -> Result<Fetched, String> {
    let Some(i) = stream.outstanding.iter().position(|w| w.receiver.hash() == msg.hash()) else {
        return Err(format!("a message for blob {} not wanted", to_hex(msg.hash())));
    };
    let wanted = &mut stream.outstanding[i];
    let event = wanted.receiver.handle_message(msg, &mut PartialSink(partial)).map_err(|e| e.to_string())?;
    match event {
        ReceiveEvent::Progress { .. } => Ok(Fetched::Ack(BlobMessage::Ack(wanted.receiver.ack()))),
        ReceiveEvent::Complete { .. } => {
            let w = stream.outstanding.remove(i);
            Ok(Fetched::Complete(BlobMessage::Ack(w.receiver.ack()), w.info))
        }
        ReceiveEvent::Missing { .. } => {
            let w = stream.outstanding.remove(i);
            Ok(Fetched::Missing(*w.receiver.hash()))
        }
        ReceiveEvent::Corrupt { offset, detail } => {
            Err(format!("blob {} corrupt at {offset}: {detail}", to_hex(msg.hash())))
        }
    }
}

/// Starts a want for `info` with the verified prefix the fetcher holds.
pub fn want(stream: &mut Stream, info: BlobRef, verified: u64) -> BlobMessage {
    let receiver = BlobReceiver::new(info.hash, verified, ReceiverConfig::default());
    let msg = BlobMessage::Want(receiver.want());
    stream.outstanding.push(Wanted { info, receiver });
    msg
}
