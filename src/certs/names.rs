//! RKE1's certificate names, subjects, node paths and deployment variable names
//! (`pki/constants.go`, `pki/util.go`). These strings end up in `cluster.rkestate` and on nodes,
//! so they must match RKE1 byte for byte.

use super::input::NodeIdentity;

pub const KUBE_CA: &str = "kube-ca";
pub const REQUEST_HEADER_CA: &str = "kube-apiserver-requestheader-ca";
pub const KUBE_APISERVER: &str = "kube-apiserver";
pub const SERVICE_ACCOUNT_TOKEN: &str = "kube-service-account-token";
pub const KUBE_CONTROLLER_MANAGER: &str = "kube-controller-manager";
pub const KUBE_SCHEDULER: &str = "kube-scheduler";
pub const KUBE_PROXY: &str = "kube-proxy";
pub const KUBE_NODE: &str = "kube-node";
pub const KUBE_ADMIN: &str = "kube-admin";
pub const API_PROXY_CLIENT: &str = "kube-apiserver-proxy-client";
/// Prefix of the per-node etcd certificates (`kube-etcd-10-0-0-1`).
pub const ETCD_PREFIX: &str = "kube-etcd";
/// Prefix of the per-node kubelet serving certificates (`kube-kubelet-10-0-0-1`).
pub const KUBELET_PREFIX: &str = "kube-kubelet";
/// External etcd client material (`services.etcd.cert/key/ca_cert`); not generated here, and
/// never removed as a stale `kube-etcd-*` certificate.
pub const ETCD_CLIENT: &str = "kube-etcd-client";
pub const ETCD_CLIENT_CA: &str = "kube-etcd-client-ca";

pub const KUBE_NODE_CN: &str = "system:node";
pub const KUBE_NODE_ORG: &str = "system:nodes";
pub const KUBE_ADMIN_ORG: &str = "system:masters";

/// Where every certificate, key and kubeconfig lives on a node.
pub const CERT_DIR_ON_NODE: &str = "/etc/kubernetes/ssl/";

/// Component kubeconfigs talk to the local API server (or the nginx-proxy on workers).
pub const LOCAL_API_URL: &str = "https://127.0.0.1:6443";
/// Cluster name used inside component kubeconfigs.
pub const LOCAL_CLUSTER: &str = "local";

/// RKE1 `getDefaultCN`: `system:<name>`.
pub fn default_cn(name: &str) -> String {
    format!("system:{name}")
}

/// RKE1 `GetCrtNameForHost`: `<prefix>-<internal address or address>` with dots as dashes,
/// lower-cased. The internal address wins when it is set and differs from the address.
pub fn crt_name_for_host(node: &NodeIdentity, prefix: &str) -> String {
    let addr = if !node.internal_address.is_empty() && node.internal_address != node.address {
        &node.internal_address
    } else {
        &node.address
    };
    format!("{prefix}-{}", addr.replace('.', "-").to_lowercase())
}

/// `KUBE_APISERVER` for `kube-apiserver` (RKE1 `getEnvFromName`).
pub fn env_name(name: &str) -> String {
    name.to_uppercase().replace('-', "_")
}

pub fn cert_path(name: &str) -> String {
    format!("{CERT_DIR_ON_NODE}{name}.pem")
}

pub fn key_path(name: &str) -> String {
    format!("{CERT_DIR_ON_NODE}{name}-key.pem")
}

pub fn config_path(name: &str) -> String {
    format!("{CERT_DIR_ON_NODE}kubecfg-{name}.yaml")
}

/// Whether RKE1 gives this bundle entry a component kubeconfig (`ToCertObject`): everything
/// except the CA, the API server, etcd and kubelet serving certificates and the SA token key.
pub fn has_component_kubeconfig(name: &str) -> bool {
    name != KUBE_CA
        && name != KUBE_APISERVER
        && !name.contains(ETCD_PREFIX)
        && !name.contains(KUBELET_PREFIX)
        && name != SERVICE_ACCOUNT_TOKEN
}

