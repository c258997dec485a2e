//! Importing people (experts, officers, staff) from a spreadsheet.
//!
//! The header row names the columns (Chinese names or English aliases, in any order); every
//! data row is checked on its own, so one bad row never stops the others: good rows come back
//! as [`NewPerson`]s ready for the store, bad ones as [`RowError`]s that name the row as the
//! user sees it (the header's row is 1), the column and what is wrong, in Chinese. A problem
//! with the file itself (too large, unreadable, a wrong header) is an [`ImportError`].

use std::collections::HashMap;

use yizhan_core::people::{NAME_CHARS_MAX, normalise_phone};
use yizhan_core::{Availability, Industry, NewPerson, PersonError, RegionCode, RegionError, Role};

use crate::grid::{Row, read_rows};
use crate::region_path::{Resolved, region_label, resolve};

/// Bounds of one import.
pub const FILE_BYTES_MAX: usize = 10 * 1024 * 1024;
/// Data rows (the header not counted).
pub const ROWS_MAX: usize = 50_000;
/// Characters in one cell (a full list of specialities fits: 16 of 24 characters).
pub const CELL_CHARS_MAX: usize = 500;
pub const COLUMNS_MAX: usize = 64;
/// What an XLSX may unpack to (its parts decompressed).
pub const UNPACKED_BYTES_MAX: u64 = 100 * 1024 * 1024;
/// Row errors reported; past this they are only counted ([`PeopleImport::errors_omitted`]).
pub const ERRORS_MAX: usize = 1000;
/// The header is looked for among the first rows (a title row may stand above it).
pub const HEADER_SCAN_ROWS: usize = 10;
/// Parts in an XLSX archive (a real workbook has a few dozen).
pub(crate) const XLSX_PARTS_MAX: usize = 1000;

/// The bounds [`parse_people_with`] enforces; [`Default`] gives the constants above.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportLimits {
    pub file_bytes_max: usize,
    pub rows_max: usize,
    pub cell_chars_max: usize,
    pub columns_max: usize,
    pub unpacked_bytes_max: u64,
    pub errors_max: usize,
}

impl Default for ImportLimits {
    fn default() -> Self {
        ImportLimits {
            file_bytes_max: FILE_BYTES_MAX,
            rows_max: ROWS_MAX,
            cell_chars_max: CELL_CHARS_MAX,
            columns_max: COLUMNS_MAX,
            unpacked_bytes_max: UNPACKED_BYTES_MAX,
            errors_max: ERRORS_MAX,
        }
    }
}

/// What a file held: the good rows, and an error for each problem in the others.
#[derive(Debug, Clone, Default)]
pub struct PeopleImport {
    /// Each good row's number as the user sees it (the header's row is 1) and the person,
    /// normalised: `role` and `availability` as codes, `region_code` resolved (also from a
    /// written region name), `industries` as codes, `phone` as digits. Each passed
    /// [`NewPerson::build`].
    pub rows: Vec<(usize, NewPerson)>,
    /// Problems, in row order; a row with an error is not in `rows`. A row may have several.
    pub errors: Vec<RowError>,
    /// Errors found past [`ImportLimits::errors_max`], counted but not listed.
    pub errors_omitted: usize,
}

/// One problem in one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// The row as the user sees it in Excel (the header's row is 1).
    pub row: usize,
    /// The column's header as written in the file; `None` for the row as a whole.
    pub column: Option<String>,
    pub message_zh: String,
}

/// The file cannot be imported at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    #[error("file larger than {max_bytes} bytes")]
    TooLarge { max_bytes: usize },
    #[error("workbook unpacks to more than {max_bytes} bytes")]
    Unpacked { max_bytes: u64 },
    #[error("unsupported format (xlsb, ods, encrypted, or an OLE file that is no workbook)")]
    Unsupported,
    #[error("the sheets span more than {cells_max} cells")]
    Extent { cells_max: u64 },
    #[error("text is neither UTF-8, UTF-16 with BOM nor GB18030")]
    Encoding,
    #[error("damaged file: {0}")]
    Damaged(String),
    #[error("workbook has no worksheet")]
    NoSheet,
    #[error("no header row")]
    Empty,
    #[error("more than {max} rows")]
    TooManyRows { max: usize },
    #[error("more than {max} columns")]
    TooManyColumns { max: usize },
    #[error("header: missing {missing:?}, unknown {unknown:?}, duplicated {duplicated:?}")]
    Columns { missing: Vec<String>, unknown: Vec<String>, duplicated: Vec<String> },
}

