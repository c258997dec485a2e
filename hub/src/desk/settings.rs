//! The centre's service-clock settings (时限设置), for its administrator.

use axum::Form;
use axum::extract::State;
use axum::response::Redirect;
use maud::{Markup, html};
use serde::Deserialize;
use yizhan_accounts::SignedIn;
use yizhan_core::CentreAction;
use yizhan_core::clock::{MINUTE_MS, ServicePolicy, WorkingHours};

use super::{DeskError, page};
use crate::Hub;
use crate::service;

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
    #[serde(default)]
    pub observe_holidays: Option<String>,
}

pub(super) async fn settings_page(
    State(hub): State<Hub>,
    SignedIn(actor): SignedIn,
) -> Result<Markup, DeskError> {
    let p = service::admin::policy(&hub, &actor).await?;
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
                label { input type="checkbox" name="observe_holidays" value="1" checked[p.observe_holidays]; " 法定节假日暂停计时，调休上班日照常计时（" a href="/desk/holidays" { "放假安排" } "）" }
                button.primary type="submit" { "保存" }
            }
        }
    };
    Ok(page("时限设置", Some(&actor), body))
}

pub(super) async fn save_settings(
    State(hub): State<Hub>,
    SignedIn(actor): SignedIn,
    Form(f): Form<SettingsForm>,
) -> Result<Redirect, DeskError> {
    // Refused before the form is checked.
    service::require(&hub, &actor, CentreAction::SetPolicy)?;
    let (start_min, end_min) = WorkingHours::parse_span(&f.hours)
        .map_err(|_| DeskError::bad_request("工作时间格式应为 08:00-18:00"))?;
    let days = [&f.d0, &f.d1, &f.d2, &f.d3, &f.d4, &f.d5, &f.d6].map(|d| d.is_some());
    let policy = ServicePolicy {
        triage_ms: f.triage_min.saturating_mul(MINUTE_MS),
        response_ms: f.response_min.saturating_mul(MINUTE_MS),
        followup_ms: f.followup_days.saturating_mul(24 * 60 * MINUTE_MS),
        warn_ms: f.warn_min.saturating_mul(MINUTE_MS),
        hours: WorkingHours { days, start_min, end_min },
        observe_holidays: f.observe_holidays.is_some(),
        ..ServicePolicy::default()
    };
    service::admin::set_policy(&hub, &actor, policy).await?;
    Ok(Redirect::to("/desk/settings"))
}
