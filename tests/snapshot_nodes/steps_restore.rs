//! Save and restore on the 3-node cluster: directly, refusing a corrupt copy, through S3, and
//! the recurring snapshots of the agent.

use std::time::{Duration, Instant};

use anyhow::{Context, ensure};

use super::api_watch::ApiWatch;
use super::cluster::{Ctx, RkeRun, eventually};
use super::nodes;
use super::s3_servers;
use super::support::{self, ok};

/// Recurring snapshots every 10 s, kept 40 s.
pub const RECURRING: [&str; 2] = ["--snapshots", "10s:40s"];
const CREATION: Duration = Duration::from_secs(10);
const RETENTION: Duration = Duration::from_secs(40);

/// node1, node2: etcd + controlplane + worker; node3: etcd + worker.
pub fn fresh_cluster(ctx: &mut Ctx) -> anyhow::Result<()> {
    let mut spec = RECURRING.to_vec();
    spec.extend([
        "1:etcd,controlplane,worker",
        "2:etcd,controlplane,worker",
        "3:etcd,worker",
    ]);
    ctx.write_config(&spec, &[])?;
    ctx.up_ok()?;
    ctx.wait_nodes_ready(&["node1", "node2", "node3"], Duration::from_secs(300))?;
    support::etcd_healthy(ctx, 1, 3)
}

/// On the environment's etcd 3.4, restored with `etcdctl snapshot restore`.
pub fn save_and_restore(ctx: &mut Ctx) -> anyhow::Result<()> {
    save_and_restore_with(ctx, "etcdctl")
}

/// Save, change, restore; `tool` is the restore tool rke must report it ran (etcdctl for etcd
/// 3.4, etcdutl from 3.5).
pub fn save_and_restore_with(ctx: &mut Ctx, tool: &str) -> anyhow::Result<()> {
    support::create_configmap(ctx, "before")?;
    let save = ok(
        ctx.rke(&["etcd", "snapshot-save", "--name", "e2e-one"]),
        "snapshot-save",
    )?;
    println!("      {}", save.last_stdout_line());
    println!(
        "    check: every etcd node has e2e-one.zip with the same sha256, matching its sidecar"
    );
    let mut sums = Vec::new();
    for i in 1..=3 {
        let files = support::snapshot_files(ctx, i)?;
        sums.push(
            files
                .get("e2e-one.zip")
                .cloned()
                .with_context(|| format!("node{i}: {files:?}"))?,
        );
        support::sidecars_check(ctx, i)?;
    }
    ensure!(
        sums.windows(2).all(|w| w[0] == w[1]),
        "copies differ: {sums:?}"
    );
    let size: u64 = nodes::sh(
        &ctx.env,
        1,
        &format!("stat -c %s {}/e2e-one.zip", support::SNAPSHOT_DIR),
    )?
    .trim()
    .parse()?;
    println!(
        "    figure: snapshot-save {:.1}s, archive {size} bytes",
        save.elapsed.as_secs_f64()
    );
    let list = ok(ctx.rke(&["etcd", "snapshot-list"]), "snapshot-list")?;
    ensure!(
        list.stdout.lines().any(|l| l.starts_with("e2e-one ")
            && l.contains("3/3")
            && l.contains("same bytes everywhere")),
        "snapshot-list does not show e2e-one on 3/3 nodes with the same bytes:\n{}",
        list.stdout
    );

    support::create_configmap(ctx, "after")?;
    support::delete_configmap(ctx, "before")?;
    let servers = ctx.api_servers();
    let node_clock_before: i64 = nodes::sh(&ctx.env, 1, "date +%s")?.trim().parse()?;
    let watch = ApiWatch::start(ctx.kubectl.clone(), ctx.kubeconfig(), servers);
    let started = Instant::now();
    let restore = ctx.rke(&["etcd", "snapshot-restore", "--name", "e2e-one"]);
    let restore_secs = started.elapsed().as_secs_f64();
    // Until the API answers again, for the downtime figure.
    let back = eventually(
        "the API after the restore",
        Duration::from_secs(120),
        || ctx.kubectl(&["get", "--raw", "/healthz"]),
    );
    let report = watch.finish();
    let restore = ok(restore, "snapshot-restore")?;
    back?;
    println!("    check: every etcd node was restored with {tool}");
    let said = format!("restoring the snapshot with {tool} ");
    let output = format!("{}{}", restore.stdout, restore.stderr);
    for node in ["node1", "node2", "node3"] {
        ensure!(
            output
                .lines()
                .any(|l| l.contains(&said) && l.contains(&format!("node={node}"))),
            "rke does not say it restored {node} with {tool}: {}",
            restore.describe()
        );
    }
    println!(
        "    figure: snapshot-restore {restore_secs:.1}s; API unavailable ~{:.1}s ({} of {} polls)",
        support::outage_seconds(&report.outages),
        report.outages.len(),
        report.ticks
    );
    support::expect_configmaps(ctx, &["before"], &["after"])?;
    support::etcd_healthy(ctx, 1, 3)?;
    agents_restarted_since(ctx, node_clock_before)?;
    ctx.wait_nodes_ready(&["node1", "node2", "node3"], Duration::from_secs(300))?;
    support::pod_runs_on(ctx, "after-restore", "node3")
}

