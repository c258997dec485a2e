//! A case's private part: the farmer's phone number (and any ID or bank number added later),
//! sealed with the recording kiosk's field key, and sealed a second time to the county hub's
//! public key so that the county centre, which phones the farmer back, can open it. It is a
//! document of its own so that it can stop where it is needed: it syncs between the kiosk and
//! its county hub and never further up. Lists and exports show only the masked number.

use automerge::AutoCommit;
use autosurgeon::{Hydrate, Reconcile, hydrate, reconcile};

use crate::case::NewCase;
use crate::sealed::{CountyPublicKey, NONCE_LEN, SealError, X25519_LEN};

pub const DOC_TYPE: &str = "case_private";

#[derive(Debug, Clone, PartialEq, Eq, Reconcile, Hydrate)]
pub struct CasePrivate {
    pub doc_type: String,
    pub case_id: String,
    /// The case's region, so the private part has the same scope as the case.
    pub region_code: String,
    /// Sealed with the node's field key (see [`crate::sealed`]).
    pub farmer_phone_sealed: String,
    /// `138****5678`, for lists.
    pub farmer_phone_masked: String,
    /// The phone sealed to the county hub's public key (`x1:`, see
    /// [`crate::sealed::CountyPublicKey::seal`]): what the county centre opens to phone the
    /// farmer back. Empty until the recording kiosk holds its county's `seal_key` document
    /// (documents written before it existed hydrate with it empty).
    #[autosurgeon(missing = "Default::default")]
    pub farmer_phone_county: String,
    /// The id of the county key [`Self::farmer_phone_county`] is sealed to.
    #[autosurgeon(missing = "Default::default")]
    pub farmer_phone_county_key: String,
}

/// Longest `farmer_phone_county` accepted: a sealed value of the longest plaintext.
pub const COUNTY_SEALED_LEN_MAX: usize =
    3 + (X25519_LEN + NONCE_LEN + crate::sealed::PLAINTEXT_LEN_MAX + 16).div_ceil(3) * 4;

impl CasePrivate {
    pub fn id_for(case_id: &str) -> String {
        format!("{case_id}.private")
    }

    /// The private part of a new case, or `None` when nothing private was given. `phone` is
    /// the validated number ([`NewCase::validate`]) and `sealed` its sealed form.
    pub fn for_case(new: &NewCase, case_id: &str, phone: &str, sealed: String) -> Option<CasePrivate> {
        (!phone.is_empty()).then(|| CasePrivate {
            doc_type: DOC_TYPE.into(),
            case_id: case_id.into(),
            region_code: new.region_code.trim().into(),
            farmer_phone_sealed: sealed,
            farmer_phone_masked: crate::sealed::mask_phone(phone),
            farmer_phone_county: String::new(),
            farmer_phone_county_key: String::new(),
        })
    }

    /// True when the phone is sealed to the county key `key_id`.
    pub fn sealed_for_county(&self, key_id: &str) -> bool {
        !key_id.is_empty()
            && self.farmer_phone_county_key == key_id
            && crate::sealed::is_county_sealed(&self.farmer_phone_county)
    }

    /// Seals `phone` (the clear number, which only the recording kiosk has) to the county's
    /// key. `ephemeral` and `nonce` are fresh random bytes drawn by the caller.
    pub fn seal_for_county(
        &mut self,
        phone: &str,
        county: &CountyPublicKey,
        ephemeral: [u8; X25519_LEN],
        nonce: [u8; NONCE_LEN],
    ) -> Result<(), SealError> {
        self.farmer_phone_county = county.seal(phone, ephemeral, nonce)?;
        self.farmer_phone_county_key = county.key_id();
        Ok(())
    }

    /// Writes this (changed) private part into its document.
    pub fn update_doc(&self, doc: &mut AutoCommit) -> Result<(), String> {
        reconcile(doc, self).map_err(|e| e.to_string())
    }

