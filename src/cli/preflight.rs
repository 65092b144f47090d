//! `rke preflight`: the connect phase alone. Reaches every node over SSH, checks host keys,
//! authentication, the Docker socket and the Docker version, and reports what each engine is.
//! Read-only; `rke up` runs the same phase first.

use super::nodes::{self, ConnectArgs};
use super::{ConfigArg, OutputFormat, output};
use crate::config::load;
use crate::transport::NodeConnection;
use clap::Args;
use serde::Serialize;

#[derive(Debug, Args)]
pub struct PreflightArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

#[derive(Serialize)]
struct NodeReport<'a> {
    node: &'a str,
    address: &'a str,
    user: &'a str,
    docker: &'a crate::transport::DockerFacts,
}

#[derive(Serialize)]
struct FailedNode {
    node: String,
    kind: &'static str,
    error: String,
}

pub fn run(args: &PreflightArgs) -> anyhow::Result<i32> {
    let loaded = load::load_valid(&args.config.config)?;
    let rt = nodes::runtime()?;
    let connected = rt.block_on(nodes::connect(&loaded.config, &args.connect));
    match super::output_format() {
        OutputFormat::Text => print_table(&connected.nodes),
        OutputFormat::Json => {
            let ok: Vec<NodeReport> = connected.nodes.iter().map(report).collect();
            let failed: Vec<FailedNode> = connected
                .errors
                .iter()
                .map(|e| FailedNode {
                    node: e.node(),
                    kind: e.kind().as_str(),
                    error: e.to_string(),
                })
                .collect();
            output::print_json(&serde_json::json!({
                "success": failed.is_empty(),
                "nodes": ok,
                "errors": failed,
            }))?;
        }
    }
    if connected.errors.is_empty() {
        Ok(0)
    } else {
        Err(nodes::report_errors(&connected.errors))
    }
}

fn report(n: &NodeConnection) -> NodeReport<'_> {
    NodeReport {
        node: n.name(),
        address: n.address(),
        user: n.user(),
        docker: n.docker_facts(),
    }
}

fn print_table(nodes: &[NodeConnection]) {
    if nodes.is_empty() {
        return;
    }
    println!(
        "{:<20} {:<16} {:<8} {:<16} {:<5} {:<9} {:<8} OS",
        "NODE", "ADDRESS", "USER", "DOCKER", "API", "CGROUP", "ARCH"
    );
    for n in nodes {
        let f = n.docker_facts();
        println!(
            "{:<20} {:<16} {:<8} {:<16} {:<5} {:<9} {:<8} {}",
            n.name(),
            n.address(),
            n.user(),
            f.server_version,
            f.negotiated_api_version,
            f.cgroup_driver,
            f.architecture,
            f.operating_system
        );
    }
}
