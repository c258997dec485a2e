//! The JSON API beside the UI, for the same operations, described by OpenAPI at
//! `/api/openapi.json`. Errors are `{"error": code, "message": 中文}`.

use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};
use yizhan_core::{Industry, Status, regions};
use yizhan_store::{CaseFilter, CaseRow, Job};

use crate::AppState;
use crate::error::{ApiError, AppError};
use crate::service::{self, EventInput, SimilarCase};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/openapi.json", get(|| async { Json(ApiDoc::openapi()) }))
        .route("/api/status", get(status))
        .route("/api/cases", get(list_cases).post(create_case))
        .route("/api/cases/{id}", get(get_case))
        .route("/api/cases/{id}/events", post(add_event))
        .route("/api/regions/{code}/children", get(region_children))
        .route("/api/industries", get(industries))
        .route("/api/similar", get(similar_get).post(similar_post))
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Yizhan kiosk API (驿站)",
        version = "1",
        description = "Record and follow consultation cases on a village kiosk. Works offline."
    ),
    paths(status, list_cases, create_case, get_case, add_event, region_children, industries),
    components(schemas(
        NodeStatus,
        CaseSummary,
        CaseDetail,
        AttachmentDto,
        EventDto,
        JobDto,
        EventRequest,
        Created,
        ErrorBody,
        RegionDto,
        IndustryDto,
        CaseUploadForm
    ))
)]
pub struct ApiDoc;

#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    /// invalid | not_found | too_large | media | internal
    pub error: String,
    /// 给用户看的中文说明
    pub message: String,
}

#[derive(Serialize, ToSchema)]
pub struct NodeStatus {
    pub node_id: String,
    pub scope: String,
    pub cases: i64,
    /// Documents with changes the county hub has not acknowledged yet.
    pub unsynced_docs: i64,
    pub blobs: i64,
    pub blob_bytes: i64,
    /// Video jobs waiting or running.
    pub jobs_pending: i64,
    /// The link to the county hub: `state` is disabled, connecting, syncing, synced or offline.
    #[schema(value_type = Object)]
    pub sync: yizhan_net::SyncStatus,
    /// What the county hub does not hold yet (documents, photos, videos, bytes, estimate), as
    /// the header shows it; `all_synced` only when it holds everything.
    pub to_county: crate::sync_state::SyncSummary,
    /// The SHA-256 fingerprint of the kiosk's self-signed web certificate (HTTPS with a local
    /// certificate), for the officer to compare with the tablet's; absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web_fingerprint: Option<String>,
}

