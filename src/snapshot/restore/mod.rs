//! `rke etcd snapshot-restore`, the etcd half: [`locate`] finds and verifies the snapshot
//! while the cluster still runs; [`restore_data`] copies it to every etcd node that lacks it,
//! checks every copy, journals the restore on every etcd node, stops the control plane and
//! etcd, and restores each member, keeping its previous data. The caller then resets
//! `currentState` and runs the normal `rke up`, which starts etcd (health-checked) and brings
//! the rest back, and then [`complete`]s the restore. An interrupted restore is finished or
//! rolled back ([`roll_back`]) by the next run, as [`journal::decide`] says. [`workflow`] is the
//! whole command around these steps (state file, `rke up`), [`kept_state`] the local state copy.

pub mod journal;
mod keep;
pub mod kept_state;
mod locate;
mod members;
pub mod workflow;

pub use journal::{Action, Journal, Phase, Request, decide};
pub use keep::{KEPT_DIR, read_journals};
pub use locate::{Located, locate};
pub use members::{CONTROL_PLANE, NODE_AGENTS, RESTORE_DIR, initial_cluster, start, stop};

use super::on_node;
use super::save::EtcdHost;
use crate::config::RkeConfig;
use crate::error::{ErrorKind, classified};
use crate::parallel;
use crate::provision::spec::{ETCD_HOST_DATA_DIR, names, under_prefix};
use crate::transport::NodeConnection;