/// Is this a per-node etcd certificate (as opposed to external etcd client material)?
pub fn is_node_etcd_cert(name: &str) -> bool {
    name.starts_with(&format!("{ETCD_PREFIX}-")) && name != ETCD_CLIENT && name != ETCD_CLIENT_CA
}

pub fn is_kubelet_cert(name: &str) -> bool {
    name.starts_with(&format!("{KUBELET_PREFIX}-"))
}

/// RKE1 `GetLocalKubeConfig`: the admin kubeconfig path stored in kube-admin's `configPath`,
/// e.g. `./kube_config_cluster.yml` for `cluster.yml`.
pub fn rke1_local_kubeconfig_path(cluster_file: &std::path::Path) -> String {
    let dir = match cluster_file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_string_lossy().into_owned(),
        _ => ".".to_string(),
    };
    let file = cluster_file
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| "cluster.yml".to_string());
    format!("{dir}/kube_config_{file}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn node(address: &str, internal: &str) -> NodeIdentity {
        NodeIdentity {
            address: address.into(),
            internal_address: internal.into(),
            hostname: String::new(),
        }
    }

    #[test]
    fn host_names_prefer_internal_address() {
        assert_eq!(
            crt_name_for_host(&node("1.2.3.4", "10.0.0.1"), ETCD_PREFIX),
            "kube-etcd-10-0-0-1"
        );
        assert_eq!(
            crt_name_for_host(&node("1.2.3.4", ""), ETCD_PREFIX),
            "kube-etcd-1-2-3-4"
        );
        assert_eq!(
            crt_name_for_host(
                &node("Node.Example.com", "Node.Example.com"),
                KUBELET_PREFIX
            ),
            "kube-kubelet-node-example-com"
        );
    }

    #[test]
    fn paths_and_env_names_follow_rke1() {
        assert_eq!(env_name("kube-etcd-10-0-0-1"), "KUBE_ETCD_10_0_0_1");
        assert_eq!(cert_path("kube-ca"), "/etc/kubernetes/ssl/kube-ca.pem");
        assert_eq!(key_path("kube-ca"), "/etc/kubernetes/ssl/kube-ca-key.pem");
        assert_eq!(
            config_path("kube-node"),
            "/etc/kubernetes/ssl/kubecfg-kube-node.yaml"
        );
    }

    #[test]
    fn kubeconfig_only_for_rke1_components() {
        for name in [
            KUBE_CONTROLLER_MANAGER,
            KUBE_SCHEDULER,
            KUBE_PROXY,
            KUBE_NODE,
            KUBE_ADMIN,
            API_PROXY_CLIENT,
            REQUEST_HEADER_CA,
        ] {
            assert!(has_component_kubeconfig(name), "{name}");
        }
        for name in [
            KUBE_CA,
            KUBE_APISERVER,
            SERVICE_ACCOUNT_TOKEN,
            "kube-etcd-10-0-0-1",
            "kube-kubelet-10-0-0-1",
        ] {
            assert!(!has_component_kubeconfig(name), "{name}");
        }
    }

    #[test]
    fn etcd_client_material_is_not_a_node_cert() {
        assert!(is_node_etcd_cert("kube-etcd-10-0-0-1"));
        assert!(!is_node_etcd_cert(ETCD_CLIENT));
        assert!(!is_node_etcd_cert(ETCD_CLIENT_CA));
        assert!(!is_node_etcd_cert("kube-etcd"));
    }

    #[test]
    fn local_kubeconfig_path_like_rke1() {
        assert_eq!(
            rke1_local_kubeconfig_path(Path::new("cluster.yml")),
            "./kube_config_cluster.yml"
        );
        assert_eq!(
            rke1_local_kubeconfig_path(Path::new("/srv/prod/c.yml")),
            "/srv/prod/kube_config_c.yml"
        );
    }
}
