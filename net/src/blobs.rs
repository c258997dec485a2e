//! Blobs on a connection: the sans-IO [`BlobServer`] and [`BlobReceiver`] of
//! `yizhan_sync_proto::blob` driven over QUIC streams, with the store behind them.
//!
//! Every connection carries, besides the document session, blob streams opened by either side.
//! The side that opens a stream fetches: it sends wants, in priority order and pipelined (at
//! most [`crate::BlobConfig::wants_in_flight_max`] outstanding), and acknowledges each verified
//! slice once it is durable. The other side serves the stream from its store, answering a blob
//! the peer may not have exactly like a missing one.
//!
//! Documents first: a side starts fetching only once the document session has reported
//! `Synced`, so the blobs it asks for are those the new documents reference; the session stream
//! has a higher QUIC priority than blob streams, and both share the link's send cap, with
//! slices sized to about a second of that cap. New documents arriving wake another round.
//!
//! Disk work (verifying and fsyncing a slice, building a slice from a file, finishing a blob)
//! runs on blocking threads. Every queue is bounded: frames read ahead per stream, wants
//! outstanding, blobs per round, streams served per peer, blobs remembered for retry.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use quinn::{Connection, RecvStream, SendStream, VarInt};
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;
use yizhan_store::partial::{PartialBlob, StoreBlobs, StoredBlob, hash_bytes};
use yizhan_store::sync::PeerPolicy;
use yizhan_store::{BlobInfo, Hash, NewBlob, Store};
use yizhan_sync_proto::blob::{
    BlobError, BlobHash, BlobMessage, BlobReceiver, BlobServer, CAPABILITY, GROUP_BYTES, ReceiveEvent,
    ReceiverConfig, SLICE_BYTES_MAX, SenderConfig, align_down, decode_frame, to_hex,
};
use yizhan_sync_proto::{MESSAGE_BYTES_MAX, PeerInfo};

use crate::limiter::{AckRate, RateLimiter};
use crate::status::{BlobProgress, SyncStatusHandle};
use crate::{NetConfig, NetError};

/// Stream error codes (QUIC `RESET_STREAM` / `STOP_SENDING`).
const CODE_PROTOCOL: u32 = 1;
const CODE_BUSY: u32 = 2;
const CODE_CORRUPT: u32 = 3;
/// The fetcher gives up the stream's transfers because more urgent work waits on the link (a
/// lecture's file, or an earlier case's originals before a later case's thumbnails); each
/// resumes from its verified length later (docs/PROTOCOL.md).
const CODE_PAUSED: u32 = 4;
/// A lecture's transfer paused for more urgent work is looked at again after this.
const LECTURE_PAUSE: Duration = Duration::from_millis(500);
/// Missing blobs looked at when deciding whether a lecture may go on.
const PRIORITY_LOOKED_AT_MAX: u32 = 64;
/// The attachment kind of lecture files (`yizhan_store::lectures::LECTURE_BLOB_KIND`).
const LECTURE_KIND: &str = yizhan_store::lectures::LECTURE_BLOB_KIND;
/// The largest frame a server reads: wants and acks are about 50 bytes; the rest is room for
/// fields a later revision may append.
const CONTROL_FRAME_BYTES_MAX: u32 = 64 * 1024;
/// Frames read ahead of the fetcher (each at most a slice) and of the server (wants and acks).
const FETCH_FRAMES_QUEUED: usize = 2;
const SERVE_FRAMES_QUEUED: usize = 64;
/// How long a server waits for the peer's hello (for its message limit) before assuming the
/// smallest limit a peer may announce.
const HELLO_WAIT: Duration = Duration::from_secs(5);
/// The smallest message limit a peer may announce (the session clamps to it).
const PEER_MESSAGE_BYTES_MIN: u32 = 64 * 1024;
/// Blobs remembered for a delayed retry, per connection.
const RETRY_ENTRIES_MAX: usize = 4096;
/// A blob whose partial file another transfer holds is tried again after at most this.
const IN_USE_RETRY_MAX: Duration = Duration::from_secs(1);
/// Blobs completed and not yet told to the peer (the session tells them in `Held` messages);
/// past this they are left for the peer's next query.
const HELD_QUEUED_MAX: usize = 4096;
/// Blobs whose acknowledged length a server remembers per stream (for the ack rate).
const ACKED_TRACKED_MAX: usize = 256;

/// Paces one link's sends (documents and blobs together) to the configured cap.
#[derive(Clone)]
pub(crate) struct LinkLimiter(Option<Arc<Mutex<RateLimiter>>>);

impl LinkLimiter {
    pub(crate) fn new(bytes_per_s: Option<u64>) -> LinkLimiter {
        LinkLimiter(bytes_per_s.map(|r| Arc::new(Mutex::new(RateLimiter::new(r)))))
    }

    fn delay(&self, bytes: usize) -> Duration {
        let Some(l) = &self.0 else { return Duration::ZERO };
        let mut l = match l.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        l.delay_for(bytes, Instant::now())
    }

    /// Waits until `bytes` may be sent (concurrent senders queue behind each other's debt).
    pub(crate) async fn wait(&self, bytes: usize) {
        let delay = self.delay(bytes);
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
    }

