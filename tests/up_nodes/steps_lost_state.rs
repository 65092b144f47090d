//! A lost state file never re-keys a running cluster: `rke up` without `cluster.rkestate`
//! recovers the state from the cluster and replaces nothing; when no state can be recovered
//! (API server down, no snapshot agent copy) it refuses and touches nothing.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, ensure};
use serde_json::Value;

use super::cluster::{Ctx, eventually};
use super::nodes;

const AGENT_STATE: &str = "/etc/kubernetes/snapshot-agent/cluster.rkestate";
const PARKED: &str = "/etc/kubernetes/snapshot-agent/cluster.rkestate.parked-by-test";

fn containers(ctx: &Ctx) -> anyhow::Result<BTreeMap<usize, BTreeMap<String, String>>> {
    (1..=3)
        .map(|i| Ok((i, nodes::rke_containers(&ctx.env, i)?)))
        .collect()
}

/// The CA certificate a state file records (currentState's bundle).
fn state_ca(path: &std::path::Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {path:?}"))?;
    let v: Value = serde_json::from_str(&text)?;
    v["currentState"]["certificatesBundle"]["kube-ca"]["certificatePEM"]
        .as_str()
        .map(str::to_string)
        .context("the state has no currentState kube-ca")
}

fn node_ca(ctx: &Ctx, i: usize) -> anyhow::Result<String> {
    nodes::sh(&ctx.env, i, "cat /etc/kubernetes/ssl/kube-ca.pem")
}

fn remove_state(ctx: &Ctx) -> anyhow::Result<()> {
    let state = ctx.state_file();
    let bak = state.with_file_name("cluster.rkestate.bak");
    for f in [&state, &bak] {
        if f.exists() {
            std::fs::remove_file(f).with_context(|| format!("removing {f:?}"))?;
        }
    }
    Ok(())
}

/// Delete the state file and its backup of the running cluster; `rke up` finds the state in
/// the cluster, writes it, and converges with the same CA and every container kept.
pub fn lost_state_is_recovered(ctx: &mut Ctx) -> anyhow::Result<()> {
    let ca_before = state_ca(&ctx.state_file())?;
    let node_ca_before = node_ca(ctx, 1)?;
    let before = containers(ctx)?;
    remove_state(ctx)?;
    println!("    cluster.rkestate and cluster.rkestate.bak deleted; rke up");
    let run = ctx.rke_up(&[]);
    ensure!(run.code == Some(0), "rke up: {}", run.describe());
    ensure!(
        run.stderr.contains(
            "recovered the running cluster's state from Secret kube-system/full-cluster-state"
        ),
        "rke up did not say it recovered the state: {}",
        run.describe()
    );
    println!(
        "    check: the recovered state file holds the same CA; node1's kube-ca.pem unchanged"
    );
    ensure!(
        state_ca(&ctx.state_file())? == ca_before,
        "the recovered state has another CA"
    );
    ensure!(node_ca(ctx, 1)? == node_ca_before, "node1's CA changed");
    println!("    check: every rke container on node1..3 has the same ID as before");
    let after = containers(ctx)?;
    for (i, was) in &before {
        ensure!(
            *was == after[i],
            "node{i}: containers changed\nbefore: {was:#?}\nafter: {:#?}",
            after[i]
        );
        println!("      node{i}: {} containers unchanged", was.len());
    }
    ctx.kubectl(&["get", "nodes"])
        .context("the rewritten kubeconfig works")?;
    Ok(())
}

/// With the API servers stopped and the snapshot agent's copies moved away, nothing holds a
/// recoverable state: `rke up` refuses (exit 11) naming the nodes and the recovery commands,
/// and changes nothing. Everything is put back afterwards, whatever happened.
pub fn unrecoverable_state_is_refused(ctx: &mut Ctx) -> anyhow::Result<()> {
    let saved = std::fs::read(ctx.state_file()).context("reading the state file")?;
    let result = refused_while_broken(ctx);
    let restored = restore(ctx, &saved);
    match (result, restored) {
        (Err(e), Err(r)) => Err(e.context(format!("and putting the cluster back failed: {r:#}"))),
        (result, restored) => result.and(restored),
    }
}

fn refused_while_broken(ctx: &Ctx) -> anyhow::Result<()> {
    for i in 1..=3 {
        nodes::sh(
            &ctx.env,
            i,
            &format!("[ ! -e {AGENT_STATE} ] || mv {AGENT_STATE} {PARKED}"),
        )?;
    }
    for i in [1, 2] {
        nodes::sh(&ctx.env, i, "docker stop kube-apiserver >/dev/null")?;
    }
    let before = containers(ctx)?;
    remove_state(ctx)?;
    println!("    API servers stopped, agent state copies moved away, state file deleted; rke up");
    let run = ctx.rke_up(&[]);
    ensure!(run.code == Some(11), "want exit 11: {}", run.describe());
    for want in [
        "there is no cluster state in",
        "node1: containers",
        "node3: containers",
        "kube-ca.pem (kube-ca sha256:",
        "rke util get-state-file",
        "rke etcd snapshot-restore --name NAME",
        "--new-cluster-over-existing-data",
    ] {
        ensure!(
            run.stderr.contains(want),
            "the refusal lacks {want:?}: {}",
            run.describe()
        );
    }
    println!("    check: no state file written, every container as it was (same IDs)");
    ensure!(
        !ctx.state_file().exists(),
        "a refused run wrote {:?}",
        ctx.state_file()
    );
    let after = containers(ctx)?;
    ensure!(
        before == after,
        "containers changed: {before:#?} -> {after:#?}"
    );
    for i in [1, 2] {
        ensure!(
            !nodes::running(&ctx.env, i, "kube-apiserver")?,
            "node{i}: the refused run started kube-apiserver"
        );
    }
    Ok(())
}

fn restore(ctx: &Ctx, state: &[u8]) -> anyhow::Result<()> {
    std::fs::write(ctx.state_file(), state).context("restoring the state file")?;
    for i in 1..=3 {
        nodes::sh(
            &ctx.env,
            i,
            &format!("[ ! -e {PARKED} ] || mv {PARKED} {AGENT_STATE}"),
        )?;
    }
    for i in [1, 2] {
        nodes::sh(&ctx.env, i, "docker start kube-apiserver >/dev/null")?;
    }
    eventually("the API answers again", Duration::from_secs(120), || {
        ctx.kubectl(&["get", "nodes"])
    })?;
    Ok(())
}
