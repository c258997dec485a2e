//! The module's two kinds on the publication pipeline, 宏观产业资讯 (`industry.news`) and
//! 地方特色产业 (`industry.local`), their structured fields and their automatic checks.
//!
//! The four linked databases (产业现状, 龙头企业, 技术依托单位, 发展趋势) are a field
//! (`database`) of both kinds, not kinds of their own: a record of either kind belongs to one of
//! them, all four share one record shape, one set of pipeline rules and one review queue, a
//! record filed under the wrong database is corrected by an edit rather than by re-creating it
//! as another kind, and the statistics count "industry information items" by the `industry.`
//! prefix whatever the database.

use yizhan_core::item::{FieldSpec, ItemDoc, Kind};
use yizhan_core::publication::Rules;
use yizhan_core::{Industry, RegionCode, RegionLevel, regions};

pub const NEWS: &str = "industry.news";
pub const LOCAL: &str = "industry.local";
/// The module's kinds share this prefix (the statistics count by it).
pub const KIND_PREFIX: &str = "industry.";

/// The four linked databases: (code, Chinese name).
pub const DATABASES: [(&str, &str); 4] =
    [("status", "产业现状"), ("leaders", "龙头企业"), ("support", "技术依托单位"), ("trends", "发展趋势")];

/// Field keys.
pub const F_DATABASE: &str = "database";
pub const F_REGION: &str = "region";
pub const F_INDUSTRY: &str = "industry";
pub const F_CROPS: &str = "crops";
pub const F_ENTERPRISES: &str = "enterprises";
pub const F_INSTITUTIONS: &str = "institutions";
pub const F_SOURCE: &str = "source";
pub const F_DATE: &str = "date";

/// Names listed in one field (crops, enterprises, institutions) at most.
pub const NAMES_PER_FIELD_MAX: usize = 20;

const FIELDS: &[FieldSpec] = &[
    FieldSpec { key: F_DATABASE, label_zh: "所属数据库", required: true, multi_line: false },
    FieldSpec { key: F_REGION, label_zh: "地区", required: true, multi_line: false },
    FieldSpec { key: F_INDUSTRY, label_zh: "产业", required: true, multi_line: false },
    FieldSpec { key: F_CROPS, label_zh: "作物或品种", required: false, multi_line: false },
    FieldSpec { key: F_ENTERPRISES, label_zh: "相关企业", required: false, multi_line: false },
    FieldSpec { key: F_INSTITUTIONS, label_zh: "技术依托单位", required: false, multi_line: false },
    FieldSpec { key: F_SOURCE, label_zh: "来源", required: true, multi_line: false },
    FieldSpec { key: F_DATE, label_zh: "日期", required: true, multi_line: false },
];

/// Reviewed by one person and signed off by another (never the uploader), at a county, city
/// or province centre whose region contains the record's centre.
const RULES: Rules = Rules {
    combined_sign_off: false,
    lowest_centre: RegionLevel::County,
    highest_centre: RegionLevel::Province,
};

pub const NEWS_KIND: Kind =
    Kind { name: NEWS, name_zh: "宏观产业资讯", rules: RULES, fields: FIELDS, check: check_news };
pub const LOCAL_KIND: Kind =
    Kind { name: LOCAL, name_zh: "地方特色产业", rules: RULES, fields: FIELDS, check: check_local };

/// The module's kinds, registered by every hub that serves 产业信息.
pub fn kinds() -> Vec<Kind> {
    vec![NEWS_KIND, LOCAL_KIND]
}

pub fn kind(name: &str) -> Option<Kind> {
    kinds().into_iter().find(|k| k.name == name)
}

/// A database by its code or its Chinese name.
pub fn database(value: &str) -> Option<(&'static str, &'static str)> {
    let v = value.trim();
    DATABASES.into_iter().find(|(code, zh)| *code == v || *zh == v)
}

/// One of the 10+3 industries by its code or its Chinese name (川果, 现代农业种业; 川酒 for
/// 川酒(酿酒原料)).
pub fn industry(value: &str) -> Option<Industry> {
    let v = value.trim();
    Industry::from_code(v).or_else(|| {
        Industry::ALL.into_iter().find(|i| i.name_zh() == v || i.name_zh().split('(').next() == Some(v))
    })
}

