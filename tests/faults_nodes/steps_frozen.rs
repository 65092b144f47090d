//! A node whose machine freezes in the middle of `rke up` (its container paused: no process on
//! it runs, its TCP connections stay open and silent) is reported within a bounded time,
//! naming it; once it runs again, a re-run converges.

use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};

use super::cluster::Ctx;
use super::steps::names;
use super::steps_etcd::write_config_with_etcd_flag;
use super::{e2e, nodes};

/// A kubelet change: every node's kubelet is replaced, node1 and node2 before node3 (etcd
/// and worker nodes roll one at a time, in `nodes:` order).
const KUBELET_CHANGE: &str = "max-pods=112";
const KUBELET_FLAG: &str = "--max-pods=112";
/// How long after the freeze rke must have given up: SSH keepalives (15 s, 4 missed) end a
/// silent connection after about 60 s; the rest is the health timeout of 30 s and margin.
const BOUND: Duration = Duration::from_secs(240);

/// rke's cluster lock expires this long after its holder's last refresh (src/lock), plus margin.
const LOCK_STALE: Duration = Duration::from_secs(35);

fn docker_host(args: &[&str]) -> anyhow::Result<()> {
    let out = std::process::Command::new("docker")
        .args(args)
        .output()
        .context("running docker on the host")?;
    ensure!(
        out.status.success(),
        "docker {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr).trim()
    );
    Ok(())
}

/// Undo a freeze left by a failed run of this step (before the scenario's cleanup).
pub fn unfreeze(env: &serde_json::Value) {
    let _ = docker_host(&["unpause", &e2e::node_container(env, 3)]);
}

fn kubelet_id(ctx: &Ctx, i: usize) -> anyhow::Result<String> {
    nodes::sh(&ctx.env, i, "docker inspect kubelet --format '{{.Id}}'")
}

pub fn frozen_node_mid_run(ctx: &mut Ctx) -> anyhow::Result<()> {
    println!(
        "    a converged cluster, then a kubelet change; node3 frozen once node1's kubelet is replaced"
    );
    write_config_with_etcd_flag(ctx, &[])?;
    ctx.up_ok()?;
    write_config_with_etcd_flag(ctx, &[KUBELET_CHANGE])?;
    let old = kubelet_id(ctx, 1)?;
    let env = ctx.env.clone();
    let node3 = e2e::node_container(&env, 3);
    let mut frozen: Option<anyhow::Result<Instant>> = None;
    let run = ctx.rke_up_during(&["--output", "json", "--health-timeout", "30"], || {
        let now = nodes::sh(&env, 1, "docker inspect kubelet --format '{{.Id}}'");
        if now.ok().as_ref() == Some(&old) {
            return false;
        }
        frozen = Some(docker_host(&["pause", &node3]).map(|()| Instant::now()));
        true
    });
    let ended = Instant::now();
    // While node3 is still frozen: the others are left consistent.
    let others = if frozen.is_some() {
        let checked = others_consistent(ctx);
        docker_host(&["unpause", &node3])?;
        Some(checked)
    } else {
        None
    };
    let frozen_at = match frozen {
        None => bail!(
            "rke finished before node1's kubelet was replaced: {}",
            run.describe()
        ),
        Some(r) => r.context("pausing node3's container")?,
    };
    let took = ended.duration_since(frozen_at);
    ensure!(
        run.code.is_some_and(|c| c != 0),
        "rke up did not fail with node3 frozen: {}",
        run.describe()
    );
    names(&run, "node3")?;
    // Not only in a list of nodes not updated: the error says node3 stopped answering.
    names(&run, "node node3 no longer answers over SSH")?;
    ensure!(
        took <= BOUND,
        "rke up took {:.0}s after node3 froze (bound {}s): {}",
        took.as_secs_f64(),
        BOUND.as_secs(),
        run.describe()
    );
    println!(
        "    check: exit {:?} {:.0}s after the freeze (bound {}s), the error names node3",
        run.code,
        took.as_secs_f64(),
        BOUND.as_secs()
    );
    println!(
        "      error: {}",
        run.stderr
            .lines()
            .rev()
            .find(|l| l.starts_with("error:"))
            .unwrap_or("")
    );
    if let Some(checked) = others {
        checked?;
    }
    println!("    check: node1 and node2 consistent (components running, no old-*)");

    println!("    node3 running again: rke up converges");
    // The failed run could not release its lock on frozen node3; it is stale 30 s after its
    // last refresh, which was before the freeze.
    let stale = frozen_at + LOCK_STALE;
    if let Some(wait) = stale.checked_duration_since(Instant::now()) {
        std::thread::sleep(wait);
    }
    ctx.up_ok()?;
    for i in 1..=3 {
        let args = nodes::sh(
            &ctx.env,
            i,
            "docker inspect kubelet --format '{{json .Args}}'",
        )?;
        ensure!(
            args.contains(KUBELET_FLAG),
            "node{i}'s kubelet lacks {KUBELET_FLAG}: {args}"
        );
    }
    ctx.wait_nodes_ready(&["node1", "node2", "node3"], Duration::from_secs(180))?;
    println!("    check: every kubelet has {KUBELET_FLAG}; node1..3 Ready");
    Ok(())
}

/// Nodes 1 and 2 after the failed run: every component of their roles runs, no container is
/// left half replaced (`old-*`).
fn others_consistent(ctx: &Ctx) -> anyhow::Result<()> {
    for i in 1..=2 {
        let listed = nodes::sh(
            &ctx.env,
            i,
            "docker ps -a --filter label=io.rancher.rke.container.name --format '{{.Names}} {{.State}}'",
        )?;
        ensure!(
            !listed.lines().any(|l| l.starts_with("old-")),
            "node{i} has a half-replaced container: {listed}"
        );
        for name in ["etcd", "kube-apiserver", "kubelet", "kube-proxy"] {
            ensure!(
                listed.lines().any(|l| l == format!("{name} running")),
                "node{i}: {name} is not running after the failed run: {listed}"
            );
        }
    }
    // Not the API's /readyz: its etcd check fails while one member is frozen, though the
    // API server still serves through the other two.
    Ok(())
}
