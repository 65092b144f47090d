//! The etcd nodes the snapshot commands work on, and the images they need there.

use std::borrow::Borrow;

use super::save::EtcdHost;
use crate::config::RkeConfig;
use crate::provision::node::{credentials_for, ensure_image};
use crate::transport::NodeConnection;

/// Make sure `images` are on every node of `conns` (pulled with the config's registry
/// credentials when missing): the helper image runs the listing and copying, which a node new
/// to the cluster does not have yet. `limit` nodes at a time. `conns` holds connections or
/// references to them, whichever the caller has.
pub async fn ensure_images<C: Borrow<NodeConnection>>(
    cfg: &RkeConfig,
    conns: &[C],
    images: &[&str],
    limit: usize,
) -> anyhow::Result<()> {
    for image in images {
        let creds = || credentials_for(image, &cfg.private_registries);
        crate::parallel::try_map(conns, limit, |c| {
            ensure_image(c.borrow(), image, creds(), false)
        })
        .await?;
    }
    Ok(())
}

/// Pair each etcd node of the config with its connection.
pub fn etcd_hosts<'a>(cfg: &'a RkeConfig, conns: &'a [NodeConnection]) -> Vec<EtcdHost<'a>> {
    crate::cluster::connected_nodes(cfg, conns)
        .into_iter()
        .filter(|(n, _)| n.is_etcd())
        .map(|(n, conn)| EtcdHost { cfg: n, conn })
        .collect()
}
