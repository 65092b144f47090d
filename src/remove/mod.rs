//! `rke remove`: take the cluster off every node of `cluster.yml` — rke's and RKE1's
//! containers, the pods' containers, the directories RKE wrote (and those RKE1 forgot), and
//! the kubelet directory once no pod volume is mounted below it — then, when every node is
//! clean (or forced), the local admin kubeconfig and state file.

pub mod containers;
pub mod dirs;
pub mod kubelet_dir;
pub mod local;

use crate::config::{RkeConfig, RkeConfigNode};
use crate::error::{ErrorKind, classified};
use crate::provision::node::{clean_dirs, credentials_for, ensure_image};
use crate::transport::NodeConnection;

pub use kubelet_dir::KubeletOutcome;

/// What was done on one node that was cleaned completely.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeCleaned {
    pub containers: Vec<String>,
    pub dirs: Vec<String>,
    /// Mounts taken off below the kubelet directory before it was emptied.
    pub unmounted: usize,
}

impl NodeCleaned {
    /// The node's line of the report.
    pub fn summary(&self) -> String {
        let mut line = format!(
            "removed {} container(s), emptied {} director{}",
            self.containers.len(),
            self.dirs.len(),
            if self.dirs.len() == 1 { "y" } else { "ies" }
        );
        if self.unmounted > 0 {
            line.push_str(&format!(
                " (after unmounting {} volume mount(s) below the kubelet directory)",
                self.unmounted
            ));
        }
        line
    }
}

/// One node's result, in `cluster.yml` order.
pub struct NodeReport {
    pub node: String,
    pub result: anyhow::Result<NodeCleaned>,
}

#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub remove_snapshots: bool,
    /// Nodes worked on at once.
    pub limit: usize,
}

/// Clean every connected node, `limit` at a time. Nodes of `cfg` without a connection are
/// not in the result (the caller reports their connection errors).
pub async fn remove_nodes(
    cfg: &RkeConfig,
    conns: &[NodeConnection],
    opts: Options,
) -> Vec<NodeReport> {
    let connected = cfg.nodes.iter().filter_map(|node| {
        let conn = conns.iter().find(|c| c.name() == node.hostname_override)?;
        Some((node, conn))
    });
    // In `nodes:` order.
    let all = crate::parallel::map(connected, opts.limit, |(node, conn)| async move {
        let name = node.hostname_override.as_str();
        NodeReport {
            node: name.to_string(),
            result: crate::events::step(name, "remove", clean_node(cfg, node, conn, opts)).await,
        }
    });
    crate::events::phase_infallible("remove", conns.len(), all).await
}

/// Take everything rke put on one node off it.
pub async fn clean_node(
    cfg: &RkeConfig,
    node: &RkeConfigNode,
    conn: &NodeConnection,
    opts: Options,
) -> anyhow::Result<NodeCleaned> {
    let helper = cfg.system_images.alpine.as_str();
    let containers = containers::remove_all(conn).await?;
    let creds = credentials_for(helper, &cfg.private_registries);
    ensure_image(conn, helper, creds, false).await?;
    let dirs = dirs::node_dirs(cfg, node, opts.remove_snapshots);
    clean_dirs(conn, &dirs, helper).await?;
    let kubelet = dirs::kubelet_dirs(&cfg.prefix_path);
    match kubelet_dir::empty_safely(conn, &kubelet, helper).await? {
        KubeletOutcome::Emptied { unmounted } => Ok(NodeCleaned {
            containers,
            dirs: dirs.into_iter().chain(kubelet).collect(),
            unmounted,
        }),
        KubeletOutcome::MountsRemain(mounts) => Err(classified(
            ErrorKind::General,
            format!(
                "node {}: still mounted below the kubelet directory, so it was not emptied: {}",
                conn.name(),
                mounts.join(", ")
            ),
        )),
    }
}
