//! Real rustls handshakes in memory between nodes of a real certificate hierarchy.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;

use common::*;
use rcgen::{
    CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use rustls::CertificateError;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use yizhan_identity::{
    Authority, NodeCredentials, NodeIdentity, PeerSide, RevocationState, Revoked, Role, VerifyError,
    client_config, peer_identity, recheck_peer, server_config, verify_chain,
};

#[test]
fn kiosk_and_county_hub_see_each_others_identity() {
    let pki = Pki::new();
    let roots = pki.roots();
    let (c, s) = handshake(
        client(&pki.kiosk_creds, &roots, pki.revocation(), t0()),
        server(&pki.hub_creds, &roots, pki.revocation(), t0()),
        "hub-510131",
    )
    .unwrap();
    let (seen_by_kiosk, seen_by_hub) = identities(&c, &s);
    assert_eq!(seen_by_kiosk, NodeIdentity::new("hub-510131", Role::Hub, "510131").unwrap());
    assert_eq!(seen_by_hub, kiosk_id("kiosk-510131001001", "510131001001"));
    assert!(seen_by_hub.scope_contains("510131001001"));
    assert_eq!(c.alpn_protocol(), Some(ALPN));
    assert_eq!(s.alpn_protocol(), Some(ALPN));
}

#[test]
fn county_hub_and_province_see_each_others_identity() {
    let pki = Pki::new();
    let roots = pki.roots();
    let (c, s) = handshake(
        client(&pki.hub_creds, &roots, pki.revocation(), t0()),
        server(&pki.province_creds, &roots, pki.revocation(), t0()),
        "province-51",
    )
    .unwrap();
    let (seen_by_hub, seen_by_province) = identities(&c, &s);
    assert_eq!(seen_by_hub, NodeIdentity::new("province-51", Role::Province, "51").unwrap());
    assert_eq!(seen_by_province, NodeIdentity::new("hub-510131", Role::Hub, "510131").unwrap());
}

#[test]
fn four_tiers_through_a_city_hub() {
    let province = Authority::init("province-51", "51", t0()).unwrap();
    let city = province.create_child_hub("hub-5101", "5101", t0()).unwrap();
    let county = city.create_child_hub("hub-510104", "510104", t0()).unwrap();
    let town = county.create_child_hub("hub-510104017", "510104017", t0()).unwrap();
    let kiosk = town.issue_credentials(&kiosk_id("k1", "510104017001"), t0()).unwrap();
    assert_eq!(kiosk.chain.len(), 4, "kiosk, town CA, county CA, city CA");
    let roots = province.roots().clone();
    let rev = || std::sync::Arc::new(RevocationState::new(roots.clone()));
    let town_creds = town.own_credentials(t0()).unwrap();
    let (c, s) = handshake(
        client(&kiosk, &roots, rev(), t0()),
        server(&town_creds, &roots, rev(), t0()),
        "hub-510104017",
    )
    .unwrap();
    let (seen_by_kiosk, seen_by_town) = identities(&c, &s);
    assert_eq!(seen_by_kiosk.scope(), "510104017");
    assert_eq!(seen_by_town.node_id(), "k1");
    // The kiosk's parent is its issuing hub; the county hub's parent is the city hub.
    assert_eq!(kiosk.parent_identity(&roots).unwrap().unwrap().node_id(), "hub-510104017");
    let county_creds = county.own_credentials(t0()).unwrap();
    assert_eq!(county_creds.parent_identity(&roots).unwrap().unwrap().node_id(), "hub-5101");
    let city_creds = city.own_credentials(t0()).unwrap();
    assert_eq!(city_creds.parent_identity(&roots).unwrap().unwrap().node_id(), "province-51");
    // The county hub dials the city hub.
    let (c, s) = handshake(
        client(&county_creds, &roots, rev(), t0()),
        server(&city_creds, &roots, rev(), t0()),
        "hub-5101",
    )
    .unwrap();
    assert_eq!(identities(&c, &s).1.node_id(), "hub-510104");
}

#[test]
fn kiosk_of_another_county_is_refused_by_the_hub_with_its_identity() {
    let pki = Pki::new();
    let roots = pki.roots();
    // The foreign kiosk's chain is valid on its own...
    let leaf = &pki.other_kiosk_creds.chain[0];
    let chain = verify_chain(&roots, leaf, &pki.other_kiosk_creds.chain[1..], 1_750_000_000).unwrap();
    // ...and its identity says which county it belongs to, which the hub checks.
    let peer = peer_identity(&pki.other_kiosk_creds.chain).unwrap();
    assert_eq!(chain.subject(), &peer);
    assert_eq!(peer.scope(), "510132001001");
    let hub = pki.hub_creds.identity().unwrap();
    assert!(!hub.is_ancestor_of(&peer));

    // The hub 510131 refuses it at the handshake (the kiosk's own config would not even dial a hub
    // outside its county: see the next test; this one is a misbehaving client).
    let failure = handshake(
        permissive_client(&pki.other_kiosk_creds),
        server(&pki.hub_creds, &roots, pki.revocation(), t0()),
        "hub-510131",
    )
    .unwrap_err();
    match verify_error(failure.server_error()) {
        VerifyError::PeerOutsideScope { peer, local } => {
            assert_eq!(peer.scope(), "510132001001");
            assert_eq!(local.scope(), "510131");
        }
        other => panic!("{other}"),
    }
    // Its own hub accepts it.
    handshake(
        client(&pki.other_kiosk_creds, &roots, pki.revocation(), t0()),
        server(&pki.other_hub_creds, &roots, pki.revocation(), t0()),
        "hub-510132",
    )
    .unwrap();
}

#[test]
fn kiosk_refuses_a_hub_that_is_not_its_ancestor() {
    let pki = Pki::new();
    let roots = pki.roots();
    let failure = handshake(
        client(&pki.kiosk_creds, &roots, pki.revocation(), t0()),
        server(&pki.other_hub_creds, &roots, pki.revocation(), t0()),
        "hub-510132",
    )
    .unwrap_err();
    assert!(matches!(verify_error(failure.client_error()), VerifyError::PeerOutsideScope { .. }));
}

#[test]
fn client_refuses_a_server_answering_for_another_name() {
    let pki = Pki::new();
    let roots = pki.roots();
    // The kiosk dials hub-510131 but reaches the province node.
    let failure = handshake(
        client(&pki.kiosk_creds, &roots, pki.revocation(), t0()),
        server(&pki.province_creds, &roots, pki.revocation(), t0()),
        "hub-510131",
    )
    .unwrap_err();
    assert!(matches!(failure.client_error(), rustls::Error::InvalidCertificate(_)));
}

/// Signs a kiosk certificate with the hub's CA key directly (bypassing `Authority`'s rules), the way
/// a buggy or malicious hub could.
fn rogue_kiosk(hub: &Authority, identity: &NodeIdentity) -> NodeCredentials {
    let dir = tempfile::tempdir().unwrap();
    hub.save(dir.path()).unwrap();
    let ca_key_pem = std::fs::read_to_string(dir.path().join("ca.key")).unwrap();
    let ca_key = KeyPair::from_pem(&ca_key_pem).unwrap();
    let issuer = Issuer::from_ca_cert_der(&hub.ca_chain()[0], ca_key).unwrap();
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = CertificateParams::default();
    params.distinguished_name.push(DnType::CommonName, identity.node_id());
    params.subject_alt_names = vec![SanType::URI(identity.to_uri().try_into().unwrap())];
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    params.not_before = time::OffsetDateTime::from_unix_timestamp(1_740_000_000).unwrap();
    params.not_after = time::OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
    let cert = params.signed_by(&key, &issuer).unwrap();
    let mut chain = vec![cert.der().clone()];
    chain.extend_from_slice(hub.ca_chain());
    NodeCredentials { chain, key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())) }
}

