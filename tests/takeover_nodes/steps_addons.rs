//! The addons RKE1 deployed (CoreDNS, a built-in addon, with the environment's stand-in images;
//! and a user addon), through its deploy Jobs running `kubectl apply`: the takeover adopts them
//! as they are, and only a change of the addon's settings moves it to rke's rendering.

use anyhow::{Context, ensure};
use serde_json::{Value, json};

use super::cluster::{Ctx, eventually};
use super::rke1::USER_ADDON_CONFIG_MAP;

/// RKE1's objects whose identity and spec the takeover must keep: (kind, namespace, name).
const RKE1_OBJECTS: [(&str, &str, &str); 5] = [
    ("deployment", "kube-system", "coredns"),
    ("deployment", "kube-system", "coredns-autoscaler"),
    ("configmap", "kube-system", "coredns"),
    ("service", "kube-system", "kube-dns"),
    ("configmap", "default", USER_ADDON_CONFIG_MAP),
];

/// rke's server-side apply field manager.
const RKE_MANAGER: &str = "rke";

/// uid, generation and field managers of each of RKE1's addon objects.
pub fn addon_objects(ctx: &Ctx) -> anyhow::Result<Value> {
    let mut out = serde_json::Map::new();
    for (kind, ns, name) in RKE1_OBJECTS {
        let text = ctx.kubectl(&["-n", ns, "get", kind, name, "-o", "json"])?;
        let object: Value = serde_json::from_str(&text)?;
        let managers: Vec<&str> = object["metadata"]["managedFields"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f["manager"].as_str())
            .collect();
        out.insert(
            format!("{kind} {ns}/{name}"),
            json!({
                "uid": object["metadata"]["uid"],
                "generation": object["metadata"]["generation"],
                "managers": managers,
            }),
        );
    }
    Ok(Value::Object(out))
}

/// RKE1's addon objects are those recorded before the takeover, untouched by rke (same uid and
/// generation, no field of rke's), except those of `replaced_by_rke`.
pub fn rke1_addons_kept(ctx: &Ctx, before: &Value, replaced_by_rke: &[&str]) -> anyhow::Result<()> {
    let now = addon_objects(ctx)?;
    let mut changed = Vec::new();
    let mut kept = 0;
    for (key, was) in before.as_object().context("no addon objects recorded")? {
        if replaced_by_rke.iter().any(|r| key.ends_with(r)) {
            continue;
        }
        kept += 1;
        let is = &now[key];
        if was["uid"] != is["uid"] || was["generation"] != is["generation"] {
            changed.push(format!("{key}: was {was}, now {is}"));
        }
        let managers = is["managers"].as_array().cloned().unwrap_or_default();
        if managers.iter().any(|m| m == RKE_MANAGER) {
            changed.push(format!("{key}: rke applied fields to it ({managers:?})"));
        }
    }
    ensure!(
        changed.is_empty(),
        "RKE1's addon objects changed:\n  {}",
        changed.join("\n  ")
    );
    println!("      RKE1's addon objects kept as they are: {kept}");
    Ok(())
}

/// The addons rke's output says it adopts (`would adopt`/`adopted` lines).
pub fn adopted_in(output: &str) -> Vec<String> {
    let mut found: Vec<String> = output
        .lines()
        .filter(|l| l.contains("adopt") && l.contains("RKE1's"))
        .filter_map(|l| l.split("addon=\"").nth(1))
        .filter_map(|s| s.split('"').next())
        .map(String::from)
        .collect();
    found.sort();
    found.dedup();
    found
}

/// The addons the inventory marks as RKE1's.
pub fn inventory_adopted(ctx: &Ctx) -> anyhow::Result<String> {
    ctx.kubectl(&[
        "-n",
        "kube-system",
        "get",
        "configmap",
        "rke-addon-inventory",
        "-o",
        "jsonpath={.metadata.annotations.rke\\.io/adopted-from-rke1}",
    ])
}

/// A change of CoreDNS's settings (upstream nameservers) moves it to rke's rendering, announced
/// by the dry run; the user addon, unchanged, stays RKE1's.
pub fn changed_dns_settings_move_coredns_to_rke(ctx: &mut Ctx) -> anyhow::Result<()> {
    let before = super::steps::load(ctx, "before.json")?;
    let yml = std::fs::read_to_string(ctx.config())?;
    ensure!(
        yml.contains("dns: {provider: coredns}\n"),
        "cluster.yml has no `dns: {{provider: coredns}}`"
    );
    std::fs::write(
        ctx.config(),
        yml.replace(
            "dns: {provider: coredns}\n",
            "dns: {provider: coredns, upstreamnameservers: [10.77.0.1]}\n",
        ),
    )?;
    let run = ctx.dry_run(2)?;
    let output = format!("{}\n{}", run.stdout, run.stderr);
    let replaced: Vec<&str> = output
        .lines()
        .filter(|l| l.contains("replace RKE1's objects with rke's rendering"))
        .collect();
    ensure!(
        replaced.len() == 1 && replaced[0].contains("addon=\"rke-coredns-addon\""),
        "the dry run must announce exactly CoreDNS moving to rke's rendering: {replaced:?}"
    );
    let run = ctx.up_ok()?;
    let output = format!("{}\n{}", run.stdout, run.stderr);
    ensure!(
        output.contains("replacing RKE1's objects with rke's rendering"),
        "rke up did not say it replaces CoreDNS's objects"
    );
    eventually(
        "CoreDNS rolled out from rke's rendering",
        std::time::Duration::from_secs(120),
        || {
            let managers = ctx.kubectl(&[
                "-n",
                "kube-system",
                "get",
                "deployment",
                "coredns",
                "-o",
                "jsonpath={.metadata.managedFields[*].manager} {.status.availableReplicas}/{.spec.replicas}",
            ])?;
            ensure!(managers.contains(RKE_MANAGER), "managers: {managers}");
            let (_, counts) = managers.rsplit_once(' ').unwrap_or(("", ""));
            let (available, wanted) = counts.split_once('/').unwrap_or(("", "-"));
            ensure!(available == wanted, "available {counts}");
            Ok(())
        },
    )?;
    let corefile = ctx.kubectl(&[
        "-n",
        "kube-system",
        "get",
        "configmap",
        "coredns",
        "-o",
        "jsonpath={.data.Corefile}",
    ])?;
    ensure!(
        corefile.contains("10.77.0.1"),
        "the Corefile does not forward to the new upstream: {corefile}"
    );
    rke1_addons_kept(
        ctx,
        &before["addons"],
        &[
            "kube-system/coredns",
            "kube-system/coredns-autoscaler",
            "kube-system/kube-dns",
        ],
    )?;
    let adopted = inventory_adopted(ctx)?;
    ensure!(
        adopted == "rke-user-addon",
        "the inventory still marks as RKE1's: {adopted:?}"
    );
    ctx.dry_run(0)?;
    Ok(())
}
