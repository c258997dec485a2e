//! The case document: validation, derived status, and merges of concurrent edits.
#![allow(clippy::unwrap_used, clippy::cloned_ref_to_slice_refs)]

use automerge::AutoCommit;
use yizhan_core::{Attachment, CaseDoc, CaseError, Event, EventKind, NewCase, Status};

fn new_case() -> NewCase {
    NewCase {
        region_code: "510104017001".into(),
        village_name: "和平村".into(),
        industry: "fruit".into(),
        subject: "柑橘".into(),
        description: "叶片发黄，有褐色斑点".into(),
        farmer_name: "王大爷".into(),
        farmer_phone: "13812345678".into(),
        officer: "李信息员".into(),
    }
}

fn created(at_ms: i64) -> Event {
    Event::new("e-created", at_ms, "李信息员", EventKind::Created)
}

fn ev(id: &str, at_ms: i64, kind: EventKind) -> Event {
    Event::new(id, at_ms, "someone", kind)
}

fn fresh() -> AutoCommit {
    let (_, doc) = CaseDoc::create(&new_case(), "case-1", "kiosk-a", created(1_000)).unwrap();
    doc
}

/// Applies the events in order to a fresh case and returns the derived status.
fn check(events: &[Event], expected: Status) {
    let mut doc = fresh();
    for e in events {
        CaseDoc::append_event(&mut doc, e.clone()).unwrap();
    }
    let case = CaseDoc::from_doc(&doc).unwrap();
    assert_eq!(
        case.state().status,
        expected,
        "events: {:?}",
        events.iter().map(|e| &e.kind).collect::<Vec<_>>()
    );
}

#[test]
fn every_transition_derives_its_status() {
    let esc = ev("e2", 2_000, EventKind::Escalated);
    let mut asg = ev("e3", 3_000, EventKind::Assigned);
    asg.target = "expert-7".into();
    let mut ans = ev("e4", 4_000, EventKind::Answered);
    ans.text = "喷施代森锰锌".into();
    let close = ev("e5", 5_000, EventKind::Closed);
    let mut rate = ev("e6", 6_000, EventKind::Rated);
    rate.value = 5;
    let mut follow = ev("e7", 7_000, EventKind::FollowedUp);
    follow.value = 1;
    follow.category = "技术指导".into();
    let mut solved = ev("s1", 1_900, EventKind::SolvedBySimilar);
    solved.target = "kb-42".into();

    check(&[], Status::Open);
    check(&[ev("o", 1_500, EventKind::SimilarOffered)], Status::Open);
    check(&[solved.clone()], Status::SolvedBySimilar);
    check(&[solved.clone(), close.clone()], Status::Closed);
    check(&[esc.clone()], Status::AwaitingTriage);
    check(&[esc.clone(), asg.clone()], Status::AwaitingAnswer);
    check(&[esc.clone(), asg.clone(), ev("v", 3_500, EventKind::OnSiteRequested)], Status::OnSite);
    check(&[esc.clone(), asg.clone(), ans.clone()], Status::Answered);
    check(&[esc.clone(), asg.clone(), ans.clone(), close.clone()], Status::Closed);
    check(&[esc.clone(), asg.clone(), ans.clone(), close.clone(), rate.clone()], Status::Closed);
    check(
        &[esc.clone(), asg.clone(), ans.clone(), close.clone(), rate.clone(), follow.clone()],
        Status::FollowedUp,
    );
    // Transitions out of order do not apply.
    check(&[asg.clone()], Status::Open);
    check(&[ans.clone()], Status::Open);
    check(&[close.clone()], Status::Open);
    check(&[esc.clone(), close.clone()], Status::AwaitingTriage);
    check(&[solved.clone(), esc.clone()], Status::SolvedBySimilar);
    // An unknown kind (from a newer node) is kept but changes nothing.
    check(&[ev("x", 2_000, EventKind::Unknown("video_call".into()))], Status::Open);

    let mut doc = fresh();
    for e in [esc, asg, ans, close, rate, follow] {
        CaseDoc::append_event(&mut doc, e).unwrap();
    }
    let st = CaseDoc::from_doc(&doc).unwrap().state();
    assert_eq!(st.expert.as_deref(), Some("expert-7"));
    assert_eq!(st.rating, Some(5));
    assert_eq!(st.followup_valid, Some(true));
    assert_eq!(st.followup_category.as_deref(), Some("技术指导"));
    assert!(st.ignored_events.is_empty());
}

