//! Trust roots and the chain rules: signatures, validity, CA flags and path lengths, and the
//! identity rules that plain X.509 path validation does not know (role and scope of every
//! certificate against its issuer's).

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use serde::{Deserialize, Serialize};
use x509_parser::oid_registry::{OID_EC_P256, OID_KEY_TYPE_EC_PUBLIC_KEY, OID_SIG_ECDSA_WITH_SHA256};
use x509_parser::prelude::{ASN1Time, X509Certificate};
use x509_parser::x509::SubjectPublicKeyInfo;

use crate::error::{IdentityError, StoreError, VerifyError};
use crate::files;
use crate::identity::{NodeIdentity, Role, identity_of, parse_certificate, scope_strictly_contains};
use crate::limits::{MAX_CHAIN_CERTS, MAX_TRUST_ROOTS};

/// File name of the trust roots in a credentials directory.
pub const ROOTS_FILE: &str = "roots.pem";

/// Names a CA key: BLAKE3 of its DER SubjectPublicKeyInfo. Revocation lists are keyed by it, not by
/// node id, so a rogue CA that reuses another CA's node id cannot replace that CA's list.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct KeyId([u8; 32]);

impl KeyId {
    pub(crate) fn of_spki(spki_der: &[u8]) -> Self {
        KeyId(*blake3::hash(spki_der).as_bytes())
    }

    pub fn to_hex(&self) -> String {
        blake3::Hash::from_bytes(self.0).to_hex().to_string()
    }
}

impl TryFrom<String> for KeyId {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        blake3::Hash::from_hex(&s)
            .map(|h| KeyId(*h.as_bytes()))
            .map_err(|_| "key id is not 64 hex digits".into())
    }
}

impl From<KeyId> for String {
    fn from(k: KeyId) -> String {
        k.to_hex()
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({})", &self.to_hex()[..16])
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// The province root certificate(s) every node trusts. Usually one; a second during a root key
/// rollover.
#[derive(Clone)]
pub struct TrustRoots {
    roots: Arc<Vec<TrustedRoot>>,
}

#[derive(Clone)]
struct TrustedRoot {
    der: CertificateDer<'static>,
    identity: NodeIdentity,
}

impl fmt::Debug for TrustRoots {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.roots.iter().map(|r| r.identity.to_string())).finish()
    }
}

impl TrustRoots {
    /// Accepts self-signed province CA certificates (role `province`, CA, ECDSA P-256).
    pub fn new(certs: Vec<CertificateDer<'static>>) -> Result<Self, VerifyError> {
        if certs.is_empty() || certs.len() > MAX_TRUST_ROOTS {
            return Err(VerifyError::ChainTooLong { len: certs.len(), max: MAX_TRUST_ROOTS });
        }
        let mut roots = Vec::with_capacity(certs.len());
        for (index, der) in certs.into_iter().enumerate() {
            let cert = parse_certificate(&der).map_err(|source| VerifyError::Identity { index, source })?;
            let identity = identity_of(&cert).map_err(|source| VerifyError::Identity { index, source })?;
            if identity.role() != Role::Province || !cert.is_ca() {
                return Err(VerifyError::NotCa { index });
            }
            check_algorithms(&cert, &cert, index)?;
            if cert.subject().as_raw() != cert.issuer().as_raw() || cert.verify_signature(None).is_err() {
                return Err(VerifyError::BadSignature { index });
            }
            roots.push(TrustedRoot { identity, der: der.clone() });
        }
        Ok(TrustRoots { roots: Arc::new(roots) })
    }

