//! Reading a spreadsheet's cells: CSV (UTF-8, UTF-16 with BOM, GB18030/GBK), XLSX or XLS
//! (Excel 97-2003, [`crate::xls`]), into the non-empty rows of the first worksheet, each with
//! the row number the user sees.
//!
//! Every bound is checked before the work it bounds: the file's size first, an XLSX's unpacked
//! size (every part decompressed once, into nothing) before calamine reads it, then columns
//! and rows while the cells stream in. The XLSX is read cell by cell (`worksheet_cells_reader`),
//! never as a dense range, so a far-away cell (`XFD1048576`) costs nothing.

use std::collections::BTreeMap;
use std::io::{Cursor, Read};
use std::panic::{AssertUnwindSafe, catch_unwind};

use calamine::{DataRef, Reader, SheetType, SheetVisible, Xlsx};

use crate::import::{ImportError, ImportLimits};

/// One non-empty row: its number as the user sees it (the first row is 1) and its cells,
/// trimmed, indexed by column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub number: usize,
    pub cells: Vec<String>,
}

const ZIP_MAGIC: &[u8] = b"PK\x03\x04";
/// An OLE compound file: an .xls of Excel 97-2003 (or WPS's .et), or an encrypted .xlsx.
const OLE_MAGIC: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
/// Formats that a user may pick but that are not read: say so instead of "damaged".
const UNSUPPORTED_EXTENSIONS: [&str; 3] = ["xlsb", "ods", "numbers"];

pub fn read_rows(bytes: &[u8], file_name: &str, limits: &ImportLimits) -> Result<Vec<Row>, ImportError> {
    if bytes.len() > limits.file_bytes_max {
        return Err(ImportError::TooLarge { max_bytes: limits.file_bytes_max });
    }
    let ext = file_name.rsplit_once('.').map(|(_, e)| e.trim().to_ascii_lowercase()).unwrap_or_default();
    if bytes.starts_with(OLE_MAGIC) {
        return crate::xls::read_xls(bytes, limits);
    }
    if UNSUPPORTED_EXTENSIONS.contains(&ext.as_str()) {
        return Err(ImportError::Unsupported);
    }
    if ext == "xls" || ext == "et" {
        return Err(ImportError::Damaged("not an Excel 97-2003 file".into()));
    }
    if bytes.starts_with(ZIP_MAGIC) {
        return read_xlsx(bytes, limits);
    }
    if ext == "xlsx" {
        return Err(ImportError::Damaged("not a zip file".into()));
    }
    read_csv(bytes, limits)
}

/// Decodes a CSV's text: a BOM decides (UTF-8, UTF-16LE/BE); without one, UTF-8 if the bytes
/// are valid UTF-8, else GB18030 (a superset of GBK, which Excel on Chinese Windows writes).
/// Nothing is replaced: bytes that fit no encoding are refused, not turned into "�".
fn decode(bytes: &[u8]) -> Result<String, ImportError> {
    let text = if let Some((encoding, bom_len)) = encoding_rs::Encoding::for_bom(bytes) {
        let body = bytes.get(bom_len..).unwrap_or_default();
        encoding.decode_without_bom_handling_and_without_replacement(body).map(|t| t.into_owned())
    } else if let Ok(text) = std::str::from_utf8(bytes) {
        Some(text.to_string())
    } else {
        encoding_rs::GB18030
            .decode_without_bom_handling_and_without_replacement(bytes)
            .map(|t| t.into_owned())
    };
    let text = text.ok_or(ImportError::Encoding)?;
    // A text table has no NUL; a binary file that happens to decode does.
    if text.contains('\0') {
        return Err(ImportError::Encoding);
    }
    Ok(text)
}

/// The delimiter of the first line: a comma unless tabs (Excel's "Unicode text") or
/// semicolons (some European locales) clearly dominate.
fn delimiter(text: &str) -> u8 {
    let first = text.lines().next().unwrap_or_default();
    let count = |c: char| first.chars().filter(|x| *x == c).count();
    let (commas, tabs, semis) = (count(','), count('\t'), count(';'));
    if tabs > commas && tabs >= semis {
        b'\t'
    } else if semis > commas && semis > tabs {
        b';'
    } else {
        b','
    }
}

