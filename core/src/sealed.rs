//! Sensitive fields (phone, ID-card and bank numbers) sealed with XChaCha20-Poly1305.
//!
//! Two forms:
//! - `v1:` + base64 of `nonce(24) || ciphertext+tag`, sealed with a node's own symmetric field
//!   key ([`FieldKey`]). The key lives outside the database (the kiosk keeps it in a separate
//!   file), so a copied database file or an exported document reveals no numbers.
//! - `x1:` + base64 of `ephemeral public key(32) || nonce(24) || ciphertext+tag`, sealed to a
//!   county hub's X25519 public key ([`CountyPublicKey::seal`]): an anonymous "sealed box" that
//!   the recording kiosk can write and only the holder of the county's secret key
//!   ([`CountySecretKey`]) can open. The XChaCha20-Poly1305 key is
//!   `blake3::derive_key(COUNTY_SEAL_CONTEXT, shared || ephemeral public || county public)`.
//!
//! Secrets, ephemeral keys and nonces are passed in: this crate draws no randomness.

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

const PREFIX: &str = "v1:";
pub const KEY_LEN: usize = 32;
pub const NONCE_LEN: usize = 24;
/// A sealed field holds a short number, never a document: refuse anything larger.
pub const PLAINTEXT_LEN_MAX: usize = 256;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    #[error("field key must be {KEY_LEN} bytes")]
    KeyLength,
    #[error("sealed value is malformed")]
    Malformed,
    #[error("sealed value does not open with this key (wrong key or tampered)")]
    Open,
    #[error("value to seal is longer than {PLAINTEXT_LEN_MAX} bytes")]
    TooLong,
    #[error("the county key is a low-order point: sealing to it would protect nothing")]
    WeakKey,
}

/// The symmetric key for sensitive fields. Its Debug output never shows the key.
#[derive(Clone)]
pub struct FieldKey(XChaCha20Poly1305);

impl std::fmt::Debug for FieldKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FieldKey(..)")
    }
}

impl FieldKey {
    pub fn from_bytes(key: &[u8]) -> Result<FieldKey, SealError> {
        XChaCha20Poly1305::new_from_slice(key).map(FieldKey).map_err(|_| SealError::KeyLength)
    }

    pub fn seal(&self, plaintext: &str, nonce: [u8; NONCE_LEN]) -> Result<String, SealError> {
        if plaintext.len() > PLAINTEXT_LEN_MAX {
            return Err(SealError::TooLong);
        }
        let ct = self
            .0
            .encrypt(XNonce::from_slice(&nonce), plaintext.as_bytes())
            .map_err(|_| SealError::TooLong)?;
        let mut raw = Vec::with_capacity(NONCE_LEN + ct.len());
        raw.extend_from_slice(&nonce);
        raw.extend_from_slice(&ct);
        Ok(format!("{PREFIX}{}", B64.encode(raw)))
    }

    pub fn open(&self, sealed: &str) -> Result<String, SealError> {
        let body = sealed.strip_prefix(PREFIX).ok_or(SealError::Malformed)?;
        let raw = B64.decode(body).map_err(|_| SealError::Malformed)?;
        if raw.len() < NONCE_LEN + 16 {
            return Err(SealError::Malformed);
        }
        let (nonce, ct) = raw.split_at(NONCE_LEN);
        let pt = self.0.decrypt(XNonce::from_slice(nonce), ct).map_err(|_| SealError::Open)?;
        String::from_utf8(pt).map_err(|_| SealError::Malformed)
    }
}

const COUNTY_PREFIX: &str = "x1:";
/// The length of an X25519 key (public or secret).
pub const X25519_LEN: usize = 32;
/// The BLAKE3 key-derivation context of `x1:` values. Changing it makes every sealed value
/// unreadable: a new format needs a new prefix and a new context.
pub const COUNTY_SEAL_CONTEXT: &str = "yizhan 2026-11 county seal x1: X25519 to XChaCha20-Poly1305 key";
/// Hex digits of a county key's id (the start of the BLAKE3 hash of its public key).
pub const KEY_ID_HEX_LEN: usize = 16;

/// A county hub's public sealing key, as kiosks learn it from the county's `seal_key` document.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct CountyPublicKey(x25519_dalek::PublicKey);

impl std::fmt::Debug for CountyPublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CountyPublicKey({})", self.key_id())
    }
}

