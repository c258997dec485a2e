//! The demo's 供销对接 and 成果转化: farmers' offers and requests recorded by the two villages'
//! officers, a cooperative's listing by the county centre, one listing already expired;
//! achievements and a technology demand; bounties on the board, one claimed by two experts
//! with one picked, one with a single claim, one open. Everything goes through the real
//! pipeline (drafted, reviewed by staff, signed off by an administrator, so published) and the
//! real claim rules, once: a later start finds the seeded marker.

use std::collections::BTreeMap;

use yizhan_core::publication::StepKind;
use yizhan_core::{Actor, RegionCode, Role, holidays};
use yizhan_hub::Hub;
use yizhan_hub::service::{market, publication as pipeline};

/// (station, kind, title, body, fields, IP owner) of a farmer's listing.
type StationListing<'a> = (usize, &'a str, &'a str, &'a str, &'a [(&'a str, &'a str)], &'a str);

/// The county store's setting that says the demo's market content exists.
const SEEDED: &str = "demo_market_seeded";

fn actor(id: &str, name: &str, role: Role, region: &str) -> anyhow::Result<Actor> {
    Ok(Actor { person_id: id.into(), name: name.into(), role, region: RegionCode::parse(region)? })
}

fn fields(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// A local date `days` from `now_ms`.
fn day(now_ms: i64, days: i64) -> String {
    holidays::format_day(holidays::local_day(now_ms) + days)
}

/// Reviews (by `reviewer`) and signs off (by `signer`) an item waiting for review.
async fn review_and_sign(hub: &Hub, id: &str, reviewer: &Actor, signer: &Actor) -> anyhow::Result<()> {
    pipeline::take_step(hub, reviewer, id, StepKind::Review, "演示数据：审核通过")
        .await
        .map_err(|e| anyhow::anyhow!("{id}: review: {}", e.message_zh()))?;
    pipeline::take_step(hub, signer, id, StepKind::SignOff, "同意发布")
        .await
        .map_err(|e| anyhow::anyhow!("{id}: sign-off: {}", e.message_zh()))?;
    Ok(())
}

/// Drafts, submits, reviews and signs off a centre's item; returns the public id.
#[allow(clippy::too_many_arguments)]
async fn publish(
    hub: &Hub,
    (author, reviewer, signer): (&Actor, &Actor, &Actor),
    kind: &str,
    title: &str,
    body: &str,
    f: &[(&str, &str)],
    ip_owner: &str,
) -> anyhow::Result<String> {
    let input = pipeline::ItemInput {
        kind: kind.into(),
        title: title.into(),
        body: body.into(),
        fields: fields(f),
        ip_owner: ip_owner.into(),
    };
    let id = pipeline::create_item(hub, author, input)
        .await
        .map_err(|e| anyhow::anyhow!("{title}: {}", e.message_zh()))?;
    pipeline::take_step(hub, author, &id, StepKind::Submit, "")
        .await
        .map_err(|e| anyhow::anyhow!("{title}: {}", e.message_zh()))?;
    review_and_sign(hub, &id, reviewer, signer).await?;
    Ok(yizhan_core::published::PublishedDoc::id_for(&id))
}

/// Seeds the county (and the province's achievements); returns how many items were published.
pub async fn seed(
    province: &Hub,
    county: &Hub,
    county_scope: &str,
    kiosks: &[(&str, &str)],
    now_ms: i64,
) -> anyhow::Result<usize> {
    if county.store.call(|db| db.setting(SEEDED)).await?.is_some() {
        return Ok(0);
    }
    let staff = actor("staff", "张敏", Role::Staff, county_scope)?;
    let admin = actor("admin", "蒲江县管理员", Role::Admin, county_scope)?;
    let county_people = (&staff, &staff, &admin);
    let mut published = 0;

    // Farmers' listings, as the officers record them at the stations (drafted and checked
    // there, then reviewed and signed off by the county).
    let officers = [("officer-1", "刘信息员"), ("officer-2", "周信息员")];
    let station: [StationListing<'_>; 4] = [
        (
            0,
            yizhan_supply::OFFER,
            "丑柑 8000 斤，可分批采摘",
            "果园在公路边，可分批采摘装车，糖度 13 以上。",
            &[
                ("product", "丑柑"),
                ("industry", "fruit"),
                ("quantity", "8000"),
                ("unit", "斤"),
                ("price_fen", "380"),
                ("valid_from", &day(now_ms, -5)),
                ("valid_to", &day(now_ms, 60)),
            ],
            "示范村种植户（经驿站登记）",
        ),
        (
            0,
            yizhan_supply::DEMAND,
            "求购有机肥 20 吨",
            "用于柑橘园春季施肥，需送货到村。",
            &[
                ("product", "商品有机肥"),
                ("industry", "fruit"),
                ("quantity", "20"),
                ("unit", "吨"),
                ("valid_to", &day(now_ms, 30)),
            ],
            "示范村种植户（经驿站登记）",
        ),
        (
            1,
            yizhan_supply::OFFER,
            "明前雀舌 300 斤",
            "高山茶园，手工采摘，可提供检测报告。",
            &[
                ("product", "雀舌绿茶"),
                ("industry", "tea"),
                ("quantity", "300"),
                ("unit", "斤"),
                ("valid_from", &day(now_ms, 0)),
                ("valid_to", &day(now_ms, 90)),
            ],
            "示范村茶农（经驿站登记）",
        ),
        (
            1,
            yizhan_supply::OFFER,
            "猕猴桃 2000 斤（已售完）",
            "去年的供货信息，已过期。",
            &[
                ("product", "猕猴桃"),
                ("industry", "fruit"),
                ("quantity", "2000"),
                ("unit", "斤"),
                ("price_fen", "450"),
                ("valid_from", &day(now_ms, -60)),
                ("valid_to", &day(now_ms, -10)),
            ],
            "示范村种植户（经驿站登记）",
        ),
    ];
    for (i, (k, kind, title, body, f, owner)) in station.iter().enumerate() {
        let (node, village) = kiosks[*k];
        let (officer_id, officer_name) = officers[*k];
        let draft = yizhan_supply::StationDraft {
            kind: (*kind).into(),
            title: (*title).into(),
            body: (*body).into(),
            fields: fields(f),
            ip_owner: (*owner).into(),
        };
        let id = format!("item-demo-station-{i}");
        // Recorded as the station records it; here written at the county, where it would arrive.
        let (_, mut doc) =
            yizhan_supply::station_draft(&draft, village, (officer_id, officer_name), node, &id, now_ms)
                .map_err(|e| anyhow::anyhow!("{title}: {e}"))?;
        let id2 = id.clone();
        county.store.call(move |db| db.create_doc(&id2, yizhan_core::item::DOC_TYPE, &mut doc)).await?;
        review_and_sign(county, &id, &staff, &admin).await?;
        published += 1;
    }
    publish(
        county,
        county_people,
        yizhan_supply::OFFER,
        "蒲江县某柑橘专业合作社：春见 50 吨",
        "合作社统一分级包装，可签订单。",
        &[
            ("product", "春见耙耙柑"),
            ("industry", "fruit"),
            ("quantity", "50"),
            ("unit", "吨"),
            ("valid_from", &day(now_ms, 0)),
            ("valid_to", &day(now_ms, 45)),
            ("place", "蒲江县某柑橘专业合作社"),
        ],
        "蒲江县某柑橘专业合作社",
    )
    .await?;
    publish(
        county,
        county_people,
        yizhan_supply::DEMAND,
        "求购冷链运输服务",
        "每周两车，成都方向，需冷藏车。",
        &[
            ("product", "冷链运输"),
            ("industry", "drying_cold_chain"),
            ("valid_to", &day(now_ms, 20)),
            ("place", "蒲江县某农业公司"),
        ],
        "蒲江县某农业公司",
    )
    .await?;
    published += 2;

    // 成果转化: the province's achievements, the county's demand and bounties.
    let p_staff = actor("province-staff", "黄运营", Role::Staff, "51")?;
    let p_admin = actor("province-admin", "省管理员", Role::Admin, "51")?;
    let province_people = (&p_staff, &p_staff, &p_admin);
    publish(
        province,
        province_people,
        yizhan_achievements::ACHIEVEMENT,
        "柑橘黄龙病快速检测试剂盒",
        "田间 30 分钟出结果，适合基层农技站使用。",
        &[("holder", "某农业大学"), ("industry", "fruit"), ("maturity", "中试"), ("transfer_mode", "许可")],
        "某农业大学",
    )
    .await?;
    publish(
        province,
        province_people,
        yizhan_achievements::ACHIEVEMENT,
        "茶叶连续化清洁加工生产线",
        "已在三个县推广，能耗降低二成。",
        &[
            ("holder", "某茶叶研究所"),
            ("industry", "tea"),
            ("maturity", "产业化"),
            ("transfer_mode", "技术服务"),
        ],
        "某茶叶研究所",
    )
    .await?;
    publish(
        county,
        county_people,
        yizhan_achievements::DEMAND,
        "丘陵果园轻简化施肥技术需求",
        "坡地果园人工施肥成本高，寻求轻简化方案。",
        &[
            ("demander", "蒲江县某家庭农场"),
            ("industry", "fruit"),
            ("budget_fen", "3000000"),
            ("deadline", &day(now_ms, 120)),
        ],
        "蒲江县某家庭农场",
    )
    .await?;
    let picked_bounty = publish(
        county,
        county_people,
        yizhan_achievements::BOUNTY,
        "柑橘园水肥一体化改造方案",
        "200 亩柑橘园，需设计滴灌与施肥方案并现场指导。",
        &[
            ("demander", "蒲江县某柑橘专业合作社"),
            ("industry", "fruit"),
            ("reward_fen", "5000000"),
            ("deadline", &day(now_ms, 40)),
        ],
        "蒲江县某柑橘专业合作社",
    )
    .await?;
    let open_bounty = publish(
        county,
        county_people,
        yizhan_achievements::BOUNTY,
        "茶园病虫害绿色防控技术指导",
        "300 亩茶园，减少化学农药使用。",
        &[
            ("demander", "蒲江县某茶业公司"),
            ("industry", "tea"),
            ("reward_fen", "2000000"),
            ("deadline", &day(now_ms, 60)),
        ],
        "蒲江县某茶业公司",
    )
    .await?;
    publish(
        province,
        province_people,
        yizhan_achievements::BOUNTY,
        "生猪养殖粪污资源化利用",
        "年出栏万头猪场，寻求粪污处理与还田方案。",
        &[
            ("demander", "某生猪养殖企业"),
            ("industry", "pig"),
            ("reward_fen", "10000000"),
            ("deadline", &day(now_ms, 90)),
        ],
        "某生猪养殖企业",
    )
    .await?;
    published += 6;

    let claim = |id: &'static str, name: &'static str, bounty: String, proposal: &'static str| {
        let county = county.clone();
        let scope = county_scope.to_string();
        async move {
            let a = actor(id, name, Role::Expert, &scope)?;
            market::claim_bounty(&county, &a, &bounty, proposal)
                .await
                .map_err(|e| anyhow::anyhow!("claim {id}: {}", e.message_zh()))
        }
    };
    let picked = claim(
        "expert-fruit",
        "李果",
        picked_bounty.clone(),
        "先测土配方，再按树龄分区设计滴灌，三次现场指导。",
    )
    .await?;
    claim("expert-veg", "陈蔬", picked_bounty, "提供水肥一体化设备选型与安装指导。").await?;
    claim("expert-tea", "王春茶", open_bounty, "推广灯诱、色板与生物农药，建立虫情监测点。").await?;
    market::decide(county, &staff, &picked, false)
        .await
        .map_err(|e| anyhow::anyhow!("pick: {}", e.message_zh()))?;

    county.store.call(|db| db.set_setting(SEEDED, "1")).await?;
    Ok(published)
}
