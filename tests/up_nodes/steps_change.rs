//! Steps that change the cluster: add a worker, remove an etcd+worker node (with the API
//! watched throughout both), and a run that fails on one node, then recovers.

use std::time::Duration;

use anyhow::{Context, bail, ensure};
use rke::config::RkeConfig;

use super::api_watch::ApiWatch;
use super::cluster::{Ctx, RkeRun};
use super::nodes;

const ALL_ROLES_1: &str = "1:etcd,controlplane,worker";
const ALL_ROLES_2: &str = "2:etcd,controlplane,worker";
/// How rke's error lines name its steps. The connect phase names itself by its summary
/// ("N of the nodes could not be used"); the others by their labels.
const STEP_WORDS: [&str; 7] = [
    "could not be used",
    "etcd plane",
    "control plane",
    "worker plane",
    "files",
    "images",
    "health",
];

/// Dry run first (exit 2, names node4), then node4 joins as a worker and goes Ready.
/// Starts the API watch that `remove_node3` checks.
pub fn add_worker_node4(ctx: &mut Ctx) -> anyhow::Result<()> {
    let servers = ctx.api_servers();
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
/// go. Stops the API watch `add_worker_node4` started (`api_answered_throughout` judges it).
pub fn remove_node3(ctx: &mut Ctx) -> anyhow::Result<()> {
    ctx.write_config(&[ALL_ROLES_1, ALL_ROLES_2, "4:worker"], &[])?;
    let dry = ctx.dry_run(2)?;
    ensure!(
        dry.stdout.contains("node3"),
        "the dry run does not mention node3: {}",
        dry.describe()
    );
    let up = ctx.up_ok();
    ctx.api_report = Some(
        ctx.api_watch
            .take()
            .context("the API watch was not started")?
            .finish(),
    );
    up?;
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

/// At every poll while node4 was added and node3 removed, at least one control-plane node's
/// API server answered /healthz "ok".
pub fn api_answered_throughout(ctx: &mut Ctx) -> anyhow::Result<()> {
    let report = ctx
        .api_report
        .take()
        .context("no API watch report (adding or removing a node failed)")?;
    println!(
        "    check: the API answered on every one of {} polls during both changes",
        report.ticks
    );
    for (server, failed) in &report.endpoint_failures {
        println!("      {server}: {failed} polls unanswered");
    }
    ensure!(
        report.ticks > 0 && report.outages.is_empty(),
        "no control-plane node answered /healthz at {} of {} polls:\n{}",
        report.outages.len(),
        report.ticks,
        report.outages.join("\n")
    );
    Ok(())
}

/// The change the failure steps make: a kubelet flag, so every node's kubelet is replaced.
const KUBELET_CHANGE: &str = "max-pods=111";
const KUBELET_FLAG: &str = "--max-pods=111";
const REMAINING: [&str; 3] = [ALL_ROLES_1, ALL_ROLES_2, "4:worker"];

/// Checks every failed run must pass: a non-zero exit, a message naming node2 and a step,
/// and a state file that still parses.
fn check_failure(ctx: &Ctx, run: &RkeRun, state: anyhow::Result<bool>) -> anyhow::Result<()> {
    println!("    check: non-zero exit; the message names node2 and a step");
    ensure!(
        matches!(run.code, Some(c) if c != 0),
        "rke up with node2's engine down: {}",
        run.describe()
    );
    // Only the error lines count: progress lines name every step that went well.
    let errors: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("error") || l.contains("ERROR"))
        .collect();
    let said = errors.join("\n");
    let names_node2 = |l: &str| l.contains("node2") || l.contains("10.77.0.12");
    ensure!(
        names_node2(&said),
        "the error does not name node2: {}",
        run.describe()
    );
    let steps: Vec<&str> = STEP_WORDS
        .into_iter()
        .filter(|w| said.contains(w))
        .collect();
    ensure!(
        !steps.is_empty(),
        "the error names no step: {}",
        run.describe()
    );
    for line in &errors {
        println!("      | {}", line.trim());
    }
    println!("      steps named: {steps:?}");
    println!("    check: the state file parses after the failure");
    ensure!(
        state.context("loading cluster.rkestate after the failed run")?,
        "no state file after the failed run at {}",
        ctx.state_file().display()
    );
    Ok(())
}

fn load_state(ctx: &Ctx) -> anyhow::Result<bool> {
    Ok(rke::state::load::<RkeConfig>(&ctx.state_file())?.is_some())
}

fn kubelet_args(ctx: &Ctx, i: usize) -> anyhow::Result<String> {
    nodes::sh(
        &ctx.env,
        i,
        "docker inspect kubelet --format '{{json .Args}}'",
    )
}

/// With node2's engine down from the start, a change for every node fails before touching
/// any: rke names node2, nothing is replaced anywhere, the state file parses.
pub fn engine_down_before_the_run(ctx: &mut Ctx) -> anyhow::Result<()> {
    ctx.write_config(&REMAINING, &[KUBELET_CHANGE])?;
    println!("    cluster.yml adds kubelet {KUBELET_CHANGE}; node2's Docker engine stopped");
    let before = [
        nodes::rke_containers(&ctx.env, 1)?,
        nodes::rke_containers(&ctx.env, 4)?,
    ];
    nodes::stop_engine(&ctx.env, 2)?;
    let run = ctx.rke_up(&[]);
    let state = load_state(ctx);
    // Bring the engine back before judging, so a failed check leaves a working node.
    nodes::start_engine(&ctx.env, 2)?;
    check_failure(ctx, &run, state)?;
    println!("    check: no container was replaced on node1 or node4");
    let after = [
        nodes::rke_containers(&ctx.env, 1)?,
        nodes::rke_containers(&ctx.env, 4)?,
    ];
    ensure!(
        before == after,
        "containers changed: {before:#?} -> {after:#?}"
    );
    Ok(())
}

/// node2's engine stops in the middle of a run, once node1's kubelet has been replaced
/// (workers roll one at a time: node1, node2, node4): rke fails naming node2 and the step,
/// node1 keeps its update, node4 was never reached, the state file parses; with the engine
/// back a re-run converges and a dry run is clean. (Whether node2's own kubelet got replaced
/// depends on rke reusing an engine connection opened before the stop, so it is not judged.)
pub fn engine_stops_halfway_then_recovery(ctx: &mut Ctx) -> anyhow::Result<()> {
    ctx.write_config(&REMAINING, &[KUBELET_CHANGE])?;
    let old_kubelet = nodes::sh(&ctx.env, 1, "docker inspect kubelet --format '{{.Id}}'")?;
    println!("    stopping node2's engine as soon as node1's kubelet is replaced");
    let env = ctx.env.clone();
    let mut stopped = None;
    // A short health timeout: node2's kubelet cannot become healthy without its engine.
    let run = ctx.rke_up_during(&["--health-timeout", "30"], || {
        let now = nodes::sh(&env, 1, "docker inspect kubelet --format '{{.Id}}'");
        if now.ok().as_ref() == Some(&old_kubelet) {
            return false;
        }
        stopped = Some(nodes::stop_engine(&env, 2));
        true
    });
    let state = load_state(ctx);
    if stopped.is_some() {
        nodes::start_engine(&ctx.env, 2)?;
    }
    match stopped {
        None => bail!(
            "rke finished before node1's kubelet was replaced: {}",
            run.describe()
        ),
        Some(r) => r.context("stopping node2's engine")?,
    }
    check_failure(ctx, &run, state)?;
    println!("    check: node1's kubelet has {KUBELET_FLAG}, node4's not yet (halfway)");
    ensure!(
        kubelet_args(ctx, 1)?.contains(KUBELET_FLAG),
        "node1's kubelet was not updated"
    );
    ensure!(
        !kubelet_args(ctx, 4)?.contains(KUBELET_FLAG),
        "node4's kubelet was updated although the run stopped at node2"
    );
    println!("    check: with the engine back, rke up succeeds and a dry run is clean");
    ctx.up_ok()?;
    ctx.dry_run(0)?;
    for i in [1, 2, 4] {
        let args = kubelet_args(ctx, i)?;
        ensure!(
            args.contains(KUBELET_FLAG),
            "node{i}'s kubelet lacks {KUBELET_FLAG}: {args}"
        );
    }
    ctx.wait_nodes_ready(&["node1", "node2", "node4"], Duration::from_secs(180))?;
    Ok(())
}
