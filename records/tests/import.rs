#![allow(clippy::unwrap_used)]
//! Importing people from real files: XLSX written by rust_xlsxwriter, CSV in UTF-8 and GBK,
//! the templates, every kind of row error, the bounds, and garbage.

use rust_xlsxwriter::Workbook;
use yizhan_records::{
    FILE_BYTES_MAX, ImportError, ImportLimits, PeopleImport, RowError, parse_people, parse_people_with,
    people_template_csv, people_template_xlsx,
};

const HEADER: [&str; 10] =
    ["编号", "姓名", "角色", "地区代码", "地区", "产业", "专长", "状态", "职称", "手机号"];

/// A cell to write: text, or a number (as Excel stores a code or phone typed into it).
#[derive(Clone)]
enum C {
    T(&'static str),
    N(f64),
}

fn xlsx(rows: &[(u32, Vec<C>)]) -> Vec<u8> {
    let mut wb = Workbook::new();
    let sheet = wb.add_worksheet();
    for (row, cells) in rows {
        for (col, c) in cells.iter().enumerate() {
            match c {
                C::T("") => {}
                C::T(t) => {
                    sheet.write_string(*row, col as u16, *t).unwrap();
                }
                C::N(n) => {
                    sheet.write_number(*row, col as u16, *n).unwrap();
                }
            }
        }
    }
    wb.save_to_buffer().unwrap()
}

fn header_row() -> (u32, Vec<C>) {
    (0, HEADER.iter().map(|h| C::T(h)).collect())
}

fn texts(cells: [&'static str; 10]) -> Vec<C> {
    cells.into_iter().map(C::T).collect()
}

fn errors_of(import: &PeopleImport, row: usize) -> Vec<&RowError> {
    import.errors.iter().filter(|e| e.row == row).collect()
}

/// The row's single error, in the given column, with a message containing `needle`.
fn assert_error(import: &PeopleImport, row: usize, column: &str, needle: &str) {
    let errors = errors_of(import, row);
    assert_eq!(errors.len(), 1, "row {row}: {errors:?}");
    assert_eq!(errors[0].column.as_deref(), Some(column), "row {row}: {errors:?}");
    assert!(errors[0].message_zh.contains(needle), "row {row}: {:?} lacks {needle:?}", errors[0].message_zh);
    assert!(!import.rows.iter().any(|(r, _)| *r == row), "row {row} has an error but was kept");
}

#[test]
fn xlsx_rows_with_every_kind_of_error_keep_the_good_ones() {
    let rows = vec![
        header_row(),
        // Row 2: good; code and phone typed as numbers.
        (
            1,
            vec![
                C::T("wang.li"),
                C::T("王丽"),
                C::T("科技特派员"),
                C::N(510104.0),
                C::T(""),
                C::T("川果、川茶"),
                C::T("柑橘病害，茶树修剪"),
                C::T("忙碌"),
                C::T("高级农艺师"),
                C::N(13800001234.0),
            ],
        ),
        (2, texts(["r3", "赵一", "农民", "510104", "", "川果", "", "", "", ""])),
        (3, texts(["r4", "钱二", "专家", "5199", "", "川果", "", "", "", ""])),
        (4, texts(["r5", "孙三", "信息员", "510104", "", "", "", "", "", ""])),
        (5, texts(["r6", "李四", "专家", "510104", "", "", "柑橘", "", "", ""])),
        (6, texts(["wang.li", "王丽二", "专家", "510104", "", "川猪", "", "", "", ""])),
        (7, texts(["r8", "周五", "专家", "510104", "", "川猪", "", "", "", "138-abc"])),
        // Row 9: good, the region by name.
        (8, texts(["r9", "吴六", "信息员", "", "成都市/锦江区/锦官驿街道", "", "", "", "", "13900000000"])),
        (9, texts(["r10", "郑七", "专家", "", "市中区", "川鱼", "", "", "", ""])),
        // Row 11 left empty; row 12 has two problems.
        (11, texts(["r12", "冯八", "老板", "510104", "", "川猪", "", "休假", "", ""])),
        (12, texts(["张 三", "", "专家", "", "", "咖啡", "", "", "", ""])),
        (13, texts(["r14", "陈九", "管理员", "510104017", "", "", "", "", "", ""])),
        (14, texts(["r15", "褚十", "专家", "510104", "成都市/青羊区", "川果", "", "", "", ""])),
        // Row 16: good, a village code given beside the town's name.
        (
            15,
            texts([
                "r16",
                "卫十一",
                "信息员",
                "510104017123",
                "成都市 锦江区 锦官驿街道",
                "",
                "",
                "",
                "",
                "",
            ]),
        ),
        // Rows 17 and 18: good, a code under 地区 and a name under 地区代码.
        (16, texts(["r17", "蒋十二", "专家", "", "5111", "川茶", "", "", "", ""])),
        (17, texts(["r18", "沈十三", "专家", "乐山市", "", "川茶", "", "", "", ""])),
        // Row 19: a name under 地区代码 that is not found is blamed on 地区代码.
        (18, texts(["r19", "韩十四", "专家", "北京市", "", "川茶", "", "", "", ""])),
    ];
    let import = parse_people(&xlsx(&rows), "专家名单.xlsx").unwrap();

    let kept: Vec<usize> = import.rows.iter().map(|(r, _)| *r).collect();
    assert_eq!(kept, [2, 9, 16, 17, 18]);
    assert_eq!(import.rows[3].1.region_code, "5111");
    assert_eq!(import.rows[4].1.region_code, "5111");
    let (_, wang) = &import.rows[0];
    assert_eq!(wang.id, "wang.li");
    assert_eq!(wang.role, "expert");
    assert_eq!(wang.region_code, "510104");
    assert_eq!(wang.industries, ["fruit", "tea"]);
    assert_eq!(wang.specialities, ["柑橘病害", "茶树修剪"]);
    assert_eq!(wang.availability, "busy");
    assert_eq!(wang.title, "高级农艺师");
    assert_eq!(wang.phone, "13800001234");
    let (_, wu) = &import.rows[1];
    assert_eq!((wu.role.as_str(), wu.region_code.as_str()), ("officer", "510104017"));
    assert_eq!(import.rows[2].1.region_code, "510104017123");
    for (_, p) in &import.rows {
        p.build(0).unwrap();
    }

    assert_error(&import, 3, "角色", "未知的角色“农民”");
    assert_error(&import, 4, "地区代码", "“5199”不是四川省的行政区划");
    assert_error(&import, 5, "地区代码", "信息员的地区应为乡镇或村");
    assert_error(&import, 6, "产业", "专家至少要有一个产业");
    assert_error(&import, 7, "编号", "编号“wang.li”与第 2 行重复");
    assert_error(&import, 8, "手机号", "手机号码“138-abc”无效");
    assert_error(&import, 10, "地区", "地区“市中区”有 2 处同名：内江市 市中区、乐山市 市中区");
    assert!(errors_of(&import, 11).is_empty());
    assert_error(&import, 14, "地区代码", "管理员的地区应为省、市州或县市区");
    assert_error(&import, 15, "地区", "与地区代码“510104”（成都市 锦江区）不一致");
    assert_error(&import, 19, "地区代码", "找不到地区“北京市”");

    let two: Vec<(Option<&str>, &str)> =
        errors_of(&import, 12).iter().map(|e| (e.column.as_deref(), e.message_zh.as_str())).collect();
    assert_eq!(
        two,
        [
            (Some("角色"), "未知的角色“老板”（应为 信息员/专家/运管中心人员/管理员）"),
            (Some("状态"), "未知的状态“休假”（应为 可接单/忙碌/外出）"),
        ]
    );
    let many: Vec<Option<&str>> = errors_of(&import, 13).iter().map(|e| e.column.as_deref()).collect();
    assert_eq!(many, [Some("编号"), Some("姓名"), Some("产业"), Some("地区代码")]);
    assert!(errors_of(&import, 13)[0].message_zh.contains("只能用英文字母、数字"));
    assert!(errors_of(&import, 13)[2].message_zh.contains("未知的产业“咖啡”（可填：川粮油、"));
    assert_eq!(import.errors_omitted, 0);
    // Errors come in row order.
    assert!(import.errors.windows(2).all(|w| w[0].row <= w[1].row));
}

#[test]
fn templates_read_back_as_one_valid_person() {
    for (bytes, name) in
        [(people_template_xlsx(), "人员导入模板.xlsx"), (people_template_csv(), "人员导入模板.csv")]
    {
        let import = parse_people(&bytes, name).unwrap();
        assert!(import.errors.is_empty(), "{name}: {:?}", import.errors);
        assert_eq!(import.rows.len(), 1, "{name}");
        let (row, p) = &import.rows[0];
        assert_eq!(*row, 2);
        assert_eq!((p.id.as_str(), p.name.as_str(), p.role.as_str()), ("zhangsan01", "张三", "expert"));
        assert_eq!(p.region_code, "510104");
        assert_eq!(p.industries, ["fruit", "tea"]);
        assert_eq!(p.phone, "13800000000");
    }
    assert!(people_template_csv().starts_with("\u{feff}编号,姓名,角色".as_bytes()));
}

#[test]
fn gbk_csv_from_excel_on_chinese_windows() {
    // What Excel's "CSV (逗号分隔)" writes on Chinese Windows: GBK, no BOM, CRLF; a title
    // row above the header.
    let text = "专家名单（2025年）,,,\r\n编号,姓名,角色,地区,产业,手机号\r\nli.hua,李华,专家,乐山市/市中区,川茶；川竹,139 0000 1111\r\n\
                ,,,,,\r\nxu.min,徐敏,信息员,成都市锦江区锦官驿街道,,\r\nbad,坏,专家,成都市/锦江区,,\r\n";
    let (gbk, _, unmappable) = encoding_rs::GBK.encode(text);
    assert!(!unmappable);
    assert!(std::str::from_utf8(&gbk).is_err(), "the test file must not be UTF-8");
    let import = parse_people(&gbk, "experts.csv").unwrap();
    let kept: Vec<(usize, &str, &str, &str)> = import
        .rows
        .iter()
        .map(|(r, p)| (*r, p.name.as_str(), p.region_code.as_str(), p.phone.as_str()))
        .collect();
    assert_eq!(kept, [(3, "李华", "511102", "13900001111"), (5, "徐敏", "510104017", "")]);
    assert_eq!(import.rows[0].1.industries, ["tea", "bamboo"]);
    assert_error(&import, 6, "产业", "专家至少要有一个产业");
}

/// Excel 97-2003 (.xls) as xlwt writes it (tests/data/people.xls: the rows of the GBK CSV above
/// on a sheet 专家名单 with a title row, the phone typed as a number, and a second sheet).
#[test]
fn xls_from_excel_97_2003() {
    let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/people.xls")).unwrap();
    let import = parse_people(&bytes, "专家名单.xls").unwrap();
    let kept: Vec<(usize, &str, &str, &str)> = import
        .rows
        .iter()
        .map(|(r, p)| (*r, p.name.as_str(), p.region_code.as_str(), p.phone.as_str()))
        .collect();
    assert_eq!(kept, [(3, "李华", "511102", "13900001111"), (5, "徐敏", "510104017", "")]);
    assert_eq!(import.rows[0].1.industries, ["tea", "bamboo"]);
    assert_error(&import, 6, "产业", "专家至少要有一个产业");
    // The file's name does not decide: the same bytes named .et (WPS) or .xlsx read the same.
    assert_eq!(parse_people(&bytes, "名单.et").unwrap().rows.len(), 2);
    assert_eq!(parse_people(&bytes, "名单.xlsx").unwrap().rows.len(), 2);
}

/// A 5 KB .xls whose one far cell (IV65536) would make the reader hold 16.7 million cells is
/// refused before it is read, with a message that says what to do.
#[test]
fn an_xls_with_a_far_away_cell_is_refused_before_it_is_read() {
    let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/far-cell.xls")).unwrap();
    assert!(bytes.len() < 10_000);
    let err = parse_people(&bytes, "far.xls").unwrap_err();
    assert_eq!(err, ImportError::Extent { cells_max: yizhan_records::XLS_DENSE_CELLS_MAX });
    assert!(err.message_zh().contains("范围太大"), "{}", err.message_zh());
    // Truncated: a damaged file, not a panic.
    for cut in [512, 1024, 2048, bytes.len() - 100] {
        assert!(parse_people(&bytes[..cut], "far.xls").is_err());
    }
}

#[test]
fn utf8_with_bom_english_headers_and_utf16_tab_separated() {
    let csv = "\u{feff}ID,Name,Role,Region_Code,Industries,Status\nexp1,甲,expert,5101,\"fruit, tea\",away\n";
    let import = parse_people(csv.as_bytes(), "people.csv").unwrap();
    assert!(import.errors.is_empty(), "{:?}", import.errors);
    assert_eq!(import.rows[0].1.industries, ["fruit", "tea"]);
    assert_eq!(import.rows[0].1.availability, "away");

    // Excel's "Unicode 文本": UTF-16LE with a BOM, tab-separated.
    let mut utf16 = vec![0xFF, 0xFE];
    for u in "编号\t姓名\t角色\t地区代码\t产业\r\nexp2\t乙\t专家\t510104\t川药\r\n".encode_utf16()
    {
        utf16.extend_from_slice(&u.to_le_bytes());
    }
    let import = parse_people(&utf16, "people.txt").unwrap();
    assert!(import.errors.is_empty(), "{:?}", import.errors);
    assert_eq!(import.rows[0].1.industries, ["medicinal_herb"]);
}

#[test]
fn header_problems_are_file_errors_listing_the_expected_columns() {
    let csv = "编号,角色,备注,地区代码,角色\nx,专家,,510104,专家\n";
    let err = parse_people(csv.as_bytes(), "a.csv").unwrap_err();
    assert_eq!(
        err,
        ImportError::Columns {
            missing: vec!["姓名".into()],
            unknown: vec!["备注".into()],
            duplicated: vec!["角色".into()],
        }
    );
    let msg = err.message_zh();
    assert!(msg.contains("缺少必填列：姓名"), "{msg}");
    assert!(msg.contains("无法识别的列：备注"), "{msg}");
    assert!(msg.contains("重复的列：角色"), "{msg}");
    assert!(msg.contains("编号、姓名、角色、地区代码（或 地区）"), "{msg}");

    let err = parse_people("编号,姓名,角色\nx,y,专家\n".as_bytes(), "a.csv").unwrap_err();
    assert!(
        matches!(&err, ImportError::Columns { missing, .. } if missing == &["地区代码（或 地区）"]),
        "{err:?}"
    );
    assert_eq!(parse_people(b"", "a.csv").unwrap_err(), ImportError::Empty);
    assert_eq!(parse_people(b"\xef\xbb\xbf\r\n,,\r\n", "a.csv").unwrap_err(), ImportError::Empty);
    assert!(parse_people(&xlsx(&[]), "a.xlsx").unwrap_err().message_zh().contains("第一行应为表头"));
}

#[test]
fn formats_that_are_not_read_say_so() {
    let ole = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0, 0, 0, 0];
    assert!(matches!(parse_people(&ole, "名单.xlsx"), Err(ImportError::Damaged(_))), "a broken OLE file");
    assert!(matches!(parse_people(b"anything", "名单.XLS"), Err(ImportError::Damaged(_))));
    assert_eq!(parse_people(b"anything", "名单.ods").unwrap_err(), ImportError::Unsupported);
    assert!(ImportError::Unsupported.message_zh().contains("另存为"));
    assert!(matches!(parse_people("编号,姓名".as_bytes(), "a.xlsx"), Err(ImportError::Damaged(_))));
    assert!(matches!(parse_people(b"PK\x03\x04garbage", "a.csv"), Err(ImportError::Damaged(_))));
    assert_eq!(parse_people(&[0x81, 0x20, 0xFF], "a.csv").unwrap_err(), ImportError::Encoding);
}

#[test]
fn bounds_are_enforced() {
    let big = vec![b'a'; FILE_BYTES_MAX + 1];
    assert_eq!(parse_people(&big, "a.csv").unwrap_err(), ImportError::TooLarge { max_bytes: FILE_BYTES_MAX });
    assert!(ImportError::TooLarge { max_bytes: FILE_BYTES_MAX }.message_zh().contains("最多 10 MB"));

    let limits = ImportLimits { rows_max: 3, cell_chars_max: 40, errors_max: 2, ..ImportLimits::default() };
    let row = |i: usize| format!("p{i},某,专家,510104,川果\n");
    let csv = |n: usize| format!("编号,姓名,角色,地区代码,产业\n{}", (0..n).map(row).collect::<String>());
    assert_eq!(parse_people_with(csv(3).as_bytes(), "a.csv", &limits).unwrap().rows.len(), 3);
    assert_eq!(
        parse_people_with(csv(4).as_bytes(), "a.csv", &limits).unwrap_err(),
        ImportError::TooManyRows { max: 3 }
    );
    let wide: Vec<(u32, Vec<C>)> = vec![header_row(), (1, vec![C::T("a"); 65])];
    assert_eq!(parse_people(&xlsx(&wide), "a.xlsx").unwrap_err(), ImportError::TooManyColumns { max: 64 });

    let long = format!("编号,姓名,角色,地区代码,产业\nx,{},专家,510104,川果\n", "名".repeat(41));
    let import = parse_people_with(long.as_bytes(), "a.csv", &limits).unwrap();
    assert_error(&import, 2, "姓名", "内容太长：41 字，最多 40 字");
    // A huge cell is reported, not quoted back.
    let huge = format!("编号,姓名,角色,地区代码\nx,y,{},510104\n", "农".repeat(1_000_000));
    let import = parse_people(huge.as_bytes(), "a.csv").unwrap();
    assert_error(&import, 2, "角色", "内容太长：1000000 字，最多 500 字");
    assert!(import.errors[0].message_zh.len() < 100);

    // Past errors_max, errors are counted, not listed.
    let bad = format!("编号,姓名,角色,地区代码\n{}", "x,y,专家,1\n".repeat(3));
    let import = parse_people_with(bad.as_bytes(), "a.csv", &limits).unwrap();
    assert_eq!(import.errors.len(), 2);
    assert!(import.errors_omitted >= 2, "{import:?}");

    // An XLSX that unpacks to more than the bound is refused before its cells are read.
    let mut rows = vec![header_row()];
    for r in 1..200u32 {
        rows.push((r, vec![C::T("某"); 10]));
    }
    let file = xlsx(&rows);
    let limits = ImportLimits { unpacked_bytes_max: 20_000, ..ImportLimits::default() };
    assert_eq!(
        parse_people_with(&file, "a.xlsx", &limits).unwrap_err(),
        ImportError::Unpacked { max_bytes: 20_000 }
    );
    let import = parse_people(&file, "a.xlsx").unwrap();
    assert!(import.rows.is_empty() && !import.errors.is_empty());
}

#[test]
fn a_far_away_cell_costs_nothing_and_keeps_its_row_number() {
    let mut rows = vec![header_row()];
    rows.push((1_048_575, texts(["far", "远", "专家", "510104", "", "川果", "", "", "", ""])));
    let import = parse_people(&xlsx(&rows), "a.xlsx").unwrap();
    assert_eq!(import.rows.len(), 1);
    assert_eq!(import.rows[0].0, 1_048_576);
}

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

#[test]
fn garbage_never_panics() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let names = ["a.csv", "a.xlsx", "a", "", "a.xls", ".", "名单.CSV"];
    let mut outcomes = [0usize; 2];
    for i in 0..400 {
        let len = rng.below(if i % 10 == 0 { 20_000 } else { 300 });
        let mut bytes = rng.bytes(len);
        // Some start like a zip or a UTF-8 BOM, to get past the first checks.
        match i % 4 {
            0 if bytes.len() >= 4 => bytes[..4].copy_from_slice(b"PK\x03\x04"),
            1 => bytes.splice(0..0, "\u{feff}编号,姓名,角色,地区代码\n".bytes()).for_each(drop),
            _ => {}
        }
        let result = parse_people(&bytes, names[i % names.len()]);
        outcomes[usize::from(result.is_ok())] += 1;
    }
    assert!(outcomes[0] > 200, "random bytes are mostly refused: {outcomes:?}");