#[test]
fn kiosk_certificate_issued_outside_the_hubs_scope_is_rejected() {
    let pki = Pki::new();
    let roots = pki.roots();
    let outside = kiosk_id("kiosk-510132009009", "510132009009");
    // Authority refuses to issue it...
    assert!(matches!(
        pki.hub.issue_credentials(&outside, t0()),
        Err(yizhan_identity::CertError::NotAllowed { .. })
    ));
    // ...and when a hub signs it anyway, the verifier rejects it by the chain's identities, although
    // every signature is valid.
    let rogue = rogue_kiosk(&pki.hub, &outside);
    let err = verify_chain(&roots, &rogue.chain[0], &rogue.chain[1..], 1_750_000_000).unwrap_err();
    assert!(matches!(err, VerifyError::OutsideIssuerScope { .. }), "{err}");
    // At the handshake: the county it claims to be in refuses it, and so does the issuing hub.
    for (creds, name) in [(&pki.other_hub_creds, "hub-510132"), (&pki.hub_creds, "hub-510131")] {
        let failure =
            handshake(permissive_client(&rogue), server(creds, &roots, pki.revocation(), t0()), name)
                .unwrap_err();
        assert!(matches!(verify_error(failure.server_error()), VerifyError::OutsideIssuerScope { .. }));
    }
    // A kiosk certificate in scope, signed the same rogue way, passes: the rule is the scope.
    let inside = rogue_kiosk(&pki.hub, &kiosk_id("kiosk-510131009009", "510131009009"));
    verify_chain(&roots, &inside.chain[0], &inside.chain[1..], 1_750_000_000).unwrap();
}

