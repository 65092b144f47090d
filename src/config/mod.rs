//! `cluster.yml`: typed RKE1 schema, strict parsing, defaults, semantic validation and the
//! Kubernetes version table.

pub mod defaults;
pub mod duration;
#[cfg(test)]
mod fixture_tests;
pub mod load;
pub mod locate;
pub mod parse;
pub mod path;
pub mod suggest;
mod tolerant;
pub mod types;
pub mod validate;
pub mod versions;

pub use defaults::{apply_defaults, parse_k8s_version};
pub use parse::{ConfigError, parse_file, parse_str};
pub use types::*;
