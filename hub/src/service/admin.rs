//! The centre's administration: the audit records (exports, numbers seen in clear) and the
//! service-clock policy.

use std::collections::HashMap;

use yizhan_core::clock::ServicePolicy;
use yizhan_core::{Actor, CentreAction};

use super::ServiceError;
use crate::Hub;

/// Audit actions: exports (numbers masked or in clear) and a number shown in clear.
pub const AUDIT_EXPORT: &str = "export";
pub const AUDIT_EXPORT_PHONES: &str = "export_phones";
pub const AUDIT_VIEW_PHONE: &str = "view_phone";
/// Views of one number by one person within this time are recorded once.
const AUDIT_VIEW_COALESCE_MS: i64 = 10 * 60 * 1000;
/// Audit records the page shows.
pub const AUDIT_SHOWN: u32 = 200;

/// The one authorisation path for what concerns the centre rather than one case.
pub fn require(hub: &Hub, actor: &Actor, action: CentreAction) -> Result<(), ServiceError> {
    Ok(yizhan_core::authorize_centre(actor, action, &hub.config.scope)?)
}

/// Records that `actor` saw a farmer's number in clear.
pub(super) async fn audit_view_phone(hub: &Hub, actor: &Actor, detail: String) -> Result<(), ServiceError> {
    let (who, region) = (actor.person_id.clone(), actor.region.to_string());
    hub.store
        .call(move |db| {
            db.record_audit_coalesced(&who, &region, AUDIT_VIEW_PHONE, &detail, AUDIT_VIEW_COALESCE_MS)
        })
        .await?;
    Ok(())
}

/// The latest audit records of the administrator's region, with the names of who did it.
pub async fn audit_log(
    hub: &Hub,
    actor: &Actor,
) -> Result<(Vec<yizhan_store::service::AuditRow>, HashMap<String, String>), ServiceError> {
    require(hub, actor, CentreAction::Administer)?;
    let region = actor.region.to_string();
    Ok(hub
        .store
        .call(move |db| {
            let rows = db.audit_log(&region, AUDIT_SHOWN)?;
            let mut names = HashMap::new();
            for r in &rows {
                if !names.contains_key(&r.person_id)
                    && let Some(p) = db.person(&r.person_id)?
                {
                    names.insert(r.person_id.clone(), p.name);
                }
            }
            Ok((rows, names))
        })
        .await?)
}

/// The centre's service-clock policy, for its administrator.
pub async fn policy(hub: &Hub, actor: &Actor) -> Result<ServicePolicy, ServiceError> {
    require(hub, actor, CentreAction::Administer)?;
    Ok(hub.store.call(|db| db.service_policy()).await?)
}

/// Sets the centre's policy and recomputes every clock this hub measures.
pub async fn set_policy(hub: &Hub, actor: &Actor, policy: ServicePolicy) -> Result<(), ServiceError> {
    require(hub, actor, CentreAction::SetPolicy)?;
    policy.validate().map_err(|e| ServiceError::Invalid(format!("设置无效：{e}")))?;
    let (scope, node) = (hub.config.scope.clone(), hub.config.node_id.clone());
    hub.store
        .call(move |db| {
            db.set_service_policy(&policy)?;
            super::refresh_all(db, &scope, &node)
        })
        .await?;
    Ok(())
}

/// The holiday calendar as this hub applies it: the years covered (built in or published) and
/// the province's published calendars it holds.
pub struct HolidaysView {
    pub calendar: std::sync::Arc<yizhan_core::holidays::Calendar>,
    pub published: Vec<yizhan_core::holidays::HolidayDoc>,
    pub observe_holidays: bool,
    /// Whether this viewer may publish (the province's administrators at the province hub).
    pub may_publish: bool,
    pub now_ms: i64,
}

/// The calendar in force, for any centre's administrator.
pub async fn holidays(hub: &Hub, actor: &Actor) -> Result<HolidaysView, ServiceError> {
    require(hub, actor, CentreAction::Administer)?;
    let may_publish = require(hub, actor, CentreAction::PublishHolidays).is_ok();
    Ok(hub
        .store
        .call(move |db| {
            let policy = db.service_policy()?;
            Ok(HolidaysView {
                calendar: policy.calendar,
                published: db.holiday_docs()?,
                observe_holidays: policy.observe_holidays,
                may_publish,
                now_ms: db.config().clock.now_ms(),
            })
        })
        .await?)
}

/// Publishes (or replaces) one year's holidays and make-up working days: a document that flows
/// down to every hub, whose clocks then move their deadlines. Nothing changes when the text has
/// a bad line; the error lists every one.
pub async fn publish_holidays(hub: &Hub, actor: &Actor, year: i32, text: String) -> Result<(), ServiceError> {
    use yizhan_core::holidays::{self, HolidayDoc};
    require(hub, actor, CentreAction::PublishHolidays)?;
    let mut entries = holidays::parse_year(year, &text)
        .map_err(|errors| ServiceError::Invalid(format!("放假安排有误：{}", errors.join("；"))))?;
    entries.sort_by_key(|e| e.day);
    let (scope, node) = (hub.config.scope.clone(), hub.config.node_id.clone());
    let who = actor.person_id.clone();
    hub.store
        .call(move |db| {
            let next = HolidayDoc {
                doc_type: holidays::DOC_TYPE.into(),
                id: HolidayDoc::id_for(year),
                region_code: holidays::PROVINCE.into(),
                year: i64::from(year),
                text: holidays::to_text(&entries),
                published_by: who,
                published_ms: db.config().clock.now_ms(),
            };
            let written = if db.doc_type(&next.id)?.is_some() {
                db.update_doc(&next.id, |doc| HolidayDoc::update(doc, &next))?
            } else {
                match next.to_doc() {
                    Ok(mut doc) => db.create_doc(&next.id, holidays::DOC_TYPE, &mut doc).map(|_| Ok(()))?,
                    Err(e) => Err(e),
                }
            };
            if let Err(e) = written {
                return Ok(Err(e));
            }
            super::refresh_all(db, &scope, &node)?;
            Ok(Ok(()))
        })
        .await?
        .map_err(|e| ServiceError::Invalid(format!("放假安排有误：{e}")))
}