#[test]
fn hub_cannot_create_hubs_outside_or_at_its_own_level() {
    let pki = Pki::new();
    assert!(pki.hub.create_child_hub("hub-510132x", "510132", t0()).is_err());
    assert!(pki.hub.create_child_hub("hub-510131b", "510131", t0()).is_err());
    assert!(pki.hub.create_child_hub("hub-5101", "5101", t0()).is_err());
    assert!(pki.hub.create_child_hub("hub-510131001", "510131001", t0()).is_ok());
}

#[test]
fn certificate_from_another_ca_is_refused() {
    let pki = Pki::new();
    let roots = pki.roots();
    // Another root that claims the same province and node ids.
    let impostor = Authority::init("province-51", "51", t0()).unwrap();
    let impostor_hub = impostor.create_child_hub("hub-510131", "510131", t0()).unwrap();
    let impostor_kiosk =
        impostor_hub.issue_credentials(&kiosk_id("kiosk-510131001001", "510131001001"), t0()).unwrap();
    let failure = handshake(
        permissive_client(&impostor_kiosk),
        server(&pki.hub_creds, &roots, pki.revocation(), t0()),
        "hub-510131",
    )
    .unwrap_err();
    // Same names as ours: webpki finds our root by name and the signature does not verify.
    assert!(matches!(
        failure.server_error(),
        rustls::Error::InvalidCertificate(CertificateError::BadSignature | CertificateError::UnknownIssuer)
    ));
    // Another CA under other names: no issuer at all.
    let stranger = Authority::init("stranger", "52", t0()).unwrap();
    let stranger_hub = stranger.create_child_hub("hub-520101", "520101", t0()).unwrap();
    let stranger_kiosk = stranger_hub.issue_credentials(&kiosk_id("kiosk-x", "520101001001"), t0()).unwrap();
    let failure = handshake(
        permissive_client(&stranger_kiosk),
        server(&pki.hub_creds, &roots, pki.revocation(), t0()),
        "hub-510131",
    )
    .unwrap_err();
    assert!(matches!(
        failure.server_error(),
        rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)
    ));
    // A kiosk refuses an impostor hub.
    let impostor_hub_creds = impostor_hub.own_credentials(t0()).unwrap();
    let failure = handshake(
        client(&pki.kiosk_creds, &roots, pki.revocation(), t0()),
        server(&impostor_hub_creds, impostor.roots(), pki.revocation(), t0()),
        "hub-510131",
    )
    .unwrap_err();
    assert!(matches!(
        failure.client_error(),
        rustls::Error::InvalidCertificate(CertificateError::BadSignature | CertificateError::UnknownIssuer)
    ));
    // Presenting the impostor's chain with our root's name does not help either.
    assert_eq!(
        verify_chain(&roots, &impostor_kiosk.chain[0], &impostor_kiosk.chain[1..], 1_750_000_000)
            .unwrap_err()
            .to_string(),
        VerifyError::UnknownIssuer.to_string()
    );
}

