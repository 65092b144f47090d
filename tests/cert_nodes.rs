//! `rke cert rotate` end to end on nodes 1-3 of tests/env (`tests/env/up.sh`), with a real
//! Kubernetes v1.20.2.
//!
//! One scenario in sequence: a fresh 3-node cluster (node1, node2 etcd+controlplane+worker,
//! node3 etcd+worker) with a Deployment's pod; `rke cert rotate --service kube-apiserver`
//! changes only that certificate (state file and node files) and replaces only the
//! kube-apiserver containers, one control-plane node at a time, while the API answers
//! throughout and then presents the new certificate; `rke cert rotate --rotate-ca` gives every
//! node a new CA, a working kubeconfig, new service-account tokens and pods that still run,
//! and the old CA no longer verifies the API server. The nodes are cleaned before and after,
//! pass or fail. `RKE_E2E_SKIP=1` skips; a missing environment fails. The last line,
//! `cert_nodes: N passed, N failed`, is what scripts/test-all.sh counts.

mod common;
use common::{api_watch, cluster, nodes, scenario};
#[path = "cert_nodes/steps.rs"]
mod steps;

use cluster::Ctx;
use scenario::OnFailure::{Continue, Stop};

const STEPS: [(&str, scenario::Step<Ctx>, scenario::OnFailure); 5] = [
    (
        "fresh 3-node cluster with a Deployment's pod",
        steps::fresh_cluster_with_pod,
        Stop,
    ),
    (
        "cert rotate --service kube-apiserver changes only that certificate and container",
        steps::rotate_apiserver_only,
        Stop,
    ),
    (
        "the API answered throughout and presents the new certificate",
        steps::api_stayed_up_with_new_certificate,
        Continue,
    ),
    (
        "cert rotate --rotate-ca: new CA everywhere, working kubeconfig",
        steps::rotate_ca,
        Stop,
    ),
    (
        "after the CA rotation: new service-account tokens, pods run",
        steps::tokens_renewed_and_pods_run,
        Continue,
    ),
];

fn main() {
    // Nodes 1-3 only: the cleanup before and after must not touch nodes other tests use.
    scenario::main("cert_nodes", 3, true, &STEPS, nodes::cleanup);
}
