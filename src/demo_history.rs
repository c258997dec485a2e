//! A year of synthetic service history for `yizhan demo`, so a newcomer opening 统计 sees
//! meaningful figures: cases in several cities and counties, every month of the last twelve,
//! every status, with breaches, on-site visits, ratings and follow-ups. Built in bulk (one
//! transaction per hub, events written straight into the documents, no service calls) so the
//! demo still starts in seconds; the rollups are kept by the same projection code as any case.
//! Cases of 蒲江县 go to the county hub (and sync up); the others to the province hub.

use automerge::AutoCommit;
use yizhan_core::{CaseDoc, Event, EventKind, Industry, NewCase, RegionLevel, regions};

/// Counties with history: (county, cases per month).
const COUNTIES: [(&str, u32); 8] = [
    ("510131", 14), // 蒲江县 (the demo's county hub)
    ("510104", 6),  // 成都 锦江区
    ("510129", 8),  // 成都 大邑县
    ("510703", 6),  // 绵阳 涪城区
    ("510781", 7),  // 绵阳 江油市
    ("511302", 6),  // 南充 顺庆区
    ("511502", 5),  // 宜宾 翠屏区
    ("513401", 5),  // 凉山 西昌市
];
const MONTHS: i64 = 12;
const MARKER: &str = "demo.history";
const DAY_MS: i64 = 86_400_000;

/// A small deterministic generator (xorshift64*): the demo's history is the same every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// The villages of a county the history uses: three in each of its first two towns.
fn villages(county: &str) -> Vec<String> {
    regions()
        .children(county)
        .iter()
        .take(2)
        .flat_map(|t| (1..=3).map(move |v| format!("{}{v:03}", t.code)))
        .filter(|v| RegionLevel::of(v) == Some(RegionLevel::Village))
        .collect()
}

/// The demo's officer of a village with a kiosk (`src/demo.rs`) and the county expert of an
/// industry, in 蒲江县; elsewhere nobody signed in and a stand-in expert.
fn demo_people(village: &str, industry: Industry) -> (&'static str, &'static str) {
    let officer = match village {
        "510131001001" => "officer-1",
        "510131002001" => "officer-2",
        _ => "",
    };
    if yizhan_core::region::ancestor_at(village, RegionLevel::County) != Some("510131") {
        return (officer, "expert-demo");
    }
    let expert = match industry.code() {
        "fruit" => "expert-fruit",
        "tea" => "expert-tea",
        "vegetable" | "grain_oil" => "expert-veg",
        "pig" | "cattle_sheep" => "expert-pig",
        _ => "expert-demo",
    };
    (officer, expert)
}