impl ImportError {
    pub fn message_zh(&self) -> String {
        match self {
            ImportError::TooLarge { max_bytes } => {
                format!("文件太大：最多 {} MB，请分成几个文件导入", max_bytes / (1024 * 1024))
            }
            ImportError::Unpacked { max_bytes } => {
                format!("表格内容太多（解压后超过 {} MB），请分成几个文件导入", max_bytes / (1024 * 1024))
            }
            ImportError::Unsupported => {
                "不支持这种文件（如 .xlsb、.ods 或加密的文件）：请在 Excel 或 WPS 中“另存为”\
                                         .xlsx 或 CSV 后再导入"
                    .into()
            }
            ImportError::Encoding => "无法识别文件的编码：请保存为 .xlsx，或 UTF-8、GBK 编码的 CSV".into(),
            ImportError::Damaged(_) => "文件已损坏，或不是有效的 .xlsx / .xls / CSV 文件".into(),
            ImportError::Extent { cells_max } => format!(
                "表格的范围太大（超过 {cells_max} 个单元格）：可能有很远的格子写了内容，请删除后再导入，或另存为 .xlsx"
            ),
            ImportError::NoSheet => "工作簿中没有工作表".into(),
            ImportError::Empty => format!("文件中没有内容：第一行应为表头（{}）", expected_columns()),
            ImportError::TooManyRows { max } => {
                format!("行数太多：每次最多导入 {max} 行，请分成几个文件导入")
            }
            ImportError::TooManyColumns { max } => format!("列数太多：最多 {max} 列"),
            ImportError::Columns { missing, unknown, duplicated } => {
                let mut parts = Vec::new();
                if !missing.is_empty() {
                    parts.push(format!("缺少必填列：{}", missing.join("、")));
                }
                if !unknown.is_empty() {
                    parts.push(format!("无法识别的列：{}", unknown.join("、")));
                }
                if !duplicated.is_empty() {
                    parts.push(format!("重复的列：{}", duplicated.join("、")));
                }
                format!("表头有误（{}）。表头应为：{}", parts.join("；"), expected_columns())
            }
        }
    }
}

/// The columns a file may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Field {
    Id,
    Name,
    Role,
    RegionCode,
    Region,
    Industries,
    Specialities,
    Availability,
    Title,
    Phone,
}

impl Field {
    const ALL: [Field; 10] = [
        Field::Id,
        Field::Name,
        Field::Role,
        Field::RegionCode,
        Field::Region,
        Field::Industries,
        Field::Specialities,
        Field::Availability,
        Field::Title,
        Field::Phone,
    ];

    /// The name in the template (the first alias).
    fn name_zh(self) -> &'static str {
        self.aliases()[0]
    }

    /// Header names, compared after [`normalise_header`].
    fn aliases(self) -> &'static [&'static str] {
        match self {
            Field::Id => &["编号", "工号", "账号", "id"],
            Field::Name => &["姓名", "name"],
            Field::Role => &["角色", "role"],
            Field::RegionCode => &["地区代码", "区划代码", "regioncode"],
            Field::Region => &["地区", "所在地区", "region"],
            Field::Industries => &["产业", "industries", "industry"],
            Field::Specialities => {
                &["专长", "特长", "specialities", "speciality", "specialties", "specialty"]
            }
            Field::Availability => &["状态", "availability", "status"],
            Field::Title => &["职称", "title"],
            Field::Phone => &["手机号", "手机", "手机号码", "电话", "phone", "mobile"],
        }
    }
}

/// The columns of the template, in order.
pub(crate) const TEMPLATE_COLUMNS: [&str; 10] =
    ["编号", "姓名", "角色", "地区代码", "地区", "产业", "专长", "状态", "职称", "手机号"];

