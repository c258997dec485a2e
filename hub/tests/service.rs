//! The expert service at a county hub over a real SQLite store with an injected clock:
//! authorised actions (and refusals that change nothing), clocks measured on the hub's time,
//! breach records, the triage queue order, an expert's work list and service rows.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use yizhan_core::clock::{ClockKind, HOUR_MS, MINUTE_MS};
use yizhan_core::{Actor, CaseDoc, Event, EventKind, NewCase, NewPerson, Person, RegionCode, Role, Status};
use yizhan_hub::service::{self, ActError, ActInput};
use yizhan_store::{Db, ServiceFilter, StoreClock, StoreConfig};

const COUNTY: &str = "510104";
const VILLAGE: &str = "510104017001";
/// 2026-11-30T09:00+08:00, a Monday, inside the default working hours (08:00-18:00).
const MONDAY_9AM: i64 = 1_795_968_000_000 + 9 * HOUR_MS;

struct Hub {
    db: Db,
    now: Arc<AtomicI64>,
    _dir: tempfile::TempDir,
}

impl Hub {
    fn open() -> Hub {
        let dir = tempfile::tempdir().unwrap();
        let now = Arc::new(AtomicI64::new(MONDAY_9AM));
        let clock = now.clone();
        let mut config = StoreConfig::new(dir.path());
        config.clock = StoreClock(Arc::new(move || clock.load(Ordering::SeqCst)));
        let mut db = Db::open(config).unwrap();
        for (id, role, region, industries) in [
            ("staff-1", "staff", COUNTY, vec![]),
            ("staff-other", "staff", "510105", vec![]),
            ("expert-fruit", "expert", COUNTY, vec!["fruit".to_string()]),
            ("expert-pig", "expert", COUNTY, vec!["pig".to_string()]),
            ("officer-1", "officer", VILLAGE, vec![]),
        ] {
            let (p, _) = NewPerson {
                id: id.into(),
                name: format!("名{id}"),
                role: role.into(),
                region_code: region.into(),
                industries,
                specialities: vec!["柑橘病害".into()],
                title: "农艺师".into(),
                ..Default::default()
            }
            .build(0)
            .unwrap();
            db.create_doc(&Person::doc_id(id), yizhan_core::people::DOC_TYPE, &mut p.to_doc().unwrap())
                .unwrap();
        }
        Hub { db, now, _dir: dir }
    }

    fn at(&self, ms: i64) {
        self.now.store(ms, Ordering::SeqCst);
    }

    /// A case as it arrives from a kiosk whose clock is a day behind: created and escalated.
    fn receive_case(&mut self, id: &str) {
        let kiosk_time = 1_000;
        let new = NewCase {
            region_code: VILLAGE.into(),
            village_name: "和平村".into(),
            industry: "fruit".into(),
            subject: "柑橘".into(),
            description: "叶片发黄有斑点".into(),
            farmer_name: "王大爷".into(),
            farmer_phone: String::new(),
            officer: "officer-1".into(),
        };
        let (_, mut doc) = CaseDoc::create(
            &new,
            id,
            "kiosk-a",
            Event::new(format!("{id}-c"), kiosk_time, "officer-1", EventKind::Created),
        )
        .unwrap();
        CaseDoc::append_event(
            &mut doc,
            Event::new(format!("{id}-e"), kiosk_time + 1, "officer-1", EventKind::Escalated),
        )
        .unwrap();
        self.db.create_doc(id, yizhan_core::case::DOC_TYPE, &mut doc).unwrap();
        service::refresh_case(&mut self.db, COUNTY, "hub-1", id).unwrap();
    }

    fn act(
        &mut self,
        who: &Actor,
        case: &str,
        kind: &str,
        target: &str,
    ) -> Result<yizhan_core::CaseState, ActError> {
        let input = ActInput {
            kind: kind.into(),
            target: target.into(),
            text: if kind == "answered" { "喷施代森锰锌".into() } else { String::new() },
            value: if kind == "followed_up" { 1 } else { 0 },
            category: if kind == "followed_up" { "技术指导".into() } else { String::new() },
        };
        let r = service::act(&mut self.db, who, case, input, uuid());
        service::refresh_case(&mut self.db, COUNTY, "hub-1", case).unwrap();
        r
    }

    fn case(&self, id: &str) -> CaseDoc {
        CaseDoc::from_doc(&self.db.load_doc(id).unwrap().unwrap()).unwrap()
    }

    fn snapshot(&self, id: &str) -> (Vec<u8>, i64) {
        (self.db.load_doc(id).unwrap().unwrap().save(), self.db.feed_head().unwrap())
    }
}

