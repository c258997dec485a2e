//! Server-rendered pages (zh-CN), sized for a 10-inch touch tablet and a PC.

use axum::Form;
use axum::Router;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use serde::Deserialize;
use yizhan_core::{Actor, CaseDoc, CaseState, Industry, RegionLevel, Status, UNSIGNED_OFFICER, regions};
use yizhan_net::SyncStatus;
use yizhan_store::{CaseFilter, CaseRow};
use yizhan_web::{Module, NavLink, Shell, Viewer, fmt};

use crate::AppState;
use crate::error::{AppError, PageError};
use crate::service::{self, CaseView, EventInput};
use crate::sync_state::SyncSummary;

pub const PAGE_SIZE: u32 = 20;
/// A green square with 驿, so the browser's tab and home-screen shortcut are recognisable.
const FAVICON: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><rect width="64" height="64" rx="12" fill="#2e7d32"/><text x="32" y="46" font-size="40" text-anchor="middle" fill="#fff">驿</text></svg>"##;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/cases") }))
        .route("/cases", get(list_page).post(create_case))
        .route("/cases/new", get(new_page))
        .route("/cases/{id}", get(case_page))
        .route("/cases/{id}/events", post(case_event))
        .route("/stats", get(crate::village_stats::stats_page))
        .route("/blobs/{hash}", get(blob))
        .route("/favicon.ico", get(|| async { ([(header::CONTENT_TYPE, "image/svg+xml")], FAVICON) }))
        .route("/healthz", get(|| async { axum::Json(serde_json::json!({"status": "ok"})) }))
        .merge(yizhan_web::assets::routes())
        // ECharts and the Sichuan map, for the 双创平台 map.
        .merge(yizhan_web::assets::dashboard_routes())
}

fn status_name(code: &str) -> &'static str {
    Status::from_code(code).map(Status::name_zh).unwrap_or("未知")
}

/// What the header shows on every page: what the county hub does not hold yet and the link.
pub struct HeaderInfo {
    summary: SyncSummary,
    sync: SyncStatus,
}

pub(crate) async fn header_info(state: &AppState) -> Option<HeaderInfo> {
    stats(state).await
}

async fn stats(state: &AppState) -> Option<HeaderInfo> {
    let summary = crate::sync_state::summary(state).await.ok()?;
    Some(HeaderInfo { summary, sync: state.sync.get() })
}

/// The kiosk's shell: its pages of the expert service, the link to the county hub and what is
/// not yet synced, the signed-in officer.
pub(crate) fn shell(header: Option<&HeaderInfo>, who: Option<&Actor>) -> Shell {
    let mut shell = Shell::new("kiosk", "驿站", "/cases");
    shell.brand_sub = Some("村级科技服务".into());
    shell.nav = vec![
        NavLink::new(Module::ExpertService, "/cases", "案例列表"),
        NavLink::new(Module::ExpertService, "/cases/new", "＋ 登记新案例").primary(),
        NavLink::new(Module::Management, "/stats", "本村统计"),
        // 产业信息's records (the published items of every kind stay at `/items`); short labels
        // keep the header on one line on a 10-inch tablet.
        NavLink::new(Module::IndustryInfo, yizhan_industry::pages::LIST_PATH, "产业信息"),
        NavLink::new(Module::SupplySales, "/supply", "供销"),
        NavLink::new(Module::Achievements, "/achievements", "成果"),
        // 特派员讲堂, shortened like the others (the full name heads its page); the 双创 map is
        // linked from 成果转化's page: a seventh link wraps the header on a 10-inch tablet.
        NavLink::new(Module::Achievements, crate::lectures::LIST_PATH, "讲堂"),
    ];
    shell.account_link = true;
    shell.viewer = who.map(|a| Viewer {
        name: a.name.clone(),
        role_zh: a.role.name_zh().into(),
        region_zh: fmt::region(a.region.as_str()),
    });
    shell.status = header.map(|h| {
        let (link, class) = h.summary.link_zh(&h.sync);
        html! {
            span class=(format!("link {class}")) data-testid="link" { (link) }
            span.sync title="县运管中心尚未收到的记录、照片和视频" data-testid="unsynced" { (h.summary.text_zh()) }
        }
    });
    shell
}

pub(crate) fn layout(title: &str, header: Option<&HeaderInfo>, who: Option<&Actor>, body: Markup) -> Markup {
    shell(header, who).render(title, body)
}

pub fn error_page(e: &AppError) -> Markup {
    shell(None, None).error_page(&e.message_zh(), "案例列表")
}

