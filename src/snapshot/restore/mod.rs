//! `rke etcd snapshot-restore`, the etcd half: [`locate`] finds and verifies the snapshot
//! while the cluster still runs; [`restore_data`] copies it to every etcd node that lacks it,
//! checks every copy, stops the control plane and etcd, and restores each member. The caller
//! then resets `currentState` and runs the normal `rke up`, which starts etcd (health-checked)
//! and brings the rest back.

mod locate;
mod members;

pub use locate::{Located, locate};
pub use members::{CONTROL_PLANE, RESTORE_DIR, initial_cluster, stop};

use futures_util::future::{join_all, try_join_all};

use super::on_node;
use super::save::EtcdHost;
use crate::config::RkeConfig;
use crate::error::{ErrorKind, classified};
use crate::provision::spec::names;
use crate::transport::NodeConnection;

/// Put the snapshot on every etcd node and verify every copy, then stop `control_plane` nodes'
/// components and etcd, and restore every member. Nothing is stopped unless every copy checks.
pub async fn restore_data(
    located: &Located,
    etcd_hosts: &[EtcdHost<'_>],
    control_plane: &[&NodeConnection],
    cfg: &RkeConfig,
    helper_image: &str,
) -> anyhow::Result<()> {
    let copies = join_all(
        etcd_hosts
            .iter()
            .filter(|h| located.missing_on.contains(&h.cfg.hostname_override))
            .map(|h| {
                tracing::info!(node = %h.cfg.hostname_override, "copying {}", located.file_name);
                on_node::put(
                    h.conn,
                    &located.file_name,
                    &located.path,
                    &located.sha256,
                    helper_image,
                )
            }),
    )
    .await;
    copies.into_iter().collect::<anyhow::Result<Vec<()>>>()?;
    let listings = try_join_all(
        etcd_hosts
            .iter()
            .map(|h| on_node::list(h.conn, helper_image)),
    )
    .await?;
    for (h, listing) in etcd_hosts.iter().zip(listings) {
        let ok = listing
            .iter()
            .any(|s| s.file_name == located.file_name && s.sha256 == located.sha256);
        if !ok {
            return Err(classified(
                ErrorKind::Snapshot,
                format!(
                    "node {}: its copy of {} does not have sha256 {}; nothing was stopped",
                    h.cfg.hostname_override, located.file_name, located.sha256
                ),
            ));
        }
    }
    tracing::info!(
        "snapshot {} (sha256 {}) is on every etcd node; stopping the control plane and etcd",
        located.file_name,
        located.sha256
    );

    try_join_all(control_plane.iter().map(|c| stop(c, CONTROL_PLANE))).await?;
    try_join_all(
        etcd_hosts
            .iter()
            // The agent too: it must not snapshot a member being restored.
            .map(|h| stop(h.conn, &[names::ETCD_ROLLING_SNAPSHOTS, names::ETCD])),
    )
    .await?;
    try_join_all(etcd_hosts.iter().map(|h| async {
        members::restore_member(h, cfg, &located.db_path, helper_image)
            .await
            .map_err(|e| {
                classified(
                    crate::error::kind_of(&e),
                    format!(
                        "restoring etcd on node {}: {e:#}. Run the restore again",
                        h.cfg.hostname_override
                    ),
                )
            })
    }))
    .await?;
    tracing::info!("every etcd member restored from {}", located.file_name);
    Ok(())
}
