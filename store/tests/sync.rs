//! Sync between two real SQLite stores (a kiosk and its county hub), sessions driven in memory.
#![allow(clippy::unwrap_used)]

use yizhan_core::{CaseDoc, Event, EventKind, NewCase, Status};
use yizhan_store::sync::{PeerPolicy, SyncReplica};
use yizhan_store::{CaseFilter, Db, StoreConfig};
use yizhan_sync_proto::{Event as SyncEvent, Session, SessionConfig};

const KIOSK: &str = "kiosk-1";
const HUB: &str = "hub-510131";

fn case(region: &str) -> NewCase {
    NewCase {
        region_code: region.into(),
        village_name: "和平村".into(),
        industry: "pig".into(),
        subject: "生猪".into(),
        description: "不吃食".into(),
        farmer_name: "王".into(),
        farmer_phone: String::new(),
        officer: "李".into(),
    }
}

fn record(db: &mut Db, id: &str, region: &str) {
    let (_, mut doc) =
        CaseDoc::create(&case(region), id, KIOSK, Event::new(format!("{id}-c"), 1, "李", EventKind::Created))
            .unwrap();
    db.create_doc(id, "case", &mut doc).unwrap();
}

fn append(db: &mut Db, id: &str, ev: Event) {
    db.update_doc(id, |doc| CaseDoc::append_event(doc, ev)).unwrap().unwrap();
}

struct Outcome {
    messages: u64,
    bytes: u64,
    kiosk_events: Vec<SyncEvent>,
}

/// One sync session between the kiosk and the hub until nothing moves.
fn sync(kiosk: &mut Db, hub: &mut Db) -> Outcome {
    let kp = PeerPolicy::parent(HUB, "510131001001");
    let hp = PeerPolicy::child(KIOSK, "510131001001");
    let mut ks = Session::new(SessionConfig::new(KIOSK), HUB);
    let mut hs = Session::new(SessionConfig::new(HUB), KIOSK);
    ks.start(&mut SyncReplica { db: kiosk, policy: &kp, now_ms: 1 }).unwrap();
    hs.start(&mut SyncReplica { db: hub, policy: &hp, now_ms: 1 }).unwrap();
    let (mut messages, mut bytes) = (0, 0);
    loop {
        let k_out: Vec<_> = std::iter::from_fn(|| ks.poll_transmit()).collect();
        let h_out: Vec<_> = std::iter::from_fn(|| hs.poll_transmit()).collect();
        if k_out.is_empty() && h_out.is_empty() {
            break;
        }
        for f in k_out {
            messages += 1;
            bytes += f.len() as u64;
            hs.handle_bytes(&f, &mut SyncReplica { db: hub, policy: &hp, now_ms: 2 }).unwrap();
        }
        for f in h_out {
            messages += 1;
            bytes += f.len() as u64;
            ks.handle_bytes(&f, &mut SyncReplica { db: kiosk, policy: &kp, now_ms: 2 }).unwrap();
        }
    }
    Outcome { messages, bytes, kiosk_events: std::iter::from_fn(|| ks.poll_event()).collect() }
}

fn open(dir: &std::path::Path) -> Db {
    Db::open(StoreConfig::new(dir)).unwrap()
}

#[test]
fn cases_recorded_offline_reach_the_hub_and_clear_the_unsynced_count() {
    let (kd, hd) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (mut kiosk, mut hub) = (open(kd.path()), open(hd.path()));
    for i in 0..50 {
        record(&mut kiosk, &format!("c{i}"), "510131001001");
    }
    assert_eq!(kiosk.stats().unwrap().unsynced_docs, 50);
    let first = sync(&mut kiosk, &mut hub);
    assert!(first.kiosk_events.contains(&SyncEvent::Synced));
    assert_eq!(hub.count_cases(&CaseFilter::default()).unwrap(), 50, "projected at the hub");
    assert_eq!(kiosk.stats().unwrap().unsynced_docs, 0);
    assert!(
        kiosk
            .list_cases(&CaseFilter { limit: 100, ..Default::default() })
            .unwrap()
            .iter()
            .all(|r| !r.unsynced)
    );

    // After a restart of both, nothing changed: two hellos.
    drop((kiosk, hub));
    let (mut kiosk, mut hub) = (open(kd.path()), open(hd.path()));
    let again = sync(&mut kiosk, &mut hub);
    assert_eq!(again.messages, 2);
    assert!(again.bytes < 200, "{} bytes", again.bytes);

    // One new case: the unsynced count shows it until the next sync.
    record(&mut kiosk, "c-new", "510131001001");
    assert_eq!(kiosk.stats().unwrap().unsynced_docs, 1);
    sync(&mut kiosk, &mut hub);
    assert_eq!(kiosk.stats().unwrap().unsynced_docs, 0);
    assert_eq!(hub.count_cases(&CaseFilter::default()).unwrap(), 51);
}

