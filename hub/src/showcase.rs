//! 特派员风采 (the experts' showcase) at a hub, public without sign-in: `/experts`, the experts of
//! the hub's directory (its region's people documents: they flow up, so a county hub shows its
//! county's experts and the province everyone's), filtered by industry and level; and
//! `/experts/{id}`: name, title (职称), level, region, industries and specialities, the service
//! figures of the last 12 months from the per-expert rollups of the hub's own region (answered,
//! share responded within 3 h, mean rating, on-site visits), lectures (published items of kinds
//! `lectures.` naming the expert's id in a `speaker` field) and achievements (published
//! `achievements.achievement` items whose holder names the expert). No phone number, nothing
//! the desk's directory does not already show.
//!
//! Featured (推荐) experts: the centre's staff pick them on an expert's page (`POST
//! /experts/{id}/feature`, `/unfeature`, `/experts/refresh`; `service::showcase`), listed first
//! here with those of the centres above; the `showcase` document carries them, with their
//! public figures, down to the kiosks (people documents do not flow down). No photo: the
//! directory holds none, a placeholder stands in.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Redirect;
use maud::{Markup, html};
use yizhan_accounts::SignedIn;
use yizhan_core::people::Person;
use yizhan_core::published::PublishedDoc;
use yizhan_core::showcase::{self as featured_doc, ShowcaseDoc};
use yizhan_core::stats::{Counts, Period, month_of_ms};
use yizhan_core::{Actor, CentreAction};
use yizhan_core::{Industry, RegionCode, RegionLevel};
use yizhan_store::stats::PersonDim;
use yizhan_web::fmt;

use crate::Hub;
use crate::desk::{DeskError, shell};

/// The figures cover this many months, the current one included.
pub const FIGURE_MONTHS: u32 = 12;
/// Lectures and achievements read for one page at most (the store's list bound).
pub const ITEMS_MAX: u32 = 500;
/// The kind prefix of 特派员讲堂 (lectures), built in another branch.
pub const LECTURES_PREFIX: &str = "lectures.";

pub fn routes() -> axum::Router<Hub> {
    use axum::routing::get;
    use axum::routing::post;
    axum::Router::new()
        .route("/experts", get(list))
        .route("/experts/refresh", post(refresh))
        .route("/experts/{id}", get(page))
        .route("/experts/{id}/feature", post(feature))
        .route("/experts/{id}/unfeature", post(unfeature))
}

/// The last [`FIGURE_MONTHS`] months up to `now_ms`'s (UTC+8).
pub fn last_year(now_ms: i64) -> Period {
    let to = month_of_ms(now_ms);
    let index = (to / 100) * 12 + (to % 100 - 1) - (FIGURE_MONTHS - 1);
    let from = (index / 12) * 100 + index % 12 + 1;
    Period::new(from, to).unwrap_or(Period { from: to, to })
}

/// An expert's service figures (from the rollups' counters).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Figures {
    pub answered: i64,
    pub responded: i64,
    pub responded_in_time: i64,
    pub rated: i64,
    pub rating_sum: i64,
    pub onsite_visits: i64,
}

impl Figures {
    pub fn of(c: &Counts) -> Figures {
        Figures {
            answered: c.answered,
            responded: c.responded,
            responded_in_time: c.responded_in_time,
            rated: c.rated,
            rating_sum: c.rating_sum,
            onsite_visits: c.onsite_visits,
        }
    }

    /// Share of responses within 3 h, in percent.
    pub fn in_time_percent(&self) -> Option<f64> {
        (self.responded > 0).then(|| self.responded_in_time as f64 * 100.0 / self.responded as f64)
    }

    pub fn mean_rating(&self) -> Option<f64> {
        (self.rated > 0).then(|| self.rating_sum as f64 / self.rated as f64)
    }
}

fn level_of(p: &Person) -> Option<RegionLevel> {
    RegionLevel::of(&p.region_code)
}

fn level_zh(p: &Person) -> &'static str {
    match level_of(p) {
        Some(RegionLevel::Province) => "省级专家",
        Some(RegionLevel::City) => "市级专家",
        _ => "县级专家",
    }
}

/// The active experts of the hub's region, by level (province first), then name.
async fn experts(hub: &Hub) -> Result<Vec<Person>, DeskError> {
    let scope = RegionCode::parse(&hub.config.scope).map_err(|_| DeskError::bad_request("节点地区无效"))?;
    let scope2 = hub.config.scope.clone();
    let mut people = hub.store.call(move |db| db.experts_for(&scope2)).await?;
    people.retain(|p| RegionCode::parse(&p.region_code).is_ok_and(|r| scope.contains(&r)));
    people.sort_by(|a, b| level_of(a).cmp(&level_of(b)).then_with(|| a.name.cmp(&b.name)));
    Ok(people)
}

