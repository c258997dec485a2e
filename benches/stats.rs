//! Statistics benchmark (issue 11): a province store with 1,000,000 cases over Sichuan's 183
//! counties, the 13 industries and 5 years (60 months), on a real SQLite store.
//!
//! `cargo bench --bench stats` (release). Prints one figure per line (`name: value`).
//! Environment: `YIZHAN_BENCH_CASES` (default 1,000,000), `YIZHAN_BENCH_QUERIES` (default
//! 1,000), `YIZHAN_BENCH_WRITES` (real case writes per mode, default 2,000),
//! `YIZHAN_BENCH_REBUILD_DOCS` (real case documents in the rebuild store, default 20,000),
//! `YIZHAN_BENCH_DIR` (default a temporary directory).
//!
//! How the 1,000,000 cases are made: generating and storing a million automerge documents
//! would take most of an hour here, so the history is built as `CaseDoc` values in memory
//! (events along a random path through the service, breaches, visits, ratings, follow-ups),
//! each turned into its contribution by `core::stats::contribution` (the rule the projection
//! uses) and written with `Db::apply_contributions` (the projection's rollup code, 10,000 cases
//! per transaction). The cases spread over every county's towns (three villages per town) and
//! 60 months ending 2026-12, with a fixed seed.
//!
//! Measured:
//! - the stats query (`Db::stats_report`, exactly what `/api/stats` and the page call) for a
//!   random region (province, city, county, town or village that has cases), a random period
//!   (a month, a quarter, a year, or a custom range of 1-60 months) and a random breakdown
//!   (none, or any allowed for the region): p50, p99, max;
//! - the rollup cost of a case write: real case documents written through `Db` (a case
//!   created, then escalated, assigned, answered, closed: five writes each) into the same
//!   1,000,000-case store, first with rollups, then reopened with `stats_rollups = false`:
//!   mean time per write in each mode and their ratio;
//! - `rebuild_projections` of a store of real case documents (`YIZHAN_BENCH_REBUILD_DOCS`),
//!   with and without rollups: the time, and per case.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use yizhan_core::stats::{self, GroupBy, Period, Query};
use yizhan_core::{CaseDoc, Event, EventKind, Industry, NewCase, RegionCode, RegionLevel, regions};
use yizhan_store::{Db, StoreConfig};

const MONTH0: u32 = 202201; // 60 months: 2022-01 .. 2026-12
/// 2022-01-01 00:00 UTC+8.
const START_MS: i64 = 1_640_966_400_000;
const DAY_MS: i64 = 86_400_000;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.replace('_', "").parse().ok()).unwrap_or(default)
}

/// Every village the fixture uses: three per town of every county.
fn villages() -> Vec<String> {
    let db = regions();
    let mut out = Vec::new();
    for city in db.children("51") {
        for county in db.children(&city.code) {
            for town in db.children(&county.code) {
                for v in 1..=3 {
                    out.push(format!("{}{v:03}", town.code));
                }
            }
        }
    }
    out
}

