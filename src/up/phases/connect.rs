//! Phase `connect`, before [`super::plan`]: the nodes of the config are connected by the
//! command (it holds the lock over them); this phase checks that the cluster is one rke can
//! work on (no unfinished snapshot restore, a state file or one recovered from the nodes) and
//! reaches the nodes that leave the cluster. It only reads, so a dry run runs it too.

use crate::cli::nodes::{self, ConnectArgs};
use crate::cluster::desired::DesiredCluster;
use crate::transport::NodeConnection;
use crate::up::Departed;
use crate::up::recover::{self, RecoverOptions};

/// Refuse a cluster with an unfinished snapshot restore, and take the cluster's state from the
/// nodes when the state file lost it.
pub async fn known_cluster(
    desired: DesiredCluster,
    conns: &[NodeConnection],
    opts: &RecoverOptions<'_>,
) -> anyhow::Result<DesiredCluster> {
    crate::snapshot::restore::refuse_unfinished(&desired.cfg, conns, opts.limit).await?;
    recover::ensure_known(desired, conns, opts).await
}

/// Connect to the nodes the last applied config had and this one has not. An unreachable
/// departed node is only a warning: its Kubernetes and etcd side can still be cleaned.
pub async fn departed(desired: &DesiredCluster, args: &ConnectArgs) -> Vec<Departed> {
    let Some(applied) = desired.applied_config() else {
        return Vec::new();
    };
    let gone: Vec<_> = crate::up::departed_nodes(&applied.nodes, &desired.cfg.nodes)
        .into_iter()
        .cloned()
        .collect();
    if gone.is_empty() {
        return Vec::new();
    }
    let mut cfg = applied.clone();
    cfg.nodes = gone.clone();
    let mut args = args.clone();
    // Their Docker version no longer matters: they are only cleaned.
    args.ignore_docker_version = true;
    let mut connected = nodes::connect(&cfg, &args).await;
    for e in &connected.errors {
        tracing::warn!("departing node {}: {e}", e.node());
    }
    gone.into_iter()
        .map(|node| {
            let conn = connected
                .nodes
                .iter()
                .position(|c| c.name() == node.hostname_override)
                .map(|i| connected.nodes.swap_remove(i));
            Departed { cfg: node, conn }
        })
        .collect()
}
