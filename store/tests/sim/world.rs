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
//!
//! Here: the topology and set-up; `world::links`: sessions, frames, faults, blob rounds and the
//! event loop; `world::run`: the workload and the run; `world::checks`: the invariants.

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

// After `trace!`: the macro is in scope in these modules.
mod checks;
mod links;
mod run;

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
