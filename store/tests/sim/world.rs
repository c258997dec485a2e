//! The simulated world: nodes, links, a fake clock and one seeded RNG, in one thread.
//!
//! A run: links come up; for 300 to 800 steps the world randomly edits documents (cases are
//! recorded with photos: thumbnail, display copy, sometimes the original; kiosks add photos
//! later; notices sometimes carry a picture), drops links (mostly ones with bytes in flight,
//! blob slices included), restarts nodes (their stores open again: a new incarnation; blob
//! transfers resume from their verified prefixes), backs stores up and restores them from those
//! older backups, partitions sets of links, or lets the clock run and delivers what is due.
//! Every connection carries the document session and, once it reported `Synced`, blob fetch
//! rounds both ways (see `sim::blobs`). Then it heals (every link up until no bytes move, but for
//! blob retries that cannot fetch anything) and checks: every node holds exactly its scope's
//! documents, identical (heads and content) everywhere, no local change lost (but those a
//! restore took before they left their node), every blob its documents reference complete and
//! verified, and no other, every session `Synced`, every checkpoint at the peer's head and
//! valid in its history, every recorded shared head true (unless recorded under an incarnation
//! a restore cut off); then a second round of sessions must be two hellos per link. During the
//! run: no session error, no refusal but of out-of-scope documents (and "missing history" at
//! restored stores), no document stored outside its scope, no blob slice that fails to verify,
//! every `peer_has_upto` claim true when made, and only restored stores go back.
//!
//! Nodes are real stores (`sim::node`): restarts close and open the SQLite database again, and
//! a backup is a copy of the database file (`VACUUM INTO`) that a restore puts back.
//!
//! Determinism: every decision comes from `rng` (seeded) or from ordered containers
//! (`BTreeMap`, `Vec`); automerge actors are fixed per node and commits carry no timestamp, and
//! each store's incarnation comes from `rng`, so change hashes, byte counts and the whole run
//! are a function of the seed.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use automerge::ChangeHash;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use yizhan_sync_proto::wire::{FrameDecoder, Message};
use yizhan_sync_proto::{Event, MESSAGE_BYTES_MAX, RejectReason, Session, SessionConfig};

use yizhan_sync_proto::blob::{BlobHash, BlobMessage, SLICE_BYTES_DEFAULT, SenderConfig};

use super::blobs::{
    self, BlobRef, CONTROL_FRAME_BYTES_MAX, Fetched, Provider, ROUND_BLOBS_MAX, Stream, WANTS_MAX,
};
use super::net::{CHILD, Endpoint, Ev, Lane, Link, PARENT, fragments};
use super::node::{Backup as StoreBackup, Edit, SimNode};
use yizhan_store::sync::PeerPolicy;

pub const COUNTIES: [&str; 3] = ["510131", "510104", "511324"];
/// The city hubs between the counties and the province: 成都 (5101) above 蒲江 and 锦江, 南充
/// (5113) above 仪陇. Chains run kiosk → county → city → province.
pub const CITIES: [&str; 2] = ["5101", "5113"];
/// Real towns of each county (the store checks region codes): villages lie in the first two;
/// the third is where a kiosk's out-of-scope cases go.
const TOWNS: [[&str; 3]; 3] = [["001", "002", "101"], ["017", "018", "019"], ["100", "101", "102"]];
pub const KIOSKS_PER_COUNTY: usize = 10;
/// Links: one per kiosk, county hub and city hub.
pub const LINKS: usize = COUNTIES.len() * (1 + KIOSKS_PER_COUNTY) + CITIES.len();
/// Villages per county: kiosks share some (a village has two or more officers).
const VILLAGES_PER_COUNTY: usize = 6;
/// Events processed while healing before the run counts as not converging.
const HEAL_EVENTS_MAX: u64 = 200_000;
const CAPTIONS_PER_DOC_MAX: u32 = 3;

macro_rules! trace {
    ($w:expr, $($arg:tt)*) => {
        if $w.verbose {
            eprintln!("[{:>8} ms] {}", $w.now, format_args!($($arg)*));
        }
    };
}

#[derive(Debug, Clone)]
pub struct Options {
    pub seed: u64,
    pub verbose: bool,
    /// Also back up nodes' stores and restore them from those older backups (docs/PROTOCOL.md,
    /// "Restored stores").
    pub restore: bool,
}

/// Protocol cost and fault counts of one seed.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub seed: u64,
    pub steps: u32,
    pub edits: u32,
    pub docs_created: u32,
    pub out_of_scope_created: u32,
    pub link_drops: u32,
    pub restarts: u32,
    pub restores: u32,
    /// Sessions that found the peer's checkpoint named history a restore had lost.
    pub rewinds: u32,
    /// Blobs recorded (attached to documents) and their bytes; blobs received complete and
    /// verified, content bytes sent in slices, transfers resumed from a verified prefix, and
    /// wants answered "missing".
    pub blobs_created: u32,
    pub blob_bytes_created: u64,
    pub blobs_received: u32,
    pub blob_received_bytes: u64,
    pub blob_content_sent: u64,
    pub blob_resumes: u32,
    pub blob_missing: u32,
    /// Blobs held at the end, per tier (province, cities, counties, kiosks).
    pub blobs_held: [usize; 4],
    pub partitions: u32,
    pub sessions: u32,
    pub zombies: u32,
    /// Messages sent, by type byte (blob streams' too).
    pub messages: BTreeMap<u8, u64>,
    /// Messages and bytes of document sessions; bytes of blob streams.
    pub session_messages: u64,
    pub bytes_sent: u64,
    pub blob_wire_bytes: u64,
    /// Bytes in flight when their session dropped.
    pub bytes_lost: u64,
    pub docs_sent: u64,
    /// Automerge bytes inside Docs messages.
    pub doc_data_bytes: u64,
    pub refused: u64,
    /// Documents applied by receivers that changed something, and that brought nothing new.
    pub received_new: u64,
    pub received_nothing_new: u64,
    pub sim_ms: u64,
    pub heal_ms: u64,
    pub heal_events: u64,
    pub round2_messages: u64,
    pub round2_bytes: u64,
    /// Blob stream messages in the second round (wants for blobs held nowhere any more).
    pub round2_blob_messages: u64,
    /// Documents at the end, per tier (province, cities, counties, kiosks).
    pub docs_held: [usize; 4],
    /// FNV-1a over every node's feed head and documents' heads at the end: equal runs of a
    /// seed give equal fingerprints.
    pub fingerprint: u64,
    /// Findings that are not hard failures (see `World::soft`).
    pub soft: Vec<(Soft, String)>,
}

/// Wrong bookkeeping that users would see, found after healing while the documents themselves
/// converged. Reported, and a failure only in strict mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Soft {
    /// The parent refused a document, but the acknowledgement carrying the refusal was lost
    /// with its connection; the next hello's checkpoint covers the document, so the child
    /// counts it as delivered.
    RefusalLost,
    /// Everything is delivered, but `peer_has_upto` lags the feed head: a Skip sent while a
    /// batch was in flight is never recorded, so documents stay "not yet synced" until the
    /// next session.
    SentSeqLags,
}

impl Report {
    pub fn messages_total(&self) -> u64 {
        self.messages.values().sum()
    }
}

pub fn type_name(t: u8) -> &'static str {
    match t {
        0x01 => "hello",
        0x02 => "docs",
        0x03 => "ack",
        0x04 => "skip",
        0x05 => "rewind",
        0x10 => "blob want",
        0x11 => "blob data",
        0x12 => "blob missing",
        0x13 => "blob ack",
        0x7F => "error",
        _ => "other",
    }
}

struct DocInfo {
    scope: String,
    creator: usize,
    /// Index of its creation in `World::edits`.
    created_at: usize,
    /// Within the creator's scope; otherwise it must never leave the creator.
    legit: bool,
    captions: u32,
}

#[derive(Clone, Copy, Debug)]
enum Target {
    Live { link: usize, side: usize },
    Zombie { link: usize, epoch: u64, side: usize },
}

enum Op<'a> {
    Start,
    Bytes(&'a [u8]),
    Changed,
}

struct Zombie {
    ep: Endpoint,
    pending: usize,
}

struct Backup {
    store: StoreBackup,
    /// `World::edits.len()` when it was taken.
    edits_len: usize,
}

pub struct World {
    /// The nodes' stores (removed when the world is dropped), and their clock.
    _dir: tempfile::TempDir,
    clock: Arc<AtomicI64>,
    seed: u64,
    verbose: bool,
    restore_mode: bool,
    backups: BTreeMap<usize, Backup>,
    /// Store generation per node (restores so far).
    generation: Vec<u32>,
    /// Incarnations that stores restored from a backup opened with: the incarnation before
    /// one of these in a store's list lost its end.
    restore_incarnations: BTreeSet<u64>,
    /// Every blob recorded: its creator, and the index in `edits` of the change that attached it.
    blob_origin: BTreeMap<BlobHash, (usize, usize)>,
    /// Partial blobs a transfer is writing, per node (another transfer waits, as the store's
    /// partial files are opened by one transfer at a time).
    partials_in_use: BTreeSet<(usize, BlobHash)>,
    /// Per node: content bytes a server keeps unacknowledged per stream.
    blob_in_flight: Vec<u64>,
    /// Indices into `edits` made at a node after the backup it was later restored from:
    /// they may be lost (if they had not left the node yet).
    maybe_lost: BTreeSet<usize>,
    rng: StdRng,
    now: u64,
    nodes: Vec<SimNode>,
    index: BTreeMap<String, usize>,
    /// Per node: (link, side of that node on the link).
    node_links: Vec<Vec<(usize, usize)>>,
    links: Vec<Link>,
    queue: BTreeMap<(u64, u64), Ev>,
    queue_seq: u64,
    zombies: BTreeMap<(usize, u64, usize), Zombie>,
    notify_pending: Vec<bool>,
    configs: Vec<SessionConfig>,
    docs: BTreeMap<String, DocInfo>,
    /// Every local change: (doc, node, hash). Each must end up in every holder.
    edits: Vec<(String, usize, ChangeHash)>,
    doc_counter: Vec<u32>,
    /// Per node and peer: the feed sequence up to which `peer_has_upto` claims were verified.
    verified: BTreeMap<(usize, String), u64>,
    partition_generation: u64,
    healing: bool,
    report: Report,
}

