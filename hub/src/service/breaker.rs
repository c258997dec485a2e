//! The circuit breaker (安全熔断) at a hub: province or county staff (and administrators) take
//! offline at once an item, an account's items, a whole module or a whole region's live
//! content, with a reason, and lift it later. Each takedown is a public document signed with
//! this hub's identity key (`yizhan_core::takedown`); this hub applies it the same way every
//! other node does, when its follower verifies the document (`yizhan_net::follow_takedowns`).
//! Every takedown and lift is in the audit trail.

use base64::Engine;
use yizhan_core::takedown::{
    ACCOUNT_ITEMS_MAX, DOC_TYPE, Lift, SIGNATURE_CONTEXT, Takedown, TakedownDoc, Target,
};
use yizhan_core::{Actor, CentreAction, RegionLevel};
use yizhan_store::takedown::{TAKEDOWN_LIST_MAX, TakedownRow};

use super::ServiceError;
use super::admin::require;
use crate::Hub;

/// Audit actions.
pub const AUDIT_TAKEDOWN: &str = "takedown";
pub const AUDIT_LIFT: &str = "takedown_lift";

/// What a person asks to take down, as the desk's form gives it.
#[derive(Debug, Clone)]
pub enum Request {
    Item(String),
    Account(String),
    Module(String),
    Region(String),
}

/// Who may use the breaker: staff or administrators of the province or a county (a city's
/// centre has no breaker of its own: the issue names province and county staff).
fn may_use(actor: &Actor) -> bool {
    actor.is_centre() && matches!(actor.region.level(), RegionLevel::Province | RegionLevel::County)
}

fn sign(hub: &Hub, body: Vec<u8>) -> Result<String, ServiceError> {
    let Some(creds) = &hub.signer else {
        return Err(ServiceError::Failed("本节点没有签名密钥，无法发布熔断".into()));
    };
    let signed = creds
        .sign_statement(SIGNATURE_CONTEXT, body)
        .map_err(|e| ServiceError::Failed(format!("签名失败：{e}")))?;
    Ok(base64::engine::general_purpose::STANDARD.encode(signed.to_bytes()))
}

/// Takes something offline: checks who asks and what (a county's staff: their county's items
/// only), signs the takedown, stores the document (which syncs to every node) and the audit
/// record. Returns the takedown's id.
pub async fn take_down(
    hub: &Hub,
    actor: &Actor,
    request: Request,
    reason: &str,
) -> Result<String, ServiceError> {
    require(hub, actor, CentreAction::Desk)?;
    if !may_use(actor) {
        return Err(ServiceError::Invalid("只有省级或县级中心的工作人员可以熔断".into()));
    }
    issue(hub, actor, request, reason).await
}

/// Signs and stores a takedown for `actor` (authorised by the caller).
async fn issue(hub: &Hub, actor: &Actor, request: Request, reason: &str) -> Result<String, ServiceError> {
    let reason = reason.trim().to_string();
    if reason.is_empty() {
        return Err(ServiceError::Invalid("请填写熔断原因".into()));
    }
    let region = actor.region.to_string();
    let target = {
        let region = region.clone();
        hub.store
            .call(move |db| -> Result<Result<Target, ServiceError>, yizhan_store::StoreError> {
                Ok(match request {
                    Request::Item(id) => {
                        let id = id.trim().to_string();
                        match db.public_item(&id)? {
                            None => Err(ServiceError::NotFound("信息不存在")),
                            Some(row) if !yizhan_identity::scope_contains(&region, &row.centre) => {
                                Err(ServiceError::Invalid("只能熔断本辖区的信息".into()))
                            }
                            Some(_) => Ok(Target::Item { id }),
                        }
                    }
                    Request::Account(person) => {
                        let person = person.trim().to_string();
                        let items = db.published_items_of_author(&person, &region, ACCOUNT_ITEMS_MAX)?;
                        if items.is_empty() && db.person(&person)?.is_none() {
                            Err(ServiceError::NotFound("账号不存在"))
                        } else {
                            Ok(Target::Account { person, items })
                        }
                    }
                    Request::Module(prefix) => {
                        let prefix = prefix.trim().to_string();
                        if prefix.is_empty() || !prefix.contains('.') {
                            Err(ServiceError::Invalid("模块应写作类别前缀，如 supply.".into()))
                        } else {
                            Ok(Target::Module { prefix })
                        }
                    }
                    Request::Region(code) => {
                        let code = code.trim().to_string();
                        if yizhan_core::RegionCode::parse(&code).is_err() {
                            Err(ServiceError::Invalid("地区代码无效".into()))
                        } else if !yizhan_identity::scope_contains(&region, &code) {
                            Err(ServiceError::Invalid("只能熔断本辖区的地区".into()))
                        } else {
                            Ok(Target::Region { code })
                        }
                    }
                })
            })
            .await??
    };
    let id = format!("takedown-{}", uuid::Uuid::new_v4());
    let now = hub.store.config().clock.now_ms();
    let t = Takedown {
        id: id.clone(),
        target,
        region: region.clone(),
        reason,
        by: actor.person_id.clone(),
        by_name: actor.name.clone(),
        at_ms: now,
        issuer: hub.config.node_id.clone(),
    };
    let body = t.to_json().map_err(|e| ServiceError::Invalid(format!("熔断内容无效：{e}")))?;
    let doc = TakedownDoc {
        doc_type: DOC_TYPE.into(),
        id: id.clone(),
        signed_b64: sign(hub, body)?,
        lift_b64: None,
    };
    let mut automerge = doc.to_doc().map_err(ServiceError::Failed)?;
    let detail = format!("{} {} {}：{}", id, t.target.code(), t.target.name(), t.reason);
    let (who, id2) = (actor.person_id.clone(), id.clone());
    hub.store
        .call(move |db| {
            db.create_doc(&id2, DOC_TYPE, &mut automerge)?;
            // Applied here at once (this hub signed it); every other node applies it once its
            // follower has verified the signature.
            db.apply_takedown(&t, None)?;
            db.record_audit(&who, &region, AUDIT_TAKEDOWN, &detail)
        })
        .await?;
    Ok(id)
}