#[utoipa::path(get, path = "/api/status", responses((status = 200, body = NodeStatus)))]
async fn status(State(state): State<AppState>) -> Result<Json<NodeStatus>, ApiError> {
    let s = state.store.call(|db| db.stats()).await?;
    let to_county = crate::sync_state::summary(&state).await?;
    Ok(Json(NodeStatus {
        to_county,
        node_id: state.node_id.clone(),
        scope: state.config.scope.to_string(),
        cases: s.cases,
        unsynced_docs: s.unsynced_docs,
        blobs: s.blobs,
        blob_bytes: s.blob_bytes,
        jobs_pending: s.jobs_pending,
        sync: state.sync.get(),
        web_fingerprint: state.web.fingerprint.clone(),
    }))
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct CaseSummary {
    pub id: String,
    pub region_code: String,
    pub village_name: String,
    pub industry: String,
    pub subject: String,
    pub description: String,
    pub farmer_name: String,
    /// Masked, e.g. 138****5678.
    pub farmer_phone_masked: String,
    /// The officer's name, or `未登录` when the case was recorded with nobody signed in.
    pub officer: String,
    /// False when the case was recorded with nobody signed in (`officer` is then `未登录`).
    pub officer_signed_in: bool,
    pub status: String,
    pub status_name: String,
    pub expert: String,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    pub photo_count: i64,
    pub video_count: i64,
    /// Hash of the first photo's thumbnail (`/blobs/{hash}`), empty if none.
    pub thumb_hash: String,
    pub unsynced: bool,
    /// The county hub holds the case whole: its documents, thumbnails, display copies, video
    /// posters and proxies (originals not counted).
    pub at_county: bool,
}

impl From<CaseRow> for CaseSummary {
    fn from(r: CaseRow) -> CaseSummary {
        CaseSummary {
            status_name: Status::from_code(&r.status).map(Status::name_zh).unwrap_or("").to_string(),
            id: r.id,
            region_code: r.region_code,
            village_name: r.village_name,
            industry: r.industry,
            subject: r.subject,
            description: r.description,
            farmer_name: r.farmer_name,
            farmer_phone_masked: r.phone_masked,
            officer_signed_in: r.officer != yizhan_core::UNSIGNED_OFFICER,
            officer: r.officer,
            status: r.status,
            expert: r.expert,
            created_at_ms: r.created_at_ms,
            updated_at_ms: r.updated_at_ms,
            photo_count: r.photo_count,
            video_count: r.video_count,
            thumb_hash: r.thumb_hash,
            unsynced: r.unsynced,
            at_county: r.at_parent,
        }
    }
}

#[derive(Deserialize, IntoParams)]
pub struct ListParams {
    /// Text contained in subject, description, village, farmer or officer.
    q: Option<String>,
    status: Option<String>,
    industry: Option<String>,
    /// 1 to 500, default 50.
    limit: Option<u32>,
    offset: Option<u32>,
}

#[utoipa::path(get, path = "/api/cases", params(ListParams), responses((status = 200, body = [CaseSummary])))]
async fn list_cases(
    State(state): State<AppState>,
    Query(p): Query<ListParams>,
) -> Result<Json<Vec<CaseSummary>>, ApiError> {
    let filter = CaseFilter {
        status: p.status,
        industry: p.industry,
        text: p.q,
        limit: p.limit.unwrap_or(50),
        offset: p.offset.unwrap_or(0),
    };
    let rows = state.store.call(move |db| db.list_cases(&filter)).await?;
    Ok(Json(rows.into_iter().map(CaseSummary::from).collect()))
}

/// The multipart form that records a case (same fields as the kiosk's form).
#[allow(dead_code)]
#[derive(ToSchema)]
pub struct CaseUploadForm {
    /// One of /api/industries.
    industry: String,
    subject: String,
    description: String,
    /// A town (9 digits) or village (12 digits) code within the kiosk's scope.
    region_code: String,
    village_name: Option<String>,
    farmer_name: Option<String>,
    /// Stored encrypted; shown masked.
    farmer_phone: Option<String>,
    /// Ignored: the case records the signed-in officer (her id and name), or `未登录`.
    officer: Option<String>,
    /// JPEG, PNG or WebP; repeat the field for several photos.
    #[schema(value_type = Vec<String>, format = Binary)]
    photos: Vec<Vec<u8>>,
    /// `save` (default) or `escalate` (提交专家: save and send to the county centre; needs a
    /// signed-in officer, 401 otherwise).
    intent: Option<String>,
    /// The id of a similar solved case that answered the problem (解决了).
    solved_by: Option<String>,
    /// Ids of the similar cases shown, comma-separated.
    offered: Option<String>,
    /// One video (MP4/MOV/...), processed in the background into a 480p proxy.
    #[schema(value_type = Option<String>, format = Binary)]
    video: Option<Vec<u8>>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct Created {
    pub id: String,
    pub url: String,
}

#[utoipa::path(post, path = "/api/cases", request_body(content = CaseUploadForm, content_type = "multipart/form-data"),
    responses((status = 201, body = Created), (status = 422, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 415, body = ErrorBody)))]
