//! Steps of the cri-dockerd scenario: the cluster, proof that the kubelet runs on rke-tools'
//! cri-dockerd, pods on it, and restarts of either process that keep the pods.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};

use super::cluster::{Ctx, eventually};
use super::nodes;

/// The test pods, one per node (`cri-probe-1` on node1, ...).
const POD_PREFIX: &str = "cri-probe-";
const NODES: [usize; 3] = [1, 2, 3];
/// What each probe pod prints first, for `kubectl logs`.
const LOG_LINE: &str = "cri-dockerd-logs-ok";
/// Where the kubelet (remote runtime below 1.24, as RKE1 sets it) and cri-dockerd meet.
const RUNTIME_SOCKET: &str = "/var/run/dockershim.sock";
const CRI_DOCKERD_BINARY: &str = "/opt/rke-tools/bin/cri-dockerd";

/// The cri-dockerd release the environment's rke-tools stand-in is built from.
fn shared_dir() -> PathBuf {
    match std::env::var_os("RKE_E2E_CRI_DOCKERD").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/cri-dockerd"
        )),
    }
}

/// `Err(why)` when the scenario cannot run here at all: no cri-dockerd beside the checkout, so
/// tests/env/up.sh built no rke-tools image (the same rule as tests/env/lib/images.sh).
pub fn prerequisite() -> Result<(), String> {
    let dir = shared_dir();
    let binary = dir.join("cri-dockerd-v0.3.4.xz");
    if binary.is_file() {
        Ok(())
    } else {
        Err(format!(
            "{} is absent (cri-dockerd v0.3.4 from ../shared/cri-dockerd, or RKE_E2E_CRI_DOCKERD): \
             the environment has no rke-tools image to run cri-dockerd from",
            binary.display()
        ))
    }
}

/// The embedded version table with cri-dockerd from 1.20, so the environment's v1.20.2
/// kubelet runs on it; the built-in table keeps RKE1's rule (1.24).
fn write_version_table(ctx: &Ctx) -> anyhow::Result<PathBuf> {
    let builtin = concat!(env!("CARGO_MANIFEST_DIR"), "/data/k8s-versions.yaml");
    let text = std::fs::read_to_string(builtin).with_context(|| format!("reading {builtin}"))?;
    const RULE: &str = "cri_dockerd_from: \"1.24\"";
    ensure!(
        text.lines().any(|l| l == RULE),
        "{builtin} has no line `{RULE}` to replace"
    );
    let path = ctx.dir.path().join("k8s-versions-cri-dockerd.yaml");
    std::fs::write(&path, text.replace(RULE, "cri_dockerd_from: \"1.20\""))?;
    Ok(path)
}

/// node1, node2: etcd + controlplane + worker; node3: etcd + worker; cri-dockerd through the
/// test version table and the environment's rke-tools stand-in.
pub fn fresh_cluster_on_cri_dockerd(ctx: &mut Ctx) -> anyhow::Result<()> {
    let tools = ctx.env["images"]["rke_tools"]
        .as_str()
        .context(
            "env.json has no images.rke_tools although ../shared/cri-dockerd is there: \
             re-run tests/env/up.sh to build the rke-tools stand-in",
        )?
        .to_string();
    let table = write_version_table(ctx)?;
    ctx.rke_env
        .push(("RKE_VERSION_TABLE".into(), table.display().to_string()));
    ctx.write_config(&[], &[])?;
    let yml = std::fs::read_to_string(ctx.config())?;
    ensure!(
        yml.contains(&format!("kubernetes_services_sidecar: \"{tools}\"")),
        "cluster.yml does not use the rke-tools stand-in {tools}:\n{yml}"
    );
    println!(
        "    version table: {} (cri_dockerd_from 1.20)",
        table.display()
    );
    println!(
        "    cluster.yml: node1, node2 etcd+controlplane+worker; node3 etcd+worker; sidecar {tools}"
    );
    ctx.up_ok()?;
    println!("    check: node1..3 Ready (the network plugin's pods run through cri-dockerd)");
    ctx.wait_nodes_ready(&["node1", "node2", "node3"], Duration::from_secs(300))?;
    Ok(())
}

