//! Bulk upload (批量上传): the XLSX template to download and the reading of a filled-in
//! workbook (or CSV) into records, with row-by-row Chinese errors. The sheet is read by
//! `yizhan-records`' reader (every bound of the people import: file size, unpacked size,
//! columns, cell length, no panic on a damaged file); the columns and rules are the module's.
//! Every row is checked as the pipeline's automatic checks would check it on submission, so a
//! file that passes here becomes drafts that pass their checks.
//!
//! All or nothing: [`parse`] returns either every row as a record or the errors; the hub
//! creates the drafts of a file only when it has no error (`hub::service::publication::
//! create_items`, one transaction).

use std::collections::BTreeMap;

use rust_xlsxwriter::{DataValidation, Format, FormatBorder, Workbook, XlsxError};
use yizhan_core::item::{self, ItemDoc, NewItem};
use yizhan_records::{ImportError, ImportLimits, Resolved, RowError, SheetRow};

use crate::kinds;

/// Records one file may hold at most.
pub const IMPORT_ROWS_MAX: usize = 500;
/// The upload's size at most.
pub const IMPORT_BYTES_MAX: usize = 10 * 1024 * 1024;
/// Errors listed at most (the rest counted).
pub const IMPORT_ERRORS_MAX: usize = 200;

/// One record read from a row, ready to become a draft.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordInput {
    pub kind: String,
    pub title: String,
    pub body: String,
    pub fields: BTreeMap<String, String>,
    pub ip_owner: String,
}

/// What a file held.
#[derive(Debug, Clone, Default)]
pub struct Import {
    /// Each row's number as Excel shows it, and its record.
    pub rows: Vec<(usize, RecordInput)>,
    pub errors: Vec<RowError>,
    pub errors_omitted: usize,
}

/// Column: (header, aliases, what it fills).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    Kind,
    Title,
    Field(&'static str),
    Body,
    IpOwner,
}

const COLUMNS: [(&str, &[&str], Col, bool); 12] = [
    ("类别", &["类型", "kind"], Col::Kind, true),
    ("所属数据库", &["数据库", "database"], Col::Field(kinds::F_DATABASE), true),
    ("标题", &["title"], Col::Title, true),
    ("地区", &["地区代码", "region"], Col::Field(kinds::F_REGION), true),
    ("产业", &["industry"], Col::Field(kinds::F_INDUSTRY), true),
    ("作物或品种", &["作物", "品种", "crops"], Col::Field(kinds::F_CROPS), false),
    ("相关企业", &["企业", "龙头企业", "enterprises"], Col::Field(kinds::F_ENTERPRISES), false),
    ("技术依托单位", &["依托单位", "机构", "institutions"], Col::Field(kinds::F_INSTITUTIONS), false),
    ("来源", &["source"], Col::Field(kinds::F_SOURCE), true),
    ("日期", &["date"], Col::Field(kinds::F_DATE), true),
    ("正文", &["内容", "body"], Col::Body, true),
    ("知识产权归属", &["产权归属", "ip_owner"], Col::IpOwner, true),
];

const EXAMPLE: [&str; 12] = [
    "地方特色产业",
    "产业现状",
    "蒲江县猕猴桃产业现状",
    "成都市/蒲江县",
    "川果",
    "猕猴桃、红心猕猴桃",
    "四川蒲江猕猴桃产业发展有限公司",
    "四川农业大学",
    "蒲江县农业农村局",
    "2026-05-01",
    "蒲江县猕猴桃种植面积约 10 万亩，以红心猕猴桃为主……",
    "蒲江县农业农村局",
];

/// The template: the header and one example row on the first sheet (drop-down lists for kind,
/// database and industry), instructions on a second.
pub fn template_xlsx() -> Vec<u8> {
    // Everything written is constant: a failure is a bug, caught by the tests.
    write_template().unwrap_or_default()
}

