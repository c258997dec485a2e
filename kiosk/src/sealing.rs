//! Sealing farmers' phone numbers to the county centre, which phones them back.
//!
//! The county hub publishes its public key as a `seal_key` document that syncs down to the
//! kiosks of the county ([`yizhan_core::seal_key`]). [`crate::service::record_case`] seals a
//! new case's phone to the county's current key when the kiosk holds it; [`run`] follows the
//! feed and re-seals every private part that is not sealed to the current key (cases recorded
//! before the key arrived, or before the county made a new one), opening the kiosk's own
//! field-key copy. Private parts this kiosk's field key does not open (recorded elsewhere) are
//! left alone. No phone number, clear or sealed, is ever logged.

use std::sync::{Arc, Mutex};

use yizhan_core::private::CasePrivate;
use yizhan_core::{CountyPublicKey, FieldKey, SealKeyDoc};
use yizhan_store::{Db, StoreError};

use crate::AppState;

/// Feed entries examined per round (one store call each).
const BATCH: u32 = 256;

/// The county key to seal to now: the current key of this kiosk's county's `seal_key`
/// document, if the kiosk holds it. A document that does not validate counts as absent.
pub fn current_county_key(db: &Db, county: &str) -> Result<Option<(String, CountyPublicKey)>, StoreError> {
    let Some(doc) = db.load_doc(&SealKeyDoc::id_for(county))? else { return Ok(None) };
    match SealKeyDoc::from_doc(&doc) {
        Ok(d) if d.county_code == county => Ok(d.current()),
        Ok(d) => {
            tracing::warn!(county, held = %d.county_code, "the seal key document names another county");
            Ok(None)
        }
        Err(e) => {
            tracing::warn!(county, error = %e, "the county's seal key document does not validate");
            Ok(None)
        }
    }
}

/// What became of one private part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resealed {
    /// Sealed to the county key now.
    Sealed,
    /// Already sealed to this key.
    Already,
    /// Not this kiosk's to seal: another county's, or the field key does not open it.
    NotOurs,
}

/// Seals the phone of private part `doc_id` to `key` unless it is sealed to it already, in one
/// transaction; the clear number comes from the kiosk's own field-key copy.
pub fn reseal(
    db: &mut Db,
    field: &FieldKey,
    county: &str,
    doc_id: &str,
    key: &(String, CountyPublicKey),
) -> Result<Resealed, StoreError> {
    let (key_id, public) = key;
    let out = db.update_doc(doc_id, |doc| {
        let mut p = CasePrivate::from_doc(doc)?;
        if p.sealed_for_county(key_id) {
            return Ok(Resealed::Already);
        }
        if !p.region_code.starts_with(county) {
            return Ok(Resealed::NotOurs);
        }
        let Ok(phone) = field.open(&p.farmer_phone_sealed) else { return Ok(Resealed::NotOurs) };
        p.seal_for_county(&phone, public, rand::random(), rand::random()).map_err(|e| e.to_string())?;
        p.update_doc(doc)?;
        Ok::<_, String>(Resealed::Sealed)
    })?;
    out.map_err(|detail| StoreError::Corrupt { id: doc_id.to_string(), detail })
}

/// One round: re-seals the private parts among the feed entries after `after`. Returns the
/// feed position reached and how many were sealed.
pub fn reseal_round(
    db: &mut Db,
    field: &FieldKey,
    county: &str,
    key: Option<&(String, CountyPublicKey)>,
    after: i64,
) -> Result<(i64, usize), StoreError> {
    let entries = db.changes_since(after, BATCH)?;
    let next = entries.iter().map(|e| e.seq).fold(after, i64::max);
    let Some(key) = key else { return Ok((next, 0)) };
    let mut sealed = 0;
    for e in entries.iter().filter(|e| e.doc_type == yizhan_core::private::DOC_TYPE) {
        match reseal(db, field, county, &e.doc_id, key) {
            Ok(Resealed::Sealed) => sealed += 1,
            Ok(_) => {}
            // One damaged document must not stop the others.
            Err(e) => tracing::warn!(error = %e, "cannot seal a private part to the county key"),
        }
    }
    Ok((next, sealed))
}

/// Follows the feed for the life of the kiosk. Each time the county's current key changes
/// (it arrives, or the county adds a newer one), the whole feed is walked again from the
/// start, so every private part held is sealed to it; then each new private part is.
pub async fn run(state: AppState) {
    let Some(county) = state.config.scope.county() else {
        tracing::warn!(scope = %state.config.scope, "kiosk scope is above a county: phones are not sealed to a county");
        return;
    };
    let county = county.as_str().to_string();
    // The key id the walk in progress seals to ("" before any key).
    let walking: Arc<Mutex<String>> = Arc::default();
    let store = state.store.clone();
    store
        .follow(0, "sealing phones to the county key", move |after| {
            let (state, county, walking) = (state.clone(), county.clone(), walking.clone());
            async move {
                let c = county.clone();
                let key = state.store.call(move |db| current_county_key(db, &c)).await?;
                let key_id = key.as_ref().map(|(id, _)| id.clone()).unwrap_or_default();
                let restart = {
                    let mut w = walking.lock().unwrap_or_else(|p| p.into_inner());
                    let changed = *w != key_id;
                    *w = key_id.clone();
                    changed
                };
                let mut from = if restart { 0 } else { after };
                let mut total = 0;
                loop {
                    let (field, county, key) = (state.key.clone(), county.clone(), key.clone());
                    let (next, n) = state
                        .store
                        .call(move |db| reseal_round(db, &field, &county, key.as_ref(), from))
                        .await?;
                    total += n;
                    // A restarted walk that lands where the last round ended would look like no
                    // progress to `follow`, which would then wait: take the next batch now.
                    if restart && next == after && next != from {
                        from = next;
                        continue;
                    }
                    if total > 0 {
                        tracing::info!(sealed = total, key = %key_id, "sealed phones to the county key");
                    }
                    return Ok(next);
                }
            }
        })
        .await;
}