/// Put the snapshot on every etcd node and verify every copy, write `journal` to every etcd
/// node, then stop `control_plane` nodes' components and etcd, and restore every member.
/// Nothing is stopped unless every copy checks and every node holds the journal. Works on
/// `limit` nodes at a time (`--max-parallel`).
pub async fn restore_data(
    located: &Located,
    journal: &Journal,
    etcd_hosts: &[EtcdHost<'_>],
    control_plane: &[&NodeConnection],
    cfg: &RkeConfig,
    helper_image: &str,
    limit: usize,
) -> anyhow::Result<()> {
    let lacking = etcd_hosts
        .iter()
        .filter(|h| located.missing_on.contains(&h.cfg.hostname_override));
    let copies = parallel::map(lacking, limit, |h| {
        tracing::info!(node = %h.cfg.hostname_override, "copying {}", located.file_name);
        on_node::put(
            h.conn,
            &located.file_name,
            &located.path,
            &located.sha256,
            helper_image,
        )
    })
    .await;
    copies.into_iter().collect::<anyhow::Result<Vec<()>>>()?;
    let listings =
        parallel::try_map(etcd_hosts, limit, |h| on_node::list(h.conn, helper_image)).await?;
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
    // From the first journal written on, a failure leaves a restore to finish or roll back.
    let journaled = async {
        parallel::try_map(etcd_hosts, limit, |h| {
            keep::write_journal(h.conn, journal, helper_image)
        })
        .await?;
        tracing::info!(
            "snapshot {} (sha256 {}) is on every etcd node; stopping the control plane and etcd",
            located.file_name,
            located.sha256
        );

        stop_cluster(control_plane, etcd_hosts, limit).await?;
        parallel::try_map(etcd_hosts, limit, |h| async move {
            members::restore_member(h, cfg, &located.db_path, helper_image)
                .await
                .map_err(|e| {
                    classified(
                        crate::error::kind_of(&e),
                        format!("restoring etcd on node {}: {e:#}", h.cfg.hostname_override),
                    )
                })
        })
        .await?;
        anyhow::Ok(())
    };
    journaled
        .await
        .map_err(|e| unfinished(e, &journal.snapshot))?;
    tracing::info!("every etcd member restored from {}", located.file_name);
    Ok(())
}

/// Etcd's data directory on the nodes.
fn data_dir(cfg: &RkeConfig) -> String {
    under_prefix(&cfg.prefix_path, ETCD_HOST_DATA_DIR)
}

/// The restored cluster is healthy: mark the journal `restored` on every node, then delete the
/// kept data and the journal.
pub async fn complete(
    journal: &Journal,
    etcd_hosts: &[EtcdHost<'_>],
    cfg: &RkeConfig,
    helper_image: &str,
    limit: usize,
) -> anyhow::Result<()> {
    let done = Journal {
        phase: Phase::Restored,
        ..journal.clone()
    };
    parallel::try_map(etcd_hosts, limit, |h| {
        keep::write_journal(h.conn, &done, helper_image)
    })
    .await?;
    clean_up(etcd_hosts, cfg, helper_image, limit).await
}

/// Delete the kept data and the journal on every etcd node.
pub async fn clean_up(
    etcd_hosts: &[EtcdHost<'_>],
    cfg: &RkeConfig,
    helper_image: &str,
    limit: usize,
) -> anyhow::Result<()> {
    let dir = data_dir(cfg);
    parallel::try_map(etcd_hosts, limit, |h| {
        keep::clean_up(h.conn, &dir, helper_image)
    })
    .await
    .map(drop)
}

/// Remove the helpers an interrupted restore left on the etcd nodes (see
/// [`keep::remove_leftovers`]).
pub async fn remove_leftovers(etcd_hosts: &[EtcdHost<'_>], limit: usize) -> anyhow::Result<()> {
    let removed = parallel::try_map(etcd_hosts, limit, |h| keep::remove_leftovers(h.conn)).await?;
    for (h, names) in etcd_hosts.iter().zip(removed) {
        if !names.is_empty() {
            tracing::info!(
                node = %h.cfg.hostname_override,
                "removed what the interrupted restore left running: {}",
                names.join(", ")
            );
        }
    }
    Ok(())
}

/// Stop the control plane and etcd, then put every member's previous data back. Returns the
/// nodes whose data had been replaced. The journal stays until [`clean_up`].
pub async fn roll_back(
    etcd_hosts: &[EtcdHost<'_>],
    control_plane: &[&NodeConnection],
    cfg: &RkeConfig,
    helper_image: &str,
    limit: usize,
) -> anyhow::Result<Vec<String>> {
    remove_leftovers(etcd_hosts, limit).await?;
    stop_cluster(control_plane, etcd_hosts, limit).await?;
    let dir = data_dir(cfg);
    let dir = &dir;
    let put_back = parallel::try_map(etcd_hosts, limit, |h| async move {
        let replaced = keep::roll_back(h.conn, dir, helper_image).await?;
        let node = &h.cfg.hostname_override;
        if replaced {
            tracing::info!(node = %node, "put back the etcd data from before the restore");
        } else {
            tracing::info!(node = %node, "etcd data was never replaced; kept as it is");
        }
        anyhow::Ok(replaced.then(|| node.clone()))
    })
    .await?;
    // The `rke up` that follows finds the cluster of the state put back through its running
    // members (a restore instead comes up as a new cluster); the agent comes back with it.
    parallel::try_map(etcd_hosts, limit, |h| start(h.conn, &[names::ETCD])).await?;
    Ok(put_back.into_iter().flatten().collect())
}

/// `rke up` refuses to run over an interrupted restore (members may hold different histories);
/// the message names both ways out. Reads `limit` nodes at a time.
pub async fn refuse_unfinished(
    cfg: &RkeConfig,
    conns: &[NodeConnection],
    limit: usize,
) -> anyhow::Result<()> {
    let etcd: Vec<_> = crate::cluster::connected_nodes(cfg, conns)
        .into_iter()
        .filter(|(n, _)| n.is_etcd())
        .map(|(_, c)| c)
        .collect();
    match decide(&Request::Up, &read_journals(&etcd, limit).await) {
        Action::Refuse(msg) => Err(classified(ErrorKind::Snapshot, msg)),
        _ => Ok(()),
    }
}

/// A restore that failed after its journal was written: the previous data is kept, and the
/// message says how to finish or undo it. Added as context, so the cause keeps its class (and a
/// stop by signal its exit code).
pub fn unfinished(e: anyhow::Error, name: &str) -> anyhow::Error {
    e.context(format!(
        "the restore of snapshot {name} did not complete; each etcd member's data from before \
         it is kept (in <etcd data dir>/{KEPT_DIR}). Run `rke etcd snapshot-restore --name \
         {name}` again to finish it, or `rke etcd snapshot-restore --rollback` to put the \
         previous data back"
    ))
}

/// After a rollback's etcd start: wait until a member lists the members, as the `rke up` that
/// follows needs (it reconciles membership through a running member), up to `timeout`.
pub async fn wait_for_members(
    etcd_hosts: &[EtcdHost<'_>],
    bundle: &crate::certs::CertBundle,
    timeout: std::time::Duration,
) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let mut last = String::new();
        for h in etcd_hosts {
            let tls = crate::etcd::EtcdTls::from_bundle(bundle)?;
            let answer = async {
                let client = crate::etcd::EtcdClient::connect(
                    h.conn,
                    h.cfg.effective_internal_address(),
                    tls,
                )
                .await?;
                client.members().await
            };
            match answer.await {
                Ok(_) => return Ok(()),
                Err(e) => last = format!("node {}: {e:#}", h.cfg.hostname_override),
            }
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(classified(
                ErrorKind::Etcd,
                format!(
                    "etcd did not answer within {} s after its data was put back: {last}",
                    timeout.as_secs()
                ),
            ));
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
}

/// Stop the control plane, then etcd and its snapshot agent (which must not snapshot a member
/// whose data is being replaced), before member data is restored or put back.
async fn stop_cluster(
    control_plane: &[&NodeConnection],
    etcd_hosts: &[EtcdHost<'_>],
    limit: usize,
) -> anyhow::Result<()> {
    parallel::try_map(control_plane, limit, |c| stop(c, CONTROL_PLANE)).await?;
    parallel::try_map(etcd_hosts, limit, |h| {
        stop(h.conn, &[names::ETCD_ROLLING_SNAPSHOTS, names::ETCD])
    })
    .await?;
    Ok(())
}
