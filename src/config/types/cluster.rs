//! Cluster-wide settings: the root [`RkeConfig`] and its small sections.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{
    CloudProvider, DnsConfig, IngressConfig, MonitoringConfig, NetworkConfig, RkeConfigNode,
    RkeConfigServices, SystemImages, is_default,
};

/// Root of `cluster.yml` (Go `RancherKubernetesEngineConfig`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RkeConfig {
    /// Kubernetes nodes.
    #[serde(skip_serializing_if = "is_default")]
    pub nodes: Vec<RkeConfigNode>,
    /// Kubernetes components.
    #[serde(skip_serializing_if = "is_default")]
    pub services: RkeConfigServices,
    /// Network plugin (canal, flannel, calico, weave, aci, none).
    #[serde(skip_serializing_if = "is_default")]
    pub network: NetworkConfig,
    #[serde(skip_serializing_if = "is_default")]
    pub authentication: AuthnConfig,
    /// User addon manifests (YAML), deployed as `rke-user-addon`.
    #[serde(skip_serializing_if = "is_default")]
    pub addons: String,
    /// URLs or paths of user addon manifests.
    #[serde(skip_serializing_if = "is_default")]
    pub addons_include: Vec<String>,
    #[serde(skip_serializing_if = "is_default")]
    pub system_images: SystemImages,
    /// Cluster-wide SSH private key path.
    #[serde(skip_serializing_if = "is_default")]
    pub ssh_key_path: String,
    #[serde(skip_serializing_if = "is_default")]
    pub ssh_cert_path: String,
    #[serde(skip_serializing_if = "is_default")]
    pub ssh_agent_auth: bool,
    #[serde(skip_serializing_if = "is_default")]
    pub authorization: AuthzConfig,
    #[serde(skip_serializing_if = "is_default")]
    pub ignore_docker_version: Option<bool>,
    #[serde(skip_serializing_if = "is_default")]
    pub enable_cri_dockerd: Option<bool>,
    /// Kubernetes version, e.g. `v1.32.5-rancher1-1`.
    #[serde(rename = "kubernetes_version", skip_serializing_if = "is_default")]
    pub version: String,
    #[serde(skip_serializing_if = "is_default")]
    pub private_registries: Vec<PrivateRegistry>,
    #[serde(skip_serializing_if = "is_default")]
    pub ingress: IngressConfig,
    #[serde(skip_serializing_if = "is_default")]
    pub cluster_name: String,
    #[serde(skip_serializing_if = "is_default")]
    pub cloud_provider: CloudProvider,
    #[serde(skip_serializing_if = "is_default")]
    pub prefix_path: String,
    #[serde(rename = "win_prefix_path", skip_serializing_if = "is_default")]
    pub windows_prefix_path: String,
    /// Seconds to wait for addon deployment jobs.
    #[serde(skip_serializing_if = "is_default")]
    pub addon_job_timeout: i64,
    #[serde(skip_serializing_if = "is_default")]
    pub bastion_host: BastionHost,
    #[serde(skip_serializing_if = "is_default")]
    pub monitoring: MonitoringConfig,
    #[serde(skip_serializing_if = "is_default")]
    pub restore: RestoreConfig,
    #[serde(skip_serializing_if = "is_default")]
    pub rotate_certificates: Option<RotateCertificates>,
    #[serde(skip_serializing_if = "is_default")]
    pub rotate_encryption_key: bool,
    #[serde(skip_serializing_if = "is_default")]
    pub dns: Option<DnsConfig>,
    #[serde(skip_serializing_if = "is_default")]
    pub upgrade_strategy: Option<NodeUpgradeStrategy>,
    #[serde(skip_serializing_if = "is_default")]
    pub cri_dockerd_stream_server_address: String,
    #[serde(skip_serializing_if = "is_default")]
    pub cri_dockerd_stream_server_port: String,
    /// Not in RKE1 (which never checked host keys): `strict`, `accept-new` (default) or `off`.
    #[serde(skip_serializing_if = "is_default")]
    pub ssh_host_key_checking: String,
}

/// Rolling upgrade limits and node drain behaviour.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NodeUpgradeStrategy {
    /// A node count or a percentage such as `10%`.
    #[serde(skip_serializing_if = "is_default")]
    pub max_unavailable_worker: String,
    #[serde(skip_serializing_if = "is_default")]
    pub max_unavailable_controlplane: String,
    #[serde(skip_serializing_if = "is_default")]
    pub drain: Option<bool>,
    #[serde(rename = "node_drain_input", skip_serializing_if = "is_default")]
    pub drain_input: Option<NodeDrainInput>,
}

