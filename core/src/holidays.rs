//! China's public holidays and make-up working days (放假调休), for the service clocks.
//!
//! The State Council announces each year's arrangement in November of the year before. The
//! official years known when this build was made are built in (`assets/calendar/`); the
//! province publishes later years (and corrections) as `holiday_calendar` documents, one per
//! year, which flow down to every hub. A published year replaces that year's built-in entries.
//! A year nobody has published counts by the weekly working hours alone (the desk warns).
//!
//! The text format is the one the province types on its desk page, one entry per line:
//! `2026-10-01..2026-10-07 休 国庆节` (a range off work), `2026-10-10 班 国庆节调休` (a make-up
//! working day), `#` comments.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use automerge::AutoCommit;
use autosurgeon::{Hydrate, Reconcile, hydrate, reconcile};

use crate::clock::{DAY_MS, UTC_OFFSET_MS};

pub const DOC_TYPE: &str = "holiday_calendar";
/// Published by the province only, for the whole province.
pub const PROVINCE: &str = "51";
/// Years a calendar may be published for.
pub const YEAR_MIN: i32 = 2000;
pub const YEAR_MAX: i32 = 2100;
/// A year has about 30 days off and 6 make-up days; this bounds a published text.
pub const DAYS_PER_YEAR_MAX: usize = 80;
pub const TEXT_BYTES_MAX: usize = 8 * 1024;
/// A range may not be longer than this (the longest holiday is 9 days).
const RANGE_DAYS_MAX: i64 = 31;

/// What a day is, when the calendar says something about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DayMark {
    /// A public holiday or a day off moved by the arrangement (休).
    Off,
    /// A make-up working day on a weekend (班).
    Work,
}

/// One line of a calendar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Local days since 1970-01-01.
    pub day: i64,
    pub mark: DayMark,
    pub name: String,
}

/// A calendar: for each year it covers, its entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Calendar {
    years: BTreeMap<i32, BTreeMap<i64, (DayMark, String)>>,
}

impl Default for Calendar {
    /// The official years built in.
    fn default() -> Calendar {
        Calendar::official().clone()
    }
}

impl Calendar {
    /// The official arrangement built into this build.
    pub fn official() -> &'static Calendar {
        static OFFICIAL: OnceLock<Calendar> = OnceLock::new();
        OFFICIAL.get_or_init(|| {
            let mut cal = Calendar { years: BTreeMap::new() };
            // Checked by a test: a build with a bad built-in file must not ship.
            if let Ok(entries) = parse(include_str!("../../assets/calendar/cn-holidays.txt")) {
                for e in entries {
                    let year = civil_from_days(e.day).0;
                    cal.years.entry(year).or_default().insert(e.day, (e.mark, e.name));
                }
            }
            cal
        })
    }

    /// An empty calendar: weekly working hours only.
    pub fn none() -> Calendar {
        Calendar { years: BTreeMap::new() }
    }

    /// Replaces `year`'s entries with a published arrangement.
    pub fn set_year(&mut self, year: i32, entries: Vec<Entry>) {
        self.years.insert(year, entries.into_iter().map(|e| (e.day, (e.mark, e.name))).collect());
    }

    /// The years this calendar covers.
    pub fn years(&self) -> BTreeSet<i32> {
        self.years.keys().copied().collect()
    }

    pub fn covers(&self, year: i32) -> bool {
        self.years.contains_key(&year)
    }

    /// What the calendar says of a local day, looking in the years around it (a make-up day
    /// may belong to the neighbouring year's arrangement).
    pub fn mark(&self, day: i64) -> Option<DayMark> {
        let year = civil_from_days(day).0;
        (year - 1..=year + 1).find_map(|y| self.years.get(&y)?.get(&day).map(|(m, _)| *m))
    }

    /// The entries of one year, in order.
    pub fn entries(&self, year: i32) -> Vec<Entry> {
        self.years
            .get(&year)
            .map(|m| {
                m.iter().map(|(d, (mark, name))| Entry { day: *d, mark: *mark, name: name.clone() }).collect()
            })
            .unwrap_or_default()
    }

    /// Whether a local day is worked by a centre whose weekly days are `weekly` (Monday first).
    pub fn is_working_day(&self, day: i64, weekly: &[bool; 7]) -> bool {
        match self.mark(day) {
            Some(DayMark::Off) => false,
            Some(DayMark::Work) => true,
            None => weekly[weekday(day)],
        }
    }
}

