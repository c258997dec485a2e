//! The store on a real SQLite file in a temporary directory.
#![allow(clippy::unwrap_used)]

use automerge::AutoCommit;
use yizhan_core::{CaseDoc, Event, EventKind, NewCase};
use yizhan_store::{BlobBody, CaseFilter, Db, Hash, JobState, Store, StoreConfig, StoreError};

fn new_case(subject: &str, description: &str) -> NewCase {
    NewCase {
        region_code: "510104017001".into(),
        village_name: "和平村".into(),
        industry: "fruit".into(),
        subject: subject.into(),
        description: description.into(),
        farmer_name: "王大爷".into(),
        farmer_phone: "13812345678".into(),
        officer: "李信息员".into(),
    }
}

fn create(db: &mut Db, id: &str, subject: &str, description: &str, at_ms: i64) {
    let created = Event::new(format!("{id}-c"), at_ms, "李信息员", EventKind::Created);
    let new = new_case(subject, description);
    let (_, doc) = CaseDoc::create(&new, id, "k", created).unwrap();
    // The phone goes into the case's private part (sealed by the kiosk; a stand-in here).
    let phone = new.validate().unwrap();
    let private = yizhan_core::private::CasePrivate::for_case(&new, id, &phone, "v1:sealed".into()).unwrap();
    let docs = vec![
        (id.to_string(), "case", doc),
        (yizhan_core::private::CasePrivate::id_for(id), "case_private", private.to_doc().unwrap()),
    ];
    db.create_docs_with(docs, Vec::new(), &[]).unwrap();
}

fn escalate(db: &mut Db, id: &str, n: i64) {
    db.update_doc(id, |doc| {
        CaseDoc::append_event(doc, Event::new(format!("{id}-e{n}"), 5_000 + n, "x", EventKind::Escalated))
    })
    .unwrap()
    .unwrap();
}

#[test]
fn documents_persist_with_history_and_feed() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = StoreConfig::new(dir.path());
    cfg.compact_after_changes = 4;
    {
        let mut db = Db::open(cfg.clone()).unwrap();
        create(&mut db, "c1", "柑橘", "黄叶", 1_000);
        create(&mut db, "c2", "水稻", "稻瘟病", 2_000);
        assert!(matches!(db.create_doc("c1", "case", &mut AutoCommit::new()), Err(StoreError::Exists(_))));
        // Ten changes, compacted along the way.
        for n in 0..10 {
            db.update_doc("c1", |doc| {
                let mut e = Event::new(format!("n{n}"), 3_000 + n, "x", EventKind::Unknown("note".into()));
                e.text = format!("记录{n}");
                CaseDoc::append_event(doc, e)
            })
            .unwrap()
            .unwrap();
        }
        escalate(&mut db, "c1", 1);
        // A refused change writes nothing.
        let before = db.changes_since(0, 100).unwrap();
        let refused = db
            .update_doc("c2", |doc| {
                let mut bad = Event::new("bad", 1, "x", EventKind::Rated);
                bad.value = 0;
                CaseDoc::append_event(doc, bad)
            })
            .unwrap();
        assert!(refused.is_err());
        assert_eq!(db.changes_since(0, 100).unwrap(), before);
        assert!(matches!(db.update_doc("nope", |_| Ok::<_, ()>(())), Err(StoreError::NotFound(_))));
    }
    // Reopen from disk.
    let db = Db::open(cfg).unwrap();
    let case = CaseDoc::from_doc(&db.load_doc("c1").unwrap().unwrap()).unwrap();
    assert_eq!(case.events.len(), 12);
    assert_eq!(case.state().status, yizhan_core::Status::AwaitingTriage);
    // The feed holds one entry per document, the latest change last.
    let feed: Vec<_> =
        db.changes_since(0, 100).unwrap().into_iter().filter(|f| f.doc_type == "case").collect();
    assert_eq!(feed.iter().map(|f| f.doc_id.as_str()).collect::<Vec<_>>(), ["c2", "c1"]);
    let after_c2: Vec<_> =
        db.changes_since(feed[0].seq, 100).unwrap().into_iter().map(|f| f.doc_id).collect();
    assert_eq!(after_c2, ["c2.private", "c1"]);
    assert_eq!(db.integrity_check().unwrap(), "ok");
}

