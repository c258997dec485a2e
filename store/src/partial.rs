//! Blob transfer on disk: resumable partial blobs (the receiving side) and stored blobs with
//! their outboard (the sending side), for the state machines in [`yizhan_sync_proto::blob`].
//! Synchronous: call these from blocking tasks.
//!
//! A partial blob is `blobs/partial/<hash>` (the verified prefix of the content) plus
//! `blobs/partial/<hash>.groups`: a 16-byte header (magic, group size) and the BLAKE3 hash of
//! each 16 KiB group of the prefix, appended only after the group's bytes are fsynced. On reopen
//! the prefix counts up to the first group whose bytes no longer match their record; everything
//! after it (an unsynced tail, a torn write, flipped bits) is truncated, and the transfer resumes
//! from there. A partial blob becomes a blob only through [`PartialBlob::finish`], which hashes the
//! whole content once more, so no corruption of the partial file can ever become visible.
//!
//! Outboards (the BLAKE3 tree a sender needs, about 0.4 % of the content) are computed on demand
//! and cached as `blobs/outboard/<hash>` with a checksum; a bad cache file is recomputed.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use yizhan_sync_proto::blob::{
    self as proto, BLOB_BYTES_MAX, BlobHash, BlobProvider, BlobReceiver, BlobSink, BlobSource, GROUP_BYTES,
    OutboardBuilder, ReceiverConfig,
};

use crate::blobs::{self, BlobBody, FinishedBlob, Hash};
use crate::{StoreError, io_err};

const GROUPS_MAGIC: &[u8; 8] = b"YZPART\x00\x01";
const GROUPS_HEADER_BYTES: u64 = 16;
const RECORD_BYTES: u64 = 32;
const READ_BUF_BYTES: usize = 1024 * 1024;

pub fn partial_dir(dir: &Path) -> PathBuf {
    dir.join("blobs").join("partial")
}

pub fn outboard_dir(dir: &Path) -> PathBuf {
    dir.join("blobs").join("outboard")
}

/// About how many bytes of blob `hash` a partial transfer holds verified (its recorded groups),
/// for progress shown to people; 0 when none.
pub fn partial_len(dir: &Path, hash: &Hash) -> u64 {
    let groups = partial_dir(dir).join(format!("{hash}.groups"));
    fs::metadata(groups)
        .map(|m| m.len().saturating_sub(GROUPS_HEADER_BYTES) / RECORD_BYTES * GROUP_BYTES)
        .unwrap_or(0)
}

/// The raw 32 bytes of a hash, as the wire carries it.
pub fn hash_bytes(hash: &Hash) -> BlobHash {
    proto::from_hex(hash.as_str()).expect("a Hash is 64 hex digits")
}

/// The store's name for a hash from the wire.
pub fn hash_from_bytes(hash: &BlobHash) -> Hash {
    Hash::parse(&proto::to_hex(hash)).expect("hex of 32 bytes is a valid Hash")
}

fn invalid(path: &Path, msg: String) -> StoreError {
    StoreError::Io { path: path.to_path_buf(), source: io::Error::new(io::ErrorKind::InvalidInput, msg) }
}

fn groups_header() -> [u8; GROUPS_HEADER_BYTES as usize] {
    let mut h = [0u8; GROUPS_HEADER_BYTES as usize];
    h[..8].copy_from_slice(GROUPS_MAGIC);
    h[8..12].copy_from_slice(&(GROUP_BYTES as u32).to_le_bytes());
    h
}

/// The verified prefix of a blob being received, durable across restarts. Holds an exclusive
/// lock on its file: a second transfer of the same blob cannot open it at the same time.
#[derive(Debug)]
pub struct PartialBlob {
    dir: PathBuf,
    hash: Hash,
    data_path: PathBuf,
    groups_path: PathBuf,
    data: File,
    groups: File,
    verified: u64,
}