    /// Counts small control frames (wants, acks) against the cap without waiting for it, so
    /// that acknowledging the peer's data is never held up by this side's own sending.
    fn charge(&self, bytes: usize) {
        let _ = self.delay(bytes);
    }
}

/// When a blob stream last moved a frame: a connection moving blobs is not idle.
#[derive(Clone)]
pub(crate) struct Activity {
    base: Instant,
    last_ms: Arc<AtomicU64>,
}

impl Activity {
    fn new() -> Activity {
        Activity { base: Instant::now(), last_ms: Arc::new(AtomicU64::new(0)) }
    }

    fn touch(&self) {
        let ms = u64::try_from(self.base.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.fetch_max(ms, Ordering::Relaxed);
    }

    /// Time since the last blob frame (since the connection started if none).
    pub(crate) fn idle_for(&self) -> Duration {
        let last = Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
        self.base.elapsed().saturating_sub(last)
    }
}

/// What the tasks of one connection share.
pub(crate) struct Link {
    pub(crate) store: Store,
    pub(crate) config: NetConfig,
    pub(crate) policy: Arc<PeerPolicy>,
    pub(crate) status: SyncStatusHandle,
    pub(crate) limiter: LinkLimiter,
    pub(crate) activity: Activity,
    /// The peer's hello, once the session has it.
    pub(crate) peer: watch::Sender<Option<PeerInfo>>,
    /// True once the document session has reported `Synced`.
    pub(crate) synced: watch::Sender<bool>,
    /// Blobs this side completed from the peer, for the session to tell it (`Held`).
    pub(crate) held_tx: mpsc::Sender<BlobHash>,
    pub(crate) held_rx: Mutex<Option<mpsc::Receiver<BlobHash>>>,
    /// How fast the peer acknowledges what this side sends.
    pub(crate) ack_rate: Mutex<AckRate>,
}

impl Link {
    pub(crate) fn new(store: Store, config: NetConfig, policy: PeerPolicy, status: SyncStatusHandle) -> Link {
        let (held_tx, held_rx) = mpsc::channel(HELD_QUEUED_MAX);
        Link {
            limiter: LinkLimiter::new(config.send_bytes_per_s_max),
            store,
            config,
            policy: Arc::new(policy),
            status,
            activity: Activity::new(),
            peer: watch::channel(None).0,
            synced: watch::channel(false).0,
            held_tx,
            held_rx: Mutex::new(Some(held_rx)),
            ack_rate: Mutex::new(AckRate::default()),
        }
    }

