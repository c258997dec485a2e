//! A case's private part: the farmer's phone number (and any ID or bank number added later),
//! sealed with the recording kiosk's field key. It is a document of its own so that it can stop
//! where it is needed: it syncs between the kiosk and its county hub (which phones the farmer
//! back) and never further up. Lists and exports show only the masked number.

use automerge::AutoCommit;
use autosurgeon::{Hydrate, Reconcile, hydrate, reconcile};

use crate::case::NewCase;

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
}

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
        })
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
        Ok(p)
    }
}