/// A county hub's secret sealing key. Its Debug output never shows the key; its bytes are
/// zeroed when dropped.
#[derive(Clone)]
pub struct CountySecretKey(x25519_dalek::StaticSecret);

impl std::fmt::Debug for CountySecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CountySecretKey({})", self.public_key().key_id())
    }
}

fn county_aead_key(
    shared: &x25519_dalek::SharedSecret,
    eph: &[u8; 32],
    county: &[u8; 32],
) -> XChaCha20Poly1305 {
    let mut material = [0u8; 3 * X25519_LEN];
    material[..32].copy_from_slice(shared.as_bytes());
    material[32..64].copy_from_slice(eph);
    material[64..].copy_from_slice(county);
    let key = blake3::derive_key(COUNTY_SEAL_CONTEXT, &material);
    material.fill(0);
    XChaCha20Poly1305::new(&key.into())
}

impl CountyPublicKey {
    pub fn from_bytes(bytes: [u8; X25519_LEN]) -> CountyPublicKey {
        CountyPublicKey(x25519_dalek::PublicKey::from(bytes))
    }

    /// Reads the base64 form of a `seal_key` document.
    pub fn from_base64(text: &str) -> Result<CountyPublicKey, SealError> {
        let raw = B64.decode(text.trim()).map_err(|_| SealError::Malformed)?;
        let bytes = <[u8; X25519_LEN]>::try_from(raw.as_slice()).map_err(|_| SealError::KeyLength)?;
        Ok(CountyPublicKey::from_bytes(bytes))
    }

    pub fn to_base64(&self) -> String {
        B64.encode(self.0.as_bytes())
    }

    pub fn as_bytes(&self) -> &[u8; X25519_LEN] {
        self.0.as_bytes()
    }

    /// The key's id: 16 hex digits of the BLAKE3 hash of the public key, recorded beside every
    /// value sealed to it so that a rotated key can be told apart.
    pub fn key_id(&self) -> String {
        blake3::hash(self.0.as_bytes()).to_hex()[..KEY_ID_HEX_LEN].to_string()
    }

    /// Seals `plaintext` to this county key. `ephemeral` (a fresh random secret) and `nonce`
    /// must be drawn by the caller for every value and never reused.
    pub fn seal(
        &self,
        plaintext: &str,
        ephemeral: [u8; X25519_LEN],
        nonce: [u8; NONCE_LEN],
    ) -> Result<String, SealError> {
        if plaintext.len() > PLAINTEXT_LEN_MAX {
            return Err(SealError::TooLong);
        }
        let eph = x25519_dalek::StaticSecret::from(ephemeral);
        let eph_pub = x25519_dalek::PublicKey::from(&eph);
        let shared = eph.diffie_hellman(&self.0);
        // A low-order public key gives an all-zero secret that anyone could compute.
        if !shared.was_contributory() {
            return Err(SealError::WeakKey);
        }
        let aead = county_aead_key(&shared, eph_pub.as_bytes(), self.0.as_bytes());
        let ct =
            aead.encrypt(XNonce::from_slice(&nonce), plaintext.as_bytes()).map_err(|_| SealError::TooLong)?;
        let mut raw = Vec::with_capacity(X25519_LEN + NONCE_LEN + ct.len());
        raw.extend_from_slice(eph_pub.as_bytes());
        raw.extend_from_slice(&nonce);
        raw.extend_from_slice(&ct);
        Ok(format!("{COUNTY_PREFIX}{}", B64.encode(raw)))
    }
}

impl CountySecretKey {
    /// Any 32 bytes make a key (X25519 clamps them); the hub draws them at random.
    pub fn from_bytes(bytes: [u8; X25519_LEN]) -> CountySecretKey {
        CountySecretKey(x25519_dalek::StaticSecret::from(bytes))
    }

    pub fn public_key(&self) -> CountyPublicKey {
        CountyPublicKey(x25519_dalek::PublicKey::from(&self.0))
    }