fn village_scope(county: &str, v: usize) -> String {
    let c = COUNTIES.iter().position(|c| *c == county).unwrap();
    format!("{county}{}{:03}", TOWNS[c][v / 3], v % 3 + 1)
}

/// The node index of county `c`'s hub, and of its kiosk `k`.
fn county_hub(c: usize) -> usize {
    1 + c * (KIOSKS_PER_COUNTY + 1)
}

fn city_hub(city: usize) -> usize {
    1 + COUNTIES.len() * (KIOSKS_PER_COUNTY + 1) + city
}

/// The tier a node's scope puts it in: province, cities, counties, kiosks.
fn tier(scope: &str) -> usize {
    match scope.len() {
        2 => 0,
        4 => 1,
        6 => 2,
        _ => 3,
    }
}

impl World {
    pub fn new(opts: &Options) -> World {
        let mut rng = StdRng::seed_from_u64(opts.seed);
        // A quarter of the seeds run over very slow village links, so transfers are long and
        // drops cut them.
        let slow = rng.random_bool(0.25);
        let mut nodes = Vec::new();
        let mut links = Vec::new();
        // Every store on its own SQLite file: in memory-backed /dev/shm where there is one.
        let shm = std::path::Path::new("/dev/shm");
        let dir = if shm.is_dir() {
            tempfile::Builder::new().prefix("yizhan-sim").tempdir_in(shm)
        } else {
            tempfile::Builder::new().prefix("yizhan-sim").tempdir()
        }
        .unwrap();
        let clock = Arc::new(AtomicI64::new(0));
        let root = dir.path();
        nodes.push(SimNode::new(0, "province-51", "51", rng.random_range(1..=u64::MAX), root, &clock));
        for county in COUNTIES {
            let hub = nodes.len();
            nodes.push(SimNode::new(
                hub,
                &format!("county-{county}"),
                county,
                rng.random_range(1..=u64::MAX),
                root,
                &clock,
            ));
            let city = CITIES.iter().position(|c| county.starts_with(c)).unwrap();
            links.push(new_link(&mut rng, hub, city_hub(city), true, slow));
            for k in 0..KIOSKS_PER_COUNTY {
                let i = nodes.len();
                let scope = village_scope(county, k % VILLAGES_PER_COUNTY);
                let incarnation = rng.random_range(1..=u64::MAX);
                nodes.push(SimNode::new(
                    i,
                    &format!("kiosk-{county}-{k:02}"),
                    &scope,
                    incarnation,
                    root,
                    &clock,
                ));
                links.push(new_link(&mut rng, i, hub, false, slow));
            }
        }
        for city in CITIES {
            let i = nodes.len();
            nodes.push(SimNode::new(
                i,
                &format!("city-{city}"),
                city,
                rng.random_range(1..=u64::MAX),
                root,
                &clock,
            ));
            links.push(new_link(&mut rng, i, 0, true, slow));
        }
        let mut node_links = vec![Vec::new(); nodes.len()];
        for (l, link) in links.iter().enumerate() {
            node_links[link.child].push((l, CHILD));
            node_links[link.parent].push((l, PARENT));
            let (child_id, child_scope) = (nodes[link.child].id.clone(), nodes[link.child].scope.clone());
            let parent_id = nodes[link.parent].id.clone();
            // The store's policies: a node sends its parent everything it holds and accepts from
            // it what lies in its own scope; a parent sends and accepts only the child's scope.
            let child_policy = PeerPolicy::parent(&parent_id, &child_scope);
            let parent_policy = if child_scope.len() <= 6 {
                PeerPolicy::child_hub(&child_id, &child_scope)
            } else {
                PeerPolicy::child(&child_id, &child_scope)
            };
            nodes[link.child].policies.insert(parent_id, child_policy);
            nodes[link.parent].policies.insert(child_id, parent_policy);
        }
        // Session tuning varies per node and seed so small batches, short windows and the
        // size-based split are all exercised.
        let configs = nodes
            .iter()
            .map(|n| {
                let mut c = SessionConfig::new(n.id.clone());
                c.capabilities.push(yizhan_sync_proto::blob::CAPABILITY.to_string());
                c.batch_docs_max = *[1, 2, 3, 8, 16, 128].choose(&mut rng).unwrap();
                c.batches_in_flight_max = rng.random_range(1..=4);
                c.message_bytes_max = if rng.random_bool(0.5) { 64 * 1024 } else { MESSAGE_BYTES_MAX };
                c
            })
            .collect();
        // Blob tuning: the province may leave originals below it (as `originals_stay_below_a_
        // province_that_does_not_fetch_them`); servers keep the default window or a few slices.
        nodes[0].fetch_originals = rng.random_bool(0.5);
        let blob_in_flight = nodes
            .iter()
            .map(|_| {
                if rng.random_bool(0.5) {
                    yizhan_sync_proto::blob::IN_FLIGHT_BYTES_DEFAULT
                } else {
                    48 * 1024
                }
            })
            .collect();
        let index = nodes.iter().enumerate().map(|(i, n)| (n.id.clone(), i)).collect();
        let n = nodes.len();
        World {
            _dir: dir,
            clock,
            seed: opts.seed,
            verbose: opts.verbose,
            restore_mode: opts.restore,
            backups: BTreeMap::new(),
            generation: vec![0; n],
            restore_incarnations: BTreeSet::new(),
            blob_origin: BTreeMap::new(),
            partials_in_use: BTreeSet::new(),
            blob_in_flight,
            maybe_lost: BTreeSet::new(),
            rng,
            now: 0,
            nodes,
            index,
            node_links,
            links,
            queue: BTreeMap::new(),
            queue_seq: 0,
            zombies: BTreeMap::new(),
            notify_pending: vec![false; n],
            configs,
            docs: BTreeMap::new(),
            edits: Vec::new(),
            doc_counter: vec![0; n],
            verified: BTreeMap::new(),
            partition_generation: 0,
            healing: false,
            report: Report { seed: opts.seed, ..Report::default() },
        }
    }

    #[track_caller]
    fn fail(&self, msg: impl std::fmt::Display) -> ! {
        panic!("simulation seed {} failed at t={} ms: {msg}", self.seed, self.now);
    }

    /// A finding that does not stop the run: recorded in the report (and fails the test only
    /// in strict mode).
    fn soft(&mut self, kind: Soft, msg: String) {
        trace!(self, "SOFT FINDING ({kind:?}): {msg}");
        self.report.soft.push((kind, msg));
    }

    fn schedule(&mut self, at: u64, ev: Ev) -> (u64, u64) {
        self.queue_seq += 1;
        let key = (at, self.queue_seq);
        self.queue.insert(key, ev);
        key
    }

    fn notify(&mut self, node: usize) {
        if !self.notify_pending[node] {
            self.notify_pending[node] = true;
            let at = self.now + self.rng.random_range(0..=30);
            self.schedule(at, Ev::Notify { node });
        }
    }

    // ---- sessions -------------------------------------------------------------------------

    /// Runs one session call, then sends what it produced, checks its events and the
    /// replica's claims, and tells the node's other sessions if its store changed.
    fn call(&mut self, target: Target, op: Op<'_>) {
        let (link_idx, side) = match target {
            Target::Live { link, side } | Target::Zombie { link, side, .. } => (link, side),
        };
        let n = self.links[link_idx].node(side);
        let seq_before = self.nodes[n].seq();
        let peer_id = self.nodes[self.links[link_idx].node(1 - side)].id.clone();
        let now = self.now;
        let (result, frames, events) = {
            let mut replica = self.nodes[n].replica(&peer_id, now);
            let node = &mut replica;
            let ep = match target {
                Target::Live { link, side } => match self.links[link].live.as_mut() {
                    Some(eps) => &mut eps[side],
                    None => return,
                },
                Target::Zombie { link, epoch, side } => match self.zombies.get_mut(&(link, epoch, side)) {
                    Some(z) => &mut z.ep,
                    None => return,
                },
            };
            let result = match op {
                Op::Start => ep.session.start(node),
                Op::Bytes(b) => ep.session.handle_bytes(b, node),
                Op::Changed => ep.session.local_changed(node),
            };
            let frames: Vec<Vec<u8>> = std::iter::from_fn(|| ep.session.poll_transmit()).collect();
            let events: Vec<Event> = std::iter::from_fn(|| ep.session.poll_event()).collect();
            (result, frames, events)
        };
        let who = format!(
            "{} (session with {}{})",
            self.nodes[n].id,
            self.nodes[self.links[link_idx].node(1 - side)].id,
            if matches!(target, Target::Zombie { .. }) { ", half-open" } else { "" }
        );
        if let Err(e) = result {
            self.fail(format!("{who}: session error: {e}"));
        }
        for event in events {
            self.check_event(target, n, link_idx, side, &who, event);
        }
        if let Target::Live { link, side } = target {
            self.transmit(link, side, Lane::Session, frames);
        } else if !frames.is_empty() {
            trace!(self, "{who}: {} frame(s) into a dead connection", frames.len());
        }
        self.check_replica(n);
        if self.nodes[n].seq() != seq_before {
            self.notify(n);
        }
        // Documents first: a side starts fetching blobs once its session reported Synced.
        if let Target::Live { link, side } = target
            && self.links[link].live.as_ref().is_some_and(|e| e[side].synced)
            && !self.links[link].blob[side].synced_once
        {
            self.links[link].blob[side].synced_once = true;
            self.fetch_round(link, side);
        }
    }

