//! Chinese formatting for every page: times on the wall clock of Sichuan (UTC+8, no daylight
//! saving), region names, the 10+3 industries, money in fen shown in yuan, spans of time.

use chrono::{FixedOffset, TimeZone};
use yizhan_core::{Industry, regions};

/// One minute in milliseconds.
const MINUTE_MS: i64 = 60_000;

fn cst(ms: i64, format: &str) -> Option<String> {
    let tz = FixedOffset::east_opt(8 * 3600)?;
    tz.timestamp_millis_opt(ms).single().map(|t| t.format(format).to_string())
}

/// "12-08 09:30" (UTC+8), for lists and timelines; "" when out of range.
pub fn time_short(ms: i64) -> String {
    cst(ms, "%m-%d %H:%M").unwrap_or_default()
}

/// "2026-12-08" (UTC+8); "" when out of range.
pub fn date(ms: i64) -> String {
    cst(ms, "%Y-%m-%d").unwrap_or_default()
}

/// "12-08 09:30:05" (UTC+8), for sync times.
pub fn time_seconds(ms: i64) -> String {
    cst(ms, "%m-%d %H:%M:%S").unwrap_or_default()
}

/// "2026-12-08 09:30" (UTC+8), with the year; "-" when out of range.
pub fn time_full(ms: i64) -> String {
    cst(ms, "%Y-%m-%d %H:%M").unwrap_or_else(|| "-".into())
}

/// "20261208-0930" (UTC+8), for names of exported files.
pub fn file_stamp(ms: i64) -> String {
    cst(ms, "%Y%m%d-%H%M").unwrap_or_default()
}

/// A deadline as the wall clock shows it in Sichuan (UTC+8): "12月8日 09:30".
pub fn deadline(ms: i64) -> String {
    cst(ms, "%-m月%-d日 %H:%M").unwrap_or_default()
}

/// A span of time: "20 分钟", "2 小时 5 分", "3 天 4 小时" (the sign is dropped).
pub fn span(ms: i64) -> String {
    let m = ms.abs() / MINUTE_MS;
    if m >= 24 * 60 {
        format!("{} 天 {} 小时", m / (24 * 60), (m % (24 * 60)) / 60)
    } else if m >= 60 {
        format!("{} 小时 {} 分", m / 60, m % 60)
    } else {
        format!("{m} 分钟")
    }
}

/// A limit as set: "3 天", "1 小时", "90 分钟".
pub fn limit(ms: i64) -> String {
    if ms % (24 * 60 * MINUTE_MS) == 0 {
        format!("{} 天", ms / (24 * 60 * MINUTE_MS))
    } else if ms % (60 * MINUTE_MS) == 0 {
        format!("{} 小时", ms / (60 * MINUTE_MS))
    } else {
        format!("{} 分钟", ms / MINUTE_MS)
    }
}

/// A region by its path from the city down ("成都市 蒲江县"), the province by its name, an
/// unknown code as itself.
pub fn region(code: &str) -> String {
    let r = regions();
    match r.path_name(code) {
        p if p.is_empty() => r.get(code).map(|x| x.name.clone()).unwrap_or_else(|| code.to_string()),
        p => p,
    }
}

/// The industry's name ("川茶"), or `unknown` for a code that is none of the 10+3.
pub fn industry_or(code: &str, unknown: &'static str) -> &'static str {
    Industry::from_code(code).map(Industry::name_zh).unwrap_or(unknown)
}

/// The industry's name ("川茶"), "" for an unknown code.
pub fn industry(code: &str) -> &'static str {
    industry_or(code, "")
}

/// Money in fen as yuan: 1234 → "12.34".
pub fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let f = fen.unsigned_abs();
    format!("{sign}{}.{:02}", f / 100, f % 100)
}

/// Money in fen for reading: 1234 → "¥12.34 元".
pub fn money(fen: i64) -> String {
    format!("¥{} 元", yuan(fen))
}

/// Parses a yuan amount as typed ("12.5", "35.50") into fen; `None` when it is not one.
pub fn yuan_to_fen(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.is_empty() {
        return Some(0);
    }
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if int.is_empty()
        || !int.bytes().all(|b| b.is_ascii_digit())
        || frac.len() > 2
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let int: i64 = int.parse().ok()?;
    let frac: i64 = if frac.is_empty() { 0 } else { format!("{frac:0<2}").parse().ok()? };
    int.checked_mul(100)?.checked_add(frac)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_shown_in_utc_plus_8() {
        // 2026-01-31 16:05 UTC is 2026-02-01 00:05 in Sichuan.
        let ms = 1_769_875_500_000;
        assert_eq!(time_full(ms), "2026-02-01 00:05");
        assert_eq!(time_short(ms), "02-01 00:05");
        assert_eq!(deadline(ms), "2月1日 00:05");
    }

    #[test]
    fn money_and_spans() {
        assert_eq!(money(1234), "¥12.34 元");
        assert_eq!(yuan(5), "0.05");
        assert_eq!(yuan_to_fen("35.5"), Some(3550));
        assert_eq!(yuan_to_fen("1.234"), None);
        assert_eq!(span(125 * MINUTE_MS), "2 小时 5 分");
        assert_eq!(limit(24 * 60 * MINUTE_MS), "1 天");
    }

    #[test]
    fn regions_and_industries_by_name() {
        assert_eq!(region("51"), "四川省");
        assert!(region("510131").contains("蒲江县"));
        assert_eq!(industry("nonsense"), "");
    }
}