#[test]
fn revoked_kiosk_is_refused() {
    let pki = Pki::new();
    let roots = pki.roots();
    let list = pki
        .hub
        .sign_revocation_list(1, BTreeSet::from([Revoked::node("kiosk-510131001001").unwrap()]))
        .unwrap();
    let rev = pki.revocation();
    rev.apply(&list.to_bytes(), t0()).unwrap();
    let failure = handshake(
        client(&pki.kiosk_creds, &roots, pki.revocation(), t0()),
        server(&pki.hub_creds, &roots, rev.clone(), t0()),
        "hub-510131",
    )
    .unwrap_err();
    assert!(matches!(failure.server_error(), rustls::Error::InvalidCertificate(CertificateError::Revoked)));

    // A new list (higher version) that lifts the revocation applies to the next handshake on the
    // same config's state.
    let lifted = pki.hub.sign_revocation_list(2, BTreeSet::new()).unwrap();
    rev.apply(&lifted.to_bytes(), t0()).unwrap();
    handshake(
        client(&pki.kiosk_creds, &roots, pki.revocation(), t0()),
        server(&pki.hub_creds, &roots, rev, t0()),
        "hub-510131",
    )
    .unwrap();
}

#[test]
fn revoked_by_serial_refuses_only_that_certificate() {
    let pki = Pki::new();
    let roots = pki.roots();
    let identity = kiosk_id("kiosk-510131001001", "510131001001");
    let old = pki.hub.issue_credentials(&identity, t0()).unwrap();
    let new = pki.hub.issue_credentials(&identity, t0()).unwrap();
    let list = pki
        .hub
        .sign_revocation_list(1, BTreeSet::from([Revoked::certificate(&old.chain[0]).unwrap()]))
        .unwrap();
    let rev = pki.revocation();
    rev.apply(&list.to_bytes(), t0()).unwrap();
    let failure = handshake(
        client(&old, &roots, pki.revocation(), t0()),
        server(&pki.hub_creds, &roots, rev.clone(), t0()),
        "hub-510131",
    )
    .unwrap_err();
    assert!(matches!(failure.server_error(), rustls::Error::InvalidCertificate(CertificateError::Revoked)));
    handshake(
        client(&new, &roots, pki.revocation(), t0()),
        server(&pki.hub_creds, &roots, rev, t0()),
        "hub-510131",
    )
    .unwrap();
}

#[test]
fn revoked_hub_is_refused_by_its_kiosks_and_by_the_province() {
    let pki = Pki::new();
    let roots = pki.roots();
    let list =
        pki.province.sign_revocation_list(7, BTreeSet::from([Revoked::node("hub-510131").unwrap()])).unwrap();
    let rev = pki.revocation();
    rev.apply(&list.to_bytes(), t0()).unwrap();
    // The kiosk holds the province's list (it synced down) and refuses its hub.
    let failure = handshake(
        client(&pki.kiosk_creds, &roots, rev.clone(), t0()),
        server(&pki.hub_creds, &roots, pki.revocation(), t0()),
        "hub-510131",
    )
    .unwrap_err();
    assert!(matches!(failure.client_error(), rustls::Error::InvalidCertificate(CertificateError::Revoked)));
    // The province refuses the hub.
    let failure = handshake(
        client(&pki.hub_creds, &roots, pki.revocation(), t0()),
        server(&pki.province_creds, &roots, rev.clone(), t0()),
        "province-51",
    )
    .unwrap_err();
    assert!(matches!(failure.server_error(), rustls::Error::InvalidCertificate(CertificateError::Revoked)));
    // The other county is unaffected.
    handshake(
        client(&pki.other_hub_creds, &roots, pki.revocation(), t0()),
        server(&pki.province_creds, &roots, rev, t0()),
        "province-51",
    )
    .unwrap();
}

