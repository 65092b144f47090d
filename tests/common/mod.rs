//! Helpers shared by the CLI integration tests.
#![allow(dead_code)]

pub mod e2e;

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
