//! 供销对接 (supply and sales): a farmer's produce offered (供应, `supply.offer`) and inputs or
//! services asked for (求购, `supply.demand`), by the village information officer at the kiosk for
//! a farmer, or by a cooperative or enterprise through its county centre. Both are kinds of the
//! one publication pipeline (`yizhan_core::item::Kind`): drafted, checked, reviewed and signed
//! off by two people of the county centre, then published as public documents every node shows.
//!
//! The platform only connects people (DESIGN.md §3): it does not sell, guarantee or take
//! payment. A listing never carries a farmer's phone number (the pipeline's checks refuse
//! personal numbers): its contact is the village station (驿站) that drafted it, or the county
//! centre for a cooperative's or enterprise's listing, and the kiosk shows who to ask.
//!
//! A listing is valid until its end date (`valid_to`, a local date at UTC+8): after it, lists
//! show it as 已过期 and hide it unless asked. Expiry is read against the clock of the node that
//! shows the list (the store's clock), never written into the document.

use yizhan_core::item::{FieldSpec, ItemDoc, Kind};
use yizhan_core::publication::Rules;
use yizhan_core::published::PublishedDoc;
use yizhan_core::{Industry, RegionCode, RegionLevel, holidays};

pub mod pages;

pub const OFFER: &str = "supply.offer";
pub const DEMAND: &str = "supply.demand";
/// The prefix of this module's kinds (`yizhan_web::Module::SupplySales.code()`).
pub const PREFIX: &str = "supply.";

/// A quantity at most (in its unit).
pub const QUANTITY_MAX: f64 = 1e9;
/// A price at most, in fen (one hundred million yuan).
pub const PRICE_FEN_MAX: i64 = 10_000_000_000;
/// A listing's validity spans at most this many days.
pub const VALID_DAYS_MAX: i64 = 366;
/// A unit's name at most, in characters.
pub const UNIT_CHARS_MAX: usize = 10;

/// Offers and requests: reviewed by one person of the county (or a centre above), signed off by
/// another.
pub const RULES: Rules = Rules {
    combined_sign_off: false,
    lowest_centre: RegionLevel::County,
    highest_centre: RegionLevel::Province,
};

const fn field(key: &'static str, label_zh: &'static str, required: bool) -> FieldSpec {
    FieldSpec { key, label_zh, required, multi_line: false }
}

pub const OFFER_FIELDS: &[FieldSpec] = &[
    field("product", "品名", true),
    field("industry", "产业", true),
    field("quantity", "数量", true),
    field("unit", "单位", true),
    field("price_fen", "单价（分）", false),
    field("valid_from", "供货开始日期", true),
    field("valid_to", "供货截止日期", true),
    field("place", "所在地或单位", false),
];

pub const DEMAND_FIELDS: &[FieldSpec] = &[
    field("product", "求购品名或服务", true),
    field("industry", "产业", true),
    field("quantity", "数量", false),
    field("unit", "单位", false),
    field("price_fen", "预算单价（分）", false),
    field("valid_from", "开始日期", false),
    field("valid_to", "需求截止日期", true),
    field("place", "所在地或单位", false),
];

/// The module's kinds, registered by every hub.
pub fn kinds() -> Vec<Kind> {
    vec![
        Kind { name: OFFER, name_zh: "供应", rules: RULES, fields: OFFER_FIELDS, check: check_listing },
        Kind { name: DEMAND, name_zh: "求购", rules: RULES, fields: DEMAND_FIELDS, check: check_listing },
    ]
}

/// The kind named `name`, if it is one of this module's.
pub fn kind(name: &str) -> Option<Kind> {
    kinds().into_iter().find(|k| k.name == name)
}

/// A positive quantity with at most three decimals, at most [`QUANTITY_MAX`].
pub fn parse_quantity(s: &str) -> Option<f64> {
    let s = s.trim();
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || int.len() > 10 || frac.len() > 3 || !digits(int) || !digits(frac) {
        return None;
    }
    let q: f64 = s.parse().ok()?;
    (q > 0.0 && q <= QUANTITY_MAX).then_some(q)
}

/// A price in fen: digits only, positive, at most [`PRICE_FEN_MAX`].
pub fn parse_fen(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.is_empty() || s.len() > 12 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let fen: i64 = s.parse().ok()?;
    (fen > 0 && fen <= PRICE_FEN_MAX).then_some(fen)
}

