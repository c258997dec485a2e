//! `yizhan demo`'s 产业信息: realistic records of both kinds and all four databases, about
//! Sichuan's industries across cities (蒲江猕猴桃, 雅安藏茶, 眉山晚熟柑橘, 苍溪红心猕猴桃, 泸州
//! 糯红高粱, 隆昌生猪 ...), each through the real pipeline: drafted by a centre's staff member,
//! submitted (the automatic checks), reviewed by a second person and signed off by a third, so
//! they are published as public documents and reach every kiosk. The county's records are the
//! county hub's; the province's are the province hub's and sync down through the county.

use std::collections::BTreeMap;

use yizhan_core::publication::StepKind;
use yizhan_core::{Actor, RegionCode, Role};
use yizhan_hub::service::publication::{self as pipeline, ItemInput};

/// People the demo adds for the second pair of eyes: (id, name, role, region).
const REVIEWERS: [(&str, &str, &str, &str); 2] =
    [("reviewer", "李审核", "staff", "510131"), ("province-reviewer", "罗审核", "staff", "51")];

/// (kind, database, title, region, industry, crops, enterprises, institutions, source, date,
/// body, IP owner)
type Record = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
);

const COUNTY_RECORDS: [Record; 5] = [
    (
        "industry.local",
        "产业现状",
        "蒲江县猕猴桃产业现状",
        "510131",
        "fruit",
        "猕猴桃、红心猕猴桃",
        "四川蒲江猕猴桃产业发展有限公司",
        "四川农业大学、蒲江县猕猴桃研究所",
        "蒲江县农业农村局",
        "2026-04-20",
        "蒲江县是全国知名的猕猴桃生产基地，全县猕猴桃种植面积约10万亩，以红心猕猴桃“红阳”“东红”为主，年产量约18万吨。\n县里依托四川农业大学和蒲江县猕猴桃研究所开展溃疡病绿色防控，四川蒲江猕猴桃产业发展有限公司牵头建设冷链仓储，带动鹤山街道、寿安街道的农户增收。",
        "蒲江县农业农村局",
    ),
    (
        "industry.local",
        "龙头企业",
        "四川蒲江猕猴桃产业发展有限公司",
        "510131",
        "fruit",
        "猕猴桃",
        "四川蒲江猕猴桃产业发展有限公司",
        "",
        "蒲江县农业农村局",
        "2026-03-15",
        "四川蒲江猕猴桃产业发展有限公司是县级农业产业化重点龙头企业，建有气调冷库3万吨、分选线4条，与全县20余个猕猴桃专业合作社签订保底收购协议，产品出口东南亚。",
        "四川蒲江猕猴桃产业发展有限公司",
    ),
    (
        "industry.local",
        "技术依托单位",
        "蒲江县猕猴桃研究所",
        "510131",
        "fruit",
        "猕猴桃",
        "",
        "蒲江县猕猴桃研究所、四川农业大学",
        "蒲江县猕猴桃研究所",
        "2026-02-28",
        "蒲江县猕猴桃研究所与四川农业大学共建猕猴桃溃疡病防控试验站，开展抗病砧木筛选、花粉直供和冬季清园技术示范，每年培训果农3000余人次。",
        "蒲江县猕猴桃研究所",
    ),
    (
        "industry.local",
        "产业现状",
        "蒲江丑柑（不知火）产业现状",
        "510131",
        "fruit",
        "柑橘、不知火、春见",
        "",
        "四川省农业科学院园艺研究所",
        "蒲江县农业农村局",
        "2026-01-10",
        "蒲江县晚熟柑橘面积约15万亩，以不知火、春见为主，西来镇、大兴镇为核心产区。县里与四川省农业科学院园艺研究所合作推广完熟栽培和避雨设施，错峰上市。",
        "蒲江县农业农村局",
    ),
    (
        "industry.news",
        "发展趋势",
        "蒲江雀舌春茶上市与茶旅融合趋势",
        "510131",
        "tea",
        "茶叶、绿茶",
        "",
        "",
        "蒲江县农业农村局",
        "2026-03-28",
        "蒲江县茶园面积约20万亩，“蒲江雀舌”春茶开采提前一周。茶旅融合成为新方向，成佳镇茶园观光带年接待游客50万人次，名优绿茶向精制加工延伸。",
        "蒲江县农业农村局",
    ),
];

