#![allow(clippy::unwrap_used)]

use yizhan_core::item::{ItemDoc, NewItem, automatic_checks};
use yizhan_core::published::PublishedDoc;

use super::*;

const DAY_MS: i64 = 86_400_000;

fn day(y: i32, m: u32, d: u32) -> i64 {
    holidays::days_from_civil(y, m, d) * DAY_MS + 4 * 3_600_000
}

fn item(kind_name: &str, centre: &str, fields: &[(&str, &str)]) -> ItemDoc {
    let new = NewItem {
        kind: kind_name.into(),
        centre: centre.into(),
        title: "茶园病虫害绿色防控技术".into(),
        body: "面向丘陵茶园的综合防控方案。".into(),
        fields: fields.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        ip_owner: "四川农业大学".into(),
        author: "staff-1".into(),
    };
    ItemDoc::create(&new, "item-1", day(2026, 12, 7)).unwrap().0
}

fn problems(kind_name: &str, centre: &str, fields: &[(&str, &str)]) -> Vec<String> {
    automatic_checks(&kind(kind_name).unwrap(), &item(kind_name, centre, fields))
}

fn has(p: &[String], what: &str) -> bool {
    p.iter().any(|x| x.contains(what))
}

#[test]
fn each_kind_checks_its_fields() {
    let good_a =
        [("holder", "四川农业大学"), ("industry", "tea"), ("maturity", "中试"), ("transfer_mode", "许可")];
    assert_eq!(problems(ACHIEVEMENT, "51", &good_a), Vec::<String>::new());
    assert!(has(
        &problems(
            ACHIEVEMENT,
            "51",
            &[("holder", "x"), ("industry", "tea"), ("maturity", "快好了"), ("transfer_mode", "许可")]
        ),
        "成熟度"
    ));
    assert!(has(
        &problems(
            ACHIEVEMENT,
            "51",
            &[("holder", "x"), ("industry", "tea"), ("maturity", "中试"), ("transfer_mode", "送")]
        ),
        "转化方式"
    ));
    assert!(has(
        &problems(
            ACHIEVEMENT,
            "51",
            &[("holder", "x"), ("industry", "rice"), ("maturity", "中试"), ("transfer_mode", "许可")]
        ),
        "10+3"
    ));
    assert!(has(&problems(ACHIEVEMENT, "510131001001", &good_a), "运管中心"));
    assert!(has(&problems(ACHIEVEMENT, "51", &good_a[1..]), "成果持有单位"));

    let bounty = |reward: &'static str, deadline: &'static str| {
        problems(
            BOUNTY,
            "5101",
            &[
                ("demander", "某茶叶合作社"),
                ("industry", "tea"),
                ("reward_fen", reward),
                ("deadline", deadline),
            ],
        )
    };
    assert_eq!(bounty("5000000", "2027-03-31"), Vec::<String>::new());
    assert!(has(&bounty("50000.00", "2027-03-31"), "悬赏金额"));
    assert!(has(&bounty("0", "2027-03-31"), "悬赏金额"));
    assert!(has(&bounty("99999999999", "2027-03-31"), "悬赏金额"));
    assert!(has(&bounty("500", "2026-12-06"), "早于"));
    assert!(has(&bounty("500", "2029-12-06"), "不能晚于"));
    assert!(has(&bounty("500", "2027-02-29"), "无效"));
    assert!(has(&bounty("", "2027-03-31"), "悬赏金额"));
    let demand = problems(
        DEMAND,
        "510131",
        &[("demander", "某合作社"), ("industry", "fruit"), ("deadline", "2027-01-31")],
    );
    assert_eq!(demand, Vec::<String>::new());
}

fn published(kind_name: &str, centre: &str, fields: &[(&str, &str)], at: i64) -> PublishedDoc {
    let mut it = item(kind_name, centre, fields);
    it.id = format!("item-{at}");
    PublishedDoc::of_item(&it, &kind(kind_name).unwrap_or_else(|| kind(ACHIEVEMENT).unwrap()), "hub", at)
}

#[test]
fn lists_filter_and_keep_bounties_past_their_deadline() {
    let now = day(2026, 12, 20);
    let docs = vec![
        published(
            ACHIEVEMENT,
            "51",
            &[("holder", "川农大"), ("industry", "tea"), ("maturity", "中试"), ("transfer_mode", "许可")],
            1,
        ),
        published(
            DEMAND,
            "510131",
            &[("demander", "合作社"), ("industry", "fruit"), ("deadline", "2026-12-10")],
            2,
        ),
        published(
            BOUNTY,
            "5101",
            &[
                ("demander", "合作社"),
                ("industry", "tea"),
                ("reward_fen", "500000"),
                ("deadline", "2026-12-10"),
            ],
            3,
        ),
        published("supply.offer", "510131", &[], 4),
    ];
    let ids = |f: &Filter| entries(&docs, f, now).into_iter().map(|e| e.id).collect::<Vec<_>>();
    assert_eq!(ids(&Filter::default()), ["pub-item-3", "pub-item-1"]);
    assert_eq!(
        ids(&Filter { expired: "1".into(), ..Filter::default() }),
        ["pub-item-3", "pub-item-2", "pub-item-1"]
    );
    assert_eq!(ids(&Filter { industry: "tea".into(), ..Filter::default() }), ["pub-item-3", "pub-item-1"]);
    assert_eq!(
        ids(&Filter { region: "5101".into(), expired: "1".into(), ..Filter::default() }),
        ["pub-item-3", "pub-item-2"]
    );
    assert_eq!(ids(&Filter { kind: BOUNTY.into(), ..Filter::default() }), ["pub-item-3"]);
    let e = Entry::of(&docs[2]).unwrap();
    assert_eq!((e.amount_fen, e.party.as_str()), (Some(500000), "合作社"));
    let page = pages::list(
        "/achievements",
        &entries(&docs, &Filter::default(), now),
        &Filter::default(),
        now,
        &Default::default(),
    )
    .into_string();
    assert!(page.contains("¥5000.00 元") && page.contains("已截止"), "{page}");
}
