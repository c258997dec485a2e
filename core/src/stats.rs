//! Statistics of the expert service (管理中心 · 统计): what one case contributes to the rollups,
//! periods, groupings and the figures derived from summed counters.
//!
//! The rule is one pure function, [`contribution`]: a case's counters, read from its document
//! alone (its events and the breach records the measuring hubs wrote into it), so every node
//! that holds the same events counts the same, whatever order they arrived in. The store keeps
//! rollups of these counters in the same transaction as the projections (subtracting a case's
//! old contribution and adding its new one) and sums them up the region tree at query time.
//!
//! A case counts in the month it was recorded (`created_at_ms`, local time UTC+8), whatever
//! happens to it later: a closure or a rating that syncs days later changes the figures of
//! that past month. Periods are whole months.

use serde::Serialize;

use crate::case::{CaseDoc, CaseState, EventKind, Status};
use crate::clock::{DAY_MS, UTC_OFFSET_MS};
use crate::region::{self, RegionCode, RegionLevel};

macro_rules! counters {
    ($($field:ident: $zh:literal,)*) => {
        /// The counters one case contributes (each 0 or 1 unless said otherwise), and their sums.
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
        pub struct Counts {
            $(#[doc = $zh] pub $field: i64,)*
        }

        impl Counts {
            /// Column names, in the order of [`Counts::to_array`].
            pub const NAMES: [&'static str; COUNTERS] = [$(stringify!($field),)*];
            /// What each counter means, in Chinese, in the same order.
            pub const NAMES_ZH: [&'static str; COUNTERS] = [$($zh,)*];

            pub fn to_array(&self) -> [i64; COUNTERS] {
                [$(self.$field,)*]
            }

            pub fn from_array(a: [i64; COUNTERS]) -> Counts {
                let mut it = a.into_iter();
                Counts { $($field: it.next().unwrap_or(0),)* }
            }
        }
    };
}

/// How many counters a case contributes.
pub const COUNTERS: usize = 21;

counters! {
    cases: "登记咨询",
    solved_by_similar: "类似案例解决",
    escalated: "提交专家",
    escalated_up: "上报市州或省",
    triaged: "已分诊（分派专家）",
    triaged_in_time: "1小时内分诊",
    answered: "专家已答复",
    responded: "专家已响应（答复或申请上门）",
    responded_in_time: "3小时内响应",
    onsite_visits: "上门服务次数",
    travel_cost_fen: "差旅费（分）",
    closed: "已办结",
    rated: "已评价",
    rating_sum: "评分合计",
    followed_up: "已回访",
    followed_up_in_time: "一周内回访",
    valid: "有效服务",
    breaches: "超时记录",
    breach_triage: "分诊超时",
    breach_response: "响应超时",
    breach_followup: "回访超时",
}

impl Counts {
    pub fn add(&mut self, other: &Counts) {
        let (a, b) = (self.to_array(), other.to_array());
        *self = Counts::from_array(std::array::from_fn(|i| a[i].saturating_add(b[i])));
    }

    pub fn sub(&mut self, other: &Counts) {
        let (a, b) = (self.to_array(), other.to_array());
        *self = Counts::from_array(std::array::from_fn(|i| a[i].saturating_sub(b[i])));
    }

    pub fn is_zero(&self) -> bool {
        self.to_array().iter().all(|v| *v == 0)
    }
}

/// The expert level a case counts under: the level of the centre whose expert holds it (the
/// centre that made the latest assignment), or none.
pub const EXPERT_LEVELS: [&str; 4] = ["county", "city", "province", "none"];

pub fn expert_level_zh(code: &str) -> &'static str {
    match code {
        "county" => "县级专家",
        "city" => "市州级专家",
        "province" => "省级专家",
        _ => "未分派专家",
    }
}

/// One case's contribution and the keys it is counted under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contribution {
    /// The month it was recorded, as `YYYYMM`.
    pub month: u32,
    /// The case's own region (a village, or the town or county it was recorded for).
    pub region: String,
    pub industry: String,
    /// One of [`EXPERT_LEVELS`].
    pub expert_level: &'static str,
    /// The service category the follow-up call recorded ("" before it).
    pub category: String,
    /// The kiosk (node id) that recorded it.
    pub kiosk: String,
    /// The expert who holds it (person id; "" when none): annual performance (激励保障).
    pub expert: String,
    /// The officer who recorded it (person id; "" when nobody was signed in).
    pub officer: String,
    pub counts: Counts,
}

/// What a case contributes to the statistics: a pure function of its document and derived
/// state. "In time" means the clock stopped and no breach record of that clock is in the case
/// (breaches are recorded by the hub that measured the clock, on its own time, and travel with
/// the case, so a province counts what its counties measured).
pub fn contribution(case: &CaseDoc, state: &CaseState) -> Contribution {
    let applied = |kind: EventKind| {
        case.ordered_events()
            .into_iter()
            .filter(move |e| e.kind() == kind && !state.ignored_events.contains(&e.id))
            .count() as i64
    };
    // A breach record's id is derived from the clock's run, so two hubs noticing one breach
    // write one id; merged, the list may hold it twice (with different times): counted once.
    let mut breach_ids: std::collections::BTreeMap<&str, &str> = std::collections::BTreeMap::new();
    for e in case.events.iter().filter(|e| e.kind() == EventKind::Breach && !e.category.is_empty()) {
        let c = breach_ids.entry(e.id.as_str()).or_insert(e.category.as_str());
        *c = (*c).min(e.category.as_str());
    }
    let breach = |clock: &str| breach_ids.values().filter(|c| **c == clock).count() as i64;
    let b = |v: bool| i64::from(v);
    let triaged = !state.experts_assigned.is_empty();
    let answered = applied(EventKind::Answered) > 0;
    let responded = answered || applied(EventKind::OnSiteRequested) > 0;
    let closed = matches!(state.status, Status::Closed | Status::FollowedUp);
    let followed_up = state.status == Status::FollowedUp;
    let centre_level = RegionLevel::of(&state.centre);
    let counts = Counts {
        cases: 1,
        solved_by_similar: b(state.solved_by.is_some()),
        escalated: b(state.marks.triage_start.is_some()),
        escalated_up: b(centre_level.is_some_and(|l| l < RegionLevel::County)),
        triaged: b(triaged),
        triaged_in_time: b(triaged && breach("triage") == 0),
        answered: b(answered),
        responded: b(responded),
        responded_in_time: b(responded && breach("response") == 0),
        onsite_visits: applied(EventKind::OnSiteDispatched),
        travel_cost_fen: state.travel_cost_fen,
        closed: b(closed),
        rated: b(state.rating.is_some()),
        rating_sum: state.rating.unwrap_or(0),
        followed_up: b(followed_up),
        followed_up_in_time: b(followed_up && breach("followup") == 0),
        valid: b(state.followup_valid == Some(true)),
        breaches: breach_ids.len() as i64,
        breach_triage: breach("triage"),
        breach_response: breach("response"),
        breach_followup: breach("followup"),
    };
    let expert_level = match (state.expert.is_some(), centre_level) {
        (true, Some(RegionLevel::Province)) => "province",
        (true, Some(RegionLevel::City)) => "city",
        (true, Some(_)) => "county",
        _ => "none",
    };
    Contribution {
        month: month_of_ms(case.created_at_ms),
        region: case.region_code.clone(),
        industry: case.industry.clone(),
        expert_level,
        category: if followed_up {
            state.followup_category.clone().unwrap_or_default()
        } else {
            String::new()
        },
        kiosk: case.origin_node.clone(),
        expert: state.expert.clone().unwrap_or_default(),
        officer: case.officer_id.clone(),
        counts,
    }
}

/// The regions a case's counters are summed into: every level from the province down to its
/// own code (so a query for any region reads its own rows, never a range of codes).
pub fn rollup_regions(code: &str) -> Vec<&str> {
    [RegionLevel::Province, RegionLevel::City, RegionLevel::County, RegionLevel::Town, RegionLevel::Village]
        .into_iter()
        .filter_map(|l| region::ancestor_at(code, l))
        .collect()
}

/// A small number per region level, stored beside rollup rows (0 province … 4 village).
pub fn level_number(level: RegionLevel) -> i64 {
    match level {
        RegionLevel::Province => 0,
        RegionLevel::City => 1,
        RegionLevel::County => 2,
        RegionLevel::Town => 3,
        RegionLevel::Village => 4,
    }
}

/// The month (`YYYYMM`, local time UTC+8) of an instant; clamped to years 1..9999.
pub fn month_of_ms(ms: i64) -> u32 {
    let (y, m, _) = crate::holidays::civil_from_days(ms.saturating_add(UTC_OFFSET_MS).div_euclid(DAY_MS));
    (y.clamp(1, 9999) as u32) * 100 + m
}

/// A month as `YYYYMM`, shown as `2026-03`.
pub fn month_label(month: u32) -> String {
    format!("{:04}-{:02}", month / 100, month % 100)
}

/// The months of a period at most (ten years).
pub const PERIOD_MONTHS_MAX: u32 = 120;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StatsError {
    #[error("{0:?} is not a month (YYYY-MM)")]
    Month(String),
    #[error("{0:?} is not a period (YYYY, YYYY-Qn or YYYY-MM)")]
    Period(String),
    #[error("the period ends before it starts")]
    Reversed,
    #[error("a period spans at most {PERIOD_MONTHS_MAX} months")]
    TooLong,
    #[error("unknown grouping {0:?}")]
    GroupBy(String),
    #[error("cannot group {region} by {by}: choose a level one or two below the region")]
    GroupLevel { region: String, by: &'static str },
    #[error("invalid region: {0}")]
    Region(#[from] region::RegionError),
}

impl StatsError {
    pub fn message_zh(&self) -> String {
        match self {
            StatsError::Month(_) => "月份格式应为 2026-03".into(),
            StatsError::Period(_) => "统计期间格式应为 2026、2026-Q1 或 2026-03".into(),
            StatsError::Reversed => "结束月份早于开始月份".into(),
            StatsError::TooLong => format!("统计期间最长 {PERIOD_MONTHS_MAX} 个月"),
            StatsError::GroupBy(_) => "分组方式无效".into(),
            StatsError::GroupLevel { .. } => "该地区不能按此层级分组：请选择低一级或低两级".into(),
            StatsError::Region(_) => "地区代码无效".into(),
        }
    }
}

/// Parses `YYYY-MM` (also `YYYYMM`) into `YYYYMM`.
pub fn parse_month(s: &str) -> Result<u32, StatsError> {
    let s = s.trim();
    let digits: String = s.chars().filter(|c| *c != '-').collect();
    let shape_ok = (s.len() == 7 && s.as_bytes()[4] == b'-') || s.len() == 6;
    if !shape_ok || digits.len() != 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(StatsError::Month(s.to_string()));
    }
    let v: u32 = digits.parse().map_err(|_| StatsError::Month(s.to_string()))?;
    if !(1..=12).contains(&(v % 100)) || v / 100 == 0 {
        return Err(StatsError::Month(s.to_string()));
    }
    Ok(v)
}

fn month_index(m: u32) -> u32 {
    (m / 100) * 12 + (m % 100 - 1)
}

fn month_from_index(i: u32) -> u32 {
    (i / 12) * 100 + i % 12 + 1
}

/// A period of whole months, both ends included (`YYYYMM`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Period {
    pub from: u32,
    pub to: u32,
}

impl Period {
    pub fn new(from: u32, to: u32) -> Result<Period, StatsError> {
        if to < from {
            return Err(StatsError::Reversed);
        }
        if month_index(to) - month_index(from) >= PERIOD_MONTHS_MAX {
            return Err(StatsError::TooLong);
        }
        Ok(Period { from, to })
    }

    /// From `from` to `to` (`YYYY-MM` each); a missing end defaults to the year of `now_ms`
    /// (January to the current month).
    pub fn parse_range(from: Option<&str>, to: Option<&str>, now_ms: i64) -> Result<Period, StatsError> {
        let now = month_of_ms(now_ms);
        let to = match to.filter(|s| !s.trim().is_empty()) {
            Some(s) => parse_month(s)?,
            None => now,
        };
        let from = match from.filter(|s| !s.trim().is_empty()) {
            Some(s) => parse_month(s)?,
            None => (to / 100) * 100 + 1,
        };
        Period::new(from, to)
    }

    /// A named period: `2026` (a year), `2026-Q2` (a quarter) or `2026-05` (a month).
    pub fn parse_named(s: &str) -> Result<Period, StatsError> {
        let s = s.trim();
        let bad = || StatsError::Period(s.to_string());
        if s.len() == 4 && s.bytes().all(|b| b.is_ascii_digit()) {
            let y: u32 = s.parse().map_err(|_| bad())?;
            if y == 0 {
                return Err(bad());
            }
            return Period::new(y * 100 + 1, y * 100 + 12);
        }
        if let Some((y, q)) = s.split_once("-Q").or_else(|| s.split_once("-q")) {
            let y: u32 = y.parse().map_err(|_| bad())?;
            let q: u32 = q.parse().map_err(|_| bad())?;
            if y == 0 || y > 9999 || !(1..=4).contains(&q) {
                return Err(bad());
            }
            return Period::new(y * 100 + q * 3 - 2, y * 100 + q * 3);
        }
        let m = parse_month(s).map_err(|_| bad())?;
        Period::new(m, m)
    }

    /// The `n` months (1 ..= [`PERIOD_MONTHS_MAX`]) ending with `to` (`YYYYMM`).
    pub fn ending(to: u32, n: u32) -> Result<Period, StatsError> {
        let n = n.clamp(1, PERIOD_MONTHS_MAX);
        let to_index = month_index(parse_month(&to.to_string())?);
        Period::new(month_from_index(to_index.saturating_sub(n - 1)), to)
    }

    /// The months of the period in order.
    pub fn months(&self) -> impl Iterator<Item = u32> {
        (month_index(self.from)..=month_index(self.to)).map(month_from_index)
    }

    pub fn label(&self) -> String {
        if self.from == self.to {
            month_label(self.from)
        } else {
            format!("{} 至 {}", month_label(self.from), month_label(self.to))
        }
    }
}

/// How figures are broken down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    City,
    County,
    Town,
    Village,
    Industry,
    Month,
    ExpertLevel,
}