/// On every node: the kubelet is a remote-runtime kubelet pointed at the socket, the socket is
/// served by a process named cri-dockerd, that process runs `/opt/rke-tools/bin/cri-dockerd` in
/// the `cri-dockerd` container, which has it from `service-sidekick` (created, never started,
/// the rke-tools image).
pub fn kubelets_use_rke_tools_cri_dockerd(ctx: &mut Ctx) -> anyhow::Result<()> {
    let tools = ctx.env["images"]["rke_tools"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    for i in NODES {
        let env = &ctx.env;
        let cmd = nodes::sh(
            env,
            i,
            "docker inspect kubelet --format '{{json .Config.Cmd}}'",
        )?;
        let args: Vec<String> = serde_json::from_str(cmd.trim()).context("kubelet's Cmd")?;
        for want in [
            "--container-runtime=remote".to_string(),
            format!("--container-runtime-endpoint={RUNTIME_SOCKET}"),
        ] {
            ensure!(
                args.contains(&want),
                "node{i}: kubelet lacks {want}: {args:?}"
            );
        }
        let cri = nodes::sh(
            env,
            i,
            "docker inspect cri-dockerd --format \
             '{{.State.Status}} {{json .Config.Entrypoint}} {{json .HostConfig.VolumesFrom}}'",
        )?;
        ensure!(
            cri.trim()
                == format!("running [\"{CRI_DOCKERD_BINARY}\"] [\"service-sidekick\"]").as_str(),
            "node{i}: cri-dockerd container: {cri}"
        );
        let sidekick = nodes::sh(
            env,
            i,
            "docker inspect service-sidekick --format '{{.State.Status}} {{.Config.Image}}'",
        )?;
        ensure!(
            sidekick.trim() == format!("created {tools}"),
            "node{i}: service-sidekick: {sidekick} (want created, from {tools})"
        );
        // cri-dockerd binds a temporary name in the socket's folder and renames it into place,
        // so the kernel lists its listener under that name: it must listen there, be told the
        // kubelet's socket, and nothing else (dockershim inside the kubelet) may listen on it.
        let endpoint = nodes::sh(
            env,
            i,
            "docker inspect cri-dockerd --format '{{json .Args}}'",
        )?;
        ensure!(
            endpoint.contains(&format!(
                "\"--container-runtime-endpoint=unix://{RUNTIME_SOCKET}\""
            )),
            "node{i}: cri-dockerd does not serve {RUNTIME_SOCKET}: {endpoint}"
        );
        let listeners = nodes::sh(env, i, "ss -xlpn; true")?;
        let folder = RUNTIME_SOCKET.rsplit_once('/').map_or("", |(d, _)| d);
        ensure!(
            listeners
                .lines()
                .any(|l| l.contains(&format!(" {folder}/")) && l.contains("\"cri-dockerd\"")),
            "node{i}: cri-dockerd listens on no socket in {folder}: {listeners}"
        );
        ensure!(
            !listeners
                .lines()
                .any(|l| l.contains(RUNTIME_SOCKET) && !l.contains("\"cri-dockerd\"")),
            "node{i}: something other than cri-dockerd listens on {RUNTIME_SOCKET}: {listeners}"
        );
        ensure!(
            nodes::sh(env, i, &format!("test -S {RUNTIME_SOCKET} && echo yes"))?.trim() == "yes",
            "node{i}: no socket at {RUNTIME_SOCKET}"
        );
        let process = nodes::sh(
            env,
            i,
            &format!("ps -eo args | grep -c '^{CRI_DOCKERD_BINARY} '; true"),
        )?;
        ensure!(
            process.trim() == "1",
            "node{i}: {} processes run {CRI_DOCKERD_BINARY}",
            process.trim()
        );
        let version = nodes::sh(
            env,
            i,
            &format!("docker exec cri-dockerd {CRI_DOCKERD_BINARY} --version 2>&1"),
        )?;
        ensure!(
            version.contains("0.3.4"),
            "node{i}: the sidekick's cri-dockerd is {version:?}, not ../shared's v0.3.4"
        );
        println!(
            "      node{i}: kubelet → {RUNTIME_SOCKET} ← {} (service-sidekick)",
            version.trim()
        );
    }
    let runtimes = ctx.kubectl(&[
        "get",
        "nodes",
        "-o",
        "jsonpath={.items[*].status.nodeInfo.containerRuntimeVersion}",
    ])?;
    ensure!(
        runtimes.split_whitespace().count() == 3
            && runtimes
                .split_whitespace()
                .all(|r| r.starts_with("docker://")),
        "container runtimes reported: {runtimes:?}"
    );
    println!("      runtimes reported by the nodes: {runtimes}");
    Ok(())
}

fn pod(i: usize) -> String {
    format!("{POD_PREFIX}{i}")
}

/// One busybox pod pinned to each node (image from the private registry, so cri-dockerd's
/// sandbox image and the kubelet's pull both need the registry credentials).
pub fn pod_on_every_node_exec_and_logs(ctx: &mut Ctx) -> anyhow::Result<()> {
    let mut manifest = String::new();
    for i in NODES {
        manifest.push_str(&format!(
            "---\napiVersion: v1\nkind: Pod\nmetadata: {{name: {}, namespace: default}}\nspec:\n  \
             nodeSelector: {{kubernetes.io/hostname: node{i}}}\n  terminationGracePeriodSeconds: 1\n  \
             containers:\n  - name: probe\n    image: {}\n    \
             command: [sh, -c, \"echo {LOG_LINE}; exec sleep 3600\"]\n",
            pod(i),
            ctx.pod_image
        ));
    }
    // The default service account appears shortly after the controller manager starts.
    eventually("creating the probe pods", Duration::from_secs(90), || {
        ctx.kubectl_stdin(&["apply", "-f", "-"], &manifest)
    })?;
    for i in NODES {
        let name = pod(i);
        let waited = ctx.kubectl(&[
            "wait",
            "--for=condition=Ready",
            &format!("pod/{name}"),
            "--timeout=240s",
        ]);
        if let Err(e) = waited {
            let describe = ctx
                .kubectl(&["describe", "pod", &name])
                .unwrap_or_else(|e| e.to_string());
            bail!("{e:#}\n{describe}");
        }
        let placed = ctx.kubectl(&[
            "get",
            "pod",
            &name,
            "-o",
            "jsonpath={.spec.nodeName} {.status.podIP}",
        ])?;
        let (node, ip) = placed.split_once(' ').unwrap_or((placed.as_str(), ""));
        ensure!(node == format!("node{i}"), "{name} runs on {node:?}");
        // From the network plugin's bridge network, set up by cri-dockerd's CNI calls.
        ensure!(ip.starts_with("10.42."), "{name} has pod IP {ip:?}");
        let out = ctx.kubectl(&["exec", &name, "--", "sh", "-c", "echo exec-ok-$((6*7))"])?;
        ensure!(
            out.trim() == "exec-ok-42",
            "kubectl exec in {name} printed {out:?}"
        );
        let logs = ctx.kubectl(&["logs", &name])?;
        ensure!(logs.contains(LOG_LINE), "kubectl logs {name}: {logs:?}");
        println!("      {name}: Running on node{i}, IP {ip}, exec and logs answer");
    }
    Ok(())
}

/// Node `i`'s pod containers (sandboxes included), ID → name, all running.
fn pod_containers(ctx: &Ctx, i: usize) -> anyhow::Result<BTreeMap<String, String>> {
    let out = nodes::sh(
        &ctx.env,
        i,
        "docker ps --no-trunc --filter label=io.kubernetes.pod.namespace=default \
         --format '{{.ID}} {{.Names}}'",
    )?;
    let found: BTreeMap<String, String> = out
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(id, name)| (id.to_string(), name.to_string()))
        .collect();
    let probe = format!("k8s_probe_{}", pod(i));
    ensure!(
        found.values().any(|n| n.starts_with(&probe)),
        "node{i}: no running {probe}* container: {found:?}"
    );
    Ok(found)
}

