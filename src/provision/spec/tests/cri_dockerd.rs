//! cri-dockerd as RKE1 runs it: rke-tools' binary through `service-sidekick`, with the flags
//! rke-tools' entrypoint gives it, in a container that outlives kubelet changes.

use super::*;
use crate::provision::spec::names::*;

/// Every bind's container path, for duplicate checks (Docker refuses two mounts on one path).
fn destinations(spec: &ContainerSpec) -> Vec<&str> {
    spec.binds
        .iter()
        .map(|b| b.split(':').nth(1).unwrap_or(b))
        .collect()
}

#[test]
fn v132_kubelet_talks_to_rke_tools_cri_dockerd_through_the_sidekick() {
    let p = plans(&config(V132, ""));
    let plan = node(&p, "node1");
    let kubelet = spec(&p, "node1", KUBELET);
    assert_eq!(
        arg(kubelet, "container-runtime-endpoint"),
        Some("unix:///var/run/cri-dockerd.sock")
    );
    assert!(!has_flag(kubelet, "network-plugin"));
    assert!(!has_flag(kubelet, "container-runtime"), "removed in 1.27");
    assert!(
        kubelet.env.is_empty(),
        "no rke-tools switches: {:?}",
        kubelet.env
    );

    let sidekick = spec(&p, "node1", SERVICE_SIDEKICK);
    assert_eq!(sidekick.image, "rancher/rke-tools:v0.1.114");
    assert!(sidekick.created_only, "RKE1 creates it and never starts it");
    assert_eq!(sidekick.network_mode, "none");
    assert!(!sidekick.restart_always);
    assert!(sidekick.health.is_none());

    let cri = spec(&p, "node1", CRI_DOCKERD);
    assert_eq!(cri.image, kubelet.image, "the image RKE1 ran it in");
    assert_eq!(cri.entrypoint, ["/opt/rke-tools/bin/cri-dockerd"]);
    assert_eq!(cri.volumes_from, [SERVICE_SIDEKICK]);
    assert_eq!(
        cri.labels.get("io.rke.tools-image").map(String::as_str),
        Some("rancher/rke-tools:v0.1.114")
    );
    for (flag, value) in [
        (
            "container-runtime-endpoint",
            "unix:///var/run/cri-dockerd.sock",
        ),
        ("network-plugin", "cni"),
        ("cni-conf-dir", "/etc/cni/net.d"),
        ("cni-bin-dir", "/opt/cni/bin"),
        ("docker-endpoint", "unix:///var/run/docker.sock"),
    ] {
        assert_eq!(arg(cri, flag), Some(value), "--{flag}");
    }
    assert_eq!(
        arg(cri, "pod-infra-container-image"),
        arg(kubelet, "pod-infra-container-image")
    );
    assert!(!has_flag(cri, "ipv6-dual-stack"));
    assert!(!has_flag(cri, "streaming-bind-addr"));
    assert!(cri.privileged && cri.restart_always);
    assert_eq!(cri.pid_mode.as_deref(), Some("host"));
    // The kubelet container's mounts (RKE1 ran it inside), plus its checkpoints.
    for bind in &kubelet.binds {
        assert!(cri.binds.contains(bind), "cri-dockerd lacks {bind}");
    }
    assert!(
        cri.binds
            .contains(&"/var/lib/cri-dockerd:/var/lib/cri-dockerd".to_string())
    );
    let mut seen = destinations(cri);
    let all = seen.len();
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen.len(), all, "one mount per path: {:?}", cri.binds);

    let position = |name: &str| plan.containers.iter().position(|c| c.name == name);
    assert!(position(SERVICE_SIDEKICK) < position(CRI_DOCKERD));
    assert!(position(CRI_DOCKERD) < position(KUBELET));
}

#[test]
fn dockershim_clusters_have_neither() {
    let p = plans(&config(V120, ""));
    for plan in &p {
        assert!(plan.container(CRI_DOCKERD).is_none(), "{}", plan.node);
        assert!(plan.container(SERVICE_SIDEKICK).is_none(), "{}", plan.node);
    }
}

#[test]
fn below_124_it_listens_on_the_dockershim_socket() {
    let p = plans(&config("v1.21.8-rancher2-1", "enable_cri_dockerd: true\n"));
    let kubelet = spec(&p, "node3", KUBELET);
    assert_eq!(arg(kubelet, "container-runtime"), Some("remote"));
    assert_eq!(
        arg(kubelet, "container-runtime-endpoint"),
        Some("/var/run/dockershim.sock")
    );
    let cri = spec(&p, "node3", CRI_DOCKERD);
    assert_eq!(
        arg(cri, "container-runtime-endpoint"),
        Some("unix:///var/run/dockershim.sock")
    );
    assert!(node(&p, "node3").container(SERVICE_SIDEKICK).is_some());
}

#[test]
fn dual_stack_stream_server_and_environment_reach_it() {
    let extra = "cri_dockerd_stream_server_address: 127.0.0.1
cri_dockerd_stream_server_port: \"10010\"
network:
  plugin: calico
services:
  kube-controller:
    cluster_cidr: 10.42.0.0/16,fd00:42::/56
    service_cluster_ip_range: 10.43.0.0/16,fd00:43::/112
  kube-api:
    service_cluster_ip_range: 10.43.0.0/16,fd00:43::/112
  kubelet:
    extra_env: [HTTPS_PROXY=http://proxy.example.com:3128]
    extra_binds: [\"/lib/modules:/lib/modules:ro\"]
";
    let p = plans(&config(V132, extra));
    let cri = spec(&p, "node1", CRI_DOCKERD);
    assert_eq!(arg(cri, "ipv6-dual-stack"), Some("true"));
    assert_eq!(arg(cri, "streaming-bind-addr"), Some("127.0.0.1:10010"));
    assert_eq!(cri.env, ["HTTPS_PROXY=http://proxy.example.com:3128"]);
    let modules = destinations(cri)
        .iter()
        .filter(|d| **d == "/lib/modules")
        .count();
    assert_eq!(modules, 1, "the kubelet's extra_bind, not a second mount");
}

#[test]
fn a_kubelet_flag_change_leaves_cri_dockerd_alone() {
    let before = plans(&config(V132, ""));
    let after = plans(&config(
        V132,
        "services:\n  kubelet:\n    extra_args:\n      max-pods: \"50\"\n",
    ));
    let hash = |p: &[NodePlan], c: &str| spec(p, "node1", c).labels[SPEC_HASH_LABEL].clone();
    assert_ne!(hash(&before, KUBELET), hash(&after, KUBELET));
    assert_eq!(hash(&before, CRI_DOCKERD), hash(&after, CRI_DOCKERD));
    assert_eq!(
        hash(&before, SERVICE_SIDEKICK),
        hash(&after, SERVICE_SIDEKICK)
    );
}

#[test]
fn a_new_rke_tools_image_recreates_the_sidekick_and_cri_dockerd() {
    let before = plans(&config(V132, ""));
    let after = plans(&config(
        V132,
        "system_images:\n  kubernetes_services_sidecar: rancher/rke-tools:v0.1.115\n",
    ));
    let hash = |p: &[NodePlan], c: &str| spec(p, "node1", c).labels[SPEC_HASH_LABEL].clone();
    assert_ne!(
        hash(&before, SERVICE_SIDEKICK),
        hash(&after, SERVICE_SIDEKICK)
    );
    assert_ne!(hash(&before, CRI_DOCKERD), hash(&after, CRI_DOCKERD));
    assert_eq!(hash(&before, KUBELET), hash(&after, KUBELET));
}
