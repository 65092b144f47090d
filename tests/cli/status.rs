//! `rke status` from the built binary without a cluster: the config and state checks come
//! first, and an unreachable node is reported with its error while the rest of the report
//! (certificates from the state) is still printed. Loopback only.

use crate::common::*;
use std::path::Path;

fn status(cfg: &Path, extra: &[&str]) -> std::process::Output {
    rke()
        .arg("status")
        .args(extra)
        .args(["--ssh-timeout", "5", "--config"])
        .arg(cfg)
        .output()
        .unwrap()
}

/// One node on loopback port 1: the connection is refused at once.
fn lonely_node(dir: &Path) -> std::path::PathBuf {
    let key = dir.join("id_ed25519");
    std::fs::write(&key, "not used: the connection is refused first").unwrap();
    let text = format!(
        "ssh_key_path: {}\nnodes:\n  - address: 127.0.0.1\n    port: \"1\"\n    user: rke\n    \
         role: [etcd, controlplane, worker]\n    hostname_override: lonely\n",
        key.display()
    );
    write(dir, "cluster.yml", &text)
}

#[test]
fn without_a_state_file_it_says_run_up_first() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(dir.path(), "cluster.yml", THREE_NODES);
    let out = status(&cfg, &[]);
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(11), "{err}");
    assert!(err.contains("no state file"), "{err}");
    assert!(err.contains("run rke up first"), "{err}");
    assert!(stdout_of(&out).is_empty());
    assert!(
        !dir.path().join("cluster.rkestate").exists(),
        "nothing written"
    );
    assert!(!dir.path().join("kube_config_cluster.yml").exists());
}

#[test]
fn a_bad_config_is_a_config_error() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(
        dir.path(),
        "cluster.yml",
        "nodes:\n  - address: 10.0.0.1\n    user: rke\n    role: [captain]\n",
    );
    let out = status(&cfg, &[]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr_of(&out));
    let missing = dir.path().join("absent.yml");
    let out = status(&missing, &[]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr_of(&out));
}

#[test]
fn an_unreachable_node_is_in_the_report_and_sets_the_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = lonely_node(dir.path());
    let out = rke()
        .args(["up", "--init", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let state_before = std::fs::read(dir.path().join("cluster.rkestate")).unwrap();
    let kubeconfig_before = std::fs::read(dir.path().join("kube_config_cluster.yml")).unwrap();

    let out = status(&cfg, &[]);
    let text = stdout_of(&out);
    assert_eq!(out.status.code(), Some(4), "{}", stderr_of(&out));
    assert!(
        text.contains(
            "NODE lonely (127.0.0.1) [etcd,controlplane,worker]: UNREACHABLE (connection)"
        ),
        "{text}"
    );
    assert!(text.contains("`rke up` never finished"), "{text}");
    assert!(text.contains("CERTIFICATES"), "{text}");
    assert!(text.contains("kube-ca"), "{text}");
    assert!(text.contains("Summary: 0/1 nodes reachable"), "{text}");

    let out = status(&cfg, &["--output", "json"]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr_of(&out));
    // The report is the data of the closing result object, which carries the node's error.
    let result = json_result(&out);
    assert_eq!(result["exit_code"], 4, "{result}");
    assert_eq!(result["errors"][0]["node"], "lonely", "{result}");
    let v = &result["data"];
    assert_eq!(v["applied"], false);
    let node = &v["nodes"][0];
    assert_eq!(node["name"], "lonely");
    assert_eq!(node["reachable"], false);
    assert_eq!(node["error_kind"], "connection");
    assert!(node["error"].as_str().unwrap().contains("lonely"), "{node}");
    assert_eq!(node["components"].as_array().unwrap().len(), 0);
    let certs = v["certificates"].as_array().unwrap();
    assert!(certs.len() >= 10, "{certs:?}");
    for c in certs {
        // Issued just now for ten years (RKE1's validity).
        let days = c["days_left"].as_i64().unwrap();
        assert!((3640..=3650).contains(&days), "{c}");
        assert_eq!(c["state"], "ok", "{c}");
    }
    assert_eq!(v["summary"]["reachable"], 0);
    assert_eq!(v["summary"]["nodes"], 1);

    // Read-only: the state file and the kubeconfig are as `up --init` left them.
    assert_eq!(
        std::fs::read(dir.path().join("cluster.rkestate")).unwrap(),
        state_before
    );
    assert_eq!(
        std::fs::read(dir.path().join("kube_config_cluster.yml")).unwrap(),
        kubeconfig_before
    );
}
