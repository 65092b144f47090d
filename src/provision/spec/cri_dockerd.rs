//! cri-dockerd, the kubelet's container runtime from Kubernetes 1.24 (earlier where the version
//! table says so), run from the image that ships it, as RKE1 does: rke-tools
//! (`system_images.kubernetes_services_sidecar`) carries `/opt/rke-tools/bin/cri-dockerd` in its
//! `VOLUME /opt/rke-tools`, which reaches the container running it through `service-sidekick`,
//! a container of that image that is created and never started (RKE1 `BuildSidecarProcess`).
//!
//! RKE1 started cri-dockerd inside the kubelet container (rke-tools' `entrypoint.sh`, switched on
//! by `RKE_KUBELET_CRIDOCKERD=true`). Here it has a container of its own, made like that one: the
//! kubelet's image (the tools CNI plugins and cri-dockerd call: `nsenter`, `ip`, `iptables`), the
//! kubelet's mounts and environment. Its lifetime is its own: restarting or replacing the kubelet
//! (any kubelet flag change) leaves cri-dockerd and the pods it tracks alone, and replacing
//! cri-dockerd leaves the kubelet alone. Pods are Docker containers and outlive either process;
//! a new cri-dockerd finds them by their Docker labels and its checkpoints in
//! `/var/lib/cri-dockerd` (a host directory, as in RKE1 from 1.24). Taking over an RKE1 node, it
//! starts before RKE1's kubelet container (with the cri-dockerd inside) is replaced, and takes
//! over the runtime socket, whose old listener is simply killed with that container.

use super::args::{self, ArgMap};
use super::context::{Cluster, Host, container};
use super::net::is_dual_stack;
use super::paths::{self, CRI_DOCKERD_DIR, CRI_DOCKERD_SOCKET};
use super::types::{ContainerSpec, Plane};

pub const NAME: &str = "cri-dockerd";
/// RKE1's volume holder (`services.SidekickContainerName`).
pub const SIDEKICK: &str = "service-sidekick";
/// Where rke-tools keeps cri-dockerd, inside its `VOLUME /opt/rke-tools`.
pub const BINARY: &str = "/opt/rke-tools/bin/cri-dockerd";
/// The rke-tools image whose volume the cri-dockerd container mounts: a new one means a new
/// `service-sidekick`, and cri-dockerd must be created again to see its volume.
pub const TOOLS_IMAGE_LABEL: &str = "io.rke.tools-image";

/// `service-sidekick`, then cri-dockerd: the runtime the kubelet (with `kubelet_args` and
/// `kubelet_binds`) talks to, in start order.
pub fn build(
    cluster: &Cluster,
    host: &Host,
    kubelet_args: &ArgMap,
    kubelet_binds: &[String],
) -> [ContainerSpec; 2] {
    let tools = &cluster.cfg.system_images.kubernetes_services_sidecar;
    let mut sidekick = container(SIDEKICK, tools, Plane::Worker);
    // As RKE1 creates it; never run, only its volume is used.
    sidekick.entrypoint = vec!["/bin/bash".into()];
    sidekick.network_mode = "none".into();
    sidekick.restart_always = false;
    sidekick.created_only = true;

    let mut cri = container(NAME, &cluster.cfg.services.kubelet.image, Plane::Worker);
    cri.entrypoint = vec![BINARY.into()];
    cri.args = args::render(
        &flags(cluster, host, kubelet_args),
        &Default::default(),
        &[],
    );
    cri.env = args::uniq(cluster.cfg.services.kubelet.extra_env.clone());
    cri.binds = binds(cluster, host, kubelet_binds);
    cri.volumes_from = vec![SIDEKICK.into()];
    cri.pid_mode = Some("host".into());
    cri.privileged = true;
    cri.labels
        .insert(TOOLS_IMAGE_LABEL.to_string(), tools.to_string());
    [sidekick, cri]
}

