//! `--output json` from the built binary, without nodes: every stdout line is one JSON
//! object, the last is the result object with the exit code and the error's class, node and
//! step; and secrets from cluster.yml never reach the stream.

use crate::common::*;
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

/// Runs `rke --output json ARGS...` in `dir`, expects exit 0 and returns the result object.
fn json_ok(dir: &Path, args: &[&str]) -> serde_json::Value {
    let out = rke()
        .current_dir(dir)
        .args(["--output", "json"])
        .args(args)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{args:?}\n{}", stderr_of(&out));
    let r = json_result(&out);
    assert_eq!(r["success"], true, "{r}");
    r
}

#[test]
fn commands_without_nodes_put_their_answer_in_data() {
    let dir = tempfile::tempdir().unwrap();

    let r = json_ok(dir.path(), &["config", "--list-version", "--all"]);
    let versions = r["data"]["versions"].as_array().expect("versions").clone();
    assert!(versions.len() > 1, "{r}");
    assert!(versions.contains(&r["data"]["default"]), "{r}");

    let r = json_ok(dir.path(), &["config", "--system-images"]);
    assert_eq!(
        r["data"]["kubernetes_versions"][0],
        versions_default(dir.path())
    );
    let images = r["data"]["images"].as_array().expect("images");
    assert!(
        images.iter().any(|i| i.as_str().unwrap().contains("etcd")),
        "{r}"
    );

    // No kubeconfig next to the (absent) cluster.yml: no server version.
    let r = json_ok(dir.path(), &["version"]);
    assert_eq!(r["data"]["rke_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(r["data"]["server_version"], serde_json::Value::Null);

    let r = json_ok(dir.path(), &["config", "--empty", "--name", "new.yml"]);
    assert_eq!(r["data"]["config_file"], "new.yml");
    assert!(dir.path().join("new.yml").exists());

    // get-kubeconfig names the file it wrote in the result's `kubeconfig`.
    let cfg = initialized(dir.path());
    let cfg_arg = cfg.to_str().unwrap();
    let r = json_ok(dir.path(), &["util", "get-kubeconfig", "--config", cfg_arg]);
    let written = dir.path().join("kube_config_cluster.yml");
    assert_eq!(r["kubeconfig"], written.to_str().unwrap());
}

/// The table's default Kubernetes version, as `config --list-version` prints it.
fn versions_default(dir: &Path) -> serde_json::Value {
    json_ok(dir, &["config", "--list-version"])["data"]["default"].clone()
}
