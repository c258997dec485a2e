//! Content-addressed blobs named by their BLAKE3 hash.
//!
//! Large blobs are files at `blobs/<first two hex>/<hash>`, written to `blobs/tmp/` first,
//! fsynced, then renamed into place, so a crash never leaves a partial blob under its final
//! name. A blob becomes visible only when its row is in the `blobs` table, which is inserted
//! after the file is durable.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::{StoreError, io_err};

/// Hex BLAKE3 hash (64 lowercase hex chars).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Hash(String);

impl Hash {
    pub fn of(bytes: &[u8]) -> Hash {
        Hash(blake3::hash(bytes).to_hex().to_string())
    }

    /// Parses a hash from user input (a URL), refusing anything that is not 64 hex chars, so
    /// that a hash can never name a path outside the blob directory.
    pub fn parse(s: &str) -> Option<Hash> {
        (s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
            .then(|| Hash(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Hash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobInfo {
    pub hash: Hash,
    pub size: u64,
    pub mime: String,
}

impl BlobInfo {
    /// A document's reference to this blob (`group`: the original it belongs to).
    pub fn attachment(
        &self,
        kind: &str,
        role: &str,
        group: &str,
        name: &str,
        at_ms: i64,
    ) -> yizhan_core::Attachment {
        yizhan_core::Attachment {
            hash: self.hash.to_string(),
            kind: kind.into(),
            role: role.into(),
            group: group.into(),
            mime: self.mime.clone(),
            bytes: self.size,
            width: 0,
            height: 0,
            duration_ms: 0,
            name: name.into(),
            added_at_ms: at_ms,
        }
    }
}

/// A blob whose bytes are durable under their final name but not yet recorded (invisible).
#[derive(Debug)]
pub struct FinishedBlob {
    pub hash: Hash,
    pub size: u64,
    pub path: PathBuf,
}

/// A blob made ready off the database thread, to be recorded with a document in one
/// transaction ([`crate::Db::create_doc_with`]): small ones as bytes, large ones as a durable file.
#[derive(Debug)]
pub enum NewBlob {
    Inline { info: BlobInfo, bytes: Vec<u8> },
    File { info: BlobInfo, blob: FinishedBlob },
}

impl NewBlob {
    /// Hashes `bytes` and, when they exceed `inline_max`, writes them durably under their final
    /// name. Synchronous: call it from a blocking task.
    pub fn prepare(dir: &Path, bytes: Vec<u8>, mime: &str, inline_max: u64) -> Result<NewBlob, StoreError> {
        let size = bytes.len() as u64;
        if size <= inline_max {
            let info = BlobInfo { hash: Hash::of(&bytes), size, mime: mime.to_string() };
            return Ok(NewBlob::Inline { info, bytes });
        }
        let mut w = BlobWriter::new(dir, size)?;
        w.write(&bytes)?;
        NewBlob::from_finished(w.finish()?, mime, inline_max)
    }

    /// Wraps a finished (streamed) blob; a small one is read back to be stored inline.
    pub fn from_finished(blob: FinishedBlob, mime: &str, inline_max: u64) -> Result<NewBlob, StoreError> {
        let info = BlobInfo { hash: blob.hash.clone(), size: blob.size, mime: mime.to_string() };
        if blob.size <= inline_max {
            let bytes = fs::read(&blob.path).map_err(io_err(&blob.path))?;
            // No file blob can share this hash (same hash, same size, and this size is stored
            // inline), so the file is not needed.
            let _ = fs::remove_file(&blob.path);
            return Ok(NewBlob::Inline { info, bytes });
        }
        Ok(NewBlob::File { info, blob })
    }

    pub fn info(&self) -> &BlobInfo {
        match self {
            NewBlob::Inline { info, .. } | NewBlob::File { info, .. } => info,
        }
    }
}

#[derive(Debug)]
pub enum BlobBody {
    Inline(Vec<u8>),
    File(PathBuf),
}

pub(crate) fn blob_path(dir: &Path, hash: &Hash) -> PathBuf {
    dir.join("blobs").join(&hash.0[..2]).join(&hash.0)
}

pub(crate) fn tmp_dir(dir: &Path) -> PathBuf {
    dir.join("blobs").join("tmp")
}

static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Streams a blob to a temporary file while hashing it. Synchronous: call it from a blocking
/// task. Dropping a writer without [`BlobWriter::finish`] removes the temporary file.
pub struct BlobWriter {
    dir: PathBuf,
    tmp: PathBuf,
    file: Option<File>,
    hasher: blake3::Hasher,
    size: u64,
    size_max: u64,
}

impl BlobWriter {
    pub(crate) fn new(dir: &Path, size_max: u64) -> Result<BlobWriter, StoreError> {
        let tmp_dir = tmp_dir(dir);
        let n = TMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp = tmp_dir.join(format!("{}-{n}.part", std::process::id()));
        let file = File::create(&tmp).map_err(io_err(&tmp))?;
        Ok(BlobWriter {
            dir: dir.to_path_buf(),
            tmp,
            file: Some(file),
            hasher: blake3::Hasher::new(),
            size: 0,
            size_max,
        })
    }

    /// Appends bytes. Fails (and keeps nothing) once the blob would exceed its size limit.
    pub fn write(&mut self, chunk: &[u8]) -> Result<(), StoreError> {
        self.size += chunk.len() as u64;
        if self.size > self.size_max {
            return Err(StoreError::Io {
                path: self.tmp.clone(),
                source: std::io::Error::other(format!("blob larger than {} bytes", self.size_max)),
            });
        }
        self.hasher.update(chunk);
        match self.file.as_mut() {
            Some(f) => f.write_all(chunk).map_err(io_err(&self.tmp)),
            None => Err(StoreError::Closed),
        }
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Where the bytes written so far are, so they can be inspected (probed) before the blob
    /// is finished. The file disappears when the writer is dropped unfinished.
    pub fn tmp_path(&self) -> &Path {
        &self.tmp
    }

    /// Makes the bytes durable under their final name and returns the hash and the path.
    /// The blob is not visible until the caller records it in the database.
    pub fn finish(mut self) -> Result<FinishedBlob, StoreError> {
        let file = self.file.take().ok_or(StoreError::Closed)?;
        file.sync_all().map_err(io_err(&self.tmp))?;
        drop(file);
        let hash = Hash(self.hasher.finalize().to_hex().to_string());
        let dest = blob_path(&self.dir, &hash);
        let parent = dest.parent().map(Path::to_path_buf).unwrap_or_default();
        if !parent.exists() {
            fs::create_dir_all(&parent).map_err(io_err(&parent))?;
            // A new fan-out directory must itself survive a power cut.
            if let Some(grand) = parent.parent() {
                File::open(grand).and_then(|d| d.sync_all()).map_err(io_err(grand))?;
            }
        }
        fs::rename(&self.tmp, &dest).map_err(io_err(&dest))?;
        // The rename is durable only once the directory entry is.
        File::open(&parent).and_then(|d| d.sync_all()).map_err(io_err(&parent))?;
        Ok(FinishedBlob { hash, size: self.size, path: dest })
    }
}

impl Drop for BlobWriter {
    fn drop(&mut self) {
        if self.file.is_some() {
            self.file = None;
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// Re-hashes a stored blob file and checks it against its name.
pub(crate) fn verify_file(path: &Path, hash: &Hash) -> Result<(), StoreError> {
    let mut hasher = blake3::Hasher::new();
    let file = File::open(path).map_err(io_err(path))?;
    hasher.update_reader(file).map_err(io_err(path))?;
    let got = hasher.finalize().to_hex().to_string();
    if got != hash.0 {
        return Err(StoreError::BlobCorrupt {
            hash: hash.0.clone(),
            detail: format!("content hashes to {got}"),
        });
    }
    Ok(())
}