#[test]
fn a_hub_cannot_revoke_another_countys_kiosk() {
    let pki = Pki::new();
    let roots = pki.roots();
    // Hub 510132 "revokes" hub 510131's kiosk: its list only applies to chains through its own CA.
    let list = pki
        .other_hub
        .sign_revocation_list(1, BTreeSet::from([Revoked::node("kiosk-510131001001").unwrap()]))
        .unwrap();
    let rev = pki.revocation();
    rev.apply(&list.to_bytes(), t0()).unwrap();
    handshake(
        client(&pki.kiosk_creds, &roots, pki.revocation(), t0()),
        server(&pki.hub_creds, &roots, rev, t0()),
        "hub-510131",
    )
    .unwrap();
}

#[test]
fn expired_certificates_are_refused() {
    let pki = Pki::new();
    let roots = pki.roots();
    // The kiosk's TLS certificate is valid for 3 years; 4 years later the hub refuses it.
    let later = t0() + days(4 * 365);
    // A hub TLS certificate renewed at `later` (its CA is valid 10 years).
    let fresh_hub = pki.hub.own_credentials(later).unwrap();
    let failure = handshake(
        client(&pki.kiosk_creds, &roots, pki.revocation(), later),
        server(&fresh_hub, &roots, pki.revocation(), later),
        "hub-510131",
    )
    .unwrap_err();
    // The hub's certificate is fresh, so the kiosk goes ahead; the hub refuses the kiosk's.
    assert!(
        matches!(
            failure.server_error(),
            rustls::Error::InvalidCertificate(CertificateError::ExpiredContext { .. })
        ),
        "{failure:?}"
    );
    // A kiosk refuses an expired hub certificate.
    let fresh_kiosk =
        pki.hub.issue_credentials(&kiosk_id("kiosk-510131001001", "510131001001"), later).unwrap();
    let failure = handshake(
        client(&fresh_kiosk, &roots, pki.revocation(), later),
        server(&pki.hub_creds, &roots, pki.revocation(), later),
        "hub-510131",
    )
    .unwrap_err();
    assert!(
        matches!(
            failure.client_error(),
            rustls::Error::InvalidCertificate(CertificateError::ExpiredContext { .. })
        ),
        "{failure:?}"
    );
    // Our own chain check agrees, and names the certificate.
    let err = verify_chain(
        &roots,
        &pki.kiosk_creds.chain[0],
        &pki.kiosk_creds.chain[1..],
        1_750_000_000 + 4 * 365 * 86_400,
    )
    .unwrap_err();
    assert!(matches!(err, VerifyError::NotValidNow { index: 0, .. }), "{err}");
    // Before issuance (minus the one-day backdate) is refused too.
    let before = t0() - days(2);
    let failure = handshake(
        client(&pki.kiosk_creds, &roots, pki.revocation(), before),
        server(&pki.hub_creds, &roots, pki.revocation(), before),
        "hub-510131",
    )
    .unwrap_err();
    assert!(matches!(failure, Failure::Client(rustls::Error::InvalidCertificate(_))), "{failure:?}");
    // Slightly slow clocks are fine.
    handshake(
        client(&pki.kiosk_creds, &roots, pki.revocation(), t0() - std::time::Duration::from_secs(3600)),
        server(&pki.hub_creds, &roots, pki.revocation(), t0() - std::time::Duration::from_secs(3600)),
        "hub-510131",
    )
    .unwrap();
}

#[test]
fn a_kiosk_cannot_serve_and_a_hub_certificate_cannot_be_a_kiosks() {
    let pki = Pki::new();
    let roots = pki.roots();
    let err = server_config(&pki.kiosk_creds, &roots, pki.revocation(), &[ALPN], clock_at(t0())).unwrap_err();
    assert!(err.to_string().contains("serve"), "{err}");
    client_config(&pki.kiosk_creds, &roots, pki.revocation(), &[ALPN], clock_at(t0())).unwrap();
    // A chain where a CA certificate is presented as the end entity is refused.
    let ca_as_leaf: Vec<CertificateDer<'static>> = pki.hub.ca_chain().to_vec();
    let err = verify_chain(&roots, &ca_as_leaf[0], &[], 1_750_000_000).unwrap_err();
    assert!(matches!(err, VerifyError::LeafIsCa), "{err}");
}

