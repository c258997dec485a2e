//! The county centre's sealing key: the county hub opens the farmers' phone numbers that its
//! kiosks sealed to it, to phone them back.
//!
//! On its first start a county hub (scope of 6 digits) draws an X25519 secret key into
//! `<data_dir>/keys/county-seal.key` (mode 0600, beside the store, never in it, never logged)
//! and publishes the public key in its county's `seal_key` document, which syncs down to the
//! county's kiosks and nowhere else (docs/PROTOCOL.md). City and province hubs have no such
//! key and never hold private parts.

use std::path::{Path, PathBuf};

use yizhan_core::private::CasePrivate;
use yizhan_core::{CountySecretKey, SealError, SealKeyDoc};
use yizhan_store::{Db, Store, StoreError};

use crate::Hub;

/// Where a county hub keeps its secret sealing key, under its data directory.
pub const KEY_FILE: &str = "keys/county-seal.key";

#[derive(Debug, thiserror::Error)]
pub enum SealingError {
    #[error("county sealing key {path}: {source}")]
    KeyFile { path: PathBuf, source: std::io::Error },
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("the county's seal key document: {0}")]
    Document(String),
    #[error("this hub (scope {0}) is not a county centre: it holds no sealing key")]
    NotCounty(String),
    #[error("the phone is sealed to county key {held}, this hub holds key {own}")]
    OtherKey { held: String, own: String },
    #[error("the sealed phone does not open: {0}")]
    Open(#[from] SealError),
}

pub fn key_path(data_dir: &Path) -> PathBuf {
    data_dir.join(KEY_FILE)
}

/// Reads the county's secret key (never creates it: see [`publish_county_key`]).
pub fn load_key(data_dir: &Path) -> Result<CountySecretKey, SealingError> {
    let path = key_path(data_dir);
    let bytes =
        std::fs::read(&path).map_err(|source| SealingError::KeyFile { path: path.clone(), source })?;
    let bytes = <[u8; yizhan_core::sealed::X25519_LEN]>::try_from(bytes.as_slice()).map_err(|_| {
        SealingError::KeyFile {
            path: path.clone(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, "not a 32-byte key"),
        }
    })?;
    Ok(CountySecretKey::from_bytes(bytes))
}

/// At a county hub's start: loads its secret key, drawing it on the first start, and makes
/// sure the county's `seal_key` document holds its public key (creating the document, or
/// adding the key beside older ones). Returns the key id.
pub async fn publish_county_key(
    store: &Store,
    county: &str,
    data_dir: &Path,
) -> Result<String, SealingError> {
    if !crate::is_county(county) {
        return Err(SealingError::NotCounty(county.to_string()));
    }
    let path = key_path(data_dir);
    let file = path.clone();
    let bytes = tokio::task::spawn_blocking(move || yizhan_store::keys::load_or_create(&file))
        .await
        .unwrap_or_else(|e| Err(std::io::Error::other(e.to_string())))
        .map_err(|source| SealingError::KeyFile { path, source })?;
    let public = CountySecretKey::from_bytes(bytes).public_key();
    let key_id = public.key_id();
    let now_ms = store.config().clock.now_ms();
    let county = county.to_string();
    let added = store
        .call(move |db| {
            let id = SealKeyDoc::id_for(&county);
            if db.doc_type(&id)?.is_none() {
                let Ok(mut doc) = SealKeyDoc::new(&county, &public, now_ms).and_then(|d| d.to_doc()) else {
                    return Ok(Err(format!("{county} is not a known county")));
                };
                db.create_doc(&id, yizhan_core::seal_key::DOC_TYPE, &mut doc)?;
                return Ok(Ok(true));
            }
            db.update_doc(&id, |doc| SealKeyDoc::add_key(doc, &public, now_ms))
        })
        .await?
        .map_err(SealingError::Document)?;
    if added {
        tracing::info!(key = %key_id, "published the county sealing key");
    }
    Ok(key_id)
}

/// Opens the farmer's phone of `case_id` with the county's secret key: `Ok(None)` when this hub
/// holds no private part for the case or the recording kiosk has not sealed it to the county
/// yet (it does once it holds the county's key and syncs).
pub fn open_phone_in(db: &Db, key: &CountySecretKey, case_id: &str) -> Result<Option<String>, SealingError> {
    let Some(doc) = db.load_doc(&CasePrivate::id_for(case_id))? else { return Ok(None) };
    let p = CasePrivate::from_doc(&doc).map_err(SealingError::Document)?;
    if p.farmer_phone_county.is_empty() {
        return Ok(None);
    }
    let own = key.public_key().key_id();
    if p.farmer_phone_county_key != own {
        return Err(SealingError::OtherKey { held: p.farmer_phone_county_key, own });
    }
    Ok(Some(key.open(&p.farmer_phone_county)?))
}

impl Hub {
    /// The county's secret sealing key, read from its file (for opening many phones in one
    /// store call with [`open_phone_in`]). Never log it or what it opens.
    pub fn county_key(&self) -> Result<CountySecretKey, SealingError> {
        if !crate::is_county(&self.config.scope) {
            return Err(SealingError::NotCounty(self.config.scope.clone()));
        }
        load_key(&self.config.data_dir)
    }

    /// The farmer's phone of `case_id`, in clear, for the county centre's follow-up call.
    /// `None` when there is none to open here: not a county hub, no private part, not sealed
    /// to the county yet, or it does not open (logged, without any number). Show it only to
    /// whoever makes the call; never log it.
    pub async fn open_phone(&self, case_id: &str) -> Option<String> {
        match self.try_open_phone(case_id).await {
            Ok(phone) => phone,
            Err(e) => {
                tracing::warn!(case = case_id, error = %e, "cannot open the farmer's phone");
                None
            }
        }
    }

    /// [`Hub::open_phone`] with the reason when it cannot open.
    pub async fn try_open_phone(&self, case_id: &str) -> Result<Option<String>, SealingError> {
        let hub = self.clone();
        let key = tokio::task::spawn_blocking(move || hub.county_key())
            .await
            .map_err(|e| SealingError::Store(StoreError::Task(e.to_string())))??;
        let case_id = case_id.to_string();
        self.store.call(move |db| Ok(open_phone_in(db, &key, &case_id))).await?
    }
}