impl PartialBlob {
    /// Opens (or starts) the partial blob of `hash` in the store directory `dir`, keeping only the
    /// prefix whose groups still match their records.
    pub fn open(dir: &Path, hash: &Hash) -> Result<PartialBlob, StoreError> {
        let pdir = partial_dir(dir);
        fs::create_dir_all(&pdir).map_err(io_err(&pdir))?;
        let data_path = pdir.join(hash.as_str());
        let groups_path = pdir.join(format!("{hash}.groups"));
        let open = |path: &Path| {
            OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(path)
                .map_err(io_err(path))
        };
        let data = open(&data_path)?;
        match data.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(invalid(&data_path, "the partial blob is in use by another transfer".into()));
            }
            Err(TryLockError::Error(e)) => return Err(io_err(&data_path)(e)),
        }
        let groups = open(&groups_path)?;
        let mut partial = PartialBlob {
            dir: dir.to_path_buf(),
            hash: hash.clone(),
            data_path,
            groups_path,
            data,
            groups,
            verified: 0,
        };
        partial.recover()?;
        Ok(partial)
    }

    /// Finds the verified prefix: whole groups, each matching its record, up to the first that
    /// does not. Truncates both files to it.
    fn recover(&mut self) -> Result<(), StoreError> {
        let (dp, gp) = (self.data_path.clone(), self.groups_path.clone());
        let data_len = self.data.metadata().map_err(io_err(&dp))?.len();
        let groups_len = self.groups.metadata().map_err(io_err(&gp))?.len();
        let mut header = [0u8; GROUPS_HEADER_BYTES as usize];
        let header_ok = groups_len >= GROUPS_HEADER_BYTES && {
            self.groups.seek(SeekFrom::Start(0)).map_err(io_err(&gp))?;
            self.groups.read_exact(&mut header).map_err(io_err(&gp))?;
            header == groups_header()
        };
        let records = if header_ok { (groups_len - GROUPS_HEADER_BYTES) / RECORD_BYTES } else { 0 };
        let candidates = records.min(data_len / GROUP_BYTES);
        let mut good = 0;
        if candidates > 0 {
            let mut recs = vec![0u8; (candidates * RECORD_BYTES) as usize];
            self.groups.read_exact(&mut recs).map_err(io_err(&gp))?;
            self.data.seek(SeekFrom::Start(0)).map_err(io_err(&dp))?;
            let mut group = vec![0u8; GROUP_BYTES as usize];
            for rec in recs.chunks_exact(RECORD_BYTES as usize) {
                self.data.read_exact(&mut group).map_err(io_err(&dp))?;
                if blake3::hash(&group).as_bytes()[..] != rec[..] {
                    break;
                }
                good += 1;
            }
        }
        let verified = good * GROUP_BYTES;
        if !header_ok {
            self.groups.set_len(0).map_err(io_err(&gp))?;
            self.groups.seek(SeekFrom::Start(0)).map_err(io_err(&gp))?;
            self.groups.write_all(&groups_header()).map_err(io_err(&gp))?;
            self.groups.sync_data().map_err(io_err(&gp))?;
        }
        let groups_end = GROUPS_HEADER_BYTES + good * RECORD_BYTES;
        if header_ok && groups_len != groups_end {
            self.groups.set_len(groups_end).map_err(io_err(&gp))?;
            self.groups.sync_data().map_err(io_err(&gp))?;
        }
        if data_len != verified {
            self.data.set_len(verified).map_err(io_err(&dp))?;
            self.data.sync_data().map_err(io_err(&dp))?;
        }
        self.verified = verified;
        Ok(())
    }

    pub fn hash(&self) -> &Hash {
        &self.hash
    }

    /// Bytes held, verified and durable: always whole groups, except once the final (short)
    /// group of the blob is written.
    pub fn verified_bytes(&self) -> u64 {
        self.verified
    }

    /// A receiver that resumes this blob from what it holds.
    pub fn receiver(&self, config: ReceiverConfig) -> BlobReceiver {
        BlobReceiver::new(hash_bytes(&self.hash), self.verified, config)
    }

    /// Appends verified bytes at `offset` (which must be [`Self::verified_bytes`]) and makes them
    /// durable before returning: content first, then the records that vouch for it.
    pub fn append(&mut self, offset: u64, bytes: &[u8]) -> Result<(), StoreError> {
        let (dp, gp) = (self.data_path.clone(), self.groups_path.clone());
        if offset != self.verified {
            return Err(invalid(
                &dp,
                format!("write at {offset}, but the partial blob holds {} bytes", self.verified),
            ));
        }
        if bytes.is_empty() {
            return Ok(());
        }
        if !self.verified.is_multiple_of(GROUP_BYTES) {
            return Err(invalid(&dp, "the final group is already written".into()));
        }
        let end = self.verified + bytes.len() as u64;
        if end > BLOB_BYTES_MAX {
            return Err(invalid(&dp, format!("a blob of more than {BLOB_BYTES_MAX} bytes")));
        }
        self.data.seek(SeekFrom::Start(self.verified)).map_err(io_err(&dp))?;
        self.data.write_all(bytes).map_err(io_err(&dp))?;
        self.data.sync_data().map_err(io_err(&dp))?;
        let mut records =
            Vec::with_capacity(bytes.len().div_ceil(GROUP_BYTES as usize) * RECORD_BYTES as usize);
        for group in bytes.chunks(GROUP_BYTES as usize) {
            records.extend_from_slice(blake3::hash(group).as_bytes());
        }
        let at = GROUPS_HEADER_BYTES + self.verified / GROUP_BYTES * RECORD_BYTES;
        self.groups.seek(SeekFrom::Start(at)).map_err(io_err(&gp))?;
        self.groups.write_all(&records).map_err(io_err(&gp))?;
        self.groups.sync_data().map_err(io_err(&gp))?;
        self.verified = end;
        Ok(())
    }

    /// Makes the complete blob (`size_bytes` as the receiver reported it) durable under its final
    /// name after hashing it once more. Record the result with
    /// `Db::record_new_blob(NewBlob::from_finished(..))` to make it visible. An incomplete blob is
    /// refused and kept; one whose bytes do not hash to its name is deleted (`BlobCorrupt`).
    pub fn finish(self, size_bytes: u64) -> Result<FinishedBlob, StoreError> {
        let dp = self.data_path.clone();
        if self.verified != size_bytes {
            return Err(invalid(&dp, format!("holds {} of {size_bytes} bytes", self.verified)));
        }
        self.data.set_len(self.verified).map_err(io_err(&dp))?;
        self.data.sync_all().map_err(io_err(&dp))?;
        let mut hasher = blake3::Hasher::new();
        let mut reader = &self.data;
        reader.seek(SeekFrom::Start(0)).map_err(io_err(&dp))?;
        hasher.update_reader(reader).map_err(io_err(&dp))?;
        let got = hasher.finalize().to_hex().to_string();
        if got != self.hash.as_str() {
            let hash = self.hash.to_string();
            let _ = self.discard();
            return Err(StoreError::BlobCorrupt {
                hash,
                detail: format!("the received content hashes to {got}"),
            });
        }
        let dest = blobs::blob_path(&self.dir, &self.hash);
        let parent = dest.parent().map(Path::to_path_buf).unwrap_or_default();
        fs::create_dir_all(&parent).map_err(io_err(&parent))?;
        fs::rename(&dp, &dest).map_err(io_err(&dest))?;
        File::open(&parent).and_then(|d| d.sync_all()).map_err(io_err(&parent))?;
        let _ = fs::remove_file(&self.groups_path);
        Ok(FinishedBlob { hash: self.hash.clone(), size: self.verified, path: dest })
    }

    /// Deletes the partial blob (the transfer is abandoned).
    pub fn discard(self) -> Result<(), StoreError> {
        let PartialBlob { data, groups, data_path, groups_path, .. } = self;
        drop((data, groups));
        let _ = fs::remove_file(&groups_path);
        fs::remove_file(&data_path).map_err(io_err(&data_path))
    }
}

