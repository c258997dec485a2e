//! Query projections: tables the UI reads, derived from documents and rebuildable from them.
//!
//! Each document type has one projector. A type this build does not know is stored and
//! synced but not projected.

use automerge::AutoCommit;
use rusqlite::{Connection, params};
use yizhan_core::{CaseDoc, Credential, Person};

use crate::StoreError;

/// Projects a document and returns the region it belongs to (its sync scope).
pub(crate) fn project(
    tx: &Connection,
    doc_type: &str,
    id: &str,
    doc: &AutoCommit,
    now_ms: i64,
) -> Result<String, StoreError> {
    match doc_type {
        yizhan_core::case::DOC_TYPE => project_case(tx, id, doc, now_ms),
        yizhan_core::people::DOC_TYPE => project_person(tx, id, doc),
        yizhan_core::people::CREDENTIAL_DOC_TYPE => Ok(Credential::from_doc(doc)
            .map_err(|e| StoreError::Corrupt { id: id.to_string(), detail: e.to_string() })?
            .region_code),
        yizhan_core::knowledge::DOC_TYPE | yizhan_core::revocation::DOC_TYPE => {
            Ok(yizhan_core::knowledge::PUBLIC_SCOPE.to_string())
        }
        yizhan_core::private::DOC_TYPE => project_private(tx, doc),
        yizhan_core::seal_key::DOC_TYPE => Ok(yizhan_core::SealKeyDoc::from_doc(doc)
            .map_err(|detail| StoreError::Corrupt { id: id.to_string(), detail })?
            .county_code),
        _ => Ok(String::new()),
    }
}

/// Public documents (published knowledge) may be held by every node.
pub(crate) fn is_public_type(doc_type: &str) -> bool {
    doc_type == yizhan_core::knowledge::DOC_TYPE || doc_type == yizhan_core::revocation::DOC_TYPE
}

/// The document types this build can validate, and so accept from a peer.
/// Private parts (phone numbers) go no further up than the county hub.
pub(crate) fn is_private_type(doc_type: &str) -> bool {
    doc_type == yizhan_core::private::DOC_TYPE || doc_type == yizhan_core::people::CREDENTIAL_DOC_TYPE
}

fn project_private(tx: &Connection, doc: &AutoCommit) -> Result<String, StoreError> {
    let p = yizhan_core::private::CasePrivate::from_doc(doc)
        .map_err(|detail| StoreError::Corrupt { id: "private".into(), detail })?;
    tx.execute(
        "INSERT OR REPLACE INTO case_private (case_id, phone_masked) VALUES (?1, ?2)",
        params![p.case_id, p.farmer_phone_masked],
    )?;
    tx.execute(
        "UPDATE cases SET phone_masked = ?2 WHERE id = ?1",
        params![p.case_id, p.farmer_phone_masked],
    )?;
    Ok(p.region_code)
}

/// Documents that flow only downwards, to the nodes below their scope: a county's sealing key
/// goes from the county hub to its kiosks, never up, and is accepted only from a parent.
pub(crate) fn is_downward_type(doc_type: &str) -> bool {
    doc_type == yizhan_core::seal_key::DOC_TYPE
}

pub(crate) fn is_known_type(doc_type: &str) -> bool {
    doc_type == yizhan_core::seal_key::DOC_TYPE
        || doc_type == yizhan_core::private::DOC_TYPE
        || doc_type == yizhan_core::people::DOC_TYPE
        || doc_type == yizhan_core::people::CREDENTIAL_DOC_TYPE
        || doc_type == yizhan_core::case::DOC_TYPE
        || doc_type == yizhan_core::knowledge::DOC_TYPE
        || doc_type == yizhan_core::revocation::DOC_TYPE
}

/// Checks a document received from a peer and returns its scope, read from its content
/// (never from what the sender declared).
pub(crate) fn validate(doc_type: &str, doc: &AutoCommit) -> Result<String, String> {
    match doc_type {
        yizhan_core::case::DOC_TYPE => {
            let case = CaseDoc::from_doc(doc).map_err(|e| e.to_string())?;
            yizhan_core::RegionCode::parse(&case.region_code).map_err(|e| e.to_string())?;
            Ok(case.region_code)
        }
        yizhan_core::knowledge::DOC_TYPE => {
            yizhan_core::KnowledgeDoc::from_doc(doc).map_err(|e| e.to_string())?;
            Ok(yizhan_core::knowledge::PUBLIC_SCOPE.to_string())
        }
        yizhan_core::private::DOC_TYPE => Ok(yizhan_core::private::CasePrivate::from_doc(doc)?.region_code),
        yizhan_core::seal_key::DOC_TYPE => Ok(yizhan_core::SealKeyDoc::from_doc(doc)?.county_code),
        yizhan_core::people::DOC_TYPE => Ok(Person::from_doc(doc).map_err(|e| e.to_string())?.region_code),
        yizhan_core::people::CREDENTIAL_DOC_TYPE => {
            Ok(Credential::from_doc(doc).map_err(|e| e.to_string())?.region_code)
        }
        // The signature is checked where the list is applied (against the trust roots).
        yizhan_core::revocation::DOC_TYPE => {
            yizhan_core::revocation::RevocationDoc::from_doc(doc)?;
            Ok(yizhan_core::knowledge::PUBLIC_SCOPE.to_string())
        }
        other => Err(format!("unknown document type {other:?}")),
    }
}

