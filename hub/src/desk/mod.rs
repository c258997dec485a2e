//! The operations desk (运营工作台) of a centre's hub, in zh-CN for staff and experts: one
//! module per page or page group. Each handler parses the request, calls one function of the
//! hub's service layer (`crate::service`), which authorises, audits and opens what the page
//! may show, and renders the result.
//!
//! - [`queue`]: the triage queue ordered by deadline with overdue and nearly-overdue lists, and
//!   an expert's work list (`/desk`);
//! - [`case`]: a case page with ranked expert suggestions, one-click assignment, escalation,
//!   on-site dispatch with travel costs, follow-up, the knowledge sign-off; its actions and
//!   media jobs;
//! - [`answer`]: an expert's answer with photos and a video;
//! - [`experts`] (找专家), [`knowledge`] (知识审核), [`export`] (导出);
//! - [`people`]: the people list, import, one person's edit, access, password, lockout;
//! - [`settings`] (时限设置), [`holidays`] (节假日与调休) and [`audit`] (审计记录);
//! - [`stats`] (统计, 管理中心): figures of a region and period, and its people;
//! - [`dashboard`] (可视化中心, `/dashboard`): the map, trends, funnel, industries, gauges and
//!   rankings of a region, drawn with ECharts from `/api/stats`;
//! - [`targets`] (指标): goals in force for a region, progress, forecast dates, setting them;
//! - [`evaluation`] (考评, 激励保障): centres' annual evaluation, county monthly ranking,
//!   experts' and officers' performance, commendations, the province's scoring rule, XLSX;
//! - [`subsidies`] (补贴发放): the standard, payees (masked), the monthly statements, their
//!   approval and the payment list (`yizhan_subsidies`' pages);
//! - [`review`]: the publication pipeline, generic over kinds (审核, an item's page and steps,
//!   the public pages of published items);
//! - [`industry`]: 产业信息's public pages and its bulk upload (`yizhan_industry`).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::Markup;
use yizhan_accounts::SignedIn;
use yizhan_core::{Actor, Role};
use yizhan_web::{Module, NavLink, Shell, Viewer, fmt};

use crate::Hub;
use crate::service::ServiceError;

pub mod answer;
pub mod audit;
pub mod breaker;
pub mod case;
mod clocks;
pub mod dashboard;
pub mod evaluation;
pub mod experts;
pub mod export;
pub mod holidays;
pub mod industry;
pub mod knowledge;
pub mod people;
pub mod queue;
pub mod review;
pub mod settings;
pub mod stats;
pub mod subsidies;
pub mod targets;

pub use answer::{ANSWER_PHOTOS_MAX, ANSWER_TEXT_BYTES_MAX, answer_bytes_max};
pub use case::SERVICE_CATEGORIES;
pub use people::IMPORT_BYTES_MAX;
pub use queue::{QueuePage, queue_page, queue_sections, queue_table};

