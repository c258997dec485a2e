//! HTTPS for a node's web UI on the station network (tablets and phones reach the kiosk over
//! the station's Wi-Fi; passkeys and `Secure` cookies need a secure origin).
//!
//! Two kinds of web certificate, both separate from the node's sync certificate (own key, own
//! files, serverAuth only, so neither can ever authenticate to sync, and the sync certificate,
//! clientAuth only for a kiosk, is never served to browsers):
//! - **county**: issued by the county hub's CA ([`Authority::issue_web_credentials`], or
//!   [`Authority::issue_web_from_csr`] for a key made on the kiosk) for the station's host names
//!   and addresses; a tablet that trusts the province root (installed once per tablet) trusts it
//!   with no warning. Kept in `pki/web.pem` and `pki/web.key`.
//! - **local**: self-signed at first start ([`load_or_create_local`]) when no county certificate
//!   is there; the browser warns once and the officer confirms its SHA-256 fingerprint
//!   ([`fingerprint`]), which the kiosk prints at start and shows on its account page. Kept in
//!   `pki/web-local.pem` and `pki/web-local.key`.

use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use rcgen::{
    CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, KeyUsagePurpose, SanType,
};
use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};

use crate::authority::{Authority, check_key_matches, generate_key, parse_csr, unix_secs};
use crate::chain::{TrustRoots, VerifiedChain, verify_chain};
use crate::error::{CertError, StoreError, TlsConfigError};
use crate::files;
use crate::identity::{NodeIdentity, parse_certificate};
use crate::limits::NOT_BEFORE_BACKDATE;

/// Files of the county-issued web certificate (in the node's `pki/` directory).
pub const WEB_CHAIN_FILE: &str = "web.pem";
pub const WEB_KEY_FILE: &str = "web.key";
/// Files of the self-signed local web certificate.
pub const LOCAL_WEB_CHAIN_FILE: &str = "web-local.pem";
pub const LOCAL_WEB_KEY_FILE: &str = "web-local.key";
/// Names (host names and addresses) one web certificate may carry.
pub const WEB_NAMES_MAX: usize = 16;
/// How long a self-signed local web certificate is valid; a new one is made at the first start
/// after it expires (its fingerprint then changes, and the officer confirms it again).
pub const LOCAL_WEB_VALIDITY: std::time::Duration = std::time::Duration::from_secs(2 * 365 * 86_400);

/// A web certificate could not be issued, loaded or used.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("web name {name:?} is neither an IP address nor a DNS host name")]
    BadName { name: String },
    #[error("a web certificate carries at most {max} names, not {got}")]
    TooManyNames { got: usize, max: usize },
    #[error("a web certificate needs at least one host name or address")]
    NoNames,
    #[error(transparent)]
    Cert(#[from] CertError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Tls(#[from] TlsConfigError),
}

/// A web certificate chain (leaf first, root excluded) and its private key.
pub struct WebCredentials {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
}

impl std::fmt::Debug for WebCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebCredentials")
            .field("fingerprint", &self.fingerprint())
            .field("chain_len", &self.chain.len())
            .finish_non_exhaustive()
    }
}

/// The SHA-256 fingerprint of a certificate as browsers show it: 32 upper-case hex bytes
/// separated by colons.
pub fn fingerprint(cert: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, cert);
    digest.as_ref().iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":")
}

/// Checks the names a web certificate is to be for (as [`Authority::issue_web_credentials`] would).
pub fn validate_web_names(names: &[String]) -> Result<(), WebError> {
    web_names(names).map(|_| ())
}

/// Parses the names a web certificate is for: IP addresses or DNS host names.
fn web_names(names: &[String]) -> Result<Vec<SanType>, WebError> {
    if names.is_empty() {
        return Err(WebError::NoNames);
    }
    if names.len() > WEB_NAMES_MAX {
        return Err(WebError::TooManyNames { got: names.len(), max: WEB_NAMES_MAX });
    }
    names
        .iter()
        .map(|name| {
            let bad = || WebError::BadName { name: name.clone() };
            if let Ok(ip) = name.parse::<IpAddr>() {
                return Ok(SanType::IpAddress(ip));
            }
            match ServerName::try_from(name.as_str()) {
                Ok(ServerName::DnsName(_)) if !name.contains('*') => {
                    Ok(SanType::DnsName(name.clone().try_into().map_err(|_| bad())?))
                }
                _ => Err(bad()),
            }
        })
        .collect()
}