fn uuid() -> String {
    use std::sync::atomic::AtomicU64;
    static N: AtomicU64 = AtomicU64::new(0);
    format!("ev-{}", N.fetch_add(1, Ordering::SeqCst))
}

fn actor(id: &str, role: Role, region: &str) -> Actor {
    Actor { person_id: id.into(), name: id.into(), role, region: RegionCode::parse(region).unwrap() }
}

#[test]
fn refused_actions_change_nothing_and_allowed_ones_apply_on_the_hub_clock() {
    let mut hub = Hub::open();
    hub.receive_case("c1");
    let staff = actor("staff-1", Role::Staff, COUNTY);
    let expert = actor("expert-fruit", Role::Expert, COUNTY);
    let officer = actor("officer-1", Role::Officer, VILLAGE);

    let before = hub.snapshot("c1");
    for (who, kind, target) in [
        (&officer, "assigned", "expert-fruit"),
        (&actor("staff-other", Role::Staff, "510105"), "assigned", "expert-fruit"),
        (&expert, "answered", ""),
        (&staff, "closed", ""),
        (&staff, "breach", "x"),
        (&staff, "assigned", "no-such-expert"),
        (&staff, "assigned", "officer-1"),
        (&staff, "followed_up", ""),
    ] {
        let r = hub.act(who, "c1", kind, target);
        assert!(r.is_err(), "{} {kind} must be refused", who.person_id);
        assert!(!r.unwrap_err().message_zh().is_empty());
        assert_eq!(hub.snapshot("c1"), before, "a refused {kind} changed nothing");
    }
    assert!(matches!(hub.act(&staff, "nope", "assigned", "expert-fruit"), Err(ActError::NotFound)));

    hub.at(MONDAY_9AM + 20 * MINUTE_MS);
    let st = hub.act(&staff, "c1", "assigned", "expert-fruit").unwrap();
    assert_eq!((st.status, st.expert.as_deref()), (Status::AwaitingAnswer, Some("expert-fruit")));
    let case = hub.case("c1");
    let assigned = case.events.iter().find(|e| e.kind() == EventKind::Assigned).unwrap();
    assert_eq!(assigned.at_ms, MONDAY_9AM + 20 * MINUTE_MS, "the hub's time, not the kiosk's");
    assert_eq!(assigned.text, "名expert-fruit · 农艺师", "the expert's name travels to the kiosk");
    assert_eq!(hub.db.expert_cases("expert-fruit", 10).unwrap().len(), 1);
    assert!(hub.db.expert_cases("expert-pig", 10).unwrap().is_empty());

    // Another expert may not answer; the assigned one may.
    assert!(matches!(
        hub.act(&actor("expert-pig", Role::Expert, COUNTY), "c1", "answered", ""),
        Err(ActError::Denied(yizhan_core::Denied::NotAssigned))
    ));
    hub.at(MONDAY_9AM + HOUR_MS);
    assert_eq!(hub.act(&expert, "c1", "answered", "").unwrap().status, Status::Answered);
    assert_eq!(hub.act(&officer, "c1", "closed", "").unwrap().status, Status::Closed);
    assert_eq!(hub.act(&staff, "c1", "followed_up", "").unwrap().status, Status::FollowedUp);

    // Clocks measured on the hub's time: triage 20 min, response 40 min, all in time.
    let rows = hub.db.service_rows(&ServiceFilter { region: COUNTY.into(), ..Default::default() }).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].triage_minutes, rows[0].response_minutes, rows[0].breaches), (Some(20), Some(40), 0));
    assert_eq!(rows[0].followup_valid, 1);
    // Out of region: nothing.
    assert!(
        hub.db
            .service_rows(&ServiceFilter { region: "510105".into(), ..Default::default() })
            .unwrap()
            .is_empty()
    );
}

