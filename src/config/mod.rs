//! `cluster.yml`: typed RKE1 schema, strict parsing, defaults, semantic validation and the
//! Kubernetes version table.

pub mod types;

pub use types::*;
