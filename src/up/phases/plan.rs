//! Phase `plan`: observe the nodes (host facts, etcd members), compute every node's plan and
//! the etcd membership plan ([`crate::plan`]), and render the addons, so their errors stop
//! the run before anything changes. Reads only; its result is the [`Run`] the later phases
//! work from.

use anyhow::Context;

use super::Run;
use crate::cluster::desired::DesiredCluster;
use crate::config::{RkeConfig, RkeConfigNode};
use crate::error::{ErrorKind, classified};
use crate::plan::{Planned, plan_nodes};
use crate::transport::NodeConnection;
use crate::up::node::Node;
use crate::up::{Departed, Options};

/// Plan the run. `conns` must hold a connection for every node of the config.
pub async fn run<'a>(
    desired: &'a DesiredCluster,
    conns: Vec<NodeConnection>,
    departed: Vec<Departed>,
    opts: &'a Options,
) -> anyhow::Result<Run<'a>> {
    let cfg = &desired.cfg;
    let matched = match_connections(cfg, conns)?;
    let planned = {
        let refs: Vec<(&RkeConfigNode, &NodeConnection)> =
            matched.iter().map(|(n, c)| (n, c)).collect();
        plan_nodes(desired, &refs, &departed, true, opts.limit).await?
    };
    let Planned {
        plans,
        etcd: etcd_plan,
        members: live_members,
        agent_binary,
    } = planned;
    let nodes: Vec<Node> = matched
        .into_iter()
        .zip(plans)
        .map(|((cfg, conn), plan)| Node { cfg, conn, plan })
        .collect();
    // Includes are relative to cluster.yml's directory (the state file's).
    let config_dir = desired
        .state_path
        .parent()
        .unwrap_or(std::path::Path::new("."));
    let addons = crate::addons::desired(cfg, config_dir)
        .await
        .context("addons")?;
    Ok(Run {
        desired,
        opts,
        nodes,
        departed,
        etcd_plan,
        live_members,
        agent_binary,
        addons,
    })
}

/// Pair every node of the config with its connection (by `hostname_override`).
fn match_connections(
    cfg: &RkeConfig,
    mut conns: Vec<NodeConnection>,
) -> anyhow::Result<Vec<(RkeConfigNode, NodeConnection)>> {
    cfg.nodes
        .iter()
        .map(|node| {
            let i = conns
                .iter()
                .position(|c| c.name() == node.hostname_override)
                .ok_or_else(|| {
                    classified(
                        ErrorKind::Connection,
                        format!("node {}: not connected", node.hostname_override),
                    )
                })?;
            Ok((node.clone(), conns.swap_remove(i)))
        })
        .collect()
}
