//! Taking over a cluster that the real RKE1 built, and giving it back, on nodes 1-3 of tests/env
//! (`tests/env/up.sh`). RKE1 v1.2.23 and its rke-tools stand-in come from `../shared/rke1/`
//! (read its README); where that kit is absent the scenario says it is skipped and counts
//! nothing, never a pass.
//!
//! One scenario in sequence: RKE1 builds a 3-node Kubernetes v1.20 cluster with the kit; a
//! DaemonSet (a pod on every node) and a ConfigMap are created and RKE1 takes a snapshot (its
//! recurring snapshots run too) → `rke up --dry-run` lists exactly the containers the takeover
//! replaces and removes → `rke up` in the same directory, RKE1's files untouched: exit 0, the API
//! answered throughout, the CA and every certificate RKE1 issued, the etcd members, the ConfigMap
//! and the workload's containers kept, RKE1's helpers adopted or removed → a second `rke up`
//! changes nothing → RKE1 `up` on the directory rke left works (rollback) → `rke up` after that
//! still works → RKE1's snapshot (each node's own copy) is listed and restored by rke from the
//! first etcd node's copy, as RKE1 restores, and rke's recurring snapshots run → RKE1's addons
//! (CoreDNS and a user addon, applied by its deploy Jobs) adopted as they are throughout, until a
//! change of CoreDNS's settings moves it to rke's rendering. The last line, `takeover_nodes: N passed, N failed`, is what scripts/test-all.sh
//! counts.

mod common;
use common::{api_watch, cluster, e2e, nodes, scenario};
#[path = "takeover_nodes/rke1.rs"]
mod rke1;
#[path = "takeover_nodes/steps.rs"]
mod steps;
#[path = "takeover_nodes/steps_addons.rs"]
mod steps_addons;
#[path = "takeover_nodes/steps_snapshots.rs"]
mod steps_snapshots;

use cluster::Ctx;
use scenario::OnFailure::{Continue, Stop};

const STEPS: [(&str, scenario::Step<Ctx>, scenario::OnFailure); 9] = [
    (
        "RKE1 v1.2.23 builds a 3-node cluster with CoreDNS and a user addon; a DaemonSet, a ConfigMap, RKE1 snapshots (local, S3)",
        steps::rke1_builds_the_cluster,
        Stop,
    ),
    (
        "rke up --dry-run lists what the takeover replaces and removes",
        steps::dry_run_lists_the_takeover,
        Stop,
    ),
    (
        "rke up takes over: API up throughout, certificates, etcd, data and pods kept",
        steps::rke_takes_over,
        Stop,
    ),
    (
        "a second rke up changes nothing",
        steps::second_up_changes_nothing,
        Continue,
    ),
    (
        "RKE1 up on the directory rke left works (rollback)",
        steps::rke1_takes_it_back,
        Stop,
    ),
    (
        "rke up after the rollback takes over again",
        steps::rke_takes_over_again,
        Continue,
    ),
    (
        "RKE1's snapshot (per-node copies) listed and restored by rke; rke's recurring snapshots run",
        steps_snapshots::rke1_snapshot_restores_with_rke,
        Continue,
    ),
    (
        "RKE1's S3 snapshot listed and restored by rke from S3",
        steps_snapshots::rke1_s3_snapshot_restores_with_rke,
        Continue,
    ),
    (
        "a change of CoreDNS's settings moves it from RKE1's objects to rke's rendering",
        steps_addons::changed_dns_settings_move_coredns_to_rke,
        Continue,
    ),
];

fn main() {
    if let Err(why) = rke1::kit() {
        // Not a pass: scripts/test-all.sh counts the skip and names it.
        println!("takeover_nodes: skipped: {why}");
        println!("takeover_nodes: 0 passed, 0 failed, 1 skipped");
        return;
    }
    // Nodes 1-3 only: the cleanup before and after must not touch nodes other tests use.
    scenario::main("takeover_nodes", 3, true, &STEPS, rke1::cleanup);
}
