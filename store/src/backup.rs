//! Backups of a node's data directory, consistent while the node runs, and restoring them.
//!
//! A backup is a directory holding:
//! - `yizhan.sqlite3`: a consistent snapshot of the database (`VACUUM INTO` in one read
//!   transaction, beside the running node's writes; WAL readers never block writers);
//! - the blob files that snapshot names, copied after it (blobs are immutable and named by
//!   hash, and a blob's file is in place before its row commits, so every file the snapshot names
//!   exists), each verified against its hash as it is copied;
//! - every other file of the node (keys, certificates and CA keys, enrolment codes, the
//!   find-similar index, the node id), except what belongs to the running process: the lock,
//!   the live database with its WAL, temporary and partial blobs and cached outboards;
//! - `backup.json`, written last: what the backup holds. A directory without it is not a
//!   complete backup and is refused by [`restore`].
//!
//! Restoring copies a backup into an empty data directory. The store, once opened, draws a new
//! incarnation; its peers see that their checkpoints name history it lost and resend what it
//! lacks (docs/PROTOCOL.md, "Restored stores"), and what it records next never collides with
//! what the lost history sent.
//!
//! A backup holds the node's secret keys: it is written with owner-only permissions.

use std::fs;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};
use serde::{Deserialize, Serialize};

use crate::blobs::{Hash, blob_path, verify_file};
use crate::{StoreError, io_err, migrations};

/// The database file inside a data directory.
pub const DB_FILE: &str = "yizhan.sqlite3";
/// The description written last into a backup.
pub const MANIFEST: &str = "backup.json";
/// The format of [`MANIFEST`] this build writes and reads.
pub const FORMAT: u32 = 1;
/// Files other than the database and blobs a backup copies at most (a node has a dozen).
pub const OTHER_FILES_MAX: usize = 100_000;

/// What a backup holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    /// The node id of the data directory (its `node-id` file), empty when it has none.
    pub node_id: String,
    /// When the backup was taken, in ms since the Unix epoch, on the machine's clock.
    pub created_ms: i64,
    pub schema_version: i64,
    pub docs: i64,
    pub blobs: u64,
    pub blob_bytes: u64,
    pub other_files: u64,
    /// Blobs found damaged in the store (their bytes do not match their hash): copied anyway so
    /// nothing is dropped silently; `yizhan check` names them.
    pub damaged_blobs: Vec<String>,
}

fn backup_error(message: impl Into<String>) -> StoreError {
    StoreError::Task(message.into())
}

