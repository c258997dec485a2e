//! The operations desk (运营工作台) of a centre's hub, in zh-CN for staff and experts:
//! the triage queue ordered by deadline, overdue and nearly-overdue lists, a case page with
//! ranked expert suggestions and one-click assignment, escalation, on-site dispatch with travel
//! costs and follow-up; experts' work list and answers; find an expert (找专家); people import;
//! exports; the centre's service-clock settings.

use axum::Form;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde::Deserialize;
use yizhan_accounts::SignedIn;
use yizhan_core::access::{Action, EventKindCode};
use yizhan_core::clock::{ClockKind, ClockState, MINUTE_MS, ServicePolicy};
use yizhan_core::{Actor, CaseDoc, CaseState, EventKind, Industry, Role, Status, authorize, regions};
use yizhan_store::{PeopleFilter, QueueRow, ServiceFilter};

use crate::Hub;
use crate::service::{self, ActInput};

/// Rows per queue section.
const QUEUE_PAGE: u32 = 50;
/// Follow-up categories (服务类别) offered by the form.
pub const SERVICE_CATEGORIES: [&str; 7] =
    ["技术指导", "病虫害防治", "疫病防控", "品种与种植", "政策咨询", "市场与销售", "其他"];

pub fn routes() -> axum::Router<Hub> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/desk", get(home))
        .route("/desk/cases/{id}", get(case_page))
        .route("/desk/cases/{id}/act", post(act_form))
        .route(
            "/desk/cases/{id}/answer",
            post(answer_form).layer(axum::extract::DefaultBodyLimit::max(answer_bytes_max())),
        )
        .route("/desk/experts", get(experts_page))
        .route("/desk/knowledge", get(knowledge_page))
        .route("/desk/export", get(export_page))
        .route("/desk/export/download", get(export_download))
        .route(
            "/desk/people",
            get(people_page)
                .post(import_people)
                .layer(axum::extract::DefaultBodyLimit::max(IMPORT_BYTES_MAX)),
        )
        .route("/desk/settings", get(settings_page).post(save_settings))
        .route("/desk/people/{id}/active", post(set_active))
        .route("/desk/people/{id}/password", post(reset_password))
        .route("/desk/people/{id}/unlock", post(unlock))
        .route("/desk/people/{id}", get(person_page).post(save_person))
        .route("/desk/audit", get(audit_page))
        .route("/desk/cases/{id}/jobs", get(case_jobs))
        .route("/blobs/{hash}", get(blob))
        .route("/static/app.js", get(app_js))
}

/// The kiosk's script (upload progress, transcoding progress); every page works without it.
async fn app_js() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "no-cache")],
        include_str!("../../assets/web/app.js"),
    )
}

/// Photos an expert may attach to one answer.
pub const ANSWER_PHOTOS_MAX: usize = 6;
/// An answer's request body: its photos and one video at the media limits, plus the text.
pub fn answer_bytes_max() -> usize {
    let l = yizhan_media::Limits::default();
    let media = l.photo_bytes_max * ANSWER_PHOTOS_MAX as u64 + l.video_bytes_max;
    usize::try_from(media + 1024 * 1024).unwrap_or(usize::MAX)
}

/// An uploaded people file is at most this large.
pub const IMPORT_BYTES_MAX: usize = 10 * 1024 * 1024;

pub struct DeskError(StatusCode, String);

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

impl From<yizhan_store::StoreError> for DeskError {
    fn from(e: yizhan_store::StoreError) -> DeskError {
        tracing::error!(error = %e, "desk");
        DeskError(StatusCode::INTERNAL_SERVER_ERROR, "系统繁忙，请稍后重试".into())
    }
}

impl From<service::ActError> for DeskError {
    fn from(e: service::ActError) -> DeskError {
        let status = match &e {
            service::ActError::Denied(_) => StatusCode::FORBIDDEN,
            service::ActError::NotFound => StatusCode::NOT_FOUND,
            service::ActError::Invalid(_) => StatusCode::BAD_REQUEST,
            service::ActError::Store(e) => {
                tracing::error!(error = %e, "desk action");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        DeskError(status, e.message_zh())
    }
}

fn denied(d: yizhan_core::Denied) -> DeskError {
    DeskError(StatusCode::FORBIDDEN, d.message_zh().into())
}

pub fn fmt_time(ms: i64) -> String {
    use chrono::TimeZone;
    let Some(cst) = chrono::FixedOffset::east_opt(8 * 3600) else { return "-".into() };
    cst.timestamp_millis_opt(ms).single().map(|t| t.format("%m-%d %H:%M").to_string()).unwrap_or_default()
}

fn fmt_span(ms: i64) -> String {
    let m = ms.abs() / MINUTE_MS;
    if m >= 24 * 60 {
        format!("{} 天 {} 小时", m / (24 * 60), (m % (24 * 60)) / 60)
    } else if m >= 60 {
        format!("{} 小时 {} 分", m / 60, m % 60)
    } else {
        format!("{m} 分钟")
    }
}

/// A deadline as the wall clock shows it in Sichuan (UTC+8): "12月8日 09:30".
fn fmt_deadline(ms: i64) -> String {
    use chrono::TimeZone;
    let Some(cst) = chrono::FixedOffset::east_opt(8 * 3600) else { return "-".into() };
    cst.timestamp_millis_opt(ms)
        .single()
        .map(|t| t.format("%-m月%-d日 %H:%M").to_string())
        .unwrap_or_default()
}

/// Triage and answer clocks count working time only; the follow-up clock counts calendar time.
fn counts_working_time(kind: &str) -> bool {
    ClockKind::from_code(kind) != Some(ClockKind::FollowUp)
}

/// What is left of a clock (of kind `kind`, due at `due_ms`), in the time that clock counts:
/// "剩余工作时间 2 小时 5 分", "剩余 6 天 3 小时", "已超时 20 分钟（工作时间）".
fn fmt_remaining(policy: &ServicePolicy, kind: &str, due_ms: i64, now: i64) -> String {
    let working = counts_working_time(kind);
    if due_ms < now {
        let over = if working { policy.working_between(due_ms, now) } else { now - due_ms };
        match (over < MINUTE_MS, working) {
            (true, _) => "已超时".into(),
            (false, true) => format!("已超时 {}（工作时间）", fmt_span(over)),
            (false, false) => format!("已超时 {}", fmt_span(over)),
        }
    } else if working {
        format!("剩余工作时间 {}", fmt_span(policy.working_between(now, due_ms)))
    } else {
        format!("剩余 {}", fmt_span(due_ms - now))
    }
}

/// The deadline first, then what is left of it (for the queue tables).
fn due_cell(policy: &ServicePolicy, kind: &str, due_ms: i64, now: i64) -> Markup {
    html! {
        td.due { b { "截止 " (fmt_deadline(due_ms)) } br; small { (fmt_remaining(policy, kind, due_ms, now)) } }
    }
}

/// "按工作时间 08:00–18:00 计" for the working-time clocks, "按自然日计" for follow-up.
fn counting_zh(policy: &ServicePolicy, kind: ClockKind) -> String {
    if kind == ClockKind::FollowUp {
        return "按自然日计".into();
    }
    let h = &policy.hours;
    let days = if h.days.iter().all(|d| *d) { String::new() } else { "工作日 ".into() };
    format!(
        "按工作时间（{days}{:02}:{:02}–{:02}:{:02}）计",
        h.start_min / 60,
        h.start_min % 60,
        h.end_min / 60,
        h.end_min % 60
    )
}

fn industry_zh(code: &str) -> &'static str {
    Industry::from_code(code).map(Industry::name_zh).unwrap_or("")
}

fn region_zh(code: &str) -> String {
    let r = regions();
    let p = r.path_name(code);
    if p.is_empty() { r.get(code).map(|x| x.name.clone()).unwrap_or_else(|| code.to_string()) } else { p }
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
                        span.who data-testid="who" { (a.name) "（" (a.role.name_zh()) " · " (region_zh(a.region.as_str())) "）" }
                        form.inline method="post" action=(yizhan_web::action("/signout")) { button type="submit" { "退出" } }
                    }
                }
                main { (body) }
            }
        }
    }
}

