//! Code shared by the test binaries (`mod common;` in each): the CLI helpers below, and for the
//! tests on the nodes of tests/env the modules listed here. Each binary uses part of it.
#![allow(dead_code)]

/// Polling the Kubernetes API while a run changes the cluster.
pub mod api_watch;
/// A scenario's working directory, the rke binary and kubectl.
pub mod cluster;
/// The environment's description (env.json) and generators (cluster.yml, network plugin).
pub mod e2e;
/// Connecting to a node with rke's own transport (tests that drive the library directly).
pub mod node_connect;
/// Looking at and acting on the nodes through the host engine, never through rke.
pub mod nodes;
/// The moto S3 servers of tests/env/s3/moto.sh.
pub mod s3_servers;
/// Running a scenario's steps in order.
pub mod scenario;
/// Scenario steps more than one scenario runs.
pub mod steps;

use assert_cmd::Command;
use std::path::{Path, PathBuf};

pub fn rke() -> Command {
    let mut c = Command::cargo_bin("rke").expect("rke binary");
    c.env_remove("RKE_CONFIG").env("NO_COLOR", "1");
    c
}

/// A three-node config (two control-plane nodes) on documentation addresses.
pub const THREE_NODES: &str = "\
cluster_name: test
kubernetes_version: v1.20.15-rancher2-2
nodes:
  - address: 10.0.0.1
    user: rke
    role: [etcd, controlplane, worker]
    hostname_override: node1
  - address: 10.0.0.2
    user: rke
    role: [etcd, controlplane, worker]
    hostname_override: node2
  - address: 10.0.0.3
    user: rke
    role: [etcd, worker]
    hostname_override: node3
authentication:
  sans: [api.test.internal]
";

pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

pub fn stdout_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `--output json`'s stdout: every line one JSON object, events first, then exactly one
/// closing result object. Returns all of them (the result last).
pub fn json_stream(out: &std::process::Output) -> Vec<serde_json::Value> {
    let text = stdout_of(out);
    let values: Vec<serde_json::Value> = text
        .lines()
        .map(|line| {
            serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {line}\n{text}"))
        })
        .collect();
    let (last, events) = values.split_last().expect("some JSON on stdout");
    assert_eq!(
        last["type"], "result",
        "the last line is the result: {text}"
    );
    for e in events {
        assert_eq!(e["type"], "event", "only the last line is a result: {text}");
    }
    values
}

/// The closing result object of `--output json`'s stdout (every line checked).
pub fn json_result(out: &std::process::Output) -> serde_json::Value {
    json_stream(out).pop().expect("a result")
}

/// cluster.yml plus the state file and kubeconfig `rke up --init` writes.
pub fn initialized(dir: &Path) -> PathBuf {
    let cfg = init_with(dir, THREE_NODES);
    assert!(dir.join("cluster.rkestate").exists());
    assert!(dir.join("kube_config_cluster.yml").exists());
    cfg
}

/// Writes `yml` as `cluster.yml` in `dir` and runs `rke up --init` on it (must exit 0).
pub fn init_with(dir: &Path, yml: &str) -> PathBuf {
    let cfg = write(dir, "cluster.yml", yml);
    let out = rke()
        .arg("up")
        .arg("--init")
        .arg("--config")
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    cfg
}
