//! One-time enrolment codes, end to end: code + CSR -> chain -> credentials -> handshake.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::*;
use yizhan_identity::{
    CertError, DEFAULT_CODE_TTL, EnrolError, EnrolmentCodes, EnrolmentLimits, EnrolmentRequest, NodeIdentity,
    Role,
};

fn codes() -> EnrolmentCodes {
    EnrolmentCodes::new("510131", EnrolmentLimits::default()).unwrap()
}

fn request(node_id: &str, scope: &str) -> EnrolmentRequest {
    EnrolmentRequest::new(kiosk_id(node_id, scope)).unwrap()
}

#[test]
fn a_code_enrols_a_kiosk_once() {
    let pki = Pki::new();
    let mut store = codes();
    let code = store.issue("510131001001", Some("kiosk-a"), t0(), DEFAULT_CODE_TTL).unwrap();
    let shown = code.to_string();
    assert_eq!(shown.len(), 11, "{shown}");
    assert_eq!(&shown[5..6], "-");
    assert!(!format!("{code:?}").contains(&shown[..5]), "Debug must not leak the code");

    let req = request("kiosk-a", "510131001001");
    // Typed in lower case without the dash: still the code.
    let typed = shown.replace('-', "").to_lowercase();
    let chain = store.redeem(&pki.hub, &typed, req.csr_der(), t0() + Duration::from_secs(60)).unwrap();
    assert_eq!(store.outstanding(t0()), 0);
    let creds = req.into_credentials(chain, &pki.roots(), t0()).unwrap();
    assert_eq!(creds.identity().unwrap(), kiosk_id("kiosk-a", "510131001001"));

    // The enrolled kiosk connects to its hub.
    let roots = pki.roots();
    let (c, s) = handshake(
        client(&creds, &roots, pki.revocation(), t0()),
        server(&pki.hub_creds, &roots, pki.revocation(), t0()),
        "hub-510131",
    )
    .unwrap();
    assert_eq!(identities(&c, &s).1.node_id(), "kiosk-a");

    // Second use, even with a fresh CSR: refused.
    let again = request("kiosk-a", "510131001001");
    assert!(matches!(store.redeem(&pki.hub, &shown, again.csr_der(), t0()), Err(EnrolError::AlreadyUsed)));
}

#[test]
fn an_expired_code_fails() {
    let pki = Pki::new();
    let mut store = codes();
    let code = store.issue("510131001001", None, t0(), DEFAULT_CODE_TTL).unwrap();
    let req = request("kiosk-a", "510131001001");
    let late = t0() + DEFAULT_CODE_TTL + Duration::from_secs(1);
    assert!(matches!(
        store.redeem(&pki.hub, &code.to_string(), req.csr_der(), late),
        Err(EnrolError::Expired)
    ));
    assert_eq!(store.outstanding(late), 0);
    // Just before expiry it works.
    let in_time = t0() + DEFAULT_CODE_TTL - Duration::from_secs(1);
    store.redeem(&pki.hub, &code.to_string(), req.csr_der(), in_time).unwrap();
}

#[test]
fn a_wrong_code_fails_and_changes_nothing_else() {
    let pki = Pki::new();
    let mut store = codes();
    let code = store.issue("510131001001", None, t0(), DEFAULT_CODE_TTL).unwrap();
    let req = request("kiosk-a", "510131001001");
    let before = store.clone();
    for wrong in ["ABCDE-FGHJK", "", "not a code at all", "ABCDE-FGHJKX", "驿站驿站驿站驿站驿站"] {
        assert!(
            matches!(store.redeem(&pki.hub, wrong, req.csr_der(), t0()), Err(EnrolError::WrongCode)),
            "{wrong}"
        );
    }
    assert_eq!(store.outstanding(t0()), 1);
    let serialized_codes = |s: &EnrolmentCodes| serde_json::to_value(s).unwrap()["codes"].clone();
    assert_eq!(serialized_codes(&store), serialized_codes(&before));
    store.redeem(&pki.hub, &code.to_string(), req.csr_der(), t0()).unwrap();
}

