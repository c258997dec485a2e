//! Certificate authorities (the province root and hub CAs), node credentials, and certificate
//! signing requests.

use std::fmt;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
    KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, PublicKeyData, SanType, SerialNumber,
};
use ring::rand::SecureRandom;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::oid_registry::{OID_EC_P256, OID_KEY_TYPE_EC_PUBLIC_KEY};
use x509_parser::prelude::FromDer;

use crate::chain::{Subject, TrustRoots, VerifiedChain, verify_chain, verify_ders};
use crate::error::{CertError, IdentityError, StoreError, VerifyError};
use crate::files;
use crate::identity::{IDENTITY_URI_PREFIX, NodeIdentity, Role, parse_certificate, scope_strictly_contains};
use crate::limits::{
    HUB_CA_VALIDITY, LEAF_VALIDITY, MAX_CHAIN_CERTS, MAX_CSR_BYTES, MAX_INTERMEDIATES, NOT_BEFORE_BACKDATE,
    ROOT_VALIDITY, SERIAL_BYTES,
};

/// Files of an [`Authority`] directory (plus [`crate::ROOTS_FILE`]).
pub const CA_CHAIN_FILE: &str = "ca.pem";
pub const CA_KEY_FILE: &str = "ca.key";
/// Files of a [`NodeCredentials`] directory.
pub const NODE_CHAIN_FILE: &str = "node.pem";
pub const NODE_KEY_FILE: &str = "node.key";

/// Whole seconds since 1970; times before 1970 count as 1970 (no certificate is valid then anyway).
pub(crate) fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn to_offset(secs: u64) -> Result<time::OffsetDateTime, CertError> {
    i64::try_from(secs)
        .ok()
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .ok_or(CertError::TimeOutOfRange(secs))
}

fn random_serial() -> Result<SerialNumber, CertError> {
    let mut bytes = [0u8; SERIAL_BYTES];
    ring::rand::SystemRandom::new().fill(&mut bytes).map_err(|_| CertError::Random)?;
    // Positive, and never shortened by DER's minimal encoding, so the serial stays 16 bytes.
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    Ok(SerialNumber::from_slice(&bytes))
}

pub(crate) fn generate_key() -> Result<KeyPair, CertError> {
    Ok(KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?)
}

/// Hub CA levels that can still exist below a scope (county and town CAs below a city, a town CA
/// below a county, none below a town): the CA's pathLenConstraint.
fn hub_path_len(scope: &str) -> u8 {
    use yizhan_core::RegionLevel;
    let Some(level) = RegionLevel::of(scope) else { return 0 };
    [RegionLevel::County, RegionLevel::Town].iter().filter(|&&below| below > level).count() as u8
}

/// What a certificate is for: decides its extensions.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Root,
    HubCa,
    /// A TLS certificate; `server` adds the DNS name and serverAuth.
    Leaf {
        server: bool,
    },
}

fn params_for(
    identity: &NodeIdentity,
    kind: Kind,
    not_before: u64,
    not_after: u64,
) -> Result<CertificateParams, CertError> {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "Yizhan");
    // A CA and its own node's TLS certificate share the node id: the unit keeps their names apart,
    // so a TLS certificate never looks self-issued (subject = issuer) to path builders.
    if matches!(kind, Kind::Root | Kind::HubCa) {
        dn.push(DnType::OrganizationalUnitName, "certificate authority");
    }
    dn.push(DnType::CommonName, identity.node_id());
    params.distinguished_name = dn;
    params.not_before = to_offset(not_before)?;
    params.not_after = to_offset(not_after)?;
    params.serial_number = Some(random_serial()?);
    let uri = identity.to_uri().try_into().map_err(|_| IdentityError::MalformedUri)?;
    params.subject_alt_names = vec![SanType::URI(uri)];
    params.use_authority_key_identifier_extension = kind != Kind::Root;
    match kind {
        Kind::Root => {
            params.is_ca = IsCa::Ca(BasicConstraints::Constrained(MAX_INTERMEDIATES as u8));
            params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        }
        Kind::HubCa => {
            params.is_ca = IsCa::Ca(BasicConstraints::Constrained(hub_path_len(identity.scope())));
            params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        }
        Kind::Leaf { server } => {
            params.is_ca = IsCa::ExplicitNoCa;
            params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
            if server {
                params.extended_key_usages.push(ExtendedKeyUsagePurpose::ServerAuth);
                let dns = identity.server_name().try_into().map_err(|_| IdentityError::MalformedUri)?;
                params.subject_alt_names.push(SanType::DnsName(dns));
            }
        }
    }
    Ok(params)
}

