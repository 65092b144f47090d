//! The status_nodes scenario's steps.

use std::time::Duration;

use anyhow::{Context, bail, ensure};
use serde_json::Value;

use super::cluster::Ctx;
use super::nodes;

const NODES: [&str; 3] = ["node1", "node2", "node3"];
const KUBELET_ARG: &str = "max-pods=123";

/// node1, node2: etcd + controlplane + worker; node3: etcd + worker.
pub fn fresh_cluster(ctx: &mut Ctx) -> anyhow::Result<()> {
    ctx.write_config(&[], &[])?;
    ctx.up_ok()?;
    ctx.wait_nodes_ready(&NODES, Duration::from_secs(300))
}

/// `rke status --output json`, which must exit 0 with a successful result object whose data
/// is the report; the state file must be the same afterwards.
fn status_json(ctx: &Ctx) -> anyhow::Result<Value> {
    let before = std::fs::read(ctx.state_file()).context("reading the state file")?;
    let run = ctx.rke(&["status", "--output", "json"]);
    let (_, result) = run.json_ok("status")?;
    let v = result["data"].clone();
    ensure!(
        std::fs::read(ctx.state_file())? == before,
        "rke status changed the state file"
    );
    Ok(v)
}

/// Every component as `(node, name, state, drift)`.
fn components(v: &Value) -> Vec<(String, String, String, String)> {
    let s = |x: &Value| x.as_str().unwrap_or_default().to_string();
    v["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|n| {
            n["components"]
                .as_array()
                .into_iter()
                .flatten()
                .map(move |c| (s(&n["name"]), s(&c["name"]), s(&c["state"]), s(&c["drift"])))
        })
        .collect()
}

pub fn status_after_up(ctx: &mut Ctx) -> anyhow::Result<()> {
    let v = status_json(ctx)?;
    println!("    {v}");
    for n in v["nodes"].as_array().context("nodes")? {
        ensure!(n["reachable"] == true, "node not reachable: {n}");
    }
    let all = components(&v);
    println!("    {} components", all.len());
    for (node, name, state, drift) in &all {
        ensure!(
            state == "running" && drift == "matches",
            "{node}/{name}: {state}, {drift}"
        );
    }
    for node in NODES {
        for name in ["etcd", "kubelet", "kube-proxy"] {
            ensure!(
                all.iter().any(|c| c.0 == node && c.1 == name),
                "{node} has no {name} in the report"
            );
        }
    }
    ensure!(
        all.iter().any(|c| c.0 == "node3" && c.1 == "nginx-proxy")
            && !all
                .iter()
                .any(|c| c.0 == "node3" && c.1 == "kube-apiserver"),
        "node3 (etcd+worker) should have nginx-proxy and no kube-apiserver: {all:?}"
    );
    let members = v["etcd"]["members"].as_array().context("etcd members")?;
    ensure!(members.len() == 3, "etcd members: {members:?}");
    ensure!(
        members.iter().all(|m| m["healthy"] == true),
        "unhealthy members: {members:?}"
    );
    ensure!(
        members.iter().filter(|m| m["leader"] == true).count() == 1,
        "not exactly one leader: {members:?}"
    );
    let certs = v["certificates"].as_array().context("certificates")?;
    ensure!(certs.len() >= 10, "certificates: {certs:?}");
    for c in certs {
        let days = c["days_left"].as_i64().unwrap_or_default();
        ensure!(
            (3640..=3650).contains(&days) && c["state"] == "ok",
            "certificate not valid for ~10 years: {c}"
        );
    }
    ensure!(v["summary"]["differing"] == 0, "{}", v["summary"]);

    let run = ctx.rke(&["status"]);
    ensure!(run.code == Some(0), "rke status: {}", run.describe());
    for want in [
        "NODE node1 (",
        "COMPONENT",
        "ETCD",
        "healthy (leader)",
        "CERTIFICATES",
        "kube-ca",
        "Summary: 3/3 nodes reachable;",
        "0 differ, 0 missing, 0 not wanted, 0 not running; etcd 3/3 healthy;",
    ] {
        ensure!(run.stdout.contains(want), "no {want:?} in:\n{}", run.stdout);
    }
    Ok(())
}

