//! HTTPS on the station network: a kiosk configured to listen on every address serves its UI over
//! TLS with a web certificate issued by the county hub's CA (or a self-signed local one), refuses
//! cases to anyone not signed in, and marks its session cookie `Secure`. Real certificates (the
//! identity crate's PKI), real TLS over loopback, a real HTTP client.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

use yizhan_core::RegionCode;
use yizhan_identity::web::{WebCredentials, fingerprint, load_or_create_local};
use yizhan_identity::{Authority, NodeIdentity, Role};
use yizhan_kiosk::https::WebAccess;
use yizhan_kiosk::{AppState, KioskConfig, SystemClock, UploadLimits};

/// The host name on the web certificate; the client resolves it to loopback.
const HOST: &str = "zhan.station";
const CSRF: &str = "0123456789abcdef0123456789abcdef";
const PASSWORD: &str = "correct horse 7";

struct Station {
    _dir: tempfile::TempDir,
    state: AppState,
    addr: SocketAddr,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Station {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// A kiosk configured for `0.0.0.0:<port>` (the station network), reached here via 127.0.0.1,
/// serving `creds` over TLS.
async fn start_station(creds: &WebCredentials, fingerprint: Option<String>) -> Station {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let config = KioskConfig {
        data_dir: dir.path().to_path_buf(),
        key_file: dir.path().join("keys/field.key"),
        listen: SocketAddr::from(([0, 0, 0, 0], addr.port())),
        scope: RegionCode::parse("510131").unwrap(),
        limits: UploadLimits::default(),
        node_id: None,
    };
    let web = WebAccess { https: true, host: Some(HOST.into()), fingerprint };
    let state =
        AppState::open_for_web(config, Arc::new(SystemClock), Arc::new(yizhan_accounts::DevLogSender), web)
            .unwrap();
    let tls = creds.server_config().unwrap();
    let s = state.clone();
    let server = tokio::spawn(async move {
        yizhan_kiosk::serve_tls_until(s, listener, tls, std::future::pending()).await.unwrap();
    });
    Station { _dir: dir, state, addr, server }
}

/// A browser on the station's Wi-Fi: trusts exactly `roots` (DER), reaches [`HOST`] at the
/// station's address, sends its cross-site token. One TLS connection per request.
struct Browser {
    tls: tokio_rustls::TlsConnector,
    addr: SocketAddr,
}

struct Answer {
    status: u16,
    location: String,
    set_cookie: String,
    body: String,
}

fn browser_trusting(roots: &[Vec<u8>], station: &Station) -> Browser {
    let mut store = rustls::RootCertStore::empty();
    for root in roots {
        store.add(rustls::pki_types::CertificateDer::from(root.clone())).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(store)
        .with_no_client_auth();
    Browser { tls: tokio_rustls::TlsConnector::from(Arc::new(config)), addr: station.addr }
}

impl Browser {
    /// Sends a request (a form when `form` is given); an error when the TLS handshake fails.
    async fn send(&self, path: &str, session: Option<&str>, form: Option<String>) -> std::io::Result<Answer> {
        use http_body_util::BodyExt;
        let tcp = tokio::net::TcpStream::connect(self.addr).await?;
        let name = rustls::pki_types::ServerName::try_from(HOST).unwrap();
        let tls = self.tls.connect(name, tcp).await?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls))
            .await
            .map_err(std::io::Error::other)?;
        tokio::spawn(conn);
        let origin = format!("https://{HOST}:{}", self.addr.port());
        let mut cookie = format!("{}={CSRF}", yizhan_web::CSRF_COOKIE);
        if let Some(s) = session {
            cookie = format!("{s}; {cookie}");
        }
        let req = hyper::Request::builder()
            .method(if form.is_some() { "POST" } else { "GET" })
            .uri(path)
            .header("host", format!("{HOST}:{}", self.addr.port()))
            .header("origin", origin)
            .header("cookie", cookie)
            .header(yizhan_web::CSRF_HEADER, CSRF)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(http_body_util::Full::new(hyper::body::Bytes::from(form.unwrap_or_default())))
            .unwrap();
        let res = sender.send_request(req).await.map_err(std::io::Error::other)?;
        let header =
            |name: &str| res.headers().get(name).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
        let (status, location, set_cookie) =
            (res.status().as_u16(), header("location"), header("set-cookie"));
        let body = res.into_body().collect().await.map_err(std::io::Error::other)?.to_bytes();
        Ok(Answer { status, location, set_cookie, body: String::from_utf8_lossy(&body).into_owned() })
    }

    async fn get(&self, path: &str, session: Option<&str>) -> Answer {
        self.send(path, session, None).await.unwrap()
    }
}

/// Signs an officer in over HTTPS; returns the whole `Set-Cookie` of the session.
async fn sign_in(browser: &Browser, station: &Station) -> String {
    let np = yizhan_core::NewPerson {
        id: "officer-a".into(),
        name: "李信息员".into(),
        role: "officer".into(),
        region_code: "510131001".into(),
        ..Default::default()
    };
    station.state.accounts.create_person(&np, Some(PASSWORD)).await.unwrap();
    let form = format!("id=officer-a&password={PASSWORD}&next=%2Fcases");
    let res = browser.send("/signin/password", None, Some(form)).await.unwrap();
    assert_eq!(res.status, 303, "signing in: {}", res.body);
    res.set_cookie
}

/// The session cookie's `name=value`.
fn session_of(set_cookie: &str) -> &str {
    set_cookie.split(';').next().unwrap()
}

fn county_pki() -> (Authority, Authority) {
    let now = SystemTime::now();
    let province = Authority::init("province-51", "51", now).unwrap();
    let county = province.create_child_hub("county-510131", "510131", now).unwrap();
    (province, county)
}

fn root_ders(authority: &Authority) -> Vec<Vec<u8>> {
    authority.roots().certificates().iter().map(|c| c.to_vec()).collect()
}

#[tokio::test]
async fn a_station_kiosk_serves_https_chaining_to_the_county_ca_and_refuses_cases_without_sign_in() {
    let (province, county) = county_pki();
    let kiosk = NodeIdentity::new("kiosk-hp01", Role::Kiosk, "510131001001").unwrap();
    let names = [HOST.to_string(), "192.168.1.10".to_string()];
    let creds = county.issue_web_credentials(&kiosk, &names, SystemTime::now()).unwrap();
    // The served chain is the web certificate and the county CA; the client has only the root.
    assert_eq!(creds.chain.len(), 2);
    creds.verify(province.roots(), SystemTime::now()).unwrap();
    let station = start_station(&creds, None).await;
    let browser = browser_trusting(&root_ders(&province), &station);

    // The certificate verifies (the handshake succeeds): public paths answer.
    assert_eq!(browser.get("/healthz", None).await.status, 200);
    // Without a session: pages go to sign-in, the API answers 401.
    for path in ["/cases", "/"] {
        let res = browser.get(path, None).await;
        assert_eq!(res.status, 303, "{path}");
        assert!(res.location.starts_with("/signin"), "{path} -> {}", res.location);
    }
    assert_eq!(browser.get("/api/cases", None).await.status, 401);

    // Signed in (over HTTPS): the session cookie is Secure, and the cases answer.
    let set_cookie = sign_in(&browser, &station).await;
    assert!(set_cookie.contains("; Secure"), "{set_cookie}");
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    let session = session_of(&set_cookie);
    assert_eq!(browser.get("/cases", Some(session)).await.status, 200);
    let cases = browser.get("/api/cases", Some(session)).await;
    assert_eq!(cases.status, 200, "{}", cases.body);
    // Passkeys are offered for the configured host name.
    assert!(station.state.accounts.passkeys_enabled());

    // A browser trusting another province's root refuses the certificate: no request gets through.
    let (other_province, _) = county_pki();
    let stranger = browser_trusting(&root_ders(&other_province), &station);
    let err = stranger.send("/healthz", None, None).await.err().expect("the handshake must fail");
    assert!(err.to_string().contains("invalid peer certificate"), "{err}");
    // Nor does plain HTTP get an answer from the TLS port.
    let plain = reqwest::Client::new().get(format!("http://{}/healthz", station.addr)).send().await;
    assert!(plain.is_err() || plain.is_ok_and(|r| !r.status().is_success()));
}

#[tokio::test]
async fn a_web_certificate_cannot_stand_in_for_the_sync_certificate() {
    let (province, county) = county_pki();
    let kiosk = NodeIdentity::new("kiosk-hp01", Role::Kiosk, "510131001001").unwrap();
    let creds = county.issue_web_credentials(&kiosk, &[HOST.to_string()], SystemTime::now()).unwrap();
    // serverAuth only: no clientAuth, so a sync hub (which requires a client certificate for
    // clientAuth) would refuse it; the names carry the station's host, not a sync server name.
    let (_, leaf) = x509_parser::parse_x509_certificate(&creds.chain[0]).unwrap();
    let eku = leaf.extended_key_usage().unwrap().unwrap().value;
    assert!(eku.server_auth && !eku.client_auth);
    // A county may not issue a web certificate outside its scope, nor to another county's CA.
    let elsewhere = NodeIdentity::new("kiosk-far", Role::Kiosk, "510132001001").unwrap();
    assert!(county.issue_web_credentials(&elsewhere, &[HOST.to_string()], SystemTime::now()).is_err());
    let hub = NodeIdentity::new("county-510132", Role::Hub, "510132").unwrap();
    assert!(province.issue_web_credentials(&hub, &[HOST.to_string()], SystemTime::now()).is_err());
    // Names are host names or addresses, within the limit.
    for bad in [vec![], vec!["no spaces here".to_string()], vec!["*.wild.card".to_string()]] {
        assert!(county.issue_web_credentials(&kiosk, &bad, SystemTime::now()).is_err(), "{bad:?}");
    }
    let many: Vec<String> =
        (0..=yizhan_identity::web::WEB_NAMES_MAX).map(|i| format!("h{i}.station")).collect();
    assert!(county.issue_web_credentials(&kiosk, &many, SystemTime::now()).is_err());
}

#[tokio::test]
async fn a_local_certificate_is_served_with_the_fingerprint_the_kiosk_shows() {
    let pki = tempfile::tempdir().unwrap();
    let creds =
        load_or_create_local(pki.path(), "kiosk-hp01", &[HOST.to_string()], SystemTime::now()).unwrap();
    let shown = creds.fingerprint();
    // Made once: the next start serves the same certificate (the officer confirms it once).
    let again =
        load_or_create_local(pki.path(), "kiosk-hp01", &[HOST.to_string()], SystemTime::now()).unwrap();
    assert_eq!(again.fingerprint(), shown);
    let station = start_station(&again, Some(shown.clone())).await;

    // The officer's tablet, having confirmed this certificate, trusts exactly it.
    let browser = browser_trusting(&[creds.chain[0].to_vec()], &station);
    // The certificate the server presents has the fingerprint the kiosk shows (/api/status here,
    // and 我的账号 once signed in).
    let served = served_certificate(&station).await;
    assert_eq!(fingerprint(&served), shown);
    let status: serde_json::Value =
        serde_json::from_str(&browser.get("/api/status", None).await.body).unwrap();
    assert_eq!(status["web_fingerprint"], shown.as_str());
    let set_cookie = sign_in(&browser, &station).await;
    assert!(set_cookie.contains("; Secure"), "{set_cookie}");
    let account = browser.get("/account", Some(session_of(&set_cookie))).await;
    assert!(account.body.contains(&shown), "{}", account.body);
    // Cases still need sign-in.
    assert_eq!(browser.get("/api/cases", None).await.status, 401);
}

/// The leaf certificate the station presents, read from a TLS handshake that accepts anything.
async fn served_certificate(station: &Station) -> Vec<u8> {
    #[derive(Debug)]
    struct AcceptAny(Arc<rustls::crypto::CryptoProvider>);
    impl rustls::client::danger::ServerCertVerifier for AcceptAny {
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
            rustls::crypto::verify_tls12_signature(
                message,
                cert,
                dss,
                &self.0.signature_verification_algorithms,
            )
        }
        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &rustls::pki_types::CertificateDer<'_>,
            dss: &rustls::DigitallySignedStruct,
        ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls13_signature(
                message,
                cert,
                dss,
                &self.0.signature_verification_algorithms,
            )
        }
        fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
            self.0.signature_verification_algorithms.supported_schemes()
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAny(provider)))
        .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(station.addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from(HOST).unwrap();
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config)).connect(name, tcp).await.unwrap();
    tls.get_ref().1.peer_certificates().unwrap()[0].to_vec()
}
