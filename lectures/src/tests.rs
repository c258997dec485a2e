use std::collections::BTreeMap;

use yizhan_core::item::{ItemAttachment, ItemDoc, NewItem};

use super::*;

fn item(centre: &str, fields: &[(&str, &str)], ip_owner: &str, files: &[(&str, &str)]) -> ItemDoc {
    let new = NewItem {
        kind: LECTURE.into(),
        centre: centre.into(),
        title: "柑橘春季修剪".into(),
        body: "讲解春季修剪要点".into(),
        fields: fields.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        ip_owner: ip_owner.into(),
        author: "p1".into(),
    };
    let (mut item, _) = ItemDoc::create(&new, "item-1", 1_780_000_000_000).expect("item");
    let mut atts = BTreeMap::new();
    for (i, (kind, role)) in files.iter().enumerate() {
        let a = ItemAttachment {
            hash: format!("{i:064x}"),
            group: format!("{i:064x}"),
            kind: kind.to_string(),
            role: role.to_string(),
            name: "f".into(),
            mime: if *role == PDF_ROLE { "application/pdf".into() } else { "video/mp4".into() },
            bytes: 10,
        };
        atts.insert(a.key(), a);
    }
    item.attachments = atts;
    item
}

fn check(item: &ItemDoc, expected: &[&str]) {
    let got = check_item(item);
    assert_eq!(got.len(), expected.len(), "{got:?}");
    for (g, e) in got.iter().zip(expected) {
        assert!(g.contains(e), "{g} does not contain {e}");
    }
}

#[test]
fn kind_checks() {
    let bad = [("industry", "citrus"), ("speaker", "王教授")];
    let ind = Industry::ALL[0].code();
    let fields = [("industry", ind), ("speaker", "王教授")];
    check(&item("510131", &fields, "四川省农科院", &[(BLOB_KIND, "original"), (BLOB_KIND, "proxy")]), &[]);
    check(&item("510131", &fields, "四川省农科院", &[(BLOB_KIND, "original")]), &["转码"]);
    check(&item("510131", &fields, "四川省农科院", &[(BLOB_KIND, PDF_ROLE)]), &[]);
    check(&item("510131", &fields, "四川省农科院", &[("photo", "original")]), &["视频或 PDF"]);
    check(&item("510131", &bad, "四川省农科院", &[(BLOB_KIND, PDF_ROLE)]), &["10+3"]);
    check(&item("510131", &fields, "", &[(BLOB_KIND, PDF_ROLE)]), &["知识产权"]);
    check(&item("510131001001", &fields, "单位", &[(BLOB_KIND, PDF_ROLE)]), &["运管中心"]);
    assert!(is_pdf(b"%PDF-1.7\n"));
    assert!(!is_pdf(b"<html>"));
}

fn cand(id: &str, industry: &str, bytes: u64, published: i64, watched: Option<i64>) -> Candidate {
    Candidate {
        id: id.into(),
        industry: industry.into(),
        bytes,
        published_at_ms: published,
        last_watched_ms: watched,
    }
}

fn ids(s: &BTreeSet<String>) -> Vec<&str> {
    s.iter().map(String::as_str).collect()
}

#[test]
fn plan_keeps_the_region_industries_within_the_budget() {
    let inds = region_industries(["tea", "junk", " pig "]);
    assert_eq!(ids(&inds), ["pig", "tea"]);
    let c = [
        cand("a", "tea", 40, 1, None),
        cand("b", "tea", 40, 2, None),
        cand("c", "pig", 40, 3, None),
        cand("d", "fish", 10, 4, None),
    ];
    let p = plan(&c, &inds, 100, 1_000_000_000);
    // Newest first while they fit: c, b; a does not fit; fish is not the region's.
    assert_eq!(ids(&p.wanted), ["b", "c"]);
    assert_eq!(ids(&p.evict), ["a", "d"]);
}

#[test]
fn eviction_takes_the_least_recently_watched_first_and_never_the_one_being_watched() {
    let inds = region_industries(["tea"]);
    let now = 100 * WATCHING_MS;
    let c = [
        cand("old-watch", "tea", 40, 9, Some(now - 50 * WATCHING_MS)),
        cand("recent-watch", "tea", 40, 1, Some(now - 10 * WATCHING_MS)),
        cand("never", "tea", 40, 10, None),
    ];
    let p = plan(&c, &inds, 80, now);
    assert_eq!(ids(&p.wanted), ["old-watch", "recent-watch"]);
    assert_eq!(ids(&p.evict), ["never"]);
    let p = plan(&c, &inds, 40, now);
    assert_eq!(ids(&p.wanted), ["recent-watch"], "the least recently watched goes first");
    // Being watched now: kept even past the budget, and it takes its room first.
    let c2 = [
        cand("watching", "tea", 60, 1, Some(now - 1000)),
        cand("other", "tea", 30, 2, Some(now - 2 * WATCHING_MS)),
    ];
    let p = plan(&c2, &inds, 50, now);
    assert_eq!(ids(&p.wanted), ["watching"]);
    assert_eq!(ids(&p.evict), ["other"]);
}

#[test]
fn cache_state_labels() {
    assert_eq!(CacheState::Cached.label_zh(), "已缓存");
    assert_eq!(CacheState::NotCached.label_zh(), "未缓存");
    assert_eq!(CacheState::Downloading { done_bytes: 25, total_bytes: 100 }.label_zh(), "下载中 25%");
    assert_eq!(CacheState::Downloading { done_bytes: 0, total_bytes: 0 }.label_zh(), "下载中 0%");
}
