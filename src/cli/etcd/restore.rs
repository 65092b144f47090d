//! `rke etcd snapshot-restore --name N`: verify the snapshot while the cluster still runs
//! (refusing a missing, corrupt or foreign one before anything stops), take the state stored in
//! it (unless `--use-local-state`) with `currentState` reset as RKE1 does, restore every etcd
//! member, then run the normal `rke up`, which starts etcd health-checked and brings the control
//! plane and workers back. The config's nodes may differ from the snapshot's cluster (a
//! disaster-recovery restore onto new machines): certificates are reissued for their addresses.

use std::time::Instant;

use clap::Args;

use super::rollback::{drop_kept_state, keep_state, local_host};
use super::{ensure_images, etcd_hosts, load_cluster, s3_store};
use crate::certs::KUBE_CA;
use crate::cli::ConfigArg;
use crate::cli::nodes::{self, ConnectArgs};
use crate::cluster::desired;
use crate::config::RkeConfig;
use crate::error::{ErrorKind, classified};
use crate::events::{phase, report};
use crate::snapshot::naming::check_name;
use crate::snapshot::restore::{
    self, Action, Journal, Phase, Request, decide, locate, read_journals, restore_data,
};
use crate::snapshot::s3::S3Args;
use crate::state::{self, ClusterState, FullState};
use crate::up::{self, Options};

#[derive(Debug, Args)]
pub struct RestoreArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Snapshot name, without .zip.
    #[arg(long, required_unless_present = "rollback")]
    pub name: Option<String>,
    /// Undo an interrupted restore: put back every etcd member's data from before it and the
    /// state file from before it, then bring the cluster up.
    #[arg(long, conflicts_with_all = ["name", "use_local_state"])]
    pub rollback: bool,
    /// Use the local cluster.rkestate instead of the state stored in the snapshot.
    #[arg(long)]
    pub use_local_state: bool,
    #[command(flatten)]
    pub certs: crate::cli::up::CertArgs,
    /// Seconds components get to become healthy after the restore.
    #[arg(long, default_value_t = 120, value_parser = clap::value_parser!(u64).range(1..))]
    pub health_timeout: u64,
    #[command(flatten)]
    pub s3: S3Args,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