fn read_csv(bytes: &[u8], limits: &ImportLimits) -> Result<Vec<Row>, ImportError> {
    let mut text = decode(bytes)?;
    // Every record ends its line, so the line count below holds for the last one too.
    if !text.ends_with('\n') {
        text.push('\n');
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter(&text))
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    let mut record = csv::StringRecord::new();
    // Excel shows every record as a row, blank lines included; the csv reader skips blank
    // lines silently, so they are counted: of the lines the reader went through for a record,
    // those that the record itself does not span (one, plus its cells' line breaks) were blank.
    let mut number = 0usize;
    loop {
        let before = reader.position().line();
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(ImportError::Damaged(e.to_string())),
        }
        let lines = reader.position().line().saturating_sub(before);
        let own = 1 + record.iter().map(|c| c.matches('\n').count() as u64).sum::<u64>();
        number = number.saturating_add(1).saturating_add(lines.saturating_sub(own) as usize);
        let cells: Vec<String> = record.iter().map(|c| c.trim().to_string()).collect();
        push_row(&mut rows, number, cells, limits)?;
    }
    Ok(rows)
}

/// Keeps a row if any cell is non-empty, enforcing the column and row bounds.
pub(crate) fn push_row(
    rows: &mut Vec<Row>,
    number: usize,
    mut cells: Vec<String>,
    limits: &ImportLimits,
) -> Result<(), ImportError> {
    while cells.last().is_some_and(|c| c.is_empty()) {
        cells.pop();
    }
    if cells.is_empty() {
        return Ok(());
    }
    if cells.len() > limits.columns_max {
        return Err(ImportError::TooManyColumns { max: limits.columns_max });
    }
    // The header and a few title rows above it come on top of the data rows.
    if rows.len() >= limits.rows_max.saturating_add(crate::import::HEADER_SCAN_ROWS) {
        return Err(ImportError::TooManyRows { max: limits.rows_max });
    }
    rows.push(Row { number, cells });
    Ok(())
}

/// Decompresses every part of the archive into nothing, stopping past the bound: a small
/// file that unpacks to gigabytes (a zip bomb) is refused before calamine reads any of it.
/// Actual bytes are counted, not the sizes the archive declares.
fn check_unpacked_size(bytes: &[u8], limits: &ImportLimits) -> Result<(), ImportError> {
    let mut archive =
        zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| ImportError::Damaged(e.to_string()))?;
    if archive.len() > crate::import::XLSX_PARTS_MAX {
        return Err(ImportError::Damaged(format!("{} parts", archive.len())));
    }
    let max = limits.unpacked_bytes_max;
    let mut total: u64 = 0;
    for i in 0..archive.len() {
        let part = archive.by_index(i).map_err(|e| ImportError::Damaged(e.to_string()))?;
        let remaining = max.saturating_sub(total);
        let n = std::io::copy(&mut part.take(remaining.saturating_add(1)), &mut std::io::sink())
            .map_err(|e| ImportError::Damaged(e.to_string()))?;
        total = total.saturating_add(n);
        if total > max {
            return Err(ImportError::Unpacked { max_bytes: max });
        }
    }
    Ok(())
}

fn read_xlsx(bytes: &[u8], limits: &ImportLimits) -> Result<Vec<Row>, ImportError> {
    // Defence in depth: zip and calamine are third-party parsers of hostile bytes (calamine
    // computes cell references with arithmetic that overflows on crafted input, a panic in a
    // debug build). Whatever panics in there is a damaged file, not a crashed request.
    match catch_unwind(AssertUnwindSafe(|| {
        check_unpacked_size(bytes, limits)?;
        read_xlsx_cells(bytes, limits)
    })) {
        Ok(result) => result,
        Err(_) => Err(ImportError::Damaged("the reader failed on this file".into())),
    }
}

fn read_xlsx_cells(bytes: &[u8], limits: &ImportLimits) -> Result<Vec<Row>, ImportError> {
    let mut workbook: Xlsx<_> =
        Xlsx::new(Cursor::new(bytes)).map_err(|e| ImportError::Damaged(e.to_string()))?;
    let sheet = first_worksheet(workbook.sheets_metadata())?;
    let mut reader =
        workbook.worksheet_cells_reader(&sheet).map_err(|e| ImportError::Damaged(e.to_string()))?;
    // Cells stream in XML order (normally row by row); they are gathered by position.
    let mut grid: BTreeMap<u32, BTreeMap<u32, String>> = BTreeMap::new();
    let rows_max = limits.rows_max.saturating_add(crate::import::HEADER_SCAN_ROWS);
    while let Some(cell) = reader.next_cell().map_err(|e| ImportError::Damaged(e.to_string()))? {
        let value = cell_text(cell.get_value());
        if value.is_empty() {
            continue;
        }
        let (row, col) = cell.get_position();
        if col as usize >= limits.columns_max {
            return Err(ImportError::TooManyColumns { max: limits.columns_max });
        }
        if !grid.contains_key(&row) && grid.len() >= rows_max {
            return Err(ImportError::TooManyRows { max: limits.rows_max });
        }
        grid.entry(row).or_default().insert(col, value);
    }
    let mut rows = Vec::with_capacity(grid.len());
    for (row, cols) in grid {
        let width = cols.keys().next_back().map_or(0, |c| *c as usize + 1);
        let mut cells = vec![String::new(); width];
        for (col, value) in cols {
            if let Some(slot) = cells.get_mut(col as usize) {
                *slot = value;
            }
        }
        push_row(&mut rows, row as usize + 1, cells, limits)?;
    }
    Ok(rows)
}

