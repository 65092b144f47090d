//! The kubelet on cri-dockerd, end to end on the real nodes of tests/env (3 nodes): rke-tools'
//! cri-dockerd (the environment's stand-in image, built from `../shared/cri-dockerd`) under the
//! environment's Kubernetes v1.20.2, switched on by a test-only version table (`cri_dockerd_from:
//! "1.20"`, given as `RKE_VERSION_TABLE`; the built-in table keeps RKE1's 1.24).
//!
//! A suite of its own rather than steps of up_nodes: the whole cluster runs another container
//! runtime, so nothing of up_nodes' cluster can be shared, and up_nodes must keep covering the
//! default dockershim path. One scenario in sequence: a fresh cluster with the network plugin,
//! the kubelet really on cri-dockerd, a pod on every node with exec and logs, a re-run that
//! changes nothing, and kubelet and cri-dockerd restarts that keep every pod container.
//!
//! Without `../shared/cri-dockerd` (or `RKE_E2E_CRI_DOCKERD`) the scenario cannot run: it says
//! so and reports itself skipped, never passed. The last line, `cri_dockerd_nodes: N passed, N
//! failed[, N skipped]`, is what scripts/test-all.sh counts.

mod common;
use common::{cluster, nodes, scenario, steps};
#[path = "cri_dockerd_nodes/steps.rs"]
mod cri_steps;

use cluster::Ctx;
use scenario::OnFailure::{Continue, Stop};

const NAME: &str = "cri_dockerd_nodes";

const STEPS: [(&str, scenario::Step<Ctx>, scenario::OnFailure); 7] = [
    (
        "fresh 3-node cluster on cri-dockerd (test version table), network plugin, nodes Ready",
        cri_steps::fresh_cluster_on_cri_dockerd,
        Stop,
    ),
    (
        "every kubelet talks to rke-tools' /opt/rke-tools/bin/cri-dockerd",
        cri_steps::kubelets_use_rke_tools_cri_dockerd,
        Stop,
    ),
    (
        "a pod on every node Running, with a pod IP; kubectl exec and logs",
        cri_steps::pod_on_every_node_exec_and_logs,
        Stop,
    ),
    (
        "re-run without change recreates nothing",
        steps::rerun_changes_nothing,
        Continue,
    ),
    (
        "restarting every kubelet keeps every pod container (same IDs)",
        cri_steps::kubelet_restart_keeps_the_pods,
        Continue,
    ),
    (
        "restarting cri-dockerd keeps every pod container (same IDs)",
        cri_steps::cri_dockerd_restart_keeps_the_pods,
        Continue,
    ),
    (
        "no private keys in containers",
        steps::no_private_keys_in_containers,
        Continue,
    ),
];

fn main() {
    if let Err(why) = cri_steps::prerequisite() {
        scenario::skipped(NAME, &why);
        return;
    }
    scenario::main(NAME, 3, true, &STEPS, nodes::cleanup);
}
