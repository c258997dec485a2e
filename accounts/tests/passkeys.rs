//! Passkeys end to end with webauthn-rs's software authenticator: registration, sign-in by id
//! and discoverable, single-use and expiring ceremonies, counters written back.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_rs::prelude::Url;
use yizhan_accounts::limits::*;
use yizhan_accounts::{AccountError, Method, SignInError, passkeys};
use yizhan_core::Credential;

const ORIGIN: &str = "https://kiosk.example";

fn passkey_node() -> Node {
    node_with(Some(passkeys("kiosk.example", ORIGIN, "驿站").unwrap()), 7)
}

/// A software authenticator that claims user verification (as a fingerprint reader does).
fn authenticator() -> SoftPasskey {
    SoftPasskey::new(true)
}

/// Registers a passkey; returns the user handle the browser was given (base64url).
async fn register(n: &Node, id: &str, auth: &mut SoftPasskey) -> serde_json::Value {
    let (ceremony, options) = n.accounts.start_register(id).await.unwrap();
    let handle = serde_json::to_value(&options).unwrap()["publicKey"]["user"]["id"].clone();
    let reply = auth.do_registration(Url::parse(ORIGIN).unwrap(), options).unwrap();
    n.accounts.finish_register(id, &ceremony, &reply).await.unwrap();
    handle
}

#[tokio::test]
async fn register_then_sign_in_by_id() {
    let n = passkey_node();
    n.accounts.create_person(&officer("li-01"), Some(PASSWORD)).await.unwrap();
    let mut auth = authenticator();

    let (ceremony, options) = n.accounts.start_register("li-01").await.unwrap();
    let json = serde_json::to_value(&options).unwrap();
    let pk = &json["publicKey"];
    assert_eq!(pk["rp"]["id"], "kiosk.example");
    assert_eq!(pk["user"]["name"], "li-01");
    assert_eq!(pk["user"]["displayName"], "李秀英");
    assert!(pk["challenge"].as_str().unwrap().len() >= 43, "a challenge of at least 32 bytes");
    assert_eq!(pk["authenticatorSelection"]["userVerification"], "required");
    let reply = auth.do_registration(Url::parse(ORIGIN).unwrap(), options).unwrap();
    // Finishing for someone else, or twice, is refused.
    assert!(matches!(
        n.accounts.finish_register("li-02", &ceremony, &reply).await,
        Err(AccountError::CeremonyExpired)
    ));
    // (The wrong person's attempt consumed the ceremony: start again.)
    let (ceremony, options) = n.accounts.start_register("li-01").await.unwrap();
    let reply = auth.do_registration(Url::parse(ORIGIN).unwrap(), options).unwrap();
    n.accounts.finish_register("li-01", &ceremony, &reply).await.unwrap();
    assert!(matches!(
        n.accounts.finish_register("li-01", &ceremony, &reply).await,
        Err(AccountError::CeremonyExpired)
    ));
    assert_eq!(n.accounts.credential_summary("li-01").await.unwrap().passkeys, 1);
    let counter_at_registration = stored_counter(&n, "li-01").await;

    // The registered key is excluded from the next registration.
    let (_, options) = n.accounts.start_register("li-01").await.unwrap();
    let json = serde_json::to_value(&options).unwrap();
    assert_eq!(json["publicKey"]["excludeCredentials"].as_array().unwrap().len(), 1);

    let (ceremony, options) = n.accounts.start_auth(Some("li-01")).await.unwrap();
    let json = serde_json::to_value(&options).unwrap();
    assert_eq!(json["publicKey"]["allowCredentials"].as_array().unwrap().len(), 1);
    let assertion = auth.do_authentication(Url::parse(ORIGIN).unwrap(), options).unwrap();
    let s = n.accounts.finish_auth(&ceremony, &assertion).await.unwrap();
    assert_eq!((s.person_id.as_str(), s.method), ("li-01", Method::Passkey));
    assert!(n.accounts.session(&s.token).await.unwrap().is_some());
    // A replayed assertion finds no ceremony.
    assert!(matches!(n.accounts.finish_auth(&ceremony, &assertion).await, Err(SignInError::CeremonyExpired)));

    // The counter the authenticator reported was written back to the credential document.
    assert!(stored_counter(&n, "li-01").await > counter_at_registration);
}

