//! The publication pipeline's tables (migration 8), projections of documents kept in the
//! same transaction as every change and rebuilt by `rebuild-projections`:
//!
//! - `publications`: one row per pipeline item of every kind, its stage derived from its steps
//!   (`yizhan_core::publication::derive`): generic items (`pub_item`) and knowledge's solved
//!   cases (whose steps are case events). The review queue reads it, never the documents.
//! - `public_items`: the published documents this node holds, withdrawn ones marked, so every
//!   node hides a withdrawn item the moment the withdrawal arrives.

use automerge::AutoCommit;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use yizhan_core::item::ItemDoc;
use yizhan_core::publication::{self, Pipeline, Rules, Stage, StepKind};
use yizhan_core::published::PublishedDoc;
use yizhan_core::{Actor, CaseDoc, knowledge};

use crate::StoreError;
use crate::db::Db;

/// Rows a pipeline list returns at most.
pub const PUBLICATION_LIST_MAX: u32 = 500;
/// Rows a module's list of its published items returns at most.
pub const MODULE_LIST_MAX: u32 = 10_000;

/// One pipeline item as the `publications` table holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PublicationRow {
    pub doc_id: String,
    /// The type of the document holding the steps (`pub_item`, or `case` for knowledge).
    pub doc_type: String,
    /// The item's kind (`knowledge`, or a registered kind's name).
    pub kind: String,
    pub centre: String,
    /// A `yizhan_core::publication::Stage` code.
    pub stage: String,
    pub title: String,
    /// Who reviewed it (empty before review): the signer must be someone else.
    pub reviewed_by: String,
    /// Who took the last step that applied, and when.
    pub last_actor: String,
    pub last_at_ms: i64,
}

/// An item waiting for someone's step on the publication pipeline.
#[derive(Debug, Clone)]
pub struct ReviewItem {
    pub row: PublicationRow,
    /// The step waiting for the person asking.
    pub step: StepKind,
}

/// A published document this node holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PublicItemRow {
    pub id: String,
    pub item_id: String,
    pub kind: String,
    pub kind_name: String,
    pub centre: String,
    pub title: String,
    pub ip_owner: String,
    pub published_at_ms: i64,
    pub withdrawn: bool,
}

/// The row of a pipeline from its steps (`base` names the item and who and when it was made):
/// the last step that applied names who and when.
fn row_of(base: PublicationRow, steps: &[publication::Step]) -> PublicationRow {
    let p: Pipeline = publication::derive(steps);
    let last = steps
        .iter()
        .filter(|s| !p.ignored.contains(&s.id))
        .max_by(|a, b| (a.at_ms, &a.id).cmp(&(b.at_ms, &b.id)));
    PublicationRow {
        stage: p.stage.code().into(),
        reviewed_by: p.reviewed_by.unwrap_or_default(),
        last_actor: last.map_or(base.last_actor, |s| s.actor.clone()),
        last_at_ms: last.map_or(base.last_at_ms, |s| s.at_ms),
        ..base
    }
}

/// The row of a generic item (every item has one, drafts too).
pub fn item_row(item: &ItemDoc) -> PublicationRow {
    let base = PublicationRow {
        doc_id: item.id.clone(),
        doc_type: yizhan_core::item::DOC_TYPE.into(),
        kind: item.kind.clone(),
        centre: item.centre.clone(),
        stage: String::new(),
        title: item.title.clone(),
        reviewed_by: String::new(),
        last_actor: item.author.clone(),
        last_at_ms: item.created_at_ms,
    };
    row_of(base, &item.pipeline_steps())
}

/// The row of a solved case as a knowledge item, once it has pipeline steps (closed).
pub fn knowledge_row(case: &CaseDoc) -> Option<PublicationRow> {
    let state = case.state();
    let steps = knowledge::publication_steps(case, &state);
    if steps.is_empty() {
        return None;
    }
    let base = PublicationRow {
        doc_id: case.id.clone(),
        doc_type: yizhan_core::case::DOC_TYPE.into(),
        kind: knowledge::DOC_TYPE.into(),
        centre: knowledge::publication_centre(case).into(),
        stage: String::new(),
        title: case.subject.clone(),
        reviewed_by: String::new(),
        last_actor: case.officer.clone(),
        last_at_ms: case.created_at_ms,
    };
    Some(row_of(base, &steps))
}

fn upsert_row(tx: &Connection, r: &PublicationRow) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT OR REPLACE INTO publications (doc_id, doc_type, kind, centre, stage, title, reviewed_by, last_actor,
            last_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        r.doc_id,
        r.doc_type,
        r.kind,
        r.centre,
        r.stage,
        r.title,
        r.reviewed_by,
        r.last_actor,
        r.last_at_ms
    ])?;
    Ok(())
}

