//! Passkeys (指纹/通行密钥): WebAuthn registration for a signed-in person and authentication
//! by id or discoverable, through webauthn-rs. Ceremony state waits in the node-local table
//! `webauthn_ceremonies` (server side, single use, [`CEREMONY_TTL_MS`]).
//!
//! A person's WebAuthn user handle is derived from her id (a keyed BLAKE3 hash cut to a UUID),
//! so every node computes the same one and a passkey registered at the county hub signs her in
//! at her kiosk too (the passkeys sync in her credential document).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use rand::RngCore;
use webauthn_rs::prelude::{
    CreationChallengeResponse, DiscoverableAuthentication, Passkey, PasskeyAuthentication,
    PasskeyRegistration, PublicKeyCredential, RegisterPublicKeyCredential, RequestChallengeResponse, Url,
    Uuid,
};
use webauthn_rs::{Webauthn, WebauthnBuilder};
use yizhan_core::Credential;
use yizhan_core::people::{PASSKEY_CHARS_MAX, PASSKEYS_MAX};

use crate::limits::*;
use crate::{AccountError, Accounts, Method, Session, SignInError, tables};

const KIND_REGISTER: &str = "register";
const KIND_AUTH: &str = "auth";
const KIND_DISCOVERABLE: &str = "discoverable";

/// Builds the WebAuthn relying party: `rp_id` is the host name the browser sees (passkeys
/// need HTTPS, or `localhost`), `origin` the URL the pages are served from.
pub fn passkeys(rp_id: &str, origin: &str, rp_name: &str) -> Result<Webauthn, AccountError> {
    let origin = Url::parse(origin).map_err(|e| AccountError::Passkey(format!("origin {origin:?}: {e}")))?;
    WebauthnBuilder::new(rp_id, &origin)
        .map_err(|e| AccountError::Passkey(format!("rp_id {rp_id:?} does not match the origin: {e}")))?
        .rp_name(rp_name)
        .build()
        .map_err(|e| AccountError::Passkey(e.to_string()))
}

/// The WebAuthn user handle of a person.
pub(crate) fn user_uuid(person_id: &str) -> Uuid {
    let key = blake3::derive_key("yizhan accounts webauthn user handle v1", person_id.as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&key[..16]);
    Uuid::from_bytes(b)
}

fn new_ceremony_id() -> String {
    let mut raw = [0u8; CEREMONY_ID_BYTES];
    rand::rng().fill_bytes(&mut raw);
    B64URL.encode(raw)
}

fn parse_passkeys(c: &Credential) -> Vec<Passkey> {
    c.passkeys
        .iter()
        .filter_map(|json| match serde_json::from_str::<Passkey>(json) {
            Ok(p) => Some(p),
            Err(e) => {
                tracing::warn!(person = %c.person_id, error = %e, "ignoring a stored passkey that does not parse");
                None
            }
        })
        .collect()
}

impl Accounts {
    fn webauthn(&self) -> Option<&Webauthn> {
        self.inner.webauthn.as_ref()
    }

    async fn save_ceremony(
        &self,
        kind: &'static str,
        person_id: &str,
        state: String,
    ) -> Result<Option<String>, crate::StoreError> {
        let id = new_ceremony_id();
        let (cid, pid, now) = (id.clone(), person_id.to_string(), self.now_ms());
        let stored = self
            .inner
            .store
            .call(move |db| Ok(tables::put_ceremony(db.conn(), &cid, kind, &pid, &state, now)?))
            .await?;
        Ok(stored.then_some(id))
    }

    async fn take_ceremony(&self, id: &str) -> Result<Option<tables::CeremonyRow>, crate::StoreError> {
        if id.len() > CEREMONY_ID_BYTES * 2 {
            return Ok(None);
        }
        let (id, now) = (id.to_string(), self.now_ms());
        self.inner.store.call(move |db| Ok(tables::take_ceremony(db.conn(), &id, now)?)).await
    }