impl GroupBy {
    pub const ALL: [GroupBy; 7] = [
        GroupBy::City,
        GroupBy::County,
        GroupBy::Town,
        GroupBy::Village,
        GroupBy::Industry,
        GroupBy::Month,
        GroupBy::ExpertLevel,
    ];

    pub fn code(self) -> &'static str {
        match self {
            GroupBy::City => "city",
            GroupBy::County => "county",
            GroupBy::Town => "town",
            GroupBy::Village => "village",
            GroupBy::Industry => "industry",
            GroupBy::Month => "month",
            GroupBy::ExpertLevel => "expert_level",
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            GroupBy::City => "按市州",
            GroupBy::County => "按县市区",
            GroupBy::Town => "按乡镇",
            GroupBy::Village => "按村",
            GroupBy::Industry => "按产业",
            GroupBy::Month => "按月份",
            GroupBy::ExpertLevel => "按专家级别",
        }
    }

    pub fn parse(s: &str) -> Result<GroupBy, StatsError> {
        GroupBy::ALL
            .into_iter()
            .find(|g| g.code() == s.trim())
            .ok_or_else(|| StatsError::GroupBy(s.to_string()))
    }

    /// The region level of a grouping by region.
    pub fn level(self) -> Option<RegionLevel> {
        match self {
            GroupBy::City => Some(RegionLevel::City),
            GroupBy::County => Some(RegionLevel::County),
            GroupBy::Town => Some(RegionLevel::Town),
            GroupBy::Village => Some(RegionLevel::Village),
            _ => None,
        }
    }

    /// Checks that a region can be broken down this way: by a level one or two below its own
    /// (a province by city or county, a county by town or village), so that no answer lists
    /// thousands of places.
    pub fn check_for(self, region: &RegionCode) -> Result<(), StatsError> {
        let Some(level) = self.level() else { return Ok(()) };
        let own = level_number(region.level());
        let want = level_number(level);
        if want > own && want - own <= 2 {
            Ok(())
        } else {
            Err(StatsError::GroupLevel { region: region.to_string(), by: self.code() })
        }
    }
}

