//! The expert service's rules: transitions, permissions, merge order, clocks, ranking.
#![allow(clippy::unwrap_used)]

use automerge::AutoCommit;
use yizhan_core::access::{Action, EventKindCode as K};
use yizhan_core::clock::{self, ClockKind, ClockState, HOUR_MS, MINUTE_MS, ServicePolicy, WorkingHours};
use yizhan_core::ranking::{self, ExpertRecord};
use yizhan_core::{
    Actor, CaseDoc, Denied, Event, EventKind, NewCase, NewPerson, Person, Role, Status, authorize,
};

const VILLAGE: &str = "510104017001"; // 成都市锦江区 ...
const COUNTY: &str = "510104";
const CITY: &str = "5101";
/// 2026-11-30T00:00+08:00, a Monday.
const MONDAY_MS: i64 = 1_795_968_000_000;

fn new_case() -> NewCase {
    NewCase {
        region_code: VILLAGE.into(),
        village_name: "和平村".into(),
        industry: "fruit".into(),
        subject: "柑橘".into(),
        description: "柑橘叶片发黄，有褐色斑点，疑似溃疡病".into(),
        farmer_name: "王大爷".into(),
        farmer_phone: String::new(),
        officer: "officer-1".into(),
    }
}

fn fresh() -> AutoCommit {
    let created = Event::new("e0", 1_000, "officer-1", EventKind::Created);
    CaseDoc::create(&new_case(), "case-1", "kiosk-a", created).unwrap().1
}

fn actor(id: &str, role: Role, region: &str) -> Actor {
    Actor {
        person_id: id.into(),
        name: id.into(),
        role,
        region: yizhan_core::RegionCode::parse(region).unwrap(),
    }
}

fn ev(id: &str, at: i64, kind: EventKind, target: &str) -> Event {
    let mut e = Event::new(id, at, "someone", kind);
    e.target = target.into();
    e
}

fn state(doc: &AutoCommit) -> (CaseDoc, yizhan_core::CaseState) {
    let c = CaseDoc::from_doc(doc).unwrap();
    let s = c.state();
    (c, s)
}

fn may(a: &Actor, action: Action, doc: &AutoCommit) -> Result<(), Denied> {
    let (c, s) = state(doc);
    authorize(a, action, &c, &s)
}

#[test]
fn the_service_loop_moves_through_every_status_and_records_its_details() {
    let mut doc = fresh();
    let steps: Vec<(Event, Status)> = vec![
        (ev("e1", 2_000, EventKind::Escalated, ""), Status::AwaitingTriage),
        (ev("e2", 3_000, EventKind::Assigned, "expert-a"), Status::AwaitingAnswer),
        (ev("e3", 3_500, EventKind::Assigned, "expert-b"), Status::AwaitingAnswer),
        (ev("e4", 4_000, EventKind::OnSiteRequested, ""), Status::OnSite),
        (
            {
                let mut e = ev("e5", 5_000, EventKind::OnSiteDispatched, "");
                e.value = 12_050;
                e
            },
            Status::OnSite,
        ),
        (
            {
                let mut e = ev("e6", 6_000, EventKind::Answered, "");
                e.text = "剪除病枝，喷施氢氧化铜".into();
                e
            },
            Status::Answered,
        ),
        (ev("e7", 7_000, EventKind::Closed, ""), Status::Closed),
        (
            {
                let mut e = ev("e8", 8_000, EventKind::Rated, "");
                e.value = 4;
                e.text = "很及时".into();
                e
            },
            Status::Closed,
        ),
        (
            {
                let mut e = ev("e9", 9_000, EventKind::FollowedUp, "");
                e.value = 1;
                e.category = "技术指导".into();
                e
            },
            Status::FollowedUp,
        ),
    ];
    for (e, expected) in steps {
        let kind = e.kind.clone();
        CaseDoc::append_event(&mut doc, e).unwrap();
        assert_eq!(state(&doc).1.status, expected, "after {kind}");
    }
    let (_, s) = state(&doc);
    assert_eq!(s.expert.as_deref(), Some("expert-b"), "a reassignment replaces the expert");
    assert_eq!(s.experts_assigned, vec!["expert-a".to_string(), "expert-b".to_string()]);
    assert_eq!(s.travel_cost_fen, 12_050);
    assert_eq!(s.rating, Some(4));
    assert_eq!((s.followup_valid, s.followup_category.as_deref()), (Some(true), Some("技术指导")));
    assert!(s.ignored_events.is_empty());
    assert_eq!(s.marks.triage_stop.as_deref(), Some("e2"), "triage ends at the first assignment");
    assert_eq!(s.marks.response_start.as_deref(), Some("e3"), "the response clock restarts on reassignment");
    assert_eq!(s.marks.response_stop.as_deref(), Some("e4"), "an on-site request is a response");
}

