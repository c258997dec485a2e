//! Statistics rollups on a real SQLite store: after random sequences of case events written on
//! several forks of each document (concurrent, out of order, late, duplicated when the forks
//! merge), the rollups equal a recount from the documents, both through the same rule
//! (`core::stats::contribution` summed per case) and by an independent brute-force count of
//! the simple measures; a rebuild reproduces them exactly.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use automerge::AutoCommit;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use yizhan_core::stats::{self, Counts, GroupBy, Period, Query};
use yizhan_core::{CaseDoc, Event, EventKind, Industry, NewCase, RegionCode, Status};
use yizhan_store::{Db, StoreConfig};

/// Villages in two counties of two cities, and a town-level case.
const REGIONS: [&str; 6] =
    ["510131001001", "510131001002", "510131002003", "510104017001", "510104017002", "510104017"];
const CASES: usize = 24;
const STEPS: usize = 260;
const FORKS: usize = 3;
const SEEDS: u64 = 8;
/// Months recorded span 2025-11 .. 2026-02 (UTC+8): 2025-11-01T00:00+08:00 and 30 days a step.
const START_MS: i64 = 1_761_926_400_000;

fn random_event(rng: &mut StdRng, case: &str, n: usize, base_ms: i64) -> Event {
    let kinds = [
        EventKind::SimilarOffered,
        EventKind::SolvedBySimilar,
        EventKind::Escalated,
        EventKind::Assigned,
        EventKind::EscalatedUp,
        EventKind::Answered,
        EventKind::OnSiteRequested,
        EventKind::OnSiteDispatched,
        EventKind::OnSiteVisited,
        EventKind::Closed,
        EventKind::Rated,
        EventKind::FollowedUp,
        EventKind::Breach,
    ];
    let kind = kinds[rng.random_range(0..kinds.len())].clone();
    // Roughly in the service's order (a day per step), with overlaps: out of order within
    // about a day and a half, whatever was written before.
    let rank = |k: &EventKind| {
        [0, 1, 1, 2, 3, 4, 4, 5, 6, 7, 8, 9, 5][kinds.iter().position(|x| x == k).unwrap_or(0)]
    };
    let (id, kind, at) = if kind == EventKind::Breach {
        // Breach records have ids derived from the clock (two hubs noticing the same breach
        // write one id, at different times): one id per clock here, so forks duplicate them.
        // Other events have unique ids; the same change also reaches the store twice, directly
        // and through another fork that merged it.
        let category = ["triage", "response", "followup"][rng.random_range(0..3)];
        (format!("{case}-breach-{category}"), kind, base_ms + rng.random_range(0..10 * 86_400_000))
    } else {
        let at = base_ms + rank(&kind) * 86_400_000 + rng.random_range(0..36 * 3_600_000);
        (format!("{case}-{n}"), kind, at)
    };
    let mut e = Event::new(id, at, "系统", kind.clone());
    match kind {
        EventKind::Assigned => {
            e.target = format!("expert-{}", at % 3);
        }
        EventKind::EscalatedUp => e.target = ["5101", "51", "5102"][(at % 3) as usize].into(),
        EventKind::SolvedBySimilar => e.target = "k1".into(),
        EventKind::Answered => e.text = "答复".into(),
        EventKind::OnSiteDispatched => e.value = 1_000 * (at % 50),
        EventKind::Rated => e.value = 1 + at % 5,
        EventKind::FollowedUp => {
            e.value = at % 2;
            e.category = ["技术指导", "病虫害防治", "市场信息"][(at % 3) as usize].into();
        }
        EventKind::Breach => e.category = e.id.rsplit('-').next().unwrap_or_default().to_string(),
        _ => {}
    }
    e
}

fn new_case(rng: &mut StdRng) -> NewCase {
    NewCase {
        region_code: REGIONS[rng.random_range(0..REGIONS.len())].into(),
        village_name: "村".into(),
        industry: Industry::ALL[rng.random_range(0..4)].code().into(),
        subject: "柑橘".into(),
        description: "黄叶".into(),
        farmer_name: String::new(),
        farmer_phone: String::new(),
        officer: "信息员".into(),
    }
}

/// Every case document in the store, as the recount reads them.
fn all_cases(db: &Db, ids: &[String]) -> Vec<CaseDoc> {
    ids.iter().map(|id| CaseDoc::from_doc(&db.load_doc(id).unwrap().unwrap()).unwrap()).collect()
}

