//! Secret key files kept beside the store (never inside it): 32 random bytes, created on
//! first use with mode 0600 and fsynced. The field key that seals phone numbers is one.

use std::io::Write;
use std::path::Path;

pub const KEY_LEN: usize = 32;

/// Reads the 32-byte key at `path`, creating it on first start.
pub fn load_or_create(path: &Path) -> std::io::Result<[u8; KEY_LEN]> {
    match std::fs::read(path) {
        Ok(bytes) => <[u8; KEY_LEN]>::try_from(bytes.as_slice()).map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{} holds {} bytes, not a {KEY_LEN}-byte key", path.display(), bytes.len()),
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key: [u8; KEY_LEN] = rand::random();
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            write_private(path, &key)?;
            tracing::info!(path = %path.display(), "created a new key");
            Ok(key)
        }
        Err(e) => Err(e),
    }
}

/// Writes a new file readable only by its owner, fsynced.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}
