//! Sensitive fields (phone, ID-card and bank numbers) sealed with XChaCha20-Poly1305.
//!
//! A sealed value is `v1:` followed by base64 of `nonce(24) || ciphertext+tag`. The key lives
//! outside the database (the kiosk keeps it in a separate file), so a copied database file
//! or an exported document reveals no numbers. The nonce is passed in: this crate draws no
//! randomness.

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

    #[test]
    fn phones_are_masked() {
        assert_eq!(mask_phone("13812345678"), "138****5678");
        assert_eq!(mask_phone("138-1234-5678"), "138****5678");
        assert_eq!(mask_phone("12345"), "*****");
        assert_eq!(mask_phone(""), "****");
    }
}
