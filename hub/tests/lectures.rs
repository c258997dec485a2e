//! 特派员讲堂 over real QUIC on loopback: a lecture published at the county reaches a kiosk as a
//! public document and its PDF is fetched in the background; a case recorded at the kiosk while
//! that download runs has its document and its photo's copies at the county before the lecture
//! completes (ORDER, not timing: the kiosk asks for no lecture byte while the case waits), and
//! an answer's photo the county adds meanwhile reaches the kiosk before the lecture too (the
//! same capped link: the lecture's transfer pauses for it); the lecture then resumes from what it
//! had and completes.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use yizhan_core::publication::StepKind;
use yizhan_core::{Actor, Attachment, CaseDoc, Event, EventKind, RegionCode, Role};
use yizhan_hub::Hub;
use yizhan_hub::service::lectures::{self as svc, Files};
use yizhan_hub::service::publication::{self as pipeline, ItemInput};
use yizhan_store::{Hash, Store};
use yizhan_test_support::fixtures::{content, new_case};
use yizhan_test_support::{Pki, eventually, start_hub_tuned, start_kiosk_store};

/// The county's send cap: the lecture takes seconds to cross.
const RATE_BYTES_PER_S: u64 = 1_000_000;
const PDF_BYTES: usize = 12_000_000;

fn actor(id: &str, role: Role) -> Actor {
    Actor {
        person_id: id.into(),
        name: format!("名-{id}"),
        role,
        region: RegionCode::parse("510131").unwrap(),
    }
}

async fn publish_lecture(county: &Hub) -> Hash {
    let staff = actor("staff", Role::Staff);
    let fields: BTreeMap<String, String> =
        [("industry", "pig"), ("speaker", "刘红")].into_iter().map(|(k, v)| (k.into(), v.into())).collect();
    let input = ItemInput {
        kind: yizhan_lectures::LECTURE.into(),
        title: "生猪非洲猪瘟生物安全".into(),
        body: "生物安全要点".into(),
        fields,
        ip_owner: "蒲江县农业农村局".into(),
    };
    let id = pipeline::create_item(county, &staff, input).await.unwrap();
    let mut pdf = b"%PDF-1.4\n".to_vec();
    pdf.extend(content(7, PDF_BYTES));
    let hash = Hash::of(&pdf);
    svc::add_files(county, &staff, &id, Files { video: None, pdf: Some(("课件.pdf".into(), pdf)) })
        .await
        .unwrap();
    for (who, step) in [
        (actor("staff", Role::Staff), StepKind::Submit),
        (actor("reviewer", Role::Staff), StepKind::Review),
        (actor("admin", Role::Admin), StepKind::SignOff),
    ] {
        pipeline::take_step(county, &who, &id, step, "").await.unwrap();
    }
    hash
}

/// Records a case with a photo's thumbnail and display copy at the kiosk; returns their hashes.
async fn record_case(store: &Store) -> Vec<Hash> {
    store
        .call(|db| {
            let dir = db.config().dir.clone();
            let mut atts = Vec::new();
            let mut blobs = Vec::new();
            for (i, (role, n)) in [("thumb", 20_000), ("display", 200_000)].into_iter().enumerate() {
                let blob = yizhan_store::NewBlob::prepare(
                    &dir,
                    content(100 + i as u64, n),
                    "image/jpeg",
                    16 * 1024,
                )?;
                atts.push(Attachment {
                    hash: blob.info().hash.to_string(),
                    kind: "photo".into(),
                    role: role.into(),
                    group: "g1".into(),
                    mime: "image/jpeg".into(),
                    bytes: n as u64,
                    width: 0,
                    height: 0,
                    duration_ms: 0,
                    name: "p.jpg".into(),
                    added_at_ms: 1,
                });
                blobs.push(blob);
            }
            let hashes = blobs.iter().map(|b| b.info().hash.clone()).collect();
            let created = Event::new("case-1-c", 1, "李信息员", EventKind::Created);
            let (_, mut doc) =
                CaseDoc::create(&new_case("510131001001"), "case-1", "kiosk", created).unwrap();
            CaseDoc::add_attachments(&mut doc, atts).unwrap();
            db.create_doc_with("case-1", yizhan_core::case::DOC_TYPE, &mut doc, blobs, &[])?;
            Ok(hashes)
        })
        .await
        .unwrap()
}