fn expected_columns() -> String {
    "编号、姓名、角色、地区代码（或 地区）为必填；产业、专长、状态、职称、手机号可选".into()
}

/// Header text without decorations: case, spaces, `_`/`-`, a "*" or "(必填)" marking.
fn normalise_header(h: &str) -> String {
    let mut s: String = h
        .trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}')
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '_' && *c != '-')
        .collect::<String>()
        .to_lowercase();
    for mark in ["(必填)", "（必填）", "(选填)", "（选填）", "(可选)", "（可选）", "*", "＊"]
    {
        s = s.replace(mark, "");
    }
    s
}

fn field_of(header: &str) -> Option<Field> {
    let h = normalise_header(header);
    Field::ALL.into_iter().find(|f| f.aliases().contains(&h.as_str()))
}

/// Where each field is, and what its header says.
struct Columns {
    index: HashMap<Field, (usize, String)>,
}

impl Columns {
    fn parse(header: &Row) -> Result<Columns, ImportError> {
        let mut index = HashMap::new();
        let (mut unknown, mut duplicated) = (Vec::new(), Vec::new());
        for (i, h) in header.cells.iter().enumerate() {
            if h.is_empty() {
                continue;
            }
            match field_of(h) {
                Some(f) if index.contains_key(&f) => duplicated.push(h.clone()),
                Some(f) => {
                    index.insert(f, (i, h.clone()));
                }
                None => unknown.push(h.clone()),
            }
        }
        let mut missing: Vec<String> = [Field::Id, Field::Name, Field::Role]
            .into_iter()
            .filter(|f| !index.contains_key(f))
            .map(|f| f.name_zh().to_string())
            .collect();
        if !index.contains_key(&Field::RegionCode) && !index.contains_key(&Field::Region) {
            missing.push("地区代码（或 地区）".into());
        }
        if missing.is_empty() && unknown.is_empty() && duplicated.is_empty() {
            Ok(Columns { index })
        } else {
            Err(ImportError::Columns { missing, unknown, duplicated })
        }
    }

    fn get<'a>(&self, row: &'a Row, f: Field) -> &'a str {
        self.index.get(&f).and_then(|(i, _)| row.cells.get(*i)).map_or("", |s| s.as_str())
    }

    /// The column's header as written in the file, or its template name.
    fn label(&self, f: Field) -> String {
        self.index.get(&f).map_or_else(|| f.name_zh().to_string(), |(_, h)| h.clone())
    }
}

/// The header: among the first rows, the first with at least two known column names (a
/// title row may stand above it); failing that, the first row (so its error names what it has).
fn find_header(rows: &[Row]) -> Option<usize> {
    let scanned = rows.iter().take(HEADER_SCAN_ROWS);
    scanned
        .enumerate()
        .find(|(_, r)| r.cells.iter().filter(|c| field_of(c).is_some()).count() >= 2)
        .map(|(i, _)| i)
        .or(if rows.is_empty() { None } else { Some(0) })
}

/// Separators in lists of industries and specialities.
fn split_list(s: &str) -> Vec<String> {
    s.split(|c: char| c.is_whitespace() || "、,，;；/／|".contains(c))
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}

/// An industry as people write it: its code, its name, or a common shorter name.
fn industry_of(s: &str) -> Option<Industry> {
    let s = s.replace('（', "(").replace('）', ")");
    let s = s.as_str();
    if let Some(i) = Industry::from_code(s).or_else(|| Industry::ALL.into_iter().find(|i| i.name_zh() == s)) {
        return Some(i);
    }
    let alias = |i: Industry| -> &'static [&'static str] {
        match i {
            Industry::GrainOil => &["粮油"],
            Industry::Pig => &["生猪", "猪"],
            Industry::Tea => &["茶叶", "茶"],
            Industry::Vegetable => &["蔬菜"],
            Industry::LiquorMaterial => &["川酒", "酿酒原料"],
            Industry::Bamboo => &["竹", "竹子"],
            Industry::Fruit => &["水果"],
            Industry::MedicinalHerb => &["中药材", "药材"],
            Industry::CattleSheep => &["牛羊"],
            Industry::Fish => &["水产", "渔业"],
            Industry::Seed => &["种业"],
            Industry::Equipment => &["农机", "农业装备"],
            Industry::DryingColdChain => &["烘干冷链物流", "冷链物流", "烘干冷链"],
        }
    };
    Industry::ALL.into_iter().find(|i| alias(*i).contains(&s))
}

