//! One-time enrolment codes: a county operator issues a code for a new kiosk; the kiosk sends the
//! code with its CSR; the hub redeems the code once and returns the kiosk's certificate chain.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, SystemTime};

use ring::rand::SecureRandom;
use rustls::pki_types::CertificateDer;
use serde::{Deserialize, Serialize};

use crate::authority::{Authority, parse_csr, unix_secs};
use crate::error::EnrolError;
use crate::identity::{Role, scope_contains, scope_strictly_contains, validate_node_id, validate_scope};
use crate::limits::{
    DEFAULT_FAILURE_WINDOW, DEFAULT_LOCKOUT, DEFAULT_MAX_CODE_TTL, DEFAULT_MAX_FAILED_ATTEMPTS,
    DEFAULT_MAX_FAILED_ATTEMPTS_ALL, DEFAULT_MAX_FAILURES_PER_CODE, DEFAULT_MAX_OUTSTANDING_CODES,
    ENROL_ADDRESSES_TRACKED_MAX, ENROLMENT_CODE_CHARS, MAX_ENROLMENT_CODE_INPUT, MAX_USED_CODE_TOMBSTONES,
};

/// Crockford's base 32: digits and capitals without I, L, O and U, so nothing on a screen or read
/// over the phone is ambiguous. Typed I/L read as 1 and O as 0.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Domain separation for the stored code hashes.
const CODE_HASH_CONTEXT: &str = "yizhan enrolment code v1";

/// Limits of an [`EnrolmentCodes`] store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrolmentLimits {
    pub max_outstanding: usize,
    pub max_ttl_secs: u64,
    /// Wrong codes tolerated from one address within `failure_window_secs` before that address
    /// is locked out for `lockout_secs` (others can still enrol).
    pub max_failed_attempts: u32,
    /// Wrong codes tolerated from all addresses together within the window before redemption
    /// locks for everyone.
    #[serde(default = "default_max_failed_attempts_all")]
    pub max_failed_attempts_all: u32,
    pub failure_window_secs: u64,
    pub lockout_secs: u64,
    /// A right code with a bad request this many times is burned.
    pub max_failures_per_code: u32,
}

impl Default for EnrolmentLimits {
    fn default() -> Self {
        EnrolmentLimits {
            max_outstanding: DEFAULT_MAX_OUTSTANDING_CODES,
            max_ttl_secs: DEFAULT_MAX_CODE_TTL.as_secs(),
            max_failed_attempts: DEFAULT_MAX_FAILED_ATTEMPTS,
            max_failed_attempts_all: DEFAULT_MAX_FAILED_ATTEMPTS_ALL,
            failure_window_secs: DEFAULT_FAILURE_WINDOW.as_secs(),
            lockout_secs: DEFAULT_LOCKOUT.as_secs(),
            max_failures_per_code: DEFAULT_MAX_FAILURES_PER_CODE,
        }
    }
}

/// A freshly issued code, to show the operator once. Only its hash is stored.
#[derive(Clone, PartialEq, Eq)]
pub struct EnrolmentCode {
    code: String,
    pub expires_at_unix: u64,
}

impl EnrolmentCode {
    /// The code as shown and typed: `ABCDE-FGHJK`.
    pub fn as_display(&self) -> String {
        let (a, b) = self.code.split_at(ENROLMENT_CODE_CHARS / 2);
        format!("{a}-{b}")
    }
}

impl fmt::Display for EnrolmentCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_display())
    }
}

/// Debug output never shows the code: it ends up in logs.
impl fmt::Debug for EnrolmentCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnrolmentCode")
            .field("expires_at_unix", &self.expires_at_unix)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct CodeRecord {
    /// Kiosks enrolled with this code must have a scope within this one.
    scope: String,
    /// When set, the only node id this code enrols.
    node_id: Option<String>,
    issued_at: u64,
    expires_at: u64,
    /// Redemptions with this (right) code and a bad request.
    failures: u32,
    /// Set when redeemed: the record stays until it expires so a second use is told "already used".
    used_at: Option<u64>,
    used_by: Option<String>,
}