async fn create_case(
    State(state): State<AppState>,
    who: Option<yizhan_accounts::SignedIn>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    let up = crate::upload::parse(&state, multipart?).await?;
    let id = service::record_case(&state, up, who.as_ref().map(|w| &w.0)).await?;
    Ok((StatusCode::CREATED, Json(Created { url: format!("/cases/{id}"), id })))
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct AttachmentDto {
    pub hash: String,
    /// photo | video
    pub kind: String,
    /// original | display | thumb | poster | proxy
    pub role: String,
    /// Hash of the original this copy was made from.
    pub group: String,
    pub mime: String,
    pub bytes: u64,
    pub width: u64,
    pub height: u64,
    pub duration_ms: u64,
    pub name: String,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct EventDto {
    pub id: String,
    pub at_ms: i64,
    /// A person id, or `未登录`.
    pub actor: String,
    /// Who took the step, by name (or her centre, or `未登录`); never an account id.
    pub actor_name: String,
    pub kind: String,
    pub kind_name: String,
    pub text: String,
    pub target: String,
    pub value: i64,
    pub category: String,
    /// False when the event lost to a concurrent, conflicting one.
    pub applied: bool,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct JobDto {
    pub kind: String,
    pub blob_hash: String,
    /// pending | running | done | failed
    pub state: String,
    pub progress: f64,
    pub error: String,
}

impl From<Job> for JobDto {
    fn from(j: Job) -> JobDto {
        let state = serde_json::to_value(j.state)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        JobDto { kind: j.kind, blob_hash: j.blob_hash, state, progress: j.progress, error: j.error }
    }
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct CaseDetail {
    pub id: String,
    pub region_code: String,
    pub region_name: String,
    pub village_name: String,
    pub industry: String,
    pub subject: String,
    pub description: String,
    pub farmer_name: String,
    pub farmer_phone_masked: String,
    /// The officer's name, or `未登录`.
    pub officer: String,
    /// The signed-in officer's person id; empty when nobody was signed in.
    pub officer_id: String,
    /// False when the case was recorded with nobody signed in.
    pub officer_signed_in: bool,
    pub origin_node: String,
    pub created_at_ms: i64,
    pub status: String,
    pub status_name: String,
    pub expert: Option<String>,
    /// The expert by name.
    pub expert_name: Option<String>,
    pub rating: Option<i64>,
    /// The knowledge that solved the case (找类似 → 解决了), with its IP owner.
    pub solved_by: Option<SimilarCase>,
    pub attachments: Vec<AttachmentDto>,
    pub events: Vec<EventDto>,
    pub jobs: Vec<JobDto>,
    pub unsynced: bool,
    /// The county hub holds the case whole: its documents, thumbnails, display copies, video
    /// posters and proxies (originals not counted).
    pub at_county: bool,
}

#[utoipa::path(get, path = "/api/cases/{id}", params(("id" = String, Path)),
    responses((status = 200, body = CaseDetail), (status = 404, body = ErrorBody)))]
async fn get_case(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<CaseDetail>, ApiError> {
    let v = service::case_view(&state, &id).await?;
    let solved_by = match &v.state.solved_by {
        Some(kb) => service::solving_answer(&state, kb).await?,
        None => None,
    };
    let c = &v.case;
    let events = c
        .ordered_events()
        .into_iter()
        .map(|e| EventDto {
            id: e.id.clone(),
            at_ms: e.at_ms,
            actor: e.actor.clone(),
            actor_name: v.actor_name(e),
            kind: e.kind.clone(),
            kind_name: e.kind().name_zh().to_string(),
            text: e.text.clone(),
            target: e.target.clone(),
            value: e.value,
            category: e.category.clone(),
            applied: !v.state.ignored_events.contains(&e.id),
        })
        .collect();
    let attachments = c
        .attachments
        .values()
        .map(|a| AttachmentDto {
            hash: a.hash.clone(),
            kind: a.kind.clone(),
            role: a.role.clone(),
            group: a.group.clone(),
            mime: a.mime.clone(),
            bytes: a.bytes,
            width: a.width,
            height: a.height,
            duration_ms: a.duration_ms,
            name: a.name.clone(),
        })
        .collect();
    Ok(Json(CaseDetail {
        id: c.id.clone(),
        region_name: regions().path_name(&c.region_code),
        region_code: c.region_code.clone(),
        village_name: c.village_name.clone(),
        industry: c.industry.clone(),
        subject: c.subject.clone(),
        description: c.description.clone(),
        farmer_name: c.farmer_name.clone(),
        farmer_phone_masked: v.phone_masked.clone(),
        officer: c.officer.clone(),
        officer_id: c.officer_id.clone(),
        officer_signed_in: c.officer_signed_in(),
        origin_node: c.origin_node.clone(),
        created_at_ms: c.created_at_ms,
        status: v.state.status.code().to_string(),
        status_name: v.state.status.name_zh().to_string(),
        expert: v.state.expert.clone(),
        expert_name: v.state.expert.as_deref().map(|e| v.expert_name(e)),
        rating: v.state.rating,
        solved_by,
        attachments,
        events,
        jobs: v.jobs.into_iter().map(JobDto::from).collect(),
        unsynced: v.unsynced,
        at_county: v.at_parent,
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct EventRequest {
    /// escalated | closed | rated | solved_by_similar | similar_offered. Escalating, closing and
    /// rating need a signed-in officer (401 otherwise).
    pub kind: String,
    /// Ignored (kept for older clients): the event records the signed-in person, or `未登录`.
    #[serde(default)]
    #[allow(dead_code)]
    pub actor: String,
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub target: String,
    /// The rating (1-5) for `rated`.
    #[serde(default)]
    pub value: i64,
    #[serde(default)]
    pub category: String,
}

#[utoipa::path(post, path = "/api/cases/{id}/events", params(("id" = String, Path)), request_body = EventRequest,
    responses((status = 200, body = CaseDetail), (status = 422, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn add_event(
    State(state): State<AppState>,
    who: Option<yizhan_accounts::SignedIn>,
    Path(id): Path<String>,
    Json(r): Json<EventRequest>,
) -> Result<Json<CaseDetail>, ApiError> {
    let input =
        EventInput { kind: r.kind, text: r.text, target: r.target, value: r.value, category: r.category };
    service::add_event(&state, &id, input, who.as_ref().map(|w| &w.0)).await?;
    get_case(State(state), Path(id)).await
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct RegionDto {
    pub code: String,
    pub name: String,
}

#[utoipa::path(get, path = "/api/regions/{code}/children", params(("code" = String, Path)),
    responses((status = 200, body = [RegionDto]), (status = 404, body = ErrorBody)))]
async fn region_children(Path(code): Path<String>) -> Result<Json<Vec<RegionDto>>, ApiError> {
    let db = regions();
    db.get(&code).ok_or(AppError::NotFound)?;
    Ok(Json(
        db.children(&code)
            .into_iter()
            .map(|r| RegionDto { code: r.code.clone(), name: r.name.clone() })
            .collect(),
    ))
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct IndustryDto {
    pub code: String,
    pub name: String,
}

#[utoipa::path(get, path = "/api/industries", responses((status = 200, body = [IndustryDto])))]
async fn industries() -> Json<Vec<IndustryDto>> {
    Json(
        Industry::ALL
            .iter()
            .map(|i| IndustryDto { code: i.code().into(), name: i.name_zh().into() })
            .collect(),
    )
}

#[derive(Deserialize, IntoParams)]
pub struct SimilarParams {
    /// What the officer has typed so far (subject and description).
    q: String,
    industry: Option<String>,
}

/// The five most similar solved cases, one per distinct answer (找类似).
#[utoipa::path(get, path = "/api/similar", params(SimilarParams), responses((status = 200, body = [SimilarCase])))]
async fn similar_get(
    State(state): State<AppState>,
    Query(p): Query<SimilarParams>,
) -> Result<Json<Vec<SimilarCase>>, ApiError> {
    Ok(Json(service::similar(&state, p.q, p.industry, Vec::new()).await?))
}

/// Like GET, with photos (multipart fields `q`, `industry`, `photos`): a photo of the same
/// symptom finds its earlier case.
#[utoipa::path(post, path = "/api/similar", request_body(content = String, content_type = "multipart/form-data"),
    responses((status = 200, body = [SimilarCase])))]
async fn similar_post(
    State(state): State<AppState>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Json<Vec<SimilarCase>>, ApiError> {
    let mut multipart = multipart?;
    let limit = state.config.limits.media.photo_bytes_max as usize;
    let (mut q, mut industry, mut photos) = (String::new(), None, Vec::new());
    while let Some(mut field) = multipart.next_field().await.map_err(yizhan_uploads::multipart_err)? {
        let name = field.name().unwrap_or_default().to_string();
        let bytes = yizhan_uploads::read_limited(&mut field, limit as u64, || {
            format!("照片过大：每张最多 {} MB", yizhan_uploads::mb(limit as u64))
        })
        .await?;
        match name.as_str() {
            "q" => q = String::from_utf8_lossy(&bytes).into_owned(),
            "industry" => industry = Some(String::from_utf8_lossy(&bytes).into_owned()),
            "photos" | "photo"
                if !bytes.is_empty()
                    && bytes.len() <= limit
                    && photos.len() < state.config.limits.photos_max =>
            {
                photos.push(bytes.to_vec())
            }
            _ => {}
        }
    }
    Ok(Json(service::similar(&state, q, industry, photos).await?))
}
