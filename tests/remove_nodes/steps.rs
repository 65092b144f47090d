//! The remove_nodes scenario's steps.

use std::time::Duration;

use anyhow::{Context, bail, ensure};
use serde_json::Value;

use super::cluster::{Ctx, eventually};
use super::nodes::{self, sh};

const NODES: [&str; 3] = ["node1", "node2", "node3"];
const POD: &str = "remove-nodes-probe";
/// Data of "a volume" bind-mounted below /var/lib/kubelet: must survive the removal.
const PRECIOUS_DIR: &str = "/srv/remove-nodes-precious";
const FAKE_VOLUME: &str = "/var/lib/kubelet/pods/remove-nodes/volumes/fake~bind/data";
/// A local snapshot: kept without `--remove-snapshots`.
const SNAPSHOT: &str = "/opt/rke/etcd-snapshots/remove-nodes-sentinel.zip";
/// Directories whose contents `rke remove` deletes, besides nodes::RKE_DIRS.
const MORE_DIRS: [&str; 4] = [
    "/var/lib/kubelet",
    "/var/lib/rancher/rke/log",
    "/opt/rke/bin",
    "/opt/rke/etcd-snapshots-restore",
];

fn node_names() -> Vec<&'static str> {
    NODES.to_vec()
}

/// node1, node2: etcd + controlplane + worker; node3: etcd + worker; a pod on node3 (its
/// service account token is a tmpfs mount below /var/lib/kubelet).
pub fn fresh_cluster_with_pod(ctx: &mut Ctx) -> anyhow::Result<()> {
    up_fresh(ctx)?;
    let manifest = format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: {POD}, namespace: default}}\nspec:\n  \
         nodeSelector: {{kubernetes.io/hostname: node3}}\n  terminationGracePeriodSeconds: 1\n  \
         containers:\n  - name: probe\n    image: {}\n    command: [sleep, \"3600\"]\n    \
         volumeMounts: [{{name: scratch, mountPath: /scratch}}]\n  \
         volumes: [{{name: scratch, emptyDir: {{medium: Memory}}}}]\n",
        ctx.pod_image
    );
    eventually("creating the probe pod", Duration::from_secs(90), || {
        ctx.kubectl_stdin(&["apply", "-f", "-"], &manifest)
    })?;
    ctx.kubectl(&[
        "wait",
        "--for=condition=Ready",
        &format!("pod/{POD}"),
        "--timeout=240s",
    ])?;
    let mounts = kubelet_mounts(&ctx.env, 3)?;
    println!(
        "    node3 has {} mount(s) below /var/lib/kubelet",
        mounts.len()
    );
    ensure!(
        mounts.iter().any(|m| m.contains("kubernetes.io~empty-dir")),
        "the pod's memory emptyDir is not mounted on node3: {mounts:?}"
    );
    Ok(())
}

fn up_fresh(ctx: &mut Ctx) -> anyhow::Result<()> {
    ctx.write_config(&[], &[])?;
    ctx.up_ok()?;
    ctx.wait_nodes_ready(&node_names(), Duration::from_secs(300))
}

