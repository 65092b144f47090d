//! RKE1's snapshots as rke's: the one-off snapshot RKE1 took before the takeover (each etcd
//! node took its own copy, so the copies differ byte for byte) is listed by `rke etcd
//! snapshot-list` and restored by `rke etcd snapshot-restore --name`, from the first etcd node's
//! copy as RKE1's restore does; rke's recurring snapshots carry on where RKE1's stopped.

use std::collections::BTreeSet;
use std::time::Duration;

use anyhow::{Context, ensure};

use super::cluster::{Ctx, eventually};
use super::nodes;
use super::steps::{CONFIG_MAP, SNAPSHOT, load, wait_ready};

const AFTER_SNAPSHOT: &str = "written-after-rke1-snapshot";

fn sha256_of_copy(ctx: &Ctx, i: usize) -> anyhow::Result<String> {
    let out = nodes::sh(
        &ctx.env,
        i,
        &format!("sha256sum /opt/rke/etcd-snapshots/{SNAPSHOT}.zip"),
    )?;
    Ok(out
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string())
}

/// rke's agent replaced `etcd-rolling-snapshots` and says when its first snapshot is due; with
/// no recurring snapshot of RKE1's newer than one period, that is at once, and one is there.
fn recurring_snapshots_continue(ctx: &Ctx) -> anyhow::Result<()> {
    for i in 1..=3 {
        let log = nodes::sh(&ctx.env, i, "docker logs etcd-rolling-snapshots 2>&1")?;
        ensure!(
            log.contains("first snapshot at"),
            "node{i}: rke's snapshot agent does not say when its first snapshot is due:\n{log}"
        );
        eventually(
            &format!("a recurring snapshot of rke's on node{i}"),
            Duration::from_secs(60),
            || {
                let out = nodes::sh(
                    &ctx.env,
                    i,
                    "ls /opt/rke/etcd-snapshots/ | grep '_etcd.zip$' || true",
                )?;
                ensure!(!out.trim().is_empty(), "none yet");
                Ok(())
            },
        )?;
    }
    Ok(())
}

pub fn rke1_snapshot_restores_with_rke(ctx: &mut Ctx) -> anyhow::Result<()> {
    recurring_snapshots_continue(ctx)?;

    let copies: Vec<String> = (1..=3)
        .map(|i| sha256_of_copy(ctx, i))
        .collect::<anyhow::Result<_>>()?;
    let distinct: BTreeSet<&String> = copies.iter().collect();
    println!(
        "      RKE1's copies of {SNAPSHOT}: {} distinct of 3",
        distinct.len()
    );
    ensure!(
        distinct.len() > 1,
        "RKE1's per-node copies were expected to differ: {copies:?}"
    );

    let list = ctx.rke(&["etcd", "snapshot-list"]);
    ensure!(
        list.code == Some(0) && list.stdout.contains(SNAPSHOT),
        "snapshot-list must show RKE1's {SNAPSHOT}: {}",
        list.describe()
    );

    ctx.kubectl(&["create", "configmap", AFTER_SNAPSHOT, "--from-literal=k=v"])?;
    let restore = ctx.rke(&["etcd", "snapshot-restore", "--name", SNAPSHOT]);
    ensure!(
        restore.code == Some(0),
        "restoring RKE1's snapshot: {}",
        restore.describe()
    );
    // RKE1's cluster.yml names nodes by address.
    let first = format!(
        "restoring {}'s copy",
        super::e2e::node_addresses(&ctx.env)[0]
    );
    ensure!(
        restore.stderr.contains(&first) || restore.stdout.contains(&first),
        "the restore must say it uses the first etcd node's copy, as RKE1 does: {}",
        restore.describe()
    );
    wait_ready(ctx)?;

    let before = load(ctx, "before.json")?;
    let data = ctx.kubectl(&["get", "configmap", CONFIG_MAP, "-o", "jsonpath={.data}"])?;
    ensure!(
        serde_json::json!(data) == before["configmap"],
        "the ConfigMap RKE1's snapshot holds is not back: {data}"
    );
    let gone = ctx.kubectl(&[
        "get",
        "configmap",
        AFTER_SNAPSHOT,
        "--ignore-not-found",
        "-o",
        "name",
    ])?;
    ensure!(
        gone.trim().is_empty(),
        "{AFTER_SNAPSHOT}, written after the snapshot, survived the restore"
    );
    for i in 1..=3 {
        let healthy = nodes::etcd_healthy(&ctx.env, i).context("etcd health")?;
        ensure!(healthy == 3, "node{i}: {healthy} of 3 etcd members healthy");
    }
    let after: BTreeSet<String> = (1..=3)
        .map(|i| sha256_of_copy(ctx, i))
        .collect::<anyhow::Result<_>>()?;
    ensure!(
        after.len() == 1 && after.contains(&copies[0]),
        "after the restore every node must hold node1's copy {}: {after:?}",
        copies[0]
    );
    ctx.dry_run(0)?;
    Ok(())
}
