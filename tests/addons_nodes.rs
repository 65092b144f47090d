//! Addons end to end on nodes 1-3 of tests/env (`tests/env/up.sh`): the user addons and the
//! machinery every addon shares (server-side apply, rollout waits, the inventory and deletion
//! of what is no longer in the config), and the built-in ones: every manifest rke renders is
//! accepted by the API server (`dryRun=All`, per network plugin and shape option; their real
//! images cannot be pulled here), and CoreDNS runs for real with stand-in images.
//!
//! One scenario in sequence: `addons:` (a ConfigMap and a Deployment of the registry's nginx)
//! plus `addons_include:` (a local file with another ConfigMap) → `rke up` → the objects exist
//! and the Deployment is available; changed data and replicas → re-run → changed in the
//! cluster; only the inline ConfigMap's data changed → `--dry-run` (text and JSON) names that
//! one object and exits 2, `rke up` changes only it (resourceVersions), the next dry run exits
//! 0; the same for one node label added in cluster.yml; addons removed from the config →
//! re-run → gone from the cluster and the inventory; a Deployment whose image does not exist → `rke up` names it within
//! `addon_job_timeout` (a warning: user addons do not fail the run, as in RKE1). The nodes are
//! cleaned before and after, pass or fail. `RKE_E2E_SKIP=1` skips; a missing environment
//! fails. The last line, `addons_nodes: N passed, N failed`, is what scripts/test-all.sh
//! counts.

mod common;
use common::{cluster, nodes, scenario};
#[path = "addons_nodes/steps.rs"]
mod steps;
#[path = "addons_nodes/steps_builtin.rs"]
mod steps_builtin;
#[path = "addons_nodes/steps_plan.rs"]
mod steps_plan;

use cluster::Ctx;
use scenario::OnFailure::{Continue, Stop};

const STEPS: [(&str, scenario::Step<Ctx>, scenario::OnFailure); 9] = [
    (
        "inline and included user addons are applied and rolled out",
        steps::addons_applied,
        Stop,
    ),
    (
        "changed ConfigMap data and replicas reach the cluster",
        steps::addons_changed,
        Stop,
    ),
    (
        "only a ConfigMap's data changed: the dry run names it, `up` changes exactly it",
        steps_plan::addon_data_change_planned_then_applied,
        Continue,
    ),
    (
        "only a node label changed: the dry run names node and label, `up` applies it",
        steps_plan::node_label_change_planned_then_applied,
        Continue,
    ),
    (
        "addons removed from the config are deleted from the cluster and the inventory",
        steps::addons_removed,
        Continue,
    ),
    (
        "a Deployment that never becomes available is reported by name in time",
        steps::broken_addon_reported,
        Continue,
    ),
    (
        "every built-in addon manifest is accepted by the API server (server-side apply, dry run)",
        steps_builtin::builtin_manifests_accepted,
        Continue,
    ),
    (
        "CoreDNS (stand-in images) is applied and becomes available",
        steps_builtin::coredns_applied_and_available,
        Continue,
    ),
    (
        "a built-in addon that cannot roll out fails the run, naming addon, object, reason",
        steps_builtin::broken_builtin_addon_fails_the_run,
        Continue,
    ),
];

fn main() {
    // Nodes 1-3 only: the cleanup before and after must not touch nodes other tests use.
    scenario::main("addons_nodes", 3, true, &STEPS, nodes::cleanup);
}