/// What rke-tools' entrypoint gives cri-dockerd: CNI, the kubelet's pause image, listening where
/// the kubelet looks, `--ipv6-dual-stack` for a dual-stack cluster CIDR
/// (`RKE_KUBELET_CRIDOCKERD_DUALSTACK`); plus the node's Docker socket and the stream server
/// address and port of `cluster.yml`. No cgroup driver: cri-dockerd asks Docker for it, and the
/// kubelet gets the same one from the host facts.
fn flags(cluster: &Cluster, host: &Host, kubelet_args: &ArgMap) -> ArgMap {
    let cfg = cluster.cfg;
    let endpoint = kubelet_args
        .get("container-runtime-endpoint")
        .map(|e| unix_endpoint(e))
        .unwrap_or_else(|| CRI_DOCKERD_SOCKET.to_string());
    let pause = kubelet_args
        .get("pod-infra-container-image")
        .cloned()
        .unwrap_or_else(|| cfg.services.kubelet.infra_container_image.clone());
    let mut a = ArgMap::new();
    for (k, v) in [
        ("container-runtime-endpoint", endpoint),
        ("docker-endpoint", unix_endpoint(docker_socket(host))),
        ("network-plugin", "cni".to_string()),
        ("cni-bin-dir", "/opt/cni/bin".to_string()),
        ("cni-conf-dir", "/etc/cni/net.d".to_string()),
        ("pod-infra-container-image", pause),
    ] {
        a.insert(k.to_string(), v);
    }
    if is_dual_stack(&cfg.services.kube_controller.cluster_cidr) {
        a.insert("ipv6-dual-stack".into(), "true".into());
    }
    let stream_address = &cfg.cri_dockerd_stream_server_address;
    let stream_port = &cfg.cri_dockerd_stream_server_port;
    if !stream_address.is_empty() || !stream_port.is_empty() {
        let port = if stream_port.is_empty() {
            "0"
        } else {
            stream_port
        };
        a.insert(
            "streaming-bind-addr".into(),
            format!("{stream_address}:{port}"),
        );
    }
    a
}

/// The kubelet container's mounts (RKE1 ran cri-dockerd inside it), its checkpoint directory,
/// kernel modules for the CNI plugins, the registry credentials and an unusual Docker socket.
fn binds(cluster: &Cluster, host: &Host, kubelet_binds: &[String]) -> Vec<String> {
    let mut own = vec![
        format!("{}:{CRI_DOCKERD_DIR}:z", host.path(CRI_DOCKERD_DIR)),
        "/lib/modules:/lib/modules:ro".to_string(),
    ];
    // cri-dockerd pulls the pause image itself; Kubernetes' credential lookup always searches
    // `/.docker/config.json`, where rke-tools bind-mounted the kubelet's file too.
    if super::files::registry_credentials(cluster.cfg).is_some() {
        own.push(format!(
            "{}:/.docker/config.json:ro",
            host.path(paths::KUBELET_DOCKER_CONFIG)
        ));
    }
    // A Docker socket outside /run needs its own mount.
    let socket = docker_socket(host);
    if !socket.starts_with("/var/run/") && !socket.starts_with("/run/") {
        own.push(format!("{socket}:{socket}"));
    }
    let mut all = kubelet_binds.to_vec();
    for bind in cluster.own_binds(own) {
        // A second mount on the same path (a kubelet extra_bind) would fail the create.
        if !all.iter().any(|b| destination(b) == destination(&bind)) {
            all.push(bind);
        }
    }
    args::uniq(all)
}

fn destination(bind: &str) -> &str {
    bind.split(':').nth(1).unwrap_or(bind)
}

fn docker_socket<'h>(host: &'h Host) -> &'h str {
    if host.node.docker_socket.is_empty() {
        "/var/run/docker.sock"
    } else {
        host.node.docker_socket.as_str()
    }
}

fn unix_endpoint(endpoint: &str) -> String {
    if endpoint.contains("://") {
        endpoint.to_string()
    } else {
        format!("unix://{endpoint}")
    }
}
