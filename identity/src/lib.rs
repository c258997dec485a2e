//! Node identity for Yizhan: the province's own CA, hub and kiosk certificates, one-time enrolment
//! codes, revocation lists, and the rustls configurations (mutual TLS 1.3 for QUIC) that enforce
//! them.
//!
//! No I/O except the explicit `save(dir)` / `load(dir)` functions; no clock reads: every function
//! that needs the time takes `now`, and the TLS configurations take a [`TimeProvider`] clock.
//! Randomness (keys, serial numbers, codes) comes from the operating system through `ring`.
//!
//! # Identity
//!
//! A [`NodeIdentity`] is a node id (1-63 characters of `a-z0-9-`: it is also a DNS label), a
//! [`Role`] (`province`, `hub`, `kiosk`) and a scope (a region code: 2 digits province, 4 city,
//! 6 county, 9 town, 12 village; a scope contains a code when the code starts with it). Every
//! certificate carries its node's identity as exactly one SAN URI
//! `yizhan://node/<role>/<scope>/<node_id>`, with `CN = <node_id>`.
//!
//! # Certificate layout: who signs what
//!
//! webpki refuses a CA certificate used as a TLS end-entity certificate, so every node that signs
//! (the province, each hub) has two keys: a CA key that only signs certificates and revocation
//! lists, and a TLS key. All keys are ECDSA P-256, all signatures ECDSA with SHA-256.
//!
//! ```text
//! province root CA   self-signed   role province, scope 51       CA, pathLen 3, keyCertSign+cRLSign
//! ├── province TLS   by root       role province, same node id    EE, clientAuth+serverAuth, DNS name
//! ├── hub CA         by root       role hub, scope 5101 / 510131  CA, pathLen = hub levels below it
//! │   ├── hub TLS    by hub CA     role hub, same node id/scope   EE, clientAuth+serverAuth, DNS name
//! │   ├── child hub CA by hub CA   role hub, strictly inside      CA (a city hub's county hubs)
//! │   └── kiosk TLS  by hub CA     role kiosk, strictly inside    EE, clientAuth only
//! ```
//!
//! Path lengths follow the region levels: a city hub CA has pathLen 2 (county and town CAs may
//! follow), a county hub CA 1, a town hub CA 0; the root 3. TLS certificates of hubs and the
//! province carry the DNS name `<node_id>.yizhan.invalid` ([`server_name`]) so a client verifies
//! the hub it dialed. A node presents its TLS certificate followed by its issuers' CA certificates,
//! root excluded. Validity: root 30 years, hub CA 10, TLS 3, never beyond the issuer's, `notBefore`
//! backdated a day for slow clocks ([`limits`]).
//!
//! # Chain rules
//!
//! Peers verify chains twice: webpki (through rustls' `WebPki*Verifier`: path building, validity,
//! EKU, DNS name, handshake signatures), then [`verify_chain`] on the chain exactly as presented:
//! linear, every certificate signed by the next (the last by a trusted root), valid at `now`,
//! ECDSA P-256/SHA-256, issuers are CAs within their path length, end entity not a CA, and:
//!
//! - the root's identity is a `province`;
//! - every intermediate is a `hub` CA whose scope lies strictly within its issuer's, with a
//!   different node id;
//! - a `kiosk` certificate is issued by a hub CA and its scope lies strictly within the hub's:
//!   a hub that issues a kiosk outside its own scope produces a certificate every peer refuses;
//! - a `hub` (or `province`) TLS certificate is issued by the CA of the same node id and scope.
//!
//! Then the [`RevocationState`], then the connection policy: a server accepts only clients whose
//! scope lies strictly within its own (a hub serves its kiosks and child hubs, nothing else); a
//! client accepts only a hub or the province whose certificate is for the dialed name and whose
//! scope strictly contains the client's. [`peer_identity`] gives the driver the peer's identity.
//!
//! [`server_config`] and [`client_config`] are TLS 1.3 only (QUIC), take the ALPN list and the
//! clock ([`system_clock`], or a [`ManualClock`] for tests and the simulator) as parameters, and
//! disable session resumption: a resumed session skips certificate verification, so every
//! connection is a full handshake that sees the current revocation lists and validity.
//!
//! # Enrolment
//!
//! The operator issues a code ([`EnrolmentCodes::issue`]: 10 characters of Crockford base 32,
//! shown `ABCDE-FGHJK`, stored only as a BLAKE3 hash, expires, single use, bounded outstanding,
//! wrong codes lock redemption). The kiosk makes an [`EnrolmentRequest`] (key pair + CSR), sends
//! code and CSR; the hub calls [`EnrolmentCodes::redeem`] and returns the chain; the kiosk checks it
//! with [`EnrolmentRequest::into_credentials`]. The hub takes only the identity and the public key
//! from the CSR; extensions and validity are its own. Hubs enrol the same way with a CSR for a
//! `hub` identity signed by [`Authority::issue_from_csr`] (not with codes: those enrol kiosks).
//!
//! The kiosk learns the trust roots from the enrolment answer; to rule out a fake hub on the
//! enrolment link, ship the province root with the installer or compare
//! [`TrustRoots::fingerprints`] with the operator.
//!
//! # Revocation
//!
//! A CA (the root or a hub CA) signs a [`RevocationList`] of [`Revoked`] node ids or serials with
//! a version. Lists travel as bytes ([`SignedRevocationList::to_bytes`]), are verified against the
//! roots, and are merged into a [`RevocationState`] keeping the highest version per issuing CA key.
//! A CA's list only affects chains that pass through that CA, so a county hub cannot revoke
//! another county's kiosks; revoking a hub's node id at the province revokes the hub's CA and TLS
//! certificates and so every kiosk it issued (they re-enrol under a new hub CA).

mod authority;
mod chain;
mod enrol;
mod error;
mod files;
mod hub_request;
mod identity;
pub mod limits;
mod revocation;
mod statement;
mod tls;
pub mod web;

pub use authority::{
    Authority, CA_CHAIN_FILE, CA_KEY_FILE, EnrolmentRequest, NODE_CHAIN_FILE, NODE_KEY_FILE, NodeCredentials,
};
pub use chain::{ChainCert, KeyId, ROOTS_FILE, TrustRoots, VerifiedChain, verify_chain};
pub use enrol::{EnrolmentCode, EnrolmentCodes, EnrolmentLimits};
pub use error::{
    CertError, EnrolError, IdentityError, RevocationError, StoreError, TlsConfigError, VerifyError,
};
pub use hub_request::{
    CA_REQUEST_FILE, CA_REQUEST_KEY_FILE, install_hub_ca, request_hub_ca, sign_hub_request,
};
pub use identity::{
    IDENTITY_URI_PREFIX, NodeIdentity, Role, SERVER_NAME_SUFFIX, peer_identity, scope_contains,
    scope_strictly_contains, server_name_for, validate_node_id, validate_scope,
};
pub use limits::{DEFAULT_CODE_TTL, ENROL_ADDRESSES_TRACKED_MAX};
pub use revocation::{Applied, RevocationList, RevocationState, Revoked, SignedRevocationList};
pub use rustls::time_provider::TimeProvider;
pub use statement::{STATEMENT_BYTES_MAX, SignedStatement, StatementError};
pub use tls::{
    ManualClock, PeerSide, RESUMPTION_CLIENT_SESSIONS_MAX, RESUMPTION_LIFETIME, RESUMPTION_SESSIONS_MAX,
    client_config, recheck_peer, server_config, server_name, system_clock, system_time,
};
