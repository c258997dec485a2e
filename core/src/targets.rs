//! Targets (指标): the plan's goals for a region, and progress towards them.
//!
//! A `targets` document holds one region's goals for a year (the plan's 2025 goals for the
//! province: 200 operations centres, 30,000 experts, 60,000 officers, 1,000,000 consultations
//! cumulative, 2,000 achievement supply/demand items, 1,000 industry information items). The
//! province's administrators set the province's; a city's or county's administrators may set
//! their own region's at their own hub. A document flows down from where it is set (a county
//! hub holds its own, its city's and the province's), never up. Its id is `targets-<region>`,
//! so the goals that apply to a region are found by id, its own first, then each region above.
//!
//! Progress is `current / goal`; the date a goal is reached is extrapolated at the current
//! rate (what was added over the last year, per day): [`forecast`], pure and tested.

use automerge::AutoCommit;
use autosurgeon::{Hydrate, Reconcile, hydrate, reconcile};
use serde::Serialize;

use crate::holidays::civil_from_days;
use crate::region::{self, RegionCode, RegionLevel};

/// The province's code.
pub const PROVINCE: &str = "51";

pub const DOC_TYPE: &str = "targets";
/// The largest goal accepted (far above any count the province will reach).
pub const GOAL_MAX: i64 = 1_000_000_000;
/// Years a target may be set for.
pub const YEAR_MIN: i64 = 2020;
pub const YEAR_MAX: i64 = 2100;

/// What a goal counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Operations centres (运营中心) with staff in the directory.
    Centres,
    /// Experts in the directory (active).
    Experts,
    /// Village information officers (信息员, active).
    Officers,
    /// Consultations recorded, cumulative.
    Consultations,
    /// Published items of 成果转化 and 供销对接 (kinds `achievements.*`, `supply.*`).
    AchievementItems,
    /// Published items of 产业信息 (kinds `industry.*`).
    IndustryItems,
}

impl Metric {
    pub const ALL: [Metric; 6] = [
        Metric::Centres,
        Metric::Experts,
        Metric::Officers,
        Metric::Consultations,
        Metric::AchievementItems,
        Metric::IndustryItems,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Metric::Centres => "centres",
            Metric::Experts => "experts",
            Metric::Officers => "officers",
            Metric::Consultations => "consultations",
            Metric::AchievementItems => "achievement_items",
            Metric::IndustryItems => "industry_items",
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Metric::Centres => "运营中心",
            Metric::Experts => "专家",
            Metric::Officers => "信息员",
            Metric::Consultations => "累计咨询服务",
            Metric::AchievementItems => "成果供需信息",
            Metric::IndustryItems => "产业信息",
        }
    }

    pub fn unit_zh(self) -> &'static str {
        match self {
            Metric::Centres => "个",
            Metric::Experts | Metric::Officers => "名",
            Metric::Consultations => "次",
            Metric::AchievementItems | Metric::IndustryItems => "条",
        }
    }

    /// The published kinds' prefixes an item metric counts (`<module>.`, see
    /// `yizhan_web::Module::code`).
    pub fn kind_prefixes(self) -> &'static [&'static str] {
        match self {
            Metric::AchievementItems => &["achievements.", "supply."],
            Metric::IndustryItems => &["industry."],
            _ => &[],
        }
    }

    pub fn parse(code: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.code() == code)
    }
}

/// One region's goals for a year.
#[derive(Debug, Clone, PartialEq, Eq, Reconcile, Hydrate)]
pub struct TargetDoc {
    pub doc_type: String,
    /// `targets-<region>`.
    pub id: String,
    pub region_code: String,
    /// The year by whose end the goals are to be met.
    pub year: i64,
    pub centres: i64,
    pub experts: i64,
    pub officers: i64,
    pub consultations: i64,
    pub achievement_items: i64,
    pub industry_items: i64,
    /// Who set them (a person id) and when, on the hub's clock.
    pub set_by: String,
    pub set_ms: i64,
}

impl TargetDoc {
    pub fn id_for(region: &str) -> String {
        format!("targets-{region}")
    }

