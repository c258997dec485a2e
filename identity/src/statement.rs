//! Signed statements: a body of bytes signed with a hub's (or the province's) TLS identity key,
//! carrying the signer's certificate chain, verified at every node against the trust roots. The
//! circuit breaker's takedowns travel this way (`yizhan_core::takedown`), so a copy relayed by
//! an intermediate node cannot be forged or altered by it: the relay holds no key of the issuer.
//!
//! The signature covers a caller-given context (one per statement type, ending in a NUL byte)
//! followed by the body, so a statement of one type can never be taken for another, nor for a
//! TLS handshake signature by the same key.

use std::time::SystemTime;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde::{Deserialize, Serialize};

use crate::authority::{NodeCredentials, unix_secs};
use crate::chain::verify_chain;
use crate::error::{IdentityError, VerifyError};
use crate::identity::{NodeIdentity, parse_certificate};
use crate::limits::MAX_CHAIN_CERTS;

/// A signed statement's encoded size at most (body, signature and chain, base64 in JSON).
pub const STATEMENT_BYTES_MAX: usize = 64 * 1024;
const FORMAT_VERSION: u32 = 1;

/// Why a statement could not be made or did not verify.
#[derive(Debug, thiserror::Error)]
pub enum StatementError {
    #[error("statement is {len} bytes, more than the {max} allowed")]
    TooLarge { len: usize, max: usize },
    #[error("malformed statement: {0}")]
    Malformed(String),
    #[error("statement signature is invalid")]
    BadSignature,
    #[error("statement signer: {0}")]
    Signer(#[from] VerifyError),
    #[error(transparent)]
    Identity(#[from] IdentityError),
    #[error("signing key: {0}")]
    Key(String),
}

/// A body with its signature and the signer's chain (its TLS certificate first, then its issuers,
/// root excluded), as it travels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedStatement {
    body: Vec<u8>,
    signature: Vec<u8>,
    signer_chain: Vec<CertificateDer<'static>>,
}

#[derive(Serialize, Deserialize)]
struct Wire {
    format: u32,
    body: String,
    signature: String,
    signer_chain: Vec<String>,
}

fn message(context: &[u8], body: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(context.len() + body.len());
    m.extend_from_slice(context);
    m.extend_from_slice(body);
    m
}

impl NodeCredentials {
    /// Signs `body` under `context` with this node's TLS key.
    pub fn sign_statement(&self, context: &[u8], body: Vec<u8>) -> Result<SignedStatement, StatementError> {
        let PrivateKeyDer::Pkcs8(pkcs8) = &self.key else {
            return Err(StatementError::Key("not a PKCS#8 key".into()));
        };
        let rng = ring::rand::SystemRandom::new();
        let pair = ring::signature::EcdsaKeyPair::from_pkcs8(
            &ring::signature::ECDSA_P256_SHA256_ASN1_SIGNING,
            pkcs8.secret_pkcs8_der(),
            &rng,
        )
        .map_err(|e| StatementError::Key(e.to_string()))?;
        let signature = pair
            .sign(&rng, &message(context, &body))
            .map_err(|e| StatementError::Key(e.to_string()))?
            .as_ref()
            .to_vec();
        let signed = SignedStatement { body, signature, signer_chain: self.chain.clone() };
        let len = signed.to_bytes().len();
        if len > STATEMENT_BYTES_MAX {
            return Err(StatementError::TooLarge { len, max: STATEMENT_BYTES_MAX });
        }
        Ok(signed)
    }
}

impl SignedStatement {
    pub fn to_bytes(&self) -> Vec<u8> {
        let wire = Wire {
            format: FORMAT_VERSION,
            body: B64.encode(&self.body),
            signature: B64.encode(&self.signature),
            signer_chain: self.signer_chain.iter().map(|c| B64.encode(c)).collect(),
        };
        // Plain strings and integers always serialise.
        serde_json::to_vec(&wire).unwrap_or_default()
    }

    /// Decodes bytes from the network or disk (no signature check: see [`Self::verify`]).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, StatementError> {
        if bytes.len() > STATEMENT_BYTES_MAX {
            return Err(StatementError::TooLarge { len: bytes.len(), max: STATEMENT_BYTES_MAX });
        }
        let wire: Wire =
            serde_json::from_slice(bytes).map_err(|e| StatementError::Malformed(e.to_string()))?;
        if wire.format != FORMAT_VERSION {
            return Err(StatementError::Malformed(format!("unknown format {}", wire.format)));
        }
        if wire.signer_chain.is_empty() || wire.signer_chain.len() > MAX_CHAIN_CERTS {
            return Err(StatementError::Malformed("signer chain length".into()));
        }
        let b64 = |s: &str| B64.decode(s).map_err(|_| StatementError::Malformed("bad base64".into()));
        let mut signer_chain = Vec::with_capacity(wire.signer_chain.len());
        for c in &wire.signer_chain {
            signer_chain.push(CertificateDer::from(b64(c)?));
        }
        Ok(SignedStatement { body: b64(&wire.body)?, signature: b64(&wire.signature)?, signer_chain })
    }

    /// Checks the signer's chain at `now` with the chain rules every peer applies (a hub's or the
    /// province's TLS certificate, or a kiosk's: the caller decides whom it accepts), then the
    /// signature over `context` and the body. Returns the body and the signer's identity.
    pub fn verify(
        &self,
        roots: &crate::TrustRoots,
        context: &[u8],
        now: SystemTime,
    ) -> Result<(&[u8], NodeIdentity), StatementError> {
        let leaf = self.signer_chain.first().ok_or(IdentityError::EmptyChain)?;
        let chain = verify_chain(roots, leaf, &self.signer_chain[1..], unix_secs(now))?;
        let cert = parse_certificate(leaf)?;
        ring::signature::UnparsedPublicKey::new(
            &ring::signature::ECDSA_P256_SHA256_ASN1,
            &cert.public_key().subject_public_key.data,
        )
        .verify(&message(context, &self.body), &self.signature)
        .map_err(|_| StatementError::BadSignature)?;
        Ok((&self.body, chain.subject().clone()))
    }

    /// The body as signed (unverified).
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// A copy whose body is replaced (for tests of tampering: it no longer verifies).
    pub fn with_body(&self, body: Vec<u8>) -> SignedStatement {
        SignedStatement { body, ..self.clone() }
    }
}
