//! The publication pipeline's projections on a real SQLite store: one `publications` row per
//! pipeline item (generic items and knowledge's solved cases), equal to a recount from the
//! documents after every change and after `rebuild_projections`, even when the table was
//! damaged; `public_items` hides a withdrawn item at once.
#![allow(clippy::unwrap_used)]

use automerge::AutoCommit;
use yizhan_core::item::{FieldSpec, ItemDoc, ItemStep, Kind, NewItem, no_checks};
use yizhan_core::publication::{Rules, StepKind};
use yizhan_core::published::{PublishedDoc, Withdrawal};
use yizhan_core::{CaseDoc, Event, EventKind, NewCase, RegionLevel};
use yizhan_store::publication::{item_row, knowledge_row};
use yizhan_store::sync::{PeerPolicy, SyncReplica};
use yizhan_store::{Db, PublicationRow, StoreConfig};
use yizhan_sync_proto::{Session, SessionConfig};

const KIND: Kind = Kind {
    name: "example",
    name_zh: "示例",
    rules: Rules {
        combined_sign_off: false,
        lowest_centre: RegionLevel::County,
        highest_centre: RegionLevel::Province,
    },
    fields: &[FieldSpec { key: "price", label_zh: "价格", required: true, multi_line: false }],
    check: no_checks,
};

fn item(db: &mut Db, id: &str, centre: &str, steps: &[(&str, StepKind)]) {
    let new = NewItem {
        kind: "example".into(),
        centre: centre.into(),
        title: format!("标题 {id}"),
        body: "正文".into(),
        fields: [("price".to_string(), "10 元".to_string())].into(),
        ip_owner: "协会".into(),
        author: "author".into(),
    };
    let (_, mut doc) = ItemDoc::create(&new, id, 1_000).unwrap();
    db.create_doc(id, yizhan_core::item::DOC_TYPE, &mut doc).unwrap();
    for (n, (actor, kind)) in steps.iter().enumerate() {
        let s = ItemStep {
            id: format!("{id}-s{n}"),
            at_ms: 2_000 + n as i64,
            actor: (*actor).into(),
            actor_name: (*actor).into(),
            role: "staff".into(),
            kind: kind.code().into(),
            note: String::new(),
        };
        db.update_doc(id, |doc| ItemDoc::append_step(doc, s)).unwrap().unwrap();
    }
}

fn case(db: &mut Db, id: &str, events: &[EventKind]) {
    let new = NewCase {
        region_code: "510131001001".into(),
        village_name: "村".into(),
        industry: "fruit".into(),
        subject: "柑橘".into(),
        description: "黄叶".into(),
        farmer_name: String::new(),
        farmer_phone: String::new(),
        officer: "officer".into(),
    };
    let (_, mut doc) =
        CaseDoc::create(&new, id, "k", Event::new(format!("{id}-c"), 1, "officer", EventKind::Created))
            .unwrap();
    for (n, k) in events.iter().enumerate() {
        let mut e = Event::new(format!("{id}-e{n}"), 10 + n as i64, "x", k.clone());
        if *k == EventKind::Assigned {
            e.target = "expert".into();
        }
        if *k == EventKind::Answered {
            e.text = "答复".into();
        }
        CaseDoc::append_event(&mut doc, e).unwrap();
    }
    db.create_doc(id, "case", &mut doc).unwrap();
}

/// The rows the documents say there should be.
fn recount(db: &Db) -> Vec<PublicationRow> {
    let mut rows = Vec::new();
    for e in db.changes_since(0, 10_000).unwrap() {
        let doc: AutoCommit = db.load_doc(&e.doc_id).unwrap().unwrap();
        match e.doc_type.as_str() {
            "pub_item" => rows.push(item_row(&ItemDoc::from_doc(&doc).unwrap())),
            "case" => rows.extend(knowledge_row(&CaseDoc::from_doc(&doc).unwrap())),
            _ => {}
        }
    }
    rows.sort_by(|a, b| a.doc_id.cmp(&b.doc_id));
    rows
}

