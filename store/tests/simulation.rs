//! Deterministic simulation of document and blob sync across the four tiers (issue 3, issue 9;
//! DESIGN.md examples 5 and 6): one province hub, two city hubs, three county hubs and thirty
//! village kiosks, each a real store (`yizhan_store::Db` on SQLite in a temporary directory,
//! synced through the store's own `SyncReplica` and `PeerPolicy`: scope read from the case's
//! content, per-peer checkpoints, shared heads, refusals and incarnations), making random edits
//! and attaching photos (blobs of 1 KiB to 256 KiB, a stand-in beside the store) over links that
//! drop, delay, fragment and partition, nodes that restart (their stores opened again) and stores
//! restored from older backups of their database, in one thread per seed, with a seeded RNG and
//! a fake clock. After healing every node must hold exactly the documents of its scope,
//! identical everywhere, and every blob those documents reference, complete and verified
//! (originals stay below a province that does not fetch them); a second round of sessions must
//! be two hellos per link.
//!
//! - `cargo test -p yizhan-store --test simulation -- --nocapture` runs the default seeds
//!   and prints the protocol's cost.
//! - `YIZHAN_SIM_SEED=<n>` replays one seed with a trace of every event.
//! - `YIZHAN_SIM_SEEDS=<count>` (and `YIZHAN_SIM_BASE=<first seed>`) runs more.
//! - Soft findings (bookkeeping shown to users that is wrong after healing; see
//!   `sim::world::Soft`) fail the run too, unless `YIZHAN_SIM_LENIENT=1`.
//! - `YIZHAN_SIM_RESTORE=0` leaves out the stores restored from older backups.
#![allow(clippy::unwrap_used)]

mod sim;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use std::collections::{BTreeMap, BTreeSet};

use sim::world::{Options, Report, Soft, World, type_name};

/// The first seed of the default run. CI may rotate it with `YIZHAN_SIM_BASE`.
const BASE_SEED: u64 = 0x7A11_0000;
/// Seeds in the default run: about 20 s in a debug build on two idle cores (a seed over 36
/// SQLite stores takes about 1.8 s of CPU; the in-memory stand-in the simulator ran before took
/// 0.25 s, and ran 160). Run more with `YIZHAN_SIM_SEEDS`.
const DEFAULT_SEEDS: u64 = 24;

fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    let v = v.trim();
    let parsed = match v.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => v.parse(),
    };
    Some(parsed.unwrap_or_else(|_| panic!("{name}={v} is not a number")))
}

fn run_seed(seed: u64, verbose: bool, restore: bool) -> Result<Report, String> {
    catch_unwind(AssertUnwindSafe(|| World::new(&Options { seed, verbose, restore }).run())).map_err(|e| {
        e.downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| format!("simulation seed {seed} panicked"))
    })
}

fn print_report(r: &Report) {
    let by_type: Vec<String> = r.messages.iter().map(|(t, n)| format!("{} {n}", type_name(*t))).collect();
    println!(
        "seed {}: {} steps, {} docs ({} out of scope), {} edits, {} sessions, {} drops, {} restarts, {} restores \
         ({} rewinds), {} partitions, {} half-open; messages {} ({}), {} session bytes, {} blob stream bytes, {} lost in \
         drops, {} doc changes \
         carrying {} automerge bytes; blobs {} created ({} bytes), {} received, {} content bytes sent, {} resumed, \
         {} missing; healed in {} ms / {} events; second round {} session messages, {} bytes ({} blob messages); docs held \
         province/cities/counties/kiosks {:?}, blobs {:?}",
        r.seed,
        r.steps,
        r.docs_created,
        r.out_of_scope_created,
        r.edits,
        r.sessions,
        r.link_drops,
        r.restarts,
        r.restores,
        r.rewinds,
        r.partitions,
        r.zombies,
        r.messages_total(),
        by_type.join(", "),
        r.bytes_sent,
        r.blob_wire_bytes,
        r.bytes_lost,
        r.docs_sent,
        r.doc_data_bytes,
        r.blobs_created,
        r.blob_bytes_created,
        r.blobs_received,
        r.blob_content_sent,
        r.blob_resumes,
        r.blob_missing,
        r.heal_ms,
        r.heal_events,
        r.round2_messages,
        r.round2_bytes,
        r.round2_blob_messages,
        r.docs_held,
        r.blobs_held
    );
    for (kind, s) in &r.soft {
        println!("  soft finding {kind:?}: {s}");
    }
}

