//! `rke etcd snapshot-restore --rollback`: undo an interrupted restore. Every etcd member gets
//! the data it had before the restore back (members the restore never reached keep theirs), the
//! state file from before the restore is put back, and the normal `rke up` brings the cluster
//! up; then the journal goes. The local state copy (`<state file>.pre-restore`) is what
//! `snapshot-restore` keeps until the restored cluster is healthy.

use std::path::{Path, PathBuf};
use std::time::Instant;

use super::restore::RestoreArgs;
use super::{ensure_images, etcd_hosts, load_cluster};
use crate::cli::nodes;
use crate::cluster::desired;
use crate::error::{ErrorKind, classified};
use crate::events::{phase, report};
use crate::snapshot::restore::{self, Action, Request, decide, read_journals};
use crate::up::{self, Options};

/// The copy of the state file from before a restore.
pub fn kept_state_path(state_path: &Path) -> PathBuf {
    let mut name = state_path.as_os_str().to_owned();
    name.push(".pre-restore");
    PathBuf::from(name)
}

/// Keep the state file's bytes from before the restore (nothing when there is none).
pub fn keep_state(state_path: &Path, bytes: Option<&[u8]>) -> anyhow::Result<()> {
    let Some(bytes) = bytes else { return Ok(()) };
    let kept = kept_state_path(state_path);
    crate::fsutil::write_private_atomic(&kept, bytes, crate::fsutil::Backup::None).map_err(|e| {
        classified(
            ErrorKind::State,
            format!(
                "keeping the state from before the restore in {}: {e}",
                kept.display()
            ),
        )
    })
}

/// The restore completed: the kept state is no longer needed.
pub fn drop_kept_state(state_path: &Path) {
    let kept = kept_state_path(state_path);
    if let Err(e) = std::fs::remove_file(&kept)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!("could not delete {}: {e}", kept.display());
    }
}

pub fn local_host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "unknown-host".into())
}

pub fn run(args: &RestoreArgs) -> anyhow::Result<i32> {
    let started = Instant::now();
    let config_path = &args.config.config;
    let loaded = load_cluster(config_path)?;
    let cfg = &loaded.cfg;
    let helper = cfg.system_images.alpine.clone();
    let kept = kept_state_path(&loaded.state_path);
    let (snapshot, put_back) = nodes::runtime()?.block_on(async {
        let conns = nodes::connect_or_fail(cfg, &args.connect).await?;
        let locked = conns.clone();
        crate::lock::while_held(&locked, "rke etcd snapshot-restore --rollback", async {
            let hosts = etcd_hosts(cfg, &conns);
            let etcd_conns: Vec<_> = hosts.iter().map(|h| h.conn).collect();
            let snapshot = match decide(&Request::Rollback, &read_journals(&etcd_conns).await) {
                Action::RollBack { snapshot } => snapshot,
                Action::Refuse(msg) => return Err(classified(ErrorKind::Snapshot, msg)),
                other => unreachable!("a rollback is never {other:?}"),
            };
            ensure_images(cfg, &etcd_conns, &[&helper]).await?;
            let control: Vec<_> = crate::cluster::connected_nodes(cfg, &conns)
                .into_iter()
                .filter(|(n, _)| n.is_controlplane())
                .map(|(_, c)| c)
                .collect();
            let rolling = restore::roll_back(&hosts, &control, cfg, &helper);
            let put_back = phase("rollback", hosts.len(), rolling).await?;
            if kept.exists() {
                std::fs::rename(&kept, &loaded.state_path).map_err(|e| {
                    classified(
                        ErrorKind::State,
                        format!(
                            "putting back the state from before the restore ({} -> {}): {e}",
                            kept.display(),
                            loaded.state_path.display()
                        ),
                    )
                })?;
                tracing::info!("put back the state file from before the restore");
            } else {
                tracing::warn!(
                    "no {}: the cluster comes up with the state the restore wrote (the \
                     snapshot's, same CA)",
                    kept.display()
                );
            }
            let desired = desired::load(config_path, &args.certs.source())?;
            let opts = Options {
                health_timeout: std::time::Duration::from_secs(args.health_timeout),
                limit: usize::from(args.connect.max_parallel),
                ..Options::default()
            };
            restore::wait_for_members(&hosts, &desired.bundle, opts.health_timeout).await?;
            up::up(&desired, conns.clone(), Vec::new(), &opts).await?;
            restore::clean_up(&hosts, cfg, &helper).await?;
            anyhow::Ok((snapshot, put_back))
        })
        .await
    })?;
    let kubeconfig = crate::paths::admin_kubeconfig(config_path);
    report::set_kubeconfig(&kubeconfig);
    report::set_data(serde_json::json!({
        "snapshot": snapshot,
        "outcome": "rolled_back",
        "data_put_back_on": put_back,
    }));
    let nodes = if put_back.is_empty() {
        "no member's data had been replaced yet".to_string()
    } else {
        format!("the data from before it is back on {}", put_back.join(", "))
    };
    println!(
        "Rolled back the interrupted restore of snapshot {snapshot} in {:.1}s: {nodes}. \
         Kubeconfig: {}",
        started.elapsed().as_secs_f64(),
        kubeconfig.display()
    );
    Ok(0)
}