#[test]
fn concurrent_actions_at_kiosk_and_hub_merge_to_one_status_on_both() {
    let (kd, hd) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (mut kiosk, mut hub) = (open(kd.path()), open(hd.path()));
    record(&mut kiosk, "c1", "510131001001");
    append(&mut kiosk, "c1", Event::new("esc", 10, "李", EventKind::Escalated));
    sync(&mut kiosk, &mut hub);
    // Offline: the hub assigns and the expert answers; the kiosk adds a note.
    let mut asg = Event::new("asg", 20, "县中心", EventKind::Assigned);
    asg.target = "expert-9".into();
    append(&mut hub, "c1", asg);
    let mut ans = Event::new("ans", 30, "专家", EventKind::Answered);
    ans.text = "注射青霉素".into();
    append(&mut hub, "c1", ans);
    append(&mut kiosk, "c1", Event::new("note", 25, "李", EventKind::Unknown("note".into())));
    sync(&mut kiosk, &mut hub);
    let state = |db: &Db| CaseDoc::from_doc(&db.load_doc("c1").unwrap().unwrap()).unwrap();
    let (k, h) = (state(&kiosk), state(&hub));
    assert_eq!(k, h);
    assert_eq!(k.state().status, Status::Answered);
    assert_eq!(k.events.len(), 5);
    let row =
        |db: &Db| db.list_cases(&CaseFilter { limit: 1, ..Default::default() }).unwrap()[0].status.clone();
    assert_eq!((row(&kiosk), row(&hub)), ("answered".to_string(), "answered".to_string()));
    // Merges do not echo: the next session is the two hellos.
    assert_eq!(sync(&mut kiosk, &mut hub).messages, 2);
}

#[test]
fn a_case_outside_the_kiosks_scope_is_refused_and_nothing_of_it_is_stored() {
    let (kd, hd) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (mut kiosk, mut hub) = (open(kd.path()), open(hd.path()));
    record(&mut kiosk, "ours", "510131001001");
    record(&mut kiosk, "theirs", "510104017001");
    let out = sync(&mut kiosk, &mut hub);
    assert!(hub.load_doc("ours").unwrap().is_some());
    assert!(hub.load_doc("theirs").unwrap().is_none());
    assert_eq!(hub.count_cases(&CaseFilter::default()).unwrap(), 1);
    assert!(
        out.kiosk_events.iter().any(|e| matches!(e, SyncEvent::RefusedByPeer(r) if r[0].doc_id == "theirs"))
    );
}

#[test]
fn document_history_grows_with_the_change_not_with_the_document() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = open(dir.path());
    record(&mut db, "c1", "510131001001");
    let stored = |db: &Db| -> i64 {
        let conn = rusqlite::Connection::open(db.database_path()).unwrap();
        conn.query_row("SELECT COALESCE(SUM(length(data)), 0) FROM doc_changes", [], |r| r.get(0)).unwrap()
    };
    append(&mut db, "c1", Event::new("n1", 2, "李", EventKind::Unknown("note".into())));
    let one = stored(&db);
    for i in 2..12 {
        append(&mut db, "c1", Event::new(format!("n{i}"), i, "李", EventKind::Unknown("note".into())));
    }
    let eleven = stored(&db);
    let whole = db.load_doc("c1").unwrap().unwrap().save().len() as i64;
    eprintln!("one change {one} B, eleven {eleven} B, whole document {whole} B");
    // Each stored chunk holds its own change, not the whole history again.
    assert!(one * 3 < whole, "one change stored {one} bytes, the whole document is {whole}");
    assert!(eleven < one * 14, "11 small changes stored {eleven} bytes, one stored {one}");
}