#[test]
fn the_pipeline_table_equals_a_recount_before_and_after_a_rebuild() {
    use EventKind as E;
    use StepKind as K;
    let dir = tempfile::tempdir().unwrap();
    let mut db = Db::open(StoreConfig::new(dir.path())).unwrap();
    let submitted = [("author", K::Submit), ("system", K::ChecksPassed)];
    item(&mut db, "i-draft", "510131", &[]);
    item(&mut db, "i-failed", "510131", &[("author", K::Submit), ("system", K::ChecksFailed)]);
    item(&mut db, "i-checked", "510131", &submitted);
    item(&mut db, "i-reviewed", "5101", &[submitted[0], submitted[1], ("r", K::Review)]);
    item(&mut db, "i-same", "51", &[submitted[0], submitted[1], ("r", K::Review), ("r", K::SignOff)]);
    item(
        &mut db,
        "i-published",
        "510131",
        &[submitted[0], submitted[1], ("r", K::Review), ("s", K::SignOff), ("system", K::Publish)],
    );
    let solved = [E::Escalated, E::Assigned, E::Answered, E::Closed];
    case(&mut db, "c-open", &[E::Escalated]);
    case(&mut db, "c-solved", &solved);
    case(&mut db, "c-published", &[&solved[..], &[E::KnowledgeApproved, E::KnowledgePublished]].concat());
    let rows = db.all_publications().unwrap();
    assert_eq!(rows, recount(&db));
    let stages: Vec<(&str, &str)> = rows.iter().map(|r| (r.doc_id.as_str(), r.stage.as_str())).collect();
    assert_eq!(
        stages,
        [
            ("c-published", "published"),
            ("c-solved", "checked"),
            ("i-checked", "checked"),
            ("i-draft", "draft"),
            ("i-failed", "check_failed"),
            ("i-published", "published"),
            ("i-reviewed", "reviewed"),
            ("i-same", "reviewed"),
        ],
        "an open case has no pipeline; the reviewer's own sign-off does not apply"
    );
    let draft = rows.iter().find(|r| r.doc_id == "i-draft").unwrap();
    assert_eq!(
        (draft.last_actor.as_str(), draft.last_at_ms, draft.title.as_str()),
        ("author", 1_000, "标题 i-draft")
    );
    let published = rows.iter().find(|r| r.doc_id == "i-published").unwrap();
    assert_eq!((published.last_actor.as_str(), published.last_at_ms), ("system", 2_004));

    // A damaged table is made whole again by the rebuild.
    db.conn().execute("DELETE FROM publications WHERE doc_id = 'i-checked'", []).unwrap();
    db.conn().execute("UPDATE publications SET stage = 'published' WHERE doc_id = 'c-solved'", []).unwrap();
    db.conn()
        .execute(
            "INSERT INTO publications (doc_id, doc_type, kind, centre, stage, title, reviewed_by, last_actor, last_at_ms)
             VALUES ('ghost', 'pub_item', 'x', '51', 'checked', '', '', '', 0)",
            [],
        )
        .unwrap();
    assert_ne!(db.all_publications().unwrap(), recount(&db));
    db.rebuild_projections().unwrap();
    assert_eq!(db.all_publications().unwrap(), rows);
    assert_eq!(db.all_publications().unwrap(), recount(&db));

    // The queue reads the table: the second person may sign off at the city, not the reviewer.
    let actor = |id: &str, region: &str| yizhan_core::Actor {
        person_id: id.into(),
        name: id.into(),
        role: yizhan_core::Role::Staff,
        region: yizhan_core::RegionCode::parse(region).unwrap(),
    };
    let kinds = [(KIND.name, KIND.rules)];
    let ids = |a: &yizhan_core::Actor| -> Vec<(String, StepKind)> {
        db.waiting_for_review(a, &kinds, 50).unwrap().into_iter().map(|i| (i.row.doc_id, i.step)).collect()
    };
    assert_eq!(
        ids(&actor("s", "5101")),
        [("i-checked".to_string(), K::Review), ("i-reviewed".to_string(), K::SignOff)]
    );
    assert_eq!(ids(&actor("r", "5101")), [("i-checked".to_string(), K::Review)], "not her own review");
    assert_eq!(
        ids(&actor("c", "510131")),
        [("c-solved".to_string(), K::ReviewAndSignOff), ("i-checked".to_string(), K::Review)]
    );
    assert!(ids(&actor("o", "510104")).is_empty(), "another county");
    assert!(
        db.waiting_for_review(&actor("s", "5101"), &[], 50).unwrap().is_empty(),
        "a kind this node does not serve"
    );
}

#[test]
fn a_withdrawn_public_item_is_hidden_at_once_and_after_a_rebuild() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = Db::open(StoreConfig::new(dir.path())).unwrap();
    item(&mut db, "i1", "510131", &[]);
    let it = ItemDoc::from_doc(&db.load_doc("i1").unwrap().unwrap()).unwrap();
    let mut doc = PublishedDoc::of_item(&it, &KIND, "hub", 5_000).to_doc().unwrap();
    let id = PublishedDoc::id_for("i1");
    db.create_doc(&id, yizhan_core::published::DOC_TYPE, &mut doc).unwrap();
    assert_eq!(
        db.public_items(10).unwrap().iter().map(|r| r.title.as_str()).collect::<Vec<_>>(),
        ["标题 i1"]
    );
    let w = Withdrawal { at_ms: 6_000, by: "c".into(), by_name: "县".into(), note: String::new() };
    db.update_doc(&id, |doc| PublishedDoc::withdraw(doc, "w1", w)).unwrap().unwrap();
    assert!(db.public_items(10).unwrap().is_empty());
    assert!(db.public_item(&id).unwrap().unwrap().withdrawn);
    db.rebuild_projections().unwrap();
    assert!(db.public_items(10).unwrap().is_empty());
    assert!(db.public_item(&id).unwrap().unwrap().withdrawn);
}

