//! A no-op `rke up` makes no write call: after a run that had something to do (one container
//! removed by hand, so the counts are seen to move), the next run reports, in its JSON result,
//! zero Docker Engine writes and execs and zero Kubernetes API writes, and a dry run finds
//! nothing to do without writing either.

use anyhow::{Context, ensure};
use serde_json::Value;

use super::cluster::Ctx;
use super::nodes;

/// Logs at debug level only where each write call is named.
const NAME_WRITES: (&str, &str) = ("RUST_LOG", "info,rke::events::writes=debug");

/// The `writes` object of a successful `rke up --output json` with `extra` flags, and the
/// write calls its log named (`engine write: POST /containers/create ...`).
fn up_writes(ctx: &Ctx, extra: &[&str]) -> anyhow::Result<(Value, Vec<String>)> {
    let mut args = vec!["--output", "json"];
    args.extend(extra);
    // A dry run with nothing pending exits 0 as a run does: the same contract holds.
    let (events, result) = ctx.rke_up(&args).json_ok("up")?;
    let writes = result["writes"].clone();
    ensure!(writes.is_object(), "no `writes` in the result: {result}");
    let named = events
        .iter()
        .filter_map(|e| e["message"].as_str())
        .filter(|m| m.contains("engine write:") || m.contains("API write:"))
        .map(|m| m.to_string())
        .collect();
    Ok((writes, named))
}

fn count(writes: &Value, key: &str) -> anyhow::Result<u64> {
    writes[key]
        .as_u64()
        .with_context(|| format!("`writes.{key}` is not a count: {writes}"))
}

pub fn no_op_up_makes_no_write_call(ctx: &mut Ctx) -> anyhow::Result<()> {
    let (key, value) = NAME_WRITES;
    ctx.rke_env.push((key.into(), value.into()));
    let result = runs_without_writes(ctx);
    ctx.rke_env.retain(|(k, _)| k != key);
    result
}

fn runs_without_writes(ctx: &mut Ctx) -> anyhow::Result<()> {
    println!("    node3: kube-proxy removed by hand; rke up recreates it (writes counted)");
    nodes::sh(&ctx.env, 3, "docker rm -f kube-proxy >/dev/null")?;
    let (writes, _) = up_writes(ctx, &[])?;
    println!("      writes: {writes}");
    ensure!(
        count(&writes, "engine")? >= 2,
        "creating and starting kube-proxy counts as engine writes: {writes}"
    );
    ensure!(
        count(&writes, "ssh_commands")? > 0,
        "the cluster lock alone runs SSH commands: {writes}"
    );

    println!("    check: the next rke up makes no engine and no API write");
    let (writes, named) = up_writes(ctx, &[])?;
    println!("      writes: {writes}");
    for key in ["engine", "engine_execs", "api"] {
        ensure!(
            count(&writes, key)? == 0,
            "a no-op rke up made {key} writes: {writes}\n{}",
            named.join("\n")
        );
    }
    ensure!(
        count(&writes, "api_dry_run")? > 0,
        "addons are compared through server-side dry runs, counted apart: {writes}"
    );

    println!("    check: rke up --dry-run exits 0 and writes nothing either");
    let (writes, named) = up_writes(ctx, &["--dry-run"])?;
    println!("      writes: {writes}");
    for key in ["engine", "engine_execs", "api"] {
        ensure!(
            count(&writes, key)? == 0,
            "a dry run made {key} writes: {writes}\n{}",
            named.join("\n")
        );
    }
    Ok(())
}
