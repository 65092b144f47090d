//! The takeover scenario's steps. What RKE1 left (certificates, etcd members, the workload's
//! containers) is recorded in `before.json` and the dry run's list in `dry-run.json` in the
//! scenario's directory, so later steps compare against them.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use serde_json::{Value, json};

use super::api_watch::ApiWatch;
use super::cluster::{Ctx, eventually};
use super::{nodes, rke1, steps_addons};

const WORKLOAD: &str = "takeover-web";
pub const CONFIG_MAP: &str = "takeover-data";
pub const SNAPSHOT: &str = "rke1-takeover";

fn node_names(ctx: &Ctx) -> Vec<String> {
    super::e2e::node_addresses(&ctx.env)
        .into_iter()
        .take(3)
        .collect()
}

pub fn wait_ready(ctx: &Ctx) -> anyhow::Result<()> {
    let names = node_names(ctx);
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    ctx.wait_nodes_ready(&names, Duration::from_secs(240))
}

/// Everything the takeover must keep: the certificates in the state file, the `.pem` files in
/// `/etc/kubernetes/ssl` on each node, the etcd member IDs, the ConfigMap's data and the
/// workload's container on each node.
fn facts(ctx: &Ctx) -> anyhow::Result<Value> {
    let state: Value = serde_json::from_str(&std::fs::read_to_string(ctx.state_file())?)
        .context("reading cluster.rkestate")?;
    let certs: BTreeMap<String, String> = state["currentState"]["certificatesBundle"]
        .as_object()
        .context("the state file has no currentState.certificatesBundle")?
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                v["certificatePEM"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let mut pem_files = BTreeMap::new();
    let mut workload = BTreeMap::new();
    for i in 1..=3 {
        pem_files.insert(
            format!("node{i}"),
            nodes::sh(&ctx.env, i, "cd /etc/kubernetes/ssl && sha256sum *.pem")?,
        );
        workload.insert(
            format!("node{i}"),
            nodes::sh(
                &ctx.env,
                i,
                &format!("docker ps -q --no-trunc --filter name=^/k8s_web_{WORKLOAD}-"),
            )?
            .trim()
            .to_string(),
        );
    }
    let members: Value = serde_json::from_str(&nodes::etcdctl(&ctx.env, 1, "member list -w json")?)
        .context("etcdctl member list")?;
    let mut member_ids: Vec<String> = members["members"]
        .as_array()
        .context("no etcd members")?
        .iter()
        .map(|m| m["ID"].to_string())
        .collect();
    member_ids.sort();
    let data = ctx.kubectl(&["get", "configmap", CONFIG_MAP, "-o", "jsonpath={.data}"])?;
    Ok(json!({
        "certs": certs,
        "pem_files": pem_files,
        "workload": workload,
        "etcd_members": member_ids,
        "configmap": data,
    }))
}

fn save(ctx: &Ctx, name: &str, v: &Value) -> anyhow::Result<()> {
    std::fs::write(ctx.dir.path().join(name), serde_json::to_string_pretty(v)?)?;
    Ok(())
}

pub fn load(ctx: &Ctx, name: &str) -> anyhow::Result<Value> {
    let text = std::fs::read_to_string(ctx.dir.path().join(name))
        .with_context(|| format!("{name} (written by an earlier step)"))?;
    Ok(serde_json::from_str(&text)?)
}

/// Fail naming every fact that changed since `before`.
fn same_as(before: &Value, now: &Value) -> anyhow::Result<()> {
    let mut changed = Vec::new();
    for key in ["certs", "etcd_members", "configmap"] {
        if before[key] != now[key] {
            changed.push(format!("{key}: was {} now {}", before[key], now[key]));
        }
    }
    for (node, files) in before["pem_files"].as_object().into_iter().flatten() {
        let now_files = now["pem_files"][node].as_str().unwrap_or("");
        for line in files.as_str().unwrap_or("").lines() {
            if !now_files.lines().any(|l| l == line) {
                changed.push(format!(
                    "{node}: /etc/kubernetes/ssl: {line} changed or gone"
                ));
            }
        }
        let (was, is) = (&before["workload"][node], &now["workload"][node]);
        if was != is || was.as_str().unwrap_or("").is_empty() {
            changed.push(format!("{node}: workload container was {was}, now {is}"));
        }
    }
    ensure!(changed.is_empty(), "changed:\n  {}", changed.join("\n  "));
    Ok(())
}

pub fn rke1_builds_the_cluster(ctx: &mut Ctx) -> anyhow::Result<()> {
    rke1::prepare(ctx)?;
    rke1::run(ctx, &["up"], "up")?;
    ctx.apply_network()?;
    wait_ready(ctx)?;
    let manifest = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {CONFIG_MAP}\ndata:\n  kept: \"by the takeover\"\n\
         ---\napiVersion: apps/v1\nkind: DaemonSet\nmetadata:\n  name: {WORKLOAD}\nspec:\n  selector:\n    \
         matchLabels: {{app: {WORKLOAD}}}\n  template:\n    metadata:\n      labels: {{app: {WORKLOAD}}}\n    \
         spec:\n      terminationGracePeriodSeconds: 1\n      containers:\n      - name: web\n        \
         image: {}\n        command: [sh, -c, 'while true; do sleep 5; done']\n",
        ctx.pod_image
    );
    ctx.kubectl_stdin(&["apply", "-f", "-"], &manifest)?;
    eventually(
        "a workload pod Running on each of the 3 nodes",
        Duration::from_secs(180),
        || {
            let out = ctx.kubectl(&[
                "get",
                "pods",
                "-l",
                &format!("app={WORKLOAD}"),
                "--field-selector=status.phase=Running",
                "-o",
                "name",
            ])?;
            let n = out.lines().count();
            ensure!(n == 3, "{n} Running");
            Ok(())
        },
    )?;
    rke1::run(
        ctx,
        &["etcd", "snapshot-save", "--name", SNAPSHOT],
        "snapshot-save",
    )?;
    for i in 1..=3 {
        nodes::sh(
            &ctx.env,
            i,
            &format!("test -s /opt/rke/etcd-snapshots/{SNAPSHOT}.zip"),
        )
        .context("RKE1's snapshot on every etcd node")?;
        ensure!(
            nodes::running(&ctx.env, i, "etcd-rolling-snapshots")?,
            "node{i}: RKE1's recurring snapshots (etcd-rolling-snapshots) are not running"
        );
    }
    let mut before = facts(ctx)?;
    before["addons"] = steps_addons::addon_objects(ctx)?;
    super::steps_snapshots::rke1_saves_to_s3(ctx)?;
    save(ctx, "before.json", &before)?;
    Ok(())
}

