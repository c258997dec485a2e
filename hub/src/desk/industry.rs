//! 产业信息 at a hub: the public pages (the list with filters and search, a record's page
//! with 相关信息; no sign-in), and the desk's bulk upload (批量上传: the XLSX template, a file
//! read row by row with Chinese errors, nothing created when any row is wrong, else every row
//! a draft on the publication pipeline). One-by-one upload is the pipeline's item form
//! (`/desk/items/new?kind=industry.news`). The module's rules, extraction and page bodies are
//! `yizhan_industry`'s.

use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use yizhan_accounts::SignedIn;
use yizhan_core::CentreAction;
use yizhan_industry::catalogue::{self, Filter};
use yizhan_industry::{pages, xlsx};

use super::{DeskError, page, shell};
use crate::Hub;
use crate::service::{self, publication::ItemInput};

/// The request body of a bulk upload: the file and the form's framing.
pub fn import_bytes_max() -> usize {
    xlsx::IMPORT_BYTES_MAX + 64 * 1024
}

/// The list, for everyone.
pub(super) async fn public_list(
    State(hub): State<Hub>,
    Query(filter): Query<Filter>,
) -> Result<Markup, DeskError> {
    let all = catalogue::records(&hub.store).await?;
    let (total, shown) = catalogue::search(&all, &filter);
    Ok(shell(None).render("产业信息", pages::list(&filter, total, &shown)))
}

/// One record with 相关信息, for everyone; gone once withdrawn.
pub(super) async fn public_record(
    State(hub): State<Hub>,
    Path(id): Path<String>,
) -> Result<Markup, DeskError> {
    let all = catalogue::records(&hub.store).await?;
    let r = all
        .iter()
        .find(|r| r.doc.id == id)
        .ok_or(DeskError(StatusCode::NOT_FOUND, "该产业信息不存在或已撤回".into()))?;
    let related = catalogue::related(r, &all);
    // The industry as written (川果 or fruit) to its code; the record's region's centre point.
    let get = |k: &str| r.fields.get(k).map_or("", String::as_str);
    let industry = yizhan_industry::kinds::industry(get("industry")).map_or("", |i| i.code());
    let nearby = crate::innovation::suggestion(&hub, get("region"), industry).await?;
    Ok(shell(None)
        .render(&r.doc.title, html! { (pages::record(r, &related)) @if let Some(n) = nearby { (n) } }))
}

/// The template to fill in.
pub(super) async fn template(
    State(hub): State<Hub>,
    SignedIn(actor): SignedIn,
) -> Result<Response, DeskError> {
    service::require(&hub, &actor, CentreAction::Desk)?;
    let bytes = xlsx::template_xlsx();
    Ok((
        [
            (header::CONTENT_TYPE, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"industry-template.xlsx\""),
        ],
        bytes,
    )
        .into_response())
}

fn upload_page(report: Option<Markup>) -> Markup {
    html! {
        section.card.industry-import {
            h1 { "上传产业信息" }
            p { "逐条上传：" a.button href="/desk/items/new?kind=industry.news" { "新建宏观产业资讯" } " "
                a.button href="/desk/items/new?kind=industry.local" { "新建地方特色产业" } }
            p.muted { "条目先存为草稿，可添加照片，再提交审核；审核通过后由另一人签发（上传人不能签发自己的条目），签发后在各级平台和村级驿站公开。" }
            h2 { "批量上传" }
            p { a.button href="/desk/industry/template.xlsx" data-testid="industry-template" { "下载模板（XLSX）" } }
            p.muted { "每个文件最多 " (xlsx::IMPORT_ROWS_MAX) " 条、" (xlsx::IMPORT_BYTES_MAX / (1024 * 1024)) " MB。任何一行有误时整个文件都不导入，请按提示改正后重新上传。" }
            form method="post" enctype="multipart/form-data" action=(yizhan_web::action("/desk/industry/import")) data-testid="industry-import-form" {
                label { "选择文件（.xlsx、.xls 或 CSV） " input type="file" name="file" accept=".xlsx,.xls,.et,.csv" required; }
                button.primary type="submit" { "上传" }
            }
        }
        @if let Some(r) = report { (r) }
    }
}

