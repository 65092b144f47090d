//! `kube-proxy` (RKE1 `BuildKubeProxyProcess`) and the workers' API server proxy `nginx-proxy`.

use super::args::{self, ArgMap};
use super::context::{Cluster, Host, container};
use super::health;
use super::net::host_port;
use super::paths::{self, KUBERNETES_DIR, NGINX_PROXY_CONFIG, NGINX_PROXY_DIR};
use super::types::{ContainerSpec, Plane};
use crate::certs::KUBE_PROXY;

pub const KUBE_PROXY_NAME: &str = "kube-proxy";
pub const NGINX_PROXY: &str = "nginx-proxy";

pub fn kube_proxy(cluster: &Cluster, host: &Host) -> ContainerSpec {
    let svc = &cluster.cfg.services.kubeproxy;
    let mut a = ArgMap::new();
    for (k, v) in [
        (
            "cluster-cidr",
            cluster.cfg.services.kube_controller.cluster_cidr.clone(),
        ),
        ("hostname-override", host.name().to_string()),
        ("kubeconfig", paths::kubeconfig(KUBE_PROXY)),
    ] {
        a.insert(k.to_string(), v);
    }
    args::apply_kdm(&mut a, &cluster.options.kubeproxy);
    // With a cloud provider the node object may be renamed, so kube-proxy cannot look up its
    // own address and must be told.
    if cluster.has_cloud_provider() {
        a.insert("bind-address".into(), host.internal.clone());
        if cluster.hostname_from_cloud() {
            a.remove("hostname-override");
        }
    }
    args::apply_extra(&mut a, &svc.extra_args);

    let mut binds = cluster.own_binds(vec![
        format!("{}:{KUBERNETES_DIR}:z", host.path(KUBERNETES_DIR)),
        "/run:/run".to_string(),
        "/lib/modules:/lib/modules:ro".to_string(),
    ]);
    binds.extend(svc.extra_binds.iter().cloned());

    let mut spec = container(KUBE_PROXY_NAME, &svc.image, Plane::Worker);
    spec.entrypoint = vec![KUBE_PROXY_NAME.into()];
    spec.args = args::render(&a, &svc.extra_args_array, &[]);
    spec.env = args::uniq(svc.extra_env.clone());
    spec.binds = args::uniq(binds);
    spec.pid_mode = Some("host".into());
    spec.privileged = true;
    spec.health = Some(health::kube_proxy());
    spec
}

/// nginx forwarding `:6443` on a node without an API server to every control-plane node, so
/// the components' `https://127.0.0.1:6443` kubeconfigs work everywhere. The configuration is a
/// file we write (see [`nginx_config`]), not rke-tools' template, so any nginx image with the
/// stream module works.
pub fn nginx_proxy(cluster: &Cluster, host: &Host) -> ContainerSpec {
    let mut spec = container(
        NGINX_PROXY,
        &cluster.cfg.system_images.nginx_proxy,
        Plane::Worker,
    );
    spec.entrypoint = vec!["nginx".into()];
    spec.args = vec![
        "-g".into(),
        "daemon off;".into(),
        "-c".into(),
        NGINX_PROXY_CONFIG.into(),
    ];
    spec.binds = vec![format!(
        "{}:{NGINX_PROXY_DIR}:ro",
        host.path(NGINX_PROXY_DIR)
    )];
    spec.health = Some(health::nginx_proxy());
    spec
}

/// The proxy's nginx.conf: RKE1's template (`rke-tools/templates/nginx.tmpl`) with the control
/// plane filled in. Debian's nginx loads the stream module from `modules-enabled`; the include
/// matches nothing (and is harmless) where the module is built in.
pub fn nginx_config(cluster: &Cluster) -> String {
    let servers: String = cluster
        .cp_nodes
        .iter()
        .map(|n| {
            let ip = n.effective_internal_address().to_string();
            format!("    server {}:6443;\n", host_port(&ip))
        })
        .collect();
    format!(
        "# Written by rke: forwards the Kubernetes API port to the control-plane nodes.\n\
         include /etc/nginx/modules-enabled/*.conf;\n\
         error_log stderr notice;\n\
         worker_processes auto;\n\
         events {{\n\
         \x20 multi_accept on;\n\
         \x20 use epoll;\n\
         \x20 worker_connections 1024;\n\
         }}\n\
         stream {{\n\
         \x20 upstream kube_apiserver {{\n\
         {servers}\
         \x20 }}\n\
         \x20 server {{\n\
         \x20   listen 6443;\n\
         \x20   proxy_pass kube_apiserver;\n\
         \x20   proxy_timeout 30;\n\
         \x20   proxy_connect_timeout 2s;\n\
         \x20 }}\n\
         }}\n"
    )
}