impl BlobSink for PartialBlob {
    fn write_verified(&mut self, offset: u64, bytes: &[u8]) -> io::Result<()> {
        self.append(offset, bytes).map_err(io::Error::other)
    }
}

enum Body {
    Inline(Vec<u8>),
    File(File),
}

/// A stored blob opened for sending: its bytes and its outboard.
pub struct StoredBlob {
    hash: Hash,
    size: u64,
    body: Body,
    outboard: Vec<u8>,
}

static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

impl StoredBlob {
    /// Opens a blob from what [`crate::Db::blob`] returned. The outboard comes from the cache, or
    /// is computed (which hashes the whole content: a blob whose bytes no longer match its name
    /// is `BlobCorrupt`) and cached for file blobs.
    pub fn open(dir: &Path, hash: &Hash, body: BlobBody) -> Result<StoredBlob, StoreError> {
        match body {
            BlobBody::Inline(bytes) => {
                let (root, outboard) = proto::outboard(&bytes);
                if root != hash_bytes(hash) {
                    return Err(StoreError::BlobCorrupt {
                        hash: hash.to_string(),
                        detail: "inline bytes differ".into(),
                    });
                }
                Ok(StoredBlob {
                    hash: hash.clone(),
                    size: bytes.len() as u64,
                    body: Body::Inline(bytes),
                    outboard,
                })
            }
            BlobBody::File(path) => {
                let file = File::open(&path).map_err(io_err(&path))?;
                let size = file.metadata().map_err(io_err(&path))?.len();
                if size > BLOB_BYTES_MAX {
                    return Err(invalid(&path, format!("{size} bytes, more than a transfer allows")));
                }
                let outboard = match load_outboard(dir, hash, size) {
                    Some(ob) => ob,
                    None => {
                        let ob = compute_outboard(&file, &path, hash)?;
                        if let Err(e) = save_outboard(dir, hash, &ob) {
                            tracing::warn!(blob = %hash, error = %e, "cannot cache the outboard");
                        }
                        ob
                    }
                };
                Ok(StoredBlob { hash: hash.clone(), size, body: Body::File(file), outboard })
            }
        }
    }

