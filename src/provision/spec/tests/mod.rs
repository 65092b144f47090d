//! Tests of whole node plans: golden snapshots, RKE1 argument spot checks, secrets, hashes.

mod assertions;
mod cri_dockerd;
mod files;
mod flags;
mod golden;
mod hashes;
mod secrets;
mod snapshot_agent;

use super::*;
use crate::certs::{CertBundle, CertificatePki};
use crate::config::RkeConfig;
use crate::config::load::load_str;
use std::path::Path;

pub const V120: &str = "v1.20.15-rancher2-2";
pub const V132: &str = "v1.32.13-rancher1-2";

/// node1, node2: etcd+controlplane+worker with separate internal addresses; node3: etcd+worker
/// reached on its only address.
pub const THREE_NODES: &str = "
nodes:
  - address: 192.168.1.11
    internal_address: 10.0.0.11
    hostname_override: node1
    user: rke
    role: [etcd, controlplane, worker]
  - address: 192.168.1.12
    internal_address: 10.0.0.12
    hostname_override: node2
    user: rke
    role: [etcd, controlplane, worker]
  - address: 192.168.1.13
    hostname_override: node3
    user: rke
    role: [etcd, worker]
";

/// A defaulted config: the three nodes, the version, and any extra top-level YAML.
pub fn config_with(version: &str, nodes: &str, extra: &str) -> RkeConfig {
    let text = format!("{nodes}kubernetes_version: {version}\n{extra}");
    let loaded = load_str(&text, Path::new("cluster.yml")).expect("parses");
    let errors: Vec<_> = loaded.errors().collect();
    assert!(errors.is_empty(), "{errors:?}");
    loaded.config
}

pub fn config(version: &str, extra: &str) -> RkeConfig {
    config_with(version, THREE_NODES, extra)
}

fn fake_pem(kind: &str, name: &str) -> String {
    format!("-----BEGIN {kind}-----\nZmFrZS1{name}\n-----END {kind}-----\n")
}

/// A deterministic bundle with RKE1's entries for `cfg` (fake PEM bodies, real kubeconfigs).
pub fn fake_bundle(cfg: &RkeConfig) -> CertBundle {
    let input = crate::cluster::pki_input(cfg, Path::new("cluster.yml"));
    let mut names: Vec<(String, &str, &str)> = [
        ("kube-ca", "", ""),
        ("kube-apiserver-requestheader-ca", "", ""),
        ("kube-apiserver", "", ""),
        ("kube-service-account-token", "", ""),
        ("kube-controller-manager", "", ""),
        ("kube-scheduler", "", ""),
        ("kube-proxy", "", ""),
        ("kube-node", "system:node", "system:nodes"),
        ("kube-admin", "kube-admin", "system:masters"),
        ("kube-apiserver-proxy-client", "", ""),
    ]
    .into_iter()
    .map(|(n, cn, ou)| (n.to_string(), cn, ou))
    .collect();
    for node in &input.etcd {
        names.push((crate::certs::crt_name_for_host(node, "kube-etcd"), "", ""));
    }
    if input.generate_serving_certificate {
        for node in &input.all_nodes {
            names.push((
                crate::certs::crt_name_for_host(node, "kube-kubelet"),
                "",
                "",
            ));
        }
    }
    names
        .into_iter()
        .map(|(name, cn, ou)| {
            let entry = CertificatePki::rke1_entry(
                &name,
                cn,
                ou,
                fake_pem("CERTIFICATE", &name),
                fake_pem("RSA PRIVATE KEY", &name),
            );
            (name, entry)
        })
        .collect()
}

pub fn plans(cfg: &RkeConfig) -> Vec<NodePlan> {
    plan_cluster(cfg, &fake_bundle(cfg), "").expect("plans")
}

pub fn plans_with(cfg: &RkeConfig, inputs: &PlanInputs) -> Vec<NodePlan> {
    plan_cluster_with(cfg, &fake_bundle(cfg), inputs).expect("plans")
}

pub fn node<'a>(plans: &'a [NodePlan], name: &str) -> &'a NodePlan {
    plans
        .iter()
        .find(|p| p.node == name)
        .unwrap_or_else(|| panic!("no plan for {name}"))
}

pub fn spec<'a>(plans: &'a [NodePlan], node_name: &str, container: &str) -> &'a ContainerSpec {
    node(plans, node_name)
        .container(container)
        .unwrap_or_else(|| panic!("{node_name} has no {container}"))
}

/// The value of `--name=` in a spec's args; `None` when absent.
pub fn arg<'a>(spec: &'a ContainerSpec, name: &str) -> Option<&'a str> {
    let prefix = format!("--{name}=");
    spec.args
        .iter()
        .find_map(|a| a.strip_prefix(prefix.as_str()))
}

pub fn has_flag(spec: &ContainerSpec, name: &str) -> bool {
    let prefix = format!("--{name}=");
    spec.args
        .iter()
        .any(|a| a == &format!("--{name}") || a.starts_with(&prefix))
}