#[test]
fn projections_filter_and_rebuild_identically() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = Db::open(StoreConfig::new(dir.path())).unwrap();
    create(&mut db, "c1", "柑橘", "叶片发黄 100%", 1_000);
    create(&mut db, "c2", "水稻", "稻瘟病", 2_000);
    create(&mut db, "c3", "生猪", "不吃食_发烧", 3_000);
    escalate(&mut db, "c2", 1);
    let all = |db: &Db| db.list_cases(&CaseFilter { limit: 50, ..Default::default() }).unwrap();
    let rows = all(&db);
    assert_eq!(rows.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["c3", "c2", "c1"]);
    assert_eq!(rows[0].phone_masked, "138****5678");
    assert!(rows.iter().all(|r| r.unsynced));
    let by = |f: CaseFilter| {
        db.list_cases(&CaseFilter { limit: 50, ..f }).unwrap().into_iter().map(|r| r.id).collect::<Vec<_>>()
    };
    assert_eq!(by(CaseFilter { status: Some("awaiting_triage".into()), ..Default::default() }), ["c2"]);
    assert_eq!(by(CaseFilter { text: Some("稻瘟".into()), ..Default::default() }), ["c2"]);
    // LIKE wildcards typed by the user match literally.
    assert_eq!(by(CaseFilter { text: Some("100%".into()), ..Default::default() }), ["c1"]);
    assert_eq!(by(CaseFilter { text: Some("食_发".into()), ..Default::default() }), ["c3"]);
    assert_eq!(by(CaseFilter { text: Some("_".into()), ..Default::default() }), ["c3"]);
    assert_eq!(
        db.count_cases(&CaseFilter { industry: Some("fruit".into()), ..Default::default() }).unwrap(),
        3
    );

    // The hub has everything up to c3 (c2 changed after that).
    let c3 = db.changes_since(0, 10).unwrap().into_iter().find(|f| f.doc_id == "c3").unwrap().seq;
    db.set_peer_sent_seq("hub-510131", true, c3, 9).unwrap();
    assert_eq!(db.stats().unwrap().unsynced_docs, 1);

    let before = all(&db);
    assert_eq!(db.rebuild_projections().unwrap(), 6, "three cases and their private parts");
    assert_eq!(all(&db), before);
}

#[test]
fn blobs_inline_and_as_files_verified() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = Db::open(StoreConfig::new(dir.path())).unwrap();
    let small = db.put_blob_bytes(b"tiny", "text/plain").unwrap();
    assert!(matches!(db.blob(&small.hash).unwrap(), Some((_, BlobBody::Inline(b))) if b == b"tiny"));
    let big: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let mut w = db.blob_writer(1 << 20).unwrap();
    for chunk in big.chunks(7_000) {
        w.write(chunk).unwrap();
    }
    let info = db.record_blob(w.finish().unwrap(), "application/octet-stream").unwrap();
    assert_eq!(info.hash, Hash::of(&big));
    let Some((_, BlobBody::File(path))) = db.blob(&info.hash).unwrap() else {
        panic!("expected a file blob")
    };
    assert_eq!(std::fs::read(&path).unwrap(), big);
    db.verify_blob(&info.hash).unwrap();
    // Storing the same bytes again is one blob.
    db.put_blob_bytes(&big, "application/octet-stream").unwrap();
    assert_eq!(db.stats().unwrap().blobs, 2);
    // Damage on disk is detected.
    std::fs::write(&path, b"bitrot").unwrap();
    assert!(matches!(db.verify_blob(&info.hash), Err(StoreError::BlobCorrupt { .. })));

    // A writer over its limit fails; an abandoned writer leaves no temporary file.
    let mut w = db.blob_writer(10).unwrap();
    assert!(w.write(&[0; 11]).is_err());
    drop(w);
    let tmp = dir.path().join("blobs/tmp");
    assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0);
    assert!(Hash::parse("../../etc/passwd").is_none());
    assert!(Hash::parse(&"A".repeat(64)).is_none());
}

#[test]
fn leftover_temporary_files_are_removed_at_open() {
    let dir = tempfile::tempdir().unwrap();
    drop(Db::open(StoreConfig::new(dir.path())).unwrap());
    let stray = dir.path().join("blobs/tmp/123-0.part");
    std::fs::write(&stray, b"half a video").unwrap();
    drop(Db::open(StoreConfig::new(dir.path())).unwrap());
    assert!(!stray.exists());
}

