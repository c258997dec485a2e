//! Query projections: tables the UI reads, derived from documents and rebuildable from them.
//!
//! Each document type names its projector in core's table (`yizhan_core::doctype`); the
//! dispatch here reads that table. A type this build does not know is stored but not projected.

use automerge::AutoCommit;
use rusqlite::{Connection, params};
use yizhan_core::doctype::{self, Flow, Projection, ScopeRule};
use yizhan_core::{CaseDoc, Person};

use crate::StoreError;

/// Projects a document and returns the region it belongs to (its sync scope), dispatching on
/// the document-type table (`yizhan_core::doctype`).
pub(crate) fn project(
    tx: &Connection,
    doc_type: &str,
    id: &str,
    doc: &AutoCommit,
    now_ms: i64,
    rollups: bool,
) -> Result<String, StoreError> {
    let Some(t) = doctype::lookup(doc_type) else { return Ok(String::new()) };
    match t.projection {
        Projection::Case => project_case(tx, id, doc, now_ms, rollups),
        Projection::Person => project_person(tx, id, doc),
        Projection::CasePrivate => project_private(tx, doc),
        Projection::PublicationItem => crate::publication::project_item(tx, id, doc),
        Projection::Published => crate::publication::project_published(tx, id, doc),
        Projection::BountyClaim => crate::claims::project_claim(tx, id, doc),
        Projection::LectureViews => crate::lectures::project_views(tx, id, doc),
        Projection::None => match t.scope {
            ScopeRule::Public => Ok(yizhan_core::knowledge::PUBLIC_SCOPE.to_string()),
            ScopeRule::Field(_) => {
                (t.validate)(doc).map_err(|detail| StoreError::Corrupt { id: id.to_string(), detail })
            }
        },
    }
}

/// The document types this build can validate, and so accept from a peer.
pub(crate) fn is_known_type(doc_type: &str) -> bool {
    doctype::lookup(doc_type).is_some()
}

/// How documents of `doc_type` flow; a type this build does not know (stored locally only)
/// is treated as regional.
/// Whether a document may go up to the parent now (core's table).
pub(crate) fn ready_to_send_up(doc_type: &str, doc: &AutoCommit) -> bool {
    doctype::lookup(doc_type).is_none_or(|t| (t.ready_to_send_up)(doc))
}

pub(crate) fn flow(doc_type: &str) -> Flow {
    doctype::lookup(doc_type).map_or(Flow::Regional, |t| t.flow)
}

/// The SQL list of the public types (their documents, and the blobs they reference, go to
/// every node), from the table.
pub(crate) fn public_types_sql() -> String {
    let names: Vec<String> = doctype::DOC_TYPES
        .iter()
        .filter(|t| t.flow == Flow::Public)
        .map(|t| format!("'{}'", t.name))
        .collect();
    format!("({})", names.join(", "))
}

/// The SQL list of the types not counted as "未同步", from the table.
pub(crate) fn not_counted_types_sql() -> String {
    let names: Vec<String> =
        doctype::DOC_TYPES.iter().filter(|t| !t.counts_unsynced).map(|t| format!("'{}'", t.name)).collect();
    format!("({})", names.join(", "))
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

/// Checks a document received from a peer and returns its scope, read from its content
/// (never from what the sender declared), with the type's validation hook.
pub(crate) fn validate(doc_type: &str, doc: &AutoCommit) -> Result<String, String> {
    match doctype::lookup(doc_type) {
        Some(t) => (t.validate)(doc),
        None => Err(format!("unknown document type {doc_type:?}")),
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
    crate::stats::clear(tx)?;
    crate::publication::clear(tx)?;
    crate::claims::clear(tx)?;
    tx.execute("DELETE FROM lecture_views", [])?;
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
    tx.execute(
        "INSERT INTO people_since (id, since_ms) VALUES (?1, ?2)
         ON CONFLICT(id) DO UPDATE SET since_ms = MIN(since_ms, excluded.since_ms)",
        params![p.id, p.updated_at_ms],
    )?;
    Ok(p.region_code)
}

fn project_case(
    tx: &Connection,
    id: &str,
    doc: &AutoCommit,
    now_ms: i64,
    rollups: bool,
) -> Result<String, StoreError> {
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
    // The statistics rollups follow the case in the same transaction.
    if rollups {
        crate::stats::update_case(tx, id, &case, &state)?;
    }
    // Its knowledge pipeline (the `publications` row), once closed.
    crate::publication::project_case(tx, &case)?;
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