    pub fn certificates(&self) -> Vec<CertificateDer<'static>> {
        self.roots.iter().map(|r| r.der.clone()).collect()
    }

    pub fn identities(&self) -> Vec<NodeIdentity> {
        self.roots.iter().map(|r| r.identity.clone()).collect()
    }

    /// SHA-256 fingerprints (hex, as `openssl x509 -fingerprint -sha256` shows them without colons),
    /// for an operator to compare out of band when a kiosk first learns its roots.
    pub fn fingerprints(&self) -> Vec<String> {
        self.roots
            .iter()
            .map(|r| {
                ring::digest::digest(&ring::digest::SHA256, &r.der)
                    .as_ref()
                    .iter()
                    .map(|b| format!("{b:02X}"))
                    .collect()
            })
            .collect()
    }

    pub(crate) fn rustls_store(&self) -> RootCertStore {
        let mut store = RootCertStore::empty();
        // Already validated in `new`: webpki accepts what we accepted.
        let (_added, _ignored) = store.add_parsable_certificates(self.certificates());
        store
    }

    fn find_by_der(&self, der: &[u8]) -> Option<&TrustedRoot> {
        self.roots.iter().find(|r| r.der.as_ref() == der)
    }

    pub fn to_pem(&self) -> String {
        files::certs_to_pem(&self.certificates())
    }

    pub fn from_pem(pem: &[u8]) -> Result<Self, VerifyError> {
        let certs = files::certs_from_pem(pem)
            .ok_or(VerifyError::Identity { index: 0, source: IdentityError::MalformedCertificate })?;
        TrustRoots::new(certs)
    }

    /// Writes `dir/roots.pem`.
    pub fn save(&self, dir: &Path) -> Result<(), StoreError> {
        files::write_atomic(dir, ROOTS_FILE, self.to_pem().as_bytes(), false)
    }

    /// Reads `dir/roots.pem`.
    pub fn load(dir: &Path) -> Result<Self, StoreError> {
        let path = dir.join(ROOTS_FILE);
        let pem = files::read_bounded(&path)?;
        let certs =
            files::certs_from_pem(&pem).ok_or(StoreError::Pem { path: path.clone(), what: "certificate" })?;
        TrustRoots::new(certs).map_err(|source| StoreError::Verify { path, source: Box::new(source) })
    }
}

/// One certificate of a verified chain.
#[derive(Clone, Debug)]
pub struct ChainCert {
    pub identity: NodeIdentity,
    /// Serial number, lowercase hex without leading zero bytes.
    pub serial: String,
    /// Key id of the certificate's public key (meaningful for CAs: their revocation lists).
    pub key_id: KeyId,
}

/// A chain that passed [`verify_chain`]: certificates from the end entity (or revocation-list signer)
/// up, then the trust root that signed the last of them.
#[derive(Clone, Debug)]
pub struct VerifiedChain {
    /// End entity first; empty when the subject is the root itself (a root-signed revocation list).
    pub certs: Vec<ChainCert>,
    pub root: ChainCert,
}

impl VerifiedChain {
    /// The identity this chain proves: the end entity's (or the root's when the chain is the root).
    pub fn subject(&self) -> &NodeIdentity {
        self.certs.first().map_or(&self.root.identity, |c| &c.identity)
    }

    /// The certificate at `index` (0 = subject), the root after the last.
    pub(crate) fn at(&self, index: usize) -> &ChainCert {
        self.certs.get(index).unwrap_or(&self.root)
    }
}

/// What the first certificate of a chain is meant to be.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Subject {
    /// A TLS end-entity certificate.
    EndEntity,
    /// A CA certificate that signs something else than certificates (a revocation list).
    Ca,
}

/// Verifies a TLS end-entity chain presented as `leaf` + `intermediates` at `now_unix`: see
/// [`crate`] docs, "Chain rules". Independent of, and stricter than, webpki's path building: the
/// chain must be linear in the order presented, every signature ECDSA P-256 with SHA-256.
pub fn verify_chain(
    roots: &TrustRoots,
    leaf: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
    now_unix: u64,
) -> Result<VerifiedChain, VerifyError> {
    let mut ders: Vec<&[u8]> = Vec::with_capacity(intermediates.len() + 1);
    ders.push(leaf.as_ref());
    ders.extend(intermediates.iter().map(|c| c.as_ref()));
    verify_ders(roots, &ders, Subject::EndEntity, now_unix)
}

