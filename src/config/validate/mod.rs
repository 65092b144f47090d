//! Semantic validation of `cluster.yml`: every problem at once, each with its YAML path.

mod net;
mod problem;
mod syntax;
mod version;

pub use problem::{Problem, Severity, into_result};
