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
//! - [`settings`] (时限设置) and [`audit`] (审计记录).

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use yizhan_accounts::SignedIn;
use yizhan_core::{Actor, Role};
use yizhan_web::fmt;

use crate::Hub;
use crate::service::ServiceError;

pub mod answer;
pub mod audit;
pub mod case;
mod clocks;
pub mod experts;
pub mod export;
pub mod knowledge;
pub mod people;
pub mod queue;
pub mod settings;

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
        .route("/desk/people/{id}/active", post(people::set_active))
        .route("/desk/people/{id}/password", post(people::reset_password))
        .route("/desk/people/{id}/unlock", post(people::unlock))
        .route("/desk/people/{id}", get(people::person_page).post(people::save_person))
        .route("/desk/audit", get(audit::audit_page))
        .route("/desk/cases/{id}/jobs", get(case::case_jobs))
        .route("/blobs/{hash}", get(blob))
        .route("/static/app.js", get(app_js))
}

/// The kiosk's script (upload progress, transcoding progress); every page works without it.
async fn app_js() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "no-cache")],
        include_str!("../../../assets/web/app.js"),
    )
}

/// A refusal or failure, shown as the desk's error page with its status code.
pub struct DeskError(StatusCode, String);

impl DeskError {
    pub(crate) fn bad_request(message: impl Into<String>) -> DeskError {
        DeskError(StatusCode::BAD_REQUEST, message.into())
    }
}

impl IntoResponse for DeskError {
    fn into_response(self) -> Response {
        let body = page(
            "无法完成操作",
            None,
            html! {
                section.card.error {
                    h1 { "无法完成操作" }
                    p.msg data-testid="error" { (self.1) }
                    p { a.button href="javascript:history.back()" { "返回上一页" } " " a.button href="/desk" { "工作台" } }
                }
            },
        );
        (self.0, body).into_response()
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

fn page(title: &str, actor: Option<&Actor>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="zh-CN" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · 运营工作台" }
                (yizhan_web::csrf_meta())
                style { (PreEscaped(DESK_CSS)) }
                script src="/static/app.js" defer {}
            }
            body {
                header.top {
                    a.brand href="/desk" { "运营工作台" }
                    @if let Some(a) = actor {
                        nav {
                            a href="/desk" { @if a.role == Role::Expert { "我的案例" } @else { "分诊队列" } }
                            @if a.role != Role::Expert {
                                a href="/desk/experts" { "找专家" }
                                @if a.region.level() == yizhan_core::RegionLevel::County { a href="/desk/knowledge" { "知识审核" } }
                                a href="/desk/export" { "导出" }
                                @if a.role == Role::Admin {
                                    a href="/desk/people" { "人员" }
                                    a href="/desk/settings" { "时限设置" }
                                a href="/desk/audit" { "审计记录" }
                                }
                                a href="/status" { "同步状态" }
                            }
                        }
                        span.who data-testid="who" { (a.name) "（" (a.role.name_zh()) " · " (fmt::region(a.region.as_str())) "）" }
                        form.inline method="post" action=(yizhan_web::action("/signout")) { button type="submit" { "退出" } }
                    }
                }
                main { (body) }
            }
        }
    }
}

async fn blob(
    State(hub): State<Hub>,
    SignedIn(_actor): SignedIn,
    Path(hash): Path<String>,
    req: axum::extract::Request,
) -> Response {
    yizhan_uploads::serve_blob(&hub.store, &hash, req, true).await
}

