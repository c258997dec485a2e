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
