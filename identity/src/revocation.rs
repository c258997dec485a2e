//! Revocation lists: signed by the CA that issued the revoked certificates (or by any CA above
//! it), synced down as bytes, and consulted by the TLS verifiers at every handshake.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{PoisonError, RwLock};
use std::time::SystemTime;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use rcgen::SigningKey;
use rustls::pki_types::CertificateDer;
use serde::{Deserialize, Serialize};

use crate::authority::{Authority, unix_secs};
use crate::chain::{KeyId, Subject, TrustRoots, VerifiedChain, verify_ders};
use crate::error::{RevocationError, VerifyError};
use crate::identity::{NodeIdentity, parse_certificate, validate_node_id};
use crate::limits::{MAX_CHAIN_CERTS, MAX_REVOCATION_LIST_BYTES, MAX_REVOCATION_LISTS, MAX_REVOKED_ENTRIES};

/// Signatures cover this context followed by the body, so a revocation-list signature can never be
/// taken for a certificate signature by the same CA key (a TBSCertificate starts with 0x30).
const SIGNATURE_CONTEXT: &[u8] = b"yizhan revocation list v1\0";

/// Format version of [`SignedRevocationList`] bytes.
const FORMAT_VERSION: u32 = 1;

/// What a revocation list revokes.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Revoked {
    /// Every certificate with this node id in a chain below the list's CA: a kiosk, or a hub (its
    /// CA and TLS certificates, and so everything its CA issued).
    Node { node_id: String },
    /// The certificate with this serial (lowercase hex, no leading zero bytes) issued directly by
    /// the list's CA: revokes one leaked key while the node re-enrols under the same node id.
    Serial { serial: String },
}

impl Revoked {
    pub fn node(node_id: &str) -> Result<Self, RevocationError> {
        validate_node_id(node_id)?;
        Ok(Revoked::Node { node_id: node_id.to_owned() })
    }

    /// Revokes exactly this certificate (its issuer must sign the list).
    pub fn certificate(cert: &CertificateDer<'_>) -> Result<Self, RevocationError> {
        let cert = parse_certificate(cert)?;
        Ok(Revoked::Serial { serial: crate::chain::serial_hex(cert.raw_serial()) })
    }

    fn validate(&self) -> Result<(), RevocationError> {
        match self {
            Revoked::Node { node_id } => Ok(validate_node_id(node_id)?),
            Revoked::Serial { serial } => {
                // 20 bytes is RFC 5280's maximum serial length.
                let ok = !serial.is_empty()
                    && serial.len() <= 40
                    && serial.len() % 2 == 0
                    && serial.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
                if ok { Ok(()) } else { Err(RevocationError::Malformed("bad serial".into())) }
            }
        }
    }
}

/// The signed content of a revocation list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevocationList {
    /// The CA whose list this is (the key id of its public key).
    pub issuer: KeyId,
    /// Higher versions replace lower ones from the same issuer; the issuer increments it with every
    /// change (a counter, or the issue time in seconds).
    pub version: u64,
    pub revoked: BTreeSet<Revoked>,
}

/// A revocation list with its signature and the signer's certificate chain (signer first; the root
/// alone when the province signs), as it travels and is stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedRevocationList {
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

impl SignedRevocationList {
    pub fn to_bytes(&self) -> Vec<u8> {
        let wire = Wire {
            format: FORMAT_VERSION,
            body: B64.encode(&self.body),
            signature: B64.encode(&self.signature),
            signer_chain: self.signer_chain.iter().map(|c| B64.encode(c)).collect(),
        };
        // Serialising plain strings and integers into JSON cannot fail.
        serde_json::to_vec(&wire).unwrap_or_default()
    }

