//! Exporting service records (服务台账) as CSV or XLSX, with Chinese headers and values as
//! people read them: times in UTC+8, regions and industries by name, statuses in Chinese,
//! money in yuan.

use rust_xlsxwriter::{Color, Format, FormatBorder, Workbook, XlsxError};
use yizhan_core::{Industry, Status};

use crate::region_path::region_label;

/// Rows in one XLSX export (Excel itself stops at 1,048,576; memory and time matter first).
pub const EXPORT_ROWS_MAX: usize = 200_000;
/// Excel refuses longer text in a cell; longer text is cut to this many characters.
pub const XLSX_TEXT_CHARS_MAX: usize = 32_000;

/// One case as a line of the service record, assembled by the caller from the case, its
/// derived state, the people directory and the service clocks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceRecord {
    pub case_id: String,
    pub created_at_ms: i64,
    /// The case's region code (village or town); shown as its name path.
    pub region_code: String,
    pub village_name: String,
    /// Industry code; shown by its Chinese name.
    pub industry: String,
    pub subject: String,
    pub farmer_name: String,
    /// Written as given: the caller decides whether it is masked.
    pub phone: String,
    /// The officer's name (or id, as the caller chooses).
    pub officer: String,
    /// Status code ([`Status::code`]); shown by its Chinese name.
    pub status: String,
    pub expert_name: String,
    /// Region code of the centre that handles the case; shown by name.
    pub centre: String,
    pub triage_minutes: Option<i64>,
    pub response_minutes: Option<i64>,
    pub rating: Option<i64>,
    pub followup_valid: Option<bool>,
    pub followup_category: String,
    pub travel_cost_fen: i64,
    /// Service clocks that ran out on this case.
    pub breaches: i64,
}

/// The header of both exports, in column order.
pub const EXPORT_HEADER: [&str; 19] = [
    "案例编号",
    "登记时间",
    "地区",
    "村",
    "产业",
    "问题",
    "农户",
    "电话",
    "信息员",
    "状态",
    "专家",
    "受理中心",
    "分诊用时(分钟)",
    "响应用时(分钟)",
    "评分",
    "回访是否有效",
    "服务类别",
    "差旅费(元)",
    "超时次数",
];

/// Column widths in the XLSX (in Excel's character units).
const WIDTHS: [f64; 19] = [
    24.0, 17.0, 30.0, 12.0, 14.0, 22.0, 10.0, 14.0, 10.0, 16.0, 10.0, 18.0, 14.0, 14.0, 6.0, 12.0, 14.0,
    12.0, 10.0,
];

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("more than {max} rows")]
    TooManyRows { max: usize },
    #[error("writing the workbook failed: {0}")]
    Xlsx(#[from] XlsxError),
}

impl ExportError {
    pub fn message_zh(&self) -> String {
        match self {
            ExportError::TooManyRows { max } => {
                format!("记录太多：每次最多导出 {max} 条，请缩小时间或地区范围")
            }
            ExportError::Xlsx(_) => "生成表格文件失败".into(),
        }
    }
}

/// A value in the export: text to write as it is, or a number.
enum Value {
    Text(String),
    Int(Option<i64>),
    /// Milliseconds since the epoch.
    Time(i64),
    Fen(i64),
}

fn status_name(code: &str) -> String {
    Status::from_code(code).map_or_else(|| code.to_string(), |s| s.name_zh().to_string())
}

fn industry_name(code: &str) -> String {
    Industry::from_code(code).map_or_else(|| code.to_string(), |i| i.name_zh().to_string())
}

fn label_or_empty(code: &str) -> String {
    if code.is_empty() { String::new() } else { region_label(code) }
}

fn values(r: &ServiceRecord) -> [Value; 19] {
    use Value::*;
    [
        Text(r.case_id.clone()),
        Time(r.created_at_ms),
        Text(label_or_empty(&r.region_code)),
        Text(r.village_name.clone()),
        Text(industry_name(&r.industry)),
        Text(r.subject.clone()),
        Text(r.farmer_name.clone()),
        Text(r.phone.clone()),
        Text(r.officer.clone()),
        Text(status_name(&r.status)),
        Text(r.expert_name.clone()),
        Text(label_or_empty(&r.centre)),
        Int(r.triage_minutes),
        Int(r.response_minutes),
        Int(r.rating),
        Text(match r.followup_valid {
            Some(true) => "是".into(),
            Some(false) => "否".into(),
            None => String::new(),
        }),
        Text(r.followup_category.clone()),
        Fen(r.travel_cost_fen),
        Int(Some(r.breaches)),
    ]
}

/// Yuan with two decimals from fen, exactly ("12.50", "-0.05").
fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let abs = fen.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// A text cell that a spreadsheet would read as a formula (`=`, `+`, `-`, `@`, or a leading
/// tab or carriage return) gets a leading apostrophe, so it stays text (CSV injection).
fn guard(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{text}") } else { text.to_string() }
}

