//! `cluster.rkestate`: RKE1-compatible JSON (`desiredState` / `currentState`), written atomically.

pub mod rke1_json;

pub use rke1_json::{from_rke1_json, to_rke1_json};
