//! A kubelet's heartbeat: the Lease in `kube-node-lease` it renews every ~10 s. A renewal seen
//! after a node's kubelet was replaced can only come from the new kubelet, so it proves the new
//! kubelet reaches the API server with its credentials; the Node's Ready condition alone may
//! still be the old kubelet's last report.

use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::Api;

use super::nodes::is_ready;
use super::{KubeClient, api_error};
use crate::error::{ErrorKind, classified};

const NODE_LEASE_NAMESPACE: &str = "kube-node-lease";
const POLL: Duration = Duration::from_secs(1);

/// Whether `now` is a renewal made after `before` was read.
pub fn renewed_since(before: Option<&MicroTime>, now: Option<&MicroTime>) -> bool {
    match (before, now) {
        (Some(before), Some(now)) => now.0 > before.0,
        (None, Some(_)) => true,
        (_, None) => false,
    }
}

impl KubeClient {
    /// When `node`'s kubelet last renewed its Lease (`None`: no Lease, or never renewed).
    pub async fn lease_renewed(&self, node: &str) -> anyhow::Result<Option<MicroTime>> {
        let leases: Api<Lease> = Api::namespaced(self.client.clone(), NODE_LEASE_NAMESPACE);
        let lease = leases
            .get_opt(node)
            .await
            .map_err(|e| api_error(format!("reading node {node}'s lease"), e))?;
        Ok(lease.and_then(|l| l.spec?.renew_time))
    }

    /// Wait until `node` is Ready and its kubelet renewed its Lease after `before` (read once
    /// the old kubelet was gone). API errors are retried until the deadline: the API servers
    /// may be restarting.
    pub async fn wait_ready_with_new_heartbeat(
        &self,
        node: &str,
        before: Option<MicroTime>,
        timeout: Duration,
    ) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            let renewed = match self.lease_renewed(node).await {
                Ok(now) => renewed_since(before.as_ref(), now.as_ref()),
                Err(e) if Instant::now() < deadline => {
                    tracing::debug!(error = %e, node, "reading the node lease; retrying");
                    false
                }
                Err(e) => return Err(e),
            };
            let ready = renewed
                && match self.get_node(node).await {
                    Ok(found) => found.is_some_and(|n| is_ready(&n)),
                    Err(e) if Instant::now() < deadline => {
                        tracing::debug!(error = %e, node, "reading the node; retrying");
                        false
                    }
                    Err(e) => return Err(e),
                };
            if ready {
                return Ok(());
            }
            if Instant::now() >= deadline {
                let missing = if renewed {
                    "is not Ready"
                } else {
                    "has no heartbeat (node lease renewal) from its new kubelet"
                };
                return Err(classified(
                    ErrorKind::HealthTimeout,
                    format!(
                        "node {node} {missing} {}s after its components were replaced",
                        timeout.as_secs()
                    ),
                ));
            }
            tokio::time::sleep(POLL).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> MicroTime {
        MicroTime(k8s_openapi::jiff::Timestamp::from_second(secs).unwrap())
    }

    #[test]
    fn only_a_later_renewal_counts() {
        assert!(renewed_since(Some(&at(10)), Some(&at(11))));
        assert!(!renewed_since(Some(&at(10)), Some(&at(10))));
        assert!(!renewed_since(Some(&at(10)), Some(&at(9))));
        assert!(renewed_since(None, Some(&at(1))));
        assert!(!renewed_since(Some(&at(10)), None));
        assert!(!renewed_since(None, None));
    }
}