#[test]
fn revocation_applies_to_the_next_connection_of_long_running_configs() {
    let pki = Pki::new();
    let roots = pki.roots();
    let hub_rev = pki.revocation();
    let kiosk_rev = pki.revocation();
    let client_cfg = std::sync::Arc::new(client(&pki.kiosk_creds, &roots, kiosk_rev.clone(), t0()));
    let server_cfg = std::sync::Arc::new(server(&pki.hub_creds, &roots, hub_rev.clone(), t0()));
    let now =
        rustls::pki_types::UnixTime::since_unix_epoch(t0().duration_since(std::time::UNIX_EPOCH).unwrap());
    let hub_id = pki.hub_creds.identity().unwrap();
    let kiosk_id = pki.kiosk_creds.identity().unwrap();
    let recheck = |c: &rustls::Connection, s: &rustls::Connection| {
        let by_hub =
            recheck_peer(&roots, &hub_rev, &hub_id, s.peer_certificates().unwrap(), now, PeerSide::Child);
        let by_kiosk = recheck_peer(
            &roots,
            &kiosk_rev,
            &kiosk_id,
            c.peer_certificates().unwrap(),
            now,
            PeerSide::Parent,
        );
        (by_hub, by_kiosk)
    };
    // The first connection is a full handshake; the next ones resume the session (no
    // certificate chains on the wire), and the peers' chains are still there to check again.
    let (c, s) = handshake_shared(&client_cfg, &server_cfg, "hub-510131").unwrap();
    assert_eq!(c.handshake_kind(), Some(rustls::HandshakeKind::Full));
    for _ in 0..2 {
        let (c, s) = handshake_shared(&client_cfg, &server_cfg, "hub-510131").unwrap();
        assert_eq!(c.handshake_kind(), Some(rustls::HandshakeKind::Resumed));
        assert_eq!(s.handshake_kind(), Some(rustls::HandshakeKind::Resumed));
        let (by_hub, by_kiosk) = recheck(&c, &s);
        assert_eq!(by_hub.unwrap(), kiosk_id);
        assert_eq!(by_kiosk.unwrap(), hub_id);
    }
    let _ = (c, s);
    // The hub revokes the kiosk. Resuming skips the handshake's verifier, so TLS alone lets
    // the kiosk back in; the check every accepted connection runs refuses it.
    let list = pki
        .hub
        .sign_revocation_list(1, BTreeSet::from([Revoked::node("kiosk-510131001001").unwrap()]))
        .unwrap();
    hub_rev.apply(&list.to_bytes(), t0()).unwrap();
    let (c, s) = handshake_shared(&client_cfg, &server_cfg, "hub-510131").unwrap();
    assert_eq!(s.handshake_kind(), Some(rustls::HandshakeKind::Resumed));
    let (by_hub, by_kiosk) = recheck(&c, &s);
    assert!(matches!(by_hub, Err(VerifyError::Revoked { .. })), "{by_hub:?}");
    assert!(by_kiosk.is_ok());
    // Without a ticket (a fresh client, or one past its lifetime), the handshake refuses it.
    let fresh = std::sync::Arc::new(client(&pki.kiosk_creds, &roots, kiosk_rev.clone(), t0()));
    let failure = handshake_shared(&fresh, &server_cfg, "hub-510131").unwrap_err();
    assert!(matches!(failure.server_error(), rustls::Error::InvalidCertificate(CertificateError::Revoked)));
    // The province revokes the hub: resuming skips the kiosk's verifier as well, and the
    // kiosk's check of every connection refuses the hub; a full handshake refuses it too.
    let list =
        pki.province.sign_revocation_list(1, BTreeSet::from([Revoked::node("hub-510131").unwrap()])).unwrap();
    kiosk_rev.apply(&list.to_bytes(), t0()).unwrap();
    let (c, s) = handshake_shared(&client_cfg, &server_cfg, "hub-510131").unwrap();
    assert_eq!(c.handshake_kind(), Some(rustls::HandshakeKind::Resumed));
    let (_, by_kiosk) = recheck(&c, &s);
    assert!(matches!(by_kiosk, Err(VerifyError::Revoked { .. })), "{by_kiosk:?}");
    let failure = handshake_shared(&fresh, &server_cfg, "hub-510131").unwrap_err();
    assert!(matches!(failure.client_error(), rustls::Error::InvalidCertificate(CertificateError::Revoked)));
}