/// A certification authority of the hierarchy: the province root, or a hub's intermediate CA.
/// It holds the CA private key; keep it on the node that issues (the province hub, a county hub).
pub struct Authority {
    identity: NodeIdentity,
    /// This CA's certificate followed by its issuers' up to (excluding) the root. For the root:
    /// just the root.
    chain: Vec<CertificateDer<'static>>,
    roots: TrustRoots,
    key: KeyPair,
    not_before: u64,
    not_after: u64,
}

impl fmt::Debug for Authority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authority")
            .field("identity", &self.identity)
            .field("not_after", &self.not_after)
            .finish()
    }
}

impl Authority {
    /// Creates the province root CA: a fresh ECDSA P-256 key and a self-signed certificate valid
    /// for [`ROOT_VALIDITY`] from `now`.
    pub fn init(node_id: &str, province_scope: &str, now: SystemTime) -> Result<Self, CertError> {
        let identity = NodeIdentity::new(node_id, Role::Province, province_scope)?;
        let now = unix_secs(now);
        let not_before = now.saturating_sub(NOT_BEFORE_BACKDATE.as_secs());
        let not_after = now.saturating_add(ROOT_VALIDITY.as_secs());
        let key = generate_key()?;
        let cert = params_for(&identity, Kind::Root, not_before, not_after)?.self_signed(&key)?;
        let der = cert.der().clone();
        let roots = TrustRoots::new(vec![der.clone()])?;
        Ok(Authority { identity, chain: vec![der], roots, key, not_before, not_after })
    }

    /// An authority from a CA chain (this CA first, root excluded unless this is the root) and its
    /// key. The chain must verify at `now` and carry the key's public key.
    pub fn from_parts(
        chain: Vec<CertificateDer<'static>>,
        key: &PrivateKeyDer<'_>,
        roots: TrustRoots,
        now: SystemTime,
    ) -> Result<Self, CertError> {
        let key = KeyPair::try_from(key)?;
        let first = chain.first().ok_or(IdentityError::EmptyChain)?;
        let cert = parse_certificate(first)?;
        if cert.public_key().raw != key.subject_public_key_info().as_slice() {
            return Err(CertError::KeyMismatch);
        }
        let ders: Vec<&[u8]> = chain.iter().map(|c| c.as_ref()).collect();
        let verified = verify_ders(&roots, &ders, Subject::Ca, unix_secs(now))?;
        let identity = verified.subject().clone();
        let not_before = u64::try_from(cert.validity().not_before.timestamp()).unwrap_or(0);
        let not_after = u64::try_from(cert.validity().not_after.timestamp()).unwrap_or(0);
        Ok(Authority { identity, chain, roots, key, not_before, not_after })
    }

    pub fn identity(&self) -> &NodeIdentity {
        &self.identity
    }

    pub fn roots(&self) -> &TrustRoots {
        &self.roots
    }

    /// This CA's certificate followed by its issuers' (root excluded, unless this is the root).
    pub fn ca_chain(&self) -> &[CertificateDer<'static>] {
        &self.chain
    }

    fn is_root(&self) -> bool {
        self.identity.role() == Role::Province
    }

    /// Certificates that follow a certificate issued by this CA in a chain sent to peers: this CA
    /// and its issuers, without the root (peers have it).
    fn chain_for_issued(&self) -> &[CertificateDer<'static>] {
        if self.is_root() { &[] } else { &self.chain }
    }