    fn endpoint(&mut self, target: Target) -> Option<&mut Endpoint> {
        match target {
            Target::Live { link, side } => self.links[link].live.as_mut().map(|e| &mut e[side]),
            Target::Zombie { link, epoch, side } => {
                self.zombies.get_mut(&(link, epoch, side)).map(|z| &mut z.ep)
            }
        }
    }

    fn check_event(&mut self, target: Target, n: usize, link: usize, side: usize, who: &str, event: Event) {
        let peer = self.links[link].node(1 - side);
        let set_synced = |w: &mut World, v: bool| {
            if let Some(ep) = w.endpoint(target) {
                ep.synced = v;
            }
        };
        match &event {
            Event::Connected(_) => {}
            Event::Synced => set_synced(self, true),
            // Only a store restored from a backup goes back, and only then does a peer hold a
            // checkpoint of it that names history it lost.
            Event::WentBack { peer_checkpoint, upto_seq } => {
                if self.generation[n] == 0 {
                    self.fail(format!("{who}: went back from {peer_checkpoint} to {upto_seq} unrestored"));
                }
                self.report.rewinds += 1;
                trace!(self, "{who}: the peer's checkpoint {peer_checkpoint} is void, back to {upto_seq}");
            }
            Event::PeerWentBack { checkpoint, upto_seq } => {
                set_synced(self, false);
                if self.generation[peer] == 0 {
                    self.fail(format!("{who}: peer went back from {checkpoint} to {upto_seq} unrestored"));
                }
            }
            Event::Received { docs, rejected } => {
                set_synced(self, false);
                for r in rejected {
                    let info = self.docs.get(&r.doc_id);
                    // Only a kiosk's own out-of-scope creation may be refused, by its parent. A
                    // restored store lacks history its peers think it has: "missing history"
                    // is then the designed recovery (the sender resends the whole document).
                    let expected = (r.reason == RejectReason::OutOfScope
                        && info.is_some_and(|i| !i.legit && i.creator == peer)
                        && side == PARENT)
                        || (r.reason == RejectReason::MissingDeps && self.generation[n] > 0);
                    if !expected {
                        self.fail(format!(
                            "{who}: refused {} from {}: {:?} {}",
                            r.doc_id, self.nodes[peer].id, r.reason, r.detail
                        ));
                    }
                    self.report.refused += 1;
                }
                trace!(
                    self,
                    "{who}: received {docs:?} refused {:?}",
                    rejected.iter().map(|r| (&r.doc_id, r.reason)).collect::<Vec<_>>()
                );
            }
            Event::Delivered { docs } => {
                set_synced(self, false);
                trace!(self, "{who}: delivered {docs:?}");
            }
            Event::RefusedByPeer(refused) => {
                set_synced(self, false);
                for r in refused {
                    let ok = r.reason == RejectReason::OutOfScope
                        && self.docs.get(&r.doc_id).is_some_and(|i| !i.legit && i.creator == n);
                    if !ok {
                        self.fail(format!("{who}: peer refused {}: {:?} {}", r.doc_id, r.reason, r.detail));
                    }
                }
                trace!(
                    self,
                    "{who}: refused by peer {:?}",
                    refused.iter().map(|r| &r.doc_id).collect::<Vec<_>>()
                );
            }
            Event::TooLarge { doc_id, bytes } => {
                self.fail(format!("{who}: {doc_id} too large ({bytes} bytes)"))
            }
            Event::PeerError { code, message } => self.fail(format!("{who}: peer error {code}: {message}")),
        }
        if matches!(event, Event::Synced | Event::Connected(_)) {
            trace!(self, "{who}: {event:?}");
        }
    }

    /// Schedules frames from `side` of `link` for delivery to the other side on `lane`.
    fn transmit(&mut self, link: usize, side: usize, lane: Lane, frames: Vec<Vec<u8>>) {
        let to = 1 - side;
        let li = lane.index();
        for frame in frames {
            let t = frame[0];
            *self.report.messages.entry(t).or_default() += 1;
            if lane == Lane::Session {
                self.report.session_messages += 1;
                self.report.bytes_sent += frame.len() as u64;
                self.links[link].round_msgs[side].push(t);
            } else {
                self.report.blob_wire_bytes += frame.len() as u64;
            }
            if lane != Lane::Session {
                if self.verbose {
                    let desc = match yizhan_sync_proto::blob::decode_frame(&frame, u32::MAX) {
                        Ok(Some((BlobMessage::Data(d), _))) => format!(
                            "blob data {} at {} +{}",
                            &yizhan_sync_proto::blob::to_hex(&d.hash)[..12],
                            d.offset,
                            d.len
                        ),
                        Ok(Some((m, _))) => format!("{m:?}"),
                        other => format!("{other:?}"),
                    };
                    let l = &self.links[link];
                    trace!(
                        self,
                        "{} -> {} ({lane:?}): {} bytes: {desc}",
                        self.nodes[l.node(side)].id,
                        self.nodes[l.node(to)].id,
                        frame.len()
                    );
                }
            } else if t == 0x02 {
                let mut dec = FrameDecoder::new(MESSAGE_BYTES_MAX);
                dec.push(&frame);
                if let Ok(Some(Message::Docs(d))) = dec.next_message() {
                    self.report.docs_sent += d.docs.len() as u64;
                    self.report.doc_data_bytes += d.docs.iter().map(|c| c.data.len() as u64).sum::<u64>();
                }
            }
            if self.verbose && lane == Lane::Session {
                let mut dec = FrameDecoder::new(MESSAGE_BYTES_MAX);
                dec.push(&frame);
                let desc = match dec.next_message() {
                    Ok(Some(Message::Docs(d))) => format!(
                        "docs batch {} upto {} head {} {:?}",
                        d.batch,
                        d.upto_seq,
                        d.feed_head,
                        d.docs.iter().map(|c| (c.doc_id.as_str(), c.data.len())).collect::<Vec<_>>()
                    ),
                    Ok(Some(m)) => format!("{m:?}"),
                    other => format!("{other:?}"),
                };
                let l = &self.links[link];
                trace!(
                    self,
                    "{} -> {}: {} bytes: {desc}",
                    self.nodes[l.node(side)].id,
                    self.nodes[l.node(to)].id,
                    frame.len()
                );
            }
            // A frame may leave in pieces at different times (it is still delivered in order).
            let pieces = if frame.len() > 8 && self.rng.random_bool(0.2) {
                let cut = self.rng.random_range(1..frame.len());
                vec![frame[..cut].to_vec(), frame[cut..].to_vec()]
            } else {
                vec![frame]
            };
            for piece in pieces {
                let l = &self.links[link];
                let (latency, jitter, bw) = (l.latency_ms, l.jitter_ms, l.bytes_per_ms);
                let at = (self.now + latency + self.rng.random_range(0..=jitter)).max(l.last_at[li][to])
                    + piece.len() as u64 / bw;
                let coalesce = l.last_key[li][to].filter(|k| k.0 == at && self.rng.random_bool(0.7));
                if let Some(key) = coalesce
                    && let Some(Ev::Deliver { bytes, lane: same, .. }) = self.queue.get_mut(&key)
                    && *same == lane
                {
                    bytes.extend_from_slice(&piece);
                    continue;
                }
                let epoch = self.links[link].epoch;
                let key = self.schedule(at, Ev::Deliver { link, epoch, to, lane, bytes: piece });
                let l = &mut self.links[link];
                l.last_at[li][to] = at;
                l.last_key[li][to] = Some(key);
                if lane == Lane::Session {
                    l.pending[to] += 1;
                } else {
                    l.blob_pending[to] += 1;
                }
            }
        }
    }

    fn connect(&mut self, link: usize) {
        if self.links[link].is_up() {
            return;
        }
        let (c, p) = (self.links[link].child, self.links[link].parent);
        let child_session = Session::new(self.configs[c].clone(), self.nodes[p].id.clone());
        let parent_session = Session::new(self.configs[p].clone(), self.nodes[c].id.clone());
        let l = &mut self.links[link];
        l.epoch += 1;
        l.live = Some(Box::new([Endpoint::new(child_session), Endpoint::new(parent_session)]));
        l.last_at = [[self.now, self.now], [self.now, self.now]];
        l.last_key = [[None, None], [None, None]];
        l.pending = [0, 0];
        l.blob_pending = [0, 0];
        l.blob = Default::default();
        l.round_msgs = [Vec::new(), Vec::new()];
        self.report.sessions += 1;
        trace!(
            self,
            "link {} up: {} <-> {} (epoch {})",
            link,
            self.nodes[c].id,
            self.nodes[p].id,
            self.links[link].epoch
        );
        let first = if self.rng.random_bool(0.5) { CHILD } else { PARENT };
        for side in [first, 1 - first] {
            self.call(Target::Live { link, side }, Op::Start);
        }
    }