#[test]
fn jobs_are_claimed_once_and_resume_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = StoreConfig::new(dir.path());
    {
        let mut db = Db::open(cfg.clone()).unwrap();
        db.enqueue_job("video", "c1", "h1").unwrap();
        db.enqueue_job("video", "c1", "h1").unwrap();
        db.enqueue_job("video", "c2", "h2").unwrap();
        let j = db.claim_job().unwrap().unwrap();
        assert_eq!((j.doc_id.as_str(), j.state, j.attempts), ("c1", JobState::Running, 1));
        db.set_job_progress(j.id, 0.5).unwrap();
        // The process dies here with job 1 running.
    }
    let mut db = Db::open(cfg).unwrap();
    let j = db.claim_job().unwrap().unwrap();
    assert_eq!((j.doc_id.as_str(), j.attempts), ("c1", 2));
    db.finish_job(j.id, JobState::Done, "").unwrap();
    let j2 = db.claim_job().unwrap().unwrap();
    assert_eq!(j2.doc_id, "c2");
    db.finish_job(j2.id, JobState::Failed, "corrupt").unwrap();
    assert!(db.claim_job().unwrap().is_none());
    assert_eq!(db.jobs_for_doc("c1").unwrap()[0].progress, 1.0);
    assert_eq!(db.stats().unwrap().jobs_pending, 0);
}

#[test]
fn migrations_upgrade_old_databases_and_refuse_newer_ones() {
    let dir = tempfile::tempdir().unwrap();
    // A database left at version 0 (created by hand, as a pre-release build would) upgrades.
    let path = dir.path().join("yizhan.sqlite3");
    rusqlite::Connection::open(&path).unwrap().execute_batch("CREATE TABLE leftover (x)").unwrap();
    let mut db = Db::open(StoreConfig::new(dir.path())).unwrap();
    create(&mut db, "c1", "柑橘", "黄叶", 1);
    drop(db);
    rusqlite::Connection::open(&path).unwrap().pragma_update(None, "user_version", 999).unwrap();
    assert!(matches!(Db::open(StoreConfig::new(dir.path())), Err(StoreError::TooNew { found: 999, .. })));
}

#[tokio::test]
async fn the_async_handle_runs_on_the_database_thread() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(StoreConfig::new(dir.path())).unwrap();
    let mut tasks = Vec::new();
    for i in 0..20 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .call(move |db| {
                    create(db, &format!("c{i}"), "玉米", "虫害", i);
                    Ok(())
                })
                .await
                .unwrap();
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let n = store.call(|db| db.count_cases(&CaseFilter::default())).await.unwrap();
    assert_eq!(n, 20);
}

#[tokio::test]
async fn an_operation_that_panics_is_rolled_back_and_the_store_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(StoreConfig::new(dir.path())).unwrap();
    let outcome = store
        .call(|db| {
            let tx = db.conn().transaction()?;
            tx.execute("INSERT INTO settings (key, value) VALUES ('half-done', 'x')", [])?;
            // Stands for a bug reached by input from the network (a decoder that panics).
            let bytes: Vec<u8> = Vec::new();
            let _ = bytes[3];
            tx.commit()?;
            Ok(())
        })
        .await;
    assert!(matches!(outcome, Err(StoreError::Panicked)), "{outcome:?}");
    let (n, half_done) = store
        .call(|db| {
            create(db, "c1", "玉米", "虫害", 1);
            let half_done: i64 =
                db.conn()
                    .query_row("SELECT count(*) FROM settings WHERE key = 'half-done'", [], |r| r.get(0))?;
            Ok((db.count_cases(&CaseFilter::default())?, half_done))
        })
        .await
        .unwrap();
    assert_eq!((n, half_done), (1, 0), "the store still serves; the panicking write was rolled back");
    // A panic inside a batch (a transaction opened by hand) is rolled back too.
    let outcome = store
        .call(|db| {
            db.batch(|db| {
                create(db, "c2", "玉米", "虫害", 2);
                let bytes: Vec<u8> = Vec::new();
                let _ = bytes[3];
                Ok(())
            })
        })
        .await;
    assert!(matches!(outcome, Err(StoreError::Panicked)), "{outcome:?}");
    let (n, open) = store
        .call(|db| Ok((db.count_cases(&CaseFilter::default())?, !db.conn().is_autocommit())))
        .await
        .unwrap();
    assert_eq!((n, open), (1, false), "the batch's case was rolled back and no transaction is left open");
}