pub fn run(args: &RestoreArgs) -> anyhow::Result<i32> {
    let Some(name) = &args.name else {
        return super::rollback::run(args);
    };
    let started = Instant::now();
    let config_path = &args.config.config;
    let loaded = load_cluster(config_path)?;
    let checked = check_name(name)?;
    if let Some(w) = &checked.warning {
        tracing::warn!("{w}");
    }
    let name = checked.name;
    let cfg = &loaded.cfg;
    let local_ca = loaded.state.as_ref().and_then(|s| {
        [&s.desired_state, &s.current_state]
            .into_iter()
            .filter_map(|c| c.certificates_bundle.get(KUBE_CA))
            .map(|ca| ca.certificate_pem.clone())
            .find(|pem| !pem.trim().is_empty())
    });
    if args.use_local_state && loaded.state.is_none() {
        return Err(classified(
            ErrorKind::State,
            format!(
                "--use-local-state: there is no {}",
                loaded.state_path.display()
            ),
        ));
    }
    let helper = cfg.system_images.alpine.clone();

    /// Where Ctrl-C or SIGTERM may stop a restore before `rke up`'s own steps: never while
    /// members' data are being replaced.
    const RESTORE_STEPS: crate::interrupt::Steps = crate::interrupt::Steps {
        names: &["verify the snapshot", "restore etcd data", "rke up"],
    };
    let finished = nodes::runtime()?.block_on(async {
        crate::interrupt::install("rke etcd snapshot-restore")?;
        let store = s3_store(&args.s3, cfg).await?;
        let conns = nodes::connect_or_fail(cfg, &args.connect).await?;
        let locked = conns.clone();
        crate::lock::while_held(&locked, "rke etcd snapshot-restore", async {
            RESTORE_STEPS.before(0)?;
            let hosts = etcd_hosts(cfg, &conns);
            let etcd_conns: Vec<_> = hosts.iter().map(|h| h.conn).collect();
            let request = Request::Restore { name: name.clone() };
            let action = decide(&request, &read_journals(&etcd_conns).await);
            if let Action::Refuse(msg) = action {
                return Err(classified(ErrorKind::Snapshot, msg));
            }
            ensure_images(cfg, &etcd_conns, &[&helper, &cfg.services.etcd.image]).await?;
            let finishing = match action {
                Action::CleanUp { snapshot } => {
                    restore::clean_up(&hosts, cfg, &helper).await?;
                    tracing::info!(
                        "deleted the etcd data kept from the completed restore of {snapshot}"
                    );
                    false
                }
                Action::Finish { snapshot } => {
                    tracing::warn!(
                        "the restore of snapshot {snapshot} was interrupted: finishing it (the \
                         data from before it is still kept on the etcd nodes)"
                    );
                    restore::remove_leftovers(&hosts).await?;
                    true
                }
                Action::RollBack { .. } | Action::Proceed | Action::Refuse(_) => false,
            };
            let locating = locate(&name, &hosts, store.as_ref(), local_ca.as_deref(), &helper);
            let located = phase("verify", hosts.len(), locating).await?;
            tracing::info!("snapshot {name} verified (sha256 {})", located.sha256);
            RESTORE_STEPS.before(1)?;

            let base = base_state(
                args.use_local_state,
                &located.state_json,
                &loaded.state,
                &name,
            )?;
            // The state from before the first attempt, for a rollback; an attempt being
            // finished already replaced the state file.
            if !finishing {
                keep_state(&loaded.state_path, loaded.state_bytes.as_deref())?;
            }
            // RKE1: the restored cluster is brought up as a new one from this state.
            state::save(
                &loaded.state_path,
                &FullState {
                    desired_state: base,
                    current_state: ClusterState::default(),
                    // Top-level keys a newer version wrote stay.
                    unknown: loaded
                        .state
                        .as_ref()
                        .map(|s| s.unknown.clone())
                        .unwrap_or_default(),
                },
            )?;
            let journal = Journal {
                snapshot: name.clone(),
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
            let restoring = restore_data(&located, &journal, &hosts, &control, cfg, &helper);
            phase("restore", hosts.len(), restoring).await?;
            let restored = async {
                let desired = desired::load(config_path, &args.certs.source())?;
                let opts = Options {
                    health_timeout: std::time::Duration::from_secs(args.health_timeout),
                    limit: usize::from(args.connect.max_parallel),
                    delete_unlisted_nodes: true,
                    ..Options::default()
                };
                up::up(&desired, conns.clone(), Vec::new(), &opts).await
            };
            restored
                .await
                .map_err(|e| restore::unfinished(RESTORE_STEPS.within(2, e), &name))?;
            restore::complete(&journal, &hosts, cfg, &helper).await?;
            drop_kept_state(&loaded.state_path);
            anyhow::Ok(finishing)
        })
        .await
    })?;
    let kubeconfig = crate::paths::admin_kubeconfig(config_path);
    report::add_changed("snapshots_restored", 1);
    RESTORE_STEPS.before(RESTORE_STEPS.names.len())?;
    report::set_kubeconfig(&kubeconfig);
    let outcome = if finished { "finished" } else { "restored" };
    report::set_data(serde_json::json!({ "snapshot": name, "outcome": outcome }));
    let what = if finished {
        format!("Finished the interrupted restore of snapshot {name}")
    } else {
        format!("Restored snapshot {name}")
    };
    println!(
        "{what} in {:.1}s; the etcd data from before it was deleted. Kubeconfig: {}",
        started.elapsed().as_secs_f64(),
        kubeconfig.display()
    );
    Ok(0)
}

/// The `desiredState` the restored cluster starts from: the snapshot's state (RKE1's default)
/// or, with `--use-local-state` or when the snapshot holds none, the local one.
fn base_state(
    use_local: bool,
    in_snapshot: &Option<Vec<u8>>,
    local: &Option<FullState>,
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
