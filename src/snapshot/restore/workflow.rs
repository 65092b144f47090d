//! The whole of `rke etcd snapshot-restore` once the nodes are connected and locked: verify
//! the snapshot while the cluster still runs (refusing a missing, corrupt or foreign one before
//! anything stops), take the state stored in it (unless `--use-local-state`) with
//! `currentState` reset as RKE1 does, restore every etcd member, then run the normal `rke up`,
//! which starts etcd health-checked and brings the control plane and workers back. The config's
//! nodes may differ from the snapshot's cluster (a disaster-recovery restore onto new
//! machines): certificates are reissued for their addresses. [`roll_back_restore`] undoes an
//! interrupted one.

use std::path::Path;
use std::time::Duration;

use super::kept_state::{drop_kept_state, keep_state, local_host, put_back_kept_state};
use super::{
    Action, Journal, NODE_AGENTS, Phase, Request, decide, locate, read_journals, restore_data,
};
use crate::certs::KUBE_CA;
use crate::cluster::desired::{self, CertSource};
use crate::config::RkeConfig;
use crate::error::{ErrorKind, classified};
use crate::events::phase;
use crate::interrupt::Steps;
use crate::snapshot::hosts::{ensure_images, etcd_hosts};
use crate::snapshot::s3::S3Store;
use crate::state::{self, ClusterState, FullState};
use crate::transport::NodeConnection;
use crate::up::{self, Options};

/// Where Ctrl-C or SIGTERM may stop a restore before `rke up`'s own steps: never while
/// members' data are being replaced.
pub const RESTORE_STEPS: Steps = Steps {
    names: &["verify the snapshot", "restore etcd data", "rke up"],
};

/// The local side of a restore: the config and the state file as they were read.
pub struct LocalCluster<'a> {
    pub config_path: &'a Path,
    pub cfg: &'a RkeConfig,
    pub state_path: &'a Path,
    pub state: Option<&'a FullState>,
    /// The state file's bytes, kept for a rollback.
    pub state_bytes: Option<&'a [u8]>,
    pub certs: &'a CertSource,
}

/// How `rke up` runs after the etcd part.
pub struct UpSettings {
    pub health_timeout: Duration,
    /// Nodes worked on at once.
    pub limit: usize,
}

impl UpSettings {
    fn options(&self, delete_unlisted_nodes: bool) -> Options {
        Options {
            health_timeout: self.health_timeout,
            limit: self.limit,
            delete_unlisted_nodes,
            ..Options::default()
        }
    }
}

/// Restore snapshot `name` on the cluster of `conns` (every node of the config, held locked by
/// the caller). Returns whether it finished an interrupted restore of it.
pub async fn restore(
    local: &LocalCluster<'_>,
    conns: &[NodeConnection],
    store: Option<&S3Store>,
    name: &str,
    use_local_state: bool,
    settings: &UpSettings,
) -> anyhow::Result<bool> {
    let cfg = local.cfg;
    let helper = cfg.system_images.alpine.as_str();
    RESTORE_STEPS.before(0)?;
    let hosts = etcd_hosts(cfg, conns);
    let etcd_conns: Vec<_> = hosts.iter().map(|h| h.conn).collect();
    let request = Request::Restore { name: name.into() };
    let action = decide(&request, &read_journals(&etcd_conns, settings.limit).await);
    if let Action::Refuse(msg) = action {
        return Err(classified(ErrorKind::Snapshot, msg));
    }
    ensure_images(
        cfg,
        &etcd_conns,
        &[helper, &cfg.services.etcd.image],
        settings.limit,
    )
    .await?;
    let finishing = match action {
        Action::CleanUp { snapshot } => {
            super::clean_up(&hosts, cfg, helper, settings.limit).await?;
            tracing::info!("deleted the etcd data kept from the completed restore of {snapshot}");
            false
        }
        Action::Finish { snapshot } => {
            tracing::warn!(
                "the restore of snapshot {snapshot} was interrupted: finishing it (the data from \
                 before it is still kept on the etcd nodes)"
            );
            super::remove_leftovers(&hosts, settings.limit).await?;
            true
        }
        Action::RollBack { .. } | Action::Proceed | Action::Refuse(_) => false,
    };
    let local_ca = local_ca(local.state);
    let locating = locate(
        name,
        &hosts,
        store,
        local_ca.as_deref(),
        helper,
        settings.limit,
    );
    let located = phase("verify", hosts.len(), locating).await?;
    tracing::info!("snapshot {name} verified (sha256 {})", located.sha256);
    RESTORE_STEPS.before(1)?;

    let base = base_state(use_local_state, &located.state_json, local.state, name)?;
    // The state from before the first attempt, for a rollback; an attempt being finished
    // already replaced the state file.
    if !finishing {
        keep_state(local.state_path, local.state_bytes)?;
    }
    // RKE1: the restored cluster is brought up as a new one from this state.
    state::save(
        local.state_path,
        &FullState {
            desired_state: base,
            current_state: ClusterState::default(),
            // Top-level keys a newer version wrote stay.
            unknown: local.state.map(|s| s.unknown.clone()).unwrap_or_default(),
        },
    )?;
    let journal = Journal {
        snapshot: name.into(),
        sha256: located.sha256.clone(),
        phase: Phase::Restoring,
        started: time::OffsetDateTime::now_utc().unix_timestamp(),
        by: format!("{} {}", local_host(), std::process::id()),
    };
    let control: Vec<_> = cfg
        .nodes
        .iter()
        .filter(|n| n.is_controlplane())
        .filter_map(|n| conns.iter().find(|c| c.name() == n.hostname_override))
        .collect();
    let restoring = restore_data(
        &located,
        &journal,
        &hosts,
        &control,
        cfg,
        helper,
        settings.limit,
    );
    phase("restore", hosts.len(), restoring).await?;
    stop_node_agents(conns, settings.limit)
        .await
        .map_err(|e| super::unfinished(e, name))?;
    let restored = async {
        let desired = desired::load(local.config_path, local.certs)?;
        up::up(
            &desired,
            conns.to_vec(),
            Vec::new(),
            &settings.options(true),
        )
        .await
    };
    restored
        .await
        .map_err(|e| super::unfinished(RESTORE_STEPS.within(2, e), name))?;
    super::complete(&journal, &hosts, cfg, helper, settings.limit).await?;
    drop_kept_state(local.state_path);
    Ok(finishing)
}

