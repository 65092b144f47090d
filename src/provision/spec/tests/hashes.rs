//! Convergence hashes: stable, local to what a container uses, and sensitive to what matters.

use super::*;

const WITH_WORKER: &str = "  - address: 192.168.1.14
    hostname_override: node4
    user: rke
    role: [worker]
";

fn hashes(plan: &NodePlan) -> Vec<(String, String)> {
    plan.containers
        .iter()
        .map(|c| (c.name.clone(), c.labels[SPEC_HASH_LABEL].clone()))
        .collect()
}

#[test]
fn every_container_is_sealed_with_its_hash() {
    for plan in plans(&config(V132, "")) {
        for c in &plan.containers {
            assert_eq!(c.labels[SPEC_HASH_LABEL], c.spec_hash(), "{}", c.name);
            assert_eq!(c.labels[CONTAINER_NAME_LABEL], c.name);
        }
    }
}

#[test]
fn hashes_are_stable_across_runs() {
    let cfg = config(V120, "");
    let a: Vec<_> = plans(&cfg).iter().map(hashes).collect();
    let b: Vec<_> = plans(&cfg).iter().map(hashes).collect();
    assert_eq!(a, b);
}

#[test]
fn an_unrelated_node_does_not_touch_other_nodes() {
    let base = plans(&config_with(V132, THREE_NODES, ""));
    let nodes = format!("{THREE_NODES}{WITH_WORKER}");
    let added = plans(&config_with(V132, &nodes, ""));
    let changed = plans(&config_with(V132, &nodes.replace("node4", "node5"), ""));
    for name in ["node1", "node2", "node3"] {
        assert_eq!(
            hashes(node(&base, name)),
            hashes(node(&added, name)),
            "{name}"
        );
        assert_eq!(
            hashes(node(&base, name)),
            hashes(node(&changed, name)),
            "{name}"
        );
    }
    assert_ne!(
        hashes(node(&added, "node4")),
        hashes(node(&changed, "node5"))
    );
}

#[test]
fn changing_the_control_plane_replaces_the_workers_proxy() {
    let base = plans(&config(V132, ""));
    let more_cp = THREE_NODES.replace("role: [etcd, worker]", "role: [etcd, controlplane, worker]");
    let nodes = format!("{more_cp}{WITH_WORKER}");
    let grown = plans(&config_with(V132, &nodes, ""));
    let before = spec(&base, "node3", names::NGINX_PROXY);
    let after = spec(&grown, "node4", names::NGINX_PROXY);
    assert_ne!(
        before.labels[SPEC_HASH_LABEL],
        after.labels[SPEC_HASH_LABEL]
    );
    assert_ne!(
        before.labels[FILES_HASH_LABEL],
        after.labels[FILES_HASH_LABEL]
    );
    // Same container otherwise: only the configuration file it reads differs.
    assert_eq!(before.args, after.args);
    // A worker's kubelet does not care which nodes serve the API.
    let shrunk_nodes = THREE_NODES.replace(
        "role: [etcd, controlplane, worker]\n  - address: 192.168.1.12",
        "role: [etcd, worker]\n  - address: 192.168.1.12",
    );
    let shrunk = plans(&config_with(V132, &shrunk_nodes, ""));
    assert_eq!(
        spec(&base, "node3", names::KUBELET).labels[SPEC_HASH_LABEL],
        spec(&shrunk, "node3", names::KUBELET).labels[SPEC_HASH_LABEL]
    );
    assert_ne!(
        spec(&base, "node3", names::NGINX_PROXY).labels[SPEC_HASH_LABEL],
        spec(&shrunk, "node3", names::NGINX_PROXY).labels[SPEC_HASH_LABEL]
    );
}

#[test]
fn a_rotated_certificate_replaces_exactly_its_readers() {
    let cfg = config(V132, "");
    let bundle = fake_bundle(&cfg);
    let mut rotated = bundle.clone();
    rotated.get_mut("kube-proxy").unwrap().certificate_pem =
        "-----BEGIN CERTIFICATE-----\nbmV3\n-----END CERTIFICATE-----\n".into();
    let a = plan_cluster(&cfg, &bundle, "").unwrap();
    let b = plan_cluster(&cfg, &rotated, "").unwrap();
    for name in [names::ETCD, names::KUBE_APISERVER, names::KUBELET] {
        assert_eq!(
            spec(&a, "node1", name).labels[SPEC_HASH_LABEL],
            spec(&b, "node1", name).labels[SPEC_HASH_LABEL],
            "{name}"
        );
    }
    assert_ne!(
        spec(&a, "node1", names::KUBE_PROXY).labels[SPEC_HASH_LABEL],
        spec(&b, "node1", names::KUBE_PROXY).labels[SPEC_HASH_LABEL]
    );
}
