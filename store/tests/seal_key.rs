//! The county sealing key's sync rule (docs/PROTOCOL.md, "Downward documents"): it goes from
//! the county hub to the kiosks of the county and nowhere else, and a kiosk takes it only from
//! its parent and only for its own county. Real SQLite stores, sessions driven in memory.
#![allow(clippy::unwrap_used)]

use yizhan_core::{CountySecretKey, SealKeyDoc};
use yizhan_store::sync::{PeerPolicy, SyncReplica};
use yizhan_store::{Db, StoreConfig};
use yizhan_sync_proto::{Event as SyncEvent, Session, SessionConfig};

const SEAL: &str = "seal_key";
const KIOSK_SCOPE: &str = "510131001001";

fn open(dir: &std::path::Path) -> Db {
    Db::open(StoreConfig::new(dir)).unwrap()
}

fn publish_key(db: &mut Db, county: &str, secret: u8) {
    let key = CountySecretKey::from_bytes([secret; 32]).public_key();
    let mut doc = SealKeyDoc::new(county, &key, 1000).unwrap().to_doc().unwrap();
    db.create_doc(&SealKeyDoc::id_for(county), SEAL, &mut doc).unwrap();
}

/// One session between `a` and `b` (each with its policy for the other) until nothing moves;
/// returns `b`'s events.
fn sync(a: (&mut Db, &str, &PeerPolicy), b: (&mut Db, &str, &PeerPolicy)) -> Vec<SyncEvent> {
    let (a_db, a_id, a_policy) = a;
    let (b_db, b_id, b_policy) = b;
    let mut a_s = Session::new(SessionConfig::new(a_id), b_id);
    let mut b_s = Session::new(SessionConfig::new(b_id), a_id);
    a_s.start(&mut SyncReplica { db: a_db, policy: a_policy, now_ms: 1 }).unwrap();
    b_s.start(&mut SyncReplica { db: b_db, policy: b_policy, now_ms: 1 }).unwrap();
    loop {
        let a_out: Vec<_> = std::iter::from_fn(|| a_s.poll_transmit()).collect();
        let b_out: Vec<_> = std::iter::from_fn(|| b_s.poll_transmit()).collect();
        if a_out.is_empty() && b_out.is_empty() {
            break;
        }
        for f in a_out {
            b_s.handle_bytes(&f, &mut SyncReplica { db: b_db, policy: b_policy, now_ms: 2 }).unwrap();
        }
        for f in b_out {
            a_s.handle_bytes(&f, &mut SyncReplica { db: a_db, policy: a_policy, now_ms: 2 }).unwrap();
        }
    }
    std::iter::from_fn(|| b_s.poll_event()).collect()
}

/// Whether the events tell that the peer refused `doc_id`.
fn refused(events: &[SyncEvent], doc_id: &str) -> bool {
    events.iter().any(|e| matches!(e, SyncEvent::RefusedByPeer(r) if r.iter().any(|r| r.doc_id == doc_id)))
}

#[test]
fn the_rule_sends_a_county_key_only_down_into_the_county_and_accepts_it_only_from_the_parent() {
    // A county hub's policies: for a kiosk of the county, a kiosk of a town, its own parent.
    let to_village = PeerPolicy::child("kiosk", KIOSK_SCOPE);
    let to_town = PeerPolicy::child("kiosk", "510131001");
    let to_parent = PeerPolicy::parent("city", "510131");
    assert!(to_village.sends(SEAL, "510131"));
    assert!(to_town.sends(SEAL, "510131"));
    assert!(!to_village.sends(SEAL, "510104"), "another county's key");
    assert!(!to_parent.sends(SEAL, "510131"), "never up");
    // A city hub does not hand a county's key to the county hub itself (nobody writes it but
    // the county hub), nor to a child hub of another county.
    assert!(!PeerPolicy::child_hub("county", "510131").sends(SEAL, "510131"));
    assert!(!PeerPolicy::child_hub("county", "510104").sends(SEAL, "510131"));
    // A kiosk sends it to nobody: its only peer is its parent.
    assert!(!PeerPolicy::parent("hub", KIOSK_SCOPE).sends(SEAL, "510131"));

    // A kiosk takes its own county's key from its parent, nothing else.
    let from_parent = PeerPolicy::parent("hub", KIOSK_SCOPE);
    assert!(from_parent.accepts(SEAL, "510131"));
    assert!(PeerPolicy::parent("hub", "510131001").accepts(SEAL, "510131"));
    assert!(!from_parent.accepts(SEAL, "510104"), "another county's key");
    // (A key's scope is always a county: `SealKeyDoc` validates it, tested in core.)
    assert!(!PeerPolicy::child("peer", KIOSK_SCOPE).accepts(SEAL, "510131"), "not from a non-parent");
    assert!(!PeerPolicy::child_hub("peer", KIOSK_SCOPE).accepts(SEAL, "510131"), "not from a child hub");
    // A county hub takes no key for its county from anyone, not even its parent.
    assert!(!PeerPolicy::parent("city", "510131").accepts(SEAL, "510131"));
    assert!(!PeerPolicy::child("kiosk", KIOSK_SCOPE).accepts(SEAL, KIOSK_SCOPE));

    // The other rules are unchanged: scope, public documents, private parts.
    assert!(to_village.sends("case", KIOSK_SCOPE) && !to_village.sends("case", "510131002001"));
    assert!(to_village.sends("knowledge", "51"));
    assert!(to_village.sends("case_private", KIOSK_SCOPE));
    assert!(!to_parent.sends("case_private", "510131001001"), "a hub keeps private parts");
    assert!(PeerPolicy::parent("hub", KIOSK_SCOPE).sends("case_private", KIOSK_SCOPE));
    assert!(from_parent.accepts("knowledge", "51") && !to_village.accepts("knowledge", "51"));
}

