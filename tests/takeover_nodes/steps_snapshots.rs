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

/// RKE1's snapshot uploaded to S3, taken after [`SNAPSHOT`] and after [`BETWEEN_SNAPSHOTS`]
/// was written.
pub const S3_SNAPSHOT: &str = "rke1-takeover-s3";
pub const BETWEEN_SNAPSHOTS: &str = "written-between-rke1-snapshots";
const AFTER_S3_SNAPSHOT: &str = "written-after-rke1-s3-snapshot";
/// The bucket RKE1 uploads to, on the S3 server for the nodes (tests/env/s3/moto.sh).
const BUCKET: &str = "rke1-snapshots";

/// An S3 server the nodes reach (RKE1 uploads from the nodes) and a bucket on it:
/// (endpoint host:port, CA file).
fn s3_server(ctx: &Ctx) -> anyhow::Result<(String, String)> {
    let gateway = ctx.env["network"]["gateway"]
        .as_str()
        .context("env.json has no network.gateway")?;
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/env/s3/moto.sh");
    let json = super::rke1::host(
        &format!("bash {} start-for-nodes {gateway}", script.display()),
        "an S3 server on the test network",
    )?;
    let server: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(json.trim())?)?;
    let endpoint = server["endpoint"]
        .as_str()
        .context("nodes.json: endpoint")?;
    let ca = server["ca"].as_str().context("nodes.json: ca")?;
    // moto without signature checks: an unsigned PUT makes the bucket (200 also when it exists).
    super::rke1::host(
        &format!("curl -fsS -X PUT --cacert {ca} https://{endpoint}/{BUCKET} >/dev/null"),
        "the snapshot bucket",
    )?;
    Ok((endpoint.to_string(), ca.to_string()))
}

/// RKE1's (and rke's: the same names) S3 flags for the server of [`s3_server`].
fn s3_flags(endpoint: &str, ca: &str) -> Vec<String> {
    [
        "--s3",
        "--s3-endpoint",
        endpoint,
        "--s3-endpoint-ca",
        ca,
        "--access-key",
        "rke1-access",
        "--secret-key",
        "rke1-secret",
        "--bucket-name",
        BUCKET,
        "--region",
        "us-east-1",
    ]
    .map(String::from)
    .to_vec()
}

/// RKE1 uploads a snapshot to S3 (each etcd node uploads its own, under the same key).
pub fn rke1_saves_to_s3(ctx: &Ctx) -> anyhow::Result<()> {
    let (endpoint, ca) = s3_server(ctx)?;
    ctx.kubectl(&[
        "create",
        "configmap",
        BETWEEN_SNAPSHOTS,
        "--from-literal=k=v",
    ])?;
    let mut args = vec!["etcd", "snapshot-save", "--name", S3_SNAPSHOT];
    let flags = s3_flags(&endpoint, &ca);
    args.extend(flags.iter().map(String::as_str));
    super::rke1::run(ctx, &args, "snapshot-save-s3")?;
    // The bucket refuses unsigned reads: RKE1's own report says every node uploaded.
    let log = std::fs::read_to_string(ctx.dir.path().join("rke1-snapshot-save-s3.log"))?;
    ensure!(
        log.contains(&format!(
            "Finished saving/uploading snapshot [{S3_SNAPSHOT}] on all etcd hosts"
        )),
        "RKE1 does not say it uploaded {S3_SNAPSHOT}"
    );
    Ok(())
}

/// RKE1's S3 snapshot, with no local copy left on any node, is listed and restored by rke from
/// S3 with RKE1's flags.
pub fn rke1_s3_snapshot_restores_with_rke(ctx: &mut Ctx) -> anyhow::Result<()> {
    let (endpoint, ca) = s3_server(ctx)?;
    let flags = s3_flags(&endpoint, &ca);
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    for i in 1..=3 {
        nodes::sh(
            &ctx.env,
            i,
            &format!("rm -f /opt/rke/etcd-snapshots/{S3_SNAPSHOT}.zip*"),
        )?;
    }
    let mut list = vec!["etcd", "snapshot-list"];
    list.extend(&flags);
    let listed = ctx.rke(&list);
    ensure!(
        listed.code == Some(0)
            && listed
                .stdout
                .lines()
                .any(|l| l.starts_with(&format!("{S3_SNAPSHOT} ")) && l.contains(" yes ")),
        "snapshot-list --s3 must show RKE1's {S3_SNAPSHOT} in S3: {}",
        listed.describe()
    );
    ctx.kubectl(&[
        "create",
        "configmap",
        AFTER_S3_SNAPSHOT,
        "--from-literal=k=v",
    ])?;
    let mut restore = vec!["etcd", "snapshot-restore", "--name", S3_SNAPSHOT];
    restore.extend(&flags);
    let run = ctx.rke(&restore);
    ensure!(
        run.code == Some(0),
        "restoring RKE1's S3 snapshot: {}",
        run.describe()
    );
    wait_ready(ctx)?;
    let exists = |name: &str| -> anyhow::Result<bool> {
        let out = ctx.kubectl(&["get", "configmap", name, "--ignore-not-found", "-o", "name"])?;
        Ok(!out.trim().is_empty())
    };
    ensure!(
        exists(BETWEEN_SNAPSHOTS)?,
        "{BETWEEN_SNAPSHOTS}, in RKE1's S3 snapshot, is not back"
    );
    ensure!(
        !exists(AFTER_S3_SNAPSHOT)?,
        "{AFTER_S3_SNAPSHOT}, written after the snapshot, survived the restore"
    );
    for i in 1..=3 {
        let healthy = nodes::etcd_healthy(&ctx.env, i).context("etcd health")?;
        ensure!(healthy == 3, "node{i}: {healthy} of 3 etcd members healthy");
    }
    println!("      RKE1's S3 snapshot restored from S3 (no local copy left on any node)");
    ctx.dry_run(0)?;
    Ok(())
}

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