fn push_csv_field(out: &mut Vec<u8>, field: &str) {
    if field.contains([',', '"', '\n', '\r']) {
        out.push(b'"');
        out.extend_from_slice(field.replace('"', "\"\"").as_bytes());
        out.push(b'"');
    } else {
        out.extend_from_slice(field.as_bytes());
    }
}

fn push_csv_line<'a>(out: &mut Vec<u8>, fields: impl IntoIterator<Item = &'a str>) {
    for (i, f) in fields.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        push_csv_field(out, f);
    }
    out.extend_from_slice(b"\r\n");
}

/// The records as CSV: UTF-8 with a BOM (so Excel reads the Chinese right), CRLF line ends,
/// RFC 4180 quoting, text cells guarded against formula injection. Not bounded: the caller
/// bounds the query.
pub fn export_csv(records: &[ServiceRecord]) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + records.len() * 200);
    out.extend_from_slice("\u{feff}".as_bytes());
    push_csv_line(&mut out, EXPORT_HEADER);
    for r in records {
        let cells: Vec<String> = values(r)
            .into_iter()
            .map(|v| match v {
                Value::Text(t) => guard(&t),
                Value::Int(n) => n.map(|n| n.to_string()).unwrap_or_default(),
                Value::Time(ms) => crate::time::format_beijing(ms),
                Value::Fen(f) => yuan(f),
            })
            .collect();
        push_csv_line(&mut out, cells.iter().map(String::as_str));
    }
    out
}

fn cut(text: &str) -> &str {
    match text.char_indices().nth(XLSX_TEXT_CHARS_MAX) {
        Some((at, _)) => &text[..at],
        None => text,
    }
}

/// The records as an XLSX workbook: one sheet "服务台账", a bold frozen header with a filter,
/// column widths, times as Excel date-times (UTC+8), money in yuan with two decimals,
/// durations, ratings and counts as numbers. At most [`EXPORT_ROWS_MAX`] records.
pub fn export_xlsx(records: &[ServiceRecord]) -> Result<Vec<u8>, ExportError> {
    if records.len() > EXPORT_ROWS_MAX {
        return Err(ExportError::TooManyRows { max: EXPORT_ROWS_MAX });
    }
    let mut workbook = Workbook::new();
    let header_format = Format::new()
        .set_bold()
        .set_background_color(Color::RGB(0xDDEBF7))
        .set_border_bottom(FormatBorder::Thin);
    let time_format = Format::new().set_num_format("yyyy-mm-dd hh:mm");
    let money_format = Format::new().set_num_format("#,##0.00");
    let sheet = workbook.add_worksheet();
    sheet.set_name("服务台账")?;
    for (col, (title, width)) in EXPORT_HEADER.iter().zip(WIDTHS).enumerate() {
        let col = col as u16;
        sheet.write_string_with_format(0, col, *title, &header_format)?;
        sheet.set_column_width(col, width)?;
    }
    sheet.set_freeze_panes(1, 0)?;
    sheet.autofilter(0, 0, records.len() as u32, (EXPORT_HEADER.len() - 1) as u16)?;
    for (i, r) in records.iter().enumerate() {
        let row = i as u32 + 1;
        for (col, v) in values(r).into_iter().enumerate() {
            let col = col as u16;
            match v {
                Value::Text(t) if t.is_empty() => {}
                Value::Text(t) => {
                    sheet.write_string(row, col, cut(&t))?;
                }
                Value::Int(None) => {}
                Value::Int(Some(n)) => {
                    sheet.write_number(row, col, n as f64)?;
                }
                Value::Time(ms) => match crate::time::excel_serial_beijing(ms) {
                    Some(serial) => {
                        sheet.write_number_with_format(row, col, serial, &time_format)?;
                    }
                    None => {
                        sheet.write_string(row, col, crate::time::format_beijing(ms))?;
                    }
                },
                Value::Fen(f) => {
                    sheet.write_number_with_format(row, col, f as f64 / 100.0, &money_format)?;
                }
            }
        }
    }
    Ok(workbook.save_to_buffer()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_and_guard() {
        assert_eq!(yuan(0), "0.00");
        assert_eq!(yuan(1250), "12.50");
        assert_eq!(yuan(5), "0.05");
        assert_eq!(yuan(-5), "-0.05");
        assert_eq!(yuan(i64::MIN), "-92233720368547758.08");
        assert_eq!(guard("=1+1"), "'=1+1");
        assert_eq!(guard("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(guard("-2+3"), "'-2+3");
        assert_eq!(guard("+86 138"), "'+86 138");
        assert_eq!(guard("\t=1"), "'\t=1");
        assert_eq!(guard("柑橘=黄龙病"), "柑橘=黄龙病");
        assert_eq!(status_name("closed"), "已办结");
        assert_eq!(status_name("weird"), "weird");
        assert_eq!(industry_name("fruit"), "川果");
        assert_eq!(cut(&"字".repeat(XLSX_TEXT_CHARS_MAX + 5)).chars().count(), XLSX_TEXT_CHARS_MAX);
    }
}