fn default_max_failed_attempts_all() -> u32 {
    DEFAULT_MAX_FAILED_ATTEMPTS_ALL
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct FailureWindow {
    started_at: u64,
    count: u32,
}

impl FailureWindow {
    /// Counts one failure at `now`; returns whether the window reached `max`, and then restarts.
    fn count(&mut self, now: u64, window_secs: u64, max: u32) -> bool {
        if now.saturating_sub(self.started_at) >= window_secs {
            *self = FailureWindow { started_at: now, count: 0 };
        }
        self.count = self.count.saturating_add(1);
        let reached = self.count >= max;
        if reached {
            *self = FailureWindow { started_at: now, count: 0 };
        }
        reached
    }
}

/// Wrong codes from one address.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct AddressFailures {
    window: FailureWindow,
    locked_until: Option<u64>,
}

/// A hub's enrolment codes. Serializable (serde) so the hub persists it after every change; the
/// caller serialises access (one `&mut`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrolmentCodes {
    hub_scope: String,
    #[serde(default)]
    limits: EnrolmentLimits,
    /// Keyed by the hex BLAKE3 (derive-key mode) of the normalised code.
    codes: BTreeMap<String, CodeRecord>,
    /// Wrong codes from all addresses together, and the lock for everyone they caused.
    #[serde(default)]
    failures: FailureWindow,
    #[serde(default)]
    locked_until: Option<u64>,
    /// Wrong codes per requesting address (at most [`ENROL_ADDRESSES_TRACKED_MAX`]).
    #[serde(default)]
    by_address: BTreeMap<String, AddressFailures>,
}

impl EnrolmentCodes {
    /// An empty store for the hub whose scope is `hub_scope`.
    pub fn new(hub_scope: &str, limits: EnrolmentLimits) -> Result<Self, EnrolError> {
        validate_scope(hub_scope)?;
        Ok(EnrolmentCodes {
            hub_scope: hub_scope.to_owned(),
            limits,
            codes: BTreeMap::new(),
            failures: FailureWindow::default(),
            locked_until: None,
            by_address: BTreeMap::new(),
        })
    }

    pub fn limits(&self) -> &EnrolmentLimits {
        &self.limits
    }

    /// Issues a code that enrols one kiosk whose scope lies within `scope` (a village code, or a
    /// wider code of this hub's), and only node `node_id` if given. Expires after `ttl`
    /// ([`crate::DEFAULT_CODE_TTL`] is the usual choice).
    pub fn issue(
        &mut self,
        scope: &str,
        node_id: Option<&str>,
        now: SystemTime,
        ttl: Duration,
    ) -> Result<EnrolmentCode, EnrolError> {
        validate_scope(scope)?;
        if let Some(node_id) = node_id {
            validate_node_id(node_id)?;
        }
        if !scope_contains(&self.hub_scope, scope) {
            return Err(EnrolError::ScopeOutsideHub {
                scope: scope.to_owned(),
                hub_scope: self.hub_scope.clone(),
            });
        }
        if ttl.is_zero() {
            return Err(EnrolError::TtlZero);
        }
        if ttl.as_secs() > self.limits.max_ttl_secs {
            return Err(EnrolError::TtlTooLong {
                ttl_secs: ttl.as_secs(),
                max_secs: self.limits.max_ttl_secs,
            });
        }
        let now = unix_secs(now);
        self.purge_expired_at(now);
        let outstanding = self.outstanding_at(now);
        if outstanding >= self.limits.max_outstanding {
            return Err(EnrolError::TooManyOutstanding { outstanding });
        }
        // 50 random bits collide with an outstanding code with negligible probability; retry anyway
        // rather than overwrite one.
        const MAX_TRIES: usize = 8;
        for _ in 0..MAX_TRIES {
            let code = random_code()?;
            let key = code_hash(&code);
            if self.codes.contains_key(&key) {
                continue;
            }
            let expires_at = now.saturating_add(ttl.as_secs());
            self.codes.insert(
                key,
                CodeRecord {
                    scope: scope.to_owned(),
                    node_id: node_id.map(str::to_owned),
                    issued_at: now,
                    expires_at,
                    failures: 0,
                    used_at: None,
                    used_by: None,
                },
            );
            return Ok(EnrolmentCode { code, expires_at_unix: expires_at });
        }
        Err(EnrolError::Certificate(crate::error::CertError::Random))
    }

