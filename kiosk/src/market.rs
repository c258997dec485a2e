//! The kiosk's pages of 供销对接 and 成果转化 (assembled from `yizhan-supply` and
//! `yizhan-achievements`): the public lists, without sign-in, and the officer's form for a
//! farmer's offer or request.
//!
//! A listing drafted here is a publishable item owned by the kiosk's village (its scope: it
//! flows up to the county like a case, never sideways), submitted at once by the signed-in
//! officer, with the kind's automatic checks run here so she sees what to fix while the farmer
//! is present, online or not. The county centre reviews and signs it off (two people; it runs
//! the checks again first); only then does the county hub make the public document that every
//! node receives. The kiosk cannot publish: it writes no `published` document, and a public
//! document from a kiosk is refused by its hub (`Flow::Public`).

use axum::Router;
use axum::extract::{Form, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use maud::{Markup, html};
use serde::Deserialize;
use yizhan_core::item;
use yizhan_core::{Actor, Role};

use crate::AppState;
use crate::error::{AppError, PageError};
use crate::ui::{header_info, layout};

/// Listings read for one list page at most.
pub const LIST_MAX: u32 = 200;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/supply", get(list_page).post(create))
        .route("/supply/new", get(new_page))
        .route("/achievements", get(achievements_page))
        .route("/achievements/bounty/{id}", get(bounty_page))
}

#[derive(Debug, Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub industry: String,
    #[serde(default)]
    pub region: String,
    #[serde(default)]
    pub expired: String,
}

impl ListQuery {
    fn filter(&self) -> yizhan_supply::Filter {
        yizhan_supply::Filter {
            kind: self.kind.trim().into(),
            industry: self.industry.trim().into(),
            region: self.region.trim().into(),
            show_expired: !self.expired.is_empty(),
        }
    }
}

async fn published(
    state: &AppState,
    prefix: &'static str,
) -> Result<Vec<yizhan_core::published::PublishedDoc>, AppError> {
    Ok(state.store.call(move |db| db.published_of_kinds(prefix, LIST_MAX)).await?)
}

async fn list_page(
    State(state): State<AppState>,
    who: Option<yizhan_accounts::SignedIn>,
    Query(q): Query<ListQuery>,
) -> Result<Markup, PageError> {
    let docs = published(&state, yizhan_supply::PREFIX).await?;
    let now = state.clock.now_ms();
    let filter = q.filter();
    let listings = yizhan_supply::listings(&docs, &filter, now);
    let header = header_info(&state).await;
    let who = who.map(|s| s.0);
    let body = html! {
        @if who.is_some() { p { a.button href="/supply/new" data-testid="new-listing" { "＋ 为农户登记供求信息" } } }
        (yizhan_supply::pages::list("/supply", &listings, &filter, now))
    };
    Ok(layout("供销对接", header.as_ref(), who.as_ref(), body))
}

async fn new_page(
    State(state): State<AppState>,
    who: Option<yizhan_accounts::SignedIn>,
) -> Result<Response, PageError> {
    let Some(yizhan_accounts::SignedIn(actor)) = who else {
        return Ok(Redirect::to("/signin?next=/supply/new").into_response());
    };
    let header = header_info(&state).await;
    let scope = state.config.scope.to_string();
    let body = yizhan_supply::pages::form(&yizhan_web::action("/supply"), Some(&scope), None);
    Ok(layout("登记供求信息", header.as_ref(), Some(&actor), body).into_response())
}

async fn create(
    State(state): State<AppState>,
    who: Option<yizhan_accounts::SignedIn>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let Some(yizhan_accounts::SignedIn(actor)) = who else {
        return Err(PageError(AppError::SignInRequired));
    };
    match draft_listing(&state, &actor, &pairs).await {
        Ok(_) => Ok(Redirect::to("/supply?submitted=1").into_response()),
        Err(AppError::Invalid(message)) => {
            let header = header_info(&state).await;
            let scope = state.config.scope.to_string();
            let body =
                yizhan_supply::pages::form(&yizhan_web::action("/supply"), Some(&scope), Some(&message));
            let page = layout("登记供求信息", header.as_ref(), Some(&actor), body);
            Ok((axum::http::StatusCode::BAD_REQUEST, page).into_response())
        }
        Err(e) => Err(PageError(e)),
    }
}

