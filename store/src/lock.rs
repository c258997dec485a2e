//! One process per data directory: a node holds an exclusive lock on `node.lock` in its data
//! directory for as long as its store is open. A second process on the same directory is refused
//! with the first one's PID, before it touches the database (migrations, `blobs/tmp/`).
//!
//! The lock is the operating system's advisory file lock (`flock` on Linux), released by the
//! kernel when the process ends however it ends, so a crash never leaves a stale lock behind; the
//! PID written into the file is only for the message.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::{StoreError, io_err};

/// The lock file's name inside the data directory.
pub const LOCK_FILE: &str = "node.lock";
/// How long an open waits for a lock held by this same process's previous store (its thread
/// closes the database just after the handle is dropped) before taking it for another process's.
pub const LOCK_WAIT_MAX: Duration = Duration::from_secs(3);

/// An exclusive lock on a data directory, held until dropped.
#[derive(Debug)]
pub struct DirLock {
    _file: File,
    path: PathBuf,
}

impl DirLock {
    /// Takes the lock, waiting up to [`LOCK_WAIT_MAX`]; [`StoreError::InUse`] names the holder.
    pub fn acquire(dir: &Path) -> Result<DirLock, StoreError> {
        let path = dir.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io_err(&path))?;
        let deadline = Instant::now() + LOCK_WAIT_MAX;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(TryLockError::WouldBlock) => {
                    let mut holder = String::new();
                    let _ = file.read_to_string(&mut holder);
                    let pid = holder.trim().parse::<u32>().ok();
                    return Err(StoreError::InUse { dir: dir.to_path_buf(), pid });
                }
                Err(TryLockError::Error(e)) => return Err(io_err(&path)(e)),
            }
        }
        let pid = std::process::id();
        file.set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| file.write_all(format!("{pid}\n").as_bytes()))
            .and_then(|()| file.sync_all())
            .map_err(io_err(&path))?;
        Ok(DirLock { _file: file, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}
