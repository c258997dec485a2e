//! Knowledge review (知识审核): solved cases waiting for the county centre's sign-off before
//! they are published as knowledge.

use axum::extract::State;
use maud::{Markup, html};
use yizhan_accounts::SignedIn;
use yizhan_web::fmt;

use super::{DeskError, page};
use crate::Hub;
use crate::service;

pub(super) async fn knowledge_page(
    State(hub): State<Hub>,
    SignedIn(actor): SignedIn,
) -> Result<Markup, DeskError> {
    let rows = service::centre::knowledge_queue(&hub, &actor).await?;
    let body = html! {
        section.card {
            h1 { "知识审核（" (rows.len()) "）" }
            p.muted { "已办结并有专家答复的案例，审核通过后才会发布到知识库。" }
            @if rows.is_empty() { p.muted { "暂无待审核的案例" } }
            @else {
                table data-testid="knowledge-queue" {
                    thead { tr { th { "办结" } th { "地点" } th { "产业" } th { "问题" } th { "" } } }
                    tbody {
                        @for r in &rows {
                            tr {
                                td { (fmt::time_short(r.updated_at_ms)) }
                                td { (fmt::region(&r.region_code)) " " (r.village_name) }
                                td { (fmt::industry(&r.industry)) }
                                td { b { (r.subject) } " " (r.description.chars().take(60).collect::<String>()) }
                                td { a.button href=(format!("/desk/cases/{}", r.id)) { "审核" } }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page("知识审核", Some(&actor), body))
}
