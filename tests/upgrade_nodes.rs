//! Rolling upgrades with cordon/drain end to end on all 5 nodes of tests/env
//! (`tests/env/up.sh 5`), a real Kubernetes v1.20.2:
//!
//! a fresh cluster (1,2 etcd+controlplane+worker, 3 etcd+worker, 4,5 worker) with a 2-replica
//! nginx Deployment; an upgrade-shaped change (kubelet and kube-proxy flags, the `kubernetes`
//! image retagged) with `drain: true` and no `node_drain_input`, while a watcher proves at most
//! one worker node is cordoned or NotReady at once and an API server always answers; node4's
//! engine stops once node2 runs the new kubelet, so the run must stop at node4, leaving node5
//! on the old spec and saying so; then node4's engine is back, a re-run with
//! `node_drain_input` finishes the rollout (nothing left cordoned, the Deployment available),
//! and a third run changes nothing; then RKE1's KDM data.json (`RANCHER_METADATA_URL`) with a
//! version rke's table lacks drives `rke up --dry-run` (no changes; one profile flag more: the
//! two kube-apiservers). The nodes are cleaned before and after. The last line,
//! `upgrade_nodes: N passed, N failed`, is what scripts/test-all.sh counts.

mod common;
use common::{api_watch, cluster, e2e, nodes, scenario};
#[path = "upgrade_nodes/steps.rs"]
mod steps;
#[path = "upgrade_nodes/steps_kdm.rs"]
mod steps_kdm;
#[path = "upgrade_nodes/watch.rs"]
mod watch;

use cluster::Ctx;
use scenario::OnFailure::Stop;

const STEPS: [(&str, scenario::Step<Ctx>, scenario::OnFailure); 4] = [
    (
        "fresh 5-node cluster with a 2-replica nginx Deployment",
        steps::fresh_cluster_with_deployment,
        Stop,
    ),
    (
        "an upgrade rolls one worker at a time and stops at node4, whose engine stopped",
        steps::upgrade_stops_at_node4,
        Stop,
    ),
    (
        "with node4 back, a re-run finishes the rollout; a third run changes nothing",
        steps::rerun_finishes_rollout,
        Stop,
    ),
    (
        "KDM's data.json drives the dry run for a version rke's table lacks",
        steps_kdm::kdm_data_drives_dry_run,
        Stop,
    ),
];

fn main() {
    scenario::main("upgrade_nodes", 5, false, &STEPS, nodes::cleanup);
}
