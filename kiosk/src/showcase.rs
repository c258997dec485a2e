//! 特派员风采 at the kiosk, readable without sign-in: the featured (推荐) experts of its county,
//! city and province, from the `showcase` documents their centres wrote (`core::showcase`),
//! which flow down to the kiosk, so the page works with no link. Public figures only: name,
//! title, level, industries, the last year's service figures and lectures' titles. Linked from
//! 特派员讲堂's page (the header is full).

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use maud::{Markup, html};
use yizhan_core::RegionLevel;
use yizhan_core::showcase::{self, FeaturedExpert, ShowcaseDoc};
use yizhan_web::fmt;

use crate::AppState;
use crate::error::{AppError, PageError};
use crate::ui::{header_info, layout};

pub const PAGE_PATH: &str = "/experts";

pub fn routes() -> Router<AppState> {
    Router::new().route(PAGE_PATH, get(page))
}

/// The showcases the kiosk holds for its region, nearest centre first; one that does not
/// hydrate is skipped.
pub async fn showcases(state: &AppState) -> Result<Vec<ShowcaseDoc>, AppError> {
    let ids = showcase::ids_for(state.config.scope.as_str());
    Ok(state
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

fn level_zh(e: &FeaturedExpert) -> &'static str {
    match e.level() {
        Some(RegionLevel::Province) => "省级专家",
        Some(RegionLevel::City) => "市级专家",
        _ => "县级专家",
    }
}

fn centre_zh(region: &str) -> String {
    match RegionLevel::of(region) {
        Some(RegionLevel::Province) => "省级推荐".into(),
        _ => format!("{}推荐", fmt::region(region)),
    }
}

fn card(e: &FeaturedExpert) -> Markup {
    let initial: String = e.name.chars().take(1).collect();
    let industries: Vec<&str> = e.industries.iter().map(|c| fmt::industry_or(c, "其他")).collect();
    html! {
        li.expert-card data-testid="featured-expert" data-id=(e.id) {
            // No photo in the directory: the name's first character stands in.
            div.avatar aria-hidden="true" { (initial) }
            div {
                b data-testid="name" { (e.name) } " " span.tag { (level_zh(e)) }
                @if !e.title.is_empty() { div.muted data-testid="title" { (e.title) } }
                div { "服务产业：" (industries.join("、")) }
                div.facts data-testid="figures" {
                    "近 12 个月答复 " b { (e.answered) } " 次 · 3 小时内响应 "
                    b { @match e.in_time_percent() { Some(v) => (format!("{v:.0}%")), None => "—" } }
                    " · 平均评分 "
                    b { @match e.mean_rating() { Some(v) => (format!("{v:.1}")), None => "—" } }
                    " · 上门服务 " b { (e.onsite_visits) } " 次"
                }
                @if !e.lectures.is_empty() {
                    div data-testid="lectures" { "讲座：" (e.lectures.join("；")) }
                }
            }
        }
    }
}

async fn page(State(state): State<AppState>) -> Result<Markup, PageError> {
    let lists = showcases(&state).await?;
    let header = header_info(&state).await;
    // An expert featured by two centres is shown once, under the nearer.
    let mut seen: Vec<&str> = Vec::new();
    let mut groups: Vec<(&str, Vec<&FeaturedExpert>)> = Vec::new();
    for s in &lists {
        let fresh: Vec<&FeaturedExpert> =
            s.experts.iter().filter(|e| !seen.contains(&e.id.as_str())).collect();
        seen.extend(fresh.iter().map(|e| e.id.as_str()));
        if !fresh.is_empty() {
            groups.push((s.region_code.as_str(), fresh));
        }
    }
    let body = html! {
        section.card.showcase data-testid="kiosk-showcase" {
            h1 { "特派员风采" }
            p.muted { "县、市、省运营中心推荐的科技特派员（数据随同步更新，离线可看）。" }
            @if groups.is_empty() { p.muted data-testid="no-featured" { "暂无推荐专家" } }
            @for (region, experts) in &groups {
                h2 { (centre_zh(region)) }
                ul.expert-cards { @for e in experts { (card(e)) } }
            }
        }
    };
    Ok(layout("特派员风采", header.as_ref(), None, body))
}