/// `id started-at` of a container on node `i`.
fn started(ctx: &Ctx, i: usize, name: &str) -> anyhow::Result<String> {
    let out = nodes::sh(
        &ctx.env,
        i,
        &format!("docker inspect {name} --format '{{{{.Id}}}} {{{{.State.StartedAt}}}}'"),
    )?;
    Ok(out.trim().to_string())
}

fn restart_counts(ctx: &Ctx) -> anyhow::Result<String> {
    ctx.kubectl(&[
        "get",
        "pods",
        "-o",
        "jsonpath={range .items[*]}{.metadata.name}={.status.containerStatuses[0].restartCount} {end}",
    ])
}

/// Restart `container` on `restarted` nodes, then check that every node keeps exactly its pod
/// containers, the probe pods never restarted, and exec still works. `other` must not have
/// been restarted along with it.
fn restart_keeps_pods(ctx: &Ctx, container: &str, other: &str) -> anyhow::Result<()> {
    let mut before = BTreeMap::new();
    let mut other_before = BTreeMap::new();
    for i in NODES {
        before.insert(i, pod_containers(ctx, i)?);
        other_before.insert(i, started(ctx, i, other)?);
    }
    let counts_before = restart_counts(ctx)?;
    for i in NODES {
        let was = started(ctx, i, container)?;
        nodes::sh(
            &ctx.env,
            i,
            &format!("docker restart -t 10 {container} >/dev/null"),
        )?;
        let now = started(ctx, i, container)?;
        ensure!(now != was, "node{i}: {container} did not restart ({was})");
    }
    println!("    restarted {container} on node1..3; waiting for the kubelets to answer again");
    for i in NODES {
        eventually(
            &format!("node{i}'s kubelet healthz"),
            Duration::from_secs(120),
            || nodes::sh(&ctx.env, i, "curl -sf http://127.0.0.1:10248/healthz").map(drop),
        )?;
    }
    ctx.wait_nodes_ready(&["node1", "node2", "node3"], Duration::from_secs(180))?;
    // Long enough for the kubelets' first sync and several PLEG relists to act on anything
    // they found wrong.
    let settle = Instant::now() + Duration::from_secs(30);
    while Instant::now() < settle {
        std::thread::sleep(Duration::from_secs(2));
    }
    for i in NODES {
        let after = pod_containers(ctx, i)?;
        ensure!(
            after == before[&i],
            "node{i}: pod containers changed across the {container} restart\nbefore: {:#?}\nafter: {after:#?}",
            before[&i]
        );
        let other_now = started(ctx, i, other)?;
        ensure!(
            other_now == other_before[&i],
            "node{i}: {other} restarted with {container}: {} → {other_now}",
            other_before[&i]
        );
        println!(
            "      node{i}: the same {} pod containers; {other} untouched",
            after.len()
        );
    }
    let counts_after = restart_counts(ctx)?;
    ensure!(
        counts_after == counts_before,
        "restart counts changed: {counts_before:?} → {counts_after:?}"
    );
    for i in NODES {
        eventually(
            &format!("kubectl exec in {}", pod(i)),
            Duration::from_secs(60),
            || {
                let out =
                    ctx.kubectl(&["exec", &pod(i), "--", "sh", "-c", "echo still-$((6*7))"])?;
                ensure!(out.trim() == "still-42", "printed {out:?}");
                Ok(())
            },
        )?;
    }
    println!(
        "      restart counts unchanged ({}), exec answers",
        counts_after.trim()
    );
    Ok(())
}

/// The kubelet has a container of its own: restarting it leaves cri-dockerd and the pods.
pub fn kubelet_restart_keeps_the_pods(ctx: &mut Ctx) -> anyhow::Result<()> {
    restart_keeps_pods(ctx, "kubelet", "cri-dockerd")
}

/// And the other way round: cri-dockerd restarted (as on an rke-tools upgrade) leaves the
/// kubelet and the pods; the kubelet reconnects to the new process.
pub fn cri_dockerd_restart_keeps_the_pods(ctx: &mut Ctx) -> anyhow::Result<()> {
    restart_keeps_pods(ctx, "cri-dockerd", "kubelet")
}