#[test]
fn escalation_up_moves_the_case_to_the_upper_centre_and_only_upwards() {
    let mut doc = fresh();
    CaseDoc::append_event(&mut doc, ev("e1", 2_000, EventKind::Escalated, "")).unwrap();
    assert_eq!(state(&doc).1.centre, COUNTY);
    // Not a centre above: ignored.
    CaseDoc::append_event(&mut doc, ev("x1", 2_100, EventKind::EscalatedUp, "5107")).unwrap();
    CaseDoc::append_event(&mut doc, ev("x2", 2_200, EventKind::EscalatedUp, "510104")).unwrap();
    let (_, s) = state(&doc);
    assert_eq!(s.centre, COUNTY);
    assert_eq!(s.ignored_events, vec!["x1".to_string(), "x2".to_string()]);
    CaseDoc::append_event(&mut doc, ev("e2", 3_000, EventKind::EscalatedUp, CITY)).unwrap();
    let (_, s) = state(&doc);
    assert_eq!((s.status, s.centre.as_str()), (Status::AwaitingTriage, CITY));
    assert_eq!(s.marks.triage_start.as_deref(), Some("e2"));
    CaseDoc::append_event(&mut doc, ev("e3", 4_000, EventKind::EscalatedUp, "51")).unwrap();
    assert_eq!(state(&doc).1.centre, "51");
    // Back down is not a thing.
    CaseDoc::append_event(&mut doc, ev("e4", 5_000, EventKind::EscalatedUp, CITY)).unwrap();
    assert_eq!(state(&doc).1.centre, "51");
}

