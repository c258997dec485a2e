//! A case's page (`/desk/cases/{id}`): the case as the actor may see it, its service clocks,
//! and the forms of the actions she may take now (assign, escalate up, answer, on-site, follow
//! up, the knowledge sign-off); the actions' form handler and the media jobs' progress.

use axum::Form;
use axum::extract::{Path, State};
use axum::response::Redirect;
use maud::{Markup, html};
use serde::Deserialize;
use yizhan_accounts::SignedIn;
use yizhan_core::access::EventKindCode;
use yizhan_core::clock::{ClockKind, ClockState};
use yizhan_core::{EventKind, Status};
use yizhan_web::fmt;

use super::answer::ANSWER_PHOTOS_MAX;
use super::clocks::{counting_zh, fmt_remaining};
use super::{DeskError, page};
use crate::Hub;
use crate::service::{self, ActInput};

/// Follow-up categories (服务类别) offered by the form.
pub const SERVICE_CATEGORIES: [&str; 7] =
    ["技术指导", "病虫害防治", "疫病防控", "品种与种植", "政策咨询", "市场与销售", "其他"];

pub(super) async fn case_page(
    State(hub): State<Hub>,
    SignedIn(actor): SignedIn,
    Path(id): Path<String>,
) -> Result<Markup, DeskError> {
    let d = service::case_view(&hub, &actor, &id).await?;
    let (c, s) = (&d.case, &d.state);
    let phone_clear = &d.phone_clear;
    let may = |k| d.may(&actor, k);
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
    let up_targets = d.centres_above();
    let my_answers = d.answers_by(&actor);
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
            p { (fmt::region(&c.region_code)) " " (c.village_name) " · " (fmt::industry(&c.industry)) " · 登记 " (fmt::time_short(c.created_at_ms)) " · 信息员 " (name(&c.officer)) }
            p.desc { (c.description) }
            p { "农户：" (c.farmer_name)
                @if let Some(phone) = phone_clear { " · 电话 " a href=(format!("tel:{phone}")) data-testid="phone" { (phone) } }
                @else if !d.phone_masked.is_empty() { " · 电话 " span data-testid="phone" { (d.phone_masked) } } }
            @if !photos.is_empty() {
                div.photos {
                    @for p in &photos {
                        a href=(format!("/blobs/{}", display(&p.group).unwrap_or(p.hash.clone()))) target="_blank" { img src=(format!("/blobs/{}", p.hash)) alt="照片"; }
                    }
                }
            }
            @for v in &videos { div data-testid="case-video" { (player.show(v)) } }
            p { "当前中心：" (fmt::region(&s.centre)) @if let Some(e) = &s.expert { " · 专家 " b data-testid="expert" { (name(e)) } }
                @if s.travel_cost_fen > 0 { " · 差旅费 " (fmt::yuan(s.travel_cost_fen)) " 元" }
                @if let Some(r) = s.rating { " · 评分 " b data-testid="rating" { (r) " 星" } } }
        }
        @if !my_answers.is_empty() {
            section.card.done data-testid="answer-submitted" {
                h2 { "✓ 已提交：您的答复" }
                @for e in &my_answers {
                    p.muted { "提交于 " (fmt::time_short(e.at_ms))
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
                                td { (fmt::time_short(*start)) }
                                td { b { (fmt::deadline(*due)) } }
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
        @if may(EventKindCode::KnowledgeWithdrawn) {
            section.card data-testid="knowledge-withdraw" {
                h2 { "撤回知识" }
                p.muted { "撤回后，该条知识立即在本中心下线，并随同步从各驿站的“找类似”中删除，不可恢复。" }
                form method="post" action=(act) {
                    input type="hidden" name="kind" value="knowledge_withdrawn";
                    label { "撤回原因 " input type="text" name="text" maxlength="200" required; }
                    button.danger type="submit" data-testid="knowledge-withdraw-submit" { "撤回" }
                }
            }
        }
        section.card {
            h2 { "服务记录" }
            ol.timeline data-testid="timeline" {
                @for e in c.ordered_events() {
                    li class=(if s.ignored_events.contains(&e.id) { "ignored" } else { "" }) {
                        span.t { (fmt::time_short(e.at_ms)) } " "
                        b { (e.kind().name_zh()) } " "
                        span.muted { (name(&e.actor)) }
                        @if !e.target.is_empty() && matches!(e.kind(), EventKind::Assigned | EventKind::EscalatedUp) { " → " (if e.kind() == EventKind::EscalatedUp { fmt::region(&e.target) } else { name(&e.target) }) }
                        @if e.kind() == EventKind::Rated { " " (e.value) " 星" }
                        @if e.kind() == EventKind::OnSiteDispatched && e.value > 0 { " 差旅费 " (fmt::yuan(e.value)) " 元" }
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

pub(super) async fn act_form(
    State(hub): State<Hub>,
    SignedIn(actor): SignedIn,
    Path(id): Path<String>,
    Form(f): Form<ActForm>,
) -> Result<Redirect, DeskError> {
    let value = match (&f.yuan, &f.value) {
        (Some(y), _) => {
            fmt::yuan_to_fen(y).ok_or_else(|| DeskError::bad_request("差旅费格式不对，如 35.50"))?
        }
        (None, Some(v)) if !v.trim().is_empty() => {
            v.trim().parse().map_err(|_| DeskError::bad_request("数值格式不对"))?
        }
        _ => 0,
    };
    let input = ActInput { kind: f.kind, text: f.text, target: f.target, value, category: f.category };
    service::cases::act(&hub, &actor, &id, input).await?;
    Ok(Redirect::to(&format!("/desk/cases/{id}")))
}

/// The case's media jobs on this hub, for the case page's progress bar.
pub(super) async fn case_jobs(
    State(hub): State<Hub>,
    SignedIn(actor): SignedIn,
    Path(id): Path<String>,
) -> Result<axum::Json<serde_json::Value>, DeskError> {
    let jobs = service::cases::case_jobs(&hub, &actor, &id).await?;
    Ok(axum::Json(serde_json::json!({ "jobs": jobs })))
}
