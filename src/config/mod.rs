//! `cluster.yml`: typed RKE1 schema, strict parsing, defaults, semantic validation and the
//! Kubernetes version table.

pub mod locate;
pub mod parse;
pub mod suggest;
mod tolerant;
pub mod types;
pub mod validate;
pub mod versions;

pub use parse::{ConfigError, parse_file, parse_str};
pub use types::*;
