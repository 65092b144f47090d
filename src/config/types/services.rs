//! The `services:` section: one struct per Kubernetes component.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::is_default;

/// The `services:` section (Go `RKEConfigServices`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RkeConfigServices {
    #[serde(skip_serializing_if = "is_default")]
    pub etcd: EtcdService,
    #[serde(rename = "kube-api", skip_serializing_if = "is_default")]
    pub kube_api: KubeApiService,
    #[serde(rename = "kube-controller", skip_serializing_if = "is_default")]
    pub kube_controller: KubeControllerService,
    #[serde(skip_serializing_if = "is_default")]
    pub scheduler: SchedulerService,
    #[serde(skip_serializing_if = "is_default")]
    pub kubelet: KubeletService,
    #[serde(skip_serializing_if = "is_default")]
    pub kubeproxy: KubeproxyService,
}

base_service! {
/// `services.etcd` (Go `ETCDService`).
pub struct EtcdService {
    /// External etcd endpoints; RKE deploys no etcd when set.
    #[serde(skip_serializing_if = "is_default")]
    pub external_urls: Vec<String>,
    #[serde(skip_serializing_if = "is_default")]
    pub ca_cert: String,
    #[serde(skip_serializing_if = "is_default")]
    pub cert: String,
    #[serde(skip_serializing_if = "is_default")]
    pub key: String,
    #[serde(skip_serializing_if = "is_default")]
    pub path: String,
    #[serde(skip_serializing_if = "is_default")]
    pub uid: i64,
    #[serde(skip_serializing_if = "is_default")]
    pub gid: i64,
    /// Recurring snapshots.
    #[serde(skip_serializing_if = "is_default")]
    pub snapshot: Option<bool>,
    #[serde(skip_serializing_if = "is_default")]
    pub retention: String,
    #[serde(skip_serializing_if = "is_default")]
    pub creation: String,
    #[serde(skip_serializing_if = "is_default")]
    pub backup_config: Option<BackupConfig>,
}
}

/// `services.etcd.backup_config`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BackupConfig {
    #[serde(skip_serializing_if = "is_default")]
    pub enabled: Option<bool>,
    #[serde(skip_serializing_if = "is_default")]
    pub interval_hours: i64,
    /// Number of snapshots to keep.
    #[serde(skip_serializing_if = "is_default")]
    pub retention: i64,
    /// yaml.v2 key of the untagged Go field.
    #[serde(rename = "s3backupconfig", skip_serializing_if = "is_default")]
    pub s3_backup_config: Option<S3BackupConfig>,
    #[serde(skip_serializing_if = "is_default")]
    pub safe_timestamp: bool,
    /// Seconds.
    #[serde(skip_serializing_if = "is_default")]
    pub timeout: i64,
}

/// S3 target for etcd snapshots.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct S3BackupConfig {
    #[serde(skip_serializing_if = "is_default")]
    pub access_key: String,
    #[serde(skip_serializing_if = "is_default")]
    pub secret_key: String,
    #[serde(skip_serializing_if = "is_default")]
    pub bucket_name: String,
    #[serde(skip_serializing_if = "is_default")]
    pub region: String,
    #[serde(skip_serializing_if = "is_default")]
    pub endpoint: String,
    #[serde(skip_serializing_if = "is_default")]
    pub custom_ca: String,
    #[serde(skip_serializing_if = "is_default")]
    pub folder: String,
}

base_service! {
/// `services.kube-api` (Go `KubeAPIService`).
pub struct KubeApiService {
    #[serde(skip_serializing_if = "is_default")]
    pub service_cluster_ip_range: String,
    #[serde(skip_serializing_if = "is_default")]
    pub service_node_port_range: String,
    /// Removed in RKE1 v1.6; accepted so older files still parse.
    #[serde(skip_serializing_if = "is_default")]
    pub pod_security_policy: bool,
    /// `privileged`, `restricted` or empty.
    #[serde(skip_serializing_if = "is_default")]
    pub pod_security_configuration: String,
    #[serde(skip_serializing_if = "is_default")]
    pub always_pull_images: bool,
    #[serde(skip_serializing_if = "is_default")]
    pub secrets_encryption_config: Option<SecretsEncryptionConfig>,
    #[serde(skip_serializing_if = "is_default")]
    pub audit_log: Option<AuditLog>,
    /// Upstream `AdmissionConfiguration` document.
    #[serde(skip_serializing_if = "is_default")]
    pub admission_configuration: Option<Value>,
    #[serde(skip_serializing_if = "is_default")]
    pub event_rate_limit: Option<EventRateLimit>,
}
}

/// Secrets encryption at rest.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SecretsEncryptionConfig {
    #[serde(skip_serializing_if = "is_default")]
    pub enabled: bool,
    /// Upstream `EncryptionConfiguration` document.
    #[serde(skip_serializing_if = "is_default")]
    pub custom_config: Option<Value>,
}

/// API server audit logging.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuditLog {
    #[serde(skip_serializing_if = "is_default")]
    pub enabled: bool,
    #[serde(skip_serializing_if = "is_default")]
    pub configuration: Option<AuditLogConfig>,
}

/// Audit log rotation and policy.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuditLogConfig {
    #[serde(skip_serializing_if = "is_default")]
    pub max_age: i64,
    #[serde(skip_serializing_if = "is_default")]
    pub max_backup: i64,
    #[serde(skip_serializing_if = "is_default")]
    pub max_size: i64,
    #[serde(skip_serializing_if = "is_default")]
    pub path: String,
    #[serde(skip_serializing_if = "is_default")]
    pub format: String,
    /// Upstream audit `Policy` document.
    #[serde(skip_serializing_if = "is_default")]
    pub policy: Option<Value>,
}

/// EventRateLimit admission plugin.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EventRateLimit {
    #[serde(skip_serializing_if = "is_default")]
    pub enabled: bool,
    /// Upstream eventratelimit `Configuration` document.
    #[serde(skip_serializing_if = "is_default")]
    pub configuration: Option<Value>,
}

base_service! {
/// `services.kube-controller`.
pub struct KubeControllerService {
    #[serde(skip_serializing_if = "is_default")]
    pub cluster_cidr: String,
    #[serde(skip_serializing_if = "is_default")]
    pub service_cluster_ip_range: String,
}
}

base_service! {
/// `services.kubelet`.
pub struct KubeletService {
    #[serde(skip_serializing_if = "is_default")]
    pub cluster_domain: String,
    #[serde(skip_serializing_if = "is_default")]
    pub infra_container_image: String,
    #[serde(skip_serializing_if = "is_default")]
    pub cluster_dns_server: String,
    #[serde(skip_serializing_if = "is_default")]
    pub fail_swap_on: bool,
    #[serde(skip_serializing_if = "is_default")]
    pub generate_serving_certificate: bool,
    /// Not an RKE1 setting, though RKE1's documented full example puts it here: yaml.v2 dropped
    /// it silently. Accepted so such files still parse, and ignored like RKE1 did (use
    /// `infra_container_image` or `extra_args` instead).
    #[serde(
        rename = "pod-infra-container-image",
        skip_serializing_if = "is_default"
    )]
    pub ignored_pod_infra_container_image: String,
}
}

base_service! {
/// `services.kubeproxy`.
pub struct KubeproxyService {
}
}

base_service! {
/// `services.scheduler`.
pub struct SchedulerService {
}
}