/// Every node's kubelet and kube-proxy were (re)started after `since` (node1's clock, the nodes
/// share the host's): their caches of the cluster from before the restore are gone.
fn agents_restarted_since(ctx: &Ctx, since: i64) -> anyhow::Result<()> {
    println!("    check: every node's kubelet and kube-proxy restarted during the restore");
    for i in 1..=3 {
        let started = nodes::sh(
            &ctx.env,
            i,
            "for c in kubelet kube-proxy; do date +%s -d \"$(docker inspect -f '{{.State.StartedAt}}' $c)\"; done",
        )?;
        for (agent, at) in ["kubelet", "kube-proxy"].iter().zip(started.lines()) {
            let at: i64 = at.trim().parse()?;
            ensure!(
                at >= since,
                "node{i}: {agent} started at {at}, before the restore began ({since})"
            );
        }
    }
    Ok(())
}

pub fn corrupt_copy_refused(ctx: &mut Ctx) -> anyhow::Result<()> {
    support::create_configmap(ctx, "untouched")?;
    println!("    corrupt node2's copy of e2e-one.zip (one byte changed)");
    nodes::sh(
        &ctx.env,
        2,
        &format!(
            "printf 'X' | dd of={}/e2e-one.zip bs=1 seek=200 conv=notrunc 2>/dev/null",
            support::SNAPSHOT_DIR
        ),
    )?;
    let before: Vec<_> = (1..=3)
        .map(|i| support::container_states(ctx, i))
        .collect::<Result<_, _>>()?;
    let run = ctx.rke(&["etcd", "snapshot-restore", "--name", "e2e-one"]);
    ensure!(
        run.code == Some(9),
        "want exit 9 (snapshot error): {}",
        run.describe()
    );
    ensure!(
        run.stderr.contains("node2")
            && run.stderr.contains("corrupt")
            && run.stderr.contains("nothing was stopped"),
        "the error must name node2 and say the copy is corrupt: {}",
        run.describe()
    );
    println!("    check: every container on every node is the same one, in the same state");
    for (i, was) in (1..=3).zip(&before) {
        let now = support::container_states(ctx, i)?;
        ensure!(
            &now == was,
            "node{i} changed:\nbefore {was:?}\nafter  {now:?}"
        );
    }
    support::expect_configmaps(ctx, &["before", "untouched"], &[])?;
    nodes::sh(
        &ctx.env,
        2,
        &format!("rm -f {}/e2e-one.zip*", support::SNAPSHOT_DIR),
    )
    .map(drop)
}

/// S3 flags for the moto server that checks signatures; the secret key goes by variable.
pub fn s3_flags(ctx: &mut Ctx, folder: &str) -> anyhow::Result<Vec<String>> {
    let srv = s3_servers::servers().context("the S3 servers are needed")?;
    ctx.rke_env = vec![("RKE_S3_SECRET_KEY".into(), srv.auth_secret_key.clone())];
    Ok([
        "--s3",
        "--s3-endpoint",
        &srv.auth_endpoint,
        "--access-key",
        &srv.auth_access_key,
        "--bucket-name",
        &srv.auth_bucket,
        "--region",
        "us-east-1",
        "--folder",
        folder,
    ]
    .map(String::from)
    .to_vec())
}

pub fn s3_folder() -> String {
    format!("snapshot-nodes-{}", std::process::id())
}