    /// Decodes bytes from the network or disk (no signature check yet: see [`Self::verify`]).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, RevocationError> {
        if bytes.len() > MAX_REVOCATION_LIST_BYTES {
            return Err(RevocationError::TooLarge { len: bytes.len(), max: MAX_REVOCATION_LIST_BYTES });
        }
        let wire: Wire =
            serde_json::from_slice(bytes).map_err(|e| RevocationError::Malformed(e.to_string()))?;
        if wire.format != FORMAT_VERSION {
            return Err(RevocationError::Malformed(format!("unknown format {}", wire.format)));
        }
        if wire.signer_chain.is_empty() || wire.signer_chain.len() > MAX_CHAIN_CERTS {
            return Err(RevocationError::Malformed("signer chain length".into()));
        }
        let b64 = |s: &str| B64.decode(s).map_err(|_| RevocationError::Malformed("bad base64".into()));
        let mut signer_chain = Vec::with_capacity(wire.signer_chain.len());
        for c in &wire.signer_chain {
            signer_chain.push(CertificateDer::from(b64(c)?));
        }
        Ok(SignedRevocationList { body: b64(&wire.body)?, signature: b64(&wire.signature)?, signer_chain })
    }

    /// Checks the signer chain at `now` (the signer must be the province root or a hub CA), the
    /// signature, and that the list names its signer as issuer. Returns the list and its signer.
    pub fn verify(
        &self,
        roots: &TrustRoots,
        now: SystemTime,
    ) -> Result<(RevocationList, NodeIdentity), RevocationError> {
        let ders: Vec<&[u8]> = self.signer_chain.iter().map(|c| c.as_ref()).collect();
        let chain = verify_ders(roots, &ders, Subject::Ca, unix_secs(now))?;
        let signer_der = self.signer_chain.first().ok_or(VerifyError::SignerNotCa)?;
        let signer = parse_certificate(signer_der)?;
        let spki = signer.public_key();
        let mut message = Vec::with_capacity(SIGNATURE_CONTEXT.len() + self.body.len());
        message.extend_from_slice(SIGNATURE_CONTEXT);
        message.extend_from_slice(&self.body);
        // verify_ders has checked the signer key is ECDSA P-256.
        ring::signature::UnparsedPublicKey::new(
            &ring::signature::ECDSA_P256_SHA256_ASN1,
            &spki.subject_public_key.data,
        )
        .verify(&message, &self.signature)
        .map_err(|_| RevocationError::BadSignature)?;
        let list: RevocationList =
            serde_json::from_slice(&self.body).map_err(|e| RevocationError::Malformed(e.to_string()))?;
        if list.revoked.len() > MAX_REVOKED_ENTRIES {
            return Err(RevocationError::TooManyEntries {
                len: list.revoked.len(),
                max: MAX_REVOKED_ENTRIES,
            });
        }
        for entry in &list.revoked {
            entry.validate()?;
        }
        let signer_key = KeyId::of_spki(spki.raw);
        if list.issuer != signer_key {
            return Err(RevocationError::IssuerMismatch {
                named: list.issuer.to_hex(),
                signer: signer_key.to_hex(),
            });
        }
        Ok((list, chain.subject().clone()))
    }
}

impl Authority {
    /// Signs this CA's revocation list. `version` must exceed the last one published, or peers
    /// keep the old list.
    pub fn sign_revocation_list(
        &self,
        version: u64,
        revoked: BTreeSet<Revoked>,
    ) -> Result<SignedRevocationList, RevocationError> {
        if revoked.len() > MAX_REVOKED_ENTRIES {
            return Err(RevocationError::TooManyEntries { len: revoked.len(), max: MAX_REVOKED_ENTRIES });
        }
        for entry in &revoked {
            entry.validate()?;
        }
        let ca = self.ca_chain().first().ok_or(VerifyError::SignerNotCa)?;
        let issuer = KeyId::of_spki(parse_certificate(ca)?.public_key().raw);
        let list = RevocationList { issuer, version, revoked };
        let body = serde_json::to_vec(&list).map_err(|e| RevocationError::Malformed(e.to_string()))?;
        let mut message = Vec::with_capacity(SIGNATURE_CONTEXT.len() + body.len());
        message.extend_from_slice(SIGNATURE_CONTEXT);
        message.extend_from_slice(&body);
        let signature = self.key().sign(&message)?;
        let signed = SignedRevocationList { body, signature, signer_chain: self.ca_chain().to_vec() };
        if signed.to_bytes().len() > MAX_REVOCATION_LIST_BYTES {
            return Err(RevocationError::TooLarge {
                len: signed.to_bytes().len(),
                max: MAX_REVOCATION_LIST_BYTES,
            });
        }
        Ok(signed)
    }
}

struct Held {
    list: RevocationList,
    signer: NodeIdentity,
    signed: SignedRevocationList,
}

/// The revocation lists a node knows, newest version per issuing CA. Shared (`Arc`) between the
/// TLS verifiers and the sync code that receives new lists; updates apply to the next handshake.
pub struct RevocationState {
    roots: TrustRoots,
    lists: RwLock<BTreeMap<KeyId, Held>>,
}