#[derive(Debug, Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub industry: String,
    #[serde(default)]
    pub page: u32,
}

async fn list_page(
    State(state): State<AppState>,
    who: Option<yizhan_accounts::SignedIn>,
    Query(q): Query<ListQuery>,
) -> Result<Markup, PageError> {
    let page = q.page.max(1);
    let filter = CaseFilter {
        status: Some(q.status.clone()),
        industry: Some(q.industry.clone()),
        text: Some(q.q.clone()),
        limit: PAGE_SIZE,
        offset: (page - 1) * PAGE_SIZE,
    };
    let f2 = filter.clone();
    let (rows, total) = state
        .store
        .call(move |db| Ok((db.list_cases(&f2)?, db.count_cases(&f2)?)))
        .await
        .map_err(AppError::from)?;
    let stats = stats(&state).await;
    let pages = ((total as u32).div_ceil(PAGE_SIZE)).max(1);
    let link = |p: u32| {
        format!(
            "/cases?q={}&status={}&industry={}&page={p}",
            urlencode(&q.q),
            urlencode(&q.status),
            urlencode(&q.industry)
        )
    };
    Ok(layout(
        "案例列表",
        stats.as_ref(),
        who.as_ref().map(|w| &w.0),
        html! {
            form.filters method="get" action="/cases" {
                input type="search" name="q" value=(q.q) placeholder="搜索作物、症状、村名、农户…";
                select name="status" {
                    option value="" { "全部状态" }
                    @for s in Status::ALL { option value=(s.code()) selected[q.status == s.code()] { (s.name_zh()) } }
                }
                select name="industry" {
                    option value="" { "全部产业" }
                    @for i in Industry::ALL { option value=(i.code()) selected[q.industry == i.code()] { (i.name_zh()) } }
                }
                button type="submit" { "筛选" }
            }
            p.count { "共 " (total) " 个案例" }
            @if rows.is_empty() {
                p.empty { "还没有符合条件的案例。" a href="/cases/new" { "登记新案例" } }
            }
            ul.cases data-testid="case-list" {
                @for r in &rows { (case_card(r)) }
            }
            @if pages > 1 {
                nav.pager {
                    @if page > 1 { a.button href=(link(page - 1)) { "上一页" } }
                    span { "第 " (page) " / " (pages) " 页" }
                    @if page < pages { a.button href=(link(page + 1)) { "下一页" } }
                }
            }
        },
    ))
}

fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn case_card(r: &CaseRow) -> Markup {
    html! {
        li.case {
            a href=(format!("/cases/{}", r.id)) {
                @if r.thumb_hash.is_empty() { div.thumb.none { "无照片" } }
                @else { img.thumb src=(format!("/blobs/{}", r.thumb_hash)) alt="照片" loading="lazy"; }
                div.info {
                    div.title { span.tag { (fmt::industry_or(&r.industry, "其他")) } " " b { (r.subject) } }
                    p.desc { (truncate(&r.description, 60)) }
                    div.meta {
                        span class=(format!("status s-{}", r.status)) { (status_name(&r.status)) }
                        span { (regions().path_name(&r.region_code)) " " (r.village_name) }
                        span { (fmt::time_full(r.created_at_ms)) }
                        @if r.photo_count > 0 { span { "照片 " (r.photo_count) } }
                        @if r.video_count > 0 { span { "视频 " (r.video_count) } }
                        @if r.officer == UNSIGNED_OFFICER { span.unsigned data-testid="unsigned" { "未登录登记" } }
                        @if r.unsynced { span.unsynced { "未同步" } }
                        @else if r.at_parent { span.at-county data-testid="at-county" { "已到县中心" } }
                        @else { span.unsynced data-testid="media-pending" { "照片待传" } }
                    }
                }
            }
        }
    }
}

fn truncate(s: &str, chars: usize) -> String {
    if s.chars().count() <= chars {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(chars).collect::<String>())
    }
}

