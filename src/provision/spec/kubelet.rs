//! The `kubelet` (RKE1 `BuildKubeletProcess`), after the cri-dockerd containers when the kubelet
//! talks to Docker through CRI.
//!
//! RKE1 ran it through rke-tools' entrypoint script, which also re-bound `/dev`, appended
//! `--cgroup-driver` from `docker info` and swapped a systemd-resolved `resolv.conf`. We run the
//! binary directly, so those adjustments are made here, from [`HostFacts`](super::HostFacts).

use super::args::{self, ArgMap};
use super::context::{Cluster, Host, container};
use super::cri_dockerd;
use super::health;
use super::paths::{self, CRI_DOCKERD_SOCKET, KUBELET_DIR, KUBERNETES_DIR};
use super::types::{ContainerSpec, Plane};
use crate::certs::{KUBE_CA, KUBE_NODE, NodeIdentity, crt_name_for_host};

pub const NAME: &str = "kubelet";
use crate::certs::names::KUBELET_PREFIX as KUBELET_CERT_PREFIX;
const CONTROLPLANE_TAINT: &str = "node-role.kubernetes.io/controlplane=true:NoSchedule";
const DOCKERSHIM_SOCKET: &str = "/var/run/dockershim.sock";
const SYSTEMD_RESOLV_CONF: &str = "/run/systemd/resolve/resolv.conf";

/// The bundle name of a node's kubelet serving certificate (`kube-kubelet-10-0-0-1`).
pub fn serving_cert_name(host: &Host) -> String {
    crt_name_for_host(
        &NodeIdentity {
            address: host.node.address.clone(),
            internal_address: host.internal.clone(),
            hostname: host.node.hostname_override.clone(),
        },
        KUBELET_CERT_PREFIX,
    )
}

/// The kubelet's flags after every merge step.
fn kubelet_args(cluster: &Cluster, host: &Host) -> ArgMap {
    let kubelet = &cluster.cfg.services.kubelet;
    let mut a = ArgMap::new();
    for (k, v) in [
        ("client-ca-file", paths::cert(KUBE_CA)),
        ("cloud-provider", cluster.cloud_provider_flag()),
        ("cluster-dns", kubelet.cluster_dns_server.clone()),
        ("cluster-domain", kubelet.cluster_domain.clone()),
        ("fail-swap-on", kubelet.fail_swap_on.to_string()),
        // The node name; RKE finds its nodes by it.
        ("hostname-override", host.name().to_string()),
        ("kubeconfig", paths::kubeconfig(KUBE_NODE)),
        (
            "pod-infra-container-image",
            kubelet.infra_container_image.clone(),
        ),
        ("root-dir", host.path(KUBELET_DIR)),
        // rke-tools appended the driver Docker reports; the kubelet must match it.
        ("cgroup-driver", host.facts.cgroup_driver.clone()),
    ] {
        a.insert(k.to_string(), v);
    }
    if host.node.is_controlplane() && !host.node.is_worker() {
        a.insert("register-with-taints".into(), CONTROLPLANE_TAINT.into());
    }
    if host.node.address != host.internal {
        a.insert("node-ip".into(), host.internal.clone());
    }
    if cluster.has_cloud_provider() {
        a.insert("cloud-config".into(), paths::CLOUD_CONFIG.into());
        if cluster.cfg.cloud_provider.name == "external-aws" && cluster.hostname_from_cloud() {
            a.remove("hostname-override");
        }
    }
    if kubelet.generate_serving_certificate {
        let cert = serving_cert_name(host);
        a.insert("tls-cert-file".into(), paths::cert(&cert));
        a.insert("tls-private-key-file".into(), paths::key(&cert));
    }
    if cluster.cri_dockerd {
        if !cluster.at_least(27) {
            a.insert("container-runtime".into(), "remote".into());
        }
        let endpoint = if cluster.at_least(24) {
            CRI_DOCKERD_SOCKET
        } else {
            DOCKERSHIM_SOCKET
        };
        a.insert("container-runtime-endpoint".into(), endpoint.into());
    }
    args::apply_kdm_kubelet(&mut a, &cluster.options.kubelet, &host.prefix);
    args::apply_extra(&mut a, &kubelet.extra_args);
    // RKE1 applies NodeLocal DNS after extra_args: the cache must be the pods' resolver.
    if let Some(ip) = cluster
        .cfg
        .dns
        .as_ref()
        .and_then(|d| d.nodelocal.as_ref())
        .map(|n| n.ip_address.as_str())
        .filter(|ip| !ip.is_empty())
    {
        a.insert("cluster-dns".into(), ip.to_string());
    }
    if host.facts.systemd_resolved
        && a.get("resolv-conf").map(String::as_str) == Some("/etc/resolv.conf")
    {
        a.insert("resolv-conf".into(), SYSTEMD_RESOLV_CONF.into());
    }
    a
}