const DESK_CSS: &str = "
:root{--green:#2e7d32;--bg:#f4f6f1;--line:#d9ddd2;--err:#c62828;--warn:#b26a00}
*{box-sizing:border-box}body{font:18px/1.6 'Noto Sans CJK SC','Noto Sans SC',sans-serif;margin:0;background:var(--bg);color:#222}
header.top{display:flex;flex-wrap:wrap;gap:12px;align-items:center;background:var(--green);color:#fff;padding:10px 16px}
header.top a{color:#fff;text-decoration:none;padding:10px 8px;border-radius:8px}header.top a:hover{background:#ffffff22}
.brand{font-weight:700;font-size:22px}.who{margin-left:auto}
main{padding:16px;max-width:1200px;margin:0 auto}
.card{background:#fff;border:1px solid var(--line);border-radius:12px;padding:16px 20px;margin:0 0 16px}
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid var(--line);padding:10px 8px;text-align:left;vertical-align:top}
tr.late td.due,tr.late td:first-child{color:var(--err);font-weight:700}tr.soon td.due,tr.soon td:first-child{color:var(--warn);font-weight:700}
button,.button{font:inherit;min-height:48px;padding:8px 18px;border-radius:10px;border:1px solid var(--line);background:#fff;cursor:pointer;color:#222;text-decoration:none;display:inline-block}
button.primary,.primary{background:var(--green);color:#fff;border-color:var(--green)}button:disabled{opacity:.5}
input,select,textarea{font:inherit;min-height:48px;padding:8px 10px;border:1px solid var(--line);border-radius:8px;max-width:100%}
textarea{width:100%}form.inline{display:inline}label{margin-right:12px;display:inline-block;margin-bottom:8px}
.summary{display:flex;gap:12px;flex-wrap:wrap;margin-bottom:16px}.stat{background:#fff;border:1px solid var(--line);border-radius:12px;padding:12px 20px;min-width:140px}
.stat b{font-size:32px;display:block}.stat.err b{color:var(--err)}.stat.warn b{color:var(--warn)}
.muted{color:#666}.warn{color:var(--warn);font-weight:700}.msg{font-size:20px;color:var(--err)}
.badge{font-size:16px;background:#e8f5e9;color:var(--green);border-radius:8px;padding:2px 10px;vertical-align:middle}
ol.suggest li{margin-bottom:10px}ol.suggest li b{margin:0 8px}ol.timeline li.ignored{color:#999}.photos img{height:120px;border-radius:8px;margin:4px}
.filters>*{margin:4px 8px 4px 0}
.progress{position:relative;height:36px;background:#e8ebe3;border-radius:8px;overflow:hidden;margin:8px 0}
.progress .bar{position:absolute;inset:0 auto 0 0;width:0;background:#a5d6a7;transition:width .3s}
.progress .label{position:relative;line-height:36px;padding:0 12px}
.video video{width:100%;max-width:640px;border-radius:8px;background:#000}.alert{color:var(--err)}.small{font-size:15px;color:#666}
header.top nav{display:flex;flex-wrap:wrap;gap:4px}header.top nav a{white-space:nowrap}
@media (max-width:640px){
header.top{padding:8px 10px;gap:4px 8px}.brand{font-size:20px}header.top nav{flex:1 1 100%;order:3}
header.top nav a{padding:8px 10px;min-height:44px;display:inline-flex;align-items:center}.who{margin-left:0;font-size:15px}
main{padding:10px}.card{padding:12px 14px}.summary{gap:8px}.stat{min-width:0;flex:1 1 40%;padding:10px 14px}.stat b{font-size:26px}
table,thead,tbody,tr,th,td{display:block;width:100%}thead{position:absolute;left:-9999px;top:-9999px}
tr{border:1px solid var(--line);border-radius:10px;margin:0 0 10px;padding:8px 12px;background:#fff}
td{border:0;padding:3px 0}td:empty{display:none}td button,td .button,td form.inline{margin-top:4px}
label{display:block;margin-right:0}input,select{width:100%}textarea{min-height:96px}.filters>*{margin:4px 0}
.photos img{height:96px}ol.suggest,ol.timeline{padding-left:20px}
}
.tag{font-size:15px;border-radius:6px;padding:1px 8px}.tag.ok{background:#e8f5e9;color:var(--green)}.tag.no{background:#fff3e0;color:var(--warn)}
ol.suggest li.nomatch{color:#555}.card.done{border-color:#a5d6a7;background:#f1f8f1}
";
