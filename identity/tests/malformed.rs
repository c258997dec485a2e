//! Malformed PEM and DER give errors, never panics.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use rustls::pki_types::CertificateDer;
use yizhan_identity::{
    Authority, IdentityError, NodeCredentials, NodeIdentity, StoreError, TrustRoots, peer_identity,
    verify_chain,
};

/// A small deterministic generator: tests must not depend on a seedless RNG.
struct XorShift(u64);
impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn garbage_der_is_an_error() {
    let inputs: Vec<Vec<u8>> = vec![
        Vec::new(),
        vec![0x30],
        vec![0x30, 0x82, 0xff, 0xff],
        vec![0u8; 100],
        b"-----BEGIN CERTIFICATE-----".to_vec(),
        vec![0x30; 20_000],
    ];
    for input in inputs {
        let der = CertificateDer::from(input);
        assert!(NodeIdentity::from_certificate(&der).is_err());
        assert!(peer_identity(std::slice::from_ref(&der)).is_err());
    }
    assert!(matches!(peer_identity(&[]), Err(IdentityError::EmptyChain)));
}

#[test]
fn certificates_without_or_with_bad_identities_are_errors() {
    // A valid certificate that carries no yizhan identity.
    let plain = rcgen::generate_simple_self_signed(vec!["example.invalid".to_string()]).unwrap();
    assert!(matches!(NodeIdentity::from_certificate(plain.cert.der()), Err(IdentityError::MissingIdentity)));
    // Two identities, a bad one, a CN that does not match.
    let uris = |uris: &[&str], cn: &str| {
        let mut params = rcgen::CertificateParams::default();
        params.distinguished_name.push(rcgen::DnType::CommonName, cn);
        params.subject_alt_names =
            uris.iter().map(|u| rcgen::SanType::URI((*u).try_into().unwrap())).collect();
        let key = rcgen::KeyPair::generate().unwrap();
        params.self_signed(&key).unwrap().der().clone()
    };
    let two = uris(&["yizhan://node/kiosk/510131001001/a", "yizhan://node/kiosk/510131001002/a"], "a");
    assert!(matches!(NodeIdentity::from_certificate(&two), Err(IdentityError::MultipleIdentities)));
    let bad = uris(&["yizhan://node/kiosk/5101310010/a"], "a");
    assert!(matches!(NodeIdentity::from_certificate(&bad), Err(IdentityError::InvalidScope(_))));
    let cn = uris(&["yizhan://node/kiosk/510131001001/a"], "b");
    assert!(matches!(NodeIdentity::from_certificate(&cn), Err(IdentityError::CommonNameMismatch)));
    // Not a province root.
    assert!(TrustRoots::new(vec![cn]).is_err());
    assert!(TrustRoots::new(vec![plain.cert.der().clone()]).is_err());
    assert!(TrustRoots::new(Vec::new()).is_err());
}

#[test]
fn mutated_certificates_never_panic() {
    let pki = Pki::new();
    let roots = pki.roots();
    let chain = &pki.kiosk_creds.chain;
    let mut rng = XorShift(0x5eed_1234_abcd_0001);
    for round in 0..8_000 {
        let mut leaf = chain[0].to_vec();
        let flips = 1 + (rng.next() % 4) as usize;
        for _ in 0..flips {
            let i = (rng.next() as usize) % leaf.len();
            leaf[i] ^= 1 << (rng.next() % 8);
        }
        if round % 7 == 0 {
            leaf.truncate((rng.next() as usize) % leaf.len());
        }
        let leaf = CertificateDer::from(leaf);
        let _ = NodeIdentity::from_certificate(&leaf);
        // A mutated certificate never verifies: the signature covers the TBS, and the bytes outside
        // it (signature algorithm, signature) are checked exactly.
        if leaf == chain[0] {
            continue; // two flips cancelled out
        }
        assert!(verify_chain(&roots, &leaf, &chain[1..], 1_750_000_000).is_err(), "round {round}");
    }
}

#[test]
fn malformed_pem_files_are_errors() {
    let pki = Pki::new();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("not pem", b"hello".to_vec()),
        ("unterminated", b"-----BEGIN CERTIFICATE-----\nMIIB".to_vec()),
        ("bad base64", b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n".to_vec()),
        ("garbage der", b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".to_vec()),
        ("binary", (0..=255u8).cycle().take(4096).collect()),
    ];
    for (name, bytes) in &cases {
        let dir = tempfile::tempdir().unwrap();
        pki.kiosk_creds.save(dir.path()).unwrap();
        std::fs::write(dir.path().join("node.pem"), bytes).unwrap();
        assert!(NodeCredentials::load(dir.path()).is_err(), "{name}");
        std::fs::write(dir.path().join("roots.pem"), bytes).unwrap();
        assert!(TrustRoots::load(dir.path()).is_err(), "{name}");
        assert!(TrustRoots::from_pem(bytes).is_err(), "{name}");
        let dir = tempfile::tempdir().unwrap();
        pki.kiosk_creds.save(dir.path()).unwrap();
        std::fs::write(dir.path().join("node.key"), bytes).unwrap();
        assert!(matches!(NodeCredentials::load(dir.path()), Err(StoreError::Pem { .. })), "{name}");
        let adir = tempfile::tempdir().unwrap();
        pki.hub.save(adir.path()).unwrap();
        std::fs::write(adir.path().join("ca.pem"), bytes).unwrap();
        assert!(Authority::load(adir.path(), t0()).is_err(), "{name}");
    }
    // Too large.
    let dir = tempfile::tempdir().unwrap();
    pki.kiosk_creds.save(dir.path()).unwrap();
    std::fs::write(dir.path().join("node.pem"), vec![b'A'; 1024 * 1024]).unwrap();
    assert!(matches!(NodeCredentials::load(dir.path()), Err(StoreError::TooLarge { .. })));
    // Too many certificates in one chain file.
    let many = pki.hub_creds.chain.iter().cycle().take(8).cloned().collect::<Vec<_>>();
    let pem: String = many
        .iter()
        .map(|c| {
            use base64::Engine;
            format!(
                "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
                base64::engine::general_purpose::STANDARD.encode(c)
            )
        })
        .collect();
    std::fs::write(dir.path().join("node.pem"), pem).unwrap();
    assert!(NodeCredentials::load(dir.path()).is_err());
}

#[test]
fn overlong_chains_are_refused() {
    let pki = Pki::new();
    let roots = pki.roots();
    let leaf = &pki.kiosk_creds.chain[0];
    let padding: Vec<CertificateDer<'static>> =
        std::iter::repeat_n(pki.kiosk_creds.chain[1].clone(), 10).collect();
    assert!(verify_chain(&roots, leaf, &padding, 1_750_000_000).is_err());
    // Extra unrelated certificates in the chain are refused too (chains must be linear).
    let mut extra = pki.kiosk_creds.chain[1..].to_vec();
    extra.push(pki.other_hub.ca_chain()[0].clone());
    assert!(verify_chain(&roots, leaf, &extra, 1_750_000_000).is_err());
    // The root appended at the end is tolerated.
    let mut with_root = pki.kiosk_creds.chain[1..].to_vec();
    with_root.push(roots.certificates()[0].clone());
    verify_chain(&roots, leaf, &with_root, 1_750_000_000).unwrap();
}