/// One case with a random path through the service.
fn case(rng: &mut Rng, id: &str, village: &str, created_ms: i64) -> anyhow::Result<AutoCommit> {
    let industry = Industry::ALL[rng.below(Industry::ALL.len() as u64) as usize];
    let new = NewCase {
        region_code: village.into(),
        village_name: "示范村".into(),
        industry: industry.code().into(),
        subject: industry.name_zh().into(),
        description: "演示历史数据".into(),
        officer: "演示信息员".into(),
        ..NewCase::default()
    };
    let county = yizhan_core::region::ancestor_at(village, RegionLevel::County).unwrap_or(village);
    let kiosk = format!("kiosk-{village}");
    let created = Event::new(format!("{id}-created"), created_ms, "演示信息员", EventKind::Created);
    // In 蒲江县 the demo's own officers and experts hold the cases (so 考评 shows people).
    let (officer_id, expert) = demo_people(village, industry);
    let (mut case, doc) = CaseDoc::create_by(&new, id, &kiosk, created, officer_id)?;
    // Events are collected and written into the document once (appending them one by one
    // re-reads and re-writes the whole document each time: ten times slower in a debug build).
    let mut events: Vec<Event> = Vec::new();
    let mut at = created_ms;
    let mut step = |events: &mut Vec<Event>, kind: EventKind, f: &dyn Fn(&mut Event)| -> anyhow::Result<()> {
        at += 20 * 60_000;
        let mut e = Event::new(format!("{id}-{}", kind.code()), at, "演示", kind);
        f(&mut e);
        e.validate()?;
        events.push(e);
        Ok(())
    };
    let breach = |clock: &'static str| {
        move |e: &mut Event| {
            e.category = clock.into();
            e.text = "超时".into();
        }
    };
    // Where the case stops: 15 % open, 20 % solved by a similar case, the rest to an expert.
    let path = rng.below(100);
    if path < 15 {
        return finish(&mut case, doc, events);
    }
    if path < 35 {
        step(&mut events, EventKind::SolvedBySimilar, &|e| e.target = "demo-knowledge".into())?;
        if rng.chance(70) {
            step(&mut events, EventKind::Closed, &|_| {})?;
        }
        return finish(&mut case, doc, events);
    }
    step(&mut events, EventKind::Escalated, &|_| {})?;
    if rng.chance(12) {
        step(&mut events, EventKind::Breach, &breach("triage"))?;
    }
    if path < 42 {
        return finish(&mut case, doc, events); // waiting for triage
    }
    let up = rng.chance(10);
    if up {
        let city = yizhan_core::region::ancestor_at(county, RegionLevel::City).unwrap_or("51").to_string();
        step(&mut events, EventKind::EscalatedUp, &|e| e.target = city.clone())?;
    }
    step(&mut events, EventKind::Assigned, &|e| {
        e.target = expert.into();
        e.text = "演示专家".into();
    })?;
    if rng.chance(15) {
        step(&mut events, EventKind::Breach, &breach("response"))?;
    }
    if path < 50 {
        return finish(&mut case, doc, events); // waiting for the answer
    }
    if rng.chance(15) {
        step(&mut events, EventKind::OnSiteRequested, &|_| {})?;
        let fen = 5_000 + 1_000 * rng.below(40) as i64;
        step(&mut events, EventKind::OnSiteDispatched, &|e| e.value = fen)?;
        if path < 55 {
            return finish(&mut case, doc, events); // on site
        }
        step(&mut events, EventKind::OnSiteVisited, &|_| {})?;
    }
    step(&mut events, EventKind::Answered, &|e| e.text = "演示答复".into())?;
    if path < 62 {
        return finish(&mut case, doc, events); // answered, not closed yet
    }
    step(&mut events, EventKind::Closed, &|_| {})?;
    let rating = [5, 5, 5, 4, 4, 3, 2][rng.below(7) as usize];
    step(&mut events, EventKind::Rated, &|e| e.value = rating)?;
    if path < 72 {
        return finish(&mut case, doc, events); // closed, waiting for the call
    }
    if rng.chance(10) {
        step(&mut events, EventKind::Breach, &breach("followup"))?;
    }
    let valid = i64::from(rng.chance(88));
    let category = ["技术指导", "病虫害防治", "市场信息", "政策咨询"][rng.below(4) as usize];
    step(&mut events, EventKind::FollowedUp, &|e| {
        e.value = valid;
        e.category = category.into();
    })?;
    finish(&mut case, doc, events)
}

fn finish(case: &mut CaseDoc, mut doc: AutoCommit, events: Vec<Event>) -> anyhow::Result<AutoCommit> {
    if !events.is_empty() {
        case.events.extend(events);
        autosurgeon::reconcile(&mut doc, &*case)?;
    }
    Ok(doc)
}

/// Writes the history into the hubs, once (a later start finds the marker).
pub async fn seed(
    province: &yizhan_hub::Hub,
    county: &yizhan_hub::Hub,
    county_scope: &str,
    now_ms: i64,
) -> anyhow::Result<usize> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let (mut at_county, mut at_province) = (Vec::new(), Vec::new());
    for (county_code, per_month) in COUNTIES {
        let villages = villages(county_code);
        anyhow::ensure!(!villages.is_empty(), "no towns known in county {county_code}");
        for month in 0..MONTHS {
            // Spread over the 30 days of each month back from now.
            for n in 0..per_month {
                let created =
                    now_ms - (month * 30 + rng.below(30) as i64) * DAY_MS - rng.below(DAY_MS as u64) as i64;
                let village = &villages[rng.below(villages.len() as u64) as usize];
                let id = format!("demo-history-{county_code}-{month:02}-{n:02}");
                let doc = case(&mut rng, &id, village, created.max(0))?;
                if county_code == county_scope {
                    at_county.push((id, yizhan_core::case::DOC_TYPE, doc));
                } else {
                    at_province.push((id, yizhan_core::case::DOC_TYPE, doc));
                }
            }
        }
    }
    let mut written = 0;
    for (hub, docs) in [(county, at_county), (province, at_province)] {
        written += hub
            .store
            .call(move |db| {
                if db.setting(MARKER)?.is_some() {
                    return Ok(0);
                }
                let n = docs.len();
                db.create_docs_with(docs, Vec::new(), &[])?;
                db.set_setting(MARKER, "1")?;
                Ok(n)
            })
            .await?;
    }
    Ok(written)
}