    fn disconnect(&mut self, link: usize, why: &str) {
        self.disconnect_dead(link, why, None);
    }

    /// Drops the link; `dead` is a node whose process stopped (it keeps no half-open side).
    fn disconnect_dead(&mut self, link: usize, why: &str, dead: Option<usize>) {
        let Some(eps) = self.links[link].live.take() else { return };
        self.report.link_drops += 1;
        // Blob streams die with the connection; what their sinks verified stays.
        for f in [CHILD, PARENT] {
            self.end_stream(link, f);
        }
        let epoch = self.links[link].epoch;
        let pending = self.links[link].pending;
        let [child_ep, parent_ep] = *eps;
        for (side, ep) in [(CHILD, child_ep), (PARENT, parent_ep)] {
            // Half-open: this side has not noticed yet and still reads what was on its way.
            let alive = dead != Some(self.links[link].node(side));
            if alive && pending[side] > 0 && !self.healing && self.rng.random_bool(0.3) {
                self.report.zombies += 1;
                self.zombies.insert((link, epoch, side), Zombie { ep, pending: pending[side] });
            }
        }
        trace!(
            self,
            "link {} down ({why}): {} <-> {} (in flight: {:?})",
            link,
            self.nodes[self.links[link].child].id,
            self.nodes[self.links[link].parent].id,
            pending
        );
        self.schedule_reconnect(link);
    }

    /// The node's process stops: its connections drop (only its peers may keep a half-open
    /// side), and the changes it had not yet announced to its sessions die with it.
    fn stop(&mut self, node: usize, why: &str) {
        let links: Vec<usize> = self.node_links[node].iter().map(|(l, _)| *l).collect();
        for l in links {
            self.disconnect_dead(l, why, Some(node));
        }
        let dead: Vec<(usize, u64, usize)> =
            self.zombies.keys().filter(|(l, _, s)| self.links[*l].node(*s) == node).copied().collect();
        for key in dead {
            self.zombies.remove(&key);
        }
    }

    fn schedule_reconnect(&mut self, link: usize) {
        let l = &self.links[link];
        if self.healing || l.reconnecting || l.blocked > 0 || l.is_up() {
            return;
        }
        self.links[link].reconnecting = true;
        let at = self.now + self.rng.random_range(50..=4000);
        self.schedule(at, Ev::Reconnect { link });
    }

    // ---- blobs ----------------------------------------------------------------------------

    /// Side `f` of `link` looks for blobs it lacks that documents within what it accepts from
    /// the peer reference, and fetches them on a new stream (unless one is open or nothing is
    /// due; then it wakes when the next retry is).
    fn fetch_round(&mut self, link: usize, f: usize) {
        let l = &self.links[link];
        if !l.is_up() || !l.blob[f].synced_once || l.blob[f].stream.is_some() {
            return;
        }
        // Only from a peer that announced the blob protocol in its hello.
        let serves = l
            .live
            .as_ref()
            .and_then(|e| e[f].session.peer())
            .is_some_and(|p| p.capabilities.iter().any(|c| c == yizhan_sync_proto::blob::CAPABILITY));
        if !serves {
            return;
        }
        let (n, p) = (l.node(f), l.node(1 - f));
        let accept = self.nodes[n].policies[&self.nodes[p].id].accept_scope.clone();
        let now = self.now;
        let retry = &self.links[link].blob[f].retry;
        let list: VecDeque<BlobRef> = self.nodes[n]
            .missing_blobs(&accept)
            .into_iter()
            .filter(|r| !retry.blocked(&r.hash, now))
            .take(ROUND_BLOBS_MAX)
            .collect();
        if list.is_empty() {
            if let Some(due) = retry.next_due(now)
                && self.links[link].blob[f].wake_at.is_none_or(|w| w > due)
            {
                self.links[link].blob[f].wake_at = Some(due);
                let epoch = self.links[link].epoch;
                self.schedule(due, Ev::FetchWake { link, epoch, side: f });
            }
            return;
        }
        // The server cuts slices to fit the fetcher's message limit and about a second of the
        // link, as `net/src/blobs.rs` does under a send cap.
        let fetcher_max = self.configs[n].message_bytes_max.clamp(64 * 1024, MESSAGE_BYTES_MAX);
        let config = SenderConfig {
            slice_bytes: blobs::slice_bytes_for(
                fetcher_max,
                SLICE_BYTES_DEFAULT,
                self.links[link].bytes_per_ms * 1000,
            ),
            in_flight_bytes_max: self.blob_in_flight[p],
            ..SenderConfig::default()
        };
        let bl = &mut self.links[link].blob[f];
        bl.next_stream += 1;
        let id = bl.next_stream;
        trace!(
            self,
            "{} fetches {} blob(s) from {} (stream {id})",
            self.nodes[n].id,
            list.len(),
            self.nodes[p].id
        );
        self.links[link].blob[f].stream = Some(Stream::new(id, list, config, fetcher_max));
        self.more_wants(link, f);
    }

    /// Keeps `WANTS_MAX` wants outstanding on side `f`'s stream; ends the stream (and starts the
    /// next round) when everything was answered.
    fn more_wants(&mut self, link: usize, f: usize) {
        let n = self.links[link].node(f);
        let now = self.now;
        let Some(mut stream) = self.links[link].blob[f].stream.take() else { return };
        let mut frames = Vec::new();
        while stream.outstanding.len() < WANTS_MAX
            && let Some(info) = stream.queue.pop_front()
        {
            if self.nodes[n].side.blobs.contains_key(&info.hash) {
                continue; // received meanwhile on another connection
            }
            if !self.partials_in_use.insert((n, info.hash)) {
                // Another transfer holds the partial blob: try again soon.
                self.links[link].blob[f].retry.defer(&info.hash, 1000, now);
                continue;
            }
            let verified = self.nodes[n].side.partials.get(&info.hash).map_or(0, |p| p.len() as u64);
            if verified > 0 {
                self.report.blob_resumes += 1;
            }
            let msg = blobs::want(&mut stream, info, verified);
            frames.push(msg.encode(CONTROL_FRAME_BYTES_MAX).unwrap());
        }
        let id = stream.id;
        let done = stream.outstanding.is_empty() && stream.queue.is_empty();
        if !done {
            self.links[link].blob[f].stream = Some(stream);
        }
        self.transmit(link, f, Lane::Blob { fetcher: f, stream: id }, frames);
        if done {
            self.fetch_round(link, f);
        }
    }

    /// The stream of fetching side `f` ends (its connection dropped): the partial blobs it was
    /// writing are free again.
    fn end_stream(&mut self, link: usize, f: usize) {
        let n = self.links[link].node(f);
        if let Some(stream) = self.links[link].blob[f].stream.take() {
            for w in &stream.outstanding {
                self.partials_in_use.remove(&(n, *w.receiver.hash()));
            }
        }
    }

    /// Bytes of blob stream `id` (fetched by side `fetcher`) arrive at side `to`.
    fn blob_bytes(&mut self, link: usize, to: usize, fetcher: usize, id: u64, bytes: &[u8]) {
        let Some(mut stream) = self.links[link].blob[fetcher].stream.take() else {
            self.report.bytes_lost += bytes.len() as u64;
            return;
        };
        if stream.id != id {
            self.links[link].blob[fetcher].stream = Some(stream);
            self.report.bytes_lost += bytes.len() as u64;
            return;
        }
        let lane = Lane::Blob { fetcher, stream: id };
        let node = self.links[link].node(to);
        let who = format!(
            "{} (blob stream {id} with {})",
            self.nodes[node].id,
            self.nodes[self.links[link].node(1 - to)].id
        );
        let mut frames = Vec::new();
        if to == fetcher {
            stream.at_fetcher.extend_from_slice(bytes);
            let msgs = blobs::take_frames(&mut stream.at_fetcher, MESSAGE_BYTES_MAX)
                .unwrap_or_else(|e| self.fail(format!("{who}: {e}")));
            let mut completed = Vec::new();
            for msg in msgs {
                let hash = *msg.hash();
                let partial = self.nodes[node].side.partials.entry(hash).or_default();
                match blobs::fetched(&mut stream, &msg, partial) {
                    Ok(Fetched::Ack(ack)) => frames.push(ack.encode(CONTROL_FRAME_BYTES_MAX).unwrap()),
                    Ok(Fetched::Complete(ack, info)) => {
                        frames.push(ack.encode(CONTROL_FRAME_BYTES_MAX).unwrap());
                        completed.push(info);
                    }
                    Ok(Fetched::Missing(hash)) => {
                        self.report.blob_missing += 1;
                        self.partials_in_use.remove(&(node, hash));
                        self.links[link].blob[fetcher].retry.fail(&hash, self.now);
                    }
                    Err(e) => self.fail(format!("{who}: {e}")),
                }
            }
            for info in completed {
                self.partials_in_use.remove(&(node, info.hash));
                let content = self.nodes[node].side.partials.remove(&info.hash).unwrap_or_default();
                if let Err(e) = self.nodes[node].finish_blob(&info, content) {
                    self.fail(format!("{who}: {e}"));
                }
                self.links[link].blob[fetcher].retry.clear(&info.hash);
                self.report.blobs_received += 1;
                self.report.blob_received_bytes += info.bytes;
                trace!(
                    self,
                    "{who}: received blob {} ({} {} bytes)",
                    &yizhan_sync_proto::blob::to_hex(&info.hash)[..12],
                    info.role,
                    info.bytes
                );
            }
            self.links[link].blob[fetcher].stream = Some(stream);
            self.transmit(link, to, lane, frames);
            self.more_wants(link, fetcher);
        } else {
            stream.at_server.extend_from_slice(bytes);
            let msgs = blobs::take_frames(&mut stream.at_server, CONTROL_FRAME_BYTES_MAX)
                .unwrap_or_else(|e| self.fail(format!("{who}: {e}")));
            for msg in msgs {
                match stream.server.handle_message(msg) {
                    Ok(true) => {}
                    Ok(false) => self.fail(format!("{who}: the fetcher sent data")),
                    Err(e) => self.fail(format!("{who}: {e}")),
                }
            }
            let peer_id = self.nodes[self.links[link].node(fetcher)].id.clone();
            let send_scope = self.nodes[node].policies[&peer_id].send_scope.clone();
            let server_node = &self.nodes[node];
            let allowed = |h: &BlobHash| server_node.blob_allowed(h, &send_scope);
            let mut provider = Provider { blobs: &server_node.side.blobs, allowed: &allowed };
            loop {
                match stream.server.poll_transmit(&mut provider) {
                    Ok(Some(msg)) => {
                        if let BlobMessage::Data(d) = &msg {
                            self.report.blob_content_sent += u64::from(d.len);
                        }
                        match msg.encode(stream.fetcher_max) {
                            Ok(frame) => frames.push(frame),
                            Err(e) => self.fail(format!("{who}: {e}")),
                        }
                    }
                    Ok(None) => break,
                    Err(e) => self.fail(format!("{who}: cannot serve: {e}")),
                }
            }
            self.links[link].blob[fetcher].stream = Some(stream);
            self.transmit(link, to, lane, frames);
        }
    }

