//! Access to the multi-node test environment built by `tests/env/up.sh`.
#![allow(dead_code)]

use serde_json::Value;
use std::path::PathBuf;

/// The environment description, or `None` when `RKE_E2E_SKIP=1` says to skip node tests.
/// Without that opt-out a missing environment is a failure, never a silent pass.
pub fn env() -> Option<Value> {
    if std::env::var("RKE_E2E_SKIP").as_deref() == Ok("1") {
        eprintln!("RKE_E2E_SKIP=1: skipping a test that needs the node environment");
        return None;
    }
    let path = std::env::var_os("RKE_E2E_ENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/cache/rke-e2e/run/env.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read the test environment {} ({e}): run tests/env/up.sh first, \
             or set RKE_E2E_SKIP=1 to skip node tests",
            path.display()
        )
    });
    Some(serde_json::from_str(&text).expect("env.json parses"))
}

pub fn node_addresses(env: &Value) -> Vec<String> {
    env["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["address"].as_str().unwrap().to_string())
        .collect()
}

pub fn ssh_key(env: &Value) -> String {
    env["ssh"]["private_key"].as_str().unwrap().to_string()
}

/// A cluster.yml for the environment's first three nodes (node1, node2: all roles; node3: etcd +
/// worker), alternating the root and the docker-group user.
pub fn cluster_yml(env: &Value, version: &str, extra: &str) -> String {
    let nodes = node_addresses(env);
    let mut s = format!(
        "kubernetes_version: {version}\nssh_key_path: {}\n{extra}nodes:\n",
        ssh_key(env)
    );
    let roles = [
        "[etcd, controlplane, worker]",
        "[etcd, controlplane, worker]",
        "[etcd, worker]",
    ];
    for (i, addr) in nodes.iter().take(3).enumerate() {
        let user = if i % 2 == 0 { "rke" } else { "root" };
        s.push_str(&format!(
            "  - address: {addr}\n    user: {user}\n    role: {}\n    hostname_override: node{}\n",
            roles[i],
            i + 1
        ));
    }
    s
}
