//! Error types, one per kind of operation.

use std::path::PathBuf;

use crate::identity::{NodeIdentity, Role};

/// A node identity, a region code or a certificate's identity fields are not valid.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("node id {0:?} is not 1-63 characters of a-z, 0-9 and '-' (not starting or ending with '-')")]
    InvalidNodeId(String),
    #[error("region code {0:?} is not 2, 4, 6, 9 or 12 digits")]
    InvalidScope(String),
    #[error("a {role} cannot have scope {scope}")]
    RoleScopeMismatch { role: Role, scope: String },
    #[error("unknown role {0:?}")]
    UnknownRole(String),
    #[error("malformed yizhan://node/<role>/<scope>/<node_id> URI")]
    MalformedUri,
    #[error("certificate is {len} bytes, more than the {max} allowed")]
    CertificateTooLarge { len: usize, max: usize },
    #[error("certificate is not valid DER X.509")]
    MalformedCertificate,
    #[error("certificate carries no yizhan://node/ identity")]
    MissingIdentity,
    #[error("certificate carries more than one yizhan://node/ identity")]
    MultipleIdentities,
    #[error("certificate's common name is not its node id")]
    CommonNameMismatch,
    #[error("empty certificate chain")]
    EmptyChain,
}

/// A certificate chain (or the peer it belongs to) is not acceptable. Cert indexes count from the
/// leaf (0) up the chain as presented; the trust root is not counted.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("certificate {index}: {source}")]
    Identity { index: usize, source: IdentityError },
    #[error("chain of {len} certificates, more than the {max} allowed")]
    ChainTooLong { len: usize, max: usize },
    #[error("certificate {index} ({node_id}) is expired or not yet valid")]
    NotValidNow { index: usize, node_id: String },
    #[error("certificate {index} is not signed by the next certificate in the chain")]
    BadSignature { index: usize },
    #[error("the chain does not end at a trusted province root")]
    UnknownIssuer,
    #[error("certificate {index} signs another certificate but is not a CA")]
    NotCa { index: usize },
    #[error("certificate {index} exceeds its issuer's path length constraint")]
    PathLenExceeded { index: usize },
    #[error("end-entity certificate is a CA certificate")]
    LeafIsCa,
    #[error("{node} must not be issued by {issuer}")]
    IssuerNotAllowed { node: NodeIdentity, issuer: NodeIdentity },
    #[error("{node} is outside the scope of its issuer {issuer}")]
    OutsideIssuerScope { node: NodeIdentity, issuer: NodeIdentity },
    #[error("{node} is revoked (by the revocation list of {revoked_by})")]
    Revoked { node: NodeIdentity, revoked_by: NodeIdentity },
    #[error("peer {peer} has a role that may not {what}")]
    PeerRole { peer: NodeIdentity, what: &'static str },
    #[error("peer {peer} is outside the scope of {local}")]
    PeerOutsideScope { peer: NodeIdentity, local: NodeIdentity },
    #[error("server name {expected:?} does not belong to {peer}")]
    ServerNameMismatch { expected: String, peer: NodeIdentity },
    #[error("signer of a revocation list must be a CA of the chain (the province root or a hub CA)")]
    SignerNotCa,
}

