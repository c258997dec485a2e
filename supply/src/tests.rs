#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use yizhan_core::item::{ItemDoc, NewItem, automatic_checks};
use yizhan_core::published::PublishedDoc;

use super::*;

fn offer(centre: &str, fields: &[(&str, &str)]) -> ItemDoc {
    let new = NewItem {
        kind: OFFER.into(),
        centre: centre.into(),
        title: "丑柑 5000 斤待售".into(),
        body: "果形端正，可分批交货。".into(),
        fields: fields.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<BTreeMap<_, _>>(),
        ip_owner: "蒲江县某村种植户".into(),
        author: "officer-1".into(),
    };
    ItemDoc::create(&new, "item-1", 1).unwrap().0
}

const GOOD: &[(&str, &str)] = &[
    ("product", "丑柑"),
    ("industry", "fruit"),
    ("quantity", "5000"),
    ("unit", "斤"),
    ("price_fen", "350"),
    ("valid_from", "2026-12-01"),
    ("valid_to", "2027-01-31"),
    ("place", "寿安镇"),
];

fn with(changes: &[(&str, &str)]) -> Vec<(&'static str, String)> {
    let mut f: BTreeMap<&str, String> = GOOD.iter().map(|(k, v)| (*k, v.to_string())).collect();
    for (k, v) in changes {
        let key: &'static str = GOOD.iter().find(|(g, _)| g == k).unwrap().0;
        if v.is_empty() {
            f.remove(key);
        } else {
            f.insert(key, v.to_string());
        }
    }
    f.into_iter().collect()
}

/// (field changes, centre, a problem expected to contain this, or "" for none)
fn check(changes: &[(&str, &str)], centre: &str, expected: &str) {
    let fields = with(changes);
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let item = offer(centre, &pairs);
    let problems = automatic_checks(&kind(OFFER).unwrap(), &item);
    if expected.is_empty() {
        assert!(problems.is_empty(), "{changes:?}: {problems:?}");
    } else {
        assert!(
            problems.iter().any(|p| p.contains(expected)),
            "{changes:?} expected {expected}: {problems:?}"
        );
    }
}

#[test]
fn a_listings_fields_are_checked() {
    check(&[], "510131001001", "");
    check(&[], "510131", "");
    check(&[("price_fen", "")], "510131001001", "");
    check(&[("industry", "durian")], "510131001001", "不是 10+3");
    check(&[("quantity", "-3")], "510131001001", "数量");
    check(&[("quantity", "1e5")], "510131001001", "数量");
    check(&[("quantity", "0")], "510131001001", "数量");
    check(&[("quantity", "12.5")], "510131001001", "");
    check(&[("price_fen", "3.5")], "510131001001", "单价");
    check(&[("price_fen", "0")], "510131001001", "单价");
    check(&[("valid_to", "2026-02-30")], "510131001001", "日期");
    check(&[("valid_to", "2026-11-30")], "510131001001", "早于");
    check(&[("valid_to", "2028-06-01")], "510131001001", "不能超过");
    check(&[("valid_to", "")], "510131001001", "供货截止日期");
    check(&[("place", "")], "510131", "");
    // Personal numbers anywhere are refused by the pipeline's common checks.
    check(&[("product", "丑柑 联系13812345678")], "510131001001", "个人号码");
}

fn published(kind: &str, owner: &str, industry: &str, valid_to: &str, at: i64) -> PublishedDoc {
    let pairs = with(&[("industry", industry), ("valid_to", valid_to), ("valid_from", "2026-01-01")]);
    let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut item = offer(if owner.is_empty() { "510131" } else { owner }, &pairs);
    item.kind = kind.into();
    item.id = format!("item-{at}");
    PublishedDoc::of_item(&item, &kind_or_offer(kind), "hub", at)
}

fn kind_or_offer(name: &str) -> yizhan_core::item::Kind {
    kind(name).unwrap_or_else(|| kind(OFFER).unwrap())
}

#[test]
fn lists_filter_by_kind_industry_region_and_hide_expired() {
    // 2026-12-07 12:00 UTC+8.
    let now = (yizhan_core::holidays::days_from_civil(2026, 12, 7) * 86_400_000) + 4 * 3_600_000;
    let docs = vec![
        published(OFFER, "510131001001", "fruit", "2026-12-31", 1),
        published(DEMAND, "510131002001", "tea", "2026-12-31", 2),
        published(OFFER, "", "fruit", "2026-12-06", 3),
        published(OFFER, "", "fruit", "2026-12-07", 4),
        published("industry.news", "", "fruit", "2026-12-31", 5),
    ];
    let ids = |f: &Filter| listings(&docs, f, now).into_iter().map(|l| l.id).collect::<Vec<_>>();
    // Newest first; the one that ended yesterday hidden, the one ending today still shown.
    assert_eq!(ids(&Filter::default()), ["pub-item-4", "pub-item-2", "pub-item-1"]);
    assert_eq!(
        ids(&Filter { show_expired: true, ..Filter::default() }),
        ["pub-item-4", "pub-item-3", "pub-item-2", "pub-item-1"]
    );
    assert_eq!(ids(&Filter { kind: DEMAND.into(), ..Filter::default() }), ["pub-item-2"]);
    assert_eq!(ids(&Filter { industry: "fruit".into(), ..Filter::default() }), ["pub-item-4", "pub-item-1"]);
    assert_eq!(ids(&Filter { region: "510131001".into(), ..Filter::default() }), ["pub-item-1"]);
    assert_eq!(ids(&Filter { region: "5101".into(), ..Filter::default() }).len(), 3);
    assert_eq!(ids(&Filter { region: "5102".into(), ..Filter::default() }).len(), 0);
    assert_eq!(ids(&Filter { region: "garbage".into(), ..Filter::default() }).len(), 0);
    let l = Listing::of(&docs[0]).unwrap();
    assert_eq!(l.price_zh(), "¥3.50 元/斤");
    assert!(l.contact_zh().contains("驿站"));
    assert!(Listing::of(&docs[2]).unwrap().contact_zh().contains("运管中心"));
    assert!(Listing::of(&docs[2]).unwrap().is_expired(now));
    assert!(!Listing::of(&docs[3]).unwrap().is_expired(now));
}

#[test]
fn form_pairs_become_fields() {
    let pairs =
        |p: &[(&str, &str)]| p.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<Vec<_>>();
    let f =
        pages::fields_of_form(&pairs(&[("price", "3.5"), ("product", " 丑柑 "), ("unit", ""), ("x", "y")]))
            .unwrap();
    assert_eq!(f.get("price_fen").map(String::as_str), Some("350"));
    assert_eq!(f.get("product").map(String::as_str), Some("丑柑"));
    assert!(!f.contains_key("unit") && !f.contains_key("x"));
    assert!(pages::fields_of_form(&pairs(&[("price", "三块")])).is_err());
    assert!(pages::fields_of_form(&pairs(&[("price", "0")])).is_err());
}