async fn stored_counter(n: &Node, id: &str) -> u64 {
    let doc_id = Credential::doc_id(id);
    let cred = n
        .store
        .call(move |db| Ok(Credential::from_doc(&db.load_doc(&doc_id)?.unwrap()).unwrap()))
        .await
        .unwrap();
    let stored: serde_json::Value = serde_json::from_str(&cred.passkeys[0]).unwrap();
    stored["cred"]["counter"].as_u64().unwrap()
}

#[tokio::test]
async fn a_reply_for_another_challenge_or_from_another_origin_is_refused() {
    let n = passkey_node();
    n.accounts.create_person(&officer("li-01"), Some(PASSWORD)).await.unwrap();
    let mut auth = authenticator();
    register(&n, "li-01", &mut auth).await;

    let (first, options) = n.accounts.start_auth(Some("li-01")).await.unwrap();
    let (second, _) = n.accounts.start_auth(Some("li-01")).await.unwrap();
    let assertion = auth.do_authentication(Url::parse(ORIGIN).unwrap(), options).unwrap();
    let e = n.accounts.finish_auth(&second, &assertion).await.unwrap_err();
    assert!(matches!(e, SignInError::Passkey(_)), "signed the first challenge, not the second: {e}");

    // A page on a sub-domain the relying party does not allow: the authenticator signs (the
    // rp id matches), the server refuses the origin.
    let (ceremony, options) = n.accounts.start_auth(Some("li-01")).await.unwrap();
    let assertion =
        auth.do_authentication(Url::parse("https://evil.kiosk.example").unwrap(), options).unwrap();
    let e = n.accounts.finish_auth(&ceremony, &assertion).await.unwrap_err();
    assert!(matches!(e, SignInError::Passkey(_)), "{e}");

    // The first ceremony is still open (each is its own), and refuses a reply to a newer challenge.
    let (_, options) = n.accounts.start_auth(Some("li-01")).await.unwrap();
    let assertion = auth.do_authentication(Url::parse(ORIGIN).unwrap(), options).unwrap();
    assert!(n.accounts.finish_auth(&first, &assertion).await.is_err(), "signed another challenge");
}

#[tokio::test]
async fn discoverable_sign_in_finds_the_person_by_her_user_handle() {
    let n = passkey_node();
    n.accounts.create_person(&officer("li-01"), Some(PASSWORD)).await.unwrap();
    n.accounts.create_person(&officer("li-02"), Some(PASSWORD)).await.unwrap();
    let mut auth = authenticator();
    let handle = register(&n, "li-02", &mut auth).await;
    let stored = n
        .store
        .call(|db| Ok(Credential::from_doc(&db.load_doc(&Credential::doc_id("li-02"))?.unwrap()).unwrap()))
        .await
        .unwrap();
    let cred_id =
        serde_json::from_str::<serde_json::Value>(&stored.passkeys[0]).unwrap()["cred"]["cred_id"].clone();

    let (ceremony, options) = n.accounts.start_auth(None).await.unwrap();
    let json = serde_json::to_value(&options).unwrap();
    assert!(json["publicKey"]["allowCredentials"].as_array().is_none_or(|a| a.is_empty()));
    assert!(!json["publicKey"]["challenge"].as_str().unwrap().is_empty());

    // The software authenticator keeps no resident keys: hand it the credential id the way a
    // phone would find it, and add the user handle a resident key returns (it is not signed).
    let mut json = json;
    json["publicKey"]["allowCredentials"] = serde_json::json!([{"type": "public-key", "id": cred_id}]);
    let options = serde_json::from_value(json).unwrap();
    let assertion = auth.do_authentication(Url::parse(ORIGIN).unwrap(), options).unwrap();
    let mut assertion = serde_json::to_value(&assertion).unwrap();
    let unknown_handle = {
        let mut a = assertion.clone();
        a["response"]["userHandle"] = serde_json::json!("AAAAAAAAAAAAAAAAAAAAAA");
        serde_json::from_value(a).unwrap()
    };
    assertion["response"]["userHandle"] = handle;
    let assertion = serde_json::from_value(assertion).unwrap();
    let s = n.accounts.finish_auth(&ceremony, &assertion).await.unwrap();
    assert_eq!(s.person_id, "li-02");

    // A handle nobody here has: refused.
    let (ceremony, _) = n.accounts.start_auth(None).await.unwrap();
    let e = n.accounts.finish_auth(&ceremony, &unknown_handle).await.unwrap_err();
    assert!(matches!(e, SignInError::NoPasskey), "{e}");
}