#[test]
fn too_many_wrong_codes_lock_redemption() {
    let pki = Pki::new();
    let mut store = codes();
    let code = store.issue("510131001001", None, t0(), DEFAULT_CODE_TTL).unwrap();
    let req = request("kiosk-a", "510131001001");
    let limits = store.limits().clone();
    for i in 0..limits.max_failed_attempts {
        let r =
            store.redeem(&pki.hub, "ZZZZZ-ZZZZZ", req.csr_der(), t0() + Duration::from_secs(u64::from(i)));
        assert!(matches!(r, Err(EnrolError::WrongCode)), "{r:?}");
    }
    // Locked: even the right code is refused, and the code is not consumed.
    let now = t0() + Duration::from_secs(60);
    assert!(matches!(
        store.redeem(&pki.hub, &code.to_string(), req.csr_der(), now),
        Err(EnrolError::Locked { .. })
    ));
    assert_eq!(store.outstanding(now), 1);
    // The lock survives persisting and reloading the store.
    let mut store: EnrolmentCodes = serde_json::from_slice(&serde_json::to_vec(&store).unwrap()).unwrap();
    assert!(matches!(
        store.redeem(&pki.hub, &code.to_string(), req.csr_der(), now),
        Err(EnrolError::Locked { .. })
    ));
    // After the lockout the right code works.
    let after = t0() + Duration::from_secs(limits.lockout_secs + 60);
    store.redeem(&pki.hub, &code.to_string(), req.csr_der(), after).unwrap();
}

#[test]
fn wrong_codes_spread_over_time_do_not_lock() {
    let pki = Pki::new();
    let mut store = codes();
    let code = store.issue("510131001001", None, t0(), DEFAULT_CODE_TTL).unwrap();
    let req = request("kiosk-a", "510131001001");
    let window = store.limits().failure_window_secs;
    let mut t = t0();
    for _ in 0..3 * store.limits().max_failed_attempts {
        t += Duration::from_secs(window / 4 + 1);
        assert!(matches!(
            store.redeem(&pki.hub, "ZZZZZ-ZZZZZ", req.csr_der(), t),
            Err(EnrolError::WrongCode)
        ));
    }
    store.redeem(&pki.hub, &code.to_string(), req.csr_der(), t).unwrap();
}

#[test]
fn a_csr_asking_for_another_scope_or_node_fails() {
    let pki = Pki::new();
    let mut store = codes();
    let code = store.issue("510131001001", Some("kiosk-a"), t0(), DEFAULT_CODE_TTL).unwrap();
    // Another village of the same county.
    let other_village = request("kiosk-a", "510131002001");
    let r = store.redeem(&pki.hub, &code.to_string(), other_village.csr_der(), t0());
    assert!(matches!(r, Err(EnrolError::NotAllowedByCode { .. })), "{r:?}");
    // Another county.
    let other_county = request("kiosk-a", "510132001001");
    let r = store.redeem(&pki.hub, &code.to_string(), other_county.csr_der(), t0());
    assert!(matches!(r, Err(EnrolError::NotAllowedByCode { .. })), "{r:?}");
    // Another node id.
    let other_node = request("kiosk-b", "510131001001");
    let r = store.redeem(&pki.hub, &code.to_string(), other_node.csr_der(), t0());
    assert!(matches!(r, Err(EnrolError::NotAllowedByCode { .. })), "{r:?}");
    // A hub identity.
    let hub_req =
        EnrolmentRequest::new(NodeIdentity::new("kiosk-a", Role::Hub, "510131001").unwrap()).unwrap();
    let r = store.redeem(&pki.hub, &code.to_string(), hub_req.csr_der(), t0());
    assert!(matches!(r, Err(EnrolError::NotKiosk(Role::Hub))), "{r:?}");
    // None of that used the code up.
    let right = request("kiosk-a", "510131001001");
    store.redeem(&pki.hub, &code.to_string(), right.csr_der(), t0()).unwrap();
}

#[test]
fn a_county_wide_code_enrols_any_village_of_the_county_only() {
    let pki = Pki::new();
    let mut store = codes();
    let code = store.issue("510131", None, t0(), DEFAULT_CODE_TTL).unwrap();
    let r = store.redeem(&pki.hub, &code.to_string(), request("k", "510132001001").csr_der(), t0());
    assert!(matches!(r, Err(EnrolError::NotAllowedByCode { .. })), "{r:?}");
    store.redeem(&pki.hub, &code.to_string(), request("k", "510131007003").csr_der(), t0()).unwrap();
}

