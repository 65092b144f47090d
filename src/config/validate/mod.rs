//! Semantic validation of `cluster.yml`: every problem at once, each with its YAML path.
//!
//! Runs on the config after defaults were applied (so `hostname_override`, ranges and providers
//! are filled) and reports paths as the user wrote them; [`fill_positions`] then
//! adds line and column from the source text. Errors follow RKE1's `cluster/validation.go`
//! where RKE1 checks; beyond that, errors are reserved for settings that cannot work (the
//! cluster would fail later, half built) and warnings for settings that are merely suspect, so
//! an RKE1 user's working `cluster.yml` keeps working.

mod access;
mod addons;
mod inert;
mod kubernetes;
mod net;
mod network;
mod nodes;
mod operations;
mod problem;
mod report;
mod security;
mod suggest;
mod syntax;
mod version;

pub use problem::{Problem, Severity, fill_positions};

use crate::config::RkeConfig;

/// Facts from the Kubernetes version table, passed in so validation stays independent of it.
#[derive(Debug, Clone, Copy, Default)]
pub struct ValidationContext<'a> {
    /// Exact `kubernetes_version` strings this rke supports.
    pub supported_versions: &'a [&'a str],
    /// `system_images` YAML keys this config needs non-empty (for its version and providers).
    pub required_images: &'a [&'a str],
    /// The first `(major, minor)` the version table runs on cri-dockerd (RKE1: 1.24).
    pub cri_dockerd_from: (u32, u32),
}

/// Every problem in `cfg`, errors and warnings, in a stable order.
pub fn validate(cfg: &RkeConfig, ctx: &ValidationContext) -> Vec<Problem> {
    let mut r = report::Report::default();
    let version = kubernetes::check(cfg, ctx, &mut r);
    nodes::check(cfg, &mut r);
    network::check(cfg, version, &mut r);
    addons::check(cfg, &mut r);
    security::check(cfg, version, &mut r);
    access::check(cfg, version, &mut r);
    operations::check(cfg, &mut r);
    inert::check(cfg, &mut r);
    r.problems
}

#[cfg(test)]
mod tests;
