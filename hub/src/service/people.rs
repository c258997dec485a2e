//! People of a centre, for its administrator: the list with lockouts, spreadsheet import,
//! corrections of one person, access stopped or restored, passwords reset, lockouts lifted.
//! Every function checks that the actor administers the centre and, for one person, that she
//! lies within the administrator's region.

use std::collections::HashMap;

use yizhan_core::{Actor, CentreAction, Denied, NewPerson, Person, Role};
use yizhan_store::PeopleFilter;

use super::ServiceError;
use super::admin::require;
use crate::Hub;

/// People listed on the people page.
const PEOPLE_SHOWN: u32 = 500;

/// The people of the administrator's region, and who of them is locked out (until when).
pub async fn list(hub: &Hub, actor: &Actor) -> Result<(Vec<Person>, HashMap<String, i64>), ServiceError> {
    require(hub, actor, CentreAction::Administer)?;
    let filter =
        PeopleFilter { region: Some(actor.region.to_string()), limit: PEOPLE_SHOWN, ..Default::default() };
    let people = hub.store.call(move |db| db.find_people(&filter)).await?;
    let locked = hub.accounts.lockouts().await?;
    Ok((people, locked))
}

/// Imports a people file: returns how many rows were stored and the row errors, by row.
pub async fn import(
    hub: &Hub,
    actor: &Actor,
    file_name: &str,
    bytes: &[u8],
) -> Result<(usize, Vec<(usize, String)>), ServiceError> {
    require(hub, actor, CentreAction::Administer)?;
    let parsed =
        yizhan_records::parse_people(bytes, file_name).map_err(|e| ServiceError::Invalid(e.message_zh()))?;
    let (created, mut errors) = crate::export::import(hub, actor, parsed).await?;
    errors.sort_by_key(|e| e.0);
    Ok((created, errors))
}

/// The person `id` if the administrator may manage her (within the administrator's region).
pub async fn managed(hub: &Hub, actor: &Actor, id: &str) -> Result<Person, ServiceError> {
    require(hub, actor, CentreAction::Administer)?;
    let pid = id.to_string();
    let p = hub.store.call(move |db| db.person(&pid)).await?.ok_or(ServiceError::NotFound("人员不存在"))?;
    if !actor.covers(&p.region_code) {
        return Err(Denied::OutOfRegion.into());
    }
    Ok(p)
}

/// Saves an administrator's correction of one person (name, region, fields, availability,
/// title, phone; the id and role stay); nothing changes when any field is bad.
pub async fn save(
    hub: &Hub,
    actor: &Actor,
    id: &str,
    fields: &[(String, String)],
) -> Result<(), ServiceError> {
    let p = managed(hub, actor, id).await?;
    let field = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.trim().to_string());
    let expert = p.role() == Some(Role::Expert);
    let np = NewPerson {
        id: p.id.clone(),
        role: p.role.clone(),
        name: field("name").unwrap_or_default(),
        region_code: field("region_code").unwrap_or_default(),
        industries: if expert {
            fields.iter().filter(|(n, _)| n == "industry").map(|(_, v)| v.clone()).collect()
        } else {
            p.industries.clone()
        },
        specialities: if expert {
            field("specialities")
                .unwrap_or_default()
                .split(['、', ',', '，', ';', '；'])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        } else {
            p.specialities.clone()
        },
        availability: if expert { field("availability").unwrap_or_default() } else { p.availability.clone() },
        title: if expert { field("title").unwrap_or_default() } else { p.title.clone() },
        phone: field("phone").unwrap_or_default(),
    };
    if !actor.covers(&np.region_code) {
        return Err(ServiceError::Invalid("地区不在您的管辖范围内".into()));
    }
    let now = hub.store.config().clock.now_ms();
    crate::export::store_person(hub, &np, now).await.map_err(ServiceError::Invalid)?;
    if expert {
        hub.directory.invalidate();
    }
    tracing::info!(person = %p.id, by = %actor.person_id, "person edited");
    Ok(())
}

/// Stops (or restores) a person's access: an inactive person cannot sign in, her sessions end,
/// and she is no longer suggested or assignable.
pub async fn set_active(hub: &Hub, actor: &Actor, id: &str, active: bool) -> Result<(), ServiceError> {
    let p = managed(hub, actor, id).await?;
    if p.id == actor.person_id {
        return Err(ServiceError::Invalid("不能停用自己的账号".into()));
    }
    let now = hub.store.config().clock.now_ms();
    let doc_id = Person::doc_id(&p.id);
    hub.store
        .call(move |db| {
            db.update_doc(&doc_id, |doc| -> Result<(), yizhan_core::PersonError> {
                let mut p = Person::from_doc(doc)?;
                if p.active != active {
                    p.active = active;
                    p.updated_at_ms = now;
                    p.update_doc(doc)?;
                }
                Ok(())
            })
        })
        .await?
        .map_err(|e| ServiceError::Invalid(e.message_zh()))?;
    if !active {
        let _ = hub.accounts.sign_out_everywhere(&p.id).await;
    }
    hub.directory.invalidate();
    tracing::info!(person = %p.id, active, by = %actor.person_id, "person access changed");
    Ok(())
}

/// Sets a new password for a person (she changes it after signing in).
pub async fn reset_password(hub: &Hub, actor: &Actor, id: &str, password: &str) -> Result<(), ServiceError> {
    let p = managed(hub, actor, id).await?;
    hub.accounts.set_password(&p.id, password).await.map_err(|e| ServiceError::Invalid(e.message_zh()))?;
    // The administrator gave her the new password: the old failures no longer count.
    hub.accounts.clear_lockout(&p.id).await?;
    tracing::info!(person = %p.id, by = %actor.person_id, "password reset");
    Ok(())
}

/// Lifts a person's lockout on this hub (she called the centre, who checked it is her).
pub async fn unlock(hub: &Hub, actor: &Actor, id: &str) -> Result<(), ServiceError> {
    let p = managed(hub, actor, id).await?;
    hub.accounts.clear_lockout(&p.id).await?;
    tracing::info!(person = %p.id, by = %actor.person_id, "lockout lifted");
    Ok(())
}