const PROVINCE_RECORDS: [Record; 9] = [
    (
        "industry.local",
        "产业现状",
        "雅安藏茶产业现状",
        "5118",
        "tea",
        "藏茶、黑茶",
        "雅安市友谊茶叶有限公司",
        "四川省农业科学院茶叶研究所",
        "雅安市农业农村局",
        "2026-04-08",
        "雅安藏茶是四川黑茶的代表，名山区和雨城区茶园面积超过40万亩。四川省农业科学院茶叶研究所与雅安市友谊茶叶有限公司合作研制藏茶新工艺，雨城区藏茶专业合作社组织茶农统一采摘、统一加工。",
        "雅安市农业农村局",
    ),
    (
        "industry.local",
        "龙头企业",
        "雅安市友谊茶叶有限公司",
        "511802",
        "tea",
        "藏茶",
        "雅安市友谊茶叶有限公司",
        "",
        "雅安市农业农村局",
        "2026-02-20",
        "雅安市友谊茶叶有限公司是国家级农业产业化重点龙头企业，藏茶边销量居全省前列，带动雨城区、名山区茶农2万余户，建有藏茶文化展示馆。",
        "雅安市友谊茶叶有限公司",
    ),
    (
        "industry.local",
        "产业现状",
        "眉山晚熟柑橘产业现状",
        "511424",
        "fruit",
        "柑橘、不知火、春见",
        "眉山市丹橙现代农业发展有限公司",
        "丹棱县桔橙协会",
        "眉山市农业农村局",
        "2026-03-05",
        "眉山市东坡区、丹棱县的晚熟柑橘（不知火、春见）已成为川果的重要板块，种植面积超过80万亩。丹棱县桔橙协会联合四川省农业科学院园艺研究所推广完熟栽培，眉山市丹橙现代农业发展有限公司建成柑橘分选冷链中心。",
        "眉山市农业农村局",
    ),
    (
        "industry.local",
        "技术依托单位",
        "四川省农业科学院园艺研究所柑橘团队",
        "5114",
        "fruit",
        "柑橘",
        "",
        "四川省农业科学院园艺研究所",
        "四川省农业科学院",
        "2026-01-18",
        "四川省农业科学院园艺研究所柑橘团队在眉山、蒲江建立晚熟柑橘示范基地，重点研究黄龙病防控、无病毒苗木繁育和留树保鲜技术。",
        "四川省农业科学院园艺研究所",
    ),
    (
        "industry.news",
        "发展趋势",
        "全省晚熟柑橘错季上市与冷链物流趋势",
        "51",
        "fruit",
        "柑橘",
        "",
        "",
        "四川省农业农村厅",
        "2026-04-01",
        "全省晚熟柑橘上市期延至6月，眉山、蒲江、资阳等产区的冷链仓储能力持续提升。预计未来三年产地冷藏保鲜设施将覆盖主要产区，分选包装和电商直供比例进一步提高。",
        "四川省农业农村厅",
    ),
    (
        "industry.local",
        "产业现状",
        "苍溪红心猕猴桃产业现状",
        "510824",
        "fruit",
        "红心猕猴桃、猕猴桃",
        "",
        "四川农业大学",
        "广元市农业农村局",
        "2026-02-10",
        "苍溪县是红心猕猴桃的原产地之一，种植面积约39万亩。县里与四川农业大学合作建立猕猴桃种质资源圃，推广溃疡病综合防控和标准化果园建设。",
        "广元市农业农村局",
    ),
    (
        "industry.news",
        "技术依托单位",
        "四川农业大学猕猴桃团队服务全省产区",
        "51",
        "fruit",
        "猕猴桃",
        "",
        "四川农业大学",
        "四川省农业农村厅",
        "2026-05-06",
        "四川农业大学园艺学院猕猴桃团队在蒲江、都江堰、苍溪建立示范园，推广溃疡病综合防控技术，选育的新品种在省内多个产区试种。",
        "四川农业大学",
    ),
    (
        "industry.local",
        "龙头企业",
        "泸州糯红高粱订单种植",
        "510525",
        "liquor_material",
        "高粱、糯高粱",
        "泸州老窖股份有限公司",
        "",
        "泸州市农业农村局",
        "2026-03-20",
        "古蔺县、泸县推广糯红高粱订单种植，泸州老窖股份有限公司与种植专业合作社签订收购协议，建设有机高粱基地，保障川酒酿酒原料供应。",
        "泸州市农业农村局",
    ),
    (
        "industry.news",
        "产业现状",
        "全省生猪产能稳定与隆昌生猪调出大县",
        "51",
        "pig",
        "生猪",
        "",
        "",
        "四川省农业农村厅",
        "2026-04-15",
        "全省生猪出栏保持稳定，隆昌市、荣县等生猪调出大县推广标准化规模养殖和粪污资源化利用，能繁母猪存栏保持在合理区间。",
        "四川省农业农村厅",
    ),
];

