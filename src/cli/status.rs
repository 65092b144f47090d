//! `rke status`: per node the component containers, their images and their drift from what
//! `rke up` would deploy now, the etcd members and their health, and certificate expiry; as
//! tables or one JSON object. Read-only: the certificates are computed in memory as `rke up`
//! would, and nothing is written to the nodes or the state file.
//!
//! Exit codes: 0 when every node was reached (drift, stopped containers, unhealthy members and
//! expiring certificates are data, not errors); when a node could not be reached the report is
//! still printed, with that node's error, and the exit code is that error's class (4 for a
//! connection failure); 3 for a bad config; 11 without a state file.

use clap::Args;

use super::nodes::{self, ConnectArgs};
use super::{ConfigArg, OutputFormat, output};
use crate::cluster::desired::{self, CertSource};
use crate::config::load;
use crate::error::{ErrorKind, classified};
use crate::status::{self, ConnectFailure};
use crate::{paths, state};

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

pub fn run(args: &StatusArgs) -> anyhow::Result<i32> {
    let config_path = &args.config.config;
    // The config's errors first (exit 3), then the state (exit 11), before any key is made.
    load::load_valid(config_path)?;
    let state_path = paths::state_file(config_path);
    if state::load::<crate::config::RkeConfig>(&state_path)?.is_none() {
        return Err(classified(
            ErrorKind::State,
            format!("no state file {}: run rke up first", state_path.display()),
        ));
    }
    let desired = desired::load(config_path, &CertSource::default())?;
    let mut connect = args.connect.clone();
    // Reading a node needs no particular Docker version.
    connect.ignore_docker_version = true;
    let (report, errors) = nodes::runtime()?.block_on(async {
        let connected = nodes::connect(&desired.cfg, &connect).await;
        let failures: Vec<ConnectFailure> = connected
            .errors
            .iter()
            .map(|e| ConnectFailure {
                node: e.node(),
                kind: e.kind().as_str(),
                error: e.to_string(),
            })
            .collect();
        let report = status::gather(&desired, &connected.nodes, &failures, connect.limit()).await?;
        anyhow::Ok((report, connected.errors))
    })?;
    match super::output_format() {
        OutputFormat::Text => print!("{}", status::text::render(&report)),
        OutputFormat::Json => output::print_json(&report)?,
    }
    if errors.is_empty() {
        Ok(0)
    } else {
        Err(nodes::report_errors(&errors))
    }
}
