//! 供销对接 and 成果转化 at a hub: the public lists (published documents of the modules' kinds),
//! the bounty board's claims and decisions. Every rule is `yizhan_core::claim`'s, checked against
//! the claims as stored inside the same store call that writes, stamped with the hub's clock.

use std::collections::BTreeMap;

use yizhan_core::claim::{self, Board, ClaimDoc, Decision};
use yizhan_core::published::PublishedDoc;
use yizhan_core::{Actor, RegionCode};
use yizhan_store::{Db, StoreError};

use super::ServiceError;
use crate::Hub;

/// Published documents read for one list at most.
pub const LIST_MAX: u32 = 200;

/// The published documents of a module (`prefix`: `supply.`, `achievements.`), newest first.
pub async fn published(hub: &Hub, prefix: &'static str) -> Result<Vec<PublishedDoc>, ServiceError> {
    Ok(hub.store.call(move |db| db.published_of_kinds(prefix, LIST_MAX)).await?)
}

/// A bounty as the board reads it: its public document (not withdrawn) and its deadline day.
fn bounty(db: &Db, id: &str) -> Result<Option<(PublishedDoc, i64)>, StoreError> {
    // Not withdrawn, not taken down (安全熔断).
    let Some(p) = db.shown_published(id)? else { return Ok(None) };
    if p.kind != yizhan_achievements::BOUNTY {
        return Ok(None);
    }
    let deadline = yizhan_achievements::Entry::of(&p).and_then(|e| e.deadline);
    Ok(deadline.map(|d| (p, d)))
}

/// What a bounty's page shows: the public document, its deadline, the board from the claims
/// this hub holds, and those claims.
#[derive(Debug, Clone)]
pub struct BountyView {
    pub published: PublishedDoc,
    pub deadline: i64,
    pub board: Board,
    pub claims: Vec<ClaimDoc>,
    /// `Ok`: the viewer may claim it now; `Err`: why not (`None` when nobody is signed in).
    pub may_claim: Option<Result<(), claim::Refusal>>,
    /// The viewer is staff of the owning centre (sees the claims and decides).
    pub owner: bool,
}

pub async fn bounty_view(hub: &Hub, viewer: Option<&Actor>, id: &str) -> Result<BountyView, ServiceError> {
    let (id, viewer) = (id.to_string(), viewer.cloned());
    let now = hub.store.config().clock.now_ms();
    let found = hub
        .store
        .call(move |db| {
            let Some((p, deadline)) = bounty(db, &id)? else { return Ok(None) };
            let claims = db.claims_of(&id)?;
            Ok(Some((p, deadline, claims)))
        })
        .await?;
    let (published, deadline, claims) = found.ok_or(ServiceError::NotFound("该榜单不存在或已撤回"))?;
    let board = claim::board(deadline, now, &claims);
    let may_claim = viewer.as_ref().map(|a| claim::may_claim(a, &published.centre, deadline, now, &claims));
    let owner = viewer.as_ref().is_some_and(|a| a.is_centre() && a.region.as_str() == published.centre);
    let claims = if owner { claims } else { Vec::new() };
    Ok(BountyView { published, deadline, board, claims, may_claim, owner })
}

/// The boards of the bounties among `docs`, from the claims this hub holds (by public id).
pub async fn boards(hub: &Hub, docs: &[PublishedDoc]) -> Result<BTreeMap<String, Board>, ServiceError> {
    let now = hub.store.config().clock.now_ms();
    let bounties: Vec<(String, i64)> = docs
        .iter()
        .filter_map(yizhan_achievements::Entry::of)
        .filter(|e| e.kind == yizhan_achievements::BOUNTY)
        .filter_map(|e| Some((e.id, e.deadline?)))
        .collect();
    Ok(hub
        .store
        .call(move |db| {
            let mut out = BTreeMap::new();
            for (id, deadline) in bounties {
                let claims = db.claims_of(&id)?;
                out.insert(id, claim::board(deadline, now, &claims));
            }
            Ok(out)
        })
        .await?)
}

fn refused(r: claim::Refusal) -> ServiceError {
    ServiceError::Invalid(r.message_zh().into())
}

/// The signed-in expert claims the bounty `id` with `proposal` (抢单): refused after the deadline
/// on this hub's clock, once a claim is picked (as far as this hub knows), a second time, or when
/// her claim could not reach the owning centre. Returns the claim's id.
pub async fn claim_bounty(
    hub: &Hub,
    actor: &Actor,
    id: &str,
    proposal: &str,
) -> Result<String, ServiceError> {
    // The claim is scoped by her region: this hub must hold that region to send it up.
    let scope = RegionCode::parse(&hub.config.scope)
        .map_err(|_| ServiceError::Failed("本中心的辖区代码无效".into()))?;
    if !scope.contains(&actor.region) {
        return Err(ServiceError::Denied(yizhan_core::Denied::OutOfRegion));
    }
    let (actor, id, proposal) = (actor.clone(), id.to_string(), proposal.to_string());
    hub.store
        .call(move |db| {
            let Some((p, deadline)) = bounty(db, &id)? else {
                return Ok(Err(ServiceError::NotFound("该榜单不存在或已撤回")));
            };
            let now = db.config().clock.now_ms();
            let claims = db.claims_of(&id)?;
            if let Err(r) = claim::may_claim(&actor, &p.centre, deadline, now, &claims) {
                return Ok(Err(refused(r)));
            }
            let (c, mut doc) = match ClaimDoc::new(&actor, &id, &p.centre, &proposal, now) {
                Ok(v) => v,
                Err(e) => return Ok(Err(ServiceError::Invalid(e.message_zh()))),
            };
            if db.doc_type(&c.id)?.is_some() {
                return Ok(Err(refused(claim::Refusal::AlreadyClaimed)));
            }
            db.create_doc(&c.id, claim::DOC_TYPE, &mut doc)?;
            Ok(Ok(c.id))
        })
        .await?
}

/// The owning centre's staff picks the claim `claim_id` (揭榜), or marks the picked one done
/// (`done`). Returns the bounty's public id.
pub async fn decide(hub: &Hub, actor: &Actor, claim_id: &str, done: bool) -> Result<String, ServiceError> {
    let (actor, claim_id) = (actor.clone(), claim_id.to_string());
    hub.store
        .call(move |db| {
            if db.doc_type(&claim_id)?.as_deref() != Some(claim::DOC_TYPE) {
                return Ok(Err(ServiceError::NotFound("抢单记录不存在")));
            }
            let Some(c) = db.load_doc(&claim_id)?.and_then(|d| ClaimDoc::from_doc(&d).ok()) else {
                return Ok(Err(ServiceError::NotFound("抢单记录不存在")));
            };
            let Some((_, deadline)) = bounty(db, &c.bounty)? else {
                return Ok(Err(ServiceError::NotFound("该榜单不存在或已撤回")));
            };
            let claims = db.claims_of(&c.bounty)?;
            let rule = if done {
                claim::may_finish(&actor, &c)
            } else {
                claim::may_pick(&actor, &c, deadline, &claims)
            };
            if let Err(r) = rule {
                return Ok(Err(refused(r)));
            }
            let d = Decision {
                at_ms: db.config().clock.now_ms(),
                by: actor.person_id.clone(),
                by_name: actor.name.clone(),
            };
            let kind = if done { claim::DONE } else { claim::PICKED };
            match db.update_doc(&claim_id, |doc| ClaimDoc::decide(doc, kind, d))? {
                Ok(_) => Ok(Ok(c.bounty)),
                Err(e) => Ok(Err(ServiceError::Invalid(e.message_zh()))),
            }
        })
        .await?
}