/// Figures derived from summed counters (rates as fractions 0..1; `None` when nothing was
/// measured).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Rates {
    /// Solved by a similar case, of cases recorded.
    pub solved_by_similar: Option<f64>,
    /// Triaged within 1 h, of cases triaged.
    pub triaged_in_time: Option<f64>,
    /// Responded to within 3 h, of cases responded to.
    pub responded_in_time: Option<f64>,
    /// Followed up within a week, of cases followed up.
    pub followed_up_in_time: Option<f64>,
    /// Valid services, of cases followed up.
    pub valid: Option<f64>,
    /// Mean rating (1-5) of rated cases.
    pub mean_rating: Option<f64>,
}

fn ratio(n: i64, d: i64) -> Option<f64> {
    (d > 0).then(|| n as f64 / d as f64)
}

impl Rates {
    pub fn of(c: &Counts) -> Rates {
        Rates {
            solved_by_similar: ratio(c.solved_by_similar, c.cases),
            triaged_in_time: ratio(c.triaged_in_time, c.triaged),
            responded_in_time: ratio(c.responded_in_time, c.responded),
            followed_up_in_time: ratio(c.followed_up_in_time, c.followed_up),
            valid: ratio(c.valid, c.followed_up),
            mean_rating: ratio(c.rating_sum, c.rated),
        }
    }
}