#[test]
fn a_kiosk_receives_its_county_key_from_its_hub_and_sends_nothing_back() {
    let (kd, hd) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (mut kiosk, mut hub) = (open(kd.path()), open(hd.path()));
    publish_key(&mut hub, "510131", 1);
    let kp = PeerPolicy::parent("hub", KIOSK_SCOPE);
    let hp = PeerPolicy::child("kiosk", KIOSK_SCOPE);
    let events = sync((&mut kiosk, "kiosk", &kp), (&mut hub, "hub", &hp));
    assert!(!refused(&events, "seal-key:510131"), "{events:?}");
    let doc = kiosk.load_doc("seal-key:510131").unwrap().expect("the kiosk holds the key");
    let key = SealKeyDoc::from_doc(&doc).unwrap();
    assert_eq!(key.current().unwrap().1, CountySecretKey::from_bytes([1; 32]).public_key());
    // Received, not recorded here: nothing is waiting to go up.
    assert_eq!(kiosk.stats().unwrap().unsynced_docs, 0);
    // The hub's copy is still its own single change history, and a second session moves nothing.
    let before = hub.load_doc("seal-key:510131").unwrap().unwrap().get_heads();
    sync((&mut kiosk, "kiosk", &kp), (&mut hub, "hub", &hp));
    assert_eq!(hub.load_doc("seal-key:510131").unwrap().unwrap().get_heads(), before);
}

#[test]
fn a_kiosk_refuses_another_countys_key_and_a_key_from_a_peer_that_is_not_its_parent() {
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let mut kiosk = open(dirs[0].path());

    // A parent that offers the key of another county (the sender's side is made to offer it:
    // its child policy names a village of that county).
    let mut rogue = open(dirs[1].path());
    publish_key(&mut rogue, "510104", 2);
    let events = sync(
        (&mut kiosk, "kiosk", &PeerPolicy::parent("rogue", KIOSK_SCOPE)),
        (&mut rogue, "rogue", &PeerPolicy::child("kiosk", "510104017001")),
    );
    assert!(kiosk.load_doc("seal-key:510104").unwrap().is_none(), "another county's key was stored");
    assert!(refused(&events, "seal-key:510104"), "offered and refused: {events:?}");

    // A peer that is not the kiosk's parent offers the kiosk's own county's key.
    let mut peer = open(dirs[2].path());
    publish_key(&mut peer, "510131", 3);
    let events = sync(
        (&mut kiosk, "kiosk", &PeerPolicy::child("peer", KIOSK_SCOPE)),
        (&mut peer, "peer", &PeerPolicy::child("kiosk", KIOSK_SCOPE)),
    );
    assert!(kiosk.load_doc("seal-key:510131").unwrap().is_none(), "a key from a non-parent was stored");
    assert!(refused(&events, "seal-key:510131"), "offered and refused: {events:?}");
    // The same document from the parent is taken: the refusals above were the rule, not a fault.
    // (A fresh kiosk: a refused version is not offered again to the node that refused it.)
    let fresh_dir = tempfile::tempdir().unwrap();
    let mut fresh = open(fresh_dir.path());
    let events = sync(
        (&mut fresh, "kiosk-b", &PeerPolicy::parent("peer", KIOSK_SCOPE)),
        (&mut peer, "peer", &PeerPolicy::child("kiosk-b", KIOSK_SCOPE)),
    );
    assert!(fresh.load_doc("seal-key:510131").unwrap().is_some(), "{events:?}");
}

#[test]
fn a_county_hub_does_not_send_its_key_up_and_refuses_one_from_a_kiosk() {
    let (cd, pd, kd) =
        (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (mut county, mut province) = (open(cd.path()), open(pd.path()));
    publish_key(&mut county, "510131", 1);
    sync(
        (&mut county, "county", &PeerPolicy::parent("province", "510131")),
        (&mut province, "province", &PeerPolicy::child_hub("county", "510131")),
    );
    assert!(province.load_doc("seal-key:510131").unwrap().is_none(), "the key went up");

    // A kiosk that made up a key for its county cannot push it to the hub: its policy never
    // offers it to a parent, and were it offered (a kiosk built to), the hub refuses it.
    let mut kiosk = open(kd.path());
    publish_key(&mut kiosk, "510131", 9);
    let events = sync(
        (&mut county, "county", &PeerPolicy::child("kiosk", KIOSK_SCOPE)),
        (&mut kiosk, "kiosk", &PeerPolicy::child("county", KIOSK_SCOPE)),
    );
    assert!(refused(&events, "seal-key:510131"), "offered and refused: {events:?}");
    let held = SealKeyDoc::from_doc(&county.load_doc("seal-key:510131").unwrap().unwrap()).unwrap();
    assert_eq!(held.keys.len(), 1, "the kiosk's key was merged into the county's");
    assert_eq!(held.current().unwrap().1, CountySecretKey::from_bytes([1; 32]).public_key());
}
