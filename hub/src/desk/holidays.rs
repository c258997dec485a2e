//! The holiday calendar (节假日与调休): what the service clocks count as days off and make-up
//! working days, for every centre's administrator; the province's administrators publish a
//! year's arrangement here when the State Council announces it.

use axum::Form;
use axum::extract::State;
use axum::response::Redirect;
use maud::{Markup, html};
use serde::Deserialize;
use yizhan_accounts::SignedIn;
use yizhan_core::holidays::{self, DayMark};

use super::{DeskError, page};
use crate::Hub;
use crate::service;

#[derive(Debug, Deserialize)]
pub struct PublishForm {
    pub year: i32,
    pub text: String,
}

pub(super) async fn holidays_page(
    State(hub): State<Hub>,
    SignedIn(actor): SignedIn,
) -> Result<Markup, DeskError> {
    let v = service::admin::holidays(&hub, &actor).await?;
    let (this_year, _, _) = holidays::civil_from_days(holidays::local_day(v.now_ms));
    // From November the next year's arrangement is due (the State Council announces it then).
    let (_, month, _) = holidays::civil_from_days(holidays::local_day(v.now_ms));
    let mut due: Vec<i32> = vec![this_year];
    if month >= 11 {
        due.push(this_year + 1);
    }
    let missing: Vec<i32> = due.into_iter().filter(|y| !v.calendar.covers(*y)).collect();
    let published = |year: i32| v.published.iter().find(|h| h.year == i64::from(year));
    let body = html! {
        section.card {
            h1 { "节假日与调休" }
            p {
                "服务时限（分诊、专家响应）"
                @if v.observe_holidays { "在法定节假日暂停计时，调休上班日照常计时。" }
                @else { "本中心设置为节假日照常计时。" }
                " 可在" a href="/desk/settings" { "时限设置" } "中更改。"
            }
            @for y in &missing {
                p.warn role="alert" { (y) " 年放假安排尚未发布：发布之前，" (y) " 年按每周工作日计时。" }
            }
        }
        section.card {
            h2 { "已有的放假安排" }
            table.list {
                thead { tr { th { "年份" } th { "来源" } th { "放假天数" } th { "调休上班" } } }
                tbody {
                    @for year in v.calendar.years().into_iter().rev() {
                        @let entries = v.calendar.entries(year);
                        tr {
                            td { (year) }
                            td {
                                @if let Some(h) = published(year) { "省平台发布 · " (yizhan_web::fmt::time_short(h.published_ms)) }
                                @else { "随程序发布（国务院办公厅通知）" }
                            }
                            td { (entries.iter().filter(|e| e.mark == DayMark::Off).count()) }
                            td { (entries.iter().filter(|e| e.mark == DayMark::Work).count()) }
                        }
                        tr { td colspan="4" { details { summary { "明细" } pre { (holidays::to_text(&entries)) } } } }
                    }
                }
            }
        }
        @if v.may_publish {
            section.card {
                h2 { "发布一年的安排" }
                p { "每行一条：日期或“起..止”、“休”或“班”、说明。发布后同步到各市县运管中心，已计时的案例按新安排重算。同一年再次发布即替换。" }
                form.settings method="post" action=(yizhan_web::action("/desk/holidays")) {
                    label { "年份 " input type="number" name="year" min=(holidays::YEAR_MIN) max=(holidays::YEAR_MAX) value=(missing.first().copied().unwrap_or(this_year + 1)) required; }
                    label { "安排 "
                        textarea name="text" rows="12" maxlength=(holidays::TEXT_BYTES_MAX) required
                            placeholder="2027-01-01 休 元旦\n2027-10-01..2027-10-07 休 国庆节\n2027-10-09 班 国庆节调休" {}
                    }
                    button.primary type="submit" { "发布" }
                }
            }
        }
    };
    Ok(page("节假日与调休", Some(&actor), body))
}

pub(super) async fn publish(
    State(hub): State<Hub>,
    SignedIn(actor): SignedIn,
    Form(f): Form<PublishForm>,
) -> Result<Redirect, DeskError> {
    service::admin::publish_holidays(&hub, &actor, f.year, f.text).await?;
    Ok(Redirect::to("/desk/holidays"))
}
