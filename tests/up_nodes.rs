//! `rke up` end to end on the real nodes of tests/env (4 nodes: `tests/env/up.sh 4`), with a
//! real Kubernetes v1.20.2: the rke binary and kubectl are driven exactly as a user would.
//!
//! One scenario in sequence (steps build on the previous ones; after a failed step that later
//! ones need, the rest is skipped): a fresh 3-node cluster, a pod on the worker-only node,
//! Kubernetes behaviour (pod network, Services, hostPort, logs/exec/port-forward/attach,
//! custom resources, routes following nodes, kube-proxy ipvs mode), an idempotent re-run, a
//! no-op run making no write call, the
//! state file across a run (keys from a newer version kept, `.bak` from before the run), a
//! lost state file recovered (and refused when nothing is recoverable), the cluster lock (a
//! second run refused, a killed holder's lock expiring), Ctrl-C and SIGTERM at three points of
//! a run that replaces every kubelet,
//! adding and removing nodes while the API is watched, runs that fail on one node (before and
//! halfway) and the recovery, and no private keys in any container's configuration. The
//! nodes are cleaned before and after, pass or fail. `RKE_E2E_SKIP=1` skips; a missing environment fails.
//! The last line, `up_nodes: N passed, N failed`, is what scripts/test-all.sh counts.

mod common;
use common::{api_watch, cluster, e2e, nodes, scenario, steps};
#[path = "up_nodes/steps_change.rs"]
mod steps_change;
#[path = "up_nodes/steps_fresh.rs"]
mod steps_fresh;
#[path = "up_nodes/steps_kube.rs"]
mod steps_kube;
#[path = "up_nodes/steps_lock.rs"]
mod steps_lock;
#[path = "up_nodes/steps_lost_state.rs"]
mod steps_lost_state;
#[path = "up_nodes/steps_signals.rs"]
mod steps_signals;
#[path = "up_nodes/steps_state_file.rs"]
mod steps_state_file;
#[path = "up_nodes/steps_writes.rs"]
mod steps_writes;

use cluster::Ctx;
use scenario::OnFailure::{Continue, Stop};

const STEPS: [(&str, scenario::Step<Ctx>, scenario::OnFailure); 24] = [
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
        "pod network across nodes, ClusterIP from pods and nodes, NodePort, hostPort",
        steps_kube::pod_network_and_services,
        Continue,
    ),
    (
        "logs, exec, port-forward and attach on the worker-only node",
        steps_kube::logs_exec_port_forward_attach,
        Continue,
    ),
    (
        "custom resources; kube-apiserver does not restart",
        steps_kube::custom_resources,
        Continue,
    ),
    (
        "no private keys in containers (fresh cluster)",
        steps::no_private_keys_in_containers,
        Continue,
    ),
    (
        "re-run without change recreates nothing",
        steps::rerun_changes_nothing,
        Stop,
    ),
    (
        "a no-op rke up makes no engine and no API write (counted in its JSON result)",
        steps_writes::no_op_up_makes_no_write_call,
        Continue,
    ),
    (
        "state file: keys from a newer version survive up; .bak is the file from before the run",
        steps_state_file::newer_keys_and_backup_survive_up,
        Continue,
    ),
    (
        "state file lost: rke up recovers it, same CA, no container replaced",
        steps_lost_state::lost_state_is_recovered,
        Stop,
    ),
    (
        "state file lost and nothing recoverable: refused, nothing touched",
        steps_lost_state::unrecoverable_state_is_refused,
        Stop,
    ),
    (
        "two rke up at once: the second is refused naming the holder",
        steps_lock::concurrent_up_is_refused,
        Stop,
    ),
    (
        "a holder killed with SIGKILL: its lock expires, the next run proceeds",
        steps_lock::killed_holders_lock_expires,
        Stop,
    ),
    (
        "SIGINT while connecting, SIGTERM while the first kubelet is replaced: 130/143, no lock, nothing half replaced; a re-run converges",
        steps_signals::signals_while_connecting_and_rolling,
        Stop,
    ),
    (
        "SIGINT during the last step of a run back: it finishes, state written, 130; a further run is a no-op",
        steps_signals::signal_during_the_last_step,
        Stop,
    ),
    (
        "add node4 as a worker",
        steps_change::add_worker_node4,
        Stop,
    ),
    (
        "node4 gets routes to the others' pod subnets, they to its",
        steps_kube::routes_follow_nodes,
        Continue,
    ),
    ("remove node3", steps_change::remove_node3, Stop),
    (
        "node3's pod subnet is no longer routed",
        steps_kube::routes_follow_nodes,
        Continue,
    ),
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
        steps::no_private_keys_in_containers,
        Continue,
    ),
    (
        "kube-proxy proxy-mode ipvs through extra_args",
        steps_kube::kube_proxy_ipvs_mode,
        Continue,
    ),
];

fn main() {
    scenario::main("up_nodes", 4, false, &STEPS, nodes::cleanup);
}
