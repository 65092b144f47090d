//! Scenario steps that more than one scenario runs (up_nodes, cri_dockerd_nodes): checks that
//! hold for any cluster rke brought up.

use std::collections::BTreeMap;

use anyhow::{Context, ensure};

use super::cluster::Ctx;
use super::nodes;

fn snapshot(
    ctx: &Ctx,
    node_ids: &[usize],
) -> anyhow::Result<BTreeMap<usize, BTreeMap<String, String>>> {
    node_ids
        .iter()
        .map(|&i| Ok((i, nodes::rke_containers(&ctx.env, i)?)))
        .collect()
}

/// `rke up` again without a change recreates nothing, and a dry run reports nothing to do.
pub fn rerun_changes_nothing(ctx: &mut Ctx) -> anyhow::Result<()> {
    let before = snapshot(ctx, &[1, 2, 3])?;
    for (i, containers) in &before {
        ensure!(!containers.is_empty(), "node{i} has no rke containers");
    }
    ctx.up_ok()?;
    println!("    check: every rke container on node1..3 has the same ID as before");
    let after = snapshot(ctx, &[1, 2, 3])?;
    for (i, was) in &before {
        let now = &after[i];
        ensure!(
            was == now,
            "node{i}: containers changed on a no-op run\nbefore: {was:#?}\nafter: {now:#?}"
        );
        println!("      node{i}: {} containers unchanged", was.len());
    }
    println!("    check: rke up --dry-run reports no change (exit 0)");
    ctx.dry_run(0)?;
    Ok(())
}

/// No container on any node carries private key material in its configuration (env,
/// command, labels...): rke must hand keys over as files only.
pub fn no_private_keys_in_containers(ctx: &mut Ctx) -> anyhow::Result<()> {
    let mut bad = Vec::new();
    let mut total = 0;
    for i in 1..=nodes::node_count(&ctx.env) {
        let hits = nodes::containers_with_private_keys(&ctx.env, i)
            .with_context(|| format!("inspecting node{i}'s containers"))?;
        total += 1;
        if !hits.is_empty() {
            bad.push(format!("node{i}: {hits:?}"));
        }
    }
    println!("    check: no `PRIVATE KEY` in docker inspect of any container on {total} nodes");
    ensure!(
        bad.is_empty(),
        "private key material in: {}",
        bad.join("; ")
    );
    Ok(())
}