/// A calendar date `YYYY-MM-DD` (or a month, `YYYY-MM`), years 1949 to 2100.
pub fn parse_date(value: &str) -> Option<(i32, u32, Option<u32>)> {
    let mut parts = value.trim().split('-');
    let year: i32 = parts.next()?.parse().ok()?;
    let month: u32 = parts.next()?.parse().ok()?;
    let day: Option<u32> = match parts.next() {
        Some(d) => Some(d.parse().ok()?),
        None => None,
    };
    if parts.next().is_some() || !(1949..=2100).contains(&year) || !(1..=12).contains(&month) {
        return None;
    }
    if let Some(d) = day {
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        let days = match month {
            2 if leap => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        if d == 0 || d > days {
            return None;
        }
    }
    Some((year, month, day))
}

/// The names listed in a field (separated by 、，, ; ；/ or spaces).
pub fn names(value: &str) -> Vec<String> {
    value
        .split(|c: char| matches!(c, '、' | '，' | ',' | ';' | '；' | '/' | '／') || c.is_whitespace())
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// The region of a record: a known Sichuan division (province, city, county, town or village
/// code of the regions data), or its name as people write it ("成都市/蒲江县", "雅安市") when
/// that names exactly one division.
pub fn region(value: &str) -> Option<RegionCode> {
    let value = value.trim();
    let code = match RegionCode::parse(value) {
        Ok(code) => code,
        Err(_) if value.chars().any(|c| !c.is_ascii_digit()) => match yizhan_records::resolve_region(value) {
            yizhan_records::Resolved::One(code) => RegionCode::parse(&code).ok()?,
            _ => return None,
        },
        Err(_) => return None,
    };
    // Villages are not in the reference data: their town must be.
    let known = regions().get(code.as_str()).is_some()
        || (code.level() == RegionLevel::Village
            && yizhan_core::region::ancestor_at(code.as_str(), RegionLevel::Town)
                .is_some_and(|t| regions().get(t).is_some()));
    known.then_some(code)
}

fn field<'a>(item: &'a ItemDoc, key: &str) -> &'a str {
    item.fields.get(key).map_or("", |v| v.trim())
}

/// The checks both kinds share: a known database, a valid region code, one of the 10+3
/// industries, a date that parses, lists within bounds; 龙头企业 names its enterprises and
/// 技术依托单位 its institutions.
fn check_common(item: &ItemDoc) -> Vec<String> {
    let mut problems = Vec::new();
    let db = field(item, F_DATABASE);
    let db_code = database(db).map(|(c, _)| c);
    if !db.is_empty() && db_code.is_none() {
        problems.push(format!("所属数据库应为 产业现状、龙头企业、技术依托单位 或 发展趋势，而不是“{db}”"));
    }
    let r = field(item, F_REGION);
    if !r.is_empty() && region(r).is_none() {
        problems.push(format!(
            "地区“{r}”不是有效的四川省行政区划代码或地区名称（同名地区请写出上级，如“成都市/蒲江县”）"
        ));
    }
    let i = field(item, F_INDUSTRY);
    if !i.is_empty() && industry(i).is_none() {
        problems.push(format!("产业“{i}”不在“10+3”产业之中"));
    }
    let d = field(item, F_DATE);
    if !d.is_empty() && parse_date(d).is_none() {
        problems.push(format!("日期“{d}”无法识别，请写成 2026-05-01 或 2026-05"));
    }
    for key in [F_CROPS, F_ENTERPRISES, F_INSTITUTIONS] {
        if names(field(item, key)).len() > NAMES_PER_FIELD_MAX {
            problems.push(format!("“{}”最多列出 {NAMES_PER_FIELD_MAX} 项", NEWS_KIND.label(key)));
        }
    }
    if db_code == Some("leaders") && field(item, F_ENTERPRISES).is_empty() {
        problems.push("龙头企业数据库的条目须填写相关企业".into());
    }
    if db_code == Some("support") && field(item, F_INSTITUTIONS).is_empty() {
        problems.push("技术依托单位数据库的条目须填写技术依托单位".into());
    }
    problems
}

fn check_news(item: &ItemDoc) -> Vec<String> {
    check_common(item)
}

/// A local specialty industry is of a place: a city, county, town or village, not the whole
/// province.
fn check_local(item: &ItemDoc) -> Vec<String> {
    let mut problems = check_common(item);
    if region(field(item, F_REGION)).is_some_and(|r| r.level() == RegionLevel::Province) {
        problems.push("地方特色产业的地区应为市、县、乡镇或村，而不是全省".into());
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_parse() {
        assert_eq!(database("龙头企业"), Some(("leaders", "龙头企业")));
        assert_eq!(database("trends"), Some(("trends", "发展趋势")));
        assert_eq!(database("新闻"), None);
        assert_eq!(industry("川果"), Some(Industry::Fruit));
        assert_eq!(industry("fruit"), Some(Industry::Fruit));
        assert_eq!(industry("川酒"), Some(Industry::LiquorMaterial));
        assert_eq!(industry("苹果"), None);
        assert_eq!(parse_date("2026-02-29"), None);
        assert_eq!(parse_date("2024-02-29"), Some((2024, 2, Some(29))));
        assert_eq!(parse_date("2026-05"), Some((2026, 5, None)));
        assert_eq!(parse_date("2026/05/01"), None);
        assert_eq!(parse_date("2026-13-01"), None);
        assert!(region("510131").is_some());
        assert!(region("5101").is_some());
        assert!(region("519999").is_none(), "a well-formed code that names no county");
        assert!(region("abc").is_none());
        assert_eq!(region("成都市/蒲江县").map(|r| r.to_string()), Some("510131".into()));
        assert!(region("城关镇").is_none(), "names several towns");
        assert_eq!(
            names("四川农业大学、 蒲江县猕猴桃研究所，x"),
            vec!["四川农业大学", "蒲江县猕猴桃研究所", "x"]
        );
    }
}
