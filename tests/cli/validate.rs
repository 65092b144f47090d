//! `rke validate` from the built binary: exit codes, locations, suggestions, JSON.

use crate::common::*;

#[test]
fn valid_config_exits_zero_with_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(dir.path(), "cluster.yml", THREE_NODES);
    let out = rke()
        .args(["validate", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let s = stdout_of(&out);
    assert!(
        s.contains("is valid: 3 nodes (etcd: 3, controlplane: 2, worker: 3)"),
        "{s}"
    );
    assert!(s.contains("v1.20.15-rancher2-2"), "{s}");
}

#[test]
fn the_shipped_example_is_valid() {
    let out = rke()
        .args(["validate", "--config", "examples/cluster.yml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
}

#[test]
fn misspelled_key_gives_location_and_suggestion() {
    let dir = tempfile::tempdir().unwrap();
    let text = THREE_NODES.replace(
        "authentication:",
        "services:\n  kube-api:\n    extra-args:\n      v: 2\nauthentication:",
    );
    let cfg = write(dir.path(), "cluster.yml", &text);
    let out = rke()
        .args(["validate", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = stderr_of(&out);
    let line = text.lines().position(|l| l.contains("extra-args")).unwrap() + 1;
    assert!(
        err.contains(&format!("cluster.yml:{line}:5")),
        "no file:line:col in {err}"
    );
    assert!(err.contains("extra_args"), "no suggestion in {err}");
}

#[test]
fn wrong_service_name_suggests_kube_api() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!("{THREE_NODES}services:\n  kube_api:\n    always_pull_images: true\n");
    let cfg = write(dir.path(), "cluster.yml", &text);
    let out = rke()
        .args(["validate", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr_of(&out).contains("kube-api"), "{}", stderr_of(&out));
}

#[test]
fn semantic_errors_are_all_reported_together() {
    let dir = tempfile::tempdir().unwrap();
    let text = "\
kubernetes_version: v1.20.15-rancher2-2
nodes:
  - address: 10.0.0.1
    user: rke
    role: [worker, master]
    hostname_override: Bad_Name
  - address: 10.0.0.1
    user: rke
    role: [worker]
services:
  kube-api:
    service_cluster_ip_range: 10.42.0.0/16
  kube-controller:
    cluster_cidr: 10.42.0.0/16
    service_cluster_ip_range: 10.42.0.0/16
network:
  plugin: flanel
";
    let cfg = write(dir.path(), "cluster.yml", text);
    let out = rke()
        .args(["validate", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = stderr_of(&out);
    for needle in [
        "etcd",              // no etcd node
        "controlplane",      // no control-plane node
        "master",            // unknown role
        "hostname_override", // invalid (after RKE1 lower-cases it)
        "10.0.0.1",          // duplicate address
        "overlap",           // service and cluster CIDR overlap
        "flanel",            // unknown network plugin
    ] {
        assert!(err.contains(needle), "missing {needle:?} in:\n{err}");
    }
    // Every problem line carries the file name and a line number.
    let problem_lines: Vec<&str> = err.lines().filter(|l| l.contains(": error: ")).collect();
    assert!(problem_lines.len() >= 7, "{err}");
    assert!(
        problem_lines.iter().all(|l| l.contains("cluster.yml:")),
        "{err}"
    );
}

#[test]
fn json_output_parses_and_lists_errors() {
    let dir = tempfile::tempdir().unwrap();
    let text = THREE_NODES.replace("role: [etcd, worker]", "role: [etcd, wroker]");
    let cfg = write(dir.path(), "cluster.yml", &text);
    let out = rke()
        .args(["validate", "--output", "json", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let v = json_result(&out)["data"].clone();
    assert_eq!(v["valid"], false);
    let errors = v["errors"].as_array().unwrap();
    assert!(!errors.is_empty());
    assert!(errors.iter().any(|e| e.to_string().contains("wroker")));

    let ok = write(dir.path(), "ok.yml", THREE_NODES);
    let out = rke()
        .args(["validate", "--output", "json", "--config"])
        .arg(&ok)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v = json_result(&out)["data"].clone();
    assert_eq!(v["valid"], true);
    assert_eq!(v["summary"]["nodes"], 3);
}

#[test]
fn missing_file_is_a_config_error() {
    let out = rke()
        .args(["validate", "--config", "/nonexistent/cluster.yml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr_of(&out).contains("/nonexistent/cluster.yml"));
}

#[test]
fn rke1_full_documented_example_parses_and_only_rke1s_own_rule_fires() {
    // RKE1's documented example sets both the in-tree aws cloud provider and
    // enable_cri_dockerd, which no single Kubernetes version allows (RKE1 itself rejects aws
    // from 1.27 and cri-dockerd before 1.21). With v1.32 the parse is clean and exactly that
    // one semantic rule reports.
    let out = rke()
        .args([
            "validate",
            "--output",
            "json",
            "--config",
            "tests/fixtures/config/rke1-full-example.yml",
        ])
        .output()
        .unwrap();
    let v = json_result(&out)["data"].clone();
    let errors = v["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{v}");
    assert_eq!(errors[0]["path"], "cloud_provider.name");
    assert!(errors[0]["line"].as_u64().is_some());

    // Without that cloud provider the example is valid.
    let text = std::fs::read_to_string("tests/fixtures/config/rke1-full-example.yml").unwrap();
    let start = text.find("\ncloud_provider:").unwrap() + 1;
    let end = text[start..]
        .find("\n\n")
        .map(|e| start + e)
        .unwrap_or(text.len());
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(
        dir.path(),
        "cluster.yml",
        &format!("{}{}", &text[..start], &text[end..]),
    );
    let out = rke()
        .args(["validate", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
}

#[test]
fn a_version_table_can_run_an_older_minor_on_cri_dockerd() {
    // RKE1's rule (the built-in table): cri-dockerd from 1.21 at the earliest.
    let dir = tempfile::tempdir().unwrap();
    let text = format!("{THREE_NODES}enable_cri_dockerd: true\n");
    let cfg = write(dir.path(), "cluster.yml", &text);
    let validate = |table: Option<&std::path::Path>| {
        let mut cmd = rke();
        if let Some(table) = table {
            cmd.env("RKE_VERSION_TABLE", table);
        }
        cmd.args(["validate", "--config"])
            .arg(&cfg)
            .output()
            .unwrap()
    };
    let out = validate(None);
    assert_eq!(out.status.code(), Some(3), "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).contains("cri-dockerd needs Kubernetes 1.21 or newer"),
        "{}",
        stderr_of(&out)
    );
    // The test environment's table, which runs its v1.20 binaries on cri-dockerd.
    let builtin = std::fs::read_to_string("data/k8s-versions.yaml").unwrap();
    let rule = "cri_dockerd_from: \"1.24\"";
    assert!(builtin.lines().any(|l| l == rule));
    let table = write(
        dir.path(),
        "versions.yaml",
        &builtin.replace(rule, "cri_dockerd_from: \"1.20\""),
    );
    let out = validate(Some(&table));
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
}