#[test]
fn every_action_is_allowed_only_to_its_role_region_and_status() {
    let officer = actor("officer-1", Role::Officer, VILLAGE);
    let other_officer = actor("officer-9", Role::Officer, "510104017002");
    let staff = actor("staff-1", Role::Staff, COUNTY);
    let other_county = actor("staff-2", Role::Staff, "510105");
    let city = actor("staff-c", Role::Staff, CITY);
    let province = actor("staff-p", Role::Staff, "51");
    let admin = actor("admin-1", Role::Admin, COUNTY);
    let expert = actor("expert-a", Role::Expert, COUNTY);
    let other_expert = actor("expert-b", Role::Expert, COUNTY);

    let mut doc = fresh();
    // Viewing.
    for a in [&officer, &staff, &city, &province, &admin] {
        assert_eq!(may(a, Action::View, &doc), Ok(()), "{} views", a.person_id);
    }
    assert_eq!(may(&other_officer, Action::View, &doc), Err(Denied::OutOfRegion));
    assert_eq!(may(&other_county, Action::View, &doc), Err(Denied::OutOfRegion));
    assert_eq!(may(&expert, Action::View, &doc), Err(Denied::NotAssigned));
    // The phone: officer and county centre only.
    assert_eq!(may(&officer, Action::ViewPhone, &doc), Err(Denied::Role), "officers see it masked");
    assert_eq!(may(&staff, Action::ViewPhone, &doc), Ok(()));
    assert_eq!(may(&city, Action::ViewPhone, &doc), Err(Denied::Role));
    assert_eq!(may(&expert, Action::ViewPhone, &doc), Err(Denied::Role));
    // Export and people: centres and administrators.
    assert_eq!(may(&staff, Action::Export, &doc), Ok(()));
    assert_eq!(may(&officer, Action::Export, &doc), Err(Denied::Role));
    assert_eq!(may(&admin, Action::ManagePeople, &doc), Ok(()));
    assert_eq!(may(&staff, Action::ManagePeople, &doc), Err(Denied::Role));

    // Escalation: the officer of the village, while open.
    assert_eq!(may(&staff, Action::Event(K::Escalated), &doc), Err(Denied::Role));
    assert_eq!(may(&other_officer, Action::Event(K::Escalated), &doc), Err(Denied::OutOfRegion));
    assert_eq!(may(&officer, Action::Event(K::Escalated), &doc), Ok(()));
    assert_eq!(may(&staff, Action::Event(K::Assigned), &doc), Err(Denied::Status), "not escalated yet");
    CaseDoc::append_event(&mut doc, ev("e1", 2_000, EventKind::Escalated, "")).unwrap();
    assert_eq!(may(&officer, Action::Event(K::Escalated), &doc), Err(Denied::Status));

    // Assignment: the county centre (or above), not the officer, an expert or another county.
    assert_eq!(may(&staff, Action::Event(K::Assigned), &doc), Ok(()));
    assert_eq!(may(&admin, Action::Event(K::Assigned), &doc), Ok(()));
    assert_eq!(may(&province, Action::Event(K::Assigned), &doc), Ok(()));
    assert_eq!(may(&officer, Action::Event(K::Assigned), &doc), Err(Denied::Role));
    assert_eq!(may(&expert, Action::Event(K::Assigned), &doc), Err(Denied::Role));
    assert_eq!(may(&other_county, Action::Event(K::Assigned), &doc), Err(Denied::OutOfRegion));
    assert_eq!(may(&expert, Action::Event(K::Answered), &doc), Err(Denied::NotAssigned));
    CaseDoc::append_event(&mut doc, ev("e2", 3_000, EventKind::Assigned, "expert-a")).unwrap();

    // The assigned expert answers; another expert may not, nor see it.
    assert_eq!(may(&expert, Action::View, &doc), Ok(()));
    assert_eq!(may(&expert, Action::Event(K::Answered), &doc), Ok(()));
    assert_eq!(may(&expert, Action::Event(K::OnSiteRequested), &doc), Ok(()));
    assert_eq!(may(&other_expert, Action::Event(K::Answered), &doc), Err(Denied::NotAssigned));
    assert_eq!(may(&other_expert, Action::View, &doc), Err(Denied::NotAssigned));
    assert_eq!(may(&staff, Action::Event(K::Answered), &doc), Err(Denied::Role));
    assert_eq!(may(&officer, Action::Event(K::Closed), &doc), Err(Denied::Status), "nothing to close yet");

    // Escalated to the city: the county may no longer act on it; the city may.
    CaseDoc::append_event(&mut doc, ev("e3", 3_500, EventKind::EscalatedUp, CITY)).unwrap();
    assert_eq!(may(&staff, Action::Event(K::Assigned), &doc), Err(Denied::NotThisCentre));
    assert_eq!(may(&city, Action::Event(K::Assigned), &doc), Ok(()));
    assert_eq!(
        may(&expert, Action::Event(K::Answered), &doc),
        Err(Denied::NotAssigned),
        "unassigned by the escalation"
    );
    assert_eq!(may(&expert, Action::View, &doc), Ok(()), "a formerly assigned expert still reads it");
    CaseDoc::append_event(&mut doc, ev("e4", 4_000, EventKind::Assigned, "expert-a")).unwrap();
    CaseDoc::append_event(&mut doc, ev("e5", 4_500, EventKind::OnSiteRequested, "")).unwrap();
    assert_eq!(may(&city, Action::Event(K::OnSiteDispatched), &doc), Ok(()));
    assert_eq!(may(&staff, Action::Event(K::OnSiteDispatched), &doc), Err(Denied::NotThisCentre));
    let mut answer = ev("e6", 5_000, EventKind::Answered, "");
    answer.text = "已现场处理".into();
    CaseDoc::append_event(&mut doc, answer).unwrap();

    // Closing and rating: the officer; follow-up: a centre over the case, after closure.
    assert_eq!(may(&staff, Action::Event(K::Closed), &doc), Err(Denied::Role));
    assert_eq!(may(&officer, Action::Event(K::Rated), &doc), Err(Denied::Status), "rate after closing");
    assert_eq!(may(&staff, Action::Event(K::FollowedUp), &doc), Err(Denied::Status));
    assert_eq!(may(&officer, Action::Event(K::Closed), &doc), Ok(()));
    CaseDoc::append_event(&mut doc, ev("e7", 6_000, EventKind::Closed, "")).unwrap();
    assert_eq!(may(&officer, Action::Event(K::Rated), &doc), Ok(()));
    assert_eq!(may(&other_officer, Action::Event(K::Rated), &doc), Err(Denied::OutOfRegion));
    assert_eq!(may(&officer, Action::Event(K::FollowedUp), &doc), Err(Denied::Role));
    assert_eq!(may(&expert, Action::Event(K::FollowedUp), &doc), Err(Denied::Role));
    assert_eq!(may(&staff, Action::Event(K::FollowedUp), &doc), Ok(()));
    assert_eq!(may(&other_county, Action::Event(K::FollowedUp), &doc), Err(Denied::OutOfRegion));
    let mut rate = ev("e8", 7_000, EventKind::Rated, "");
    rate.value = 5;
    CaseDoc::append_event(&mut doc, rate).unwrap();
    assert_eq!(may(&officer, Action::Event(K::Rated), &doc), Err(Denied::Status), "rated once");
    // Messages exist in Chinese for every refusal.
    for d in [
        Denied::OutOfRegion,
        Denied::Role,
        Denied::NotAssigned,
        Denied::NotThisCentre,
        Denied::Status,
        Denied::SystemOnly,
    ] {
        assert!(
            d.message_zh().contains('权')
                || d.message_zh().contains("操作")
                || d.message_zh().contains("记录")
        );
    }
}

