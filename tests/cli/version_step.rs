//! One minor at a time: `rke validate` and `rke up` against a state file whose `currentState`
//! records the running Kubernetes version. `rke up --init` reaches the check and touches no
//! node, so no test here needs the node environment.

use crate::common::*;
use std::path::{Path, PathBuf};

const RUNNING: &str = "v1.27.16-rancher1-1";

/// A cluster whose last successful `rke up` applied `RUNNING`: `rke up --init` writes the
/// desired state, which is then recorded as the current one (what a finished run does).
fn cluster_running(dir: &Path) -> PathBuf {
    let cfg = init_with(dir, &THREE_NODES.replace("v1.20.15-rancher2-2", RUNNING));
    let state_path = dir.join("cluster.rkestate");
    let mut state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&state_path).unwrap()).unwrap();
    state["currentState"] = state["desiredState"].clone();
    assert_eq!(
        state["currentState"]["rkeConfig"]["kubernetesVersion"],
        RUNNING
    );
    std::fs::write(&state_path, serde_json::to_vec(&state).unwrap()).unwrap();
    cfg
}

/// Set `kubernetes_version` in cluster.yml.
fn request(cfg: &Path, version: &str) {
    let text: Vec<String> = std::fs::read_to_string(cfg)
        .unwrap()
        .lines()
        .map(|l| {
            if l.starts_with("kubernetes_version:") {
                format!("kubernetes_version: {version}")
            } else {
                l.to_string()
            }
        })
        .collect();
    std::fs::write(cfg, text.join("\n") + "\n").unwrap();
}

fn run(args: &[&str], cfg: &Path) -> std::process::Output {
    rke().args(args).arg("--config").arg(cfg).output().unwrap()
}

#[test]
fn validate_refuses_skipping_a_minor_and_names_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = cluster_running(dir.path());
    request(&cfg, "v1.29.15-rancher1-1");

    let out = run(&["validate"], &cfg);
    assert_eq!(out.status.code(), Some(3), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    assert!(err.contains("1.27 → 1.28 → 1.29"), "{err}");
    assert!(
        err.contains(RUNNING) && err.contains("v1.29.15-rancher1-1"),
        "{err}"
    );
    assert!(
        err.contains("v1.28.15-rancher1-1"),
        "suggests the step: {err}"
    );
    // Located on the kubernetes_version line of cluster.yml.
    assert!(err.contains("cluster.yml:2:"), "{err}");
}

#[test]
fn validate_refuses_going_back_a_minor() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = cluster_running(dir.path());
    request(&cfg, "v1.26.15-rancher1-1");

    let out = run(&["validate"], &cfg);
    assert_eq!(out.status.code(), Some(3), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    assert!(err.contains("going back from 1.27 to 1.26"), "{err}");
}

#[test]
fn validate_accepts_the_next_minor_and_the_override() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = cluster_running(dir.path());
    request(&cfg, "v1.28.15-rancher1-1");
    let out = run(&["validate"], &cfg);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));

    request(&cfg, "v1.30.14-rancher1-1");
    let out = run(&["validate", "--allow-version-skew"], &cfg);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    assert!(
        err.contains("warning") && err.contains("--allow-version-skew"),
        "{err}"
    );
}

#[test]
fn up_refuses_before_writing_anything_and_the_override_lets_it_through() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = cluster_running(dir.path());
    let state_path = dir.path().join("cluster.rkestate");
    let before = std::fs::read(&state_path).unwrap();

    request(&cfg, "v1.29.15-rancher1-1");
    let out = run(&["up", "--init"], &cfg);
    assert_eq!(out.status.code(), Some(3), "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).contains("1.27 → 1.28 → 1.29"),
        "{}",
        stderr_of(&out)
    );
    assert_eq!(
        std::fs::read(&state_path).unwrap(),
        before,
        "state untouched"
    );

    request(&cfg, "v1.26.15-rancher1-1");
    let out = run(&["up", "--init"], &cfg);
    assert_eq!(out.status.code(), Some(3), "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).contains("going back"),
        "{}",
        stderr_of(&out)
    );

    let out = run(&["up", "--init", "--allow-version-skew"], &cfg);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&state_path).unwrap()).unwrap();
    assert_eq!(
        state["desiredState"]["rkeConfig"]["kubernetesVersion"],
        "v1.26.15-rancher1-1"
    );
}

#[test]
fn a_new_cluster_may_start_at_any_version() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(
        dir.path(),
        "cluster.yml",
        &THREE_NODES.replace("v1.20.15-rancher2-2", "v1.32.13-rancher1-2"),
    );
    let out = run(&["validate"], &cfg);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
}