    /// What `subject` would be issued as, if this CA may issue it at all: see the crate docs,
    /// "Who signs what".
    fn kind_for(&self, subject: &NodeIdentity) -> Result<Kind, CertError> {
        let me = &self.identity;
        let not_allowed = || CertError::NotAllowed { issuer: me.clone(), node: subject.clone() };
        if subject == me {
            return Ok(Kind::Leaf { server: true });
        }
        if subject.node_id() == me.node_id() || !scope_strictly_contains(me.scope(), subject.scope()) {
            return Err(not_allowed());
        }
        match (me.role(), subject.role()) {
            (Role::Province | Role::Hub, Role::Hub) => Ok(Kind::HubCa),
            (Role::Hub, Role::Kiosk) => Ok(Kind::Leaf { server: false }),
            _ => Err(not_allowed()),
        }
    }

    pub(crate) fn sign(
        &self,
        subject: &NodeIdentity,
        public_key: &impl PublicKeyData,
        now: SystemTime,
    ) -> Result<Vec<CertificateDer<'static>>, CertError> {
        self.sign_tweaked(subject, public_key, now, None)
    }

    /// [`Self::sign`]; `web` (names for the SAN) makes it the HTTPS certificate of the node's web
    /// UI instead ([`crate::web`]): serverAuth only, so it can never authenticate to sync.
    pub(crate) fn sign_tweaked(
        &self,
        subject: &NodeIdentity,
        public_key: &impl PublicKeyData,
        now: SystemTime,
        web: Option<Vec<SanType>>,
    ) -> Result<Vec<CertificateDer<'static>>, CertError> {
        let kind = self.kind_for(subject)?;
        if web.is_some() && !matches!(kind, Kind::Leaf { .. }) {
            return Err(CertError::NotAllowed { issuer: self.identity.clone(), node: subject.clone() });
        }
        let now = unix_secs(now);
        if now < self.not_before || now > self.not_after {
            return Err(CertError::IssuerNotValidNow);
        }
        let validity = match kind {
            Kind::HubCa => HUB_CA_VALIDITY,
            Kind::Leaf { .. } | Kind::Root => LEAF_VALIDITY,
        };
        // Never outlive the issuer, never predate it: a certificate beyond its issuer's validity is
        // useless and confuses operators.
        let not_before = now.saturating_sub(NOT_BEFORE_BACKDATE.as_secs()).max(self.not_before);
        let not_after = now.saturating_add(validity.as_secs()).min(self.not_after);
        let mut params = params_for(subject, kind, not_before, not_after)?;
        if let Some(names) = web {
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
            params.subject_alt_names.truncate(1);
            params.subject_alt_names.extend(names);
        }
        let first = self.chain.first().ok_or(IdentityError::EmptyChain)?;
        let issuer = Issuer::from_ca_cert_der(first, &self.key)?;
        let cert = params.signed_by(public_key, &issuer)?;
        let mut chain = vec![cert.der().clone()];
        chain.extend_from_slice(self.chain_for_issued());
        // Check our own work with the verifier peers will use: never hand out a chain they refuse.
        let ders: Vec<&[u8]> = chain.iter().map(|c| c.as_ref()).collect();
        let subject_kind = if kind == Kind::HubCa { Subject::Ca } else { Subject::EndEntity };
        verify_ders(&self.roots, &ders, subject_kind, now)?;
        Ok(chain)
    }

    /// Signs a certificate signing request: the identity is the one in the CSR's SAN URI, and
    /// everything else (validity, extensions, serial) is ours, never the requester's. Returns the
    /// chain to send back (new certificate first, root excluded).
    pub fn issue_from_csr(
        &self,
        csr_der: &[u8],
        now: SystemTime,
    ) -> Result<Vec<CertificateDer<'static>>, CertError> {
        let (subject, public_key) = parse_csr(csr_der)?;
        self.sign(&subject, &public_key, now)
    }

    /// Generates a key pair here and issues TLS credentials for `identity`: this CA's own node
    /// (`identity == self.identity()`), or a kiosk in scope (for the demo and tests; real kiosks
    /// send a CSR so their key never leaves them).
    pub fn issue_credentials(
        &self,
        identity: &NodeIdentity,
        now: SystemTime,
    ) -> Result<NodeCredentials, CertError> {
        if self.kind_for(identity)? == Kind::HubCa {
            return Err(CertError::NotAllowed { issuer: self.identity.clone(), node: identity.clone() });
        }
        let key = generate_key()?;
        let chain = self.sign(identity, &key, now)?;
        Ok(NodeCredentials {
            chain,
            key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        })
    }

    /// TLS credentials for this CA's own node (the province hub, or this hub).
    pub fn own_credentials(&self, now: SystemTime) -> Result<NodeCredentials, CertError> {
        self.issue_credentials(&self.identity.clone(), now)
    }

    /// Creates a child hub's CA here (key generated here): for the demo and tests. A real hub
    /// sends a CSR ([`EnrolmentRequest`] with role `hub`) and calls
    /// [`EnrolmentRequest::into_authority`].
    pub fn create_child_hub(
        &self,
        node_id: &str,
        scope: &str,
        now: SystemTime,
    ) -> Result<Authority, CertError> {
        let request = EnrolmentRequest::new(NodeIdentity::new(node_id, Role::Hub, scope)?)?;
        let chain = self.issue_from_csr(request.csr_der(), now)?;
        request.into_authority(chain, self.roots.clone(), now)
    }

    pub(crate) fn key(&self) -> &KeyPair {
        &self.key
    }

    /// Writes `ca.pem` (this CA's chain), `ca.key` (mode 0600) and `roots.pem` into `dir`.
    pub fn save(&self, dir: &Path) -> Result<(), StoreError> {
        files::write_atomic(dir, CA_CHAIN_FILE, files::certs_to_pem(&self.chain).as_bytes(), false)?;
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key.serialize_der()));
        files::write_atomic(dir, CA_KEY_FILE, files::key_to_pem(&key).as_bytes(), true)?;
        self.roots.save(dir)
    }

    /// Reads what [`Authority::save`] wrote and checks the chain at `now` and the key against it.
    pub fn load(dir: &Path, now: SystemTime) -> Result<Self, StoreError> {
        let roots = TrustRoots::load(dir)?;
        let chain_path = dir.join(CA_CHAIN_FILE);
        let chain = files::certs_from_pem(&files::read_bounded(&chain_path)?)
            .ok_or(StoreError::Pem { path: chain_path.clone(), what: "certificate" })?;
        let key_path = dir.join(CA_KEY_FILE);
        let key = files::key_from_pem(&files::read_bounded(&key_path)?)
            .ok_or(StoreError::Pem { path: key_path.clone(), what: "PKCS#8 private key" })?;
        Authority::from_parts(chain, &key, roots, now).map_err(|e| match e {
            CertError::KeyMismatch | CertError::Rcgen(_) => StoreError::KeyMismatch { path: key_path },
            CertError::Verify(source) => StoreError::Verify { path: chain_path, source: Box::new(source) },
            CertError::Identity(source) => StoreError::Identity { path: chain_path, source },
            other => StoreError::Invalid(other.to_string()),
        })
    }
}

