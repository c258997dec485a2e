//! The demo's circuit breaker (安全熔断): the province's small sensitive-word list (neutral
//! placeholder words) with its submission limits, and one takedown of a published item by the
//! province's staff, lifted again, so both are in the province's audit trail. Through the
//! hub's service as the 安全熔断 page does it; once (a later start keeps what people changed).

use yizhan_core::{Actor, RegionCode, Role};
use yizhan_hub::service::breaker::{self, Request};

/// The demo's words: placeholders, never real terms.
pub const WORDS: &str = "违禁词示例\n假种子\n包治百病";

fn province_person(id: &str, role: Role) -> anyhow::Result<Actor> {
    Ok(Actor { person_id: id.into(), name: id.into(), role, region: RegionCode::parse("51")? })
}

/// Sets the list and makes one lifted takedown at the province (once each).
pub async fn seed(province: &yizhan_hub::Hub) -> anyhow::Result<()> {
    let words = yizhan_core::sensitive::DOC_ID;
    let err = |e: yizhan_hub::service::ServiceError| anyhow::anyhow!("demo breaker: {}", e.message_zh());
    if province.store.call(move |db| db.doc_type(words)).await?.is_none() {
        let admin = province_person("province-admin", Role::Admin)?;
        breaker::set_words(province, &admin, WORDS, 20, 100).await.map_err(err)?;
    }
    let staff = province_person("province-staff", Role::Staff)?;
    // A demo takedown left unlifted by an interrupted start is lifted now.
    for t in province.store.call(|db| db.takedowns("51", 10)).await? {
        if !t.lifted && t.reason.starts_with("演示") {
            breaker::lift(province, &staff, &t.id, "演示：复核无问题，恢复展示").await.map_err(err)?;
        }
    }
    if province.store.call(|db| db.takedowns("51", 1)).await?.is_empty()
        && let Some(item) = province.store.call(|db| db.public_items(1)).await?.into_iter().next()
    {
        let id =
            breaker::take_down(province, &staff, Request::Item(item.id), "演示：疑似夸大宣传，先行下线复核")
                .await
                .map_err(err)?;
        breaker::lift(province, &staff, &id, "演示：复核无问题，恢复展示").await.map_err(err)?;
    }
    Ok(())
}
