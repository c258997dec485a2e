//! 补贴发放 (subsidies), part of the management centre (管理中心): experts receive a subsidy per
//! valid service, per on-site visit and their recorded travel costs; information officers a
//! monthly subsidy per consultation they recorded that was closed. The province sets the
//! standard; each county centre prepares the month's statement from the figures the store
//! already holds, a city or province centre approves it, and the county's administrators export
//! the payment list. The platform records; it does not pay.
//!
//! This crate is pure: the computation ([`compute`]), the checks and masking of payees' numbers
//! ([`numbers`]) and the page bodies ([`pages`]). The documents and the statement's rules are in
//! `yizhan_core::subsidy` (core's document-type table names them); the hub assembles the rest
//! (`hub::service::subsidies`, `hub::desk::subsidies`).

pub mod compute;
pub mod numbers;
pub mod pages;

pub use compute::{CaseFigures, Payee, compute};
pub use numbers::{NumberError, check_bank_card, check_id_card, mask_bank_card, mask_id_card};