/// The report a query should give, recounted from the documents with the same rule.
fn recount(cases: &[CaseDoc], q: &Query) -> stats::Report {
    let mut totals = Counts::default();
    let mut groups: BTreeMap<String, Counts> = BTreeMap::new();
    let mut categories: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    let mut kiosks = std::collections::BTreeSet::new();
    for case in cases {
        let c = stats::contribution(case, &case.state());
        let inside =
            c.region.starts_with(q.region.as_str()) && (q.period.from..=q.period.to).contains(&c.month);
        if !inside {
            continue;
        }
        totals.add(&c.counts);
        kiosks.insert(c.kiosk.clone());
        if !c.category.is_empty() {
            let e = categories.entry(c.category.clone()).or_default();
            e.0 += c.counts.followed_up;
            e.1 += c.counts.valid;
        }
        let key = match q.by {
            None => continue,
            Some(GroupBy::Industry) => c.industry.clone(),
            Some(GroupBy::ExpertLevel) => c.expert_level.to_string(),
            Some(GroupBy::Month) => c.month.to_string(),
            Some(by) => match yizhan_core::region::ancestor_at(&c.region, by.level().unwrap()) {
                Some(a) => a.to_string(),
                None => continue,
            },
        };
        groups.entry(key).or_default().add(&c.counts);
    }
    let categories = categories
        .into_iter()
        .map(|(category, (followed_up, valid))| stats::CategoryCount { category, followed_up, valid })
        .collect();
    stats::report(q, totals, groups.into_iter().collect(), categories, kiosks.len() as i64)
}

/// The simple measures counted straight from the documents, without the rule.
fn brute_force(cases: &[CaseDoc], region: &str, period: &Period) -> (i64, i64, i64, i64) {
    let (mut recorded, mut escalated, mut closed, mut rating_sum) = (0, 0, 0, 0);
    for case in cases {
        let month = stats::month_of_ms(case.created_at_ms);
        if !case.region_code.starts_with(region) || month < period.from || month > period.to {
            continue;
        }
        let st = case.state();
        recorded += 1;
        if case.events.iter().any(|e| e.kind == "escalated" && !st.ignored_events.contains(&e.id)) {
            escalated += 1;
        }
        if matches!(st.status, Status::Closed | Status::FollowedUp) {
            closed += 1;
        }
        rating_sum += st.rating.unwrap_or(0);
    }
    (recorded, escalated, closed, rating_sum)
}

