//! A city or county hub's CA made on the hub's own machine: its key never leaves it.
//!
//! 1. The hub makes a key and a signing request ([`request_hub_ca`]): the key stays in its `pki`
//!    directory (`ca-request.key`, mode 0600) beside the request (`ca-request.csr`), which the
//!    operator carries to the province.
//! 2. The province's CA, wherever its key is kept (a directory on an offline machine will do),
//!    signs it ([`sign_hub_request`]): the identity is the one the request names, everything
//!    else is the CA's, and the answer is a directory with `ca.pem` (the hub's CA chain) and
//!    `roots.pem`.
//! 3. Back at the hub, [`install_hub_ca`] checks the answer against the pending key (same identity,
//!    same key, the chain verifying under the roots) and only then writes `ca.pem`, `ca.key` and
//!    `roots.pem` and removes the pending files. The operator compares the printed root
//!    fingerprint with the one the province printed at `ca-init`.

use std::fs;
use std::path::Path;
use std::time::SystemTime;

use rcgen::{KeyPair, PublicKeyData};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateSigningRequestDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::authority::{Authority, CA_CHAIN_FILE, EnrolmentRequest};
use crate::chain::TrustRoots;
use crate::error::{CertError, StoreError};
use crate::files;
use crate::identity::{NodeIdentity, Role};

/// The pending request's private key in the hub's `pki` directory (mode 0600).
pub const CA_REQUEST_KEY_FILE: &str = "ca-request.key";
/// The pending request, to carry to the province.
pub const CA_REQUEST_FILE: &str = "ca-request.csr";

fn invalid(e: impl std::fmt::Display) -> StoreError {
    StoreError::Invalid(e.to_string())
}

/// Makes hub `node_id`'s key and CA signing request in `pki` (refused if a CA or a pending
/// request is already there). Returns the request's path.
pub fn request_hub_ca(pki: &Path, node_id: &str, scope: &str) -> Result<std::path::PathBuf, StoreError> {
    for existing in [crate::CA_KEY_FILE, CA_REQUEST_KEY_FILE] {
        if pki.join(existing).exists() {
            return Err(invalid(format!(
                "{} already exists: refusing to replace a CA key or a pending request",
                pki.join(existing).display()
            )));
        }
    }
    let identity = NodeIdentity::new(node_id, Role::Hub, scope).map_err(invalid)?;
    let request = EnrolmentRequest::new(identity).map_err(invalid)?;
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(request.key().serialize_der()));
    files::write_atomic(pki, CA_REQUEST_KEY_FILE, files::key_to_pem(&key).as_bytes(), true)?;
    files::write_atomic(pki, CA_REQUEST_FILE, request.csr_pem().as_bytes(), false)?;
    Ok(pki.join(CA_REQUEST_FILE))
}

/// Signs the hub CA request at `csr_path` with `authority` and writes the answer into `out`
/// (`ca.pem`: the new CA's chain; `roots.pem`). Returns the identity signed.
pub fn sign_hub_request(
    authority: &Authority,
    csr_path: &Path,
    out: &Path,
    now: SystemTime,
) -> Result<NodeIdentity, StoreError> {
    let (subject, public_key) = read_csr(csr_path)?;
    if subject.role() != Role::Hub {
        return Err(invalid(format!("{subject} is not a hub: only hub CAs are signed this way")));
    }
    let chain = authority.sign(&subject, &public_key, now).map_err(invalid)?;
    files::write_atomic(out, CA_CHAIN_FILE, files::certs_to_pem(&chain).as_bytes(), false)?;
    authority.roots().save(out)?;
    Ok(subject)
}

/// The identity and public key a PEM signing request at `path` asks for, checked as
/// [`crate::authority::parse_csr`] checks every request.
fn read_csr(path: &Path) -> Result<(NodeIdentity, rcgen::SubjectPublicKeyInfo), StoreError> {
    let pem = files::read_bounded(path)?;
    let csr = CertificateSigningRequestDer::from_pem_slice(&pem)
        .map_err(|_| StoreError::Pem { path: path.to_owned(), what: "certificate request" })?;
    crate::authority::parse_csr(csr.as_ref()).map_err(invalid)
}

/// Installs the province's answer (a directory holding `ca.pem` and `roots.pem`) as the CA of
/// the hub whose pending request is in `pki`.
pub fn install_hub_ca(pki: &Path, answer: &Path, now: SystemTime) -> Result<Authority, StoreError> {
    let key_path = pki.join(CA_REQUEST_KEY_FILE);
    let key_pem = files::read_bounded(&key_path)?;
    let key = files::key_from_pem(&key_pem)
        .ok_or(StoreError::Pem { path: key_path.clone(), what: "PKCS#8 private key" })?;
    let (wanted, public_key) = read_csr(&pki.join(CA_REQUEST_FILE))?;
    let pair = KeyPair::try_from(&key).map_err(|_| StoreError::KeyMismatch { path: key_path.clone() })?;
    if pair.der_bytes() != public_key.der_bytes() {
        return Err(StoreError::KeyMismatch { path: key_path });
    }
    let chain_path = answer.join(CA_CHAIN_FILE);
    let chain = files::certs_from_pem(&files::read_bounded(&chain_path)?)
        .ok_or(StoreError::Pem { path: chain_path.clone(), what: "certificate" })?;
    let roots = TrustRoots::load(answer)?;
    let authority = Authority::from_parts(chain, &key, roots, now).map_err(|e| match e {
        CertError::KeyMismatch => StoreError::KeyMismatch { path: chain_path.clone() },
        other => StoreError::Invalid(format!("{}: {other}", chain_path.display())),
    })?;
    if authority.identity() != &wanted {
        return Err(invalid(format!(
            "{}: issued for {}, but this hub asked for {wanted}",
            chain_path.display(),
            authority.identity()
        )));
    }
    authority.save(pki)?;
    for f in [CA_REQUEST_KEY_FILE, CA_REQUEST_FILE] {
        fs::remove_file(pki.join(f)).map_err(|source| StoreError::Io { path: pki.join(f), source })?;
    }
    Ok(authority)
}
