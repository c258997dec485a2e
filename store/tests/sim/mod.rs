//! A deterministic simulation of Yizhan's document sync over real stores (see
//! `tests/simulation.rs`).

pub mod blobs;
pub mod net;
pub mod node;
pub mod world;