/// What is asked: a region, a period and an optional breakdown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub region: RegionCode,
    pub period: Period,
    pub by: Option<GroupBy>,
}

impl Query {
    /// Parses the parameters of `/api/stats`, the page and `yizhan stats`; a missing period is
    /// this year up to the month of `now_ms`.
    pub fn parse(
        region: &str,
        from: Option<&str>,
        to: Option<&str>,
        by: Option<&str>,
        now_ms: i64,
    ) -> Result<Query, StatsError> {
        let region = RegionCode::parse(region)?;
        let period = Period::parse_range(from, to, now_ms)?;
        let by = by.filter(|s| !s.trim().is_empty()).map(GroupBy::parse).transpose()?;
        if let Some(b) = by {
            b.check_for(&region)?;
        }
        Ok(Query { region, period, by })
    }
}

/// Counters and the rates derived from them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figures {
    pub counts: Counts,
    pub rates: Rates,
}

impl Figures {
    pub fn of(counts: Counts) -> Figures {
        Figures { rates: Rates::of(&counts), counts }
    }
}

/// One line of a breakdown.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Group {
    /// A region code, an industry code, `YYYY-MM`, or an expert level.
    pub key: String,
    pub name: String,
    #[serde(flatten)]
    pub figures: Figures,
}

