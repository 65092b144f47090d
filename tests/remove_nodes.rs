//! `rke remove` end to end on nodes 1-3 of tests/env (`tests/env/up.sh`), with a real
//! Kubernetes v1.20.2, plus `rke version` and `rke util get-state-file|get-kubeconfig` on the
//! live cluster.
//!
//! One scenario in sequence: a fresh 3-node cluster with a pod; `rke version`; the state file
//! fetched back from the cluster (through the kubeconfig, then through a node when the
//! kubeconfig points nowhere) and the kubeconfig rebuilt; a volume of our own bind-mounted
//! below /var/lib/kubelet and a local snapshot as sentinels; `rke remove --force`, after which
//! no rke or pod container, no RKE directory content and no mount below /var/lib/kubelet
//! remain, the sentinels' data is untouched, and the local files are gone; then `rke up`
//! builds a fresh working cluster. The nodes are cleaned before and after, pass or fail.
//! `RKE_E2E_SKIP=1` skips; a missing environment fails. The last line, `remove_nodes: N
//! passed, N failed`, is what scripts/test-all.sh counts.

mod common;
use common::{cluster, e2e, nodes, scenario};
#[path = "remove_nodes/steps.rs"]
mod steps;

use cluster::Ctx;
use scenario::OnFailure::{Continue, Stop};

const STEPS: [(&str, scenario::Step<Ctx>, scenario::OnFailure); 6] = [
    (
        "fresh 3-node cluster with a pod on node3",
        steps::fresh_cluster_with_pod,
        Stop,
    ),
    (
        "rke version shows the server's Kubernetes version",
        steps::version_shows_server,
        Continue,
    ),
    (
        "util get-state-file (kubeconfig, then through a node) and get-kubeconfig",
        steps::state_file_and_kubeconfig_from_cluster,
        Stop,
    ),
    (
        "rke remove --force leaves nothing, keeps mounted data and snapshots",
        steps::remove_leaves_nothing,
        Stop,
    ),
    (
        "a second rke remove on clean nodes succeeds",
        steps::remove_again_is_harmless,
        Continue,
    ),
    (
        "rke up afterwards builds a fresh cluster",
        steps::fresh_up_after_remove,
        Stop,
    ),
];

fn main() {
    // Nodes 1-3 only: the cleanup before and after must not touch nodes other tests use.
    scenario::main("remove_nodes", 3, true, &STEPS, |env| {
        nodes::cleanup(env);
        steps::drop_sentinels(env);
    });
}
