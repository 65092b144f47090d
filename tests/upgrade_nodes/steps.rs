//! The upgrade scenario's steps: a fresh cluster with a Deployment, an upgrade that stops at a
//! broken node, and the re-run that finishes it.

use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};

use super::api_watch::ApiWatch;
use super::cluster::{Ctx, eventually};
use super::nodes;
use super::watch::{NodeWatch, out_of_service};

const LAYOUT: [&str; 5] = [
    "1:etcd,controlplane,worker",
    "2:etcd,controlplane,worker",
    "3:etcd,worker",
    "4:worker",
    "5:worker",
];
const NAMES: [&str; 5] = ["node1", "node2", "node3", "node4", "node5"];
const KUBELET_CHANGE: &str = "max-pods=111";
const KUBELET_FLAG: &str = "--max-pods=111";
const PROXY_FLAG: &str = "--v=3";
const RETAG: &str = "v1.20.2-rke-retag";
const CORDONED_BY_RKE: &str = "rke.cattle.io/upgrade-cordoned";

fn image(ctx: &Ctx) -> anyhow::Result<String> {
    Ok(ctx.env["images"]["kubernetes"]
        .as_str()
        .context("env.json has no images.kubernetes")?
        .to_string())
}

/// The retagged copy of the environment's Kubernetes image.
fn retagged(ctx: &Ctx) -> anyhow::Result<String> {
    let img = image(ctx)?;
    let (repo, _) = img.rsplit_once(':').context("the image has no tag")?;
    Ok(format!("{repo}:{RETAG}"))
}

/// cluster.yml for the 5 nodes with `upgrade_strategy` (`drain: true`, with or without
/// `node_drain_input`); `upgraded` adds the kubelet and kube-proxy flags and the retagged image.
fn write_config(ctx: &Ctx, upgraded: bool, drain_input: bool) -> anyhow::Result<()> {
    let kubelet: &[&str] = if upgraded { &[KUBELET_CHANGE] } else { &[] };
    let mut yml = super::e2e::generated_cluster_yml(&LAYOUT, kubelet);
    if upgraded {
        let from = format!("kubernetes: \"{}\"", image(ctx)?);
        ensure!(
            yml.contains(&from),
            "the generated cluster.yml lacks {from}"
        );
        yml = yml.replace(&from, &format!("kubernetes: \"{}\"", retagged(ctx)?));
        let proxy = "      conntrack-max-per-core: \"0\"\n";
        ensure!(
            yml.contains(proxy),
            "the generated cluster.yml lacks {proxy}"
        );
        yml = yml.replace(proxy, &format!("{proxy}      v: \"3\"\n"));
    }
    yml.push_str("upgrade_strategy:\n  max_unavailable_worker: \"1\"\n  drain: true\n");
    if drain_input {
        yml.push_str(
            "  node_drain_input:\n    ignore_daemonsets: true\n    grace_period: 1\n    \
             timeout: 120\n",
        );
    }
    std::fs::write(ctx.config(), yml).context("writing cluster.yml")
}

fn inspect(ctx: &Ctx, i: usize, container: &str, format: &str) -> anyhow::Result<String> {
    Ok(nodes::sh(
        &ctx.env,
        i,
        &format!("docker inspect {container} --format '{format}'"),
    )?
    .trim()
    .to_string())
}

fn kubelet_image(ctx: &Ctx, i: usize) -> anyhow::Result<String> {
    inspect(ctx, i, "kubelet", "{{.Config.Image}}")
}

pub fn fresh_cluster_with_deployment(ctx: &mut Ctx) -> anyhow::Result<()> {
    write_config(ctx, false, false)?;
    ctx.up_ok()?;
    ctx.wait_nodes_ready(&NAMES, Duration::from_secs(300))?;
    let nginx = ctx.env["images"]["nginx"]
        .as_str()
        .context("env.json has no images.nginx")?;
    let manifest = format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web, namespace: default}}\n\
         spec:\n  replicas: 2\n  selector: {{matchLabels: {{app: web}}}}\n  template:\n    \
         metadata: {{labels: {{app: web}}}}\n    spec:\n      terminationGracePeriodSeconds: 1\n      \
         containers:\n      - name: nginx\n        image: {nginx}\n"
    );
    eventually("creating the Deployment", Duration::from_secs(90), || {
        ctx.kubectl_stdin(&["apply", "-f", "-"], &manifest)
    })?;
    ctx.kubectl(&["rollout", "status", "deployment/web", "--timeout=240s"])?;
    println!("    web pods on: {}", pod_nodes(ctx)?);
    Ok(())
}

