//! `rke up --init` from the built binary: state file, certificates and kubeconfig on disk.

use crate::common::*;
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

fn init(cfg: &Path) {
    let out = rke()
        .args(["up", "--init", "--config"])
        .arg(cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
}

fn read_state(dir: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join("cluster.rkestate")).unwrap()).unwrap()
}

fn bundle(state: &Value) -> &serde_json::Map<String, Value> {
    state["desiredState"]["certificatesBundle"]
        .as_object()
        .unwrap()
}

/// Names of the certificates whose PEM differs between two states.
fn changed_certs(a: &Value, b: &Value) -> Vec<String> {
    let (a, b) = (bundle(a), bundle(b));
    let mut names: Vec<String> = a.keys().chain(b.keys()).cloned().collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter(|n| {
            a.get(n).map(|c| &c["certificatePEM"]) != b.get(n).map(|c| &c["certificatePEM"])
        })
        .collect()
}

#[test]
fn init_writes_rke1_shaped_state_and_kubeconfig() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(dir.path(), "cluster.yml", THREE_NODES);
    init(&cfg);

    let state_path = dir.path().join("cluster.rkestate");
    let mode = std::fs::metadata(&state_path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let state = read_state(dir.path());
    let rke_config = &state["desiredState"]["rkeConfig"];
    assert_eq!(rke_config["kubernetesVersion"], "v1.20.15-rancher2-2");
    assert_eq!(rke_config["nodes"][0]["hostnameOverride"], "node1");
    assert_eq!(
        rke_config["services"]["kubeApi"]["serviceClusterIpRange"],
        "10.43.0.0/16"
    );
    assert!(rke_config.get("kubernetes_version").is_none());

    let names: Vec<&String> = bundle(&state).keys().collect();
    for expected in [
        "kube-ca",
        "kube-apiserver",
        "kube-apiserver-requestheader-ca",
        "kube-apiserver-proxy-client",
        "kube-service-account-token",
        "kube-controller-manager",
        "kube-scheduler",
        "kube-proxy",
        "kube-node",
        "kube-admin",
        "kube-etcd-10-0-0-1",
        "kube-etcd-10-0-0-2",
        "kube-etcd-10-0-0-3",
    ] {
        assert!(
            names.iter().any(|n| *n == expected),
            "{expected} missing from {names:?}"
        );
    }
    let ca = &bundle(&state)["kube-ca"];
    assert_eq!(ca["path"], "/etc/kubernetes/ssl/kube-ca.pem");
    assert!(
        ca["certificatePEM"]
            .as_str()
            .unwrap()
            .contains("BEGIN CERTIFICATE")
    );

    let kubeconfig_path = dir.path().join("kube_config_cluster.yml");
    let mode = std::fs::metadata(&kubeconfig_path)
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let kubeconfig = std::fs::read_to_string(&kubeconfig_path).unwrap();
    assert!(kubeconfig.contains("https://10.0.0.1:6443"), "{kubeconfig}");
    assert!(kubeconfig.contains("kube-admin-test"), "{kubeconfig}");
    assert!(kubeconfig.contains("client-key-data"), "{kubeconfig}");
}

#[test]
fn init_twice_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(dir.path(), "cluster.yml", THREE_NODES);
    init(&cfg);
    let state1 = std::fs::read(dir.path().join("cluster.rkestate")).unwrap();
    let kube1 = std::fs::read(dir.path().join("kube_config_cluster.yml")).unwrap();
    init(&cfg);
    let state2 = std::fs::read(dir.path().join("cluster.rkestate")).unwrap();
    let kube2 = std::fs::read(dir.path().join("kube_config_cluster.yml")).unwrap();
    assert!(state1 == state2, "state file changed on the second run");
    assert!(kube1 == kube2, "kubeconfig changed on the second run");
}

#[test]
fn adding_a_control_plane_node_changes_exactly_the_apiserver_cert() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(dir.path(), "cluster.yml", THREE_NODES);
    init(&cfg);
    let before = read_state(dir.path());
    write(
        dir.path(),
        "cluster.yml",
        &THREE_NODES.replace("role: [etcd, worker]", "role: [etcd, controlplane, worker]"),
    );
    init(&cfg);
    let after = read_state(dir.path());
    assert_eq!(changed_certs(&before, &after), ["kube-apiserver"]);
    // The previous state is kept as a backup.
    assert!(dir.path().join("cluster.rkestate.bak").exists());
}

#[test]
fn adding_an_etcd_node_adds_its_cert_and_reissues_the_etcd_certs_only() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(dir.path(), "cluster.yml", THREE_NODES);
    init(&cfg);
    let before = read_state(dir.path());
    let more = format!(
        "{}  - address: 10.0.0.4\n    user: rke\n    role: [etcd]\n    hostname_override: node4\n",
        THREE_NODES.split("authentication:").next().unwrap()
    ) + "authentication:\n  sans: [api.test.internal]\n";
    write(dir.path(), "cluster.yml", &more);
    init(&cfg);
    let after = read_state(dir.path());
    assert_eq!(
        changed_certs(&before, &after),
        [
            "kube-etcd-10-0-0-1",
            "kube-etcd-10-0-0-2",
            "kube-etcd-10-0-0-3",
            "kube-etcd-10-0-0-4"
        ]
    );
}

