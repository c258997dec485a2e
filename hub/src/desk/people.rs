//! People (人员), for the centre's administrator: the list with lockouts and the import of
//! experts and officers from a spreadsheet, one person's edit page, access stopped or
//! restored, passwords reset, lockouts lifted.

use axum::Form;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path, State};
use axum::response::Redirect;
use maud::{Markup, html};
use serde::Deserialize;
use yizhan_accounts::SignedIn;
use yizhan_core::{Actor, CentreAction, Role};
use yizhan_web::fmt;

use super::{DeskError, page};
use crate::Hub;
use crate::service;

/// An uploaded people file is at most this large.
pub const IMPORT_BYTES_MAX: usize = 10 * 1024 * 1024;

pub(super) async fn people_page(
    State(hub): State<Hub>,
    SignedIn(actor): SignedIn,
) -> Result<Markup, DeskError> {
    people_view(&hub, &actor, None).await
}

async fn people_view(hub: &Hub, actor: &Actor, report: Option<Markup>) -> Result<Markup, DeskError> {
    let (people, locked) = service::people::list(hub, actor).await?;
    let body = html! {
        @if let Some(r) = report { (r) }
        section.card {
            h1 { "导入专家和信息员" }
            form method="post" action=(yizhan_web::action("/desk/people")) enctype="multipart/form-data" {
                input type="file" name="file" accept=".csv,.xlsx,.xls,.et" required;
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
                            td { (fmt::region(&p.region_code)) }
                            td { (p.industries.iter().map(|i| fmt::industry(i)).collect::<Vec<_>>().join("、")) }
                            td { (p.specialities.join("、")) }
                            td { (p.phone_masked) }
                            td {
                                @if let Some(until) = locked.get(&p.id) {
                                    form.inline method="post" action=(yizhan_web::action(&format!("/desk/people/{}/unlock", p.id))) {
                                        span.warn data-testid=(format!("locked-{}", p.id)) { "密码错误次数过多，锁定至 " (fmt::time_short(*until)) " " }
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

pub(super) async fn import_people(
    State(hub): State<Hub>,
    SignedIn(actor): SignedIn,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Markup, DeskError> {
    // Refused before the upload is read.
    service::require(&hub, &actor, CentreAction::Administer)?;
    let mut multipart = multipart.map_err(|e| DeskError::not_multipart(&e))?;
    let mut file: Option<(String, Vec<u8>)> = None;
    while let Ok(Some(field)) = multipart.next_field().await {
        if field.name() == Some("file") {
            let name = field.file_name().unwrap_or("people.csv").to_string();
            let bytes =
                field.bytes().await.map_err(|_| DeskError::bad_request("文件上传失败或超过 10 MB"))?;
            file = Some((name, bytes.to_vec()));
        }
    }
    let Some((name, bytes)) = file else {
        return Err(DeskError::bad_request("请选择文件"));
    };
    let (created, errors) = service::people::import(&hub, &actor, &name, &bytes).await?;
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

/// One person's directory entry, for an administrator to correct (name, region, fields,
/// availability, title, phone). The id and role stay: they are the sign-in name and its rights.
pub(super) async fn person_page(
    State(hub): State<Hub>,
    SignedIn(actor): SignedIn,
    Path(id): Path<String>,
) -> Result<Markup, DeskError> {
    let p = service::people::managed(&hub, &actor, &id).await?;
    let expert = p.role() == Some(Role::Expert);
    let body = html! {
        section.card {
            h1 { "编辑人员：" (p.name) " " span.muted { (p.id) " · " (p.role().map(Role::name_zh).unwrap_or("")) } }
            form method="post" action=(yizhan_web::action(&format!("/desk/people/{}", p.id))) data-testid="person-form" {
                p { label { "姓名 " input type="text" name="name" value=(p.name) required maxlength="32"; } }
                p { label { "地区代码 " input type="text" name="region_code" value=(p.region_code) required maxlength="12" inputmode="numeric"; } " " span.muted { (fmt::region(&p.region_code)) } }
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
pub(super) async fn save_person(
    State(hub): State<Hub>,
    SignedIn(actor): SignedIn,
    Path(id): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Redirect, DeskError> {
    service::people::save(&hub, &actor, &id, &fields).await?;
    Ok(Redirect::to("/desk/people"))
}

#[derive(Debug, Deserialize)]
pub struct ActiveForm {
    pub active: String,
}

/// Stops (or restores) a person's access.
pub(super) async fn set_active(
    State(hub): State<Hub>,
    SignedIn(actor): SignedIn,
    Path(id): Path<String>,
    Form(f): Form<ActiveForm>,
) -> Result<Redirect, DeskError> {
    service::people::set_active(&hub, &actor, &id, f.active == "1").await?;
    Ok(Redirect::to("/desk/people"))
}

#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    pub password: String,
}

/// Sets a new password for a person (she changes it after signing in).
pub(super) async fn reset_password(
    State(hub): State<Hub>,
    SignedIn(actor): SignedIn,
    Path(id): Path<String>,
    Form(f): Form<PasswordForm>,
) -> Result<Redirect, DeskError> {
    service::people::reset_password(&hub, &actor, &id, &f.password).await?;
    Ok(Redirect::to("/desk/people"))
}

/// Lifts a person's lockout on this hub (she called the centre, who checked it is her).
pub(super) async fn unlock(
    State(hub): State<Hub>,
    SignedIn(actor): SignedIn,
    Path(id): Path<String>,
) -> Result<Redirect, DeskError> {
    service::people::unlock(&hub, &actor, &id).await?;
    Ok(Redirect::to("/desk/people"))
}
