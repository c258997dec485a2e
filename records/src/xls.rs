//! Reading an Excel 97-2003 workbook (.xls: BIFF8 records in an OLE compound file) into rows,
//! as [`crate::grid`] reads an XLSX.
//!
//! calamine parses every sheet of an .xls at once into dense ranges that span from a sheet's
//! first to its last cell, so one far-away cell (`IV65536`) in a small file would cost
//! 65,536 × 256 cells of memory per sheet. Before calamine sees the file, the workbook stream's
//! cell records are scanned (only their row and column) and a workbook whose sheets span more
//! than [`DENSE_CELLS_MAX`] cells in all is refused. An encrypted workbook (an encrypted XLSX is an
//! OLE file too, and an .xls may carry a password) is refused as unsupported.

use std::io::{Cursor, Read};
use std::panic::{AssertUnwindSafe, catch_unwind};

use calamine::{Data, Reader, Xls};

use crate::grid::{Row, first_worksheet, number_text, push_row};
use crate::import::{ImportError, ImportLimits};

/// Cells the sheets of one .xls may span in all (calamine holds each as about 32 bytes, and
/// formulas again in a second range): about 60 MB at most while a file is read.
pub const DENSE_CELLS_MAX: u64 = 1_000_000;

/// BIFF record types that carry a cell's row and column in their first four bytes.
const CELL_RECORDS: [u16; 8] = [
    0x0006, // FORMULA
    0x00FD, // LABELSST
    0x0203, // NUMBER
    0x0204, // LABEL
    0x027E, // RK
    0x0201, // BLANK
    0x0205, // BOOLERR
    0x00D6, // RSTRING
];
/// MULRK and MULBLANK: a row, a first column, ..., and the last column in their last two bytes.
const MULTI_CELL_RECORDS: [u16; 2] = [0x00BD, 0x00BE];
/// BOF (BIFF5/8 and older) and EOF: a sheet's records begin and end.
const BOF_RECORDS: [u16; 4] = [0x0809, 0x0409, 0x0209, 0x0009];
const EOF: u16 = 0x000A;
/// FILEPASS: the workbook is encrypted.
const FILEPASS: u16 = 0x002F;

pub(crate) fn read_xls(bytes: &[u8], limits: &ImportLimits) -> Result<Vec<Row>, ImportError> {
    let stream = workbook_stream(bytes, limits)?;
    if dense_cells(&stream)? > DENSE_CELLS_MAX {
        return Err(ImportError::Extent { cells_max: DENSE_CELLS_MAX });
    }
    // Defence in depth, as for XLSX: a panic in the third-party parser is a damaged file.
    match catch_unwind(AssertUnwindSafe(|| read_cells(bytes, limits))) {
        Ok(result) => result,
        Err(_) => Err(ImportError::Damaged("the reader failed on this file".into())),
    }
}

/// The workbook's BIFF stream, or why there is none to read.
fn workbook_stream(bytes: &[u8], limits: &ImportLimits) -> Result<Vec<u8>, ImportError> {
    let mut file = catch_unwind(AssertUnwindSafe(|| cfb::CompoundFile::open(Cursor::new(bytes))))
        .map_err(|_| ImportError::Damaged("the compound file reader failed".into()))?
        .map_err(|e| ImportError::Damaged(e.to_string()))?;
    if file.exists("/EncryptedPackage") {
        return Err(ImportError::Unsupported);
    }
    let name =
        ["/Workbook", "/Book"].into_iter().find(|n| file.is_stream(n)).ok_or(ImportError::Unsupported)?;
    let stream = file.open_stream(name).map_err(|e| ImportError::Damaged(e.to_string()))?;
    let mut out = Vec::new();
    stream
        .take(limits.file_bytes_max as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| ImportError::Damaged(e.to_string()))?;
    Ok(out)
}