    /// Starts registering a passkey for `person_id` (who must be signed in). Returns the
    /// ceremony id and the options for `navigator.credentials.create`.
    pub async fn start_register(
        &self,
        person_id: &str,
    ) -> Result<(String, CreationChallengeResponse), AccountError> {
        let webauthn = self.webauthn().ok_or(AccountError::PasskeysDisabled)?;
        let known = self.known(person_id).await.map_err(|e| AccountError::Damaged(e.to_string()))?;
        let person = known.person.ok_or_else(|| AccountError::UnknownPerson(person_id.into()))?;
        let existing = known.credential.as_ref().map(parse_passkeys).unwrap_or_default();
        if existing.len() >= PASSKEYS_MAX {
            return Err(AccountError::TooManyPasskeys);
        }
        let exclude: Vec<_> = existing.iter().map(|p| p.cred_id().clone()).collect();
        let (options, state) = webauthn
            .start_passkey_registration(user_uuid(&person.id), &person.id, &person.name, Some(exclude))
            .map_err(|e| AccountError::Passkey(e.to_string()))?;
        let state = serde_json::to_string(&state).map_err(|e| AccountError::Internal(e.to_string()))?;
        let id = self.save_ceremony(KIND_REGISTER, &person.id, state).await?.ok_or(AccountError::Busy)?;
        Ok((id, options))
    }

    /// Finishes a registration started by the same person; the passkey is added to her
    /// credential document (and so syncs to the nodes that sign her in).
    pub async fn finish_register(
        &self,
        person_id: &str,
        ceremony: &str,
        reply: &RegisterPublicKeyCredential,
    ) -> Result<(), AccountError> {
        let webauthn = self.webauthn().ok_or(AccountError::PasskeysDisabled)?;
        let row = self.take_ceremony(ceremony).await?.ok_or(AccountError::CeremonyExpired)?;
        if row.kind != KIND_REGISTER || row.person_id != person_id {
            return Err(AccountError::CeremonyExpired);
        }
        let state: PasskeyRegistration =
            serde_json::from_str(&row.state).map_err(|e| AccountError::Internal(e.to_string()))?;
        let passkey = webauthn.finish_passkey_registration(reply, &state).map_err(|e| {
            tracing::warn!(person = %person_id, error = %e, "passkey registration refused");
            AccountError::Passkey(e.to_string())
        })?;
        let json = serde_json::to_string(&passkey).map_err(|e| AccountError::Internal(e.to_string()))?;
        if json.len() > PASSKEY_CHARS_MAX {
            return Err(AccountError::Passkey("the passkey is too large to store".into()));
        }
        self.update_credential(person_id, move |c| {
            if c.passkeys.len() >= PASSKEYS_MAX {
                return Err(AccountError::TooManyPasskeys);
            }
            c.passkeys.push(json);
            Ok(())
        })
        .await?;
        tracing::info!(person = %person_id, "passkey registered");
        Ok(())
    }

    /// Starts a passkey sign-in: for `Some(id)` with that person's passkeys, for None with a
    /// discoverable credential (the browser offers the passkeys it holds for this site).
    pub async fn start_auth(
        &self,
        id: Option<&str>,
    ) -> Result<(String, RequestChallengeResponse), SignInError> {
        let webauthn = self.webauthn().ok_or(SignInError::PasskeysDisabled)?;
        let id = id.map(str::trim).filter(|s| !s.is_empty());
        let (kind, person_id, options, state) = match id {
            Some(id) => {
                let known = self.known(id).await?;
                let keys = match (&known.person, &known.credential) {
                    (Some(_), Some(c)) => parse_passkeys(c),
                    _ => Vec::new(),
                };
                if keys.is_empty() {
                    return Err(SignInError::NoPasskey);
                }
                let (options, state) = webauthn
                    .start_passkey_authentication(&keys)
                    .map_err(|e| SignInError::Passkey(e.to_string()))?;
                let state =
                    serde_json::to_string(&state).map_err(|e| SignInError::Internal(e.to_string()))?;
                (KIND_AUTH, id.to_string(), options, state)
            }
            None => {
                let (options, state) = webauthn
                    .start_discoverable_authentication()
                    .map_err(|e| SignInError::Passkey(e.to_string()))?;
                let state: String =
                    serde_json::to_string(&state).map_err(|e| SignInError::Internal(e.to_string()))?;
                (KIND_DISCOVERABLE, String::new(), options, state)
            }
        };
        let ceremony = self.save_ceremony(kind, &person_id, state).await?.ok_or(SignInError::Busy)?;
        Ok((ceremony, options))
    }