/// Towns the form offers: those within the kiosk's scope, grouped by county.
fn town_picker(state: &AppState, selected: &str) -> Markup {
    let db = regions();
    let scope = state.config.scope.as_str();
    if state.config.scope.level() == RegionLevel::Village {
        // A village's kiosk records cases of its own village only.
        return html! {
            label { "地点"
                input type="hidden" name="region_code" value=(scope);
                input type="text" value=(db.path_name(scope)) readonly;
            }
        };
    }
    let counties: Vec<&yizhan_core::Region> = match state.config.scope.level() {
        RegionLevel::Province => db.children(scope).into_iter().flat_map(|c| db.children(&c.code)).collect(),
        RegionLevel::City => db.children(scope),
        _ => state.config.scope.county().and_then(|c| db.get(c.as_str())).into_iter().collect(),
    };
    let single = counties.len() == 1;
    html! {
        @if !single {
            label { "县（市、区）"
                select id="county" name="county" data-towns="#region_code" required {
                    option value="" { "请选择县市区" }
                    @for c in &counties {
                        option value=(c.code) selected[selected.starts_with(&c.code)] { (db.path_name(&c.code)) }
                    }
                }
            }
        }
        label { "乡镇（街道）"
            select id="region_code" name="region_code" required {
                option value="" { "请选择乡镇" }
                @for c in &counties {
                    @if single || selected.starts_with(&c.code) {
                        @for t in db.children(&c.code) {
                            @if t.code.starts_with(scope) || scope.starts_with(&t.code) {
                                option value=(t.code) selected[selected == t.code] { (t.name) }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[derive(Default)]
struct FormValues {
    region_code: String,
    village_name: String,
    industry: String,
    subject: String,
    description: String,
    farmer_name: String,
    farmer_phone: String,
}

async fn new_page(State(state): State<AppState>, who: Option<yizhan_accounts::SignedIn>) -> Markup {
    let stats = stats(&state).await;
    let who = who.map(|w| w.0);
    layout(
        "登记新案例",
        stats.as_ref(),
        who.as_ref(),
        case_form(&state, &FormValues::default(), who.as_ref(), None),
    )
}

/// The officer who records the case: the signed-in one, by name (not a field to type in), or a
/// note that the case will be recorded as 未登录 and a link to sign in.
fn officer_line(who: Option<&Actor>) -> Markup {
    html! {
        @match who {
            Some(a) => {
                p.officer data-testid="officer" { "信息员：" b { (a.name) } }
            }
            None => {
                p.officer.unsigned data-testid="officer" {
                    "信息员：" b { (UNSIGNED_OFFICER) } "（将记录为未登录；提交专家需要先 "
                    a href="/signin?next=/cases/new" { "登录" } "）"
                }
            }
        }
    }
}

fn case_form(state: &AppState, v: &FormValues, who: Option<&Actor>, error: Option<&str>) -> Markup {
    let limits = &state.config.limits;
    html! {
        h1 { "登记新案例" }
        @if let Some(e) = error { p.alert role="alert" data-testid="form-error" { (e) } }
        form id="case-form" class="case-form" method="post" action=(yizhan_web::action("/cases")) enctype="multipart/form-data" data-upload {
            fieldset {
                legend { "问题" }
                label { "产业"
                    select name="industry" required {
                        option value="" { "请选择产业" }
                        @for i in Industry::ALL { option value=(i.code()) selected[v.industry == i.code()] { (i.name_zh()) } }
                    }
                }
                label { "作物或畜禽" input name="subject" required maxlength="64" value=(v.subject) placeholder="如：柑橘、水稻、生猪"; }
                label.wide { "问题描述"
                    textarea name="description" required maxlength="4000" rows="5" placeholder="症状、发生时间、面积或头数、用过的药…" { (v.description) }
                }
            }
            section.similar.card data-testid="similar" hidden {
                h2 { "类似的已解决案例" }
                p.small { "如果下面某个答复能解决问题，点“解决了”即可办结，无需专家。" }
                input type="hidden" name="solved_by" value="";
                input type="hidden" name="offered" value="";
                ol.similar-list {}
            }
            fieldset {
                legend { "照片和视频" }
                label.wide { "照片（最多 " (limits.photos_max) " 张，JPEG/PNG/WebP，每张不超过 " (limits.media.photo_bytes_max / 1024 / 1024) " MB）"
                    input type="file" name="photos" accept="image/jpeg,image/png,image/webp" multiple data-preview="#photo-previews" data-max=(limits.photos_max);
                }
                div.previews id="photo-previews" data-testid="photo-previews" hidden {
                    p.small.count {}
                    div.thumbs {}
                }
                label.wide { "视频（1 段，不超过 " (limits.media.video_duration_ms_max / 60_000) " 分钟、" (limits.media.video_bytes_max / 1024 / 1024) " MB）"
                    input type="file" name="video" accept="video/*";
                }
            }
            fieldset {
                legend { "地点和农户" }
                (town_picker(state, &v.region_code))
                label { "村名" input name="village_name" maxlength="64" value=(v.village_name) placeholder="如：和平村"; }
                label { "农户姓名" input name="farmer_name" maxlength="64" value=(v.farmer_name); }
                label { "农户电话" input name="farmer_phone" type="tel" inputmode="numeric" maxlength="20" value=(v.farmer_phone) placeholder="仅加密保存"; }
                (officer_line(who))
            }
            div.submitbar {
                div.progress hidden data-testid="upload-progress" { div.bar {} span.label { "上传中…" } }
                button.primary.big type="submit" name="intent" value="save" { "保存案例" }
                @if who.is_some() {
                    " "
                    button.big type="submit" name="intent" value="escalate" { "提交专家" }
                }
            }
        }
    }
}

async fn create_case(
    State(state): State<AppState>,
    who: Option<yizhan_accounts::SignedIn>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    let multipart = match multipart {
        Ok(m) => m,
        Err(e) => return PageError(e.into()).into_response(),
    };
    let who = who.map(|w| w.0);
    let up = match crate::upload::parse(&state, multipart).await {
        Ok(up) => up,
        Err(e) => return PageError(e).into_response(),
    };
    let values = FormValues {
        region_code: up.case.region_code.clone(),
        village_name: up.case.village_name.clone(),
        industry: up.case.industry.clone(),
        subject: up.case.subject.clone(),
        description: up.case.description.clone(),
        farmer_name: up.case.farmer_name.clone(),
        farmer_phone: up.case.farmer_phone.clone(),
    };
    match service::record_case(&state, up, who.as_ref()).await {
        Ok(id) => Redirect::to(&format!("/cases/{id}")).into_response(),
        Err(e)
            if matches!(
                e,
                AppError::Invalid(_)
                    | AppError::TooLarge(_)
                    | AppError::Media(_)
                    | AppError::SignInRequired
                    | AppError::Forbidden(_)
            ) =>
        {
            e.log();
            let stats = stats(&state).await;
            let form = case_form(&state, &values, who.as_ref(), Some(&e.message_zh()));
            let page = layout("登记新案例", stats.as_ref(), who.as_ref(), form);
            (e.status(), page).into_response()
        }
        Err(e) => PageError(e).into_response(),
    }
}

async fn case_page(
    State(state): State<AppState>,
    who: Option<yizhan_accounts::SignedIn>,
    Path(id): Path<String>,
) -> Result<Markup, PageError> {
    let view = service::case_view(&state, &id).await?;
    let solved_by = match &view.state.solved_by {
        Some(kb) => service::solving_answer(&state, kb).await?,
        None => None,
    };
    let similar = if view.state.status == Status::Open {
        let text = format!("{} {}", view.case.subject, view.case.description);
        service::similar(&state, text, Some(view.case.industry.clone()), Vec::new()).await.unwrap_or_default()
    } else {
        Vec::new()
    };
    let stats = stats(&state).await;
    let body = html! {
        (case_body(&view, solved_by.as_ref(), who.is_some()))
        @if !similar.is_empty() {
            section.card.similar data-testid="case-similar" {
                h2 { "类似的已解决案例" }
                ol.similar-list {
                    @for s in &similar {
                        li {
                            p.q { (s.question) }
                            p.a { b { "答复：" } (s.answer) }
                            (credit(s))
                            form method="post" action=(yizhan_web::action(&format!("/cases/{}/events", view.case.id))) {
                                input type="hidden" name="kind" value="solved_by_similar";
                                input type="hidden" name="target" value=(s.id);
                                button.primary type="submit" { "解决了" }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(layout(&view.case.subject.clone(), stats.as_ref(), who.as_ref().map(|w| &w.0), body))
}

/// Who owns a knowledge entry's answer, and whether a county centre signed it off.
fn credit(s: &service::SimilarCase) -> Markup {
    html! {
        @if !s.owner.is_empty() || s.reviewed {
            p.small.credit {
                @if !s.owner.is_empty() { "知识产权：" (s.owner) }
                @if !s.owner.is_empty() && s.reviewed { " · " }
                @if s.reviewed { "经县运管中心审核发布" }
            }
        }
    }
}

fn case_body(v: &CaseView, solved_by: Option<&service::SimilarCase>, signed_in: bool) -> Markup {
    let c: &CaseDoc = &v.case;
    // The farmer's photos; an expert's answer photos show with her answer.
    let photos = c.farmer_media("photo", "original");
    let videos = c.farmer_media("video", "original");
    let derived = |group: &str, role: &str| {
        c.attachments.values().find(|a| a.group == group && a.role == role).map(|a| a.hash.clone())
    };
    let poll_url = format!("/api/cases/{}", c.id);
    let player = yizhan_uploads::view::Videos { case: c, jobs: &v.jobs, held: &v.held, poll_url };
    let ignored = &v.state.ignored_events;
    html! {
        article.case-detail data-case=(c.id) {
            h1 { span.tag { (fmt::industry_or(&c.industry, "其他")) } " " (c.subject) }
            p.meta {
                span class=(format!("status s-{}", v.state.status.code())) data-testid="status" { (v.state.status.name_zh()) }
                @if v.unsynced { " " span.unsynced { "未同步" } }
                @else if v.at_parent { " " span.at-county data-testid="at-county" { "已到县中心" } }
                @else { " " span.unsynced data-testid="media-pending" { "照片/视频待传县中心" } }
                " 登记于 " (fmt::time_full(c.created_at_ms)) " · 信息员 " span data-testid="officer" { (c.officer) }
                @if !c.officer_signed_in() && c.officer != UNSIGNED_OFFICER { "（未登录）" }
                @if !c.officer_signed_in() { " " span.unsigned data-testid="unsigned" { "未登录登记" } }
            }
            section.card {
                h2 { "问题描述" }
                p.description { (c.description) }
                dl {
                    dt { "地点" } dd { (regions().path_name(&c.region_code)) " " (c.village_name) }
                    @if !c.farmer_name.is_empty() || !v.phone_masked.is_empty() {
                        dt { "农户" } dd { (c.farmer_name) " " (v.phone_masked) }
                    }
                    @if let Some(e) = &v.state.expert { dt { "专家" } dd data-testid="expert" { (v.expert_name(e)) } }
                    @if let Some(r) = v.state.rating { dt { "评价" } dd data-testid="rating" { (r) " 星" } }
                }
            }
            @if let Some(k) = solved_by {
                section.card.answer data-testid="solved-by" {
                    h2 { "解决问题的类似案例答复" }
                    p.q { (k.question) }
                    p.answer-text { (k.answer) }
                    (credit(k))
                }
            } @else if let Some(kb) = &v.state.solved_by {
                section.card.answer data-testid="solved-by" {
                    h2 { "解决问题的类似案例答复" }
                    p.small { "本驿站暂未收到该答复（编号 " (kb) "），同步后显示。" }
                }
            }
            @let answers: Vec<_> = c.ordered_events().into_iter()
                .filter(|e| e.kind() == yizhan_core::EventKind::Answered && !ignored.contains(&e.id)).collect();
            @if !answers.is_empty() {
                section.card.answer data-testid="answers" {
                    h2 { "专家答复" }
                    @for a in &answers {
                        p.answer-text { (a.text) }
                        @if !a.target.is_empty() {
                            div.photos data-testid="answer-photos" {
                                @for g in a.target.split(',') {
                                    @if let Some(thumb) = derived(g, "thumb") {
                                        a href=(format!("/blobs/{}", derived(g, "display").unwrap_or_else(|| thumb.clone()))) target="_blank" {
                                            img src=(format!("/blobs/{thumb}")) alt="专家答复照片" loading="lazy";
                                        }
                                    }
                                }
                            }
                            @for o in c.answer_videos(a) { div data-testid="answer-video" { (player.show(o)) } }
                        }
                        p.small { (fmt::time_full(a.at_ms)) " · " (v.actor_name(a)) }
                    }
                }
            }
            @if !photos.is_empty() {
                section.card {
                    h2 { "照片（" (photos.len()) "）" }
                    div.photos {
                        @for p in &photos {
                            @let display = derived(&p.hash, "display").unwrap_or_else(|| p.hash.clone());
                            @let thumb = derived(&p.hash, "thumb").unwrap_or_else(|| display.clone());
                            a href=(format!("/blobs/{display}")) target="_blank" {
                                img src=(format!("/blobs/{thumb}")) alt=(p.name) loading="lazy";
                            }
                        }
                    }
                }
            }
            @for vid in &videos {
                section.card {
                    h2 { "视频" }
                    (player.show(vid))
                }
            }
            section.card {
                h2 { "处理记录" }
                ol.timeline data-testid="timeline" {
                    @for e in c.ordered_events() {
                        li class=[ignored.contains(&e.id).then_some("ignored")] {
                            span.time { (fmt::time_full(e.at_ms)) }
                            b { (e.kind().name_zh()) }
                            " " (v.actor_name(e))
                            @if !e.text.is_empty() { p { (e.text) } }
                            @if ignored.contains(&e.id) { span.small { "（与其他节点的操作冲突，未生效）" } }
                        }
                    }
                }
            }
            (actions(v, signed_in))
        }
    }
}

/// What the case page says about where a case stands and who acts next, for every status.
pub fn status_note(st: &CaseState) -> &'static str {
    match st.status {
        Status::Open => "尚未提交专家。可以查看下方类似的已解决案例，或提交县运管中心请专家答复。",
        Status::SolvedBySimilar => "已由类似案例的答复解决。确认农户问题已解决后请办结。",
        Status::AwaitingTriage => "已提交县运管中心，等待分派专家。",
        Status::AwaitingAnswer => "已分派专家，等待专家答复。",
        Status::OnSite => "专家将上门服务，等待上门和答复。",
        Status::Answered => "专家已答复。问题解决后请办结，并评价专家。",
        Status::Closed if st.expert.is_some() && st.rating.is_none() => "服务已办结，请评价专家。",
        Status::Closed => "服务已办结，县运管中心将电话回访。",
        Status::FollowedUp => "服务已办结，县运管中心已回访。",
    }
}

fn actions(v: &CaseView, signed_in: bool) -> Markup {
    let id = &v.case.id;
    // Only steps that are valid now are offered (the same rules as `core::authorize`).
    let can = |kind: yizhan_core::EventKind| {
        let (Some(code), Ok(region)) = (
            yizhan_core::access::EventKindCode::of(&kind),
            yizhan_core::RegionCode::parse(&v.case.region_code),
        ) else {
            return false;
        };
        let officer =
            Actor { person_id: String::new(), name: String::new(), role: yizhan_core::Role::Officer, region };
        yizhan_core::authorize(&officer, yizhan_core::Action::Event(code), &v.case, &v.state).is_ok()
    };
    let login = if signed_in { "" } else { "（需登录）" };
    html! {
        section.card.actions {
            p.status-note data-testid="status-note" { (status_note(&v.state)) }
            @if can(yizhan_core::EventKind::Escalated) {
                form method="post" action=(yizhan_web::action(&format!("/cases/{id}/events"))) {
                    input type="hidden" name="kind" value="escalated";
                    button.primary.big type="submit" data-testid="escalate" { "提交专家" (login) }
                }
            }
            @if can(yizhan_core::EventKind::Closed) {
                form method="post" action=(yizhan_web::action(&format!("/cases/{id}/events"))) {
                    input type="hidden" name="kind" value="closed";
                    button.primary.big type="submit" data-testid="close" { "办结" (login) }
                }
            }
            @if can(yizhan_core::EventKind::Rated) {
                    form.rate method="post" action=(yizhan_web::action(&format!("/cases/{id}/events"))) {
                        input type="hidden" name="kind" value="rated";
                        label { "评价专家"
                            select name="value" { @for n in (1..=5).rev() { option value=(n) { (n) " 星" } } }
                        }
                        label.wide { "评价意见" textarea name="text" rows="2" maxlength="2000" {} }
                        button.primary type="submit" data-testid="rate" { "提交评价" (login) }
                    }
            }
        }
    }
}

#[derive(Debug, Deserialize)]
struct EventForm {
    kind: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    target: String,
    #[serde(default)]
    value: i64,
    #[serde(default)]
    category: String,
}

async fn case_event(
    State(state): State<AppState>,
    who: Option<yizhan_accounts::SignedIn>,
    Path(id): Path<String>,
    Form(f): Form<EventForm>,
) -> Result<Redirect, PageError> {
    if who.is_none() && service::kiosk_event_kind(&f.kind).is_some_and(|k| service::needs_sign_in(&k)) {
        let next = format!("/cases/{id}");
        return Ok(Redirect::to(&format!("/signin?next={}", yizhan_accounts::web::safe_next(&next))));
    }
    let input =
        EventInput { kind: f.kind, text: f.text, target: f.target, value: f.value, category: f.category };
    service::add_event(&state, &id, input, who.as_ref().map(|w| &w.0)).await?;
    Ok(Redirect::to(&format!("/cases/{id}")))
}

/// Serves a blob by hash (cacheable forever; range requests for video seeking).
async fn blob(
    State(state): State<AppState>,
    Path(hash): Path<String>,
    req: axum::extract::Request,
) -> Response {
    yizhan_uploads::serve_blob(&state.store, &hash, req, false).await
}
