//! `rke up` end to end on the real nodes of tests/env (4 nodes: `tests/env/up.sh 4`), with a
//! real Kubernetes v1.20.2: the rke binary and kubectl are driven exactly as a user would.
//!
//! One scenario in sequence (steps build on the previous ones; after a failed step that later
//! ones need, the rest is skipped): a fresh 3-node cluster, a pod on the worker-only node, an idempotent re-run,
//! adding and removing nodes while the API is watched, runs that fail on one node (before and
//! halfway) and the recovery, and no private keys in any container's configuration. The
//! nodes are cleaned before and after, pass or fail. `RKE_E2E_SKIP=1` skips; a missing environment fails.
//! The last line, `up_nodes: N passed, N failed`, is what scripts/test-all.sh counts.

#[path = "up_nodes/api_watch.rs"]
mod api_watch;
#[path = "up_nodes/cluster.rs"]
mod cluster;
#[path = "common/e2e.rs"]
mod e2e;
#[path = "up_nodes/nodes.rs"]
mod nodes;
#[path = "up_nodes/scenario.rs"]
mod scenario;
#[path = "up_nodes/steps_change.rs"]
mod steps_change;
#[path = "up_nodes/steps_fresh.rs"]
mod steps_fresh;

use cluster::Ctx;
use scenario::OnFailure::{Continue, Stop};

const STEPS: [(&str, scenario::Step<Ctx>, scenario::OnFailure); 10] = [
    (
        "fresh 3-node cluster: nodes Ready, etcd healthy",
        steps_fresh::fresh_three_node_cluster,
        Stop,
    ),
    (
        "a pod on the worker-only node, kubectl exec",
        steps_fresh::pod_on_worker_only_node,
        Stop,
    ),
    (
        "no private keys in containers (fresh cluster)",
        steps_fresh::no_private_keys_in_containers,
        Continue,
    ),
    (
        "re-run without change recreates nothing",
        steps_fresh::rerun_changes_nothing,
        Stop,
    ),
    (
        "add node4 as a worker",
        steps_change::add_worker_node4,
        Stop,
    ),
    ("remove node3", steps_change::remove_node3, Stop),
    (
        "the API answered throughout adding node4 and removing node3",
        steps_change::api_answered_throughout,
        Continue,
    ),
    (
        "node2's engine down before a run: fails, changes nothing",
        steps_change::engine_down_before_the_run,
        Stop,
    ),
    (
        "node2's engine stops halfway through a run, then recovery",
        steps_change::engine_stops_halfway_then_recovery,
        Stop,
    ),
    (
        "no private keys in containers (after all changes)",
        steps_fresh::no_private_keys_in_containers,
        Continue,
    ),
];

fn main() {
    scenario::main("up_nodes", 4, false, &STEPS, nodes::cleanup);
}
