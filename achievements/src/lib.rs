//! 成果转化 (achievement transformation): technology achievements (科技成果,
//! `achievements.achievement`: holder, industry, maturity, mode of transfer), technology demands
//! (技术需求, `achievements.demand`) and the bounty board (你发榜我抢单, `achievements.bounty`: a
//! demand with a reward in fen and a deadline). All three are kinds of the one publication
//! pipeline, drafted by a centre's staff and reviewed and signed off by two people. Experts claim
//! a published bounty at their hub (`yizhan_core::claim`); the owning centre picks one claim and
//! later marks it done. The platform only connects people: the reward is agreed and paid
//! between the parties, never through it.

use serde::Deserialize;
use yizhan_core::item::{FieldSpec, ItemDoc, Kind};
use yizhan_core::publication::Rules;
use yizhan_core::published::PublishedDoc;
use yizhan_core::{Industry, RegionCode, RegionLevel, holidays};

pub mod geo;
pub mod map;
pub mod pages;
pub mod platform;

pub use platform::PLATFORM;

pub const ACHIEVEMENT: &str = "achievements.achievement";
pub const DEMAND: &str = "achievements.demand";
pub const BOUNTY: &str = "achievements.bounty";
/// The prefix of this module's kinds (`yizhan_web::Module::Achievements.code()`).
pub const PREFIX: &str = "achievements.";

/// A reward at most, in fen (one hundred million yuan).
pub const REWARD_FEN_MAX: i64 = 10_000_000_000;
/// A deadline at most this many days after the item was drafted.
pub const DEADLINE_DAYS_MAX: i64 = 731;

/// 成熟度: where an achievement stands.
pub const MATURITIES: &[&str] = &["实验室阶段", "小试", "中试", "小批量生产", "产业化"];
/// 转化方式: how it may be transferred.
pub const TRANSFER_MODES: &[&str] = &["转让", "许可", "作价入股", "合作开发", "技术服务"];

pub const RULES: Rules = Rules {
    combined_sign_off: false,
    lowest_centre: RegionLevel::County,
    highest_centre: RegionLevel::Province,
};

const fn field(key: &'static str, label_zh: &'static str, required: bool) -> FieldSpec {
    FieldSpec { key, label_zh, required, multi_line: false }
}

pub const ACHIEVEMENT_FIELDS: &[FieldSpec] = &[
    field("holder", "成果持有单位", true),
    field("industry", "产业", true),
    field("maturity", "成熟度", true),
    field("transfer_mode", "转化方式", true),
];

pub const DEMAND_FIELDS: &[FieldSpec] = &[
    field("demander", "需求单位", true),
    field("industry", "产业", true),
    field("budget_fen", "预算（分）", false),
    field("deadline", "需求截止日期", true),
];

pub const BOUNTY_FIELDS: &[FieldSpec] = &[
    field("demander", "发榜单位", true),
    field("industry", "产业", true),
    field("reward_fen", "悬赏金额（分）", true),
    field("deadline", "截止日期", true),
];

pub fn kinds() -> Vec<Kind> {
    vec![
        Kind {
            name: ACHIEVEMENT,
            name_zh: "科技成果",
            rules: RULES,
            fields: ACHIEVEMENT_FIELDS,
            check: check_item,
        },
        Kind {
            name: DEMAND, name_zh: "技术需求", rules: RULES, fields: DEMAND_FIELDS, check: check_item
        },
        Kind {
            name: BOUNTY, name_zh: "悬赏榜单", rules: RULES, fields: BOUNTY_FIELDS, check: check_item
        },
        Kind {
            name: PLATFORM,
            name_zh: "农村双创平台",
            rules: RULES,
            fields: platform::PLATFORM_FIELDS,
            check: check_platform,
        },
    ]
}

pub fn kind(name: &str) -> Option<Kind> {
    kinds().into_iter().find(|k| k.name == name)
}

/// An amount in fen: digits only, positive, at most [`REWARD_FEN_MAX`].
pub fn parse_fen(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.is_empty() || s.len() > 12 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let fen: i64 = s.parse().ok()?;
    (fen > 0 && fen <= REWARD_FEN_MAX).then_some(fen)
}

