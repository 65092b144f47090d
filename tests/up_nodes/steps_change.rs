//! Steps that change the cluster: add a worker, remove an etcd+worker node (with the API
//! watched throughout both), and a run that fails on one node, then recovers.

use std::time::Duration;

use anyhow::{Context, ensure};
use rke::config::RkeConfig;

use super::api_watch::ApiWatch;
use super::cluster::Ctx;
use super::nodes;

const ALL_ROLES_1: &str = "1:etcd,controlplane,worker";
const ALL_ROLES_2: &str = "2:etcd,controlplane,worker";
/// Words naming rke's steps; a failure message must contain one of them.
const STEP_WORDS: [&str; 7] = [
    "connect",
    "etcd plane",
    "control plane",
    "worker plane",
    "files",
    "images",
    "health",
];

fn control_plane_servers(ctx: &Ctx) -> Vec<String> {
    [0, 1]
        .iter()
        .map(|&i| {
            format!(
                "https://{}:6443",
                ctx.env["nodes"][i]["address"].as_str().unwrap_or_default()
            )
        })
        .collect()
}

/// Dry run first (exit 2, names node4), then node4 joins as a worker and goes Ready.
/// Starts the API watch that `remove_node3` checks.
pub fn add_worker_node4(ctx: &mut Ctx) -> anyhow::Result<()> {
    let servers = control_plane_servers(ctx);
    println!("    watching /healthz on {servers:?} every 0.5 s");
    ctx.api_watch = Some(ApiWatch::start(
        ctx.kubectl.clone(),
        ctx.kubeconfig(),
        servers,
    ));
    ctx.write_config(
        &[ALL_ROLES_1, ALL_ROLES_2, "3:etcd,worker", "4:worker"],
        &[],
    )?;
    println!("    check: rke up --dry-run exits 2 and mentions node4");
    let dry = ctx.dry_run(2)?;
    ensure!(
        dry.stdout.contains("node4"),
        "the dry run does not mention node4: {}",
        dry.describe()
    );
    nodes::install_cni(&ctx.env, 4)?;
    ctx.up_ok()?;
    println!("    check: node4 Ready next to node1..3");
    ctx.wait_nodes_ready(
        &["node1", "node2", "node3", "node4"],
        Duration::from_secs(300),
    )?;
    for c in ["kubelet", "kube-proxy", "nginx-proxy"] {
        ensure!(nodes::running(&ctx.env, 4, c)?, "node4 runs no {c}");
    }
    Ok(())
}

/// node3 leaves: its etcd member, its Kubernetes node, its containers and RKE1's directories
/// go; the API answered all along (since `add_worker_node4` started watching).
pub fn remove_node3(ctx: &mut Ctx) -> anyhow::Result<()> {
    ctx.write_config(&[ALL_ROLES_1, ALL_ROLES_2, "4:worker"], &[])?;
    let dry = ctx.dry_run(2)?;
    ensure!(
        dry.stdout.contains("node3"),
        "the dry run does not mention node3: {}",
        dry.describe()
    );
    let up = ctx.up_ok();
    let report = ctx
        .api_watch
        .take()
        .context("the API watch was not started")?
        .finish();
    up?;
    println!(
        "    check: the API answered on every one of {} polls during both changes",
        report.ticks
    );
    for (server, failed) in &report.endpoint_failures {
        println!("      {server}: {failed} polls unanswered (the other one answered)");
    }
    ensure!(
        report.ticks > 0 && report.outages.is_empty(),
        "no control-plane node answered /healthz at {} of {} polls:\n{}",
        report.outages.len(),
        report.ticks,
        report.outages.join("\n")
    );
    println!("    check: etcd has 2 members, both healthy");
    let members = nodes::etcd_members(&ctx.env, 1)?;
    ensure!(
        members.len() == 2,
        "etcd members after removing node3: {members:?}"
    );
    let healthy = nodes::etcd_healthy(&ctx.env, 1)?;
    ensure!(healthy == 2, "{healthy} of 2 etcd members healthy");
    println!("    check: kubectl get nodes lists node1, node2, node4 only");
    ctx.wait_nodes_ready(&["node1", "node2", "node4"], Duration::from_secs(60))?;
    println!("    check: no rke container and empty RKE directories on node3");
    let left = nodes::rke_containers(&ctx.env, 3)?;
    ensure!(left.is_empty(), "rke containers left on node3: {left:?}");
    let dirs = nodes::non_empty_dirs(&ctx.env, 3)?;
    ensure!(dirs.is_empty(), "not emptied on node3: {}", dirs.join("; "));
    Ok(())
}

/// A change for every node (a kubelet flag) while node2's engine is down: rke fails naming
/// node2 and the step, the state file still parses; with the engine back a re-run converges.
pub fn failed_run_then_recovery(ctx: &mut Ctx) -> anyhow::Result<()> {
    let nodes_spec = [ALL_ROLES_1, ALL_ROLES_2, "4:worker"];
    ctx.write_config(&nodes_spec, &["max-pods=111"])?;
    println!("    node2's Docker engine stopped; cluster.yml adds kubelet max-pods=111");
    nodes::stop_engine(&ctx.env, 2)?;
    let run = ctx.rke_up(&[]);
    let state = rke::state::load::<RkeConfig>(&ctx.state_file());
    // Bring the engine back before judging, so a failed check leaves a working node.
    let restarted = nodes::start_engine(&ctx.env, 2);
    println!("    check: non-zero exit; the message names node2 and a step");
    ensure!(
        matches!(run.code, Some(c) if c != 0),
        "rke up with node2's engine down: {}",
        run.describe()
    );
    let said = format!("{}\n{}", run.stdout, run.stderr);
    ensure!(
        said.contains("node2") || said.contains("10.77.0.12"),
        "the error does not name node2: {}",
        run.describe()
    );
    let step = STEP_WORDS.iter().find(|w| said.contains(*w));
    ensure!(
        step.is_some(),
        "the error names no step: {}",
        run.describe()
    );
    let error_line = run
        .stderr
        .lines()
        .rev()
        .find(|l| l.contains("node2") || l.contains("10.77.0.12"))
        .unwrap_or_default();
    println!("      {}", error_line.trim());
    println!("    check: the state file parses after the failure");
    let state = state.context("loading cluster.rkestate after the failed run")?;
    ensure!(state.is_some(), "no state file after the failed run");
    restarted?;
    println!("    check: with the engine back, rke up succeeds and a dry run is clean");
    ctx.up_ok()?;
    ctx.dry_run(0)?;
    for i in [1, 2, 4] {
        let args = nodes::sh(
            &ctx.env,
            i,
            "docker inspect kubelet --format '{{json .Args}}'",
        )?;
        ensure!(
            args.contains("--max-pods=111"),
            "node{i}'s kubelet lacks --max-pods=111: {args}"
        );
    }
    ctx.wait_nodes_ready(&["node1", "node2", "node4"], Duration::from_secs(180))?;
    Ok(())
}
