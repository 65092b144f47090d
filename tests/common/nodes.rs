//! What the scenario looks at and does on the nodes themselves, through the host engine
//! (`docker exec rke-e2e-nodeI ...`), never through rke.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::Value;

use super::e2e;

/// The label rke (like RKE1) puts on every container it creates.
const RKE_LABEL: &str = "io.rancher.rke.container.name";
/// Other node tests' containers carry the label too; they are not ours to judge or remove.
const FOREIGN: &str = "grep -v ' rke-health-test' | grep -v ' rke-exec-test'";
/// RKE1's directories on a node, emptied when the node leaves the cluster.
pub const RKE_DIRS: [&str; 6] = [
    "/etc/kubernetes",
    "/var/lib/etcd",
    "/etc/cni",
    "/opt/cni",
    "/var/lib/cni",
    "/var/run/calico",
];
/// Where a "stopped" engine's socket is parked (see `stop_engine`; tests/env/clean-nodes.sh
/// puts it back).
const PARKED_SOCKET: &str = "/var/run/docker.sock.up-nodes-stopped";

/// Run a shell script on node `i`, failing with its stderr.
pub fn sh(env: &Value, i: usize, script: &str) -> anyhow::Result<String> {
    let (ok, out, err) = e2e::node_sh(env, i, script);
    if !ok {
        bail!("node{i}: `{script}` failed: {}{}", err.trim(), out.trim());
    }
    Ok(out)
}

/// Remove everything an rke cluster leaves on every node, with tests/env/clean-nodes.sh (the
/// one clean-up between runs, bench/all.sh's too): rke's containers (by label), the pods'
/// containers the kubelet started (`k8s_*`), kubelet mounts, RKE1's directories, cri-dockerd's
/// checkpoints. Also brings back an engine a failed run left "stopped".
pub fn cleanup(env: &Value) {
    clean_nodes(env, false);
}

/// [`cleanup`], plus the snapshot directories (which rke never empties itself).
pub fn cleanup_with_snapshots(env: &Value) {
    clean_nodes(env, true);
}

fn clean_nodes(env: &Value, snapshots: bool) {
    let count = node_count(env);
    if count == 0 {
        return;
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/env/clean-nodes.sh");
    let mut cmd = std::process::Command::new("bash");
    cmd.arg(script);
    if snapshots {
        cmd.arg("--snapshots");
    }
    cmd.args((1..=count).map(|i| e2e::node_container(env, i)));
    // Failures are reported, not raised: the clean-up runs after a scenario, pass or fail.
    match cmd.output() {
        Ok(out) if out.status.success() => {}
        Ok(out) => eprintln!("cleanup: {}", String::from_utf8_lossy(&out.stderr).trim()),
        Err(e) => eprintln!("cleanup: {script}: {e}"),
    }
}

pub fn node_count(env: &Value) -> usize {
    env["nodes"].as_array().map_or(0, Vec::len)
}

/// rke's containers on node `i`: name -> ID.
pub fn rke_containers(env: &Value, i: usize) -> anyhow::Result<BTreeMap<String, String>> {
    let out = sh(
        env,
        i,
        &format!(
            "docker ps -a --no-trunc --filter label={RKE_LABEL} --format '{{{{.ID}}}} {{{{.Names}}}}' \
             | {FOREIGN}; true"
        ),
    )?;
    Ok(out
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(id, name)| (name.to_string(), id.to_string()))
        .collect())
}

/// `etcdctl` inside node `i`'s etcd container (rke sets the ETCDCTL_* variables there).
pub fn etcdctl(env: &Value, i: usize, args: &str) -> anyhow::Result<String> {
    sh(env, i, &format!("docker exec etcd etcdctl {args} 2>&1"))
}

/// Member names of the etcd cluster, as node `i` sees it.
pub fn etcd_members(env: &Value, i: usize) -> anyhow::Result<Vec<String>> {
    let v: Value = serde_json::from_str(&etcdctl(env, i, "member list -w json")?)
        .context("etcdctl member list -w json")?;
    Ok(v["members"]
        .as_array()
        .context("member list has no members")?
        .iter()
        .map(|m| m["name"].as_str().unwrap_or("<unnamed>").to_string())
        .collect())
}

/// How many members answer `endpoint health --cluster` as healthy, as node `i` sees it.
pub fn etcd_healthy(env: &Value, i: usize) -> anyhow::Result<usize> {
    let out = etcdctl(env, i, "endpoint health --cluster")?;
    Ok(out.lines().filter(|l| l.contains("is healthy")).count())
}

/// Directories of RKE_DIRS that exist on node `i` and are not empty (with a sample entry).
pub fn non_empty_dirs(env: &Value, i: usize) -> anyhow::Result<Vec<String>> {
    let mut found = Vec::new();
    for dir in RKE_DIRS {
        let first = sh(
            env,
            i,
            &format!("[ -d {dir} ] && find {dir} -mindepth 1 | head -n 3; true"),
        )?;
        if !first.trim().is_empty() {
            found.push(format!("{dir} ({})", first.trim().replace('\n', ", ")));
        }
    }
    Ok(found)
}

/// Make node `i`'s Docker engine unreachable. dockerd is the node container's main process
/// (tests/env/files/node-init execs it), so ending it would stop the whole machine, sshd
/// included. Parking its socket elsewhere gives what a client of a stopped engine sees (no
/// socket to connect to) while the machine and its SSH stay up.
pub fn stop_engine(env: &Value, i: usize) -> anyhow::Result<()> {
    sh(
        env,
        i,
        &format!("mv /var/run/docker.sock {PARKED_SOCKET} && ! docker info >/dev/null 2>&1"),
    )
    .map(drop)
}

/// Undo `stop_engine` and wait until the engine answers on its socket again.
pub fn start_engine(env: &Value, i: usize) -> anyhow::Result<()> {
    sh(env, i, &format!("mv {PARKED_SOCKET} /var/run/docker.sock"))?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while sh(env, i, "docker info >/dev/null").is_err() {
        if Instant::now() >= deadline {
            bail!("node{i}: the Docker engine does not answer 60 s after its restart");
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    Ok(())
}

/// Containers on node `i` whose `docker inspect` shows private key material.
pub fn containers_with_private_keys(env: &Value, i: usize) -> anyhow::Result<Vec<String>> {
    let out = sh(
        env,
        i,
        "ids=$(docker ps -aq); [ -z \"$ids\" ] && echo '[]' || docker inspect $ids",
    )?;
    let all: Vec<Value> = serde_json::from_str(&out).context("docker inspect output")?;
    Ok(all
        .iter()
        .filter(|c| c.to_string().contains("PRIVATE KEY"))
        .map(|c| c["Name"].as_str().unwrap_or("?").to_string())
        .collect())
}

/// Whether a container named `name` is running on node `i`.
pub fn running(env: &Value, i: usize, name: &str) -> anyhow::Result<bool> {
    let out = sh(
        env,
        i,
        &format!("docker ps --filter name=^/{name}$ --format '{{{{.Names}}}}'"),
    )?;
    Ok(out.trim() == name)
}