/// One sync session between a child (`c`, with its policy towards its parent) and its parent
/// (`p`, with its policy towards the child), driven in memory until nothing moves.
fn sync(c: &mut Db, c_policy: &PeerPolicy, p: &mut Db, p_policy: &PeerPolicy, names: (&str, &str)) {
    let (child, parent) = names;
    let mut cs = Session::new(SessionConfig::new(child), parent);
    let mut ps = Session::new(SessionConfig::new(parent), child);
    cs.start(&mut SyncReplica { db: c, policy: c_policy, now_ms: 1 }).unwrap();
    ps.start(&mut SyncReplica { db: p, policy: p_policy, now_ms: 1 }).unwrap();
    loop {
        let c_out: Vec<_> = std::iter::from_fn(|| cs.poll_transmit()).collect();
        let p_out: Vec<_> = std::iter::from_fn(|| ps.poll_transmit()).collect();
        if c_out.is_empty() && p_out.is_empty() {
            break;
        }
        for f in c_out {
            ps.handle_bytes(&f, &mut SyncReplica { db: p, policy: p_policy, now_ms: 2 }).unwrap();
        }
        for f in p_out {
            cs.handle_bytes(&f, &mut SyncReplica { db: c, policy: c_policy, now_ms: 2 }).unwrap();
        }
    }
}

/// Over real sync between real stores: a withdrawal at the county and a concurrent edit at the
/// province merge to a withdrawn item on both, and the kiosk hides it once it syncs.
#[test]
fn a_withdrawal_wins_against_a_concurrent_edit_across_stores() {
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let mut county = Db::open(StoreConfig::new(dirs[0].path())).unwrap();
    let mut province = Db::open(StoreConfig::new(dirs[1].path())).unwrap();
    let mut kiosk = Db::open(StoreConfig::new(dirs[2].path())).unwrap();
    let up = (PeerPolicy::parent("province", "510131"), PeerPolicy::child_hub("county", "510131"));
    let down = (PeerPolicy::parent("county", "510131001001"), PeerPolicy::child("kiosk", "510131001001"));
    item(&mut county, "i1", "510131", &[]);
    let it = ItemDoc::from_doc(&county.load_doc("i1").unwrap().unwrap()).unwrap();
    let id = PublishedDoc::id_for("i1");
    let mut doc = PublishedDoc::of_item(&it, &KIND, "hub-510131", 5_000).to_doc().unwrap();
    county.create_doc(&id, yizhan_core::published::DOC_TYPE, &mut doc).unwrap();
    sync(&mut county, &up.0, &mut province, &up.1, ("county", "province"));
    sync(&mut kiosk, &down.0, &mut county, &down.1, ("kiosk", "county"));
    for db in [&province, &kiosk] {
        assert_eq!(db.public_items(10).unwrap().len(), 1, "published everywhere");
    }
    assert!(kiosk.load_doc("i1").unwrap().is_none(), "the pipeline item stays with the hubs");
    // Concurrently: the county withdraws, the province corrects the title.
    let w = Withdrawal { at_ms: 6_000, by: "c".into(), by_name: "县".into(), note: "有误".into() };
    county.update_doc(&id, |doc| PublishedDoc::withdraw(doc, "w-county", w)).unwrap().unwrap();
    province
        .update_doc(&id, |doc| {
            let mut p = PublishedDoc::from_doc(doc)?;
            p.title = "更正后的标题".into();
            autosurgeon::reconcile(doc, &p).map_err(|e| yizhan_core::item::ItemError::Document(e.to_string()))
        })
        .unwrap()
        .unwrap();
    sync(&mut county, &up.0, &mut province, &up.1, ("county", "province"));
    for db in [&county, &province] {
        let p = PublishedDoc::from_doc(&db.load_doc(&id).unwrap().unwrap()).unwrap();
        assert!(p.is_withdrawn() && p.title == "更正后的标题", "{p:?}");
        assert!(db.public_items(10).unwrap().is_empty());
    }
    assert_eq!(kiosk.public_items(10).unwrap().len(), 1, "the kiosk has not synced yet");
    sync(&mut kiosk, &down.0, &mut county, &down.1, ("kiosk", "county"));
    assert!(kiosk.public_items(10).unwrap().is_empty(), "hidden at the kiosk after its sync");
    assert!(kiosk.public_item(&id).unwrap().unwrap().withdrawn);
}
