//! `rke remove`, `rke util get-kubeconfig` and `rke version` without nodes: the confirmation
//! rules, unreachable nodes, and the local files.

use crate::common::{THREE_NODES, initialized, rke, stderr_of, stdout_of, write};

#[test]
fn without_a_terminal_and_without_force_nothing_happens() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = initialized(dir.path());
    // Even a "yes" on a pipe is refused: CI must pass --force deliberately.
    let out = rke()
        .arg("remove")
        .arg("--config")
        .arg(&cfg)
        .write_stdin("yes\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(10), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("--force"), "{}", stderr_of(&out));
    assert!(
        stdout_of(&out).is_empty(),
        "no node touched: {}",
        stdout_of(&out)
    );
    assert!(dir.path().join("cluster.rkestate").exists());
    assert!(dir.path().join("kube_config_cluster.yml").exists());
}

#[test]
fn force_with_unreachable_nodes_names_each_deletes_local_files_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = initialized(dir.path());
    let out = rke()
        .args(["remove", "--force", "--ssh-timeout", "2", "--config"])
        .arg(&cfg)
        // No SSH key at the default path: every node fails to connect, without the network.
        .env("HOME", dir.path())
        .output()
        .unwrap();
    let stdout = stdout_of(&out);
    assert_eq!(
        out.status.code(),
        Some(4),
        "connection class\n{stdout}\n{}",
        stderr_of(&out)
    );
    for node in ["node1", "node2", "node3"] {
        assert!(
            stdout.contains(&format!("node {node}: not reachable")),
            "{node} reported\n{stdout}"
        );
    }
    assert!(
        stdout.contains("0 of 3 nodes cleaned")
            && stdout.contains("NOT cleaned: node1, node2, node3"),
        "{stdout}"
    );
    // --force: the local files go even so; cluster.yml stays.
    assert!(!dir.path().join("cluster.rkestate").exists());
    assert!(!dir.path().join("kube_config_cluster.yml").exists());
    assert!(cfg.exists());
}

#[test]
fn get_kubeconfig_rebuilds_the_same_file_from_the_state_and_keeps_a_backup() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = initialized(dir.path());
    let kubeconfig = dir.path().join("kube_config_cluster.yml");
    let original = std::fs::read_to_string(&kubeconfig).unwrap();
    std::fs::write(&kubeconfig, "stale").unwrap();
    let out = rke()
        .args(["util", "get-kubeconfig", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert_eq!(std::fs::read_to_string(&kubeconfig).unwrap(), original);
    let backup = dir.path().join("kube_config_cluster.yml.bak");
    assert_eq!(std::fs::read_to_string(backup).unwrap(), "stale");
}

#[test]
fn get_kubeconfig_without_state_is_a_state_error() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(dir.path(), "cluster.yml", THREE_NODES);
    let out = rke()
        .args(["util", "get-kubeconfig", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(11), "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).contains("cluster.rkestate"),
        "{}",
        stderr_of(&out)
    );
    assert!(!dir.path().join("kube_config_cluster.yml").exists());
}

#[test]
fn version_without_a_kubeconfig_prints_only_rke_version() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(dir.path(), "cluster.yml", THREE_NODES);
    let out = rke()
        .args(["version", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert_eq!(
        stdout_of(&out).trim(),
        format!("rke version v{}", env!("CARGO_PKG_VERSION"))
    );
    assert!(
        stderr_of(&out).contains("no admin kubeconfig"),
        "{}",
        stderr_of(&out)
    );
}
