//! `rke validate`: parse and check cluster.yml, print every problem, touch nothing.

use super::version_step::{self, VersionSkewArg};
use super::{ConfigArg, OutputFormat, output};
use crate::config::load::{self, LoadFailure, Loaded, format_problem};
use crate::error::ErrorKind;
use crate::events::report;
use clap::Args;
use serde::Serialize;

#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    #[command(flatten)]
    pub skew: VersionSkewArg,
}

#[derive(Serialize)]
struct Summary {
    nodes: usize,
    etcd: usize,
    controlplane: usize,
    worker: usize,
    kubernetes_version: String,
}

#[derive(Serialize)]
struct JsonReport<'a> {
    file: String,
    valid: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    summary: Option<Summary>,
    errors: Vec<serde_json::Value>,
    warnings: Vec<&'a crate::config::validate::Problem>,
}

pub fn run(args: &ValidateArgs) -> anyhow::Result<i32> {
    let path = &args.config.config;
    let mut loaded = match load::load(path) {
        Ok(l) => l,
        Err(failure) => return report_failure(args, &failure),
    };
    let requested = loaded.config.version.clone();
    if let Some(mut p) = version_step::problem(path, &requested, args.skew.allow_version_skew) {
        if let Ok(text) = crate::limits::read_file_to_string(path, crate::limits::CLUSTER_YML) {
            crate::config::validate::fill_positions(std::slice::from_mut(&mut p), &text);
        }
        loaded.problems.push(p);
    }
    match super::output_format() {
        OutputFormat::Text => {
            for p in &loaded.problems {
                eprintln!("{}", format_problem(path, p));
            }
            if loaded.is_valid() {
                let s = summary(&loaded);
                println!(
                    "{} is valid: {} node{} (etcd: {}, controlplane: {}, worker: {}), Kubernetes {}",
                    path.display(),
                    s.nodes,
                    if s.nodes == 1 { "" } else { "s" },
                    s.etcd,
                    s.controlplane,
                    s.worker,
                    s.kubernetes_version
                );
            } else {
                let n = loaded.errors().count();
                eprintln!(
                    "{}: {n} error{} found",
                    path.display(),
                    if n == 1 { "" } else { "s" }
                );
            }
        }
        OutputFormat::Json => {
            for p in loaded.errors() {
                report::add_error(ErrorKind::Config, None, None, &format_problem(path, p));
            }
            let report = JsonReport {
                file: path.display().to_string(),
                valid: loaded.is_valid(),
                summary: loaded.is_valid().then(|| summary(&loaded)),
                errors: loaded
                    .errors()
                    .map(serde_json::to_value)
                    .collect::<Result<_, _>>()?,
                warnings: loaded.warnings().collect(),
            };
            output::print_json(&report)?;
        }
    }
    Ok(if loaded.is_valid() {
        0
    } else {
        ErrorKind::Config.exit_code()
    })
}

/// The file could not even be parsed: one error, in the requested format.
fn report_failure(args: &ValidateArgs, failure: &LoadFailure) -> anyhow::Result<i32> {
    match super::output_format() {
        OutputFormat::Text => eprintln!("error: {failure}"),
        OutputFormat::Json => {
            report::add_error(ErrorKind::Config, None, None, &failure.to_string());
            let error = match failure {
                LoadFailure::Parse(e) => serde_json::to_value(e)?,
                LoadFailure::Unreadable { .. } => {
                    serde_json::json!({ "message": failure.to_string() })
                }
            };
            output::print_json(&serde_json::json!({
                "file": args.config.config.display().to_string(),
                "valid": false,
                "errors": [error],
                "warnings": [],
            }))?;
        }
    }
    Ok(ErrorKind::Config.exit_code())
}

fn summary(loaded: &Loaded) -> Summary {
    let nodes = &loaded.config.nodes;
    let count = |role: &str| nodes.iter().filter(|n| n.has_role(role)).count();
    Summary {
        nodes: nodes.len(),
        etcd: count("etcd"),
        controlplane: count("controlplane"),
        worker: count("worker"),
        kubernetes_version: loaded.config.version.clone(),
    }
}