    /// Redeems `code` for the kiosk CSR `csr_der`, signing it with `authority` (this hub's CA).
    /// Returns the kiosk's chain (its certificate, then this hub's CA chain, root excluded).
    ///
    /// On error nothing is issued and the code stays as it was, except for the counters that bound
    /// guessing: a wrong code counts towards the store's lock, and a right code with a bad request
    /// counts towards burning that code.
    pub fn redeem(
        &mut self,
        authority: &Authority,
        code: &str,
        csr_der: &[u8],
        now: SystemTime,
    ) -> Result<Vec<CertificateDer<'static>>, EnrolError> {
        self.redeem_from(authority, code, csr_der, "", now)
    }

    /// [`EnrolmentCodes::redeem`] for a request from `from` (the requester's address): wrong
    /// codes lock out that address first, and everyone only when they come from many.
    pub fn redeem_from(
        &mut self,
        authority: &Authority,
        code: &str,
        csr_der: &[u8],
        from: &str,
        now: SystemTime,
    ) -> Result<Vec<CertificateDer<'static>>, EnrolError> {
        let now_time = now;
        let now = unix_secs(now_time);
        match self.locked_until {
            Some(until) if now < until => return Err(EnrolError::Locked { until_unix: until }),
            Some(_) => self.locked_until = None,
            None => {}
        }
        if let Some(until) = self.by_address.get(from).and_then(|a| a.locked_until).filter(|u| now < *u) {
            return Err(EnrolError::Locked { until_unix: until });
        }
        let hub = authority.identity();
        if hub.role() != Role::Hub || hub.scope() != self.hub_scope {
            return Err(EnrolError::ScopeOutsideHub {
                scope: hub.scope().to_owned(),
                hub_scope: self.hub_scope.clone(),
            });
        }
        let Some(key) = normalise(code).map(|c| code_hash(&c)) else {
            self.count_wrong_code(from, now);
            return Err(EnrolError::WrongCode);
        };
        let Some(record) = self.codes.get(&key) else {
            self.count_wrong_code(from, now);
            return Err(EnrolError::WrongCode);
        };
        if record.used_at.is_some() {
            return Err(EnrolError::AlreadyUsed);
        }
        if now >= record.expires_at {
            return Err(EnrolError::Expired);
        }
        let checked = parse_csr(csr_der).map_err(EnrolError::from).and_then(|(identity, public_key)| {
            if identity.role() != Role::Kiosk {
                return Err(EnrolError::NotKiosk(identity.role()));
            }
            let node_ok = record.node_id.as_deref().is_none_or(|n| n == identity.node_id());
            if !node_ok || !scope_contains(&record.scope, identity.scope()) {
                return Err(EnrolError::NotAllowedByCode {
                    requested: identity,
                    code_scope: record.scope.clone(),
                    code_node_id: record.node_id.clone(),
                });
            }
            if !scope_strictly_contains(&self.hub_scope, identity.scope()) {
                return Err(EnrolError::ScopeOutsideHub {
                    scope: identity.scope().to_owned(),
                    hub_scope: self.hub_scope.clone(),
                });
            }
            Ok((identity, public_key))
        });
        let (identity, public_key) = match checked {
            Ok(ok) => ok,
            Err(e) => {
                self.count_bad_request(&key);
                return Err(e);
            }
        };
        // Signing errors are the hub's own (clock outside its CA's validity): not the requester's.
        let chain = authority.sign(&identity, &public_key, now_time)?;
        if let Some(record) = self.codes.get_mut(&key) {
            record.used_at = Some(now);
            record.used_by = Some(identity.node_id().to_owned());
        }
        self.bound_tombstones();
        Ok(chain)
    }

    /// Withdraws an outstanding code. Returns whether there was one.
    pub fn cancel(&mut self, code: &str) -> bool {
        let Some(key) = normalise(code).map(|c| code_hash(&c)) else { return false };
        match self.codes.get(&key) {
            Some(record) if record.used_at.is_none() => self.codes.remove(&key).is_some(),
            _ => false,
        }
    }

    /// Codes that can still be redeemed at `now`.
    pub fn outstanding(&self, now: SystemTime) -> usize {
        self.outstanding_at(unix_secs(now))
    }

    /// Forgets expired codes (outstanding or used).
    pub fn purge_expired(&mut self, now: SystemTime) {
        self.purge_expired_at(unix_secs(now));
    }

    fn outstanding_at(&self, now: u64) -> usize {
        self.codes.values().filter(|r| r.used_at.is_none() && now < r.expires_at).count()
    }

    fn purge_expired_at(&mut self, now: u64) {
        self.codes.retain(|_, r| now < r.expires_at);
    }

    fn count_wrong_code(&mut self, from: &str, now: u64) {
        let (window, lockout) = (self.limits.failure_window_secs, self.limits.lockout_secs);
        if self.failures.count(now, window, self.limits.max_failed_attempts_all) {
            self.locked_until = Some(now.saturating_add(lockout));
        }
        let address = self.by_address.entry(from.to_owned()).or_default();
        if address.window.count(now, window, self.limits.max_failed_attempts) {
            address.locked_until = Some(now.saturating_add(lockout));
        }
        // Forget addresses whose window and lock are over; beyond the bound, the oldest.
        if self.by_address.len() > ENROL_ADDRESSES_TRACKED_MAX {
            self.by_address.retain(|_, a| {
                now.saturating_sub(a.window.started_at) < window || a.locked_until.is_some_and(|u| now < u)
            });
        }
        while self.by_address.len() > ENROL_ADDRESSES_TRACKED_MAX {
            let oldest =
                self.by_address.iter().min_by_key(|(_, a)| a.window.started_at).map(|(k, _)| k.clone());
            match oldest {
                Some(k) => self.by_address.remove(&k),
                None => break,
            };
        }
    }

    fn count_bad_request(&mut self, key: &str) {
        let burn = match self.codes.get_mut(key) {
            Some(record) => {
                record.failures = record.failures.saturating_add(1);
                record.failures >= self.limits.max_failures_per_code
            }
            None => false,
        };
        if burn {
            self.codes.remove(key);
        }
    }

    /// Used codes are kept only to say "already used"; drop the oldest beyond the bound.
    fn bound_tombstones(&mut self) {
        let mut used: Vec<(u64, String)> =
            self.codes.iter().filter_map(|(k, r)| r.used_at.map(|t| (t, k.clone()))).collect();
        if used.len() <= MAX_USED_CODE_TOMBSTONES {
            return;
        }
        used.sort();
        let excess = used.len() - MAX_USED_CODE_TOMBSTONES;
        for (_, key) in used.into_iter().take(excess) {
            self.codes.remove(&key);
        }
    }
}