#[test]
fn a_document_and_its_blobs_are_stored_together_or_not_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = Db::open(StoreConfig::new(dir.path())).unwrap();
    let prepare =
        |bytes: Vec<u8>| yizhan_store::NewBlob::prepare(dir.path(), bytes, "image/jpeg", 16 * 1024).unwrap();
    create(&mut db, "c1", "柑橘", "黄叶", 1);
    // Creating a document whose id exists fails, and its blobs stay invisible.
    let created = Event::new("x", 1, "x", EventKind::Created);
    let (_, mut doc) = CaseDoc::create(&new_case("a", "b"), "c1", "k", created).unwrap();
    let blobs = vec![prepare(vec![1; 100]), prepare(vec![2; 100_000])];
    assert!(db.create_doc_with("c1", "case", &mut doc, blobs, &[("video", "h")]).is_err());
    assert_eq!((db.stats().unwrap().blobs, db.stats().unwrap().jobs_pending), (0, 0));
    // A refused change records none of its blobs either.
    let refused = db.update_doc_with("c1", vec![prepare(vec![3; 50_000])], |_| Err::<(), _>("no")).unwrap();
    assert!(refused.is_err());
    assert_eq!(db.stats().unwrap().blobs, 0);
    // A successful one records them.
    let blob = prepare(vec![4; 50_000]);
    let hash = blob.info().hash.clone();
    db.update_doc_with("c1", vec![blob], |doc| {
        CaseDoc::append_event(doc, Event::new("n", 2, "x", EventKind::Unknown("note".into())))
    })
    .unwrap()
    .unwrap();
    db.verify_blob(&hash).unwrap();
    let (_, mut doc2) =
        CaseDoc::create(&new_case("a", "b"), "c2", "k", Event::new("y", 1, "x", EventKind::Created)).unwrap();
    db.create_doc_with("c2", "case", &mut doc2, vec![prepare(vec![5; 10])], &[("video", "h5")]).unwrap();
    assert_eq!(db.stats().unwrap().blobs, 2);
    assert_eq!(db.claim_job().unwrap().unwrap().doc_id, "c2");
}

#[test]
fn blob_files_of_writes_that_never_committed_are_removed_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let kept;
    let orphan;
    {
        let mut db = Db::open(StoreConfig::new(dir.path())).unwrap();
        kept = db.put_blob_bytes(&vec![7u8; 40_000], "image/jpeg").unwrap().hash;
        // Durable under its final name, but the process dies before the row is inserted.
        let blob =
            yizhan_store::NewBlob::prepare(dir.path(), vec![9u8; 40_000], "image/jpeg", 16 * 1024).unwrap();
        orphan = blob.info().hash.clone();
    }
    let path = |h: &Hash| dir.path().join("blobs").join(&h.as_str()[..2]).join(h.as_str());
    assert!(path(&orphan).exists());
    let db = Db::open(StoreConfig::new(dir.path())).unwrap();
    assert!(!path(&orphan).exists(), "the orphan file is gone");
    db.verify_blob(&kept).unwrap();
}

