//! `yizhan backup` and `yizhan restore` (the built binary) on a kiosk that keeps recording
//! cases with photos while the backup runs: the restored copy passes `yizhan check`, rejoins its
//! county hub over real QUIC, gets back every case it had sent after the backup, and what it
//! records next reaches the hub; nothing is lost at the hub.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

use yizhan_core::{Attachment, CaseDoc, Event, EventKind};
use yizhan_store::{Hash, Store};
use yizhan_test_support::{Pki, eventually, fixtures, start_hub, start_kiosk_store};

const BIN: &str = env!("CARGO_BIN_EXE_yizhan");
const COUNTY: &str = "510131";
const VILLAGE: &str = "510131001001";
/// Cases recorded before the backup starts; recording goes on while it runs, and
/// [`AFTER_BACKUP`] more once it has finished.
const BACKUP_AFTER: usize = 8;
const AFTER_BACKUP: usize = 5;

/// Records case `id` with one 120 KB photo (a blob file) the way the kiosk does: the blob
/// prepared off the database thread, then recorded with the document in one transaction.
async fn record(store: &Store, id: String, seed: u64) -> Hash {
    let s = store.clone();
    let blob = tokio::task::spawn_blocking(move || {
        s.prepare_blob(fixtures::content(seed, 120_000), "image/jpeg").unwrap()
    })
    .await
    .unwrap();
    let hash = blob.info().hash.clone();
    let attachment = Attachment {
        hash: hash.to_string(),
        kind: "photo".into(),
        role: "original".into(),
        group: hash.to_string(),
        mime: "image/jpeg".into(),
        bytes: blob.info().size,
        width: 0,
        height: 0,
        duration_ms: 0,
        name: format!("{id}.jpg"),
        added_at_ms: 1,
    };
    store
        .call(move |db| {
            let mut new = fixtures::new_case(VILLAGE);
            new.description = format!("不吃食 {id}");
            let (_, mut doc) = CaseDoc::create(
                &new,
                &id,
                "kiosk",
                Event::new(format!("{id}-c"), 1, "李", EventKind::Created),
            )
            .unwrap();
            CaseDoc::add_attachments(&mut doc, vec![attachment]).unwrap();
            db.create_doc_with(&id, "case", &mut doc, vec![blob], &[])
        })
        .await
        .unwrap();
    hash
}

async fn case_ids(store: &Store) -> Vec<String> {
    let mut ids: Vec<String> = store
        .call(|db| {
            let mut stmt = db.conn().prepare("SELECT id FROM docs WHERE doc_type = 'case' ORDER BY id")?;
            let ids = stmt.query_map([], |r| r.get(0))?.collect::<Result<Vec<String>, _>>()?;
            Ok(ids)
        })
        .await
        .unwrap();
    ids.sort();
    ids
}

async fn holds_blob(store: &Store, hash: &Hash) -> bool {
    let h = hash.clone();
    store.call(move |db| Ok(db.verify_blob(&h).is_ok())).await.unwrap()
}

/// Runs the binary to the end; returns (success, stdout + stderr).
fn run(args: &[&str], dirs: &[(&str, &Path)]) -> (bool, String) {
    let mut cmd = Command::new(BIN);
    cmd.args(args).env("RUST_LOG", "warn");
    for (flag, dir) in dirs {
        cmd.arg(flag).arg(dir);
    }
    let out = cmd.output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_recording_restores_checks_and_syncs_without_loss() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new();
    let county = Pki::hub(&pki.province, COUNTY);
    let hub = start_hub(&dir.path().join("hub"), &pki.hub_tls(&county), None).await;
    let kiosk_tls = pki.kiosk_tls(&county, "kiosk-a", VILLAGE);
    let live_dir = dir.path().join("kiosk");
    let kiosk = start_kiosk_store(&live_dir, &kiosk_tls, &hub);

    let mut hashes = Vec::new();
    for i in 0..BACKUP_AFTER {
        hashes.push(record(&kiosk.store, format!("case-{i:02}"), i as u64).await);
    }
    // The backup runs in another process while this one goes on recording.
    let backup_dir = dir.path().join("backup");
    let backup = {
        let (live, out) = (live_dir.clone(), backup_dir.clone());
        tokio::task::spawn_blocking(move || run(&["backup"], &[("--data-dir", &live), ("--out", &out)]))
    };
    let mut n = BACKUP_AFTER;
    while !backup.is_finished() {
        hashes.push(record(&kiosk.store, format!("case-{n:02}"), n as u64).await);
        n += 1;
    }
    let during = n - BACKUP_AFTER;
    for _ in 0..AFTER_BACKUP {
        hashes.push(record(&kiosk.store, format!("case-{n:02}"), n as u64).await);
        n += 1;
    }
    let cases = n;
    let (ok, out) = backup.await.unwrap();
    assert!(ok, "backup failed: {out}");
    assert!(out.contains("documents"), "{out}");
    let manifest = yizhan_store::backup::read_manifest(&backup_dir).unwrap();
    assert!(manifest.docs >= BACKUP_AFTER as i64, "{manifest:?}");
    assert!(manifest.damaged_blobs.is_empty());

    // Everything recorded reaches the hub, then the kiosk is lost.
    eventually("every case and photo reaches the hub", || async {
        if case_ids(&hub.store).await.len() != cases {
            return false;
        }
        for h in &hashes {
            if !holds_blob(&hub.store, h).await {
                return false;
            }
        }
        true
    })
    .await;
    kiosk.uplink.abort();
    drop(kiosk);

    // A backup is never restored over a store, nor from an incomplete directory.
    let (ok, out) = run(&["restore"], &[("--from", &backup_dir), ("--data-dir", &live_dir)]);
    assert!(!ok && out.contains("not empty"), "{out}");
    let (ok, out) = run(&["restore"], &[("--from", &live_dir), ("--data-dir", &dir.path().join("x"))]);
    assert!(!ok && out.contains("not a complete Yizhan backup"), "{out}");
    assert!(
        !dir.path().join("x").exists() || std::fs::read_dir(dir.path().join("x")).unwrap().next().is_none()
    );

    // Restored elsewhere, it passes the check.
    let restored_dir = dir.path().join("kiosk-restored");
    let (ok, out) = run(&["restore"], &[("--from", &backup_dir), ("--data-dir", &restored_dir)]);
    assert!(ok, "restore failed: {out}");
    let (ok, out) = run(&["check"], &[("--data-dir", &restored_dir)]);
    assert!(ok, "check of the restored store failed: {out}");
    assert!(out.contains("sqlite: ok") && out.contains("(0 bad)"), "{out}");

    // It rejoins the hub as the same kiosk: the cases recorded after the backup come back, and
    // what it records next reaches the hub.
    let restored = start_kiosk_store(&restored_dir, &kiosk_tls, &hub);
    // The backup holds what was recorded before it started, perhaps some of what was recorded
    // while it ran, and nothing recorded after it finished.
    let in_backup = case_ids(&restored.store).await.len();
    assert!((BACKUP_AFTER..=BACKUP_AFTER + during).contains(&in_backup), "{in_backup} cases in the backup");
    eventually("the restored kiosk gets back every case it had sent", || async {
        case_ids(&restored.store).await.len() == cases
    })
    .await;
    let new_hash = record(&restored.store, "case-after-restore".into(), 999).await;
    eventually("the case recorded after the restore reaches the hub", || async {
        case_ids(&hub.store).await.len() == cases + 1 && holds_blob(&hub.store, &new_hash).await
    })
    .await;
    for h in &hashes {
        assert!(holds_blob(&hub.store, h).await, "the hub lost a photo");
    }
}
