//! 特派员讲堂 view counts (`lecture_views`): one document per node per month, id
//! `views-<node>-<YYYYMM>`, holding a count per published lecture of the views recorded at that
//! node in that month (the store's clock, local time). No personal data: no person, no session,
//! no time finer than the month.
//!
//! One view is one opening of a lecture's page at a kiosk or hub (playing or seeking its files
//! does not count again).
//!
//! Only the node that records the views writes its document, and each count only grows: the
//! writer's newest value is the count, so re-sending, re-syncing or merging the document never
//! adds twice (a hub projects a document by replacing its rows). A kiosk may create and change
//! only its own document, never lowering a count nor removing a lecture
//! ([`kiosk_may_change`]); its scope is the node's region, and it flows up to every parent
//! (`Flow::Regional`).

use std::collections::BTreeMap;

use automerge::AutoCommit;
use autosurgeon::{Hydrate, Reconcile, hydrate, reconcile};
use serde::Serialize;

use crate::region::RegionCode;

pub const DOC_TYPE: &str = "lecture_views";
pub const SCHEMA_VERSION: u64 = 1;
/// Lectures counted in one node's month at most.
pub const LECTURES_MAX: usize = 10_000;
/// A node id or a lecture id at most (characters).
pub const ID_CHARS_MAX: usize = 200;
/// One lecture's count in one node's month at most.
pub const COUNT_MAX: u64 = 1_000_000_000;

#[derive(Debug, Clone, PartialEq, Eq, Reconcile, Hydrate)]
pub struct LectureViewsDoc {
    pub doc_type: String,
    pub schema: u64,
    pub id: String,
    /// The node that recorded the views (its id in its certificate).
    pub node: String,
    /// The node's region: the document's scope.
    pub region_code: String,
    /// `YYYYMM`.
    pub month: u64,
    /// Views by published lecture id.
    pub counts: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ViewsError {
    #[error("bad id {0:?}")]
    Id(String),
    #[error("bad region code {0:?}")]
    Region(String),
    #[error("bad month {0}")]
    Month(u64),
    #[error("too many lectures (at most {LECTURES_MAX})")]
    TooMany,
    #[error("count of {0:?} too large")]
    Count(String),
    #[error("document is not a lecture views document or is damaged: {0}")]
    Document(String),
}

/// Ids are one word: not empty, no space, no control or bidirectional character.
fn plain_id(s: &str) -> bool {
    !s.is_empty()
        && s.chars().count() <= ID_CHARS_MAX
        && s.chars().all(|c| !c.is_whitespace())
        && crate::text::check(s, false).is_ok()
}

impl LectureViewsDoc {
    pub fn id_for(node: &str, month: u32) -> String {
        format!("views-{node}-{month:06}")
    }

    /// A new month's document of `node` in `region` with one view of `lecture`.
    pub fn new(
        node: &str,
        region: &str,
        month: u32,
        lecture: &str,
    ) -> Result<(LectureViewsDoc, AutoCommit), ViewsError> {
        let v = LectureViewsDoc {
            doc_type: DOC_TYPE.into(),
            schema: SCHEMA_VERSION,
            id: Self::id_for(node, month),
            node: node.into(),
            region_code: region.into(),
            month: u64::from(month),
            counts: BTreeMap::from([(lecture.to_string(), 1)]),
        };
        v.validate()?;
        let mut doc = AutoCommit::new();
        reconcile(&mut doc, &v).map_err(|e| ViewsError::Document(e.to_string()))?;
        Ok((v, doc))
    }

    pub fn validate(&self) -> Result<(), ViewsError> {
        if self.doc_type != DOC_TYPE {
            return Err(ViewsError::Document(format!("doc_type {:?}", self.doc_type)));
        }
        if !plain_id(&self.node) {
            return Err(ViewsError::Id(self.node.clone()));
        }
        let m = self.month;
        if !(100..=999_912).contains(&m) || !(1..=12).contains(&(m % 100)) {
            return Err(ViewsError::Month(m));
        }
        if self.id != Self::id_for(&self.node, m as u32) {
            return Err(ViewsError::Id(self.id.clone()));
        }
        RegionCode::parse(&self.region_code).map_err(|_| ViewsError::Region(self.region_code.clone()))?;
        if self.counts.len() > LECTURES_MAX {
            return Err(ViewsError::TooMany);
        }
        for (lecture, n) in &self.counts {
            if !plain_id(lecture) {
                return Err(ViewsError::Id(lecture.clone()));
            }
            if *n > COUNT_MAX {
                return Err(ViewsError::Count(lecture.clone()));
            }
        }
        Ok(())
    }

