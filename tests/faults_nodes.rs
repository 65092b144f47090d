//! Exit codes produced by real faults, end to end on nodes 1-3 of tests/env: a config error (3),
//! an unreachable node (4), a wrong host key (4), a stopped Docker engine (5) and a component
//! that never becomes healthy (6), each from `rke up --output json` as a CI job runs it: the exit
//! code, the message naming the file position or the node, every stdout line a JSON object and
//! the last one the result with the same exit code and error class. Faults found before any
//! change leave the nodes untouched. Last, an etcd change that would restart a member while
//! another is stopped is refused (7) with nothing touched, and goes through once it runs
//! again. Then node3's machine freezes (its container paused) halfway through a run: the run
//! fails within a bound naming it, and converges once it runs again. (Corrupt snapshots, exit
//! 9, are in snapshot_nodes; the declined prompt, exit 10, in tests/cli/remove.rs.)
//!
//! `RKE_E2E_SKIP=1` skips; a missing environment fails. The last line, `faults_nodes: N passed,
//! N failed`, is what scripts/test-all.sh counts.

mod common;
use common::{cluster, e2e, nodes, scenario};
#[path = "faults_nodes/steps.rs"]
mod steps;
#[path = "faults_nodes/steps_etcd.rs"]
mod steps_etcd;
#[path = "faults_nodes/steps_frozen.rs"]
mod steps_frozen;

use cluster::Ctx;
use scenario::OnFailure::Continue;

const STEPS: [(&str, scenario::Step<Ctx>, scenario::OnFailure); 7] = [
    (
        "a misspelled key: exit 3 with file, line and column; no node touched",
        steps::config_error,
        Continue,
    ),
    (
        "an unreachable node: exit 4 naming it; the others untouched",
        steps::unreachable_node,
        Continue,
    ),
    (
        "a node presenting another host key: exit 4 naming it",
        steps::wrong_host_key,
        Continue,
    ),
    (
        "a stopped Docker engine: exit 5 naming the node",
        steps::stopped_engine,
        Continue,
    ),
    (
        "a kubelet that never becomes healthy: exit 6 naming it",
        steps::unhealthy_component,
        Continue,
    ),
    (
        "an etcd member down, a change that would restart another: exit 7 naming it, nothing \
         touched; started again, the change goes through",
        steps_etcd::member_down_refuses_a_roll,
        Continue,
    ),
    (
        "node3 frozen in the middle of a run: reported within a bound naming it; re-run \
         converges",
        steps_frozen::frozen_node_mid_run,
        Continue,
    ),
];

fn main() {
    // Nodes 1-3 only: the cleanup before and after must not touch nodes other tests use.
    scenario::main("faults_nodes", 3, true, &STEPS, |env| {
        // A step that failed half-way may have left node2's engine parked.
        let _ = nodes::start_engine(env, 2);
        steps_frozen::unfreeze(env);
        nodes::cleanup(env);
    });
}