    /// Whether a pending retry could fetch anything: the peer holds, and may send, a blob the
    /// fetching side still lacks.
    fn retry_useful(&self, link: usize, f: usize) -> bool {
        let l = &self.links[link];
        if !l.is_up() {
            return false;
        }
        let (n, p) = (l.node(f), l.node(1 - f));
        let accept = &self.nodes[n].policies[&self.nodes[p].id].accept_scope;
        let send = &self.nodes[p].policies[&self.nodes[n].id].send_scope;
        self.nodes[n].missing_blobs(accept).iter().any(|r| {
            self.nodes[p].side.blobs.contains_key(&r.hash) && self.nodes[p].blob_allowed(&r.hash, send)
        })
    }

    // ---- events ---------------------------------------------------------------------------

    fn process(&mut self, ev: Ev) {
        self.clock.store(self.now as i64, Ordering::Relaxed);
        match ev {
            Ev::Deliver { link, epoch, to, lane: Lane::Blob { fetcher, stream }, bytes } => {
                let l = &mut self.links[link];
                if l.epoch == epoch && l.is_up() {
                    l.blob_pending[to] -= 1;
                    self.blob_bytes(link, to, fetcher, stream, &bytes);
                } else {
                    self.report.bytes_lost += bytes.len() as u64;
                }
            }
            Ev::FetchWake { link, epoch, side } => {
                if self.links[link].epoch == epoch && self.links[link].is_up() {
                    self.links[link].blob[side].wake_at = None;
                    self.fetch_round(link, side);
                }
            }
            Ev::Deliver { link, epoch, to, lane: Lane::Session, bytes } => {
                let l = &mut self.links[link];
                let target = if l.epoch == epoch && l.is_up() {
                    l.pending[to] -= 1;
                    Target::Live { link, side: to }
                } else if let Some(z) = self.zombies.get_mut(&(link, epoch, to)) {
                    z.pending -= 1;
                    Target::Zombie { link, epoch, side: to }
                } else {
                    self.report.bytes_lost += bytes.len() as u64;
                    return;
                };
                for range in fragments(&bytes, &mut self.rng) {
                    self.call(target, Op::Bytes(&bytes[range]));
                }
                if let Target::Zombie { link, epoch, side } = target
                    && self.zombies.get(&(link, epoch, side)).is_some_and(|z| z.pending == 0)
                {
                    self.zombies.remove(&(link, epoch, side));
                }
            }
            Ev::Notify { node } => {
                self.notify_pending[node] = false;
                let mut targets: Vec<Target> = self.node_links[node]
                    .iter()
                    .filter(|(l, _)| self.links[*l].is_up())
                    .map(|&(link, side)| Target::Live { link, side })
                    .collect();
                targets.extend(
                    self.zombies
                        .keys()
                        .filter(|(l, _, s)| self.links[*l].node(*s) == node)
                        .map(|&(link, epoch, side)| Target::Zombie { link, epoch, side }),
                );
                for t in targets {
                    self.call(t, Op::Changed);
                }
                // New documents may reference blobs: another fetch round.
                let live: Vec<(usize, usize)> =
                    self.node_links[node].iter().copied().filter(|(l, _)| self.links[*l].is_up()).collect();
                for (link, side) in live {
                    self.fetch_round(link, side);
                }
            }
            Ev::Reconnect { link } => {
                self.links[link].reconnecting = false;
                if self.links[link].blocked == 0 {
                    self.connect(link);
                }
            }
            Ev::PartitionEnd { links, generation } => {
                if generation != self.partition_generation {
                    return; // healing cleared every partition already
                }
                for l in links {
                    self.links[l].blocked -= 1;
                    self.schedule_reconnect(l);
                }
            }
        }
    }

    /// Processes everything due up to `until`, then sets the clock there.
    fn advance(&mut self, until: u64) {
        while let Some(entry) = self.queue.first_entry() {
            if entry.key().0 > until {
                break;
            }
            let ((at, _), ev) = entry.remove_entry();
            self.now = self.now.max(at);
            self.process(ev);
        }
        self.now = self.now.max(until);
    }

    // ---- workload -------------------------------------------------------------------------

    fn random_text(&mut self, chars: usize) -> String {
        (0..chars).map(|_| char::from_u32(self.rng.random_range(0x4E00..0x9FA5)).unwrap_or('字')).collect()
    }

    fn new_doc_id(&mut self, node: usize) -> String {
        self.doc_counter[node] += 1;
        format!("{}/{}", self.nodes[node].id, self.doc_counter[node])
    }

    /// Records new blobs at `node` (photos taken, a notice's picture): random content, a few KiB
    /// to a few hundred, each `(role, min bytes, max bytes)`.
    fn new_blobs(&mut self, node: usize, roles: &[(&str, usize, usize)]) -> Vec<BlobRef> {
        let mut refs = Vec::new();
        for &(role, min, max) in roles {
            // Incompressible bytes from the seeded RNG, stretched by BLAKE3 (optimised even in a
            // debug build, unlike the RNG).
            let mut content = vec![0u8; self.rng.random_range(min..=max)];
            let seed: u64 = self.rng.random();
            blake3::Hasher::new().update(&seed.to_le_bytes()).finalize_xof().fill(&mut content);
            let bytes = content.len() as u64;
            let hash = self.nodes[node].record_blob(content);
            self.blob_origin.insert(hash, (node, self.edits.len()));
            self.report.blobs_created += 1;
            self.report.blob_bytes_created += bytes;
            refs.push(BlobRef { hash, role: role.to_string(), bytes });
        }
        refs
    }

    /// What a new document is recorded with: a case often has photos (thumbnail and display
    /// copy, sometimes the original), a notice sometimes a picture.
    fn attachments_for(&mut self, node: usize, doc_type: &str) -> Vec<BlobRef> {
        const THUMB: (&str, usize, usize) = ("thumb", 1024, 6 * 1024);
        const DISPLAY: (&str, usize, usize) = ("display", 8 * 1024, 48 * 1024);
        const ORIGINAL: (&str, usize, usize) = ("original", 48 * 1024, 256 * 1024);
        match doc_type {
            "case" if self.rng.random_bool(0.6) => {
                if self.rng.random_bool(0.35) {
                    self.new_blobs(node, &[THUMB, DISPLAY, ORIGINAL])
                } else {
                    self.new_blobs(node, &[THUMB, DISPLAY])
                }
            }
            "notice" if self.rng.random_bool(0.3) => self.new_blobs(node, &[DISPLAY]),
            _ => Vec::new(),
        }
    }

    /// A kiosk adds a photo to a case of its village it holds.
    fn attach_some(&mut self, node: usize) {
        let own = self.nodes[node].scope.clone();
        let candidates: Vec<String> = self.nodes[node]
            .doc_scopes()
            .into_iter()
            .filter(|(_, scope)| scope.starts_with(&own))
            .map(|(id, _)| id)
            .collect();
        let Some(doc_id) = candidates.choose(&mut self.rng).cloned() else { return };
        let refs = self.new_blobs(node, &[("thumb", 1024, 6 * 1024), ("display", 8 * 1024, 48 * 1024)]);
        let hash = self.nodes[node].edit(&doc_id, &Edit::Attach(refs));
        trace!(self, "{} attaches a photo to {doc_id}", self.nodes[node].id);
        self.report.edits += 1;
        self.edits.push((doc_id, node, hash));
        self.notify(node);
    }