    pub fn hash(&self) -> &Hash {
        &self.hash
    }
}

impl BlobSource for StoredBlob {
    fn size(&self) -> u64 {
        self.size
    }

    fn read_content(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        match &self.body {
            Body::Inline(bytes) => {
                let src = usize::try_from(offset)
                    .ok()
                    .and_then(|start| bytes.get(start..start.checked_add(buf.len())?))
                    .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "read past the end"))?;
                buf.copy_from_slice(src);
                Ok(())
            }
            Body::File(file) => read_exact_at(file, offset, buf),
        }
    }

    fn outboard(&self) -> &[u8] {
        &self.outboard
    }
}

#[cfg(unix)]
fn read_exact_at(file: &File, offset: u64, buf: &mut [u8]) -> io::Result<()> {
    use std::os::unix::fs::FileExt;
    file.read_exact_at(buf, offset)
}

#[cfg(not(unix))]
fn read_exact_at(file: &File, offset: u64, buf: &mut [u8]) -> io::Result<()> {
    let mut f = file;
    f.seek(SeekFrom::Start(offset))?;
    f.read_exact(buf)
}

fn compute_outboard(file: &File, path: &Path, hash: &Hash) -> Result<Vec<u8>, StoreError> {
    let mut builder = OutboardBuilder::new();
    let mut reader = file;
    reader.seek(SeekFrom::Start(0)).map_err(io_err(path))?;
    let mut buf = vec![0u8; READ_BUF_BYTES];
    loop {
        let n = reader.read(&mut buf).map_err(io_err(path))?;
        if n == 0 {
            break;
        }
        builder.update(&buf[..n]);
    }
    let (root, outboard) = builder.finish();
    if root != hash_bytes(hash) {
        return Err(StoreError::BlobCorrupt {
            hash: hash.to_string(),
            detail: format!("content hashes to {}", proto::to_hex(&root)),
        });
    }
    Ok(outboard)
}

