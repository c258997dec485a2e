//! Signing in with a password (failure counts and lockouts per account and client address),
//! sessions (open, look up with sliding expiry, sign out, end everywhere), and the helpers
//! that give tokens, ids and client addresses their stored shapes.

use super::*;

impl Accounts {
    /// Signs in with a password from a client whose address is unknown (all such clients
    /// share one count): see [`Accounts::sign_in_password_from`].
    pub async fn sign_in_password(&self, id: &str, password: &str) -> Result<Session, SignInError> {
        self.sign_in_password_from(id, password, None).await
    }

    /// Signs in with a password from `client` (the peer's IP address, when known). Five
    /// failures within 15 minutes from one address lock the id for that address for 15
    /// minutes; fifty from all addresses together lock it for everyone ([`limits`]). A locked
    /// id is refused without checking the password. An unknown id costs the same Argon2 work
    /// as a wrong password and gets the same answer.
    pub async fn sign_in_password_from(
        &self,
        id: &str,
        password: &str,
        client: Option<std::net::IpAddr>,
    ) -> Result<Session, SignInError> {
        let id = id.trim();
        if !plausible_id(id) || password.chars().count() > password::PASSWORD_CHARS_MAX {
            return Err(SignInError::BadPassword);
        }
        let now = self.now_ms();
        let client = client.map(client_key);
        let from = client.clone().unwrap_or_else(|| UNKNOWN_CLIENT.to_string());
        let owned = id.to_string();
        let addr = from.clone();
        let locked =
            self.inner.store.call(move |db| Ok(tables::locked_until(db.conn(), &owned, &addr, now)?)).await?;
        if let Some(until_ms) = locked {
            tracing::warn!(person = %id, from = %from, "password sign-in refused: locked out");
            return Err(SignInError::Locked { until_ms });
        }
        let known = self.known(id).await?;
        let phc = known.credential.as_ref().map(|c| c.password_hash.clone());
        let ok = self.check_password(phc, password).await.map_err(SignInError::Internal)?;
        let person = known.person.filter(|_| ok && known.credential.is_some());
        let Some(person) = person else {
            let owned = id.to_string();
            let addr = from.clone();
            let locked = self
                .inner
                .store
                .call(move |db| Ok(tables::record_failure(db.conn(), &owned, &addr, now)?))
                .await?;
            tracing::warn!(person = %id, from = %from, locked = locked.is_some(), "password sign-in failed");
            return Err(match locked {
                Some(until_ms) => SignInError::Locked { until_ms },
                None => SignInError::BadPassword,
            });
        };
        self.open_session_from(&person, Method::Password, client).await
    }

    /// Opens a session for an active person, clearing her failure count.
    pub(crate) async fn open_session(&self, person: &Person, method: Method) -> Result<Session, SignInError> {
        self.open_session_from(person, method, None).await
    }

    /// Opens a session for an active person, clearing her failure count across addresses and
    /// that of the address she signed in from (when known).
    pub(crate) async fn open_session_from(
        &self,
        person: &Person,
        method: Method,
        client: Option<String>,
    ) -> Result<Session, SignInError> {
        if Actor::from_person(person).is_none() {
            tracing::warn!(person = %person.id, method = method.code(), "sign-in refused: inactive");
            return Err(SignInError::Inactive);
        }
        let now = self.now_ms();
        let mut raw = [0u8; TOKEN_BYTES];
        rand::rng().fill_bytes(&mut raw);
        let token = B64URL.encode(raw);
        let hash = token_hash(&token);
        let expires_ms =
            now.saturating_add(self.inner.config.session_ttl_ms.min(self.inner.config.session_max_ms));
        let person_id = person.id.clone();
        self.inner
            .store
            .call(move |db| {
                let tx = db.conn().transaction()?;
                tables::clear_after_sign_in(&tx, &person_id, client.as_deref())?;
                tables::insert_session(&tx, &hash, &person_id, method.code(), now, expires_ms)?;
                tx.commit()?;
                Ok(())
            })
            .await?;
        tracing::info!(person = %person.id, method = method.code(), "signed in");
        Ok(Session { token, person_id: person.id.clone(), method, created_ms: now, expires_ms })
    }