    /// `kind`: a kiosk's "case" or a hub's "notice" (both stored as cases; they differ in
    /// what is attached).
    fn create(&mut self, node: usize, kind: &str, scope: String) {
        self.clock.store(self.now as i64, Ordering::Relaxed);
        let id = self.new_doc_id(node);
        let legit = scope.starts_with(&self.nodes[node].scope);
        let title = self.random_text(6);
        let attachments = self.attachments_for(node, kind);
        let hash = self.nodes[node].create(&id, &scope, &title, &attachments);
        trace!(
            self,
            "{} creates {id} ({kind}, scope {scope}{})",
            self.nodes[node].id,
            if legit { "" } else { ", OUT OF SCOPE" }
        );
        self.report.docs_created += 1;
        if !legit {
            self.report.out_of_scope_created += 1;
        }
        let created_at = self.edits.len();
        self.docs.insert(id.clone(), DocInfo { scope, creator: node, created_at, legit, captions: 0 });
        self.edits.push((id, node, hash));
        self.notify(node);
    }

    fn random_edit(&mut self, doc_id: &str) -> Edit {
        let r = self.rng.random_range(0..100);
        const KEYS: [&str; 5] = ["status", "expert", "diagnosis", "crop", "priority"];
        match r {
            0..40 => {
                let key = *KEYS.choose(&mut self.rng).unwrap();
                let n = self.rng.random_range(2..12);
                Edit::Put { key, value: self.random_text(n) }
            }
            40..65 => {
                let n = self.rng.random_range(4..40);
                Edit::AppendNote(self.random_text(n))
            }
            65..85 => Edit::CountView,
            85..97 => Edit::Delete { key: KEYS.choose(&mut self.rng).unwrap() },
            _ => {
                let info = self.docs.get_mut(doc_id);
                match info {
                    Some(i) if i.captions < CAPTIONS_PER_DOC_MAX => {
                        i.captions += 1;
                        let n = self.rng.random_range(200..1200);
                        Edit::Put { key: "caption", value: self.random_text(n) }
                    }
                    _ => Edit::CountView,
                }
            }
        }
    }

    fn edit_some(&mut self, node: usize, within: &str) {
        let candidates: Vec<String> = self.nodes[node]
            .doc_scopes()
            .into_iter()
            .filter(|(_, scope)| scope.starts_with(within))
            .map(|(id, _)| id)
            .collect();
        let Some(doc_id) = candidates.choose(&mut self.rng).cloned() else { return };
        let edit = self.random_edit(&doc_id);
        let hash = self.nodes[node].edit(&doc_id, &edit);
        trace!(self, "{} edits {doc_id}: {:?}", self.nodes[node].id, edit_summary(&edit));
        self.report.edits += 1;
        self.edits.push((doc_id, node, hash));
        self.notify(node);
    }

    fn workload_step(&mut self) {
        let tier = self.rng.random_range(0..100);
        if tier < 70 {
            let county = self.rng.random_range(0..COUNTIES.len());
            let k = self.rng.random_range(0..KIOSKS_PER_COUNTY);
            let node = county_hub(county) + 1 + k;
            let own = self.nodes[node].scope.clone();
            let r = self.rng.random_range(0..100);
            if r < 3 {
                // Outside its scope: another village, of this county or another.
                let c = *COUNTIES.choose(&mut self.rng).unwrap();
                let v = self.rng.random_range(0..VILLAGES_PER_COUNTY + 1);
                let mut scope = village_scope(c, v);
                if scope == own {
                    scope = village_scope(c, VILLAGES_PER_COUNTY + 2);
                }
                self.create(node, "case", scope);
            } else if r < 18 || self.nodes[node].doc_scopes().is_empty() {
                self.create(node, "case", own);
            } else if r < 21 {
                self.attach_some(node);
            } else if r < 32 {
                self.edit_some(node, ""); // may edit its own out-of-scope documents too
            } else {
                self.edit_some(node, &own);
            }
        } else if tier < 90 {
            let county = self.rng.random_range(0..COUNTIES.len());
            let node = county_hub(county);
            let own = self.nodes[node].scope.clone();
            if self.rng.random_bool(0.06) || self.nodes[node].doc_scopes().is_empty() {
                let scope = if self.rng.random_bool(0.5) {
                    own
                } else {
                    village_scope(&own, self.rng.random_range(0..VILLAGES_PER_COUNTY))
                };
                self.create(node, "notice", scope);
            } else {
                self.edit_some(node, &own);
            }
        } else if tier < 95 {
            // A city hub: notices for its region, one of its counties or a village there.
            let city = self.rng.random_range(0..CITIES.len());
            let node = city_hub(city);
            let own = self.nodes[node].scope.clone();
            if self.rng.random_bool(0.1) || self.nodes[node].doc_scopes().is_empty() {
                let counties: Vec<&str> = COUNTIES.iter().copied().filter(|c| c.starts_with(&own)).collect();
                let c = *counties.choose(&mut self.rng).unwrap();
                let scope = match self.rng.random_range(0..3) {
                    0 => own,
                    1 => c.to_string(),
                    _ => village_scope(c, self.rng.random_range(0..VILLAGES_PER_COUNTY)),
                };
                self.create(node, "notice", scope);
            } else {
                self.edit_some(node, &own);
            }
        } else if self.rng.random_bool(0.15) || self.nodes[0].doc_scopes().is_empty() {
            let c = *COUNTIES.choose(&mut self.rng).unwrap();
            let scope = match self.rng.random_range(0..3) {
                0 => "51".to_string(),
                1 => c.to_string(),
                _ => village_scope(c, self.rng.random_range(0..VILLAGES_PER_COUNTY)),
            };
            self.create(0, "notice", scope);
        } else {
            self.edit_some(0, "");
        }
    }

    fn partition(&mut self) {
        let kind = self.rng.random_range(0..4);
        let county = self.rng.random_range(0..COUNTIES.len());
        let hub = county_hub(county);
        let city = city_hub(self.rng.random_range(0..CITIES.len()));
        let links: Vec<usize> = match kind {
            // The county hub is cut off from everyone (power cut at the hub).
            0 => self.node_links[hub].iter().map(|(l, _)| *l).collect(),
            // The county's villages lose their uplinks (the county's mobile network is down).
            1 => self.node_links[hub].iter().filter(|(_, s)| *s == PARENT).map(|(l, _)| *l).collect(),
            // The province is unreachable.
            2 if self.rng.random_bool(0.5) => self.node_links[0].iter().map(|(l, _)| *l).collect(),
            // A city hub is cut off from its counties and the province.
            2 => self.node_links[city].iter().map(|(l, _)| *l).collect(),
            // A random third of all links.
            _ => (0..self.links.len()).filter(|_| self.rng.random_bool(0.33)).collect(),
        };
        let duration = self.rng.random_range(1_000..=30_000);
        trace!(self, "partition (kind {kind}) of {} links for {duration} ms", links.len());
        self.report.partitions += 1;
        for &l in &links {
            self.links[l].blocked += 1;
            self.disconnect(l, "partition");
        }
        let generation = self.partition_generation;
        self.schedule(self.now + duration, Ev::PartitionEnd { links, generation });
    }

    fn backup_or_restore(&mut self) {
        let with_backup: Vec<usize> = self.backups.keys().copied().collect();
        if with_backup.is_empty() || self.rng.random_bool(0.55) {
            let node = self.rng.random_range(0..self.nodes.len());
            trace!(self, "{} backs up its store (feed head {})", self.nodes[node].id, self.nodes[node].seq());
            let store = self.nodes[node].backup();
            self.backups.insert(node, Backup { store, edits_len: self.edits.len() });
            return;
        }
        let node = *with_backup.choose(&mut self.rng).unwrap();
        let Some(backup) = self.backups.remove(&node) else { return };
        self.report.restores += 1;
        self.generation[node] += 1;
        trace!(
            self,
            "{} RESTORED from a backup: feed head {} -> {}",
            self.nodes[node].id,
            self.nodes[node].seq(),
            backup.store.seq
        );
        self.stop(node, "store restored");
        let incarnation = self.rng.random_range(1..=u64::MAX);
        self.restore_incarnations.insert(incarnation);
        self.nodes[node].restore(&backup.store, self.generation[node], incarnation);
        for i in backup.edits_len..self.edits.len() {
            if self.edits[i].1 == node {
                self.maybe_lost.insert(i);
            }
        }
        // Its feed changed under the verified ranges, and its peers' claims about it may not
        // hold any more.
        let id = self.nodes[node].id.clone();
        self.verified.retain(|(n, p), _| *n != node && *p != id);
        self.notify_pending[node] = false;
    }

    fn random_step(&mut self) {
        if self.restore_mode && self.rng.random_bool(0.02) {
            self.backup_or_restore();
            return;
        }
        let r = self.rng.random_range(0..1000);
        match r {
            // Edits are where automerge spends its time (unoptimised in a debug build): a
            // moderate rate keeps hundreds of seeds cheap while documents are still edited
            // concurrently at several tiers.
            0..130 => self.workload_step(),
            350..400 => {
                // Mostly cut links with bytes in flight: that is where sessions can go wrong.
                let up: Vec<usize> = (0..self.links.len()).filter(|&l| self.links[l].is_up()).collect();
                let busy: Vec<usize> =
                    up.iter().copied().filter(|&l| self.links[l].pending != [0, 0]).collect();
                let pool = if !busy.is_empty() && self.rng.random_bool(0.8) { busy } else { up };
                if let Some(&l) = pool.choose(&mut self.rng) {
                    self.disconnect(l, "dropped");
                }
            }
            400..410 => {
                // A node restarts: every connection it had is gone; its store persists and is
                // opened again (a new incarnation).
                let node = self.rng.random_range(0..self.nodes.len());
                trace!(self, "{} restarts", self.nodes[node].id);
                self.report.restarts += 1;
                self.stop(node, "restart");
                let incarnation = self.rng.random_range(1..=u64::MAX);
                self.nodes[node].reopen(incarnation);
            }
            410..425 => self.partition(),
            _ => {
                let dt = self.rng.random_range(1..=250);
                self.advance(self.now + dt);
            }
        }
    }

