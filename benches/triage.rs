//! Triage benchmark (issue 5): the triage queue page and one expert ranking at county scale
//! (5,000 open cases, 500 experts) and at province scale (100,000 open cases, 30,000 experts),
//! on a real SQLite store holding real person and case documents.
//!
//! `cargo bench --bench triage` (release). Prints one figure per line (`name: value`), then a
//! table of both scales. Environment:
//! - `YIZHAN_BENCH_SCALE` (`county`, `province` or `both`, the default).
//! - `YIZHAN_BENCH_ITERS` (default 1000): measured iterations of the queue page and of one
//!   ranking; the cold directory loads run `min(ITERS, 300)` times. A warm-up precedes each.
//! - `YIZHAN_BENCH_DIR`: data directory to use (one sub-directory per scale, kept afterwards,
//!   e.g. for `EXPLAIN QUERY PLAN` in `sqlite3`); default a temporary one.
//!
//! Setup per scale, with a fixed seed: experts as person documents (`NewPerson::build`, 1,000
//! per transaction): mostly county level, some city and province, 1-2 of the 13 industries,
//! 1-4 specialities, mostly available, a few inactive. Cases as case documents (`CaseDoc::create`
//! and `append_event`, with 0-3 photo attachments: the blobs themselves are not stored) in a
//! village of the centre, arriving in batches of 50 (county) or 250 (province) per transaction,
//! the way sync applies a received batch; the hub's clock is set to each batch's arrival, so the
//! clocks start at realistic, varied times (cases arriving out of working hours share their
//! deadline, as in production; a case's events arrive together, so a clock its later events
//! stop stops at once: only running clocks, which the queue shows, have realistic spans).
//! Open cases wait for triage, an expert's answer or an on-site visit; at county scale 5 % were
//! escalated up to the city (held, not measured, by the county); at province scale every open
//! case went up county → city → province. Finished cases, a fifth as many (answered, closed,
//! followed up, most rated), give experts a record. Then
//! `hub::service::refresh_all` computes the clocks this hub measures (and records the breaches
//! of the backlog), as the hub does after a policy change, at "now" = 2025-06-10 15:00 (UTC+8).
//!
//! Measured, on the `Db` directly (the desk reaches it through the store actor: one channel hop
//! more): the queue page's data exactly as `hub/src/desk/queue.rs` `home` gets it (the policy, three
//! queues of 50 rows, the overdue and nearly-due counts and list: six `count_running` and three
//! more `clock_queue` calls), also with its three queue sections rendered by
//! `desk::queue_sections` (the overdue list and the page frame are rendered inline in `home` and
//! are not included); one ranking (load a random open case of the centre, `CaseDoc::from_doc`,
//! `service::suggestions` with a warm directory); and the cold directory load (`experts_for`,
//! `expert_records`), which the cache repeats at most every 5 s while the store changes.
//!
//! Figures (README "Measured"): the setup's `refresh_all` dominates the province's setup; it
//! committed once per case and once per breach record (`synchronous=FULL`) until each round
//! became one transaction (county scale 15.2 s before, 9.6 s after); the covering index
//! `cases_by_expert (expert, status, rating, breaches)` took `expert_records` at province scale
//! from p50 149 ms / p99 190 ms (index on `(expert, status)`, a table lookup per assigned case)
//! to 25 / 33 ms.
#![allow(clippy::unwrap_used)]

#[path = "triage/fixture.rs"]
mod fixture;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use yizhan_core::CaseDoc;
use yizhan_hub::desk;
use yizhan_hub::service::{self, Directory, SUGGESTIONS_MAX};
use yizhan_store::{Db, StoreClock, StoreConfig};

use fixture::{COUNTY, NOW_MS, PROVINCE, SEED, Scale, Setup, setup};

const WARMUP: usize = 30;
const COLD_ITERS_MAX: usize = 300;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok()).unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// The queue page: its data as `hub/src/desk/queue.rs` `home` gets it (`desk::queue_page`, from `hub::service::centre`), and
/// (with `render`) its three queue sections (`desk::queue_sections`).
fn queue_page(db: &Db, region: &str, now: i64, render: bool) -> (usize, i64, i64, usize) {
    let page = desk::queue_page(db, region, now).unwrap();
    let html = if render {
        desk::queue_sections(&page.policy, [&page.triage, &page.response, &page.followup], now).0.len()
    } else {
        0
    };
    let rows = page.triage.len() + page.response.len() + page.followup.len() + page.urgent.len();
    (rows, page.overdue, page.nearly, html)
}

struct Stats {
    p50: f64,
    p99: f64,
    max: f64,
    n: usize,
}

