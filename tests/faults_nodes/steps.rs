//! The faults_nodes scenario's steps.

use anyhow::{Context, bail, ensure};
use serde_json::Value;

use super::cluster::{Ctx, RkeRun};
use super::nodes;

/// node1, node2: etcd + controlplane + worker; node3: etcd + worker.
pub(super) const LAYOUT: [&str; 3] = [
    "1:etcd,controlplane,worker",
    "2:etcd,controlplane,worker",
    "3:etcd,worker",
];

/// `rke up --output json` with the scenario's usual flags and a short health deadline.
pub(super) fn up_json(ctx: &Ctx, extra: &[&str]) -> RkeRun {
    let mut args = vec!["--output", "json", "--health-timeout", "25"];
    args.extend_from_slice(extra);
    ctx.rke_up(&args)
}

/// Every stdout line is a JSON object and the last is the result object; it must report
/// failure with `code` and an error of class `kind`. Returns the result.
pub(super) fn failed_result(run: &RkeRun, code: i32, kind: &str) -> anyhow::Result<Value> {
    ensure!(
        run.code == Some(code),
        "want exit {code}, got {:?}: {}",
        run.code,
        run.describe()
    );
    let mut last = None;
    for (i, line) in run.stdout.lines().enumerate() {
        let v: Value = serde_json::from_str(line)
            .with_context(|| format!("stdout line {} is not JSON: {line}", i + 1))?;
        ensure!(
            v.is_object(),
            "stdout line {} is not an object: {line}",
            i + 1
        );
        last = Some(v);
    }
    let result = last.context("no JSON on stdout")?;
    ensure!(
        result["type"] == "result",
        "the last line is not the result object: {result}"
    );
    ensure!(
        result["success"] == false && result["exit_code"] == code,
        "the result does not report failure with exit code {code}: {result}"
    );
    let kinds: Vec<&str> = result["errors"]
        .as_array()
        .map(|errors| errors.iter().filter_map(|e| e["kind"].as_str()).collect())
        .unwrap_or_default();
    ensure!(
        kinds.contains(&kind),
        "the result's errors are not of class {kind}: {result}"
    );
    Ok(result)
}

/// The run's messages name `what` (with `--output json` the log lines are events on stdout;
/// the final error is on stderr).
pub(super) fn names(run: &RkeRun, what: &str) -> anyhow::Result<()> {
    ensure!(
        run.stderr.contains(what) || run.stdout.contains(what),
        "the error does not name {what}: {}",
        run.describe()
    );
    Ok(())
}

/// No container rke creates is on nodes 1-3.
fn nodes_untouched(ctx: &Ctx) -> anyhow::Result<()> {
    for i in 1..=3 {
        let found = nodes::rke_containers(&ctx.env, i)?;
        ensure!(
            found.is_empty(),
            "node{i} has rke containers after a run that should change nothing: {found:?}"
        );
    }
    println!("    check: no rke container on node1..3");
    Ok(())
}

pub fn config_error(ctx: &mut Ctx) -> anyhow::Result<()> {
    ctx.write_config(&LAYOUT, &[])?;
    let mut yml = std::fs::read_to_string(ctx.config())?;
    let line = yml.lines().count() + 1;
    yml.push_str("kubernetes_verison: v1.20.15-rancher2-2\n");
    std::fs::write(ctx.config(), yml)?;
    let run = up_json(ctx, &[]);
    failed_result(&run, 3, "config")?;
    names(&run, &format!("cluster.yml:{line}:1"))?;
    names(&run, "kubernetes_verison")?;
    println!(
        "    check: exit 3, the JSON result says config, stderr points at cluster.yml:{line}:1"
    );
    nodes_untouched(ctx)
}

