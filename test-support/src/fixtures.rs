//! Documents and bytes for tests: a case as a kiosk records it, written straight into a store,
//! and reproducible incompressible bytes that stand in for media.

use yizhan_core::{CaseDoc, Event, EventKind, NewCase};
use yizhan_store::Store;

/// The fields of a case from village `region` (a pig that will not eat).
pub fn new_case(region: &str) -> NewCase {
    NewCase {
        region_code: region.into(),
        village_name: "和平村".into(),
        industry: "pig".into(),
        subject: "生猪".into(),
        description: "不吃食".into(),
        farmer_name: "王大爷".into(),
        farmer_phone: String::new(),
        officer: "李信息员".into(),
    }
}

/// Writes case `id` of `region` into `store` as a kiosk records it (a `created` event), then
/// `events` (escalation, say).
pub async fn record_case(store: &Store, id: &str, region: &str, events: Vec<Event>) {
    let (id, new) = (id.to_string(), new_case(region));
    store
        .call(move |db| {
            let created = Event::new(format!("{id}-c"), 1, "李信息员", EventKind::Created);
            let (_, mut doc) = CaseDoc::create(&new, &id, "kiosk", created).unwrap();
            for e in events {
                CaseDoc::append_event(&mut doc, e).unwrap();
            }
            db.create_doc(&id, yizhan_core::case::DOC_TYPE, &mut doc)
        })
        .await
        .unwrap();
}

/// `n` incompressible, reproducible bytes (xorshift from `seed`).
pub fn content(seed: u64, n: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}
