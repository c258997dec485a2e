//! rustls configurations for QUIC (TLS 1.3, mutual authentication) whose verifiers add the
//! identity, scope and revocation rules to webpki's path validation.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, ring};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{StoresServerSessions, WebPkiClientVerifier};
use rustls::time_provider::TimeProvider;
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, DistinguishedName, OtherError, ServerConfig,
    SignatureScheme,
};

use crate::authority::{NodeCredentials, unix_secs};
use crate::chain::{TrustRoots, VerifiedChain, verify_chain};
use crate::error::{IdentityError, TlsConfigError, VerifyError};
use crate::identity::{NodeIdentity, Role};
use crate::revocation::RevocationState;

/// The time certificates, enrolment codes and revocation lists are checked against: the
/// system's. With [`system_clock`] (rustls's), the only reading of the system time for
/// certificate validity; domain and service code read the store's clock instead.
pub fn system_time() -> SystemTime {
    SystemTime::now()
}

/// A clock the configurations read at handshake time: the system clock in production, a
/// [`ManualClock`] in tests and the simulator.
pub fn system_clock() -> Arc<dyn TimeProvider> {
    Arc::new(rustls::time_provider::DefaultTimeProvider)
}

/// A clock that says what it was last set to.
#[derive(Debug)]
pub struct ManualClock {
    unix_secs: AtomicU64,
}

impl ManualClock {
    pub fn new(now: SystemTime) -> Self {
        ManualClock { unix_secs: AtomicU64::new(unix_secs(now)) }
    }

    pub fn set(&self, now: SystemTime) {
        self.unix_secs.store(unix_secs(now), Ordering::Relaxed);
    }
}

impl TimeProvider for ManualClock {
    fn current_time(&self) -> Option<UnixTime> {
        Some(UnixTime::since_unix_epoch(std::time::Duration::from_secs(
            self.unix_secs.load(Ordering::Relaxed),
        )))
    }
}

/// The `ServerName` a client passes to dial the node `node_id` (`<node_id>.yizhan.invalid`).
pub fn server_name(node_id: &str) -> Result<ServerName<'static>, IdentityError> {
    crate::identity::validate_node_id(node_id)?;
    ServerName::try_from(crate::identity::server_name_for(node_id))
        .map_err(|_| IdentityError::InvalidNodeId(node_id.to_owned()))
}

fn provider() -> Arc<CryptoProvider> {
    // Explicit provider: never depend on a process-wide default that another crate may install.
    Arc::new(ring::default_provider())
}

/// A server (hub or province) configuration: TLS 1.3 only (QUIC), client certificates required and
/// verified to `roots`, then refused unless the client's identity is valid for its chain, not
/// revoked, and its scope lies strictly within this node's scope (a hub serves only its children).
pub fn server_config(
    creds: &NodeCredentials,
    roots: &TrustRoots,
    revocation: Arc<RevocationState>,
    alpn_protocols: &[&[u8]],
    clock: Arc<dyn TimeProvider>,
) -> Result<ServerConfig, TlsConfigError> {
    let local = creds.identity()?;
    if local.role() == Role::Kiosk {
        return Err(VerifyError::PeerRole { peer: local, what: "serve" }.into());
    }
    let provider = provider();
    let inner = WebPkiClientVerifier::builder_with_provider(Arc::new(roots.rustls_store()), provider.clone())
        .build()?;
    let verifier = ClientVerifier { inner, roots: roots.clone(), revocation, local };
    let mut config = ServerConfig::builder_with_details(provider, clock)
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_client_cert_verifier(Arc::new(verifier))
        .with_single_cert(creds.chain.clone(), creds.key.clone_key())?;
    config.alpn_protocols = alpn_protocols.iter().map(|p| p.to_vec()).collect();
    // Session resumption, so a kiosk that reconnects does not pay for both certificate chains
    // again (most of an up-to-date sync's bytes): one single-use ticket per handshake, kept here
    // (stateful, so nothing of the session leaves the hub) for at most RESUMPTION_LIFETIME. A
    // resumed session skips this verifier, so whoever accepts a connection re-checks the
    // peer's chain (still in the session) with `recheck_peer` against the revocation list and
    // scope as they are now (the hub's accept loop does, through `NodeTls::child_authorizer`).
    // No 0-RTT (max_early_data_size stays 0): a replayed first flight would replay a hello,
    // which makes a stale session the peer's session of record (docs/PROTOCOL.md).
    config.session_storage = Arc::new(ShortLivedSessions::new(RESUMPTION_SESSIONS_MAX, RESUMPTION_LIFETIME));
    config.send_tls13_tickets = 1;
    config.max_early_data_size = 0;
    Ok(config)
}