/// Undo an interrupted restore: every etcd member gets the data it had before the restore
/// back (members the restore never reached keep theirs), the state file from before the
/// restore is put back, and the normal `rke up` brings the cluster up; then the journal goes.
/// Returns the snapshot and the nodes whose data was put back.
pub async fn roll_back_restore(
    local: &LocalCluster<'_>,
    conns: &[NodeConnection],
    settings: &UpSettings,
) -> anyhow::Result<(String, Vec<String>)> {
    let cfg = local.cfg;
    let helper = cfg.system_images.alpine.as_str();
    let hosts = etcd_hosts(cfg, conns);
    let etcd_conns: Vec<_> = hosts.iter().map(|h| h.conn).collect();
    let snapshot = match decide(
        &Request::Rollback,
        &read_journals(&etcd_conns, settings.limit).await,
    ) {
        Action::RollBack { snapshot } => snapshot,
        Action::Refuse(msg) => return Err(classified(ErrorKind::Snapshot, msg)),
        other => unreachable!("a rollback is never {other:?}"),
    };
    ensure_images(cfg, &etcd_conns, &[helper], settings.limit).await?;
    let control: Vec<_> = crate::cluster::connected_nodes(cfg, conns)
        .into_iter()
        .filter(|(n, _)| n.is_controlplane())
        .map(|(_, c)| c)
        .collect();
    let rolling = super::roll_back(&hosts, &control, cfg, helper, settings.limit);
    let put_back = phase("rollback", hosts.len(), rolling).await?;
    stop_node_agents(conns, settings.limit).await?;
    put_back_kept_state(local.state_path)?;
    let desired = desired::load(local.config_path, local.certs)?;
    let opts = settings.options(false);
    super::wait_for_members(&hosts, &desired.bundle, opts.health_timeout).await?;
    up::up(&desired, conns.to_vec(), Vec::new(), &opts).await?;
    super::clean_up(&hosts, cfg, helper, settings.limit).await?;
    Ok((snapshot, put_back))
}

/// Stop every node's kubelet and kube-proxy ([`NODE_AGENTS`]) once etcd holds other data and
/// before the API servers start: `rke up` starts them again.
async fn stop_node_agents(conns: &[NodeConnection], limit: usize) -> anyhow::Result<()> {
    crate::parallel::try_map(conns, limit, |c| super::stop(c, NODE_AGENTS)).await?;
    Ok(())
}

/// The CA the local state holds, for checking that a snapshot belongs to this cluster.
fn local_ca(state: Option<&FullState>) -> Option<String> {
    state.and_then(|s| {
        [&s.desired_state, &s.current_state]
            .into_iter()
            .filter_map(|c| c.certificates_bundle.get(KUBE_CA))
            .map(|ca| ca.certificate_pem.clone())
            .find(|pem| !pem.trim().is_empty())
    })
}

/// The `desiredState` the restored cluster starts from: the snapshot's state (RKE1's default)
/// or, with `--use-local-state` or when the snapshot holds none, the local one.
fn base_state(
    use_local: bool,
    in_snapshot: &Option<Vec<u8>>,
    local: Option<&FullState>,
    name: &str,
) -> anyhow::Result<ClusterState> {
    let pick = |s: &FullState<RkeConfig>| {
        if s.desired_state.certificates_bundle.is_empty() {
            s.current_state.clone()
        } else {
            s.desired_state.clone()
        }
    };
    if !use_local && let Some(json) = in_snapshot {
        let loaded = state::decode::<RkeConfig>(json, &format!("in snapshot {name}"))?;
        tracing::info!("using the cluster state stored in snapshot {name}");
        return Ok(pick(&loaded.state));
    }
    match local {
        Some(s) => Ok(pick(s)),
        None => Err(classified(
            ErrorKind::State,
            format!(
                "snapshot {name} holds no cluster state and there is no local state file: the \
                 cluster's certificates are unknown"
            ),
        )),
    }
}
