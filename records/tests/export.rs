#![allow(clippy::unwrap_used)]
//! Exporting service records: the XLSX read back with calamine, the CSV read back with the
//! csv crate.

use std::io::{Cursor, Read};

use calamine::{Data, Reader, Xlsx};
use yizhan_records::{EXPORT_HEADER, EXPORT_ROWS_MAX, ExportError, ServiceRecord, export_csv, export_xlsx};

/// 2025-03-01 14:05 in Beijing (06:05 UTC).
const CREATED_MS: i64 = 1_740_809_100_000;

fn answered() -> ServiceRecord {
    ServiceRecord {
        case_id: "case-0001".into(),
        created_at_ms: CREATED_MS,
        region_code: "510104017123".into(),
        village_name: "锦官村".into(),
        industry: "fruit".into(),
        subject: "柑橘".into(),
        farmer_name: "李大爷".into(),
        phone: "138****5678".into(),
        officer: "王信息员".into(),
        status: "followed_up".into(),
        expert_name: "张专家".into(),
        centre: "5101".into(),
        triage_minutes: Some(42),
        response_minutes: Some(1500),
        rating: Some(5),
        followup_valid: Some(true),
        followup_category: "病虫害防治".into(),
        travel_cost_fen: 12_350,
        breaches: 1,
    }
}

fn open() -> ServiceRecord {
    ServiceRecord {
        case_id: "case-0002".into(),
        created_at_ms: CREATED_MS + 60_000,
        region_code: "510104017".into(),
        village_name: String::new(),
        industry: "pig".into(),
        // Everything a CSV must escape or guard.
        subject: "=HYPERLINK(\"http://x\",\"点\")".into(),
        farmer_name: "+1".into(),
        phone: "-2+3".into(),
        officer: "@SUM(A1)".into(),
        status: "awaiting_triage".into(),
        expert_name: "a,b".into(),
        centre: "510104".into(),
        followup_category: "第一行\n第二行 \"引号\"".into(),
        ..ServiceRecord::default()
    }
}