/// A client (kiosk, or hub dialing its parent) configuration: TLS 1.3 only, presents `creds`,
/// and refuses a server that is not a hub or the province, whose certificate is not for the
/// dialed name ([`server_name`]), is revoked, or whose scope does not strictly contain ours.
pub fn client_config(
    creds: &NodeCredentials,
    roots: &TrustRoots,
    revocation: Arc<RevocationState>,
    alpn_protocols: &[&[u8]],
    clock: Arc<dyn TimeProvider>,
) -> Result<ClientConfig, TlsConfigError> {
    let local = creds.identity()?;
    let provider = provider();
    let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots.rustls_store()), provider.clone())
        .build()?;
    let verifier = ServerVerifier { inner, roots: roots.clone(), revocation, local };
    let mut config = ClientConfig::builder_with_details(provider, clock)
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_client_auth_cert(creds.chain.clone(), creds.key.clone_key())?;
    config.alpn_protocols = alpn_protocols.iter().map(|p| p.to_vec()).collect();
    // Resumption with the hub's tickets (see `server_config`); the dialer re-checks the hub's
    // chain after every handshake (`recheck_peer`, through `NodeTls::parent_check`). No 0-RTT.
    config.resumption = rustls::client::Resumption::in_memory_sessions(RESUMPTION_CLIENT_SESSIONS_MAX);
    config.enable_early_data = false;
    Ok(config)
}

/// How long after the full handshake that made it a TLS session may be resumed. Short, though
/// every connection re-checks the peer's chain anyway: a resumed session also skips proving
/// possession of the key again.
pub const RESUMPTION_LIFETIME: Duration = Duration::from_secs(3600);
/// Sessions a server keeps for resumption (the oldest go first).
pub const RESUMPTION_SESSIONS_MAX: usize = 4096;
/// Sessions a client keeps (one per server it dials, a few tickets each).
pub const RESUMPTION_CLIENT_SESSIONS_MAX: usize = 32;

/// A server's resumable sessions: bounded, each usable once and only within its lifetime (on
/// the monotonic clock).
#[derive(Debug)]
struct ShortLivedSessions {
    max: usize,
    lifetime: Duration,
    inner: Mutex<SessionTable>,
}

/// Sessions by ticket id with when they were made, and the ids oldest first.
type SessionTable = (HashMap<Vec<u8>, (Instant, Vec<u8>)>, VecDeque<Vec<u8>>);

impl ShortLivedSessions {
    fn new(max: usize, lifetime: Duration) -> ShortLivedSessions {
        ShortLivedSessions { max: max.max(1), lifetime, inner: Mutex::new((HashMap::new(), VecDeque::new())) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SessionTable> {
        match self.inner.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }
}

impl StoresServerSessions for ShortLivedSessions {
    fn put(&self, key: Vec<u8>, value: Vec<u8>) -> bool {
        let mut guard = self.lock();
        let (map, order) = &mut *guard;
        while map.len() >= self.max {
            match order.pop_front() {
                Some(old) => {
                    map.remove(&old);
                }
                None => map.clear(),
            }
        }
        order.retain(|k| map.contains_key(k));
        order.push_back(key.clone());
        map.insert(key, (Instant::now(), value));
        true
    }

    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        let guard = self.lock();
        let (made, value) = guard.0.get(key)?;
        (made.elapsed() <= self.lifetime).then(|| value.clone())
    }

    fn take(&self, key: &[u8]) -> Option<Vec<u8>> {
        let (made, value) = self.lock().0.remove(key)?;
        (made.elapsed() <= self.lifetime).then_some(value)
    }

    fn can_cache(&self) -> bool {
        true
    }
}

/// Which side of a connection the peer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerSide {
    /// A child that connected to this hub: it must lie strictly within this node's scope.
    Child,
    /// The hub this node dialed: a hub or the province whose scope strictly contains ours.
    Parent,
}