/// All interleavings of three nodes' concurrent actions merge to the same document and state.
#[test]
fn concurrent_actions_resolve_the_same_whatever_order_they_merge_in() {
    let mut base = fresh();
    CaseDoc::append_event(&mut base, ev("e1", 2_000, EventKind::Escalated, "")).unwrap();
    // Two county staff assign different experts offline; the kiosk officer adds a note; one
    // staff member escalates to the city right after assigning.
    let mut a = base.fork();
    let mut b = base.fork();
    let mut k = base.fork();
    CaseDoc::append_event(&mut a, ev("a-asg", 3_000, EventKind::Assigned, "expert-a")).unwrap();
    CaseDoc::append_event(&mut b, ev("b-asg", 3_000, EventKind::Assigned, "expert-b")).unwrap();
    CaseDoc::append_event(&mut b, ev("b-up", 3_100, EventKind::EscalatedUp, CITY)).unwrap();
    CaseDoc::append_event(&mut k, ev("k-note", 2_500, EventKind::Unknown("note".into()), "")).unwrap();
    let mut docs = [a, b, k];
    let orders = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]];
    let mut results = Vec::new();
    for order in orders {
        let mut m = docs[order[0]].fork();
        m.merge(&mut docs[order[1]].fork()).unwrap();
        m.merge(&mut docs[order[2]].fork()).unwrap();
        results.push(state(&m));
    }
    for r in &results[1..] {
        assert_eq!(r.1, results[0].1, "same state in every merge order");
        assert_eq!(r.0, results[0].0, "same document in every merge order");
    }
    let s = &results[0].1;
    // Same time: ties break on event id ("a-asg" < "b-asg"), then b's escalation applies.
    assert_eq!((s.status, s.centre.as_str(), s.expert.as_deref()), (Status::AwaitingTriage, CITY, None));
    assert_eq!(s.experts_assigned, vec!["expert-a".to_string(), "expert-b".to_string()]);
}

#[test]
fn an_event_never_sorts_before_what_its_writer_had_seen() {
    // The hub answers at 10:00; the kiosk's clock is 5 hours behind when the officer closes.
    let mut doc = fresh();
    CaseDoc::append_event(&mut doc, ev("e1", 10 * HOUR_MS, EventKind::Escalated, "")).unwrap();
    CaseDoc::append_event(&mut doc, ev("e2", 10 * HOUR_MS + 1, EventKind::Assigned, "x")).unwrap();
    let mut ans = ev("e3", 10 * HOUR_MS + 2, EventKind::Answered, "");
    ans.text = "答复".into();
    CaseDoc::append_event(&mut doc, ans).unwrap();
    CaseDoc::append_event(&mut doc, ev("e4", 5 * HOUR_MS, EventKind::Closed, "")).unwrap();
    assert_eq!(state(&doc).1.status, Status::Closed, "the late clock does not undo the closure");
}

fn policy_9_to_5_weekdays() -> ServicePolicy {
    ServicePolicy {
        hours: WorkingHours {
            days: [true, true, true, true, true, false, false],
            start_min: 9 * 60,
            end_min: 17 * 60,
        },
        ..ServicePolicy::default()
    }
}

/// Milliseconds of a local (UTC+8) time on 2026-11-30, a Monday, plus `days`.
fn local(days: i64, h: i64, m: i64) -> i64 {
    // 2026-11-30T00:00+08:00 = 2026-11-29T16:00Z.
    let monday_utc_ms = MONDAY_MS;
    monday_utc_ms + days * 24 * HOUR_MS + h * HOUR_MS + m * MINUTE_MS
}