    /// The plan's 2025 goals for the province.
    pub fn plan_2025(set_by: &str, set_ms: i64) -> TargetDoc {
        TargetDoc {
            doc_type: DOC_TYPE.into(),
            id: TargetDoc::id_for(PROVINCE),
            region_code: PROVINCE.into(),
            year: 2025,
            centres: 200,
            experts: 30_000,
            officers: 60_000,
            consultations: 1_000_000,
            achievement_items: 2_000,
            industry_items: 1_000,
            set_by: set_by.into(),
            set_ms,
        }
    }

    /// Goals for `region` with every value given per metric in [`Metric::ALL`]'s order.
    pub fn new(
        region: &str,
        year: i64,
        goals: [i64; 6],
        set_by: &str,
        set_ms: i64,
    ) -> Result<TargetDoc, TargetError> {
        let t = TargetDoc {
            doc_type: DOC_TYPE.into(),
            id: TargetDoc::id_for(region),
            region_code: region.into(),
            year,
            centres: goals[0],
            experts: goals[1],
            officers: goals[2],
            consultations: goals[3],
            achievement_items: goals[4],
            industry_items: goals[5],
            set_by: set_by.into(),
            set_ms,
        };
        t.validate()?;
        Ok(t)
    }

    pub fn goal(&self, m: Metric) -> i64 {
        match m {
            Metric::Centres => self.centres,
            Metric::Experts => self.experts,
            Metric::Officers => self.officers,
            Metric::Consultations => self.consultations,
            Metric::AchievementItems => self.achievement_items,
            Metric::IndustryItems => self.industry_items,
        }
    }

    pub fn validate(&self) -> Result<(), TargetError> {
        if self.doc_type != DOC_TYPE {
            return Err(TargetError::Malformed(format!("doc_type is {:?}", self.doc_type)));
        }
        RegionCode::parse(&self.region_code).map_err(|e| TargetError::Malformed(e.to_string()))?;
        if self.id != TargetDoc::id_for(&self.region_code) {
            return Err(TargetError::Malformed(format!("id {:?} does not match its region", self.id)));
        }
        if RegionLevel::of(&self.region_code).is_none_or(|l| l > RegionLevel::County) {
            return Err(TargetError::Level);
        }
        if !(YEAR_MIN..=YEAR_MAX).contains(&self.year) {
            return Err(TargetError::Year);
        }
        if Metric::ALL.iter().any(|m| !(0..=GOAL_MAX).contains(&self.goal(*m))) {
            return Err(TargetError::Goal);
        }
        Ok(())
    }

    pub fn to_doc(&self) -> Result<AutoCommit, TargetError> {
        self.validate()?;
        let mut doc = AutoCommit::new();
        reconcile(&mut doc, self).map_err(|e| TargetError::Malformed(e.to_string()))?;
        Ok(doc)
    }

    pub fn from_doc(doc: &AutoCommit) -> Result<TargetDoc, TargetError> {
        let t: TargetDoc = hydrate(doc).map_err(|e| TargetError::Malformed(e.to_string()))?;
        t.validate()?;
        Ok(t)
    }

    /// Replaces the goals in an existing document.
    pub fn update(doc: &mut AutoCommit, next: &TargetDoc) -> Result<(), TargetError> {
        next.validate()?;
        reconcile(doc, next).map_err(|e| TargetError::Malformed(e.to_string()))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("malformed targets document: {0}")]
    Malformed(String),
    #[error("targets are set for the province, a city or a county")]
    Level,
    #[error("the year lies outside {YEAR_MIN}..={YEAR_MAX}")]
    Year,
    #[error("a goal lies outside 0..={GOAL_MAX}")]
    Goal,
}

impl TargetError {
    pub fn message_zh(&self) -> String {
        match self {
            TargetError::Malformed(_) => "指标数据格式不正确".into(),
            TargetError::Level => "指标只能为全省、市州或县市区设定".into(),
            TargetError::Year => format!("年份应在 {YEAR_MIN} 至 {YEAR_MAX} 之间"),
            TargetError::Goal => format!("指标值应为 0 至 {GOAL_MAX} 的整数"),
        }
    }
}

/// When a goal is reached at the current rate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Forecast {
    /// Already reached (or the goal is 0).
    Reached,
    /// Reached on this day (days since 1970-01-01, local date) at the current rate.
    On { day: i64 },
    /// Nothing was added over the period the rate is measured on: never at this rate.
    Stalled,
    /// No rate is known for this measure (no history of it is kept).
    Unknown,
}

