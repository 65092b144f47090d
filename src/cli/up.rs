//! `rke up`: validate, build or reuse the PKI, write the state file and kubeconfig (`--init`
//! stops there), then connect to every node and converge the cluster (see [`crate::up`]).

use super::ConfigArg;
use super::nodes::{self, ConnectArgs};
use super::version_step::{self, VersionSkewArg};
use crate::cluster::desired::{self, CertSource, DesiredCluster};
use crate::events::report;
use crate::up::recover::{self, RecoverOptions};
use crate::up::{self, Departed, Options, Outcome};
use clap::Args;
use serde_json::json;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct UpArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Only generate certificates, the state file and the admin kubeconfig; touch no node.
    #[arg(long)]
    pub init: bool,
    /// Print what would change on each node and change nothing. Exit code 0: nothing
    /// pending, 2: changes pending.
    #[arg(long, conflicts_with = "init")]
    pub dry_run: bool,
    /// Leave existing etcd and control-plane containers alone; only bring up worker
    /// components on nodes new to the cluster (ignored for a new cluster or etcd changes).
    #[arg(long)]
    pub update_only: bool,
    /// Build a brand-new cluster (new CA, new etcd) even though the nodes hold an existing
    /// cluster whose state is not in the state file. The old cluster is lost.
    #[arg(long, conflicts_with = "init")]
    pub new_cluster_over_existing_data: bool,
    #[command(flatten)]
    pub skew: VersionSkewArg,
    #[command(flatten)]
    pub certs: CertArgs,
    /// Seconds components get to become healthy (and nodes to register).
    #[arg(long, default_value_t = 120, value_parser = clap::value_parser!(u64).range(1..))]
    pub health_timeout: u64,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// `--custom-certs`, `--cert-dir` (`rke up`, `rke etcd snapshot-restore`).
#[derive(Debug, Args)]
pub struct CertArgs {
    /// Use certificates from --cert-dir instead of generating them.
    #[arg(long)]
    pub custom_certs: bool,
    /// Directory of custom certificates (default: `<config>_certs` next to the config).
    #[arg(long)]
    pub cert_dir: Option<PathBuf>,
}

impl CertArgs {
    pub fn source(&self) -> CertSource {
        CertSource {
            custom: self.custom_certs,
            cert_dir: self.cert_dir.clone(),
            rotate: None,
        }
    }
}

pub fn run(args: &UpArgs) -> anyhow::Result<i32> {
    let config_path = &args.config.config;
    let prepared = desired::load(config_path, &args.certs.source())?;
    version_step::enforce(
        prepared.applied_config().map(|c| c.version.as_str()),
        &prepared.cfg.version,
        args.skew.allow_version_skew,
    )?;
    if args.init {
        prepared.write_desired()?;
        report::set_kubeconfig(&prepared.kubeconfig_path);
        report::set_data(json!({ "init": true, "state_file": prepared.state_path }));
        println!(
            "Initialized {}: state {}, admin kubeconfig {}",
            config_path.display(),
            prepared.state_path.display(),
            prepared.kubeconfig_path.display()
        );
        return Ok(0);
    }
    let opts = Options {
        dry_run: args.dry_run,
        update_only: args.update_only,
        limit: usize::from(args.connect.max_parallel),
        health_timeout: std::time::Duration::from_secs(args.health_timeout),
        delete_unlisted_nodes: false,
    };
    let started = std::time::Instant::now();
    let certs = args.certs.source();
    let recover_opts = RecoverOptions {
        config_path,
        certs: &certs,
        over_existing: args.new_cluster_over_existing_data,
        dry_run: args.dry_run,
    };
    let (prepared, outcome) = nodes::runtime()?.block_on(async {
        // A dry run changes nothing: Ctrl-C may end it at once.
        if !args.dry_run {
            crate::interrupt::install("rke up")?;
        }
        let conns = nodes::connect_or_fail(&prepared.cfg, &args.connect).await?;
        up::STEPS.before(0)?;
        let work = async {
            crate::snapshot::restore::refuse_unfinished(&prepared.cfg, &conns).await?;
            let prepared = recover::ensure_known(prepared, &conns, &recover_opts).await?;
            version_step::enforce(
                prepared.applied_config().map(|c| c.version.as_str()),
                &prepared.cfg.version,
                args.skew.allow_version_skew,
            )?;
            let departed = connect_departed(&prepared, &args.connect).await;
            let outcome = match up::up(&prepared, conns.clone(), departed, &opts).await {
                Ok(outcome) => outcome,
                Err(e) => return Err(up::name_unanswered(e, &conns).await),
            };
            anyhow::Ok((prepared, outcome))
        };
        // A dry run changes nothing, so it does not keep other runs out.
        if args.dry_run {
            work.await
        } else {
            crate::lock::while_held(&conns, "rke up", work).await
        }
    })?;
    // A signal during the last step: all is done and saved, and the run still ends as stopped.
    up::STEPS.before(up::STEPS.names.len())?;
    match outcome {
        Outcome::DryRun {
            changes,
            addons,
            node_metadata,
        } => {
            report::set_data(json!({
                "dry_run": true,
                "pending_changes": changes,
                "addons": addons,
                "node_metadata": node_metadata,
            }));
            Ok(if changes == 0 { 0 } else { 2 })
        }
        Outcome::Applied(_) => {
            report::set_kubeconfig(&prepared.kubeconfig_path);
            report::set_data(json!({ "state_file": prepared.state_path }));
            println!(
                "Cluster is up ({:.1}s). Kubeconfig: {} (kubectl --kubeconfig {} get nodes)",
                started.elapsed().as_secs_f64(),
                prepared.kubeconfig_path.display(),
                prepared.kubeconfig_path.display()
            );
            Ok(0)
        }
    }
}

/// Connect to the nodes the last applied config had and this one has not. An unreachable
/// departed node is only a warning: its Kubernetes and etcd side can still be cleaned.
pub(super) async fn connect_departed(
    prepared: &DesiredCluster,
    args: &ConnectArgs,
) -> Vec<Departed> {
    let Some(applied) = prepared.applied_config() else {
        return Vec::new();
    };
    let gone: Vec<_> = up::departed_nodes(&applied.nodes, &prepared.cfg.nodes)
        .into_iter()
        .cloned()
        .collect();
    if gone.is_empty() {
        return Vec::new();
    }
    let mut cfg = applied.clone();
    cfg.nodes = gone.clone();
    let mut args = args.clone();
    // Their Docker version no longer matters: they are only cleaned.
    args.ignore_docker_version = true;
    let mut connected = nodes::connect(&cfg, &args).await;
    for e in &connected.errors {
        tracing::warn!("departing node {}: {e}", e.node());
    }
    gone.into_iter()
        .map(|node| {
            let conn = connected
                .nodes
                .iter()
                .position(|c| c.name() == node.hostname_override)
                .map(|i| connected.nodes.swap_remove(i));
            Departed { cfg: node, conn }
        })
        .collect()
}
