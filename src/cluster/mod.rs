//! Views derived from a defaulted [`RkeConfig`] that several commands share.

pub mod desired;
pub mod encryption;
pub mod targets;

use crate::certs::{KeyAlgorithm, NodeIdentity, PkiInput};
use crate::config::{RkeConfig, RkeConfigNode};
use std::path::Path;

/// RKE1 signs every certificate for ten years.
pub const DEFAULT_VALIDITY_DAYS: u32 = 3650;

fn identity(node: &RkeConfigNode) -> NodeIdentity {
    NodeIdentity {
        address: node.address.clone(),
        internal_address: node.effective_internal_address().to_string(),
        hostname: node.hostname_override.clone(),
    }
}

fn with_role(cfg: &RkeConfig, role: &str) -> Vec<NodeIdentity> {
    cfg.nodes
        .iter()
        .filter(|n| n.has_role(role))
        .map(identity)
        .collect()
}

/// What the PKI needs to know about the cluster.
pub fn pki_input(cfg: &RkeConfig, config_path: &Path) -> PkiInput {
    PkiInput {
        cluster_name: cfg.cluster_name.clone(),
        cluster_domain: cfg.services.kubelet.cluster_domain.clone(),
        service_cluster_ip_ranges: cfg
            .services
            .kube_api
            .service_cluster_ip_range
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
        control_plane: with_role(cfg, "controlplane"),
        etcd: with_role(cfg, "etcd"),
        all_nodes: cfg.nodes.iter().map(identity).collect(),
        extra_sans: cfg.authentication.sans.clone(),
        generate_serving_certificate: cfg.services.kubelet.generate_serving_certificate,
        validity_days: DEFAULT_VALIDITY_DAYS,
        key_algorithm: KeyAlgorithm::default(),
        local_kubeconfig_path: crate::certs::rke1_local_kubeconfig_path(config_path),
    }
}

/// The admin kubeconfig talks to the first control-plane node, as RKE1's does.
pub fn admin_server_url(cfg: &RkeConfig) -> Option<String> {
    cfg.nodes
        .iter()
        .find(|n| n.has_role("controlplane"))
        .map(|n| crate::certs::api_server_url(&n.address))
}

/// Each node of the config that has a connection, with it (connections are named after the
/// node's `hostname_override`, which defaulting fills in), in config order.
pub fn connected_nodes<'a>(
    cfg: &'a RkeConfig,
    conns: &'a [crate::transport::NodeConnection],
) -> Vec<(&'a RkeConfigNode, &'a crate::transport::NodeConnection)> {
    cfg.nodes
        .iter()
        .filter_map(|n| {
            conns
                .iter()
                .find(|c| c.name() == n.hostname_override)
                .map(|c| (n, c))
        })
        .collect()
}