#[tokio::test]
async fn ceremonies_expire_after_five_minutes() {
    let n = passkey_node();
    n.accounts.create_person(&officer("li-01"), Some(PASSWORD)).await.unwrap();
    let mut auth = authenticator();
    let (ceremony, options) = n.accounts.start_register("li-01").await.unwrap();
    let reply = auth.do_registration(Url::parse(ORIGIN).unwrap(), options).unwrap();
    n.clock.advance_ms(CEREMONY_TTL_MS);
    assert!(matches!(
        n.accounts.finish_register("li-01", &ceremony, &reply).await,
        Err(AccountError::CeremonyExpired)
    ));
    assert_eq!(n.accounts.credential_summary("li-01").await.unwrap().passkeys, 0);

    register(&n, "li-01", &mut auth).await;
    let (ceremony, options) = n.accounts.start_auth(Some("li-01")).await.unwrap();
    let assertion = auth.do_authentication(Url::parse(ORIGIN).unwrap(), options).unwrap();
    n.clock.advance_ms(CEREMONY_TTL_MS - 1);
    n.accounts.finish_auth(&ceremony, &assertion).await.unwrap();
    let (ceremony, options) = n.accounts.start_auth(Some("li-01")).await.unwrap();
    let assertion = auth.do_authentication(Url::parse(ORIGIN).unwrap(), options).unwrap();
    n.clock.advance_ms(CEREMONY_TTL_MS);
    assert!(matches!(n.accounts.finish_auth(&ceremony, &assertion).await, Err(SignInError::CeremonyExpired)));
    assert!(matches!(
        n.accounts.finish_auth("no-such-ceremony", &assertion).await,
        Err(SignInError::CeremonyExpired)
    ));
}

#[tokio::test]
async fn no_passkey_inactive_person_and_disabled_passkeys_are_refused() {
    let n = passkey_node();
    n.accounts.create_person(&officer("li-01"), Some(PASSWORD)).await.unwrap();
    assert!(matches!(n.accounts.start_auth(Some("li-01")).await, Err(SignInError::NoPasskey)));
    assert!(matches!(n.accounts.start_auth(Some("nobody")).await, Err(SignInError::NoPasskey)));
    assert!(matches!(n.accounts.start_register("nobody").await, Err(AccountError::UnknownPerson(_))));

    let mut auth = authenticator();
    register(&n, "li-01", &mut auth).await;
    deactivate(&n.store, "li-01").await;
    let (ceremony, options) = n.accounts.start_auth(Some("li-01")).await.unwrap();
    let assertion = auth.do_authentication(Url::parse(ORIGIN).unwrap(), options).unwrap();
    assert!(matches!(n.accounts.finish_auth(&ceremony, &assertion).await, Err(SignInError::Inactive)));

    let plain = node();
    assert!(!plain.accounts.passkeys_enabled());
    assert!(matches!(plain.accounts.start_auth(None).await, Err(SignInError::PasskeysDisabled)));
    assert!(matches!(plain.accounts.start_register("li-01").await, Err(AccountError::PasskeysDisabled)));
}

#[tokio::test]
async fn at_most_eight_passkeys_per_person() {
    let n = passkey_node();
    n.accounts.create_person(&officer("li-01"), Some(PASSWORD)).await.unwrap();
    for _ in 0..yizhan_core::people::PASSKEYS_MAX {
        register(&n, "li-01", &mut authenticator()).await;
    }
    assert!(matches!(n.accounts.start_register("li-01").await, Err(AccountError::TooManyPasskeys)));
}
