//! Revocation lists: signing, bytes, verification, versions and merging.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;

use common::*;
use yizhan_identity::{Applied, Authority, RevocationError, RevocationState, Revoked, SignedRevocationList};

fn kiosk_revoked() -> BTreeSet<Revoked> {
    BTreeSet::from([Revoked::node("kiosk-510131001001").unwrap()])
}

#[test]
fn lists_round_trip_as_bytes_and_verify() {
    let pki = Pki::new();
    let signed = pki.hub.sign_revocation_list(3, kiosk_revoked()).unwrap();
    let bytes = signed.to_bytes();
    let decoded = SignedRevocationList::from_bytes(&bytes).unwrap();
    assert_eq!(decoded, signed);
    let (list, signer) = decoded.verify(&pki.roots(), t0()).unwrap();
    assert_eq!(list.version, 3);
    assert_eq!(list.revoked, kiosk_revoked());
    assert_eq!(signer.node_id(), "hub-510131");
    // The province signs with the root itself.
    let (_, signer) =
        pki.province.sign_revocation_list(1, BTreeSet::new()).unwrap().verify(&pki.roots(), t0()).unwrap();
    assert_eq!(signer.node_id(), "province-51");
}

#[test]
fn tampered_or_foreign_lists_are_refused_and_change_nothing() {
    let pki = Pki::new();
    let state = RevocationState::new(pki.roots());
    let bytes = pki.hub.sign_revocation_list(1, kiosk_revoked()).unwrap().to_bytes();
    // Flip the version inside the signed body.
    let mut wire: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let body = b64.decode(wire["body"].as_str().unwrap()).unwrap();
    let body = String::from_utf8(body).unwrap().replace("\"version\":1", "\"version\":9");
    wire["body"] = b64.encode(body).into();
    let tampered = serde_json::to_vec(&wire).unwrap();
    assert!(matches!(state.apply(&tampered, t0()), Err(RevocationError::BadSignature)));
    // A list signed by a CA of another province root.
    let stranger = Authority::init("province-51", "51", t0()).unwrap();
    let foreign = stranger.sign_revocation_list(1, kiosk_revoked()).unwrap().to_bytes();
    assert!(matches!(state.apply(&foreign, t0()), Err(RevocationError::Signer(_))));
    // A list whose signer chain is swapped for another CA's.
    let mut wire: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let other = serde_json::from_slice::<serde_json::Value>(
        &pki.other_hub.sign_revocation_list(1, BTreeSet::new()).unwrap().to_bytes(),
    )
    .unwrap();
    wire["signer_chain"] = other["signer_chain"].clone();
    assert!(matches!(
        state.apply(&serde_json::to_vec(&wire).unwrap(), t0()),
        Err(RevocationError::BadSignature)
    ));
    assert!(state.export().is_empty());
}

#[test]
fn higher_versions_win_per_issuer() {
    let pki = Pki::new();
    let state = RevocationState::new(pki.roots());
    let v2 = pki.hub.sign_revocation_list(2, kiosk_revoked()).unwrap();
    let v1 = pki.hub.sign_revocation_list(1, BTreeSet::new()).unwrap();
    let other_v1 = pki.other_hub.sign_revocation_list(1, BTreeSet::new()).unwrap();
    assert_eq!(state.apply_signed(v2.clone(), t0()).unwrap(), Applied::Updated);
    assert_eq!(state.apply_signed(v1, t0()).unwrap(), Applied::Stale { held_version: 2 });
    assert_eq!(state.apply_signed(v2, t0()).unwrap(), Applied::Stale { held_version: 2 });
    assert_eq!(state.apply_signed(other_v1, t0()).unwrap(), Applied::Updated);
    assert_eq!(state.export().len(), 2);

    // Merging: the newer list of each issuer survives, whichever side had it.
    let other_state = RevocationState::new(pki.roots());
    let v3 = pki.hub.sign_revocation_list(3, BTreeSet::new()).unwrap();
    other_state.apply_signed(v3, t0()).unwrap();
    let province = pki.province.sign_revocation_list(1, BTreeSet::new()).unwrap();
    other_state.apply_signed(province, t0()).unwrap();
    assert_eq!(state.merge_from(&other_state, t0()).unwrap(), 2);
    let lists: Vec<u64> =
        state.signed_lists().iter().map(|s| s.verify(&pki.roots(), t0()).unwrap().0.version).collect();
    assert_eq!(lists.len(), 3);
    assert!(lists.contains(&3));
    // Exported bytes rebuild the same state on a child.
    let child = RevocationState::new(pki.roots());
    for bytes in state.export() {
        child.apply(&bytes, t0()).unwrap();
    }
    assert_eq!(child.export(), state.export());
}

#[test]
fn malformed_list_bytes_are_errors() {
    let pki = Pki::new();
    let state = RevocationState::new(pki.roots());
    let huge = vec![b' '; 5 * 1024 * 1024];
    let cases: Vec<&[u8]> = vec![
        b"",
        b"{}",
        b"[1,2,3]",
        b"{\"format\":1,\"body\":\"!!\",\"signature\":\"\",\"signer_chain\":[\"AA==\"]}",
        b"{\"format\":2,\"body\":\"\",\"signature\":\"\",\"signer_chain\":[\"AA==\"]}",
        b"{\"format\":1,\"body\":\"\",\"signature\":\"\",\"signer_chain\":[]}",
        b"{\"format\":1,\"body\":\"\",\"signature\":\"\",\"signer_chain\":[\"MAMCAQA=\"]}",
        &huge,
    ];
    for bytes in cases {
        assert!(
            state.apply(bytes, t0()).is_err(),
            "{:?}",
            String::from_utf8_lossy(&bytes[..bytes.len().min(80)])
        );
    }
    // Invalid entries are refused when signing.
    assert!(Revoked::node("Not_A_Node").is_err());
    let bad = BTreeSet::from([Revoked::Serial { serial: "xyz".into() }]);
    assert!(pki.hub.sign_revocation_list(1, bad).is_err());
}
