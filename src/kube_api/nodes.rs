//! Node objects: waiting for readiness, syncing rke's labels/taints, cordon and delete.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Node;
use kube::Api;
use kube::api::{DeleteParams, PostParams};

use super::metadata::{NodeMetadata, merge_metadata};
use super::{KubeClient, api_error};
use crate::error::{ErrorKind, classified};

const POLL: Duration = Duration::from_secs(1);
/// Replacing a Node races the kubelet's own status/lease updates; retry on conflict.
const CONFLICT_ATTEMPTS: u32 = 5;

/// Whether the node's `Ready` condition is `True`.
pub fn is_ready(node: &Node) -> bool {
    node.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

impl KubeClient {
    pub(super) fn nodes(&self) -> Api<Node> {
        Api::all(self.client.clone())
    }

    /// Every registered Node.
    pub async fn list_nodes(&self) -> anyhow::Result<Vec<Node>> {
        Ok(self
            .nodes()
            .list(&Default::default())
            .await
            .map_err(|e| api_error("listing nodes", e))?
            .items)
    }

    /// Wait until every named node is registered and Ready. On timeout the error lists the
    /// nodes that were missing or not Ready.
    pub async fn wait_nodes_ready(
        &self,
        names: &[String],
        timeout: Duration,
    ) -> anyhow::Result<()> {
        self.wait_nodes(names, timeout, true).await
    }

    /// Wait until every named node has registered (its kubelet created the Node object),
    /// Ready or not: without a network plugin nodes register but stay NotReady.
    pub async fn wait_nodes_registered(
        &self,
        names: &[String],
        timeout: Duration,
    ) -> anyhow::Result<()> {
        self.wait_nodes(names, timeout, false).await
    }

    async fn wait_nodes(
        &self,
        names: &[String],
        timeout: Duration,
        need_ready: bool,
    ) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            let pending = match self.nodes().list(&Default::default()).await {
                Ok(list) => {
                    let done: BTreeSet<String> = list
                        .items
                        .iter()
                        .filter(|n| !need_ready || is_ready(n))
                        .filter_map(|n| n.metadata.name.clone())
                        .collect();
                    names
                        .iter()
                        .filter(|n| !done.contains(*n))
                        .cloned()
                        .collect::<Vec<_>>()
                }
                // The API server may be restarting; only the deadline ends the wait.
                Err(e) if Instant::now() < deadline => {
                    tracing::debug!(error = %e, "listing nodes; retrying");
                    names.to_vec()
                }
                Err(e) => return Err(api_error("listing nodes", e)),
            };
            if pending.is_empty() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(classified(
                    ErrorKind::HealthTimeout,
                    format!(
                        "nodes not {} after {}s: {}",
                        if need_ready { "Ready" } else { "registered" },
                        timeout.as_secs(),
                        pending.join(", ")
                    ),
                ));
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Bring the node's labels, annotations and taints to `desired`, removing the ones in
    /// `previous` (what rke set last time) that are no longer wanted. Returns whether the
    /// node object changed.
    pub async fn sync_node_metadata(
        &self,
        node: &str,
        desired: &NodeMetadata,
        previous: &NodeMetadata,
    ) -> anyhow::Result<bool> {
        let api = self.nodes();
        let mut attempt = 1;
        loop {
            let mut obj = api
                .get(node)
                .await
                .map_err(|e| api_error(format!("reading node {node}"), e))?;
            let existing = NodeMetadata::of_node(&obj);
            let merged = merge_metadata(&existing, desired, previous);
            if merged == existing {
                return Ok(false);
            }
            obj.metadata.labels = Some(merged.labels);
            obj.metadata.annotations = Some(merged.annotations);
            obj.spec.get_or_insert_with(Default::default).taints =
                (!merged.taints.is_empty()).then_some(merged.taints);
            match api.replace(node, &PostParams::default(), &obj).await {
                Ok(_) => return Ok(true),
                Err(kube::Error::Api(s)) if s.code == 409 && attempt < CONFLICT_ATTEMPTS => {
                    attempt += 1;
                }
                Err(e) => {
                    return Err(api_error(
                        format!("updating labels/taints of node {node}"),
                        e,
                    ));
                }
            }
        }
    }

    /// Mark the node unschedulable.
    pub async fn cordon(&self, node: &str) -> anyhow::Result<()> {
        self.nodes()
            .cordon(node)
            .await
            .map_err(|e| api_error(format!("cordoning node {node}"), e))?;
        Ok(())
    }

    /// Mark the node schedulable again.
    pub async fn uncordon(&self, node: &str) -> anyhow::Result<()> {
        self.nodes()
            .uncordon(node)
            .await
            .map_err(|e| api_error(format!("uncordoning node {node}"), e))?;
        Ok(())
    }

    /// Delete the Node object; an absent node is already deleted.
    pub async fn delete_node(&self, node: &str) -> anyhow::Result<()> {
        match self.nodes().delete(node, &DeleteParams::default()).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
            Err(e) => Err(api_error(format!("deleting node {node}"), e)),
        }
    }

    /// The names of every registered Node.
    pub async fn node_names(&self) -> anyhow::Result<Vec<String>> {
        Ok(self
            .list_nodes()
            .await?
            .into_iter()
            .filter_map(|n| n.metadata.name)
            .collect())
    }

    /// The node object, `None` when it is not registered.
    pub async fn get_node(&self, node: &str) -> anyhow::Result<Option<Node>> {
        self.nodes()
            .get_opt(node)
            .await
            .map_err(|e| api_error(format!("reading node {node}"), e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{NodeCondition, NodeStatus};

    fn node(conds: &[(&str, &str)]) -> Node {
        Node {
            status: Some(NodeStatus {
                conditions: Some(
                    conds
                        .iter()
                        .map(|(t, s)| NodeCondition {
                            type_: t.to_string(),
                            status: s.to_string(),
                            ..Default::default()
                        })
                        .collect(),
                ),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn ready_means_ready_condition_true() {
        assert!(is_ready(&node(&[
            ("MemoryPressure", "False"),
            ("Ready", "True")
        ])));
        assert!(!is_ready(&node(&[("Ready", "False")])));
        assert!(!is_ready(&node(&[("Ready", "Unknown")])));
        assert!(!is_ready(&Node::default()));
    }
}
