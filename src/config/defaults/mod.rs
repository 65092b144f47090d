//! RKE1's CLI defaults (`cluster/defaults.go` `setClusterDefaults`), applied to a parsed config.
//!
//! [`apply_defaults`] is idempotent: applying it twice gives the same config as applying it once.
//! Defaults that depend on the Kubernetes version are applied only once `kubernetes_version`
//! parses ([`parse_k8s_version`]); set it (from the version table's default) before calling.

use std::collections::BTreeMap;

use super::types::RkeConfig;

mod aci;
mod addons;
mod network;
mod services;

pub use addons::{DEFAULT_HTTP_PORT, DEFAULT_HTTPS_PORT};
pub use network::DEFAULT_NETWORK_PLUGIN;
pub use services::{
    ADMISSION_CONTROL_CONFIG_FILE_ARG, DEFAULT_AUDIT_LOG_PATH, DEFAULT_BACKUP_INTERVAL_HOURS,
    DEFAULT_BACKUP_RETENTION, DEFAULT_BACKUP_TIMEOUT, DEFAULT_CLUSTER_CIDR,
    DEFAULT_CLUSTER_DNS_SERVER, DEFAULT_CLUSTER_DOMAIN, DEFAULT_ETCD_SNAPSHOT_CREATION,
    DEFAULT_ETCD_SNAPSHOT_RETENTION, DEFAULT_NODE_PORT_RANGE, DEFAULT_SERVICE_CLUSTER_IP_RANGE,
    default_audit_log_config, default_audit_policy, default_event_rate_limit_config,
};

pub const DEFAULT_CLUSTER_NAME: &str = "local";
pub const DEFAULT_SSH_KEY_PATH: &str = "~/.ssh/id_rsa";
pub const DEFAULT_SSH_PORT: &str = "22";
pub const DEFAULT_DOCKER_SOCKET: &str = "/var/run/docker.sock";
pub const DEFAULT_PREFIX_PATH: &str = "/";
pub const DEFAULT_AUTH_STRATEGY: &str = "x509";
pub const DEFAULT_AUTHORIZATION_MODE: &str = "rbac";
pub const DEFAULT_INGRESS_PROVIDER: &str = "nginx";
pub const DEFAULT_MONITORING_PROVIDER: &str = "metrics-server";
/// Seconds to wait for addon jobs (`k8s.DefaultTimeout`).
pub const DEFAULT_ADDON_JOB_TIMEOUT: i64 = 45;
pub const DEFAULT_MAX_UNAVAILABLE_WORKER: &str = "10%";
pub const DEFAULT_MAX_UNAVAILABLE_CONTROLPLANE: &str = "1";

/// Fill every default RKE1's CLI fills.
///
/// `images` is the version table's default image set for `cfg.version` (yaml key → image); only
/// empty `system_images` entries are filled from it, prefixed with the `is_default` private
/// registry as RKE1 does. Pass `None` when the version is not in the table (RKE1 then requires
/// the user to give every image).
pub fn apply_defaults(cfg: &mut RkeConfig, images: Option<&BTreeMap<String, String>>) {
    let version = parse_k8s_version(&cfg.version);
    set_connection_defaults(cfg);
    set_cluster_defaults(cfg);
    if let Some(images) = images {
        fill_system_images(cfg, images);
    }
    // RKE1's rule (from 1.24, setCRIDockerd) is the built-in table's `cri_dockerd_from`; a
    // replacement table may start earlier (the test environment's 1.20 binaries).
    if version.is_some()
        && cfg.enable_cri_dockerd.is_none()
        && super::versions::table().uses_cri_dockerd(&cfg.version) == Some(true)
    {
        cfg.enable_cri_dockerd = Some(true);
    }
    addons::set_dns_provider(cfg, version);
    services::set_services_defaults(cfg, version);
    network::set_network_defaults(&mut cfg.network);
    set_authentication_defaults(cfg);
    set_upgrade_strategy(cfg);
    addons::set_addons_defaults(cfg, version);
}

/// `v1.20.15-rancher2-2` → `(1, 20, 15)`. The leading `v` is optional; anything after `-` or
/// `+` (Rancher's build suffix) is ignored. `None` unless there are three numeric parts.
pub fn parse_k8s_version(v: &str) -> Option<(u64, u64, u64)> {
    let v = v.trim();
    let v = v.strip_prefix('v').unwrap_or(v);
    let core = v.split(['-', '+']).next()?;
    let mut parts = core.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    let patch = parts.next()?.parse().ok()?;
    if parts.next().is_some() {
        return None;
    }
    Some((major, minor, patch))
}

/// `setDefaultIfEmpty`.
fn default_str(slot: &mut String, value: &str) {
    if slot.is_empty() {
        *slot = value.to_string();
    }
}

