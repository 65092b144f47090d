//! `rke cert`: certificate signing requests, the expiry report, and rotation
//! ([`super::cert_rotate`]).

use super::{ConfigArg, OutputFormat, output};
use crate::certs::{self, EXPIRY_WARN_DAYS};
use crate::cluster;
use crate::config::RkeConfig;
use crate::config::load;
use crate::error::{Classify, ErrorKind, classified};
use crate::{paths, state};
use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum CertCommand {
    /// Write a CSR and key for every certificate a CA must sign (for `up --custom-certs`).
    GenerateCsr(GenerateCsrArgs),
    /// List every certificate in the state file with its subject, SANs and expiry.
    Check(CheckArgs),
    /// Renew certificates (all service certificates, those of --service, or everything with
    /// --rotate-ca) and restart the components that use them.
    Rotate(super::cert_rotate::RotateArgs),
}

#[derive(Debug, Args)]
pub struct GenerateCsrArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Output directory (default: `<config>_certs` next to the config).
    #[arg(long)]
    pub cert_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub config: ConfigArg,
}

pub fn run(cmd: &CertCommand) -> anyhow::Result<i32> {
    match cmd {
        CertCommand::GenerateCsr(args) => generate_csr(args),
        CertCommand::Check(args) => check(args),
        CertCommand::Rotate(args) => super::cert_rotate::run(args),
    }
}

fn generate_csr(args: &GenerateCsrArgs) -> anyhow::Result<i32> {
    let path = &args.config.config;
    let loaded = load::load_valid(path)?;
    let dir = args
        .cert_dir
        .clone()
        .unwrap_or_else(|| paths::cert_dir(path));
    let input = cluster::pki_input(&loaded.config, path);
    let written = certs::generate_csrs(&input, &dir).kind(ErrorKind::State)?;
    for f in &written {
        println!("{}", f.display());
    }
    eprintln!(
        "{} CSR files written to {}",
        written.len(),
        dir.to_string_lossy()
    );
    Ok(0)
}

fn check(args: &CheckArgs) -> anyhow::Result<i32> {
    let state_path = paths::state_file(&args.config.config);
    let loaded = state::load::<RkeConfig>(&state_path)?.ok_or_else(|| {
        classified(
            ErrorKind::State,
            format!(
                "no state file {}: run `rke up --init` (or `rke up`) first",
                state_path.display()
            ),
        )
    })?;
    let bundle = &loaded.state.desired_state.certificates_bundle;
    let report = certs::check(bundle, time::OffsetDateTime::now_utc());
    match super::output_format() {
        OutputFormat::Json => output::print_json(&serde_json::json!({
            "state_file": state_path.display().to_string(),
            "certificates": report,
        }))?,
        OutputFormat::Text => {
            println!(
                "{:<40} {:<44} {:<22} {:>9}",
                "NAME", "SUBJECT", "NOT AFTER", "DAYS LEFT"
            );
            for c in &report {
                println!(
                    "{:<40} {:<44} {:<22} {:>9}{}",
                    c.name,
                    c.subject,
                    c.not_after,
                    c.days_left,
                    if c.days_left < EXPIRY_WARN_DAYS {
                        "  WARNING: expires soon"
                    } else {
                        ""
                    }
                );
                if !c.sans.is_empty() {
                    println!("{:<40} SANs: {}", "", c.sans.join(", "));
                }
            }
        }
    }
    Ok(0)
}