/// The masked phone of a case: from its private part when this node holds it.
fn masked_phone(tx: &Connection, case_id: &str, in_case: &str) -> Result<String, StoreError> {
    use rusqlite::OptionalExtension;
    let private: Option<String> = tx
        .query_row("SELECT phone_masked FROM case_private WHERE case_id = ?1", [case_id], |r| r.get(0))
        .optional()?;
    Ok(private.unwrap_or_else(|| in_case.to_string()))
}

pub(crate) fn clear(tx: &Connection) -> Result<(), StoreError> {
    tx.execute("DELETE FROM case_private", [])?;
    tx.execute("DELETE FROM cases", [])?;
    tx.execute("DELETE FROM doc_blobs", [])?;
    tx.execute("DELETE FROM people", [])?;
    Ok(())
}

fn project_person(tx: &Connection, id: &str, doc: &AutoCommit) -> Result<String, StoreError> {
    let p = Person::from_doc(doc)
        .map_err(|e| StoreError::Corrupt { id: id.to_string(), detail: e.to_string() })?;
    let wrap = |v: &[String]| if v.is_empty() { String::new() } else { format!(" {} ", v.join(" ")) };
    tx.execute(
        "INSERT OR REPLACE INTO people (id, name, role, region_code, industries, specialities, availability, title,
            phone_masked, active, updated_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            p.id,
            p.name,
            p.role,
            p.region_code,
            wrap(&p.industries),
            wrap(&p.specialities),
            p.availability,
            p.title,
            p.phone_masked,
            p.active,
            p.updated_at_ms
        ],
    )?;
    Ok(p.region_code)
}

fn project_case(tx: &Connection, id: &str, doc: &AutoCommit, now_ms: i64) -> Result<String, StoreError> {
    let case = CaseDoc::from_doc(doc)
        .map_err(|e| StoreError::Corrupt { id: id.to_string(), detail: e.to_string() })?;
    let state = case.state();
    let originals =
        |kind: &str| case.attachments.values().filter(|a| a.kind == kind && a.role == "original").count();
    let mut thumbs: Vec<_> =
        case.attachments.values().filter(|a| a.kind == "photo" && a.role == "thumb").collect();
    thumbs.sort_by(|a, b| (a.added_at_ms, &a.hash).cmp(&(b.added_at_ms, &b.hash)));
    let thumb = thumbs.first().map(|a| a.hash.as_str()).unwrap_or("");
    tx.execute(
        "INSERT OR REPLACE INTO cases (id, region_code, village_name, industry, subject, description, farmer_name,
            phone_masked, officer, status, expert, created_at_ms, updated_at_ms, photo_count, video_count, thumb_hash,
            centre, rating, followup_valid, followup_category, travel_cost_fen, breaches, knowledge)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23)",
        params![
            id,
            case.region_code,
            case.village_name,
            case.industry,
            case.subject,
            case.description,
            case.farmer_name,
            masked_phone(tx, id, &case.farmer_phone_masked)?,
            case.officer,
            state.status.code(),
            state.expert.clone().unwrap_or_default(),
            case.created_at_ms,
            state.last_event_at_ms,
            originals("photo") as i64,
            originals("video") as i64,
            thumb,
            state.centre,
            state.rating.unwrap_or(0),
            state.followup_valid.map(i64::from).unwrap_or(-1),
            state.followup_category.clone().unwrap_or_default(),
            state.travel_cost_fen,
            state.breaches.len() as i64,
            state.knowledge.map(i64::from).unwrap_or(-1),
        ],
    )?;
    // When this node first saw each event, on its own clock (an observation, kept across
    // rebuilds): the service clocks start and stop at these times, not at the kiosk's.
    let mut seen = tx.prepare_cached(
        "INSERT OR IGNORE INTO event_seen (case_id, event_id, seen_ms) VALUES (?1, ?2, ?3)",
    )?;
    for e in &case.events {
        seen.execute(params![id, e.id, now_ms])?;
    }
    // The blobs the case references: what sync fetches and may serve (see `Db::missing_blobs`).
    tx.execute("DELETE FROM doc_blobs WHERE doc_id = ?1", [id])?;
    let mut insert = tx.prepare_cached(
        "INSERT OR REPLACE INTO doc_blobs (doc_id, hash, kind, role, mime, bytes) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for a in case.attachments.values() {
        // A reference that is not a hash names no blob (and must never name a path).
        if crate::blobs::Hash::parse(&a.hash).is_none() {
            continue;
        }
        let bytes = i64::try_from(a.bytes).unwrap_or(i64::MAX);
        insert.execute(params![id, a.hash, a.kind, a.role, a.mime, bytes])?;
    }
    Ok(case.region_code)
}