#[test]
fn a_version_1_database_upgrades_with_its_documents_reprojected() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut db = Db::open(StoreConfig::new(dir.path())).unwrap();
        create(&mut db, "c1", "柑橘", "黄叶", 1);
    }
    // Make it look like a database written by the first release: schema 1, no sync tables.
    let conn = rusqlite::Connection::open(dir.path().join("yizhan.sqlite3")).unwrap();
    conn.execute_batch(
        "DROP TABLE peer_docs; DROP TABLE peer_refusals; DROP TABLE doc_blobs; DROP TABLE case_private; DROP INDEX docs_by_scope;
         DROP TABLE incarnations; DROP TABLE refusals_issued; ALTER TABLE peers DROP COLUMN recv_incarnation;
         ALTER TABLE peers DROP COLUMN recv_head; ALTER TABLE peers DROP COLUMN sent_incarnation;
         ALTER TABLE docs DROP COLUMN scope; ALTER TABLE peers DROP COLUMN recv_seq; ALTER TABLE peers DROP COLUMN is_parent;
         DROP INDEX cases_by_centre; DROP INDEX cases_by_expert; DROP TABLE people; DROP TABLE event_seen;
         DROP TABLE case_clocks; DROP TABLE settings; DROP TABLE sessions; DROP TABLE signin_failures;
         DROP TABLE signin_codes; DROP TABLE webauthn_ceremonies; DROP TABLE audit;
         DROP TABLE publications; DROP TABLE public_items; DROP TABLE stats_case; DROP TABLE stats_rollup;
         DROP TABLE peer_blobs; DROP TABLE bounty_claims; DROP TABLE takedowns; DROP TABLE takedown_items; DROP TABLE submissions; DROP TABLE lecture_plan;
         DROP TABLE lecture_views; DROP TABLE people_since;
         ALTER TABLE cases DROP COLUMN centre; ALTER TABLE cases DROP COLUMN rating;
         ALTER TABLE cases DROP COLUMN followup_valid; ALTER TABLE cases DROP COLUMN followup_category;
         ALTER TABLE cases DROP COLUMN travel_cost_fen; ALTER TABLE cases DROP COLUMN breaches;
         ALTER TABLE cases DROP COLUMN knowledge;
         DELETE FROM cases; PRAGMA user_version = 1;",
    )
    .unwrap();
    drop(conn);
    let db = Db::open(StoreConfig::new(dir.path())).unwrap();
    assert_eq!(db.count_cases(&CaseFilter::default()).unwrap(), 1, "the case projection was rebuilt");
    assert_eq!(
        db.backlog_docs("nobody", "510104017001").unwrap(),
        2,
        "the case's and its private part's scope were derived again"
    );
    assert!(CaseDoc::from_doc(&db.load_doc("c1").unwrap().unwrap()).is_ok());
    // The statistics rollups (migration 7) were filled from the documents too.
    let q = yizhan_core::stats::Query::parse("510104", Some("1970-01"), Some("1970-01"), None, 0).unwrap();
    assert_eq!(db.stats_report(&q).unwrap().totals.counts.cases, 1);
}

#[test]
fn a_batch_commits_everything_or_nothing_and_nests_document_updates() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = Db::open(StoreConfig::new(dir.path())).unwrap();
    create(&mut db, "c1", "柑橘", "黄叶", 1);
    create(&mut db, "c2", "玉米", "虫害", 2);
    let head = db.feed_head().unwrap();
    // A failure anywhere in the batch undoes the document updates made before it.
    let failed: Result<(), StoreError> = db.batch(|db| {
        escalate(db, "c1", 3);
        db.set_setting("k", "v")?;
        Err(StoreError::Task("stop".into()))
    });
    assert!(failed.is_err());
    assert_eq!(db.feed_head().unwrap(), head, "nothing of the failed batch is in the feed");
    assert_eq!(db.setting("k").unwrap(), None);
    let c1 = CaseDoc::from_doc(&db.load_doc("c1").unwrap().unwrap()).unwrap();
    assert_eq!(c1.events.len(), 1, "the escalation was rolled back");
    // A batch that succeeds keeps all of it; the store works normally after both.
    db.batch(|db| {
        escalate(db, "c1", 3);
        escalate(db, "c2", 4);
        db.set_setting("k", "v")
    })
    .unwrap();
    assert_eq!(db.setting("k").unwrap().as_deref(), Some("v"));
    assert_eq!(
        db.count_cases(&CaseFilter { status: Some("awaiting_triage".into()), ..Default::default() }).unwrap(),
        2
    );
    assert!(db.conn().is_autocommit(), "no transaction left open");
    create(&mut db, "c3", "水稻", "倒伏", 5);
}

