//! Command-line interface: argument definitions here, one file per command.

mod cert;
mod cert_rotate;
mod config_cmd;
mod etcd;
mod local_kube;
pub(crate) mod nodes;
mod output;
mod preflight;
mod remove;
mod snapshot_agent;
mod status;
mod up;
mod util;
mod validate;
mod version;
mod version_step;

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
    /// Output format: `json` writes one JSON object per line on stdout (events, then a
    /// closing result object).
    #[arg(long, global = true, value_enum, default_value_t)]
    pub output: OutputFormat,
    /// Plain log lines instead of live progress, also on a terminal (automatic when stdout
    /// or stderr is not a terminal, or `CI` is set).
    #[arg(long, global = true)]
    pub no_progress: bool,
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
    let started = std::time::Instant::now();
    init_logging(&cli);
    if let Err(e) = crate::config::versions::init_from_env() {
        return finish(Err(e), started);
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
    finish(result, started)
}

/// Report the end of the run (the JSON result object, or the error line) and pick the exit code.
fn finish(result: anyhow::Result<i32>, started: std::time::Instant) -> i32 {
    match result {
        Ok(code) => {
            crate::events::finish(code, None, started);
            code
        }
        Err(e) => {
            let code = crate::interrupt::exit_code(&e);
            crate::events::finish(code, Some(&e), started);
            // Masked like the JSON stream: an error may quote a secret (an S3 server's message).
            let line = crate::events::redact::scrub(&error::display_chain(&e));
            eprintln!("error: {line}");
            code
        }
    }
}

/// The global `--output` (every command accepts it).
pub fn output_format() -> OutputFormat {
    if crate::events::json() {
        OutputFormat::Json
    } else {
        OutputFormat::Text
    }
}

impl Command {
    /// The command's name as typed (`up`, `etcd snapshot-save`), for events and the result.
    fn name(&self) -> String {
        use clap::CommandFactory;
        let cli = Cli::command();
        // Walk the typed words down the subcommand tree; flags and their values are skipped.
        let mut words = Vec::new();
        let mut at = &cli;
        for word in std::env::args().skip(1) {
            if let Some(sub) = at.find_subcommand(&word) {
                words.push(sub.get_name().to_string());
                at = sub;
            }
        }
        if words.is_empty() {
            format!("{self:?}")
                .split('(')
                .next()
                .unwrap_or("")
                .to_lowercase()
        } else {
            words.join(" ")
        }
    }
}

/// Logs go to stderr; stdout is reserved for command output (tables, JSON). The sink (JSON
/// stream, live progress or plain text) is chosen here, once.
fn init_logging(cli: &Cli) {
    use crate::events::mode;
    let level = if cli.trace {
        "trace"
    } else if cli.debug {
        "debug"
    } else if cli.quiet {
        "error"
    } else {
        "info"
    };
    let inputs = mode::Inputs::detect(cli.output == OutputFormat::Json, cli.no_progress);
    crate::events::init(mode::choose(inputs), level, &cli.command.name());
}