/// A node's TLS credentials: its certificate chain (own certificate first, then its issuers up to,
/// excluding, the root) and its private key.
pub struct NodeCredentials {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
}

impl Clone for NodeCredentials {
    fn clone(&self) -> Self {
        NodeCredentials { chain: self.chain.clone(), key: self.key.clone_key() }
    }
}

impl fmt::Debug for NodeCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let identity = self.identity().map(|i| i.to_string()).unwrap_or_else(|e| e.to_string());
        f.debug_struct("NodeCredentials")
            .field("identity", &identity)
            .field("chain_len", &self.chain.len())
            .finish_non_exhaustive()
    }
}

impl NodeCredentials {
    /// The identity of the node's own certificate.
    pub fn identity(&self) -> Result<NodeIdentity, IdentityError> {
        crate::identity::peer_identity(&self.chain)
    }

    /// Checks the chain at `now` with the same rules peers apply, and that the key belongs to it.
    pub fn verify(&self, roots: &TrustRoots, now: SystemTime) -> Result<VerifiedChain, CertError> {
        let leaf = self.chain.first().ok_or(IdentityError::EmptyChain)?;
        let verified = verify_chain(roots, leaf, &self.chain[1..], unix_secs(now))?;
        check_key_matches(leaf, &self.key)?;
        Ok(verified)
    }