impl Authority {
    /// Generates a key here and issues the web certificate of `subject` (a kiosk within this CA's
    /// scope, or this CA's own node) for `names`: for tests and the demo, and for a hub's own UI.
    pub fn issue_web_credentials(
        &self,
        subject: &NodeIdentity,
        names: &[String],
        now: SystemTime,
    ) -> Result<WebCredentials, WebError> {
        let sans = web_names(names)?;
        let key = generate_key()?;
        let chain = self.sign_tweaked(subject, &key, now, Some(sans))?;
        Ok(WebCredentials { chain, key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())) })
    }

    /// Issues a web certificate for the key and identity of a certificate signing request (made on
    /// the kiosk, so the key never leaves it), for `names`.
    pub fn issue_web_from_csr(
        &self,
        csr_der: &[u8],
        names: &[String],
        now: SystemTime,
    ) -> Result<Vec<CertificateDer<'static>>, WebError> {
        let sans = web_names(names)?;
        let (subject, public_key) = parse_csr(csr_der)?;
        Ok(self.sign_tweaked(&subject, &public_key, now, Some(sans))?)
    }
}

impl WebCredentials {
    /// The fingerprint of the served certificate (the leaf).
    pub fn fingerprint(&self) -> String {
        self.chain.first().map(|c| fingerprint(c)).unwrap_or_default()
    }

    /// Checks a county-issued web chain at `now` with the sync rules (a kiosk issued by its hub,
    /// within its scope) and that the key belongs to it.
    pub fn verify(&self, roots: &TrustRoots, now: SystemTime) -> Result<VerifiedChain, WebError> {
        let leaf =
            self.chain.first().ok_or(crate::error::IdentityError::EmptyChain).map_err(CertError::from)?;
        let verified =
            verify_chain(roots, leaf, &self.chain[1..], unix_secs(now)).map_err(CertError::from)?;
        check_key_matches(leaf, &self.key)?;
        Ok(verified)
    }

    /// Writes the chain and the key (mode 0600) into `dir` under the given file names.
    pub fn save(&self, dir: &Path, chain_file: &str, key_file: &str) -> Result<(), WebError> {
        files::write_atomic(dir, chain_file, files::certs_to_pem(&self.chain).as_bytes(), false)?;
        files::write_atomic(dir, key_file, files::key_to_pem(&self.key).as_bytes(), true)?;
        Ok(())
    }

    /// Reads what [`Self::save`] wrote and checks that key and certificate match.
    pub fn load(dir: &Path, chain_file: &str, key_file: &str) -> Result<Self, WebError> {
        let chain_path = dir.join(chain_file);
        let chain = files::certs_from_pem(&files::read_bounded(&chain_path)?)
            .ok_or(StoreError::Pem { path: chain_path.clone(), what: "certificate" })?;
        let key_path = dir.join(key_file);
        let key = files::key_from_pem(&files::read_bounded(&key_path)?)
            .ok_or(StoreError::Pem { path: key_path.clone(), what: "PKCS#8 private key" })?;
        let leaf = chain.first().ok_or(StoreError::Pem { path: chain_path, what: "certificate" })?;
        check_key_matches(leaf, &key).map_err(|_| StoreError::KeyMismatch { path: key_path })?;
        Ok(WebCredentials { chain, key })
    }

    /// Whether the leaf is valid at `now` (local certificates: not checked against any root).
    fn valid_at(&self, now: SystemTime) -> bool {
        let now = i64::try_from(unix_secs(now)).unwrap_or(i64::MAX);
        self.chain.first().and_then(|c| parse_certificate(c).ok()).is_some_and(|c| {
            c.validity().not_before.timestamp() <= now && now <= c.validity().not_after.timestamp()
        })
    }