/// A case in memory with a random path through the service.
fn case(rng: &mut StdRng, id: &str, village: &str, created_ms: i64) -> CaseDoc {
    let industry = Industry::ALL[rng.random_range(0..Industry::ALL.len())];
    let mut events = vec![Event::new(format!("{id}-c"), created_ms, "o", EventKind::Created)];
    let mut at = created_ms;
    let mut push = |kind: EventKind, f: &dyn Fn(&mut Event)| {
        at += 1_200_000;
        let mut e = Event::new(format!("{id}-{}", events.len()), at, "x", kind);
        f(&mut e);
        events.push(e);
    };
    let path = rng.random_range(0..100);
    if (15..35).contains(&path) {
        push(EventKind::SolvedBySimilar, &|e| e.target = "k".into());
        push(EventKind::Closed, &|_| {});
    } else if path >= 35 {
        push(EventKind::Escalated, &|_| {});
        if rng.random_bool(0.1) {
            push(EventKind::Breach, &|e| e.category = "triage".into());
        }
        if path >= 42 {
            let up = rng.random_bool(0.1);
            if up {
                let city = yizhan_core::region::ancestor_at(village, RegionLevel::City).unwrap().to_string();
                push(EventKind::EscalatedUp, &|e| e.target = city.clone());
            }
            push(EventKind::Assigned, &|e| e.target = "expert".into());
            if path >= 50 {
                if rng.random_bool(0.15) {
                    push(EventKind::OnSiteRequested, &|_| {});
                    let fen = rng.random_range(1_000..50_000);
                    push(EventKind::OnSiteDispatched, &|e| e.value = fen);
                }
                push(EventKind::Answered, &|e| e.text = "a".into());
                if path >= 62 {
                    push(EventKind::Closed, &|_| {});
                    let r = rng.random_range(2..=5);
                    push(EventKind::Rated, &|e| e.value = r);
                    if path >= 72 {
                        let v = i64::from(rng.random_bool(0.9));
                        push(EventKind::FollowedUp, &|e| {
                            e.value = v;
                            e.category = "技术指导".into();
                        });
                    }
                }
            }
        }
    }
    CaseDoc {
        doc_type: "case".into(),
        schema: 1,
        id: id.into(),
        region_code: village.into(),
        village_name: String::new(),
        industry: industry.code().into(),
        subject: String::new(),
        description: String::new(),
        farmer_name: String::new(),
        farmer_phone_sealed: String::new(),
        farmer_phone_masked: String::new(),
        officer: String::new(),
        officer_id: String::new(),
        origin_node: format!("kiosk-{village}"),
        created_at_ms: created_ms,
        attachments: Default::default(),
        events,
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// Real case writes: created, escalated, assigned, answered, closed. Returns the mean per write.
fn real_writes(db: &mut Db, prefix: &str, n: usize, villages: &[String], rng: &mut StdRng) -> Duration {
    let started = Instant::now();
    for i in 0..n {
        let id = format!("{prefix}-{i}");
        let village = &villages[rng.random_range(0..villages.len())];
        let new = NewCase {
            region_code: village.clone(),
            industry: Industry::ALL[i % 13].code().into(),
            subject: "柑橘".into(),
            description: "叶片发黄".into(),
            officer: "信息员".into(),
            ..NewCase::default()
        };
        let created_ms = START_MS + rng.random_range(0..1800) * DAY_MS;
        let created = Event::new(format!("{id}-c"), created_ms, "o", EventKind::Created);
        let (_, mut doc) = CaseDoc::create(&new, &id, "kiosk", created).unwrap();
        db.create_doc(&id, "case", &mut doc).unwrap();
        for (k, kind) in [EventKind::Escalated, EventKind::Assigned, EventKind::Answered, EventKind::Closed]
            .into_iter()
            .enumerate()
        {
            let mut e = Event::new(format!("{id}-{k}"), created_ms + 1000 * (k as i64 + 1), "x", kind);
            e.target = "expert".into();
            e.text = "答复".into();
            db.update_doc(&id, |d| CaseDoc::append_event(d, e)).unwrap().unwrap();
        }
    }
    started.elapsed() / (n as u32 * 5)
}

fn main() {
    let cases = env("YIZHAN_BENCH_CASES", 1_000_000);
    let queries = env("YIZHAN_BENCH_QUERIES", 1000);
    let writes = env("YIZHAN_BENCH_WRITES", 2000);
    let rebuild_docs = env("YIZHAN_BENCH_REBUILD_DOCS", 20_000);
    let tmp = tempfile::tempdir().unwrap();
    let base =
        std::env::var("YIZHAN_BENCH_DIR").map(std::path::PathBuf::from).unwrap_or_else(|_| tmp.path().into());
    let dir = base.join("province");
    let _ = std::fs::remove_dir_all(&dir);
    let villages = villages();
    let counties = regions().children("51").iter().map(|c| regions().children(&c.code).len()).sum::<usize>();
    println!("counties: {counties}");
    println!("villages: {}", villages.len());
    let mut rng = StdRng::seed_from_u64(11);

    // ---- the province's five years ----
    let mut db = Db::open(StoreConfig::new(&dir)).unwrap();
    let started = Instant::now();
    let (mut generate, mut write) = (Duration::ZERO, Duration::ZERO);
    const BATCH: usize = 10_000;
    let mut made = 0;
    while made < cases {
        let t = Instant::now();
        let batch: Vec<(String, stats::Contribution)> = (made..(made + BATCH).min(cases))
            .map(|i| {
                let id = format!("h{i}");
                let village = &villages[rng.random_range(0..villages.len())];
                let created = START_MS + rng.random_range(0..1826) * DAY_MS + rng.random_range(0..DAY_MS);
                let c = case(&mut rng, &id, village, created);
                let contribution = stats::contribution(&c, &c.state());
                (id, contribution)
            })
            .collect();
        generate += t.elapsed();
        let t = Instant::now();
        made += db.apply_contributions(batch).unwrap();
        write += t.elapsed();
    }
    println!("cases: {made}");
    println!(
        "fill_total: {:.1} s (generate {:.1} s, rollup writes {:.1} s)",
        started.elapsed().as_secs_f64(),
        generate.as_secs_f64(),
        write.as_secs_f64()
    );
    println!("rollup_write_per_case: {:.1} us", write.as_secs_f64() * 1e6 / made as f64);
    let rows: i64 = db.conn().query_row("SELECT COUNT(*) FROM stats_rollup", [], |r| r.get(0)).unwrap();
    println!("rollup_rows: {rows}");
    let file_mb =
        std::fs::metadata(dir.join("yizhan.sqlite3")).map(|m| m.len()).unwrap_or(0) as f64 / 1048576.0;
    println!("sqlite_file: {file_mb:.0} MiB");

    // ---- queries ----
    let db_regions = regions();
    let cities: Vec<String> = db_regions.children("51").iter().map(|r| r.code.clone()).collect();
    let pick_region = |rng: &mut StdRng| -> RegionCode {
        let v = &villages[rng.random_range(0..villages.len())];
        let level = [
            RegionLevel::Province,
            RegionLevel::City,
            RegionLevel::County,
            RegionLevel::Town,
            RegionLevel::Village,
        ][rng.random_range(0..5)];
        RegionCode::parse(yizhan_core::region::ancestor_at(v, level).unwrap()).unwrap()
    };
    let pick_period = |rng: &mut StdRng| -> Period {
        let month = |i: u32| (MONTH0 / 100 + i / 12) * 100 + i % 12 + 1;
        match rng.random_range(0..4) {
            0 => {
                let m = month(rng.random_range(0..60));
                Period::new(m, m).unwrap()
            }
            1 => {
                let q = rng.random_range(0..20) * 3;
                Period::new(month(q), month(q + 2)).unwrap()
            }
            2 => {
                let y = rng.random_range(0..5) * 12;
                Period::new(month(y), month(y + 11)).unwrap()
            }
            _ => {
                let a = rng.random_range(0..60);
                let b = rng.random_range(a..60);
                Period::new(month(a), month(b)).unwrap()
            }
        }
    };
    let _ = &cities;
    let mut times = Vec::with_capacity(queries);
    let mut by_kind: std::collections::BTreeMap<&'static str, Vec<Duration>> = Default::default();
    for i in 0..queries + 50 {
        let region = pick_region(&mut rng);
        let period = pick_period(&mut rng);
        let allowed: Vec<GroupBy> =
            GroupBy::ALL.into_iter().filter(|b| b.check_for(&region).is_ok()).collect();
        let by = if rng.random_bool(0.25) { None } else { Some(allowed[rng.random_range(0..allowed.len())]) };
        let q = Query { region, period, by };
        let t = Instant::now();
        let r = db.stats_report(&q).unwrap();
        let d = t.elapsed();
        std::hint::black_box(r);
        if i >= 50 {
            times.push(d);
            by_kind.entry(by.map_or("none", |b| b.code())).or_default().push(d);
        }
    }
    times.sort();
    println!("query_p50: {}", ms(percentile(&times, 0.5)));
    println!("query_p99: {}", ms(percentile(&times, 0.99)));
    println!("query_max: {}", ms(*times.last().unwrap()));
    for (k, mut v) in by_kind {
        v.sort();
        println!(
            "query_by_{k}: n {} p50 {} p99 {}",
            v.len(),
            ms(percentile(&v, 0.5)),
            ms(percentile(&v, 0.99))
        );
    }
    // The heaviest: the province, five years, by county.
    let q = Query {
        region: RegionCode::parse("51").unwrap(),
        period: Period::new(202201, 202612).unwrap(),
        by: Some(GroupBy::County),
    };
    let mut heavy: Vec<Duration> = (0..20)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(db.stats_report(&q).unwrap());
            t.elapsed()
        })
        .collect();
    heavy.sort();
    println!(
        "query_province_5y_by_county: p50 {} max {}",
        ms(percentile(&heavy, 0.5)),
        ms(*heavy.last().unwrap())
    );

    // ---- the rollup cost of a case write, on the full store ----
    let with = real_writes(&mut db, "w", writes, &villages, &mut rng);
    drop(db);
    let mut cfg = StoreConfig::new(&dir);
    cfg.stats_rollups = false;
    let mut db = Db::open(cfg).unwrap();
    let without = real_writes(&mut db, "n", writes, &villages, &mut rng);
    println!("case_write_with_rollups: {}", ms(with));
    println!("case_write_without_rollups: {}", ms(without));
    println!("rollup_cost_ratio: {:.3}", with.as_secs_f64() / without.as_secs_f64());
    drop(db);

    // ---- rebuild from real documents ----
    let rdir = base.join("rebuild");
    let _ = std::fs::remove_dir_all(&rdir);
    for rollups in [true, false] {
        let mut cfg = StoreConfig::new(&rdir);
        cfg.stats_rollups = rollups;
        let mut db = Db::open(cfg).unwrap();
        if rollups {
            let t = Instant::now();
            let mut made = 0;
            while made < rebuild_docs {
                let docs: Vec<(String, &str, automerge::AutoCommit)> = (made..(made + 1000)
                    .min(rebuild_docs))
                    .map(|i| {
                        let id = format!("r{i}");
                        let village = &villages[rng.random_range(0..villages.len())];
                        let created = START_MS + rng.random_range(0..1826) * DAY_MS;
                        let c = case(&mut rng, &id, village, created);
                        let mut doc = automerge::AutoCommit::new();
                        autosurgeon::reconcile(&mut doc, &c).unwrap();
                        (id, "case", doc)
                    })
                    .collect();
                made += docs.len();
                db.create_docs_with(docs, Vec::new(), &[]).unwrap();
            }
            println!("rebuild_store_docs: {made} (made in {:.1} s)", t.elapsed().as_secs_f64());
        }
        let t = Instant::now();
        let n = db.rebuild_projections().unwrap();
        let d = t.elapsed();
        let label = if rollups { "with" } else { "without" };
        println!(
            "rebuild_{label}_rollups: {:.2} s for {n} documents ({:.0} us per document)",
            d.as_secs_f64(),
            d.as_secs_f64() * 1e6 / n as f64
        );
    }
}