    // Damaged workbooks: the template cut short, or with bytes flipped.
    let good = people_template_xlsx();
    for cut in (0..good.len()).step_by(97) {
        assert!(parse_people(&good[..cut], "a.xlsx").is_err(), "cut at {cut}");
    }
    for _ in 0..300 {
        let mut bad = good.clone();
        for _ in 0..1 + rng.below(8) {
            let at = rng.below(bad.len());
            bad[at] = rng.next() as u8;
        }
        let _ = parse_people(&bad, "a.xlsx");
    }
    // Text that decodes but is nonsense: quotes, delimiters and line ends in random order.
    let alphabet = [
        "\"", ",", "\n", "\r", "\t", ";", "编号", "姓名", "角色", "地区", "专家", "51", "、", " ", "\u{feff}",
    ];
    for _ in 0..300 {
        let text: String = (0..rng.below(200)).map(|_| alphabet[rng.below(alphabet.len())]).collect();
        let _ = parse_people(text.as_bytes(), "a.csv");
    }
}

/// Rewrites one part of an XLSX archive.
fn with_part(xlsx: &[u8], part: &str, edit: impl Fn(String) -> String) -> Vec<u8> {
    use std::io::{Read, Write};
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(xlsx)).unwrap();
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for i in 0..archive.len() {
        let mut file = archive.by_index(i).unwrap();
        let name = file.name().unwrap().to_string();
        let mut content = String::new();
        file.read_to_string(&mut content).unwrap();
        if name == part {
            content = edit(content);
        }
        out.start_file(name, zip::write::SimpleFileOptions::default()).unwrap();
        out.write_all(content.as_bytes()).unwrap();
    }
    out.finish().unwrap().into_inner()
}