/// Cases followed up per service category (服务类别).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CategoryCount {
    pub category: String,
    pub followed_up: i64,
    pub valid: i64,
}

/// The statistics of a region over a period: what `/api/stats` returns and the page shows.
/// Aggregates only: no person's name, number or case text.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub region: String,
    pub region_name: String,
    /// First and last month, `YYYY-MM`, both included.
    pub from: String,
    pub to: String,
    pub by: Option<GroupBy>,
    pub totals: Figures,
    /// The breakdown asked for (empty without `by`).
    pub groups: Vec<Group>,
    pub categories: Vec<CategoryCount>,
    /// Kiosks that recorded at least one case of the region in the period.
    pub active_kiosks: i64,
}

/// The name of a group's key.
pub fn group_name(by: GroupBy, key: &str) -> String {
    match by {
        GroupBy::City | GroupBy::County | GroupBy::Town | GroupBy::Village => {
            region::regions().get(key).map(|r| r.name.clone()).unwrap_or_else(|| key.to_string())
        }
        GroupBy::Industry => {
            crate::Industry::from_code(key).map_or_else(|| key.to_string(), |i| i.name_zh().into())
        }
        GroupBy::Month => key.to_string(),
        GroupBy::ExpertLevel => expert_level_zh(key).to_string(),
    }
}

