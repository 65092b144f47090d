//! Phase `departed nodes` (interrupt step "departed nodes and Node metadata", first half):
//! nodes `cluster.yml` no longer lists leave: their Node objects go (after a snapshot restore
//! also those of nodes the config never listed), and rke's containers and directories are
//! removed from them.

use super::Run;
use crate::config::RkeConfig;
use crate::kube_api::KubeClient;
use crate::provision::node::{etcd_cleanup_dirs, host_cleanup_dirs, remove_containers};
use crate::provision::spec::names;
use crate::up::change::Change;
use crate::up::node::empty_dirs;
use crate::up::{Departed, kube_step};

/// One change per departing node.
pub fn plan(run: &Run<'_>) -> Vec<Change> {
    run.departed
        .iter()
        .map(|d| Change::NodeLeaves {
            node: d.cfg.hostname_override.clone(),
            address: d.cfg.address.clone(),
            reachable: d.conn.is_some(),
        })
        .collect()
}

pub async fn apply(run: &Run<'_>, kube: &KubeClient) -> anyhow::Result<()> {
    kube_step::delete_departed(kube, &run.departed).await?;
    if run.opts.delete_unlisted_nodes {
        kube_step::delete_unlisted(kube, run.cfg()).await?;
    }
    for d in &run.departed {
        clean(d, run.cfg(), run.etcd_external()).await;
    }
    Ok(())
}

/// Remove everything rke put on a node that left the cluster. Failures only warn (as in
/// RKE1): the node is already out of the cluster, and a later `rke remove` can finish it.
async fn clean(d: &Departed, cfg: &RkeConfig, etcd_external: bool) {
    let name = &d.cfg.hostname_override;
    let Some(conn) = &d.conn else {
        tracing::warn!(node = %name, "not reachable: its containers and files stay on it");
        return;
    };
    let helper = cfg.system_images.alpine.as_str();
    let mut containers: Vec<&str> = names::MANAGED_CONTAINERS.to_vec();
    containers.push(names::ETCD);
    let mut dirs = host_cleanup_dirs(&cfg.prefix_path);
    if d.cfg.is_etcd() && !etcd_external {
        dirs.extend(etcd_cleanup_dirs(&cfg.prefix_path));
    }
    let result = async {
        remove_containers(conn, &containers).await?;
        empty_dirs(conn, &dirs, helper, &cfg.private_registries).await
    }
    .await;
    match result {
        Ok(()) => tracing::info!(node = %name, "containers removed and directories emptied"),
        Err(e) => tracing::warn!(node = %name, "cleaning up after removal failed: {e:#}"),
    }
}
