//! Yizhan's domain core: the document model, reference data and pure rules.
//!
//! Architecture invariant: nothing in this crate performs I/O, reads a clock or draws
//! randomness. Times (`at_ms`, milliseconds since the Unix epoch), identifiers and nonces
//! are passed in by the caller, so every rule here is deterministic and testable.

pub mod access;
pub mod case;
pub mod claim;
pub mod clock;
pub mod doctype;
pub mod evaluation;
pub mod holidays;
pub mod industry;
pub mod item;
pub mod knowledge;
pub mod lecture_views;
pub mod people;
pub mod private;
pub mod publication;
pub mod published;
pub mod ranking;
pub mod region;
pub mod revocation;
pub mod seal_key;
pub mod sealed;
pub mod sensitive;
pub mod showcase;
pub mod stats;
pub mod subsidy;
pub mod takedown;
pub mod targets;
pub mod text;
pub mod untrusted;

pub use access::{Action, Actor, CentreAction, Denied, authorize, authorize_centre};
pub use case::{
    Attachment, CaseDoc, CaseError, CaseState, ClockMarks, Event, EventKind, NewCase, Status,
    UNSIGNED_OFFICER,
};
pub use industry::Industry;
pub use knowledge::KnowledgeDoc;
pub use people::{Availability, Credential, NewPerson, Person, PersonError, Role};
pub use region::{Region, RegionCode, RegionError, RegionLevel, regions};
pub use seal_key::SealKeyDoc;
pub use sealed::{CountyPublicKey, CountySecretKey, FieldKey, SealError, mask_phone};