/// Every expert's figures over the last year, from the rollups of the hub's own region.
async fn figures(hub: &Hub) -> Result<Vec<(String, Counts)>, DeskError> {
    let scope = RegionCode::parse(&hub.config.scope).map_err(|_| DeskError::bad_request("节点地区无效"))?;
    let period = last_year(hub.store.config().clock.now_ms());
    Ok(hub.store.call(move |db| db.stats_by_person(&scope, period, PersonDim::Expert)).await?)
}

#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct ListQuery {
    #[serde(default)]
    industry: String,
    /// province | city | county
    #[serde(default)]
    level: String,
}

/// The showcases this hub holds that apply to its region (its own, then the centres' above).
async fn showcases(hub: &Hub) -> Result<Vec<ShowcaseDoc>, DeskError> {
    let ids = featured_doc::ids_for(&hub.config.scope);
    Ok(hub
        .store
        .call(move |db| {
            let mut out = Vec::new();
            for id in &ids {
                if let Some(doc) = db.load_doc(id)?
                    && let Ok(s) = ShowcaseDoc::from_doc(&doc)
                {
                    out.push(s);
                }
            }
            Ok(out)
        })
        .await?)
}

/// Whether `actor` may pick featured experts at this hub.
fn may_feature(hub: &Hub, actor: Option<&Actor>) -> bool {
    actor.is_some_and(|a| {
        yizhan_core::authorize_centre(a, CentreAction::FeatureExperts, &hub.config.scope).is_ok()
    })
}

async fn list(
    State(hub): State<Hub>,
    who: Option<SignedIn>,
    Query(q): Query<ListQuery>,
) -> Result<Markup, DeskError> {
    let picked = showcases(&hub).await?;
    let is_featured = |id: &str| picked.iter().any(|s| s.is_featured(id));
    let level = match q.level.trim() {
        "province" => Some(RegionLevel::Province),
        "city" => Some(RegionLevel::City),
        "county" => Some(RegionLevel::County),
        _ => None,
    };
    let shown: Vec<Person> = experts(&hub)
        .await?
        .into_iter()
        .filter(|p| q.industry.trim().is_empty() || p.industries.iter().any(|i| i == q.industry.trim()))
        .filter(|p| level.is_none_or(|l| level_of(p) == Some(l)))
        .collect();
    // Featured first (stable: by level, then name, within each group).
    let mut shown = shown;
    shown.sort_by_key(|p| !is_featured(&p.id));
    let actor = who.map(|s| s.0);
    let body = html! {
        section.card.showcase data-testid="showcase" {
            h1 { "特派员风采" }
            form.filters method="get" action="/experts" {
                label { "产业 "
                    select name="industry" {
                        option value="" { "全部" }
                        @for i in Industry::ALL { option value=(i.code()) selected[q.industry == i.code()] { (i.name_zh()) } }
                    }
                }
                label { "级别 "
                    select name="level" {
                        option value="" { "全部" }
                        @for (c, n) in [("province", "省级"), ("city", "市级"), ("county", "县级")] {
                            option value=(c) selected[q.level == c] { (n) }
                        }
                    }
                }
                button type="submit" { "筛选" }
            }
            @if may_feature(&hub, actor.as_ref()) {
                form.inline method="post" action=(yizhan_web::action("/experts/refresh")) {
                    button type="submit" data-testid="refresh-featured" { "刷新推荐专家的服务数据" }
                }
            }
            @if shown.is_empty() { p.muted { "暂无符合条件的专家" } }
            ul.listings {
                @for p in &shown {
                    li.listing data-testid="expert" data-id=(p.id) data-featured=(is_featured(&p.id)) {
                        @if is_featured(&p.id) { span.tag.featured data-testid="featured" { "推荐" } " " }
                        a href=(format!("/experts/{}", p.id)) { b { (p.name) } }
                        @if !p.title.is_empty() { " " span.muted { (p.title) } }
                        " " span.tag { (level_zh(p)) }
                        div.facts { (fmt::region(&p.region_code)) " · " (industries_zh(p)) }
                    }
                }
            }
        }
    };
    Ok(shell(actor.as_ref()).render("特派员风采", body))
}

fn industries_zh(p: &Person) -> String {
    p.industries.iter().map(|c| fmt::industry_or(c, "其他")).collect::<Vec<_>>().join("、")
}

fn field<'a>(p: &'a PublishedDoc, key: &str) -> &'a str {
    p.fields.iter().find(|f| f.key == key).map_or("", |f| f.value.trim())
}

