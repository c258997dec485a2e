//! 特派员讲堂 in the store: lecture files are fetched after every other blob; a node with a
//! plan (a kiosk) lists only the lectures it wants and never a video's original; eviction
//! deletes a lecture's files (not a blob a case references too) and they are fetched again
//! once wanted; the priority check sees a case's blobs waiting.
#![allow(clippy::unwrap_used)]

use yizhan_core::item::{ItemAttachment, ItemDoc, Kind, NewItem};
use yizhan_core::publication::Rules;
use yizhan_core::published::PublishedDoc;
use yizhan_core::{CaseDoc, Event, EventKind, NewCase, RegionLevel};
use yizhan_store::{BlobBody, Db, Hash, NewBlob, StoreConfig};

const KIND: Kind = Kind {
    name: "lectures.lecture",
    name_zh: "特派员讲堂",
    rules: Rules {
        combined_sign_off: false,
        lowest_centre: RegionLevel::County,
        highest_centre: RegionLevel::Province,
    },
    fields: &[],
    check: |_| Vec::new(),
};

fn bytes(seed: u8, n: usize) -> Vec<u8> {
    (0..n).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect()
}

fn att(hash: &Hash, kind: &str, role: &str, mime: &str, n: u64) -> ItemAttachment {
    ItemAttachment {
        hash: hash.to_string(),
        group: hash.to_string(),
        kind: kind.into(),
        role: role.into(),
        name: "f".into(),
        mime: mime.into(),
        bytes: n,
    }
}

/// A published lecture with a video original, its proxy and a PDF (blob bodies returned, not
/// stored: the node lacks them).
fn lecture(db: &mut Db, n: u8) -> (String, Vec<NewBlob>) {
    let dir = db.config().dir.clone();
    let blobs: Vec<NewBlob> = [("video/mp4", 40_000), ("video/mp4", 30_000), ("application/pdf", 20_000)]
        .iter()
        .enumerate()
        .map(|(i, (mime, len))| {
            NewBlob::prepare(&dir, bytes(n * 3 + i as u8, *len), mime, 16 * 1024).unwrap()
        })
        .collect();
    let new = NewItem {
        kind: KIND.name.into(),
        centre: "510131".into(),
        title: format!("讲座{n}"),
        ip_owner: "四川农业大学".into(),
        author: "p".into(),
        ..Default::default()
    };
    let (mut item, _) = ItemDoc::create(&new, &format!("item-{n}"), 1_000).unwrap();
    let roles = [("original", 40_000), ("proxy", 30_000), ("display", 20_000)];
    for (b, (role, len)) in blobs.iter().zip(roles) {
        let a = att(&b.info().hash, "lecture", role, &b.info().mime, len);
        item.attachments.insert(a.key(), a);
    }
    let p = PublishedDoc::of_item(&item, &KIND, "hub", 2_000 + i64::from(n));
    let mut doc = p.to_doc().unwrap();
    db.create_doc(&p.id, yizhan_core::published::DOC_TYPE, &mut doc).unwrap();
    (p.id, blobs)
}

/// A case with a photo's thumbnail and display copy this node lacks.
fn case_missing_photo(db: &mut Db) -> Vec<Hash> {
    let new = NewCase {
        region_code: "510131001001".into(),
        village_name: "和平村".into(),
        industry: "pig".into(),
        subject: "生猪".into(),
        description: "不吃食".into(),
        farmer_name: "王大爷".into(),
        farmer_phone: String::new(),
        officer: "李信息员".into(),
    };
    let (_, mut doc) =
        CaseDoc::create(&new, "case-1", "kiosk", Event::new("c", 1, "李", EventKind::Created)).unwrap();
    let mut hashes = Vec::new();
    let mut atts = Vec::new();
    for (i, role) in ["thumb", "display"].iter().enumerate() {
        let b = bytes(200 + i as u8, 1000 * (i + 1));
        let h = Hash::of(&b);
        atts.push(yizhan_core::Attachment {
            hash: h.to_string(),
            kind: "photo".into(),
            role: role.to_string(),
            group: "g".into(),
            mime: "image/jpeg".into(),
            bytes: b.len() as u64,
            width: 0,
            height: 0,
            duration_ms: 0,
            name: "p.jpg".into(),
            added_at_ms: 1,
        });
        hashes.push(h);
    }
    CaseDoc::add_attachments(&mut doc, atts).unwrap();
    db.create_doc("case-1", yizhan_core::case::DOC_TYPE, &mut doc).unwrap();
    hashes
}

fn missing(db: &Db) -> Vec<(String, String)> {
    db.missing_blobs("510131001001", &[], 100).unwrap().into_iter().map(|(_, k, r)| (k, r)).collect()
}