/// The cached outboard, if present and intact (right length and header, checksum matches).
fn load_outboard(dir: &Path, hash: &Hash, size: u64) -> Option<Vec<u8>> {
    let path = outboard_dir(dir).join(hash.as_str());
    let mut bytes = fs::read(&path).ok()?;
    let body_len = bytes.len().checked_sub(RECORD_BYTES as usize)?;
    let ok = blake3::hash(&bytes[..body_len]).as_bytes()[..] == bytes[body_len..]
        && proto::outboard_fits(&bytes[..body_len], size);
    if !ok {
        tracing::warn!(blob = %hash, "cached outboard is damaged; recomputing");
        let _ = fs::remove_file(&path);
        return None;
    }
    bytes.truncate(body_len);
    Some(bytes)
}

/// Caches an outboard (followed by its BLAKE3 checksum): written to `blobs/tmp/`, fsynced, renamed.
fn save_outboard(dir: &Path, hash: &Hash, outboard: &[u8]) -> Result<(), StoreError> {
    let odir = outboard_dir(dir);
    fs::create_dir_all(&odir).map_err(io_err(&odir))?;
    let tmp_dir = blobs::tmp_dir(dir);
    fs::create_dir_all(&tmp_dir).map_err(io_err(&tmp_dir))?;
    let n = TMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    let tmp = tmp_dir.join(format!("{}-outboard-{n}.part", std::process::id()));
    let write = || -> io::Result<()> {
        let mut f = File::create(&tmp)?;
        f.write_all(outboard)?;
        f.write_all(blake3::hash(outboard).as_bytes())?;
        f.sync_all()
    };
    if let Err(e) = write() {
        let _ = fs::remove_file(&tmp);
        return Err(io_err(&tmp)(e));
    }
    let dest = odir.join(hash.as_str());
    fs::rename(&tmp, &dest).map_err(io_err(&dest))
}

/// Deletes a blob's cached outboard (when the blob itself is deleted).
pub fn forget_outboard(dir: &Path, hash: &Hash) {
    let _ = fs::remove_file(outboard_dir(dir).join(hash.as_str()));
}

/// Finds blobs for a [`yizhan_sync_proto::blob::BlobServer`]. `lookup` says whether a blob is
/// visible and may go to this peer, and where its bytes are: typically [`crate::Db::blob`]
/// through the store actor, filtered by the peer's scope (answer `None` when it may not).
pub struct StoreBlobs<F> {
    dir: PathBuf,
    lookup: F,
}

impl<F> StoreBlobs<F>
where
    F: FnMut(&Hash) -> Result<Option<BlobBody>, StoreError>,
{
    pub fn new(dir: impl Into<PathBuf>, lookup: F) -> StoreBlobs<F> {
        StoreBlobs { dir: dir.into(), lookup }
    }
}

impl<F> BlobProvider for StoreBlobs<F>
where
    F: FnMut(&Hash) -> Result<Option<BlobBody>, StoreError>,
{
    type Source = StoredBlob;

    fn open_source(&mut self, hash: &BlobHash) -> io::Result<Option<StoredBlob>> {
        let hash = hash_from_bytes(hash);
        let Some(body) = (self.lookup)(&hash).map_err(io::Error::other)? else {
            return Ok(None);
        };
        StoredBlob::open(&self.dir, &hash, body).map(Some).map_err(io::Error::other)
    }
}
