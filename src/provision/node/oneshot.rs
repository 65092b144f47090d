//! One-shot containers run to completion: the cleaner, the snapshot lister, the etcd restore.
//! Created as [`Helper`]s, started, waited for with a deadline, their output collected, and
//! always removed afterwards.

use std::time::Duration;

use futures_util::StreamExt;

use super::docker_error;
use super::helper::{self, Helper, HostAccess};
use super::logs::tail_logs;
use crate::error::{ErrorKind, classified};
use crate::transport::NodeConnection;

/// Log lines quoted when a one-shot container fails.
const LOG_TAIL_LINES: usize = 20;
/// Output kept from a successful run (one line per snapshot for the lister).
const OUTPUT_LINES: usize = 100_000;

/// Create `helper`, run it to the end within `timeout` and remove it. Returns its output
/// (stdout and stderr); a non-zero exit or the deadline is an error (Docker class) naming
/// `what` and quoting its last lines.
pub(crate) async fn run(
    node: &NodeConnection,
    helper: Helper<'_>,
    what: &str,
    timeout: Duration,
) -> anyhow::Result<String> {
    run_with(node, helper, HostAccess::Confined, what, timeout).await
}

/// [`run`] with the given host access (privileged, host PID namespace for mount work).
pub(crate) async fn run_with(
    node: &NodeConnection,
    helper: Helper<'_>,
    access: HostAccess,
    what: &str,
    timeout: Duration,
) -> anyhow::Result<String> {
    let label = helper.what.to_string();
    let name = helper::create_with(node, helper, access).await?;
    let outcome = run_to_end(node, &name, what, timeout).await;
    let removed = helper::force_remove(node, &name, &format!("{label} {name}")).await;
    let output = outcome?;
    removed?;
    Ok(output)
}

async fn run_to_end(
    node: &NodeConnection,
    name: &str,
    what: &str,
    timeout: Duration,
) -> anyhow::Result<String> {
    node.docker()
        .start_container(name, None)
        .await
        .map_err(|e| docker_error(node, format!("starting {name} ({what})"), e))?;
    let mut wait = node.docker().wait_container(name, None);
    let code = match tokio::time::timeout(timeout, wait.next()).await {
        Err(_) => {
            let logs = tail_logs(node, name, LOG_TAIL_LINES)
                .await
                .unwrap_or_default();
            return Err(classified(
                ErrorKind::Docker,
                format!(
                    "node {}: {what}: still running after {} s; last output:\n{}",
                    node.name(),
                    timeout.as_secs(),
                    logs.trim_end()
                ),
            ));
        }
        Ok(Some(Ok(response))) => response.status_code,
        Ok(Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. }))) => code,
        Ok(Some(Err(e))) => return Err(docker_error(node, format!("waiting for {name}"), e)),
        Ok(None) => {
            return Err(classified(
                ErrorKind::Docker,
                format!(
                    "node {}: {what}: the engine ended the wait without a status",
                    node.name()
                ),
            ));
        }
    };
    if code == 0 {
        return tail_logs(node, name, OUTPUT_LINES).await;
    }
    let logs = tail_logs(node, name, LOG_TAIL_LINES)
        .await
        .unwrap_or_default();
    Err(classified(
        ErrorKind::Docker,
        format!(
            "node {}: {what}: exited with status {code}; last output:\n{}",
            node.name(),
            logs.trim_end()
        ),
    ))
}
