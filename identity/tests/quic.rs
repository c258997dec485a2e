//! The configurations over real QUIC (quinn) on loopback: conversion, mutual TLS, identities.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use common::*;
use quinn::crypto::rustls::{QuicClientConfig, QuicServerConfig};
use rustls::pki_types::CertificateDer;
use yizhan_identity::{
    NodeCredentials, NodeIdentity, RevocationState, Revoked, TrustRoots, client_config, peer_identity,
    server_config, system_clock,
};

fn peer_of(conn: &quinn::Connection) -> NodeIdentity {
    let certs = conn.peer_identity().unwrap().downcast::<Vec<CertificateDer<'static>>>().unwrap();
    peer_identity(&certs).unwrap()
}

/// One connection from `kiosk` to `hub`; returns what each side saw, or the client's error.
async fn connect(
    kiosk: &NodeCredentials,
    hub: &NodeCredentials,
    roots: &TrustRoots,
    hub_rev: Arc<RevocationState>,
) -> Result<(NodeIdentity, NodeIdentity), quinn::ConnectionError> {
    let server_tls = server_config(hub, roots, hub_rev, &[ALPN], system_clock()).unwrap();
    let server_cfg =
        quinn::ServerConfig::with_crypto(Arc::new(QuicServerConfig::try_from(server_tls).unwrap()));
    let server = quinn::Endpoint::server(server_cfg, SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).unwrap();
    let addr = server.local_addr().unwrap();
    let accept = tokio::spawn(async move {
        let incoming = server.accept().await.unwrap();
        let result = incoming.await.map(|conn| peer_of(&conn));
        server.wait_idle().await;
        result
    });

    let client_tls =
        client_config(kiosk, roots, Arc::new(RevocationState::new(roots.clone())), &[ALPN], system_clock())
            .unwrap();
    let mut client = quinn::Endpoint::client(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).unwrap();
    client.set_default_client_config(quinn::ClientConfig::new(Arc::new(
        QuicClientConfig::try_from(client_tls).unwrap(),
    )));
    let hub_id = hub.identity().unwrap();
    let result = match client.connect(addr, &hub_id.server_name()).unwrap().await {
        Ok(conn) => {
            // In TLS 1.3 the server checks the client's certificate last: wait for its verdict.
            let seen_by_kiosk = peer_of(&conn);
            let seen_by_hub = accept.await.unwrap();
            match seen_by_hub {
                Ok(seen_by_hub) => Ok((seen_by_kiosk, seen_by_hub)),
                Err(_) => Err(conn.closed().await),
            }
        }
        Err(e) => Err(e),
    };
    client.close(0u32.into(), b"done");
    result
}

#[tokio::test]
async fn kiosk_and_hub_over_quic() {
    // Real time: the certificates are issued now (the handshake reads the system clock).
    let now = std::time::SystemTime::now();
    let province = yizhan_identity::Authority::init("province-51", "51", now).unwrap();
    let hub = province.create_child_hub("hub-510131", "510131", now).unwrap();
    let hub_creds = hub.own_credentials(now).unwrap();
    let kiosk = hub.issue_credentials(&kiosk_id("kiosk-510131001001", "510131001001"), now).unwrap();
    let roots = province.roots().clone();

    let (seen_by_kiosk, seen_by_hub) =
        connect(&kiosk, &hub_creds, &roots, Arc::new(RevocationState::new(roots.clone()))).await.unwrap();
    assert_eq!(seen_by_kiosk.node_id(), "hub-510131");
    assert_eq!(seen_by_hub.node_id(), "kiosk-510131001001");

    let rev = Arc::new(RevocationState::new(roots.clone()));
    let list =
        hub.sign_revocation_list(1, BTreeSet::from([Revoked::node("kiosk-510131001001").unwrap()])).unwrap();
    rev.apply(&list.to_bytes(), now).unwrap();
    let err = connect(&kiosk, &hub_creds, &roots, rev).await.unwrap_err();
    // The hub closes with the TLS alert certificate_revoked (44), as QUIC crypto error 0x100 + 44.
    match err {
        quinn::ConnectionError::ConnectionClosed(close) => {
            assert_eq!(close.error_code, quinn::TransportErrorCode::crypto(44), "{close}")
        }
        other => panic!("{other}"),
    }
}
