//! Reports as XLSX workbooks: any number of sheets, each a bold frozen header and rows of text
//! and numbers (the evaluations and rankings of 激励保障). Same bounds as the service records:
//! at most [`crate::EXPORT_ROWS_MAX`] rows a sheet, text cut to [`crate::XLSX_TEXT_CHARS_MAX`].

use rust_xlsxwriter::{Color, Format, FormatBorder, Workbook};

use crate::export::{EXPORT_ROWS_MAX, ExportError, XLSX_TEXT_CHARS_MAX};

/// Sheets in one workbook at most.
pub const SHEETS_MAX: usize = 16;

/// One cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Number(f64),
    /// A number shown with one decimal (scores) or as a percentage (rates 0..1).
    Score(f64),
    Percent(f64),
    Empty,
}

/// One sheet: its name (at most 31 characters, as Excel requires), header and rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Sheet {
    pub name: String,
    pub header: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

/// The sheets as an XLSX workbook. Text is written as text (never a formula).
pub fn tables_xlsx(sheets: &[Sheet]) -> Result<Vec<u8>, ExportError> {
    if sheets.len() > SHEETS_MAX || sheets.iter().any(|s| s.rows.len() > EXPORT_ROWS_MAX) {
        return Err(ExportError::TooManyRows { max: EXPORT_ROWS_MAX });
    }
    let mut workbook = Workbook::new();
    let header_format = Format::new()
        .set_bold()
        .set_background_color(Color::RGB(0xDDEBF7))
        .set_border_bottom(FormatBorder::Thin);
    let score_format = Format::new().set_num_format("0.0");
    let percent_format = Format::new().set_num_format("0.0%");
    for s in sheets {
        let sheet = workbook.add_worksheet();
        let name: String = s.name.chars().filter(|c| !"[]:*?/\\".contains(*c)).take(31).collect();
        sheet.set_name(if name.is_empty() { "表" } else { &name })?;
        for (col, title) in s.header.iter().enumerate() {
            let col = u16::try_from(col).unwrap_or(u16::MAX);
            sheet.write_string_with_format(0, col, title, &header_format)?;
            sheet.set_column_width(col, (title.chars().count() as f64 * 2.2).max(10.0))?;
        }
        sheet.set_freeze_panes(1, 0)?;
        for (i, row) in s.rows.iter().enumerate() {
            let r = i as u32 + 1;
            for (col, cell) in row.iter().enumerate() {
                let col = u16::try_from(col).unwrap_or(u16::MAX);
                match cell {
                    Cell::Text(t) if t.is_empty() => {}
                    Cell::Text(t) => {
                        let cut: String = t.chars().take(XLSX_TEXT_CHARS_MAX).collect();
                        sheet.write_string(r, col, cut)?;
                    }
                    Cell::Number(n) => {
                        sheet.write_number(r, col, *n)?;
                    }
                    Cell::Score(n) => {
                        sheet.write_number_with_format(r, col, *n, &score_format)?;
                    }
                    Cell::Percent(n) => {
                        sheet.write_number_with_format(r, col, *n, &percent_format)?;
                    }
                    Cell::Empty => {}
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
    fn a_workbook_reads_back_with_its_sheets_and_values() {
        use calamine::{Data, Reader, Xlsx};
        let sheets = vec![
            Sheet {
                name: "县级中心年度考评".into(),
                header: vec!["名次".into(), "中心".into(), "得分".into(), "有效服务率".into()],
                rows: vec![vec![
                    Cell::Number(1.0),
                    Cell::Text("=蒲江县".into()),
                    Cell::Score(92.5),
                    Cell::Percent(0.875),
                ]],
            },
            Sheet { name: "a/b:c".into(), header: vec!["x".into()], rows: vec![] },
        ];
        let bytes = tables_xlsx(&sheets).unwrap_or_else(|e| panic!("{e}"));
        let mut book: Xlsx<_> =
            calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(book.sheet_names(), ["县级中心年度考评", "abc"]);
        let range = book.worksheet_range("县级中心年度考评").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(range.get((0, 1)), Some(&Data::String("中心".into())));
        assert_eq!(range.get((1, 1)), Some(&Data::String("=蒲江县".into())), "text, not a formula");
        assert_eq!(range.get((1, 2)), Some(&Data::Float(92.5)));
        assert_eq!(range.get((1, 3)), Some(&Data::Float(0.875)));
        let too_many = vec![sheets[1].clone(); SHEETS_MAX + 1];
        assert!(tables_xlsx(&too_many).is_err());
    }
}
