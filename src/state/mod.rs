//! `cluster.rkestate`: RKE1-compatible JSON (`desiredState` / `currentState`), written atomically.
//!
//! - [`rke1_json`]: the naming codec between our config types (serde names = `cluster.yml` keys)
//!   and the JSON names RKE1 uses in the state file.
//! - [`model`]: [`FullState`] / [`ClusterState`] and their JSON encoding.
//! - [`file`]: [`load`] / [`save`] (atomic, 0600, `.bak`).
//! - [`go_json`]: JSON text formatted the way Go's `encoding/json` writes it.
//! - [`unknown`]: keys a newer version wrote, kept from load to save.

pub mod file;
pub mod go_json;
pub mod model;
pub mod rke1_json;
pub mod unknown;

#[cfg(test)]
mod fixture_tests;

pub use file::{backup_path, decode, load, save};
pub use model::{ClusterState, FullState, Loaded};
pub use rke1_json::{from_rke1_json, to_rke1_json};