    pub fn from_doc(doc: &AutoCommit) -> Result<LectureViewsDoc, ViewsError> {
        let v: LectureViewsDoc = hydrate(doc).map_err(|e| ViewsError::Document(e.to_string()))?;
        v.validate()?;
        Ok(v)
    }

    /// Adds one view of `lecture` to the document.
    pub fn add_view(doc: &mut AutoCommit, lecture: &str) -> Result<LectureViewsDoc, ViewsError> {
        let mut v = LectureViewsDoc::from_doc(doc)?;
        let n = v.counts.entry(lecture.to_string()).or_insert(0);
        *n = n.saturating_add(1).min(COUNT_MAX);
        v.validate()?;
        reconcile(doc, &v).map_err(|e| ViewsError::Document(e.to_string()))?;
        Ok(v)
    }
}

/// What a kiosk may do to a views document: only its own (`node` is the kiosk), and, once it
/// exists, keep its node, region and month, and never lower or remove a count.
pub fn kiosk_may_change(kiosk: &str, before: Option<&AutoCommit>, after: &AutoCommit) -> Result<(), String> {
    let after = LectureViewsDoc::from_doc(after).map_err(|e| e.to_string())?;
    if after.node != kiosk {
        return Err(format!("a kiosk may write only its own view counts, not {}'s", after.node));
    }
    let Some(before) = before else { return Ok(()) };
    let before = LectureViewsDoc::from_doc(before).map_err(|e| e.to_string())?;
    if (&before.node, &before.region_code, before.month) != (&after.node, &after.region_code, after.month) {
        return Err("a kiosk may not change a views document's node, region or month".into());
    }
    for (lecture, n) in &before.counts {
        let now = after.counts.get(lecture).copied().unwrap_or(0);
        if now < *n {
            return Err(format!("a kiosk may not lower the view count of {lecture} ({n} to {now})"));
        }
    }
    Ok(())
}

/// Views in one month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MonthViews {
    /// `YYYY-MM`.
    pub month: String,
    pub views: u64,
}

/// Views in one region (the region of the nodes that recorded them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegionViews {
    pub region: String,
    pub name: String,
    pub views: u64,
}

/// Views of one lecture.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LectureCount {
    pub lecture: String,
    /// The lecture's title where this node holds it (empty when not).
    pub title: String,
    pub views: u64,
}

/// The lecture views of a region and period, as the statistics show them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ViewStats {
    pub total: u64,
    pub by_month: Vec<MonthViews>,
    pub by_region: Vec<RegionViews>,
    /// Most viewed first.
    pub by_lecture: Vec<LectureCount>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_grow_and_only_the_owner_writes() {
        let (_, mut doc) = LectureViewsDoc::new("kiosk-a", "510131001001", 202612, "lec-1").unwrap();
        let before = doc.clone();
        LectureViewsDoc::add_view(&mut doc, "lec-1").unwrap();
        let v = LectureViewsDoc::add_view(&mut doc, "lec-2").unwrap();
        assert_eq!(v.counts, BTreeMap::from([("lec-1".into(), 2), ("lec-2".into(), 1)]));
        assert_eq!(v.id, "views-kiosk-a-202612");
        kiosk_may_change("kiosk-a", Some(&before), &doc).unwrap();
        assert!(kiosk_may_change("kiosk-b", Some(&before), &doc).is_err());
        assert!(kiosk_may_change("kiosk-a", Some(&doc), &before).is_err(), "lowered");
    }

    #[test]
    fn bad_documents_are_refused() {
        assert!(LectureViewsDoc::new("kiosk a", "510131001001", 202612, "l").is_err());
        assert!(LectureViewsDoc::new("k", "4101x", 202612, "l").is_err());
        assert!(LectureViewsDoc::new("k", "510131001001", 202613, "l").is_err());
        assert!(LectureViewsDoc::from_doc(&AutoCommit::new()).is_err());
    }
}
