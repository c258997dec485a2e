//! How the desk shows a service clock: the deadline, what is left of it in the time the clock
//! counts, and how it counts.

use maud::{Markup, html};
use yizhan_core::clock::{ClockKind, MINUTE_MS, ServicePolicy};
use yizhan_web::fmt;

/// Triage and answer clocks count working time only; the follow-up clock counts calendar time.
fn counts_working_time(kind: &str) -> bool {
    ClockKind::from_code(kind) != Some(ClockKind::FollowUp)
}

/// What is left of a clock (of kind `kind`, due at `due_ms`), in the time that clock counts:
/// "剩余工作时间 2 小时 5 分", "剩余 6 天 3 小时", "已超时 20 分钟（工作时间）".
pub(super) fn fmt_remaining(policy: &ServicePolicy, kind: &str, due_ms: i64, now: i64) -> String {
    let working = counts_working_time(kind);
    if due_ms < now {
        let over = if working { policy.working_between(due_ms, now) } else { now - due_ms };
        match (over < MINUTE_MS, working) {
            (true, _) => "已超时".into(),
            (false, true) => format!("已超时 {}（工作时间）", fmt::span(over)),
            (false, false) => format!("已超时 {}", fmt::span(over)),
        }
    } else if working {
        format!("剩余工作时间 {}", fmt::span(policy.working_between(now, due_ms)))
    } else {
        format!("剩余 {}", fmt::span(due_ms - now))
    }
}

/// The deadline first, then what is left of it (for the queue tables).
pub(super) fn due_cell(policy: &ServicePolicy, kind: &str, due_ms: i64, now: i64) -> Markup {
    html! {
        td.due { b { "截止 " (fmt::deadline(due_ms)) } br; small { (fmt_remaining(policy, kind, due_ms, now)) } }
    }
}

/// "按工作时间 08:00–18:00 计" for the working-time clocks, "按自然日计" for follow-up.
pub(super) fn counting_zh(policy: &ServicePolicy, kind: ClockKind) -> String {
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
