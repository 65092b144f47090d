//! `rke etcd snapshot-restore --name N`: parse, connect and lock, then the restore workflow
//! ([`crate::snapshot::restore::workflow`]), then print what was done.

use std::time::{Duration, Instant};

use clap::Args;

use super::{load_cluster, s3_store};
use crate::cli::ConfigArg;
use crate::cli::nodes::{self, ConnectArgs};
use crate::error::{ErrorKind, classified};
use crate::events::report;
use crate::snapshot::naming::check_name;
use crate::snapshot::restore::workflow::{self, RESTORE_STEPS, UpSettings};
use crate::snapshot::s3::S3Args;

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

impl RestoreArgs {
    /// How the `rke up` after the etcd part runs.
    pub(super) fn up_settings(&self) -> UpSettings {
        UpSettings {
            health_timeout: Duration::from_secs(self.health_timeout),
            limit: self.connect.limit(),
        }
    }
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
    if args.use_local_state && loaded.state.is_none() {
        return Err(classified(
            ErrorKind::State,
            format!(
                "--use-local-state: there is no {}",
                loaded.state_path.display()
            ),
        ));
    }
    let certs = args.certs.source();
    let local = loaded.local(config_path, &certs);
    let settings = args.up_settings();
    let finished = nodes::runtime()?.block_on(async {
        crate::interrupt::install("rke etcd snapshot-restore")?;
        let store = s3_store(&args.s3, cfg).await?;
        let conns = nodes::connect_or_fail(cfg, &args.connect).await?;
        let locked = conns.clone();
        let restoring = workflow::restore(
            &local,
            &conns,
            store.as_ref(),
            &name,
            args.use_local_state,
            &settings,
        );
        crate::lock::while_held(
            &locked,
            "rke etcd snapshot-restore",
            settings.limit,
            restoring,
        )
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