    /// Opens an `x1:` value sealed to this key. Never panics, whatever the input.
    pub fn open(&self, sealed: &str) -> Result<String, SealError> {
        let body = sealed.strip_prefix(COUNTY_PREFIX).ok_or(SealError::Malformed)?;
        if body.len() > (X25519_LEN + NONCE_LEN + PLAINTEXT_LEN_MAX + 16) * 4 / 3 + 4 {
            return Err(SealError::Malformed);
        }
        let raw = B64.decode(body).map_err(|_| SealError::Malformed)?;
        if raw.len() < X25519_LEN + NONCE_LEN + 16 {
            return Err(SealError::Malformed);
        }
        let (eph, rest) = raw.split_at(X25519_LEN);
        let (nonce, ct) = rest.split_at(NONCE_LEN);
        let eph = <[u8; X25519_LEN]>::try_from(eph).map_err(|_| SealError::Malformed)?;
        let shared = self.0.diffie_hellman(&x25519_dalek::PublicKey::from(eph));
        if !shared.was_contributory() {
            return Err(SealError::Open);
        }
        let own = x25519_dalek::PublicKey::from(&self.0);
        let aead = county_aead_key(&shared, &eph, own.as_bytes());
        let pt = aead.decrypt(XNonce::from_slice(nonce), ct).map_err(|_| SealError::Open)?;
        String::from_utf8(pt).map_err(|_| SealError::Malformed)
    }
}

/// True when `value` is sealed to a county key (`x1:`), whether or not it opens.
pub fn is_county_sealed(value: &str) -> bool {
    value.starts_with(COUNTY_PREFIX)
}