fn pod_nodes(ctx: &Ctx) -> anyhow::Result<String> {
    Ok(ctx
        .kubectl(&[
            "get",
            "pods",
            "-l",
            "app=web",
            "-o",
            "jsonpath={range .items[*]}{.spec.nodeName} {end}",
        ])?
        .trim()
        .to_string())
}

/// The retagged image in the registry: `docker tag` + `docker push` on the host.
fn push_retag(ctx: &Ctx) -> anyhow::Result<()> {
    let state = ctx.env["state_dir"].as_str().context("no state_dir")?;
    let script = format!(
        "docker tag {src} {dst} && DOCKER_CONFIG={state}/docker-config docker push {dst}",
        src = image(ctx)?,
        dst = retagged(ctx)?
    );
    let out = std::process::Command::new("bash")
        .args(["-c", &script])
        .output()?;
    ensure!(
        out.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

/// rke's per-node rollout lines and the whole run's time.
fn print_timings(run: &super::cluster::RkeRun) {
    for line in run.stderr.lines() {
        if line.contains("worker components replaced") || line.contains("worker plane rolled") {
            println!("      {}", line.trim());
        }
    }
    println!("      whole run: {:.1}s", run.elapsed.as_secs_f64());
}

pub fn upgrade_stops_at_node4(ctx: &mut Ctx) -> anyhow::Result<()> {
    push_retag(ctx)?;
    write_config(ctx, true, false)?;
    println!("    check: the dry run says workers are cordoned and drained");
    let dry = ctx.dry_run(2)?;
    ensure!(
        dry.stdout.matches("cordon and drain").count() == 5,
        "want a cordon-and-drain line for each of the 5 workers: {}",
        dry.describe()
    );
    let new_image = retagged(ctx)?;
    let api = ApiWatch::start(ctx.kubectl.clone(), ctx.kubeconfig(), ctx.api_servers());
    let watch = NodeWatch::start(ctx.kubectl.clone(), ctx.kubeconfig(), 1);
    let excluded = watch.excluded.clone();
    let env = ctx.env.clone();
    let mut stopped_at = None;
    let started = Instant::now();
    let run = ctx.rke_up_during(&[], || {
        let probe = nodes::sh(
            &env,
            2,
            "docker inspect kubelet --format '{{.Config.Image}}' 2>/dev/null; true",
        );
        if probe.is_ok_and(|img| img.trim() == new_image) {
            excluded.lock().unwrap().push("node4".into());
            if let Err(e) = nodes::stop_engine(&env, 4) {
                eprintln!("stopping node4's engine: {e:#}");
            }
            stopped_at = Some(started.elapsed());
            return true;
        }
        false
    });
    let nodes_seen = watch.finish();
    let api_seen = api.finish();
    print_timings(&run);
    let stopped_at = stopped_at
        .with_context(|| format!("node2 never ran the new kubelet image: {}", run.describe()))?;
    println!(
        "    node4's engine stopped {:.1}s into the run",
        stopped_at.as_secs_f64()
    );
    println!("    check: rke up fails at node4 and reports updated / not updated nodes");
    ensure!(
        matches!(run.code, Some(c) if c != 0),
        "rke up with node4's engine down: {}",
        run.describe()
    );
    for want in [
        "rollout stopped at node4",
        "updated: node1, node2, node3;",
        "not updated: node4, node5",
    ] {
        ensure!(
            run.stderr.contains(want),
            "the error lacks `{want}`: {}",
            run.describe()
        );
    }
    println!("    check: nodes 1-3 on the new kubelet image and flag, node5 on the old");
    for i in 1..=3 {
        ensure!(kubelet_image(ctx, i)? == new_image, "node{i}: old kubelet");
        let args = inspect(ctx, i, "kubelet", "{{json .Args}}")?;
        ensure!(args.contains(KUBELET_FLAG), "node{i}: kubelet args {args}");
    }
    let node5 = kubelet_image(ctx, 5)?;
    ensure!(node5 == image(ctx)?, "node5's kubelet changed: {node5}");
    let args = inspect(ctx, 5, "kubelet", "{{json .Args}}")?;
    ensure!(
        !args.contains(KUBELET_FLAG),
        "node5's kubelet changed: {args}"
    );
    let proxy = inspect(ctx, 5, "kube-proxy", "{{json .Args}}")?;
    ensure!(
        !proxy.contains(PROXY_FLAG),
        "node5's kube-proxy changed: {proxy}"
    );

    println!(
        "    check: at most 1 worker out of service at {} polls (seen out: {:?})",
        nodes_seen.polls, nodes_seen.ever_out
    );
    ensure!(
        nodes_seen.polls > 0 && nodes_seen.over_limit.is_empty(),
        "more than one worker cordoned or NotReady at once:\n{}",
        nodes_seen.over_limit.join("\n")
    );
    for n in ["node1", "node2", "node3"] {
        ensure!(
            nodes_seen.ever_out.iter().any(|o| o == n),
            "{n} was never seen cordoned: the watch missed the rollout ({:?})",
            nodes_seen.ever_out
        );
    }
    println!(
        "    check: an API server answered at every one of {} polls",
        api_seen.ticks
    );
    for (server, failed) in &api_seen.endpoint_failures {
        println!("      {server}: {failed} polls unanswered");
    }
    ensure!(
        api_seen.ticks > 0 && api_seen.outages.is_empty(),
        "no API server answered at:\n{}",
        api_seen.outages.join("\n")
    );
    Ok(())
}

fn annotated_or_cordoned(ctx: &Ctx) -> anyhow::Result<Vec<String>> {
    let list: serde_json::Value =
        serde_json::from_str(&ctx.kubectl(&["get", "nodes", "-o", "json"])?)?;
    let mut found: Vec<String> = out_of_service(&list)
        .into_iter()
        .map(|(n, why)| format!("{n} {why}"))
        .collect();
    for n in list["items"].as_array().into_iter().flatten() {
        if !n["metadata"]["annotations"][CORDONED_BY_RKE].is_null() {
            found.push(format!(
                "{} annotated",
                n["metadata"]["name"].as_str().unwrap_or("?")
            ));
        }
    }
    Ok(found)
}

pub fn rerun_finishes_rollout(ctx: &mut Ctx) -> anyhow::Result<()> {
    nodes::start_engine(&ctx.env, 4)?;
    write_config(ctx, true, true)?;
    // What a failed run may leave: rke's cordon on node3 (already updated), which the re-run
    // must lift; and a user's cordon on node5, which it must keep.
    ctx.kubectl(&["cordon", "node3"])?;
    ctx.kubectl(&[
        "annotate",
        "node",
        "node3",
        &format!("{CORDONED_BY_RKE}=true"),
    ])?;
    ctx.kubectl(&["cordon", "node5"])?;
    let run = ctx.up_ok()?;
    print_timings(&run);
    println!("    check: every node on the new image and flags");
    let new_image = retagged(ctx)?;
    for i in 1..=5 {
        ensure!(kubelet_image(ctx, i)? == new_image, "node{i}: old kubelet");
        let args = inspect(ctx, i, "kubelet", "{{json .Args}}")?;
        ensure!(args.contains(KUBELET_FLAG), "node{i}: kubelet args {args}");
        let proxy = inspect(ctx, i, "kube-proxy", "{{json .Args}}")?;
        ensure!(
            proxy.contains(PROXY_FLAG),
            "node{i}: kube-proxy args {proxy}"
        );
    }
    println!("    check: node3's left-over cordon lifted, the user's cordon on node5 kept");
    ctx.wait_nodes_ready(&NAMES, Duration::from_secs(120))?;
    let left = annotated_or_cordoned(ctx)?;
    ensure!(
        left == ["node5 cordoned"],
        "after the re-run, want only node5 (the user's) cordoned: {left:?}"
    );
    ctx.kubectl(&["uncordon", "node5"])?;
    let left = annotated_or_cordoned(ctx)?;
    ensure!(left.is_empty(), "still cordoned or annotated: {left:?}");
    println!("    check: the Deployment is available");
    ctx.kubectl(&["rollout", "status", "deployment/web", "--timeout=180s"])?;
    println!("    web pods on: {}", pod_nodes(ctx)?);

    println!("    check: a third run changes nothing (dry run exit 0, same containers)");
    ctx.dry_run(0)?;
    let before: Vec<_> = (1..=5)
        .map(|i| nodes::rke_containers(&ctx.env, i))
        .collect::<anyhow::Result<_>>()?;
    ctx.up_ok()?;
    let after: Vec<_> = (1..=5)
        .map(|i| nodes::rke_containers(&ctx.env, i))
        .collect::<anyhow::Result<_>>()?;
    if before != after {
        bail!("the third run changed containers:\nbefore {before:?}\nafter {after:?}");
    }
    Ok(())
}