/// The day a goal is reached when `current` grows by `per_day` from `today` on (`None`: no
/// rate is known). A fractional remainder counts as a whole day; a date beyond year 9999 is
/// [`Forecast::Stalled`].
pub fn forecast(current: i64, goal: i64, per_day: Option<f64>, today: i64) -> Forecast {
    if current >= goal {
        return Forecast::Reached;
    }
    let Some(rate) = per_day else { return Forecast::Unknown };
    if !(rate.is_finite() && rate > 0.0) {
        return Forecast::Stalled;
    }
    let days = ((goal - current) as f64 / rate).ceil();
    const LAST_DAY: f64 = 2_932_896.0; // 9999-12-31
    if today as f64 + days > LAST_DAY {
        return Forecast::Stalled;
    }
    Forecast::On { day: today + days as i64 }
}

/// A rate per day: `added` over the last `days` days (`None` without a period).
pub fn rate_per_day(added: i64, days: i64) -> Option<f64> {
    (days > 0).then(|| added.max(0) as f64 / days as f64)
}

/// A day number as `2026-03-01`.
pub fn date_label(day: i64) -> String {
    let (y, m, d) = civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The last day of `year`.
pub fn year_end(year: i64) -> i64 {
    crate::holidays::days_from_civil(year.clamp(YEAR_MIN, YEAR_MAX) as i32, 12, 31)
}

/// What a region has now of one measure, and how fast it grows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Actual {
    pub current: i64,
    /// Added per day over the last year (`None`: no history of the measure is kept).
    pub per_day: Option<f64>,
}

/// Progress towards one goal.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Progress {
    pub metric: Metric,
    pub name: String,
    pub unit: String,
    pub goal: i64,
    pub current: i64,
    /// `current / goal` (1 when the goal is 0).
    pub ratio: f64,
    pub per_day: Option<f64>,
    pub forecast: Forecast,
    /// The forecast day as a date, if one is known.
    pub reached_on: Option<String>,
    /// Whether it is (or will be at this rate) reached by the end of the target year.
    pub on_time: Option<bool>,
}

/// Progress of every goal of `targets`, with `actual` giving each measure's figures.
pub fn progress(targets: &TargetDoc, actual: impl Fn(Metric) -> Actual, today: i64) -> Vec<Progress> {
    let deadline = year_end(targets.year);
    Metric::ALL
        .into_iter()
        .map(|m| {
            let goal = targets.goal(m);
            let a = actual(m);
            let f = forecast(a.current, goal, a.per_day, today);
            let (reached_on, on_time) = match f {
                Forecast::Reached => (None, Some(true)),
                Forecast::On { day } => (Some(date_label(day)), Some(day <= deadline)),
                Forecast::Stalled => (None, Some(false)),
                Forecast::Unknown => (None, (today > deadline).then_some(false)),
            };
            Progress {
                metric: m,
                name: m.name_zh().into(),
                unit: m.unit_zh().into(),
                goal,
                current: a.current,
                ratio: if goal > 0 { a.current as f64 / goal as f64 } else { 1.0 },
                per_day: a.per_day,
                forecast: f,
                reached_on,
                on_time,
            }
        })
        .collect()
}