/// Monday = 0. 1970-01-01 was a Thursday.
pub fn weekday(day: i64) -> usize {
    (day + 3).rem_euclid(7) as usize
}

/// The local day (UTC+8) of an instant.
pub fn local_day(ms: i64) -> i64 {
    ms.saturating_add(UTC_OFFSET_MS).div_euclid(DAY_MS)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i32, m: u32, d: u32) -> i64 {
    let y = i64::from(y) - i64::from(m <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i32, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y as i32, m, d)
}

/// `2026-10-01` for a day.
pub fn format_day(day: i64) -> String {
    let (y, m, d) = civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Parses `YYYY-MM-DD` into a day.
pub fn parse_day(s: &str) -> Option<i64> {
    let mut it = s.trim().splitn(3, '-');
    let y: i32 = it.next()?.parse().ok()?;
    let m: u32 = it.next()?.parse().ok()?;
    let d: u32 = it.next()?.parse().ok()?;
    if !(YEAR_MIN..=YEAR_MAX).contains(&y) || !(1..=12).contains(&m) || d == 0 {
        return None;
    }
    let day = days_from_civil(y, m, d);
    // Rejects 2026-02-30 and the like: the day must come back as the same date.
    (civil_from_days(day) == (y, m, d)).then_some(day)
}

/// Parses a calendar text; every bad line is reported (Chinese, with its line number) and
/// nothing is returned unless all lines are good.
pub fn parse(text: &str) -> Result<Vec<Entry>, Vec<String>> {
    let mut out: Vec<Entry> = Vec::new();
    let mut errors = Vec::new();
    if text.len() > TEXT_BYTES_MAX {
        return Err(vec![format!("内容过长（最多 {} 字节）", TEXT_BYTES_MAX)]);
    }
    let mut seen: BTreeMap<i64, usize> = BTreeMap::new();
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut parts = line.split_whitespace();
        let (Some(dates), Some(mark)) = (parts.next(), parts.next()) else {
            errors.push(format!("第 {n} 行：应为“日期 休/班 说明”，如 2026-10-01..2026-10-07 休 国庆节"));
            continue;
        };
        let name: String = parts.collect::<Vec<_>>().join(" ");
        if name.chars().any(char::is_control) || name.chars().count() > 40 {
            errors.push(format!("第 {n} 行：说明不能超过 40 字"));
            continue;
        }
        let mark = match mark {
            "休" => DayMark::Off,
            "班" => DayMark::Work,
            other => {
                errors.push(format!("第 {n} 行：“{other}”应为“休”或“班”"));
                continue;
            }
        };
        let (from, to) = match dates.split_once("..") {
            Some((a, b)) => (parse_day(a), parse_day(b)),
            None => (parse_day(dates), parse_day(dates)),
        };
        let (Some(from), Some(to)) = (from, to) else {
            errors.push(format!("第 {n} 行：日期“{dates}”无效（格式 2026-10-01）"));
            continue;
        };
        if to < from || to - from >= RANGE_DAYS_MAX {
            errors.push(format!(
                "第 {n} 行：日期范围“{dates}”无效（止日不早于起日，最长 {RANGE_DAYS_MAX} 天）"
            ));
            continue;
        }
        for day in from..=to {
            if let Some(first) = seen.insert(day, n) {
                errors.push(format!("第 {n} 行：{} 已在第 {first} 行出现", format_day(day)));
                continue;
            }
            out.push(Entry { day, mark, name: name.clone() });
        }
    }
    if out.len() > DAYS_PER_YEAR_MAX * 3 {
        errors.push(format!("条目过多（最多 {} 天）", DAYS_PER_YEAR_MAX * 3));
    }
    if errors.is_empty() { Ok(out) } else { Err(errors) }
}