#[test]
fn xlsx_reads_back_with_chinese_header_and_values() {
    let bytes = export_xlsx(&[answered(), open()]).unwrap();
    let mut wb: Xlsx<_> = Xlsx::new(Cursor::new(bytes.clone())).unwrap();
    assert_eq!(wb.sheet_names(), ["服务台账"]);
    let range = wb.worksheet_range("服务台账").unwrap();
    assert_eq!(range.get_size(), (3, EXPORT_HEADER.len()));
    let header: Vec<String> =
        (0..EXPORT_HEADER.len()).map(|c| range.get((0, c)).unwrap().to_string()).collect();
    assert_eq!(header, EXPORT_HEADER);
    assert_eq!(header[1], "登记时间");
    assert_eq!(header[17], "差旅费(元)");

    let cell = |r: usize, c: usize| range.get((r, c)).unwrap().clone();
    let text = |r: usize, c: usize| cell(r, c).to_string();
    assert_eq!(text(1, 0), "case-0001");
    match cell(1, 1) {
        // 2025-03-01 is Excel day 45717; 14:05 is 845 minutes into it.
        Data::DateTime(dt) => {
            assert!((dt.as_f64() - (45_717.0 + 845.0 / 1440.0)).abs() < 1e-6, "{}", dt.as_f64())
        }
        other => panic!("time cell is {other:?}"),
    }
    assert_eq!(text(1, 2), "成都市 锦江区 锦官驿街道");
    assert_eq!(text(1, 3), "锦官村");
    assert_eq!(text(1, 4), "川果");
    assert_eq!(text(1, 7), "138****5678");
    assert_eq!(text(1, 9), "已回访");
    assert_eq!(text(1, 11), "成都市");
    assert_eq!(cell(1, 12), Data::Float(42.0));
    assert_eq!(cell(1, 13), Data::Float(1500.0));
    assert_eq!(cell(1, 14), Data::Float(5.0));
    assert_eq!(text(1, 15), "是");
    assert_eq!(text(1, 16), "病虫害防治");
    assert_eq!(cell(1, 17), Data::Float(123.5));
    assert_eq!(cell(1, 18), Data::Float(1.0));

    // Text is written as text: no formula, no apostrophe.
    assert_eq!(text(2, 5), "=HYPERLINK(\"http://x\",\"点\")");
    assert_eq!(text(2, 9), "待分诊");
    assert_eq!(text(2, 11), "成都市 锦江区");
    assert_eq!(cell(2, 3), Data::Empty);
    assert_eq!(cell(2, 12), Data::Empty);
    assert_eq!(cell(2, 15), Data::Empty);
    assert_eq!(cell(2, 17), Data::Float(0.0));
    assert!(wb.worksheet_formula("服务台账").unwrap().used_cells().next().is_none(), "no formulas");

    // The header is frozen and filtered; money has two decimals, times a date format.
    let part = |name: &str| {
        let mut zip = zip::ZipArchive::new(Cursor::new(bytes.clone())).unwrap();
        let mut s = String::new();
        zip.by_name(name).unwrap().read_to_string(&mut s).unwrap();
        s
    };
    let sheet = part("xl/worksheets/sheet1.xml");
    assert!(sheet.contains(r#"ySplit="1""#) && sheet.contains(r#"state="frozen""#), "{sheet}");
    assert!(sheet.contains("<autoFilter"), "{sheet}");
    assert!(sheet.contains("<cols>"), "column widths: {sheet}");
    let styles = part("xl/styles.xml");
    assert!(styles.contains(r##"formatCode="#,##0.00""##), "{styles}");
    assert!(styles.contains(r#"formatCode="yyyy-mm-dd hh:mm""#), "{styles}");
}

#[test]
fn csv_has_bom_quoting_and_injection_guard() {
    let bytes = export_csv(&[answered(), open()]);
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "UTF-8 BOM");
    let text = std::str::from_utf8(&bytes[3..]).unwrap();
    assert!(text.starts_with(&format!("{}\r\n", EXPORT_HEADER.join(","))));

    let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(&bytes[3..]);
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_string).collect();
    assert_eq!(header, EXPORT_HEADER);
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2);
    let first: Vec<&str> = rows[0].iter().collect();
    assert_eq!(
        first,
        [
            "case-0001",
            "2025-03-01 14:05",
            "成都市 锦江区 锦官驿街道",
            "锦官村",
            "川果",
            "柑橘",
            "李大爷",
            "138****5678",
            "王信息员",
            "已回访",
            "张专家",
            "成都市",
            "42",
            "1500",
            "5",
            "是",
            "病虫害防治",
            "123.50",
            "1",
        ]
    );
    let second: Vec<&str> = rows[1].iter().collect();
    assert_eq!(second[1], "2025-03-01 14:06");
    assert_eq!(second[3], "");
    assert_eq!(second[5], "'=HYPERLINK(\"http://x\",\"点\")");
    assert_eq!(second[6], "'+1");
    assert_eq!(second[7], "'-2+3");
    assert_eq!(second[8], "'@SUM(A1)");
    assert_eq!(second[10], "a,b");
    assert_eq!(second[12..16], ["", "", "", ""]);
    assert_eq!(second[16], "第一行\n第二行 \"引号\"");
    assert_eq!(second[17], "0.00");
    // The raw text quotes exactly what needs it.
    assert!(text.contains(",\"a,b\","));
    assert!(text.contains("\"第一行\n第二行 \"\"引号\"\"\""));
    assert!(text.contains(",\"'=HYPERLINK(\"\"http://x\"\",\"\"点\"\")\","));
}

#[test]
fn empty_exports_have_the_header_and_large_ones_are_refused() {
    let csv = export_csv(&[]);
    assert_eq!(csv, format!("\u{feff}{}\r\n", EXPORT_HEADER.join(",")).into_bytes());
    let xlsx = export_xlsx(&[]).unwrap();
    let mut wb: Xlsx<_> = Xlsx::new(Cursor::new(xlsx)).unwrap();
    assert_eq!(wb.worksheet_range("服务台账").unwrap().get_size(), (1, EXPORT_HEADER.len()));

    let too_many = vec![ServiceRecord::default(); EXPORT_ROWS_MAX + 1];
    let err = export_xlsx(&too_many).unwrap_err();
    assert!(matches!(err, ExportError::TooManyRows { max: EXPORT_ROWS_MAX }));
    assert!(err.message_zh().contains("最多导出 200000 条"));
}

#[test]
fn odd_values_are_written_not_refused() {
    let odd = ServiceRecord {
        case_id: "x".repeat(40_000),
        created_at_ms: i64::MIN,
        region_code: "99".into(),
        industry: "coffee".into(),
        status: "lost".into(),
        subject: "控制字符\u{1}\u{7}".into(),
        travel_cost_fen: -5,
        ..ServiceRecord::default()
    };
    let bytes = export_xlsx(std::slice::from_ref(&odd)).unwrap();
    let mut wb: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).unwrap();
    let range = wb.worksheet_range("服务台账").unwrap();
    let text = |c: usize| range.get((1, c)).unwrap().to_string();
    assert_eq!(text(0).len(), yizhan_records::XLSX_TEXT_CHARS_MAX, "cut to what Excel holds");
    assert!(text(1).contains('-'), "a time Excel cannot show is written as text: {}", text(1));
    assert_eq!((text(2).as_str(), text(4).as_str(), text(9).as_str()), ("99", "coffee", "lost"));
    assert_eq!(text(5), "控制字符\u{1}\u{7}");
    assert_eq!(range.get((1, 17)), Some(&Data::Float(-0.05)));

    let csv = String::from_utf8(export_csv(&[odd])).unwrap();
    assert!(csv.contains(",-0.05,"), "{}", &csv[csv.len() - 60..]);
}
