//! The hub's JSON API beside the desk, described by OpenAPI at `/api/openapi.json` (the kiosk
//! has its own document). So far: `/api/stats`, the statistics of the 管理中心, and
//! `/api/targets`, the targets (指标) in force for a region and its progress (sign-in and
//! region scope enforced by the service layer). Errors are `{"error": code, "message": 中文}`.
//!
//! The response types live in `yizhan_core::stats` (serialised as they are); the schema types
//! here describe them for OpenAPI, the counters generated from `Counts::NAMES` so the document
//! cannot drift from what is sent (`hub/tests/stats.rs` compares the two).

use std::borrow::Cow;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::{RefOr, path::ParameterIn};
use utoipa::{IntoParams, OpenApi, PartialSchema, ToSchema};
use yizhan_accounts::SignedIn;
use yizhan_core::stats::Counts;

use crate::Hub;
use crate::service::ServiceError;
use crate::service::stats::{StatsParams, StatsView};

pub fn routes() -> Router<Hub> {
    Router::new()
        .route("/api/openapi.json", get(|| async { Json(ApiDoc::openapi()) }))
        .route("/api/stats", get(stats))
        .route("/api/targets", get(targets))
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Yizhan hub API (驿站)",
        version = "1",
        description = "A county, city or province hub: statistics of the expert service for signed-in centre staff."
    ),
    paths(stats, targets, crate::innovation::api),
    components(schemas(
        StatsDoc,
        FiguresDoc,
        CountsDoc,
        RatesDoc,
        GroupDoc,
        CategoryDoc,
        PeopleDoc,
        LevelCountDoc,
        IndustryCountDoc,
        VillageDoc,
        CentreDoc,
        LectureViewsDoc,
        MonthViewsDoc,
        RegionViewsDoc,
        LectureCountDoc,
        TargetsBody,
        ProgressDoc,
        ForecastDoc,
        ErrorBody,
        crate::innovation::PlatformsBody,
        yizhan_achievements::platform::Platform
    ))
)]
pub struct ApiDoc;

#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    /// not_signed_in | forbidden | invalid | internal
    pub error: String,
    /// 给用户看的中文说明
    pub message: String,
}

/// The counters (`yizhan_core::stats::Counts`): integers summed over the cases of the region
/// and period; `travel_cost_fen` in fen, `rating_sum` the sum of 1-5 ratings.
pub struct CountsDoc;

impl PartialSchema for CountsDoc {
    fn schema() -> RefOr<Schema> {
        let mut o = ObjectBuilder::new().description(Some("Counters summed over the cases (see Counts)"));
        for (name, zh) in Counts::NAMES.iter().zip(Counts::NAMES_ZH) {
            o = o
                .property(*name, ObjectBuilder::new().schema_type(Type::Integer).description(Some(zh)))
                .required(*name);
        }
        RefOr::T(Schema::Object(o.build()))
    }
}

impl ToSchema for CountsDoc {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Counts")
    }
}

/// Rates derived from the counters (fractions 0..1; null when nothing was measured).
#[derive(ToSchema)]
#[schema(as = Rates)]
pub struct RatesDoc {
    /// solved_by_similar / cases
    pub solved_by_similar: Option<f64>,
    /// triaged_in_time / triaged (triaged within 1 h: no triage breach record)
    pub triaged_in_time: Option<f64>,
    /// responded_in_time / responded (answered or on-site requested within 3 h)
    pub responded_in_time: Option<f64>,
    /// followed_up_in_time / followed_up (within a week)
    pub followed_up_in_time: Option<f64>,
    /// valid / followed_up
    pub valid: Option<f64>,
    /// rating_sum / rated
    pub mean_rating: Option<f64>,
}

#[derive(ToSchema)]
#[schema(as = Figures)]
pub struct FiguresDoc {
    #[schema(value_type = CountsDoc)]
    pub counts: (),
    pub rates: RatesDoc,
}

/// One line of a breakdown: `key` is a region code, an industry code, `YYYY-MM` or an expert
/// level (county, city, province, none); `counts` and `rates` as in the totals.
#[derive(ToSchema)]
#[schema(as = Group)]
pub struct GroupDoc {
    pub key: String,
    pub name: String,
    #[schema(value_type = CountsDoc)]
    pub counts: (),
    pub rates: RatesDoc,
}

