//! The addons_nodes scenario's steps.

use std::time::Duration;

use anyhow::{Context, bail, ensure};
use serde_json::Value;

use super::cluster::{Ctx, eventually};

const NODES: [&str; 3] = ["node1", "node2", "node3"];
const INLINE_CM: &str = "addons-e2e-inline";
const INCLUDED_CM: &str = "addons-e2e-included";
const DEPLOYMENT: &str = "addons-e2e-web";
const BROKEN: &str = "addons-e2e-broken";
const INCLUDE_FILE: &str = "extra-addons.yaml";

fn inline_addons(image: &str, data: &str, replicas: u32) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {INLINE_CM}\n  namespace: default\n\
         data:\n  greeting: {data}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  \
         name: {DEPLOYMENT}\n  namespace: default\nspec:\n  replicas: {replicas}\n  selector:\n    \
         matchLabels: {{app: {DEPLOYMENT}}}\n  template:\n    metadata:\n      labels: {{app: \
         {DEPLOYMENT}}}\n    spec:\n      terminationGracePeriodSeconds: 1\n      containers:\n      \
         - name: web\n        image: {image}\n"
    )
}

/// cluster.yml for nodes 1-3 plus `addons` (indented as a block scalar), `addons_include`
/// and `addon_job_timeout` when given.
fn write_config(
    ctx: &Ctx,
    addons: Option<&str>,
    include: bool,
    timeout: Option<u32>,
) -> anyhow::Result<()> {
    ctx.write_config(&[], &[])?;
    let mut yml = std::fs::read_to_string(ctx.config())?;
    if let Some(text) = addons {
        yml.push_str("addons: |\n");
        for line in text.lines() {
            yml.push_str(&format!("  {line}\n"));
        }
    }
    if include {
        // Relative: read from the directory of cluster.yml.
        yml.push_str(&format!("addons_include:\n  - {INCLUDE_FILE}\n"));
    }
    if let Some(t) = timeout {
        yml.push_str(&format!("addon_job_timeout: {t}\n"));
    }
    std::fs::write(ctx.config(), yml).context("writing cluster.yml")
}

fn write_include(ctx: &Ctx, data: &str) -> anyhow::Result<()> {
    let text = format!(
        "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {INCLUDED_CM}\n  namespace: default\n\
         data:\n  source: {data}\n"
    );
    std::fs::write(ctx.work.join(INCLUDE_FILE), text).context("writing the include")
}

fn nginx(ctx: &Ctx) -> anyhow::Result<String> {
    ctx.env["images"]["nginx"]
        .as_str()
        .map(str::to_string)
        .context("env.json has no images.nginx")
}

fn get_json(ctx: &Ctx, kind: &str, name: &str) -> anyhow::Result<Value> {
    let out = ctx.kubectl(&["-n", "default", "get", kind, name, "-o", "json"])?;
    Ok(serde_json::from_str(&out)?)
}

fn exists(ctx: &Ctx, kind: &str, name: &str) -> anyhow::Result<bool> {
    let out = ctx.kubectl(&[
        "-n",
        "default",
        "get",
        kind,
        name,
        "--ignore-not-found",
        "-o",
        "name",
    ])?;
    Ok(!out.trim().is_empty())
}

/// The inventory's record of an addon (empty when the addon has no key).
fn inventory(ctx: &Ctx, addon: &str) -> anyhow::Result<Vec<Value>> {
    let out = ctx.kubectl(&[
        "-n",
        "kube-system",
        "get",
        "configmap",
        "rke-addon-inventory",
        "-o",
        "json",
    ])?;
    let cm: Value = serde_json::from_str(&out)?;
    match cm["data"][addon].as_str() {
        None => Ok(Vec::new()),
        Some(text) => Ok(serde_json::from_str(text)?),
    }
}

fn names(refs: &[Value]) -> Vec<String> {
    refs.iter()
        .map(|r| {
            format!(
                "{}/{}",
                r["kind"].as_str().unwrap_or("?"),
                r["name"].as_str().unwrap_or("?")
            )
        })
        .collect()
}

/// Replicas wanted and available, as rke left them (it waits for the rollout).
fn replicas(ctx: &Ctx) -> anyhow::Result<(i64, i64)> {
    let d = get_json(ctx, "deployment", DEPLOYMENT)?;
    Ok((
        d["spec"]["replicas"].as_i64().unwrap_or(-1),
        d["status"]["availableReplicas"].as_i64().unwrap_or(0),
    ))
}

