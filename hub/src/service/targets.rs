//! Targets (指标) at a hub: the goals that apply to a region the viewer covers (its own, else
//! the nearest region above that set some: `core::targets::applicable`) with the region's
//! progress and the date each is reached at the current rate, and setting a region's goals
//! (`CentreAction::SetTargets`: the region's own administrators at its own hub). The figures
//! come from the rollups (consultations), the people directory (centres, experts, officers)
//! and the published items of the modules by kind prefix.

use yizhan_core::clock::{DAY_MS, UTC_OFFSET_MS};
use yizhan_core::stats::{Period, Query, month_of_ms};
use yizhan_core::targets::{self, Actual, Metric, Progress, TargetDoc};
use yizhan_core::{Actor, CentreAction};

use super::ServiceError;
use super::stats::StatsParams;
use crate::Hub;

/// Days over which a rate of growth is measured (the last year).
pub const RATE_DAYS: i64 = 365;

/// A region's targets and its progress.
#[derive(Debug, Clone)]
pub struct TargetsView {
    pub region: String,
    pub region_name: String,
    /// The goals in force for the region (its own or a region's above), if any was set.
    pub applied: Option<TargetDoc>,
    pub progress: Vec<Progress>,
    /// Whether the viewer may set this region's goals here.
    pub may_set: bool,
    pub today: i64,
}

/// A region's goals and progress, for centre staff who may read its statistics.
pub async fn targets(hub: &Hub, actor: &Actor, region: Option<&str>) -> Result<TargetsView, ServiceError> {
    let q = super::stats::query(
        hub,
        actor,
        &StatsParams { region: region.map(str::to_string), ..Default::default() },
    )?;
    let may_set = yizhan_core::authorize_centre(actor, CentreAction::SetTargets, q.region.as_str()).is_ok()
        && q.region.as_str() == hub.config.scope;
    hub.store
        .call(move |db| {
            let now_ms = db.config().clock.now_ms();
            let today = (now_ms + UTC_OFFSET_MS).div_euclid(DAY_MS);
            let region = q.region.as_str().to_string();
            let docs = db.target_docs(&region)?;
            let applied = targets::applicable(&region, &docs).cloned();
            let mut progress = Vec::new();
            if let Some(t) = &applied {
                let people = db.people_stats(&region)?;
                let now_month = month_of_ms(now_ms);
                let cases_in =
                    |p: Period| db.stats_report(&Query { region: q.region.clone(), period: p, by: None });
                let invalid =
                    |e: yizhan_core::stats::StatsError| yizhan_store::StoreError::Task(e.to_string());
                let all = cases_in(
                    Period::ending(now_month, yizhan_core::stats::PERIOD_MONTHS_MAX).map_err(invalid)?,
                )?;
                // The twelve whole months before this one.
                let last_month =
                    if now_month % 100 == 1 { (now_month / 100 - 1) * 100 + 12 } else { now_month - 1 };
                let year = cases_in(Period::ending(last_month, 12).map_err(invalid)?)?;
                let since = now_ms - RATE_DAYS * DAY_MS;
                let mut items = std::collections::HashMap::new();
                for m in [Metric::AchievementItems, Metric::IndustryItems] {
                    items.insert(m.code(), db.published_counts(m.kind_prefixes(), &region, since)?);
                }
                let (experts_added, officers_added, centres_added) = db.people_added_since(&region, since)?;
                let rate = |added: i64| targets::rate_per_day(added, RATE_DAYS);
                let actual = |m: Metric| match m {
                    Metric::Centres => {
                        Actual { current: people.centres.len() as i64, per_day: rate(centres_added) }
                    }
                    Metric::Experts => Actual { current: people.experts, per_day: rate(experts_added) },
                    Metric::Officers => Actual { current: people.officers, per_day: rate(officers_added) },
                    Metric::Consultations => Actual {
                        current: all.totals.counts.cases,
                        per_day: targets::rate_per_day(year.totals.counts.cases, RATE_DAYS),
                    },
                    Metric::AchievementItems | Metric::IndustryItems => {
                        let (n, recent) = items.get(m.code()).copied().unwrap_or((0, 0));
                        Actual { current: n, per_day: targets::rate_per_day(recent, RATE_DAYS) }
                    }
                };
                progress = targets::progress(t, actual, today);
            }
            Ok(TargetsView {
                region_name: yizhan_core::stats::region_name(&region),
                region,
                applied,
                progress,
                may_set,
                today,
            })
        })
        .await
        .map_err(ServiceError::from)
}

/// Sets (or replaces) the goals of this hub's region: its own administrators only. Nothing is
/// written when a value is out of bounds.
pub async fn set_targets(hub: &Hub, actor: &Actor, year: i64, goals: [i64; 6]) -> Result<(), ServiceError> {
    let region = hub.config.scope.clone();
    super::require(hub, actor, CentreAction::SetTargets)?;
    let who = actor.person_id.clone();
    hub.store
        .call(move |db| {
            let now = db.config().clock.now_ms();
            let next = match TargetDoc::new(&region, year, goals, &who, now) {
                Ok(t) => t,
                Err(e) => return Ok(Err(e)),
            };
            let written = if db.doc_type(&next.id)?.is_some() {
                db.update_doc(&next.id, |doc| TargetDoc::update(doc, &next))?
            } else {
                match next.to_doc() {
                    Ok(mut doc) => db.create_doc(&next.id, targets::DOC_TYPE, &mut doc).map(|_| Ok(()))?,
                    Err(e) => Err(e),
                }
            };
            Ok(written)
        })
        .await?
        .map_err(|e| ServiceError::Invalid(e.message_zh()))
}
