//! The order of `rke up` once the nodes are connected (RKE1's `ClusterUp`), as the list of its
//! phases ([`super::phases`]): a dry run asks each phase what it would change, a real run has
//! each make its changes. `currentState` is only advanced when everything succeeded, so a
//! failed run is simply run again.

use std::time::Duration;

use super::Departed;
use super::change::Change;
use super::phases::{
    self, Run, addons, control_plane, departed, etcd, membership, node_metadata, prepare_nodes,
    state, workers,
};
use super::render::DryRunPlan;
use crate::cluster::desired::DesiredCluster;
use crate::interrupt::Steps;
use crate::kube_api::KubeClient;
use crate::transport::NodeConnection;

/// The steps of `rke up` that change nodes, in order: a SIGINT or SIGTERM stops the run
/// between two of them (or between two nodes of a rolling one) and names them.
pub const STEPS: Steps = Steps {
    names: &[
        "images and files",
        "etcd plane",
        "control plane",
        "API access",
        "worker plane",
        "departed nodes and Node metadata",
        "addons and state",
    ],
};

/// How `rke up` runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Report what would change and change nothing.
    pub dry_run: bool,
    /// RKE1's `--update-only`: leave existing etcd and control-plane containers alone and only
    /// bring up worker components on nodes new to the cluster.
    pub update_only: bool,
    /// Nodes worked on at once.
    pub limit: usize,
    /// How long components get to become healthy, and nodes to register.
    pub health_timeout: Duration,
    /// After a snapshot restore: delete Node objects the config does not list.
    pub delete_unlisted_nodes: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            dry_run: false,
            update_only: false,
            limit: 50,
            health_timeout: Duration::from_secs(120),
            delete_unlisted_nodes: false,
        }
    }
}

/// How a run ended.
#[derive(Debug)]
pub enum Outcome {
    /// The cluster now matches `cluster.yml`.
    Applied(Box<Applied>),
    /// `--dry-run`: the changes a run would make.
    DryRun(Box<DryRunPlan>),
}

/// What a successful run hands back, so a caller can go on without connecting again.
#[derive(Debug)]
pub struct Applied {
    /// The connections `up` was given, one per node of the config.
    pub conns: Vec<NodeConnection>,
    /// The API client `up` used (it answered at the end of the run).
    pub kube: KubeClient,
}

/// Bring the cluster to `desired`'s config. `conns` must hold a connection for every node of
/// the config; `departed` are the nodes the last applied config had and this one has not (the
/// `connect` phase, [`phases::connect`], found both).
pub async fn up(
    desired: &DesiredCluster,
    conns: Vec<NodeConnection>,
    departed: Vec<Departed>,
    opts: &Options,
) -> anyhow::Result<Outcome> {
    let run = phases::plan::run(desired, conns, departed, opts).await?;
    if opts.dry_run {
        let changes = plan(&run).await?;
        return Ok(Outcome::DryRun(Box::new(DryRunPlan {
            nodes: run.planned_nodes(),
            changes,
        })));
    }
    let kube = apply(&run).await?;
    Ok(Outcome::Applied(Box::new(Applied {
        conns: run.nodes.into_iter().map(|n| n.conn).collect(),
        kube,
    })))
}

/// Every phase's pending changes, in phase order; changes nothing.
async fn plan(run: &Run<'_>) -> anyhow::Result<Vec<Change>> {
    let mut changes = prepare_nodes::plan(run).await?;
    changes.extend(etcd::plan(run).await?);
    changes.extend(control_plane::plan(run).await?);
    changes.extend(membership::plan(run));
    changes.extend(workers::plan(run).await?);
    changes.extend(departed::plan(run));
    let kube = super::phases::cluster_api(run).await;
    changes.extend(node_metadata::plan(run, kube.as_ref()).await?);
    changes.extend(addons::plan(run, kube.as_ref()).await?);
    Ok(changes)
}

/// Every phase applied, in order, each interrupt step between two of them.
async fn apply(run: &Run<'_>) -> anyhow::Result<KubeClient> {
    etcd::guard(run).await?;
    STEPS.before(0)?;
    run.desired.write_desired()?;
    let uploaded = prepare_nodes::apply(run).await?;
    STEPS.before(1)?;
    etcd::apply(run, &uploaded).await?;
    STEPS.before(2)?;
    control_plane::apply(run).await?;
    STEPS.before(3)?;
    let kube = membership::apply(run).await?;
    STEPS.before(4)?;
    workers::apply(run, &kube).await?;
    STEPS.before(5)?;
    departed::apply(run, &kube).await?;
    node_metadata::apply(run, &kube).await?;
    STEPS.before(6)?;
    addons::apply(run, &kube).await?;
    state::apply(run, &kube).await?;
    Ok(kube)
}
