//! etcd is never rolled into a quorum loss: with one member's etcd stopped, a change that
//! would restart the others is refused before anything is touched; with the member started
//! again, the same change goes through.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, ensure};

use super::cluster::{Ctx, eventually};
use super::nodes;
use super::steps::{LAYOUT, failed_result, names, up_json};

/// An etcd flag that changes every member's container spec and is harmless to etcd
/// (rke's default is 500; the election timeout of 5000 stays above 5 heartbeats).
const ETCD_FLAG: &str = "--heartbeat-interval=400";

/// cluster.yml of the scenario's layout with `ETCD_FLAG` as an etcd `extra_args`, and
/// kubelet `KEY=VALUE` args.
pub(super) fn write_config_with_etcd_flag(ctx: &Ctx, kubelet_args: &[&str]) -> anyhow::Result<()> {
    ctx.write_config(&LAYOUT, kubelet_args)?;
    let yml = std::fs::read_to_string(ctx.config())?;
    let anchor = "  etcd:\n    snapshot: false\n";
    ensure!(
        yml.contains(anchor),
        "the generated cluster.yml has no `{anchor}`"
    );
    let yml = yml.replacen(
        anchor,
        &format!("{anchor}    extra_args:\n      heartbeat-interval: \"400\"\n"),
        1,
    );
    std::fs::write(ctx.config(), yml).context("writing cluster.yml")
}

/// rke's containers on node1..3: node -> name -> ID.
fn containers(ctx: &Ctx) -> anyhow::Result<BTreeMap<usize, BTreeMap<String, String>>> {
    (1..=3)
        .map(|i| Ok((i, nodes::rke_containers(&ctx.env, i)?)))
        .collect()
}

fn etcd_args(ctx: &Ctx, i: usize) -> anyhow::Result<String> {
    nodes::sh(&ctx.env, i, "docker inspect etcd --format '{{json .Args}}'")
}

/// All three members healthy, as node `i` sees them.
fn wait_three_healthy(ctx: &Ctx, i: usize) -> anyhow::Result<()> {
    eventually("3 healthy etcd members", Duration::from_secs(90), || {
        let healthy = nodes::etcd_healthy(&ctx.env, i)?;
        ensure!(healthy == 3, "{healthy} of 3 etcd members healthy");
        Ok(())
    })
}

pub fn member_down_refuses_a_roll(ctx: &mut Ctx) -> anyhow::Result<()> {
    println!("    a converged 3-member cluster (also repairs what earlier steps left)");
    ctx.write_config(&LAYOUT, &[])?;
    ctx.up_ok()?;
    wait_three_healthy(ctx, 1)?;
    let address3 = ctx.env["nodes"][2]["address"]
        .as_str()
        .context("env.json: nodes[2].address")?
        .to_string();

    println!("    node3's etcd stopped, then an etcd extra_args change (restarts every member)");
    nodes::sh(&ctx.env, 3, "docker stop etcd >/dev/null")?;
    let result = (|| {
        let members = nodes::etcd_members(&ctx.env, 1)?;
        let before = containers(ctx)?;
        write_config_with_etcd_flag(ctx, &[])?;
        let run = up_json(ctx, &[]);
        failed_result(&run, 7, "etcd")?;
        names(&run, "refusing to restart etcd member")?;
        names(&run, "etcd-node3")?;
        names(&run, &address3)?;
        println!(
            "    check: exit 7, the JSON result says etcd, the error names etcd-node3 at {address3}"
        );
        let after = containers(ctx)?;
        ensure!(
            after == before,
            "containers changed by a refused run: before {before:?}, after {after:?}"
        );
        let members_after = nodes::etcd_members(&ctx.env, 1)?;
        ensure!(
            members_after == members,
            "etcd members changed by a refused run: {members:?} -> {members_after:?}"
        );
        ensure!(
            !nodes::running(&ctx.env, 3, "etcd")?,
            "node3's etcd runs again after a refused run"
        );
        for i in 1..=2 {
            ensure!(
                !etcd_args(ctx, i)?.contains(ETCD_FLAG),
                "node{i}'s etcd has {ETCD_FLAG} after a refused run"
            );
        }
        println!("    check: the same container IDs on node1..3, the same etcd members");
        anyhow::Ok(())
    })();
    // Started again whatever happened, so the cluster is whole for what follows.
    nodes::sh(&ctx.env, 3, "docker start etcd >/dev/null")?;
    result?;

    println!("    node3's etcd started again: the change goes through");
    wait_three_healthy(ctx, 1)?;
    ctx.up_ok()?;
    for i in 1..=3 {
        let args = etcd_args(ctx, i)?;
        ensure!(
            args.contains(ETCD_FLAG),
            "node{i}'s etcd lacks {ETCD_FLAG}: {args}"
        );
    }
    wait_three_healthy(ctx, 1)?;
    println!("    check: every member runs with {ETCD_FLAG}; 3 of 3 healthy");
    Ok(())
}