/// Masks a phone number for lists and exports: `13812345678` -> `138****5678`.
/// Short or odd inputs are masked entirely rather than partly revealed.
pub fn mask_phone(phone: &str) -> String {
    let digits: Vec<char> = phone.chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
    if digits.len() < 7 {
        return "*".repeat(digits.len().max(4));
    }
    let head: String = digits[..3].iter().collect();
    let tail: String = digits[digits.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(digits.len() - 7))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_round_trip_and_tamper() {
        let key = FieldKey::from_bytes(&[7u8; 32]).unwrap();
        let sealed = key.seal("13812345678", [1u8; 24]).unwrap();
        assert!(sealed.starts_with("v1:"));
        assert!(!sealed.contains("13812345678"));
        assert_eq!(key.open(&sealed).unwrap(), "13812345678");
        let other = FieldKey::from_bytes(&[8u8; 32]).unwrap();
        assert_eq!(other.open(&sealed), Err(SealError::Open));
        let mut tampered = sealed.clone();
        tampered.pop();
        tampered.push(if sealed.ends_with('A') { 'B' } else { 'A' });
        assert!(key.open(&tampered).is_err());
        assert_eq!(key.open("13812345678"), Err(SealError::Malformed));
        assert_eq!(FieldKey::from_bytes(&[0u8; 5]).map(|_| ()), Err(SealError::KeyLength));
        assert_eq!(key.seal(&"9".repeat(300), [0; 24]), Err(SealError::TooLong));
        assert_eq!(format!("{key:?}"), "FieldKey(..)");
    }

    const COUNTY: [u8; 32] = [42u8; 32];

    fn county() -> CountySecretKey {
        CountySecretKey::from_bytes(COUNTY)
    }

    #[test]
    fn county_seal_round_trip() {
        let public = county().public_key();
        let sealed = public.seal("13812345678", [5u8; 32], [6u8; 24]).unwrap();
        assert!(sealed.starts_with("x1:") && is_county_sealed(&sealed));
        assert!(!sealed.contains("13812345678"));
        assert_eq!(county().open(&sealed).unwrap(), "13812345678");
        // The empty string and the longest allowed value round-trip too.
        assert_eq!(county().open(&public.seal("", [5u8; 32], [6u8; 24]).unwrap()).unwrap(), "");
        let long = "9".repeat(PLAINTEXT_LEN_MAX);
        assert_eq!(county().open(&public.seal(&long, [5u8; 32], [6u8; 24]).unwrap()).unwrap(), long);
        assert_eq!(
            public.seal(&"9".repeat(PLAINTEXT_LEN_MAX + 1), [5; 32], [6; 24]),
            Err(SealError::TooLong)
        );
        // Another ephemeral key gives another value, both open.
        let other = public.seal("13812345678", [7u8; 32], [6u8; 24]).unwrap();
        assert_ne!(sealed, other);
        assert_eq!(county().open(&other).unwrap(), "13812345678");
        // The public key travels as base64 and comes back the same, with the same id.
        let back = CountyPublicKey::from_base64(&public.to_base64()).unwrap();
        assert_eq!(back, public);
        assert_eq!(back.key_id().len(), KEY_ID_HEX_LEN);
        assert_eq!(back.key_id(), blake3::hash(public.as_bytes()).to_hex()[..16].to_string());
        assert_eq!(CountyPublicKey::from_base64("AAAA"), Err(SealError::KeyLength));
        assert_eq!(CountyPublicKey::from_base64("not base64!"), Err(SealError::Malformed));
    }

    #[test]
    fn county_seal_refuses_the_wrong_key_and_the_field_key_format() {
        let sealed = county().public_key().seal("13812345678", [5u8; 32], [6u8; 24]).unwrap();
        let wrong = CountySecretKey::from_bytes([43u8; 32]);
        assert_ne!(wrong.public_key().key_id(), county().public_key().key_id());
        assert_eq!(wrong.open(&sealed), Err(SealError::Open));
        // The two formats never open as each other.
        let field = FieldKey::from_bytes(&COUNTY).unwrap();
        assert_eq!(field.open(&sealed), Err(SealError::Malformed));
        let v1 = field.seal("13812345678", [6u8; 24]).unwrap();
        assert_eq!(county().open(&v1), Err(SealError::Malformed));
        // Secrets never show in Debug output.
        let shown = format!("{:?}", county());
        assert!(shown.starts_with("CountySecretKey(") && !shown.contains("42"), "{shown}");
    }

    #[test]
    fn county_seal_detects_every_tampered_byte() {
        let sealed = county().public_key().seal("13812345678", [5u8; 32], [6u8; 24]).unwrap();
        let raw = B64.decode(&sealed[3..]).unwrap();
        // Each byte of the ephemeral key, the nonce, the ciphertext and the tag is covered.
        for i in 0..raw.len() {
            let mut bad = raw.clone();
            bad[i] ^= 0x01;
            let text = format!("x1:{}", B64.encode(&bad));
            assert!(county().open(&text).is_err(), "byte {i} changed and it still opened");
        }
        // Cut short by one byte: refused.
        let short = format!("x1:{}", B64.encode(&raw[..raw.len() - 1]));
        assert_eq!(county().open(&short), Err(SealError::Open));
    }

    #[test]
    fn county_seal_refuses_low_order_keys() {
        // u = 0 (order 2) and u = 1 (order 4) give all-zero shared secrets.
        for point in [[0u8; 32], {
            let mut p = [0u8; 32];
            p[0] = 1;
            p
        }] {
            let weak = CountyPublicKey::from_bytes(point);
            assert_eq!(weak.seal("13812345678", [5u8; 32], [6u8; 24]), Err(SealError::WeakKey));
            // A value whose ephemeral key is low-order does not open either.
            let mut raw = point.to_vec();
            raw.extend_from_slice(&[0u8; NONCE_LEN + 30]);
            assert_eq!(county().open(&format!("x1:{}", B64.encode(&raw))), Err(SealError::Open));
        }
    }

    #[test]
    fn county_open_never_panics_on_garbage() {
        let key = county();
        let mut inputs: Vec<String> = vec![
            String::new(),
            "x1:".into(),
            "x1".into(),
            "x1:====".into(),
            "x1:!!!!".into(),
            "x1:\u{0}".into(),
            "v1:AAAA".into(),
            format!("x1:{}", "A".repeat(10_000)),
            format!("x1:{}", B64.encode([0u8; 32 + 24 + 15])),
            format!("x1:{}", B64.encode([0u8; 32 + 24 + 16])),
            format!("x1:{}", B64.encode([0xffu8; 32 + 24 + 40])),
        ];
        // A simple deterministic generator: bytes of every length up to 200, base64 or raw.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for len in 0..200usize {
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect();
            inputs.push(format!("x1:{}", B64.encode(&bytes)));
            inputs.push(format!("x1:{}", String::from_utf8_lossy(&bytes)));
        }
        for input in &inputs {
            assert!(key.open(input).is_err(), "{input:?} opened");
        }
    }

    #[test]
    fn phones_are_masked() {
        assert_eq!(mask_phone("13812345678"), "138****5678");
        assert_eq!(mask_phone("138-1234-5678"), "138****5678");
        assert_eq!(mask_phone("12345"), "*****");
        assert_eq!(mask_phone(""), "****");
    }
}
