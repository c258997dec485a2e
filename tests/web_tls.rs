//! `yizhan kiosk` on the station network, as a real process: listening beyond loopback it serves
//! HTTPS, with the web certificate `yizhan web-cert` issued on the county hub's machine (chaining
//! to the province root, refused by a client trusting another), or with a self-signed local one
//! whose printed fingerprint is the served certificate's; cases need sign-in either way.
#![allow(clippy::unwrap_used)]

#[path = "support/process.rs"]
#[allow(dead_code)] // shared by the binary's end-to-end tests, each using part of it
mod process;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use process::{BIN, Proc};
use rustls::pki_types::{CertificateDer, ServerName};

const HOST: &str = "zhan.station";

fn run(args: &[&str]) -> (bool, String) {
    let out = Command::new(BIN).args(args).env("RUST_LOG", "warn").output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// `驿站 kiosk ready: https://zhan.station:PORT/ ...` → PORT
fn port_of(line: &str) -> u16 {
    let after = line.split("https://").nth(1).unwrap().split('/').next().unwrap();
    after.rsplit(':').next().unwrap().parse().unwrap()
}

fn tls_config(roots: &[CertificateDer<'static>]) -> Arc<rustls::ClientConfig> {
    let mut store = rustls::RootCertStore::empty();
    for root in roots {
        store.add(root.clone()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(store)
            .with_no_client_auth(),
    )
}

/// GET `path` over TLS to 127.0.0.1:`port` as [`HOST`]: the status code and the certificate the
/// server presented, or the handshake's error.
fn get(config: Arc<rustls::ClientConfig>, port: u16, path: &str) -> Result<(u16, Vec<u8>), std::io::Error> {
    let conn = rustls::ClientConnection::new(config, ServerName::try_from(HOST).unwrap()).unwrap();
    let tcp = TcpStream::connect(("127.0.0.1", port))?;
    tcp.set_read_timeout(Some(std::time::Duration::from_secs(20)))?;
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    write!(tls, "GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nConnection: close\r\n\r\n")?;
    let mut answer = Vec::new();
    // A peer closing without close_notify after the answer is fine here.
    let _ = tls.read_to_end(&mut answer);
    if answer.is_empty() {
        return Err(std::io::Error::other("no answer"));
    }
    let text = String::from_utf8_lossy(&answer);
    let status = text.split(' ').nth(1).unwrap().parse().unwrap();
    let cert = tls.conn.peer_certificates().unwrap()[0].to_vec();
    Ok((status, cert))
}

#[test]
fn a_kiosk_beyond_loopback_serves_https_with_the_county_or_a_local_certificate() {
    let tmp = tempfile::tempdir().unwrap();
    let (prov, county, kiosk, other) = (
        tmp.path().join("province"),
        tmp.path().join("county"),
        tmp.path().join("kiosk"),
        tmp.path().join("other-province"),
    );
    assert!(run(&["ca-init", "--data-dir", p(&prov)]).0);
    assert!(run(&["ca-init", "--data-dir", p(&other)]).0);
    let (ok, out) = run(&[
        "ca-add-hub",
        "--ca-dir",
        p(&prov),
        "--out-dir",
        p(&county),
        "--node-id",
        "hub-510131",
        "--scope",
        "510131",
    ]);
    assert!(ok, "{out}");
    // The county issues the kiosk's web certificate; it goes into the kiosk's pki/ with the roots.
    let kiosk_pki = kiosk.join("pki");
    let (ok, out) = run(&[
        "web-cert",
        "--data-dir",
        p(&county),
        "--node-id",
        "kiosk-hp01",
        "--scope",
        "510131001001",
        "--names",
        &format!("{HOST},192.168.1.10"),
        "--out",
        p(&kiosk_pki),
    ]);
    assert!(ok, "{out}");
    // Outside the county's region it refuses.
    let (ok, _) = run(&[
        "web-cert",
        "--data-dir",
        p(&county),
        "--node-id",
        "kiosk-far",
        "--scope",
        "510132001001",
        "--names",
        HOST,
        "--out",
        p(&tmp.path().join("far")),
    ]);
    assert!(!ok);
    std::fs::copy(county.join("pki/roots.pem"), kiosk_pki.join("roots.pem")).unwrap();
    let province_roots = yizhan_identity::TrustRoots::load(&prov.join("pki")).unwrap().certificates();
    let other_roots = yizhan_identity::TrustRoots::load(&other.join("pki")).unwrap().certificates();

    let args = ["kiosk", "--data-dir", p(&kiosk), "--listen", "0.0.0.0:0", "--web-names", HOST];
    let k = Proc::spawn(&args, "info");
    let port = port_of(&k.wait_line("ready: https://"));
    // Trusting only the province root, the certificate verifies for the station's name.
    let (status, _) = get(tls_config(&province_roots), port, "/healthz").unwrap();
    assert_eq!(status, 200);
    let (status, _) = get(tls_config(&province_roots), port, "/api/cases").unwrap();
    assert_eq!(status, 401, "cases need sign-in beyond loopback");
    let (status, _) = get(tls_config(&province_roots), port, "/cases").unwrap();
    assert_eq!(status, 303);
    let err = get(tls_config(&other_roots), port, "/healthz").expect_err("another root must not verify");
    assert!(err.to_string().contains("invalid peer certificate"), "{err}");
    drop(k);

    // A kiosk with no county certificate makes a local one and prints its fingerprint.
    let local = tmp.path().join("local-kiosk");
    let args = ["kiosk", "--data-dir", p(&local), "--listen", "0.0.0.0:0", "--web-names", HOST];
    let k = Proc::spawn(&args, "info");
    let port = port_of(&k.wait_line("ready: https://"));
    let printed = k.wait_line("(SHA-256)").rsplit(' ').next().unwrap().trim().to_string();
    let served_pem = std::fs::read(local.join("pki/web-local.pem")).unwrap();
    let served = CertificateDer::from(pem_der(&served_pem));
    let (status, cert) = get(tls_config(&[served]), port, "/api/cases").unwrap();
    assert_eq!(status, 401);
    assert_eq!(yizhan_identity::web::fingerprint(&cert), printed);
    assert_eq!(printed.len(), 32 * 3 - 1, "{printed}");
    drop(k);

    // Loopback stays plain HTTP by default (a developer's `yizhan kiosk`).
    let args = ["kiosk", "--data-dir", p(&local), "--listen", "127.0.0.1:0"];
    let k = Proc::spawn(&args, "info");
    let line = k.wait_line("ready: http");
    assert!(line.contains("ready: http://127.0.0.1:"), "{line}");
}

/// The DER of the first PEM block.
fn pem_der(pem: &[u8]) -> Vec<u8> {
    use base64::Engine;
    let text = String::from_utf8_lossy(pem);
    let first = text.split("-----END").next().unwrap();
    let b64: String = first.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD.decode(b64).unwrap()
}