async fn home(State(hub): State<Hub>, SignedIn(actor): SignedIn) -> Result<Markup, DeskError> {
    if actor.role == Role::Expert {
        return worklist(hub, actor).await;
    }
    if !actor.is_centre() {
        return Err(denied(yizhan_core::Denied::Role));
    }
    let region = actor.region.as_str().to_string();
    let now = hub.store.config().clock.now_ms();
    let QueuePage { policy, triage, response, followup, overdue, nearly, urgent } =
        hub.store.call(move |db| queue_page(db, &region, now)).await?;
    let body = html! {
        section.summary {
            div.stat.err { b data-testid="overdue-count" { (overdue) } span { "已超时" } }
            div.stat.warn { b data-testid="nearly-count" { (nearly) } span { "临期（" (policy.warn_ms / MINUTE_MS) " 分钟内）" } }
            div.stat { b { (triage.len()) } span { "待分诊" } }
            div.stat { b { (response.len()) } span { "待专家答复" } }
            div.stat { b { (followup.len()) } span { "待回访" } }
        }
        @if !urgent.is_empty() {
            section.card.urgent data-testid="urgent" {
                h2 { "超时与临期" }
                table {
                    thead { tr { th { "环节" } th { "截止时间" } th { "地点" } th { "问题" } th { "" } } }
                    tbody {
                        @for r in &urgent {
                            @let left = r.due_ms - now;
                            tr class=(if left < 0 { "late" } else { "soon" }) {
                                td { (ClockKind::from_code(&r.kind).map(ClockKind::name_zh).unwrap_or("")) }
                                (due_cell(&policy, &r.kind, r.due_ms, now))
                                td { (region_zh(&r.case.region_code)) " " (r.case.village_name) }
                                td { b { (r.case.subject) } " " (r.case.description.chars().take(40).collect::<String>()) }
                                td { a.button href=(format!("/desk/cases/{}", r.case.id)) { "处理" } }
                            }
                        }
                    }
                }
            }
        }
        (queue_sections(&policy, [&triage, &response, &followup], now))
    };
    Ok(page("分诊队列", Some(&actor), body))
}

fn fmt_limit(ms: i64) -> String {
    if ms % (24 * 60 * MINUTE_MS) == 0 {
        format!("{} 天", ms / (24 * 60 * MINUTE_MS))
    } else if ms % (60 * MINUTE_MS) == 0 {
        format!("{} 小时", ms / (60 * MINUTE_MS))
    } else {
        format!("{} 分钟", ms / MINUTE_MS)
    }
}

/// One section of the queue page (public for `benches/triage.rs`).
/// What the triage page shows a centre: its policy, the three queues (at most [`QUEUE_PAGE`]
/// rows each, by deadline), how many running clocks are overdue and nearly due, and those
/// clocks themselves, most urgent first.
pub struct QueuePage {
    pub policy: ServicePolicy,
    pub triage: Vec<QueueRow>,
    pub response: Vec<QueueRow>,
    pub followup: Vec<QueueRow>,
    pub overdue: i64,
    /// Nearly due, not yet overdue.
    pub nearly: i64,
    pub urgent: Vec<QueueRow>,
}

pub fn queue_page(
    db: &yizhan_store::Db,
    region: &str,
    now: i64,
) -> Result<QueuePage, yizhan_store::StoreError> {
    let policy = db.service_policy()?;
    let warn = now + policy.warn_ms;
    let q = |kind, statuses: &[&str], before| db.clock_queue(kind, statuses, region, before, QUEUE_PAGE, 0);
    let triage = q(ClockKind::Triage, &["awaiting_triage"], None)?;
    let response = q(ClockKind::Response, &["awaiting_answer"], None)?;
    let followup = q(ClockKind::FollowUp, &["closed"], None)?;
    let (mut overdue, mut nearly, mut urgent) = (0, 0, Vec::new());
    for (k, statuses) in [
        (ClockKind::Triage, &["awaiting_triage"][..]),
        (ClockKind::Response, &["awaiting_answer"][..]),
        (ClockKind::FollowUp, &["closed"][..]),
    ] {
        overdue += db.count_running(k, Some(now))?;
        nearly += db.count_running(k, Some(warn))?;
        urgent.extend(q(k, statuses, Some(warn))?);
    }
    urgent.sort_by_key(|r| r.due_ms);
    urgent.truncate(QUEUE_PAGE as usize);
    Ok(QueuePage { policy, triage, response, followup, overdue, nearly: nearly - overdue, urgent })
}

/// The page's three queue sections: triage, answers due, follow-up calls due.
pub fn queue_sections(
    policy: &ServicePolicy,
    [triage, response, followup]: [&[QueueRow]; 3],
    now: i64,
) -> Markup {
    html! {
        (queue_table("待分诊", "分诊时限", policy, ClockKind::Triage, triage, now, "triage-queue"))
        (queue_table("待专家答复", "答复时限", policy, ClockKind::Response, response, now, "response-queue"))
        (queue_table("待回访", "回访时限", policy, ClockKind::FollowUp, followup, now, "followup-queue"))
    }
}

/// One queue, by deadline: the heading says the limit and how its clock counts (working
/// time or calendar days); each row shows the wall-clock deadline, then what is left.
pub fn queue_table(
    title: &str,
    limit_zh: &str,
    policy: &ServicePolicy,
    kind: ClockKind,
    rows: &[QueueRow],
    now: i64,
    testid: &str,
) -> Markup {
    let limit_ms = match kind {
        ClockKind::Triage => policy.triage_ms,
        ClockKind::Response => policy.response_ms,
        ClockKind::FollowUp => policy.followup_ms,
    };
    html! {
        section.card {
            h2 { (title) }
            p.muted data-testid=(format!("{testid}-limit")) { "按截止时间排序 · " (limit_zh) " " (fmt_limit(limit_ms)) "，" (counting_zh(policy, kind)) }
            @if rows.is_empty() {
                p.muted { "暂无" }
            } @else {
                table data-testid=(testid) {
                    thead { tr { th { "截止时间" } th { "地点" } th { "产业" } th { "问题" } th { "专家" } th { "" } } }
                    tbody {
                        @for r in rows {
                            @let left = r.due_ms - now;
                            tr class=(if left < 0 { "late" } else if left < policy.warn_ms { "soon" } else { "" }) {
                                (due_cell(policy, &r.kind, r.due_ms, now))
                                td { (region_zh(&r.case.region_code)) " " (r.case.village_name) }
                                td { (industry_zh(&r.case.industry)) }
                                td { b { (r.case.subject) } " " (r.case.description.chars().take(40).collect::<String>()) }
                                td { (r.case.expert) }
                                td { a.button href=(format!("/desk/cases/{}", r.case.id)) { "处理" } }
                            }
                        }
                    }
                }
            }
        }
    }
}