#[test]
fn overdue_clocks_are_recorded_once_as_breaches_and_the_queue_is_ordered_by_deadline() {
    let mut hub = Hub::open();
    hub.receive_case("early");
    hub.at(MONDAY_9AM + 30 * MINUTE_MS);
    hub.receive_case("late");
    hub.at(MONDAY_9AM + 35 * MINUTE_MS);
    hub.receive_case("later");

    let q = hub.db.clock_queue(ClockKind::Triage, &["awaiting_triage"], COUNTY, None, 50, 0).unwrap();
    let ids: Vec<&str> = q.iter().map(|r| r.case.id.as_str()).collect();
    assert_eq!(ids, ["early", "late", "later"]);
    assert_eq!(q[0].due_ms, MONDAY_9AM + HOUR_MS, "due one working hour after the hub saw it");

    // 10:10: "early" is overdue, "late" nearly (20 minutes left is not within 15), none recorded yet.
    hub.at(MONDAY_9AM + HOUR_MS + 10 * MINUTE_MS);
    assert_eq!(
        hub.db.count_running(ClockKind::Triage, Some(MONDAY_9AM + HOUR_MS + 10 * MINUTE_MS)).unwrap(),
        1
    );
    let now = MONDAY_9AM + HOUR_MS + 10 * MINUTE_MS;
    let overdue =
        hub.db.clock_queue(ClockKind::Triage, &["awaiting_triage"], COUNTY, Some(now), 50, 0).unwrap();
    assert_eq!(overdue.iter().map(|r| r.case.id.as_str()).collect::<Vec<_>>(), ["early"], "the overdue list");
    let nearly = hub
        .db
        .clock_queue(ClockKind::Triage, &["awaiting_triage"], COUNTY, Some(now + 25 * MINUTE_MS), 50, 0)
        .unwrap();
    assert_eq!(nearly.len(), 2, "overdue and nearly overdue (due within the warning time)");
    assert_eq!(service::breach_round(&mut hub.db, COUNTY, "hub-1").unwrap(), 1);
    assert_eq!(service::breach_round(&mut hub.db, COUNTY, "hub-1").unwrap(), 0, "recorded once");
    let st = hub.case("early").state();
    assert_eq!(st.breaches, vec!["triage".to_string()]);
    let breach = hub.case("early").events.into_iter().find(|e| e.kind() == EventKind::Breach).unwrap();
    assert_eq!((breach.target.as_str(), breach.value), (COUNTY, 10), "the centre, 10 minutes late");
    assert_eq!(
        hub.db.service_rows(&ServiceFilter { region: COUNTY.into(), ..Default::default() }).unwrap()[0]
            .breaches,
        1
    );

    // A refresh (the feed follower sees the breach record) does not record it again.
    service::refresh_all(&mut hub.db, COUNTY, "hub-1").unwrap();
    assert_eq!(hub.case("early").state().breaches.len(), 1);

    // After 18:00 the working day is over: "late" due 10:30, still one breach only for it.
    hub.at(MONDAY_9AM + 10 * HOUR_MS);
    assert_eq!(service::breach_round(&mut hub.db, COUNTY, "hub-1").unwrap(), 2);
    // Assigning stops the triage clock (late), the response clock starts.
    let staff = actor("staff-1", Role::Staff, COUNTY);
    hub.act(&staff, "early", "assigned", "expert-fruit").unwrap();
    let clocks = hub.db.case_clocks("early").unwrap();
    let triage = clocks.iter().find(|c| c.kind == "triage").unwrap();
    assert_eq!(triage.stopped_ms, Some(MONDAY_9AM + 10 * HOUR_MS));
    let response = clocks.iter().find(|c| c.kind == "response").unwrap();
    // Assigned at 19:00 Monday, outside working hours: due Tuesday 11:00.
    assert_eq!(response.due_ms, MONDAY_9AM + 24 * HOUR_MS + 2 * HOUR_MS);
    assert!(
        hub.db.clock_queue(ClockKind::Triage, &["awaiting_triage"], COUNTY, None, 50, 0).unwrap().len() == 2
    );
    assert_eq!(
        hub.db.clock_queue(ClockKind::Response, &["awaiting_answer"], COUNTY, None, 50, 0).unwrap()[0]
            .case
            .id,
        "early"
    );
}

#[test]
fn an_escalated_case_leaves_the_county_queue_for_the_citys() {
    let mut hub = Hub::open();
    hub.receive_case("c1");
    let staff = actor("staff-1", Role::Staff, COUNTY);
    hub.act(&staff, "c1", "escalated_up", "5101").unwrap();
    assert!(
        hub.db.clock_queue(ClockKind::Triage, &["awaiting_triage"], COUNTY, None, 50, 0).unwrap().is_empty()
    );
    assert!(hub.db.case_clocks("c1").unwrap().is_empty(), "the county no longer measures it");
    // The city hub measures it from when it saw the escalation.
    service::refresh_case(&mut hub.db, "5101", "hub-city", "c1").unwrap();
    let q = hub.db.clock_queue(ClockKind::Triage, &["awaiting_triage"], "5101", None, 50, 0).unwrap();
    assert_eq!(q.len(), 1);
    // The county may no longer assign it.
    assert!(matches!(
        hub.act(&staff, "c1", "assigned", "expert-fruit"),
        Err(ActError::Denied(yizhan_core::Denied::NotThisCentre))
    ));
}
