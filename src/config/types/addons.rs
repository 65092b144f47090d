//! Cluster addons RKE deploys: ingress, DNS, monitoring, and the upstream Kubernetes
//! sub-types they share (update strategies, tolerations).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{IntOrString, is_default};

/// The `ingress:` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IngressConfig {
    /// `nginx` (default) or `none`.
    #[serde(skip_serializing_if = "is_default")]
    pub provider: String,
    /// nginx ConfigMap options.
    #[serde(skip_serializing_if = "is_default")]
    pub options: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "is_default")]
    pub node_selector: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "is_default")]
    pub extra_args: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "is_default")]
    pub dns_policy: String,
    /// Upstream `EnvVar` objects.
    #[serde(skip_serializing_if = "is_default")]
    pub extra_envs: Vec<Value>,
    /// Upstream `Volume` objects.
    #[serde(skip_serializing_if = "is_default")]
    pub extra_volumes: Vec<Value>,
    /// Upstream `VolumeMount` objects.
    #[serde(skip_serializing_if = "is_default")]
    pub extra_volume_mounts: Vec<Value>,
    #[serde(skip_serializing_if = "is_default")]
    pub update_strategy: Option<DaemonSetUpdateStrategy>,
    #[serde(skip_serializing_if = "is_default")]
    pub http_port: i64,
    #[serde(skip_serializing_if = "is_default")]
    pub https_port: i64,
    /// `hostNetwork`, `hostPort` or `none`.
    #[serde(skip_serializing_if = "is_default")]
    pub network_mode: String,
    #[serde(skip_serializing_if = "is_default")]
    pub tolerations: Vec<Toleration>,
    #[serde(skip_serializing_if = "is_default")]
    pub default_backend: Option<bool>,
    #[serde(skip_serializing_if = "is_default")]
    pub default_http_backend_priority_class_name: String,
    #[serde(skip_serializing_if = "is_default")]
    pub nginx_ingress_controller_priority_class_name: String,
    #[serde(skip_serializing_if = "is_default")]
    pub default_ingress_class: Option<bool>,
}

/// The `dns:` section (Go `DNSConfig`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DnsConfig {
    /// `coredns` (default), `kube-dns` or `none`.
    #[serde(skip_serializing_if = "is_default")]
    pub provider: String,
    #[serde(skip_serializing_if = "is_default")]
    pub options: BTreeMap<String, String>,
    #[serde(rename = "upstreamnameservers", skip_serializing_if = "is_default")]
    pub upstream_nameservers: Vec<String>,
    #[serde(rename = "reversecidrs", skip_serializing_if = "is_default")]
    pub reverse_cidrs: Vec<String>,
    #[serde(rename = "stubdomains", skip_serializing_if = "is_default")]
    pub stub_domains: BTreeMap<String, Vec<String>>,
    #[serde(skip_serializing_if = "is_default")]
    pub node_selector: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "is_default")]
    pub nodelocal: Option<Nodelocal>,
    #[serde(skip_serializing_if = "is_default")]
    pub update_strategy: Option<DeploymentStrategy>,
    #[serde(skip_serializing_if = "is_default")]
    pub linear_autoscaler_params: Option<LinearAutoscalerParams>,
    #[serde(skip_serializing_if = "is_default")]
    pub tolerations: Vec<Toleration>,
}

/// NodeLocal DNS cache; deployed when `ip_address` is set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Nodelocal {
    #[serde(skip_serializing_if = "is_default")]
    pub ip_address: String,
    #[serde(skip_serializing_if = "is_default")]
    pub update_strategy: Option<DaemonSetUpdateStrategy>,
    #[serde(skip_serializing_if = "is_default")]
    pub node_selector: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "is_default")]
    pub node_local_dns_priority_class_name: String,
}

/// cluster-proportional-autoscaler linear parameters.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LinearAutoscalerParams {
    #[serde(skip_serializing_if = "is_default")]
    pub cores_per_replica: f64,
    #[serde(skip_serializing_if = "is_default")]
    pub nodes_per_replica: f64,
    #[serde(skip_serializing_if = "is_default")]
    pub min: i64,
    #[serde(skip_serializing_if = "is_default")]
    pub max: i64,
    #[serde(skip_serializing_if = "is_default")]
    pub prevent_single_point_failure: bool,
}

/// The `monitoring:` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MonitoringConfig {
    /// `metrics-server` (default) or `none`.
    #[serde(skip_serializing_if = "is_default")]
    pub provider: String,
    #[serde(skip_serializing_if = "is_default")]
    pub options: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "is_default")]
    pub node_selector: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "is_default")]
    pub update_strategy: Option<DeploymentStrategy>,
    #[serde(skip_serializing_if = "is_default")]
    pub replicas: Option<i32>,
    #[serde(skip_serializing_if = "is_default")]
    pub tolerations: Vec<Toleration>,
    #[serde(skip_serializing_if = "is_default")]
    pub metrics_server_priority_class_name: String,
}

/// Deployment update strategy. RKE1 decodes it with JSON (case-insensitive) keys.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeploymentStrategy {
    /// `RollingUpdate` or `Recreate`.
    #[serde(skip_serializing_if = "is_default")]
    pub strategy: String,
    #[serde(
        rename = "rollingUpdate",
        alias = "rollingupdate",
        skip_serializing_if = "is_default"
    )]
    pub rolling_update: Option<RollingUpdateDeployment>,
}

/// Upstream `apps/v1` RollingUpdateDeployment; RollingUpdateDaemonSet has the same fields.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RollingUpdateDeployment {
    #[serde(
        rename = "maxUnavailable",
        alias = "maxunavailable",
        skip_serializing_if = "is_default"
    )]
    pub max_unavailable: Option<IntOrString>,
    #[serde(
        rename = "maxSurge",
        alias = "maxsurge",
        skip_serializing_if = "is_default"
    )]
    pub max_surge: Option<IntOrString>,
}

/// DaemonSet update strategy. RKE1 decodes it with JSON (case-insensitive) keys.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DaemonSetUpdateStrategy {
    /// `RollingUpdate` or `OnDelete`.
    #[serde(skip_serializing_if = "is_default")]
    pub strategy: String,
    #[serde(
        rename = "rollingUpdate",
        alias = "rollingupdate",
        skip_serializing_if = "is_default"
    )]
    pub rolling_update: Option<RollingUpdateDeployment>,
}

/// Upstream `core/v1` Toleration, keyed as yaml.v2 reads it (lower-cased field names).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Toleration {
    #[serde(skip_serializing_if = "is_default")]
    pub key: String,
    #[serde(skip_serializing_if = "is_default")]
    pub operator: String,
    #[serde(skip_serializing_if = "is_default")]
    pub value: String,
    #[serde(skip_serializing_if = "is_default")]
    pub effect: String,
    #[serde(
        rename = "tolerationseconds",
        alias = "tolerationSeconds",
        skip_serializing_if = "is_default"
    )]
    pub toleration_seconds: Option<i64>,
}