#[test]
fn certificates_from_the_state_file_verify_with_openssl() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(dir.path(), "cluster.yml", THREE_NODES);
    init(&cfg);
    let state = read_state(dir.path());
    let certs = bundle(&state);
    let pem = |name: &str| certs[name]["certificatePEM"].as_str().unwrap().to_string();
    let ca = write(dir.path(), "ca.pem", &pem("kube-ca"));
    for name in [
        "kube-apiserver",
        "kube-node",
        "kube-admin",
        "kube-etcd-10-0-0-1",
    ] {
        let leaf = write(dir.path(), &format!("{name}.pem"), &pem(name));
        let out = std::process::Command::new("openssl")
            .arg("verify")
            .arg("-CAfile")
            .arg(&ca)
            .arg(&leaf)
            .output()
            .expect("openssl must be installed (scripts/test-all.sh installs it)");
        assert!(out.status.success(), "{name}: {}", stderr_of(&out));
    }
}

#[test]
fn init_refuses_an_invalid_config_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(
        dir.path(),
        "cluster.yml",
        &THREE_NODES.replace("role: [etcd, worker]", "role: [etcd, wroker]"),
    );
    let out = rke()
        .args(["up", "--init", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(!dir.path().join("cluster.rkestate").exists());
}

#[test]
fn a_corrupt_state_file_is_an_error_and_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(dir.path(), "cluster.yml", THREE_NODES);
    let state = write(dir.path(), "cluster.rkestate", "{\"desiredState\": {");
    let out = rke()
        .args(["up", "--init", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(11), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("cluster.rkestate"));
    assert_eq!(
        std::fs::read_to_string(state).unwrap(),
        "{\"desiredState\": {"
    );
}

#[test]
fn init_and_dry_run_together_are_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(dir.path(), "cluster.yml", THREE_NODES);
    let out = rke()
        .args(["up", "--init", "--dry-run", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr_of(&out));
    assert!(!dir.path().join("cluster.rkestate").exists());
}

#[test]
fn an_unreachable_node_stops_up_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("id_ed25519");
    std::fs::write(&key, "not used: the connection is refused first").unwrap();
    // Port 1 on loopback: nothing listens, the connection is refused at once.
    let text = format!(
        "ssh_key_path: {}\nnodes:\n  - address: 127.0.0.1\n    port: \"1\"\n    user: rke\n    \
         role: [etcd, controlplane, worker]\n    hostname_override: lonely\n",
        key.display()
    );
    let cfg = write(dir.path(), "cluster.yml", &text);
    let out = rke()
        .args(["up", "--ssh-timeout", "5", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(err.contains("lonely"), "{err}");
    assert!(!dir.path().join("cluster.rkestate").exists());
    assert!(!dir.path().join("kube_config_cluster.yml").exists());
}

#[test]
fn custom_certs_from_a_directory_are_used_as_given() {
    // Make a complete set of certificates, then lay them out as a user would for --custom-certs.
    let source = tempfile::tempdir().unwrap();
    let cfg = write(source.path(), "cluster.yml", THREE_NODES);
    init(&cfg);
    let state = read_state(source.path());
    let user = tempfile::tempdir().unwrap();
    let certs_dir = user.path().join("cluster_certs");
    std::fs::create_dir(&certs_dir).unwrap();
    for (name, entry) in bundle(&state) {
        write(
            &certs_dir,
            &format!("{name}.pem"),
            entry["certificatePEM"].as_str().unwrap(),
        );
        write(
            &certs_dir,
            &format!("{name}-key.pem"),
            entry["keyPEM"].as_str().unwrap(),
        );
    }
    let cfg = write(user.path(), "cluster.yml", THREE_NODES);
    let out = rke()
        .args(["up", "--init", "--custom-certs", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let got = read_state(user.path());
    for name in ["kube-ca", "kube-apiserver", "kube-etcd-10-0-0-2"] {
        assert_eq!(
            bundle(&got)[name]["certificatePEM"],
            bundle(&state)[name]["certificatePEM"],
            "{name} was not taken from the directory"
        );
    }

    // A key that does not belong to its certificate is refused, naming the file.
    let wrong_key = bundle(&state)["kube-scheduler"]["keyPEM"].as_str().unwrap();
    write(&certs_dir, "kube-apiserver-key.pem", wrong_key);
    let out = rke()
        .args(["up", "--init", "--custom-certs", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(11), "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).contains("kube-apiserver"),
        "{}",
        stderr_of(&out)
    );
}

/// Building a new cluster over an existing one's data is a separate, explicit decision that
/// needs nodes: with `--init` (which touches none) the flag is a usage error, nothing written.
#[test]
fn new_cluster_over_existing_data_is_not_an_init_option() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(dir.path(), "cluster.yml", THREE_NODES);
    let out = rke()
        .args([
            "up",
            "--init",
            "--new-cluster-over-existing-data",
            "--config",
        ])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).contains("--new-cluster-over-existing-data"),
        "{}",
        stderr_of(&out)
    );
    assert!(!dir.path().join("cluster.rkestate").exists());
}
