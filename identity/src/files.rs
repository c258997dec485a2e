//! PEM encoding and the crate's only file I/O: bounded reads and atomic writes, private keys with
//! mode 0600.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use base64::Engine;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::error::StoreError;
use crate::limits::{MAX_CHAIN_CERTS, MAX_PEM_FILE_BYTES};

/// Encodes DER as one PEM block with 64-character lines (RFC 7468).
pub(crate) fn pem_block(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = String::with_capacity(b64.len() + b64.len() / 64 + 2 * label.len() + 40);
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    // base64 output is ASCII, so splitting on byte boundaries is always on char boundaries.
    for line in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

pub(crate) fn certs_to_pem(certs: &[CertificateDer<'_>]) -> String {
    certs.iter().map(|c| pem_block("CERTIFICATE", c)).collect()
}

/// All CERTIFICATE blocks of a PEM text, in order (other blocks are skipped). `None` when the text
/// is not valid PEM, holds no certificate, or holds more than `MAX_CHAIN_CERTS`.
pub(crate) fn certs_from_pem(pem: &[u8]) -> Option<Vec<CertificateDer<'static>>> {
    let mut certs = Vec::new();
    for cert in CertificateDer::pem_slice_iter(pem) {
        certs.push(cert.ok()?);
        if certs.len() > MAX_CHAIN_CERTS {
            return None;
        }
    }
    if certs.is_empty() { None } else { Some(certs) }
}

/// The PKCS#8 private key of a PEM text (the only key format we write).
pub(crate) fn key_from_pem(pem: &[u8]) -> Option<PrivateKeyDer<'static>> {
    PrivatePkcs8KeyDer::from_pem_slice(pem).ok().map(PrivateKeyDer::Pkcs8)
}

pub(crate) fn key_to_pem(key: &PrivateKeyDer<'_>) -> String {
    pem_block("PRIVATE KEY", key.secret_der())
}

/// Reads a whole file of at most `MAX_PEM_FILE_BYTES`.
pub(crate) fn read_bounded(path: &Path) -> Result<Vec<u8>, StoreError> {
    let io_err = |source| StoreError::Io { path: path.to_owned(), source };
    let file = fs::File::open(path).map_err(io_err)?;
    let mut bytes = Vec::new();
    // Read one byte more than allowed to tell "exactly at the limit" from "too large".
    file.take(MAX_PEM_FILE_BYTES + 1).read_to_end(&mut bytes).map_err(io_err)?;
    if bytes.len() as u64 > MAX_PEM_FILE_BYTES {
        return Err(StoreError::TooLarge { path: path.to_owned(), max: MAX_PEM_FILE_BYTES });
    }
    Ok(bytes)
}

/// Writes `dir/name` atomically (temp file, fsync, rename), so a crash never leaves a truncated
/// certificate or key behind. `secret` files are created with mode 0600 before any byte is written.
pub(crate) fn write_atomic(dir: &Path, name: &str, contents: &[u8], secret: bool) -> Result<(), StoreError> {
    let path = dir.join(name);
    let tmp: PathBuf = dir.join(format!(".{name}.tmp"));
    let io_err = |p: &Path| {
        let p = p.to_owned();
        move |source| StoreError::Io { path: p, source }
    };
    fs::create_dir_all(dir).map_err(io_err(dir))?;
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(if secret { 0o600 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = secret; // no file modes to set
    let mut file = options.open(&tmp).map_err(io_err(&tmp))?;
    // `mode` only applies when the file is created: a stale temp file keeps its old mode.
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(fs::Permissions::from_mode(0o600)).map_err(io_err(&tmp))?;
    }
    file.write_all(contents).map_err(io_err(&tmp))?;
    file.sync_all().map_err(io_err(&tmp))?;
    drop(file);
    fs::rename(&tmp, &path).map_err(io_err(&path))?;
    Ok(())
}