/// How many cells the sheets span in all, first to last row times first to last column, as a
/// dense reader holds them. An encrypted workbook is unsupported.
fn dense_cells(stream: &[u8]) -> Result<u64, ImportError> {
    // Per sheet: first and last row, first and last column.
    let mut bounds: Option<(u16, u16, u16, u16)> = None;
    let mut total: u64 = 0;
    let span = |b: Option<(u16, u16, u16, u16)>| {
        b.map_or(0, |(r0, r1, c0, c1)| (u64::from(r1 - r0) + 1) * (u64::from(c1 - c0) + 1))
    };
    let mut at = 0usize;
    while let Some(header) = stream.get(at..at + 4) {
        let typ = u16::from_le_bytes([header[0], header[1]]);
        let len = usize::from(u16::from_le_bytes([header[2], header[3]]));
        let Some(data) = stream.get(at + 4..at + 4 + len) else { break };
        at += 4 + len;
        let u16_at = |i: usize| data.get(i..i + 2).map(|b| u16::from_le_bytes([b[0], b[1]]));
        let cells = if CELL_RECORDS.contains(&typ) {
            u16_at(0).zip(u16_at(2)).map(|(row, col)| (row, col, col))
        } else if MULTI_CELL_RECORDS.contains(&typ) && len >= 6 {
            u16_at(0)
                .zip(u16_at(2))
                .zip(u16_at(len - 2))
                .map(|((row, first), last)| (row, first.min(last), first.max(last)))
        } else {
            None
        };
        if let Some((row, c0, c1)) = cells {
            bounds = Some(match bounds {
                None => (row, row, c0, c1),
                Some((r0, r1, a, b)) => (r0.min(row), r1.max(row), a.min(c0), b.max(c1)),
            });
        } else if BOF_RECORDS.contains(&typ) || typ == EOF {
            total = total.saturating_add(span(bounds.take()));
        } else if typ == FILEPASS {
            return Err(ImportError::Unsupported);
        }
    }
    Ok(total.saturating_add(span(bounds)))
}

fn read_cells(bytes: &[u8], limits: &ImportLimits) -> Result<Vec<Row>, ImportError> {
    let mut workbook: Xls<_> =
        Xls::new(Cursor::new(bytes)).map_err(|e| ImportError::Damaged(e.to_string()))?;
    let sheet = first_worksheet(workbook.sheets_metadata())?;
    let range = workbook.worksheet_range(&sheet).map_err(|e| ImportError::Damaged(e.to_string()))?;
    let Some((first_row, first_col)) = range.start() else { return Ok(Vec::new()) };
    let first_col = first_col as usize;
    // Each row's width is checked as it is kept (trailing empty cells do not count).
    if first_col >= limits.columns_max {
        return Err(ImportError::TooManyColumns { max: limits.columns_max });
    }
    let mut rows = Vec::new();
    for (i, cells) in range.rows().enumerate() {
        let mut row = vec![String::new(); first_col];
        row.extend(cells.iter().map(data_text));
        push_row(&mut rows, first_row as usize + i + 1, row, limits)?;
    }
    Ok(rows)
}

/// A cell as text, as [`crate::grid`] writes an XLSX cell.
fn data_text(value: &Data) -> String {
    let text = match value {
        Data::Empty => return String::new(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) => number_text(*f),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
        Data::DateTime(d) => number_text(d.as_f64()),
        Data::Error(e) => e.to_string(),
    };
    text.trim().to_string()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn record(typ: u16, data: &[u8]) -> Vec<u8> {
        let mut r = typ.to_le_bytes().to_vec();
        r.extend((data.len() as u16).to_le_bytes());
        r.extend(data);
        r
    }

    fn cell(typ: u16, row: u16, col: u16) -> Vec<u8> {
        let mut d = row.to_le_bytes().to_vec();
        d.extend(col.to_le_bytes());
        d.extend([0u8; 6]);
        record(typ, &d)
    }

    #[test]
    fn the_span_of_each_sheet_is_counted() {
        let mut s = record(0x0809, &[0; 16]);
        s.extend(cell(0x0203, 2, 1));
        s.extend(cell(0x00FD, 11, 4));
        s.extend(record(EOF, &[]));
        assert_eq!(dense_cells(&s).unwrap(), 10 * 4);
        // A second sheet with a MULRK over columns 0..=9 on one row.
        s.extend(record(0x0809, &[0; 16]));
        let mut mul = 5u16.to_le_bytes().to_vec();
        mul.extend(0u16.to_le_bytes());
        mul.extend([0u8; 6 * 10]);
        mul.extend(9u16.to_le_bytes());
        s.extend(record(0x00BD, &mul));
        s.extend(record(EOF, &[]));
        assert_eq!(dense_cells(&s).unwrap(), 40 + 10);
        // One far cell.
        s.extend(record(0x0809, &[0; 16]));
        s.extend(cell(0x0203, 0, 0));
        s.extend(cell(0x027E, 65535, 255));
        assert_eq!(dense_cells(&s).unwrap(), 50 + 65536 * 256);
        // A truncated record ends the scan; nothing panics on garbage.
        assert_eq!(dense_cells(&[0x03, 0x02, 0xFF, 0xFF, 0]).unwrap(), 0);
        assert_eq!(dense_cells(&record(FILEPASS, &[0; 4])), Err(ImportError::Unsupported));
    }
}
