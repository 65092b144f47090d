//! etcd snapshots end to end on the real nodes of tests/env (5 nodes: `tests/env/up.sh 5`) with
//! a real Kubernetes v1.20.2, the rke binary and kubectl driven as a user would, and a local S3
//! server (moto, tests/env/s3/moto.sh):
//!
//! save + restore (a ConfigMap created before the snapshot is back, one created after is gone,
//! etcd and nodes healthy, a pod schedules; the API's downtime is measured); a corrupt copy on
//! one node refused before anything stops; the same through S3 with every local copy deleted;
//! recurring snapshots with a short interval, pruned by retention; and a disaster-recovery
//! restore onto two other nodes with different addresses, from S3, with no local state; a
//! restore killed with SIGKILL mid-members, then finished by running it again (and `rke up`
//! refused meanwhile), and another one undone with `--rollback`. Then
//! the save and restore once more on a fresh cluster running etcd 3.5 (`etcdutl` restores).
//!
//! One scenario in sequence, like tests/up_nodes.rs (with the helpers in tests/common/); the last line,
//! `snapshot_nodes: N passed, N failed`, is what scripts/test-all.sh counts.

mod common;
use common::{api_watch, cluster, nodes, s3_servers, scenario};
#[path = "snapshot_nodes/steps_dr.rs"]
mod steps_dr;
#[path = "snapshot_nodes/steps_etcd35.rs"]
mod steps_etcd35;
#[path = "snapshot_nodes/steps_restore.rs"]
mod steps_restore;
#[path = "snapshot_nodes/steps_undo.rs"]
mod steps_undo;
#[path = "snapshot_nodes/support.rs"]
mod support;

use cluster::Ctx;
// Every step builds on the cluster the previous ones left.
use scenario::OnFailure::Stop;

const STEPS: [(&str, scenario::Step<Ctx>, scenario::OnFailure); 10] = [
    (
        "fresh 3-node cluster with recurring snapshots every 10s",
        steps_restore::fresh_cluster,
        Stop,
    ),
    (
        "snapshot-save, changes, snapshot-restore: the changes are undone",
        steps_restore::save_and_restore,
        Stop,
    ),
    (
        "a corrupt copy on one node: restore refuses before stopping anything",
        steps_restore::corrupt_copy_refused,
        Stop,
    ),
    (
        "restore killed with SIGKILL mid-members: rke up refuses, the rerun finishes it",
        steps_undo::killed_restore_is_finished,
        Stop,
    ),
    (
        "restore killed with SIGKILL mid-members: --rollback puts the previous data back",
        steps_undo::killed_restore_is_rolled_back,
        Stop,
    ),
    (
        "through S3: save uploads, local copies deleted, restore downloads",
        steps_restore::through_s3,
        Stop,
    ),
    (
        "recurring snapshots appear on every etcd node and are pruned",
        steps_restore::recurring_snapshots,
        Stop,
    ),
    (
        "restore onto two new nodes with other addresses, from S3, without local state",
        steps_dr::restore_onto_new_nodes,
        // The etcd 3.5 pass starts from clean nodes: it does not need the steps above.
        scenario::OnFailure::Continue,
    ),
    (
        "etcd 3.5: fresh 3-node cluster on the etcd 3.5 image, recurring snapshots",
        steps_etcd35::fresh_cluster,
        Stop,
    ),
    (
        "etcd 3.5: snapshot-save, changes, snapshot-restore with etcdutl",
        steps_etcd35::save_and_restore,
        Stop,
    ),
];

fn main() {
    scenario::main(
        "snapshot_nodes",
        5,
        false,
        &STEPS,
        nodes::cleanup_with_snapshots,
    );
}
