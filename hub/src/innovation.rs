//! 农村双创平台 at a hub (assembled from `yizhan_achievements::{platform, map}`): the public map
//! and list (`/innovation`) and its JSON (`/api/innovation`, in the OpenAPI document), without
//! sign-in; the centre's registration form (a draft on the publication pipeline, checked before
//! anything is stored, then the desk's item page for photos and submission); and the nearest
//! platforms beside industry records and bounties (基地选择的参考).

use axum::Json;
use axum::extract::{Form, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::Markup;
use yizhan_accounts::SignedIn;
use yizhan_achievements::map;
use yizhan_achievements::platform::{self, Platform, PlatformFilter};
use yizhan_core::item::ORGANISATION_PHONE_FIELD;

use crate::Hub;
use crate::desk::{DeskError, shell};
use crate::service::publication::{self as pipeline, ItemInput};

pub fn routes() -> axum::Router<Hub> {
    use axum::routing::get;
    axum::Router::new()
        .route(map::PAGE_PATH, get(page).post(create))
        .route("/innovation/new", get(new_page))
        .route(map::API_PATH, get(api))
}

/// The published platforms this hub holds (not withdrawn), in the map's order.
pub async fn platforms(hub: &Hub, filter: &PlatformFilter) -> Result<Vec<Platform>, DeskError> {
    let docs = hub.store.call(|db| db.published_of_kinds(platform::PLATFORM, map::PLATFORMS_MAX)).await?;
    Ok(platform::platforms(&docs, filter))
}

/// The 基地选择的参考 section for a record of `industry` in `region`, if any.
pub async fn suggestion(hub: &Hub, region: &str, industry: &str) -> Result<Option<Markup>, DeskError> {
    let all = platforms(hub, &PlatformFilter::default()).await?;
    Ok(map::suggestion(&all, region, industry))
}

async fn page(
    State(hub): State<Hub>,
    who: Option<SignedIn>,
    Query(filter): Query<PlatformFilter>,
) -> Result<Markup, DeskError> {
    let shown = platforms(&hub, &filter).await?;
    let actor = who.map(|s| s.0);
    let staff = actor.as_ref().is_some_and(yizhan_core::Actor::is_centre);
    let mut shell = shell(actor.as_ref());
    shell.scripts = vec![yizhan_web::assets::ECHARTS_PATH, yizhan_web::assets::INNOVATION_PATH];
    Ok(shell.render("农村双创平台", map::page(&filter, &shown, yizhan_web::assets::MAPS_PATH, staff)))
}

/// The platforms passing the filter, as the map draws them.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct PlatformsBody {
    pub platforms: Vec<Platform>,
}

#[utoipa::path(
    get,
    path = "/api/innovation",
    params(
        ("type" = Option<String>, Query, description = "xingchuang | zhongchuang | incubator | park"),
        ("level" = Option<String>, Query, description = "national | provincial | city"),
        ("industry" = Option<String>, Query, description = "a 10+3 industry code"),
        ("city" = Option<String>, Query, description = "a region code: platforms within it"),
    ),
    responses((status = 200, description = "农村双创平台, public", body = PlatformsBody))
)]
pub async fn api(
    State(hub): State<Hub>,
    Query(filter): Query<PlatformFilter>,
) -> Result<Response, DeskError> {
    let platforms = platforms(&hub, &filter).await?;
    Ok(Json(PlatformsBody { platforms }).into_response())
}

async fn new_page(SignedIn(actor): SignedIn) -> Markup {
    shell(Some(&actor)).render("登记农村双创平台", map::form(&yizhan_web::action(map::PAGE_PATH), None))
}

/// A centre's platform: checked first (nothing stored when a check fails: the form comes back
/// with the problems), then a draft owned by the centre, then the desk's item page.
async fn create(
    State(hub): State<Hub>,
    SignedIn(actor): SignedIn,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, DeskError> {
    crate::service::require(&hub, &actor, yizhan_core::CentreAction::Desk)?;
    let get = |k: &str| pairs.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone()).unwrap_or_default();
    let fields = map::fields_of_form(&pairs);
    let mut problems = platform::check_fields(&fields, actor.region.as_str());
    let phone = get(ORGANISATION_PHONE_FIELD);
    if !phone.trim().is_empty() && !yizhan_core::item::is_organisation_phone(phone.trim()) {
        problems.push("单位电话须为单位座机（如 028-85001234）或 400/800 电话，不能填个人手机号".into());
    }
    if !problems.is_empty() {
        let body = map::form(&yizhan_web::action(map::PAGE_PATH), Some(&problems.join("；")));
        let page = shell(Some(&actor)).render("登记农村双创平台", body);
        return Ok((axum::http::StatusCode::BAD_REQUEST, page).into_response());
    }
    let input = ItemInput {
        kind: platform::PLATFORM.into(),
        title: get("title"),
        body: get("body"),
        fields,
        ip_owner: get("ip_owner"),
    };
    let id = pipeline::create_item(&hub, &actor, input).await?;
    Ok(Redirect::to(&format!("/desk/items/{id}")).into_response())
}
