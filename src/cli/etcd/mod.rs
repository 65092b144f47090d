//! `rke etcd snapshot-save | snapshot-list | snapshot-restore` (RKE1's flags; `snapshot-list`
//! is new). The work is in [`crate::snapshot`]; these files read the config and state, connect
//! to the nodes and print the result. What the three share is here.

mod list;
mod restore;
mod rollback;
mod save;

pub use list::ListArgs;
pub use restore::RestoreArgs;
pub use save::SaveArgs;

use std::path::{Path, PathBuf};

use clap::Subcommand;

use super::nodes::{self, ConnectArgs};
use crate::certs::CertBundle;
use crate::config::{RkeConfig, load};
use crate::error::{ErrorKind, classified};
use crate::paths;
use crate::snapshot::s3::{self, S3Args, S3Store};
use crate::state::{self, FullState};
use crate::transport::NodeConnection;

// The variants are RKE1's command names (`snapshot-save`, ...).
#[allow(clippy::enum_variant_names)]
#[derive(Debug, Subcommand)]
pub enum EtcdCommand {
    /// Take an etcd snapshot and store it on every etcd node (and in S3 with --s3).
    SnapshotSave(SaveArgs),
    /// List the snapshots on each etcd node and in S3, with size, time and checksum.
    SnapshotList(ListArgs),
    /// Restore the cluster from a snapshot (stops the control plane and etcd, then runs `up`).
    SnapshotRestore(RestoreArgs),
    /// The recurring snapshot agent `rke up` runs on etcd nodes (not for interactive use).
    #[command(hide = true)]
    SnapshotAgent(super::snapshot_agent::SnapshotAgentArgs),
}

pub fn run(cmd: &EtcdCommand) -> anyhow::Result<i32> {
    let s3_args = match cmd {
        EtcdCommand::SnapshotSave(args) => Some(&args.s3),
        EtcdCommand::SnapshotList(args) => Some(&args.s3),
        EtcdCommand::SnapshotRestore(args) => Some(&args.s3),
        EtcdCommand::SnapshotAgent(_) => None,
    };
    if let Some(args) = s3_args {
        s3::guard_keys(args, &std::env::args_os().collect::<Vec<_>>());
    }
    match cmd {
        EtcdCommand::SnapshotSave(args) => save::run(args),
        EtcdCommand::SnapshotList(args) => list::run(args),
        EtcdCommand::SnapshotRestore(args) => restore::run(args),
        EtcdCommand::SnapshotAgent(args) => super::snapshot_agent::run(args),
    }
}

/// The config, and the local state file's path and bytes (when it exists).
pub(super) struct Loaded {
    pub cfg: RkeConfig,
    pub state_path: PathBuf,
    pub state: Option<FullState>,
    pub state_bytes: Option<Vec<u8>>,
}

pub(super) fn load_cluster(config_path: &Path) -> anyhow::Result<Loaded> {
    let cfg = load::load_valid(config_path)?.config;
    let state_path = paths::state_file(config_path);
    let state = state::load::<RkeConfig>(&state_path)?.map(|l| l.state);
    let state_bytes = match crate::limits::read_file(&state_path, crate::limits::STATE_FILE) {
        Ok(b) => Some(b),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            return Err(classified(
                ErrorKind::State,
                format!("reading {}: {e}", state_path.display()),
            ));
        }
    };
    Ok(Loaded {
        cfg,
        state_path,
        state,
        state_bytes,
    })
}

/// The certificates a running cluster uses: `currentState`'s, else `desiredState`'s.
pub(super) fn cluster_bundle(loaded: &Loaded) -> anyhow::Result<&CertBundle> {
    let missing = || {
        classified(
            ErrorKind::State,
            format!(
                "{} has no certificates: run `rke up` first (the snapshot commands need the \
                 cluster's kube-ca and kube-node certificates to reach etcd)",
                loaded.state_path.display()
            ),
        )
    };
    let state = loaded.state.as_ref().ok_or_else(missing)?;
    [&state.current_state, &state.desired_state]
        .into_iter()
        .map(|s| &s.certificates_bundle)
        .find(|b| !b.is_empty())
        .ok_or_else(missing)
}

/// Connect to the config's etcd nodes only (snapshots need nothing else).
pub(super) async fn connect_etcd(
    cfg: &RkeConfig,
    args: &ConnectArgs,
) -> anyhow::Result<Vec<NodeConnection>> {
    let mut etcd_only = cfg.clone();
    etcd_only.nodes.retain(|n| n.is_etcd());
    if etcd_only.nodes.is_empty() {
        return Err(classified(
            ErrorKind::Config,
            "the config has no etcd node (snapshots are taken from etcd nodes)",
        ));
    }
    nodes::connect_or_fail(&etcd_only, args).await
}

pub(super) use crate::snapshot::hosts::{ensure_images, etcd_hosts};

pub(super) async fn s3_store(args: &S3Args, cfg: &RkeConfig) -> anyhow::Result<Option<S3Store>> {
    match s3::settings(args, cfg)? {
        Some(settings) => Ok(Some(S3Store::connect(&settings).await?)),
        None => Ok(None),
    }
}
