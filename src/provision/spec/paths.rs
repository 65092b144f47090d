//! Paths inside containers, which are also the node paths below `prefix_path` (RKE1 bind-mounts
//! `<prefix>/etc/kubernetes` at `/etc/kubernetes`).

pub const KUBERNETES_DIR: &str = "/etc/kubernetes";
pub const SSL_DIR: &str = "/etc/kubernetes/ssl";

pub const ADMISSION_CONFIG: &str = "/etc/kubernetes/admission.yaml";
pub const AUDIT_POLICY: &str = "/etc/kubernetes/audit-policy.yaml";
pub const CLOUD_CONFIG: &str = "/etc/kubernetes/cloud-config";
pub const AUTHN_WEBHOOK_CONFIG: &str = "/etc/kubernetes/kube-api-authn-webhook.yaml";
pub const ENCRYPTION_CONFIG: &str = "/etc/kubernetes/ssl/encryption.yaml";
/// Our own nginx configuration for the workers' API proxy, in a directory of its own so the
/// proxy container sees nothing else of `/etc/kubernetes`.
pub const NGINX_PROXY_DIR: &str = "/etc/kubernetes/nginx-proxy";
pub const NGINX_PROXY_CONFIG: &str = "/etc/kubernetes/nginx-proxy/nginx.conf";
/// The kubelet reads registry credentials from `<root-dir>/config.json`.
pub const KUBELET_DIR: &str = "/var/lib/kubelet";
pub const KUBELET_DOCKER_CONFIG: &str = "/var/lib/kubelet/config.json";
pub const ETCD_DATA_DIR: &str = "/var/lib/rancher/etcd/";
pub const ETCD_HOST_DATA_DIR: &str = "/var/lib/etcd";
pub const AUDIT_LOG_DIR: &str = "/var/log/kube-audit";
pub const CRI_DOCKERD_DIR: &str = "/var/lib/cri-dockerd";
pub const CRI_DOCKERD_SOCKET: &str = "unix:///var/run/cri-dockerd.sock";

pub fn cert(name: &str) -> String {
    format!("{SSL_DIR}/{name}.pem")
}

pub fn key(name: &str) -> String {
    format!("{SSL_DIR}/{name}-key.pem")
}

pub fn kubeconfig(name: &str) -> String {
    format!("{SSL_DIR}/kubecfg-{name}.yaml")
}