#[test]
fn deadlines_count_working_hours_on_the_hub_clock() {
    // Sanity of the helper: that instant is a Monday 00:00 local.
    let p = policy_9_to_5_weekdays();
    // Monday 10:00 + 1 h = 11:00.
    assert_eq!(p.add_working(local(0, 10, 0), HOUR_MS), local(0, 11, 0));
    // Monday 16:30 + 1 h = Tuesday 09:30.
    assert_eq!(p.add_working(local(0, 16, 30), HOUR_MS), local(1, 9, 30));
    // Before opening: Monday 07:00 + 3 h = 12:00.
    assert_eq!(p.add_working(local(0, 7, 0), 3 * HOUR_MS), local(0, 12, 0));
    // Friday 16:00 + 3 h = Monday 11:00.
    assert_eq!(p.add_working(local(4, 16, 0), 3 * HOUR_MS), local(7, 11, 0));
    // Saturday noon + 1 h = Monday 10:00.
    assert_eq!(p.add_working(local(5, 12, 0), HOUR_MS), local(7, 10, 0));
    assert_eq!(p.working_between(local(4, 16, 0), local(7, 11, 0)), 3 * HOUR_MS);
    assert_eq!(p.working_between(local(0, 18, 0), local(1, 8, 0)), 0);
    // The default policy works 08:00-18:00 every day.
    let d = ServicePolicy::default();
    assert_eq!(d.add_working(local(5, 17, 30), HOUR_MS), local(6, 8, 30));
    // A policy with no working day is refused, and never loops.
    let mut bad = ServicePolicy::default();
    bad.hours.days = [false; 7];
    assert!(bad.validate().is_err());
    assert_eq!(bad.add_working(5, HOUR_MS), 5 + HOUR_MS);
    assert_eq!(WorkingHours::parse_span("08:30-17:00"), Ok((510, 1020)));
    assert!(WorkingHours::parse_span("8-17").is_err());
    assert!(WorkingHours::parse_span("25:00-26:00").is_err());
}

/// Milliseconds of a local (UTC+8) date and time.
fn local_date(date: &str, h: i64, m: i64) -> i64 {
    let day = yizhan_core::holidays::parse_day(date).unwrap();
    day * 24 * HOUR_MS - 8 * HOUR_MS + h * HOUR_MS + m * MINUTE_MS
}

#[test]
fn clocks_stop_over_national_day_and_run_on_its_make_up_working_day() {
    // 国庆 2026: 1-7 October off (Thursday to Wednesday); Sunday 20 September and Saturday
    // 10 October are make-up working days (国务院办公厅, 2025-11-04).
    let p = policy_9_to_5_weekdays();
    // Wednesday 30 September 16:30 + 1 h: half an hour that day, the rest on Thursday 8 October.
    assert_eq!(p.add_working(local_date("2026-09-30", 16, 30), HOUR_MS), local_date("2026-10-08", 9, 30));
    // Friday 9 October 16:00 + 3 h: one hour on Friday, two on the make-up Saturday.
    assert_eq!(p.add_working(local_date("2026-10-09", 16, 0), 3 * HOUR_MS), local_date("2026-10-10", 11, 0));
    // A case escalated on the make-up Sunday 20 September is triaged the same day.
    assert_eq!(p.add_working(local_date("2026-09-20", 10, 0), HOUR_MS), local_date("2026-09-20", 11, 0));
    // Working time over the whole holiday: 30 Sept 16:00 to 8 Oct 10:00 is 2 hours.
    assert_eq!(
        p.working_between(local_date("2026-09-30", 16, 0), local_date("2026-10-08", 10, 0)),
        2 * HOUR_MS
    );
    // The plan's every-day centres stop on holidays too; a centre may choose to work through them.
    let every_day = ServicePolicy::default();
    assert_eq!(
        every_day.add_working(local_date("2026-09-30", 17, 30), HOUR_MS),
        local_date("2026-10-08", 8, 30)
    );
    let through = ServicePolicy { observe_holidays: false, ..ServicePolicy::default() };
    assert_eq!(
        through.add_working(local_date("2026-09-30", 17, 30), HOUR_MS),
        local_date("2026-10-01", 8, 30)
    );
    // Without the calendar the weekday policy would skip the make-up Saturday.
    let weekly = ServicePolicy { observe_holidays: false, ..policy_9_to_5_weekdays() };
    assert_eq!(
        weekly.add_working(local_date("2026-10-09", 16, 0), 3 * HOUR_MS),
        local_date("2026-10-12", 11, 0)
    );
    // Saved policies from before the calendar existed observe it.
    let old = r#"{"triage_ms":3600000,"response_ms":10800000,"followup_ms":604800000,
        "hours":{"days":[true,true,true,true,true,true,true],"start_min":480,"end_min":1080},"warn_ms":900000}"#;
    let old: ServicePolicy = serde_json::from_str(old).unwrap();
    assert!(old.observe_holidays && old.calendar.covers(2026));
}