/// Projects a case's knowledge pipeline (called by the case projector).
pub(crate) fn project_case(tx: &Connection, case: &CaseDoc) -> Result<(), StoreError> {
    match knowledge_row(case) {
        Some(r) => upsert_row(tx, &r),
        None => {
            tx.execute("DELETE FROM publications WHERE doc_id = ?1", [&case.id])?;
            Ok(())
        }
    }
}

/// Records the blobs a document references (what sync fetches and may serve).
fn project_blobs(
    tx: &Connection,
    id: &str,
    attachments: &std::collections::BTreeMap<String, yizhan_core::item::ItemAttachment>,
) -> Result<(), StoreError> {
    tx.execute("DELETE FROM doc_blobs WHERE doc_id = ?1", [id])?;
    let mut insert = tx.prepare_cached(
        "INSERT OR REPLACE INTO doc_blobs (doc_id, hash, kind, role, mime, bytes) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for a in attachments.values() {
        // A reference that is not a hash names no blob (and must never name a path).
        if crate::blobs::Hash::parse(&a.hash).is_none() {
            continue;
        }
        insert.execute(params![
            id,
            a.hash,
            a.kind,
            a.role,
            a.mime,
            i64::try_from(a.bytes).unwrap_or(i64::MAX)
        ])?;
    }
    Ok(())
}

pub(crate) fn project_item(tx: &Connection, id: &str, doc: &AutoCommit) -> Result<String, StoreError> {
    let item = ItemDoc::from_doc(doc)
        .map_err(|e| StoreError::Corrupt { id: id.to_string(), detail: e.to_string() })?;
    upsert_row(tx, &item_row(&item))?;
    tx.prepare_cached("UPDATE publications SET author = ?2 WHERE doc_id = ?1")?
        .execute(params![id, item.author])?;
    project_blobs(tx, id, &item.attachments)?;
    Ok(item.centre)
}

pub(crate) fn project_published(tx: &Connection, id: &str, doc: &AutoCommit) -> Result<String, StoreError> {
    let p = PublishedDoc::from_doc(doc)
        .map_err(|e| StoreError::Corrupt { id: id.to_string(), detail: e.to_string() })?;
    tx.execute(
        "INSERT OR REPLACE INTO public_items (id, item_id, kind, kind_name, centre, title, ip_owner, published_at_ms,
            withdrawn) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            id,
            p.item_id,
            p.kind,
            p.kind_name,
            p.centre,
            p.title,
            p.ip_owner,
            p.published_at_ms,
            p.is_withdrawn()
        ],
    )?;
    project_blobs(tx, id, &p.attachments)?;
    Ok(knowledge::PUBLIC_SCOPE.to_string())
}

pub(crate) fn clear(tx: &Connection) -> Result<(), StoreError> {
    tx.execute("DELETE FROM publications", [])?;
    tx.execute("DELETE FROM public_items", [])?;
    Ok(())
}

fn publication_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<PublicationRow> {
    Ok(PublicationRow {
        doc_id: r.get(0)?,
        doc_type: r.get(1)?,
        kind: r.get(2)?,
        centre: r.get(3)?,
        stage: r.get(4)?,
        title: r.get(5)?,
        reviewed_by: r.get(6)?,
        last_actor: r.get(7)?,
        last_at_ms: r.get(8)?,
    })
}

fn public_item_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<PublicItemRow> {
    Ok(PublicItemRow {
        id: r.get(0)?,
        item_id: r.get(1)?,
        kind: r.get(2)?,
        kind_name: r.get(3)?,
        centre: r.get(4)?,
        title: r.get(5)?,
        ip_owner: r.get(6)?,
        published_at_ms: r.get(7)?,
        withdrawn: r.get(8)?,
    })
}

const PUBLICATION_COLS: &str =
    "doc_id, doc_type, kind, centre, stage, title, reviewed_by, last_actor, last_at_ms";
const PUBLIC_ITEM_COLS: &str =
    "id, item_id, kind, kind_name, centre, title, ip_owner, published_at_ms, withdrawn";