fn industry_names() -> String {
    Industry::ALL.iter().map(|i| i.name_zh()).collect::<Vec<_>>().join("、")
}

fn region_code_message(e: &RegionError) -> String {
    match e {
        RegionError::Malformed(c) => format!("地区代码“{c}”无效：应为 2、4、6、9 或 12 位数字"),
        RegionError::Unknown(c) => format!("地区代码“{c}”不是四川省的行政区划"),
    }
}

/// Checks one row; the person, or every problem found.
struct RowCheck<'a> {
    columns: &'a Columns,
    row: &'a Row,
    errors: Vec<RowError>,
}

impl RowCheck<'_> {
    fn error(&mut self, f: Option<Field>, message_zh: String) {
        let column = f.map(|f| self.columns.label(f));
        // One error per column: the first found is the one to fix.
        if column.is_some() && self.errors.iter().any(|e| e.column == column) {
            return;
        }
        self.errors.push(RowError { row: self.row.number, column, message_zh });
    }

    fn cell(&self, f: Field) -> &str {
        self.columns.get(self.row, f)
    }

    /// The region code, from the code column or the name column, and the column that gave it
    /// (blamed for what [`NewPerson::build`] finds wrong with it).
    fn region_code(&mut self) -> (String, Field) {
        let mut code = self.cell(Field::RegionCode).to_string();
        let mut name = self.cell(Field::Region).to_string();
        let (mut code_field, mut name_field) = (Field::RegionCode, Field::Region);
        // A code written under 地区, or a name (Chinese) under 地区代码, is read as what it is.
        if code.is_empty() && !name.is_empty() && name.bytes().all(|b| b.is_ascii_digit()) {
            (code, name, code_field) = (name, String::new(), Field::Region);
        } else if name.is_empty() && !code.is_ascii() {
            (name, code, name_field) = (code, String::new(), Field::RegionCode);
        }
        if !code.is_empty() {
            let parsed = match RegionCode::parse(&code) {
                Ok(c) => c,
                Err(e) => {
                    self.error(Some(code_field), region_code_message(&e));
                    return (code, code_field);
                }
            };
            // A name given beside the code must name the code's region or one above it.
            if !name.is_empty() {
                let fits = match resolve(&name) {
                    Resolved::One(c) => vec![c],
                    Resolved::Many(cs) => cs,
                    Resolved::None => Vec::new(),
                };
                if !fits.iter().any(|c| parsed.as_str().starts_with(c.as_str())) {
                    self.error(
                        Some(name_field),
                        format!("地区“{name}”与地区代码“{code}”（{}）不一致", region_label(&code)),
                    );
                }
            }
            return (parsed.as_str().to_string(), code_field);
        }
        if name.is_empty() {
            let f = if self.columns.index.contains_key(&Field::RegionCode) {
                Field::RegionCode
            } else {
                Field::Region
            };
            self.error(Some(f), "请填写地区代码或地区".into());
            return (String::new(), f);
        }
        let code = match resolve(&name) {
            Resolved::One(c) => c,
            Resolved::None => {
                self.error(
                    Some(name_field),
                    format!("找不到地区“{name}”：请写地区代码，或写成“成都市/锦江区”这样的地区名称"),
                );
                String::new()
            }
            Resolved::Many(codes) => {
                let shown: Vec<String> = codes.iter().take(5).map(|c| region_label(c)).collect();
                let more = if codes.len() > shown.len() { " 等" } else { "" };
                self.error(
                    Some(name_field),
                    format!(
                        "地区“{name}”有 {} 处同名：{}{more}；请写出上级地区（如“{}”）或填地区代码",
                        codes.len(),
                        shown.join("、"),
                        shown.first().map(|s| s.replace(' ', "/")).unwrap_or_default()
                    ),
                );
                String::new()
            }
        };
        (code, name_field)
    }

    /// Where [`NewPerson::build`]'s error belongs.
    fn build_error(&mut self, e: &PersonError, region_field: Field) {
        let (field, message) = match e {
            PersonError::Required("id") | PersonError::TooLong("id") | PersonError::IdChars => {
                (Some(Field::Id), e.message_zh())
            }
            PersonError::Required("name") | PersonError::TooLong("name") => {
                (Some(Field::Name), e.message_zh())
            }
            PersonError::Role(_) => (Some(Field::Role), e.message_zh()),
            PersonError::Region(re) => (Some(region_field), region_code_message(re)),
            PersonError::RegionLevel { .. } => (Some(region_field), e.message_zh()),
            PersonError::Industry(_) | PersonError::NoIndustry => (Some(Field::Industries), e.message_zh()),
            PersonError::Availability(_) => (Some(Field::Availability), e.message_zh()),
            PersonError::TooLong("title") => {
                (Some(Field::Title), format!("职称太长：最多 {NAME_CHARS_MAX} 字"))
            }
            PersonError::TooLong("phone") | PersonError::Phone => {
                (Some(Field::Phone), "手机号码应为 7 到 15 位数字".into())
            }
            PersonError::TooLong("speciality") | PersonError::TooMany(_) => {
                (Some(Field::Specialities), e.message_zh())
            }
            other => (None, other.message_zh()),
        };
        self.error(field, message);
    }

    /// Every check that does not need the others' results runs, so a row shows all its
    /// problems at once; then [`NewPerson::build`] (the store's own validation) has the
    /// last word.
    fn run(mut self, limits: &ImportLimits) -> Result<(usize, NewPerson), Vec<RowError>> {
        for f in Field::ALL {
            let n = self.cell(f).chars().count();
            if n > limits.cell_chars_max {
                self.error(Some(f), format!("内容太长：{n} 字，最多 {} 字", limits.cell_chars_max));
            }
        }
        // Messages below quote cells: an over-long one is reported alone, never echoed.
        if !self.errors.is_empty() {
            return Err(self.errors);
        }
        let id = self.cell(Field::Id).to_string();
        if id.is_empty() {
            self.error(Some(Field::Id), PersonError::Required("id").message_zh());
        } else if !id.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
            self.error(Some(Field::Id), format!("编号“{id}”无效：只能用英文字母、数字和 - _ ."));
        }
        if self.cell(Field::Name).is_empty() {
            self.error(Some(Field::Name), PersonError::Required("name").message_zh());
        }
        let role_text = self.cell(Field::Role).to_string();
        let role = Role::parse(&role_text);
        if role_text.is_empty() {
            self.error(Some(Field::Role), "请填写角色（信息员/专家/科技特派员/运管中心人员/管理员）".into());
        } else if role.is_none() {
            self.error(Some(Field::Role), PersonError::Role(role_text.clone()).message_zh());
        }
        let availability_text = self.cell(Field::Availability).to_string();
        let availability = Availability::parse(&availability_text);
        if availability.is_none() {
            self.error(
                Some(Field::Availability),
                PersonError::Availability(availability_text.clone()).message_zh(),
            );
        }
        let mut industries = Vec::new();
        for token in split_list(self.cell(Field::Industries)) {
            match industry_of(&token) {
                Some(i) => industries.push(i.code().to_string()),
                None => self.error(
                    Some(Field::Industries),
                    format!("{}（可填：{}）", PersonError::Industry(token).message_zh(), industry_names()),
                ),
            }
        }
        let phone = match normalise_phone(self.cell(Field::Phone)) {
            Ok(p) => p,
            Err(_) => {
                self.error(
                    Some(Field::Phone),
                    format!("手机号码“{}”无效：应为 7 到 15 位数字", self.cell(Field::Phone)),
                );
                String::new()
            }
        };
        let (region_code, region_field) = self.region_code();
        let person = NewPerson {
            id,
            name: self.cell(Field::Name).to_string(),
            role: role.map_or(role_text, |r| r.code().to_string()),
            region_code,
            industries,
            specialities: split_list(self.cell(Field::Specialities)),
            availability: availability.map_or(availability_text, |a| a.code().to_string()),
            title: self.cell(Field::Title).to_string(),
            phone,
        };
        if let Err(e) = person.build(0) {
            self.build_error(&e, region_field);
        }
        if self.errors.is_empty() { Ok((self.row.number, person)) } else { Err(self.errors) }
    }
}

