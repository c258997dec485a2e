//! Spreadsheets in and out of Yizhan: importing people (experts, officers, staff) from CSV,
//! XLSX or XLS (Excel 97-2003), exporting service records (服务台账) as CSV or XLSX, and reports (evaluations,
//! rankings) as XLSX sheets ([`tables_xlsx`]).
//!
//! Pure functions over bytes: no store, no HTTP, no clock. The hub reads an upload's bytes,
//! calls [`parse_people`], shows the [`RowError`]s and stores the good rows; it assembles
//! [`ServiceRecord`]s from its projections and sends [`export_csv`] or [`export_xlsx`].
//! A crate of its own so that the spreadsheet libraries (calamine, rust_xlsxwriter, zip,
//! encoding_rs) and formats stay out of `core` and the nodes that never touch a spreadsheet.
//!
//! Every bound is a named constant: [`FILE_BYTES_MAX`], [`ROWS_MAX`], [`CELL_CHARS_MAX`],
//! [`COLUMNS_MAX`], [`UNPACKED_BYTES_MAX`], [`XLS_DENSE_CELLS_MAX`], [`ERRORS_MAX`] for imports (overridable through
//! [`ImportLimits`]), [`EXPORT_ROWS_MAX`] for XLSX exports.

mod export;
mod grid;
mod import;
mod region_path;
mod table;
mod template;
mod time;
mod xls;

pub use export::{
    EXPORT_HEADER, EXPORT_ROWS_MAX, ExportError, ServiceRecord, XLSX_TEXT_CHARS_MAX, export_csv, export_xlsx,
};
/// The sheet reader every import shares (other modules' imports, e.g. `yizhan-industry`, map
/// their own columns over it): the non-empty rows of the first worksheet with every bound.
pub use grid::{Row as SheetRow, read_rows};
pub use import::{
    CELL_CHARS_MAX, COLUMNS_MAX, ERRORS_MAX, FILE_BYTES_MAX, HEADER_SCAN_ROWS, ImportError, ImportLimits,
    PeopleImport, ROWS_MAX, RowError, UNPACKED_BYTES_MAX, parse_people, parse_people_with,
};
pub use region_path::{Resolved, region_label, resolve as resolve_region};
pub use table::{Cell, SHEETS_MAX, Sheet, tables_xlsx};
pub use template::{people_template_csv, people_template_xlsx};
pub use xls::DENSE_CELLS_MAX as XLS_DENSE_CELLS_MAX;
