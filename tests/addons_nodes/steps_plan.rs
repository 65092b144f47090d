//! The addons_nodes scenario's plan steps: a dry run names exactly what changed (one addon
//! object, one node label), counts it (exit 2, in text and JSON), and the run that follows
//! changes exactly that; then the dry run has nothing left.

use anyhow::{Context, ensure};
use serde_json::Value;

use super::cluster::{Ctx, RkeRun};

const INLINE_CM: &str = "addons-e2e-inline";
/// The addon objects that exist after `addons_changed`, with their kubectl kinds.
const ADDON_OBJECTS: [(&str, &str); 3] = [
    ("configmap", INLINE_CM),
    ("configmap", "addons-e2e-included"),
    ("deployment", "addons-e2e-web"),
];
const LABEL: &str = "rke-e2e/plan";

fn resource_version(ctx: &Ctx, kind: &str, name: &str) -> anyhow::Result<String> {
    ctx.kubectl(&[
        "-n",
        "default",
        "get",
        kind,
        name,
        "-o",
        "jsonpath={.metadata.resourceVersion}",
    ])
}

fn resource_versions(ctx: &Ctx) -> anyhow::Result<Vec<String>> {
    ADDON_OBJECTS
        .iter()
        .map(|(kind, name)| resource_version(ctx, kind, name))
        .collect()
}

/// Replace `from` (which must occur exactly once) in cluster.yml.
fn edit_config(ctx: &Ctx, from: &str, to: &str) -> anyhow::Result<()> {
    let yml = std::fs::read_to_string(ctx.config())?;
    ensure!(
        yml.matches(from).count() == 1,
        "cluster.yml must hold {from:?} once:\n{yml}"
    );
    std::fs::write(ctx.config(), yml.replace(from, to)).context("writing cluster.yml")
}

/// `rke up --dry-run --output json`, which must exit 2: the result's `data`.
fn json_dry_run(ctx: &Ctx) -> anyhow::Result<Value> {
    let run = ctx.rke_up(&["--dry-run", "--output", "json"]);
    ensure!(run.code == Some(2), "want exit 2: {}", run.describe());
    let result: Value = serde_json::from_str(run.last_stdout_line())
        .with_context(|| format!("the last stdout line is not JSON: {}", run.describe()))?;
    ensure!(
        result["type"] == "result" && result["exit_code"] == 2,
        "not the dry run's result: {result}"
    );
    Ok(result["data"].clone())
}

/// The changes of one kind (`"change": kind`) in a dry run's JSON `data`.
fn changes_of(data: &Value, kind: &str) -> anyhow::Result<Vec<Value>> {
    let all = data["changes"].as_array().context("data.changes")?;
    Ok(all
        .iter()
        .filter(|c| c["change"] == kind)
        .cloned()
        .collect())
}

/// The stdout lines of a text dry run that start with `prefix` (after indentation).
fn lines_with<'a>(run: &'a RkeRun, prefix: &str) -> Vec<&'a str> {
    run.stdout
        .lines()
        .map(str::trim_start)
        .filter(|l| l.starts_with(prefix))
        .collect()
}

pub fn addon_data_change_planned_then_applied(ctx: &mut Ctx) -> anyhow::Result<()> {
    // What the previous step applied compares equal to the cluster: nothing pending.
    ctx.dry_run(0)?;
    let before = resource_versions(ctx)?;
    edit_config(ctx, "greeting: changed", "greeting: planned")?;
    let dry = ctx.dry_run(2)?;
    let addon_lines = lines_with(&dry, "addon ");
    ensure!(
        addon_lines.len() == 1
            && addon_lines[0].contains(&format!("update ConfigMap default/{INLINE_CM}")),
        "want exactly the inline ConfigMap's update: {}",
        dry.describe()
    );
    ensure!(
        dry.last_stdout_line() == "Dry run: 1 change(s) pending",
        "only the ConfigMap may be pending: {}",
        dry.describe()
    );
    let data = json_dry_run(ctx)?;
    ensure!(data["pending_changes"] == 1, "JSON data: {data}");
    let addons = changes_of(&data, "addon")?;
    ensure!(
        addons.len() == 1
            && addons[0]["action"] == "update"
            && addons[0]["kind"] == "ConfigMap"
            && addons[0]["namespace"] == "default"
            && addons[0]["name"] == INLINE_CM
            && addons[0]["addon"] == "rke-user-addon",
        "JSON data.addons: {data}"
    );
    ctx.up_ok()?;
    let after = resource_versions(ctx)?;
    for (i, (kind, name)) in ADDON_OBJECTS.iter().enumerate() {
        let changed = before[i] != after[i];
        ensure!(
            changed == (*name == INLINE_CM),
            "{kind} {name}: resourceVersion {} -> {} (only {INLINE_CM} may change)",
            before[i],
            after[i]
        );
    }
    let greeting = ctx.kubectl(&[
        "-n",
        "default",
        "get",
        "configmap",
        INLINE_CM,
        "-o",
        "jsonpath={.data.greeting}",
    ])?;
    ensure!(greeting == "planned", "the ConfigMap holds {greeting:?}");
    ctx.dry_run(0)?;
    Ok(())
}

pub fn node_label_change_planned_then_applied(ctx: &mut Ctx) -> anyhow::Result<()> {
    edit_config(
        ctx,
        "    hostname_override: node1\n",
        &format!("    hostname_override: node1\n    labels:\n      {LABEL}: one\n"),
    )?;
    let dry = ctx.dry_run(2)?;
    let want = format!("label {LABEL}: added (one)");
    let label_lines = lines_with(&dry, "label ");
    ensure!(
        label_lines == [want.as_str()],
        "want exactly {want:?}: {}",
        dry.describe()
    );
    // The line is in node1's section: the closest node header above it names node1.
    let header = dry
        .stdout
        .lines()
        .take_while(|l| !l.contains(&want))
        .filter(|l| l.starts_with("node"))
        .last()
        .unwrap_or_default();
    ensure!(
        header.starts_with("node1 "),
        "the label is not under node1: {}",
        dry.describe()
    );
    ensure!(
        dry.last_stdout_line() == "Dry run: 1 change(s) pending",
        "only the label may be pending: {}",
        dry.describe()
    );
    let data = json_dry_run(ctx)?;
    let planned = changes_of(&data, "node_metadata")?;
    ensure!(
        data["pending_changes"] == 1
            && planned.len() == 1
            && planned[0]
                == serde_json::json!({
                    "change": "node_metadata",
                    "node": "node1", "kind": "label", "key": LABEL, "from": null, "to": "one"
                }),
        "JSON data: {data}"
    );
    ctx.up_ok()?;
    let node: Value = serde_json::from_str(&ctx.kubectl(&["get", "node", "node1", "-o", "json"])?)?;
    let label = &node["metadata"]["labels"][LABEL];
    ensure!(label == "one", "node1's label {LABEL}: {label}");
    ctx.dry_run(0)?;
    Ok(())
}