#[test]
fn lecture_files_come_last_and_a_kiosk_fetches_only_what_its_plan_wants() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = Db::open(StoreConfig::new(dir.path())).unwrap();
    let (a, _) = lecture(&mut db, 1);
    let (b, _) = lecture(&mut db, 2);
    let case_blobs = case_missing_photo(&mut db);
    // A hub: everything, the lecture files after the case's copies.
    let m = missing(&db);
    assert_eq!(m.len(), 2 + 6);
    assert_eq!(&m[..2], &[("photo".into(), "thumb".into()), ("photo".into(), "display".into())]);
    assert!(m[2..].iter().all(|(k, _)| k == "lecture"), "{m:?}");
    let (up, down) = db.priority_work("510131001001", &[], 64).unwrap();
    assert!(!up, "no parent: nothing waits upward");
    assert_eq!(down.len(), 2, "the case's copies wait before any lecture byte");
    assert!(case_blobs.iter().all(|h| down.contains(h)));

    // A kiosk with a plan: only the wanted lecture, and not its video's original.
    db.set_lectures_planned().unwrap();
    let m = missing(&db);
    assert_eq!(m.len(), 2, "no plan yet: no lecture file");
    db.set_lecture_plan(std::slice::from_ref(&a), std::slice::from_ref(&b)).unwrap();
    let m = missing(&db);
    assert_eq!(&m[2..], &[("lecture".into(), "display".into()), ("lecture".into(), "proxy".into())]);
    let (n, bytes) = db.missing_blob_totals("510131001001", &[]).unwrap();
    assert_eq!((n, bytes), (4, 1000 + 2000 + 20_000 + 30_000));
}

#[test]
fn eviction_deletes_a_lectures_files_and_they_come_back_when_wanted() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = Db::open(StoreConfig::new(dir.path())).unwrap();
    db.set_lectures_planned().unwrap();
    let (a, blobs) = lecture(&mut db, 1);
    db.set_lecture_plan(std::slice::from_ref(&a), &[]).unwrap();
    let hashes: Vec<Hash> = blobs.iter().map(|b| b.info().hash.clone()).collect();
    for b in blobs {
        db.record_new_blob(b).unwrap();
    }
    let paths: Vec<_> = hashes
        .iter()
        .filter_map(|h| match db.blob(h).unwrap() {
            Some((_, BlobBody::File(p))) => Some(p),
            _ => None,
        })
        .collect();
    assert_eq!(paths.len(), 3, "files, not inline");
    assert!(missing(&db).is_empty());

    db.lecture_watched(&a).unwrap();
    assert!(db.lecture_plan().unwrap()[&a].last_watched_ms.is_some());
    let freed = db.evict_lecture_blobs(&a).unwrap();
    assert_eq!(freed, 90_000);
    assert!(hashes.iter().all(|h| !db.has_blob(h).unwrap()));
    assert!(paths.iter().all(|p| !p.exists()), "the files are gone");
    // Still wanted (say the budget grew again): fetched again, the original still not.
    let m = missing(&db);
    assert_eq!(m, vec![("lecture".into(), "display".into()), ("lecture".into(), "proxy".into())]);
    assert!(db.lecture_plan().unwrap()[&a].last_watched_ms.is_some(), "the watch time stays");
}

#[test]
fn eviction_keeps_a_blob_that_a_case_references_too() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = Db::open(StoreConfig::new(dir.path())).unwrap();
    let (a, blobs) = lecture(&mut db, 1);
    let pdf = blobs[2].info().hash.clone();
    for b in blobs {
        db.record_new_blob(b).unwrap();
    }
    // A case that shows the same PDF as a photo's display copy (a contrived share).
    let new = NewCase {
        region_code: "510131001001".into(),
        village_name: "和平村".into(),
        industry: "pig".into(),
        subject: "生猪".into(),
        description: "不吃食".into(),
        farmer_name: "王大爷".into(),
        farmer_phone: String::new(),
        officer: "李信息员".into(),
    };
    let (_, mut doc) =
        CaseDoc::create(&new, "case-2", "kiosk", Event::new("c", 1, "李", EventKind::Created)).unwrap();
    let shared = yizhan_core::Attachment {
        hash: pdf.to_string(),
        kind: "photo".into(),
        role: "display".into(),
        group: "g".into(),
        mime: "application/pdf".into(),
        bytes: 20_000,
        width: 0,
        height: 0,
        duration_ms: 0,
        name: "x".into(),
        added_at_ms: 1,
    };
    CaseDoc::add_attachments(&mut doc, vec![shared]).unwrap();
    db.create_doc("case-2", yizhan_core::case::DOC_TYPE, &mut doc).unwrap();
    let freed = db.evict_lecture_blobs(&a).unwrap();
    assert_eq!(freed, 70_000);
    assert!(db.has_blob(&pdf).unwrap(), "a case's blob is never evicted");
}