    /// Counts `bytes` newly acknowledged by the peer and publishes the measured rate.
    fn acknowledged(&self, bytes: u64) {
        let now = Instant::now();
        let rate = {
            let mut meter = match self.ack_rate.lock() {
                Ok(g) => g,
                Err(p) => p.into_inner(),
            };
            meter.add(bytes, now);
            meter.bytes_per_s(now)
        };
        if let Some(rate) = rate {
            self.status.update(|s| s.blob_ack_bytes_per_s = Some(rate));
        }
    }
}

/// Aborts a helper task when its owner goes away (a stream's reader holds the connection).
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

type Incoming = mpsc::Receiver<Result<BlobMessage, String>>;

/// Reads frames of at most `max` bytes from `recv` into a bounded queue. The queue ends when
/// the peer finishes the stream; a read or framing error is its last item.
fn spawn_reader(
    mut recv: RecvStream,
    max: u32,
    chunk: usize,
    queued: usize,
    activity: Activity,
) -> (Incoming, AbortOnDrop) {
    let (tx, rx) = mpsc::channel(queued.max(1));
    let task = tokio::spawn(async move {
        let mut buf: Vec<u8> = Vec::new();
        let mut piece = vec![0u8; chunk.clamp(1024, 1024 * 1024)];
        loop {
            loop {
                match decode_frame(&buf, max) {
                    Ok(Some((msg, used))) => {
                        buf.drain(..used);
                        if tx.send(Ok(msg)).await.is_err() {
                            return;
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        let _ = tx.send(Err(e.to_string())).await;
                        let _ = recv.stop(VarInt::from_u32(CODE_PROTOCOL));
                        return;
                    }
                }
            }
            match recv.read(&mut piece).await {
                Ok(Some(n)) => {
                    activity.touch();
                    buf.extend_from_slice(&piece[..n]);
                }
                Ok(None) => {
                    if !buf.is_empty() {
                        let _ = tx.send(Err("the stream ended inside a frame".into())).await;
                    }
                    return;
                }
                Err(e) => {
                    let _ = tx.send(Err(e.to_string())).await;
                    return;
                }
            }
        }
    });
    (rx, AbortOnDrop(task))
}

fn join_err(e: tokio::task::JoinError) -> NetError {
    NetError::Blob(format!("blocking task: {e}"))
}

/// Content bytes per slice for a peer that accepts frames of `peer_max` bytes: whole groups,
/// leaving room for the proof (64 bytes per group plus a path of at most 64 nodes) and the
/// message fields; at most `configured` and, under a send cap, about one second of it.
pub(crate) fn slice_bytes_for(peer_max: u32, configured: u32, cap_bytes_per_s: Option<u64>) -> u32 {
    let budget = u64::from(peer_max).saturating_sub(8 * 1024);
    let fits = budget / (GROUP_BYTES + 64) * GROUP_BYTES;
    let mut bytes = u64::from(configured.min(SLICE_BYTES_MAX)).min(fits);
    if let Some(cap) = cap_bytes_per_s {
        bytes = bytes.min(cap);
    }
    u32::try_from(align_down(bytes).max(GROUP_BYTES)).unwrap_or(SLICE_BYTES_MAX)
}

// ---- serving ----

/// Accepts the blob streams the peer opens (after the session stream) and serves each, at most
/// `serve_streams_max` at once; more are refused. Ends when the connection does.
pub(crate) async fn serve_streams(conn: Connection, link: Arc<Link>) {
    let permits = Arc::new(Semaphore::new(link.config.blobs.serve_streams_max.max(1)));
    let mut streams = JoinSet::new();
    loop {
        let Ok((mut send, mut recv)) = conn.accept_bi().await else { return };
        while streams.try_join_next().is_some() {}
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            tracing::debug!(peer = %link.policy.peer_id, "refused a blob stream: too many open");
            let _ = send.reset(VarInt::from_u32(CODE_BUSY));
            let _ = recv.stop(VarInt::from_u32(CODE_BUSY));
            continue;
        };
        let link = link.clone();
        streams.spawn(async move {
            let _permit = permit;
            if let Err(e) = serve_stream(&link, send, recv).await {
                tracing::info!(peer = %link.policy.peer_id, error = %e, "blob stream ended");
            }
            link.status.update(|s| s.blob_sending = None);
        });
    }
}

/// The message limit the peer announced in its hello (waiting a little for it).
async fn peer_message_limit(link: &Link) -> u32 {
    let mut peer = link.peer.subscribe();
    match tokio::time::timeout(HELLO_WAIT, peer.wait_for(Option::is_some)).await {
        Ok(Ok(info)) => info.as_ref().map_or(PEER_MESSAGE_BYTES_MIN, |p| p.message_bytes_max),
        _ => PEER_MESSAGE_BYTES_MIN,
    }
}

/// Serves one stream: wants and acks in, slices and misses out, until the peer finishes its
/// side and nothing is left to send, or the stream idles out.
async fn serve_stream(link: &Link, mut send: SendStream, recv: RecvStream) -> Result<(), NetError> {
    let peer_max = peer_message_limit(link).await;
    let blobs = &link.config.blobs;
    let config = SenderConfig {
        slice_bytes: slice_bytes_for(peer_max, blobs.slice_bytes, link.config.send_bytes_per_s_max),
        in_flight_bytes_max: blobs.in_flight_bytes_max,
        ..SenderConfig::default()
    };
    let mut server: BlobServer<StoredBlob> = BlobServer::new(config);
    let (mut rx, _reader) = spawn_reader(
        recv,
        CONTROL_FRAME_BYTES_MAX,
        link.config.read_chunk_bytes,
        SERVE_FRAMES_QUEUED,
        link.activity.clone(),
    );
    let runtime = tokio::runtime::Handle::current();
    let mut open = true;
    let mut acked: HashMap<BlobHash, u64> = HashMap::new();
    loop {
        // Take in everything that has arrived.
        while open {
            match rx.try_recv() {
                Ok(msg) => {
                    count_ack(link, &mut acked, &msg);
                    handle_from_fetcher(&mut server, msg, &mut send)?
                }
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => open = false,
            }
        }
        // Produce the next message off the async threads: it reads the blob.
        let (store, scope, runtime2) = (link.store.clone(), link.policy.send_scope.clone(), runtime.clone());
        let (s, next) = tokio::task::spawn_blocking(move || {
            let mut server = server;
            let dir = store.config().dir.clone();
            let lookup = move |hash: &Hash| {
                let (hash, scope) = (hash.clone(), scope.clone());
                runtime2.block_on(store.call(move |db| db.blob_for_peer(&hash, &scope)))
            };
            let next = server.poll_transmit(&mut StoreBlobs::new(dir, lookup));
            (server, next)
        })
        .await
        .map_err(join_err)?;
        server = s;
        match next {
            Ok(Some(msg)) => {
                send_to_fetcher(link, &mut send, &msg, peer_max).await?;
                continue;
            }
            Ok(None) => {}
            Err(e) => {
                // A blob this node cannot read now: the peer is told it is unavailable.
                tracing::warn!(error = %e, "cannot serve a blob");
                continue;
            }
        }
        if !open {
            break; // the peer wants nothing more and can acknowledge nothing more
        }
        match tokio::time::timeout(link.config.idle_timeout, rx.recv()).await {
            Ok(Some(msg)) => {
                count_ack(link, &mut acked, &msg);
                handle_from_fetcher(&mut server, msg, &mut send)?
            }
            Ok(None) => open = false,
            Err(_) => break,
        }
    }
    let _ = send.finish();
    Ok(())
}

/// Feeds the bytes an acknowledgement adds to the link's ack rate (a want sets where the
/// blob's count starts: a resumed blob's earlier prefix is not counted again).
fn count_ack(link: &Link, acked: &mut HashMap<BlobHash, u64>, msg: &Result<BlobMessage, String>) {
    let (hash, offset, is_ack) = match msg {
        Ok(BlobMessage::Ack(a)) => (a.hash, a.offset, true),
        Ok(BlobMessage::Want(w)) => (w.hash, w.offset, false),
        _ => return,
    };
    if acked.len() >= ACKED_TRACKED_MAX && !acked.contains_key(&hash) {
        acked.clear();
    }
    let before = acked.insert(hash, offset).unwrap_or(offset);
    let gained = offset.saturating_sub(before);
    if is_ack && gained > 0 {
        link.acknowledged(gained);
    }
}

fn handle_from_fetcher(
    server: &mut BlobServer<StoredBlob>,
    msg: Result<BlobMessage, String>,
    send: &mut SendStream,
) -> Result<(), NetError> {
    let violation = |send: &mut SendStream, detail: String| {
        let _ = send.reset(VarInt::from_u32(CODE_PROTOCOL));
        NetError::Blob(detail)
    };
    match msg {
        Ok(msg) => match server.handle_message(msg) {
            Ok(true) => Ok(()),
            Ok(false) => Err(violation(send, "the fetcher sent data".into())),
            Err(e) => Err(violation(send, e.to_string())),
        },
        Err(detail) => Err(violation(send, detail)),
    }
}

async fn send_to_fetcher(
    link: &Link,
    send: &mut SendStream,
    msg: &BlobMessage,
    peer_max: u32,
) -> Result<(), NetError> {
    let frame = msg.encode(peer_max).map_err(|e| NetError::Blob(e.to_string()))?;
    match msg {
        BlobMessage::Data(d) => {
            link.limiter.wait(frame.len()).await;
            send.write_all(&frame).await?;
            let size = d.slice.get(..8).and_then(|h| <[u8; 8]>::try_from(h).ok()).map(u64::from_le_bytes);
            let end = d.offset + u64::from(d.len);
            link.status.update(|s| {
                s.blob_bytes_sent += u64::from(d.len);
                s.blob_sending = match size {
                    Some(size) if end < size => Some(BlobProgress {
                        hash: to_hex(&d.hash),
                        role: String::new(),
                        done_bytes: end,
                        total_bytes: size,
                    }),
                    _ => None,
                };
            });
        }
        _ => {
            link.limiter.charge(frame.len());
            send.write_all(&frame).await?;
        }
    }
    link.activity.touch();
    Ok(())
}

// ---- fetching ----

/// Blobs to ask for again later (the peer lacked them, sent them corrupt, or another transfer
/// held them), with a delay that doubles per failure.
struct Retry {
    min: Duration,
    max: Duration,
    entries: HashMap<Hash, (Instant, Duration)>,
}

impl Retry {
    fn new(min: Duration, max: Duration) -> Retry {
        Retry { min, max: max.max(min), entries: HashMap::new() }
    }