impl Db {
    /// Items waiting for `actor`'s step (review or sign-off) on the publication pipeline,
    /// oldest first, from the `publications` table (no document is read): each candidate is
    /// checked with its kind's rules (`yizhan_core::publication::waiting_for`), so the queue
    /// never offers a step that `authorize` would refuse. `kinds` gives the rules of the kinds
    /// this node serves (knowledge's are known here); items of other kinds are not listed.
    pub fn waiting_for_review(
        &self,
        actor: &Actor,
        kinds: &[(&str, Rules)],
        limit: u32,
    ) -> Result<Vec<ReviewItem>, StoreError> {
        let rules_of = |kind: &str| {
            if kind == knowledge::DOC_TYPE {
                return Some(knowledge::PUBLICATION_RULES);
            }
            kinds.iter().find(|(k, _)| *k == kind).map(|(_, r)| *r)
        };
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {PUBLICATION_COLS} FROM publications
             WHERE stage IN ('checked', 'reviewed', 'held') AND substr(centre, 1, length(?1)) = ?1
             ORDER BY last_at_ms, doc_id"
        ))?;
        let mut out = Vec::new();
        for row in stmt.query_map([actor.region.as_str()], publication_row)? {
            let row = row?;
            let (Some(rules), Some(stage)) = (rules_of(&row.kind), Stage::parse(&row.stage)) else {
                continue;
            };
            let p = Pipeline {
                stage,
                submitted_by: None,
                reviewed_by: Some(row.reviewed_by.clone()).filter(|r| !r.is_empty()),
                signed_off_by: None,
                published_at_ms: None,
                withdrawn_by: None,
                ignored: Vec::new(),
            };
            if let Some(step) = publication::waiting_for(&rules, &p, &row.centre, actor) {
                out.push(ReviewItem { row, step });
                if out.len() >= limit.clamp(1, PUBLICATION_LIST_MAX) as usize {
                    break;
                }
            }
        }
        Ok(out)
    }

    /// The pipeline rows of a region's centres (the region and below), newest step first.
    pub fn publications(&self, region: &str, limit: u32) -> Result<Vec<PublicationRow>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {PUBLICATION_COLS} FROM publications WHERE substr(centre, 1, length(?1)) = ?1
             ORDER BY last_at_ms DESC, doc_id LIMIT ?2"
        ))?;
        let rows = stmt.query_map(params![region, limit.clamp(1, PUBLICATION_LIST_MAX)], publication_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every pipeline row, by id (for checks against a recount).
    pub fn all_publications(&self) -> Result<Vec<PublicationRow>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("SELECT {PUBLICATION_COLS} FROM publications ORDER BY doc_id"))?;
        let rows = stmt.query_map([], publication_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Published items that are not withdrawn, newest first.
    pub fn public_items(&self, limit: u32) -> Result<Vec<PublicItemRow>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {PUBLIC_ITEM_COLS} FROM public_items p WHERE withdrawn = 0 AND {}
             ORDER BY published_at_ms DESC, id LIMIT ?1",
            crate::takedown::NOT_TAKEN_DOWN
        ))?;
        let rows = stmt.query_map([limit.clamp(1, PUBLICATION_LIST_MAX)], public_item_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The published documents, not withdrawn, of the kinds whose names start with `prefix` (a
    /// module's, `supply.`), newest first, at most `limit` ([`PUBLICATION_LIST_MAX`]); a
    /// document that no longer loads is left out.
    pub fn published_of_kinds(&self, prefix: &str, limit: u32) -> Result<Vec<PublishedDoc>, StoreError> {
        let rows = self.public_items_of_module(prefix, limit.clamp(1, PUBLICATION_LIST_MAX))?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            if let Some(doc) = self.load_doc(&row.id)?
                && let Ok(p) = PublishedDoc::from_doc(&doc)
            {
                out.push(p);
            }
        }
        Ok(out)
    }

    /// Published items not withdrawn whose kind starts with `kind_prefix` (a module's items:
    /// `industry.`), newest first, at most `limit` (clamped to [`MODULE_LIST_MAX`]).
    pub fn public_items_of_module(
        &self,
        kind_prefix: &str,
        limit: u32,
    ) -> Result<Vec<PublicItemRow>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {PUBLIC_ITEM_COLS} FROM public_items p WHERE withdrawn = 0 AND substr(kind, 1, ?1) = ?2 AND {}
             ORDER BY published_at_ms DESC, id LIMIT ?3",
            crate::takedown::NOT_TAKEN_DOWN
        ))?;
        let rows = stmt.query_map(
            rusqlite::params![
                kind_prefix.chars().count() as i64,
                kind_prefix,
                limit.clamp(1, MODULE_LIST_MAX)
            ],
            public_item_row,
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// One published item's row, withdrawn or not.
    pub fn public_item(&self, id: &str) -> Result<Option<PublicItemRow>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("SELECT {PUBLIC_ITEM_COLS} FROM public_items WHERE id = ?1"))?;
        Ok(stmt.query_row([id], public_item_row).optional()?)
    }
}