pub(super) async fn import_page(
    State(hub): State<Hub>,
    SignedIn(actor): SignedIn,
) -> Result<Markup, DeskError> {
    service::require(&hub, &actor, CentreAction::Desk)?;
    Ok(page("上传产业信息", Some(&actor), upload_page(None)))
}

/// A filled-in template: every row checked; none created if any is wrong, else all as drafts.
pub(super) async fn import_upload(
    State(hub): State<Hub>,
    SignedIn(actor): SignedIn,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, DeskError> {
    // Refused before the upload is read.
    service::require(&hub, &actor, CentreAction::Desk)?;
    let mut multipart = multipart.map_err(|e| DeskError::not_multipart(&e))?;
    let mut file: Option<(String, Vec<u8>)> = None;
    while let Ok(Some(field)) = multipart.next_field().await {
        if field.name() == Some("file") {
            let name = field.file_name().unwrap_or("industry.xlsx").to_string();
            let bytes = field.bytes().await.map_err(|_| {
                DeskError::bad_request(format!(
                    "文件上传失败或超过 {} MB",
                    xlsx::IMPORT_BYTES_MAX / (1024 * 1024)
                ))
            })?;
            file = Some((name, bytes.to_vec()));
        }
    }
    let Some((name, bytes)) = file.filter(|(_, b)| !b.is_empty()) else {
        return Err(DeskError::bad_request("请选择文件"));
    };
    let centre = actor.region.to_string();
    let parsed = tokio::task::spawn_blocking(move || xlsx::parse(&bytes, &name, &centre))
        .await
        .map_err(|_| DeskError(StatusCode::INTERNAL_SERVER_ERROR, "文件读取失败".into()))?;
    let import = match parsed {
        Ok(i) => i,
        Err(e) => {
            let report = html! { section.card.industry-import data-testid="import-report" { p.problems data-testid="import-refused" { (e.message_zh()) } p { "没有创建任何条目。" } } };
            return Ok((
                StatusCode::BAD_REQUEST,
                page("上传产业信息", Some(&actor), upload_page(Some(report))),
            )
                .into_response());
        }
    };
    if !import.errors.is_empty() {
        let report = html! {
            section.card.industry-import data-testid="import-report" {
                h2 { "文件有误，没有创建任何条目" }
                p { "共 " (import.rows.len() + import.errors.iter().map(|e| e.row).collect::<std::collections::BTreeSet<_>>().len()) " 行，其中 "
                    b data-testid="import-errors" { (import.errors.iter().map(|e| e.row).collect::<std::collections::BTreeSet<_>>().len()) } " 行有误"
                    @if import.errors_omitted > 0 { "（另有 " (import.errors_omitted) " 个问题未列出）" } "。" }
                table.errors {
                    thead { tr { th { "行" } th { "列" } th { "问题" } } }
                    tbody { @for e in &import.errors { tr { td { (e.row) } td { (e.column.as_deref().unwrap_or("")) } td { (e.message_zh) } } } }
                }
            }
        };
        return Ok((StatusCode::BAD_REQUEST, page("上传产业信息", Some(&actor), upload_page(Some(report))))
            .into_response());
    }
    let titles: Vec<(usize, String)> = import.rows.iter().map(|(n, r)| (*n, r.title.clone())).collect();
    let inputs: Vec<ItemInput> = import
        .rows
        .into_iter()
        .map(|(_, r)| ItemInput {
            kind: r.kind,
            title: r.title,
            body: r.body,
            fields: r.fields,
            ip_owner: r.ip_owner,
        })
        .collect();
    let ids = service::publication::create_items(&hub, &actor, inputs).await?;
    let report = html! {
        section.card.industry-import data-testid="import-report" {
            h2 { "已创建 " b data-testid="imported" { (ids.len()) } " 条草稿" }
            p.muted { "请逐条检查、添加照片后提交审核。" }
            ul { @for ((row, title), id) in titles.iter().zip(&ids) { li { "第 " (row) " 行：" a href=(format!("/desk/items/{id}")) { (title) } } } }
        }
    };
    Ok(page("上传产业信息", Some(&actor), upload_page(Some(report))).into_response())
}