#[derive(ToSchema)]
#[schema(as = CategoryCount)]
pub struct CategoryDoc {
    /// 服务类别 recorded by the follow-up call
    pub category: String,
    pub followed_up: i64,
    pub valid: i64,
}

#[derive(ToSchema)]
#[schema(as = LevelCount)]
pub struct LevelCountDoc {
    /// county | city | province
    pub level: String,
    pub name: String,
    pub count: i64,
}

#[derive(ToSchema)]
#[schema(as = IndustryCount)]
pub struct IndustryCountDoc {
    pub industry: String,
    pub name: String,
    pub count: i64,
}

#[derive(ToSchema)]
#[schema(as = VillageOfficers)]
pub struct VillageDoc {
    pub village: String,
    pub name: String,
    pub officers: i64,
}

#[derive(ToSchema)]
#[schema(as = CentreStaff)]
pub struct CentreDoc {
    pub region: String,
    pub name: String,
    pub staff: i64,
}

/// People of the region (active people of the directory this hub holds).
#[derive(ToSchema)]
#[schema(as = PeopleStats)]
pub struct PeopleDoc {
    pub experts: i64,
    pub experts_by_level: Vec<LevelCountDoc>,
    pub experts_by_industry: Vec<IndustryCountDoc>,
    pub officers: i64,
    pub villages_with_officers: i64,
    /// Villages with fewer than 2 officers (the plan's minimum).
    pub villages_below_plan: i64,
    /// At most 500 of them.
    pub villages_below_plan_listed: Vec<VillageDoc>,
    pub centres: Vec<CentreDoc>,
}

/// The statistics of a region over a period of whole months. A case counts in the month it
/// was recorded (UTC+8); later events (a closure that syncs days later) change that month.
#[derive(ToSchema)]
#[schema(as = Stats)]
pub struct StatsDoc {
    pub region: String,
    pub region_name: String,
    /// First month, YYYY-MM
    pub from: String,
    /// Last month, YYYY-MM (included)
    pub to: String,
    /// The breakdown asked for, or null
    pub by: Option<String>,
    pub totals: FiguresDoc,
    pub groups: Vec<GroupDoc>,
    pub categories: Vec<CategoryDoc>,
    /// Kiosks that recorded at least one case of the region in the period
    pub active_kiosks: i64,
    pub people: PeopleDoc,
    pub lecture_views: LectureViewsDoc,
}

/// 特派员讲堂 views recorded within the region in the period: one view is one opening of a
/// lecture's page at a kiosk or hub; counted in the month and region of the node that recorded it.
#[derive(ToSchema)]
#[schema(as = LectureViews)]
pub struct LectureViewsDoc {
    pub total: i64,
    /// Every month of the period, YYYY-MM
    pub by_month: Vec<MonthViewsDoc>,
    /// By the region of the recording kiosk or hub, most views first
    pub by_region: Vec<RegionViewsDoc>,
    /// By lecture (published id; its title where this hub holds it), most views first
    pub by_lecture: Vec<LectureCountDoc>,
}

#[derive(ToSchema)]
#[schema(as = MonthViews)]
pub struct MonthViewsDoc {
    pub month: String,
    pub views: i64,
}

#[derive(ToSchema)]
#[schema(as = RegionViews)]
pub struct RegionViewsDoc {
    pub region: String,
    pub name: String,
    pub views: i64,
}

#[derive(ToSchema)]
#[schema(as = LectureCount)]
pub struct LectureCountDoc {
    pub lecture: String,
    pub title: String,
    pub views: i64,
}

impl IntoParams for StatsParams {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<utoipa::openapi::path::Parameter> {
        use utoipa::openapi::path::ParameterBuilder;
        let p = |name: &str, doc: &str| {
            ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Query)
                .required(utoipa::openapi::Required::False)
                .description(Some(doc))
                .schema(Some(String::schema()))
                .build()
        };
        vec![
            p(
                "region",
                "Region code (default: the viewer's region); must lie within the viewer's and this hub's",
            ),
            p("from", "First month, YYYY-MM (default: January of `to`'s year)"),
            p("to", "Last month, YYYY-MM (default: this month)"),
            p("period", "A named period instead of from/to: 2026, 2026-Q2 or 2026-05"),
            p(
                "by",
                "Breakdown: city|county|town|village (one or two levels below the region), industry, month, expert_level",
            ),
        ]
    }
}