#[test]
fn clocks_run_on_seen_times_warn_breach_and_stop() {
    let p = policy_9_to_5_weekdays();
    let mut doc = fresh();
    // The kiosk wrote its events with a clock a day off; the hub saw them at its own times.
    CaseDoc::append_event(&mut doc, ev("e1", 1, EventKind::Escalated, "")).unwrap();
    let seen_at = |id: &str| match id {
        "e1" => Some(local(0, 10, 0)),
        "e2" => Some(local(0, 10, 50)),
        "e3" => Some(local(0, 15, 0)),
        _ => None,
    };
    let (c, s) = state(&doc);
    let at = |now: i64| clock::clocks(&s, &seen_at, &p, now);
    assert_eq!(at(local(0, 10, 30))[0].state, ClockState::Running);
    assert_eq!(at(local(0, 10, 50))[0].state, ClockState::NearlyDue);
    let late = at(local(0, 11, 1));
    assert_eq!(
        (late[0].kind, late[0].state, late[0].due_ms),
        (ClockKind::Triage, ClockState::Overdue, local(0, 11, 0))
    );
    let breaches = clock::due_breaches(&c.events, &s, &late, "system:hub", local(0, 11, 1));
    assert_eq!(breaches.len(), 1);
    assert_eq!((breaches[0].category.as_str(), breaches[0].target.as_str()), ("triage", COUNTY));
    // Recorded once: the same run yields no second record.
    CaseDoc::append_event(&mut doc, breaches[0].clone()).unwrap();
    let (c, s) = state(&doc);
    assert!(
        clock::due_breaches(&c.events, &s, &clock::clocks(&s, &seen_at, &p, local(0, 12, 0)), "x", 0)
            .is_empty()
    );
    assert_eq!(s.breaches, vec!["triage".to_string()]);

    // Assigned at 10:50 (seen): triage met; response due 13:50; answered at 15:00: late.
    CaseDoc::append_event(&mut doc, ev("e2", 2, EventKind::Assigned, "expert-a")).unwrap();
    let mut ans = ev("e3", 3, EventKind::Answered, "");
    ans.text = "答复".into();
    CaseDoc::append_event(&mut doc, ans).unwrap();
    let (c, s) = state(&doc);
    let v = clock::clocks(&s, &seen_at, &p, local(0, 16, 0));
    assert_eq!(v[0].state, ClockState::Met);
    assert_eq!(
        (v[1].kind, v[1].state, v[1].due_ms),
        (ClockKind::Response, ClockState::Late, local(0, 13, 50))
    );
    let b = clock::due_breaches(&c.events, &s, &v, "system:hub", local(0, 16, 0));
    assert_eq!(b.len(), 1);
    assert_eq!((b[0].category.as_str(), b[0].target.as_str(), b[0].value), ("response", "expert-a", 70));
    // An unseen start shows no clock.
    assert!(clock::clocks(&s, &|_| None, &p, 0).is_empty());
}

fn expert(id: &str, region: &str, industries: &[&str], specialities: &[&str]) -> Person {
    NewPerson {
        id: id.into(),
        name: format!("专家{id}"),
        role: "expert".into(),
        region_code: region.into(),
        industries: industries.iter().map(|s| s.to_string()).collect(),
        specialities: specialities.iter().map(|s| s.to_string()).collect(),
        availability: String::new(),
        title: "高级农艺师".into(),
        phone: "13800001111".into(),
    }
    .build(1)
    .unwrap()
    .0
}

#[test]
fn ranking_puts_county_experts_of_the_industry_first_then_weighs_speciality_load_and_rating() {
    let (case, _) = state(&fresh());
    let people = vec![
        expert("county-fruit-citrus", COUNTY, &["fruit"], &["柑橘病害", "溃疡病防治"]),
        expert("county-fruit-busy", COUNTY, &["fruit"], &["柑橘栽培"]),
        expert("county-pig", COUNTY, &["pig"], &["生猪疫病"]),
        expert("city-fruit", CITY, &["fruit"], &["柑橘病害"]),
        expert("province-fruit", "51", &["fruit"], &["柑橘病害"]),
        expert("other-county-fruit", "510105", &["fruit"], &["柑橘病害"]),
    ];
    let mut away = expert("county-away", COUNTY, &["fruit"], &["柑橘病害"]);
    away.availability = "away".into();
    let mut people = people;
    people.push(away);
    let busy = ExpertRecord { open: 6, ..Default::default() };
    let idle = ExpertRecord::default();
    let recs: Vec<ExpertRecord> = people
        .iter()
        .map(|p| if p.id == "county-fruit-busy" { busy.clone() } else { idle.clone() })
        .collect();
    let r = ranking::rank(&case, COUNTY, people.iter().zip(recs.iter()), 10);
    let ids: Vec<&str> = r.iter().map(|s| s.person_id.as_str()).collect();
    assert_eq!(
        ids,
        ["county-fruit-citrus", "county-fruit-busy", "city-fruit", "province-fruit", "county-pig"]
    );
    assert_eq!(r[0].speciality_hits, vec!["柑橘病害".to_string(), "溃疡病防治".to_string()]);
    assert!(r[0].reasons_zh.iter().any(|x| x == "本县专家"));
    assert!(!ranking::suggest_escalation(COUNTY, &r));
    // With only a pig expert in the county, escalation is proposed.
    let only_pig = [people[2].clone()];
    let r = ranking::rank(&case, COUNTY, only_pig.iter().zip([idle.clone()].iter()), 10);
    assert!(ranking::suggest_escalation(COUNTY, &r));
    // A good rating lifts an expert above an equal one without ratings.
    let twins = [expert("a", COUNTY, &["fruit"], &[]), expert("b", COUNTY, &["fruit"], &[])];
    let rated = ExpertRecord { ratings: 10, rating_sum: 50, responses: 10, ..Default::default() };
    let r = ranking::rank(&case, COUNTY, twins.iter().zip([idle.clone(), rated].iter()), 10);
    assert_eq!(r[0].person_id, "b");
    // One with breaches sinks below an equal one without.
    let late = ExpertRecord { responses: 5, breaches: 5, ..Default::default() };
    let r = ranking::rank(&case, COUNTY, twins.iter().zip([late, idle].iter()), 10);
    assert_eq!(r[0].person_id, "b");
}

