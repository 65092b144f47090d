//! The `kube-apiserver` container (RKE1 `BuildKubeAPIProcess`).

use super::args::{self, ArgMap};
use super::context::{Cluster, Host, container};
use super::health;
use super::net::{host_port, is_ip};
use super::paths::{self, AUDIT_LOG_DIR, KUBERNETES_DIR};
use super::types::{ContainerSpec, Plane};
use crate::certs::{
    API_PROXY_CLIENT, KUBE_APISERVER, KUBE_CA, KUBE_NODE, REQUEST_HEADER_CA, SERVICE_ACCOUNT_TOKEN,
};

pub const NAME: &str = "kube-apiserver";
pub use crate::certs::names::{ETCD_CLIENT, ETCD_CLIENT_CA};
const ADMISSION_PLUGIN_FLAGS: [&str; 2] = ["enable-admission-plugins", "admission-control"];

/// RKE1 `GetEtcdConnString`: this node's own etcd first when it has one, then the others.
fn etcd_servers(cluster: &Cluster, host: &Host) -> String {
    let mut urls: Vec<String> = Vec::new();
    let mut own = false;
    for node in &cluster.etcd_nodes {
        let internal = node.effective_internal_address().to_string();
        if internal == host.internal {
            own = true;
        } else {
            urls.push(format!("https://{}:2379", host_port(&internal)));
        }
    }
    if own {
        urls.insert(0, format!("https://{}:2379", host_port(&host.internal)));
    }
    urls.join(",")
}

/// Append a plugin to whichever admission flag the defaults use.
fn add_admission_plugin(a: &mut ArgMap, plugin: &str) {
    let flag = ADMISSION_PLUGIN_FLAGS
        .into_iter()
        .find(|f| a.contains_key(*f))
        .unwrap_or(ADMISSION_PLUGIN_FLAGS[0]);
    let list = a.entry(flag.to_string()).or_default();
    if !list.is_empty() {
        list.push(',');
    }
    list.push_str(plugin);
}

pub fn build(cluster: &Cluster, host: &Host) -> ContainerSpec {
    let api = &cluster.cfg.services.kube_api;
    let (etcd_servers, etcd_prefix, etcd_cert, etcd_ca) = if cluster.external_etcd() {
        let etcd = &cluster.cfg.services.etcd;
        (
            etcd.external_urls.join(","),
            etcd.path.clone(),
            ETCD_CLIENT,
            ETCD_CLIENT_CA,
        )
    } else {
        (
            etcd_servers(cluster, host),
            "/registry".to_string(),
            KUBE_NODE,
            KUBE_CA,
        )
    };

    let mut a = ArgMap::new();
    for (k, v) in [
        (
            "admission-control-config-file",
            paths::ADMISSION_CONFIG.to_string(),
        ),
        ("client-ca-file", paths::cert(KUBE_CA)),
        ("cloud-provider", cluster.cloud_provider_flag()),
        ("etcd-cafile", paths::cert(etcd_ca)),
        ("etcd-certfile", paths::cert(etcd_cert)),
        ("etcd-keyfile", paths::key(etcd_cert)),
        ("etcd-prefix", etcd_prefix),
        ("etcd-servers", etcd_servers),
        ("kubelet-client-certificate", paths::cert(KUBE_APISERVER)),
        ("kubelet-client-key", paths::key(KUBE_APISERVER)),
        ("proxy-client-cert-file", paths::cert(API_PROXY_CLIENT)),
        ("proxy-client-key-file", paths::key(API_PROXY_CLIENT)),
        ("requestheader-allowed-names", API_PROXY_CLIENT.to_string()),
        (
            "requestheader-client-ca-file",
            paths::cert(REQUEST_HEADER_CA),
        ),
        (
            "service-account-key-file",
            paths::key(SERVICE_ACCOUNT_TOKEN),
        ),
        (
            "service-cluster-ip-range",
            api.service_cluster_ip_range.clone(),
        ),
        (
            "service-node-port-range",
            api.service_node_port_range.clone(),
        ),
        ("tls-cert-file", paths::cert(KUBE_APISERVER)),
        ("tls-private-key-file", paths::key(KUBE_APISERVER)),
    ] {
        a.insert(k.to_string(), v);
    }
    if cluster.has_cloud_provider() {
        a.insert("cloud-config".into(), paths::CLOUD_CONFIG.into());
    }
    if let Some(webhook) = &cluster.cfg.authentication.webhook {
        a.insert(
            "authentication-token-webhook-config-file".into(),
            paths::AUTHN_WEBHOOK_CONFIG.into(),
        );
        a.insert(
            "authentication-token-webhook-cache-ttl".into(),
            webhook.cache_timeout.clone(),
        );
    }
    if !cluster.inputs.encryption_config.is_empty() {
        a.insert(
            "encryption-provider-config".into(),
            paths::ENCRYPTION_CONFIG.into(),
        );
    }
    if cluster.cfg.services.kubelet.generate_serving_certificate {
        a.insert("kubelet-certificate-authority".into(), paths::cert(KUBE_CA));
    }
    args::apply_kdm(&mut a, &cluster.options.kube_api);
    if cluster.rbac() {
        a.insert("authorization-mode".into(), "Node,RBAC".into());
    }
    if is_ip(&host.internal) {
        a.insert("advertise-address".into(), host.internal.clone());
    }
    if api.always_pull_images {
        add_admission_plugin(&mut a, "AlwaysPullImages");
    }
    if api.event_rate_limit.as_ref().is_some_and(|e| e.enabled) {
        add_admission_plugin(&mut a, "EventRateLimit");
    }
    let audit = api
        .audit_log
        .as_ref()
        .filter(|audit| audit.enabled)
        .and_then(|audit| audit.configuration.as_ref());
    if let Some(audit) = audit {
        for (k, v) in [
            ("audit-log-path", audit.path.clone()),
            ("audit-log-maxage", audit.max_age.to_string()),
            ("audit-log-maxbackup", audit.max_backup.to_string()),
            ("audit-log-maxsize", audit.max_size.to_string()),
            ("audit-log-format", audit.format.clone()),
            ("audit-policy-file", paths::AUDIT_POLICY.to_string()),
        ] {
            a.insert(k.to_string(), v);
        }
    }
    args::apply_extra(&mut a, &api.extra_args);

    let mut binds = vec![format!("{}:{KUBERNETES_DIR}:z", host.path(KUBERNETES_DIR))];
    if audit.is_some() {
        binds.push(format!("{}:{AUDIT_LOG_DIR}", host.path(AUDIT_LOG_DIR)));
    }
    let mut binds = cluster.own_binds(binds);
    binds.extend(api.extra_binds.iter().cloned());

    let mut spec = container(NAME, &api.image, Plane::ControlPlane);
    spec.entrypoint = vec![NAME.into()];
    spec.args = args::render(&a, &api.extra_args_array, &[]);
    spec.env = args::uniq(api.extra_env.clone());
    spec.binds = args::uniq(binds);
    spec.health = Some(health::kube_apiserver());
    spec
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admission_plugins_append_to_the_flag_in_use() {
        let mut a = ArgMap::from([("admission-control".to_string(), "A,B".to_string())]);
        add_admission_plugin(&mut a, "EventRateLimit");
        assert_eq!(a["admission-control"], "A,B,EventRateLimit");

        let mut a = ArgMap::new();
        add_admission_plugin(&mut a, "AlwaysPullImages");
        assert_eq!(a["enable-admission-plugins"], "AlwaysPullImages");
    }
}
