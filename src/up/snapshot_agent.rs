//! `rke up`'s part in recurring snapshots: place the binary the agent runs (chosen by
//! [`crate::plan::binary_for`]) on each etcd node that runs an agent, warn when an agent does not stay up (RKE1 checks its
//! `etcd-rolling-snapshots` container right after starting it), and remove binaries no
//! container uses any more.

use std::time::Duration;

use anyhow::Context;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::change::Change;
use super::node::Node;
use crate::error::{ErrorKind, classified};
use crate::plan::plan_binary;
use crate::provision::node::{binary_present, prune_binaries, tail_logs, upload_local_file};
use crate::provision::spec::{NODE_BIN_DIR, names};
use crate::snapshot::agent::LocalBinary;
use crate::transport::NodeConnection;

/// How long an agent must have been up before its state says anything.
const SETTLE: Duration = Duration::from_secs(3);
const BINARY_PREFIX: &str = "rke-";

/// Whether `node` runs an agent in its plan.
fn runs_agent(node: &Node) -> bool {
    node.plan.container(names::ETCD_ROLLING_SNAPSHOTS).is_some()
}

/// Place the binary on the node when its plan runs an agent and it lacks it. Returns whether
/// it was uploaded.
pub async fn ensure_binary(
    node: &Node,
    binary: Option<&LocalBinary>,
    helper_image: &str,
) -> anyhow::Result<bool> {
    let Some(binary) = binary.filter(|_| runs_agent(node)) else {
        return Ok(false);
    };
    let path = plan_binary(binary).node_path();
    if binary_present(&node.conn, &path, binary.size, helper_image).await? {
        return Ok(false);
    }
    upload_local_file(&node.conn, &binary.path, &path, 0o755, helper_image)
        .await
        .context("snapshot agent binary")?;
    tracing::info!(node = node.name(), "snapshot agent binary {path} uploaded");
    Ok(true)
}

/// The upload of the binary, if the node's agent needs it and lacks it.
pub async fn pending_upload(
    node: &Node,
    binary: Option<&LocalBinary>,
    helper_image: &str,
) -> Option<Change> {
    let binary = binary.filter(|_| runs_agent(node))?;
    let path = plan_binary(binary).node_path();
    let unchecked = match binary_present(&node.conn, &path, binary.size, helper_image).await {
        Ok(true) => return None,
        Ok(false) => None,
        Err(e) => Some(format!("{e:#}")),
    };
    Some(Change::UploadAgent {
        node: node.name().to_string(),
        path,
        size: binary.size,
        unchecked,
    })
}

/// Warn about agents that exited or keep restarting, quoting their last lines. Never fails:
/// snapshots are not worth failing a run that brought the cluster up.
pub async fn check_started(node: &Node) {
    if !runs_agent(node) {
        return;
    }
    if let Err(e) = check(&node.conn).await {
        tracing::warn!(node = node.name(), "snapshot agent: {e:#}");
    }
}

async fn check(conn: &NodeConnection) -> anyhow::Result<()> {
    let name = names::ETCD_ROLLING_SNAPSHOTS;
    let mut state = inspect_state(conn).await?;
    if let Some(wait) = state.started.and_then(settle_wait) {
        tokio::time::sleep(wait).await;
        state = inspect_state(conn).await?;
    }
    // Not the restart count: it only grows, and would warn forever about a past failure.
    if state.running && !state.restarting {
        return Ok(());
    }
    let logs = tail_logs(conn, name, 5).await.unwrap_or_default();
    anyhow::bail!(
        "{name} is {} (restarted {} times), so no recurring snapshots are taken; last output:\n{}",
        state.status,
        state.restarts,
        logs.trim_end()
    )
}

/// How long to wait until an agent started at `started` has been up for [`SETTLE`].
fn settle_wait(started: OffsetDateTime) -> Option<Duration> {
    let up = OffsetDateTime::now_utc() - started;
    let left = time::Duration::try_from(SETTLE).ok()? - up;
    (left.is_positive()).then(|| left.unsigned_abs())
}

struct AgentState {
    status: String,
    running: bool,
    restarting: bool,
    restarts: i64,
    started: Option<OffsetDateTime>,
}

async fn inspect_state(conn: &NodeConnection) -> anyhow::Result<AgentState> {
    let name = names::ETCD_ROLLING_SNAPSHOTS;
    let c = conn
        .docker()
        .inspect_container(name, None)
        .await
        .map_err(|e| {
            classified(
                ErrorKind::Docker,
                format!("node {}: inspecting {name}: {e}", conn.name()),
            )
        })?;
    let s = c.state.unwrap_or_default();
    Ok(AgentState {
        status: s
            .status
            .map(|st| st.to_string())
            .unwrap_or_else(|| "unknown".into()),
        running: s.running.unwrap_or(false),
        restarting: s.restarting.unwrap_or(false),
        restarts: c.restart_count.unwrap_or(0),
        started: s
            .started_at
            .and_then(|t| OffsetDateTime::parse(&t, &Rfc3339).ok()),
    })
}

/// Remove agent binaries other than the current one and the one the node's agent container
/// uses (it may not have been replaced, e.g. with `--update-only`). Only warns on failure.
pub async fn prune_old(node: &Node, binary: &LocalBinary, helper_image: &str) {
    let current = plan_binary(binary).node_path();
    let in_use = node
        .conn
        .docker()
        .inspect_container(names::ETCD_ROLLING_SNAPSHOTS, None)
        .await
        .ok()
        .and_then(|c| c.config?.entrypoint?.into_iter().next());
    let keep: Vec<&str> = [Some(current.as_str()), in_use.as_deref()]
        .into_iter()
        .flatten()
        .filter_map(|p| p.strip_prefix(&format!("{NODE_BIN_DIR}/")))
        .collect();
    match prune_binaries(&node.conn, NODE_BIN_DIR, BINARY_PREFIX, &keep, helper_image).await {
        Ok(removed) if !removed.is_empty() => tracing::info!(
            node = node.name(),
            "old snapshot agent binaries removed: {}",
            removed.join(", ")
        ),
        Ok(_) => {}
        Err(e) => tracing::warn!(node = node.name(), "removing old agent binaries: {e:#}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settling_waits_only_for_fresh_starts() {
        assert_eq!(
            settle_wait(OffsetDateTime::now_utc() - time::Duration::hours(1)),
            None
        );
        let wait = settle_wait(OffsetDateTime::now_utc()).unwrap();
        assert!(wait <= SETTLE && wait > Duration::from_secs(2), "{wait:?}");
    }
}
