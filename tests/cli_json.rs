//! `--output json` from the built binary, without nodes: every stdout line is one JSON
//! object, the last is the result object with the exit code and the error's class, node and
//! step; and secrets from cluster.yml never reach the stream.

mod common;
use common::*;
use std::path::Path;

#[test]
fn validate_json_is_one_result_with_the_report_as_data() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(dir.path(), "cluster.yml", THREE_NODES);
    let out = rke()
        .args(["validate", "--output", "json", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let r = json_result(&out);
    assert_eq!(r["command"], "validate");
    assert_eq!(r["success"], true);
    assert_eq!(r["exit_code"], 0);
    assert_eq!(r["errors"], serde_json::json!([]));
    assert_eq!(r["data"]["valid"], true);
    assert_eq!(r["data"]["summary"]["etcd"], 3);
    assert!(r["duration_ms"].is_u64(), "{r}");
}

#[test]
fn output_is_global_so_it_may_come_before_the_command() {
    let dir = tempfile::tempdir().unwrap();
    let text = THREE_NODES.replace("role: [etcd, worker]", "role: [etcd, wroker]");
    let cfg = write(dir.path(), "cluster.yml", &text);
    let out = rke()
        .args(["--output", "json", "validate", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let r = json_result(&out);
    assert_eq!(r["success"], false);
    assert_eq!(r["exit_code"], 3);
    assert_eq!(r["errors"][0]["kind"], "config");
    assert!(r["data"]["errors"].to_string().contains("wroker"), "{r}");
}

#[test]
fn up_with_a_bad_config_ends_with_a_config_error() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(
        dir.path(),
        "cluster.yml",
        &THREE_NODES.replace("kubernetes_version: v1.20.15-rancher2-2", "nodes_typo: 1"),
    );
    let out = rke()
        .args(["up", "--output", "json", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr_of(&out));
    let r = json_result(&out);
    assert_eq!(r["command"], "up");
    assert_eq!(r["exit_code"], 3);
    assert_eq!(r["errors"][0]["kind"], "config", "{r}");
    assert_eq!(r["kubeconfig"], serde_json::Value::Null);
}

/// A port on 127.0.0.1 nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn ssh_key(dir: &Path) -> std::path::PathBuf {
    let key = dir.join("id_ed25519");
    let status = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .status()
        .expect("ssh-keygen");
    assert!(status.success());
    key
}

#[test]
fn up_against_an_unreachable_node_names_node_and_step() {
    let dir = tempfile::tempdir().unwrap();
    let key = ssh_key(dir.path());
    let yml = format!(
        "nodes:\n  - address: 127.0.0.1\n    port: {}\n    user: rke\n    role: [etcd, controlplane, worker]\n    hostname_override: lonely\n    ssh_key_path: {}\nprivate_registries:\n  - url: registry.example.com\n    user: ci\n    password: Sup3rSecretRegistryPass\n",
        closed_port(),
        key.display()
    );
    let cfg = write(dir.path(), "cluster.yml", &yml);
    let out = rke()
        .args(["up", "--output", "json", "--ssh-timeout", "5", "--config"])
        .arg(&cfg)
        .env("HOME", dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", stderr_of(&out));
    let all = json_stream(&out);
    let r = all.last().unwrap();
    assert_eq!(r["success"], false);
    assert_eq!(r["exit_code"], 4);
    let e = &r["errors"][0];
    assert_eq!(e["kind"], "connection", "{r}");
    assert_eq!(e["node"], "lonely", "{r}");
    assert_eq!(e["step"], "connect", "{r}");
    // The connect phase is in the stream, with the node's failure.
    assert!(
        all.iter()
            .any(|v| v["phase"] == "connect" && v["status"] == "started"),
        "{all:?}"
    );
    assert!(
        all.iter()
            .any(|v| v["node"] == "lonely" && v["step"] == "connect" && v["status"] == "failed"),
        "{all:?}"
    );
    for v in &all[..all.len() - 1] {
        for key in [
            "ts",
            "level",
            "command",
            "phase",
            "node",
            "step",
            "status",
            "duration_ms",
            "message",
        ] {
            assert!(v.get(key).is_some(), "{key} missing: {v}");
        }
        assert_eq!(v["command"], "up");
    }
    let everything = format!("{}{}", stdout_of(&out), stderr_of(&out));
    assert!(
        !everything.contains("Sup3rSecretRegistryPass"),
        "{everything}"
    );
}

#[test]
fn a_usage_error_still_exits_with_the_config_code() {
    let out = rke()
        .args(["validate", "--output", "yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
}
