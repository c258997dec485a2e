//! Errors of each operation, one enum per kind of operation.

use std::path::PathBuf;

/// A case the index refuses.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CaseError {
    #[error("case id must be 1 to {max_bytes} bytes")]
    BadId { max_bytes: usize },
    #[error("{field} is longer than {max_chars} characters")]
    TooLong { field: &'static str, max_chars: usize },
    #[error("question and answer must not be empty")]
    Empty,
    #[error("a case has at most {max} photos")]
    TooManyPhotos { max: usize },
    #[error("the index is full ({max} cases)")]
    IndexFull { max: usize },
}

/// A search the index refuses.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SearchError {
    #[error("a search returns 1 to {max} results")]
    BadResultCount { max: usize },
    #[error("query text is longer than {max_chars} characters")]
    QueryTooLong { max_chars: usize },
    #[error("a query has at most {max} photos")]
    TooManyPhotos { max: usize },
}

/// Opening, saving or updating an index on disk.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("i/o on {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path} is not a find-similar index (or was written by another version): {reason}")]
    Format { path: PathBuf, reason: String },
    #[error(transparent)]
    Case(#[from] CaseError),
    #[error("this index is not backed by a directory")]
    NotOnDisk,
}

/// Loading a JSONL knowledge or evaluation file.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("i/o on {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path} line {line}: {reason}")]
    Line { path: PathBuf, line: usize, reason: String },
    #[error("{path}: more than {max} rows")]
    TooManyRows { path: PathBuf, max: usize },
    #[error(transparent)]
    Store(#[from] StoreError),
}