/// The kind's own automatic checks (beyond required fields and personal numbers): the industry
/// is one of the 10+3, the quantity and price parse, the dates are dates in order and span at
/// most [`VALID_DAYS_MAX`] days. (Where it is from is the item's owner: a station's village, or a
/// centre; a village code is not a field, since twelve digits read as a personal number.)
pub fn check_listing(item: &ItemDoc) -> Vec<String> {
    let mut problems = Vec::new();
    let get = |k: &str| item.fields.get(k).map_or("", |v| v.trim());
    let industry = get("industry");
    if !industry.is_empty() && Industry::from_code(industry).is_none() {
        problems.push(format!("产业“{industry}”不是 10+3 产业之一"));
    }
    let quantity = get("quantity");
    if !quantity.is_empty() && parse_quantity(quantity).is_none() {
        problems.push("数量须为大于 0 的数字（最多三位小数）".into());
    }
    let unit = get("unit");
    if unit.chars().count() > UNIT_CHARS_MAX {
        problems.push(format!("单位不能超过 {UNIT_CHARS_MAX} 字"));
    }
    if !quantity.is_empty() && unit.is_empty() {
        problems.push("填写数量时请填写单位".into());
    }
    let price = get("price_fen");
    if !price.is_empty() && parse_fen(price).is_none() {
        problems.push("单价须为大于 0 的金额".into());
    }
    let from = get("valid_from");
    let to = get("valid_to");
    let from_day = if from.is_empty() { None } else { holidays::parse_day(from) };
    if !from.is_empty() && from_day.is_none() {
        problems.push(format!("日期“{from}”无效（格式 2026-12-07）"));
    }
    let to_day = if to.is_empty() { None } else { holidays::parse_day(to) };
    if !to.is_empty() && to_day.is_none() {
        problems.push(format!("日期“{to}”无效（格式 2026-12-07）"));
    }
    if let (Some(f), Some(t)) = (from_day, to_day) {
        if t < f {
            problems.push("截止日期不能早于开始日期".into());
        } else if t - f > VALID_DAYS_MAX {
            problems.push(format!("有效期不能超过 {VALID_DAYS_MAX} 天"));
        }
    }
    problems
}

/// What an officer fills in for a farmer at the station.
#[derive(Debug, Clone, Default)]
pub struct StationDraft {
    /// [`OFFER`] or [`DEMAND`].
    pub kind: String,
    pub title: String,
    pub body: String,
    pub fields: std::collections::BTreeMap<String, String>,
    pub ip_owner: String,
}

/// A village station's listing, drafted by the signed-in officer `officer` (her person id and
/// name) for a farmer and submitted at once, with the kind's automatic checks run at the
/// station (`node`: its node id, the checks' recorder) so she sees what to fix while the farmer
/// is there, online or not. Owned by the station's `village`; stamped `now_ms` on the station's
/// clock. Errors: the problems, in Chinese; nothing is made then.
pub fn station_draft(
    draft: &StationDraft,
    village: &str,
    officer: (&str, &str),
    node: &str,
    id: &str,
    now_ms: i64,
) -> Result<(ItemDoc, automerge::AutoCommit), String> {
    use yizhan_core::item::{ItemStep, NewItem, automatic_checks};
    use yizhan_core::publication::StepKind;
    if RegionLevel::of(village) != Some(RegionLevel::Village) {
        return Err("只有村级驿站可以为农户登记".into());
    }
    let kind = kind(draft.kind.trim()).ok_or("请选择供应或求购")?;
    let new = NewItem {
        kind: kind.name.into(),
        centre: village.into(),
        title: draft.title.clone(),
        body: draft.body.clone(),
        fields: draft.fields.clone(),
        ip_owner: draft.ip_owner.clone(),
        author: officer.0.into(),
    };
    let (item, mut doc) = ItemDoc::create(&new, id, now_ms).map_err(|e| e.message_zh())?;
    let problems = automatic_checks(&kind, &item);
    if !problems.is_empty() {
        return Err(problems.join("；"));
    }
    let step = |suffix: &str, who: &str, name: &str, role: &str, kind: StepKind| ItemStep {
        id: format!("{id}-{suffix}"),
        at_ms: now_ms,
        actor: who.into(),
        actor_name: name.into(),
        role: role.into(),
        kind: kind.code().into(),
        note: String::new(),
    };
    let system = format!("system:{node}");
    let mut item = item;
    for s in [
        step("submit", officer.0, officer.1, "officer", StepKind::Submit),
        step("checks", &system, "系统", "system", StepKind::ChecksPassed),
    ] {
        item = ItemDoc::append_step(&mut doc, s).map_err(|e| e.message_zh())?;
    }
    Ok((item, doc))
}