    /// The session a token names and who is signed in, or None when the token is unknown or
    /// expired or the person is gone or inactive. Each use extends the session (at most once a
    /// minute) up to its absolute lifetime.
    pub async fn session(&self, token: &str) -> Result<Option<(Session, Actor)>, StoreError> {
        if !plausible_token(token) {
            return Ok(None);
        }
        let hash = token_hash(token);
        let now = self.now_ms();
        let (ttl, max) = (self.inner.config.session_ttl_ms, self.inner.config.session_max_ms);
        let found = self
            .inner
            .store
            .call(move |db| {
                let Some(row) = tables::session(db.conn(), &hash)? else { return Ok(None) };
                if row.expires_ms <= now {
                    tables::delete_session(db.conn(), &hash)?;
                    return Ok(None);
                }
                let person = match load_known(db, &row.person_id) {
                    Ok(Known { person: Some(p), .. }) => p,
                    // Gone or damaged: the session ends.
                    _ => {
                        tables::delete_session(db.conn(), &hash)?;
                        return Ok(None);
                    }
                };
                let Some(actor) = Actor::from_person(&person) else {
                    tables::delete_sessions_of(db.conn(), &row.person_id)?;
                    return Ok(None);
                };
                let mut expires_ms = row.expires_ms;
                if now - row.last_seen_ms >= SESSION_TOUCH_INTERVAL_MS {
                    expires_ms = now.saturating_add(ttl).min(row.created_ms.saturating_add(max));
                    tables::touch_session(db.conn(), &hash, now, expires_ms)?;
                }
                Ok(Some((row, expires_ms, actor)))
            })
            .await?;
        Ok(found.map(|(row, expires_ms, actor)| {
            let session = Session {
                token: token.to_string(),
                person_id: row.person_id,
                method: Method::parse(&row.method),
                created_ms: row.created_ms,
                expires_ms,
            };
            (session, actor)
        }))
    }

    /// Ends a session. True when there was one.
    pub async fn sign_out(&self, token: &str) -> Result<bool, StoreError> {
        if !plausible_token(token) {
            return Ok(false);
        }
        let hash = token_hash(token);
        self.inner.store.call(move |db| Ok(tables::delete_session(db.conn(), &hash)?)).await
    }

    /// Who is locked out of password sign-in on this node now, and until when (ids as typed
    /// at sign-in: unknown ids lock out too).
    pub async fn lockouts(&self) -> Result<std::collections::HashMap<String, i64>, StoreError> {
        let now = self.now_ms();
        self.inner.store.call(move |db| Ok(tables::lockouts(db.conn(), now)?)).await
    }

    /// Lifts a lockout and forgets the failed passwords of a person on this node (an
    /// administrator who has checked who is asking). Lockouts are per node: a kiosk's are lifted
    /// at the kiosk, or end by themselves.
    pub async fn clear_lockout(&self, person_id: &str) -> Result<(), StoreError> {
        let id = person_id.to_string();
        self.inner.store.call(move |db| Ok(tables::clear_failures(db.conn(), &id)?)).await
    }

    /// Ends every session of a person on this node (after a password reset, say).
    pub async fn sign_out_everywhere(&self, person_id: &str) -> Result<usize, StoreError> {
        let id = person_id.to_string();
        self.inner.store.call(move |db| Ok(tables::delete_sessions_of(db.conn(), &id)?)).await
    }
}

/// The stored form of a session token.
pub(crate) fn token_hash(token: &str) -> String {
    blake3::hash(token.as_bytes()).to_hex().to_string()
}

/// A session token is exactly the base64url form of [`TOKEN_BYTES`] bytes.
pub(crate) fn plausible_token(token: &str) -> bool {
    token.len() == (TOKEN_BYTES * 4).div_ceil(3)
        && token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Could be a person's id (so worth looking up and counting failures for). Ids hold no
/// control characters (the failure table's address keys rely on it).
pub(crate) fn plausible_id(id: &str) -> bool {
    !id.is_empty()
        && id.chars().count() <= yizhan_core::people::NAME_CHARS_MAX
        && !id.chars().any(char::is_control)
}

/// Failed passwords of clients whose address is unknown (a router called without
/// `ConnectInfo`) are counted together under this address.
pub(crate) const UNKNOWN_CLIENT: &str = "unknown";
/// ... and wrong current passwords when a signed-in person changes hers.
pub(crate) const SESSION_CLIENT: &str = "session";

/// The address failures are counted under: the IPv4 address, or the /64 network of an IPv6
/// address (one host commonly holds a whole /64).
pub(crate) fn client_key(ip: std::net::IpAddr) -> String {
    match ip {
        std::net::IpAddr::V4(v4) => v4.to_string(),
        std::net::IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}