impl std::fmt::Debug for RevocationState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let lists = self.lists.read().unwrap_or_else(PoisonError::into_inner);
        f.debug_map().entries(lists.values().map(|h| (h.signer.to_string(), h.list.version))).finish()
    }
}

/// What [`RevocationState::apply`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applied {
    /// First list from this issuer, or a higher version than the one held.
    Updated,
    /// Same or lower version than the one held: ignored.
    Stale { held_version: u64 },
}

impl RevocationState {
    pub fn new(roots: TrustRoots) -> Self {
        RevocationState { roots, lists: RwLock::new(BTreeMap::new()) }
    }

    /// Verifies a signed list (from bytes) and keeps it if it is newer than the one held from the
    /// same issuer. An invalid list changes nothing.
    pub fn apply(&self, bytes: &[u8], now: SystemTime) -> Result<Applied, RevocationError> {
        self.apply_signed(SignedRevocationList::from_bytes(bytes)?, now)
    }

    pub fn apply_signed(
        &self,
        signed: SignedRevocationList,
        now: SystemTime,
    ) -> Result<Applied, RevocationError> {
        let (list, signer) = signed.verify(&self.roots, now)?;
        // Writers poison the lock only by panicking between lookup and insert, which leaves the map
        // consistent: ignore poisoning.
        let mut lists = self.lists.write().unwrap_or_else(PoisonError::into_inner);
        match lists.get(&list.issuer) {
            Some(held) if held.list.version >= list.version => {
                return Ok(Applied::Stale { held_version: held.list.version });
            }
            None if lists.len() >= MAX_REVOCATION_LISTS => {
                return Err(RevocationError::TooManyLists(lists.len()));
            }
            _ => {}
        }
        lists.insert(list.issuer, Held { list, signer, signed });
        Ok(Applied::Updated)
    }

    /// Takes every list of `other` that is newer than ours (a merge: higher version wins per
    /// issuer). Returns how many lists changed.
    pub fn merge_from(&self, other: &RevocationState, now: SystemTime) -> Result<usize, RevocationError> {
        let mut changed = 0;
        for signed in other.signed_lists() {
            if self.apply_signed(signed, now)? == Applied::Updated {
                changed += 1;
            }
        }
        Ok(changed)
    }

    /// Every held list as it was signed, to store or to sync down to children.
    pub fn signed_lists(&self) -> Vec<SignedRevocationList> {
        let lists = self.lists.read().unwrap_or_else(PoisonError::into_inner);
        lists.values().map(|h| h.signed.clone()).collect()
    }

    /// [`Self::signed_lists`] as bytes.
    pub fn export(&self) -> Vec<Vec<u8>> {
        self.signed_lists().iter().map(SignedRevocationList::to_bytes).collect()
    }

    /// The list held from an issuer.
    pub fn list(&self, issuer: &KeyId) -> Option<RevocationList> {
        let lists = self.lists.read().unwrap_or_else(PoisonError::into_inner);
        lists.get(issuer).map(|h| h.list.clone())
    }

    /// Refuses a verified chain if any CA in it (root included) has revoked a certificate below it
    /// in the chain: by node id anywhere below, by serial directly below. A CA's list therefore
    /// only ever affects chains that pass through that CA.
    pub fn check(&self, chain: &VerifiedChain) -> Result<(), VerifyError> {
        let lists = self.lists.read().unwrap_or_else(PoisonError::into_inner);
        if lists.is_empty() {
            return Ok(());
        }
        let n = chain.certs.len();
        for ca_index in 1..=n {
            let ca = chain.at(ca_index);
            let Some(held) = lists.get(&ca.key_id) else { continue };
            for index in 0..ca_index {
                let cert = chain.at(index);
                let by_node = held
                    .list
                    .revoked
                    .contains(&Revoked::Node { node_id: cert.identity.node_id().to_owned() });
                let by_serial = index + 1 == ca_index
                    && held.list.revoked.contains(&Revoked::Serial { serial: cert.serial.clone() });
                if by_node || by_serial {
                    return Err(VerifyError::Revoked {
                        node: cert.identity.clone(),
                        revoked_by: ca.identity.clone(),
                    });
                }
            }
        }
        Ok(())
    }
}