fn kubelet_binds(cluster: &Cluster, host: &Host) -> Vec<String> {
    let root = &host.facts.docker_root_dir;
    let kubelet_dir = host.path(KUBELET_DIR);
    let mut binds = vec![
        format!("{}:{KUBERNETES_DIR}:z", host.path(KUBERNETES_DIR)),
        "/etc/cni:/etc/cni:rw,z".to_string(),
        "/opt/cni:/opt/cni:rw,z".to_string(),
        format!("{}:/var/lib/cni:z", host.path("/var/lib/cni")),
        "/var/lib/calico:/var/lib/calico:z".to_string(),
        "/etc/resolv.conf:/etc/resolv.conf".to_string(),
        "/sys:/sys:rprivate".to_string(),
        format!("{root}:{root}:rw,rslave,z"),
        format!("{kubelet_dir}:{kubelet_dir}:shared,z"),
        "/var/lib/rancher:/var/lib/rancher:shared,z".to_string(),
        "/var/run:/var/run:rw,rprivate".to_string(),
        "/run:/run:rprivate".to_string(),
        format!("{}:/etc/ceph", host.path("/etc/ceph")),
        // RKE1 mounted /host/dev and re-bound it over /dev in rke-tools' script.
        "/dev:/dev:rprivate".to_string(),
        "/var/log/containers:/var/log/containers:z".to_string(),
        "/var/log/pods:/var/log/pods:z".to_string(),
        "/usr:/host/usr:ro".to_string(),
        "/etc:/host/etc:ro".to_string(),
    ];
    // Flex volume drivers install to the unprefixed path.
    if kubelet_dir != KUBELET_DIR {
        binds.push(
            "/var/lib/kubelet/volumeplugins:/var/lib/kubelet/volumeplugins:shared,z".to_string(),
        );
    }
    let mut binds = cluster.own_binds(binds);
    binds.extend(cluster.cfg.services.kubelet.extra_binds.iter().cloned());
    args::uniq(binds)
}

/// The kubelet, after what it needs started first: with cri-dockerd, `service-sidekick` and the
/// cri-dockerd container ([`super::cri_dockerd`]). In start order.
pub fn build(cluster: &Cluster, host: &Host) -> Vec<ContainerSpec> {
    let kubelet = &cluster.cfg.services.kubelet;
    let a = kubelet_args(cluster, host);
    let binds = kubelet_binds(cluster, host);

    let mut out = Vec::new();
    if cluster.cri_dockerd {
        out.extend(cri_dockerd::build(cluster, host, &a, &binds));
    }
    let mut spec = container(NAME, &kubelet.image, Plane::Worker);
    spec.entrypoint = vec![NAME.into()];
    spec.args = args::render(&a, &kubelet.extra_args_array, &[]);
    spec.env = args::uniq(kubelet.extra_env.clone());
    spec.binds = binds;
    spec.pid_mode = Some("host".into());
    spec.privileged = true;
    spec.health = Some(health::kubelet());
    out.push(spec);
    out
}
