//! `cluster.yml`: typed RKE1 schema, strict parsing, defaults, semantic validation and the
//! Kubernetes version table.

pub mod locate;
pub mod types;
pub mod validate;
pub mod versions;

pub use types::*;