/// (node, verb, container) of every container change in an rke run's output: dry-run plan
/// lines (`  replace etcd: ...` under a `NODE (ADDRESS):` header) or log lines of the real run
/// (`INFO replaced etcd (...) node="NODE"`), verbs in the plan's form.
fn container_changes(output: &str) -> BTreeSet<(String, String, String)> {
    let mut found = BTreeSet::new();
    let mut header = String::new();
    for line in output.lines() {
        if !line.starts_with(' ') && line.ends_with("):") {
            header = line.split(' ').next().unwrap_or("").to_string();
            continue;
        }
        let (verb, rest, node) = if let Some(at) = line.find(" INFO ") {
            let msg = &line[at + 6..];
            let Some(node) = msg
                .split("node=\"")
                .nth(1)
                .and_then(|s| s.split('"').next())
            else {
                continue;
            };
            let (verb, rest) = msg.split_once(' ').unwrap_or((msg, ""));
            let verb = match verb {
                "replaced" => "replace",
                "removed" => "remove",
                "created" => "create",
                "started" => "start",
                _ => continue,
            };
            (verb, rest, node.to_string())
        } else if let Some(plan) = line.strip_prefix("  ") {
            let (verb, rest) = plan.split_once(' ').unwrap_or((plan, ""));
            if !["replace", "remove", "create", "start"].contains(&verb) {
                continue;
            }
            (verb, rest, header.clone())
        } else {
            continue;
        };
        let name: String = rest
            .chars()
            .take_while(|c| !c.is_whitespace() && *c != ':')
            .collect();
        // Files (`write /etc/...`) and binaries are not containers.
        if !name.is_empty() && !name.starts_with('/') {
            found.insert((node, verb.to_string(), name));
        }
    }
    found
}

pub fn dry_run_lists_the_takeover(ctx: &mut Ctx) -> anyhow::Result<()> {
    let run = ctx.dry_run(2)?;
    let planned = container_changes(&format!("{}\n{}", run.stdout, run.stderr));
    for (node, verb, name) in &planned {
        println!("      {node}: {verb} {name}");
    }
    for node in node_names(ctx) {
        for name in ["etcd", "etcd-rolling-snapshots", "kubelet", "kube-proxy"] {
            ensure!(
                planned.contains(&(node.clone(), "replace".into(), name.into())),
                "the dry run does not say {node}'s {name} (RKE1's) is replaced: {planned:?}"
            );
        }
        ensure!(
            planned.contains(&(node.clone(), "remove".into(), "service-sidekick".into())),
            "the dry run does not say {node}'s service-sidekick is removed: {planned:?}"
        );
    }
    let adopted = steps_addons::adopted_in(&format!("{}\n{}", run.stdout, run.stderr));
    ensure!(
        adopted == ["rke-coredns-addon", "rke-user-addon"],
        "the dry run must say RKE1's CoreDNS and user addon are adopted, not re-rolled: {adopted:?}"
    );
    save(ctx, "dry-run.json", &json!(planned))?;
    Ok(())
}

