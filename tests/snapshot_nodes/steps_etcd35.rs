//! The save and restore again on etcd 3.5 (what Kubernetes >= 1.22 runs, restored with
//! `etcdutl`): a fresh 3-node cluster on node1..3 whose `system_images.etcd` is the environment's
//! etcd 3.5 image (Debian trixie's, `images.etcd_3_5`), Kubernetes staying v1.20.2.

use std::time::Duration;

use anyhow::{Context, ensure};
use serde_json::Value;

use super::cluster::{Ctx, eventually};
use super::nodes;
use super::steps_restore::{self, RECURRING};
use super::support;

pub fn fresh_cluster(ctx: &mut Ctx) -> anyhow::Result<()> {
    let image = ctx.env["images"]["etcd_3_5"]
        .as_str()
        .context("env.json has no images.etcd_3_5: re-run tests/env/up.sh 5")?
        .to_string();
    println!("    the earlier clusters are removed from every node");
    nodes::cleanup_with_snapshots(&ctx.env);
    // Runs after a failed disaster-recovery step too, which may have left its S3 key set.
    ctx.rke_env.clear();
    let work = ctx.dir.path().join("etcd35");
    std::fs::create_dir_all(&work)?;
    ctx.work = work;
    let mut spec = vec!["--etcd-image", image.as_str()];
    spec.extend(RECURRING);
    spec.extend([
        "1:etcd,controlplane,worker",
        "2:etcd,controlplane,worker",
        "3:etcd,worker",
    ]);
    ctx.write_config(&spec, &[])?;
    ctx.up_ok()?;
    ctx.wait_nodes_ready(&["node1", "node2", "node3"], Duration::from_secs(300))?;
    support::etcd_healthy(ctx, 1, 3)?;

    let want = image
        .rsplit_once(":v")
        .map(|(_, version)| version.to_string())
        .context("the etcd 3.5 image has no vX.Y.Z tag")?;
    println!("    check: every member's server reports etcd {want}");
    for i in 1..=3 {
        let status = nodes::etcdctl(&ctx.env, i, "endpoint status -w json")?;
        let v: Value = serde_json::from_str(&status)
            .with_context(|| format!("node{i}: etcdctl endpoint status: {status}"))?;
        let version = v[0]["Status"]["version"].as_str().unwrap_or_default();
        ensure!(
            version == want,
            "node{i}: etcd reports {version:?}: {status}"
        );
    }
    // The agent is the rke binary run inside the etcd image, so it must work in this one too.
    println!("    check: the recurring snapshot agent writes a snapshot on every etcd node");
    eventually("a recurring snapshot", Duration::from_secs(60), || {
        for i in 1..=3 {
            let files = support::snapshot_files(ctx, i)?;
            ensure!(
                files.keys().any(|f| f.ends_with("_etcd.zip")),
                "node{i} has {files:?}"
            );
            support::sidecars_check(ctx, i)?;
        }
        Ok(())
    })
}

pub fn save_and_restore(ctx: &mut Ctx) -> anyhow::Result<()> {
    steps_restore::save_and_restore_with(ctx, "etcdutl")
}