#[test]
fn the_shortlist_is_the_head_of_the_full_ranking() {
    // Many experts with scores that tie and differ (load, ratings, breaches, busy, tiers): the
    // best ten picked without sorting everyone are exactly the first ten of the full order.
    let (case, _) = state(&fresh());
    let regions = [COUNTY, "510105", CITY, "51"];
    let industries: [&[&str]; 3] = [&["fruit"], &["pig"], &["fruit", "tea"]];
    let specs: [&[&str]; 3] = [&["柑橘病害"], &["生猪疫病"], &[]];
    let mut people = Vec::new();
    let mut recs = Vec::new();
    let mut x: u64 = 7;
    for i in 0..600 {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let pick = |n: u64| ((x >> 33) % n) as usize;
        let mut p =
            expert(&format!("e{i:03}"), regions[pick(4)], industries[pick(3)], specs[(x >> 40) as usize % 3]);
        if (x >> 20).is_multiple_of(7) {
            p.availability = "busy".into();
        }
        people.push(p);
        recs.push(ExpertRecord {
            open: ((x >> 24) % 5) as u32,
            ratings: ((x >> 28) % 4) as u32,
            rating_sum: ((x >> 28) % 4) as u32 * (3 + ((x >> 30) % 3) as u32),
            responses: ((x >> 36) % 6) as u32,
            breaches: ((x >> 44) % 2) as u32,
        });
    }
    let all = ranking::rank(&case, CITY, people.iter().zip(recs.iter()), usize::MAX);
    assert!(all.len() > 100, "{}", all.len());
    for limit in [1, 10, 50] {
        let short = ranking::rank(&case, CITY, people.iter().zip(recs.iter()), limit);
        assert_eq!(short, all[..limit].to_vec(), "limit {limit}");
    }
    assert!(ranking::rank(&case, CITY, people.iter().zip(recs.iter()), 0).is_empty());
}

#[test]
fn people_are_validated_with_messages_in_chinese() {
    let base = NewPerson {
        id: "e-1".into(),
        name: "张三".into(),
        role: "专家".into(),
        region_code: COUNTY.into(),
        industries: vec!["川果".into(), "fruit".into()],
        specialities: vec!["柑橘病害".into()],
        availability: "可接单".into(),
        title: String::new(),
        phone: "138 0000 1111".into(),
    };
    let (p, phone) = base.build(5).unwrap();
    assert_eq!(p.industries, vec!["fruit".to_string()]);
    assert_eq!(phone, "13800001111");
    assert_eq!(p.phone_masked, "138****1111");
    assert_eq!(p.role(), Some(Role::Expert));
    let doc = p.to_doc().unwrap();
    assert_eq!(Person::from_doc(&doc).unwrap(), p);
    let cases: Vec<(NewPerson, &str)> = vec![
        (NewPerson { role: "农民".into(), ..base.clone() }, "角色"),
        (NewPerson { industries: vec![], ..base.clone() }, "产业"),
        (NewPerson { industries: vec!["水稻".into()], ..base.clone() }, "产业"),
        (NewPerson { region_code: VILLAGE.into(), ..base.clone() }, "地区"),
        (NewPerson { role: "信息员".into(), ..base.clone() }, "地区"),
        (NewPerson { name: " ".into(), ..base.clone() }, "姓名"),
        (NewPerson { phone: "12ab".into(), ..base.clone() }, "手机"),
        (NewPerson { availability: "休假".into(), ..base.clone() }, "状态"),
    ];
    for (np, word) in cases {
        let e = np.build(5).unwrap_err();
        assert!(e.message_zh().contains(word), "{e:?}: {}", e.message_zh());
    }
}