pub fn addons_applied(ctx: &mut Ctx) -> anyhow::Result<()> {
    let image = nginx(ctx)?;
    // The cluster and its pod network first (`up_ok` applies it): the addons' pods need Ready
    // nodes, and rke waits for their rollout.
    write_config(ctx, None, false, None)?;
    ctx.up_ok()?;
    ctx.wait_nodes_ready(&NODES, Duration::from_secs(300))?;
    write_include(ctx, "file")?;
    write_config(
        ctx,
        Some(&inline_addons(&image, "hello", 1)),
        true,
        Some(120),
    )?;
    ctx.up_ok()?;
    ctx.wait_nodes_ready(&NODES, Duration::from_secs(300))?;
    let cm = get_json(ctx, "configmap", INLINE_CM)?;
    ensure!(cm["data"]["greeting"] == "hello", "inline ConfigMap: {cm}");
    let inc = get_json(ctx, "configmap", INCLUDED_CM)?;
    ensure!(inc["data"]["source"] == "file", "included ConfigMap: {inc}");
    let (want, available) = replicas(ctx)?;
    ensure!(
        (want, available) == (1, 1),
        "rke up returned before the Deployment was available: {available} of {want}"
    );
    let user = names(&inventory(ctx, "rke-user-addon")?);
    ensure!(
        user == [
            format!("ConfigMap/{INLINE_CM}"),
            format!("Deployment/{DEPLOYMENT}")
        ],
        "inventory of rke-user-addon: {user:?}"
    );
    let included = names(&inventory(ctx, "rke-user-includes-addons")?);
    ensure!(
        included == [format!("ConfigMap/{INCLUDED_CM}")],
        "inventory of rke-user-includes-addons: {included:?}"
    );
    Ok(())
}

pub fn addons_changed(ctx: &mut Ctx) -> anyhow::Result<()> {
    let image = nginx(ctx)?;
    write_include(ctx, "file-v2")?;
    write_config(
        ctx,
        Some(&inline_addons(&image, "changed", 2)),
        true,
        Some(120),
    )?;
    ctx.up_ok()?;
    let cm = get_json(ctx, "configmap", INLINE_CM)?;
    ensure!(
        cm["data"]["greeting"] == "changed",
        "inline ConfigMap: {cm}"
    );
    let inc = get_json(ctx, "configmap", INCLUDED_CM)?;
    ensure!(
        inc["data"]["source"] == "file-v2",
        "included ConfigMap: {inc}"
    );
    let (want, available) = replicas(ctx)?;
    ensure!(
        (want, available) == (2, 2),
        "after the re-run: {available} of {want} replicas available, want 2 of 2"
    );
    Ok(())
}

pub fn addons_removed(ctx: &mut Ctx) -> anyhow::Result<()> {
    write_config(ctx, None, false, None)?;
    ctx.up_ok()?;
    // Deletion is foreground: the Deployment goes once its pods are gone.
    eventually(
        "the addon objects to be deleted",
        Duration::from_secs(60),
        || {
            let left: Vec<&str> = [
                ("configmap", INLINE_CM),
                ("configmap", INCLUDED_CM),
                ("deployment", DEPLOYMENT),
            ]
            .into_iter()
            .filter(|(kind, name)| exists(ctx, kind, name).unwrap_or(true))
            .map(|(_, name)| name)
            .collect();
            if left.is_empty() {
                Ok(())
            } else {
                bail!("still there: {left:?}")
            }
        },
    )?;
    for addon in ["rke-user-addon", "rke-user-includes-addons"] {
        let left = inventory(ctx, addon)?;
        ensure!(left.is_empty(), "inventory still has {addon}: {left:?}");
    }
    Ok(())
}

pub fn broken_addon_reported(ctx: &mut Ctx) -> anyhow::Result<()> {
    let registry = ctx.env["registry"]["address"]
        .as_str()
        .context("env.json has no registry.address")?;
    let image = format!("{registry}/rke-e2e/does-not-exist:0");
    let manifest = inline_addons(&image, "broken", 1).replace(DEPLOYMENT, BROKEN);
    let timeout = 25;
    write_config(ctx, Some(&manifest), false, Some(timeout))?;
    let run = ctx.rke_up(&[]);
    let output = run.describe_all();
    // User addon failures warn, as in RKE1: the run itself succeeds.
    ensure!(run.code == Some(0), "rke up: {}", run.describe());
    for want in [
        "rke-user-addon".to_string(),
        format!("Deployment default/{BROKEN}"),
        format!("not rolled out after {timeout}s"),
    ] {
        ensure!(
            output.contains(&want),
            "want {want:?} in the output: {}",
            run.describe()
        );
    }
    ensure!(
        output.contains("ImagePull") || output.contains("ErrImage"),
        "the report should say why the pod does not run: {}",
        run.describe()
    );
    Ok(())
}