    /// The TLS configuration serving this certificate to browsers: TLS 1.2 and 1.3 (older
    /// tablets), no client certificates, HTTP/1.1.
    pub fn server_config(&self) -> Result<Arc<ServerConfig>, WebError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(TlsConfigError::from)?
            .with_no_client_auth()
            .with_single_cert(self.chain.clone(), self.key.clone_key())
            .map_err(TlsConfigError::from)?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

/// A self-signed web certificate for `names`, valid from (a day before) `now` for
/// [`LOCAL_WEB_VALIDITY`].
pub fn local_web_credentials(
    node_id: &str,
    names: &[String],
    now: SystemTime,
) -> Result<WebCredentials, WebError> {
    let sans = web_names(names)?;
    let key = generate_key()?;
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "Yizhan");
    dn.push(DnType::OrganizationalUnitName, "local web certificate");
    dn.push(DnType::CommonName, node_id);
    params.distinguished_name = dn;
    let now = unix_secs(now);
    let offset = |secs: u64| {
        i64::try_from(secs)
            .ok()
            .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
            .ok_or(CertError::TimeOutOfRange(secs))
    };
    params.not_before = offset(now.saturating_sub(NOT_BEFORE_BACKDATE.as_secs()))?;
    params.not_after = offset(now.saturating_add(LOCAL_WEB_VALIDITY.as_secs()))?;
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.subject_alt_names = sans;
    let cert = params.self_signed(&key).map_err(CertError::from)?;
    Ok(WebCredentials {
        chain: vec![cert.der().clone()],
        key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    })
}

/// The local web certificate in `dir`, made (and saved) when there is none or it has expired.
/// Names changed since it was made do not replace it: delete its two files for a new one.
pub fn load_or_create_local(
    dir: &Path,
    node_id: &str,
    names: &[String],
    now: SystemTime,
) -> Result<WebCredentials, WebError> {
    if dir.join(LOCAL_WEB_CHAIN_FILE).exists() {
        let creds = WebCredentials::load(dir, LOCAL_WEB_CHAIN_FILE, LOCAL_WEB_KEY_FILE)?;
        if creds.valid_at(now) {
            return Ok(creds);
        }
    }
    let creds = local_web_credentials(node_id, names, now)?;
    creds.save(dir, LOCAL_WEB_CHAIN_FILE, LOCAL_WEB_KEY_FILE)?;
    Ok(creds)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authority::EnrolmentRequest;
    use crate::identity::Role;

    #[test]
    fn a_county_signs_a_kiosk_web_request_for_its_names_and_nothing_else() {
        let now = crate::tls::system_time();
        let province = Authority::init("province", "51", now).unwrap_or_else(|e| panic!("{e}"));
        let county = province.create_child_hub("hub-510131", "510131", now).unwrap_or_else(|e| panic!("{e}"));
        let kiosk =
            NodeIdentity::new("kiosk-hp01", Role::Kiosk, "510131001001").unwrap_or_else(|e| panic!("{e}"));
        let request = EnrolmentRequest::new(kiosk).unwrap_or_else(|e| panic!("{e}"));
        let names = ["zhan.local".to_string(), "192.168.1.10".to_string()];
        let chain =
            county.issue_web_from_csr(request.csr_der(), &names, now).unwrap_or_else(|e| panic!("{e}"));
        let leaf = parse_certificate(&chain[0]).unwrap_or_else(|e| panic!("{e}"));
        let eku = leaf.extended_key_usage().ok().flatten().map(|e| e.value.clone());
        assert!(eku.as_ref().is_some_and(|e| e.server_auth && !e.client_auth), "{eku:?}");
        let sans = format!("{:?}", leaf.subject_alternative_name().ok().flatten().map(|s| s.value.clone()));
        assert!(sans.contains("zhan.local") && sans.contains("[192, 168, 1, 10]"), "{sans}");
        verify_chain(province.roots(), &chain[0], &chain[1..], unix_secs(now))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(
            county.issue_web_from_csr(request.csr_der(), &["bad name".to_string()], now),
            Err(WebError::BadName { .. })
        ));
        assert!(county.issue_web_from_csr(b"not a csr", &names, now).is_err());
    }
}