fn summarize(reports: &[Report]) {
    let n = reports.len().max(1) as f64;
    let mean = |f: &dyn Fn(&Report) -> u64| reports.iter().map(f).sum::<u64>() as f64 / n;
    let max = |f: &dyn Fn(&Report) -> u64| reports.iter().map(f).max().unwrap_or(0);
    let mut by_type = BTreeMap::<u8, u64>::new();
    for r in reports {
        for (t, c) in &r.messages {
            *by_type.entry(*t).or_default() += c;
        }
    }
    let total_msgs: u64 = by_type.values().sum();
    let share: Vec<String> = by_type
        .iter()
        .map(|(t, c)| format!("{} {:.1}%", type_name(*t), 100.0 * *c as f64 / total_msgs.max(1) as f64))
        .collect();
    let bytes: u64 = reports.iter().map(|r| r.bytes_sent).sum();
    let data: u64 = reports.iter().map(|r| r.doc_data_bytes).sum();
    let docs_sent: u64 = reports.iter().map(|r| r.docs_sent).sum();
    let edits: u64 = reports.iter().map(|r| u64::from(r.edits + r.docs_created)).sum();
    let new: u64 = reports.iter().map(|r| r.received_new).sum();
    let nothing_new: u64 = reports.iter().map(|r| r.received_nothing_new).sum();
    println!(
        "per seed (mean / max): messages {:.0} / {}, session bytes {:.0} / {}, lost in drops {:.0} / {}, \
         docs created {:.0}, edits {:.0}, drops {:.0}, half-open sessions {:.1}, restores {:.1} ({:.1} rewinds), \
         heal {:.0} ms / {} ms, heal events {:.0} / {}",
        mean(&|r| r.messages_total()),
        max(&|r| r.messages_total()),
        mean(&|r| r.bytes_sent),
        max(&|r| r.bytes_sent),
        mean(&|r| r.bytes_lost),
        max(&|r| r.bytes_lost),
        mean(&|r| u64::from(r.docs_created)),
        mean(&|r| u64::from(r.edits)),
        mean(&|r| u64::from(r.link_drops)),
        mean(&|r| u64::from(r.zombies)),
        mean(&|r| u64::from(r.restores)),
        mean(&|r| u64::from(r.rewinds)),
        mean(&|r| r.heal_ms),
        max(&|r| r.heal_ms),
        mean(&|r| r.heal_events),
        max(&|r| r.heal_events),
    );
    println!(
        "messages by type: {}; wire bytes / automerge bytes {:.2}; wire bytes per local change {:.0}; \
         doc changes sent per local change {:.2}; documents received that brought nothing new {:.1}%",
        share.join(", "),
        bytes as f64 / data.max(1) as f64,
        bytes as f64 / edits.max(1) as f64,
        docs_sent as f64 / edits.max(1) as f64,
        100.0 * nothing_new as f64 / (new + nothing_new).max(1) as f64,
    );
    println!(
        "blobs per seed (mean / max): created {:.1} / {} ({:.0} KiB), received verified {:.1} / {}, content sent \
         {:.0} KiB / {} KiB (x{:.2} of what arrived), resumed from a verified prefix {:.1} / {}, answered missing {:.1}",
        mean(&|r| u64::from(r.blobs_created)),
        max(&|r| u64::from(r.blobs_created)),
        mean(&|r| r.blob_bytes_created) / 1024.0,
        mean(&|r| u64::from(r.blobs_received)),
        max(&|r| u64::from(r.blobs_received)),
        mean(&|r| r.blob_content_sent) / 1024.0,
        max(&|r| r.blob_content_sent) / 1024,
        reports.iter().map(|r| r.blob_content_sent).sum::<u64>() as f64
            / reports.iter().map(|r| r.blob_received_bytes).sum::<u64>().max(1) as f64,
        mean(&|r| u64::from(r.blob_resumes)),
        max(&|r| u64::from(r.blob_resumes)),
        mean(&|r| u64::from(r.blob_missing)),
    );
    let r2: Vec<(u64, u64)> = reports.iter().map(|r| (r.round2_messages, r.round2_bytes)).collect();
    let links = sim::world::LINKS as f64;
    println!(
        "second round after healing: {:.1} session messages and {:.0} bytes per link (2 hellos each, always); \
         {:.1} blob stream messages per seed (wants for blobs a restore took before they left their node)",
        r2.iter().map(|x| x.0).sum::<u64>() as f64 / n / links,
        r2.iter().map(|x| x.1).sum::<u64>() as f64 / n / links,
        mean(&|r| r.round2_blob_messages),
    );
}

fn env_flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| v != "0" && !v.is_empty())
}