pub fn kubelet_drift(ctx: &mut Ctx) -> anyhow::Result<()> {
    ctx.write_config(&[], &[KUBELET_ARG])?;
    let result = (|| {
        let v = status_json(ctx)?;
        let all = components(&v);
        for (node, name, _, drift) in &all {
            let want = if name == "kubelet" {
                "differs"
            } else {
                "matches"
            };
            ensure!(drift == want, "{node}/{name}: {drift}, expected {want}");
        }
        let kubelets = v["nodes"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|n| n["components"].as_array().into_iter().flatten())
            .filter(|c| c["name"] == "kubelet");
        let mut count = 0;
        for k in kubelets {
            count += 1;
            ensure!(
                k["changes"].to_string().contains("max-pods=123"),
                "the kubelet's changes do not name the new argument: {k}"
            );
        }
        ensure!(count == 3, "{count} kubelets in the report");
        let run = ctx.rke(&["status"]);
        ensure!(run.code == Some(0), "rke status: {}", run.describe());
        ensure!(
            run.stdout.matches("differs (would be replaced)").count() == 3,
            "{}",
            run.stdout
        );
        ensure!(run.stdout.contains("3 differ"), "{}", run.stdout);
        print_indented(&run.stdout);
        Ok(())
    })();
    // Later steps compare with the config the cluster runs.
    ctx.write_config(&[], &[])?;
    result
}

pub fn stopped_kube_proxy(ctx: &mut Ctx) -> anyhow::Result<()> {
    nodes::sh(&ctx.env, 2, "docker stop kube-proxy >/dev/null")?;
    let result = (|| {
        let v = status_json(ctx)?;
        let all = components(&v);
        for (node, name, state, drift) in &all {
            let want = if node == "node2" && name == "kube-proxy" {
                "stopped"
            } else {
                "running"
            };
            ensure!(state == want, "{node}/{name}: {state}, expected {want}");
            ensure!(drift == "matches", "{node}/{name}: {drift}");
        }
        ensure!(v["summary"]["not_running"] == 1, "{}", v["summary"]);
        let run = ctx.rke(&["status"]);
        print_indented(&run.stdout);
        let line = run
            .stdout
            .lines()
            .skip_while(|l| !l.starts_with("NODE node2 "))
            .find(|l| l.trim_start().starts_with("kube-proxy"));
        match line {
            Some(l) if l.contains("stopped") => Ok(()),
            other => bail!("node2's kube-proxy line: {other:?}\n{}", run.stdout),
        }
    })();
    nodes::sh(&ctx.env, 2, "docker start kube-proxy >/dev/null")?;
    result
}

/// The report in the scenario's log, for a look at what users see.
fn print_indented(text: &str) {
    for line in text.lines() {
        println!("      | {line}");
    }
}

/// A node whose Docker engine does not answer is in the report with its error, the others
/// are reported in full, and the exit code is the error's class (5, Docker).
pub fn engine_down_node_in_report(ctx: &mut Ctx) -> anyhow::Result<()> {
    nodes::stop_engine(&ctx.env, 3)?;
    let result = (|| {
        let run = ctx.rke(&["status", "--output", "json"]);
        ensure!(run.code == Some(5), "rke status: {}", run.describe());
        let result: Value = serde_json::from_str(run.last_stdout_line()).context("status JSON")?;
        ensure!(result["type"] == "result", "not a result: {result}");
        let v = &result["data"];
        let nodes = v["nodes"].as_array().context("nodes")?;
        ensure!(nodes.len() == 3, "{nodes:?}");
        let node3 = &nodes[2];
        ensure!(
            node3["name"] == "node3"
                && node3["reachable"] == false
                && node3["error_kind"] == "docker"
                && node3["error"].as_str().is_some_and(|e| e.contains("node3")),
            "node3: {node3}"
        );
        for n in &nodes[..2] {
            ensure!(
                n["reachable"] == true && n["components"].as_array().is_some_and(|c| c.len() == 6),
                "{n}"
            );
        }
        // Its etcd still runs (only the engine's socket is gone): reached through node1.
        ensure!(
            v["etcd"]["members"].as_array().map(Vec::len) == Some(3),
            "{}",
            v["etcd"]
        );
        ensure!(v["summary"]["etcd_healthy"] == 3, "{}", v["summary"]);
        let run = ctx.rke(&["status"]);
        ensure!(run.code == Some(5), "rke status: {}", run.describe());
        ensure!(
            run.stdout.contains("NODE node3 (") && run.stdout.contains("UNREACHABLE (docker)"),
            "{}",
            run.stdout
        );
        ensure!(
            run.stdout.contains("Summary: 2/3 nodes reachable"),
            "{}",
            run.stdout
        );
        Ok(())
    })();
    nodes::start_engine(&ctx.env, 3)?;
    result
}
