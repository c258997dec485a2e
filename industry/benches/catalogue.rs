//! What 产业信息's on-demand catalogue costs: entity extraction per record (done once per record
//! and process, then cached), a search over all records, and 相关信息 of one record, for 1,000
//! records (the plan's target of industry information items) and 5,000 (the catalogue's bound,
//! `RECORDS_MAX`). Records are realistic texts varied by region, crop and organisation.
//! `cargo bench -p yizhan-industry --bench catalogue` prints the figures.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Instant;

use yizhan_core::published::{PublicField, PublishedDoc};
use yizhan_industry::catalogue::{self, Filter, Record};

const PLACES: [(&str, &str); 6] = [
    ("510131", "蒲江县"),
    ("511802", "雨城区"),
    ("511424", "丹棱县"),
    ("510824", "苍溪县"),
    ("510525", "古蔺县"),
    ("511083", "隆昌市"),
];
const CROPS: [(&str, &str); 6] = [
    ("fruit", "猕猴桃"),
    ("tea", "藏茶"),
    ("fruit", "柑橘"),
    ("liquor_material", "高粱"),
    ("pig", "生猪"),
    ("vegetable", "辣椒"),
];

fn doc(n: usize) -> PublishedDoc {
    let (region, place) = PLACES[n % PLACES.len()];
    let (industry, crop) = CROPS[(n / 7) % CROPS.len()];
    let body = format!(
        "{place}{crop}种植面积稳步增长，第{n}号示范基地依托四川农业大学和{place}{crop}研究所开展绿色防控，\
         四川{place}{crop}产业发展有限公司牵头建设冷链仓储，带动{place}{crop}专业合作社和农户增收。\
         全县推广标准化生产、品牌营销和电商直供，预计明年产值再增一成。"
    );
    let field = |k: &str, v: &str| PublicField { key: k.into(), label: k.into(), value: v.into() };
    PublishedDoc {
        doc_type: "published".into(),
        schema: 1,
        id: format!("pub-{n}"),
        item_id: format!("item-{n}"),
        kind: if n.is_multiple_of(2) { "industry.local" } else { "industry.news" }.into(),
        kind_name: String::new(),
        centre: "51".into(),
        title: format!("{place}{crop}产业现状（{n}）"),
        body,
        fields: vec![
            field("database", ["产业现状", "龙头企业", "技术依托单位", "发展趋势"][n % 4]),
            field("region", region),
            field("industry", industry),
            field("crops", crop),
            field("date", "2026-05-01"),
        ],
        attachments: Default::default(),
        ip_owner: format!("{place}农业农村局"),
        reviewed_by: String::new(),
        signed_off_by: String::new(),
        published_at_ms: n as i64,
        publisher: "hub".into(),
        withdrawals: Default::default(),
    }
}

fn percentile(mut v: Vec<f64>, p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    // The jieba dictionary and the region index load once per process: not counted.
    let _ = Record::from_doc(doc(0));
    for n in [1_000usize, 5_000] {
        let docs: Vec<PublishedDoc> = (0..n).map(doc).collect();
        let t = Instant::now();
        let all: Vec<Arc<Record>> = docs.into_iter().map(|d| Arc::new(Record::from_doc(d))).collect();
        let extract_ms = t.elapsed().as_secs_f64() * 1000.0;
        let filters = [
            Filter { q: "猕猴桃 冷链".into(), ..Default::default() },
            Filter { industry: "tea".into(), region: "5118".into(), ..Default::default() },
            Filter { db: "leaders".into(), kind: "news".into(), ..Default::default() },
        ];
        let mut search = Vec::new();
        for i in 0..60 {
            let t = Instant::now();
            let (total, _) = catalogue::search(&all, &filters[i % filters.len()]);
            search.push(t.elapsed().as_secs_f64() * 1000.0);
            assert!(total > 0);
        }
        let mut related = Vec::new();
        for i in 0..60 {
            let t = Instant::now();
            let r = catalogue::related(&all[(i * 37) % n], &all);
            related.push(t.elapsed().as_secs_f64() * 1000.0);
            assert!(!r.is_empty());
        }
        println!(
            "{n} records: extraction {extract_ms:.0} ms in all ({:.2} ms per record, once per process); \
             search p50 {:.2} ms p99 {:.2} ms; 相关信息 p50 {:.2} ms p99 {:.2} ms",
            extract_ms / n as f64,
            percentile(search.clone(), 0.5),
            percentile(search, 0.99),
            percentile(related.clone(), 0.5),
            percentile(related, 0.99),
        );
    }
}