#[test]
fn invalid_input_is_refused_and_changes_nothing() {
    let mut bad = new_case();
    bad.description = "  ".into();
    assert_eq!(bad.validate(), Err(CaseError::Required { field: "description" }));
    let mut bad = new_case();
    bad.region_code = "110101001001".into();
    assert!(matches!(bad.validate(), Err(CaseError::Region(_))));
    let mut bad = new_case();
    bad.industry = "rice".into();
    assert!(matches!(bad.validate(), Err(CaseError::Industry(_))));
    let mut bad = new_case();
    bad.farmer_phone = "12ab".into();
    assert_eq!(bad.validate(), Err(CaseError::Phone));
    let mut bad = new_case();
    bad.description = "病".repeat(4001);
    assert!(matches!(bad.validate(), Err(CaseError::TooLong { .. })));
    assert!(!CaseError::Phone.message_zh().is_empty());

    let mut doc = fresh();
    let before = doc.save();
    let mut rate = ev("r", 9_000, EventKind::Rated);
    rate.value = 9;
    assert_eq!(CaseDoc::append_event(&mut doc, rate), Err(CaseError::Rating));
    let answer_without_text = ev("a", 9_000, EventKind::Answered);
    assert!(CaseDoc::append_event(&mut doc, answer_without_text).is_err());
    assert_eq!(doc.save(), before, "a refused event must not change the document");
}

#[test]
fn appending_the_same_event_twice_is_one_event() {
    let mut doc = fresh();
    CaseDoc::append_event(&mut doc, ev("e2", 2_000, EventKind::Escalated)).unwrap();
    CaseDoc::append_event(&mut doc, ev("e2", 2_000, EventKind::Escalated)).unwrap();
    assert_eq!(CaseDoc::from_doc(&doc).unwrap().events.len(), 2);
}

fn photo(hash: &str, role: &str) -> Attachment {
    Attachment {
        hash: hash.into(),
        kind: "photo".into(),
        role: role.into(),
        group: hash.into(),
        mime: "image/jpeg".into(),
        bytes: 10,
        width: 1,
        height: 1,
        duration_ms: 0,
        name: "a.jpg".into(),
        added_at_ms: 1,
    }
}

/// Forks a document, edits both copies apart, and merges in both orders.
fn merge_both_ways(a: &mut AutoCommit, b: &mut AutoCommit) -> (CaseDoc, CaseDoc) {
    let mut ab = a.fork();
    ab.merge(b).unwrap();
    let mut ba = b.fork();
    ba.merge(a).unwrap();
    assert_eq!(ab.get_heads().len(), ba.get_heads().len());
    let mut h1 = ab.get_heads();
    let mut h2 = ba.get_heads();
    h1.sort();
    h2.sort();
    assert_eq!(h1, h2, "both orders must reach the same heads");
    (CaseDoc::from_doc(&ab).unwrap(), CaseDoc::from_doc(&ba).unwrap())
}

#[test]
fn concurrent_edits_merge_to_the_same_document_and_status_in_both_orders() {
    // The kiosk and the hub each hold a copy of the escalated case.
    let mut kiosk = fresh();
    CaseDoc::append_event(&mut kiosk, ev("e2", 2_000, EventKind::Escalated)).unwrap();
    let mut hub = kiosk.fork();

    // Offline, the kiosk adds a photo and the officer adds a note while the hub assigns and the
    // expert answers.
    CaseDoc::add_attachments(&mut kiosk, vec![photo("h1", "original"), photo("h1t", "thumb")]).unwrap();
    CaseDoc::append_event(&mut kiosk, ev("k1", 2_500, EventKind::Unknown("note".into()))).unwrap();
    let mut asg = ev("h-asg", 3_000, EventKind::Assigned);
    asg.target = "expert-1".into();
    CaseDoc::append_event(&mut hub, asg).unwrap();
    let mut ans = ev("h-ans", 4_000, EventKind::Answered);
    ans.text = "注意排水".into();
    CaseDoc::append_event(&mut hub, ans).unwrap();
    CaseDoc::add_attachments(&mut hub, vec![photo("h1", "original")]).unwrap();

    let (x, y) = merge_both_ways(&mut kiosk, &mut hub);
    assert_eq!(x, y);
    assert_eq!(x.state(), y.state());
    assert_eq!(x.state().status, Status::Answered);
    assert_eq!(x.events.len(), 5);
    assert_eq!(x.attachments.len(), 2, "the same photo added on both sides is one attachment");
}

#[test]
fn conflicting_concurrent_actions_resolve_to_one_outcome_on_both_sides() {
    let mut base = fresh();
    // One officer marks it solved by a similar case while another escalates it, both offline.
    let mut a = base.fork();
    let mut b = base.fork();
    let mut solved = ev("a-solved", 2_000, EventKind::SolvedBySimilar);
    solved.target = "kb-1".into();
    CaseDoc::append_event(&mut a, solved).unwrap();
    CaseDoc::append_event(&mut b, ev("b-esc", 2_000, EventKind::Escalated)).unwrap();
    let (x, y) = merge_both_ways(&mut a, &mut b);
    assert_eq!(x.state(), y.state());
    // Same time: the tie breaks on event id, "a-solved" < "b-esc".
    assert_eq!(x.state().status, Status::SolvedBySimilar);
    assert_eq!(x.state().ignored_events, vec!["b-esc".to_string()]);

    // Two staff assign different experts offline: the later assignment holds on both sides.
    let mut base = fresh();
    CaseDoc::append_event(&mut base, ev("e2", 2_000, EventKind::Escalated)).unwrap();
    let (mut a, mut b) = (base.fork(), base.fork());
    let mut a1 = ev("a-asg", 3_000, EventKind::Assigned);
    a1.target = "expert-a".into();
    let mut b1 = ev("b-asg", 3_100, EventKind::Assigned);
    b1.target = "expert-b".into();
    CaseDoc::append_event(&mut a, a1).unwrap();
    CaseDoc::append_event(&mut b, b1).unwrap();
    let (x, y) = merge_both_ways(&mut a, &mut b);
    assert_eq!(x.state().expert.as_deref(), Some("expert-b"));
    assert_eq!(y.state().expert.as_deref(), Some("expert-b"));
}