fn write_template() -> Result<Vec<u8>, XlsxError> {
    let mut wb = Workbook::new();
    let header = Format::new().set_bold().set_border_bottom(FormatBorder::Thin);
    let text = Format::new().set_num_format("@");
    let sheet = wb.add_worksheet();
    sheet.set_name("产业信息")?;
    for (col, ((title, _, c, required), example)) in COLUMNS.iter().zip(EXAMPLE).enumerate() {
        let col = col as u16;
        sheet.set_column_width(col, if *c == Col::Body { 60.0 } else { 18.0 })?;
        sheet.set_column_format(col, &text)?;
        let title = if *required { format!("{title} *") } else { title.to_string() };
        sheet.write_string_with_format(0, col, &title, &header)?;
        sheet.write_string(1, col, example)?;
    }
    sheet.set_freeze_panes(1, 0)?;
    let kinds_zh: Vec<&str> = kinds::kinds().iter().map(|k| k.name_zh).collect();
    let dbs: Vec<&str> = kinds::DATABASES.iter().map(|(_, zh)| *zh).collect();
    let industries: Vec<&str> = yizhan_core::Industry::ALL.iter().map(|i| i.name_zh()).collect();
    for (col, list) in [(0u16, kinds_zh), (1u16, dbs), (4u16, industries)] {
        let v = DataValidation::new().allow_list_strings(&list)?.ignore_blank(true);
        sheet.add_data_validation(1, col, IMPORT_ROWS_MAX as u32 + 1, col, &v)?;
    }
    let help = wb.add_worksheet();
    help.set_name("填写说明")?;
    help.set_column_width(0, 14)?;
    help.set_column_width(1, 90)?;
    let lines = [
        ("说明", format!("每行一条产业信息，第一行是表头，不要修改；示例行请改写或删除。每个文件最多 {IMPORT_ROWS_MAX} 条。任何一行有误时整个文件都不导入，请按提示改正后重新上传。导入的条目为草稿，照片在条目页面添加，再提交审核。")),
        ("类别", "必填：宏观产业资讯 或 地方特色产业。".into()),
        ("所属数据库", "必填：产业现状、龙头企业、技术依托单位、发展趋势。龙头企业须填“相关企业”，技术依托单位须填“技术依托单位”。".into()),
        ("地区", "必填：行政区划代码（如 510131），或写成“成都市/蒲江县”。地方特色产业不能填全省。".into()),
        ("产业", "必填：“10+3”产业之一，如 川果、川茶。".into()),
        ("作物或品种、相关企业、技术依托单位", "可选，多个用顿号分隔。".into()),
        ("来源、日期", "必填；日期写成 2026-05-01 或 2026-05。".into()),
        ("正文、知识产权归属", "必填；正文中不得出现手机号、身份证号、银行卡号。".into()),
    ];
    for (row, (name, t)) in lines.iter().enumerate() {
        help.write_string_with_format(row as u32, 0, *name, &Format::new().set_bold())?;
        help.write_string_with_format(row as u32, 1, t, &Format::new().set_text_wrap())?;
    }
    wb.save_to_buffer()
}

fn normalise(header: &str) -> String {
    header
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '*' && *c != '＊')
        .collect::<String>()
        .to_lowercase()
}

fn column_of(header: &str) -> Option<usize> {
    let h = normalise(header);
    COLUMNS
        .iter()
        .position(|(name, aliases, _, _)| normalise(name) == h || aliases.iter().any(|a| normalise(a) == h))
}

/// An Excel date serial (days since 1899-12-30) as `YYYY-MM-DD`.
fn excel_date(value: &str) -> Option<String> {
    let serial: i64 = value.parse().ok()?;
    if !(18_000..=80_000).contains(&serial) {
        return None;
    }
    let (y, m, d) = yizhan_core::holidays::civil_from_days(serial - 25_569);
    Some(format!("{y:04}-{m:02}-{d:02}"))
}

/// Reads a workbook (or CSV) of records for the centre `centre` (the uploader's region).
pub fn parse(bytes: &[u8], file_name: &str, centre: &str) -> Result<Import, ImportError> {
    let limits = ImportLimits {
        file_bytes_max: IMPORT_BYTES_MAX,
        rows_max: IMPORT_ROWS_MAX,
        cell_chars_max: item::BODY_CHARS_MAX,
        columns_max: 32,
        errors_max: IMPORT_ERRORS_MAX,
        ..ImportLimits::default()
    };
    let rows = yizhan_records::read_rows(bytes, file_name, &limits)?;
    // The header: the first row among the first few that names the title column.
    let header_at = rows
        .iter()
        .take(yizhan_records::HEADER_SCAN_ROWS)
        .position(|r| r.cells.iter().any(|c| column_of(c) == Some(2)))
        .ok_or(ImportError::Empty)?;
    let header = &rows[header_at];
    let mut map: Vec<Option<usize>> = Vec::new();
    let (mut unknown, mut duplicated) = (Vec::new(), Vec::new());
    for cell in &header.cells {
        let col = column_of(cell);
        if cell.trim().is_empty() {
            map.push(None);
            continue;
        }
        match col {
            None => unknown.push(cell.clone()),
            Some(c) if map.contains(&Some(c)) => duplicated.push(cell.clone()),
            _ => {}
        }
        map.push(col);
    }
    let missing: Vec<String> = COLUMNS
        .iter()
        .enumerate()
        .filter(|(i, c)| c.3 && !map.contains(&Some(*i)))
        .map(|(_, c)| c.0.to_string())
        .collect();
    if !missing.is_empty() || !unknown.is_empty() || !duplicated.is_empty() {
        return Err(ImportError::Columns { missing, unknown, duplicated });
    }
    let data = &rows[header_at + 1..];
    if data.len() > IMPORT_ROWS_MAX {
        return Err(ImportError::TooManyRows { max: IMPORT_ROWS_MAX });
    }
    let mut out = Import::default();
    for row in data {
        let mut errors = Vec::new();
        let record = read_row(row, &map, centre, &mut errors);
        if errors.is_empty() {
            out.rows.push((row.number, record));
        }
        for e in errors {
            if out.errors.len() < IMPORT_ERRORS_MAX {
                out.errors.push(e);
            } else {
                out.errors_omitted += 1;
            }
        }
    }
    if out.rows.is_empty() && out.errors.is_empty() {
        return Err(ImportError::Empty);
    }
    Ok(out)
}

