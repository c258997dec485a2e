//! Revocation lists as public documents: one per issuing CA, carrying the CA's signed list
//! (produced and verified by `yizhan-identity`; this crate only carries the bytes). They sync
//! down to every node, which applies the highest version to its TLS verifiers.

use automerge::AutoCommit;
use autosurgeon::{Hydrate, Reconcile, hydrate, reconcile};

pub const DOC_TYPE: &str = "revocation";
/// A signed list of a few thousand entries stays well under this.
pub const LIST_BYTES_MAX: usize = 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Reconcile, Hydrate)]
pub struct RevocationDoc {
    pub doc_type: String,
    pub id: String,
    /// Node id of the issuing CA (the province or a hub).
    pub issuer: String,
    pub version: u64,
    /// The signed list, base64.
    pub list_b64: String,
}

impl RevocationDoc {
    pub fn id_for(issuer: &str) -> String {
        format!("rev-{issuer}")
    }

    pub fn to_doc(&self) -> Result<AutoCommit, String> {
        self.validate()?;
        let mut doc = AutoCommit::new();
        reconcile(&mut doc, self).map_err(|e| e.to_string())?;
        Ok(doc)
    }

    pub fn from_doc(doc: &AutoCommit) -> Result<RevocationDoc, String> {
        let r: RevocationDoc = hydrate(doc).map_err(|e| e.to_string())?;
        if r.doc_type != DOC_TYPE {
            return Err(format!("doc_type is {:?}", r.doc_type));
        }
        r.validate()?;
        Ok(r)
    }

    fn validate(&self) -> Result<(), String> {
        if self.list_b64.len() > LIST_BYTES_MAX * 4 / 3 + 4 {
            return Err("revocation list too large".into());
        }
        Ok(())
    }

    /// Replaces the carried list (the issuer's newer version) in an existing document.
    pub fn update(doc: &mut AutoCommit, version: u64, list_b64: String) -> Result<(), String> {
        let mut r = RevocationDoc::from_doc(doc)?;
        r.version = version;
        r.list_b64 = list_b64;
        r.validate()?;
        reconcile(doc, &r).map_err(|e| e.to_string())
    }
}
