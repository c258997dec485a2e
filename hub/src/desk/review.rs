//! The publication pipeline's pages, generic over kinds: 审核 (what waits for the viewer's
//! review or sign-off, across kinds, knowledge included, and her centre's items), a new
//! item's form, one item's page (fields as a key/value table, the steps' timeline, the
//! actions she may take: 提交审核 / 审核通过 / 退回 / 签发 / 撤回), and the public pages of
//! published items (`/items`, `/items/{id}`, without sign-in). Every rule is in
//! `crate::service::publication`.

use std::collections::BTreeMap;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::Redirect;
use maud::{Markup, html};
use serde::Deserialize;
use yizhan_accounts::SignedIn;
use yizhan_core::publication::{Stage, StepKind};
use yizhan_web::fmt;

use super::{DeskError, page, shell};
use crate::Hub;
use crate::service::publication::{self as pipeline, ItemInput};

fn stage_zh(code: &str) -> &'static str {
    Stage::parse(code).map_or("未知", Stage::name_zh)
}

fn kind_zh(hub: &Hub, kind: &str) -> String {
    if kind == yizhan_core::knowledge::DOC_TYPE {
        return "知识库".into();
    }
    hub.kinds.get(kind).map_or_else(|| kind.to_string(), |k| k.name_zh.to_string())
}

/// Where an item's page is: knowledge's is its case's.
fn item_href(doc_type: &str, id: &str) -> String {
    if doc_type == yizhan_core::case::DOC_TYPE {
        format!("/desk/cases/{id}")
    } else {
        format!("/desk/items/{id}")
    }
}