/// The kinds' own checks: the industry is one of the 10+3, maturity and transfer mode from their
/// lists, amounts in fen, the deadline a date at most [`DEADLINE_DAYS_MAX`] days after drafting
/// and not before it; only centres own them (a village station does not draft these).
pub fn check_item(item: &ItemDoc) -> Vec<String> {
    let mut problems = Vec::new();
    let get = |k: &str| item.fields.get(k).map_or("", |v| v.trim());
    if RegionLevel::of(&item.centre).is_none_or(|l| l > RegionLevel::County) {
        problems.push("成果转化信息须由运管中心登记".into());
    }
    let industry = get("industry");
    if !industry.is_empty() && Industry::from_code(industry).is_none() {
        problems.push(format!("产业“{industry}”不是 10+3 产业之一"));
    }
    let maturity = get("maturity");
    if !maturity.is_empty() && !MATURITIES.contains(&maturity) {
        problems.push(format!("成熟度须为：{}", MATURITIES.join("、")));
    }
    let mode = get("transfer_mode");
    if !mode.is_empty() && !TRANSFER_MODES.contains(&mode) {
        problems.push(format!("转化方式须为：{}", TRANSFER_MODES.join("、")));
    }
    for (key, label) in [("budget_fen", "预算"), ("reward_fen", "悬赏金额")] {
        let v = get(key);
        if !v.is_empty() && parse_fen(v).is_none() {
            problems.push(format!("{label}须为大于 0 的金额"));
        }
    }
    let deadline = get("deadline");
    if !deadline.is_empty() {
        match holidays::parse_day(deadline) {
            None => problems.push(format!("日期“{deadline}”无效（格式 2026-12-07）")),
            Some(day) => {
                let drafted = holidays::local_day(item.created_at_ms);
                if day < drafted {
                    problems.push("截止日期不能早于登记日期".into());
                } else if day - drafted > DEADLINE_DAYS_MAX {
                    problems.push(format!("截止日期不能晚于登记后 {DEADLINE_DAYS_MAX} 天"));
                }
            }
        }
    }
    problems
}

/// A platform's checks: a centre registers it (as for the other kinds), then its own fields.
fn check_platform(item: &ItemDoc) -> Vec<String> {
    let mut problems = check_item(item);
    problems.extend(platform::check_item(item));
    problems
}

/// A published entry of this module as lists read it.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub id: String,
    pub kind: String,
    pub title: String,
    pub industry: String,
    /// The holder (achievement) or the demanding unit.
    pub party: String,
    pub maturity: String,
    pub transfer_mode: String,
    /// The reward (bounty) or budget (demand).
    pub amount_fen: Option<i64>,
    pub deadline: Option<i64>,
    pub centre: String,
    pub published_at_ms: i64,
}

impl Entry {
    pub fn of(p: &PublishedDoc) -> Option<Entry> {
        // Platforms are not supply or demand: the map (`platform`) lists them.
        if !p.kind.starts_with(PREFIX) || p.kind == PLATFORM || kind(&p.kind).is_none() {
            return None;
        }
        let get = |k: &str| {
            p.fields.iter().find(|f| f.key == k).map(|f| f.value.trim().to_string()).unwrap_or_default()
        };
        let party = if p.kind == ACHIEVEMENT { get("holder") } else { get("demander") };
        let amount = if p.kind == BOUNTY { get("reward_fen") } else { get("budget_fen") };
        Some(Entry {
            id: p.id.clone(),
            kind: p.kind.clone(),
            title: p.title.clone(),
            industry: get("industry"),
            party,
            maturity: get("maturity"),
            transfer_mode: get("transfer_mode"),
            amount_fen: parse_fen(&amount),
            deadline: holidays::parse_day(&get("deadline")),
            centre: p.centre.clone(),
            published_at_ms: p.published_at_ms,
        })
    }

    pub fn kind_zh(&self) -> &'static str {
        match self.kind.as_str() {
            ACHIEVEMENT => "科技成果",
            DEMAND => "技术需求",
            _ => "悬赏榜单",
        }
    }

    /// A demand or bounty past its deadline (on the showing node's clock).
    pub fn is_expired(&self, now_ms: i64) -> bool {
        self.deadline.is_some_and(|d| yizhan_core::claim::past(d, now_ms))
    }
}

/// What a list shows (the query string of the list pages).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Filter {
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub industry: String,
    #[serde(default)]
    pub region: String,
    /// Non-empty: show expired demands and bounties too.
    #[serde(default)]
    pub expired: String,
}

impl Filter {
    pub fn matches(&self, e: &Entry, now_ms: i64) -> bool {
        let region_ok = self.region.trim().is_empty()
            || matches!(
                (RegionCode::parse(self.region.trim()), RegionCode::parse(&e.centre)),
                (Ok(r), Ok(c)) if r.contains(&c)
            );
        (self.kind.is_empty() || e.kind == self.kind)
            && (self.industry.is_empty() || e.industry == self.industry)
            && region_ok
            && (!self.expired.is_empty() || e.kind == BOUNTY || !e.is_expired(now_ms))
    }
}

/// The entries among published documents that pass `filter`, newest first. (Bounties past their
/// deadline stay listed: the board shows them as 已截止, 已揭榜 or 已完成.)
pub fn entries(docs: &[PublishedDoc], filter: &Filter, now_ms: i64) -> Vec<Entry> {
    let mut out: Vec<Entry> = docs
        .iter()
        .filter(|p| !p.is_withdrawn())
        .filter_map(Entry::of)
        .filter(|e| filter.matches(e, now_ms))
        .collect();
    out.sort_by(|a, b| b.published_at_ms.cmp(&a.published_at_ms).then_with(|| a.id.cmp(&b.id)));
    out
}

#[cfg(test)]
mod tests;
