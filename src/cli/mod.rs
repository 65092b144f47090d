//! Command-line interface: argument definitions here, one file per command.

use crate::error::{self, ErrorKind};
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
    Validate(ValidateArgs),
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

#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub output: OutputFormat,
}

/// Parse arguments, run the command and return the process exit code.
pub fn run() -> i32 {
    let cli = Cli::parse();
    let result: anyhow::Result<i32> = match cli.command {
        Command::Validate(_) => Ok(0),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", error::display_chain(&e));
            error::kind_of(&e).exit_code()
        }
    }
}

#[allow(dead_code)]
fn unused(_: ErrorKind) {}