#[test]
fn publication_as_knowledge_is_signed_off_once_by_the_county_after_an_expert_answered() {
    let county_staff = actor("staff-1", Role::Staff, COUNTY);
    let city_staff = actor("staff-c", Role::Staff, CITY);
    let officer = actor("officer-1", Role::Officer, VILLAGE);
    let mut doc = fresh();
    CaseDoc::append_event(&mut doc, ev("e1", 2_000, EventKind::Escalated, "")).unwrap();
    CaseDoc::append_event(&mut doc, ev("e2", 3_000, EventKind::Assigned, "expert-a")).unwrap();
    assert_eq!(
        may(&county_staff, Action::Event(K::KnowledgeApproved), &doc),
        Err(Denied::Status),
        "not solved yet"
    );
    CaseDoc::append_event(&mut doc, ev("k0", 3_500, EventKind::KnowledgeApproved, "")).unwrap();
    assert_eq!(state(&doc).1.knowledge, None, "an early sign-off does not apply");
    let mut ans = ev("e3", 4_000, EventKind::Answered, "");
    ans.text = "答复".into();
    CaseDoc::append_event(&mut doc, ans).unwrap();
    CaseDoc::append_event(&mut doc, ev("e4", 5_000, EventKind::Closed, "")).unwrap();
    assert_eq!(may(&county_staff, Action::Event(K::KnowledgeApproved), &doc), Ok(()));
    assert_eq!(may(&city_staff, Action::Event(K::KnowledgeApproved), &doc), Err(Denied::Role));
    assert_eq!(may(&officer, Action::Event(K::KnowledgeWithheld), &doc), Err(Denied::Role));
    CaseDoc::append_event(&mut doc, ev("k1", 6_000, EventKind::KnowledgeWithheld, "")).unwrap();
    CaseDoc::append_event(&mut doc, ev("k2", 7_000, EventKind::KnowledgeApproved, "")).unwrap();
    let (_, s) = state(&doc);
    assert_eq!(s.knowledge, Some(false), "the first review holds");
    assert!(s.ignored_events.contains(&"k2".to_string()));
    assert_eq!(may(&county_staff, Action::Event(K::KnowledgeApproved), &doc), Err(Denied::Status));
}

#[test]
fn knowledge_follows_the_publication_pipeline() {
    use yizhan_core::knowledge::publication_stage;
    use yizhan_core::publication::Stage;
    let stage = |doc: &AutoCommit| {
        let (c, s) = state(doc);
        publication_stage(&c, &s)
    };
    let mut doc = fresh();
    CaseDoc::append_event(&mut doc, ev("e1", 2_000, EventKind::Escalated, "")).unwrap();
    CaseDoc::append_event(&mut doc, ev("e2", 3_000, EventKind::Assigned, "expert-a")).unwrap();
    CaseDoc::append_event(&mut doc, ev("k0", 3_500, EventKind::KnowledgeApproved, "")).unwrap();
    assert_eq!(stage(&doc), Stage::Draft, "an early sign-off does not apply");
    let mut ans = ev("e3", 4_000, EventKind::Answered, "");
    ans.text = "答复".into();
    CaseDoc::append_event(&mut doc, ans).unwrap();
    assert_eq!(stage(&doc), Stage::Draft);
    CaseDoc::append_event(&mut doc, ev("e4", 5_000, EventKind::Closed, "")).unwrap();
    assert_eq!(stage(&doc), Stage::Checked, "closed and answered: waiting for review");
    let mut approved = doc.clone();
    CaseDoc::append_event(&mut approved, ev("k1", 6_000, EventKind::KnowledgeApproved, "")).unwrap();
    assert_eq!(stage(&approved), Stage::SignedOff);
    assert_eq!(state(&approved).1.knowledge, Some(true), "the case's own reading agrees");
    CaseDoc::append_event(&mut doc, ev("k1", 6_000, EventKind::KnowledgeWithheld, "")).unwrap();
    CaseDoc::append_event(&mut doc, ev("k2", 7_000, EventKind::KnowledgeApproved, "")).unwrap();
    assert_eq!(stage(&doc), Stage::Refused, "the first review holds");

    // Solved by a similar case, no expert: the automatic checks fail, nothing to review.
    let mut similar = fresh();
    CaseDoc::append_event(&mut similar, ev("s1", 2_000, EventKind::SolvedBySimilar, "kb-x")).unwrap();
    CaseDoc::append_event(&mut similar, ev("s2", 3_000, EventKind::Closed, "")).unwrap();
    assert_eq!(stage(&similar), Stage::CheckFailed);
}
