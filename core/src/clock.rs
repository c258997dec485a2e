//! Service clocks (服务时限): triage within 1 hour, expert response within 3 hours, follow-up
//! within 7 days, measured on the hub's clock, counting only a centre's working hours where
//! the policy says so.
//!
//! The clocks start and stop at events ([`crate::case::ClockMarks`]); the times are the ones
//! at which the measuring hub saw those events (its own clock), passed in as `seen`, because
//! the time written into an event by a kiosk may be hours off. China keeps one time zone
//! without daylight saving, so working hours are local time at UTC+8.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::case::{CaseState, Event, EventKind};
use crate::holidays::Calendar;

pub const MINUTE_MS: i64 = 60_000;
pub const HOUR_MS: i64 = 60 * MINUTE_MS;
pub const DAY_MS: i64 = 24 * HOUR_MS;
/// Local time is UTC+8 all year.
pub const UTC_OFFSET_MS: i64 = 8 * HOUR_MS;
/// A deadline is searched at most this many days ahead (a policy with almost no working
/// time must not loop for ever).
const DAYS_SEARCHED_MAX: i64 = 3660;

/// The hours a centre works, in local time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkingHours {
    /// Monday first.
    pub days: [bool; 7],
    /// Minutes after local midnight; `start_min < end_min <= 1440`.
    pub start_min: u32,
    pub end_min: u32,
}

impl WorkingHours {
    /// Every day, all day.
    pub fn always() -> WorkingHours {
        WorkingHours { days: [true; 7], start_min: 0, end_min: 1440 }
    }

    pub fn validate(&self) -> Result<(), String> {
        if !self.days.iter().any(|d| *d) {
            return Err("no working day".into());
        }
        if self.start_min >= self.end_min || self.end_min > 1440 {
            return Err(format!(
                "working hours {}..{} minutes are empty or past midnight",
                self.start_min, self.end_min
            ));
        }
        Ok(())
    }

    /// Parses `08:00-18:00`.
    pub fn parse_span(span: &str) -> Result<(u32, u32), String> {
        let (a, b) = span.split_once('-').ok_or_else(|| format!("{span:?} is not HH:MM-HH:MM"))?;
        let hm = |s: &str| -> Result<u32, String> {
            let (h, m) = s.trim().split_once(':').ok_or_else(|| format!("{s:?} is not HH:MM"))?;
            let h: u32 = h.parse().map_err(|_| format!("{s:?} is not HH:MM"))?;
            let m: u32 = m.parse().map_err(|_| format!("{s:?} is not HH:MM"))?;
            if h > 24 || m > 59 || (h == 24 && m > 0) {
                return Err(format!("{s:?} is not a time of day"));
            }
            Ok(h * 60 + m)
        };
        Ok((hm(a)?, hm(b)?))
    }
}

/// One centre's clock settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServicePolicy {
    pub triage_ms: i64,
    pub response_ms: i64,
    pub followup_ms: i64,
    /// Triage and response count only working time; follow-up counts calendar time.
    pub hours: WorkingHours,
    /// A running clock with at most this much time left is "nearly overdue" (临期).
    pub warn_ms: i64,
    /// Public holidays stop the working-time clocks and make-up working days (调休) run them,
    /// whatever the weekly days say. Policies saved before this existed observe holidays.
    #[serde(default = "observe_holidays_default")]
    pub observe_holidays: bool,
    /// The holiday calendar: the official years built in, replaced year by year by the
    /// province's published calendars. Filled by the store when it reads the policy; never
    /// saved with it.
    #[serde(skip, default)]
    pub calendar: Arc<Calendar>,
}

fn observe_holidays_default() -> bool {
    true
}

impl Default for ServicePolicy {
    /// The platform's plan: 1 h, 3 h, 7 days; centres work 08:00-18:00 every day (farming
    /// does not stop at weekends); warn 15 minutes ahead.
    fn default() -> ServicePolicy {
        ServicePolicy {
            triage_ms: HOUR_MS,
            response_ms: 3 * HOUR_MS,
            followup_ms: 7 * DAY_MS,
            hours: WorkingHours { days: [true; 7], start_min: 8 * 60, end_min: 18 * 60 },
            warn_ms: 15 * MINUTE_MS,
            observe_holidays: true,
            calendar: Arc::new(Calendar::official().clone()),
        }
    }
}