    /// The node this one syncs with upstream: a kiosk's issuing hub, a hub's CA's issuer (a parent
    /// hub, or the province). `None` for the province.
    pub fn parent_identity(&self, roots: &TrustRoots) -> Result<Option<NodeIdentity>, IdentityError> {
        let me = self.identity()?;
        let parent_index = match me.role() {
            Role::Province => return Ok(None),
            Role::Kiosk => 1,
            // chain[1] is the hub's own CA; its issuer is the parent.
            Role::Hub => 2,
        };
        match self.chain.get(parent_index) {
            Some(cert) => NodeIdentity::from_certificate(cert).map(Some),
            None => {
                // The parent's certificate is the root: the one that issued the last certificate.
                let last = parse_certificate(self.chain.last().ok_or(IdentityError::EmptyChain)?)?;
                for root in roots.certificates() {
                    let root_cert = parse_certificate(&root)?;
                    if root_cert.subject().as_raw() == last.issuer().as_raw() {
                        return crate::identity::identity_of(&root_cert).map(Some);
                    }
                }
                Err(IdentityError::MissingIdentity)
            }
        }
    }

    /// Writes `node.pem` (chain) and `node.key` (mode 0600) into `dir`.
    pub fn save(&self, dir: &Path) -> Result<(), StoreError> {
        files::write_atomic(dir, NODE_CHAIN_FILE, files::certs_to_pem(&self.chain).as_bytes(), false)?;
        files::write_atomic(dir, NODE_KEY_FILE, files::key_to_pem(&self.key).as_bytes(), true)
    }

    /// Reads what [`NodeCredentials::save`] wrote; checks the identity and that key and certificate
    /// match (not the chain's validity: that depends on `now` and the roots, see [`Self::verify`]).
    pub fn load(dir: &Path) -> Result<Self, StoreError> {
        let chain_path = dir.join(NODE_CHAIN_FILE);
        let chain = files::certs_from_pem(&files::read_bounded(&chain_path)?)
            .ok_or(StoreError::Pem { path: chain_path.clone(), what: "certificate" })?;
        let key_path = dir.join(NODE_KEY_FILE);
        let key = files::key_from_pem(&files::read_bounded(&key_path)?)
            .ok_or(StoreError::Pem { path: key_path.clone(), what: "PKCS#8 private key" })?;
        let creds = NodeCredentials { chain, key };
        creds.identity().map_err(|source| StoreError::Identity { path: chain_path.clone(), source })?;
        let leaf =
            creds.chain.first().ok_or(StoreError::Pem { path: chain_path.clone(), what: "certificate" })?;
        check_key_matches(leaf, &creds.key).map_err(|_| StoreError::KeyMismatch { path: key_path })?;
        Ok(creds)
    }
}

pub(crate) fn check_key_matches(cert: &CertificateDer<'_>, key: &PrivateKeyDer<'_>) -> Result<(), CertError> {
    let key = KeyPair::try_from(key).map_err(|_| CertError::KeyMismatch)?;
    let cert = parse_certificate(cert)?;
    if cert.public_key().raw != key.subject_public_key_info().as_slice() {
        return Err(CertError::KeyMismatch);
    }
    Ok(())
}

/// A node asking to be certified: a fresh key pair (which never leaves the node) and a CSR
/// carrying the identity it asks for.
pub struct EnrolmentRequest {
    identity: NodeIdentity,
    key: KeyPair,
    csr_der: Vec<u8>,
}

impl fmt::Debug for EnrolmentRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnrolmentRequest").field("identity", &self.identity).finish_non_exhaustive()
    }
}