/// Builds the report from summed counters: `groups` keyed as [`Group::key`] (months as
/// `YYYYMM`); months and industries are listed in full, with zeros.
pub fn report(
    q: &Query,
    totals: Counts,
    groups: Vec<(String, Counts)>,
    categories: Vec<CategoryCount>,
    active_kiosks: i64,
) -> Report {
    let mut groups: std::collections::BTreeMap<String, Counts> = groups.into_iter().collect();
    match q.by {
        Some(GroupBy::Month) => {
            let by_month = std::mem::take(&mut groups);
            for m in q.period.months() {
                let c = by_month.get(&m.to_string()).copied().unwrap_or_default();
                groups.insert(month_label(m), c);
            }
        }
        Some(GroupBy::Industry) => {
            for i in crate::Industry::ALL {
                groups.entry(i.code().to_string()).or_default();
            }
        }
        Some(GroupBy::ExpertLevel) => {
            for l in EXPERT_LEVELS {
                groups.entry(l.to_string()).or_default();
            }
        }
        _ => {}
    }
    let mut groups: Vec<Group> = match q.by {
        Some(by) => groups
            .into_iter()
            .map(|(key, c)| Group { name: group_name(by, &key), key, figures: Figures::of(c) })
            .collect(),
        None => Vec::new(),
    };
    match q.by {
        Some(GroupBy::Industry) => {
            let pos = |k: &str| crate::Industry::ALL.iter().position(|i| i.code() == k).unwrap_or(usize::MAX);
            groups.sort_by_key(|g| pos(&g.key));
        }
        Some(GroupBy::ExpertLevel) => {
            let pos = |k: &str| EXPERT_LEVELS.iter().position(|l| *l == k).unwrap_or(usize::MAX);
            groups.sort_by_key(|g| pos(&g.key));
        }
        _ => {}
    }
    Report {
        region: q.region.to_string(),
        region_name: region_name(q.region.as_str()),
        from: month_label(q.period.from),
        to: month_label(q.period.to),
        by: q.by,
        totals: Figures::of(totals),
        groups,
        categories,
        active_kiosks,
    }
}

/// A region's name with its path ("成都市 蒲江县"), or the province's name.
pub fn region_name(code: &str) -> String {
    let path = region::regions().path_name(code);
    if path.is_empty() {
        region::regions().get(code).map(|r| r.name.clone()).unwrap_or_default()
    } else {
        path
    }
}

/// The plan's officers per village (每村至少 2 名信息员).
pub const OFFICERS_PER_VILLAGE_PLAN: i64 = 2;
/// Villages below the plan listed at most (the count is always exact).
pub const VILLAGES_LISTED_MAX: usize = 500;

