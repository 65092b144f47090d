//! `rke preflight` from the built binary against the real nodes of `tests/env/`: the connect
//! phase every node-touching command runs first.

mod common;
use common::e2e;
use common::*;

const V120: &str = "v1.20.15-rancher2-2";

#[test]
fn accept_new_learns_host_keys_then_strict_passes() {
    let Some(env) = e2e::env() else { return };
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(dir.path(), "cluster.yml", &e2e::cluster_yml(&env, V120, ""));
    let known = dir.path().join("known_hosts");
    let out = rke()
        .args(["preflight", "--output", "json", "--config"])
        .arg(&cfg)
        .arg("--known-hosts")
        .arg(&known)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let v = json_result(&out)["data"].clone();
    assert_eq!(v["success"], true);
    let nodes = v["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 3);
    for n in nodes {
        assert!(
            n["docker"]["server_version"]
                .as_str()
                .unwrap()
                .starts_with("20.10"),
            "{n}"
        );
        assert_eq!(n["docker"]["os_type"], "linux");
    }
    let learned = std::fs::read_to_string(&known).unwrap();
    assert_eq!(learned.lines().count(), 3, "{learned}");

    let out = rke()
        .args(["preflight", "--ssh-host-key-checking", "strict", "--config"])
        .arg(&cfg)
        .arg("--known-hosts")
        .arg(&known)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    for name in ["node1", "node2", "node3"] {
        assert!(stdout_of(&out).contains(name), "{}", stdout_of(&out));
    }
}

#[test]
fn strict_with_unknown_hosts_fails_naming_each_node() {
    let Some(env) = e2e::env() else { return };
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(
        dir.path(),
        "cluster.yml",
        &e2e::cluster_yml(&env, V120, "ssh_host_key_checking: strict\n"),
    );
    let out = rke()
        .args(["preflight", "--config"])
        .arg(&cfg)
        .arg("--known-hosts")
        .arg(dir.path().join("empty_known_hosts"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    for name in ["node1", "node2", "node3"] {
        assert!(err.contains(&format!("host key of {name}")), "{err}");
    }
    assert!(err.contains("SHA256:"), "{err}");
}

#[test]
fn docker_version_policy_and_both_ways_to_ignore_it() {
    let Some(env) = e2e::env() else { return };
    let dir = tempfile::tempdir().unwrap();
    // A version table whose v1.20 line no longer lists the nodes' Docker 20.10.
    let table = std::fs::read_to_string("data/k8s-versions.yaml").unwrap();
    let line = table
        .lines()
        .find(|l| l.trim_start().starts_with("\"1.20\":"))
        .unwrap();
    let table = table.replace(line, "  \"1.20\": [\"27.2.x\"]");
    let table_path = write(dir.path(), "versions.yaml", &table);
    let known = dir.path().join("known_hosts");
    let run = |extra_yml: &str, flags: &[&str]| {
        let cfg = write(
            dir.path(),
            "cluster.yml",
            &e2e::cluster_yml(&env, V120, extra_yml),
        );
        rke()
            .env("RKE_VERSION_TABLE", &table_path)
            .arg("preflight")
            .args(flags)
            .arg("--config")
            .arg(&cfg)
            .arg("--known-hosts")
            .arg(&known)
            .output()
            .unwrap()
    };

    let out = run("", &[]);
    assert_eq!(out.status.code(), Some(5), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    assert!(err.contains("20.10"), "{err}");
    assert!(
        err.contains("27.2.x"),
        "the message lists the supported versions: {err}"
    );

    let out = run("", &["--ignore-docker-version"]);
    assert_eq!(out.status.code(), Some(0), "flag: {}", stderr_of(&out));

    // The file alone is enough (RKE1 ignored it unless the flag was also given, rke#3181).
    let out = run("ignore_docker_version: true\n", &[]);
    assert_eq!(out.status.code(), Some(0), "file: {}", stderr_of(&out));
}

#[test]
fn an_unreachable_node_is_an_error_not_a_silent_drop() {
    let Some(env) = e2e::env() else { return };
    let dir = tempfile::tempdir().unwrap();
    let subnet = env["network"]["subnet"].as_str().unwrap();
    let prefix = subnet.rsplit_once('.').unwrap().0; // "10.77.0"
    let mut yml = e2e::cluster_yml(&env, V120, "");
    yml.push_str(&format!(
        "  - address: {prefix}.250\n    user: rke\n    role: [worker]\n    hostname_override: ghost\n"
    ));
    let cfg = write(dir.path(), "cluster.yml", &yml);
    let out = rke()
        .args([
            "preflight",
            "--output",
            "json",
            // Long enough for the reachable nodes on a loaded CI machine (a 3 s limit once
            // failed them all); the unreachable one costs this much.
            "--ssh-timeout",
            "10",
            "--config",
        ])
        .arg(&cfg)
        .arg("--known-hosts")
        .arg(dir.path().join("known_hosts"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", stderr_of(&out));
    let v = json_result(&out)["data"].clone();
    assert_eq!(
        v["nodes"].as_array().unwrap().len(),
        3,
        "the reachable nodes still connect: {}",
        stderr_of(&out)
    );
    let errors = v["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["node"], "ghost");
    assert_eq!(errors[0]["kind"], "connection");
    assert!(stderr_of(&out).contains("ghost"), "{}", stderr_of(&out));
}
