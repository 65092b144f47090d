//! `rke etcd snapshot-agent --settings <file>` (hidden): the recurring snapshot agent that `rke up`
//! runs in the `etcd-rolling-snapshots` container on every etcd node. Not for interactive use.

use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct SnapshotAgentArgs {
    /// The settings file `rke up` wrote on the node.
    #[arg(long)]
    pub settings: PathBuf,
}

/// Run until SIGTERM. A single-threaded runtime: one snapshot at a time is all it does.
pub fn run(args: &SnapshotAgentArgs) -> anyhow::Result<i32> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(crate::snapshot::agent::run(&args.settings))?;
    Ok(0)
}