/// People of a region: experts by level and industry, officers per village, centres' staff.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PeopleStats {
    pub experts: i64,
    /// `(level code, name, count)`: county, city, province.
    pub experts_by_level: Vec<LevelCount>,
    pub experts_by_industry: Vec<IndustryCount>,
    pub officers: i64,
    pub villages_with_officers: i64,
    /// Villages with fewer officers than the plan (villages with none are not known here).
    pub villages_below_plan: i64,
    pub villages_below_plan_listed: Vec<VillageOfficers>,
    /// Operations centres with their staff (staff and administrators).
    pub centres: Vec<CentreStaff>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LevelCount {
    pub level: String,
    pub name: String,
    pub count: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IndustryCount {
    pub industry: String,
    pub name: String,
    pub count: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VillageOfficers {
    pub village: String,
    pub name: String,
    pub officers: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CentreStaff {
    pub region: String,
    pub name: String,
    pub staff: i64,
}

/// One active person of the directory, as [`people_stats`] counts them.
pub struct PersonFacts<'a> {
    pub role: &'a str,
    pub region: &'a str,
    pub industries: Vec<&'a str>,
}

/// Counts the people of a region (pass only active people within it).
pub fn people_stats<'a>(people: impl IntoIterator<Item = PersonFacts<'a>>) -> PeopleStats {
    use std::collections::BTreeMap;
    let mut by_level: BTreeMap<i64, i64> = BTreeMap::new();
    let mut by_industry: BTreeMap<String, i64> = BTreeMap::new();
    let mut villages: BTreeMap<String, i64> = BTreeMap::new();
    let mut centres: BTreeMap<String, i64> = BTreeMap::new();
    let mut out = PeopleStats::default();
    for p in people {
        let level = RegionLevel::of(p.region);
        match p.role {
            "expert" => {
                out.experts += 1;
                if let Some(l) = level {
                    *by_level.entry(level_number(l)).or_default() += 1;
                }
                for i in p.industries {
                    *by_industry.entry(i.to_string()).or_default() += 1;
                }
            }
            "officer" => {
                out.officers += 1;
                if level == Some(RegionLevel::Village) {
                    *villages.entry(p.region.to_string()).or_default() += 1;
                }
            }
            "staff" | "admin" => *centres.entry(p.region.to_string()).or_default() += 1,
            _ => {}
        }
    }
    for (n, code, name) in [(2, "county", "县级专家"), (1, "city", "市州级专家"), (0, "province", "省级专家")]
    {
        out.experts_by_level.push(LevelCount {
            level: code.into(),
            name: name.into(),
            count: by_level.get(&n).copied().unwrap_or(0),
        });
    }
    for i in crate::Industry::ALL {
        let count = by_industry.get(i.code()).copied().unwrap_or(0);
        out.experts_by_industry.push(IndustryCount {
            industry: i.code().into(),
            name: i.name_zh().into(),
            count,
        });
    }
    out.villages_with_officers = villages.len() as i64;
    for (village, officers) in villages.into_iter().filter(|(_, n)| *n < OFFICERS_PER_VILLAGE_PLAN) {
        out.villages_below_plan += 1;
        if out.villages_below_plan_listed.len() < VILLAGES_LISTED_MAX {
            out.villages_below_plan_listed.push(VillageOfficers {
                name: region_name(&village),
                village,
                officers,
            });
        }
    }
    out.centres = centres
        .into_iter()
        .map(|(region, staff)| CentreStaff { name: region_name(&region), region, staff })
        .collect();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_in_local_time() {
        // 2026-02-28 16:00 UTC is 2026-03-01 00:00 in Sichuan.
        let ms = 1_772_294_400_000;
        assert_eq!(month_of_ms(ms - 1), 202602);
        assert_eq!(month_of_ms(ms), 202603);
        assert_eq!(month_of_ms(0), 197001);
        assert_eq!(month_of_ms(951_753_600_000), 200002); // 2000-02-28 16:00 UTC: the 29th locally
        assert_eq!(month_label(202603), "2026-03");
    }

    #[test]
    fn periods() {
        let p = |s| Period::parse_named(s);
        assert_eq!(p("2026"), Ok(Period { from: 202601, to: 202612 }));
        assert_eq!(p("2026-Q2"), Ok(Period { from: 202604, to: 202606 }));
        assert_eq!(p("2026-03"), Ok(Period { from: 202603, to: 202603 }));
        assert!(p("2026-Q5").is_err() && p("2026-13").is_err() && p("x").is_err() && p("0000").is_err());
        assert_eq!(
            Period::parse_range(Some("2025-11"), Some("2026-02"), 0).map(|p| p.months().count()),
            Ok(4)
        );
        assert_eq!(Period::parse_range(Some("2026-03"), Some("2026-02"), 0), Err(StatsError::Reversed));
        assert_eq!(Period::parse_range(Some("2000-01"), Some("2026-02"), 0), Err(StatsError::TooLong));
        assert_eq!(
            Period::parse_range(None, None, 1_772_294_400_000),
            Ok(Period { from: 202601, to: 202603 })
        );
        assert!(parse_month("2026-3").is_err() && parse_month("202600").is_err());
        assert_eq!(Period::ending(202603, 12), Ok(Period { from: 202504, to: 202603 }));
        assert_eq!(Period::ending(202603, 1), Ok(Period { from: 202603, to: 202603 }));
        assert!(Period::ending(202613, 3).is_err());
    }

    #[test]
    fn groupings_by_region_are_one_or_two_levels_down() {
        let r = |c| RegionCode::parse(c).unwrap_or_else(|e| panic!("{e}"));
        assert!(GroupBy::County.check_for(&r("51")).is_ok());
        assert!(GroupBy::Town.check_for(&r("51")).is_err());
        assert!(GroupBy::Village.check_for(&r("510131")).is_ok());
        assert!(GroupBy::County.check_for(&r("510131")).is_err());
        assert!(GroupBy::Industry.check_for(&r("510131")).is_ok());
        assert_eq!(rollup_regions("510131001001"), ["51", "5101", "510131", "510131001", "510131001001"]);
        assert_eq!(rollup_regions("510131"), ["51", "5101", "510131"]);
    }
}