/// Options for `kubectl drain`-like node draining.
///
/// Keys left out of the file take RKE1's values (its `parseNodeDrainInput` fills them at parse
/// time): `ignore_daemonsets: true`, `grace_period: -1`, `timeout: 120`. Hence the hand-written
/// [`Default`], and the always-serialized fields, so an explicit `0` survives a round trip.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NodeDrainInput {
    #[serde(skip_serializing_if = "is_default")]
    pub force: bool,
    #[serde(rename = "ignore_daemonsets")]
    pub ignore_daemon_sets: Option<bool>,
    #[serde(skip_serializing_if = "is_default")]
    pub delete_local_data: bool,
    /// Seconds; negative means the pod's own grace period.
    pub grace_period: i64,
    /// Seconds, 1-10800.
    pub timeout: i64,
}

impl Default for NodeDrainInput {
    fn default() -> Self {
        NodeDrainInput {
            force: false,
            ignore_daemon_sets: Some(true),
            delete_local_data: false,
            grace_period: -1,
            timeout: 120,
        }
    }
}

/// SSH jump host used to reach every node.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BastionHost {
    #[serde(skip_serializing_if = "is_default")]
    pub address: String,
    #[serde(skip_serializing_if = "is_default")]
    pub port: String,
    #[serde(skip_serializing_if = "is_default")]
    pub user: String,
    #[serde(skip_serializing_if = "is_default")]
    pub ssh_agent_auth: bool,
    #[serde(skip_serializing_if = "is_default")]
    pub ssh_key: String,
    #[serde(skip_serializing_if = "is_default")]
    pub ssh_key_path: String,
    #[serde(skip_serializing_if = "is_default")]
    pub ssh_cert: String,
    #[serde(skip_serializing_if = "is_default")]
    pub ssh_cert_path: String,
    #[serde(skip_serializing_if = "is_default")]
    pub ignore_proxy_env_vars: bool,
}

/// A registry with optional credentials.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PrivateRegistry {
    #[serde(skip_serializing_if = "is_default")]
    pub url: String,
    #[serde(skip_serializing_if = "is_default")]
    pub user: String,
    #[serde(skip_serializing_if = "is_default")]
    pub password: String,
    /// Prefix every default system image with this registry.
    #[serde(skip_serializing_if = "is_default")]
    pub is_default: bool,
    #[serde(skip_serializing_if = "is_default")]
    pub ecr_credential_plugin: Option<EcrCredentialPlugin>,
}

/// AWS credentials for the kubelet ECR credential plugin.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EcrCredentialPlugin {
    #[serde(skip_serializing_if = "is_default")]
    pub aws_access_key_id: String,
    #[serde(skip_serializing_if = "is_default")]
    pub aws_secret_access_key: String,
    #[serde(skip_serializing_if = "is_default")]
    pub aws_session_token: String,
}

/// Authentication strategy and extra API server certificate SANs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthnConfig {
    #[serde(skip_serializing_if = "is_default")]
    pub strategy: String,
    #[serde(skip_serializing_if = "is_default")]
    pub sans: Vec<String>,
    #[serde(skip_serializing_if = "is_default")]
    pub webhook: Option<AuthWebhookConfig>,
}

/// Authentication webhook.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthWebhookConfig {
    #[serde(skip_serializing_if = "is_default")]
    pub config_file: String,
    #[serde(skip_serializing_if = "is_default")]
    pub cache_timeout: String,
}

/// Authorization mode (`rbac` or `none`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthzConfig {
    #[serde(skip_serializing_if = "is_default")]
    pub mode: String,
    #[serde(skip_serializing_if = "is_default")]
    pub options: BTreeMap<String, String>,
}

/// Restore-from-snapshot request (used by Rancher).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RestoreConfig {
    #[serde(skip_serializing_if = "is_default")]
    pub restore: bool,
    #[serde(skip_serializing_if = "is_default")]
    pub snapshot_name: String,
}

/// Certificate rotation request (yaml.v2 lower-cases the untagged Go fields).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RotateCertificates {
    #[serde(rename = "cacertificates", skip_serializing_if = "is_default")]
    pub ca_certificates: bool,
    #[serde(skip_serializing_if = "is_default")]
    pub services: Vec<String>,
}
