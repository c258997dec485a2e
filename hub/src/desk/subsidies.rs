//! 补贴发放 (管理中心): the routes of `yizhan_subsidies`' pages. Each handler parses the form,
//! calls one function of `service::subsidies` (which authorises, seals, audits) and renders.

use std::collections::HashMap;

use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use maud::Markup;
use serde::Deserialize;
use yizhan_accounts::SignedIn;
use yizhan_core::subsidy::{CategoryAmount, Standard};
use yizhan_subsidies::pages;

use super::{DeskError, SERVICE_CATEGORIES, page};
use crate::Hub;
use crate::service;
use crate::service::subsidies::{PayeeInput, StatementAction};

pub(super) async fn statements_page(
    State(hub): State<Hub>,
    SignedIn(actor): SignedIn,
) -> Result<Markup, DeskError> {
    let (name, rows, may_prepare, last, has_standard) = service::subsidies::statements(&hub, &actor).await?;
    Ok(page("补贴造册", Some(&actor), pages::statements_page(&name, &rows, may_prepare, last, has_standard)))
}

pub(super) async fn standard_page(
    State(hub): State<Hub>,
    SignedIn(actor): SignedIn,
) -> Result<Markup, DeskError> {
    let (versions, may_set) = service::subsidies::standard(&hub, &actor).await?;
    let month = i64::from(yizhan_core::stats::month_of_ms(hub.store.config().clock.now_ms()));
    Ok(page("补贴标准", Some(&actor), pages::standard_page(month, &versions, may_set, &SERVICE_CATEGORIES)))
}

fn yuan(
    form: &HashMap<String, String>,
    field: &str,
    what: &str,
    required: bool,
) -> Result<Option<i64>, DeskError> {
    let v = form.get(field).map(|s| s.trim()).unwrap_or_default();
    if v.is_empty() {
        return if required { Err(DeskError::bad_request(format!("请填写{what}"))) } else { Ok(None) };
    }
    yizhan_web::fmt::yuan_to_fen(v)
        .filter(|f| *f >= 0)
        .map(Some)
        .ok_or_else(|| DeskError::bad_request(format!("{what}应为金额（元，最多两位小数），例如 50 或 12.5")))
}

pub(super) async fn save_standard(
    State(hub): State<Hub>,
    SignedIn(actor): SignedIn,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Result<Redirect, DeskError> {
    let Ok(Form(f)) = form else {
        return Err(DeskError::bad_request("请填写补贴标准的各项金额"));
    };
    let month = f.get("effective_from").map(String::as_str).unwrap_or_default();
    let effective_from = yizhan_core::stats::parse_month(month)
        .map_err(|_| DeskError::bad_request("请选择起始月份（如 2026-05）"))?;
    let mut per_category = Vec::new();
    for c in SERVICE_CATEGORIES {
        if let Some(fen) = yuan(&f, &format!("cat_{c}"), c, false)? {
            per_category.push(CategoryAmount { category: c.to_string(), fen });
        }
    }
    let need = |field: &str, what: &str| yuan(&f, field, what, true).map(Option::unwrap_or_default);
    let v = Standard {
        effective_from: i64::from(effective_from),
        per_valid_fen: need("per_valid", "每次有效服务补贴")?,
        per_category,
        onsite_fen: need("onsite", "每次上门服务补贴")?,
        travel_cap_per_visit_fen: need("travel_cap", "差旅费上限")?,
        officer_per_closed_fen: need("officer_per_closed", "信息员每件补贴")?,
        officer_month_cap_fen: need("officer_cap", "信息员每月上限")?,
        set_by: String::new(),
        set_ms: 0,
    };
    service::subsidies::set_standard(&hub, &actor, v).await?;
    Ok(Redirect::to(pages::STANDARD_PATH))
}

pub(super) async fn payees_page(
    State(hub): State<Hub>,
    SignedIn(actor): SignedIn,
) -> Result<Markup, DeskError> {
    let (county, rows, may_edit) = service::subsidies::payees(&hub, &actor).await?;
    Ok(page("收款信息", Some(&actor), pages::payees_page(&county, &rows, may_edit)))
}

#[derive(Deserialize)]
pub struct PayeeForm {
    person_id: String,
    id_card: String,
    bank_card: String,
    bank_name: String,
}

pub(super) async fn save_payee(
    State(hub): State<Hub>,
    SignedIn(actor): SignedIn,
    form: Result<Form<PayeeForm>, FormRejection>,
) -> Result<Redirect, DeskError> {
    let Ok(Form(f)) = form else {
        return Err(DeskError::bad_request("请填写人员、身份证号、银行卡号和开户银行"));
    };
    let input = PayeeInput {
        person_id: f.person_id,
        id_card: f.id_card,
        bank_card: f.bank_card,
        bank_name: f.bank_name,
    };
    service::subsidies::set_payee(&hub, &actor, input).await?;
    Ok(Redirect::to(pages::PAYEES_PATH))
}

#[derive(Deserialize)]
pub struct PrepareForm {
    month: String,
}

pub(super) async fn prepare(
    State(hub): State<Hub>,
    SignedIn(actor): SignedIn,
    form: Result<Form<PrepareForm>, FormRejection>,
) -> Result<Redirect, DeskError> {
    let Ok(Form(f)) = form else { return Err(DeskError::bad_request("请选择月份")) };
    let id = service::subsidies::prepare(&hub, &actor, &f.month).await?;
    Ok(Redirect::to(&format!("{}/{id}", pages::PATH)))
}

pub(super) async fn statement_page(
    State(hub): State<Hub>,
    SignedIn(actor): SignedIn,
    Path(id): Path<String>,
) -> Result<Markup, DeskError> {
    let (doc, state, rights) = service::subsidies::statement(&hub, &actor, &id).await?;
    Ok(page("补贴清册", Some(&actor), pages::statement_page(&doc, &state, rights)))
}

#[derive(Deserialize)]
pub struct ActForm {
    action: String,
    #[serde(default)]
    person_id: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    reason: String,
}

pub(super) async fn act(
    State(hub): State<Hub>,
    SignedIn(actor): SignedIn,
    Path(id): Path<String>,
    form: Result<Form<ActForm>, FormRejection>,
) -> Result<Redirect, DeskError> {
    let Ok(Form(f)) = form else { return Err(DeskError::bad_request("操作不完整")) };
    let action = match f.action.as_str() {
        "exclude" => StatementAction::Exclude { person_id: f.person_id, role: f.role, reason: f.reason },
        "include" => StatementAction::Include { person_id: f.person_id, role: f.role },
        "submit" => StatementAction::Submit,
        "approve" => StatementAction::Approve,
        "return" => StatementAction::Return { reason: f.reason },
        _ => return Err(DeskError::bad_request("未知操作")),
    };
    service::subsidies::act(&hub, &actor, &id, action).await?;
    Ok(Redirect::to(&format!("{}/{id}", pages::PATH)))
}

pub(super) async fn export(
    State(hub): State<Hub>,
    SignedIn(actor): SignedIn,
    Path(id): Path<String>,
) -> Result<Response, DeskError> {
    let (name, bytes) = service::subsidies::export(&hub, &actor, &id).await?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string(),
            ),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        bytes,
    )
        .into_response())
}