impl ServicePolicy {
    pub fn validate(&self) -> Result<(), String> {
        self.hours.validate()?;
        for (name, v) in
            [("triage", self.triage_ms), ("response", self.response_ms), ("followup", self.followup_ms)]
        {
            if v <= 0 || v > 90 * DAY_MS {
                return Err(format!("{name} time limit must be between 1 ms and 90 days"));
            }
        }
        if self.warn_ms < 0 {
            return Err("warning time must not be negative".into());
        }
        Ok(())
    }

    /// The instant `dur_ms` of working time after `start_ms`.
    pub fn add_working(&self, start_ms: i64, dur_ms: i64) -> i64 {
        add_working(&self.hours, self.calendar_in_force(), start_ms, dur_ms)
    }

    /// Working time between two instants (0 when `to <= from`).
    pub fn working_between(&self, from_ms: i64, to_ms: i64) -> i64 {
        working_between(&self.hours, self.calendar_in_force(), from_ms, to_ms)
    }

    /// Whether a local day (days since 1970-01-01 at UTC+8) is worked under this policy.
    pub fn is_working_day(&self, day: i64) -> bool {
        self.calendar_in_force().is_working_day(day, &self.hours.days)
    }

    fn calendar_in_force(&self) -> &Calendar {
        static NONE: std::sync::OnceLock<Calendar> = std::sync::OnceLock::new();
        if self.observe_holidays { &self.calendar } else { NONE.get_or_init(Calendar::none) }
    }
}

fn day_of(local_ms: i64) -> i64 {
    local_ms.div_euclid(DAY_MS)
}

fn add_working(h: &WorkingHours, cal: &Calendar, start_ms: i64, dur_ms: i64) -> i64 {
    if h.validate().is_err() || dur_ms <= 0 {
        return start_ms.saturating_add(dur_ms.max(0));
    }
    let mut remaining = dur_ms;
    let local = start_ms.saturating_add(UTC_OFFSET_MS);
    let first_day = day_of(local);
    for day in first_day..first_day + DAYS_SEARCHED_MAX {
        if !cal.is_working_day(day, &h.days) {
            continue;
        }
        let open = day * DAY_MS + i64::from(h.start_min) * MINUTE_MS;
        let close = day * DAY_MS + i64::from(h.end_min) * MINUTE_MS;
        let from = open.max(local);
        if from >= close {
            continue;
        }
        if remaining <= close - from {
            return from + remaining - UTC_OFFSET_MS;
        }
        remaining -= close - from;
    }
    i64::MAX
}

fn working_between(h: &WorkingHours, cal: &Calendar, from_ms: i64, to_ms: i64) -> i64 {
    if to_ms <= from_ms {
        return 0;
    }
    if h.validate().is_err() {
        return to_ms - from_ms;
    }
    let (a, b) = (from_ms + UTC_OFFSET_MS, to_ms + UTC_OFFSET_MS);
    let first = day_of(a);
    let last = day_of(b);
    let mut total = 0i64;
    for day in first..=last.min(first + DAYS_SEARCHED_MAX) {
        if !cal.is_working_day(day, &h.days) {
            continue;
        }
        let open = (day * DAY_MS + i64::from(h.start_min) * MINUTE_MS).max(a);
        let close = (day * DAY_MS + i64::from(h.end_min) * MINUTE_MS).min(b);
        total += (close - open).max(0);
    }
    total
}

/// The three clocks of the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockKind {
    Triage,
    Response,
    FollowUp,
}

impl ClockKind {
    pub const ALL: [ClockKind; 3] = [ClockKind::Triage, ClockKind::Response, ClockKind::FollowUp];

