//! 产业信息 (industry information), the first module on the publication pipeline.
//!
//! - [`kinds`]: the two kinds, 宏观产业资讯 (`industry.news`) and 地方特色产业
//!   (`industry.local`), with the four linked databases (产业现状, 龙头企业, 技术依托单位,
//!   发展趋势) as a field of both; their structured fields and automatic checks. A hub
//!   registers [`kinds()`]; the generic pipeline (`yizhan_core::publication`, the hub's
//!   `service::publication`) reviews, signs off and publishes them as public documents.
//! - [`entities`]: entity extraction from a record's text and fields (regions, industries,
//!   crops and species, enterprises and institutions).
//! - [`catalogue`]: the published records a node holds, search across all four databases, and
//!   相关信息 (records sharing entities), computed on demand with a stated bound.
//! - [`xlsx`]: the bulk upload's template and reader (row-by-row Chinese errors).
//! - [`pages`]: the public page bodies the hubs and kiosks wrap in their shell.
//!
//! A crate of its own (DESIGN.md: each module a crate): its rules, extraction and pages in one
//! folder; `hub` and `kiosk` only register its kinds, link its pages under
//! `yizhan_web::Module::IndustryInfo` and route to them.

pub mod catalogue;
pub mod entities;
pub mod kinds;
pub mod pages;
pub mod xlsx;

pub use kinds::{KIND_PREFIX, LOCAL, NEWS, kinds};