    // ---- the run --------------------------------------------------------------------------

    pub fn run(mut self) -> Report {
        let steps = self.rng.random_range(300..=800);
        self.report.steps = steps;
        trace!(
            self,
            "seed {}: {steps} steps, {} nodes, {} links",
            self.seed,
            self.nodes.len(),
            self.links.len()
        );
        for l in 0..self.links.len() {
            if self.rng.random_bool(0.7) {
                self.connect(l);
            } else {
                self.schedule_reconnect(l);
            }
        }
        for _ in 0..steps {
            self.random_step();
        }
        self.heal();
        self.check_final();
        self.second_round();
        self.report.sim_ms = self.now;
        self.report
    }

    /// Every partition ends, every link comes up and stays up; run until no bytes move.
    fn heal(&mut self) {
        trace!(self, "---- healing ----");
        let start = self.now;
        self.healing = true;
        self.partition_generation += 1;
        // Pending reconnects and partition ends are moot: every link comes up now.
        self.queue.retain(|_, e| matches!(e, Ev::Deliver { .. } | Ev::Notify { .. } | Ev::FetchWake { .. }));
        for l in 0..self.links.len() {
            self.links[l].blocked = 0;
            self.links[l].reconnecting = false;
            self.connect(l);
        }
        let mut events = 0u64;
        loop {
            // Only blob retries left, none of which can fetch anything (the blobs are held
            // nowhere its peer could send them from: lost with a restore): quiescent. A real
            // node keeps asking, at most every five minutes.
            if self.queue.values().all(|e| matches!(e, Ev::FetchWake { .. }))
                && !self.queue.values().any(|e| match e {
                    Ev::FetchWake { link, epoch, side } => {
                        *epoch == self.links[*link].epoch && self.retry_useful(*link, *side)
                    }
                    _ => false,
                })
            {
                self.queue.clear();
                for l in &mut self.links {
                    for b in &mut l.blob {
                        b.wake_at = None;
                    }
                }
            }
            let Some(((at, _), ev)) = self.queue.pop_first() else { break };
            self.now = self.now.max(at);
            events += 1;
            if events > HEAL_EVENTS_MAX {
                self.fail(format!("no convergence: still busy after {HEAL_EVENTS_MAX} events of healing"));
            }
            self.process(ev);
        }
        self.report.heal_ms = self.now - start;
        self.report.heal_events = events;
        trace!(self, "quiescent after {events} events, {} ms", self.now - start);
        if !self.zombies.is_empty() {
            self.fail(format!("{} half-open sessions left with nothing in flight", self.zombies.len()));
        }
    }

    // ---- invariants -----------------------------------------------------------------------

    /// Whether node `p`'s history during its incarnation `incarnation` is all still in its
    /// store: the incarnation is in its list and was not cut short by a restore. What a peer
    /// recorded of `p` under such an incarnation must be true.
    fn intact(&self, p: usize, incarnation: u64) -> bool {
        let list = self.nodes[p].incarnations();
        list.iter()
            .position(|i| i.0 == incarnation)
            .is_some_and(|k| list.get(k + 1).is_none_or(|next| !self.restore_incarnations.contains(&next.0)))
    }

    /// After every session call: what the replica claims of its peers is true.
    fn check_replica(&mut self, n: usize) {
        let claims = std::mem::take(&mut self.nodes[n].claims);
        for (peer_id, incarnation, seq) in claims {
            let p = self.index[&peer_id];
            if !self.intact(p, incarnation) {
                // Recorded by a session with an incarnation of the peer whose end a restore
                // cut off: not a claim about the peer's store as it is now.
                continue;
            }
            if seq > self.nodes[n].seq() {
                self.fail(format!(
                    "{}: claims {} holds its feed up to {seq}, past its head {}",
                    self.nodes[n].id,
                    peer_id,
                    self.nodes[n].seq()
                ));
            }
            let key = (n, peer_id.clone());
            let from = self.verified.get(&key).copied().unwrap_or(0);
            if seq <= from {
                continue;
            }
            // Entries up to `from` were verified before and have not changed since (a change
            // moves an entry past the head). The peer only ever gains.
            let send_scope = self.nodes[n].policies[&peer_id].send_scope.clone();
            let scopes = self.nodes[n].doc_scopes();
            for (_, doc_id) in self.nodes[n].feed_range(from, seq) {
                let info = self.docs.get(&doc_id);
                if info.is_some_and(|i| !i.legit) || !scopes[&doc_id].starts_with(&send_scope) {
                    continue;
                }
                let heads = self.nodes[n].heads(&doc_id).unwrap_or_default();
                if !self.nodes[p].holds(&doc_id, &heads) {
                    self.fail(format!(
                        "{} believes {} holds its feed up to {seq}, but {} lacks {doc_id} at its heads",
                        self.nodes[n].id, peer_id, peer_id
                    ));
                }
            }
            self.verified.insert(key, seq);
        }
        // A document stored from a peer lies within this node's scope.
        let applied = std::mem::take(&mut self.nodes[n].applied);
        let scopes = if applied.is_empty() { BTreeMap::new() } else { self.nodes[n].doc_scopes() };
        for doc_id in applied {
            let scope = &scopes[&doc_id];
            if !scope.starts_with(&self.nodes[n].scope) || self.docs.get(&doc_id).is_none_or(|i| !i.legit) {
                self.fail(format!("{} stored {doc_id} of scope {scope}", self.nodes[n].id));
            }
        }
        // A checkpoint of an intact incarnation never passes the peer's feed head.
        for (peer_id, cp) in &self.nodes[n].recv() {
            let p = self.index[peer_id];
            if cp.seq > self.nodes[p].seq() && self.intact(p, cp.incarnation) {
                self.fail(format!(
                    "{} holds checkpoint {cp:?} of {peer_id}, whose head is {}",
                    self.nodes[n].id,
                    self.nodes[p].seq()
                ));
            }
        }
    }

