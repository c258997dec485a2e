//! A county hub's public sealing keys as a document (`seal_key`), so that the kiosks of the
//! county can seal farmers' phone numbers to the county centre (see [`crate::sealed`]).
//!
//! One document per county, id `seal-key:<county>`, scope the county code. It syncs only
//! downwards: from the county hub to the children whose scope lies within the county, never to
//! a parent, and a node accepts it only from its parent (docs/PROTOCOL.md).
//!
//! The keys are a map from key id to entry, so that a later key (rotation, or a county hub that
//! lost its key and made a new one) is added beside the old ones rather than replacing fields;
//! the current key is the newest. Every document of a county starts from the same change
//! ([`genesis`]: fixed actor, fixed time), so that two documents created independently (a hub
//! restored without its database) merge into one map instead of two conflicting ones.

use std::collections::BTreeMap;

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ActorId, AutoCommit, ObjType, ROOT};
use autosurgeon::{Hydrate, Reconcile, hydrate, reconcile};

use crate::RegionLevel;
use crate::sealed::{CountyPublicKey, KEY_ID_HEX_LEN};

pub const DOC_TYPE: &str = "seal_key";
/// The only sealing format so far: `x1:` values ([`crate::sealed`]).
pub const FORMAT: &str = "x1";
/// Keys a county document may hold (one per rotation): far more than a county will ever use.
pub const KEYS_MAX: usize = 32;
/// The actor of the genesis change shared by every document of a county.
const GENESIS_ACTOR: &[u8] = b"yizhan-seal-key-genesis";

#[derive(Debug, Clone, PartialEq, Eq, Reconcile, Hydrate)]
pub struct SealKeyEntry {
    /// [`CountyPublicKey::key_id`] of the public key; also its key in [`SealKeyDoc::keys`].
    pub key_id: String,
    /// The X25519 public key, base64 without padding.
    pub public_key: String,
    /// The sealing format values sealed to it use ([`FORMAT`]).
    pub format: String,
    /// When the county hub made it, on the hub's clock. The newest key is the current one.
    pub created_at_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Reconcile, Hydrate)]
pub struct SealKeyDoc {
    pub doc_type: String,
    /// The county (6 digits) whose centre holds the secret keys; the document's scope.
    pub county_code: String,
    pub keys: BTreeMap<String, SealKeyEntry>,
}

/// The first change of every county's document: its type, its county and an empty key map.
/// Deterministic (fixed actor, time 0), so it has the same hash wherever it is made.
pub fn genesis(county_code: &str) -> Result<AutoCommit, String> {
    let mut doc = AutoCommit::new().with_actor(ActorId::from(GENESIS_ACTOR));
    doc.put(ROOT, "doc_type", DOC_TYPE).map_err(|e| e.to_string())?;
    doc.put(ROOT, "county_code", county_code).map_err(|e| e.to_string())?;
    doc.put_object(ROOT, "keys", ObjType::Map).map_err(|e| e.to_string())?;
    doc.commit_with(CommitOptions::default().with_time(0));
    Ok(doc)
}

fn check_county(code: &str) -> Result<(), String> {
    let region = crate::RegionCode::parse(code).map_err(|e| e.to_string())?;
    if region.level() != RegionLevel::County {
        return Err(format!("{code} is not a county"));
    }
    Ok(())
}

impl SealKeyEntry {
    pub fn new(key: &CountyPublicKey, created_at_ms: i64) -> SealKeyEntry {
        SealKeyEntry {
            key_id: key.key_id(),
            public_key: key.to_base64(),
            format: FORMAT.into(),
            created_at_ms,
        }
    }

    /// The public key, checked against its id and for being usable.
    pub fn public_key(&self) -> Result<CountyPublicKey, String> {
        let key = CountyPublicKey::from_base64(&self.public_key).map_err(|e| e.to_string())?;
        if key.key_id() != self.key_id {
            return Err(format!("key {} does not match its public key", self.key_id));
        }
        if self.format != FORMAT {
            return Err(format!("key {} has the unknown format {:?}", self.key_id, self.format));
        }
        // Sealing to a low-order point would protect nothing: refuse such a key outright.
        key.seal("", [1u8; 32], [0u8; 24]).map_err(|e| e.to_string())?;
        Ok(key)
    }
}

impl SealKeyDoc {
    pub fn id_for(county_code: &str) -> String {
        format!("seal-key:{county_code}")
    }

    /// A county's document holding its first key.
    pub fn new(county_code: &str, key: &CountyPublicKey, created_at_ms: i64) -> Result<SealKeyDoc, String> {
        let entry = SealKeyEntry::new(key, created_at_ms);
        let d = SealKeyDoc {
            doc_type: DOC_TYPE.into(),
            county_code: county_code.into(),
            keys: BTreeMap::from([(entry.key_id.clone(), entry)]),
        };
        d.validate()?;
        Ok(d)
    }

    /// The automerge document: the county's [`genesis`], then this content.
    pub fn to_doc(&self) -> Result<AutoCommit, String> {
        self.validate()?;
        let mut doc = AutoCommit::new();
        doc.merge(&mut genesis(&self.county_code)?).map_err(|e| e.to_string())?;
        reconcile(&mut doc, self).map_err(|e| e.to_string())?;
        Ok(doc)
    }