    /// Finishes a passkey sign-in and opens a session.
    pub async fn finish_auth(
        &self,
        ceremony: &str,
        reply: &PublicKeyCredential,
    ) -> Result<Session, SignInError> {
        let webauthn = self.webauthn().ok_or(SignInError::PasskeysDisabled)?;
        let row = self.take_ceremony(ceremony).await?.ok_or(SignInError::CeremonyExpired)?;
        let refused = |e: webauthn_rs::prelude::WebauthnError| {
            tracing::warn!(error = %e, "passkey sign-in refused");
            SignInError::Passkey(e.to_string())
        };
        let (person_id, result) = match row.kind.as_str() {
            KIND_AUTH => {
                let state: PasskeyAuthentication =
                    serde_json::from_str(&row.state).map_err(|e| SignInError::Internal(e.to_string()))?;
                let result = webauthn.finish_passkey_authentication(reply, &state).map_err(refused)?;
                (row.person_id, result)
            }
            KIND_DISCOVERABLE => {
                let state: DiscoverableAuthentication =
                    serde_json::from_str(&row.state).map_err(|e| SignInError::Internal(e.to_string()))?;
                let (uuid, cred_id) =
                    webauthn.identify_discoverable_authentication(reply).map_err(refused)?;
                let person_id = self.person_of_handle(uuid).await?.ok_or(SignInError::NoPasskey)?;
                let known = self.known(&person_id).await?;
                let keys = known.credential.as_ref().map(parse_passkeys).unwrap_or_default();
                let key =
                    keys.iter().find(|k| k.cred_id().as_slice() == cred_id).ok_or(SignInError::NoPasskey)?;
                let result =
                    webauthn.finish_discoverable_authentication_v2(reply, state, key).map_err(refused)?;
                (person_id, result)
            }
            _ => return Err(SignInError::CeremonyExpired),
        };
        // Counters that moved are written back (a clone of an authenticator shows up as a
        // counter that goes backwards, which webauthn-rs refuses).
        let person_id_for_update = person_id.clone();
        let update = self
            .update_credential(&person_id, move |c| {
                let mut changed = false;
                for json in c.passkeys.iter_mut() {
                    let Ok(mut key) = serde_json::from_str::<Passkey>(json) else { continue };
                    if key.update_credential(&result) == Some(true) {
                        *json =
                            serde_json::to_string(&key).map_err(|e| AccountError::Internal(e.to_string()))?;
                        changed = true;
                    }
                }
                if !changed {
                    tracing::trace!(person = %person_id_for_update, "passkey counter unchanged");
                }
                Ok(())
            })
            .await;
        if let Err(e) = update {
            tracing::warn!(person = %person_id, error = %e, "could not record the passkey's counter");
        }
        let known = self.known(&person_id).await?;
        let person = known.person.ok_or(SignInError::NoPasskey)?;
        self.open_session(&person, Method::Passkey).await
    }

    /// The person whose user handle this is, among the people this node knows.
    async fn person_of_handle(&self, uuid: Uuid) -> Result<Option<String>, SignInError> {
        Ok(self
            .inner
            .store
            .call(move |db| {
                let mut stmt = db.conn().prepare("SELECT id FROM people")?;
                let ids = stmt.query_map([], |r| r.get::<_, String>(0))?;
                for id in ids {
                    let id = id?;
                    if user_uuid(&id) == uuid {
                        return Ok(Some(id));
                    }
                }
                Ok(None)
            })
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_handles_are_stable_and_distinct() {
        assert_eq!(user_uuid("li-01"), user_uuid("li-01"));
        assert_ne!(user_uuid("li-01"), user_uuid("li-02"));
    }

    #[test]
    fn relying_party_must_match_the_origin() {
        assert!(passkeys("localhost", "http://localhost:8080", "驿站").is_ok());
        assert!(passkeys("kiosk.example", "https://other.example", "驿站").is_err());
        assert!(passkeys("kiosk.example", "not a url", "驿站").is_err());
    }
}
