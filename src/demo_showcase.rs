//! The demo's 农村双创平台: eight platforms of the four kinds in six cities, registered by the
//! province centre and taken through the real pipeline (drafted, submitted, reviewed and signed
//! off by three different people), so every node's `/innovation` map shows them and industry
//! records and bounties suggest the nearest ones. Seeded once: a later start finds them.

use std::collections::BTreeMap;

use yizhan_core::publication::StepKind;
use yizhan_core::{Actor, RegionCode, Role};
use yizhan_hub::service::publication as pipeline;

/// (name, type, level, region, longitude, latitude, industries, operator, phone, description).
type Platform = (
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

/// Plausible places: each at its county's seat (the maps' centre point).
pub const PLATFORMS: [Platform; 8] = [
    (
        "蒲江县猕猴桃星创天地",
        "xingchuang",
        "national",
        "510131",
        "103.5065",
        "30.1968",
        "fruit,tea",
        "蒲江县农业科技服务中心",
        "028-88551234",
        "面向猕猴桃、柑橘和茶叶种植户的创业服务：技术培训、电商孵化、品种示范园。",
    ),
    (
        "邛崃市天府现代种业园",
        "park",
        "provincial",
        "510183",
        "103.4642",
        "30.4103",
        "seed,grain_oil",
        "邛崃市种业发展有限公司",
        "028-88771234",
        "水稻、油菜新品种选育与制种基地，开展种业企业孵化和品种展示。",
    ),
    (
        "雅安市名山区茶产业科技园区",
        "park",
        "national",
        "511803",
        "103.1092",
        "30.0700",
        "tea",
        "名山区茶业发展中心",
        "0835-3221234",
        "蒙顶山茶核心产区的茶树良种繁育、加工技术示范和茶旅融合项目。",
    ),
    (
        "眉山市东坡区泡菜产业孵化器",
        "incubator",
        "provincial",
        "511402",
        "103.8319",
        "30.0423",
        "vegetable,drying_cold_chain",
        "东坡区泡菜产业园管委会",
        "028-38101234",
        "孵化泡菜加工与冷链物流企业，提供中试车间、检测和品牌服务。",
    ),
    (
        "宜宾市翠屏区早茶众创空间",
        "zhongchuang",
        "city",
        "511502",
        "104.6200",
        "28.7657",
        "tea",
        "翠屏区早茶产业协会",
        "0831-8221234",
        "早茶青年创业者的共享加工车间、直播电商和茶园管理培训。",
    ),
    (
        "苍溪县红心猕猴桃星创天地",
        "xingchuang",
        "provincial",
        "510824",
        "105.9348",
        "31.7317",
        "fruit",
        "苍溪县猕猴桃产业发展局",
        "0839-5221234",
        "红心猕猴桃溃疡病防控、苗木繁育和采后贮藏技术服务。",
    ),
    (
        "西昌市高原特色农业科技园区",
        "park",
        "provincial",
        "513401",
        "102.2645",
        "27.8945",
        "vegetable,fruit",
        "西昌市现代农业园区管理中心",
        "0834-3221234",
        "安宁河谷冬春蔬菜和石榴、葡萄的科技示范与新型经营主体孵化。",
    ),
    (
        "西充县有机农业众创空间",
        "zhongchuang",
        "city",
        "511325",
        "105.9009",
        "30.9957",
        "grain_oil,pig",
        "西充县有机农业协会",
        "0817-4221234",
        "有机粮油与生态养殖的创业孵化，提供认证辅导和产销对接。",
    ),
];

fn actor(id: &str, name: &str, role: Role) -> anyhow::Result<Actor> {
    Ok(Actor { person_id: id.into(), name: name.into(), role, region: RegionCode::parse("51")? })
}

/// Publishes the platforms at the province once; returns how many were published now.
pub async fn seed(province: &yizhan_hub::Hub) -> anyhow::Result<usize> {
    let kind = yizhan_achievements::PLATFORM;
    let seeded =
        province.store.call(move |db| Ok(db.all_publications()?.iter().any(|r| r.kind == kind))).await?;
    if seeded {
        return Ok(0);
    }
    let author = actor("province-staff", "黄运营", Role::Staff)?;
    let reviewer = actor("province-reviewer", "罗审核", Role::Staff)?;
    let signer = actor("province-admin", "省管理员", Role::Admin)?;
    for (name, ty, level, region, lon, lat, industries, operator, phone, body) in PLATFORMS {
        let fields: BTreeMap<String, String> = [
            ("platform_type", ty),
            ("level", level),
            ("region", region),
            ("longitude", lon),
            ("latitude", lat),
            ("industries", industries),
            ("operator", operator),
            ("org_phone", phone),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let input = pipeline::ItemInput {
            kind: kind.into(),
            title: name.into(),
            body: body.into(),
            fields,
            ip_owner: operator.into(),
        };
        let id = pipeline::create_item(province, &author, input)
            .await
            .map_err(|e| anyhow::anyhow!("{name}: {}", e.message_zh()))?;
        for (who, step) in
            [(&author, StepKind::Submit), (&reviewer, StepKind::Review), (&signer, StepKind::SignOff)]
        {
            pipeline::take_step(province, who, &id, step, "")
                .await
                .map_err(|e| anyhow::anyhow!("{name} {}: {}", step.code(), e.message_zh()))?;
        }
    }
    Ok(PLATFORMS.len())
}