/// The goals that apply to `region` among the documents a node holds: its own, else the
/// nearest region above it that set some.
pub fn applicable<'a>(region: &str, docs: &'a [TargetDoc]) -> Option<&'a TargetDoc> {
    [RegionLevel::County, RegionLevel::City, RegionLevel::Province]
        .into_iter()
        .filter_map(|l| region::ancestor_at(region, l))
        .find_map(|code| docs.iter().find(|d| d.region_code == code))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::holidays::days_from_civil;

    #[test]
    fn forecasts_at_the_current_rate() {
        let today = days_from_civil(2026, 1, 1);
        assert_eq!(forecast(10, 10, Some(1.0), today), Forecast::Reached);
        assert_eq!(forecast(11, 10, None, today), Forecast::Reached);
        assert_eq!(forecast(0, 0, None, today), Forecast::Reached);
        assert_eq!(forecast(0, 10, Some(1.0), today), Forecast::On { day: today + 10 });
        // 3 left at 2 a day: the second day is not enough, the third is.
        assert_eq!(forecast(7, 10, Some(2.0), today), Forecast::On { day: today + 2 });
        assert_eq!(forecast(7, 10, Some(0.5), today), Forecast::On { day: today + 6 });
        assert_eq!(forecast(0, 10, Some(0.0), today), Forecast::Stalled);
        assert_eq!(forecast(0, 10, Some(f64::NAN), today), Forecast::Stalled);
        assert_eq!(forecast(0, 10, None, today), Forecast::Unknown);
        assert_eq!(forecast(0, GOAL_MAX, Some(1e-9), today), Forecast::Stalled, "beyond year 9999");
        assert_eq!(rate_per_day(365, 365), Some(1.0));
        assert_eq!(rate_per_day(-5, 10), Some(0.0));
        assert_eq!(rate_per_day(5, 0), None);
        assert_eq!(date_label(days_from_civil(2026, 3, 1)), "2026-03-01");
    }

    #[test]
    fn progress_says_whether_the_year_is_met() {
        let t = TargetDoc::plan_2025("admin", 0);
        let today = days_from_civil(2025, 7, 1);
        let p = progress(
            &t,
            |m| match m {
                // 1,000 a day for the 183 days from 2025-07-01: reached on 2025-12-31, in time.
                Metric::Consultations => Actual { current: 817_000, per_day: Some(1000.0) },
                Metric::Experts => Actual { current: 30_001, per_day: None },
                Metric::IndustryItems => Actual { current: 0, per_day: Some(1.0) },
                _ => Actual { current: 10, per_day: None },
            },
            today,
        );
        let of = |m: Metric| p.iter().find(|x| x.metric == m).cloned().unwrap_or_else(|| panic!("{m:?}"));
        assert_eq!(p.len(), 6);
        let c = of(Metric::Consultations);
        assert_eq!(c.reached_on.as_deref(), Some("2025-12-31"));
        assert_eq!(c.on_time, Some(true));
        assert!((c.ratio - 0.817).abs() < 1e-9);
        assert_eq!(of(Metric::Experts).forecast, Forecast::Reached);
        let i = of(Metric::IndustryItems);
        assert_eq!(i.reached_on.as_deref(), Some("2028-03-27"));
        assert_eq!(i.on_time, Some(false));
        assert_eq!(of(Metric::Officers).forecast, Forecast::Unknown);
        assert_eq!(of(Metric::Officers).on_time, None, "unknown before the deadline");
        let late = progress(&t, |_| Actual { current: 1, per_day: None }, days_from_civil(2026, 1, 1));
        assert!(late.iter().all(|x| x.on_time == Some(false)), "past the year and not reached");
    }

    #[test]
    fn documents_round_trip_and_bad_ones_are_refused() {
        let t = TargetDoc::new("510131", 2026, [1, 50, 400, 20_000, 30, 20], "admin", 5)
            .unwrap_or_else(|e| panic!("{e}"));
        let doc = t.to_doc().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(TargetDoc::from_doc(&doc), Ok(t.clone()));
        assert_eq!(TargetDoc::new("510131001", 2026, [0; 6], "a", 0), Err(TargetError::Level));
        assert_eq!(TargetDoc::new("51", 1999, [0; 6], "a", 0), Err(TargetError::Year));
        assert_eq!(TargetDoc::new("51", 2025, [0, -1, 0, 0, 0, 0], "a", 0), Err(TargetError::Goal));
        assert!(matches!(TargetDoc::new("5x", 2025, [0; 6], "a", 0), Err(TargetError::Malformed(_))));
        let mut wrong = t.clone();
        wrong.id = TargetDoc::id_for("51");
        assert!(wrong.validate().is_err());
        assert!(TargetDoc::from_doc(&AutoCommit::new()).is_err());
    }

    #[test]
    fn the_nearest_goals_apply() {
        let p = TargetDoc::plan_2025("a", 0);
        let city = TargetDoc::new("5101", 2025, [30; 6], "a", 0).unwrap_or_else(|e| panic!("{e}"));
        let docs = vec![p.clone(), city.clone()];
        assert_eq!(applicable("510131", &docs), Some(&city));
        assert_eq!(applicable("5101", &docs), Some(&city));
        assert_eq!(applicable("5107", &docs), Some(&p));
        assert_eq!(applicable("51", &docs), Some(&p));
        assert_eq!(applicable("5107", &[]), None);
    }
}