/// Parses one year's published text: every date lies in that year, or in the last month
/// before it or the first after it (a make-up day for New Year may fall in December).
pub fn parse_year(year: i32, text: &str) -> Result<Vec<Entry>, Vec<String>> {
    if !(YEAR_MIN..=YEAR_MAX).contains(&year) {
        return Err(vec![format!("年份 {year} 无效")]);
    }
    let entries = parse(text)?;
    let lo = days_from_civil(year - 1, 12, 1);
    let hi = days_from_civil(year + 1, 1, 31);
    let errors: Vec<String> = entries
        .iter()
        .filter(|e| e.day < lo || e.day > hi)
        .map(|e| format!("{} 不在 {year} 年的安排之内", format_day(e.day)))
        .collect();
    if !errors.is_empty() {
        return Err(errors);
    }
    if entries.is_empty() {
        return Err(vec![format!("{year} 年的安排是空的")]);
    }
    if entries.len() > DAYS_PER_YEAR_MAX {
        return Err(vec![format!("一年最多 {DAYS_PER_YEAR_MAX} 天")]);
    }
    Ok(entries)
}

/// The text of entries, one line per run of consecutive days with the same mark and name.
pub fn to_text(entries: &[Entry]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < entries.len() {
        let start = &entries[i];
        let mut j = i;
        while j + 1 < entries.len()
            && entries[j + 1].day == entries[j].day + 1
            && entries[j + 1].mark == start.mark
            && entries[j + 1].name == start.name
        {
            j += 1;
        }
        let mark = if start.mark == DayMark::Off { "休" } else { "班" };
        let dates = if j == i {
            format_day(start.day)
        } else {
            format!("{}..{}", format_day(start.day), format_day(entries[j].day))
        };
        out.push_str(&format!("{dates} {mark} {}\n", start.name).replace(" \n", "\n"));
        i = j + 1;
    }
    out
}

/// The province's published arrangement for one year.
#[derive(Debug, Clone, PartialEq, Eq, Reconcile, Hydrate)]
pub struct HolidayDoc {
    pub doc_type: String,
    pub id: String,
    /// Always the province (`51`): the scope the document flows down from.
    pub region_code: String,
    pub year: i64,
    /// The arrangement in the text format above.
    pub text: String,
    /// Who published it (a person id) and when, on the province hub's clock.
    pub published_by: String,
    pub published_ms: i64,
}

impl HolidayDoc {
    pub fn id_for(year: i32) -> String {
        format!("holidays-{year}")
    }

    pub fn to_doc(&self) -> Result<AutoCommit, String> {
        self.validate()?;
        let mut doc = AutoCommit::new();
        reconcile(&mut doc, self).map_err(|e| e.to_string())?;
        Ok(doc)
    }

    pub fn from_doc(doc: &AutoCommit) -> Result<HolidayDoc, String> {
        let h: HolidayDoc = hydrate(doc).map_err(|e| e.to_string())?;
        h.validate()?;
        Ok(h)
    }

    /// Replaces the arrangement in an existing document.
    pub fn update(doc: &mut AutoCommit, next: &HolidayDoc) -> Result<(), String> {
        next.validate()?;
        reconcile(doc, next).map_err(|e| e.to_string())
    }

    pub fn entries(&self) -> Result<Vec<Entry>, String> {
        let year = i32::try_from(self.year).map_err(|_| "year out of range".to_string())?;
        parse_year(year, &self.text).map_err(|e| e.join("; "))
    }