    pub fn from_doc(doc: &AutoCommit) -> Result<SealKeyDoc, String> {
        let d: SealKeyDoc = hydrate(doc).map_err(|e| e.to_string())?;
        d.validate()?;
        Ok(d)
    }

    /// Adds `key` (made at `created_at_ms`) to the document unless it holds it already.
    /// Returns whether the document changed.
    pub fn add_key(doc: &mut AutoCommit, key: &CountyPublicKey, created_at_ms: i64) -> Result<bool, String> {
        let mut d = SealKeyDoc::from_doc(doc)?;
        if d.keys.contains_key(&key.key_id()) {
            return Ok(false);
        }
        let entry = SealKeyEntry::new(key, created_at_ms);
        d.keys.insert(entry.key_id.clone(), entry);
        d.validate()?;
        reconcile(doc, &d).map_err(|e| e.to_string())?;
        Ok(true)
    }

    pub fn validate(&self) -> Result<(), String> {
        if self.doc_type != DOC_TYPE {
            return Err(format!("doc_type is {:?}", self.doc_type));
        }
        check_county(&self.county_code)?;
        if self.keys.is_empty() || self.keys.len() > KEYS_MAX {
            return Err(format!("a seal key document holds 1 to {KEYS_MAX} keys, not {}", self.keys.len()));
        }
        for (id, entry) in &self.keys {
            if *id != entry.key_id || id.len() != KEY_ID_HEX_LEN {
                return Err(format!("key entry {id:?} is misnamed"));
            }
            entry.public_key()?;
        }
        Ok(())
    }

    /// The key to seal to now: the newest (ties broken by key id).
    pub fn current(&self) -> Option<(String, CountyPublicKey)> {
        let entry = self
            .keys
            .values()
            .max_by(|a, b| (a.created_at_ms, &a.key_id).cmp(&(b.created_at_ms, &b.key_id)))?;
        Some((entry.key_id.clone(), entry.public_key().ok()?))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::sealed::CountySecretKey;

    fn key(b: u8) -> CountyPublicKey {
        CountySecretKey::from_bytes([b; 32]).public_key()
    }

    #[test]
    fn a_county_document_round_trips_and_names_its_current_key() {
        let d = SealKeyDoc::new("510131", &key(1), 1000).unwrap();
        let doc = d.to_doc().unwrap();
        let back = SealKeyDoc::from_doc(&doc).unwrap();
        assert_eq!(back, d);
        let (id, k) = back.current().unwrap();
        assert_eq!((id, k), (key(1).key_id(), key(1)));
        assert_eq!(SealKeyDoc::id_for("510131"), "seal-key:510131");
    }

    #[test]
    fn only_counties_and_consistent_keys_validate() {
        assert!(SealKeyDoc::new("5101", &key(1), 1).is_err(), "a city");
        assert!(SealKeyDoc::new("510131001", &key(1), 1).is_err(), "a town");
        assert!(SealKeyDoc::new("519999", &key(1), 1).is_err(), "an unknown county");
        assert!(SealKeyDoc::new("510131", &CountyPublicKey::from_bytes([0; 32]), 1).is_err(), "low order");
        let mut d = SealKeyDoc::new("510131", &key(1), 1).unwrap();
        let id = key(1).key_id();
        // A public key swapped under another key's id is refused.
        d.keys.get_mut(&id).unwrap().public_key = key(2).to_base64();
        assert!(d.validate().is_err());
        d.keys.get_mut(&id).unwrap().public_key = key(1).to_base64();
        d.keys.get_mut(&id).unwrap().format = "x2".into();
        assert!(d.validate().is_err());
        d.keys.get_mut(&id).unwrap().format = FORMAT.into();
        d.validate().unwrap();
        d.keys.clear();
        assert!(d.validate().is_err(), "no key");
        for i in 0..=KEYS_MAX {
            let e = SealKeyEntry::new(&key(i as u8 + 1), i as i64);
            d.keys.insert(e.key_id.clone(), e);
        }
        assert!(d.validate().is_err(), "too many keys");
    }

    #[test]
    fn documents_made_apart_merge_into_one_key_map_and_the_newest_key_is_current() {
        // A county hub made its document; restored without its database or its key, it makes
        // a new one with a new key. A kiosk that holds the first merges in the second.
        let mut first = SealKeyDoc::new("510131", &key(1), 1000).unwrap().to_doc().unwrap();
        let mut second = SealKeyDoc::new("510131", &key(2), 2000).unwrap().to_doc().unwrap();
        first.merge(&mut second).unwrap();
        let merged = SealKeyDoc::from_doc(&first).unwrap();
        assert_eq!(merged.keys.len(), 2);
        assert_eq!(merged.current().unwrap().0, key(2).key_id());
        // Adding a key already held changes nothing; adding a new one does.
        assert!(!SealKeyDoc::add_key(&mut first, &key(1), 3000).unwrap());
        assert!(SealKeyDoc::add_key(&mut first, &key(3), 3000).unwrap());
        assert_eq!(SealKeyDoc::from_doc(&first).unwrap().current().unwrap().0, key(3).key_id());
    }
}