impl EnrolmentRequest {
    /// Generates an ECDSA P-256 key pair and a CSR (`CN = node_id`, SAN URI = identity).
    pub fn new(identity: NodeIdentity) -> Result<Self, CertError> {
        let key = generate_key()?;
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::OrganizationName, "Yizhan");
        dn.push(DnType::CommonName, identity.node_id());
        params.distinguished_name = dn;
        let uri = identity.to_uri().try_into().map_err(|_| IdentityError::MalformedUri)?;
        params.subject_alt_names = vec![SanType::URI(uri)];
        let csr = params.serialize_request(&key)?;
        Ok(EnrolmentRequest { identity, key, csr_der: csr.der().to_vec() })
    }

    pub fn identity(&self) -> &NodeIdentity {
        &self.identity
    }

    pub fn csr_der(&self) -> &[u8] {
        &self.csr_der
    }

    pub(crate) fn key(&self) -> &KeyPair {
        &self.key
    }

    pub fn csr_pem(&self) -> String {
        files::pem_block("CERTIFICATE REQUEST", &self.csr_der)
    }

    /// Checks the chain the hub sent back for a kiosk (or own-leaf) request: it verifies at `now`
    /// under `roots`, is for this identity and carries this key.
    pub fn into_credentials(
        self,
        chain: Vec<CertificateDer<'static>>,
        roots: &TrustRoots,
        now: SystemTime,
    ) -> Result<NodeCredentials, CertError> {
        if chain.len() > MAX_CHAIN_CERTS {
            return Err(VerifyError::ChainTooLong { len: chain.len(), max: MAX_CHAIN_CERTS }.into());
        }
        let creds = NodeCredentials {
            chain,
            key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key.serialize_der())),
        };
        let verified = creds.verify(roots, now)?;
        if verified.subject() != &self.identity {
            return Err(CertError::WrongIdentity { wanted: self.identity, got: verified.subject().clone() });
        }
        Ok(creds)
    }

    /// Checks the chain sent back for a hub CA request and makes the hub's [`Authority`].
    pub fn into_authority(
        self,
        chain: Vec<CertificateDer<'static>>,
        roots: TrustRoots,
        now: SystemTime,
    ) -> Result<Authority, CertError> {
        if chain.len() > MAX_CHAIN_CERTS {
            return Err(VerifyError::ChainTooLong { len: chain.len(), max: MAX_CHAIN_CERTS }.into());
        }
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key.serialize_der()));
        let authority = Authority::from_parts(chain, &key, roots, now)?;
        if authority.identity != self.identity {
            return Err(CertError::WrongIdentity { wanted: self.identity, got: authority.identity });
        }
        Ok(authority)
    }
}

/// Parses and checks a CSR: DER, self-signature, exactly one identity URI, CN = node id, an ECDSA
/// P-256 key. Returns the requested identity and the public key.
pub(crate) fn parse_csr(der: &[u8]) -> Result<(NodeIdentity, rcgen::SubjectPublicKeyInfo), CertError> {
    if der.len() > MAX_CSR_BYTES {
        return Err(CertError::CsrTooLarge { len: der.len(), max: MAX_CSR_BYTES });
    }
    let csr = match X509CertificationRequest::from_der(der) {
        Ok(([], csr)) => csr,
        _ => return Err(CertError::MalformedCsr),
    };
    csr.verify_signature().map_err(|_| CertError::MalformedCsr)?;
    let info = &csr.certification_request_info;
    let alg = &info.subject_pki.algorithm;
    let curve = alg.parameters.as_ref().and_then(|p| p.as_oid().ok());
    if alg.algorithm != OID_KEY_TYPE_EC_PUBLIC_KEY || curve.as_ref() != Some(&OID_EC_P256) {
        return Err(CertError::UnsupportedKeyAlgorithm);
    }
    let mut found: Option<NodeIdentity> = None;
    for ext in csr.requested_extensions().into_iter().flatten() {
        if let ParsedExtension::SubjectAlternativeName(san) = ext {
            for name in &san.general_names {
                if let GeneralName::URI(uri) = name
                    && uri.starts_with(IDENTITY_URI_PREFIX)
                {
                    if found.is_some() {
                        return Err(IdentityError::MultipleIdentities.into());
                    }
                    found = Some(NodeIdentity::from_uri(uri)?);
                }
            }
        }
    }
    let identity = found.ok_or(IdentityError::MissingIdentity)?;
    let mut cns = info.subject.iter_common_name();
    let cn = cns.next().and_then(|cn| cn.as_str().ok());
    if cn != Some(identity.node_id()) || cns.next().is_some() {
        return Err(IdentityError::CommonNameMismatch.into());
    }
    let public_key = rcgen::SubjectPublicKeyInfo::from_der(info.subject_pki.raw)
        .map_err(|_| CertError::UnsupportedKeyAlgorithm)?;
    if public_key.algorithm() != &PKCS_ECDSA_P256_SHA256 {
        return Err(CertError::UnsupportedKeyAlgorithm);
    }
    Ok((identity, public_key))
}
