//! After a failed run: which nodes no longer answer over SSH. A frozen or lost machine often
//! shows up first as a failure somewhere else (an API server whose etcd member went silent, a
//! health check through another node), so the error says which nodes stopped answering and
//! what to do, rather than leaving the operator with the first symptom.

use std::time::Duration;

use crate::transport::NodeConnection;

/// How long a node gets to run `true` before it counts as not answering.
const PROBE: Duration = Duration::from_secs(10);

/// Names of the nodes among `conns` that do not run a trivial command within [`PROBE`],
/// `limit` nodes probed at a time.
pub async fn unanswered(conns: &[NodeConnection], limit: usize) -> Vec<String> {
    let probes = crate::parallel::map(conns, limit, |c| async move {
        match tokio::time::timeout(PROBE, c.exec_shell_within("true", PROBE)).await {
            Ok(Ok(out)) if out.status == Some(0) => None,
            _ => Some(c.name().to_string()),
        }
    })
    .await;
    probes.into_iter().flatten().collect()
}

/// `error`, with the nodes that stopped answering named first (its class and exit code stay).
pub async fn name_unanswered(
    error: anyhow::Error,
    conns: &[NodeConnection],
    limit: usize,
) -> anyhow::Error {
    let lost = unanswered(conns, limit).await;
    if lost.is_empty() {
        return error;
    }
    error.context(format!(
        "node {} no longer answers over SSH (frozen, down or cut off): bring it back and run \
         `rke up` again, which finishes the run",
        lost.join(", ")
    ))
}