#[test]
fn documents_survive_save_and_load() {
    let mut doc = fresh();
    CaseDoc::add_attachments(&mut doc, vec![photo("h1", "original")]).unwrap();
    let bytes = doc.save();
    let loaded = AutoCommit::load(&bytes).unwrap();
    assert_eq!(CaseDoc::from_doc(&loaded).unwrap(), CaseDoc::from_doc(&doc).unwrap());
    // A document of another type is refused.
    let mut other = AutoCommit::new();
    autosurgeon::reconcile(&mut other, std::collections::BTreeMap::from([("doc_type", "expert")])).unwrap();
    assert!(CaseDoc::from_doc(&other).is_err());
}

#[test]
fn control_and_bidi_characters_are_refused_in_every_typed_field() {
    let nul = |s: &str| format!("{s}\0");
    let bidi = |s: &str| format!("\u{202E}{s}");
    type Set = fn(&mut NewCase, String);
    let fields: [(&str, Set); 5] = [
        ("subject", |c, v| c.subject = v),
        ("description", |c, v| c.description = v),
        ("farmer_name", |c, v| c.farmer_name = v),
        ("village_name", |c, v| c.village_name = v),
        ("officer", |c, v| c.officer = v),
    ];
    for (field, set) in fields {
        let control = || CaseError::ControlChars { field };
        let bidi_err = || CaseError::BidiChars { field };
        for (bad, expected) in [
            (nul("甲"), control()),
            (bidi("甲"), bidi_err()),
            ("甲\u{2067}乙".to_string(), bidi_err()),
            ("甲\u{1b}[2J".to_string(), control()),
        ] {
            let mut c = new_case();
            set(&mut c, bad.clone());
            assert_eq!(c.validate().unwrap_err().to_string(), expected.to_string(), "{field} = {bad:?}");
            assert!(expected.message_zh().contains("字符"), "{}", expected.message_zh());
            assert!(CaseDoc::create(&c, "case-x", "kiosk-a", created(1)).is_err());
        }
    }
    // A description may have several lines (and a textarea's \r\n); a subject may not.
    let mut c = new_case();
    c.description = "第一行\r\n第二行\n\t第三行".into();
    assert!(c.validate().is_ok());
    c.subject = "柑\n橘".into();
    assert_eq!(c.validate(), Err(CaseError::ControlChars { field: "subject" }));
    // Events: the text may be multi-line; nothing may carry NUL or overrides.
    let mut doc = fresh();
    let mut answer = ev("e-ans", 2_000, EventKind::Answered);
    answer.text = "喷药\0".into();
    assert_eq!(CaseDoc::append_event(&mut doc, answer), Err(CaseError::ControlChars { field: "text" }));
    let mut rated = ev("e-rate", 2_000, EventKind::Rated);
    rated.value = 5;
    rated.actor = "officer\u{2066}-1".into();
    assert_eq!(CaseDoc::append_event(&mut doc, rated), Err(CaseError::BidiChars { field: "officer" }));
    let mut follow = ev("e-f", 2_000, EventKind::FollowedUp);
    follow.value = 1;
    follow.category = "技术\n指导".into();
    assert_eq!(CaseDoc::append_event(&mut doc, follow), Err(CaseError::ControlChars { field: "category" }));
    assert_eq!(CaseDoc::from_doc(&doc).unwrap().events.len(), 1, "nothing appended");
    // People: names, titles and specialities.
    let person = |name: &str, title: &str, speciality: &str| yizhan_core::NewPerson {
        id: "p1".into(),
        name: name.into(),
        role: "expert".into(),
        region_code: "510104".into(),
        industries: vec!["fruit".into()],
        specialities: vec![speciality.into()],
        title: title.into(),
        ..Default::default()
    };
    assert!(person("李果", "农艺师", "柑橘病害").build(1).is_ok());
    for (p, field) in [
        (person("李\0果", "农艺师", "柑橘病害"), "name"),
        (person("李果", "农艺师\u{202D}", "柑橘病害"), "title"),
        (person("李果", "农艺师", "柑橘\n病害"), "speciality"),
    ] {
        let e = p.build(1).unwrap_err();
        assert_eq!(e, yizhan_core::PersonError::BadChars(field));
        assert!(e.message_zh().contains("字符"));
    }
}