/// Lifts a takedown: by staff whose region contains the takedown's region, at a hub whose scope
/// contains it (its signature must verify everywhere).
pub async fn lift(hub: &Hub, actor: &Actor, id: &str, reason: &str) -> Result<(), ServiceError> {
    require(hub, actor, CentreAction::Desk)?;
    if !may_use(actor) {
        return Err(ServiceError::Invalid("只有省级或县级中心的工作人员可以解除熔断".into()));
    }
    let reason = reason.trim().to_string();
    if reason.is_empty() {
        return Err(ServiceError::Invalid("请填写解除原因".into()));
    }
    let id = id.to_string();
    let row = {
        let id = id.clone();
        hub.store.call(move |db| db.takedown(&id)).await?.ok_or(ServiceError::NotFound("熔断记录不存在"))?
    };
    if !yizhan_identity::scope_contains(actor.region.as_str(), &row.region)
        || !yizhan_identity::scope_contains(&hub.config.scope, &row.region)
    {
        return Err(ServiceError::Invalid("只能解除本辖区发出的熔断".into()));
    }
    if row.lifted {
        return Ok(());
    }
    let l = Lift {
        takedown: id.clone(),
        reason: reason.clone(),
        by: actor.person_id.clone(),
        by_name: actor.name.clone(),
        at_ms: hub.store.config().clock.now_ms(),
        issuer: hub.config.node_id.clone(),
    };
    let body = l.to_json().map_err(|e| ServiceError::Invalid(format!("解除内容无效：{e}")))?;
    let b64 = sign(hub, body)?;
    let (who, region) = (actor.person_id.clone(), actor.region.to_string());
    let detail = format!("{id}：{reason}");
    let lifted = yizhan_store::takedown::LiftRecord { reason, by_name: actor.name.clone(), at_ms: l.at_ms };
    hub.store
        .call(move |db| {
            db.update_doc(&id, |doc| TakedownDoc::lift(doc, b64))?
                .map_err(|detail| yizhan_store::StoreError::Corrupt { id: id.clone(), detail })?;
            db.apply_lift(&id, &lifted)?;
            db.record_audit(&who, &region, AUDIT_LIFT, &detail)
        })
        .await?;
    Ok(())
}

/// The takedowns this hub applies that concern the viewer's region, newest first.
pub async fn list(hub: &Hub, actor: &Actor) -> Result<Vec<TakedownRow>, ServiceError> {
    require(hub, actor, CentreAction::Desk)?;
    let region = actor.region.to_string();
    Ok(hub.store.call(move |db| db.takedowns(&region, TAKEDOWN_LIST_MAX)).await?)
}

/// The takedown in force on a published item, for staff (shown as 已熔断 with its reason).
pub async fn of_item(hub: &Hub, id: &str) -> Result<Option<TakedownRow>, ServiceError> {
    let id = id.to_string();
    Ok(hub.store.call(move |db| db.takedown_of(&id)).await?)
}

/// What a hold for sensitive words notes before the matched words.
pub const HOLD_WORDS_PREFIX: &str = "命中敏感词：";

/// The listed sensitive words in an item's text fields (none without a list).
pub(super) fn sensitive_hits(
    db: &yizhan_store::Db,
    item: &yizhan_core::item::ItemDoc,
) -> Result<Vec<String>, yizhan_store::StoreError> {
    Ok(db.sensitive_words()?.map(|w| w.matcher().find_in_item(item)).unwrap_or_default())
}

/// An account's state at a submission: over its limits (just now), or already taken down.
#[derive(Debug, Clone)]
pub(super) enum AccountState {
    OverLimit { person: String, hour: u64, day: u64, per_hour: u64, per_day: u64 },
    TakenDown,
}