    fn validate(&self) -> Result<(), String> {
        if self.doc_type != DOC_TYPE {
            return Err(format!("doc_type is {:?}", self.doc_type));
        }
        if self.region_code != PROVINCE {
            return Err(format!("a holiday calendar belongs to the province, not {:?}", self.region_code));
        }
        let year = i32::try_from(self.year).map_err(|_| "year out of range".to_string())?;
        if self.id != HolidayDoc::id_for(year) {
            return Err(format!("id {:?} does not match year {year}", self.id));
        }
        self.entries().map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> i64 {
        parse_day(s).unwrap_or_else(|| panic!("{s}"))
    }

    #[test]
    fn dates_round_trip_and_weekdays_are_right() {
        assert_eq!(weekday(0), 3, "1970-01-01 was a Thursday");
        for (s, wd) in
            [("2000-01-01", 5), ("2026-10-01", 3), ("2026-10-10", 5), ("2025-01-26", 6), ("2000-02-29", 1)]
        {
            assert_eq!(format_day(day(s)), s);
            assert_eq!(weekday(day(s)), wd, "{s}");
        }
        for bad in ["2026-02-29", "2026-13-01", "2026-00-10", "2026-1", "x", "1999-12-31", "2026-04-31"] {
            assert_eq!(parse_day(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_built_in_calendar_parses_and_has_the_official_days() {
        parse(include_str!("../../assets/calendar/cn-holidays.txt")).expect("built-in calendar");
        let cal = Calendar::official();
        assert!(cal.covers(2025) && cal.covers(2026));
        assert_eq!(cal.entries(2026).iter().filter(|e| e.mark == DayMark::Off).count(), 33);
        assert_eq!(cal.entries(2026).iter().filter(|e| e.mark == DayMark::Work).count(), 6);
        let weekdays_only = [true, true, true, true, true, false, false];
        // 国庆 2026: Thursday 1 October to Wednesday 7 October off; Saturday 10 October worked.
        assert!(!cal.is_working_day(day("2026-10-01"), &weekdays_only));
        assert!(!cal.is_working_day(day("2026-10-07"), &weekdays_only));
        assert!(cal.is_working_day(day("2026-10-08"), &weekdays_only));
        assert!(cal.is_working_day(day("2026-10-10"), &weekdays_only));
        assert!(!cal.is_working_day(day("2026-10-11"), &weekdays_only));
        // A year not covered: weekly days only.
        assert!(!cal.covers(2027));
        assert!(cal.is_working_day(day("2027-10-01"), &weekdays_only));
    }

    #[test]
    fn bad_lines_are_reported_by_number_and_nothing_is_taken() {
        let text = "2026-10-01..2026-10-07 休 国庆节\n2026-10-10 上 调休\n2026-02-30 休\n\
                    2026-10-05 班 重复\n2026-10-09..2026-10-01 休\nonlyone\n";
        let errors = parse(text).expect_err("bad lines");
        assert_eq!(errors.len(), 5, "{errors:?}");
        assert!(errors[0].starts_with("第 2 行") && errors[0].contains("休"), "{errors:?}");
        assert!(errors[1].starts_with("第 3 行"), "{errors:?}");
        assert!(errors[2].starts_with("第 4 行") && errors[2].contains("第 1 行"), "{errors:?}");
        assert!(errors[3].starts_with("第 5 行"), "{errors:?}");
        assert!(errors[4].starts_with("第 6 行"), "{errors:?}");
    }

    #[test]
    fn a_year_text_must_stay_in_its_year_and_round_trips() {
        let text = "2027-01-01 休 元旦\n2027-10-01..2027-10-07 休 国庆节\n2027-09-26 班 国庆节调休\n";
        let entries = parse_year(2027, text).expect("2027");
        assert_eq!(entries.len(), 9);
        let mut sorted = entries.clone();
        sorted.sort_by_key(|e| e.day);
        assert_eq!(parse_year(2027, &to_text(&sorted)).expect("again").len(), 9);
        assert!(parse_year(2027, "2029-01-01 休 元旦").is_err());
        assert!(parse_year(2027, "2026-12-31 班 元旦调休").is_ok());
        assert!(parse_year(2027, "# nothing\n").is_err());
    }

    #[test]
    fn a_published_year_replaces_the_built_in_one_and_the_document_checks_itself() {
        let mut cal = Calendar::official().clone();
        let entries = parse_year(2026, "2026-10-01..2026-10-08 休 国庆节").expect("2026");
        cal.set_year(2026, entries);
        let weekdays_only = [true, true, true, true, true, false, false];
        assert!(!cal.is_working_day(day("2026-10-08"), &weekdays_only));
        // The make-up day is gone with the replaced year.
        assert!(!cal.is_working_day(day("2026-10-10"), &weekdays_only));

        let good = HolidayDoc {
            doc_type: DOC_TYPE.into(),
            id: HolidayDoc::id_for(2027),
            region_code: PROVINCE.into(),
            year: 2027,
            text: "2027-01-01 休 元旦".into(),
            published_by: "admin".into(),
            published_ms: 0,
        };
        let doc = good.to_doc().expect("doc");
        assert_eq!(HolidayDoc::from_doc(&doc).expect("back"), good);
        for bad in [
            HolidayDoc { region_code: "5101".into(), ..good.clone() },
            HolidayDoc { id: "holidays-2026".into(), ..good.clone() },
            HolidayDoc { text: "2027-02-30 休".into(), ..good.clone() },
        ] {
            assert!(bad.to_doc().is_err(), "{bad:?}");
        }
    }
}