pub fn routes() -> axum::Router<Hub> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/desk", get(queue::home))
        .route("/desk/cases/{id}", get(case::case_page))
        .route("/desk/cases/{id}/act", post(case::act_form))
        .route(
            "/desk/cases/{id}/answer",
            post(answer::answer_form).layer(axum::extract::DefaultBodyLimit::max(answer_bytes_max())),
        )
        .route("/desk/experts", get(experts::experts_page))
        .route("/desk/knowledge", get(knowledge::knowledge_page))
        .route("/desk/export", get(export::export_page))
        .route("/desk/export/download", get(export::export_download))
        .route(
            "/desk/people",
            get(people::people_page)
                .post(people::import_people)
                .layer(axum::extract::DefaultBodyLimit::max(IMPORT_BYTES_MAX)),
        )
        .route("/desk/settings", get(settings::settings_page).post(settings::save_settings))
        .route("/desk/holidays", get(holidays::holidays_page).post(holidays::publish))
        .route("/desk/people/{id}/active", post(people::set_active))
        .route("/desk/people/{id}/password", post(people::reset_password))
        .route("/desk/people/{id}/unlock", post(people::unlock))
        .route("/desk/people/{id}", get(people::person_page).post(people::save_person))
        .route("/desk/audit", get(audit::audit_page))
        .route("/desk/breaker", get(breaker::breaker_page).post(breaker::take_down))
        .route("/desk/breaker/{id}/lift", post(breaker::lift))
        .route("/desk/breaker/words", post(breaker::save_words))
        .route("/desk/stats", get(stats::stats_page))
        .route("/dashboard", get(dashboard::dashboard_page))
        .route("/desk/targets", get(targets::targets_page).post(targets::save_targets))
        .route("/desk/evaluation", get(evaluation::evaluation_page))
        .route("/desk/evaluation/export", get(evaluation::export))
        .route("/desk/stats/export", get(stats::export))
        .route("/desk/evaluation/rule", post(evaluation::save_rule))
        .route("/desk/subsidies", get(subsidies::statements_page))
        .route("/desk/subsidies/standard", get(subsidies::standard_page).post(subsidies::save_standard))
        .route("/desk/subsidies/payees", get(subsidies::payees_page).post(subsidies::save_payee))
        .route("/desk/subsidies/prepare", post(subsidies::prepare))
        .route("/desk/subsidies/{id}", get(subsidies::statement_page))
        .route("/desk/subsidies/{id}/act", post(subsidies::act))
        .route("/desk/subsidies/{id}/payments.xlsx", get(subsidies::export))
        .route("/desk/review", get(review::review_page))
        .route("/desk/items", post(review::create_item))
        .route("/desk/items/new", get(review::new_item_page))
        .route("/desk/items/{id}", get(review::item_page))
        .route("/desk/items/{id}/step", post(review::step_form))
        .route("/desk/items/{id}/edit", post(review::edit_item))
        .route(
            "/desk/items/{id}/photos",
            post(review::photos_form).layer(axum::extract::DefaultBodyLimit::max(review::photos_bytes_max())),
        )
        .route("/industry", get(industry::public_list))
        .route("/industry/{id}", get(industry::public_record))
        .route("/desk/industry/template.xlsx", get(industry::template))
        .route(
            "/desk/industry/import",
            get(industry::import_page)
                .post(industry::import_upload)
                .layer(axum::extract::DefaultBodyLimit::max(industry::import_bytes_max())),
        )
        .route("/items/{id}/photos/{hash}", get(review::public_photo))
        .route("/items", get(review::public_list))
        .route("/items/{id}", get(review::public_page))
        .route("/items/{id}/pdf", get(review::public_pdf))
        .route("/desk/cases/{id}/jobs", get(case::case_jobs))
        .route("/blobs/{hash}", get(blob))
}

/// A refusal or failure, shown as the desk's error page with its status code.
pub struct DeskError(pub(crate) StatusCode, pub(crate) String);

impl DeskError {
    pub(crate) fn bad_request(message: impl Into<String>) -> DeskError {
        DeskError(StatusCode::BAD_REQUEST, message.into())
    }

    /// A post to an upload endpoint that is not a multipart form (axum's own answer is English).
    pub(crate) fn not_multipart(e: &axum::extract::multipart::MultipartRejection) -> DeskError {
        tracing::info!(error = %e.body_text(), "refused an upload that is not a multipart form");
        DeskError(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "上传格式不正确：请使用页面上的表单提交（multipart/form-data）".into(),
        )
    }
}

impl IntoResponse for DeskError {
    fn into_response(self) -> Response {
        (self.0, shell(None).error_page(&self.1, "工作台")).into_response()
    }
}