/// Runs the seeds (or replays `YIZHAN_SIM_SEED`), prints costs and findings, and fails on
/// any failed seed (and on soft findings when `strict`).
fn run_seeds(default_count: u64, restore: bool, strict: bool) {
    let mode = if restore { "" } else { " YIZHAN_SIM_RESTORE=0" };
    if let Some(seed) = env_u64("YIZHAN_SIM_SEED") {
        let report = run_seed(seed, true, restore)
            .unwrap_or_else(|e| panic!("{e}\nreplay:{mode} YIZHAN_SIM_SEED={seed}"));
        print_report(&report);
        assert!(!strict || report.soft.is_empty(), "seed {seed}: soft findings {:?}", report.soft);
        return;
    }
    let count = env_u64("YIZHAN_SIM_SEEDS").unwrap_or(default_count);
    let base = env_u64("YIZHAN_SIM_BASE").unwrap_or(BASE_SEED);
    let started = Instant::now();
    let next = AtomicU64::new(0);
    let results: Mutex<Vec<(u64, Result<Report, String>)>> = Mutex::new(Vec::new());
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get()).min(count as usize).max(1);
    // Seeds are independent simulations, each in one thread: run them on every core.
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= count {
                        break;
                    }
                    let seed = base + i;
                    let r = run_seed(seed, false, restore);
                    results.lock().unwrap().push((seed, r));
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap();
    results.sort_by_key(|(seed, _)| *seed);
    let elapsed = started.elapsed();
    let reports: Vec<Report> = results.iter().filter_map(|(_, r)| r.as_ref().ok().cloned()).collect();
    let failures: Vec<(u64, String)> =
        results.iter().filter_map(|(seed, r)| r.as_ref().err().map(|e| (*seed, e.clone()))).collect();
    let soft: Vec<&Report> = reports.iter().filter(|r| !r.soft.is_empty()).collect();
    println!(
        "simulation{mode}: {count} seeds from {base} ({base:#x}) in {:.1} s on {workers} threads: {} passed, \
         {} failed, {} with soft findings",
        elapsed.as_secs_f64(),
        reports.len(),
        failures.len(),
        soft.len()
    );
    summarize(&reports);
    let mut kinds: BTreeMap<Soft, Vec<(u64, &str)>> = BTreeMap::new();
    for r in &soft {
        let mut seen = BTreeSet::new();
        for (kind, msg) in &r.soft {
            if seen.insert(*kind) {
                kinds.entry(*kind).or_default().push((r.seed, msg));
            }
        }
    }
    for (kind, seeds) in &kinds {
        let list: Vec<u64> = seeds.iter().take(10).map(|(s, _)| *s).collect();
        println!("soft finding {kind:?} in {} seeds, e.g. {list:?}; first: {}", seeds.len(), seeds[0].1);
    }
    if !failures.is_empty() {
        let mut by_kind: BTreeMap<String, Vec<u64>> = BTreeMap::new();
        for (seed, msg) in &failures {
            // Group by the message with node and document names blurred.
            let key: String = msg
                .split_once(": ")
                .map_or(msg.as_str(), |(_, rest)| rest)
                .chars()
                .map(|c| if c.is_ascii_digit() { '#' } else { c })
                .take(90)
                .collect();
            by_kind.entry(key).or_default().push(*seed);
        }
        for (kind, seeds) in &by_kind {
            println!("FAILED {} seeds {:?}: {kind}", seeds.len(), &seeds[..seeds.len().min(8)]);
        }
        let (seed, msg) = &failures[0];
        let seeds: Vec<u64> = failures.iter().map(|(s, _)| *s).collect();
        panic!(
            "{} of {count} seeds failed: {seeds:?}\nfirst: {msg}\nreplay:{mode} YIZHAN_SIM_SEED={seed} \
             cargo test -p yizhan-store --test simulation -- --nocapture",
            failures.len()
        );
    }
    if strict && let Some(r) = soft.first() {
        panic!("{} seeds with soft findings; first: seed {}: {:?}", soft.len(), r.seed, r.soft);
    }
}

#[test]
fn random_edits_over_failing_links_converge_to_each_nodes_scope() {
    // Stores restored from older backups are part of the run (`YIZHAN_SIM_RESTORE=0` leaves
    // them out). Soft findings are failures unless `YIZHAN_SIM_LENIENT=1`.
    let restore = std::env::var("YIZHAN_SIM_RESTORE").map_or(true, |v| v != "0");
    run_seeds(DEFAULT_SEEDS, restore, !env_flag("YIZHAN_SIM_LENIENT"));
}

/// The simulator itself is deterministic: a seed replays to the same bytes, documents and heads.
#[test]
fn a_seed_replays_identically() {
    let seed = BASE_SEED + 7;
    let first = run_seed(seed, false, true).unwrap();
    let again = run_seed(seed, false, true).unwrap();
    assert_ne!(first.fingerprint, 0);
    assert_eq!(format!("{first:?}"), format!("{again:?}"));
}
