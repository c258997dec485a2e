//! Find an expert (找专家): the experts of the centre's region and above, by industry,
//! sub-region and words, with their load and rating.

use axum::extract::{Query, State};
use maud::{Markup, html};
use yizhan_accounts::SignedIn;
use yizhan_core::{Industry, RegionLevel, regions};
use yizhan_web::fmt;

use super::{DeskError, page};
use crate::Hub;
use crate::service;
use crate::service::centre::ExpertQuery;

pub(super) async fn experts_page(
    State(hub): State<Hub>,
    SignedIn(actor): SignedIn,
    Query(q): Query<ExpertQuery>,
) -> Result<Markup, DeskError> {
    let (people, records) = service::centre::experts(&hub, &actor, &q).await?;
    let subregions = regions().children(actor.region.as_str());
    let body = html! {
        section.card {
            h1 { "找专家" }
            form.filters method="get" action="/desk/experts" {
                select name="industry" {
                    option value="" { "全部产业" }
                    @for i in Industry::ALL { option value=(i.code()) selected[q.industry == i.code()] { (i.name_zh()) } }
                }
                @if actor.region.level() < RegionLevel::County {
                    select name="region" {
                        option value="" { "全部地区" }
                        @for r in &subregions { option value=(r.code) selected[q.region == r.code] { (r.name) } }
                    }
                }
                input type="search" name="q" value=(q.q) placeholder="专长、姓名或职称，如 柑橘病害";
                button.primary type="submit" { "查找" }
            }
            table data-testid="experts" {
                thead { tr { th { "姓名" } th { "级别" } th { "地区" } th { "产业" } th { "专长" } th { "状态" } th { "在办" } th { "评分" } } }
                tbody {
                    @for p in &people {
                        @let rec = records.get(&p.id).cloned().unwrap_or_default();
                        tr {
                            td { b { (p.name) } br; small { (p.title) } }
                            td { (p.level().map(|l| l.name_zh()).unwrap_or("")) "级" }
                            td { (fmt::region(&p.region_code)) }
                            td { (p.industries.iter().map(|i| fmt::industry(i)).collect::<Vec<_>>().join("、")) }
                            td { (p.specialities.join("、")) }
                            td { (p.availability().name_zh()) }
                            td { (rec.open) }
                            td { @if let Some(a) = rec.rating_avg() { (format!("{a:.1}")) } @else { "-" } }
                        }
                    }
                }
            }
        }
    };
    Ok(page("找专家", Some(&actor), body))
}
