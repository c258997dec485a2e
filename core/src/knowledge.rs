//! Published knowledge (知识库): a solved case's question and answer, without personal data,
//! as one automerge document that syncs down to every kiosk for find-similar.

use automerge::AutoCommit;
use autosurgeon::{Hydrate, Reconcile, hydrate, reconcile};

pub const DOC_TYPE: &str = "knowledge";
pub const SCHEMA_VERSION: u64 = 1;
/// Public documents have this scope: every node may hold them.
pub const PUBLIC_SCOPE: &str = "51";
pub const QUESTION_CHARS_MAX: usize = 4000;
pub const ANSWER_CHARS_MAX: usize = 8000;
/// Photo hashes carried per entry (perceptual hashes of the case's photos).
pub const PHOTO_HASHES_MAX: usize = 64;

/// Knowledge's rules on the publication pipeline (`crate::publication`): the county centre that
/// served the case reviews and signs off in one step, as before the pipeline existed.
pub const PUBLICATION_RULES: crate::publication::Rules = crate::publication::Rules {
    combined_sign_off: true,
    lowest_centre: crate::RegionLevel::County,
    highest_centre: crate::RegionLevel::County,
};

/// The centre a solved case's publication belongs to: its county.
pub fn publication_centre(case: &crate::CaseDoc) -> &str {
    crate::region::ancestor_at(&case.region_code, crate::RegionLevel::County).unwrap_or(&case.region_code)
}

/// A solved case's steps on the publication pipeline, read from its events: submitted when the
/// officer closed it, the automatic checks passed when an expert answered it (failed when none
/// did), then the centre's sign-off (`knowledge_approved`) or refusal (`knowledge_withheld`),
/// the hub's publication (`knowledge_published`, by the system) and a withdrawal
/// (`knowledge_withdrawn`).
/// Events the case itself ignored are left out.
pub fn publication_steps(case: &crate::CaseDoc, state: &crate::CaseState) -> Vec<crate::publication::Step> {
    use crate::EventKind;
    use crate::publication::{Step, StepKind};
    let mut steps = Vec::new();
    let valid = case.ordered_events().into_iter().filter(|e| !state.ignored_events.contains(&e.id));
    for e in valid {
        let step = |id: String, kind| Step { id, at_ms: e.at_ms, actor: e.actor.clone(), kind };
        match e.kind() {
            EventKind::Closed if steps.is_empty() => {
                // Ids that sort right after the closure's, before any later event's.
                steps.push(step(e.id.clone(), StepKind::Submit));
                let checks =
                    if state.expert.is_some() { StepKind::ChecksPassed } else { StepKind::ChecksFailed };
                steps.push(step(format!("{}\u{0}", e.id), checks));
            }
            EventKind::KnowledgeApproved => steps.push(step(e.id.clone(), StepKind::ReviewAndSignOff)),
            EventKind::KnowledgeWithheld => steps.push(step(e.id.clone(), StepKind::Refuse)),
            EventKind::KnowledgePublished => steps.push(step(e.id.clone(), StepKind::Publish)),
            EventKind::KnowledgeWithdrawn => steps.push(step(e.id.clone(), StepKind::Withdraw)),
            _ => {}
        }
    }
    steps
}

/// The publication stage of a solved case (signed off: ready to publish as knowledge).
pub fn publication_stage(case: &crate::CaseDoc, state: &crate::CaseState) -> crate::publication::Stage {
    crate::publication::derive(&publication_steps(case, state)).stage
}

#[derive(Debug, Clone, PartialEq, Eq, Reconcile, Hydrate)]
pub struct KnowledgeDoc {
    pub doc_type: String,
    pub schema: u64,
    pub id: String,
    /// The case it was published from.
    pub case_id: String,
    pub question: String,
    pub answer: String,
    pub industry: String,
    pub crop: String,
    pub region_code: String,
    /// 64-bit perceptual hashes of the photos, as 16 hex digits each.
    pub photo_hashes: Vec<String>,
    pub published_at_ms: i64,
    pub publisher: String,
    /// Who owns the answer's intellectual property (the answering expert, with her title), as
    /// shown with the entry; empty in entries published before sign-off existed.
    #[autosurgeon(missing = "Default::default")]
    pub owner: String,
    /// Who reviewed and signed off the publication.
    #[autosurgeon(missing = "Default::default")]
    pub approved_by: String,
    /// Withdrawal records (grow-only, see `crate::published`): withdrawn once it holds any.
    #[autosurgeon(missing = "Default::default")]
    pub withdrawals: std::collections::BTreeMap<String, crate::published::Withdrawal>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KnowledgeError {
    #[error("{0} is empty")]
    Empty(&'static str),
    #[error("{0} is too long")]
    TooLong(&'static str),
    #[error("document is not knowledge or is damaged: {0}")]
    Document(String),
}

impl KnowledgeDoc {
    /// Taken down (the case's `knowledge_withdrawn` step): kiosks drop it from find-similar.
    pub fn is_withdrawn(&self) -> bool {
        !self.withdrawals.is_empty()
    }

    /// Marks the document withdrawn (a new record under `key`; nothing else changes).
    pub fn withdraw(
        doc: &mut AutoCommit,
        key: &str,
        w: crate::published::Withdrawal,
    ) -> Result<KnowledgeDoc, KnowledgeError> {
        let mut k = KnowledgeDoc::from_doc(doc)?;
        crate::published::add_withdrawal(&mut k.withdrawals, key, w)
            .map_err(|e| KnowledgeError::Document(e.to_string()))?;
        reconcile(doc, &k).map_err(|e| KnowledgeError::Document(e.to_string()))?;
        Ok(k)
    }

    pub fn validate(&self) -> Result<(), KnowledgeError> {
        if self.question.trim().is_empty() {
            return Err(KnowledgeError::Empty("question"));
        }
        if self.answer.trim().is_empty() {
            return Err(KnowledgeError::Empty("answer"));
        }
        if self.question.chars().count() > QUESTION_CHARS_MAX {
            return Err(KnowledgeError::TooLong("question"));
        }
        if self.answer.chars().count() > ANSWER_CHARS_MAX {
            return Err(KnowledgeError::TooLong("answer"));
        }
        if self.photo_hashes.len() > PHOTO_HASHES_MAX {
            return Err(KnowledgeError::TooLong("photo_hashes"));
        }
        if self.withdrawals.len() > crate::published::WITHDRAWALS_MAX
            || self.withdrawals.values().any(|w| w.validate().is_err())
        {
            return Err(KnowledgeError::TooLong("withdrawals"));
        }
        Ok(())
    }

    pub fn to_doc(&self) -> Result<AutoCommit, KnowledgeError> {
        self.validate()?;
        let mut doc = AutoCommit::new();
        reconcile(&mut doc, self).map_err(|e| KnowledgeError::Document(e.to_string()))?;
        Ok(doc)
    }

    pub fn from_doc(doc: &AutoCommit) -> Result<KnowledgeDoc, KnowledgeError> {
        let k: KnowledgeDoc = hydrate(doc).map_err(|e| KnowledgeError::Document(e.to_string()))?;
        if k.doc_type != DOC_TYPE {
            return Err(KnowledgeError::Document(format!("doc_type is {:?}", k.doc_type)));
        }
        k.validate()?;
        Ok(k)
    }
}
