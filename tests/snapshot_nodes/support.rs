//! What the snapshot scenario needs besides the helpers in tests/common/: snapshot files on
//! the nodes, ConfigMaps, container states and S3 flags.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use serde_json::Value;

use super::cluster::{Ctx, RkeRun, eventually};
use super::nodes;

pub const SNAPSHOT_DIR: &str = "/opt/rke/etcd-snapshots";

/// An rke run that must exit 0.
pub fn ok(run: RkeRun, what: &str) -> anyhow::Result<RkeRun> {
    if run.code != Some(0) {
        bail!("{what} failed: {}", run.describe());
    }
    Ok(run)
}

/// Snapshot files (not sidecars) in node `i`'s snapshot directory -> sha256 computed there.
pub fn snapshot_files(ctx: &Ctx, i: usize) -> anyhow::Result<BTreeMap<String, String>> {
    let out = nodes::sh(
        &ctx.env,
        i,
        &format!(
            "cd {SNAPSHOT_DIR} 2>/dev/null || exit 0; for f in *; do \
             case $f in '*'|*.sha256) continue;; esac; sha256sum \"$f\"; done"
        ),
    )?;
    Ok(out
        .lines()
        .filter_map(|l| l.split_once("  "))
        .map(|(sum, file)| (file.to_string(), sum.to_string()))
        .collect())
}

/// `sha256sum -c` of every sidecar on node `i` (each archive matches what rke recorded).
pub fn sidecars_check(ctx: &Ctx, i: usize) -> anyhow::Result<()> {
    nodes::sh(
        &ctx.env,
        i,
        &format!("cd {SNAPSHOT_DIR} && for s in *.sha256; do sha256sum -c \"$s\" >/dev/null || exit 1; done"),
    )
    .map(drop)
}

pub fn create_configmap(ctx: &Ctx, name: &str) -> anyhow::Result<()> {
    eventually(
        &format!("creating ConfigMap {name}"),
        Duration::from_secs(60),
        || ctx.kubectl(&["create", "configmap", name, "--from-literal=k=v"]),
    )
    .map(drop)
}

pub fn delete_configmap(ctx: &Ctx, name: &str) -> anyhow::Result<()> {
    ctx.kubectl(&["delete", "configmap", name]).map(drop)
}

/// The names of the ConfigMaps in `default`.
pub fn configmaps(ctx: &Ctx) -> anyhow::Result<Vec<String>> {
    let v: Value = serde_json::from_str(&ctx.kubectl(&["get", "configmaps", "-o", "json"])?)?;
    Ok(v["items"]
        .as_array()
        .context("no items")?
        .iter()
        .filter_map(|i| i["metadata"]["name"].as_str().map(String::from))
        .collect())
}

/// Wait until the API answers and `present` exist and `absent` do not.
pub fn expect_configmaps(ctx: &Ctx, present: &[&str], absent: &[&str]) -> anyhow::Result<()> {
    println!("    check: ConfigMaps {present:?} exist, {absent:?} do not");
    eventually(
        "ConfigMaps after the restore",
        Duration::from_secs(120),
        || {
            let have = configmaps(ctx)?;
            for p in present {
                ensure!(have.iter().any(|h| h == p), "{p} missing: {have:?}");
            }
            for a in absent {
                ensure!(!have.iter().any(|h| h == a), "{a} present: {have:?}");
            }
            Ok(())
        },
    )
}

/// `name -> (id, running)` of node `i`'s rke containers.
pub fn container_states(ctx: &Ctx, i: usize) -> anyhow::Result<BTreeMap<String, String>> {
    let out = nodes::sh(
        &ctx.env,
        i,
        "docker ps -a --filter label=io.rancher.rke.container.name \
         --format '{{.Names}} {{.ID}} {{.State}}'",
    )?;
    Ok(out
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(n, rest)| (n.to_string(), rest.to_string()))
        .collect())
}

/// A pod pinned to `node` must reach Running (the scheduler, kubelet and API work).
pub fn pod_runs_on(ctx: &Ctx, pod: &str, node: &str) -> anyhow::Result<()> {
    println!("    check: a pod scheduled on {node} runs");
    let manifest = format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: {pod}, namespace: default}}\nspec:\n  \
         nodeSelector: {{kubernetes.io/hostname: {node}}}\n  terminationGracePeriodSeconds: 1\n  \
         containers:\n  - name: probe\n    image: {}\n    command: [sleep, \"3600\"]\n",
        ctx.pod_image
    );
    eventually("creating the pod", Duration::from_secs(120), || {
        ctx.kubectl_stdin(&["apply", "-f", "-"], &manifest)
    })?;
    let running = eventually("the pod running", Duration::from_secs(180), || {
        let phase = ctx.kubectl(&["get", "pod", pod, "-o", "jsonpath={.status.phase}"])?;
        ensure!(phase == "Running", "pod {pod} is {phase:?}");
        Ok(())
    });
    if let Err(e) = running {
        // What the scheduler and kubelet said, for the failure message.
        let described = ctx.kubectl(&["describe", "pod", pod]).unwrap_or_default();
        let nodes = ctx
            .kubectl(&["get", "nodes", "-o", "wide"])
            .unwrap_or_default();
        return Err(e.context(format!("{described}\n{nodes}")));
    }
    ctx.kubectl(&["delete", "pod", pod, "--wait=false"])
        .map(drop)
}

/// etcd on node `i` lists `want` members, all healthy.
pub fn etcd_healthy(ctx: &Ctx, i: usize, want: usize) -> anyhow::Result<()> {
    println!("    check: etcd has {want} members, all healthy");
    eventually("etcd health", Duration::from_secs(90), || {
        let members = nodes::etcd_members(&ctx.env, i)?;
        ensure!(members.len() == want, "members {members:?}");
        let healthy = nodes::etcd_healthy(&ctx.env, i)?;
        ensure!(healthy == want, "{healthy} of {want} healthy");
        Ok(())
    })
}

/// Seconds during which no API server answered, from the watch's outage ticks (`t=<s>s: ...`):
/// from the first to the last failing tick, plus one tick.
pub fn outage_seconds(outages: &[String]) -> f64 {
    let times: Vec<f64> = outages
        .iter()
        .filter_map(|o| o.strip_prefix("t=")?.split_once('s')?.0.parse().ok())
        .collect();
    match (times.first(), times.last()) {
        (Some(first), Some(last)) => last - first + 0.5,
        _ => 0.0,
    }
}