#[tokio::test]
async fn a_persisted_follower_resumes_where_it_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(StoreConfig::new(dir.path())).unwrap();
    store
        .call(|db| {
            for i in 0..3 {
                create(db, &format!("c{i}"), "柑橘", "黄叶", i);
            }
            Ok(())
        })
        .await
        .unwrap();
    let head = store.call(|db| db.feed_head()).await.unwrap();
    let follow = |seen: std::sync::Arc<std::sync::Mutex<Vec<i64>>>| {
        let store2 = store.clone();
        tokio::spawn(async move {
            let s = store2.clone();
            store2
                .follow_persisted("test.feed_seq", "test follower", move |after| {
                    let (s, seen) = (s.clone(), seen.clone());
                    async move {
                        seen.lock().unwrap().push(after);
                        let entries = s.call(move |db| db.changes_since(after, 2)).await?;
                        Ok(entries.iter().map(|e| e.seq).max().unwrap_or(after))
                    }
                })
                .await
        })
    };
    let first = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let task = follow(first.clone());
    for _ in 0..100 {
        if first.lock().unwrap().last() == Some(&head) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    task.abort();
    assert_eq!(first.lock().unwrap().first(), Some(&0), "the first run starts at the beginning");
    assert_eq!(first.lock().unwrap().last(), Some(&head), "{:?}", first.lock().unwrap());
    // A restart starts where the first run got to.
    let second = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let task = follow(second.clone());
    for _ in 0..100 {
        if !second.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    task.abort();
    assert_eq!(second.lock().unwrap().first(), Some(&head));
}

#[test]
fn the_audit_trail_keeps_each_record_filters_by_region_and_coalesces_repeated_looks() {
    let dir = tempfile::tempdir().unwrap();
    let now = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(1_000_000));
    let mut config = StoreConfig::new(dir.path());
    let clock = now.clone();
    config.clock = yizhan_store::StoreClock(std::sync::Arc::new(move || {
        clock.load(std::sync::atomic::Ordering::Relaxed)
    }));
    let mut db = Db::open(config).unwrap();
    db.record_audit("staff", "510131", "export", "12 条").unwrap();
    db.record_audit("staff", "510131", "export", "12 条").unwrap();
    db.record_audit("staff-x", "510104", "export", "3 条").unwrap();
    for _ in 0..3 {
        db.record_audit_coalesced("staff", "510131", "view_phone", "案例 c1", 600_000).unwrap();
    }
    now.fetch_add(600_001, std::sync::atomic::Ordering::Relaxed);
    db.record_audit_coalesced("staff", "510131", "view_phone", "案例 c1", 600_000).unwrap();
    db.record_audit_coalesced("staff", "510131", "view_phone", "案例 c2", 600_000).unwrap();
    let county = db.audit_log("510131", 100).unwrap();
    let actions: Vec<(&str, &str)> = county.iter().map(|r| (r.action.as_str(), r.detail.as_str())).collect();
    assert_eq!(
        actions,
        [
            ("view_phone", "案例 c2"),
            ("view_phone", "案例 c1"),
            ("view_phone", "案例 c1"),
            ("export", "12 条"),
            ("export", "12 条")
        ],
        "newest first; exports each time; a look at one number once per window"
    );
    assert_eq!(db.audit_log("51", 100).unwrap().len(), 6, "the province's region holds both counties");
    assert_eq!(db.audit_log("510104", 100).unwrap().len(), 1);
    assert_eq!(db.audit_log("510131", 2).unwrap().len(), 2, "limited");
}

/// Issue 13: one process per data directory. A second open of a directory in use is refused,
/// naming the holder's PID, before it touches the database or `blobs/tmp/`; the lock goes with
/// the store that held it.
#[test]
fn a_data_directory_in_use_is_refused_with_the_holders_pid() {
    let dir = tempfile::tempdir().unwrap();
    let first = Db::open(StoreConfig::new(dir.path())).unwrap();
    let in_flight = dir.path().join("blobs/tmp/in-flight");
    std::fs::write(&in_flight, b"a blob being received").unwrap();
    match Db::open(StoreConfig::new(dir.path())) {
        Err(StoreError::InUse { pid, .. }) => assert_eq!(pid, Some(std::process::id())),
        Err(e) => panic!("refused for another reason: {e}"),
        Ok(_) => panic!("a second store opened a directory in use"),
    }
    assert!(in_flight.exists(), "the refused open left the holder's temporary blob alone");
    let message = Db::open(StoreConfig::new(dir.path())).err().unwrap().to_string();
    assert!(message.contains("in use by another Yizhan process") && message.contains("PID"), "{message}");
    // A maintenance command may still write beside the running node.
    drop(Db::open_alongside(StoreConfig::new(dir.path())).unwrap());
    drop(first);
    drop(Db::open(StoreConfig::new(dir.path())).unwrap());
}

