//! Tests for [`super::validate`]: a valid baseline (as defaults would leave it), then one
//! mistake at a time, each asserting the exact paths reported.

mod cluster;
mod fixture;
mod network;
mod nodes;

use super::{Problem, Severity, ValidationContext, validate};
use crate::config::{DnsConfig, RkeConfig, RkeConfigNode};

pub const SUPPORTED: &[&str] = &[
    "v1.26.15-rancher1-1",
    "v1.27.16-rancher1-1",
    "v1.32.5-rancher1-1",
];
pub const REQUIRED: &[&str] = &["etcd", "kubernetes", "pod_infra_container", "alpine"];

pub fn node(address: &str, roles: &[&str]) -> RkeConfigNode {
    RkeConfigNode {
        address: address.into(),
        port: "22".into(),
        internal_address: address.into(),
        role: roles.iter().map(|r| r.to_string()).collect(),
        hostname_override: address.to_lowercase(),
        user: "ubuntu".into(),
        docker_socket: "/var/run/docker.sock".into(),
        ..Default::default()
    }
}

/// A valid three-node config with every default filled in.
pub fn valid() -> RkeConfig {
    let mut c = RkeConfig {
        version: "v1.27.16-rancher1-1".into(),
        nodes: vec![
            node("10.0.0.1", &["controlplane", "etcd", "worker"]),
            node("10.0.0.2", &["controlplane", "etcd", "worker"]),
            node("10.0.0.3", &["controlplane", "etcd", "worker"]),
        ],
        enable_cri_dockerd: Some(true),
        dns: Some(DnsConfig {
            provider: "coredns".into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let s = &mut c.services;
    s.kube_api.service_cluster_ip_range = "10.43.0.0/16".into();
    s.kube_api.service_node_port_range = "30000-32767".into();
    s.kube_api.pod_security_configuration = "privileged".into();
    s.kube_controller.service_cluster_ip_range = "10.43.0.0/16".into();
    s.kube_controller.cluster_cidr = "10.42.0.0/16".into();
    s.kubelet.cluster_dns_server = "10.43.0.10".into();
    s.kubelet.cluster_domain = "cluster.local".into();
    c.network.plugin = "canal".into();
    c.authentication.strategy = "x509".into();
    c.authorization.mode = "rbac".into();
    c.ingress.provider = "nginx".into();
    c.ingress.network_mode = "hostPort".into();
    c.ingress.http_port = 80;
    c.ingress.https_port = 443;
    c.monitoring.provider = "metrics-server".into();
    for key in REQUIRED {
        c.system_images
            .set_if_empty(key, &format!("rancher/{key}:v1"));
    }
    c
}

pub fn run(c: &RkeConfig) -> Vec<Problem> {
    run_with_cri_dockerd_from(c, (1, 24))
}

/// As [`run`], with a version table that runs cri-dockerd from `from`.
pub fn run_with_cri_dockerd_from(c: &RkeConfig, from: (u32, u32)) -> Vec<Problem> {
    validate(
        c,
        &ValidationContext {
            supported_versions: SUPPORTED,
            required_images: REQUIRED,
            cri_dockerd_from: from,
        },
    )
}

/// `(severity, path)` of every problem, for exact comparisons.
pub fn paths(problems: &[Problem]) -> Vec<(Severity, &str)> {
    problems
        .iter()
        .map(|p| (p.severity, p.path.as_str()))
        .collect()
}

/// Assert exactly these problems were found, each message containing its fragment.
#[track_caller]
pub fn assert_problems(c: &RkeConfig, expected: &[(Severity, &str, &str)]) {
    let got = run(c);
    let want: Vec<(Severity, &str)> = expected.iter().map(|(s, p, _)| (*s, *p)).collect();
    assert_eq!(paths(&got), want, "all problems: {got:#?}");
    for (problem, (_, _, fragment)) in got.iter().zip(expected) {
        assert!(
            problem.message.contains(fragment),
            "{:?} should mention {fragment:?}",
            problem.message
        );
    }
}

pub use Severity::{Error as E, Warning as W};

#[test]
fn baseline_is_clean() {
    assert_eq!(run(&valid()), vec![]);
}