/// A breaker to trip once the step is written: the account and why.
#[derive(Debug, Clone)]
pub struct Trip {
    pub person: String,
    pub reason: String,
}

impl AccountState {
    pub(super) fn note(&self) -> String {
        match self {
            AccountState::OverLimit { hour, day, per_hour, per_day, .. } => format!(
                "账号提交过于频繁（1 小时内 {hour} 条，上限 {per_hour}；24 小时内 {day} 条，上限 {per_day}），已熔断"
            ),
            AccountState::TakenDown => "账号已熔断，提交须复核".into(),
        }
    }

    pub(super) fn newly_tripped(self) -> Option<Trip> {
        match &self {
            AccountState::OverLimit { person, .. } => {
                Some(Trip { person: person.clone(), reason: self.note() })
            }
            AccountState::TakenDown => None,
        }
    }
}

/// Records a submission by `person` and tells whether her account is taken down or has just
/// gone over the province's limits (the list's, or the defaults without one).
pub(super) fn account_check(
    db: &mut yizhan_store::Db,
    person: &str,
) -> Result<Option<AccountState>, yizhan_store::StoreError> {
    let (hour, day) = db.record_submission(person)?;
    if db.account_taken_down(person)? {
        return Ok(Some(AccountState::TakenDown));
    }
    let (per_hour, per_day) = db
        .sensitive_words()?
        .map_or((yizhan_core::sensitive::DEFAULT_PER_HOUR, yizhan_core::sensitive::DEFAULT_PER_DAY), |w| {
            (w.per_hour, w.per_day)
        });
    Ok((hour > per_hour || day > per_day).then(|| AccountState::OverLimit {
        person: person.to_string(),
        hour,
        day,
        per_hour,
        per_day,
    }))
}

/// Trips an account's breaker: a takedown of its published items (within this hub's region),
/// issued by the hub itself, which staff lift on the breaker page. Audited.
pub async fn trip_account(hub: &Hub, trip: Trip) -> Result<String, ServiceError> {
    let system = Actor {
        person_id: crate::service::system_actor(&hub.config.node_id),
        name: "系统".into(),
        role: yizhan_core::Role::Staff,
        region: yizhan_core::RegionCode::parse(&hub.config.scope)
            .map_err(|e| ServiceError::Failed(e.to_string()))?,
    };
    issue(hub, &system, Request::Account(trip.person), &trip.reason).await
}

/// Audit action of a change to the sensitive-word list.
pub const AUDIT_WORDS: &str = "sensitive_words";

/// The sensitive-word list and limits in force at this hub (the defaults without a list), and
/// whether `actor` may change them (the province's staff and administrators, at the province).
pub async fn words(
    hub: &Hub,
    actor: &Actor,
) -> Result<(Option<yizhan_core::sensitive::SensitiveWords>, bool), ServiceError> {
    require(hub, actor, CentreAction::Desk)?;
    let may = may_set_words(hub, actor);
    Ok((hub.store.call(|db| db.sensitive_words()).await?, may))
}

fn may_set_words(hub: &Hub, actor: &Actor) -> bool {
    actor.is_centre()
        && actor.region.level() == RegionLevel::Province
        && hub.config.scope == actor.region.as_str()
}

/// Replaces the province's list (words one per line or separated by commas) and limits; the
/// document flows down to every node. Audited with the number of words.
pub async fn set_words(
    hub: &Hub,
    actor: &Actor,
    text: &str,
    per_hour: u64,
    per_day: u64,
) -> Result<usize, ServiceError> {
    require(hub, actor, CentreAction::Desk)?;
    if !may_set_words(hub, actor) {
        return Err(ServiceError::Invalid("只有省平台的工作人员可以修改敏感词表".into()));
    }
    let now = hub.store.config().clock.now_ms();
    let list = yizhan_core::sensitive::SensitiveWords::new(
        &hub.config.scope,
        text,
        per_hour,
        per_day,
        now,
        &actor.person_id,
    )
    .map_err(ServiceError::Invalid)?;
    let n = list.words.len();
    let (who, region) = (actor.person_id.clone(), actor.region.to_string());
    hub.store
        .call(move |db| {
            use yizhan_core::sensitive::{DOC_ID, DOC_TYPE, SensitiveWords};
            if db.doc_type(DOC_ID)?.is_some() {
                db.update_doc(DOC_ID, |doc| SensitiveWords::update(doc, &list))?
                    .map_err(|detail| yizhan_store::StoreError::Corrupt { id: DOC_ID.into(), detail })?;
            } else {
                let mut doc = list
                    .to_doc()
                    .map_err(|detail| yizhan_store::StoreError::Corrupt { id: DOC_ID.into(), detail })?;
                db.create_doc(DOC_ID, DOC_TYPE, &mut doc)?;
            }
            let detail = format!("{n} 个词，每小时 {} 条，每天 {} 条", list.per_hour, list.per_day);
            db.record_audit(&who, &region, AUDIT_WORDS, &detail)
        })
        .await?;
    Ok(n)
}