/// Reads people from a CSV or XLSX file with the default [`ImportLimits`].
///
/// The format is told by the content (an XLSX is a zip archive); the file name's extension
/// only refuses formats that are not read (`.xls`, `.ods`, ...) with a helpful message.
pub fn parse_people(bytes: &[u8], file_name: &str) -> Result<PeopleImport, ImportError> {
    parse_people_with(bytes, file_name, &ImportLimits::default())
}

/// [`parse_people`] with explicit bounds.
pub fn parse_people_with(
    bytes: &[u8],
    file_name: &str,
    limits: &ImportLimits,
) -> Result<PeopleImport, ImportError> {
    let rows = read_rows(bytes, file_name, limits)?;
    let header_at = find_header(&rows).ok_or(ImportError::Empty)?;
    let header = &rows[header_at];
    let columns = Columns::parse(header)?;
    let data = &rows[header_at + 1..];
    if data.len() > limits.rows_max {
        return Err(ImportError::TooManyRows { max: limits.rows_max });
    }
    let mut import = PeopleImport::default();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for row in data {
        let id = columns.get(row, Field::Id).to_string();
        let mut result = RowCheck { columns: &columns, row, errors: Vec::new() }.run(limits);
        if !id.is_empty() {
            match seen.get(&id) {
                Some(first) => {
                    let dup = RowError {
                        row: row.number,
                        column: Some(columns.label(Field::Id)),
                        message_zh: format!("编号“{id}”与第 {first} 行重复"),
                    };
                    match &mut result {
                        Ok(_) => result = Err(vec![dup]),
                        // One error per column: an invalid id says so already.
                        Err(errors) if errors.iter().any(|e| e.column == dup.column) => {}
                        Err(errors) => errors.insert(0, dup),
                    }
                }
                None => {
                    seen.insert(id, row.number);
                }
            }
        }
        match result {
            Ok(person) => import.rows.push(person),
            Err(errors) => {
                for e in errors {
                    if import.errors.len() < limits.errors_max {
                        import.errors.push(e);
                    } else {
                        import.errors_omitted += 1;
                    }
                }
            }
        }
    }
    Ok(import)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_match_aliases() {
        assert_eq!(field_of(" 编号 "), Some(Field::Id));
        assert_eq!(field_of("Region_Code"), Some(Field::RegionCode));
        assert_eq!(field_of("region code"), Some(Field::RegionCode));
        assert_eq!(field_of("姓名*"), Some(Field::Name));
        assert_eq!(field_of("手机号（选填）"), Some(Field::Phone));
        assert_eq!(field_of("\u{feff}编号"), Some(Field::Id));
        assert_eq!(field_of("备注"), None);
        for (f, name) in Field::ALL.iter().zip(TEMPLATE_COLUMNS) {
            assert_eq!(f.name_zh(), name);
        }
    }

    #[test]
    fn lists_and_industries() {
        assert_eq!(
            split_list("川果、川茶,川猪，川鱼;川药；川竹/川菜 川牛羊"),
            ["川果", "川茶", "川猪", "川鱼", "川药", "川竹", "川菜", "川牛羊"]
        );
        assert_eq!(split_list(" 、 "), Vec::<String>::new());
        assert_eq!(industry_of("川酒（酿酒原料）"), Some(Industry::LiquorMaterial));
        assert_eq!(industry_of("川酒"), Some(Industry::LiquorMaterial));
        assert_eq!(industry_of("fruit"), Some(Industry::Fruit));
        assert_eq!(industry_of("茶叶"), Some(Industry::Tea));
        assert_eq!(industry_of("咖啡"), None);
    }
}
