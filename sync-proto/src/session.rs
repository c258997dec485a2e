//! One sync session with one peer, as a sans-IO state machine.
//!
//! Both sides send a hello carrying their feed head and the checkpoint they hold of the other's
//! feed. Each side then sends the documents changed past the peer's checkpoint, in batches,
//! with at most `batches_in_flight_max` unacknowledged; the receiver applies each batch
//! durably and acknowledges it. When neither side has anything the other lacks, the hellos are
//! the whole exchange: one round trip.
//!
//! A checkpoint is only meaningful for the history it was taken of: each hello also carries the
//! sender's store incarnation and the incarnation the checkpoint it holds of the receiver was
//! recorded under, with the receiver's feed head then. The receiver checks that checkpoint
//! against its own history (`checkpoint_stands`) and, when its store went back past it
//! (restored from an older backup), answers with a Rewind naming what still stands, before
//! anything else.

use std::collections::VecDeque;

use crate::replica::{
    BlobHash, Checkpoint, FeedEntry, Peer, RejectReason, Rejected, Replica, checkpoint_stands,
};
use crate::wire::{
    Ack, DocChange, Docs, ErrorMsg, FrameDecoder, HELD_CAPABILITY, HELD_HASHES_MAX, Hash, Held, HeldQuery,
    Hello, Message, RejectedDoc, Rewind, Skip, WireError,
};
use crate::{MESSAGE_BYTES_MAX, PROTOCOL_VERSION};

/// Bytes reserved in a batch for everything but the documents' data.
const DOC_OVERHEAD_BYTES: usize = 256;
/// Earlier refusals told again in one session (the rest in the next), and in one batch.
const TELL_PER_SESSION_MAX: usize = 1024;
const TELL_PER_BATCH_MAX: usize = 64;
/// Held queries sent in one session (each at most `HELD_HASHES_MAX` hashes): blobs past these
/// are asked about in the next session.
const HELD_QUERIES_PER_SESSION_MAX: usize = 8;

#[derive(Debug, Clone)]
pub struct SessionConfig {
    pub node_id: String,
    pub capabilities: Vec<String>,
    pub message_bytes_max: u32,
    /// Feed entries considered per batch.
    pub batch_docs_max: usize,
    /// Batches sent and not yet acknowledged.
    pub batches_in_flight_max: usize,
}

