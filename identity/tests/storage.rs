//! Saving and loading credentials, authorities and roots.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use yizhan_identity::{Authority, NodeCredentials, StoreError, TrustRoots};

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn node_credentials_round_trip_with_a_private_key_file() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    pki.kiosk_creds.save(dir.path()).unwrap();
    pki.roots().save(dir.path()).unwrap();
    #[cfg(unix)]
    assert_eq!(mode(&dir.path().join("node.key")), 0o600);
    let loaded = NodeCredentials::load(dir.path()).unwrap();
    assert_eq!(loaded.chain, pki.kiosk_creds.chain);
    assert_eq!(loaded.key.secret_der(), pki.kiosk_creds.key.secret_der());
    let roots = TrustRoots::load(dir.path()).unwrap();
    loaded.verify(&roots, t0()).unwrap();
    // Saving again over a world-readable stale key file still leaves 0600.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let stale = dir.path().join(".node.key.tmp");
        std::fs::write(&stale, b"old").unwrap();
        std::fs::set_permissions(&stale, std::fs::Permissions::from_mode(0o666)).unwrap();
        pki.kiosk_creds.save(dir.path()).unwrap();
        assert_eq!(mode(&dir.path().join("node.key")), 0o600);
    }
}

#[test]
fn authority_round_trip_keeps_issuing() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    pki.hub.save(dir.path()).unwrap();
    #[cfg(unix)]
    assert_eq!(mode(&dir.path().join("ca.key")), 0o600);
    let hub = Authority::load(dir.path(), t0()).unwrap();
    assert_eq!(hub.identity(), pki.hub.identity());
    let kiosk = hub.issue_credentials(&kiosk_id("k", "510131001002"), t0()).unwrap();
    kiosk.verify(&pki.roots(), t0()).unwrap();

    let pdir = tempfile::tempdir().unwrap();
    pki.province.save(pdir.path()).unwrap();
    let province = Authority::load(pdir.path(), t0()).unwrap();
    province.create_child_hub("hub-510104", "510104", t0()).unwrap();
}

#[test]
fn mismatched_keys_and_missing_files_are_errors() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(NodeCredentials::load(dir.path()), Err(StoreError::Io { .. })));
    pki.kiosk_creds.save(dir.path()).unwrap();
    // Another node's key next to this chain.
    let other = tempfile::tempdir().unwrap();
    pki.hub_creds.save(other.path()).unwrap();
    std::fs::copy(other.path().join("node.key"), dir.path().join("node.key")).unwrap();
    assert!(matches!(NodeCredentials::load(dir.path()), Err(StoreError::KeyMismatch { .. })));

    let adir = tempfile::tempdir().unwrap();
    pki.hub.save(adir.path()).unwrap();
    std::fs::copy(other.path().join("node.key"), adir.path().join("ca.key")).unwrap();
    assert!(matches!(Authority::load(adir.path(), t0()), Err(StoreError::KeyMismatch { .. })));
    // An authority whose CA has expired does not load.
    pki.hub.save(adir.path()).unwrap();
    assert!(matches!(Authority::load(adir.path(), t0() + days(11 * 365)), Err(StoreError::Verify { .. })));
}