pub fn unreachable_node(ctx: &mut Ctx) -> anyhow::Result<()> {
    ctx.write_config(&LAYOUT, &[])?;
    let subnet = ctx.env["network"]["subnet"]
        .as_str()
        .unwrap_or("10.77.0.0/24");
    let prefix = subnet.rsplit_once('.').map(|(p, _)| p).unwrap_or("10.77.0");
    let mut yml = std::fs::read_to_string(ctx.config())?;
    yml.push_str(&format!(
        "  - address: {prefix}.250\n    user: rke\n    role: [worker]\n    hostname_override: ghost\n"
    ));
    std::fs::write(ctx.config(), yml)?;
    let run = up_json(ctx, &["--ssh-timeout", "10"]);
    failed_result(&run, 4, "connection")?;
    names(&run, "ghost")?;
    println!("    check: exit 4, the JSON result says connection, the error names ghost");
    nodes_untouched(ctx)
}

pub fn wrong_host_key(ctx: &mut Ctx) -> anyhow::Result<()> {
    ctx.write_config(&LAYOUT, &[])?;
    // The environment's known_hosts with node1's keys replaced by a key node1 does not have.
    let address = ctx.env["nodes"][0]["address"]
        .as_str()
        .context("env.json: nodes[0].address")?
        .to_string();
    let real = std::fs::read_to_string(ctx.env["ssh"]["known_hosts"].as_str().unwrap_or(""))
        .context("reading the environment's known_hosts")?;
    let key_file = ctx.dir.path().join("impostor_key");
    let made = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key_file)
        .status()?;
    ensure!(made.success(), "ssh-keygen failed");
    let impostor = std::fs::read_to_string(key_file.with_extension("pub"))?;
    let impostor = impostor
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ");
    let mut known: String = real
        .lines()
        .filter(|l| l.split_whitespace().next() != Some(address.as_str()))
        .map(|l| format!("{l}\n"))
        .collect();
    known.push_str(&format!("{address} {impostor}\n"));
    let path = ctx.dir.path().join("known_hosts_wrong");
    std::fs::write(&path, known)?;

    ctx.known_hosts = Some(path);
    let run = up_json(ctx, &[]);
    ctx.known_hosts = None;
    let result = failed_result(&run, 4, "connection")?;
    names(&run, "node1")?;
    ensure!(
        result["errors"]
            .to_string()
            .contains("host key changed for node1"),
        "the error does not say it is the host key: {}",
        run.describe()
    );
    println!(
        "    check: exit 4, the JSON result says connection, the error names node1's host key"
    );
    nodes_untouched(ctx)
}

pub fn stopped_engine(ctx: &mut Ctx) -> anyhow::Result<()> {
    ctx.write_config(&LAYOUT, &[])?;
    nodes::stop_engine(&ctx.env, 2)?;
    let run = up_json(ctx, &[]);
    nodes::start_engine(&ctx.env, 2)?;
    failed_result(&run, 5, "docker")?;
    names(&run, "node2")?;
    println!("    check: exit 5, the JSON result says docker, the error names node2");
    Ok(())
}

pub fn unhealthy_component(ctx: &mut Ctx) -> anyhow::Result<()> {
    // The kubelet refuses to start with a flag it does not know; everything before it works.
    ctx.write_config(&LAYOUT, &["no-such-kubelet-flag=1"])?;
    let run = up_json(ctx, &[]);
    let result = failed_result(&run, 6, "health-timeout")?;
    names(&run, "kubelet")?;
    // The cause, which the kubelet logs above its stack dump, is quoted in the error.
    names(&run, "unknown flag: --no-such-kubelet-flag")?;
    let nodes: Vec<&str> = result["errors"]
        .as_array()
        .map(|errors| errors.iter().filter_map(|e| e["node"].as_str()).collect())
        .unwrap_or_default();
    if nodes.is_empty() {
        bail!("the error names no node: {}", run.describe());
    }
    println!(
        "    check: exit 6 after {:.0}s, the JSON result says health-timeout for {nodes:?}",
        run.elapsed.as_secs_f64()
    );
    Ok(())
}