fn actor(id: &str, name: &str, role: Role, region: &str) -> anyhow::Result<Actor> {
    Ok(Actor { person_id: id.into(), name: name.into(), role, region: RegionCode::parse(region)? })
}

fn input(r: &Record) -> ItemInput {
    let (kind, db, title, region, industry, crops, enterprises, institutions, source, date, body, owner) = *r;
    let fields: BTreeMap<String, String> = [
        ("database", db),
        ("region", region),
        ("industry", industry),
        ("crops", crops),
        ("enterprises", enterprises),
        ("institutions", institutions),
        ("source", source),
        ("date", date),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    ItemInput { kind: kind.into(), title: title.into(), body: body.into(), fields, ip_owner: owner.into() }
}

/// Drafts, submits, reviews and signs off `records` at `hub` with three different people.
async fn publish(
    hub: &yizhan_hub::Hub,
    records: &[Record],
    (author, reviewer, signer): (&Actor, &Actor, &Actor),
) -> anyhow::Result<usize> {
    let mut n = 0;
    for r in records {
        let id = pipeline::create_item(hub, author, input(r))
            .await
            .map_err(|e| anyhow::anyhow!("{}: {}", r.2, e.message_zh()))?;
        for (who, step) in
            [(author, StepKind::Submit), (reviewer, StepKind::Review), (signer, StepKind::SignOff)]
        {
            pipeline::take_step(hub, who, &id, step, "")
                .await
                .map_err(|e| anyhow::anyhow!("{} {}: {}", r.2, step.code(), e.message_zh()))?;
        }
        n += 1;
    }
    Ok(n)
}

/// Seeds the records once (a demo restarted on the same data finds them).
pub async fn seed(province: &yizhan_hub::Hub, county: &yizhan_hub::Hub) -> anyhow::Result<usize> {
    for (hub, (id, name, role, region)) in [(county, REVIEWERS[0]), (province, REVIEWERS[1])] {
        let np = yizhan_core::NewPerson {
            id: id.into(),
            name: name.into(),
            role: role.into(),
            region_code: region.into(),
            ..Default::default()
        };
        match hub.accounts.create_person(&np, Some(crate::demo::DEMO_PASSWORD)).await {
            Ok(_) | Err(yizhan_accounts::AccountError::Exists(_)) => {}
            Err(e) => anyhow::bail!("creating demo person {id}: {e}"),
        }
    }
    let seeded = county
        .store
        .call(|db| {
            Ok(db.all_publications()?.iter().any(|r| r.kind.starts_with(yizhan_industry::KIND_PREFIX)))
        })
        .await?;
    if seeded {
        return Ok(0);
    }
    let c = (
        &actor("staff", "张敏", Role::Staff, "510131")?,
        &actor("reviewer", "李审核", Role::Staff, "510131")?,
        &actor("admin", "蒲江县管理员", Role::Admin, "510131")?,
    );
    let p = (
        &actor("province-staff", "黄运营", Role::Staff, "51")?,
        &actor("province-reviewer", "罗审核", Role::Staff, "51")?,
        &actor("province-admin", "省管理员", Role::Admin, "51")?,
    );
    Ok(publish(county, &COUNTY_RECORDS, c).await? + publish(province, &PROVINCE_RECORDS, p).await?)
}

/// The people the demo adds, for its printed list of accounts.
pub fn people() -> impl Iterator<Item = (&'static str, &'static str, &'static str, &'static str)> {
    REVIEWERS.into_iter()
}