#[test]
fn codes_outside_the_hub_and_bad_lifetimes_are_not_issued() {
    let mut store = codes();
    assert!(matches!(
        store.issue("510132001001", None, t0(), DEFAULT_CODE_TTL),
        Err(EnrolError::ScopeOutsideHub { .. })
    ));
    assert!(matches!(
        store.issue("5101", None, t0(), DEFAULT_CODE_TTL),
        Err(EnrolError::ScopeOutsideHub { .. })
    ));
    assert!(matches!(store.issue("5101310010", None, t0(), DEFAULT_CODE_TTL), Err(EnrolError::Identity(_))));
    assert!(matches!(
        store.issue("510131001001", Some("Bad_Id"), t0(), DEFAULT_CODE_TTL),
        Err(EnrolError::Identity(_))
    ));
    assert!(matches!(store.issue("510131001001", None, t0(), Duration::ZERO), Err(EnrolError::TtlZero)));
    assert!(matches!(store.issue("510131001001", None, t0(), days(30)), Err(EnrolError::TtlTooLong { .. })));
    assert_eq!(store.outstanding(t0()), 0);
}

#[test]
fn outstanding_codes_are_bounded() {
    let limits = EnrolmentLimits { max_outstanding: 3, ..EnrolmentLimits::default() };
    let mut store = EnrolmentCodes::new("510131", limits).unwrap();
    let first = store.issue("510131001001", None, t0(), DEFAULT_CODE_TTL).unwrap();
    for _ in 0..2 {
        store.issue("510131001001", None, t0(), DEFAULT_CODE_TTL).unwrap();
    }
    assert!(matches!(
        store.issue("510131001001", None, t0(), DEFAULT_CODE_TTL),
        Err(EnrolError::TooManyOutstanding { outstanding: 3 })
    ));
    // Cancelling one, or letting them expire, makes room.
    assert!(store.cancel(&first.to_string()));
    assert!(!store.cancel(&first.to_string()));
    store.issue("510131001001", None, t0(), DEFAULT_CODE_TTL).unwrap();
    store.issue("510131001001", None, t0() + days(2), DEFAULT_CODE_TTL).unwrap();
}

#[test]
fn malformed_csrs_fail_and_burn_the_code_after_a_few() {
    let pki = Pki::new();
    let mut store = codes();
    let code = store.issue("510131001001", None, t0(), DEFAULT_CODE_TTL).unwrap();
    let good = request("kiosk-a", "510131001001");
    let mut tampered = good.csr_der().to_vec();
    let last = tampered.len() - 1;
    tampered[last] ^= 1; // breaks the signature
    let too_big = vec![0x30u8; 1 << 20];
    let inputs: Vec<Vec<u8>> =
        vec![Vec::new(), b"-----BEGIN CERTIFICATE REQUEST-----".to_vec(), tampered, too_big];
    for input in &inputs {
        let r = store.redeem(&pki.hub, &code.to_string(), input, t0());
        assert!(
            matches!(
                r,
                Err(EnrolError::Certificate(CertError::MalformedCsr | CertError::CsrTooLarge { .. }))
            ),
            "{r:?}"
        );
    }
    // Still redeemable after 4 bad requests...
    assert_eq!(store.outstanding(t0()), 1);
    // ...but the 5th burns it.
    assert!(store.redeem(&pki.hub, &code.to_string(), b"junk", t0()).is_err());
    assert!(matches!(
        store.redeem(&pki.hub, &code.to_string(), good.csr_der(), t0()),
        Err(EnrolError::WrongCode)
    ));
}

#[test]
fn the_store_persists_and_a_hub_redeems_only_its_own_codes() {
    let pki = Pki::new();
    let mut store = codes();
    let code = store.issue("510131001001", None, t0(), DEFAULT_CODE_TTL).unwrap();
    let json = serde_json::to_string(&store).unwrap();
    assert!(!json.contains(&code.to_string().replace('-', "")), "only the hash is stored");
    let mut reloaded: EnrolmentCodes = serde_json::from_str(&json).unwrap();
    let req = request("kiosk-a", "510131001001");
    // The other county's hub CA cannot redeem this store's codes.
    assert!(matches!(
        reloaded.redeem(&pki.other_hub, &code.to_string(), req.csr_der(), t0()),
        Err(EnrolError::ScopeOutsideHub { .. })
    ));
    reloaded.redeem(&pki.hub, &code.to_string(), req.csr_der(), t0()).unwrap();
}