/// Copies the database file of a closed store (its WAL is folded in when the last connection
/// closes), as an officer backs up a kiosk.
fn back_up(dir: &std::path::Path, to: &std::path::Path) {
    for name in ["yizhan.sqlite3-wal", "yizhan.sqlite3-shm"] {
        assert!(!dir.join(name).exists(), "{name} left by a closed store");
    }
    std::fs::copy(dir.join("yizhan.sqlite3"), to).unwrap();
}

fn restore(backup: &std::path::Path, dir: &std::path::Path) {
    for name in ["yizhan.sqlite3-wal", "yizhan.sqlite3-shm"] {
        let _ = std::fs::remove_file(dir.join(name));
    }
    std::fs::copy(backup, dir.join("yizhan.sqlite3")).unwrap();
}

fn case_ids(db: &Db) -> Vec<String> {
    db.list_cases(&CaseFilter { limit: 500, ..Default::default() })
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect()
}

fn heads(db: &Db, id: &str) -> Vec<automerge::ChangeHash> {
    let mut h = db.load_doc(id).unwrap().unwrap().get_heads();
    h.sort();
    h
}

/// A kiosk's database file is restored from a backup after it had synced more: its feed reuses
/// sequence numbers the hub had passed, and it records more than it lost, so its head passes
/// the hub's checkpoint. The hub ends with every case once, the kiosk gets back what it lost.
#[test]
fn a_kiosk_restored_from_an_old_database_file_loses_nothing_at_the_hub() {
    let (kd, hd, saved) =
        (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let backup = saved.path().join("kiosk-backup.sqlite3");
    let (mut kiosk, mut hub) = (open(kd.path()), open(hd.path()));
    for i in 0..10 {
        record(&mut kiosk, &format!("before-{i}"), "510131001001");
    }
    sync(&mut kiosk, &mut hub);
    drop(kiosk);
    back_up(kd.path(), &backup);

    // After the backup: more cases, a note on an old one, and the hub answers one; all synced.
    let mut kiosk = open(kd.path());
    for i in 0..10 {
        record(&mut kiosk, &format!("lost-{i}"), "510131001001");
    }
    append(
        &mut kiosk,
        "before-3",
        Event::new("note-after-backup", 5, "李", EventKind::Unknown("note".into())),
    );
    sync(&mut kiosk, &mut hub);
    let mut asg = Event::new("asg", 20, "县中心", EventKind::Assigned);
    asg.target = "expert-9".into();
    append(&mut hub, "lost-4", asg);
    sync(&mut kiosk, &mut hub);
    assert_eq!(hub.count_cases(&CaseFilter::default()).unwrap(), 20);
    drop(kiosk);

    // The old file comes back; the officer records more cases than were lost.
    restore(&backup, kd.path());
    let mut kiosk = open(kd.path());
    assert_eq!(kiosk.count_cases(&CaseFilter::default()).unwrap(), 10);
    for i in 0..15 {
        record(&mut kiosk, &format!("after-{i}"), "510131001001");
    }
    let out = sync(&mut kiosk, &mut hub);
    assert!(out.kiosk_events.contains(&SyncEvent::Synced));
    assert!(
        out.kiosk_events.iter().any(|e| matches!(e, SyncEvent::WentBack { .. })),
        "the kiosk found the hub's checkpoint named history it lost: {:?}",
        out.kiosk_events
    );

    let mut expected: Vec<String> = (0..10)
        .map(|i| format!("before-{i}"))
        .chain((0..10).map(|i| format!("lost-{i}")))
        .chain((0..15).map(|i| format!("after-{i}")))
        .collect();
    expected.sort();
    let mut at_hub = case_ids(&hub);
    at_hub.sort();
    assert_eq!(at_hub, expected, "every case at the hub, once");
    let mut at_kiosk = case_ids(&kiosk);
    at_kiosk.sort();
    assert_eq!(at_kiosk, expected, "the kiosk got back what the restore lost");
    for id in &expected {
        assert_eq!(heads(&kiosk, id), heads(&hub, id), "{id}");
        let case = CaseDoc::from_doc(&hub.load_doc(id).unwrap().unwrap()).unwrap();
        let created = case.events.iter().filter(|e| e.id == format!("{id}-c")).count();
        assert_eq!((created, case.events.len() <= 2), (1, true), "{id} recorded once");
    }
    let noted = CaseDoc::from_doc(&kiosk.load_doc("before-3").unwrap().unwrap()).unwrap();
    assert!(noted.events.iter().any(|e| e.id == "note-after-backup"), "the lost note is back");
    let assigned = CaseDoc::from_doc(&kiosk.load_doc("lost-4").unwrap().unwrap()).unwrap();
    assert!(assigned.events.iter().any(|e| e.id == "asg"), "the hub's change to a lost case is back");
    assert_eq!(kiosk.stats().unwrap().unsynced_docs, 0);

    // Settled: the next sync is the two hellos, also after both restart.
    assert_eq!(sync(&mut kiosk, &mut hub).messages, 2);
    drop((kiosk, hub));
    let (mut kiosk, mut hub) = (open(kd.path()), open(hd.path()));
    assert_eq!(sync(&mut kiosk, &mut hub).messages, 2);
}

/// The hub's database is restored from a backup: the kiosk's records of what the hub holds
/// are no proof any more; the hub gets back every case and change it lost from the kiosk.
#[test]
fn a_hub_restored_from_an_old_database_file_gets_back_what_it_lost() {
    let (kd, hd, saved) =
        (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let backup = saved.path().join("hub-backup.sqlite3");
    let (mut kiosk, mut hub) = (open(kd.path()), open(hd.path()));
    for i in 0..5 {
        record(&mut kiosk, &format!("c{i}"), "510131001001");
    }
    sync(&mut kiosk, &mut hub);
    drop(hub);
    back_up(hd.path(), &backup);
    let mut hub = open(hd.path());
    for i in 5..12 {
        record(&mut kiosk, &format!("c{i}"), "510131001001");
    }
    append(&mut kiosk, "c1", Event::new("esc", 10, "李", EventKind::Escalated));
    sync(&mut kiosk, &mut hub);
    drop(hub);
    restore(&backup, hd.path());
    let mut hub = open(hd.path());
    assert_eq!(hub.count_cases(&CaseFilter::default()).unwrap(), 5);
    let out = sync(&mut kiosk, &mut hub);
    assert!(out.kiosk_events.contains(&SyncEvent::Synced));
    let mut ids = case_ids(&hub);
    ids.sort();
    let mut expected: Vec<String> = (0..12).map(|i| format!("c{i}")).collect();
    expected.sort();
    assert_eq!(ids, expected);
    for id in &expected {
        assert_eq!(heads(&kiosk, id), heads(&hub, id), "{id}");
    }
    assert_eq!(kiosk.stats().unwrap().unsynced_docs, 0);
    assert_eq!(sync(&mut kiosk, &mut hub).messages, 2);
}

#[test]
fn document_data_that_panics_automerge_is_refused_and_the_rest_of_the_batch_applies() {
    use yizhan_sync_proto::{DocChange, Peer, RejectReason, Replica};
    let (kd, hd) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (mut kiosk, mut hub) = (open(kd.path()), open(hd.path()));
    record(&mut kiosk, "good", "510131001001");
    let good = kiosk.load_doc("good").unwrap().unwrap().save();
    // Bytes on which automerge 0.12 panics (found by fuzzing, fuzz/regressions/doc_changes/).
    let crasher = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../fuzz/regressions/doc_changes/automerge-hexane-rle-unwrap"),
    )
    .unwrap();
    let change = |id: &str, data: Vec<u8>| DocChange {
        doc_id: id.into(),
        doc_type: "case".into(),
        scope: "510131001001".into(),
        data,
        heads: Vec::new(),
    };
    let policy = PeerPolicy::child(KIOSK, "510131001001");
    let mut replica = SyncReplica { db: &mut hub, policy: &policy, now_ms: 1 };
    let peer = Peer { id: KIOSK, incarnation: 1, session: 1 };
    let rejected = replica.apply(peer, 2, 2, vec![change("bad", crasher), change("good", good)]).unwrap();
    assert_eq!(rejected.len(), 1, "{rejected:?}");
    assert_eq!((rejected[0].doc_id.as_str(), rejected[0].reason), ("bad", RejectReason::Invalid));
    assert!(hub.load_doc("bad").unwrap().is_none());
    assert!(hub.load_doc("good").unwrap().is_some(), "the rest of the batch applied");
}

fn refused(out: &Outcome) -> Vec<String> {
    out.kiosk_events
        .iter()
        .filter_map(|e| match e {
            SyncEvent::RefusedByPeer(r) => Some(r.iter().map(|r| r.doc_id.clone()).collect::<Vec<_>>()),
            _ => None,
        })
        .flatten()
        .collect()
}

fn events_at(db: &Db, id: &str) -> Vec<String> {
    let doc = db.load_doc(id).unwrap().unwrap();
    CaseDoc::from_doc(&doc).unwrap().events.iter().map(|e| e.id.clone()).collect()
}

#[test]
fn a_kiosk_cannot_write_a_centres_or_an_experts_event_nor_remove_one() {
    let (kd, hd) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (mut kiosk, mut hub) = (open(kd.path()), open(hd.path()));
    record(&mut kiosk, "c1", "510131001001");
    record(&mut kiosk, "c2", "510131001001");
    append(&mut kiosk, "c1", Event::new("esc", 10, "李", EventKind::Escalated));
    sync(&mut kiosk, &mut hub);
    let mut asg = Event::new("asg", 20, "县中心", EventKind::Assigned);
    asg.target = "expert-9".into();
    append(&mut hub, "c1", asg);
    sync(&mut kiosk, &mut hub);

    // A tampered kiosk writes the expert's answer itself, on c1; and the officer's ordinary
    // escalation of c2 travels in the same session.
    let mut forged = Event::new("forged-answer", 30, "expert-9", EventKind::Answered);
    forged.text = "不用管".into();
    append(&mut kiosk, "c1", forged);
    append(&mut kiosk, "c2", Event::new("esc2", 31, "李", EventKind::Escalated));
    let out = sync(&mut kiosk, &mut hub);
    assert_eq!(refused(&out), ["c1"], "{:?}", out.kiosk_events);
    assert!(!events_at(&hub, "c1").contains(&"forged-answer".to_string()));
    assert!(events_at(&hub, "c2").contains(&"esc2".to_string()), "the officer's own event applies");

    // Nor may it drop the assignment the county made.
    let (kd2, hd2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (mut kiosk, mut hub) = (open(kd2.path()), open(hd2.path()));
    record(&mut kiosk, "c1", "510131001001");
    append(&mut kiosk, "c1", Event::new("esc", 10, "李", EventKind::Escalated));
    sync(&mut kiosk, &mut hub);
    let mut asg = Event::new("asg", 20, "县中心", EventKind::Assigned);
    asg.target = "expert-9".into();
    append(&mut hub, "c1", asg);
    sync(&mut kiosk, &mut hub);
    kiosk
        .update_doc("c1", |doc| {
            let mut case = CaseDoc::from_doc(doc).map_err(|e| e.to_string())?;
            case.events.retain(|e| e.id != "asg");
            autosurgeon::reconcile(doc, &case).map_err(|e| e.to_string())
        })
        .unwrap()
        .unwrap();
    let out = sync(&mut kiosk, &mut hub);
    assert_eq!(refused(&out), ["c1"]);
    assert!(events_at(&hub, "c1").contains(&"asg".to_string()));
}

#[test]
fn a_kiosk_submits_its_listing_but_cannot_review_it_or_write_a_hubs_types() {
    use yizhan_core::item::{ItemDoc, ItemStep, NewItem};
    let step = |id: &str, actor: &str, kind: &str| ItemStep {
        id: id.into(),
        at_ms: 5,
        actor: actor.into(),
        actor_name: "某人".into(),
        role: "officer".into(),
        kind: kind.into(),
        note: String::new(),
    };
    let (kd, hd) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (mut kiosk, mut hub) = (open(kd.path()), open(hd.path()));
    let new = NewItem {
        kind: "supply.offer".into(),
        centre: "510131001001".into(),
        title: "出售脐橙".into(),
        body: "五吨".into(),
        author: "officer-1".into(),
        ip_owner: "和平村驿站".into(),
        ..Default::default()
    };
    let draft = |db: &mut Db, id: &str, steps: Vec<ItemStep>| {
        let (_, mut doc) = ItemDoc::create(&new, id, 1).unwrap();
        for s in steps {
            ItemDoc::append_step(&mut doc, s).unwrap();
        }
        db.create_doc(id, "pub_item", &mut doc).unwrap();
    };
    draft(
        &mut kiosk,
        "ok",
        vec![step("ok-s", "officer-1", "submit"), step("ok-c", &format!("system:{KIOSK}"), "checks_passed")],
    );
    // The review a staff member would take at the county, forged by the kiosk.
    draft(&mut kiosk, "forged", vec![step("f-s", "officer-1", "submit"), step("f-r", "staff-1", "review")]);
    // A submission in another person's name.
    draft(&mut kiosk, "other", vec![step("o-s", "officer-2", "submit")]);
    let out = sync(&mut kiosk, &mut hub);
    let mut refused = refused(&out);
    refused.sort();
    assert_eq!(refused, ["forged", "other"]);
    assert!(hub.load_doc("ok").unwrap().is_some());
    assert!(hub.load_doc("forged").unwrap().is_none());

    // Once at the hub, a later forged step on the accepted draft is refused too.
    kiosk
        .update_doc("ok", |doc| ItemDoc::append_step(doc, step("ok-r", "staff-1", "review")))
        .unwrap()
        .unwrap();
    let out = sync(&mut kiosk, &mut hub);
    assert!(refused_has(&out, "ok"));
    let held = ItemDoc::from_doc(&hub.load_doc("ok").unwrap().unwrap()).unwrap();
    assert_eq!(held.steps.len(), 2);

    // A type only hubs write (the people directory) is refused from a kiosk.
    let person = yizhan_core::people::Person {
        doc_type: yizhan_core::people::DOC_TYPE.into(),
        schema: 1,
        id: "p-forged".into(),
        name: "假专家".into(),
        role: "expert".into(),
        region_code: "510131001001".into(),
        industries: vec![],
        specialities: vec![],
        availability: String::new(),
        title: String::new(),
        phone_masked: String::new(),
        active: true,
        updated_at_ms: 1,
    };
    let mut doc = person.to_doc().unwrap();
    kiosk.create_doc("p-forged", yizhan_core::people::DOC_TYPE, &mut doc).unwrap();
    let out = sync(&mut kiosk, &mut hub);
    assert!(refused_has(&out, "p-forged"));
    assert!(hub.load_doc("p-forged").unwrap().is_none());
}

fn refused_has(out: &Outcome, id: &str) -> bool {
    refused(out).iter().any(|r| r == id)
}

#[test]
fn a_phone_goes_up_once_sealed_to_the_countys_key_not_before() {
    use yizhan_core::private::CasePrivate;
    use yizhan_core::sealed::CountySecretKey;
    let (kd, hd) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (mut kiosk, mut hub) = (open(kd.path()), open(hd.path()));
    record(&mut kiosk, "c1", "510131001001");
    let new = NewCase { farmer_phone: "13812345678".into(), ..case("510131001001") };
    // Recorded before the kiosk held its county's key: sealed only to the kiosk's field key,
    // which the county cannot open.
    let mut private = CasePrivate::for_case(&new, "c1", "13812345678", "v1:FIELD-SEALED".into()).unwrap();
    let mut doc = private.to_doc().unwrap();
    kiosk.create_doc("c1.private", "case_private", &mut doc).unwrap();
    sync(&mut kiosk, &mut hub);
    assert!(hub.load_doc("c1").unwrap().is_some());
    assert!(hub.load_doc("c1.private").unwrap().is_none(), "not before it is sealed to the county");

    // The key arrives and the kiosk seals the phone to it: now it goes, once.
    let county = CountySecretKey::from_bytes([3; 32]).public_key();
    private.seal_for_county("13812345678", &county, [7; 32], [9; 24]).unwrap();
    kiosk.update_doc("c1.private", |doc| private.update_doc(doc)).unwrap().unwrap();
    let out = sync(&mut kiosk, &mut hub);
    let held = CasePrivate::from_doc(&hub.load_doc("c1.private").unwrap().unwrap()).unwrap();
    assert!(held.sealed_for_county(&county.key_id()));
    assert!(out.bytes < 4_000, "the private part went once: {} bytes", out.bytes);
}

/// 特派员讲堂 views: recorded offline at the kiosk, counted once at the hub however often the
/// document is sent; another kiosk's document or a lowered count is refused.
#[test]
fn lecture_views_reach_the_hub_once_and_forgeries_are_refused() {
    use std::collections::BTreeMap;
    use yizhan_core::lecture_views::{self, LectureViewsDoc};
    const VILLAGE: &str = "510131001001";
    let (kd, hd) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (mut kiosk, mut hub) = (open(kd.path()), open(hd.path()));
    for lecture in ["lec-1", "lec-1", "lec-2", "lec-1"] {
        kiosk.record_lecture_view(KIOSK, VILLAGE, lecture).unwrap();
    }
    let expected = BTreeMap::from([("lec-1".to_string(), 3u64), ("lec-2".to_string(), 1)]);
    assert_eq!(kiosk.lecture_views_by_lecture(VILLAGE, 0, 999_912).unwrap(), expected);
    assert!(hub.lecture_views_by_lecture("510131", 0, 999_912).unwrap().is_empty());
    let out = sync(&mut kiosk, &mut hub);
    assert!(refused(&out).is_empty());
    assert_eq!(hub.lecture_views_by_lecture("510131", 0, 999_912).unwrap(), expected);
    // Again, and after one more view: each view counted once.
    sync(&mut kiosk, &mut hub);
    assert_eq!(hub.lecture_views_by_lecture("510131", 0, 999_912).unwrap(), expected);
    kiosk.record_lecture_view(KIOSK, VILLAGE, "lec-2").unwrap();
    sync(&mut kiosk, &mut hub);
    sync(&mut kiosk, &mut hub);
    let counted = hub.lecture_views_by_lecture("510131", 0, 999_912).unwrap();
    assert_eq!(counted.get("lec-2"), Some(&2));
    assert_eq!(counted.get("lec-1"), Some(&3));
    // The projection is rebuildable from the documents.
    hub.rebuild_projections().unwrap();
    assert_eq!(hub.lecture_views_by_lecture("510131", 0, 999_912).unwrap(), counted);

    // Another kiosk's document, written by this one.
    let (forged, mut doc) = LectureViewsDoc::new("kiosk-2", VILLAGE, 202601, "lec-1").unwrap();
    kiosk.create_doc(&forged.id, lecture_views::DOC_TYPE, &mut doc).unwrap();
    let out = sync(&mut kiosk, &mut hub);
    assert!(refused_has(&out, &forged.id), "{:?}", refused(&out));
    assert!(hub.load_doc(&forged.id).unwrap().is_none());

    // Its own document with a count lowered.
    let own = kiosk
        .changes_since(0, 1000)
        .unwrap()
        .into_iter()
        .map(|e| e.doc_id)
        .find(|id| id.starts_with(&format!("views-{KIOSK}-")))
        .unwrap();
    kiosk
        .update_doc(&own, |doc| {
            let mut v = LectureViewsDoc::from_doc(doc).unwrap();
            v.counts.insert("lec-1".into(), 1);
            autosurgeon::reconcile(doc, &v)
        })
        .unwrap()
        .unwrap();
    let out = sync(&mut kiosk, &mut hub);
    assert!(refused_has(&out, &own), "{:?}", refused(&out));
    assert_eq!(hub.lecture_views_by_lecture("510131", 0, 999_912).unwrap(), counted);
}