    pub fn to_doc(&self) -> Result<AutoCommit, String> {
        let mut doc = AutoCommit::new();
        reconcile(&mut doc, self).map_err(|e| e.to_string())?;
        Ok(doc)
    }

    pub fn from_doc(doc: &AutoCommit) -> Result<CasePrivate, String> {
        let p: CasePrivate = hydrate(doc).map_err(|e| e.to_string())?;
        if p.doc_type != DOC_TYPE {
            return Err(format!("doc_type is {:?}", p.doc_type));
        }
        crate::RegionCode::parse(&p.region_code).map_err(|e| e.to_string())?;
        if p.farmer_phone_county.len() > COUNTY_SEALED_LEN_MAX
            || !(p.farmer_phone_county.is_empty() || crate::sealed::is_county_sealed(&p.farmer_phone_county))
        {
            return Err("farmer_phone_county is not a county-sealed value".into());
        }
        if p.farmer_phone_county_key.len() > crate::sealed::KEY_ID_HEX_LEN {
            return Err("farmer_phone_county_key is too long".into());
        }
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::sealed::CountySecretKey;

    fn new_case() -> NewCase {
        NewCase {
            region_code: "510131001001".into(),
            village_name: "和平村".into(),
            industry: "pig".into(),
            subject: "生猪".into(),
            description: "不吃食".into(),
            farmer_name: "王".into(),
            farmer_phone: "13812345678".into(),
            officer: "李".into(),
        }
    }

    #[test]
    fn a_private_part_written_before_county_sealing_still_hydrates() {
        // The document as builds before this field wrote it: no county fields at all.
        let mut doc = AutoCommit::new();
        {
            use automerge::transaction::Transactable;
            for (k, v) in [
                ("doc_type", DOC_TYPE),
                ("case_id", "c1"),
                ("region_code", "510131001001"),
                ("farmer_phone_sealed", "v1:AAAA"),
                ("farmer_phone_masked", "138****5678"),
            ] {
                doc.put(automerge::ROOT, k, v).unwrap();
            }
        }
        let p = CasePrivate::from_doc(&doc).unwrap();
        assert_eq!(p.farmer_phone_county, "");
        assert!(!p.sealed_for_county(""));
        assert!(!p.sealed_for_county("0123456789abcdef"));
    }

    #[test]
    fn sealing_for_the_county_round_trips_through_the_document() {
        let county = CountySecretKey::from_bytes([9u8; 32]);
        let mut p = CasePrivate::for_case(&new_case(), "c1", "13812345678", "v1:x".into()).unwrap();
        let mut doc = p.to_doc().unwrap();
        p.seal_for_county("13812345678", &county.public_key(), [1; 32], [2; 24]).unwrap();
        p.update_doc(&mut doc).unwrap();
        let back = CasePrivate::from_doc(&doc).unwrap();
        assert!(back.sealed_for_county(&county.public_key().key_id()));
        assert!(back.farmer_phone_county.len() <= COUNTY_SEALED_LEN_MAX);
        assert_eq!(county.open(&back.farmer_phone_county).unwrap(), "13812345678");
        // A field-key value put where the county value belongs is refused.
        let mut bad = back.clone();
        bad.farmer_phone_county = "v1:AAAA".into();
        bad.update_doc(&mut doc).unwrap();
        assert!(CasePrivate::from_doc(&doc).is_err());
        let mut long = back;
        long.farmer_phone_county = format!("x1:{}", "A".repeat(COUNTY_SEALED_LEN_MAX));
        long.update_doc(&mut doc).unwrap();
        assert!(CasePrivate::from_doc(&doc).is_err());
    }

    #[test]
    fn the_bound_fits_the_longest_sealed_value() {
        let county = CountySecretKey::from_bytes([9u8; 32]).public_key();
        let longest = county.seal(&"9".repeat(crate::sealed::PLAINTEXT_LEN_MAX), [1; 32], [2; 24]).unwrap();
        assert!(longest.len() <= COUNTY_SEALED_LEN_MAX, "{} > {COUNTY_SEALED_LEN_MAX}", longest.len());
    }
}