pub fn rke_takes_over(ctx: &mut Ctx) -> anyhow::Result<()> {
    let before = load(ctx, "before.json")?;
    let planned: BTreeSet<(String, String, String)> =
        serde_json::from_value(load(ctx, "dry-run.json")?)?;
    let watch = ApiWatch::start(ctx.kubectl.clone(), ctx.kubeconfig(), ctx.api_servers());
    let run = ctx.rke_up(&[]);
    let report = watch.finish();
    if run.code != Some(0) {
        bail!("rke up (the takeover) failed: {}", run.describe());
    }
    for (server, failures) in &report.endpoint_failures {
        println!(
            "      {server}: did not answer {failures} of {} probes (~{:.1}s)",
            report.ticks,
            *failures as f64 * 0.5
        );
    }
    ensure!(
        report.outages.is_empty(),
        "no API server answered at {} of {} probes: {:?}",
        report.outages.len(),
        report.ticks,
        report.outages
    );
    println!("      longest gap with no API server answering: none (0.5 s probes)");
    let done = container_changes(&format!("{}\n{}", run.stdout, run.stderr));
    ensure!(
        done == planned,
        "the takeover did not do what the dry run listed:\n  only in the dry run: {:?}\n  only in the run: {:?}",
        planned.difference(&done).collect::<Vec<_>>(),
        done.difference(&planned).collect::<Vec<_>>()
    );
    wait_ready(ctx)?;
    same_as(&before, &facts(ctx)?)?;
    let adopted = steps_addons::adopted_in(&format!("{}\n{}", run.stdout, run.stderr));
    ensure!(
        adopted == ["rke-coredns-addon", "rke-user-addon"],
        "rke up must say it adopted RKE1's CoreDNS and user addon: {adopted:?}"
    );
    steps_addons::rke1_addons_kept(ctx, &before["addons"], &[])?;
    let marked = steps_addons::inventory_adopted(ctx)?;
    ensure!(
        marked == "rke-coredns-addon,rke-user-addon",
        "the inventory marks as RKE1's: {marked:?}"
    );
    for i in 1..=3 {
        let leftovers = nodes::sh(
            &ctx.env,
            i,
            "docker ps -a --format '{{.Names}}' | grep -E '^(service-sidekick|old-.*|rke-.*)$'; true",
        )?;
        ensure!(
            leftovers.trim().is_empty(),
            "node{i}: RKE1 helpers left: {leftovers}"
        );
        let hash = nodes::sh(
            &ctx.env,
            i,
            "docker inspect -f '{{index .Config.Labels \"io.rke.spec-hash\"}}' etcd-rolling-snapshots",
        )?;
        ensure!(
            !hash.trim().is_empty(),
            "node{i}: etcd-rolling-snapshots is still RKE1's (no spec-hash label)"
        );
    }
    println!("      CA, certificates, etcd members, ConfigMap and workload containers kept");
    Ok(())
}

pub fn second_up_changes_nothing(ctx: &mut Ctx) -> anyhow::Result<()> {
    let facts_before = load(ctx, "before.json")?;
    ctx.dry_run(0)?;
    let before: Vec<_> = (1..=3)
        .map(|i| nodes::rke_containers(&ctx.env, i))
        .collect::<anyhow::Result<_>>()?;
    ctx.up_ok()?;
    for (i, was) in (1..=3).zip(before) {
        let now = nodes::rke_containers(&ctx.env, i)?;
        ensure!(
            now == was,
            "node{i}: containers changed: {was:?} -> {now:?}"
        );
    }
    steps_addons::rke1_addons_kept(ctx, &facts_before["addons"], &[])?;
    Ok(())
}

/// The certificates but kube-admin's, which RKE1 issues anew on every `up` (a new key each
/// time), so only rke's runs keep it.
fn certs_but_admin(facts: &Value) -> Value {
    let mut certs = facts["certs"].clone();
    if let Some(map) = certs.as_object_mut() {
        map.remove("kube-admin");
    }
    certs
}

pub fn rke1_takes_it_back(ctx: &mut Ctx) -> anyhow::Result<()> {
    let before = load(ctx, "before.json")?;
    rke1::run(ctx, &["up"], "up-rollback")?;
    wait_ready(ctx)?;
    let now = facts(ctx)?;
    ensure!(
        certs_but_admin(&now) == certs_but_admin(&before)
            && now["etcd_members"] == before["etcd_members"],
        "after RKE1's up the certificates or etcd members differ"
    );
    ensure!(
        now["configmap"] == before["configmap"],
        "after RKE1's up the ConfigMap differs"
    );
    Ok(())
}

pub fn rke_takes_over_again(ctx: &mut Ctx) -> anyhow::Result<()> {
    let before = load(ctx, "before.json")?;
    let rolled_back: Value = serde_json::from_str(&std::fs::read_to_string(ctx.state_file())?)?;
    let admin =
        rolled_back["currentState"]["certificatesBundle"]["kube-admin"]["certificatePEM"].clone();
    ctx.up_ok()?;
    wait_ready(ctx)?;
    let now = facts(ctx)?;
    ensure!(
        certs_but_admin(&now) == certs_but_admin(&before)
            && now["certs"]["kube-admin"] == admin
            && now["etcd_members"] == before["etcd_members"],
        "after the second takeover the certificates or etcd members differ"
    );
    steps_addons::rke1_addons_kept(ctx, &before["addons"], &[])?;
    ctx.dry_run(0)?;
    Ok(())
}