fn rollup_rows(db: &mut Db) -> Vec<String> {
    let cols = Counts::NAMES.join(" || ',' || ");
    let mut stmt = db
        .conn()
        .prepare(&format!(
            "SELECT dim || '|' || level || '|' || region || '|' || month || '|' || key || '|' || {cols}
             FROM stats_rollup ORDER BY dim, level, region, month, key"
        ))
        .unwrap();
    let rows: Vec<String> = stmt.query_map([], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap();
    // Rows summed back to zero are equivalent to absent rows.
    rows.into_iter().filter(|r| !r.rsplit('|').next().unwrap().split(',').all(|v| v == "0")).collect()
}

fn queries() -> Vec<Query> {
    let periods = [
        Period::new(202511, 202602).unwrap(),
        Period::new(202512, 202512).unwrap(),
        Period::new(202601, 202603).unwrap(),
    ];
    let regions = ["51", "5101", "510131", "510131001", "510131001001", "510104017", "510104017002"];
    let mut out = Vec::new();
    for r in regions {
        let region = RegionCode::parse(r).unwrap();
        for p in periods {
            let mut bys: Vec<Option<GroupBy>> = vec![None];
            bys.extend(GroupBy::ALL.into_iter().filter(|b| b.check_for(&region).is_ok()).map(Some));
            for by in bys {
                out.push(Query { region: region.clone(), period: p, by });
            }
        }
    }
    out
}

fn check_all(db: &mut Db, ids: &[String], seed: u64, step: usize) {
    let cases = all_cases(db, ids);
    for q in queries() {
        let got = db.stats_report(&q).unwrap();
        let want = recount(&cases, &q);
        assert_eq!(got, want, "seed {seed} step {step}: {q:?}");
        let (recorded, escalated, closed, rating_sum) = brute_force(&cases, q.region.as_str(), &q.period);
        let t = &got.totals.counts;
        assert_eq!(
            (t.cases, t.escalated, t.closed, t.rating_sum),
            (recorded, escalated, closed, rating_sum),
            "seed {seed} step {step}: brute force {q:?}"
        );
    }
}

#[test]
fn rollups_equal_a_recount_after_random_merged_histories() {
    // What the runs reached, so the comparison is known to cover every measure.
    let mut reached = Counts::default();
    for seed in 0..SEEDS {
        let dir = tempfile::tempdir().unwrap();
        let mut db = Db::open(StoreConfig::new(dir.path())).unwrap();
        let mut rng = StdRng::seed_from_u64(seed);
        let mut ids = Vec::new();
        let mut forks: Vec<Vec<AutoCommit>> = Vec::new();
        for i in 0..CASES {
            let id = format!("s{seed}-c{i}");
            let created_ms = START_MS + rng.random_range(0..120) * 86_400_000;
            let created = Event::new(format!("{id}-created"), created_ms, "信息员", EventKind::Created);
            let kiosk = format!("kiosk-{}", rng.random_range(0..3));
            let (_, mut doc) = CaseDoc::create(&new_case(&mut rng), &id, &kiosk, created).unwrap();
            db.create_doc(&id, "case", &mut doc).unwrap();
            forks.push((0..FORKS).map(|_| doc.fork()).collect());
            ids.push(id);
        }
        for step in 0..STEPS {
            let i = rng.random_range(0..CASES);
            let f = rng.random_range(0..FORKS);
            let base = CaseDoc::from_doc(&forks[i][f]).unwrap().created_at_ms;
            let ev = random_event(&mut rng, &ids[i], step, base);
            // A refused event (a bound) changes nothing; most apply.
            let _ = CaseDoc::append_event(&mut forks[i][f], ev);
            forks[i][f].commit();
            // Some forks reach the store late, some never until the end.
            if rng.random_bool(0.4) {
                let mut fork = forks[i][f].clone();
                db.update_doc(&ids[i], |doc| doc.merge(&mut fork).map(|_| ())).unwrap().unwrap();
            }
            // A fork sometimes learns what the store holds (a sync down).
            if rng.random_bool(0.2) {
                let mut stored = db.load_doc(&ids[i]).unwrap().unwrap();
                forks[i][f].merge(&mut stored).unwrap();
            }
            if step % 65 == 64 {
                check_all(&mut db, &ids, seed, step);
            }
        }
        // Every fork arrives in the end (late events change past months' figures).
        for (i, fs) in forks.iter_mut().enumerate() {
            for fork in fs.iter_mut() {
                let mut fork = fork.clone();
                db.update_doc(&ids[i], |doc| doc.merge(&mut fork).map(|_| ())).unwrap().unwrap();
            }
        }
        check_all(&mut db, &ids, seed, STEPS);
        let before = rollup_rows(&mut db);
        assert!(!before.is_empty());
        db.rebuild_projections().unwrap();
        assert_eq!(rollup_rows(&mut db), before, "seed {seed}: a rebuild gives the same rollups");
        check_all(&mut db, &ids, seed, STEPS + 1);
        let q = Query {
            region: RegionCode::parse("51").unwrap(),
            period: Period::new(202511, 202602).unwrap(),
            by: None,
        };
        reached.add(&db.stats_report(&q).unwrap().totals.counts);
    }
    eprintln!("{reached:?}");
    for (name, v) in Counts::NAMES.iter().zip(reached.to_array()) {
        assert!(v > 0, "no run reached {name}");
    }
}

#[test]
fn a_case_counts_in_the_month_it_was_recorded_and_late_closures_change_that_month() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = Db::open(StoreConfig::new(dir.path())).unwrap();
    let created = Event::new("c-created", START_MS + 86_400_000, "信息员", EventKind::Created);
    let new = NewCase {
        region_code: "510131001001".into(),
        industry: "tea".into(),
        subject: "茶".into(),
        description: "病".into(),
        officer: "信息员".into(),
        ..NewCase::default()
    };
    let (_, mut doc) = CaseDoc::create(&new, "c", "kiosk-1", created).unwrap();
    db.create_doc("c", "case", &mut doc).unwrap();
    let q = |from, to| Query {
        region: RegionCode::parse("510131").unwrap(),
        period: Period::new(from, to).unwrap(),
        by: Some(GroupBy::Industry),
    };
    let nov = db.stats_report(&q(202511, 202511)).unwrap();
    assert_eq!(nov.totals.counts.cases, 1);
    assert_eq!(nov.totals.counts.closed, 0);
    assert_eq!(nov.groups.iter().find(|g| g.key == "tea").unwrap().figures.counts.cases, 1);
    assert_eq!(nov.groups.len(), Industry::ALL.len());
    assert_eq!(db.stats_report(&q(202512, 202512)).unwrap().totals.counts.cases, 0);
    // Solved by a similar case and closed two months later: November's figures change.
    for (id, kind, days) in [("s", EventKind::SolvedBySimilar, 2), ("x", EventKind::Closed, 60)] {
        let mut e = Event::new(id, START_MS + days * 86_400_000, "信息员", kind);
        e.target = "k1".into();
        db.update_doc("c", |doc| CaseDoc::append_event(doc, e)).unwrap().unwrap();
    }
    let nov = db.stats_report(&q(202511, 202511)).unwrap();
    assert_eq!((nov.totals.counts.closed, nov.totals.counts.solved_by_similar), (1, 1));
    assert_eq!(nov.totals.rates.solved_by_similar, Some(1.0));
    assert_eq!(nov.active_kiosks, 1);
    assert_eq!(db.stats_report(&q(202601, 202601)).unwrap().totals.counts.closed, 0);
    // Another county sees none of it.
    let other = Query {
        region: RegionCode::parse("510105").unwrap(),
        period: Period::new(202511, 202511).unwrap(),
        by: None,
    };
    assert_eq!(db.stats_report(&other).unwrap().totals.counts, Counts::default());
}
