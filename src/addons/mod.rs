//! Cluster addons, RKE1's `ConfigureCluster` step: the built-in ones (network plugin, DNS,
//! NodeLocal DNS, metrics-server, ingress) rendered from `templates/`, and the user's
//! (`addons`, `addons_include`). They are applied by rke itself through the API server
//! (server-side apply, no deploy Job), their rollouts awaited, and what each created is
//! remembered so that what is no longer rendered is deleted on the next run.

pub mod adopt;
pub mod apply;
pub mod fetch;
pub mod inventory;
pub mod manifest;
pub mod plan;
pub mod render;
pub mod rollout;
pub mod step;
pub mod user;

use std::path::Path;

use serde_json::Value;

use crate::config::RkeConfig;

pub use plan::{AddonChange, ObjectAction, plan_addons};
pub use step::deploy;

/// RKE1's addon resource names, which key the inventory.
pub mod names {
    pub const NETWORK_ADDON: &str = "rke-network-plugin";
    pub const COREDNS_ADDON: &str = "rke-coredns-addon";
    pub const NODELOCAL_ADDON: &str = "rke-nodelocal-addon";
    pub const METRICS_ADDON: &str = "rke-metrics-addon";
    pub const INGRESS_ADDON: &str = "rke-ingress-controller";
    pub const USER_ADDON: &str = "rke-user-addon";
    pub const USER_INCLUDES_ADDON: &str = "rke-user-includes-addons";
}

/// One addon's rendered objects, in apply order.
#[derive(Debug, Clone, PartialEq)]
pub struct Addon {
    pub name: &'static str,
    /// Built-in addons abort `rke up` when they fail; user addons only warn (as RKE1).
    pub critical: bool,
    pub objects: Vec<Value>,
}

impl Addon {
    pub fn builtin(name: &'static str, objects: Vec<Value>) -> Addon {
        Addon {
            name,
            critical: true,
            objects,
        }
    }

    pub fn user(name: &'static str, objects: Vec<Value>) -> Addon {
        Addon {
            name,
            critical: false,
            objects,
        }
    }
}

/// Every addon the config asks for, in RKE1's order, each present even when empty (so what
/// it created before gets deleted). Includes are read relative to `config_dir`.
pub async fn desired(cfg: &RkeConfig, config_dir: &Path) -> anyhow::Result<Vec<Addon>> {
    let mut addons = render::builtin_addons(cfg)?;
    addons.push(Addon::user(
        names::USER_ADDON,
        user::inline_objects(&cfg.addons)?,
    ));
    let included =
        user::included_objects(&cfg.addons_include, config_dir, fetch::FETCH_TIMEOUT).await?;
    addons.push(Addon::user(names::USER_INCLUDES_ADDON, included));
    Ok(addons)
}

/// RKE1's `addon_job_timeout` default (`k8s.DefaultTimeout`).
pub const DEFAULT_ADDON_TIMEOUT_SECS: u64 = 45;

/// Seconds each addon gets for its CRDs and rollouts: `addon_job_timeout`, 45 when unset.
pub fn addon_timeout(cfg: &RkeConfig) -> std::time::Duration {
    let secs = u64::try_from(cfg.addon_job_timeout)
        .ok()
        .filter(|s| *s > 0)
        .unwrap_or(DEFAULT_ADDON_TIMEOUT_SECS);
    std::time::Duration::from_secs(secs)
}
