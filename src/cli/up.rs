//! `rke up`: validate, build or reuse the PKI, write the state file and kubeconfig (`--init`
//! stops there), then connect to every node and converge the cluster (see [`crate::up`]).

use super::ConfigArg;
use super::nodes::{self, ConnectArgs};
use super::version_step::{self, VersionSkewArg};
use crate::cluster::desired::{self, CertSource};
use crate::events::report;
use crate::up::phases::connect;
use crate::up::recover::RecoverOptions;
use crate::up::render::render;
use crate::up::{self, Options, Outcome};
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
    let desired = desired::load(config_path, &args.certs.source())?;
    version_step::enforce(
        desired.applied_config().map(|c| c.version.as_str()),
        &desired.cfg.version,
        args.skew.allow_version_skew,
    )?;
    if args.init {
        desired.write_desired()?;
        report::set_kubeconfig(&desired.kubeconfig_path);
        report::set_data(json!({ "init": true, "state_file": desired.state_path }));
        println!(
            "Initialized {}: state {}, admin kubeconfig {}",
            config_path.display(),
            desired.state_path.display(),
            desired.kubeconfig_path.display()
        );
        return Ok(0);
    }
    let opts = Options {
        dry_run: args.dry_run,
        update_only: args.update_only,
        limit: args.connect.limit(),
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
        limit: opts.limit,
    };
    let (desired, outcome) = nodes::runtime()?.block_on(async {
        // A dry run changes nothing: Ctrl-C may end it at once.
        if !args.dry_run {
            crate::interrupt::install("rke up")?;
        }
        let conns = nodes::connect_or_fail(&desired.cfg, &args.connect).await?;
        up::STEPS.before(0)?;
        let work = async {
            let desired = connect::known_cluster(desired, &conns, &recover_opts).await?;
            version_step::enforce(
                desired.applied_config().map(|c| c.version.as_str()),
                &desired.cfg.version,
                args.skew.allow_version_skew,
            )?;
            let departed = connect::departed(&desired, &args.connect).await;
            let outcome = match up::up(&desired, conns.clone(), departed, &opts).await {
                Ok(outcome) => outcome,
                Err(e) => return Err(up::name_unanswered(e, &conns, opts.limit).await),
            };
            anyhow::Ok((desired, outcome))
        };
        // A dry run changes nothing, so it does not keep other runs out.
        if args.dry_run {
            work.await
        } else {
            crate::lock::while_held(&conns, "rke up", opts.limit, work).await
        }
    })?;
    // A signal during the last step: all is done and saved, and the run still ends as stopped.
    up::STEPS.before(up::STEPS.names.len())?;
    match outcome {
        Outcome::DryRun(plan) => {
            let (text, data) = render(&plan);
            print!("{text}");
            report::set_data(data);
            Ok(if plan.pending() == 0 { 0 } else { 2 })
        }
        Outcome::Applied(_) => {
            report::set_kubeconfig(&desired.kubeconfig_path);
            report::set_data(json!({ "state_file": desired.state_path }));
            println!(
                "Cluster is up ({:.1}s). Kubeconfig: {} (kubectl --kubeconfig {} get nodes)",
                started.elapsed().as_secs_f64(),
                desired.kubeconfig_path.display(),
                desired.kubeconfig_path.display()
            );
            Ok(0)
        }
    }
}