    fn check_final(&mut self) {
        // A document created after a backup its creator was restored from, that had not left
        // it, is legitimately gone.
        let vanished: BTreeSet<String> = self
            .docs
            .iter()
            .filter(|(id, i)| {
                self.maybe_lost.contains(&i.created_at) && !self.nodes.iter().any(|n| n.has_doc(id))
            })
            .map(|(id, _)| id.clone())
            .collect();
        // Every node holds exactly the documents of its scope (and its own out-of-scope ones).
        for n in 0..self.nodes.len() {
            let scope = self.nodes[n].scope.clone();
            let expected: BTreeSet<&String> = self
                .docs
                .iter()
                .filter(|(id, _)| !vanished.contains(*id))
                .filter(|(_, i)| if i.legit { i.scope.starts_with(&scope) } else { i.creator == n })
                .map(|(id, _)| id)
                .collect();
            let held_docs = self.nodes[n].doc_scopes();
            let held: BTreeSet<&String> = held_docs.keys().collect();
            if expected != held {
                let missing: Vec<_> = expected.difference(&held).collect();
                let extra: Vec<_> = held.difference(&expected).collect();
                self.fail(format!(
                    "{} (scope {scope}) lacks {missing:?} and holds extra {extra:?}",
                    self.nodes[n].id
                ));
            }
            self.report.docs_held[tier(&scope)] += held.len();
        }
        // Identical everywhere: same heads, same content.
        let doc_ids: Vec<String> = self.docs.keys().filter(|id| !vanished.contains(*id)).cloned().collect();
        for doc_id in &doc_ids {
            let holders: Vec<usize> =
                (0..self.nodes.len()).filter(|&n| self.nodes[n].has_doc(doc_id)).collect();
            let first = holders[0];
            let heads = self.nodes[first].heads(doc_id).unwrap_or_default();
            let value = self.nodes[first].hydrate(doc_id);
            for &h in &holders[1..] {
                let other_heads = self.nodes[h].heads(doc_id).unwrap_or_default();
                if other_heads != heads {
                    self.fail(format!(
                        "{doc_id}: {} and {} hold different heads",
                        self.nodes[first].id, self.nodes[h].id
                    ));
                }
                let other = self.nodes[h].hydrate(doc_id);
                if other != value {
                    self.fail(format!(
                        "{doc_id}: {} and {} hold different content",
                        self.nodes[first].id, self.nodes[h].id
                    ));
                }
            }
        }
        self.check_blobs();
        let mut fp = Fnv::default();
        for node in &mut self.nodes {
            fp.write(node.id.as_bytes());
            fp.write(&node.seq().to_le_bytes());
            let ids: Vec<String> = node.doc_scopes().into_keys().collect();
            for id in ids {
                fp.write(id.as_bytes());
                for h in node.heads(&id).unwrap_or_default() {
                    fp.write(&h.0);
                }
            }
            for hash in node.side.blobs.keys() {
                fp.write(hash);
            }
        }
        self.report.fingerprint = fp.0;
        self.report.received_new = self.nodes.iter().map(|n| n.received_new).sum();
        self.report.received_nothing_new = self.nodes.iter().map(|n| n.received_nothing_new).sum();
        // No edit was lost.
        for (i, (doc_id, node, hash)) in std::mem::take(&mut self.edits).into_iter().enumerate() {
            if self.maybe_lost.contains(&i) {
                continue;
            }
            let holder = if self.docs[&doc_id].legit { 0 } else { node };
            if !self.nodes[holder].holds(&doc_id, &[hash]) {
                self.fail(format!("an edit of {doc_id} made at {} is lost", self.nodes[node].id));
            }
        }
        for l in 0..self.links.len() {
            let (c, p) = (self.links[l].child, self.links[l].parent);
            // Every session ended reporting Synced.
            let synced = self.links[l].live.as_ref().map(|e| [e[0].synced, e[1].synced]);
            if synced != Some([true, true]) {
                self.fail(format!(
                    "session {} <-> {} not synced at the end: {synced:?}",
                    self.nodes[c].id, self.nodes[p].id
                ));
            }
            // Each side has applied the other's whole feed, as it is now.
            for (a, b) in [(c, p), (p, c)] {
                let cp = self.nodes[a].recv().get(&self.nodes[b].id).copied().unwrap_or_default();
                // Recorded while the peer's head lay within that incarnation as it has it now.
                let end = self.nodes[b].incarnation_end(cp.incarnation);
                let stands = cp.seq == 0 || end.is_some_and(|e| cp.seq <= cp.head && cp.head <= e);
                if cp.seq != self.nodes[b].seq() || !stands {
                    self.fail(format!(
                        "{} holds checkpoint {cp:?} of {}, whose head is {} (its incarnation ends at {end:?})",
                        self.nodes[a].id, self.nodes[b].id, self.nodes[b].seq()
                    ));
                }
            }
        }
        // What each node records its peers hold is true, unless recorded under an incarnation
        // of the peer that a restore cut off (then it is no proof, only where changes start).
        for n in 0..self.nodes.len() {
            let shared = self.nodes[n].shared();
            for ((peer, doc_id), (heads, incarnation)) in shared {
                let p = self.index[&peer];
                if self.intact(p, incarnation) && !self.nodes[p].holds(&doc_id, &heads) {
                    self.fail(format!(
                        "{} records {peer} holds {doc_id} at heads {peer} lacks",
                        self.nodes[n].id
                    ));
                }
            }
        }
        // What a node would show as "not yet synced" to its parent is the truth: exactly its
        // own out-of-scope documents, which the parent refused (store's UNSYNCED_SINCE and
        // REFUSED_BY_PARENT).
        for l in 0..self.links.len() {
            let (c, p) = (self.links[l].child, self.links[l].parent);
            let parent_id = self.nodes[p].id.clone();
            let sent = self.nodes[c].sent_seq(&parent_id);
            let mut shown: BTreeSet<String> = BTreeSet::new();
            for doc_id in self.nodes[c].doc_scopes().into_keys() {
                let pending = self.nodes[c].feed_seq(&doc_id).unwrap_or(0) > sent;
                let refused = self.nodes[c].refused_by(&parent_id, &doc_id);
                if pending || refused {
                    shown.insert(doc_id.clone());
                }
            }
            // (An out-of-scope document lost with a restore is nowhere, and shown nowhere.)
            let truth: BTreeSet<String> = self
                .docs
                .iter()
                .filter(|(id, i)| !i.legit && i.creator == c && self.nodes[c].has_doc(id))
                .map(|(id, _)| id.clone())
                .collect();
            let wrongly_synced: Vec<_> = truth.difference(&shown).cloned().collect();
            let wrongly_pending: Vec<_> = shown.difference(&truth).cloned().collect();
            if !wrongly_synced.is_empty() {
                let msg = format!(
                    "{}: {wrongly_synced:?} refused by {parent_id} but shown as synced (the refusal was never \
                     recorded)",
                    self.nodes[c].id
                );
                self.soft(Soft::RefusalLost, msg);
            }
            if !wrongly_pending.is_empty() {
                let msg = format!(
                    "{}: {wrongly_pending:?} held by {parent_id} but shown as not yet synced (sent_seq {sent}, \
                     feed head {}, session synced)",
                    self.nodes[c].id,
                    self.nodes[c].seq()
                );
                self.soft(Soft::SentSeqLags, msg);
            }
        }
    }

    /// Every blob a document held at a node references is there, complete and verified against
    /// its hash (the whole content hashed again, and the outboard it serves from rebuilt), unless
    /// it is an original and the node does not fetch originals, or it is held nowhere because a
    /// restore took it from the node that recorded it before it left; and no node holds a blob
    /// that none of its documents references.
    fn check_blobs(&mut self) {
        let held_anywhere: BTreeSet<BlobHash> =
            self.nodes.iter().flat_map(|n| n.side.blobs.keys().copied()).collect();
        for n in 0..self.nodes.len() {
            let node = &self.nodes[n];
            let held_docs = node.doc_scopes();
            let mut referenced: BTreeMap<BlobHash, BlobRef> = BTreeMap::new();
            for (doc_id, refs) in &node.side.doc_blobs {
                if held_docs.contains_key(doc_id) {
                    for r in refs {
                        referenced.entry(r.hash).or_insert_with(|| r.clone());
                    }
                }
            }
            for (hash, r) in &referenced {
                let (creator, attached_at) = self.blob_origin[hash];
                if r.role == "original" && !node.fetch_originals && creator != n {
                    continue;
                }
                let hex = yizhan_sync_proto::blob::to_hex(hash);
                let Some(blob) = node.side.blobs.get(hash) else {
                    if !held_anywhere.contains(hash) && self.maybe_lost.contains(&attached_at) {
                        continue; // recorded after a backup its node was restored from, never sent
                    }
                    let holders: Vec<&str> = self
                        .nodes
                        .iter()
                        .filter(|o| o.side.blobs.contains_key(hash))
                        .map(|o| o.id.as_str())
                        .collect();
                    self.fail(format!(
                        "{} lacks blob {hex} ({} of {} bytes; {} verified in its partial blob), held by {holders:?}",
                        node.id,
                        r.role,
                        r.bytes,
                        node.side.partials.get(hash).map_or(0, Vec::len)
                    ));
                };
                let (again, outboard) = yizhan_sync_proto::blob::outboard(&blob.content);
                if again != *hash
                    || *blake3::hash(&blob.content).as_bytes() != *hash
                    || blob.content.len() as u64 != r.bytes
                    || outboard != *blob.outboard
                {
                    self.fail(format!("{} holds blob {hex} with content that does not verify", node.id));
                }
            }
            if let Some(extra) = node.side.blobs.keys().find(|h| !referenced.contains_key(*h)) {
                self.fail(format!(
                    "{} holds blob {} that none of its documents references",
                    node.id,
                    yizhan_sync_proto::blob::to_hex(extra)
                ));
            }
            self.report.blobs_held[tier(&node.scope)] += node.side.blobs.len();
        }
    }

    /// A second full round of sessions after healing: two hellos per link and nothing else.
    fn second_round(&mut self) {
        trace!(self, "---- second round ----");
        let heads: Vec<u64> = self.nodes.iter().map(|n| n.seq()).collect();
        let (msgs0, bytes0, all0) =
            (self.report.session_messages, self.report.bytes_sent, self.report.messages_total());
        for l in 0..self.links.len() {
            self.disconnect(l, "second round");
        }
        self.report.link_drops -= self.links.len() as u32;
        for l in 0..self.links.len() {
            self.connect(l);
        }
        self.heal();
        for l in 0..self.links.len() {
            let link = &self.links[l];
            let ok = link.round_msgs.iter().all(|m| m.as_slice() == [0x01]);
            let synced = link.live.as_ref().is_some_and(|e| e[0].synced && e[1].synced);
            if !ok || !synced {
                self.fail(format!(
                    "second round {} <-> {}: messages {:?}, synced {synced}",
                    self.nodes[link.child].id, self.nodes[link.parent].id, link.round_msgs
                ));
            }
        }
        if self.nodes.iter().map(|n| n.seq()).collect::<Vec<_>>() != heads {
            self.fail("the second round changed a store");
        }
        self.report.round2_messages = self.report.session_messages - msgs0;
        self.report.round2_bytes = self.report.bytes_sent - bytes0;
        self.report.round2_blob_messages = self.report.messages_total() - all0 - self.report.round2_messages;
    }
}

struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x100_0000_01b3);
        }
    }
}

fn edit_summary(e: &Edit) -> String {
    match e {
        Edit::Put { key, value } => format!("put {key} ({} chars)", value.chars().count()),
        Edit::Delete { key } => format!("delete {key}"),
        Edit::AppendNote(t) => format!("note ({} chars)", t.chars().count()),
        Edit::CountView => "views += 1".into(),
        Edit::Attach(refs) => format!("attach {} blob(s)", refs.len()),
    }
}

fn new_link(rng: &mut StdRng, child: usize, parent: usize, hub: bool, slow: bool) -> Link {
    let (latency_ms, bytes_per_ms) = if hub {
        (rng.random_range(5..=60), rng.random_range(125..=1250))
    } else if slow {
        // 16 to 128 kbit/s.
        (rng.random_range(100..=600), rng.random_range(2..=16))
    } else {
        // Village links: 100 kbit/s to 1 Mbit/s, 20 to 300 ms one way.
        (rng.random_range(20..=300), rng.random_range(12..=125))
    };
    Link {
        child,
        parent,
        latency_ms,
        jitter_ms: latency_ms / 2,
        bytes_per_ms,
        epoch: 0,
        live: None,
        blocked: 0,
        reconnecting: false,
        last_at: [[0, 0], [0, 0]],
        last_key: [[None, None], [None, None]],
        pending: [0, 0],
        blob_pending: [0, 0],
        blob: Default::default(),
        round_msgs: [Vec::new(), Vec::new()],
    }
}