/// The sheet an import reads: the first visible worksheet, else the first worksheet.
pub(crate) fn first_worksheet(sheets: &[calamine::Sheet]) -> Result<String, ImportError> {
    sheets
        .iter()
        .find(|s| s.typ == SheetType::WorkSheet && s.visible == SheetVisible::Visible)
        .or_else(|| sheets.iter().find(|s| s.typ == SheetType::WorkSheet))
        .map(|s| s.name.clone())
        .ok_or(ImportError::NoSheet)
}

/// A cell as text: numbers without a spurious ".0" (a phone or a region code typed into
/// Excel is stored as a number), errors as Excel shows them.
fn cell_text(value: &DataRef<'_>) -> String {
    let text = match value {
        DataRef::Empty => return String::new(),
        DataRef::Int(i) => i.to_string(),
        DataRef::Float(f) => number_text(*f),
        DataRef::String(s) => s.clone(),
        DataRef::SharedString(s) => (*s).to_string(),
        DataRef::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
        DataRef::DateTime(d) => number_text(d.as_f64()),
        DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => s.clone(),
        DataRef::Error(e) => e.to_string(),
    };
    text.trim().to_string()
}

pub(crate) fn number_text(f: f64) -> String {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e15 { format!("{}", f as i64) } else { format!("{f}") }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn encodings_are_detected() {
        assert_eq!(decode("编号,姓名".as_bytes()).unwrap(), "编号,姓名");
        assert_eq!(decode("\u{feff}编号".as_bytes()).unwrap(), "编号");
        let (gbk, _, bad) = encoding_rs::GBK.encode("编号,姓名\n张三");
        assert!(!bad);
        assert!(std::str::from_utf8(&gbk).is_err());
        assert_eq!(decode(&gbk).unwrap(), "编号,姓名\n张三");
        let mut utf16 = vec![0xFF, 0xFE];
        for u in "编号\t姓名".encode_utf16() {
            utf16.extend_from_slice(&u.to_le_bytes());
        }
        assert_eq!(decode(&utf16).unwrap(), "编号\t姓名");
        assert_eq!(decode(&[0x80, 0xFF, 0x00]), Err(ImportError::Encoding));
        assert_eq!(decode(b"a,b\0c"), Err(ImportError::Encoding));
    }

    #[test]
    fn delimiters_are_guessed_from_the_first_line() {
        assert_eq!(delimiter("编号,姓名,角色\n1\t2\t3\t4"), b',');
        assert_eq!(delimiter("编号\t姓名\t角色"), b'\t');
        assert_eq!(delimiter("编号;姓名;角色"), b';');
        assert_eq!(delimiter(""), b',');
    }

    #[test]
    fn numbers_lose_no_digits() {
        assert_eq!(number_text(13800001234.0), "13800001234");
        assert_eq!(number_text(510104.0), "510104");
        assert_eq!(number_text(1.5), "1.5");
        assert_eq!(number_text(f64::NAN), "NaN");
    }

    #[test]
    fn csv_row_numbers_count_blank_lines_and_multiline_cells() {
        let numbers = |text: &str| -> Vec<usize> {
            read_csv(text.as_bytes(), &ImportLimits::default()).unwrap().iter().map(|r| r.number).collect()
        };
        // Excel shows: 1 header, 2 blank, 3 a1 (one record over two lines), 4 and 5 blank, 6 a2.
        let text = "编号,姓名\n\na1,\"张\n三\"\n\n\na2,李四\n";
        assert_eq!(numbers(text), [1, 3, 6]);
        assert_eq!(numbers(&text.replace('\n', "\r\n")), [1, 3, 6]);
        assert_eq!(numbers(text.trim_end()), [1, 3, 6], "no line end after the last record");
        assert_eq!(numbers("h\n\n\nx"), [1, 4]);
        // A row of empty cells is a row too.
        assert_eq!(numbers("h\n,,\nx\n"), [1, 3]);
        let rows = read_csv(text.as_bytes(), &ImportLimits::default()).unwrap();
        assert_eq!(rows[1].cells, ["a1", "张\n三"]);
    }
}
