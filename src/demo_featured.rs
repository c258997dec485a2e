//! The demo's 特派员风采 featured experts: the county centre's staff member (张敏) picks two of
//! 蒲江县's experts through the hub's service as the showcase page's button does, after the
//! year of history, so their figures are the rollups'; the list flows down to the kiosks. Done
//! once: a later start keeps what people changed (it only refreshes the figures).

use yizhan_core::showcase::ShowcaseDoc;
use yizhan_core::{Actor, RegionCode, Role};
use yizhan_hub::service::showcase::{Change, set_featured};

/// The experts the demo features.
pub const FEATURED: [&str; 2] = ["expert-fruit", "expert-tea"];

pub async fn seed(county: &yizhan_hub::Hub, county_scope: &str) -> anyhow::Result<()> {
    let staff = Actor {
        person_id: "staff".into(),
        name: "张敏".into(),
        role: Role::Staff,
        region: RegionCode::parse(county_scope)?,
    };
    let id = ShowcaseDoc::id_for(county_scope);
    let fail =
        |e: yizhan_hub::service::ServiceError| anyhow::anyhow!("demo featured experts: {}", e.message_zh());
    if county.store.call(move |db| db.doc_type(&id)).await?.is_some() {
        return set_featured(county, &staff, "", Change::Refresh).await.map_err(fail);
    }
    for expert in FEATURED {
        set_featured(county, &staff, expert, Change::Feature).await.map_err(fail)?;
    }
    Ok(())
}
