//! The sync policy, table-driven: every document type in core's table × every peer relation,
//! for a document in the peer's region and one outside it (DESIGN example 13). A type added to
//! `yizhan_core::doctype::DOC_TYPES` without a row here fails `every_type_has_a_row`.

use yizhan_core::doctype::DOC_TYPES;
use yizhan_store::sync::PeerPolicy;

/// A village kiosk of 蒲江县 (510131) and another county's village.
const VILLAGE: &str = "510131001001";
const OTHER_VILLAGE: &str = "510104017001";
const COUNTY: &str = "510131";
const OTHER_COUNTY: &str = "510104";
const PUBLIC: &str = "51";
const OTHER_CITY: &str = "5120";

/// The relations, seen from the node whose policy it is.
fn relations() -> [(&'static str, PeerPolicy); 4] {
    [
        ("kiosk -> its county (parent)", PeerPolicy::parent("county", VILLAGE)),
        ("county -> province (parent)", PeerPolicy::parent("province", COUNTY)),
        ("county -> kiosk (child)", PeerPolicy::child("kiosk", VILLAGE)),
        ("province -> county (child hub)", PeerPolicy::child_hub("county", COUNTY)),
    ]
}

/// (type, scope inside the relations' regions, scope outside them, per relation in the order
/// of [`relations`]: "sa/sa", sends and accepts for the inside scope, then for the outside
/// one; `-` where refused).
const TABLE: &[(&str, &str, &str, [&str; 4])] = &[
    ("case", VILLAGE, OTHER_VILLAGE, ["sa/s-", "sa/s-", "sa/--", "sa/--"]),
    ("person", VILLAGE, OTHER_VILLAGE, ["sa/s-", "sa/s-", "sa/--", "sa/--"]),
    // Private parts leave a kiosk for its county and go down, never up from a hub.
    ("case_private", VILLAGE, OTHER_VILLAGE, ["sa/s-", "-a/--", "sa/--", "sa/--"]),
    ("credential", VILLAGE, OTHER_VILLAGE, ["sa/s-", "-a/--", "sa/--", "sa/--"]),
    // Public documents go to everyone; only a parent or a publishing child hub is believed.
    ("knowledge", PUBLIC, PUBLIC, ["sa/sa", "sa/sa", "s-/s-", "sa/sa"]),
    ("revocation", PUBLIC, PUBLIC, ["sa/sa", "sa/sa", "s-/s-", "sa/sa"]),
    // Published items: public, like knowledge (withdrawal marks travel the same way).
    ("published", PUBLIC, PUBLIC, ["sa/sa", "sa/sa", "s-/s-", "sa/sa"]),
    // A centre's pipeline item: regional, scoped by its centre; never down to a kiosk (it lies
    // above the kiosk's village) nor accepted from one, up to the parents, accepted from the
    // hubs that may write it (a kiosk would send one up, but holds none).
    ("pub_item", COUNTY, OTHER_COUNTY, ["s-/s-", "sa/s-", "--/--", "sa/--"]),
    // A claim on the bounty board, scoped by the expert's region: up to the owning centre, the
    // pick back down to the expert's hub; never to a kiosk above which it lies.
    ("bounty_claim", COUNTY, OTHER_COUNTY, ["s-/s-", "sa/s-", "--/--", "sa/--"]),
    // The county's sealing key: down to its kiosks only, accepted only from the parent and
    // only below the county (a county hub never takes one).
    ("seal_key", COUNTY, OTHER_COUNTY, ["-a/--", "--/--", "s-/--", "--/--"]),
    // The province's holiday calendar: down from the province to every node, never up (a
    // calendar can only say `51`; another city's code stands for "not above this node").
    ("holiday_calendar", PUBLIC, OTHER_CITY, ["-a/--", "-a/--", "s-/--", "s-/--"]),
    // Targets (指标): down from the centre that set them, like the calendar (here the
    // province's; another city's stand for "not above this node").
    ("targets", PUBLIC, OTHER_CITY, ["-a/--", "-a/--", "s-/--", "s-/--"]),
    // 讲堂 view counts, scoped by the recording node's region: regional like a case (up to the
    // parents; a county passes a village's document down to that village's kiosk only).
    ("lecture_views", VILLAGE, OTHER_VILLAGE, ["sa/s-", "sa/s-", "sa/--", "sa/--"]),
    // 特派员风采 featured experts: down from the centre that picked them, like targets.
    ("showcase", PUBLIC, OTHER_CITY, ["-a/--", "-a/--", "s-/--", "s-/--"]),
    // The province's evaluation rule (激励保障): down only, like the calendar.
    ("evaluation_rule", PUBLIC, OTHER_CITY, ["-a/--", "-a/--", "s-/--", "s-/--"]),
    // 安全熔断's takedowns: public like published items (the signature is checked where they
    // are applied, not by the sync policy).
    ("takedown", PUBLIC, PUBLIC, ["sa/sa", "sa/sa", "s-/s-", "sa/sa"]),
    // The province's sensitive-word list: down only, like the calendar.
    ("sensitive_words", PUBLIC, OTHER_CITY, ["-a/--", "-a/--", "s-/--", "s-/--"]),
    // The province's subsidy standard: down to hubs only, never to or from a kiosk.
    ("subsidy_standard", PUBLIC, OTHER_CITY, ["--/--", "-a/--", "--/--", "s-/--"]),
    // A payee's sealed numbers: private at the county hub: never up, never to a kiosk.
    ("subsidy_payee", COUNTY, OTHER_COUNTY, ["s-/s-", "-a/--", "--/--", "sa/--"]),
    // A county's monthly statement: up to the city and province for approval, the decision
    // back down to the county; never to a kiosk.
    ("subsidy_statement", COUNTY, OTHER_COUNTY, ["s-/s-", "sa/s-", "--/--", "sa/--"]),
];

fn check(doc_type: &str, scope: &str, relation: &str, policy: &PeerPolicy, expected: &str) {
    let mut e = expected.chars();
    let (send, accept) = (e.next() == Some('s'), e.next() == Some('a'));
    assert_eq!(
        (policy.sends(doc_type, scope), policy.accepts(doc_type, scope)),
        (send, accept),
        "{doc_type} of scope {scope}, {relation}: expected {expected:?} (sends, accepts)"
    );
}

#[test]
fn every_type_by_every_relation() {
    for (doc_type, inside, outside, expected) in TABLE {
        for ((relation, policy), expected) in relations().iter().zip(expected) {
            let (e_inside, e_outside) = expected.split_once('/').unwrap();
            check(doc_type, inside, relation, policy, e_inside);
            check(doc_type, outside, relation, policy, e_outside);
        }
    }
}

/// A village station's draft (a farmer's listing, `supply.offer`): owned by the village, it flows
/// like a case: up from the kiosk, accepted by its county, down to that kiosk only.
#[test]
fn a_station_draft_flows_like_a_case() {
    for ((relation, policy), expected) in relations().iter().zip(["sa/s-", "sa/s-", "sa/--", "sa/--"]) {
        let (inside, outside) = expected.split_once('/').unwrap();
        check("pub_item", VILLAGE, relation, policy, inside);
        check("pub_item", OTHER_VILLAGE, relation, policy, outside);
    }
}

#[test]
fn every_type_has_a_row() {
    for t in DOC_TYPES {
        assert!(TABLE.iter().any(|(name, ..)| *name == t.name), "{} has no row in the policy table", t.name);
    }
    assert_eq!(TABLE.len(), DOC_TYPES.len());
}

/// The subsidy standard reaches a city hub from the province and a county hub from its city,
/// never a town's kiosk.
#[test]
fn the_subsidy_standard_goes_down_to_hubs_only() {
    assert!(PeerPolicy::child_hub("city", "5101").sends("subsidy_standard", PUBLIC));
    assert!(PeerPolicy::parent("province", "5101").accepts("subsidy_standard", PUBLIC));
    assert!(!PeerPolicy::child("kiosk", "510131001").sends("subsidy_standard", PUBLIC));
    assert!(!PeerPolicy::parent("county", "510131001").accepts("subsidy_standard", PUBLIC));
}

#[test]
fn a_town_kiosk_sends_private_parts_and_a_city_hub_does_not() {
    assert!(PeerPolicy::parent("county", "510131001").sends("case_private", "510131001001"));
    assert!(!PeerPolicy::parent("province", "5101").sends("case_private", "510131001001"));
    assert!(!PeerPolicy::parent("province", "5101").sends("credential", "510131001001"));
}
