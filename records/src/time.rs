//! Times as people in Sichuan read them: UTC+8 (China has one time zone and no daylight
//! saving), without a date library.

const DAY_MS: i64 = 86_400_000;
const UTC8_MS: i64 = 8 * 3_600_000;
/// Excel's serial number of 1970-01-01 (its day 0 is 1899-12-30 once past 1900-02-28).
const EXCEL_UNIX_EPOCH: i64 = 25_569;
/// Serial numbers Excel shows as dates: 1900-03-01 to 9999-12-31.
const EXCEL_SERIAL_MIN: i64 = 61;
const EXCEL_SERIAL_MAX: i64 = 2_958_465;

/// (year, month, day) of a day counted from 1970-01-01 (H. Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `2025-03-01 14:05` in UTC+8.
pub(crate) fn format_beijing(ms: i64) -> String {
    let local = ms.saturating_add(UTC8_MS);
    let (days, rem) = (local.div_euclid(DAY_MS), local.rem_euclid(DAY_MS));
    let (y, m, d) = civil_from_days(days);
    let minutes = rem / 60_000;
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}", minutes / 60, minutes % 60)
}

/// The Excel date-time serial number of the moment in UTC+8, if Excel can show it.
pub(crate) fn excel_serial_beijing(ms: i64) -> Option<f64> {
    let local = ms.checked_add(UTC8_MS)?;
    let days = local.div_euclid(DAY_MS) + EXCEL_UNIX_EPOCH;
    if !(EXCEL_SERIAL_MIN..=EXCEL_SERIAL_MAX).contains(&days) {
        return None;
    }
    Some(days as f64 + local.rem_euclid(DAY_MS) as f64 / DAY_MS as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beijing_time() {
        assert_eq!(format_beijing(0), "1970-01-01 08:00");
        // 2024-02-29 16:30 UTC is 2024-03-01 00:30 in Beijing.
        assert_eq!(format_beijing(1_709_224_200_000), "2024-03-01 00:30");
        assert_eq!(format_beijing(1_709_224_259_999), "2024-03-01 00:30");
        assert_eq!(format_beijing(-UTC8_MS - 1), "1969-12-31 23:59");
        assert_eq!(format_beijing(253_402_300_799_000 - UTC8_MS), "9999-12-31 23:59");
        // Never panics at the extremes.
        assert!(!format_beijing(i64::MAX).is_empty());
        assert!(!format_beijing(i64::MIN).is_empty());
    }

    #[test]
    fn excel_serials() {
        // 1970-01-01 08:00 Beijing = serial 25569 + 1/3.
        let s = excel_serial_beijing(0).unwrap_or_default();
        assert!((s - (25_569.0 + 1.0 / 3.0)).abs() < 1e-9);
        // 2024-03-01 00:30 Beijing: serial 45352 (Excel's own value for that date).
        let s = excel_serial_beijing(1_709_224_200_000).unwrap_or_default();
        assert!((s - (45_352.0 + 30.0 / 1440.0)).abs() < 1e-9, "{s}");
        assert_eq!(excel_serial_beijing(i64::MAX), None);
        assert_eq!(excel_serial_beijing(-3_000_000_000_000), None);
    }
}
