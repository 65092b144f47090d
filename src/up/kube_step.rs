//! The Kubernetes side of `rke up`: reach the API server through a control-plane node's SSH
//! connection, apply RKE1's authorization objects, keep Node metadata in line with
//! `cluster.yml`, store the state Secret, and take departed nodes out of the cluster.

use std::time::Duration;

use super::Departed;
use super::node::Node;
use crate::certs::CertBundle;
use crate::config::{RkeConfig, RkeConfigNode};
use crate::error::{ErrorKind, classified};
use crate::kube_api::{KubeClient, NodeMetadata};

/// RKE1's node annotations with the node's addresses.
const EXTERNAL_IP: &str = "rke.cattle.io/external-ip";
const INTERNAL_IP: &str = "rke.cattle.io/internal-ip";

/// A client through the first control-plane node whose API server answers (on the node's
/// loopback, which the API certificate always covers).
pub async fn connect(
    nodes: &[Node],
    bundle: &CertBundle,
    timeout: Duration,
) -> anyhow::Result<KubeClient> {
    let mut errors = Vec::new();
    for node in nodes.iter().filter(|n| n.cfg.is_controlplane()) {
        let attempt = async {
            let client = KubeClient::connect(&node.conn, "127.0.0.1", bundle).await?;
            client.wait_api_ready(timeout).await?;
            anyhow::Ok(client)
        };
        match attempt.await {
            Ok(client) => return Ok(client),
            Err(e) => errors.push(format!("node {}: {e:#}", node.name())),
        }
    }
    Err(classified(
        ErrorKind::KubernetesApi,
        format!("no API server answered: {}", errors.join("; ")),
    ))
}

/// What rke sets on a node's object: role labels, cluster.yml labels and taints, and the
/// address annotations.
pub fn metadata(node: &RkeConfigNode) -> NodeMetadata {
    let mut m = NodeMetadata::for_node(&node.role, &node.labels, &node.taints);
    m.annotations
        .insert(EXTERNAL_IP.to_string(), node.address.clone());
    m.annotations.insert(
        INTERNAL_IP.to_string(),
        node.effective_internal_address().to_string(),
    );
    m
}

/// Wait for every node's kubelet to register, then bring each Node's labels, annotations and
/// taints to the config, removing what the previous config set and this one does not.
pub async fn sync_metadata(
    kube: &KubeClient,
    cfg: &RkeConfig,
    previous: Option<&RkeConfig>,
    timeout: Duration,
) -> anyhow::Result<()> {
    let names: Vec<String> = cfg
        .nodes
        .iter()
        .map(|n| n.hostname_override.clone())
        .collect();
    kube.wait_nodes_registered(&names, timeout).await?;
    for node in &cfg.nodes {
        let before = previous
            .and_then(|p| {
                p.nodes
                    .iter()
                    .find(|o| o.hostname_override == node.hostname_override)
            })
            .map(metadata)
            .unwrap_or_default();
        if kube
            .sync_node_metadata(&node.hostname_override, &metadata(node), &before)
            .await?
        {
            tracing::info!(node = %node.hostname_override, "labels, annotations and taints updated");
        }
    }
    Ok(())
}

/// Cordon and delete the Node objects of nodes that left `cluster.yml`.
pub async fn delete_departed(kube: &KubeClient, departed: &[Departed]) -> anyhow::Result<()> {
    for d in departed {
        let name = &d.cfg.hostname_override;
        if kube.get_node(name).await?.is_some() {
            kube.cordon(name).await?;
            kube.delete_node(name).await?;
            tracing::info!(node = %name, "removed from Kubernetes");
        }
    }
    Ok(())
}

/// After a restore, delete the Node objects the snapshot brought back that `cluster.yml` no
/// longer lists (RKE1's `RemoveOldNodes`, for every such node: a restored cluster's nodes are
/// the config's).
pub async fn delete_unlisted(kube: &KubeClient, cfg: &RkeConfig) -> anyhow::Result<()> {
    for name in kube.node_names().await? {
        if !cfg.nodes.iter().any(|n| n.hostname_override == name) {
            kube.delete_node(&name).await?;
            tracing::info!(node = %name, "removed from Kubernetes: not in the config");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_has_roles_config_labels_and_rke1_address_annotations() {
        let node = RkeConfigNode {
            address: "203.0.113.5".into(),
            internal_address: "10.0.0.5".into(),
            role: vec!["etcd".into(), "worker".into()],
            labels: [("tier".to_string(), "db".to_string())].into(),
            ..RkeConfigNode::default()
        };
        let m = metadata(&node);
        assert_eq!(m.labels["node-role.kubernetes.io/etcd"], "true");
        assert_eq!(m.labels["node-role.kubernetes.io/worker"], "true");
        assert!(
            !m.labels
                .contains_key("node-role.kubernetes.io/controlplane")
        );
        assert_eq!(m.labels["tier"], "db");
        assert_eq!(m.annotations[EXTERNAL_IP], "203.0.113.5");
        assert_eq!(m.annotations[INTERNAL_IP], "10.0.0.5");
        let no_internal = RkeConfigNode {
            address: "10.0.0.6".into(),
            ..RkeConfigNode::default()
        };
        assert_eq!(metadata(&no_internal).annotations[INTERNAL_IP], "10.0.0.6");
    }
}