fn measure(iters: usize, mut f: impl FnMut()) -> Stats {
    for _ in 0..WARMUP.min(iters) {
        f();
    }
    let mut lat = Vec::with_capacity(iters);
    for _ in 0..iters {
        let t = Instant::now();
        f();
        lat.push(t.elapsed());
    }
    lat.sort();
    Stats {
        p50: ms(percentile(&lat, 0.5)),
        p99: ms(percentile(&lat, 0.99)),
        max: ms(percentile(&lat, 1.0)),
        n: lat.len(),
    }
}

struct Row {
    scale: &'static Scale,
    setup: Setup,
    queue: Stats,
    queue_html: Stats,
    ranking: Stats,
    ranking_load: Stats,
    experts_for: Stats,
    expert_records: Stats,
}

fn run(scale: &'static Scale, base: &Path, iters: usize) -> Row {
    let dir = base.join(scale.name);
    if dir.join("yizhan.sqlite3").exists() {
        panic!("{} already holds a database: give YIZHAN_BENCH_DIR an empty directory", dir.display());
    }
    std::fs::create_dir_all(&dir).unwrap();
    let clock = Arc::new(AtomicI64::new(NOW_MS));
    let mut config = StoreConfig::new(&dir);
    let c = clock.clone();
    config.clock = StoreClock(Arc::new(move || c.load(Ordering::Relaxed)));
    let mut db = Db::open(config).unwrap();
    let mut rng = StdRng::seed_from_u64(SEED);

    println!("scale: {} (centre {})", scale.name, scale.centre);
    println!("experts: {}", scale.experts);
    println!("open_cases: {}", scale.open);
    println!("finished_cases: {}", scale.finished);
    let setup = setup(scale, &mut db, &clock, &mut rng);
    println!("open_cases_at_centre: {}", setup.at_centre.len());
    println!("setup_experts_s: {:.1}", setup.experts_s);
    println!("setup_cases_s: {:.1} (of it storing: {:.1})", setup.cases_s, setup.cases_insert_s);
    println!("refresh_all_s: {:.1}", setup.refresh_s);
    {
        let conn = db.conn();
        let mut stmt = conn
            .prepare(
                "SELECT kind, COUNT(*), SUM(stopped_ms IS NULL), SUM(stopped_ms IS NULL AND due_ms < ?1)
                 FROM case_clocks GROUP BY kind ORDER BY kind",
            )
            .unwrap();
        let rows = stmt
            .query_map([NOW_MS], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?, r.get::<_, i64>(3)?))
            })
            .unwrap();
        for row in rows {
            let (kind, all, running, overdue) = row.unwrap();
            println!("clocks_{kind}: {all} ({running} running, {overdue} overdue)");
        }
        let breached: i64 =
            conn.query_row("SELECT COUNT(*) FROM cases WHERE breaches > 0", [], |r| r.get(0)).unwrap();
        println!("cases_with_breach_records: {breached}");
    }
    println!("sqlite_mib: {:.1}", mib(setup.sqlite_bytes));
    println!("sqlite_wal_mib: {:.1}", mib(setup.wal_bytes));

    let (rows, overdue, nearly, html) = queue_page(&db, scale.centre, NOW_MS, true);
    println!(
        "queue_page_rows: {rows} (overdue {overdue}, nearly due {nearly}; queue sections {html} bytes of HTML)"
    );
    let queue = measure(iters, || {
        std::hint::black_box(queue_page(&db, scale.centre, NOW_MS, false));
    });
    let queue_html = measure(iters, || {
        std::hint::black_box(queue_page(&db, scale.centre, NOW_MS, true));
    });

    let directory = Directory::default();
    let mut pick = StdRng::seed_from_u64(SEED ^ 1);
    let (mut suggested, mut matched, mut escalate, mut ranked) = (0usize, 0usize, 0usize, 0usize);
    let mut load_lat = Vec::new();
    let ranking = measure(iters, || {
        let id = setup.at_centre.choose(&mut pick).unwrap();
        let t = Instant::now();
        let doc = db.load_doc(id).unwrap().unwrap();
        let case = CaseDoc::from_doc(&doc).unwrap();
        load_lat.push(t.elapsed());
        let s = service::suggestions(&directory, &db, scale.centre, &case, SUGGESTIONS_MAX).unwrap();
        suggested += s.len();
        matched += s.iter().filter(|x| x.industry_match).count();
        escalate += usize::from(yizhan_core::ranking::suggest_escalation(scale.centre, &s));
        ranked += 1;
        std::hint::black_box(s);
    });
    let mut load = load_lat.split_off(load_lat.len() - ranking.n);
    load.sort();
    let ranking_load = Stats {
        p50: ms(percentile(&load, 0.5)),
        p99: ms(percentile(&load, 0.99)),
        max: ms(percentile(&load, 1.0)),
        n: load.len(),
    };
    println!(
        "suggestions_per_ranking: {:.1} ({:.0} % industry match, escalation proposed for {:.1} % of cases)",
        suggested as f64 / ranked as f64,
        100.0 * matched as f64 / suggested.max(1) as f64,
        100.0 * escalate as f64 / ranked as f64
    );

    let cold = iters.min(COLD_ITERS_MAX);
    let experts_for = measure(cold, || {
        std::hint::black_box(db.experts_for(scale.centre).unwrap());
    });
    println!("experts_for_rows: {}", db.experts_for(scale.centre).unwrap().len());
    let expert_records = measure(cold, || {
        std::hint::black_box(db.expert_records().unwrap());
    });
    println!("expert_records_rows: {}", db.expert_records().unwrap().len());

    for (name, s) in [
        ("queue_page", &queue),
        ("queue_page_rendered", &queue_html),
        ("ranking", &ranking),
        ("ranking_load_case", &ranking_load),
        ("directory_experts_for", &experts_for),
        ("directory_expert_records", &expert_records),
    ] {
        println!("{name}_ms: p50 {:.2}, p99 {:.2}, max {:.2} ({} runs)", s.p50, s.p99, s.max, s.n);
    }
    println!();
    Row { scale, setup, queue, queue_html, ranking, ranking_load, experts_for, expert_records }
}

