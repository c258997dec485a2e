//! Glue between the store and the spreadsheets of `yizhan-records`: service records out,
//! people in.

use std::collections::HashMap;

use yizhan_core::{Actor, NewPerson, Person};
use yizhan_records::{PeopleImport, ServiceRecord};
use yizhan_store::ServiceRow;

use crate::Hub;

/// One export row. The phone is the masked one: the county hub holds the number sealed with
/// the recording kiosk's key and cannot open it (see ARCHITECTURE.md, sensitive data).
pub fn record(r: ServiceRow, names: &HashMap<String, String>) -> ServiceRecord {
    let c = r.case;
    ServiceRecord {
        expert_name: names.get(&c.expert).cloned().unwrap_or_else(|| c.expert.clone()),
        case_id: c.id,
        created_at_ms: c.created_at_ms,
        region_code: c.region_code,
        village_name: c.village_name,
        industry: c.industry,
        subject: c.subject,
        farmer_name: c.farmer_name,
        phone: c.phone_masked,
        officer: c.officer,
        status: c.status,
        centre: r.centre,
        triage_minutes: r.triage_minutes,
        response_minutes: r.response_minutes,
        rating: (r.rating > 0).then_some(r.rating),
        followup_valid: match r.followup_valid {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        },
        followup_category: r.followup_category,
        travel_cost_fen: r.travel_cost_fen,
        breaches: r.breaches,
    }
}

/// Stores the good rows of an import: new people are created, known ones updated (a
/// re-import of a corrected sheet changes them, it does not fail). A row outside the
/// administrator's region is refused. Returns how many rows were stored and the row errors
/// (the file's and ours) as (row, message).
pub async fn import(
    hub: &Hub,
    actor: &Actor,
    parsed: PeopleImport,
) -> Result<(usize, Vec<(usize, String)>), yizhan_store::StoreError> {
    let mut errors: Vec<(usize, String)> = parsed
        .errors
        .iter()
        .map(|e| {
            let col = e.column.as_ref().map(|c| format!("【{c}】")).unwrap_or_default();
            (e.row, format!("{col}{}", e.message_zh))
        })
        .collect();
    if parsed.errors_omitted > 0 {
        errors.push((usize::MAX, format!("另有 {} 处错误未列出", parsed.errors_omitted)));
    }
    let mut created = 0;
    let now = hub.store.config().clock.now_ms();
    for (row, np) in parsed.rows {
        if !np.region_code.starts_with(actor.region.as_str()) {
            errors.push((row, "不在您的管辖范围内".into()));
            continue;
        }
        match store_person(hub, &np, now).await {
            Ok(()) => created += 1,
            Err(msg) => errors.push((row, msg)),
        }
    }
    Ok((created, errors))
}

/// Creates a person, or updates the directory entry (and sign-in phone) of a known one.
pub(crate) async fn store_person(hub: &Hub, np: &NewPerson, now: i64) -> Result<(), String> {
    let (person, phone) = np.build(now).map_err(|e| e.message_zh())?;
    let id = person.id.clone();
    let exists = hub.store.call(move |db| db.person(&id)).await.map_err(|_| "保存失败".to_string())?;
    let Some(old) = exists else {
        return hub.accounts.create_person(np, None).await.map(|_| ()).map_err(|e| e.message_zh());
    };
    let pid = Person::doc_id(&person.id);
    let moved = old.region_code != person.region_code;
    let updated = hub
        .store
        .call(move |db| {
            db.update_doc(&pid, |doc| -> Result<(), yizhan_core::PersonError> {
                let mut p = Person::from_doc(doc)?;
                let keep = (p.active, p.phone_masked.clone());
                p = Person { active: keep.0, phone_masked: keep.1, ..person };
                p.update_doc(doc)
            })
        })
        .await;
    match updated {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(e.message_zh()),
        Err(_) => return Err("保存失败".into()),
    }
    if !phone.is_empty() {
        hub.accounts.set_phone(&np.id, &phone).await.map_err(|e| e.message_zh())?;
    }
    // A new region moves her sign-in secrets with her (to her new village's kiosk).
    if moved {
        hub.accounts.follow_region(&np.id).await.map_err(|e| e.message_zh())?;
    }
    Ok(())
}
