//! The blank forms behind the UI's "下载模板" (download the template): the header and one
//! example row, which [`crate::parse_people`] reads back as one valid person.

use rust_xlsxwriter::{Color, DataValidation, Format, FormatBorder, Workbook, XlsxError};
use yizhan_core::{Availability, Industry, Role};

use crate::import::TEMPLATE_COLUMNS;

/// The example row, under [`TEMPLATE_COLUMNS`].
const EXAMPLE: [&str; 10] = [
    "zhangsan01",
    "张三",
    "专家",
    "510104",
    "成都市/锦江区",
    "川果、川茶",
    "柑橘病害、茶树修剪",
    "可接单",
    "高级农艺师",
    "13800000000",
];
const WIDTHS: [f64; 10] = [14.0, 10.0, 14.0, 12.0, 22.0, 24.0, 26.0, 10.0, 14.0, 14.0];

/// The template as CSV (UTF-8 with a BOM, so Excel shows the Chinese).
pub fn people_template_csv() -> Vec<u8> {
    let mut out = "\u{feff}".as_bytes().to_vec();
    out.extend_from_slice(TEMPLATE_COLUMNS.join(",").as_bytes());
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(EXAMPLE.join(",").as_bytes());
    out.extend_from_slice(b"\r\n");
    out
}

/// The template as XLSX: the form on the first sheet (codes and phones formatted as text so
/// Excel keeps their digits, drop-down lists for role and status), instructions on a second.
pub fn people_template_xlsx() -> Vec<u8> {
    // Everything written is constant: a failure here is a bug that the tests catch.
    template_xlsx().expect("the constant template is a valid workbook")
}

fn template_xlsx() -> Result<Vec<u8>, XlsxError> {
    let mut workbook = Workbook::new();
    let header = Format::new()
        .set_bold()
        .set_background_color(Color::RGB(0xDDEBF7))
        .set_border_bottom(FormatBorder::Thin);
    let text = Format::new().set_num_format("@");
    let sheet = workbook.add_worksheet();
    sheet.set_name("人员")?;
    for (col, ((title, example), width)) in TEMPLATE_COLUMNS.iter().zip(EXAMPLE).zip(WIDTHS).enumerate() {
        let col = col as u16;
        sheet.set_column_width(col, width)?;
        if matches!(*title, "编号" | "地区代码" | "手机号") {
            sheet.set_column_format(col, &text)?;
        }
        sheet.write_string_with_format(0, col, *title, &header)?;
        sheet.write_string(1, col, example)?;
    }
    sheet.set_freeze_panes(1, 0)?;
    let roles: Vec<&str> = Role::ALL.iter().map(|r| r.name_zh()).collect();
    let statuses: Vec<&str> = Availability::ALL.iter().map(|a| a.name_zh()).collect();
    for (col, list) in [(2u16, roles), (7u16, statuses)] {
        let validation = DataValidation::new().allow_list_strings(&list)?.ignore_blank(true);
        sheet.add_data_validation(1, col, 50_000, col, &validation)?;
    }

    let help = workbook.add_worksheet();
    help.set_name("填写说明")?;
    help.set_column_width(0, 12)?;
    help.set_column_width(1, 90)?;
    let industries: Vec<&str> = Industry::ALL.iter().map(|i| i.name_zh()).collect();
    let lines = [
        ("说明", "在“人员”表中每行填写一人；第一行是表头，不要修改。示例行可以改写或删除。".to_string()),
        ("编号", "必填。登录名，只能用英文字母、数字和 - _ .，同一文件中不能重复。".into()),
        ("姓名", "必填。".into()),
        ("角色", "必填。信息员、专家（科技特派员）、运管中心人员、管理员。".into()),
        ("地区代码", "与“地区”二选一。信息员填乡镇（9 位）或村（12 位）代码；专家、运管中心人员和管理员填省（51）、市州（4 位）或县市区（6 位）代码。".into()),
        ("地区", "可代替地区代码，写成“成都市/锦江区”或“成都市 锦江区 锦官驿街道”；同名地区请写出上级。村只能用地区代码。".into()),
        ("产业", format!("专家必填，多个用顿号分隔：{}。", industries.join("、"))),
        ("专长", "可选，多个用顿号分隔，如“柑橘病害、茶树修剪”。".into()),
        ("状态", "可选：可接单（默认）、忙碌、外出。".into()),
        ("职称", "可选，如“高级农艺师”。".into()),
        ("手机号", "可选，7 到 15 位数字；用于接收登录验证码，列表中只显示部分号码。".into()),
    ];
    for (row, (name, text)) in lines.iter().enumerate() {
        help.write_string_with_format(row as u32, 0, *name, &Format::new().set_bold())?;
        help.write_string_with_format(row as u32, 1, text, &Format::new().set_text_wrap())?;
    }
    workbook.save_to_buffer()
}
