//! Entity extraction and linking on realistic Chinese records about Sichuan's industries
//! (蒲江猕猴桃, 雅安藏茶, 眉山晚熟柑橘, ...), written for this test the way county centres
//! write their bulletins: what each record names, and which records 相关信息 links.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use yizhan_core::published::{PublicField, PublishedDoc};
use yizhan_industry::catalogue::{self, Filter, Record, Shared};
use yizhan_industry::entities::{self, extract};
use yizhan_industry::kinds;

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

const PUJIANG: &str = "蒲江县是全国知名的猕猴桃生产基地，全县猕猴桃种植面积约10万亩，以红心猕猴桃“红阳”和“东红”为主。\
县里依托四川农业大学和蒲江县猕猴桃研究所开展溃疡病绿色防控，四川蒲江猕猴桃产业发展有限公司牵头建设冷链仓储，\
带动寿安街道、鹤山街道的农户增收。";

const YAAN: &str = "雅安藏茶是四川黑茶的代表，名山区和雨城区茶园面积超过40万亩。四川省农业科学院茶叶研究所与\
雅安市友谊茶叶有限公司合作，研制藏茶新工艺；雨城区藏茶专业合作社组织茶农统一采摘。";

const MEISHAN: &str = "眉山市东坡区、丹棱县的晚熟柑橘（不知火、春见）已成为川果的重要板块。丹棱县桔橙协会联合\
四川省农业科学院园艺研究所推广完熟栽培，眉山市丹橙现代农业发展有限公司建成柑橘分选冷链中心。";

#[test]
fn regions_are_found_by_full_and_short_names() {
    let e = extract(PUJIANG, None);
    assert!(e.regions.contains("510131"), "蒲江县: {:?}", e.regions);
    // Towns of 蒲江县 (寿安街道, 鹤山街道): named uniquely or within the county named.
    let towns: Vec<_> =
        e.regions.iter().filter(|c| c.starts_with("510131") && c.as_str() != "510131").collect();
    assert!(!towns.is_empty(), "the towns of the county: {:?}", e.regions);
    let e = extract(YAAN, None);
    for code in ["5118", "511803", "511802"] {
        assert!(e.regions.contains(code), "{code} in {:?}", e.regions);
    }
    let e = extract(MEISHAN, None);
    for code in ["1402", "1424"] {
        assert!(e.regions.contains(&format!("51{code}")), "51{code} in {:?}", e.regions);
    }
    // Nothing from words that merely contain a short name.
    assert!(extract("提高县域经济，东区西区都要发展。", None).regions.is_empty());
}

#[test]
fn crops_and_industries_come_from_the_vocabulary() {
    let e = extract(PUJIANG, None);
    assert!(e.crops.contains("猕猴桃"), "{:?}", e.crops);
    assert!(
        e.industries.contains("fruit") && e.industries.contains("drying_cold_chain"),
        "{:?}",
        e.industries
    );
    let e = extract(YAAN, None);
    assert!(e.crops.iter().any(|c| c.contains("茶")), "{:?}", e.crops);
    assert!(e.industries.contains("tea"), "{:?}", e.industries);
    let e = extract(MEISHAN, None);
    assert!(e.crops.contains("柑橘"), "{:?}", e.crops);
    assert!(e.industries.contains("fruit"), "{:?}", e.industries);
}

#[test]
fn enterprises_and_institutions_are_named_whole() {
    let e = extract(PUJIANG, None);
    assert_eq!(e.institutions, set(&["四川农业大学", "蒲江县猕猴桃研究所"]), "{e:?}");
    assert_eq!(e.enterprises, set(&["四川蒲江猕猴桃产业发展有限公司"]), "{e:?}");
    let e = extract(YAAN, None);
    assert_eq!(e.institutions, set(&["四川省农业科学院茶叶研究所"]), "{e:?}");
    assert_eq!(e.enterprises, set(&["雅安市友谊茶叶有限公司", "雨城区藏茶专业合作社"]), "{e:?}");
    let e = extract(MEISHAN, None);
    assert_eq!(e.institutions, set(&["丹棱县桔橙协会", "四川省农业科学院园艺研究所"]), "{e:?}");
    assert_eq!(e.enterprises, set(&["眉山市丹橙现代农业发展有限公司"]), "{e:?}");
    // Generic mentions are not names.
    let e = extract("该公司与本合作社签约，公司负责收购。", None);
    assert!(e.enterprises.is_empty() && e.institutions.is_empty(), "{e:?}");
}

fn record(id: &str, kind: &str, title: &str, body: &str, fields: &[(&str, &str)], at: i64) -> Arc<Record> {
    let doc = PublishedDoc {
        doc_type: "published".into(),
        schema: 1,
        id: id.into(),
        item_id: id.into(),
        kind: kind.into(),
        kind_name: String::new(),
        centre: "51".into(),
        title: title.into(),
        body: body.into(),
        fields: fields
            .iter()
            .map(|(k, v)| PublicField { key: (*k).into(), label: (*k).into(), value: (*v).into() })
            .collect(),
        attachments: Default::default(),
        ip_owner: "四川省农业农村厅".into(),
        reviewed_by: String::new(),
        signed_off_by: String::new(),
        published_at_ms: at,
        publisher: "hub".into(),
        withdrawals: Default::default(),
    };
    Arc::new(Record::from_doc(doc))
}

