//! 特派员风采's featured (推荐) experts at a centre's hub: its own staff pick and unpick experts
//! of its region (`CentreAction::FeatureExperts`), audited; the hub writes the centre's
//! `showcase` document (`core::showcase`) with each featured expert's public figures, computed
//! here from the people directory, the rollups of the hub's region over the last 12 months and
//! the published lectures, and recomputed on every pick, unpick and refresh. The document flows
//! down to the hubs and kiosks below.

use yizhan_core::people::Person;
use yizhan_core::published::PublishedDoc;
use yizhan_core::region::RegionCode;
use yizhan_core::showcase::{self, FeaturedExpert, LECTURES_MAX, ShowcaseDoc};
use yizhan_core::{Actor, CentreAction, Denied};
use yizhan_store::Db;
use yizhan_store::stats::PersonDim;

use super::ServiceError;
use crate::Hub;
use crate::showcase::{ITEMS_MAX, LECTURES_PREFIX, last_year};

/// Audit actions.
pub const AUDIT_FEATURE: &str = "feature_expert";
pub const AUDIT_UNFEATURE: &str = "unfeature_expert";
pub const AUDIT_REFRESH: &str = "refresh_showcase";

/// The centre's current list (empty when none was written), read from this hub's store.
pub async fn featured(hub: &Hub) -> Result<Option<ShowcaseDoc>, ServiceError> {
    let id = ShowcaseDoc::id_for(&hub.config.scope);
    Ok(hub.store.call(move |db| load(db, &id)).await?)
}

fn load(db: &Db, id: &str) -> Result<Option<ShowcaseDoc>, yizhan_store::StoreError> {
    Ok(db.load_doc(id)?.and_then(|d| ShowcaseDoc::from_doc(&d).ok()))
}

/// What to do to the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Feature,
    Unfeature,
    Refresh,
}

/// Picks (or unpicks) `expert` as featured by this hub's centre, or refreshes every featured
/// expert's figures; writes the centre's showcase document. Nothing is written when refused.
pub async fn set_featured(
    hub: &Hub,
    actor: &Actor,
    expert: &str,
    change: Change,
) -> Result<(), ServiceError> {
    super::require(hub, actor, CentreAction::FeatureExperts)?;
    let centre =
        RegionCode::parse(&hub.config.scope).map_err(|_| ServiceError::Invalid("节点地区无效".into()))?;
    let (who, region, expert) = (actor.person_id.clone(), actor.region.to_string(), expert.to_string());
    hub.store
        .call(move |db| {
            let id = ShowcaseDoc::id_for(centre.as_str());
            let now = db.config().clock.now_ms();
            let current = load(db, &id)?;
            let mut ids: Vec<String> = current
                .as_ref()
                .map(|s| s.experts.iter().map(|e| e.id.clone()).collect())
                .unwrap_or_default();
            let people = directory(db, &centre)?;
            match change {
                Change::Feature => {
                    let Some(p) = people.iter().find(|p| p.id == expert) else {
                        return Ok(Err(match db.person(&expert)? {
                            Some(p) if p.role == "expert" => ServiceError::Denied(Denied::OutOfRegion),
                            _ => ServiceError::NotFound("该专家不存在"),
                        }));
                    };
                    if !ids.contains(&p.id) {
                        if ids.len() >= showcase::FEATURED_MAX {
                            return Ok(Err(ServiceError::Invalid(
                                showcase::ShowcaseError::TooMany.message_zh(),
                            )));
                        }
                        ids.push(p.id.clone());
                    }
                }
                Change::Unfeature => {
                    if !ids.contains(&expert) {
                        return Ok(Err(ServiceError::NotFound("该专家未被推荐")));
                    }
                    ids.retain(|i| *i != expert);
                }
                Change::Refresh => {}
            }
            let mut next = ShowcaseDoc::new(centre.as_str(), &who, now);
            next.experts = public_figures(db, &centre, now, &people, &ids)?;
            if let Err(e) = next.validate() {
                return Ok(Err(ServiceError::Invalid(e.message_zh())));
            }
            if current.is_some() {
                if let Err(e) = db.update_doc(&id, |doc| ShowcaseDoc::update(doc, &next))? {
                    return Ok(Err(ServiceError::Invalid(e.message_zh())));
                }
            } else {
                match next.to_doc() {
                    Ok(mut doc) => {
                        db.create_doc(&id, showcase::DOC_TYPE, &mut doc)?;
                    }
                    Err(e) => return Ok(Err(ServiceError::Invalid(e.message_zh()))),
                }
            }
            let action = match change {
                Change::Feature => AUDIT_FEATURE,
                Change::Unfeature => AUDIT_UNFEATURE,
                Change::Refresh => AUDIT_REFRESH,
            };
            let detail =
                if change == Change::Refresh { format!("{} 位", next.experts.len()) } else { expert };
            db.record_audit(&who, &region, action, &detail)?;
            Ok(Ok(()))
        })
        .await?
}

/// The active experts of the centre's region.
fn directory(db: &Db, centre: &RegionCode) -> Result<Vec<Person>, yizhan_store::StoreError> {
    let mut people = db.experts_for(centre.as_str())?;
    people.retain(|p| RegionCode::parse(&p.region_code).is_ok_and(|r| centre.contains(&r)));
    Ok(people)
}

/// The public figures of the experts `ids` (in that order) who are still in the directory.
fn public_figures(
    db: &Db,
    centre: &RegionCode,
    now_ms: i64,
    people: &[Person],
    ids: &[String],
) -> Result<Vec<FeaturedExpert>, yizhan_store::StoreError> {
    let counts = db.stats_by_person(centre, last_year(now_ms), PersonDim::Expert)?;
    let lectures = db.published_of_kinds(LECTURES_PREFIX, ITEMS_MAX)?;
    Ok(ids
        .iter()
        .filter_map(|id| people.iter().find(|p| p.id == *id))
        .map(|p| {
            let c = counts.iter().find(|(k, _)| *k == p.id).map(|(_, c)| *c).unwrap_or_default();
            FeaturedExpert {
                id: p.id.clone(),
                name: p.name.clone(),
                title: p.title.clone(),
                region_code: p.region_code.clone(),
                industries: p.industries.iter().take(showcase::INDUSTRIES_MAX).cloned().collect(),
                answered: c.answered,
                responded: c.responded,
                responded_in_time: c.responded_in_time,
                rated: c.rated,
                rating_sum: c.rating_sum,
                onsite_visits: c.onsite_visits,
                lectures: lectures
                    .iter()
                    .filter(|l| speaker(l) == p.id)
                    .map(|l| l.title.chars().take(showcase::TEXT_MAX).collect())
                    .take(LECTURES_MAX)
                    .collect(),
            }
        })
        .collect())
}

fn speaker(l: &PublishedDoc) -> &str {
    l.fields.iter().find(|f| f.key == "speaker").map_or("", |f| f.value.trim())
}
