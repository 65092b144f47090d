//! The connect phase every node-touching command starts with: flags, and turning their
//! values plus `cluster.yml` into connected nodes or actionable per-node errors.

use crate::cluster::targets::{self, ConnectionOverrides};
use crate::config::{RkeConfig, versions};
use crate::error::{ErrorKind, classified};
use crate::transport::{self, ConnectOptions, HostKeyPolicy, NodeConnection, NodeError};
use clap::{Args, ValueEnum};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HostKeyChecking {
    /// Refuse hosts that are not in known_hosts.
    Strict,
    /// Learn unknown hosts; refuse changed keys (default).
    AcceptNew,
    /// Accept any host key (RKE1's behaviour; not recommended).
    Off,
}

/// Flags shared by every command that connects to nodes.
#[derive(Debug, Clone, Args)]
pub struct ConnectArgs {
    /// Use the SSH agent ($SSH_AUTH_SOCK) for every node (can only turn it on, as in RKE1).
    #[arg(long)]
    pub ssh_agent_auth: bool,
    /// Skip the Docker version check (also `ignore_docker_version: true` in cluster.yml).
    #[arg(long)]
    pub ignore_docker_version: bool,
    /// Host key policy; overrides `ssh_host_key_checking` in cluster.yml.
    #[arg(long, value_enum)]
    pub ssh_host_key_checking: Option<HostKeyChecking>,
    /// known_hosts file to check host keys against (default ~/.ssh/known_hosts).
    #[arg(long)]
    pub known_hosts: Option<PathBuf>,
    /// How many nodes to work on at once.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u16).range(1..))]
    pub max_parallel: u16,
    /// Seconds to wait for a node's SSH connection.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    pub ssh_timeout: u64,
}

impl ConnectArgs {
    /// `--max-parallel`: how many nodes any step works on at once.
    pub fn limit(&self) -> usize {
        usize::from(self.max_parallel)
    }

    fn options(&self, cfg: &RkeConfig) -> ConnectOptions {
        let flag = self.ssh_host_key_checking.map(|p| match p {
            HostKeyChecking::Strict => HostKeyPolicy::Strict,
            HostKeyChecking::AcceptNew => HostKeyPolicy::AcceptNew,
            HostKeyChecking::Off => HostKeyPolicy::Off,
        });
        let mut opts = ConnectOptions {
            policy: targets::host_key_policy(cfg, flag),
            timeout: Duration::from_secs(self.ssh_timeout),
            concurrency: self.limit(),
            ..ConnectOptions::default()
        };
        if let Some(k) = &self.known_hosts {
            opts.known_hosts = k.clone();
        }
        opts
    }
}

/// Every node connected, or the per-node errors (all of them, never a silent drop).
pub struct Connected {
    pub nodes: Vec<NodeConnection>,
    pub errors: Vec<NodeError>,
}

/// Connect to every node of `cfg` in parallel (bounded), checking each Docker engine's version
/// against the version table unless ignored.
pub async fn connect(cfg: &RkeConfig, args: &ConnectArgs) -> Connected {
    let overrides = ConnectionOverrides {
        ssh_agent_auth: args.ssh_agent_auth,
    };
    let targets = targets::ssh_targets(cfg, &overrides);
    let opts = args.options(cfg);
    let ignore = targets::ignore_docker_version(cfg, args.ignore_docker_version);
    let supported = versions::table()
        .docker_versions_for(&cfg.version)
        .map(|v| v.to_vec());
    let check = transport::supported_docker_versions(supported.clone().unwrap_or_default());
    // A version the table has no Docker list for cannot be checked: say so once, then skip.
    let skip = ignore || supported.is_none();
    if supported.is_none() && !ignore {
        tracing::warn!(
            "no supported Docker versions are known for Kubernetes {}: not checking them",
            cfg.version
        );
    }
    let connecting = async {
        let (nodes, errors) = transport::connect_all(&targets, &opts, &check, skip).await;
        // Connections happen together: one done/failed event per node once they are all in.
        for n in &nodes {
            tracing::debug!(target: crate::events::TARGET, node = n.name(), step = "connect",
                status = "done", "connected");
        }
        for e in &errors {
            tracing::debug!(target: crate::events::TARGET, node = e.node(), step = "connect",
                status = "failed", "{e}");
        }
        Connected { nodes, errors }
    };
    crate::events::phase_infallible("connect", targets.len(), connecting).await
}

/// [`connect`] for commands that need every node: the connections, or one error naming each
/// node that failed (see [`report_errors`]).
pub async fn connect_or_fail(
    cfg: &RkeConfig,
    args: &ConnectArgs,
) -> anyhow::Result<Vec<NodeConnection>> {
    let connected = connect(cfg, args).await;
    if !connected.errors.is_empty() {
        return Err(report_errors(&connected.errors));
    }
    Ok(connected.nodes)
}

/// One error for a failed connect phase (each node's problem was already logged as it happened),
/// with the class of the first.
pub fn report_errors(errors: &[NodeError]) -> anyhow::Error {
    for e in errors {
        crate::events::report::add_error(
            e.kind(),
            Some(&e.node()),
            Some("connect"),
            &e.to_string(),
        );
    }
    let kind = errors
        .first()
        .map(|e| e.kind())
        .unwrap_or(ErrorKind::Connection);
    classified(
        kind,
        format!(
            "{} of the nodes could not be used: {}",
            errors.len(),
            errors
                .iter()
                .map(|e| e.node())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    )
}

/// A runtime for the async node work of one command.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}