/// SSH settings of nodes and bastion, cascading from the cluster level.
fn set_connection_defaults(cfg: &mut RkeConfig) {
    default_str(&mut cfg.ssh_key_path, DEFAULT_SSH_KEY_PATH);
    default_str(&mut cfg.prefix_path, DEFAULT_PREFIX_PATH);

    let bastion = &mut cfg.bastion_host;
    if !bastion.address.is_empty() {
        default_str(&mut bastion.port, DEFAULT_SSH_PORT);
        default_str(&mut bastion.ssh_key_path, &cfg.ssh_key_path);
        bastion.ssh_agent_auth = cfg.ssh_agent_auth;
    }

    for node in &mut cfg.nodes {
        default_str(&mut node.internal_address, &node.address);
        default_str(&mut node.hostname_override, &node.address);
        node.hostname_override = node.hostname_override.to_lowercase();
        default_str(&mut node.ssh_key_path, &cfg.ssh_key_path);
        default_str(&mut node.port, DEFAULT_SSH_PORT);
        default_str(&mut node.docker_socket, DEFAULT_DOCKER_SOCKET);
        // RKE1: agent auth is a cluster-wide setting only; the node value is overwritten.
        node.ssh_agent_auth = cfg.ssh_agent_auth;
    }
}

fn set_cluster_defaults(cfg: &mut RkeConfig) {
    default_str(&mut cfg.authorization.mode, DEFAULT_AUTHORIZATION_MODE);
    default_str(&mut cfg.ingress.provider, DEFAULT_INGRESS_PROVIDER);
    default_str(&mut cfg.cluster_name, DEFAULT_CLUSTER_NAME);
    if cfg.addon_job_timeout == 0 {
        cfg.addon_job_timeout = DEFAULT_ADDON_JOB_TIMEOUT;
    }
    default_str(&mut cfg.monitoring.provider, DEFAULT_MONITORING_PROVIDER);
    if cfg.cloud_provider.name == "aws"
        && cfg.cloud_provider.use_instance_metadata_hostname.is_none()
    {
        cfg.cloud_provider.use_instance_metadata_hostname = Some(false);
    }
}

/// Fill empty `system_images` from the version table, with RKE1's `d()` registry prefix.
fn fill_system_images(cfg: &mut RkeConfig, images: &BTreeMap<String, String>) {
    let registry = cfg
        .private_registries
        .iter()
        .find(|r| r.is_default)
        .map(|r| r.url.as_str())
        .unwrap_or("");
    for (key, image) in images {
        if image.is_empty() {
            continue;
        }
        let image = with_registry(image, registry);
        // Keys the schema does not know (newer tables) are simply not stored.
        cfg.system_images.set_if_empty(key, &image);
    }
}

/// RKE1 `d()`: `registry/image` when a default registry is configured.
pub fn with_registry(image: &str, registry: &str) -> String {
    if registry.is_empty() {
        image.to_string()
    } else {
        format!("{registry}/{image}")
    }
}

/// The kubeconfig RKE1 uses for the authentication webhook when none is given
/// (`templates.AuthnWebhook`).
pub const DEFAULT_AUTHN_WEBHOOK_CONFIG: &str = "
apiVersion: v1
kind: Config
clusters:
- name: Default
  cluster:
    insecure-skip-tls-verify: true
    server: http://127.0.0.1:6440/v1/authenticate
users:
- name: Default
  user:
    insecure-skip-tls-verify: true
current-context: webhook
contexts:
- name: webhook
  context:
    user: Default
    cluster: Default
";
pub const DEFAULT_AUTHN_CACHE_TIMEOUT: &str = "5s";

/// The authentication strategies named in `authentication.strategy` (`x509|webhook`).
pub fn authn_strategies(strategy: &str) -> Vec<String> {
    strategy
        .split('|')
        .map(|s| s.trim().to_lowercase())
        .filter(|s| !s.is_empty())
        .collect()
}

fn set_authentication_defaults(cfg: &mut RkeConfig) {
    let authn = &mut cfg.authentication;
    default_str(&mut authn.strategy, DEFAULT_AUTH_STRATEGY);
    if authn_strategies(&authn.strategy)
        .iter()
        .any(|s| s == "webhook")
        && authn.webhook.is_none()
    {
        authn.webhook = Some(Default::default());
    }
    if let Some(webhook) = &mut authn.webhook {
        default_str(&mut webhook.config_file, DEFAULT_AUTHN_WEBHOOK_CONFIG);
        default_str(&mut webhook.cache_timeout, DEFAULT_AUTHN_CACHE_TIMEOUT);
    }
}

/// `setNodeUpgradeStrategy`, except that the drain options are always filled: RKE1 skipped them
/// when `drain: true`, then crashed on the missing value (rke#2349).
fn set_upgrade_strategy(cfg: &mut RkeConfig) {
    let strategy = cfg.upgrade_strategy.get_or_insert_with(Default::default);
    default_str(
        &mut strategy.max_unavailable_worker,
        DEFAULT_MAX_UNAVAILABLE_WORKER,
    );
    default_str(
        &mut strategy.max_unavailable_controlplane,
        DEFAULT_MAX_UNAVAILABLE_CONTROLPLANE,
    );
    let drain = strategy.drain_input.get_or_insert_with(Default::default);
    if drain.ignore_daemon_sets.is_none() {
        drain.ignore_daemon_sets = Some(true);
    }
}

#[cfg(test)]
mod tests;