    fn fail(&mut self, hash: &Hash, now: Instant) {
        let delay = self.entries.get(hash).map_or(self.min, |(_, d)| d.saturating_mul(2).min(self.max));
        self.defer(hash, delay, now);
    }

    fn defer(&mut self, hash: &Hash, delay: Duration, now: Instant) {
        if self.entries.len() >= RETRY_ENTRIES_MAX && !self.entries.contains_key(hash) {
            self.entries.retain(|_, (until, _)| *until > now);
            if self.entries.len() >= RETRY_ENTRIES_MAX {
                self.entries.clear();
            }
        }
        self.entries.insert(hash.clone(), (now + delay, delay));
    }

    fn clear(&mut self, hash: &Hash) {
        self.entries.remove(hash);
    }

    fn blocked(&self, hash: &Hash, now: Instant) -> bool {
        self.entries.get(hash).is_some_and(|(until, _)| *until > now)
    }

    fn blocked_count(&self, now: Instant) -> usize {
        self.entries.values().filter(|(until, _)| *until > now).count()
    }

    fn next_due(&self, now: Instant) -> Option<Instant> {
        self.entries.values().map(|(until, _)| *until).filter(|u| *u > now).min()
    }
}

/// A blob wanted on the current stream.
struct Wanted {
    info: BlobInfo,
    role: String,
    hash: BlobHash,
    receiver: BlobReceiver,
    partial: Sink,
    /// A lecture's file: it pauses whenever more urgent work waits.
    lecture: bool,
}

/// Where a fetched blob's verified bytes go. A blob the store keeps inline (a thumbnail) is
/// held in memory and recorded once, whole, when it completes: a partial file costs about six
/// fsyncs per blob (files created, each slice and its group records, the finished file, its
/// directory). Losing such a blob's verified prefix to an interruption costs at most the inline
/// size again per blob in flight.
enum Sink {
    Partial(PartialBlob),
    Memory(Vec<u8>),
}

impl yizhan_sync_proto::blob::BlobSink for Sink {
    fn write_verified(&mut self, offset: u64, bytes: &[u8]) -> std::io::Result<()> {
        match self {
            Sink::Partial(p) => p.write_verified(offset, bytes),
            Sink::Memory(buf) => {
                // The receiver writes in order and never past the size it was told at most.
                if offset != buf.len() as u64 {
                    return Err(std::io::Error::other(format!("write at {offset}, holding {}", buf.len())));
                }
                buf.extend_from_slice(bytes);
                Ok(())
            }
        }
    }
}

/// The order in which the county needs a blob's roles (as `Db::missing_blobs` ranks them):
/// thumbnails, then display copies and posters, video proxies, originals.
fn role_rank(role: &str) -> u8 {
    match role {
        "thumb" => 0,
        "display" | "poster" => 1,
        "proxy" => 2,
        _ => 3,
    }
}

enum Round {
    /// Blobs were asked for: look again at once.
    Worked,
    /// Nothing to ask this peer for now.
    Idle,
}

/// Fetches, over streams this side opens, the blobs it lacks that documents within the peer's
/// accept scope reference (in priority order, filtered by role), starting once the documents
/// are in sync and again whenever new documents arrive or the lecture plan wants more. Ends
/// when the connection does.
pub(crate) async fn fetch(conn: Connection, link: Arc<Link>, mut changes: watch::Receiver<i64>) {
    let mut synced = link.synced.subscribe();
    if synced.wait_for(|s| *s).await.is_err() {
        return;
    }
    let serves_blobs =
        link.peer.borrow().as_ref().is_some_and(|p| p.capabilities.iter().any(|c| c == CAPABILITY));
    if !serves_blobs {
        tracing::info!(peer = %link.policy.peer_id, "the peer does not serve blobs");
        return;
    }
    let blobs = &link.config.blobs;
    let mut fetcher = Fetcher {
        link: link.clone(),
        conn,
        retry: Retry::new(blobs.retry_min, blobs.retry_max),
        not_in_memory: std::collections::HashSet::new(),
        changes: changes.clone(),
    };
    let mut plan = link.store.subscribe_fetch_plan();
    loop {
        changes.mark_unchanged();
        fetcher.changes.mark_unchanged();
        plan.mark_unchanged();
        match fetcher.round().await {
            Ok(Round::Worked) => {}
            Ok(Round::Idle) => {
                let due = fetcher.retry.next_due(Instant::now());
                let retry = async {
                    match due {
                        Some(t) => tokio::time::sleep_until(t).await,
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    changed = changes.changed() => if changed.is_err() { return },
                    // The lecture plan wants more, with no new document to say so.
                    changed = plan.changed() => if changed.is_err() { return },
                    () = retry => {}
                }
            }
            Err(e) => {
                if fetcher.conn.close_reason().is_some() {
                    return;
                }
                tracing::info!(peer = %link.policy.peer_id, error = %e, "blob fetch round failed");
                tokio::time::sleep(link.config.blobs.retry_min).await;
            }
        }
    }
}

struct Fetcher {
    link: Arc<Link>,
    conn: Connection,
    retry: Retry,
    /// Blobs a peer sent larger than their documents declared: fetched into partial files.
    not_in_memory: std::collections::HashSet<Hash>,
    /// New documents since the round began: their blobs may come before the round's.
    changes: watch::Receiver<i64>,
}

impl Fetcher {
    /// Whether more urgent work than a lecture waits on this link, in either direction:
    /// documents or a case's copies still to reach the parent, or blobs other than lecture
    /// files this side lacks (except those the peer lacks too, waiting for a retry). No
    /// lecture byte is asked for meanwhile.
    async fn lecture_must_wait(&self) -> Result<bool, NetError> {
        let scope = self.link.policy.accept_scope.clone();
        let roles = self.link.config.blobs.fetch_roles();
        let (up, down) =
            self.link.store.call(move |db| db.priority_work(&scope, &roles, PRIORITY_LOOKED_AT_MAX)).await?;
        let now = Instant::now();
        Ok(up || down.iter().any(|h| !self.retry.blocked(h, now)))
    }

    /// Asks the store what is missing, then fetches up to a round's worth of it on one stream.
    async fn round(&mut self) -> Result<Round, NetError> {
        let link = &self.link;
        let now = Instant::now();
        let round_max = link.config.blobs.round_blobs_max.max(1);
        // Ask for enough that blobs waiting for a retry do not hide the others.
        let limit =
            round_max.saturating_add(u32::try_from(self.retry.blocked_count(now)).unwrap_or(u32::MAX));
        let scope = link.policy.accept_scope.clone();
        let roles = link.config.blobs.fetch_roles();
        let (list, (waiting, waiting_bytes)) = link
            .store
            .call(move |db| {
                Ok((db.missing_blobs(&scope, &roles, limit)?, db.missing_blob_totals(&scope, &roles)?))
            })
            .await?;
        link.status.update(|s| {
            s.blobs_waiting = waiting;
            s.blob_bytes_waiting = waiting_bytes;
        });
        let list: Vec<_> = list
            .into_iter()
            .filter(|(info, _, _)| !self.retry.blocked(&info.hash, now))
            .take(round_max as usize)
            .collect();
        if list.is_empty() {
            return Ok(Round::Idle);
        }
        self.transfer(list).await?;
        Ok(Round::Worked)
    }

    /// Opens a stream and fetches `list` on it, keeping `wants_in_flight_max` wants outstanding
    /// (the peer answers them in order).
    async fn transfer(&mut self, list: Vec<(BlobInfo, String, String)>) -> Result<(), NetError> {
        let link = self.link.clone();
        let (mut send, recv) = self.conn.open_bi().await?;
        let (mut rx, _reader) = spawn_reader(
            recv,
            MESSAGE_BYTES_MAX,
            link.config.read_chunk_bytes,
            FETCH_FRAMES_QUEUED,
            link.activity.clone(),
        );
        let wants_max = link.config.blobs.wants_in_flight_max.clamp(1, 64);
        let mut queue = list.into_iter();
        let mut outstanding: Vec<Wanted> = Vec::with_capacity(wants_max);
        let mut superseded = false;
        loop {
            while outstanding.len() < wants_max {
                let Some((info, kind, role)) = queue.next() else { break };
                if kind == LECTURE_KIND {
                    // Lectures go last and one at a time, and only while nothing more urgent
                    // waits (the list is in fetch order: lectures are at its end).
                    if !outstanding.is_empty() {
                        break;
                    }
                    if self.lecture_must_wait().await? {
                        self.retry.defer(&info.hash, LECTURE_PAUSE, Instant::now());
                        break;
                    }
                }
                if let Some(w) = self.start(info, role, kind == LECTURE_KIND).await {
                    let want = BlobMessage::Want(w.receiver.want());
                    write_control(&link, &mut send, &want).await?;
                    outstanding.push(w);
                }
            }
            if outstanding.is_empty() {
                let _ = send.finish();
                return Ok(());
            }
            let received = tokio::select! {
                biased;
                received = tokio::time::timeout(link.config.idle_timeout, rx.recv()) => received,
                Ok(()) = self.changes.changed(), if !superseded => {
                    // New documents: ask for nothing more from this round's list, and give up the
                    // transfers in flight if the new documents' blobs come first (a later case's
                    // thumbnails before an earlier one's originals). A partial file keeps its
                    // verified prefix for the next round.
                    superseded = true;
                    queue = Vec::new().into_iter();
                    if self.comes_before(&outstanding).await {
                        tracing::debug!(peer = %link.policy.peer_id, "new documents' blobs come first: the round ends");
                        let _ = send.reset(VarInt::from_u32(CODE_PAUSED));
                        return Ok(());
                    }
                    continue;
                }
            };
            let msg = match received {
                Err(_) => {
                    let _ = send.reset(VarInt::from_u32(CODE_PROTOCOL));
                    return Err(NetError::Blob(format!("no answer for {:?}", link.config.idle_timeout)));
                }
                Ok(None) => return Err(NetError::Blob("the peer closed the blob stream".into())),
                Ok(Some(Err(detail))) => return Err(NetError::Blob(detail)),
                Ok(Some(Ok(msg))) => msg,
            };
            let Some(i) = outstanding.iter().position(|w| w.hash == *msg.hash()) else {
                let _ = send.reset(VarInt::from_u32(CODE_PROTOCOL));
                return Err(NetError::Blob(format!("a message for blob {} not wanted", to_hex(msg.hash()))));
            };
            match msg {
                BlobMessage::Data(data) => {
                    let wanted = outstanding.remove(i);
                    let before = wanted.receiver.verified_bytes();
                    let (wanted, event) = tokio::task::spawn_blocking(move || {
                        let mut w = wanted;
                        let event = w.receiver.handle_data(&data, &mut w.partial);
                        (w, event)
                    })
                    .await
                    .map_err(join_err)?;
                    let gained = wanted.receiver.verified_bytes().saturating_sub(before);
                    link.status.update(|s| s.blob_bytes_received += gained);
                    match event {
                        Ok(ReceiveEvent::Progress { verified_bytes, size_bytes }) => {
                            if wanted.lecture && self.lecture_must_wait().await? {
                                // Kept on disk up to its verified length; resumed later.
                                tracing::debug!(peer = %link.policy.peer_id, blob = %wanted.info.hash, verified_bytes, "a lecture's transfer paused for more urgent work");
                                self.retry.defer(&wanted.info.hash, LECTURE_PAUSE, Instant::now());
                                let _ = send.reset(VarInt::from_u32(CODE_PAUSED));
                                link.status.update(|s| s.blob_receiving = None);
                                return Ok(());
                            }
                            write_control(&link, &mut send, &BlobMessage::Ack(wanted.receiver.ack())).await?;
                            link.status.update(|s| {
                                s.blob_receiving = Some(BlobProgress {
                                    hash: wanted.info.hash.to_string(),
                                    role: wanted.role.clone(),
                                    done_bytes: verified_bytes,
                                    total_bytes: size_bytes,
                                })
                            });
                            outstanding.insert(i, wanted);
                        }
                        Ok(ReceiveEvent::Complete { size_bytes }) => {
                            write_control(&link, &mut send, &BlobMessage::Ack(wanted.receiver.ack())).await?;
                            self.complete(wanted, size_bytes).await?;
                        }
                        Ok(ReceiveEvent::Corrupt { offset, detail }) => {
                            // Nothing of it was stored; the verified prefix stays for a later try.
                            tracing::warn!(peer = %link.policy.peer_id, blob = %wanted.info.hash, offset, %detail, "a peer sent a blob slice that does not verify");
                            if matches!(wanted.partial, Sink::Memory(_))
                                && self.not_in_memory.len() < RETRY_ENTRIES_MAX
                            {
                                self.not_in_memory.insert(wanted.info.hash.clone());
                            }
                            self.retry.fail(&wanted.info.hash, Instant::now());
                            let _ = send.reset(VarInt::from_u32(CODE_CORRUPT));
                            return Ok(());
                        }
                        Ok(ReceiveEvent::Missing { .. }) => {
                            self.retry.fail(&wanted.info.hash, Instant::now())
                        }
                        Err(e @ BlobError::Sink { .. }) => {
                            self.retry.fail(&wanted.info.hash, Instant::now());
                            let _ = send.reset(VarInt::from_u32(CODE_PROTOCOL));
                            return Err(NetError::Blob(e.to_string()));
                        }
                        Err(e) => {
                            let _ = send.reset(VarInt::from_u32(CODE_PROTOCOL));
                            return Err(NetError::Blob(e.to_string()));
                        }
                    }
                }
                BlobMessage::Missing(m) => {
                    let wanted = outstanding.remove(i);
                    tracing::debug!(peer = %link.policy.peer_id, blob = %wanted.info.hash, code = m.code, "the peer cannot send a blob");
                    self.retry.fail(&wanted.info.hash, Instant::now());
                }
                BlobMessage::Want(_) | BlobMessage::Ack(_) => {
                    let _ = send.reset(VarInt::from_u32(CODE_PROTOCOL));
                    return Err(NetError::Blob("the server sent a want or an ack".into()));
                }
            }
        }
    }

    /// Whether the most urgent blob missing now ranks before a transfer in flight that keeps its
    /// progress in a partial file (an original or a video proxy), so giving it up costs only the
    /// bytes already on the way.
    async fn comes_before(&self, outstanding: &[Wanted]) -> bool {
        let Some(in_flight) = outstanding
            .iter()
            .filter(|w| matches!(w.partial, Sink::Partial(_)))
            .map(|w| role_rank(&w.role))
            .max()
        else {
            return false;
        };
        let scope = self.link.policy.accept_scope.clone();
        let roles = self.link.config.blobs.fetch_roles();
        let first = self.link.store.call(move |db| db.missing_blobs(&scope, &roles, 1)).await;
        let in_flight_hashes: Vec<&Hash> = outstanding.iter().map(|w| &w.info.hash).collect();
        match first {
            Ok(list) => list.first().is_some_and(|(info, _, role)| {
                role_rank(role) < in_flight && !in_flight_hashes.contains(&&info.hash)
            }),
            Err(_) => false,
        }
    }

    /// Opens (or resumes) the partial blob. `None` when it cannot be opened now (another
    /// transfer holds it, or the disk fails): it is tried again later.
    async fn start(&mut self, info: BlobInfo, role: String, lecture: bool) -> Option<Wanted> {
        // Blobs the store keeps inline, as the referencing documents declare their size, are
        // fetched into memory; a peer that sends a larger one is treated as sending corrupt data,
        // and the blob is fetched into a partial file the next time.
        let memory_max = self.link.store.config().inline_blob_bytes_max;
        if info.size <= memory_max && !self.not_in_memory.contains(&info.hash) {
            let config = ReceiverConfig { blob_bytes_max: memory_max };
            return Some(Wanted {
                hash: hash_bytes(&info.hash),
                receiver: BlobReceiver::new(hash_bytes(&info.hash), 0, config),
                partial: Sink::Memory(Vec::with_capacity(usize::try_from(info.size).unwrap_or(0))),
                info,
                role,
                lecture,
            });
        }
        let dir = self.link.store.config().dir.clone();
        let hash = info.hash.clone();
        match tokio::task::spawn_blocking(move || PartialBlob::open(&dir, &hash)).await {
            Ok(Ok(partial)) => Some(Wanted {
                hash: hash_bytes(&info.hash),
                receiver: partial.receiver(ReceiverConfig::default()),
                partial: Sink::Partial(partial),
                info,
                role,
                lecture,
            }),
            Ok(Err(e)) => {
                tracing::debug!(blob = %info.hash, error = %e, "cannot open the partial blob now");
                let delay = self.link.config.blobs.retry_min.min(IN_USE_RETRY_MAX);
                self.retry.defer(&info.hash, delay, Instant::now());
                None
            }
            Err(e) => {
                tracing::warn!(blob = %info.hash, error = %e, "opening a partial blob failed");
                self.retry.fail(&info.hash, Instant::now());
                None
            }
        }
    }

    /// Finishes a received blob (hashed once more as a whole) and records it: it is visible.
    async fn complete(&mut self, wanted: Wanted, size_bytes: u64) -> Result<(), NetError> {
        let link = &self.link;
        let inline_max = link.store.config().inline_blob_bytes_max;
        let Wanted { info, partial, .. } = wanted;
        let mime = info.mime.clone();
        let dir = link.store.config().dir.clone();
        let expected = info.hash.clone();
        let prepared = tokio::task::spawn_blocking(move || match partial {
            Sink::Partial(partial) => {
                let finished = partial.finish(size_bytes)?;
                NewBlob::from_finished(finished, &mime, inline_max)
            }
            // Verified slice by slice already; hashed once more whole, as a partial file is.
            Sink::Memory(bytes) if Hash::of(&bytes) == expected => {
                NewBlob::prepare(&dir, bytes, &mime, inline_max)
            }
            Sink::Memory(_) => Err(yizhan_store::StoreError::BlobCorrupt {
                hash: expected.to_string(),
                detail: "does not hash to its name".into(),
            }),
        })
        .await
        .map_err(join_err)?;
        let recorded = match prepared {
            Ok(blob) => link.store.call(move |db| db.record_new_blob(blob)).await,
            Err(e) => Err(e),
        };
        match recorded {
            Ok(_) => {
                self.retry.clear(&info.hash);
                if link.held_tx.try_send(hash_bytes(&info.hash)).is_err() {
                    tracing::debug!(blob = %info.hash, "too many blobs to tell the peer: left for its query");
                }
                if link.policy.is_parent {
                    // Fetched from the parent: it holds the blob.
                    let (peer, hash) = (link.policy.peer_id.clone(), info.hash.clone());
                    link.store.call(move |db| db.record_peer_holds(&peer, &[hash])).await?;
                }
                link.status.update(|s| {
                    s.blobs_received += 1;
                    s.blobs_waiting = s.blobs_waiting.saturating_sub(1);
                    s.blob_bytes_waiting = s.blob_bytes_waiting.saturating_sub(info.size);
                    s.blob_receiving = None;
                });
                tracing::debug!(peer = %link.policy.peer_id, blob = %info.hash, bytes = size_bytes, "received a blob");
                Ok(())
            }
            Err(yizhan_store::StoreError::Closed) => Err(yizhan_store::StoreError::Closed.into()),
            Err(e) => {
                tracing::error!(blob = %info.hash, error = %e, "cannot keep a received blob");
                self.retry.fail(&info.hash, Instant::now());
                Ok(())
            }
        }
    }
}

async fn write_control(link: &Link, send: &mut SendStream, msg: &BlobMessage) -> Result<(), NetError> {
    let frame = msg.encode(PEER_MESSAGE_BYTES_MIN).map_err(|e| NetError::Blob(e.to_string()))?;
    link.limiter.charge(frame.len());
    send.write_all(&frame).await?;
    link.activity.touch();
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::io;

    use yizhan_sync_proto::blob::{BlobProvider, BlobSource, BlobWant, outboard};

    use super::*;

    struct Mem {
        content: Vec<u8>,
        outboard: Vec<u8>,
    }

    impl BlobSource for Mem {
        fn size(&self) -> u64 {
            self.content.len() as u64
        }
        fn read_content(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
            let start = offset as usize;
            buf.copy_from_slice(&self.content[start..start + buf.len()]);
            Ok(())
        }
        fn outboard(&self) -> &[u8] {
            &self.outboard
        }
    }

    struct One(Option<Mem>);

    impl BlobProvider for One {
        type Source = Mem;
        fn open_source(&mut self, _: &BlobHash) -> io::Result<Option<Mem>> {
            Ok(self.0.take())
        }
    }

    #[test]
    fn slices_fit_the_smallest_message_limit_and_follow_the_cap() {
        assert_eq!(slice_bytes_for(MESSAGE_BYTES_MAX, 256 * 1024, None), 256 * 1024);
        assert_eq!(slice_bytes_for(MESSAGE_BYTES_MAX, 4 * 1024 * 1024, None), SLICE_BYTES_MAX);
        assert_eq!(slice_bytes_for(MESSAGE_BYTES_MAX, 256 * 1024, Some(125_000)), 112 * 1024);
        assert_eq!(slice_bytes_for(MESSAGE_BYTES_MAX, 256 * 1024, Some(1000)), 16 * 1024);
        // Every slice of a large blob, cut for a peer announcing the smallest limit, fits it.
        for limit in [PEER_MESSAGE_BYTES_MIN, 100_000, 300_000, 1_200_000] {
            let content: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 + i / 1000) as u8).collect();
            let (hash, ob) = outboard(&content);
            let config = SenderConfig {
                slice_bytes: slice_bytes_for(limit, SLICE_BYTES_MAX, None),
                ..SenderConfig::default()
            };
            let mut server = BlobServer::new(config);
            server.handle_want(BlobWant { hash, offset: 0 }).unwrap();
            let mut provider = One(Some(Mem { content, outboard: ob }));
            let mut frames = 0;
            while let Some(msg) = server.poll_transmit(&mut provider).unwrap() {
                let BlobMessage::Data(d) = &msg else { panic!("{msg:?}") };
                msg.encode(limit).unwrap_or_else(|e| panic!("limit {limit}: {e}"));
                server.handle_ack(&yizhan_sync_proto::blob::BlobAck {
                    hash,
                    offset: d.offset + u64::from(d.len),
                });
                frames += 1;
            }
            assert!(frames > 1);
        }
    }

    #[test]
    fn retries_double_up_to_the_cap() {
        let t0 = Instant::now();
        let mut r = Retry::new(Duration::from_secs(1), Duration::from_secs(3));
        let h = Hash::of(b"x");
        r.fail(&h, t0);
        assert!(r.blocked(&h, t0) && !r.blocked(&h, t0 + Duration::from_secs(1)));
        r.fail(&h, t0);
        assert_eq!(r.next_due(t0), Some(t0 + Duration::from_secs(2)));
        r.fail(&h, t0);
        r.fail(&h, t0);
        assert_eq!(r.next_due(t0), Some(t0 + Duration::from_secs(3)));
        r.clear(&h);
        assert!(!r.blocked(&h, t0) && r.blocked_count(t0) == 0);
    }
}