#[test]
fn the_kiosk_checks_the_answer() {
    let pki = Pki::new();
    let req = request("kiosk-a", "510131001001");
    // An answer for another key (someone else's CSR) is refused.
    let other = request("kiosk-a", "510131001001");
    let chain = pki.hub.issue_from_csr(other.csr_der(), t0()).unwrap();
    assert!(matches!(req.into_credentials(chain, &pki.roots(), t0()), Err(CertError::KeyMismatch)));
    // An answer from another CA is refused.
    let req = request("kiosk-a", "510131001001");
    let stranger = yizhan_identity::Authority::init("province-51", "51", t0()).unwrap();
    let stranger_hub = stranger.create_child_hub("hub-510131", "510131", t0()).unwrap();
    let chain = stranger_hub.issue_from_csr(req.csr_der(), t0()).unwrap();
    assert!(matches!(req.into_credentials(chain, &pki.roots(), t0()), Err(CertError::Verify(_))));
}

#[test]
fn hubs_enrol_by_csr_with_the_province() {
    let pki = Pki::new();
    let req = EnrolmentRequest::new(NodeIdentity::new("hub-510104", Role::Hub, "510104").unwrap()).unwrap();
    let chain = pki.province.issue_from_csr(req.csr_der(), t0()).unwrap();
    let hub = req.into_authority(chain, pki.roots(), t0()).unwrap();
    assert_eq!(hub.identity().scope(), "510104");
    let kiosk = hub.issue_credentials(&kiosk_id("k", "510104001001"), t0()).unwrap();
    kiosk.verify(&pki.roots(), t0()).unwrap();
}

#[test]
fn wrong_codes_lock_out_their_address_and_everyone_only_when_they_come_from_many() {
    let pki = Pki::new();
    let mut store = codes();
    let limits = store.limits().clone();
    let code = store.issue("510131001001", None, t0(), DEFAULT_CODE_TTL).unwrap();
    let req = request("kiosk-a", "510131001001");
    let at = |s: u64| t0() + Duration::from_secs(s);
    // A prankster on the LAN locks out only himself.
    for i in 0..limits.max_failed_attempts {
        let r = store.redeem_from(&pki.hub, "ZZZZZ-ZZZZZ", req.csr_der(), "10.0.0.66", at(u64::from(i)));
        assert!(matches!(r, Err(EnrolError::WrongCode)), "{r:?}");
    }
    assert!(matches!(
        store.redeem_from(&pki.hub, &code.to_string(), req.csr_der(), "10.0.0.66", at(30)),
        Err(EnrolError::Locked { .. })
    ));
    // The kiosk being set up at another address enrols with the right code.
    store.redeem_from(&pki.hub, &code.to_string(), req.csr_der(), "10.0.0.7", at(31)).unwrap();

    // Wrong codes spread over many addresses lock everyone once they add up.
    // (A new window: the prankster's wrong codes above count towards everyone's too.)
    let code = store.issue("510131001001", None, at(1000), DEFAULT_CODE_TTL).unwrap();
    let req = request("kiosk-b", "510131001001");
    let many = limits.max_failed_attempts_all;
    for i in 0..many {
        let from = format!("10.1.{}.{}", i / 250, i % 250);
        let r = store.redeem_from(&pki.hub, "ZZZZZ-ZZZZZ", req.csr_der(), &from, at(1000));
        assert!(matches!(r, Err(EnrolError::WrongCode)), "attempt {i}: {r:?}");
    }
    assert!(matches!(
        store.redeem_from(&pki.hub, &code.to_string(), req.csr_der(), "10.0.0.8", at(1010)),
        Err(EnrolError::Locked { .. })
    ));
    store
        .redeem_from(&pki.hub, &code.to_string(), req.csr_der(), "10.0.0.8", at(1010 + limits.lockout_secs))
        .unwrap();

    // The table of addresses stays bounded, whatever the number of addresses.
    let mut store = codes();
    for i in 0..(yizhan_identity::ENROL_ADDRESSES_TRACKED_MAX + 500) {
        let from = format!("10.2.{}.{}", i / 250, i % 250);
        let _ = store.redeem_from(
            &pki.hub,
            "ZZZZZ-ZZZZZ",
            req.csr_der(),
            &from,
            at(u64::try_from(i).unwrap() * 20),
        );
    }
    let json = serde_json::to_string(&store).unwrap();
    assert!(json.matches("10.2.").count() <= yizhan_identity::ENROL_ADDRESSES_TRACKED_MAX, "bounded");
}