pub(super) async fn review_page(
    State(hub): State<Hub>,
    SignedIn(actor): SignedIn,
) -> Result<Markup, DeskError> {
    let waiting = pipeline::review_queue(&hub, &actor).await?;
    let items = pipeline::items(&hub, &actor).await?;
    let kinds = hub.kinds.all();
    let body = html! {
        section.card {
            h1 { "审核（" (waiting.len()) "）" }
            p.muted { "等待您审核或签发的条目（各类别）。审核人与签发人不能是同一人。" }
            @if waiting.is_empty() { p.muted data-testid="review-empty" { "暂无等待您处理的条目" } }
            @else {
                table data-testid="review-queue" {
                    thead { tr { th { "类别" } th { "标题" } th { "所属中心" } th { "待办" } th { "最近" } th { "" } } }
                    tbody {
                        @for w in &waiting {
                            tr data-id=(w.row.doc_id) {
                                td { (kind_zh(&hub, &w.row.kind)) }
                                td { b { (w.row.title) } }
                                td { (fmt::region(&w.row.centre)) }
                                td { (w.step.name_zh()) }
                                td { (fmt::time_short(w.row.last_at_ms)) }
                                td { a.button.primary href=(item_href(&w.row.doc_type, &w.row.doc_id)) { "处理" } }
                            }
                        }
                    }
                }
            }
        }
        section.card {
            h2 { "本中心的条目" }
            @if !kinds.is_empty() {
                p { @for k in &kinds { a.button href=(format!("/desk/items/new?kind={}", k.name)) { "新建" (k.name_zh) } " " } }
            }
            @if items.is_empty() { p.muted { "暂无条目" } }
            @else {
                table data-testid="items" {
                    thead { tr { th { "类别" } th { "标题" } th { "阶段" } th { "最近" } th { "" } } }
                    tbody {
                        @for r in &items {
                            tr {
                                td { (kind_zh(&hub, &r.kind)) }
                                td { (r.title) }
                                td { (stage_zh(&r.stage)) }
                                td { (fmt::time_short(r.last_at_ms)) }
                                td { a.button href=(item_href(&r.doc_type, &r.doc_id)) { "查看" } }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page("审核", Some(&actor), body))
}

#[derive(Debug, Deserialize)]
pub(super) struct NewQuery {
    #[serde(default)]
    kind: String,
}

pub(super) async fn new_item_page(
    State(hub): State<Hub>,
    SignedIn(actor): SignedIn,
    Query(q): Query<NewQuery>,
) -> Result<Markup, DeskError> {
    let kind = hub.kinds.get(&q.kind).ok_or_else(|| DeskError::bad_request("未知的类别"))?;
    let body = html! {
        section.card.item-form {
            h1 { "新建" (kind.name_zh) }
            (item_form(&kind, "/desk/items", None, "保存草稿"))
        }
    };
    Ok(page(&format!("新建{}", kind.name_zh), Some(&actor), body))
}

pub(super) async fn create_item(
    State(hub): State<Hub>,
    SignedIn(actor): SignedIn,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Redirect, DeskError> {
    let input = item_input(pairs)?;
    let id = pipeline::create_item(&hub, &actor, input).await?;
    Ok(Redirect::to(&format!("/desk/items/{id}")))
}

pub(super) async fn edit_item(
    State(hub): State<Hub>,
    SignedIn(actor): SignedIn,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Redirect, DeskError> {
    pipeline::edit_item(&hub, &actor, &id, item_input(pairs)?).await?;
    Ok(Redirect::to(&format!("/desk/items/{id}")))
}

/// The item form's fields (`f.<key>` for the kind's fields).
fn item_input(pairs: Vec<(String, String)>) -> Result<ItemInput, DeskError> {
    let mut input = ItemInput::default();
    let mut fields = BTreeMap::new();
    for (k, v) in pairs {
        match k.as_str() {
            "kind" => input.kind = v,
            "title" => input.title = v,
            "body" => input.body = v,
            "ip_owner" => input.ip_owner = v,
            _ => {
                if let Some(key) = k.strip_prefix("f.") {
                    if fields.len() >= yizhan_core::item::FIELDS_MAX {
                        return Err(DeskError::bad_request("字段过多"));
                    }
                    fields.insert(key.to_string(), v);
                }
            }
        }
    }
    input.fields = fields;
    Ok(input)
}

/// The item form: empty for a new item, filled for an edit.
fn item_form(
    kind: &yizhan_core::item::Kind,
    target: &str,
    item: Option<&yizhan_core::item::ItemDoc>,
    submit: &str,
) -> Markup {
    use yizhan_core::item::{BODY_CHARS_MAX, FIELD_VALUE_CHARS_MAX, NAME_CHARS_MAX, TITLE_CHARS_MAX};
    let field = |key: &str| item.and_then(|i| i.fields.get(key)).map_or("", String::as_str);
    html! {
        form method="post" action=(yizhan_web::action(target)) data-testid="item-form" {
            input type="hidden" name="kind" value=(kind.name);
            label { "标题 " input type="text" name="title" required maxlength=(TITLE_CHARS_MAX) value=(item.map_or("", |i| &i.title)); }
            @for f in kind.fields {
                label {
                    (f.label_zh) @if f.required { " *" } " "
                    @if f.multi_line { textarea name=(format!("f.{}", f.key)) maxlength=(FIELD_VALUE_CHARS_MAX) { (field(f.key)) } }
                    @else { input type="text" name=(format!("f.{}", f.key)) maxlength=(FIELD_VALUE_CHARS_MAX) value=(field(f.key)); }
                }
            }
            label { "正文 " textarea name="body" maxlength=(BODY_CHARS_MAX) { (item.map_or("", |i| &i.body)) } }
            label { "知识产权归属 " input type="text" name="ip_owner" required maxlength=(NAME_CHARS_MAX) value=(item.map_or("", |i| &i.ip_owner)); }
            button.primary type="submit" { (submit) }
        }
    }
}

pub(super) async fn item_page(
    State(hub): State<Hub>,
    SignedIn(actor): SignedIn,
    Path(id): Path<String>,
) -> Result<Markup, DeskError> {
    let v = pipeline::item_view(&hub, &actor, &id).await?;
    let (item, p) = (&v.item, &v.pipeline);
    let label = |key: &str| v.kind.as_ref().map_or(key.to_string(), |k| k.label(key).to_string());
    let act = yizhan_web::action(&format!("/desk/items/{}/step", item.id));
    let body = html! {
        section.card {
            p.muted {
                (kind_zh(&hub, &item.kind)) " · " (fmt::region(&item.centre)) " · "
                span data-testid="stage" data-stage=(p.stage.code()) { (p.stage.name_zh()) }
            }
            h1 { (item.title) }
            @if !item.fields.is_empty() {
                table data-testid="fields" {
                    tbody { @for (k, val) in &item.fields { tr { th { (label(k)) } td { (val) } } } }
                }
            }
            p.text { (item.body) }
            @let thumbs: Vec<_> = item.attachments.values().filter(|a| a.role == "thumb").collect();
            @if !thumbs.is_empty() {
                p data-testid="item-photos" { @for t in thumbs { img src=(format!("/blobs/{}", t.hash)) alt=(t.name) width="120"; " " } }
            }
            p { "知识产权归属：" b { (item.ip_owner) } }
            @if let Some(public) = &v.public_id {
                @if p.stage == Stage::Published { p { a href=(format!("/items/{public}")) data-testid="public-link" { "查看公开页面" } } }
            }
            @if let Some(t) = &v.taken_down {
                p.warn role="alert" data-testid="taken-down" {
                    b { "已熔断" } "：" (t.reason) "（" (t.by_name) " · " (yizhan_web::fmt::time_short(t.at_ms)) "，"
                    a href="/desk/breaker" { "安全熔断" } "）"
                }
            }
        }
        @if let (true, Some(kind)) = (v.editable, &v.kind) {
            section.card.item-form data-testid="edit" {
                details open[p.stage == Stage::CheckFailed] {
                    summary { "修改内容" @if p.stage == Stage::CheckFailed { "（修改后重新提交审核）" } }
                    (item_form(kind, &format!("/desk/items/{}/edit", item.id), Some(item), "保存修改"))
                }
                @if item.kind == yizhan_lectures::LECTURE {
                    form method="post" enctype="multipart/form-data" action=(yizhan_web::action(&format!("/desk/lectures/{}/files", item.id))) data-testid="lecture-files-form" {
                        label { "讲座视频 " input type="file" name="video" accept="video/*"; }
                        label { "课件 PDF " input type="file" name="pdf" accept="application/pdf,.pdf"; }
                        p.muted { "PPT/PPTX 请先另存为 PDF 再上传。视频上传后在本机转码，完成后可播放。" }
                        button type="submit" { "上传视频/课件" }
                    }
                    @let files: Vec<_> = item.attachments.values().filter(|a| a.kind == yizhan_lectures::BLOB_KIND).collect();
                    @if !files.is_empty() {
                        ul data-testid="lecture-files" { @for f in files { li { (f.name) " · " (f.role) " · " (f.bytes / 1024) " KB" } } }
                    }
                }
                form method="post" enctype="multipart/form-data" action=(yizhan_web::action(&format!("/desk/items/{}/photos", item.id))) data-testid="photos-form" {
                    label { "添加照片 " input type="file" name="photos" accept="image/*" multiple; }
                    button type="submit" { "上传照片" }
                }
            }
        }
        @if !v.actions.is_empty() {
            section.card.steps-actions data-testid="actions" {
                h2 { "操作" }
                form method="post" action=(act) {
                    label { "意见 " input type="text" name="note" maxlength=(yizhan_core::item::NOTE_CHARS_MAX); }
                    @for a in &v.actions {
                        @let class = match a { StepKind::Withdraw => "danger", StepKind::Refuse => "", _ => "primary" };
                        button class=(class) type="submit" name="step" value=(a.code()) data-testid=(format!("step-{}", a.code())) { (a.name_zh()) }
                        " "
                    }
                }
            }
        }
        section.card {
            h2 { "流程记录" }
            ol.timeline data-testid="steps" {
                @for s in item.ordered_steps() {
                    li class=(if p.ignored.contains(&s.id) { "ignored" } else { "" }) {
                        span.t { (fmt::time_short(s.at_ms)) } " "
                        b { (StepKind::parse(&s.kind).map_or("其他", StepKind::name_zh)) } " "
                        span.muted { (s.actor_name) }
                        // A hold's matched words are for reviewers, not for the item's author.
                        @if s.kind == StepKind::Hold.code() && item.author == actor.person_id {
                            p.text.problems { "内容待复核" }
                        } @else if !s.note.is_empty() {
                            p.text class=[(s.kind == StepKind::ChecksFailed.code() || s.kind == StepKind::Hold.code()).then_some("problems")] { (s.note) }
                        }
                        @if p.ignored.contains(&s.id) { " " span.muted { "（与其他操作冲突，未生效）" } }
                    }
                }
            }
        }
    };
    Ok(page(&item.title, Some(&actor), body))
}

#[derive(Debug, Deserialize)]
pub(super) struct StepForm {
    step: String,
    #[serde(default)]
    note: String,
}

pub(super) async fn step_form(
    State(hub): State<Hub>,
    SignedIn(actor): SignedIn,
    Path(id): Path<String>,
    Form(f): Form<StepForm>,
) -> Result<Redirect, DeskError> {
    let step = StepKind::parse(&f.step).ok_or_else(|| DeskError::bad_request("未知的操作"))?;
    pipeline::take_step(&hub, &actor, &id, step, &f.note).await?;
    Ok(Redirect::to(&format!("/desk/items/{id}")))
}

/// Photos added to a draft (multipart `photos`), every bound enforced while reading.
pub(super) async fn photos_form(
    State(hub): State<Hub>,
    SignedIn(actor): SignedIn,
    Path(id): Path<String>,
    multipart: Result<axum::extract::Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Redirect, DeskError> {
    let upload_err = |e| -> DeskError { crate::service::ServiceError::from(e).into() };
    let mut multipart = multipart.map_err(|e| DeskError::not_multipart(&e))?;
    let limits = yizhan_media::Limits::default();
    let mut photos = Vec::new();
    while let Some(mut field) =
        multipart.next_field().await.map_err(|e| upload_err(yizhan_uploads::multipart_err(e)))?
    {
        let Some(file_name) = field.file_name().map(str::to_string) else { continue };
        if field.name() != Some("photos") {
            continue;
        }
        let bytes = yizhan_uploads::read_limited(&mut field, limits.photo_bytes_max, || {
            format!("照片过大：每张最多 {} MB", yizhan_uploads::mb(limits.photo_bytes_max))
        })
        .await
        .map_err(upload_err)?;
        if bytes.is_empty() {
            continue; // the empty part a form sends when no file was chosen
        }
        if photos.len() >= pipeline::ITEM_PHOTOS_PER_UPLOAD_MAX {
            return Err(DeskError::bad_request(format!(
                "照片过多：每次最多 {} 张",
                pipeline::ITEM_PHOTOS_PER_UPLOAD_MAX
            )));
        }
        photos.push((file_name, bytes));
    }
    pipeline::add_photos(&hub, &actor, &id, photos).await?;
    Ok(Redirect::to(&format!("/desk/items/{id}")))
}

/// The request body of a photo upload: its photos at the media limit, and the form's framing.
pub fn photos_bytes_max() -> usize {
    let l = yizhan_media::Limits::default();
    usize::try_from(l.photo_bytes_max * pipeline::ITEM_PHOTOS_PER_UPLOAD_MAX as u64 + 64 * 1024)
        .unwrap_or(usize::MAX)
}

/// A published item's photo, for everyone (no sign-in); gone once it is withdrawn.
pub(super) async fn public_photo(
    State(hub): State<Hub>,
    Path((id, hash)): Path<(String, String)>,
    req: axum::extract::Request,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    match pipeline::public_photo(&hub, &id, &hash).await {
        Ok(true) => yizhan_uploads::serve_blob(&hub.store, &hash, req, false).await,
        Ok(false) => {
            DeskError(axum::http::StatusCode::NOT_FOUND, "该图片不存在或已撤回".into()).into_response()
        }
        Err(e) => DeskError::from(e).into_response(),
    }
}

/// Published items, for everyone (no sign-in).
pub(super) async fn public_list(State(hub): State<Hub>) -> Result<Markup, DeskError> {
    let rows = pipeline::public_items(&hub).await?;
    let rows: Vec<_> =
        rows.into_iter().map(|r| (r.id, r.title, r.kind_name, r.centre, r.published_at_ms)).collect();
    let body = html! { section.card { h1 { "已发布信息" } (yizhan_web::published::list(&rows)) } };
    Ok(shell(None).render("已发布信息", body))
}

/// One published item, for everyone (no sign-in); a withdrawn one is gone.
pub(super) async fn public_page(State(hub): State<Hub>, Path(id): Path<String>) -> Result<Markup, DeskError> {
    let p = pipeline::public_item(&hub, &id)
        .await?
        .ok_or(DeskError(axum::http::StatusCode::NOT_FOUND, "该信息不存在或已撤回".into()))?;
    Ok(shell(None).render(&p.title, yizhan_web::published::item(&p)))
}

/// A published item's watermarked, non-editable PDF, for everyone (no sign-in); a withdrawn
/// one is gone.
pub(super) async fn public_pdf(State(hub): State<Hub>, Path(id): Path<String>) -> axum::response::Response {
    use axum::response::IntoResponse;
    let p = match pipeline::public_item(&hub, &id).await {
        Ok(Some(p)) => p,
        Ok(None) => {
            return DeskError(axum::http::StatusCode::NOT_FOUND, "该信息不存在或已撤回".into())
                .into_response();
        }
        Err(e) => return DeskError::from(e).into_response(),
    };
    let photos = yizhan_web::published::pdf_photos(&p);
    let bytes_max = yizhan_media::Limits::default().photo_bytes_max;
    let photos = yizhan_uploads::blob_bytes(&hub.store, photos, bytes_max).await;
    match yizhan_web::published::pdf(&p, photos).await {
        Ok(response) => response,
        Err((status, message)) => DeskError(status, message.into()).into_response(),
    }
}