#[test]
fn waiting_for_review_lists_what_the_pipeline_lets_this_person_do() {
    use yizhan_core::publication::StepKind;
    use yizhan_core::{Actor, RegionCode, Role};
    let dir = tempfile::tempdir().unwrap();
    let mut db = Db::open(StoreConfig::new(dir.path())).unwrap();
    let actor = |id: &str, role, region: &str| Actor {
        person_id: id.into(),
        name: id.into(),
        role,
        region: RegionCode::parse(region).unwrap(),
    };
    let county = actor("staff-1", Role::Staff, "510104");
    let city = actor("staff-c", Role::Staff, "5101");
    let other_county = actor("staff-o", Role::Staff, "510131");
    create(&mut db, "case-1", "柑橘", "叶片发黄", 1_000);
    let step = |db: &mut Db, n: i64, kind, target: &str| {
        db.update_doc("case-1", |doc| {
            let mut e = Event::new(format!("e{n}"), 1_000 + n * 1_000, "x", kind);
            e.target = target.into();
            if e.kind() == EventKind::Answered {
                e.text = "答复".into();
            }
            CaseDoc::append_event(doc, e)
        })
        .unwrap()
        .unwrap();
    };
    step(&mut db, 1, EventKind::Escalated, "");
    step(&mut db, 2, EventKind::Assigned, "expert-a");
    step(&mut db, 3, EventKind::Answered, "");
    assert!(db.waiting_for_review(&county, &[], 10).unwrap().is_empty(), "not closed yet");
    step(&mut db, 4, EventKind::Closed, "");
    let items = db.waiting_for_review(&county, &[], 10).unwrap();
    assert_eq!(
        items.iter().map(|i| (i.row.kind.as_str(), i.step, i.row.doc_id.as_str())).collect::<Vec<_>>(),
        [("knowledge", StepKind::ReviewAndSignOff, "case-1")]
    );
    assert_eq!(db.publications("510104", 10).unwrap().len(), 1, "one pipeline row for the case");
    assert!(
        db.waiting_for_review(&city, &[], 10).unwrap().is_empty(),
        "knowledge is signed off by the county"
    );
    assert!(db.waiting_for_review(&other_county, &[], 10).unwrap().is_empty());
    step(&mut db, 5, EventKind::KnowledgeApproved, "");
    assert!(db.waiting_for_review(&county, &[], 10).unwrap().is_empty(), "signed off");
    let row = |db: &Db| db.all_publications().unwrap().into_iter().find(|r| r.doc_id == "case-1").unwrap();
    assert_eq!((row(&db).stage.as_str(), row(&db).last_actor.as_str()), ("signed_off", "x"));
    // The hub's publication and a withdrawal are steps too.
    step(&mut db, 6, EventKind::KnowledgePublished, "");
    assert_eq!(row(&db).stage, "published");
    step(&mut db, 7, EventKind::KnowledgeWithdrawn, "");
    assert_eq!((row(&db).stage.as_str(), row(&db).last_at_ms), ("withdrawn", 8_000));
}

/// The targets' rate of people added: a node keeps the earliest time it knew each directory
/// entry (`people_since`), through later changes and through a rebuild of the projections.
#[test]
fn people_are_known_since_their_earliest_entry_through_changes_and_rebuilds() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = Db::open(StoreConfig::new(dir.path())).unwrap();
    let person = |id: &str, role: &str, region: &str, at_ms: i64| yizhan_core::people::Person {
        doc_type: yizhan_core::people::DOC_TYPE.into(),
        schema: 1,
        id: id.into(),
        name: "名".into(),
        role: role.into(),
        region_code: region.into(),
        industries: vec!["fruit".into()],
        specialities: vec![],
        availability: "available".into(),
        title: String::new(),
        phone_masked: String::new(),
        active: true,
        updated_at_ms: at_ms,
    };
    for (id, role, region, at) in [
        ("e1", "expert", "510131", 1_000),
        ("e2", "expert", "510131", 9_000),
        ("o1", "officer", "510131001001", 9_000),
        ("s1", "staff", "510131", 1_000),
        ("s2", "staff", "510104", 9_000),
    ] {
        let mut doc = person(id, role, region, at).to_doc().unwrap();
        db.create_doc(id, yizhan_core::people::DOC_TYPE, &mut doc).unwrap();
    }
    // e1 changes later: still known since 1,000.
    db.update_doc("e1", |doc| person("e1", "expert", "510131", 20_000).update_doc(doc)).unwrap().unwrap();
    assert_eq!(
        db.people_added_since("510131", 5_000).unwrap(),
        (1, 1, 0),
        "e2 and o1; the county centre is old"
    );
    assert_eq!(db.people_added_since("51", 5_000).unwrap(), (1, 1, 1), "and the centre of 510104");
    assert_eq!(db.people_added_since("51", 0).unwrap(), (2, 1, 2));
    db.rebuild_projections().unwrap();
    assert_eq!(db.people_added_since("510131", 5_000).unwrap(), (1, 1, 0), "a rebuild keeps what was known");
}