pub(crate) fn verify_ders(
    roots: &TrustRoots,
    ders: &[&[u8]],
    subject: Subject,
    now_unix: u64,
) -> Result<VerifiedChain, VerifyError> {
    let mut ders = ders.to_vec();
    // A CA chain that is just a root: the root itself signs (its own revocation list).
    if subject == Subject::Ca
        && let [only] = ders.as_slice()
        && let Some(root) = roots.find_by_der(only)
    {
        let cert =
            parse_certificate(&root.der).map_err(|source| VerifyError::Identity { index: 0, source })?;
        check_valid_at(&cert, 0, &root.identity, now_unix)?;
        return Ok(VerifiedChain { certs: Vec::new(), root: chain_cert(&cert, root.identity.clone()) });
    }
    // Some stacks send the root along: it adds nothing, the root is what we already trust.
    if ders.len() > 1 && ders.last().is_some_and(|last| roots.find_by_der(last).is_some()) {
        ders.pop();
    }
    if ders.is_empty() || ders.len() > MAX_CHAIN_CERTS - 1 {
        return Err(VerifyError::ChainTooLong { len: ders.len(), max: MAX_CHAIN_CERTS - 1 });
    }
    let mut certs = Vec::with_capacity(ders.len());
    let mut identities = Vec::with_capacity(ders.len());
    for (index, der) in ders.iter().enumerate() {
        let cert = parse_certificate(der).map_err(|source| VerifyError::Identity { index, source })?;
        let identity = identity_of(&cert).map_err(|source| VerifyError::Identity { index, source })?;
        identities.push(identity);
        certs.push(cert);
    }
    let n = certs.len();

    // The root that signed the last certificate.
    let last = &certs[n - 1];
    let mut anchor = None;
    for root in roots.roots.iter() {
        let root_cert =
            parse_certificate(&root.der).map_err(|source| VerifyError::Identity { index: n, source })?;
        if root_cert.subject().as_raw() == last.issuer().as_raw()
            && check_algorithms(last, &root_cert, n - 1).is_ok()
            && last.verify_signature(Some(root_cert.public_key())).is_ok()
        {
            anchor = Some((root, root_cert));
            break;
        }
    }
    let (root, root_cert) = anchor.ok_or(VerifyError::UnknownIssuer)?;
    check_valid_at(&root_cert, n, &root.identity, now_unix)?;

    for index in 0..n {
        let cert = &certs[index];
        check_valid_at(cert, index, &identities[index], now_unix)?;
        let (issuer, issuer_identity) = match certs.get(index + 1) {
            Some(issuer) => (issuer, &identities[index + 1]),
            None => (&root_cert, &root.identity),
        };
        check_algorithms(cert, issuer, index)?;
        if index + 1 < n
            && (cert.issuer().as_raw() != issuer.subject().as_raw()
                || cert.verify_signature(Some(issuer.public_key())).is_err())
        {
            return Err(VerifyError::BadSignature { index });
        }
        // The issuer is a CA, and the CAs it has below it in this chain (not counting the subject)
        // fit its pathLenConstraint.
        let issuer_index = index + 1;
        if !issuer.is_ca() {
            return Err(VerifyError::NotCa { index: issuer_index });
        }
        if let Ok(Some(bc)) = issuer.basic_constraints()
            && let Some(max) = bc.value.path_len_constraint
            && index as u64 > u64::from(max)
        {
            return Err(VerifyError::PathLenExceeded { index });
        }
        let identity = &identities[index];
        if index == 0 {
            check_subject_rules(subject, cert, identity, issuer_identity)?;
        } else {
            // Intermediates are hub CAs strictly inside their issuer's scope.
            if identity.role() != Role::Hub {
                return Err(VerifyError::IssuerNotAllowed {
                    node: identities[index - 1].clone(),
                    issuer: identity.clone(),
                });
            }
            check_hub_ca(identity, issuer_identity)?;
        }
    }
    let verified = certs.iter().zip(identities).map(|(cert, identity)| chain_cert(cert, identity)).collect();
    Ok(VerifiedChain { certs: verified, root: chain_cert(&root_cert, root.identity.clone()) })
}

/// The rules for the first certificate, given the identity of the CA that signed it.
fn check_subject_rules(
    subject: Subject,
    cert: &X509Certificate<'_>,
    identity: &NodeIdentity,
    issuer: &NodeIdentity,
) -> Result<(), VerifyError> {
    let not_allowed = || VerifyError::IssuerNotAllowed { node: identity.clone(), issuer: issuer.clone() };
    match subject {
        Subject::Ca => {
            if !cert.is_ca() {
                return Err(VerifyError::SignerNotCa);
            }
            if identity.role() != Role::Hub {
                return Err(not_allowed());
            }
            check_hub_ca(identity, issuer)
        }
        Subject::EndEntity => {
            if cert.is_ca() {
                return Err(VerifyError::LeafIsCa);
            }
            match identity.role() {
                // A kiosk is issued by a hub CA, strictly inside its scope.
                Role::Kiosk => {
                    if issuer.role() != Role::Hub {
                        return Err(not_allowed());
                    }
                    if !scope_strictly_contains(issuer.scope(), identity.scope()) {
                        return Err(VerifyError::OutsideIssuerScope {
                            node: identity.clone(),
                            issuer: issuer.clone(),
                        });
                    }
                    Ok(())
                }
                // A hub's or the province's own TLS certificate is issued by its own CA: same node
                // id, same scope.
                Role::Hub | Role::Province => {
                    if issuer.role() != identity.role()
                        || issuer.node_id() != identity.node_id()
                        || issuer.scope() != identity.scope()
                    {
                        return Err(not_allowed());
                    }
                    Ok(())
                }
            }
        }
    }
}