async fn worklist(hub: Hub, actor: Actor) -> Result<Markup, DeskError> {
    let id = actor.person_id.clone();
    let rows = hub.store.call(move |db| db.expert_cases(&id, 200)).await?;
    let body = html! {
        section.card {
            h2 { "分派给我的案例" }
            @if rows.is_empty() { p.muted { "暂无分派给您的案例" } }
            @else {
                table data-testid="worklist" {
                    thead { tr { th { "状态" } th { "地点" } th { "产业" } th { "问题" } th { "" } } }
                    tbody {
                        @for r in &rows {
                            tr {
                                td { (Status::from_code(&r.status).map(Status::name_zh).unwrap_or("")) }
                                td { (region_zh(&r.region_code)) " " (r.village_name) }
                                td { (industry_zh(&r.industry)) }
                                td { b { (r.subject) } " " (r.description.chars().take(60).collect::<String>()) }
                                td { a.button href=(format!("/desk/cases/{}", r.id)) { "查看并答复" } }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page("我的案例", Some(&actor), body))
}

struct CaseData {
    case: CaseDoc,
    state: CaseState,
    clocks: Vec<yizhan_store::service::ClockRow>,
    suggestions: Vec<yizhan_core::ranking::Suggestion>,
    names: std::collections::HashMap<String, String>,
    phone_masked: String,
    policy: ServicePolicy,
    /// This hub's media jobs for the case, and which of its blobs the hub holds.
    jobs: Vec<yizhan_store::Job>,
    held: std::collections::HashSet<String>,
}

async fn load_case(hub: &Hub, actor: &Actor, id: &str) -> Result<CaseData, DeskError> {
    let id = id.to_string();
    let directory = hub.directory.clone();
    let actor = actor.clone();
    let data = hub
        .store
        .call(move |db| -> Result<Result<CaseData, DeskError>, yizhan_store::StoreError> {
            let Some(doc) = db.load_doc(&id)? else {
                return Ok(Err(DeskError(StatusCode::NOT_FOUND, "案例不存在".into())));
            };
            let Ok(case) = CaseDoc::from_doc(&doc) else {
                return Ok(Err(DeskError(StatusCode::NOT_FOUND, "不是案例".into())));
            };
            let state = case.state();
            if let Err(d) = authorize(&actor, Action::View, &case, &state) {
                return Ok(Err(denied(d)));
            }
            let clocks = db.case_clocks(&id)?;
            let may_assign = authorize(&actor, Action::Event(EventKindCode::Assigned), &case, &state).is_ok();
            let suggestions = if may_assign {
                service::suggestions(&directory, db, &state.centre, &case, service::SUGGESTIONS_MAX)?
            } else {
                Vec::new()
            };
            let mut names = std::collections::HashMap::new();
            for e in &case.events {
                for who in [&e.actor, &e.target] {
                    if !who.is_empty()
                        && !names.contains_key(who)
                        && let Some(p) = db.person(who)?
                    {
                        names.insert(who.clone(), p.name);
                    }
                }
            }
            let phone_masked = db
                .load_doc(&yizhan_core::private::CasePrivate::id_for(&id))?
                .and_then(|d| yizhan_core::private::CasePrivate::from_doc(&d).ok())
                .map(|p| p.farmer_phone_masked)
                .unwrap_or_default();
            let policy = db.service_policy()?;
            let jobs = db.jobs_for_doc(&id)?;
            let held = db.blobs_held(case.attachments.values().map(|a| a.hash.as_str()))?;
            Ok(Ok(CaseData { case, state, clocks, suggestions, names, phone_masked, policy, jobs, held }))
        })
        .await??;
    Ok(data)
}

async fn case_page(
    State(hub): State<Hub>,
    SignedIn(actor): SignedIn,
    Path(id): Path<String>,
) -> Result<Markup, DeskError> {
    let d = load_case(&hub, &actor, &id).await?;
    let (c, s) = (&d.case, &d.state);
    // The number in clear for whoever makes the follow-up call (the county centre); it is
    // sealed to the county's key, so only a county hub can open it.
    let phone_clear = if authorize(&actor, Action::ViewPhone, c, s).is_ok() && !d.phone_masked.is_empty() {
        hub.open_phone(&c.id).await
    } else {
        None
    };
    if phone_clear.is_some() {
        let (who, region, detail) =
            (actor.person_id.clone(), actor.region.to_string(), format!("案例 {} {}", c.id, c.subject));
        hub.store
            .call(move |db| {
                db.record_audit_coalesced(&who, &region, AUDIT_VIEW_PHONE, &detail, AUDIT_VIEW_COALESCE_MS)
            })
            .await?;
    }
    let may = |k| authorize(&actor, Action::Event(k), c, s).is_ok();
    let name = |id: &str| d.names.get(id).cloned().unwrap_or_else(|| id.to_string());
    let now = hub.store.config().clock.now_ms();
    let act = yizhan_web::action(&format!("/desk/cases/{}/act", c.id));
    // The farmer's photos and videos; an expert's show with her answer.
    let photos = c.farmer_media("photo", "thumb");
    let videos = c.farmer_media("video", "original");
    let display = |group: &str| {
        c.attachments.values().find(|a| a.group == group && a.role == "display").map(|a| a.hash.clone())
    };
    let poll_url = format!("/desk/cases/{}/jobs", c.id);
    let player = yizhan_uploads::view::Videos { case: c, jobs: &d.jobs, held: &d.held, poll_url };
    let up_targets: Vec<(String, &str)> = {
        let mut v = Vec::new();
        if s.centre.len() > 4 {
            v.push((s.centre[..4].to_string(), "上报市州运管中心"));
        }
        if s.centre.len() > 2 {
            v.push(("51".to_string(), "上报省运管中心"));
        }
        v
    };
    // The expert's answers since she was (last) assigned: once she has answered, the page
    // confirms it instead of showing the empty form again.
    let my_answers: Vec<&yizhan_core::Event> = if actor.role == Role::Expert {
        let events = c.ordered_events();
        let live = |e: &yizhan_core::Event| !s.ignored_events.contains(&e.id);
        let since = events
            .iter()
            .rposition(|e| live(e) && e.kind() == EventKind::Assigned && e.target == actor.person_id)
            .map_or(0, |i| i + 1);
        events[since..]
            .iter()
            .copied()
            .filter(|e| live(e) && e.kind() == EventKind::Answered && e.actor == actor.person_id)
            .collect()
    } else {
        Vec::new()
    };
    let answer_form_markup = |button: &str, placeholder: &str| {
        let limits = yizhan_media::Limits::default();
        html! {
            form method="post" action=(yizhan_web::action(&format!("/desk/cases/{}/answer", c.id))) enctype="multipart/form-data" data-upload {
                textarea name="text" rows="6" required maxlength="4000" placeholder=(placeholder) data-testid="answer-text" {}
                label { "照片（可选，最多 " (ANSWER_PHOTOS_MAX) " 张） " input type="file" name="photos" accept="image/jpeg,image/png,image/webp" multiple data-testid="answer-photos"; }
                label { "视频（可选，1 段，不超过 " (limits.video_duration_ms_max / 60_000) " 分钟、" (limits.video_bytes_max / 1024 / 1024) " MB） " input type="file" name="video" accept="video/*" data-testid="answer-video"; }
                div.progress hidden data-testid="upload-progress" { div.bar {} span.label { "上传中…" } }
                button.primary type="submit" data-testid="answer-submit" { (button) }
            }
        }
    };
    let body = html! {
        section.card {
            h1 { (c.subject) " " span.badge data-testid="status" { (s.status.name_zh()) } }
            p { (region_zh(&c.region_code)) " " (c.village_name) " · " (industry_zh(&c.industry)) " · 登记 " (fmt_time(c.created_at_ms)) " · 信息员 " (name(&c.officer)) }
            p.desc { (c.description) }
            p { "农户：" (c.farmer_name)
                @if let Some(phone) = &phone_clear { " · 电话 " a href=(format!("tel:{phone}")) data-testid="phone" { (phone) } }
                @else if !d.phone_masked.is_empty() { " · 电话 " span data-testid="phone" { (d.phone_masked) } } }
            @if !photos.is_empty() {
                div.photos {
                    @for p in &photos {
                        a href=(format!("/blobs/{}", display(&p.group).unwrap_or(p.hash.clone()))) target="_blank" { img src=(format!("/blobs/{}", p.hash)) alt="照片"; }
                    }
                }
            }
            @for v in &videos { div data-testid="case-video" { (player.show(v)) } }
            p { "当前中心：" (region_zh(&s.centre)) @if let Some(e) = &s.expert { " · 专家 " b data-testid="expert" { (name(e)) } }
                @if s.travel_cost_fen > 0 { " · 差旅费 " (format!("{:.2}", s.travel_cost_fen as f64 / 100.0)) " 元" }
                @if let Some(r) = s.rating { " · 评分 " b data-testid="rating" { (r) " 星" } } }
        }
        @if !my_answers.is_empty() {
            section.card.done data-testid="answer-submitted" {
                h2 { "✓ 已提交：您的答复" }
                @for e in &my_answers {
                    p.muted { "提交于 " (fmt_time(e.at_ms))
                        @if !e.target.is_empty() { " · 附照片或视频 " (e.target.split(',').count()) " 个" } }
                    p.text { (e.text) }
                }
                p.muted { "答复已保存，会同步到驿站，由信息员转告农户；无需重复提交。" }
            }
        }
        @if !d.clocks.is_empty() {
            section.card {
                h2 { "服务时限（本中心时钟）" }
                p.muted { "分诊和答复时限" (counting_zh(&d.policy, ClockKind::Triage)) "，回访时限按自然日计；截止时间为北京时间。" }
                table data-testid="clocks" {
                    thead { tr { th { "环节" } th { "开始" } th { "截止时间" } th { "状态" } } }
                    tbody {
                        @for k in &d.clocks {
                            @let (kind, start, due, stop) = (&k.kind, &k.started_ms, &k.due_ms, &k.stopped_ms);
                            @let st = ClockState::at(*due, *stop, now, d.policy.warn_ms);
                            tr class=(if st.is_breach() { "late" } else if st == ClockState::NearlyDue { "soon" } else { "" }) {
                                td { (ClockKind::from_code(kind).map(ClockKind::name_zh).unwrap_or("")) }
                                td { (fmt_time(*start)) }
                                td { b { (fmt_deadline(*due)) } }
                                td { (st.name_zh()) @if stop.is_none() { " · " (fmt_remaining(&d.policy, kind, *due, now)) } }
                            }
                        }
                    }
                }
            }
        }
        @if may(EventKindCode::Assigned) {
            section.card {
                h2 { @if s.status == Status::AwaitingAnswer { "改派专家" } @else { "分派专家" } }
                @if yizhan_core::ranking::suggest_escalation(&s.centre, &d.suggestions) {
                    p.warn data-testid="suggest-escalation" { "本级没有对口的专家，建议上报上级中心。" }
                }
                // The expert already assigned is not offered again; experts of another industry
                // stay on the list (a county may have none of the case's) but are marked and
                // demoted to a plain button.
                @let offered: Vec<_> = d.suggestions.iter().filter(|sg| s.expert.as_deref() != Some(sg.person_id.as_str())).collect();
                @if offered.is_empty() { p.muted { "没有可分派的专家" } }
                ol.suggest data-testid="suggestions" {
                    @for sg in &offered {
                        li class=(if sg.industry_match { "match" } else { "nomatch" }) {
                            form.inline method="post" action=(act) {
                                input type="hidden" name="kind" value="assigned";
                                input type="hidden" name="target" value=(sg.person_id);
                                button type="submit" class=(if sg.industry_match { "primary" } else { "secondary" }) data-expert=(sg.person_id) { "分派" }
                            }
                            b { (sg.name) } " "
                            @if sg.industry_match { span.tag.ok data-testid="industry-match" { "行业对口" } }
                            @else { span.tag.no data-testid="industry-mismatch" { "行业不符" } }
                            " "
                            @if sg.speciality_hits.is_empty() { span.tag.no { "专长不符" } }
                            @else { span.tag.ok { "专长相符：" (sg.speciality_hits.join("、")) } }
                            " "
                            span.muted { (sg.reasons_zh.join(" · ")) }
                        }
                    }
                }
            }
        }
        @if may(EventKindCode::EscalatedUp) && !up_targets.is_empty() {
            section.card {
                h2 { "上报" }
                form method="post" action=(act) {
                    input type="hidden" name="kind" value="escalated_up";
                    label { "说明 " input type="text" name="text" maxlength="200" placeholder="如：本县无对口专家"; }
                    @for (code, label) in &up_targets {
                        button type="submit" name="target" value=(code) { (label) }
                    }
                }
            }
        }
        @if may(EventKindCode::Answered) {
            section.card {
                @if my_answers.is_empty() {
                    h2 { "专家答复" }
                    (answer_form_markup("提交答复", "诊断与处理建议"))
                } @else {
                    // Answered already: a further answer is allowed (a supplement), but only
                    // on purpose, not as the empty form that invites a second submission.
                    details data-testid="answer-more" {
                        summary { "补充答复（仅在需要补充说明时使用，原答复不会被替换）" }
                        (answer_form_markup("提交补充答复", "补充说明"))
                    }
                }
                @if may(EventKindCode::OnSiteRequested) {
                    form method="post" action=(act) {
                        input type="hidden" name="kind" value="onsite_requested";
                        input type="text" name="text" maxlength="200" placeholder="需要上门的原因";
                        button type="submit" { "申请上门服务" }
                    }
                }
            }
        }
        @if may(EventKindCode::OnSiteDispatched) {
            section.card {
                h2 { "派出上门服务 / 记录差旅费" }
                form method="post" action=(act) {
                    input type="hidden" name="kind" value="onsite_dispatched";
                    label { "差旅费（元） " input type="number" name="yuan" min="0" max="100000" step="0.01" value="0"; }
                    label { "说明 " input type="text" name="text" maxlength="200" placeholder="出发时间、车辆等"; }
                    button.primary type="submit" { "记录" }
                }
            }
        }
        @if may(EventKindCode::FollowedUp) {
            section.card {
                h2 { "电话回访" }
                form method="post" action=(act) data-testid="followup-form" {
                    input type="hidden" name="kind" value="followed_up";
                    fieldset {
                        legend { "服务是否有效" }
                        label { input type="radio" name="value" value="1" checked; " 有效" }
                        label { input type="radio" name="value" value="0"; " 无效" }
                    }
                    label { "服务类别 " select name="category" { @for cat in SERVICE_CATEGORIES { option value=(cat) { (cat) } } } }
                    label { "回访记录 " input type="text" name="text" maxlength="500"; }
                    button.primary type="submit" data-testid="followup-submit" { "保存回访" }
                }
            }
        }
        @if may(EventKindCode::KnowledgeApproved) {
            section.card data-testid="knowledge-review" {
                h2 { "知识库审核" }
                p.muted { "审核通过后，本案例的问题与专家答复（自动去除农户姓名和电话号码）将发布到知识库，供各驿站“找类似”使用，注明知识产权归属：" b { (crate::publish::owner_of(c, s)) } "。" }
                form method="post" action=(act) {
                    label { "审核意见 " input type="text" name="text" maxlength="200"; }
                    button.primary type="submit" name="kind" value="knowledge_approved" data-testid="knowledge-approve" { "审核发布" }
                    " "
                    button type="submit" name="kind" value="knowledge_withheld" { "不发布" }
                }
            }
        }
        section.card {
            h2 { "服务记录" }
            ol.timeline data-testid="timeline" {
                @for e in c.ordered_events() {
                    li class=(if s.ignored_events.contains(&e.id) { "ignored" } else { "" }) {
                        span.t { (fmt_time(e.at_ms)) } " "
                        b { (e.kind().name_zh()) } " "
                        span.muted { (name(&e.actor)) }
                        @if !e.target.is_empty() && matches!(e.kind(), EventKind::Assigned | EventKind::EscalatedUp) { " → " (if e.kind() == EventKind::EscalatedUp { region_zh(&e.target) } else { name(&e.target) }) }
                        @if e.kind() == EventKind::Rated { " " (e.value) " 星" }
                        @if e.kind() == EventKind::OnSiteDispatched && e.value > 0 { " 差旅费 " (format!("{:.2}", e.value as f64 / 100.0)) " 元" }
                        @if e.kind() == EventKind::FollowedUp { " " (if e.value == 1 { "有效" } else { "无效" }) " · " (e.category) }
                        @if !e.text.is_empty() { p.text { (e.text) } }
                        @if e.kind() == EventKind::Answered && !e.target.is_empty() {
                            div.photos {
                                @for g in e.target.split(',') {
                                    @if let Some(t) = c.attachments.get(&format!("{g}/thumb")) {
                                        a href=(format!("/blobs/{}", display(g).unwrap_or(t.hash.clone()))) target="_blank" { img src=(format!("/blobs/{}", t.hash)) alt="答复照片"; }
                                    }
                                }
                            }
                            @for o in c.answer_videos(e) { div data-testid="answer-video" { (player.show(o)) } }
                        }
                        @if s.ignored_events.contains(&e.id) { " " span.muted { "（与其他操作冲突，未生效）" } }
                    }
                }
            }
        }
    };
    Ok(page(&c.subject, Some(&actor), body))
}

#[derive(Debug, Deserialize, Default)]
pub struct ActForm {
    pub kind: String,
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub target: String,
    #[serde(default)]
    pub value: Option<String>,
    #[serde(default)]
    pub yuan: Option<String>,
    #[serde(default)]
    pub category: String,
}

/// Parses a yuan amount ("12.5") into fen.
pub fn yuan_to_fen(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.is_empty() {
        return Some(0);
    }
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if int.is_empty()
        || !int.bytes().all(|b| b.is_ascii_digit())
        || frac.len() > 2
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let int: i64 = int.parse().ok()?;
    let frac: i64 = if frac.is_empty() { 0 } else { format!("{frac:0<2}").parse().ok()? };
    int.checked_mul(100)?.checked_add(frac)
}

async fn act_form(
    State(hub): State<Hub>,
    SignedIn(actor): SignedIn,
    Path(id): Path<String>,
    Form(f): Form<ActForm>,
) -> Result<Redirect, DeskError> {
    let value = match (&f.yuan, &f.value) {
        (Some(y), _) => yuan_to_fen(y)
            .ok_or_else(|| DeskError(StatusCode::BAD_REQUEST, "差旅费格式不对，如 35.50".into()))?,
        (None, Some(v)) if !v.trim().is_empty() => {
            v.trim().parse().map_err(|_| DeskError(StatusCode::BAD_REQUEST, "数值格式不对".into()))?
        }
        _ => 0,
    };
    let input = ActInput { kind: f.kind, text: f.text, target: f.target, value, category: f.category };
    let case_id = id.clone();
    let event_id = uuid::Uuid::new_v4().to_string();
    let kind = input.kind.clone();
    hub.store.call(move |db| Ok(service::act(db, &actor, &case_id, input, event_id))).await??;
    if kind == "assigned" {
        hub.directory.invalidate();
    }
    Ok(Redirect::to(&format!("/desk/cases/{id}")))
}

/// The answer text is at most this long (the form allows 4,000 characters).
pub const ANSWER_TEXT_BYTES_MAX: u64 = 16 * 1024;

/// The case, when `actor` may take `action` on it.
async fn authorized_case(
    hub: &Hub,
    actor: &Actor,
    id: &str,
    action: Action,
) -> Result<(CaseDoc, CaseState), DeskError> {
    let id = id.to_string();
    let doc = hub.store.call(move |db| db.load_doc(&id)).await?;
    let case = doc
        .and_then(|d| CaseDoc::from_doc(&d).ok())
        .ok_or_else(|| DeskError(StatusCode::NOT_FOUND, "案例不存在".into()))?;
    let state = case.state();
    authorize(actor, action, &case, &state).map_err(denied)?;
    Ok((case, state))
}

fn upload_err(e: yizhan_uploads::UploadError) -> DeskError {
    DeskError(e.status(), e.to_string())
}

/// An expert's answer with photos and a video. The expert's right to answer is checked before
/// the upload is read; every photo is decoded and the video probed before anything is stored;
/// then the answer, its photos and its video are stored in one transaction, and the video's
/// poster and proxy are made in the background (the case page shows the progress).
async fn answer_form(
    State(hub): State<Hub>,
    SignedIn(actor): SignedIn,
    Path(id): Path<String>,
    mut multipart: Multipart,
) -> Result<Redirect, DeskError> {
    authorized_case(&hub, &actor, &id, Action::Event(EventKindCode::Answered)).await?;
    let limits = yizhan_media::Limits::default();
    let bad = |m: String| DeskError(StatusCode::BAD_REQUEST, m);
    let mut text = String::new();
    let mut photos: Vec<(String, Vec<u8>)> = Vec::new();
    let mut video = None;
    while let Some(mut field) =
        multipart.next_field().await.map_err(|e| upload_err(yizhan_uploads::multipart_err(e)))?
    {
        let name = field.name().unwrap_or_default().to_string();
        match (name.as_str(), field.file_name().map(str::to_string)) {
            ("text", None) => {
                let bytes =
                    yizhan_uploads::read_limited(&mut field, ANSWER_TEXT_BYTES_MAX, || "答复内容过长".into())
                        .await
                        .map_err(upload_err)?;
                text = String::from_utf8(bytes).map_err(|_| bad("答复内容的文字编码有误".into()))?;
            }
            ("photos", Some(file_name)) => {
                let bytes = yizhan_uploads::read_limited(&mut field, limits.photo_bytes_max, || {
                    format!("照片过大：每张最多 {} MB", yizhan_uploads::mb(limits.photo_bytes_max))
                })
                .await
                .map_err(upload_err)?;
                if bytes.is_empty() {
                    continue; // the empty part a form sends when no file was chosen
                }
                if photos.len() >= ANSWER_PHOTOS_MAX {
                    return Err(bad(format!("照片过多：每次答复最多 {ANSWER_PHOTOS_MAX} 张")));
                }
                photos.push((file_name, bytes));
            }
            ("video", Some(file_name)) => {
                if video.is_some() {
                    return Err(bad("每次答复只能上传一段视频".into()));
                }
                video = yizhan_uploads::stream_video(&hub.store, &mut field, file_name, &limits)
                    .await
                    .map_err(upload_err)?;
            }
            _ => {} // unknown fields are skipped
        }
    }
    let store = hub.store.clone();
    let now = hub.store.config().clock.now_ms();
    let prepared = tokio::task::spawn_blocking(move || {
        let mut out = yizhan_uploads::prepare_photos(&store, photos, &limits, now)?;
        if let Some(v) = video {
            out.push(yizhan_uploads::prepare_video(&store, v, &limits, now)?);
        }
        Ok::<_, yizhan_uploads::UploadError>(out)
    })
    .await
    .map_err(|_| DeskError(StatusCode::INTERNAL_SERVER_ERROR, "照片和视频处理失败".into()))?
    .map_err(upload_err)?;
    let groups: Vec<String> =
        prepared.iter().filter(|(a, _)| a.role == "original").map(|(a, _)| a.group.clone()).collect();
    let jobs = prepared
        .iter()
        .filter(|(a, _)| a.kind == "video" && a.role == "original")
        .map(|(a, _)| (yizhan_uploads::JOB_VIDEO, a.hash.clone()))
        .collect();
    let (attachments, blobs): (Vec<_>, Vec<_>) = prepared.into_iter().unzip();
    let carried = service::Carried { attachments, blobs, jobs };
    let input = ActInput { kind: "answered".into(), text, target: groups.join(","), ..Default::default() };
    let case_id = id.clone();
    let event_id = uuid::Uuid::new_v4().to_string();
    hub.store.call(move |db| Ok(service::act_with(db, &actor, &case_id, input, event_id, carried))).await??;
    hub.jobs_notify.notify_one();
    Ok(Redirect::to(&format!("/desk/cases/{id}")))
}

/// The case's media jobs on this hub, for the case page's progress bar.
async fn case_jobs(
    State(hub): State<Hub>,
    SignedIn(actor): SignedIn,
    Path(id): Path<String>,
) -> Result<axum::Json<serde_json::Value>, DeskError> {
    authorized_case(&hub, &actor, &id, Action::View).await?;
    let jobs = hub.store.call(move |db| db.jobs_for_doc(&id)).await?;
    Ok(axum::Json(serde_json::json!({ "jobs": jobs })))
}

/// Solved cases waiting for the county centre's sign-off before they are published as knowledge.
async fn knowledge_page(State(hub): State<Hub>, SignedIn(actor): SignedIn) -> Result<Markup, DeskError> {
    if !actor.is_centre() || actor.region.level() != yizhan_core::RegionLevel::County {
        return Err(denied(yizhan_core::Denied::Role));
    }
    let region = actor.region.to_string();
    let rows = hub.store.call(move |db| db.pending_knowledge(&region, 200)).await?;
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
                                td { (fmt_time(r.updated_at_ms)) }
                                td { (region_zh(&r.region_code)) " " (r.village_name) }
                                td { (industry_zh(&r.industry)) }
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

#[derive(Debug, Deserialize, Default)]
pub struct ExpertQuery {
    #[serde(default)]
    pub industry: String,
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub region: String,
}

async fn experts_page(
    State(hub): State<Hub>,
    SignedIn(actor): SignedIn,
    Query(q): Query<ExpertQuery>,
) -> Result<Markup, DeskError> {
    if !actor.is_centre() {
        return Err(denied(yizhan_core::Denied::Role));
    }
    let region =
        if q.region.starts_with(actor.region.as_str()) { q.region.clone() } else { actor.region.to_string() };
    let filter = PeopleFilter {
        role: Some("expert".into()),
        region: Some(region.clone()),
        include_above: true,
        industry: Some(q.industry.clone()),
        text: Some(q.q.clone()),
        active_only: true,
        limit: 200,
    };
    let (people, records) =
        hub.store.call(move |db| Ok((db.find_people(&filter)?, db.expert_records()?))).await?;
    let subregions = regions().children(actor.region.as_str());
    let body = html! {
        section.card {
            h1 { "找专家" }
            form.filters method="get" action="/desk/experts" {
                select name="industry" {
                    option value="" { "全部产业" }
                    @for i in Industry::ALL { option value=(i.code()) selected[q.industry == i.code()] { (i.name_zh()) } }
                }
                @if actor.region.as_str().len() < 6 {
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
                            td { (region_zh(&p.region_code)) }
                            td { (p.industries.iter().map(|i| industry_zh(i)).collect::<Vec<_>>().join("、")) }
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

#[derive(Debug, Deserialize, Default)]
pub struct ExportQuery {
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
    #[serde(default)]
    pub region: String,
    #[serde(default)]
    pub industry: String,
    #[serde(default)]
    pub expert: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub format: String,
    /// "1": numbers in clear (county centres only).
    #[serde(default)]
    pub phones: String,
}

async fn export_page(SignedIn(actor): SignedIn) -> Result<Markup, DeskError> {
    if !actor.is_centre() {
        return Err(denied(yizhan_core::Denied::Role));
    }
    let subregions = regions().children(actor.region.as_str());
    let body = html! {
        section.card {
            h1 { "导出服务记录" }
            form.filters method="get" action="/desk/export/download" {
                label { "登记日期 从 " input type="date" name="from"; } label { " 到 " input type="date" name="to"; }
                select name="region" {
                    option value="" { "本中心全部地区" }
                    @for r in &subregions { option value=(r.code) { (r.name) } }
                }
                select name="industry" { option value="" { "全部产业" } @for i in Industry::ALL { option value=(i.code()) { (i.name_zh()) } } }
                select name="status" { option value="" { "全部状态" } @for s in Status::ALL { option value=(s.code()) { (s.name_zh()) } } }
                input type="text" name="expert" placeholder="专家编号（可空）";
                @if actor.region.level() == yizhan_core::RegionLevel::County {
                    label { input type="checkbox" name="phones" value="1"; " 含完整电话（用于回访，请妥善保管）" }
                }
                button.primary type="submit" name="format" value="xlsx" data-testid="export-xlsx" { "导出 Excel" }
                button type="submit" name="format" value="csv" data-testid="export-csv" { "导出 CSV" }
            }
            p.muted { "只导出您的管辖范围。农户电话默认打码；只有县运管中心可以导出完整电话（用于回访）。" }
        }
    };
    Ok(page("导出", Some(&actor), body))
}

fn parse_day(s: &str) -> Result<Option<i64>, DeskError> {
    use chrono::NaiveDate;
    if s.trim().is_empty() {
        return Ok(None);
    }
    let d = NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| DeskError(StatusCode::BAD_REQUEST, "日期格式应为 2026-01-31".into()))?;
    let Some(t) = d.and_hms_opt(0, 0, 0) else { return Ok(None) };
    Ok(Some(t.and_utc().timestamp_millis() - 8 * 3600 * 1000))
}

async fn export_download(
    State(hub): State<Hub>,
    SignedIn(actor): SignedIn,
    Query(q): Query<ExportQuery>,
) -> Result<Response, DeskError> {
    if !actor.is_centre() {
        return Err(denied(yizhan_core::Denied::Role));
    }
    let region = if q.region.is_empty() { actor.region.to_string() } else { q.region.clone() };
    if !region.starts_with(actor.region.as_str()) {
        return Err(denied(yizhan_core::Denied::OutOfRegion));
    }
    let filter = ServiceFilter {
        region,
        from_ms: parse_day(&q.from)?,
        to_ms: parse_day(&q.to)?.map(|t| t + 24 * 3600 * 1000),
        industry: Some(q.industry.clone()),
        expert: Some(q.expert.clone()),
        status: Some(q.status.clone()),
        limit: 0,
    };
    // Numbers in clear only when asked for by a county centre, whose hub alone can open them.
    let county_key = if q.phones == "1" {
        if actor.region.level() != yizhan_core::RegionLevel::County {
            return Err(denied(yizhan_core::Denied::Role));
        }
        let h = hub.clone();
        let key = tokio::task::spawn_blocking(move || h.county_key()).await.ok().and_then(Result::ok);
        if key.is_none() {
            return Err(DeskError(StatusCode::INTERNAL_SERVER_ERROR, "本节点无法解开电话号码".into()));
        }
        tracing::info!(person = %actor.person_id, "export with phone numbers in clear");
        key
    } else {
        None
    };
    let audit = (
        actor.person_id.clone(),
        actor.region.to_string(),
        if county_key.is_some() { AUDIT_EXPORT_PHONES } else { AUDIT_EXPORT },
        format!(
            "{} · 地区 {} · {}–{} · 产业 {} · 专家 {} · 状态 {}",
            if q.format == "csv" { "CSV" } else { "XLSX" },
            region_zh(&filter.region),
            if q.from.is_empty() { "不限" } else { q.from.as_str() },
            if q.to.is_empty() { "不限" } else { q.to.as_str() },
            if q.industry.is_empty() { "全部" } else { industry_zh(&q.industry) },
            if q.expert.is_empty() { "全部" } else { q.expert.as_str() },
            if q.status.is_empty() { "全部" } else { q.status.as_str() },
        ),
    );
    let (rows, names, phones) = hub
        .store
        .call(move |db| {
            let rows = db.service_rows(&filter)?;
            let (who, region, action, detail) = audit;
            db.record_audit(&who, &region, action, &format!("{} 条 · {detail}", rows.len()))?;
            let mut phones = std::collections::HashMap::new();
            if let Some(key) = &county_key {
                for r in &rows {
                    if let Ok(Some(p)) = crate::sealing::open_phone_in(db, key, &r.case.id) {
                        phones.insert(r.case.id.clone(), p);
                    }
                }
            }
            let mut names = std::collections::HashMap::new();
            for r in &rows {
                if !r.case.expert.is_empty() && !names.contains_key(&r.case.expert) {
                    let n =
                        db.person(&r.case.expert)?.map(|p| p.name).unwrap_or_else(|| r.case.expert.clone());
                    names.insert(r.case.expert.clone(), n);
                }
            }
            Ok((rows, names, phones))
        })
        .await?;
    let records: Vec<yizhan_records::ServiceRecord> = rows
        .into_iter()
        .map(|r| {
            let clear = phones.get(&r.case.id).cloned();
            let mut rec = crate::export::record(r, &names);
            if let Some(p) = clear {
                rec.phone = p;
            }
            rec
        })
        .collect();
    let stamp = chrono::Utc::now().format("%Y%m%d-%H%M");
    // Building a large XLSX takes seconds: off the async threads.
    let csv = q.format == "csv";
    let built = tokio::task::spawn_blocking(move || {
        if csv { Ok(yizhan_records::export_csv(&records)) } else { yizhan_records::export_xlsx(&records) }
    })
    .await
    .map_err(|_| DeskError(StatusCode::INTERNAL_SERVER_ERROR, "导出失败".into()))?;
    if csv {
        let bytes = built.map_err(|e| DeskError(StatusCode::BAD_REQUEST, e.message_zh()))?;
        Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (header::CONTENT_DISPOSITION, format!("attachment; filename=\"service-{stamp}.csv\"")),
            ],
            bytes,
        )
            .into_response())
    } else {
        let bytes = built.map_err(|e| DeskError(StatusCode::BAD_REQUEST, e.message_zh()))?;
        Ok((
            [
                (
                    header::CONTENT_TYPE,
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string(),
                ),
                (header::CONTENT_DISPOSITION, format!("attachment; filename=\"service-{stamp}.xlsx\"")),
            ],
            bytes,
        )
            .into_response())
    }
}

async fn people_page(State(hub): State<Hub>, SignedIn(actor): SignedIn) -> Result<Markup, DeskError> {
    people_view(&hub, &actor, None).await
}

async fn people_view(hub: &Hub, actor: &Actor, report: Option<Markup>) -> Result<Markup, DeskError> {
    if actor.role != Role::Admin {
        return Err(denied(yizhan_core::Denied::Role));
    }
    let filter = PeopleFilter { region: Some(actor.region.to_string()), limit: 500, ..Default::default() };
    let people = hub.store.call(move |db| db.find_people(&filter)).await?;
    let locked = hub.accounts.lockouts().await?;
    let body = html! {
        @if let Some(r) = report { (r) }
        section.card {
            h1 { "导入专家和信息员" }
            form method="post" action=(yizhan_web::action("/desk/people")) enctype="multipart/form-data" {
                input type="file" name="file" accept=".csv,.xlsx" required;
                button.primary type="submit" data-testid="import-submit" { "导入" }
            }
            p.muted { "表头：编号、姓名、角色、地区代码（或地区）、产业、专长、状态、职称、手机号。出错的行会逐行列出，其余行照常导入。" }
        }
        section.card {
            h2 { "人员（" (people.len()) "）" }
            table data-testid="people" {
                thead { tr { th { "编号" } th { "姓名" } th { "角色" } th { "地区" } th { "产业" } th { "专长" } th { "手机" } th { "账号" } } }
                tbody {
                    @for p in &people {
                        tr {
                            td { (p.id) } td { a href=(format!("/desk/people/{}", p.id)) data-testid=(format!("edit-{}", p.id)) { (p.name) } }
                            td { (p.role().map(Role::name_zh).unwrap_or("")) }
                            td { (region_zh(&p.region_code)) }
                            td { (p.industries.iter().map(|i| industry_zh(i)).collect::<Vec<_>>().join("、")) }
                            td { (p.specialities.join("、")) }
                            td { (p.phone_masked) }
                            td {
                                @if let Some(until) = locked.get(&p.id) {
                                    form.inline method="post" action=(yizhan_web::action(&format!("/desk/people/{}/unlock", p.id))) {
                                        span.warn data-testid=(format!("locked-{}", p.id)) { "密码错误次数过多，锁定至 " (fmt_time(*until)) " " }
                                        button type="submit" data-testid=(format!("unlock-{}", p.id)) { "解除锁定" }
                                    }
                                }
                                form.inline method="post" action=(yizhan_web::action(&format!("/desk/people/{}/active", p.id))) {
                                    input type="hidden" name="active" value=(if p.active { "0" } else { "1" });
                                    button type="submit" data-testid=(format!("toggle-{}", p.id)) { @if p.active { "停用" } @else { "启用" } }
                                }
                                form.inline method="post" action=(yizhan_web::action(&format!("/desk/people/{}/password", p.id))) {
                                    input type="password" name="password" placeholder="新密码" minlength="8" autocomplete="new-password";
                                    button type="submit" { "重设密码" }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page("人员", Some(actor), body))
}

async fn import_people(
    State(hub): State<Hub>,
    SignedIn(actor): SignedIn,
    mut multipart: Multipart,
) -> Result<Markup, DeskError> {
    if actor.role != Role::Admin {
        return Err(denied(yizhan_core::Denied::Role));
    }
    let mut file: Option<(String, Vec<u8>)> = None;
    while let Ok(Some(field)) = multipart.next_field().await {
        if field.name() == Some("file") {
            let name = field.file_name().unwrap_or("people.csv").to_string();
            let bytes = field
                .bytes()
                .await
                .map_err(|_| DeskError(StatusCode::BAD_REQUEST, "文件上传失败或超过 10 MB".into()))?;
            file = Some((name, bytes.to_vec()));
        }
    }
    let Some((name, bytes)) = file else {
        return Err(DeskError(StatusCode::BAD_REQUEST, "请选择文件".into()));
    };
    let parsed = yizhan_records::parse_people(&bytes, &name)
        .map_err(|e| DeskError(StatusCode::BAD_REQUEST, e.message_zh()))?;
    let (created, mut errors) = crate::export::import(&hub, &actor, parsed).await?;
    errors.sort_by_key(|e| e.0);
    let report = html! {
        section.card data-testid="import-report" {
            h2 { "导入结果" }
            p { "成功 " b data-testid="imported" { (created) } " 行，出错 " b data-testid="import-errors" { (errors.len()) } " 行。" }
            @if !errors.is_empty() {
                table { thead { tr { th { "行" } th { "问题" } } } tbody { @for (row, msg) in &errors { tr { td { (row) } td { (msg) } } } } }
            }
        }
    };
    people_view(&hub, &actor, Some(report)).await
}

/// The person `id` if the administrator may manage her (within the administrator's region).
async fn managed_person(hub: &Hub, actor: &Actor, id: &str) -> Result<yizhan_core::Person, DeskError> {
    if actor.role != Role::Admin {
        return Err(denied(yizhan_core::Denied::Role));
    }
    let pid = id.to_string();
    let p = hub
        .store
        .call(move |db| db.person(&pid))
        .await?
        .ok_or_else(|| DeskError(StatusCode::NOT_FOUND, "人员不存在".into()))?;
    if !actor.covers(&p.region_code) {
        return Err(denied(yizhan_core::Denied::OutOfRegion));
    }
    Ok(p)
}

/// One person's directory entry, for an administrator to correct (name, region, fields,
/// availability, title, phone). The id and role stay: they are the sign-in name and its rights.
async fn person_page(
    State(hub): State<Hub>,
    SignedIn(actor): SignedIn,
    Path(id): Path<String>,
) -> Result<Markup, DeskError> {
    let p = managed_person(&hub, &actor, &id).await?;
    let expert = p.role() == Some(Role::Expert);
    let body = html! {
        section.card {
            h1 { "编辑人员：" (p.name) " " span.muted { (p.id) " · " (p.role().map(Role::name_zh).unwrap_or("")) } }
            form method="post" action=(yizhan_web::action(&format!("/desk/people/{}", p.id))) data-testid="person-form" {
                p { label { "姓名 " input type="text" name="name" value=(p.name) required maxlength="32"; } }
                p { label { "地区代码 " input type="text" name="region_code" value=(p.region_code) required maxlength="12" inputmode="numeric"; } " " span.muted { (region_zh(&p.region_code)) } }
                @if expert {
                    fieldset {
                        legend { "产业" }
                        @for i in yizhan_core::Industry::ALL {
                            label { input type="checkbox" name="industry" value=(i.code()) checked[p.industries.iter().any(|c| c == i.code())]; " " (i.name_zh()) }
                        }
                    }
                    p { label { "专长（用“、”分隔） " input type="text" name="specialities" value=(p.specialities.join("、")) maxlength="200"; } }
                    p { label { "状态 " select name="availability" {
                        @for a in yizhan_core::Availability::ALL {
                            option value=(a.code()) selected[p.availability == a.code()] { (a.name_zh()) }
                        }
                    } } }
                    p { label { "职称 " input type="text" name="title" value=(p.title) maxlength="32"; } }
                }
                p { label { "手机号 " input type="tel" name="phone" placeholder=(format!("{}（不改请留空）", p.phone_masked)) maxlength="20"; } }
                button.primary type="submit" data-testid="person-save" { "保存" }
                " " a.button href="/desk/people" { "返回" }
            }
        }
    };
    Ok(page("编辑人员", Some(&actor), body))
}

/// Saves an administrator's correction of one person; nothing changes when any field is bad.
async fn save_person(
    State(hub): State<Hub>,
    SignedIn(actor): SignedIn,
    Path(id): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Redirect, DeskError> {
    let p = managed_person(&hub, &actor, &id).await?;
    let field = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.trim().to_string());
    let expert = p.role() == Some(Role::Expert);
    let np = yizhan_core::NewPerson {
        id: p.id.clone(),
        role: p.role.clone(),
        name: field("name").unwrap_or_default(),
        region_code: field("region_code").unwrap_or_default(),
        industries: if expert {
            fields.iter().filter(|(n, _)| n == "industry").map(|(_, v)| v.clone()).collect()
        } else {
            p.industries.clone()
        },
        specialities: if expert {
            field("specialities")
                .unwrap_or_default()
                .split(['、', ',', '，', ';', '；'])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        } else {
            p.specialities.clone()
        },
        availability: if expert { field("availability").unwrap_or_default() } else { p.availability.clone() },
        title: if expert { field("title").unwrap_or_default() } else { p.title.clone() },
        phone: field("phone").unwrap_or_default(),
    };
    if !actor.covers(&np.region_code) {
        return Err(DeskError(StatusCode::BAD_REQUEST, "地区不在您的管辖范围内".into()));
    }
    let now = hub.store.config().clock.now_ms();
    crate::export::store_person(&hub, &np, now).await.map_err(|m| DeskError(StatusCode::BAD_REQUEST, m))?;
    if expert {
        hub.directory.invalidate();
    }
    tracing::info!(person = %p.id, by = %actor.person_id, "person edited");
    Ok(Redirect::to("/desk/people"))
}

#[derive(Debug, Deserialize)]
pub struct ActiveForm {
    pub active: String,
}

/// Stops (or restores) a person's access: an inactive person cannot sign in, her sessions end,
/// and she is no longer suggested or assignable.
async fn set_active(
    State(hub): State<Hub>,
    SignedIn(actor): SignedIn,
    Path(id): Path<String>,
    Form(f): Form<ActiveForm>,
) -> Result<Redirect, DeskError> {
    let p = managed_person(&hub, &actor, &id).await?;
    if p.id == actor.person_id {
        return Err(DeskError(StatusCode::BAD_REQUEST, "不能停用自己的账号".into()));
    }
    let active = f.active == "1";
    let now = hub.store.config().clock.now_ms();
    let doc_id = yizhan_core::Person::doc_id(&p.id);
    hub.store
        .call(move |db| {
            db.update_doc(&doc_id, |doc| -> Result<(), yizhan_core::PersonError> {
                let mut p = yizhan_core::Person::from_doc(doc)?;
                if p.active != active {
                    p.active = active;
                    p.updated_at_ms = now;
                    p.update_doc(doc)?;
                }
                Ok(())
            })
        })
        .await?
        .map_err(|e| DeskError(StatusCode::BAD_REQUEST, e.message_zh()))?;
    if !active {
        let _ = hub.accounts.sign_out_everywhere(&p.id).await;
    }
    hub.directory.invalidate();
    tracing::info!(person = %p.id, active, by = %actor.person_id, "person access changed");
    Ok(Redirect::to("/desk/people"))
}

#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    pub password: String,
}

/// Sets a new password for a person (she changes it after signing in).
async fn reset_password(
    State(hub): State<Hub>,
    SignedIn(actor): SignedIn,
    Path(id): Path<String>,
    Form(f): Form<PasswordForm>,
) -> Result<Redirect, DeskError> {
    let p = managed_person(&hub, &actor, &id).await?;
    hub.accounts
        .set_password(&p.id, &f.password)
        .await
        .map_err(|e| DeskError(StatusCode::BAD_REQUEST, e.message_zh()))?;
    // The administrator gave her the new password: the old failures no longer count.
    hub.accounts.clear_lockout(&p.id).await?;
    tracing::info!(person = %p.id, by = %actor.person_id, "password reset");
    Ok(Redirect::to("/desk/people"))
}

/// Audit actions: exports (numbers masked or in clear) and a number shown in clear.
pub const AUDIT_EXPORT: &str = "export";
pub const AUDIT_EXPORT_PHONES: &str = "export_phones";
pub const AUDIT_VIEW_PHONE: &str = "view_phone";
/// Views of one number by one person within this time are recorded once.
const AUDIT_VIEW_COALESCE_MS: i64 = 10 * 60 * 1000;

fn audit_action_zh(action: &str) -> &str {
    match action {
        AUDIT_EXPORT => "导出服务记录（号码遮蔽）",
        AUDIT_EXPORT_PHONES => "导出服务记录（含完整号码）",
        AUDIT_VIEW_PHONE => "查看农户完整号码",
        other => other,
    }
}

/// Who exported service records or saw farmers' numbers in clear on this hub, for the
/// administrators of the region.
async fn audit_page(State(hub): State<Hub>, SignedIn(actor): SignedIn) -> Result<Markup, DeskError> {
    if actor.role != Role::Admin {
        return Err(denied(yizhan_core::Denied::Role));
    }
    let region = actor.region.to_string();
    let (rows, names) = hub
        .store
        .call(move |db| {
            let rows = db.audit_log(&region, AUDIT_SHOWN)?;
            let mut names = std::collections::HashMap::new();
            for r in &rows {
                if !names.contains_key(&r.person_id)
                    && let Some(p) = db.person(&r.person_id)?
                {
                    names.insert(r.person_id.clone(), p.name);
                }
            }
            Ok((rows, names))
        })
        .await?;
    let body = html! {
        section.card {
            h1 { "审计记录" }
            p.muted { "本节点上导出服务记录和查看农户完整号码的记录（最近 " (AUDIT_SHOWN) " 条）。" }
            @if rows.is_empty() { p.muted { "暂无记录" } }
            @else {
                table data-testid="audit" {
                    thead { tr { th { "时间" } th { "人员" } th { "操作" } th { "内容" } } }
                    tbody {
                        @for r in &rows {
                            tr {
                                td { (fmt_time(r.at_ms)) }
                                td { (names.get(&r.person_id).cloned().unwrap_or_else(|| r.person_id.clone())) " " span.muted { (r.person_id) } }
                                td { (audit_action_zh(&r.action)) }
                                td { (r.detail) }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page("审计记录", Some(&actor), body))
}

/// Audit records the page shows.
const AUDIT_SHOWN: u32 = 200;

/// Lifts a person's lockout on this hub (she called the centre, who checked it is her).
async fn unlock(
    State(hub): State<Hub>,
    SignedIn(actor): SignedIn,
    Path(id): Path<String>,
) -> Result<Redirect, DeskError> {
    let p = managed_person(&hub, &actor, &id).await?;
    hub.accounts.clear_lockout(&p.id).await?;
    tracing::info!(person = %p.id, by = %actor.person_id, "lockout lifted");
    Ok(Redirect::to("/desk/people"))
}

#[derive(Debug, Deserialize)]
pub struct SettingsForm {
    pub triage_min: i64,
    pub response_min: i64,
    pub followup_days: i64,
    pub warn_min: i64,
    pub hours: String,
    #[serde(default)]
    pub d0: Option<String>,
    #[serde(default)]
    pub d1: Option<String>,
    #[serde(default)]
    pub d2: Option<String>,
    #[serde(default)]
    pub d3: Option<String>,
    #[serde(default)]
    pub d4: Option<String>,
    #[serde(default)]
    pub d5: Option<String>,
    #[serde(default)]
    pub d6: Option<String>,
}

async fn settings_page(State(hub): State<Hub>, SignedIn(actor): SignedIn) -> Result<Markup, DeskError> {
    if actor.role != Role::Admin {
        return Err(denied(yizhan_core::Denied::Role));
    }
    let p = hub.store.call(|db| db.service_policy()).await?;
    let days = ["一", "二", "三", "四", "五", "六", "日"];
    let hm = |m: u32| format!("{:02}:{:02}", m / 60, m % 60);
    let body = html! {
        section.card {
            h1 { "服务时限设置（本中心）" }
            form.settings method="post" action=(yizhan_web::action("/desk/settings")) {
                label { "分诊时限（分钟，工作时间） " input type="number" name="triage_min" min="1" max="10080" value=(p.triage_ms / MINUTE_MS); }
                label { "专家响应时限（分钟，工作时间） " input type="number" name="response_min" min="1" max="10080" value=(p.response_ms / MINUTE_MS); }
                label { "回访时限（天，自然日） " input type="number" name="followup_days" min="1" max="90" value=(p.followup_ms / (24 * 60 * MINUTE_MS)); }
                label { "临期提醒（分钟） " input type="number" name="warn_min" min="0" max="1440" value=(p.warn_ms / MINUTE_MS); }
                label { "工作时间 " input type="text" name="hours" pattern="[0-9]{2}:[0-9]{2}-[0-9]{2}:[0-9]{2}" value=(format!("{}-{}", hm(p.hours.start_min), hm(p.hours.end_min))); }
                fieldset { legend { "工作日" }
                    @for (i, d) in days.iter().enumerate() {
                        label { input type="checkbox" name=(format!("d{i}")) value="1" checked[p.hours.days[i]]; " 周" (d) }
                    }
                }
                button.primary type="submit" { "保存" }
            }
        }
    };
    Ok(page("时限设置", Some(&actor), body))
}

async fn save_settings(
    State(hub): State<Hub>,
    SignedIn(actor): SignedIn,
    Form(f): Form<SettingsForm>,
) -> Result<Redirect, DeskError> {
    if actor.role != Role::Admin || actor.region.as_str() != hub.config.scope {
        return Err(denied(yizhan_core::Denied::Role));
    }
    let (start_min, end_min) = yizhan_core::clock::WorkingHours::parse_span(&f.hours)
        .map_err(|_| DeskError(StatusCode::BAD_REQUEST, "工作时间格式应为 08:00-18:00".into()))?;
    let days = [&f.d0, &f.d1, &f.d2, &f.d3, &f.d4, &f.d5, &f.d6].map(|d| d.is_some());
    let policy = ServicePolicy {
        triage_ms: f.triage_min.saturating_mul(MINUTE_MS),
        response_ms: f.response_min.saturating_mul(MINUTE_MS),
        followup_ms: f.followup_days.saturating_mul(24 * 60 * MINUTE_MS),
        warn_ms: f.warn_min.saturating_mul(MINUTE_MS),
        hours: yizhan_core::clock::WorkingHours { days, start_min, end_min },
    };
    policy.validate().map_err(|e| DeskError(StatusCode::BAD_REQUEST, format!("设置无效：{e}")))?;
    let (scope, node) = (hub.config.scope.clone(), hub.config.node_id.clone());
    hub.store
        .call(move |db| {
            db.set_service_policy(&policy)?;
            service::refresh_all(db, &scope, &node)
        })
        .await?;
    Ok(Redirect::to("/desk/settings"))
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