/// Checks a connected peer's certificate chain (as the TLS session holds it, also a resumed
/// one, whose handshake verified nothing) against the trust roots, the revocation list and the
/// scope rules as they are at `now`: the same rules as the handshake's verifiers. Call it on
/// every connection before anything is exchanged.
pub fn recheck_peer(
    roots: &TrustRoots,
    revocation: &RevocationState,
    local: &NodeIdentity,
    chain: &[CertificateDer<'_>],
    now: UnixTime,
    side: PeerSide,
) -> Result<NodeIdentity, VerifyError> {
    let (end_entity, intermediates) = chain.split_first().ok_or(VerifyError::UnknownIssuer)?;
    let verified = verify_chain(roots, end_entity, intermediates, now.as_secs())?;
    revocation.check(&verified)?;
    let peer = verified.subject().clone();
    match side {
        PeerSide::Child if !local.is_ancestor_of(&peer) => {
            Err(VerifyError::PeerOutsideScope { peer, local: local.clone() })
        }
        PeerSide::Parent if !matches!(peer.role(), Role::Hub | Role::Province) => {
            Err(VerifyError::PeerRole { peer, what: "serve" })
        }
        PeerSide::Parent if !peer.is_ancestor_of(local) => {
            Err(VerifyError::PeerOutsideScope { peer, local: local.clone() })
        }
        _ => Ok(peer),
    }
}

fn to_rustls(e: VerifyError) -> rustls::Error {
    let cert_error = match e {
        VerifyError::Revoked { .. } => CertificateError::Revoked,
        VerifyError::UnknownIssuer => CertificateError::UnknownIssuer,
        VerifyError::BadSignature { .. } => CertificateError::BadSignature,
        other => CertificateError::Other(OtherError(Arc::new(other))),
    };
    rustls::Error::InvalidCertificate(cert_error)
}

/// Our rules on top of webpki's: the chain as presented passes [`verify_chain`] and is not revoked.
fn check_identity(
    roots: &TrustRoots,
    revocation: &RevocationState,
    end_entity: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
    now: UnixTime,
) -> Result<VerifiedChain, rustls::Error> {
    let chain = verify_chain(roots, end_entity, intermediates, now.as_secs()).map_err(to_rustls)?;
    revocation.check(&chain).map_err(to_rustls)?;
    Ok(chain)
}

#[derive(Debug)]
struct ClientVerifier {
    inner: Arc<dyn ClientCertVerifier>,
    roots: TrustRoots,
    revocation: Arc<RevocationState>,
    local: NodeIdentity,
}

impl ClientCertVerifier for ClientVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        self.inner.verify_client_cert(end_entity, intermediates, now)?;
        let chain = check_identity(&self.roots, &self.revocation, end_entity, intermediates, now)?;
        let peer = chain.subject();
        if !self.local.is_ancestor_of(peer) {
            return Err(to_rustls(VerifyError::PeerOutsideScope {
                peer: peer.clone(),
                local: self.local.clone(),
            }));
        }
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

#[derive(Debug)]
struct ServerVerifier {
    inner: Arc<WebPkiServerVerifier>,
    roots: TrustRoots,
    revocation: Arc<RevocationState>,
    local: NodeIdentity,
}

impl ServerCertVerifier for ServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.inner.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)?;
        let chain = check_identity(&self.roots, &self.revocation, end_entity, intermediates, now)?;
        let peer = chain.subject();
        if !matches!(peer.role(), Role::Hub | Role::Province) {
            return Err(to_rustls(VerifyError::PeerRole { peer: peer.clone(), what: "serve" }));
        }
        // webpki matched the name against the certificate's DNS names; also bind it to the identity,
        // so the name dialed is the node id the certificate's identity carries.
        let dialed = match server_name {
            ServerName::DnsName(name) => name.as_ref().to_owned(),
            other => other.to_str().into_owned(),
        };
        if dialed != peer.server_name() {
            return Err(to_rustls(VerifyError::ServerNameMismatch { expected: dialed, peer: peer.clone() }));
        }
        if !peer.is_ancestor_of(&self.local) {
            return Err(to_rustls(VerifyError::PeerOutsideScope {
                peer: peer.clone(),
                local: self.local.clone(),
            }));
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn sessions_are_single_use_bounded_and_expire() {
        let s = ShortLivedSessions::new(2, Duration::from_secs(60));
        assert!(s.put(b"a".to_vec(), b"1".to_vec()));
        assert_eq!(s.get(b"a"), Some(b"1".to_vec()));
        assert_eq!(s.take(b"a"), Some(b"1".to_vec()));
        assert_eq!(s.take(b"a"), None, "a ticket resumes once");
        for k in [b"b", b"c", b"d"] {
            s.put(k.to_vec(), k.to_vec());
        }
        assert_eq!(s.get(b"b"), None, "the oldest went first");
        assert!(s.get(b"c").is_some() && s.get(b"d").is_some());
        let expired = ShortLivedSessions::new(2, Duration::ZERO);
        expired.put(b"x".to_vec(), b"1".to_vec());
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(expired.take(b"x"), None, "past its lifetime");
    }
}