async fn holds(store: &Store, h: &Hash) -> bool {
    let h = h.clone();
    store.call(move |db| db.has_blob(&h)).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_case_recorded_during_a_lecture_download_reaches_the_county_before_the_lecture_completes() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new();
    let county_ca = Pki::hub(&pki.province, "510131");
    let county = start_hub_tuned(&dir.path().join("county"), &pki.hub_tls(&county_ca), None, |n| {
        n.send_bytes_per_s_max = Some(RATE_BYTES_PER_S);
    })
    .await;
    let pdf = publish_lecture(&county).await;
    let kiosk = start_kiosk_store(
        &dir.path().join("kiosk"),
        &pki.kiosk_tls(&county_ca, "kiosk-1", "510131001001"),
        &county,
    );
    // The lecture's download has begun (part of it verified on the kiosk's disk).
    let h = pdf.clone();
    eventually("the kiosk is fetching the lecture", || {
        let (s, h) = (kiosk.store.clone(), h.clone());
        async move { s.call(move |db| Ok(db.partial_blob_bytes(&h))).await.unwrap() > 0 }
    })
    .await;
    let started = kiosk.store.call({
        let h = pdf.clone();
        move |db| Ok(db.partial_blob_bytes(&h))
    });
    assert!(started.await.unwrap() < PDF_BYTES as u64 / 2, "the lecture must still be far from complete");

    let copies = record_case(&kiosk.store).await;
    eventually("the county holds the case and its photo's copies", || {
        let (county, copies) = (county.store.clone(), copies.clone());
        async move {
            let has_doc = county.call(|db| Ok(db.doc_type("case-1")?.is_some())).await.unwrap();
            let mut all = has_doc;
            for c in &copies {
                all = all && holds(&county, c).await;
            }
            all
        }
    })
    .await;
    assert!(
        !holds(&kiosk.store, &pdf).await,
        "the lecture completed before the case's document and copies reached the county"
    );
    // The other direction: the county adds a photo to the case (an expert's answer) while the
    // lecture still downloads on the same capped link; the kiosk has it before the lecture.
    let answer = county
        .store
        .call(|db| {
            let dir = db.config().dir.clone();
            let blob = yizhan_store::NewBlob::prepare(&dir, content(300, 150_000), "image/jpeg", 16 * 1024)?;
            let hash = blob.info().hash.clone();
            let att = Attachment {
                hash: hash.to_string(),
                kind: "photo".into(),
                role: "display".into(),
                group: "g2".into(),
                mime: "image/jpeg".into(),
                bytes: 150_000,
                width: 0,
                height: 0,
                duration_ms: 0,
                name: "answer.jpg".into(),
                added_at_ms: 2,
            };
            db.update_doc_with("case-1", vec![blob], |doc| CaseDoc::add_attachments(doc, vec![att]))?
                .unwrap();
            Ok(hash)
        })
        .await
        .unwrap();
    eventually("the kiosk holds the answer's photo", || {
        let (s, h) = (kiosk.store.clone(), answer.clone());
        async move { holds(&s, &h).await }
    })
    .await;
    assert!(
        !holds(&kiosk.store, &pdf).await,
        "the lecture completed before the answer's photo reached the kiosk"
    );
    // Paused, not lost: it resumes and completes.
    eventually("the lecture completes at the kiosk", || {
        let (s, h) = (kiosk.store.clone(), pdf.clone());
        async move { holds(&s, &h).await }
    })
    .await;
}

/// The kiosk's lecture plan comes to want a lecture after every document is in sync and no
/// other document follows: its blob fetcher, idle since it fetched a case's photo, wakes on the
/// plan alone and fetches the lecture. (`yizhan demo` on a fast machine left every lecture at
/// 下载中 0%: the plan was written after the last document arrived, and the fetcher slept.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lecture_the_plan_comes_to_want_is_fetched_with_no_new_document() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new();
    let county_ca = Pki::hub(&pki.province, "510131");
    // One connection for the whole test (the test default closes an idle one after 2 s, and a
    // new connection's first round would find the lecture anyway).
    let idle = std::time::Duration::from_secs(60);
    let county = start_hub_tuned(&dir.path().join("county"), &pki.hub_tls(&county_ca), None, |n| {
        n.idle_timeout = idle
    })
    .await;
    let pdf = publish_lecture(&county).await;
    // A case of the kiosk's village with a photo, written at the county: the fetcher's work.
    let photo = county
        .store
        .call(|db| {
            let dir = db.config().dir.clone();
            let blob = yizhan_store::NewBlob::prepare(&dir, content(400, 50_000), "image/jpeg", 16 * 1024)?;
            let hash = blob.info().hash.clone();
            let att = Attachment {
                hash: hash.to_string(),
                kind: "photo".into(),
                role: "display".into(),
                group: "g1".into(),
                mime: "image/jpeg".into(),
                bytes: 50_000,
                width: 0,
                height: 0,
                duration_ms: 0,
                name: "p.jpg".into(),
                added_at_ms: 1,
            };
            let created = Event::new("case-2-c", 1, "张敏", EventKind::Created);
            let (_, mut doc) = CaseDoc::create(&new_case("510131001001"), "case-2", "hub", created).unwrap();
            CaseDoc::add_attachments(&mut doc, vec![att]).unwrap();
            db.create_doc_with("case-2", yizhan_core::case::DOC_TYPE, &mut doc, vec![blob], &[])?;
            Ok(hash)
        })
        .await
        .unwrap();
    // The kiosk plans its lectures and, at first, wants none.
    let store = Store::open(yizhan_store::StoreConfig::new(dir.path().join("kiosk"))).unwrap();
    store.call(|db| db.set_lectures_planned()).await.unwrap();
    let tls = pki.kiosk_tls(&county_ca, "kiosk-1", "510131001001");
    let (_uplink, _status) =
        yizhan_test_support::start_uplink(&store, &tls, &county, |n| n.idle_timeout = idle);
    let lecture_id = county
        .store
        .call(|db| {
            Ok(db
                .all_publications()?
                .into_iter()
                .find(|r| r.kind == yizhan_lectures::LECTURE)
                .map(|r| r.doc_id))
        })
        .await
        .unwrap()
        .map(|item| yizhan_core::published::PublishedDoc::id_for(&item))
        .expect("the county holds the lecture");
    eventually("the kiosk holds the case's photo and the lecture's document", || {
        let (s, h, id) = (store.clone(), photo.clone(), lecture_id.clone());
        async move { holds(&s, &h).await && s.call(move |db| Ok(db.doc_type(&id)?.is_some())).await.unwrap() }
    })
    .await;
    // Let the fetcher finish its round and go idle: nothing it may fetch is missing.
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    assert!(!holds(&store, &pdf).await, "a lecture the plan does not want was fetched");
    let id = lecture_id.clone();
    store.call(move |db| db.set_lecture_plan(&[id], &[])).await.unwrap();
    eventually("the lecture the plan now wants reaches the kiosk", || {
        let (s, h) = (store.clone(), pdf.clone());
        async move { holds(&s, &h).await }
    })
    .await;
}