impl SessionConfig {
    pub fn new(node_id: impl Into<String>) -> SessionConfig {
        SessionConfig {
            node_id: node_id.into(),
            capabilities: Vec::new(),
            message_bytes_max: MESSAGE_BYTES_MAX,
            batch_docs_max: 128,
            batches_in_flight_max: 4,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerInfo {
    pub node_id: String,
    pub capabilities: Vec<String>,
    pub message_bytes_max: u32,
    pub feed_head: u64,
    pub incarnation: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Connected(PeerInfo),
    /// Documents from the peer applied here (and those refused).
    Received {
        docs: Vec<String>,
        rejected: Vec<Rejected>,
    },
    /// Documents the peer acknowledged.
    Delivered {
        docs: Vec<String>,
    },
    /// Documents the peer refused (other than for missing history, which is resent whole).
    RefusedByPeer(Vec<Rejected>),
    /// A local document too large for one message; it is not sent.
    TooLarge {
        doc_id: String,
        bytes: usize,
    },
    /// Neither side holds anything the other lacks (reported again after new activity).
    Synced,
    /// The checkpoint the peer held of this node's feed named history this store no longer
    /// has (it was restored from an older backup): the peer was told it is `upto_seq`.
    WentBack {
        peer_checkpoint: u64,
        upto_seq: u64,
    },
    /// The peer's store went back (restored from an older backup): the checkpoint of its feed
    /// held here was void past `upto_seq`.
    PeerWentBack {
        checkpoint: u64,
        upto_seq: u64,
    },
    PeerError {
        code: u16,
        message: String,
    },
    /// The peer told that it holds this many blobs (recorded through the replica).
    PeerHoldsBlobs(usize),
}

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("wire: {0}")]
    Wire(#[from] WireError),
    #[error("protocol violation: {0}")]
    Protocol(String),
    #[error("store: {0}")]
    Replica(String),
    #[error("peer closed the session: {code} {message}")]
    PeerClosed { code: u16, message: String },
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SessionStats {
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub messages_sent: u64,
    pub messages_received: u64,
    pub docs_sent: u64,
    pub docs_received: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    New,
    HelloSent,
    Open,
    Closed,
}

struct InFlight {
    batch: u64,
    upto_seq: u64,
    docs: Vec<(String, String, Vec<Hash>)>,
    /// Earlier refusals told again in this batch.
    told: Vec<String>,
}

pub struct Session {
    config: SessionConfig,
    peer_id: String,
    state: State,
    peer: Option<PeerInfo>,
    decoder: FrameDecoder,
    out: VecDeque<Vec<u8>>,
    events: VecDeque<Event>,
    /// Highest local feed sequence covered by what was sent.
    send_after: u64,
    /// Highest `upto_seq` the peer acknowledged.
    acked_upto: u64,
    in_flight: VecDeque<InFlight>,
    next_batch: u64,
    /// Documents the peer could not apply for lack of history: offered again, whole.
    resend: Vec<FeedEntry>,
    /// Acknowledged batches with refusals or "missing history", in order, with the documents
    /// of the latter not yet delivered whole. The peer holds its stored checkpoint before
    /// such a batch until a Skip that does not advance confirms that the refusals are recorded
    /// here and the resent documents arrived: a cut before then loses neither.
    unconfirmed: VecDeque<(u64, Vec<String>)>,
    /// Highest sequence of the peer's feed applied here.
    recv_upto: u64,
    /// The checkpoint as stored (it lags `recv_upto` while a refusal is unconfirmed).
    stored_upto: u64,
    /// Set while a refusal awaits the sender's confirmation: the stored checkpoint to keep.
    pinned: Option<u64>,
    /// `upto_seq` of batches with refusals the sender has not confirmed yet.
    /// (with the documents refused, other than for missing history).
    refused_batches: VecDeque<(u64, Vec<String>)>,
    /// Earlier refusals of the peer's documents it may have forgotten, to tell again.
    to_tell: Vec<Rejected>,
    peer_head: u64,
    /// The peer's store incarnation, from its hello.
    peer_incarnation: u64,
    /// This session's number from `Replica::begin_session`.
    number: u64,
    /// The checkpoint of the peer's feed our hello carried.
    hello_checkpoint: u64,
    /// A Docs, Skip or Rewind arrived (a Rewind may only come first).
    batch_seen: bool,
    synced_reported: bool,
    /// The blobs the peer holds were asked about (once per session, at the first sync).
    held_queried: bool,
    stats: SessionStats,
}

fn store_err(e: impl std::fmt::Display) -> SessionError {
    SessionError::Replica(e.to_string())
}

impl Session {
    /// A session with `peer_id`, the identity the transport authenticated (its certificate).
    pub fn new(config: SessionConfig, peer_id: impl Into<String>) -> Session {
        let max = config.message_bytes_max.min(MESSAGE_BYTES_MAX);
        Session {
            config,
            peer_id: peer_id.into(),
            state: State::New,
            peer: None,
            decoder: FrameDecoder::new(max),
            out: VecDeque::new(),
            events: VecDeque::new(),
            send_after: 0,
            acked_upto: 0,
            in_flight: VecDeque::new(),
            next_batch: 1,
            resend: Vec::new(),
            unconfirmed: VecDeque::new(),
            recv_upto: 0,
            stored_upto: 0,
            pinned: None,
            refused_batches: VecDeque::new(),
            to_tell: Vec::new(),
            peer_head: 0,
            peer_incarnation: 0,
            number: 0,
            hello_checkpoint: 0,
            batch_seen: false,
            synced_reported: false,
            held_queried: false,
            stats: SessionStats::default(),
        }
    }

    pub fn peer_id(&self) -> &str {
        &self.peer_id
    }

    pub fn peer(&self) -> Option<&PeerInfo> {
        self.peer.as_ref()
    }

    pub fn stats(&self) -> SessionStats {
        self.stats
    }

    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// Sends the hello. Call once, when the stream opens.
    pub fn start<R: Replica>(&mut self, replica: &mut R) -> Result<(), SessionError> {
        if self.state != State::New {
            return Err(SessionError::Protocol("session already started".into()));
        }
        let (checkpoint, number) = replica.begin_session(&self.peer_id).map_err(store_err)?;
        self.number = number;
        self.recv_upto = checkpoint.seq;
        self.stored_upto = checkpoint.seq;
        self.hello_checkpoint = checkpoint.seq;
        let incarnation = replica.incarnation().map_err(store_err)?;
        if incarnation == 0 {
            return Err(SessionError::Replica("the store has no incarnation".into()));
        }
        let hello = Hello {
            protocol_version: PROTOCOL_VERSION,
            node_id: self.config.node_id.clone(),
            capabilities: self.config.capabilities.clone(),
            message_bytes_max: self.config.message_bytes_max,
            feed_head: replica.feed_head().map_err(store_err)?,
            your_checkpoint: checkpoint.seq,
            incarnation,
            your_incarnation: checkpoint.incarnation,
            your_head: checkpoint.head,
        };
        self.send(&Message::Hello(hello))?;
        self.state = State::HelloSent;
        Ok(())
    }

    /// Feeds bytes received from the peer.
    pub fn handle_bytes<R: Replica>(&mut self, data: &[u8], replica: &mut R) -> Result<(), SessionError> {
        if self.state == State::Closed {
            return Ok(());
        }
        self.stats.bytes_received += data.len() as u64;
        self.decoder.push(data);
        loop {
            let msg = match self.decoder.next_message() {
                Ok(Some(msg)) => msg,
                Ok(None) => return Ok(()),
                Err(e) => return Err(self.fail(1, SessionError::Wire(e))),
            };
            self.stats.messages_received += 1;
            if let Err(e) = self.handle_message(msg, replica) {
                return Err(match e {
                    SessionError::Protocol(_) => self.fail(2, e),
                    SessionError::PeerClosed { .. } => {
                        self.state = State::Closed;
                        e
                    }
                    other => self.fail(3, other),
                });
            }
        }
    }

    /// The local feed grew: offer the new changes.
    pub fn local_changed<R: Replica>(&mut self, replica: &mut R) -> Result<(), SessionError> {
        self.pump(replica)?;
        self.check_synced(replica)
    }

    /// This node now holds these blobs, fetched from the peer: told to a peer that announced
    /// [`HELD_CAPABILITY`] (nothing is sent otherwise, or before the peer's hello).
    pub fn tell_held(&mut self, hashes: &[BlobHash]) -> Result<(), SessionError> {
        if self.state != State::Open || !self.peer_wants_held() {
            return Ok(());
        }
        for chunk in hashes.chunks(HELD_HASHES_MAX) {
            self.send(&Message::Held(Held { hashes: chunk.to_vec() }))?;
        }
        Ok(())
    }

    fn peer_wants_held(&self) -> bool {
        self.peer.as_ref().is_some_and(|p| p.capabilities.iter().any(|c| c == HELD_CAPABILITY))
    }

    /// The next bytes to send, in order.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.out.pop_front()
    }

    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// The peer as the replica is told of it (its incarnation is known once its hello arrived).
    fn peer_ref(&self) -> Peer<'_> {
        Peer { id: &self.peer_id, incarnation: self.peer_incarnation, session: self.number }
    }

    fn fail(&mut self, code: u16, e: SessionError) -> SessionError {
        let msg = Message::Error(ErrorMsg { code, message: e.to_string() });
        if let Ok(frame) = msg.encode(MESSAGE_BYTES_MAX) {
            self.out.push_back(frame);
        }
        self.state = State::Closed;
        e
    }

    fn send(&mut self, msg: &Message) -> Result<(), SessionError> {
        let max = self.peer.as_ref().map_or(self.config.message_bytes_max, |p| p.message_bytes_max);
        let frame = msg.encode(max.min(MESSAGE_BYTES_MAX))?;
        self.stats.bytes_sent += frame.len() as u64;
        self.stats.messages_sent += 1;
        self.out.push_back(frame);
        Ok(())
    }

    fn handle_message<R: Replica>(&mut self, msg: Message, replica: &mut R) -> Result<(), SessionError> {
        match msg {
            Message::Hello(h) => {
                if self.state != State::HelloSent || self.peer.is_some() {
                    return Err(SessionError::Protocol("unexpected hello".into()));
                }
                if h.protocol_version != PROTOCOL_VERSION {
                    return Err(SessionError::Protocol(format!(
                        "protocol version {} not supported",
                        h.protocol_version
                    )));
                }
                if h.node_id != self.peer_id {
                    return Err(SessionError::Protocol(format!(
                        "hello names {:?} but the peer authenticated as {:?}",
                        h.node_id, self.peer_id
                    )));
                }
                if h.incarnation == 0 {
                    return Err(SessionError::Protocol("hello without a store incarnation".into()));
                }
                let head = replica.feed_head().map_err(store_err)?;
                // What the peer saw of our feed, checked against our history as it is now: a
                // store restored from an older backup no longer has what the peer saw past the
                // point it went back to, and reuses those sequence numbers for new changes.
                let seen =
                    Checkpoint { incarnation: h.your_incarnation, seq: h.your_checkpoint, head: h.your_head };
                let valid = if seen.seq == 0 {
                    0
                } else {
                    let end = replica.incarnation_end(seen.incarnation).map_err(store_err)?;
                    let holds = replica.peer_holds(&self.peer_id).map_err(store_err)?;
                    checkpoint_stands(seen, end, holds, h.incarnation)
                };
                let valid = valid.min(seen.seq).min(head);
                self.peer_incarnation = h.incarnation;
                self.send_after = valid;
                replica.peer_hello(self.peer_ref(), valid).map_err(store_err)?;
                self.peer_head = h.feed_head;
                let info = PeerInfo {
                    node_id: h.node_id,
                    capabilities: h.capabilities,
                    message_bytes_max: h.message_bytes_max.clamp(64 * 1024, MESSAGE_BYTES_MAX),
                    feed_head: h.feed_head,
                    incarnation: h.incarnation,
                };
                self.peer = Some(info.clone());
                self.state = State::Open;
                self.events.push_back(Event::Connected(info));
                if valid < seen.seq {
                    // Before anything else: the peer resets its checkpoint of our feed to here.
                    self.send(&Message::Rewind(Rewind { upto_seq: valid, feed_head: head }))?;
                    self.events.push_back(Event::WentBack { peer_checkpoint: seen.seq, upto_seq: valid });
                }
                self.to_tell =
                    replica.refusals_to_tell(self.peer_ref(), TELL_PER_SESSION_MAX).map_err(store_err)?;
                self.pump(replica)?;
            }
            Message::Rewind(r) => {
                self.require_open()?;
                if self.batch_seen {
                    return Err(SessionError::Protocol("rewind after the first batch".into()));
                }
                if r.upto_seq >= self.hello_checkpoint {
                    return Err(SessionError::Protocol(format!(
                        "rewind to {} from checkpoint {}",
                        r.upto_seq, self.hello_checkpoint
                    )));
                }
                self.batch_seen = true;
                self.recv_upto = r.upto_seq;
                self.stored_upto = r.upto_seq;
                self.peer_head = self.peer_head.max(r.feed_head);
                replica.rewound(self.peer_ref(), r.upto_seq, r.feed_head).map_err(store_err)?;
                self.events.push_back(Event::PeerWentBack {
                    checkpoint: self.hello_checkpoint,
                    upto_seq: r.upto_seq,
                });
                self.synced_reported = false;
            }
            Message::Docs(d) => {
                self.require_open()?;
                self.batch_seen = true;
                let ids: Vec<String> = d.docs.iter().map(|c| c.doc_id.clone()).collect();
                self.stats.docs_received += ids.len() as u64;
                // Refusals the peer tells again: recorded before the acknowledgement says so.
                let told: Vec<Rejected> = d
                    .refused
                    .iter()
                    .map(|r| Rejected {
                        doc_id: r.doc_id.clone(),
                        reason: RejectReason::from_code(r.code),
                        detail: r.detail.clone(),
                    })
                    .filter(|r| r.reason != RejectReason::MissingDeps)
                    .collect();
                if !told.is_empty() {
                    replica.refused(self.peer_ref(), &told).map_err(store_err)?;
                    self.events.push_back(Event::RefusedByPeer(told));
                }
                // While a refusal awaits the sender's confirmation, the stored checkpoint stays
                // put (the documents still apply).
                let store_upto = self.pinned.unwrap_or(d.upto_seq);
                let rejected =
                    replica.apply(self.peer_ref(), store_upto, d.feed_head, d.docs).map_err(store_err)?;
                if !rejected.is_empty() {
                    if self.pinned.is_none() {
                        self.pinned = Some(self.stored_upto);
                    }
                    let refusals = rejected
                        .iter()
                        .filter(|r| r.reason != RejectReason::MissingDeps)
                        .map(|r| r.doc_id.clone())
                        .collect();
                    self.refused_batches.push_back((d.upto_seq, refusals));
                } else if self.pinned.is_none() {
                    self.stored_upto = self.stored_upto.max(d.upto_seq);
                }
                self.recv_upto = self.recv_upto.max(d.upto_seq);
                self.peer_head = self.peer_head.max(d.feed_head);
                let wire_rejected = rejected
                    .iter()
                    .map(|r| RejectedDoc {
                        doc_id: r.doc_id.clone(),
                        code: r.reason as u16,
                        detail: r.detail.clone(),
                    })
                    .collect();
                self.send(&Message::Ack(Ack {
                    batch: d.batch,
                    upto_seq: d.upto_seq,
                    rejected: wire_rejected,
                }))?;
                let docs = ids.into_iter().filter(|id| !rejected.iter().any(|r| &r.doc_id == id)).collect();
                self.events.push_back(Event::Received { docs, rejected });
                self.synced_reported = false;
                // Applying may have merged in local changes the peer lacks: offer them now.
                self.pump(replica)?;
            }
            Message::Skip(s) => {
                self.require_open()?;
                self.batch_seen = true;
                if s.upto_seq <= self.recv_upto && !self.refused_batches.is_empty() {
                    // A Skip that does not advance is the sender confirming it recorded the
                    // refusals of the batches up to there (see docs/PROTOCOL.md).
                    while self.refused_batches.front().is_some_and(|(u, _)| *u <= s.upto_seq) {
                        if let Some((_, docs)) = self.refused_batches.pop_front() {
                            replica.refusals_told(self.peer_ref(), &docs).map_err(store_err)?;
                        }
                    }
                    if self.refused_batches.is_empty() {
                        self.pinned = None;
                        self.stored_upto = self.stored_upto.max(self.recv_upto);
                        replica
                            .apply(self.peer_ref(), self.stored_upto, s.feed_head, Vec::new())
                            .map_err(store_err)?;
                    }
                } else {
                    let store_upto = self.pinned.unwrap_or(s.upto_seq);
                    replica.apply(self.peer_ref(), store_upto, s.feed_head, Vec::new()).map_err(store_err)?;
                    if self.pinned.is_none() {
                        self.stored_upto = self.stored_upto.max(s.upto_seq);
                    }
                }
                self.recv_upto = self.recv_upto.max(s.upto_seq);
                self.peer_head = self.peer_head.max(s.feed_head);
            }
            Message::Ack(a) => {
                self.require_open()?;
                let Some(flight) = self.in_flight.pop_front() else {
                    return Err(SessionError::Protocol("acknowledgement with nothing in flight".into()));
                };
                if flight.batch != a.batch {
                    return Err(SessionError::Protocol(format!(
                        "ack for batch {} but {} is next",
                        a.batch, flight.batch
                    )));
                }
                if a.upto_seq != flight.upto_seq {
                    return Err(SessionError::Protocol(format!(
                        "ack of batch {} names the wrong sequence",
                        a.batch
                    )));
                }
                let refused = |id: &str| a.rejected.iter().find(|r| r.doc_id == id);
                let mut delivered = Vec::new();
                let mut refused_by_peer = Vec::new();
                let mut missing_history = Vec::new();
                for (doc_id, doc_type, heads) in flight.docs {
                    match refused(&doc_id) {
                        None => delivered.push((doc_id, heads)),
                        Some(r) if RejectReason::from_code(r.code) == RejectReason::MissingDeps => {
                            replica.forget_shared(self.peer_ref(), &doc_id).map_err(store_err)?;
                            missing_history.push(doc_id.clone());
                            self.resend.push(FeedEntry { seq: 0, doc_id, doc_type });
                        }
                        Some(r) => refused_by_peer.push(Rejected {
                            doc_id,
                            reason: RejectReason::from_code(r.code),
                            detail: r.detail.clone(),
                        }),
                    }
                }
                replica.acknowledged(self.peer_ref(), &delivered).map_err(store_err)?;
                if !flight.told.is_empty() {
                    replica.refusals_told(self.peer_ref(), &flight.told).map_err(store_err)?;
                }
                for (id, _) in &delivered {
                    self.resolved(id);
                }
                if !a.rejected.is_empty() {
                    self.unconfirmed.push_back((a.upto_seq, missing_history));
                }
                self.acked_upto = self.acked_upto.max(a.upto_seq);
                // Batches are acknowledged in order, so everything up to here has arrived,
                // unless a document still has to be resent whole.
                if self.nothing_owed() {
                    replica.peer_has_upto(self.peer_ref(), self.acked_upto).map_err(store_err)?;
                    // Skips sent while this batch was in flight are covered now too.
                    if self.in_flight.is_empty() {
                        replica.peer_has_upto(self.peer_ref(), self.send_after).map_err(store_err)?;
                    }
                }
                self.events
                    .push_back(Event::Delivered { docs: delivered.into_iter().map(|(id, _)| id).collect() });
                if !refused_by_peer.is_empty() {
                    replica.refused(self.peer_ref(), &refused_by_peer).map_err(store_err)?;
                    self.events.push_back(Event::RefusedByPeer(refused_by_peer));
                }
                self.pump(replica)?;
                self.confirm(replica)?;
            }
            Message::HeldQuery(q) => {
                self.require_open()?;
                let held = replica.blobs_held(self.peer_ref(), &q.hashes).map_err(store_err)?;
                if !held.is_empty() {
                    self.send(&Message::Held(Held { hashes: held }))?;
                }
            }
            Message::Held(h) => {
                self.require_open()?;
                // Told to a node that did not ask: ignored, like an optional type it lacks.
                if self.config.capabilities.iter().any(|c| c == HELD_CAPABILITY) {
                    replica.peer_holds_blobs(self.peer_ref(), &h.hashes).map_err(store_err)?;
                    self.events.push_back(Event::PeerHoldsBlobs(h.hashes.len()));
                }
            }
            Message::Error(e) => {
                self.events.push_back(Event::PeerError { code: e.code, message: e.message.clone() });
                return Err(SessionError::PeerClosed { code: e.code, message: e.message });
            }
            Message::Unknown { .. } => {}
        }
        self.check_synced(replica)
    }

    fn require_open(&self) -> Result<(), SessionError> {
        if self.state == State::Open {
            Ok(())
        } else {
            Err(SessionError::Protocol("message before hello".into()))
        }
    }

    /// No document waits to be resent whole (or for its resending to be acknowledged).
    fn nothing_owed(&self) -> bool {
        self.resend.is_empty() && self.unconfirmed.iter().all(|(_, docs)| docs.is_empty())
    }

    /// A document resent after "missing history" was delivered (or will not be sent).
    fn resolved(&mut self, doc_id: &str) {
        for (_, docs) in &mut self.unconfirmed {
            docs.retain(|d| d != doc_id);
        }
    }

    /// The receiver kept its checkpoint before each batch with a refusal or "missing history"
    /// (so a lost acknowledgement cannot lose either). Once the refusals are recorded here and
    /// the resent documents delivered, a Skip that does not advance lets it move on.
    fn confirm<R: Replica>(&mut self, replica: &mut R) -> Result<(), SessionError> {
        let mut upto = None;
        while self.unconfirmed.front().is_some_and(|(_, docs)| docs.is_empty()) {
            upto = self.unconfirmed.pop_front().map(|(u, _)| u);
        }
        if let Some(upto_seq) = upto {
            let head = replica.feed_head().map_err(store_err)?;
            self.send(&Message::Skip(Skip { upto_seq, feed_head: head }))?;
        }
        Ok(())
    }

    /// Sends batches while the window allows and there is something the peer lacks.
    fn pump<R: Replica>(&mut self, replica: &mut R) -> Result<(), SessionError> {
        if self.state != State::Open {
            return Ok(());
        }
        let limit = self.peer.as_ref().map_or(MESSAGE_BYTES_MAX, |p| p.message_bytes_max) as usize;
        while self.in_flight.len() < self.config.batches_in_flight_max {
            let head = replica.feed_head().map_err(store_err)?;
            if self.send_after >= head && self.resend.is_empty() && self.to_tell.is_empty() {
                return Ok(());
            }
            let mut entries: Vec<FeedEntry> = std::mem::take(&mut self.resend);
            if self.send_after < head {
                entries.extend(
                    replica.feed_since(self.send_after, self.config.batch_docs_max).map_err(store_err)?,
                );
            }
            let mut docs: Vec<DocChange> = Vec::new();
            let mut bytes = 0usize;
            let mut upto = self.send_after;
            for entry in entries {
                let change = replica.outgoing(self.peer_ref(), &entry).map_err(store_err)?;
                let size_of = |c: &DocChange| c.data.len() + c.heads.len() * 33 + DOC_OVERHEAD_BYTES;
                if entry.seq == 0 && change.as_ref().is_none_or(|c| size_of(c) > limit) {
                    self.resolved(&entry.doc_id); // nothing will be resent: nothing to wait for
                }
                if let Some(change) = change {
                    let size = size_of(&change);
                    if size > limit {
                        self.events.push_back(Event::TooLarge { doc_id: change.doc_id, bytes: size });
                    } else if !docs.is_empty() && bytes + size > limit {
                        if entry.seq == 0 {
                            self.resend.push(entry);
                            continue;
                        }
                        break; // this entry and the rest go in the next batch
                    } else {
                        bytes += size;
                        docs.push(change);
                    }
                }
                upto = upto.max(entry.seq);
            }
            let advanced = upto > self.send_after;
            self.send_after = upto;
            let mut told = Vec::new();
            while told.len() < TELL_PER_BATCH_MAX
                && let Some(r) = self.to_tell.last()
            {
                let size = r.doc_id.len() + r.detail.len() + 16;
                if !(docs.is_empty() && told.is_empty()) && bytes + size > limit {
                    break;
                }
                bytes += size;
                if let Some(r) = self.to_tell.pop() {
                    told.push(RejectedDoc { doc_id: r.doc_id, code: r.reason as u16, detail: r.detail });
                }
            }
            if docs.is_empty() && told.is_empty() {
                if advanced {
                    self.send(&Message::Skip(Skip { upto_seq: upto, feed_head: head }))?;
                    if self.in_flight.is_empty() && self.nothing_owed() {
                        replica.peer_has_upto(self.peer_ref(), upto).map_err(store_err)?;
                    }
                    continue;
                }
                return Ok(());
            }
            let batch = self.next_batch;
            self.next_batch += 1;
            self.stats.docs_sent += docs.len() as u64;
            let record =
                docs.iter().map(|d| (d.doc_id.clone(), d.doc_type.clone(), d.heads.clone())).collect();
            let told_ids = told.iter().map(|r| r.doc_id.clone()).collect();
            self.send(&Message::Docs(Docs { batch, upto_seq: upto, feed_head: head, docs, refused: told }))?;
            self.in_flight.push_back(InFlight { batch, upto_seq: upto, docs: record, told: told_ids });
            self.synced_reported = false;
        }
        Ok(())
    }

    fn check_synced<R: Replica>(&mut self, replica: &mut R) -> Result<(), SessionError> {
        if self.state != State::Open || self.synced_reported {
            return Ok(());
        }
        let head = replica.feed_head().map_err(store_err)?;
        if self.in_flight.is_empty()
            && self.resend.is_empty()
            && self.to_tell.is_empty()
            && self.unconfirmed.is_empty()
            && self.pinned.is_none()
            && self.send_after >= head
            && self.recv_upto >= self.peer_head
        {
            self.synced_reported = true;
            self.events.push_back(Event::Synced);
            if !self.held_queried && self.config.capabilities.iter().any(|c| c == HELD_CAPABILITY) {
                // The peer now holds every document that references the blobs: ask which of
                // those it is not yet known to hold it has (a notice lost with a connection).
                self.held_queried = true;
                let limit = HELD_HASHES_MAX * HELD_QUERIES_PER_SESSION_MAX;
                let ask = replica.blobs_to_confirm(self.peer_ref(), limit).map_err(store_err)?;
                for chunk in ask.chunks(HELD_HASHES_MAX) {
                    self.send(&Message::HeldQuery(HeldQuery { hashes: chunk.to_vec() }))?;
                }
            }
        }
        Ok(())
    }
}
