//! Access to the multi-node test environment built by `tests/env/up.sh`.

use serde_json::Value;
use std::path::PathBuf;

/// The environment description, or `None` when `RKE_E2E_SKIP=1` says to skip node tests.
/// Without that opt-out a missing environment is a failure, never a silent pass.
pub fn env() -> Option<Value> {
    if std::env::var("RKE_E2E_SKIP").as_deref() == Ok("1") {
        eprintln!("RKE_E2E_SKIP=1: skipping a test that needs the node environment");
        return None;
    }
    let path = env_path();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read the test environment {} ({e}): run tests/env/up.sh first, \
             or set RKE_E2E_SKIP=1 to skip node tests",
            path.display()
        )
    });
    Some(serde_json::from_str(&text).expect("env.json parses"))
}

pub fn node_addresses(env: &Value) -> Vec<String> {
    env["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["address"].as_str().unwrap().to_string())
        .collect()
}

pub fn ssh_key(env: &Value) -> String {
    env["ssh"]["private_key"].as_str().unwrap().to_string()
}

/// A cluster.yml for the environment's first three nodes (node1, node2: all roles; node3: etcd +
/// worker), alternating the root and the docker-group user.
pub fn cluster_yml(env: &Value, version: &str, extra: &str) -> String {
    let nodes = node_addresses(env);
    let mut s = format!(
        "kubernetes_version: {version}\nssh_key_path: {}\n{extra}nodes:\n",
        ssh_key(env)
    );
    let roles = [
        "[etcd, controlplane, worker]",
        "[etcd, controlplane, worker]",
        "[etcd, worker]",
    ];
    for (i, addr) in nodes.iter().take(3).enumerate() {
        let user = if i % 2 == 0 { "rke" } else { "root" };
        s.push_str(&format!(
            "  - address: {addr}\n    user: {user}\n    role: {}\n    hostname_override: node{}\n",
            roles[i],
            i + 1
        ));
    }
    s
}

/// Where every Rust test reads the environment description from: the rule of
/// `tests/env/lib/env-json.sh`, which the scripts source, so the scripts and the tests agree
/// (`RKE_E2E_ENV`, else `RKE_E2E_ENV_JSON` as env.sh exports it, else `env.json` in
/// `RKE_E2E_STATE`, else in `${RKE_E2E_CACHE:-/var/cache/rke-e2e}/run`; empty counts as unset).
pub fn env_path() -> PathBuf {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(file) = var("RKE_E2E_ENV").or_else(|| var("RKE_E2E_ENV_JSON")) {
        return PathBuf::from(file);
    }
    let state = var("RKE_E2E_STATE").map(PathBuf::from).unwrap_or_else(|| {
        var("RKE_E2E_CACHE")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/var/cache/rke-e2e"))
            .join("run")
    });
    state.join("env.json")
}

/// The host-side container of node `i` (1-based), e.g. `rke-e2e-node4`.
pub fn node_container(env: &Value, i: usize) -> String {
    env["nodes"][i - 1]["container"]
        .as_str()
        .unwrap_or_else(|| panic!("env.json has no node {i}"))
        .to_string()
}

/// The kubectl the environment built (env.json's `kubectl`, written by tests/env/lib/nodes.sh).
pub fn kubectl(env: &Value) -> PathBuf {
    PathBuf::from(
        env["kubectl"]
            .as_str()
            .expect("env.json has no kubectl path: re-run tests/env/up.sh"),
    )
}

/// `docker exec <node container> sh -c <script>` on the host engine: (success, stdout, stderr).
pub fn node_sh(env: &Value, i: usize, script: &str) -> (bool, String, String) {
    let out = std::process::Command::new("docker")
        .args(["exec", &node_container(env, i), "sh", "-c", script])
        .output()
        .expect("docker runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A cluster.yml from tests/env/cluster-yml.sh (the generator the scripts use too): `nodes`
/// are `I:ROLE[,ROLE]` specs (empty: the three-node layout), `kubelet_args` `KEY=VALUE`.
pub fn generated_cluster_yml(nodes: &[&str], kubelet_args: &[&str]) -> String {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/env/cluster-yml.sh");
    let mut cmd = std::process::Command::new("bash");
    cmd.arg(script).arg("--env").arg(env_path());
    for kv in kubelet_args {
        cmd.args(["--kubelet-arg", kv]);
    }
    let out = cmd.args(nodes).output().expect("bash runs");
    assert!(
        out.status.success(),
        "{script} {nodes:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("cluster.yml is UTF-8")
}

/// The environment's network plugin as YAML (tests/env/network-addon.sh, the generator
/// scripts/local-cluster.sh and bench/all.sh use too).
pub fn network_addon_yaml(env: &Value) -> String {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/env/network-addon.sh");
    let mut cmd = std::process::Command::new("bash");
    cmd.arg(script).arg("--env").arg(env_path());
    if let Some(cidr) = env["cluster_cidr"].as_str() {
        cmd.args(["--cluster-cidr", cidr]);
    }
    let out = cmd.output().expect("bash runs");
    assert!(
        out.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("the manifest is UTF-8")
}

/// Append one rke run's output to `$RKE_E2E_TRANSCRIPT` when set (scripts/test-all.sh sets it):
/// `tests/env/check-secrets.sh` then greps everything the suite's rke runs printed.
pub fn append_transcript(text: &str) {
    append_to_file_named_by("RKE_E2E_TRANSCRIPT", text);
}

/// Append `text` and a newline to the file environment variable `var` names, if it is set.
pub fn append_to_file_named_by(var: &str, text: &str) {
    use std::io::Write;
    let Some(path) = std::env::var_os(var) else {
        return;
    };
    let appended = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut f| writeln!(f, "{text}"));
    if let Err(e) = appended {
        eprintln!("cannot append to {}: {e}", PathBuf::from(path).display());
    }
}