/// Backs up the data directory `data_dir` (which a running node may hold) into `out`, which
/// must not exist or be empty.
pub fn backup(data_dir: &Path, out: &Path, now_ms: i64) -> Result<Manifest, StoreError> {
    let db_path = data_dir.join(DB_FILE);
    if !db_path.is_file() {
        return Err(backup_error(format!("{} holds no Yizhan store (no {DB_FILE})", data_dir.display())));
    }
    prepare_empty_dir(out)?;
    // 1. The database, consistent as of one instant.
    let live = Connection::open_with_flags(&db_path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    live.busy_timeout(std::time::Duration::from_secs(10))?;
    let schema_version: i64 = live.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if schema_version > migrations::known_version() {
        return Err(StoreError::TooNew { found: schema_version, known: migrations::known_version() });
    }
    let snapshot_path = out.join(DB_FILE);
    live.execute("VACUUM INTO ?1", [snapshot_path.to_string_lossy().as_ref()])?;
    drop(live);
    // 2. The blob files the snapshot names.
    let snapshot = Connection::open_with_flags(&snapshot_path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let docs: i64 = snapshot.query_row("SELECT COUNT(*) FROM docs", [], |r| r.get(0))?;
    let mut stmt =
        snapshot.prepare("SELECT hash, size FROM blobs WHERE inline_data IS NULL ORDER BY hash")?;
    let files: Vec<(String, i64)> =
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?;
    drop(stmt);
    drop(snapshot);
    let (mut blobs, mut blob_bytes, mut damaged_blobs) = (0u64, 0u64, Vec::new());
    for (hash, size) in files {
        let Some(hash) = Hash::parse(&hash) else { continue };
        let (from, to) = (blob_path(data_dir, &hash), blob_path(out, &hash));
        if let Some(parent) = to.parent() {
            fs::create_dir_all(parent).map_err(io_err(parent))?;
        }
        fs::copy(&from, &to).map_err(io_err(&from))?;
        if let Err(e) = verify_file(&to, &hash) {
            tracing::warn!(blob = %hash, error = %e, "backing up a damaged blob");
            damaged_blobs.push(hash.as_str().to_string());
        }
        blobs += 1;
        blob_bytes += u64::try_from(size).unwrap_or(0);
    }
    // 3. Everything else of the node.
    let mut other_files = 0u64;
    copy_tree(data_dir, out, data_dir, &mut other_files)?;
    let node_id =
        fs::read_to_string(data_dir.join("node-id")).map(|s| s.trim().to_string()).unwrap_or_default();
    let manifest = Manifest {
        format: FORMAT,
        node_id,
        created_ms: now_ms,
        schema_version,
        docs,
        blobs,
        blob_bytes,
        other_files,
        damaged_blobs,
    };
    // 4. The manifest last: its presence says the backup is whole.
    let json = serde_json::to_vec_pretty(&manifest).map_err(|e| backup_error(e.to_string()))?;
    let tmp = out.join(format!("{MANIFEST}.tmp"));
    fs::write(&tmp, json).map_err(io_err(&tmp))?;
    fs::File::open(&tmp).and_then(|f| f.sync_all()).map_err(io_err(&tmp))?;
    fs::rename(&tmp, out.join(MANIFEST)).map_err(io_err(out))?;
    Ok(manifest)
}

/// Restores the backup in `from` into `data_dir`, which must not exist or be empty (a restore
/// never overwrites a store). Returns the backup's manifest.
pub fn restore(from: &Path, data_dir: &Path) -> Result<Manifest, StoreError> {
    let manifest = read_manifest(from)?;
    if !from.join(DB_FILE).is_file() {
        return Err(backup_error(format!("{} has no {DB_FILE}: not a Yizhan backup", from.display())));
    }
    prepare_empty_dir(data_dir)?;
    let mut n = 0u64;
    copy_all(from, data_dir, from, &mut n)?;
    // Durable before anyone starts a node on it.
    fs::File::open(data_dir.join(DB_FILE)).and_then(|f| f.sync_all()).map_err(io_err(data_dir))?;
    Ok(manifest)
}

/// Reads and checks a backup's manifest.
pub fn read_manifest(from: &Path) -> Result<Manifest, StoreError> {
    let path = from.join(MANIFEST);
    let bytes = fs::read(&path).map_err(|e| {
        backup_error(format!("{} is not a complete Yizhan backup (no {MANIFEST}: {e})", from.display()))
    })?;
    let manifest: Manifest = serde_json::from_slice(&bytes)
        .map_err(|e| backup_error(format!("{}: unreadable ({e})", path.display())))?;
    if manifest.format != FORMAT {
        return Err(backup_error(format!(
            "{}: backup format {} (this build reads {FORMAT})",
            path.display(),
            manifest.format
        )));
    }
    Ok(manifest)
}

/// Creates `dir` (owner-only) or checks that it is empty.
fn prepare_empty_dir(dir: &Path) -> Result<(), StoreError> {
    if dir.exists() {
        let mut entries = fs::read_dir(dir).map_err(io_err(dir))?;
        if entries.next().is_some() {
            return Err(backup_error(format!("{} is not empty: choose a new directory", dir.display())));
        }
    }
    fs::create_dir_all(dir).map_err(io_err(dir))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(io_err(dir))?;
    }
    Ok(())
}

/// Whether a path of the live data directory (relative) belongs to the running process or to
/// the parts a backup takes separately.
fn skipped(rel: &Path) -> bool {
    let first = rel.components().next().and_then(|c| c.as_os_str().to_str()).unwrap_or("");
    first == "blobs" || first == crate::lock::LOCK_FILE || first.starts_with(DB_FILE) || first == MANIFEST
}

/// Copies the node's other files from `root` (recursively under `dir`) into `out`.
fn copy_tree(root: &Path, out: &Path, dir: &Path, n: &mut u64) -> Result<(), StoreError> {
    for entry in fs::read_dir(dir).map_err(io_err(dir))?.flatten() {
        let path = entry.path();
        let Ok(rel) = path.strip_prefix(root) else { continue };
        if skipped(rel) {
            continue;
        }
        let kind = entry.file_type().map_err(io_err(&path))?;
        if kind.is_dir() {
            copy_tree(root, out, &path, n)?;
        } else if kind.is_file() {
            *n += 1;
            if *n as usize > OTHER_FILES_MAX {
                return Err(backup_error(format!("more than {OTHER_FILES_MAX} files besides the store")));
            }
            let to = out.join(rel);
            if let Some(parent) = to.parent() {
                fs::create_dir_all(parent).map_err(io_err(parent))?;
            }
            fs::copy(&path, &to).map_err(io_err(&path))?;
        }
        // Symbolic links and other kinds are not the node's files: not followed.
    }
    Ok(())
}

/// Copies a whole backup (but its manifest) into a data directory.
fn copy_all(root: &Path, out: &Path, dir: &Path, n: &mut u64) -> Result<(), StoreError> {
    for entry in fs::read_dir(dir).map_err(io_err(dir))?.flatten() {
        let path = entry.path();
        let Ok(rel) = path.strip_prefix(root) else { continue };
        if rel == Path::new(MANIFEST) {
            continue;
        }
        let kind = entry.file_type().map_err(io_err(&path))?;
        let to: PathBuf = out.join(rel);
        if kind.is_dir() {
            fs::create_dir_all(&to).map_err(io_err(&to))?;
            copy_all(root, out, &path, n)?;
        } else if kind.is_file() {
            *n += 1;
            fs::copy(&path, &to).map_err(io_err(&path))?;
        }
    }
    Ok(())
}
