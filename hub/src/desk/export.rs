//! Exports of service records (导出): the form, and the file built by the service layer.

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use yizhan_accounts::SignedIn;
use yizhan_core::{CentreAction, Industry, Status, regions};

use super::{DeskError, page};
use crate::Hub;
use crate::service;
use crate::service::centre::ExportQuery;

pub(super) async fn export_page(
    State(hub): State<Hub>,
    SignedIn(actor): SignedIn,
) -> Result<Markup, DeskError> {
    service::require(&hub, &actor, CentreAction::Desk)?;
    let may_export_phones = service::require(&hub, &actor, CentreAction::ExportPhones).is_ok();
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
                @if may_export_phones {
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

pub(super) async fn export_download(
    State(hub): State<Hub>,
    SignedIn(actor): SignedIn,
    Query(q): Query<ExportQuery>,
) -> Result<Response, DeskError> {
    let file = service::centre::export(&hub, &actor, &q).await?;
    Ok((
        [
            (header::CONTENT_TYPE, file.content_type.to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{}\"", file.file_name)),
        ],
        file.bytes,
    )
        .into_response())
}
