//! Password hashing: Argon2id with explicit parameters (OWASP's minimum: 19 MiB, 2 passes, one
//! lane). Synchronous and slow by design: [`crate::Accounts`] runs it on a blocking thread,
//! at most [`HASHES_IN_FLIGHT_MAX`] at once.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::RngCore;

/// Memory per hash, in KiB (19 MiB).
pub const ARGON2_M_KIB: u32 = 19 * 1024;
/// Passes over the memory.
pub const ARGON2_T: u32 = 2;
/// Lanes.
pub const ARGON2_P: u32 = 1;
pub const ARGON2_OUTPUT_LEN: usize = 32;
pub const SALT_LEN: usize = 16;
/// A stored hash (it may have arrived by sync) is verified only if its parameters stay within
/// these bounds: a hash asking for a gigabyte of memory would stall the node.
pub const ARGON2_M_KIB_MAX: u32 = 64 * 1024;
pub const ARGON2_T_MAX: u32 = 8;
pub const ARGON2_P_MAX: u32 = 4;
/// Hashes computed at the same time (each holds [`ARGON2_M_KIB`] of memory); more wait.
pub const HASHES_IN_FLIGHT_MAX: usize = 2;
pub const PASSWORD_CHARS_MIN: usize = 8;
/// Longer passwords are refused before hashing (bounds the work one request can cause).
pub const PASSWORD_CHARS_MAX: usize = 128;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PasswordError {
    #[error("the password is shorter than {PASSWORD_CHARS_MIN} characters")]
    TooShort,
    #[error("the password is longer than {PASSWORD_CHARS_MAX} characters")]
    TooLong,
    #[error("hashing failed: {0}")]
    Hash(String),
}

fn hasher() -> Result<Argon2<'static>, PasswordError> {
    let params = Params::new(ARGON2_M_KIB, ARGON2_T, ARGON2_P, Some(ARGON2_OUTPUT_LEN))
        .map_err(|e| PasswordError::Hash(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Checks a new password against the length rules.
pub fn check_new_password(password: &str) -> Result<(), PasswordError> {
    let n = password.chars().count();
    if n < PASSWORD_CHARS_MIN {
        return Err(PasswordError::TooShort);
    }
    if n > PASSWORD_CHARS_MAX {
        return Err(PasswordError::TooLong);
    }
    Ok(())
}

/// Hashes a password into a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`).
pub fn hash_password(password: &str) -> Result<String, PasswordError> {
    let mut salt = [0u8; SALT_LEN];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| PasswordError::Hash(e.to_string()))?;
    let hash = hasher()?
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| PasswordError::Hash(e.to_string()))?;
    Ok(hash.to_string())
}

/// Whether a stored hash is one this node agrees to verify: Argon2id, parameters in bounds.
pub fn acceptable_hash(phc: &str) -> bool {
    let Ok(hash) = PasswordHash::new(phc) else { return false };
    if hash.algorithm != argon2::ARGON2ID_IDENT {
        return false;
    }
    let Ok(params) = Params::try_from(&hash) else { return false };
    params.m_cost() <= ARGON2_M_KIB_MAX && params.t_cost() <= ARGON2_T_MAX && params.p_cost() <= ARGON2_P_MAX
}

/// Verifies `password` against a stored PHC string, with the parameters it names. False for
/// a wrong password and for a hash that is malformed or out of bounds.
pub fn verify_password(phc: &str, password: &str) -> bool {
    if password.chars().count() > PASSWORD_CHARS_MAX || !acceptable_hash(phc) {
        return false;
    }
    let Ok(hash) = PasswordHash::new(phc) else { return false };
    Argon2::default().verify_password(password.as_bytes(), &hash).is_ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn hashes_are_argon2id_with_the_explicit_parameters_and_verify() {
        let h = hash_password("菜籽油-2024-春").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify_password(&h, "菜籽油-2024-春"));
        assert!(!verify_password(&h, "菜籽油-2024-夏"));
        // Two hashes of one password differ (random salt).
        assert_ne!(h, hash_password("菜籽油-2024-春").unwrap());
    }

    #[test]
    fn out_of_bounds_or_foreign_hashes_are_refused_without_hashing() {
        // 4 GiB of memory: refused by the bounds check, so this test does not allocate it.
        let huge =
            "$argon2id$v=19$m=4194304,t=2,p=1$c2FsdHNhbHRzYWx0$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        assert!(!acceptable_hash(huge));
        assert!(!verify_password(huge, "whatever"));
        let argon2i = hash_password("password1").unwrap().replacen("argon2id", "argon2i", 1);
        assert!(!acceptable_hash(&argon2i));
        assert!(!verify_password("", "password1"));
        assert!(!verify_password("not a hash", "password1"));
        assert!(acceptable_hash(&hash_password("password1").unwrap()));
    }

    #[test]
    fn length_rules() {
        assert_eq!(check_new_password("1234567"), Err(PasswordError::TooShort));
        assert_eq!(check_new_password("一二三四五六七八"), Ok(()));
        assert_eq!(check_new_password(&"x".repeat(129)), Err(PasswordError::TooLong));
    }
}