/// A published listing as lists read it.
#[derive(Debug, Clone, PartialEq)]
pub struct Listing {
    /// The public document's id.
    pub id: String,
    pub kind: String,
    pub title: String,
    pub product: String,
    pub industry: String,
    pub quantity: String,
    pub unit: String,
    /// `None`: 面议 (to be agreed).
    pub price_fen: Option<i64>,
    pub valid_from: Option<i64>,
    /// The last day it is valid (a local day number), when known.
    pub valid_to: Option<i64>,
    /// Where it is from, as its author named it (a cooperative, a town), or empty.
    pub place: String,
    /// The owning region: a village station's draft is its village's, a cooperative's or an
    /// enterprise's its centre's.
    pub centre: String,
    pub published_at_ms: i64,
}

impl Listing {
    /// The listing in a published document, when it is one of this module's.
    pub fn of(p: &PublishedDoc) -> Option<Listing> {
        if p.kind != OFFER && p.kind != DEMAND {
            return None;
        }
        let get = |k: &str| {
            p.fields.iter().find(|f| f.key == k).map(|f| f.value.trim().to_string()).unwrap_or_default()
        };
        Some(Listing {
            id: p.id.clone(),
            kind: p.kind.clone(),
            title: p.title.clone(),
            product: get("product"),
            industry: get("industry"),
            quantity: get("quantity"),
            unit: get("unit"),
            price_fen: parse_fen(&get("price_fen")),
            valid_from: holidays::parse_day(&get("valid_from")),
            valid_to: holidays::parse_day(&get("valid_to")),
            place: get("place"),
            centre: p.centre.clone(),
            published_at_ms: p.published_at_ms,
        })
    }

    /// Past its end date on the local day of `now_ms` (the showing node's clock).
    pub fn is_expired(&self, now_ms: i64) -> bool {
        self.valid_to.is_some_and(|t| holidays::local_day(now_ms) > t)
    }

    /// The region a listing is from: its village, or its owning centre.
    pub fn region(&self) -> &str {
        &self.centre
    }

    /// Drafted by a village station (else by a centre).
    pub fn from_station(&self) -> bool {
        RegionLevel::of(&self.centre) == Some(RegionLevel::Village)
    }

    /// "¥3.50 元/斤", or 面议.
    pub fn price_zh(&self) -> String {
        match self.price_fen {
            Some(fen) if self.unit.is_empty() => yizhan_web::fmt::money(fen),
            Some(fen) => format!("{}/{}", yizhan_web::fmt::money(fen), self.unit),
            None => "面议".into(),
        }
    }

    /// Who to ask: the village station (the kiosk's officer passes the buyer on to the farmer),
    /// or the owning centre. Never a person's number.
    pub fn contact_zh(&self) -> String {
        if self.from_station() {
            format!("{} 村级驿站信息员", yizhan_web::fmt::region(&self.centre))
        } else {
            format!("{} 运管中心", yizhan_web::fmt::region(&self.centre))
        }
    }

    pub fn kind_zh(&self) -> &'static str {
        if self.kind == OFFER { "供应" } else { "求购" }
    }
}

/// What a list shows: by kind, industry, region; expired ones only when asked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// `supply.offer`, `supply.demand` or empty for both.
    pub kind: String,
    /// An industry code or empty.
    pub industry: String,
    /// A region code (the listing's village or centre lies within it) or empty.
    pub region: String,
    pub show_expired: bool,
}

impl Filter {
    pub fn matches(&self, l: &Listing, now_ms: i64) -> bool {
        (self.kind.is_empty() || l.kind == self.kind)
            && (self.industry.is_empty() || l.industry == self.industry)
            && (self.region.is_empty() || within(l.region(), &self.region))
            && (self.show_expired || !l.is_expired(now_ms))
    }
}

/// Whether `code` lies within `region` (both parsed as region codes; a bad code matches nothing).
pub fn within(code: &str, region: &str) -> bool {
    match (RegionCode::parse(code), RegionCode::parse(region)) {
        (Ok(c), Ok(r)) => r.contains(&c),
        _ => false,
    }
}

/// The listings among published documents that pass `filter`, newest first.
pub fn listings(docs: &[PublishedDoc], filter: &Filter, now_ms: i64) -> Vec<Listing> {
    let mut out: Vec<Listing> = docs
        .iter()
        .filter(|p| !p.is_withdrawn())
        .filter_map(Listing::of)
        .filter(|l| filter.matches(l, now_ms))
        .collect();
    out.sort_by(|a, b| b.published_at_ms.cmp(&a.published_at_ms).then_with(|| a.id.cmp(&b.id)));
    out
}

#[cfg(test)]
mod tests;
