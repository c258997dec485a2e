//! Knowledge review (知识审核): solved cases waiting for the county centre's sign-off before
//! they are published as knowledge.

use axum::extract::State;
use maud::{Markup, html};
use yizhan_accounts::SignedIn;
use yizhan_web::fmt;

use super::{DeskError, case_list, page};
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
            (case_list(&rows, "knowledge-queue", ("办结", &|r| fmt::time_short(r.updated_at_ms)), "审核", "暂无待审核的案例"))
        }
    };
    Ok(page("知识审核", Some(&actor), body))
}