/// Issuing a certificate failed. Nothing was issued.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    #[error(transparent)]
    Identity(#[from] IdentityError),
    #[error("certificate generation: {0}")]
    Rcgen(#[from] rcgen::Error),
    #[error("the certificate signing request is malformed or its signature is invalid")]
    MalformedCsr,
    #[error("certificate signing request is {len} bytes, more than the {max} allowed")]
    CsrTooLarge { len: usize, max: usize },
    #[error("only ECDSA P-256 keys are accepted")]
    UnsupportedKeyAlgorithm,
    #[error("{issuer} may not issue a certificate for {node}")]
    NotAllowed { issuer: NodeIdentity, node: NodeIdentity },
    #[error("the issuing CA certificate is expired or not yet valid")]
    IssuerNotValidNow,
    #[error("the issued chain does not verify: {0}")]
    Verify(#[from] VerifyError),
    #[error("the certificate does not carry this request's public key")]
    KeyMismatch,
    #[error("the certificate is issued for {got}, not {wanted}")]
    WrongIdentity { wanted: NodeIdentity, got: NodeIdentity },
    #[error("time {0} s since 1970 is out of range for a certificate")]
    TimeOutOfRange(u64),
    #[error("no system randomness available")]
    Random,
}

/// Loading or saving credentials failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: file larger than {max} bytes")]
    TooLarge { path: PathBuf, max: u64 },
    #[error("{path}: no valid PEM {what} found")]
    Pem { path: PathBuf, what: &'static str },
    #[error("{path}: {source}")]
    Identity { path: PathBuf, source: IdentityError },
    #[error("{path}: the private key does not match the certificate")]
    KeyMismatch { path: PathBuf },
    #[error("{path}: {source}")]
    Verify { path: PathBuf, source: Box<VerifyError> },
    #[error("{0}")]
    Invalid(String),
}

/// An enrolment code could not be issued or redeemed. A failed redeem changes nothing except the
/// failed-attempt counters (which exist to lock out guessing).
#[derive(Debug, thiserror::Error)]
pub enum EnrolError {
    #[error("too many failed attempts: enrolment is locked until {until_unix} s since 1970")]
    Locked { until_unix: u64 },
    #[error("wrong enrolment code")]
    WrongCode,
    #[error("the enrolment code has expired")]
    Expired,
    #[error("the enrolment code has already been used")]
    AlreadyUsed,
    #[error("{outstanding} codes are outstanding, the maximum")]
    TooManyOutstanding { outstanding: usize },
    #[error("code lifetime of {ttl_secs} s exceeds the maximum of {max_secs} s")]
    TtlTooLong { ttl_secs: u64, max_secs: u64 },
    #[error("code lifetime must be positive")]
    TtlZero,
    #[error("scope {scope} is not within this hub's scope {hub_scope}")]
    ScopeOutsideHub { scope: String, hub_scope: String },
    #[error("the request asks for {requested}, which this code does not allow (scope {code_scope}{})",
        .code_node_id.as_ref().map(|n| format!(", node {n}")).unwrap_or_default())]
    NotAllowedByCode { requested: NodeIdentity, code_scope: String, code_node_id: Option<String> },
    #[error("enrolment codes enrol kiosks only, the request is for a {0}")]
    NotKiosk(Role),
    #[error(transparent)]
    Identity(#[from] IdentityError),
    #[error(transparent)]
    Certificate(#[from] CertError),
}

/// A revocation list could not be used.
#[derive(Debug, thiserror::Error)]
pub enum RevocationError {
    #[error("revocation list is {len} bytes, more than the {max} allowed")]
    TooLarge { len: usize, max: usize },
    #[error("revocation list has {len} entries, more than the {max} allowed")]
    TooManyEntries { len: usize, max: usize },
    #[error("malformed revocation list: {0}")]
    Malformed(String),
    #[error("revocation list signature is invalid")]
    BadSignature,
    #[error("revocation list signer: {0}")]
    Signer(#[from] VerifyError),
    #[error("revocation list names issuer {named} but is signed by {signer}")]
    IssuerMismatch { named: String, signer: String },
    #[error("{0} revocation lists are held, the maximum")]
    TooManyLists(usize),
    #[error(transparent)]
    Identity(#[from] IdentityError),
    #[error("signing: {0}")]
    Sign(#[from] rcgen::Error),
}

/// A rustls configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsConfigError {
    #[error(transparent)]
    Rustls(#[from] rustls::Error),
    #[error("verifier: {0}")]
    Verifier(#[from] rustls::server::VerifierBuilderError),
    #[error("own credentials: {0}")]
    Identity(#[from] IdentityError),
    #[error("own credentials: {0}")]
    Verify(#[from] VerifyError),
}