pub fn through_s3(ctx: &mut Ctx) -> anyhow::Result<()> {
    let flags = s3_flags(ctx, &s3_folder())?;
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    support::create_configmap(ctx, "s3-before")?;
    // Save and restore through S3 with the JSON event stream, whose lines must not carry
    // the S3 keys (nor may the log).
    let secrets = [
        flags[flags.iter().position(|f| *f == "--access-key").unwrap_or(0) + 1].to_string(),
        ctx.rke_env[0].1.clone(),
    ];
    let no_secrets = |run: &RkeRun| -> anyhow::Result<()> {
        for s in &secrets {
            ensure!(
                !run.stdout.contains(s.as_str()) && !run.stderr.contains(s.as_str()),
                "an S3 key is in the output"
            );
        }
        Ok(())
    };
    let mut args = vec![
        "etcd",
        "snapshot-save",
        "--name",
        "e2e-s3",
        "--output",
        "json",
    ];
    args.extend(&flags);
    let save = ctx.rke(&args);
    let (_, result) = save.json_ok("etcd snapshot-save")?;
    ensure!(
        result["data"]["s3_key"].is_string() && result["changed"]["snapshots_saved"] == 1,
        "no S3 upload reported: {result}"
    );
    no_secrets(&save)?;
    let mut list = vec!["etcd", "snapshot-list"];
    list.extend(&flags);
    let listed = ok(ctx.rke(&list), "snapshot-list --s3")?;
    ensure!(
        listed
            .stdout
            .lines()
            .any(|l| l.starts_with("e2e-s3 ") && l.contains(" yes ")),
        "snapshot-list does not show e2e-s3 in S3:\n{}",
        listed.stdout
    );
    support::create_configmap(ctx, "s3-after")?;
    support::delete_configmap(ctx, "s3-before")?;
    println!("    delete every local copy of e2e-s3");
    for i in 1..=3 {
        nodes::sh(
            &ctx.env,
            i,
            &format!("rm -f {}/e2e-s3.zip*", support::SNAPSHOT_DIR),
        )?;
    }
    let mut restore = vec![
        "etcd",
        "snapshot-restore",
        "--name",
        "e2e-s3",
        "--output",
        "json",
    ];
    restore.extend(&flags);
    let restored = ctx.rke(&restore);
    let (events, result) = restored.json_ok("etcd snapshot-restore")?;
    ensure!(
        result["kubeconfig"].is_string() && result["data"]["snapshot"] == "e2e-s3",
        "{result}"
    );
    ensure!(
        events
            .iter()
            .any(|e| e["phase"] == "restore" && e["status"] == "done"),
        "no restore phase in the events"
    );
    no_secrets(&restored)?;
    support::expect_configmaps(ctx, &["s3-before"], &["s3-after"])?;
    support::etcd_healthy(ctx, 1, 3)?;
    println!("    check: the restore put e2e-s3.zip back on every etcd node");
    for i in 1..=3 {
        let files = support::snapshot_files(ctx, i)?;
        ensure!(files.contains_key("e2e-s3.zip"), "node{i}: {files:?}");
    }
    ctx.rke_env.clear();
    Ok(())
}

/// `<RFC3339>_etcd.zip` files on node `i`.
fn recurring(ctx: &Ctx, i: usize) -> anyhow::Result<Vec<String>> {
    Ok(support::snapshot_files(ctx, i)?
        .into_keys()
        .filter(|f| f.ends_with("_etcd.zip"))
        .collect())
}

pub fn recurring_snapshots(ctx: &mut Ctx) -> anyhow::Result<()> {
    println!("    check: etcd-rolling-snapshots runs on every etcd node");
    for i in 1..=3 {
        ensure!(
            nodes::running(&ctx.env, i, "etcd-rolling-snapshots")?,
            "node{i} runs no etcd-rolling-snapshots"
        );
    }
    println!(
        "    check: each etcd node gets at least 2 recurring snapshots, all matching their sidecars"
    );
    let first = eventually("recurring snapshots", CREATION * 6, || {
        let mut all = Vec::new();
        for i in 1..=3 {
            let found = recurring(ctx, i)?;
            ensure!(found.len() >= 2, "node{i} has {found:?}");
            support::sidecars_check(ctx, i)?;
            all.push(found);
        }
        Ok(all)
    })?;
    println!("      node1: {:?}", first[0]);
    println!("    check: after the retention period those are pruned and newer ones exist");
    std::thread::sleep(RETENTION + CREATION * 2);
    for (i, old) in (1..=3).zip(&first) {
        let now = recurring(ctx, i)?;
        let kept: Vec<_> = old.iter().filter(|f| now.contains(f)).collect();
        ensure!(
            kept.is_empty(),
            "node{i}: {kept:?} outlived the retention ({now:?})"
        );
        ensure!(!now.is_empty(), "node{i}: no recurring snapshot left");
    }
    Ok(())
}