/// Statistics of the expert service for a region and period (管理中心 · 统计).
#[utoipa::path(
    get,
    path = "/api/stats",
    params(StatsParams),
    responses(
        (status = 200, body = StatsDoc),
        (status = 400, body = ErrorBody, description = "a parameter is invalid"),
        (status = 401, body = ErrorBody, description = "not signed in"),
        (status = 403, body = ErrorBody, description = "not centre staff, or the region is outside hers")
    )
)]
async fn stats(
    State(hub): State<Hub>,
    SignedIn(actor): SignedIn,
    params: Result<Query<StatsParams>, QueryRejection>,
) -> Response {
    let Ok(Query(params)) = params else {
        return error(StatusCode::BAD_REQUEST, "invalid", "查询参数格式不正确".into());
    };
    match crate::service::stats::stats(&hub, &actor, &params).await {
        Ok(view) => Json::<StatsView>(view).into_response(),
        Err(e) => service_error(e),
    }
}

fn service_error(e: ServiceError) -> Response {
    let (status, code) = match &e {
        ServiceError::Denied(_) => (StatusCode::FORBIDDEN, "forbidden"),
        ServiceError::Invalid(_) | ServiceError::NotFound(_) => (StatusCode::BAD_REQUEST, "invalid"),
        _ => {
            tracing::error!(error = %e, "api");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal")
        }
    };
    error(status, code, e.message_zh())
}

fn error(status: StatusCode, code: &str, message: String) -> Response {
    (status, Json(ErrorBody { error: code.into(), message })).into_response()
}

/// When a goal is reached at the current rate: `state` is `reached`, `on` (with `day`, days
/// since 1970-01-01), `stalled` (nothing added in the last year) or `unknown` (no history).
#[derive(ToSchema)]
#[schema(as = Forecast)]
pub struct ForecastDoc {
    pub state: String,
    pub day: Option<i64>,
}

/// Progress towards one goal.
#[derive(ToSchema)]
#[schema(as = Progress)]
pub struct ProgressDoc {
    /// centres | experts | officers | consultations | achievement_items | industry_items
    pub metric: String,
    pub name: String,
    pub unit: String,
    pub goal: i64,
    pub current: i64,
    /// current / goal (1 when the goal is 0)
    pub ratio: f64,
    /// Added per day over the last 365 days; null where no history is kept (people, centres)
    pub per_day: Option<f64>,
    pub forecast: ForecastDoc,
    /// The forecast date, YYYY-MM-DD
    pub reached_on: Option<String>,
    /// Reached (or reached at this rate) by the end of the target year
    pub on_time: Option<bool>,
}

/// The targets in force for a region: its own, else those of the nearest region above it.
#[derive(Serialize, ToSchema)]
#[schema(as = Targets)]
pub struct TargetsBody {
    pub region: String,
    pub region_name: String,
    /// The region whose centre set the goals in force (null: none set)
    pub set_for: Option<String>,
    /// The year by whose end the goals are due
    pub year: Option<i64>,
    #[schema(value_type = Vec<ProgressDoc>)]
    pub progress: Vec<yizhan_core::targets::Progress>,
}

#[derive(serde::Deserialize)]
struct TargetsParams {
    region: Option<String>,
}

/// The targets (指标) in force for a region and its progress (管理中心).
#[utoipa::path(
    get,
    path = "/api/targets",
    params(("region" = Option<String>, Query, description = "Region code (default: the viewer's); must lie within the viewer's and this hub's")),
    responses(
        (status = 200, body = TargetsBody),
        (status = 400, body = ErrorBody, description = "a parameter is invalid"),
        (status = 401, body = ErrorBody, description = "not signed in"),
        (status = 403, body = ErrorBody, description = "not centre staff, or the region is outside hers")
    )
)]
async fn targets(
    State(hub): State<Hub>,
    SignedIn(actor): SignedIn,
    params: Result<Query<TargetsParams>, QueryRejection>,
) -> Response {
    let Ok(Query(params)) = params else {
        return error(StatusCode::BAD_REQUEST, "invalid", "查询参数格式不正确".into());
    };
    match crate::service::targets::targets(&hub, &actor, params.region.as_deref()).await {
        Ok(v) => Json(TargetsBody {
            set_for: v.applied.as_ref().map(|t| t.region_code.clone()),
            year: v.applied.as_ref().map(|t| t.year),
            region: v.region,
            region_name: v.region_name,
            progress: v.progress,
        })
        .into_response(),
        Err(e) => service_error(e),
    }
}
