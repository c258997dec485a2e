//! The hub's pages of 供销对接 and 成果转化 (assembled from `yizhan-supply` and
//! `yizhan-achievements`): public lists and bounty pages without sign-in; the staff's form for a
//! cooperative's or an enterprise's listing (a draft on the pipeline, then the desk's item page);
//! the expert's claim (抢单) and the owning centre's pick (揭榜) and completion. Handlers parse,
//! call `crate::service::market` or the pipeline, render.

use axum::extract::{Form, Path, Query, State};
use axum::response::Redirect;
use maud::{Markup, html};
use yizhan_accounts::SignedIn;

use crate::Hub;
use crate::desk::{DeskError, shell};
use crate::service::market as svc;
use crate::service::publication::{self as pipeline, ItemInput};

pub fn routes() -> axum::Router<Hub> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/supply", get(supply_list).post(create_listing))
        .route("/supply/new", get(new_listing))
        .route("/achievements", get(achievements_list).post(create_entry))
        .route("/achievements/new", get(new_entry))
        .route("/achievements/bounty/{id}", get(bounty_page))
        .route("/achievements/bounty/{id}/claim", post(claim))
        .route("/achievements/claims/{id}/pick", post(pick))
        .route("/achievements/claims/{id}/done", post(done))
}

#[derive(Debug, serde::Deserialize, Default)]
pub(crate) struct SupplyQuery {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    industry: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    expired: String,
}

async fn supply_list(
    State(hub): State<Hub>,
    who: Option<SignedIn>,
    Query(q): Query<SupplyQuery>,
) -> Result<Markup, DeskError> {
    let docs = svc::published(&hub, yizhan_supply::PREFIX).await?;
    let filter = yizhan_supply::Filter {
        kind: q.kind.trim().into(),
        industry: q.industry.trim().into(),
        region: q.region.trim().into(),
        show_expired: !q.expired.is_empty(),
    };
    let now = hub.store.config().clock.now_ms();
    let listings = yizhan_supply::listings(&docs, &filter, now);
    let actor = who.map(|s| s.0);
    let staff = actor.as_ref().is_some_and(yizhan_core::Actor::is_centre);
    let body = html! {
        @if staff { p { a.button href="/supply/new" { "＋ 登记合作社或企业的供求信息" } } }
        (yizhan_supply::pages::list("/supply", &listings, &filter, now))
    };
    Ok(shell(actor.as_ref()).render("供销对接", body))
}

async fn new_listing(SignedIn(actor): SignedIn) -> Markup {
    let body = yizhan_supply::pages::form(&yizhan_web::action("/supply"), None, None);
    shell(Some(&actor)).render("登记供求信息", body)
}

/// A centre's listing: a draft owned by the centre, then the desk's item page (submit there).
async fn create_listing(
    State(hub): State<Hub>,
    SignedIn(actor): SignedIn,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Redirect, DeskError> {
    let get = |k: &str| pairs.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone()).unwrap_or_default();
    let kind =
        yizhan_supply::kind(get("kind").trim()).ok_or_else(|| DeskError::bad_request("请选择供应或求购"))?;
    let fields = yizhan_supply::pages::fields_of_form(&pairs).map_err(DeskError::bad_request)?;
    let input = ItemInput {
        kind: kind.name.into(),
        title: get("title"),
        body: get("body"),
        fields,
        ip_owner: get("ip_owner"),
    };
    let id = pipeline::create_item(&hub, &actor, input).await?;
    Ok(Redirect::to(&format!("/desk/items/{id}")))
}

#[derive(Debug, serde::Deserialize)]
pub(crate) struct KindQuery {
    #[serde(default)]
    kind: String,
}

async fn new_entry(SignedIn(actor): SignedIn, Query(q): Query<KindQuery>) -> Result<Markup, DeskError> {
    let kind = yizhan_achievements::kind(&q.kind).ok_or_else(|| DeskError::bad_request("未知的类别"))?;
    let body = yizhan_achievements::pages::form(&yizhan_web::action("/achievements"), &kind);
    Ok(shell(Some(&actor)).render(&format!("登记{}", kind.name_zh), body))
}

/// A centre's achievement, demand or bounty: a draft, then the desk's item page (submit there).
async fn create_entry(
    State(hub): State<Hub>,
    SignedIn(actor): SignedIn,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Redirect, DeskError> {
    let get = |k: &str| pairs.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone()).unwrap_or_default();
    let kind =
        yizhan_achievements::kind(get("kind").trim()).ok_or_else(|| DeskError::bad_request("未知的类别"))?;
    let fields = yizhan_achievements::pages::fields_of_form(&kind, &pairs).map_err(DeskError::bad_request)?;
    let input = ItemInput {
        kind: kind.name.into(),
        title: get("title"),
        body: get("body"),
        fields,
        ip_owner: get("ip_owner"),
    };
    let id = pipeline::create_item(&hub, &actor, input).await?;
    Ok(Redirect::to(&format!("/desk/items/{id}")))
}

