//! Shared fixtures: a small PKI at a fixed time, and an in-memory rustls handshake.
#![allow(dead_code, clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustls::{ClientConfig, ClientConnection, Connection, ServerConfig, ServerConnection};
use yizhan_identity::{
    Authority, ManualClock, NodeCredentials, NodeIdentity, RevocationState, Role, TimeProvider, TrustRoots,
    client_config, server_config, server_name,
};

pub const ALPN: &[u8] = b"yizhan/sync/1";

/// 2025-06-15: all certificates in the tests are issued at this time.
pub fn t0() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_750_000_000)
}

pub fn days(n: u64) -> Duration {
    Duration::from_secs(n * 86_400)
}

pub fn kiosk_id(node_id: &str, scope: &str) -> NodeIdentity {
    NodeIdentity::new(node_id, Role::Kiosk, scope).unwrap()
}

/// Province 51 -> county hubs 510131 and 510132 -> one kiosk each.
pub struct Pki {
    pub province: Authority,
    pub hub: Authority,
    pub other_hub: Authority,
    pub province_creds: NodeCredentials,
    pub hub_creds: NodeCredentials,
    pub other_hub_creds: NodeCredentials,
    pub kiosk_creds: NodeCredentials,
    pub other_kiosk_creds: NodeCredentials,
}

impl Pki {
    pub fn new() -> Pki {
        let province = Authority::init("province-51", "51", t0()).unwrap();
        let hub = province.create_child_hub("hub-510131", "510131", t0()).unwrap();
        let other_hub = province.create_child_hub("hub-510132", "510132", t0()).unwrap();
        let province_creds = province.own_credentials(t0()).unwrap();
        let hub_creds = hub.own_credentials(t0()).unwrap();
        let other_hub_creds = other_hub.own_credentials(t0()).unwrap();
        let kiosk_creds =
            hub.issue_credentials(&kiosk_id("kiosk-510131001001", "510131001001"), t0()).unwrap();
        let other_kiosk_creds =
            other_hub.issue_credentials(&kiosk_id("kiosk-510132001001", "510132001001"), t0()).unwrap();
        Pki {
            province,
            hub,
            other_hub,
            province_creds,
            hub_creds,
            other_hub_creds,
            kiosk_creds,
            other_kiosk_creds,
        }
    }

    pub fn roots(&self) -> TrustRoots {
        self.province.roots().clone()
    }

    pub fn revocation(&self) -> Arc<RevocationState> {
        Arc::new(RevocationState::new(self.roots()))
    }
}

pub fn clock_at(t: SystemTime) -> Arc<dyn TimeProvider> {
    Arc::new(ManualClock::new(t))
}

pub fn server(
    creds: &NodeCredentials,
    roots: &TrustRoots,
    rev: Arc<RevocationState>,
    at: SystemTime,
) -> ServerConfig {
    server_config(creds, roots, rev, &[ALPN], clock_at(at)).unwrap()
}

pub fn client(
    creds: &NodeCredentials,
    roots: &TrustRoots,
    rev: Arc<RevocationState>,
    at: SystemTime,
) -> ClientConfig {
    client_config(creds, roots, rev, &[ALPN], clock_at(at)).unwrap()
}

/// Which side refused the handshake, and why.
#[derive(Debug)]
pub enum Failure {
    Client(rustls::Error),
    Server(rustls::Error),
}

impl Failure {
    pub fn server_error(&self) -> &rustls::Error {
        match self {
            Failure::Server(e) => e,
            Failure::Client(e) => panic!("expected the server to refuse, the client did: {e}"),
        }
    }

    pub fn client_error(&self) -> &rustls::Error {
        match self {
            Failure::Client(e) => e,
            Failure::Server(e) => panic!("expected the client to refuse, the server did: {e}"),
        }
    }
}

fn transfer(from: &mut Connection, to: &mut Connection) -> usize {
    let mut buf = Vec::new();
    while from.wants_write() {
        from.write_tls(&mut buf).unwrap();
    }
    let mut rest = &buf[..];
    while !rest.is_empty() {
        to.read_tls(&mut rest).unwrap();
    }
    buf.len()
}

/// Runs a handshake in memory (the client dials `dial_node_id`), pumping bytes until neither side
/// has anything left to send, so that a server refusing the client's certificate (which it checks
/// after the client has finished, in TLS 1.3) is seen.
pub fn handshake(
    client: ClientConfig,
    server: ServerConfig,
    dial_node_id: &str,
) -> Result<(Connection, Connection), Failure> {
    handshake_shared(&Arc::new(client), &Arc::new(server), dial_node_id)
}

/// [`handshake`] with configurations kept across connections, as a long-running node does.
pub fn handshake_shared(
    client: &Arc<ClientConfig>,
    server: &Arc<ServerConfig>,
    dial_node_id: &str,
) -> Result<(Connection, Connection), Failure> {
    let mut c = Connection::Client(
        ClientConnection::new(client.clone(), server_name(dial_node_id).unwrap()).unwrap(),
    );
    let mut s = Connection::Server(ServerConnection::new(server.clone()).unwrap());
    for _ in 0..32 {
        let to_server = transfer(&mut c, &mut s);
        if let Err(e) = s.process_new_packets() {
            return Err(Failure::Server(e));
        }
        let to_client = transfer(&mut s, &mut c);
        if let Err(e) = c.process_new_packets() {
            return Err(Failure::Client(e));
        }
        if !c.is_handshaking() && !s.is_handshaking() && to_server == 0 && to_client == 0 {
            return Ok((c, s));
        }
    }
    panic!("handshake did not finish");
}

/// The identity each side sees of the other.
pub fn identities(c: &Connection, s: &Connection) -> (NodeIdentity, NodeIdentity) {
    let seen_by_client = yizhan_identity::peer_identity(c.peer_certificates().unwrap()).unwrap();
    let seen_by_server = yizhan_identity::peer_identity(s.peer_certificates().unwrap()).unwrap();
    (seen_by_client, seen_by_server)
}

/// The `VerifyError` inside a rustls certificate error (for errors that are not mapped to a
/// standard rustls `CertificateError`).
pub fn verify_error(e: &rustls::Error) -> &yizhan_identity::VerifyError {
    match e {
        rustls::Error::InvalidCertificate(rustls::CertificateError::Other(other)) => {
            other.0.downcast_ref::<yizhan_identity::VerifyError>().unwrap_or_else(|| panic!("not ours: {e}"))
        }
        other => panic!("not a VerifyError: {other:?}"),
    }
}

/// A client that presents `creds` but accepts any server: a misbehaving or malicious client, to
/// test what the server alone refuses.
pub fn permissive_client(creds: &NodeCredentials) -> ClientConfig {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAnyServer(provider)))
        .with_client_auth_cert(creds.chain.clone(), creds.key.clone_key())
        .unwrap();
    config.alpn_protocols = vec![ALPN.to_vec()];
    config
}

#[derive(Debug)]
struct AcceptAnyServer(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AcceptAnyServer {
    fn verify_server_cert(
        &self,
        _: &rustls::pki_types::CertificateDer<'_>,
        _: &[rustls::pki_types::CertificateDer<'_>],
        _: &rustls::pki_types::ServerName<'_>,
        _: &[u8],
        _: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
