//! Command-line interface: argument definitions here, one file per command.

mod cert;
mod cert_rotate;
mod config_cmd;
mod etcd;
mod local_kube;
mod nodes;
mod output;
mod preflight;
mod remove;
mod snapshot_agent;
mod snapshot_list;
mod snapshot_restore;
mod status;
mod up;
mod util;
mod validate;
mod version;

use crate::error;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "rke",
    version,
    about = "Kubernetes installer compatible with RKE1 cluster.yml and cluster.rkestate"
)]
pub struct Cli {
    /// Debug logging.
    #[arg(short = 'd', long, global = true)]
    pub debug: bool,
    /// Only print errors.
    #[arg(short = 'q', long, global = true)]
    pub quiet: bool,
    /// Trace logging (very verbose).
    #[arg(long, global = true)]
    pub trace: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check cluster.yml for errors without touching any node.
    Validate(validate::ValidateArgs),
    /// Bring up or update the cluster described by cluster.yml (`--dry-run` to preview).
    Up(up::UpArgs),
    /// Write a cluster.yml, or list supported Kubernetes versions and their images.
    Config(config_cmd::ConfigArgs),
    /// Connect to every node and check SSH, host keys, the Docker socket and Docker version.
    Preflight(preflight::PreflightArgs),
    /// Certificate utilities.
    #[command(subcommand)]
    Cert(cert::CertCommand),
    /// etcd snapshots: save, list, restore.
    #[command(subcommand)]
    Etcd(etcd::EtcdCommand),
    /// Show each node's components (state, image, drift from cluster.yml), etcd health and
    /// certificate expiry. Read-only.
    Status(status::StatusArgs),
    /// Remove the cluster from every node, then the local kubeconfig and state file.
    Remove(remove::RemoveArgs),
    /// Retrieve the state file from the cluster, or rebuild the admin kubeconfig.
    #[command(subcommand)]
    Util(util::UtilCommand),
    /// Show rke's version and the cluster's Kubernetes version.
    Version(version::VersionArgs),
}

/// Output format of commands that report results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum OutputFormat {
    #[default]
    Text,
    Json,
}

/// `--config`, shared by most commands (RKE1: default `cluster.yml`, env `RKE_CONFIG`).
#[derive(Debug, Clone, Args)]
pub struct ConfigArg {
    /// Cluster configuration file.
    #[arg(long, env = "RKE_CONFIG", default_value = "cluster.yml")]
    pub config: PathBuf,
}

/// Parse arguments, run the command and return the process exit code.
pub fn run() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Usage errors exit with the config-error code: clap's own code (2) is reserved
            // for "`--dry-run` found pending changes".
            let _ = e.print();
            return if e.use_stderr() {
                error::ErrorKind::Config.exit_code()
            } else {
                0
            };
        }
    };
    init_logging(&cli);
    if let Err(e) = crate::config::versions::init_from_env() {
        eprintln!("error: {}", error::display_chain(&e));
        return error::kind_of(&e).exit_code();
    }
    let result: anyhow::Result<i32> = match cli.command {
        Command::Validate(args) => validate::run(&args),
        Command::Up(args) => up::run(&args),
        Command::Config(args) => config_cmd::run(&args),
        Command::Cert(cmd) => cert::run(&cmd),
        Command::Preflight(args) => preflight::run(&args),
        Command::Etcd(cmd) => etcd::run(&cmd),
        Command::Remove(args) => remove::run(&args),
        Command::Status(args) => status::run(&args),
        Command::Util(cmd) => util::run(&cmd),
        Command::Version(args) => version::run(&args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", error::display_chain(&e));
            error::kind_of(&e).exit_code()
        }
    }
}

/// Logs go to stderr; stdout is reserved for command output (tables, JSON).
fn init_logging(cli: &Cli) {
    use std::io::IsTerminal;
    let level = if cli.trace {
        "trace"
    } else if cli.debug {
        "debug"
    } else if cli.quiet {
        "error"
    } else {
        "info"
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .without_time()
        .try_init();
}