async fn achievements_list(
    State(hub): State<Hub>,
    who: Option<SignedIn>,
    Query(filter): Query<yizhan_achievements::Filter>,
) -> Result<Markup, DeskError> {
    let docs = svc::published(&hub, yizhan_achievements::PREFIX).await?;
    let now = hub.store.config().clock.now_ms();
    let entries = yizhan_achievements::entries(&docs, &filter, now);
    let boards = svc::boards(&hub, &docs).await?;
    let actor = who.map(|s| s.0);
    let staff = actor.as_ref().is_some_and(yizhan_core::Actor::is_centre);
    let body = html! {
        @if staff {
            p.actions {
                a.button href=(format!("/achievements/new?kind={}", yizhan_achievements::ACHIEVEMENT)) { "＋ 科技成果" }
                " " a.button href=(format!("/achievements/new?kind={}", yizhan_achievements::DEMAND)) { "＋ 技术需求" }
                " " a.button href=(format!("/achievements/new?kind={}", yizhan_achievements::BOUNTY)) { "＋ 发布悬赏" }
            }
        }
        (yizhan_achievements::pages::list("/achievements", &entries, &filter, now, &boards))
    };
    Ok(shell(actor.as_ref()).render("成果转化", body))
}

async fn bounty_page(
    State(hub): State<Hub>,
    who: Option<SignedIn>,
    Path(id): Path<String>,
) -> Result<Markup, DeskError> {
    let actor = who.map(|s| s.0);
    let v = svc::bounty_view(&hub, actor.as_ref(), &id).await?;
    // 基地选择的参考: platforms near the owning centre serving the bounty's industry.
    let nearby = match yizhan_achievements::Entry::of(&v.published) {
        Some(e) => crate::innovation::suggestion(&hub, &e.centre, &e.industry).await?,
        None => None,
    };
    let claim_form = match (&v.may_claim, &actor) {
        (Some(Ok(())), _) => Some(Ok(yizhan_web::action(&format!("/achievements/bounty/{id}/claim")))),
        // Staff see the claims, not a refusal to claim.
        (Some(Err(r)), Some(a)) if a.role == yizhan_core::Role::Expert => Some(Err(r.message_zh())),
        (None, _) => Some(Err("专家请登录后抢单")),
        _ => None,
    };
    let pick = |c: &str| yizhan_web::action(&format!("/achievements/claims/{c}/pick"));
    let done = |c: &str| yizhan_web::action(&format!("/achievements/claims/{c}/done"));
    let entry = yizhan_achievements::Entry::of(&v.published);
    let owner = v.owner.then_some((
        v.claims.as_slice(),
        &pick as &dyn Fn(&str) -> String,
        &done as &dyn Fn(&str) -> String,
    ));
    let body = html! {
        (yizhan_web::published::item(&v.published))
        (yizhan_achievements::pages::board(&v.board, Some(v.deadline), entry.as_ref().and_then(|e| e.amount_fen), claim_form, owner))
        @if let Some(n) = nearby { (n) }
    };
    Ok(shell(actor.as_ref()).render(&v.published.title, body))
}

#[derive(Debug, serde::Deserialize)]
pub(crate) struct ClaimForm {
    #[serde(default)]
    proposal: String,
}

async fn claim(
    State(hub): State<Hub>,
    SignedIn(actor): SignedIn,
    Path(id): Path<String>,
    Form(f): Form<ClaimForm>,
) -> Result<Redirect, DeskError> {
    svc::claim_bounty(&hub, &actor, &id, &f.proposal).await?;
    Ok(Redirect::to(&format!("/achievements/bounty/{id}")))
}

async fn pick(
    State(hub): State<Hub>,
    SignedIn(actor): SignedIn,
    Path(id): Path<String>,
) -> Result<Redirect, DeskError> {
    let bounty = svc::decide(&hub, &actor, &id, false).await?;
    Ok(Redirect::to(&format!("/achievements/bounty/{bounty}")))
}

async fn done(
    State(hub): State<Hub>,
    SignedIn(actor): SignedIn,
    Path(id): Path<String>,
) -> Result<Redirect, DeskError> {
    let bounty = svc::decide(&hub, &actor, &id, true).await?;
    Ok(Redirect::to(&format!("/achievements/bounty/{bounty}")))
}
