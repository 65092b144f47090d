//! `services:` defaults (`setClusterServicesDefaults`), including the version-dependent kube-api
//! audit log, PodSecurity and EventRateLimit settings.

use serde_json::{Value, json};

use super::default_str;
use crate::config::types::{AuditLog, AuditLogConfig, RkeConfig};

pub const DEFAULT_SERVICE_CLUSTER_IP_RANGE: &str = "10.43.0.0/16";
pub const DEFAULT_NODE_PORT_RANGE: &str = "30000-32767";
pub const DEFAULT_CLUSTER_CIDR: &str = "10.42.0.0/16";
pub const DEFAULT_CLUSTER_DNS_SERVER: &str = "10.43.0.10";
pub const DEFAULT_CLUSTER_DOMAIN: &str = "cluster.local";
pub const DEFAULT_ETCD_SNAPSHOT_CREATION: &str = "12h";
pub const DEFAULT_ETCD_SNAPSHOT_RETENTION: &str = "72h";
pub const DEFAULT_BACKUP_INTERVAL_HOURS: i64 = 12;
pub const DEFAULT_BACKUP_RETENTION: i64 = 6;
/// Seconds (`docker.WaitTimeout`).
pub const DEFAULT_BACKUP_TIMEOUT: i64 = 300;
pub const DEFAULT_AUDIT_LOG_PATH: &str = "/var/log/kube-audit/audit-log.json";
/// kube-api flag that makes RKE1 leave admission settings to the user.
pub const ADMISSION_CONTROL_CONFIG_FILE_ARG: &str = "admission-control-config-file";

/// etcd flags RKE1 always sets unless the user did.
const ETCD_DEFAULT_ARGS: [(&str, &str); 2] =
    [("election-timeout", "5000"), ("heartbeat-interval", "500")];

pub(super) fn set_services_defaults(cfg: &mut RkeConfig, version: Option<(u64, u64, u64)>) {
    let kubernetes_image = cfg.system_images.kubernetes.clone();
    let services = &mut cfg.services;
    // RKE1 ignores per-service images: every component runs the `kubernetes` image.
    services.kube_api.image = kubernetes_image.clone();
    services.scheduler.image = kubernetes_image.clone();
    services.kube_controller.image = kubernetes_image.clone();
    services.kubelet.image = kubernetes_image.clone();
    services.kubeproxy.image = kubernetes_image;
    services.etcd.image = cfg.system_images.etcd.clone();

    let etcd = &mut services.etcd;
    if etcd.snapshot.is_none() {
        etcd.snapshot = Some(true);
    }
    default_str(&mut etcd.creation, DEFAULT_ETCD_SNAPSHOT_CREATION);
    default_str(&mut etcd.retention, DEFAULT_ETCD_SNAPSHOT_RETENTION);
    for (name, value) in ETCD_DEFAULT_ARGS {
        etcd.extra_args
            .entry(name.to_string())
            .or_insert_with(|| value.to_string());
    }
    if let Some(backup) = &mut etcd.backup_config
        && backup.enabled != Some(false)
    {
        backup.enabled = Some(true);
        if backup.interval_hours == 0 {
            backup.interval_hours = DEFAULT_BACKUP_INTERVAL_HOURS;
        }
        if backup.retention == 0 {
            backup.retention = DEFAULT_BACKUP_RETENTION;
        }
        if backup.timeout == 0 {
            backup.timeout = DEFAULT_BACKUP_TIMEOUT;
        }
    }

    default_str(
        &mut services.kube_api.service_cluster_ip_range,
        DEFAULT_SERVICE_CLUSTER_IP_RANGE,
    );
    default_str(
        &mut services.kube_api.service_node_port_range,
        DEFAULT_NODE_PORT_RANGE,
    );
    default_str(
        &mut services.kube_controller.service_cluster_ip_range,
        DEFAULT_SERVICE_CLUSTER_IP_RANGE,
    );
    default_str(
        &mut services.kube_controller.cluster_cidr,
        DEFAULT_CLUSTER_CIDR,
    );
    default_str(
        &mut services.kubelet.cluster_dns_server,
        DEFAULT_CLUSTER_DNS_SERVER,
    );
    default_str(&mut services.kubelet.cluster_domain, DEFAULT_CLUSTER_DOMAIN);
    default_str(
        &mut services.kubelet.infra_container_image,
        &cfg.system_images.pod_infra_container,
    );

    set_kube_api_admission_defaults(cfg, version);
    set_audit_log_defaults(cfg, version);
}

/// EventRateLimit configuration and PodSecurity level, unless the user supplies their own
/// admission control file.
fn set_kube_api_admission_defaults(cfg: &mut RkeConfig, version: Option<(u64, u64, u64)>) {
    let kube_api = &mut cfg.services.kube_api;
    if kube_api
        .extra_args
        .contains_key(ADMISSION_CONTROL_CONFIG_FILE_ARG)
    {
        return;
    }
    if let Some(limit) = &mut kube_api.event_rate_limit
        && limit.enabled
        && limit.configuration.is_none()
    {
        limit.configuration = Some(default_event_rate_limit_config());
    }
    if version.is_some_and(|v| v >= (1, 23, 0)) {
        default_str(&mut kube_api.pod_security_configuration, "privileged");
    }
}

/// RKE1 turns the audit log on for every version from 1.15.11 / 1.16.8 / 1.17.4.
fn version_needs_audit_log(v: (u64, u64, u64)) -> bool {
    ((1, 15, 11)..=(1, 15, 99)).contains(&v)
        || ((1, 16, 8)..=(1, 16, 99)).contains(&v)
        || v >= (1, 17, 4)
}

fn set_audit_log_defaults(cfg: &mut RkeConfig, version: Option<(u64, u64, u64)>) {
    let kube_api = &mut cfg.services.kube_api;
    if version.is_some_and(version_needs_audit_log) && kube_api.audit_log.is_none() {
        kube_api.audit_log = Some(AuditLog {
            enabled: true,
            configuration: None,
        });
    }
    if let Some(audit) = &mut kube_api.audit_log
        && audit.enabled
    {
        match &mut audit.configuration {
            None => audit.configuration = Some(default_audit_log_config()),
            Some(config) => {
                if config.policy.is_none() {
                    config.policy = Some(default_audit_policy());
                }
            }
        }
    }
}

/// The audit policy RKE1 writes when the user gives none: log metadata of every request.
pub fn default_audit_policy() -> Value {
    json!({
        "apiVersion": "audit.k8s.io/v1",
        "kind": "Policy",
        "rules": [{"level": "Metadata"}],
    })
}

pub fn default_audit_log_config() -> AuditLogConfig {
    AuditLogConfig {
        max_age: 30,
        max_backup: 10,
        max_size: 100,
        path: DEFAULT_AUDIT_LOG_PATH.to_string(),
        format: "json".to_string(),
        policy: Some(default_audit_policy()),
    }
}

pub fn default_event_rate_limit_config() -> Value {
    json!({
        "apiVersion": "eventratelimit.admission.k8s.io/v1alpha1",
        "kind": "Configuration",
        "limits": [{"type": "Server", "qps": 5000, "burst": 20000}],
    })
}