impl From<ServiceError> for DeskError {
    fn from(e: ServiceError) -> DeskError {
        let status = match &e {
            ServiceError::Denied(_) => StatusCode::FORBIDDEN,
            ServiceError::NotFound(_) => StatusCode::NOT_FOUND,
            ServiceError::Invalid(_) => StatusCode::BAD_REQUEST,
            ServiceError::Upload(u) => u.status(),
            ServiceError::Failed(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ServiceError::Store(e) => {
                tracing::error!(error = %e, "desk");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        DeskError(status, e.message_zh())
    }
}

impl From<yizhan_store::StoreError> for DeskError {
    fn from(e: yizhan_store::StoreError) -> DeskError {
        ServiceError::Store(e).into()
    }
}

/// The desk's pages of the platform's modules, as the hub registers them for `actor`: only
/// what this hub serves and she may open.
pub fn nav(actor: &Actor) -> Vec<NavLink> {
    use yizhan_core::CentreAction;
    let may = |a| yizhan_core::authorize_centre(actor, a, actor.region.as_str()).is_ok();
    let (e, m) = (Module::ExpertService, Module::Management);
    let mut links = Vec::new();
    let (supply, achievements) = (Module::SupplySales, Module::Achievements);
    let industry = NavLink::new(Module::IndustryInfo, yizhan_industry::pages::LIST_PATH, "产业信息");
    if actor.role == Role::Expert {
        links.push(NavLink::new(e, "/desk", "我的案例"));
        links.push(industry);
        links.push(NavLink::new(supply, "/supply", "供求信息"));
        links.push(NavLink::new(achievements, "/achievements", "成果与榜单"));
        links.push(NavLink::new(achievements, "/innovation", "双创平台"));
        links.push(NavLink::new(achievements, crate::lectures::LIST_PATH, "特派员讲堂"));
        links.push(NavLink::new(achievements, "/desk/items/new?kind=lectures.lecture", "上传讲座"));
        return links;
    }
    links.push(NavLink::new(supply, "/supply", "供求信息"));
    links.push(NavLink::new(achievements, "/achievements", "成果与榜单"));
    links.push(NavLink::new(achievements, "/innovation", "双创平台"));
    links.push(NavLink::new(achievements, crate::lectures::LIST_PATH, "特派员讲堂"));
    links.push(NavLink::new(achievements, "/desk/items/new?kind=lectures.lecture", "上传讲座"));
    links.push(NavLink::new(e, "/desk", "分诊队列"));
    links.push(NavLink::new(e, "/desk/experts", "找专家"));
    if may(CentreAction::ReviewKnowledge) {
        links.push(NavLink::new(e, "/desk/knowledge", "知识审核"));
    }
    links.push(NavLink::new(e, "/desk/export", "导出"));
    if may(CentreAction::Statistics) {
        links.push(NavLink::new(m, "/desk/stats", "统计"));
        links.push(NavLink::new(m, "/dashboard", "可视化中心"));
        links.push(NavLink::new(m, "/desk/targets", "指标"));
        links.push(NavLink::new(m, "/desk/evaluation", "考评"));
        links.push(NavLink::new(m, "/desk/subsidies", "补贴发放"));
    }
    links.push(industry);
    links.push(NavLink::new(Module::IndustryInfo, "/desk/industry/import", "上传产业信息"));
    links.push(NavLink::new(m, "/desk/review", "审核"));
    if matches!(actor.region.level(), yizhan_core::RegionLevel::Province | yizhan_core::RegionLevel::County) {
        links.push(NavLink::new(m, "/desk/breaker", "安全熔断"));
    }
    if may(CentreAction::Administer) {
        links.push(NavLink::new(m, "/desk/people", "人员"));
        links.push(NavLink::new(m, "/desk/settings", "时限设置"));
        links.push(NavLink::new(m, "/desk/holidays", "节假日"));
        links.push(NavLink::new(m, "/desk/audit", "审计记录"));
    }
    links.push(NavLink::new(m, "/status", "同步状态"));
    links
}

/// The desk's shell for `actor` (none on error pages and the hub's public pages).
pub fn shell(actor: Option<&Actor>) -> Shell {
    let mut shell = Shell::new("desk", "运营工作台", "/desk");
    // The public pages (产业信息) for everyone, signed in or not.
    shell.nav = vec![
        NavLink::new(Module::IndustryInfo, yizhan_industry::pages::LIST_PATH, "产业信息"),
        NavLink::new(Module::Achievements, "/innovation", "双创平台"),
        NavLink::new(Module::ExpertService, "/experts", "特派员风采"),
    ];
    if let Some(a) = actor {
        shell.nav = nav(a);
        shell.viewer = Some(Viewer {
            name: a.name.clone(),
            role_zh: a.role.name_zh().into(),
            region_zh: fmt::region(a.region.as_str()),
        });
    }
    shell
}

fn page(title: &str, actor: Option<&Actor>, body: Markup) -> Markup {
    shell(actor).render(title, body)
}

async fn blob(
    State(hub): State<Hub>,
    SignedIn(_actor): SignedIn,
    Path(hash): Path<String>,
    req: axum::extract::Request,
) -> Response {
    yizhan_uploads::serve_blob(&hub.store, &hash, req, true).await
}

/// A list of cases (an expert's work list, the knowledge queue): a first column of the
/// caller's (`first`: its heading and value), then place, industry, question, and a button to
/// the case; `empty` when there are none.
fn case_list(
    rows: &[yizhan_store::CaseRow],
    testid: &str,
    first: (&str, &dyn Fn(&yizhan_store::CaseRow) -> String),
    button: &str,
    empty: &str,
) -> Markup {
    let (first_th, first_td) = first;
    maud::html! {
        @if rows.is_empty() { p.muted { (empty) } }
        @else {
            table data-testid=(testid) {
                thead { tr { th { (first_th) } th { "地点" } th { "产业" } th { "问题" } th { "" } } }
                tbody {
                    @for r in rows {
                        tr {
                            td { (first_td(r)) }
                            td { (fmt::region(&r.region_code)) " " (r.village_name) }
                            td { (fmt::industry(&r.industry)) }
                            td { b { (r.subject) } " " (r.description.chars().take(60).collect::<String>()) }
                            td { a.button href=(format!("/desk/cases/{}", r.id)) { (button) } }
                        }
                    }
                }
            }
        }
    }
}