async fn page(
    State(hub): State<Hub>,
    who: Option<SignedIn>,
    Path(id): Path<String>,
) -> Result<Markup, DeskError> {
    let actor = who.map(|s| s.0);
    let own = crate::service::showcase::featured(&hub).await?;
    let featured_here = own.as_ref().is_some_and(|s| s.is_featured(&id));
    let featured_above = showcases(&hub).await?.iter().any(|s| s.is_featured(&id));
    let not_found = || DeskError(StatusCode::NOT_FOUND, "该专家不存在".into());
    let expert = experts(&hub).await?.into_iter().find(|p| p.id == id).ok_or_else(not_found)?;
    let counts = figures(&hub).await?.into_iter().find(|(k, _)| *k == id).map(|(_, c)| c).unwrap_or_default();
    let f = Figures::of(&counts);
    let (lectures, achievements) = hub
        .store
        .call(|db| {
            Ok((
                db.published_of_kinds(LECTURES_PREFIX, ITEMS_MAX)?,
                db.published_of_kinds(yizhan_achievements::ACHIEVEMENT, ITEMS_MAX)?,
            ))
        })
        .await?;
    let lectures: Vec<&PublishedDoc> = lectures.iter().filter(|p| field(p, "speaker") == expert.id).collect();
    // 特派员讲堂 views within this hub's region, every month (`lecture_views`).
    let views = crate::service::lectures::views(&hub).await?;
    let lecture_views: u64 = lectures.iter().filter_map(|l| views.get(&l.id)).sum();
    let achievements: Vec<&PublishedDoc> = achievements
        .iter()
        .filter(|p| expert.name.chars().count() >= 2 && field(p, "holder").contains(expert.name.as_str()))
        .collect();
    let body = html! {
        section.card.showcase data-testid="expert-page" {
            h1 { (expert.name) " " span.tag { (level_zh(&expert)) }
                @if featured_above { " " span.tag.featured data-testid="featured" { "推荐" } } }
            @if may_feature(&hub, actor.as_ref()) {
                @let (path, label) = if featured_here { ("unfeature", "取消推荐") } else { ("feature", "设为推荐专家") };
                form.inline method="post" action=(yizhan_web::action(&format!("/experts/{}/{path}", expert.id))) {
                    button type="submit" data-testid=(path) { (label) }
                }
            }
            @if !expert.title.is_empty() { p data-testid="title" { "职称：" (expert.title) } }
            p { "所在地区：" (fmt::region(&expert.region_code)) }
            p data-testid="industries" { "服务产业：" (industries_zh(&expert)) }
            @if !expert.specialities.is_empty() { p { "专长：" (expert.specialities.join("、")) } }
            h2 { "近 " (FIGURE_MONTHS) " 个月服务" }
            dl.figures {
                dt { "答复咨询" } dd data-testid="answered" { (f.answered) }
                dt { "3 小时内响应" } dd data-testid="in-time" {
                    @match f.in_time_percent() { Some(v) => (format!("{v:.1}%")), None => "—" }
                }
                dt { "平均评分" } dd data-testid="rating" {
                    @match f.mean_rating() { Some(v) => (format!("{v:.2}")), None => "—" }
                }
                dt { "上门服务" } dd data-testid="onsite" { (f.onsite_visits) }
            }
            p.muted { "数据来自本平台的服务统计（" (fmt::region(&hub.config.scope)) "）。" }
            h2 { "特派员讲堂" }
            @if lectures.is_empty() { p.muted data-testid="no-lectures" { "暂无讲座" } }
            @if !lectures.is_empty() { p data-testid="expert-lecture-views" { "讲座共观看 " (lecture_views) " 次" } }
            ul { @for l in &lectures { li data-testid="lecture" {
                a href=(format!("/items/{}", l.id)) { (l.title) }
                @if let Some(v) = views.get(&l.id) { " " span.small { "观看 " (v) " 次" } }
            } } }
            h2 { "科技成果" }
            @if achievements.is_empty() { p.muted data-testid="no-achievements" { "暂无成果" } }
            ul { @for a in &achievements { li data-testid="achievement" { a href=(format!("/items/{}", a.id)) { (a.title) } } } }
        }
    };
    Ok(shell(actor.as_ref()).render(&format!("特派员风采 · {}", expert.name), body))
}

async fn feature(
    State(hub): State<Hub>,
    SignedIn(actor): SignedIn,
    Path(id): Path<String>,
) -> Result<Redirect, DeskError> {
    crate::service::showcase::set_featured(&hub, &actor, &id, crate::service::showcase::Change::Feature)
        .await?;
    Ok(Redirect::to(&format!("/experts/{id}")))
}

async fn unfeature(
    State(hub): State<Hub>,
    SignedIn(actor): SignedIn,
    Path(id): Path<String>,
) -> Result<Redirect, DeskError> {
    crate::service::showcase::set_featured(&hub, &actor, &id, crate::service::showcase::Change::Unfeature)
        .await?;
    Ok(Redirect::to(&format!("/experts/{id}")))
}

async fn refresh(State(hub): State<Hub>, SignedIn(actor): SignedIn) -> Result<Redirect, DeskError> {
    crate::service::showcase::set_featured(&hub, &actor, "", crate::service::showcase::Change::Refresh)
        .await?;
    Ok(Redirect::to("/experts"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_year_is_twelve_months() {
        // 2026-12-07 12:00 UTC+8 and 2026-01-15.
        assert_eq!(last_year(1_796_616_000_000), Period::new(202601, 202612).unwrap());
        assert_eq!(last_year(1_768_449_600_000), Period::new(202502, 202601).unwrap());
    }
}