/// A hub CA is issued by the province root or by another hub's CA, strictly inside the issuer's
/// scope.
fn check_hub_ca(identity: &NodeIdentity, issuer: &NodeIdentity) -> Result<(), VerifyError> {
    if issuer.role() == Role::Kiosk || issuer.node_id() == identity.node_id() {
        return Err(VerifyError::IssuerNotAllowed { node: identity.clone(), issuer: issuer.clone() });
    }
    if !scope_strictly_contains(issuer.scope(), identity.scope()) {
        return Err(VerifyError::OutsideIssuerScope { node: identity.clone(), issuer: issuer.clone() });
    }
    Ok(())
}

/// DER of the AlgorithmIdentifier `ecdsa-with-SHA256` (no parameters, RFC 5758).
const ECDSA_WITH_SHA256_DER: [u8; 12] =
    [0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];

/// Our PKI signs with ECDSA P-256 / SHA-256 only; anything else was not issued by us.
fn check_algorithms(
    cert: &X509Certificate<'_>,
    issuer: &X509Certificate<'_>,
    index: usize,
) -> Result<(), VerifyError> {
    let spki: &SubjectPublicKeyInfo<'_> = issuer.public_key();
    let curve = spki.algorithm.parameters.as_ref().and_then(|p| p.as_oid().ok());
    if cert.signature_algorithm.algorithm != OID_SIG_ECDSA_WITH_SHA256
        || cert.tbs_certificate.signature.algorithm != OID_SIG_ECDSA_WITH_SHA256
        || spki.algorithm.algorithm != OID_KEY_TYPE_EC_PUBLIC_KEY
        || curve.as_ref() != Some(&OID_EC_P256)
        || !outer_encoding_is_exact(cert)
    {
        return Err(VerifyError::BadSignature { index });
    }
    Ok(())
}

/// The signature covers only the TBS, and x509-parser reads the rest leniently (it accepts wrong
/// tags for the outer signatureAlgorithm and the signature BIT STRING): require the exact DER
/// around the TBS, as webpki does, so that no two encodings of one certificate both pass.
fn outer_encoding_is_exact(cert: &X509Certificate<'_>) -> bool {
    const BIT_STRING: u8 = 0x03;
    const SEQUENCE: u8 = 0x30;
    let whole = cert.as_raw();
    let tbs = cert.tbs_certificate.as_ref();
    // The TBS is a sub-slice of the certificate's bytes (zero-copy parse): find where it ends.
    let start = (tbs.as_ptr() as usize).wrapping_sub(whole.as_ptr() as usize);
    let after = start.checked_add(tbs.len()).and_then(|end| whole.get(end..));
    whole.first() == Some(&SEQUENCE)
        && after.is_some_and(|after| {
            after.starts_with(&ECDSA_WITH_SHA256_DER)
                && after.get(ECDSA_WITH_SHA256_DER.len()) == Some(&BIT_STRING)
        })
        && cert.signature_value.unused_bits == 0
}

fn check_valid_at(
    cert: &X509Certificate<'_>,
    index: usize,
    identity: &NodeIdentity,
    now_unix: u64,
) -> Result<(), VerifyError> {
    let now = i64::try_from(now_unix).ok().and_then(|t| ASN1Time::from_timestamp(t).ok());
    match now {
        Some(now) if cert.validity().is_valid_at(now) => Ok(()),
        _ => Err(VerifyError::NotValidNow { index, node_id: identity.node_id().to_owned() }),
    }
}

fn chain_cert(cert: &X509Certificate<'_>, identity: NodeIdentity) -> ChainCert {
    ChainCert {
        identity,
        serial: serial_hex(cert.raw_serial()),
        key_id: KeyId::of_spki(cert.public_key().raw),
    }
}

/// Serial as lowercase hex without leading zero bytes (DER may add one to keep the number positive).
pub(crate) fn serial_hex(raw: &[u8]) -> String {
    let start = raw.iter().position(|&b| b != 0).unwrap_or(raw.len());
    let hex: String = raw[start..].iter().map(|b| format!("{b:02x}")).collect();
    if hex.is_empty() { "00".to_owned() } else { hex }
}
