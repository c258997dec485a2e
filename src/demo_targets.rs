//! The demo's targets (指标): the plan's 2025 goals at the province hub, set by the province's
//! administrator, and 蒲江县's own goals at its county hub, set by the county's administrator,
//! both through the hub's service as the 指标 page sets them. Set once: a later start keeps
//! what people changed.

use yizhan_core::targets::{Metric, TargetDoc};
use yizhan_core::{Actor, RegionCode, Role};

fn admin(id: &str, region: &str) -> anyhow::Result<Actor> {
    Ok(Actor { person_id: id.into(), name: id.into(), role: Role::Admin, region: RegionCode::parse(region)? })
}

async fn set_once(hub: &yizhan_hub::Hub, actor: &Actor, year: i64, goals: [i64; 6]) -> anyhow::Result<()> {
    let id = TargetDoc::id_for(actor.region.as_str());
    if hub.store.call(move |db| db.doc_type(&id)).await?.is_none() {
        yizhan_hub::service::targets::set_targets(hub, actor, year, goals)
            .await
            .map_err(|e| anyhow::anyhow!("demo targets: {}", e.message_zh()))?;
    }
    Ok(())
}

/// Sets the province's and the county's goals (once).
pub async fn seed(
    province: &yizhan_hub::Hub,
    county: &yizhan_hub::Hub,
    county_scope: &str,
) -> anyhow::Result<()> {
    let plan = TargetDoc::plan_2025("", 0);
    let goals = Metric::ALL.map(|m| plan.goal(m));
    set_once(province, &admin("province-admin", "51")?, plan.year, goals).await?;
    // One county's share: 1 centre, 160 experts, 330 officers, 5,500 consultations, 10 and 6 items.
    set_once(county, &admin("admin", county_scope)?, 2026, [1, 160, 330, 5_500, 10, 6]).await?;
    Ok(())
}
