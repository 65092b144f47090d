//! `rke status` end to end on nodes 1-3 of tests/env (`tests/env/up.sh`), with a real
//! Kubernetes cluster brought up by `rke up`.
//!
//! One scenario in sequence: a fresh 3-node cluster; `rke status` then shows every component
//! running and matching cluster.yml, 3 healthy etcd members with one leader and certificates
//! valid for about ten years; after a kubelet `extra_args` edit (without `rke up`) it shows the
//! kubelet of every node as differing and nothing else; with kube-proxy stopped on node2 it
//! shows that container stopped; with node3's Docker engine unreachable it still reports
//! the others, lists node3 with its error and exits 5. Text and JSON forms are both checked, and status changes
//! nothing (the state file is untouched). The nodes are cleaned before and after, pass or
//! fail. `RKE_E2E_SKIP=1` skips; a missing environment fails. The last line, `status_nodes:
//! N passed, N failed`, is what scripts/test-all.sh counts.

mod common;
use common::{cluster, nodes, scenario};
#[path = "status_nodes/steps.rs"]
mod steps;

use cluster::Ctx;
use scenario::OnFailure::{Continue, Stop};

const STEPS: [(&str, scenario::Step<Ctx>, scenario::OnFailure); 5] = [
    ("fresh 3-node cluster", steps::fresh_cluster, Stop),
    (
        "status after up: all components match, etcd healthy, certificates ~10 years",
        steps::status_after_up,
        Continue,
    ),
    (
        "a kubelet extra_arg in cluster.yml: only the kubelets differ",
        steps::kubelet_drift,
        Continue,
    ),
    (
        "kube-proxy stopped on node2 shows as stopped",
        steps::stopped_kube_proxy,
        Continue,
    ),
    (
        "node3's engine down: in the report with its error, exit 5",
        steps::engine_down_node_in_report,
        Continue,
    ),
];

fn main() {
    // Nodes 1-3 only: the cleanup before and after must not touch nodes other tests use.
    scenario::main("status_nodes", 3, true, &STEPS, nodes::cleanup);
}