fn corpus() -> Vec<Arc<Record>> {
    vec![
        record(
            "pujiang-status",
            kinds::LOCAL,
            "蒲江县猕猴桃产业现状",
            PUJIANG,
            &[("database", "产业现状"), ("region", "510131"), ("industry", "fruit"), ("date", "2026-04-01")],
            5,
        ),
        record(
            "sicau-support",
            kinds::NEWS,
            "四川农业大学猕猴桃团队服务全省产区",
            "四川农业大学园艺学院猕猴桃团队在蒲江、都江堰、苍溪等地建立示范园，推广溃疡病综合防控技术。",
            &[
                ("database", "技术依托单位"),
                ("region", "51"),
                ("industry", "川果"),
                ("institutions", "四川农业大学"),
            ],
            4,
        ),
        record(
            "yaan-status",
            kinds::LOCAL,
            "雅安藏茶产业现状",
            YAAN,
            &[("database", "产业现状"), ("region", "5118"), ("industry", "tea")],
            3,
        ),
        record(
            "yaan-trend",
            kinds::NEWS,
            "藏茶出口与边销趋势",
            "雅安市友谊茶叶有限公司等企业的藏茶边销量稳中有升，黑茶出口向中亚拓展。",
            &[("database", "发展趋势"), ("region", "5118"), ("industry", "tea")],
            2,
        ),
        record(
            "meishan-status",
            kinds::LOCAL,
            "眉山晚熟柑橘产业现状",
            MEISHAN,
            &[
                ("database", "产业现状"),
                ("region", "511424"),
                ("industry", "fruit"),
                ("crops", "不知火、春见"),
            ],
            1,
        ),
    ]
}

#[test]
fn records_sharing_entities_are_linked_best_first() {
    let all = corpus();
    let by_id: HashMap<&str, &Arc<Record>> = all.iter().map(|r| (r.doc.id.as_str(), r)).collect();
    // 蒲江猕猴桃: the university's record shares the institution, the crop and the county.
    let related = catalogue::related(by_id["pujiang-status"], &all);
    assert_eq!(related.first().map(|r| r.record.doc.id.as_str()), Some("sicau-support"), "{related:?}");
    let first = &related[0].shared;
    assert!(first.contains(&Shared::Institution("四川农业大学".into())), "{first:?}");
    assert!(first.contains(&Shared::Crop("猕猴桃".into())), "{first:?}");
    assert!(!related.iter().any(|r| r.record.doc.id == "yaan-status"), "tea has nothing to do with it");
    // 雅安藏茶: the trend names the same enterprise.
    let related = catalogue::related(by_id["yaan-status"], &all);
    assert_eq!(related.first().map(|r| r.record.doc.id.as_str()), Some("yaan-trend"));
    assert!(related[0].shared.contains(&Shared::Enterprise("雅安市友谊茶叶有限公司".into())));
    // 眉山柑橘 and 蒲江猕猴桃 share the fruit industry and cold chains, not enough on their own
    // to outrank what shares a crop or an organisation; never itself.
    let related = catalogue::related(by_id["meishan-status"], &all);
    assert!(!related.iter().any(|r| r.record.doc.id == "meishan-status"));
}

#[test]
fn search_across_the_four_databases() {
    let all = corpus();
    let ids = |f: Filter| -> Vec<String> {
        catalogue::search(&all, &f).1.iter().map(|r| r.doc.id.clone()).collect()
    };
    assert_eq!(ids(Filter { q: "藏茶".into(), ..Default::default() }), vec!["yaan-status", "yaan-trend"]);
    assert_eq!(ids(Filter { industry: "fruit".into(), ..Default::default() }).len(), 3);
    assert_eq!(ids(Filter { db: "trends".into(), ..Default::default() }), vec!["yaan-trend"]);
    assert_eq!(
        ids(Filter { region: "5114".into(), ..Default::default() }),
        vec!["meishan-status"],
        "眉山市 contains 丹棱县"
    );
    assert_eq!(
        ids(Filter { region: "510131".into(), kind: "news".into(), ..Default::default() }),
        vec!["sicau-support"],
        "named in the text: 蒲江"
    );
    assert!(
        ids(Filter { q: "猕猴桃 藏茶".into(), ..Default::default() }).is_empty(),
        "every word must occur"
    );
    assert!(ids(Filter { region: "not-a-code".into(), ..Default::default() }).is_empty());
}

#[test]
fn the_structured_fields_add_to_what_the_text_names() {
    let fields: HashMap<String, String> = [
        ("region", "510131"),
        ("industry", "川果"),
        ("crops", "奇异果"),
        ("enterprises", "蒲江县果农专业合作社"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let e = entities::of_record("果园管理", "春季修剪。", &fields);
    assert!(e.regions.contains("510131") && e.industries.contains("fruit"));
    assert!(e.crops.contains("猕猴桃"), "奇异果 folds to 猕猴桃: {:?}", e.crops);
    assert!(e.enterprises.contains("蒲江县果农专业合作社"));
}