pub fn version_shows_server(ctx: &mut Ctx) -> anyhow::Result<()> {
    // Not through ctx.rke: `version` takes only --config, as in RKE1.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rke"))
        .arg("version")
        .arg("--config")
        .arg(ctx.config())
        .env_remove("RKE_CONFIG")
        .output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let describe = format!(
        "{:?}\n{stdout}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    // Recorded like every other run, for tests/env/check-secrets.sh.
    super::e2e::append_transcript(&format!(
        "$ rke version\n{:?}\n--- stdout ---\n{stdout}\n--- stderr ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    ));
    ensure!(out.status.success(), "rke version: {describe}");
    let want = ctx.env["kubernetes_version"]
        .as_str()
        .context("env.json has no kubernetes_version")?;
    ensure!(
        stdout.contains(&format!("Server Version: {want}")),
        "want Server Version: {want}: {describe}"
    );
    ensure!(stdout.starts_with("rke version v"), "{describe}");
    Ok(())
}

/// The state file written back from the Secret equals the one `rke up` wrote, whether the API
/// is reached with the kubeconfig or (kubeconfig pointing nowhere) through a node; then the
/// kubeconfig is rebuilt from the state and works.
pub fn state_file_and_kubeconfig_from_cluster(ctx: &mut Ctx) -> anyhow::Result<()> {
    let original: Value = read_json(&ctx.state_file())?;
    std::fs::remove_file(ctx.state_file())?;
    let run = ctx.rke(&["util", "get-state-file"]);
    ensure!(run.code == Some(0), "get-state-file: {}", run.describe());
    ensure!(
        read_json(&ctx.state_file())? == original,
        "the state file from the cluster differs from the one rke up wrote"
    );

    println!("    kubeconfig pointing at a closed port: through a control-plane node instead");
    let kubeconfig = std::fs::read_to_string(ctx.kubeconfig())?;
    let server = kubeconfig
        .lines()
        .find_map(|l| l.trim().strip_prefix("server: "))
        .context("no server: line in the kubeconfig")?
        .trim_matches('"')
        .to_string();
    std::fs::write(
        ctx.kubeconfig(),
        kubeconfig.replace(&server, "https://127.0.0.1:9"),
    )?;
    // The same state in another layout, so the replaced file differs and is kept as `.bak`
    // (writing identical content is a no-op).
    let compact = serde_json::to_string(&original)?;
    std::fs::write(ctx.state_file(), &compact)?;
    let run = ctx.rke(&["util", "get-state-file"]);
    ensure!(
        run.code == Some(0),
        "get-state-file via node: {}",
        run.describe()
    );
    ensure!(
        std::fs::read_to_string(ctx.state_file())? != compact,
        "not rewritten"
    );
    ensure!(
        run.stderr.contains("trying the control-plane nodes"),
        "the kubeconfig path did not fail over to a node: {}",
        run.describe()
    );
    ensure!(read_json(&ctx.state_file())? == original);
    let backup = ctx.work.join("cluster.rkestate.bak");
    ensure!(
        read_json(&backup)? == original,
        "no backup of the replaced state file"
    );

    let run = ctx.rke(&["util", "get-kubeconfig"]);
    ensure!(run.code == Some(0), "get-kubeconfig: {}", run.describe());
    ensure!(
        std::fs::read_to_string(ctx.kubeconfig())? == kubeconfig,
        "the rebuilt kubeconfig differs from rke up's"
    );
    ctx.kubectl(&["get", "nodes"])?;
    Ok(())
}

pub fn remove_leaves_nothing(ctx: &mut Ctx) -> anyhow::Result<()> {
    for i in 1..=3 {
        plant_sentinels(&ctx.env, i)?;
    }
    let run = ctx.rke(&["remove", "--force"]);
    ensure!(
        run.code == Some(0),
        "rke remove --force: {}",
        run.describe()
    );
    for name in NODES {
        ensure!(
            run.stdout.contains(&format!("node {name}: removed ")),
            "no line for {name}: {}",
            run.describe()
        );
    }
    ensure!(
        run.stdout.contains("3 of 3 nodes cleaned"),
        "{}",
        run.describe()
    );
    for line in run.stdout.lines() {
        println!("      {line}");
    }
    for f in [ctx.state_file(), ctx.kubeconfig()] {
        ensure!(!f.exists(), "{} still exists", f.display());
    }
    for i in 1..=3 {
        check_node_clean(&ctx.env, i)?;
    }
    Ok(())
}

/// A bind mount of data that is not the cluster's below /var/lib/kubelet, and a snapshot.
fn plant_sentinels(env: &Value, i: usize) -> anyhow::Result<()> {
    sh(
        env,
        i,
        &format!(
            "mkdir -p {PRECIOUS_DIR} {FAKE_VOLUME} /opt/rke/etcd-snapshots && \
             echo keep > {PRECIOUS_DIR}/data && mount --bind {PRECIOUS_DIR} {FAKE_VOLUME} && \
             echo snap > {SNAPSHOT}"
        ),
    )
    .map(drop)
}

/// Undo `plant_sentinels` (before and after the scenario).
pub fn drop_sentinels(env: &Value) {
    for i in 1..=nodes::node_count(env) {
        let script = format!(
            "umount {FAKE_VOLUME} 2>/dev/null; rm -rf {PRECIOUS_DIR} {SNAPSHOT} \
             /var/lib/kubelet/pods/remove-nodes; true"
        );
        if let Err(e) = sh(env, i, &script) {
            eprintln!("drop_sentinels: {e:#}");
        }
    }
}

fn check_node_clean(env: &Value, i: usize) -> anyhow::Result<()> {
    let containers = nodes::rke_containers(env, i)?;
    ensure!(
        containers.is_empty(),
        "node{i}: rke containers left: {containers:?}"
    );
    let pods = sh(
        env,
        i,
        "docker ps -a --filter label=io.kubernetes.pod.name --format '{{.Names}}'",
    )?;
    ensure!(
        pods.trim().is_empty(),
        "node{i}: pod containers left: {pods}"
    );
    let helpers = sh(
        env,
        i,
        "docker ps -a --filter label=io.rke.file-helper --format '{{.Names}}'",
    )?;
    ensure!(
        helpers.trim().is_empty(),
        "node{i}: helpers left: {helpers}"
    );
    let mut dirs = nodes::non_empty_dirs(env, i)?;
    for dir in MORE_DIRS {
        let first = sh(
            env,
            i,
            &format!("[ -d {dir} ] && find {dir} -mindepth 1 | head -n 3; true"),
        )?;
        if !first.trim().is_empty() {
            dirs.push(format!("{dir} ({})", first.trim().replace('\n', ", ")));
        }
    }
    ensure!(
        dirs.is_empty(),
        "node{i}: directories not emptied: {dirs:?}"
    );
    let mounts = kubelet_mounts(env, i)?;
    ensure!(mounts.is_empty(), "node{i}: still mounted: {mounts:?}");
    let kept = sh(env, i, &format!("cat {PRECIOUS_DIR}/data {SNAPSHOT}"))?;
    ensure!(
        kept.split_whitespace().collect::<Vec<_>>() == ["keep", "snap"],
        "node{i}: the mounted data or the snapshot was touched: {kept:?}"
    );
    Ok(())
}

/// Mount points below /var/lib/kubelet on node `i`.
fn kubelet_mounts(env: &Value, i: usize) -> anyhow::Result<Vec<String>> {
    let out = sh(
        env,
        i,
        "cut -d' ' -f2 /proc/mounts | grep '^/var/lib/kubelet/' ; true",
    )?;
    Ok(out.lines().map(str::to_string).collect())
}

pub fn remove_again_is_harmless(ctx: &mut Ctx) -> anyhow::Result<()> {
    // With the JSON event stream: the per-node report is the result's data.
    let run = ctx.rke(&[
        "remove",
        "--force",
        "--remove-snapshots",
        "--output",
        "json",
    ]);
    let (events, result) = run.json_ok("remove")?;
    for name in NODES {
        let node = result["data"]["nodes"]
            .as_array()
            .and_then(|all| all.iter().find(|n| n["node"] == name))
            .with_context(|| format!("{name} not in the result: {result}"))?;
        ensure!(
            node["cleaned"] == true && node["containers"] == serde_json::json!([]),
            "{name}: {node}"
        );
        ensure!(
            events.iter().any(|e| e["node"] == name
                && e["step"] == "remove"
                && e["status"] == "done"
                && e["duration_ms"].is_u64()),
            "no done event for {name}'s remove step: {}",
            run.describe()
        );
    }
    ensure!(result["changed"]["nodes_cleaned"] == 3, "{result}");
    let left = sh(&ctx.env, 1, "ls -A /opt/rke/etcd-snapshots")?;
    ensure!(left.trim().is_empty(), "--remove-snapshots left: {left}");
    Ok(())
}

pub fn fresh_up_after_remove(ctx: &mut Ctx) -> anyhow::Result<()> {
    ctx.write_config(&[], &[])?;
    // With the JSON event stream: phases and per-node steps, then the result.
    let run = ctx.rke_up(&["--output", "json"]);
    let (events, result) = run.json_ok("up")?;
    ensure!(
        result["kubeconfig"] == ctx.kubeconfig().display().to_string(),
        "{result}"
    );
    ensure!(
        result["changed"]["containers_created"].as_u64() > Some(0),
        "{result}"
    );
    for phase in [
        "connect",
        "prepare",
        "etcd",
        "controlplane",
        "worker",
        "addons",
    ] {
        ensure!(
            events
                .iter()
                .any(|e| e["phase"] == phase && e["node"].is_null() && e["status"] == "done"),
            "no done event for phase {phase}"
        );
    }
    for name in NODES {
        ensure!(
            events.iter().any(|e| e["node"] == name
                && e["step"] == "images"
                && e["status"] == "done"
                && e["duration_ms"].is_u64()),
            "no images step for {name}"
        );
    }
    ctx.apply_network()?;
    ctx.wait_nodes_ready(&node_names(), Duration::from_secs(300))?;
    let members = nodes::etcd_members(&ctx.env, 1)?;
    if members.len() != 3 {
        bail!("etcd members after the fresh up: {members:?}");
    }
    Ok(())
}

fn read_json(path: &std::path::Path) -> anyhow::Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}