    pub fn code(self) -> &'static str {
        match self {
            ClockKind::Triage => "triage",
            ClockKind::Response => "response",
            ClockKind::FollowUp => "followup",
        }
    }

    pub fn from_code(code: &str) -> Option<ClockKind> {
        ClockKind::ALL.into_iter().find(|k| k.code() == code)
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            ClockKind::Triage => "分诊",
            ClockKind::Response => "专家响应",
            ClockKind::FollowUp => "回访",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockState {
    /// Running, more than the warning time left.
    Running,
    /// Running, at most the warning time left (临期).
    NearlyDue,
    /// Running past its deadline (超时).
    Overdue,
    /// Stopped in time.
    Met,
    /// Stopped after its deadline.
    Late,
}

impl ClockState {
    pub fn name_zh(self) -> &'static str {
        match self {
            ClockState::Running => "计时中",
            ClockState::NearlyDue => "临期",
            ClockState::Overdue => "已超时",
            ClockState::Met => "按时完成",
            ClockState::Late => "超时完成",
        }
    }

    /// The state at `now_ms` of a clock due at `due_ms`, stopped at `stopped_ms` if it was.
    pub fn at(due_ms: i64, stopped_ms: Option<i64>, now_ms: i64, warn_ms: i64) -> ClockState {
        match stopped_ms {
            Some(t) if t <= due_ms => ClockState::Met,
            Some(_) => ClockState::Late,
            None if now_ms > due_ms => ClockState::Overdue,
            None if due_ms - now_ms <= warn_ms => ClockState::NearlyDue,
            None => ClockState::Running,
        }
    }

    pub fn is_breach(self) -> bool {
        matches!(self, ClockState::Overdue | ClockState::Late)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClockView {
    pub kind: ClockKind,
    /// The event that started it (breach records are keyed by it).
    pub start_event: String,
    pub started_ms: i64,
    pub due_ms: i64,
    pub stopped_ms: Option<i64>,
    pub state: ClockState,
}

impl ClockView {
    /// Time left (negative when overdue) at `now_ms`, for running clocks.
    pub fn left_ms(&self, now_ms: i64) -> i64 {
        self.due_ms.saturating_sub(now_ms)
    }
}

/// The clocks of a case at `now_ms`. `seen(event_id)` is the time the measuring hub saw the
/// event on its own clock; a clock whose start it has not seen is not shown.
pub fn clocks(
    state: &CaseState,
    seen: &dyn Fn(&str) -> Option<i64>,
    policy: &ServicePolicy,
    now_ms: i64,
) -> Vec<ClockView> {
    let m = &state.marks;
    let runs = [
        (ClockKind::Triage, &m.triage_start, &m.triage_stop),
        (ClockKind::Response, &m.response_start, &m.response_stop),
        (ClockKind::FollowUp, &m.followup_start, &m.followup_stop),
    ];
    let mut out = Vec::new();
    for (kind, start, stop) in runs {
        let Some(start) = start else { continue };
        let Some(started_ms) = seen(start) else { continue };
        let due_ms = match kind {
            ClockKind::Triage => policy.add_working(started_ms, policy.triage_ms),
            ClockKind::Response => policy.add_working(started_ms, policy.response_ms),
            ClockKind::FollowUp => started_ms.saturating_add(policy.followup_ms),
        };
        let stopped_ms = stop.as_deref().and_then(seen);
        let state = ClockState::at(due_ms, stopped_ms, now_ms, policy.warn_ms);
        out.push(ClockView { kind, start_event: start.clone(), started_ms, due_ms, stopped_ms, state });
    }
    out
}

/// The id of the breach record of one run of a clock: deterministic, so two nodes that both
/// notice the breach write one record.
pub fn breach_event_id(kind: ClockKind, start_event: &str) -> String {
    format!("breach-{}-{start_event}", kind.code())
}

/// Breach records to append for clocks that ran out and have none yet. `responsible` names
/// who answers for it: the centre for triage and follow-up, the expert for a response.
pub fn due_breaches(
    events: &[Event],
    state: &CaseState,
    views: &[ClockView],
    centre_actor: &str,
    now_ms: i64,
) -> Vec<Event> {
    let mut out = Vec::new();
    for v in views.iter().filter(|v| v.state.is_breach()) {
        let id = breach_event_id(v.kind, &v.start_event);
        if events.iter().any(|e| e.id == id) {
            continue;
        }
        let mut ev = Event::new(id, now_ms, centre_actor, EventKind::Breach);
        ev.category = v.kind.code().into();
        ev.target = match v.kind {
            ClockKind::Response => events
                .iter()
                .find(|e| e.id == v.start_event)
                .map(|e| e.target.clone())
                .or_else(|| state.expert.clone())
                .unwrap_or_default(),
            _ => state.centre.clone(),
        };
        ev.value = (v.stopped_ms.unwrap_or(now_ms) - v.due_ms).max(0) / MINUTE_MS;
        ev.text = format!("{}超时", v.kind.name_zh());
        out.push(ev);
    }
    out
}