fn main() {
    let which = std::env::var("YIZHAN_BENCH_SCALE").unwrap_or_else(|_| "both".into());
    let scales: Vec<&'static Scale> = match which.trim() {
        "county" => vec![&COUNTY],
        "province" => vec![&PROVINCE],
        "both" | "" => vec![&COUNTY, &PROVINCE],
        other => panic!("YIZHAN_BENCH_SCALE={other}: expected county, province or both"),
    };
    let iters = env_usize("YIZHAN_BENCH_ITERS", 1000).max(1);
    let (_tmp, base) = match std::env::var_os("YIZHAN_BENCH_DIR") {
        Some(d) => (None, PathBuf::from(d)),
        None => {
            let t = tempfile::tempdir().unwrap();
            let p = t.path().to_path_buf();
            (Some(t), p)
        }
    };
    let rows: Vec<Row> = scales.into_iter().map(|s| run(s, &base, iters)).collect();

    // One column per scale.
    let lat = |f: &dyn Fn(&Row) -> &Stats| -> Vec<String> {
        rows.iter()
            .map(|r| {
                let s = f(r);
                format!("{:.2} / {:.2} / {:.2}", s.p50, s.p99, s.max)
            })
            .collect()
    };
    let table: Vec<(&str, Vec<String>)> = vec![
        (
            "experts; open cases (waiting at the centre)",
            rows.iter()
                .map(|r| format!("{}; {} ({})", r.scale.experts, r.scale.open, r.setup.at_centre.len()))
                .collect(),
        ),
        (
            "setup: experts + cases (of it storing) + refresh_all, s",
            rows.iter()
                .map(|r| {
                    let s = &r.setup;
                    format!(
                        "{:.1} + {:.1} ({:.1}) + {:.1}",
                        s.experts_s, s.cases_s, s.cases_insert_s, s.refresh_s
                    )
                })
                .collect(),
        ),
        (
            "SQLite database (+ WAL), MiB",
            rows.iter()
                .map(|r| format!("{:.1} (+ {:.1})", mib(r.setup.sqlite_bytes), mib(r.setup.wal_bytes)))
                .collect(),
        ),
        ("queue page data p50 / p99 / max, ms", lat(&|r| &r.queue)),
        ("queue page data + queue sections rendered, ms", lat(&|r| &r.queue_html)),
        ("one ranking (warm directory), ms", lat(&|r| &r.ranking)),
        ("of it: load and read the case, ms", lat(&|r| &r.ranking_load)),
        ("cold directory: experts_for, ms", lat(&|r| &r.experts_for)),
        ("cold directory: expert_records, ms", lat(&|r| &r.expert_records)),
    ];
    println!("| | {} |", rows.iter().map(|r| r.scale.name).collect::<Vec<_>>().join(" | "));
    println!("| --- |{}", " --- |".repeat(rows.len()));
    for (what, cells) in table {
        println!("| {what} | {} |", cells.join(" | "));
    }
}