/// Drafts a farmer's listing for the signed-in officer and submits it: owned by the kiosk's
/// village, checked here (nothing is stored when a check fails: the officer sees why), stamped
/// on the store's clock. Returns the item's id.
pub async fn draft_listing(
    state: &AppState,
    actor: &Actor,
    pairs: &[(String, String)],
) -> Result<String, AppError> {
    let village = state.config.scope.clone();
    if actor.role != Role::Officer || !actor.region.contains(&village) {
        return Err(AppError::Forbidden(yizhan_core::Denied::Role));
    }
    let get = |k: &str| {
        pairs.iter().find(|(key, _)| key == k).map(|(_, v)| v.trim().to_string()).unwrap_or_default()
    };
    let draft = yizhan_supply::StationDraft {
        kind: get("kind"),
        title: get("title"),
        body: get("body"),
        fields: yizhan_supply::pages::fields_of_form(pairs).map_err(AppError::Invalid)?,
        ip_owner: get("ip_owner"),
    };
    let id = format!("item-{}", uuid::Uuid::new_v4());
    let now_ms = state.clock.now_ms();
    let (_, mut doc) = yizhan_supply::station_draft(
        &draft,
        village.as_str(),
        (&actor.person_id, &actor.name),
        &state.node_id,
        &id,
        now_ms,
    )
    .map_err(AppError::Invalid)?;
    let (id2, node) = (id.clone(), state.node_id.clone());
    state
        .store
        .call(move |db| {
            // 安全熔断: a listed sensitive word holds the listing for the county's review (the
            // province's list, synced down); the county checks again before anyone reviews.
            if let Some(words) = db.sensitive_words()? {
                let item = item::ItemDoc::from_doc(&doc).map_err(|e| yizhan_store::StoreError::Corrupt {
                    id: id2.clone(),
                    detail: e.to_string(),
                })?;
                let hits = words.matcher().find_in_item(&item);
                if !hits.is_empty() {
                    let hold = item::ItemStep {
                        id: format!("{id2}-hold"),
                        at_ms: now_ms,
                        actor: format!("system:{node}"),
                        actor_name: "系统".into(),
                        role: "system".into(),
                        kind: yizhan_core::publication::StepKind::Hold.code().into(),
                        note: format!("命中敏感词：{}", hits.join("、"))
                            .chars()
                            .take(item::NOTE_CHARS_MAX)
                            .collect(),
                    };
                    item::ItemDoc::append_step(&mut doc, hold).map_err(|e| {
                        yizhan_store::StoreError::Corrupt { id: id2.clone(), detail: e.to_string() }
                    })?;
                }
            }
            db.create_doc(&id2, item::DOC_TYPE, &mut doc)
        })
        .await?;
    Ok(id)
}

async fn achievements_page(
    State(state): State<AppState>,
    who: Option<yizhan_accounts::SignedIn>,
    Query(q): Query<yizhan_achievements::Filter>,
) -> Result<Markup, PageError> {
    let docs = published(&state, yizhan_achievements::PREFIX).await?;
    let now = state.clock.now_ms();
    let entries = yizhan_achievements::entries(&docs, &q, now);
    let header = header_info(&state).await;
    let list = yizhan_achievements::pages::list("/achievements", &entries, &q, now, &Default::default());
    let body = maud::html! {
        p.module-links { "另见：" a href=(crate::lectures::LIST_PATH) { "特派员讲堂" } " · " a href="/innovation" { "农村双创平台地图" } }
        (list)
    };
    Ok(layout("成果转化", header.as_ref(), who.map(|s| s.0).as_ref(), body))
}

/// A bounty at the kiosk, without sign-in: the public item and its board as the kiosk knows it
/// (it holds no claims: the state from the deadline only); experts claim at their hub.
async fn bounty_page(
    State(state): State<AppState>,
    who: Option<yizhan_accounts::SignedIn>,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Result<Markup, PageError> {
    let p = crate::published::item(&state, &id).await?;
    let entry = yizhan_achievements::Entry::of(&p).filter(|e| e.kind == yizhan_achievements::BOUNTY);
    let Some(entry) = entry else { return Err(PageError(AppError::NotFound)) };
    let now = state.clock.now_ms();
    let board = yizhan_core::claim::board(entry.deadline.unwrap_or(i64::MAX), now, &[]);
    let nearby = crate::innovation::suggestion(&state, &entry.centre, &entry.industry).await?;
    let header = header_info(&state).await;
    let body = html! {
        (yizhan_web::published::item(&p))
        (yizhan_achievements::pages::board(&board, entry.deadline, entry.amount_fen, Some(Err("专家请在所在运管中心的平台登录后抢单")), None))
        @if let Some(n) = nearby { (n) }
    };
    Ok(layout(&p.title, header.as_ref(), who.map(|s| s.0).as_ref(), body))
}