#[test]
fn crafted_cell_references_are_a_damaged_file() {
    let file = xlsx(&[header_row(), (1, texts(["a", "b", "专家", "510104", "", "川果", "", "", "", ""]))]);
    assert_eq!(parse_people(&file, "a.xlsx").unwrap().rows.len(), 1);
    // A column reference of 20 letters overflows calamine's arithmetic.
    let crafted = with_part(&file, "xl/worksheets/sheet1.xml", |xml| {
        assert!(xml.contains(r#"r="A2""#), "{xml}");
        xml.replace(r#"r="A2""#, r#"r="AAAAAAAAAAAAAAAAAAAA2""#)
    });
    assert!(matches!(parse_people(&crafted, "a.xlsx"), Err(ImportError::Damaged(_))));
    // A part that unpacks far beyond its compressed size.
    let bomb = with_part(&file, "xl/sharedStrings.xml", |xml| xml + &" ".repeat(200_000));
    let limits = ImportLimits { unpacked_bytes_max: 100_000, ..ImportLimits::default() };
    assert!(bomb.len() < 20_000, "{}", bomb.len());
    assert_eq!(
        parse_people_with(&bomb, "a.xlsx", &limits).unwrap_err(),
        ImportError::Unpacked { max_bytes: 100_000 }
    );
}
