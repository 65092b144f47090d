//! `rke etcd snapshot-restore --name N`: verify the snapshot while the cluster still runs
//! (refusing a missing, corrupt or foreign one before anything stops), take the state stored in
//! it (unless `--use-local-state`) with `currentState` reset as RKE1 does, restore every etcd
//! member, then run the normal `rke up`, which starts etcd health-checked and brings the control
//! plane and workers back. The config's nodes may differ from the snapshot's cluster (a
//! disaster-recovery restore onto new machines): certificates are reissued for their addresses.

use std::time::Instant;

use clap::Args;

use super::{ensure_images, etcd_hosts, load_cluster, s3_store};
use crate::certs::KUBE_CA;
use crate::cli::ConfigArg;
use crate::cli::nodes::{self, ConnectArgs};
use crate::cluster::desired;
use crate::config::RkeConfig;
use crate::error::{ErrorKind, classified};
use crate::events::{phase, report};
use crate::snapshot::naming::check_name;
use crate::snapshot::restore::{locate, restore_data};
use crate::snapshot::s3::S3Args;
use crate::state::{self, ClusterState, FullState};
use crate::up::{self, Options};

#[derive(Debug, Args)]
pub struct RestoreArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Snapshot name, without .zip.
    #[arg(long)]
    pub name: String,
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
    let started = Instant::now();
    let config_path = &args.config.config;
    let loaded = load_cluster(config_path)?;
    let checked = check_name(&args.name)?;
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

    nodes::runtime()?.block_on(async {
        let store = s3_store(&args.s3, cfg).await?;
        let conns = nodes::connect_or_fail(cfg, &args.connect).await?;
        let locked = conns.clone();
        crate::lock::while_held(&locked, "rke etcd snapshot-restore", async {
            {
                let hosts = etcd_hosts(cfg, &conns);
                let etcd_conns: Vec<_> = hosts.iter().map(|h| h.conn).collect();
                ensure_images(cfg, &etcd_conns, &[&helper, &cfg.services.etcd.image]).await?;
                let locating = locate(&name, &hosts, store.as_ref(), local_ca.as_deref(), &helper);
                let located = phase("verify", hosts.len(), locating).await?;
                tracing::info!("snapshot {name} verified (sha256 {})", located.sha256);

                let base = base_state(
                    args.use_local_state,
                    &located.state_json,
                    &loaded.state,
                    &name,
                )?;
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
                let control: Vec<_> = cfg
                    .nodes
                    .iter()
                    .filter(|n| n.is_controlplane())
                    .filter_map(|n| conns.iter().find(|c| c.name() == n.hostname_override))
                    .collect();
                let restoring = restore_data(&located, &hosts, &control, cfg, &helper);
                phase("restore", hosts.len(), restoring).await?;
            }
            let prepared = desired::load(config_path, &args.certs.source())?;
            let opts = Options {
                health_timeout: std::time::Duration::from_secs(args.health_timeout),
                limit: usize::from(args.connect.max_parallel),
                delete_unlisted_nodes: true,
                ..Options::default()
            };
            up::up(&prepared, conns, Vec::new(), &opts).await?;
            anyhow::Ok(())
        })
        .await
    })?;
    let kubeconfig = crate::paths::admin_kubeconfig(config_path);
    report::add_changed("snapshots_restored", 1);
    report::set_kubeconfig(&kubeconfig);
    report::set_data(serde_json::json!({ "snapshot": name }));
    println!(
        "Restored snapshot {name} in {:.1}s. Kubeconfig: {}",
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