fn read_row(row: &SheetRow, map: &[Option<usize>], centre: &str, errors: &mut Vec<RowError>) -> RecordInput {
    let err = |column: Option<&str>, message_zh: String| RowError {
        row: row.number,
        column: column.map(str::to_string),
        message_zh,
    };
    let mut r = RecordInput::default();
    for (i, cell) in row.cells.iter().enumerate() {
        let Some(Some(col)) = map.get(i) else { continue };
        let (name, _, what, _) = COLUMNS[*col];
        let v = cell.trim();
        match what {
            Col::Kind => match kinds::kinds().into_iter().find(|k| k.name_zh == v || k.name == v) {
                Some(k) => r.kind = k.name.to_string(),
                None if v.is_empty() => {}
                None => errors
                    .push(err(Some(name), format!("类别应为 宏观产业资讯 或 地方特色产业，而不是“{v}”"))),
            },
            Col::Title => r.title = v.to_string(),
            Col::Body => r.body = v.to_string(),
            Col::IpOwner => r.ip_owner = v.to_string(),
            Col::Field(key) if v.is_empty() => {
                let _ = key;
            }
            Col::Field(kinds::F_REGION) => {
                let code = if let Some(code) = kinds::region(v) {
                    Some(code.to_string())
                } else {
                    match yizhan_records::resolve_region(v) {
                        Resolved::One(code) => Some(code),
                        Resolved::Many(_) => {
                            errors.push(err(
                                Some(name),
                                format!("地区“{v}”有多个同名地区，请写出上级，如“成都市/蒲江县”"),
                            ));
                            None
                        }
                        Resolved::None => {
                            errors.push(err(Some(name), format!("无法识别地区“{v}”")));
                            None
                        }
                    }
                };
                if let Some(c) = code {
                    r.fields.insert(kinds::F_REGION.into(), c);
                }
            }
            Col::Field(kinds::F_INDUSTRY) => match kinds::industry(v) {
                Some(i) => drop(r.fields.insert(kinds::F_INDUSTRY.into(), i.code().into())),
                None => errors.push(err(Some(name), format!("产业“{v}”不在“10+3”产业之中"))),
            },
            Col::Field(kinds::F_DATE) => {
                let date = excel_date(v).unwrap_or_else(|| v.replace(['/', '.'], "-"));
                r.fields.insert(kinds::F_DATE.into(), date);
            }
            Col::Field(key) => drop(r.fields.insert(key.into(), v.to_string())),
        }
    }
    if r.kind.is_empty() {
        if !errors.iter().any(|e| e.column.as_deref() == Some("类别")) {
            errors.push(err(Some("类别"), "请填写类别".into()));
        }
        return r;
    }
    // The pipeline's automatic checks, as on submission.
    let Some(kind) = kinds::kind(&r.kind) else { return r };
    let new = NewItem {
        kind: r.kind.clone(),
        centre: centre.to_string(),
        title: r.title.clone(),
        body: r.body.clone(),
        fields: r.fields.clone(),
        ip_owner: r.ip_owner.clone(),
        author: "import".into(),
    };
    match ItemDoc::create(&new, "import-row", 0) {
        Ok((doc, _)) => {
            for problem in item::automatic_checks(&kind, &doc) {
                // Field problems already reported by column are not repeated.
                if !errors.iter().any(|e| problem.contains(&e.message_zh)) {
                    errors.push(err(None, problem));
                }
            }
        }
        Err(e) => errors.push(err(None, e.message_zh())),
    }
    r
}

impl From<RecordInput> for NewItem {
    fn from(r: RecordInput) -> NewItem {
        NewItem {
            kind: r.kind,
            title: r.title,
            body: r.body,
            fields: r.fields,
            ip_owner: r.ip_owner,
            ..NewItem::default()
        }
    }
}