fn random_code() -> Result<String, EnrolError> {
    let mut bytes = [0u8; ENROLMENT_CODE_CHARS];
    ring::rand::SystemRandom::new().fill(&mut bytes).map_err(|_| crate::error::CertError::Random)?;
    // 256 is a multiple of 32: the low 5 bits of a uniform byte are uniform.
    Ok(bytes.iter().map(|b| char::from(ALPHABET[usize::from(b & 31)])).collect())
}

/// The canonical form of typed input: dashes and spaces dropped, upper case, I/L -> 1, O -> 0.
/// `None` when it cannot be a code.
fn normalise(input: &str) -> Option<String> {
    if input.len() > MAX_ENROLMENT_CODE_INPUT {
        return None;
    }
    let mut out = String::with_capacity(ENROLMENT_CODE_CHARS);
    for c in input.chars() {
        let c = match c.to_ascii_uppercase() {
            '-' | ' ' => continue,
            'I' | 'L' => '1',
            'O' => '0',
            c => c,
        };
        if !c.is_ascii() || !ALPHABET.contains(&(c as u8)) {
            return None;
        }
        out.push(c);
    }
    (out.len() == ENROLMENT_CODE_CHARS).then_some(out)
}

fn code_hash(normalised: &str) -> String {
    let mut hasher = blake3::Hasher::new_derive_key(CODE_HASH_CONTEXT);
    hasher.update(normalised.as_bytes());
    hasher.finalize().to_hex().to_string()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn normalise_typed_codes() {
        assert_eq!(normalise("abcde-fghjk").as_deref(), Some("ABCDEFGHJK"));
        assert_eq!(normalise(" 0O1IL 23456 ").as_deref(), Some("0011123456"));
        assert_eq!(normalise("ABCDE-FGHJ"), None);
        assert_eq!(normalise("ABCDE-FGHJU"), None);
        assert_eq!(normalise("ABCDE-FGHJ驿"), None);
        assert_eq!(normalise(&"A".repeat(10_000)), None);
    }

    #[test]
    fn random_codes_use_the_alphabet() {
        for _ in 0..100 {
            let code = random_code().unwrap();
            assert_eq!(code.len(), ENROLMENT_CODE_CHARS);
            assert_eq!(normalise(&code).unwrap(), code);
        }
    }
}
