//! KDM's `data.json` (RKE1's `RANCHER_METADATA_URL`) driving `rke up --dry-run` on the running
//! cluster, for a version the built-in table does not list.
//!
//! The data is the v1.20 part of the data.json RKE v1.2.23 embeds
//! (`tests/fixtures/kdm/rke1-v1.2.23-k8s-1.20.json`), plus one version only this file lists,
//! whose images are the environment's: exactly what a site mirroring Rancher's images into its
//! own registry publishes. cluster.yml names that version and has no `system_images`, so every
//! image and flag can only come from the data.json.

use std::collections::BTreeMap;

use anyhow::{Context, ensure};
use serde_json::{Value, json};

use super::cluster::Ctx;

const RKE1_KDM: &str = include_str!("../fixtures/kdm/rke1-v1.2.23-k8s-1.20.json");
/// Not a Rancher release: a version only the test's data.json lists.
const VERSION: &str = "v1.20.16-rancher99-1";
/// A kube-apiserver flag the v1.20 profile does not set, to show the profile is read.
const EXTRA_FLAG: (&str, &str) = ("event-ttl", "2h0m0s");

/// The cluster.yml `system_images` block taken out (key -> image) and the rest of the file
/// with `kubernetes_version` set to `version`.
fn without_system_images(
    yml: &str,
    version: &str,
) -> anyhow::Result<(String, BTreeMap<String, String>)> {
    let mut images = BTreeMap::new();
    let mut rest = String::new();
    let mut in_block = false;
    for line in yml.lines() {
        if line == "system_images:" {
            in_block = true;
            continue;
        }
        if in_block && (line.starts_with(' ') || line.is_empty()) {
            let entry = line.trim();
            if let Some((key, value)) = entry.split_once(": ")
                && !entry.starts_with('#')
            {
                images.insert(key.to_string(), value.trim_matches('"').to_string());
            }
            continue;
        }
        in_block = false;
        if line.starts_with("kubernetes_version:") {
            rest.push_str(&format!("kubernetes_version: {version}\n"));
        } else {
            rest.push_str(line);
            rest.push('\n');
        }
    }
    ensure!(
        images.contains_key("kubernetes") && images.contains_key("etcd"),
        "cluster.yml has no system_images block with kubernetes and etcd: {images:?}"
    );
    Ok((rest, images))
}

/// RKE1's data.json with `VERSION` added: RKE1's v1.20.15-rancher2-1 images with the
/// environment's in place of those the cluster runs; `extra_flag` adds a kube-apiserver flag
/// to the v1.20 profile.
fn kdm_data(images: &BTreeMap<String, String>, extra_flag: bool) -> anyhow::Result<Value> {
    let mut data: Value = serde_json::from_str(RKE1_KDM)?;
    let mut ours = data["K8sVersionRKESystemImages"]["v1.20.15-rancher2-1"].clone();
    for (key, image) in images {
        // cluster.yml keys are RKE1's snake_case, data.json's camelCase.
        let mut camel = String::new();
        let mut upper = false;
        for c in key.chars() {
            if c == '_' {
                upper = true;
            } else if upper {
                camel.push(c.to_ascii_uppercase());
                upper = false;
            } else {
                camel.push(c);
            }
        }
        ensure!(
            ours.get(&camel).is_some(),
            "RKE1's data.json has no image key {camel} (cluster.yml {key})"
        );
        ours[camel.as_str()] = json!(image);
    }
    data["K8sVersionRKESystemImages"][VERSION] = ours;
    if extra_flag {
        data["K8sVersionServiceOptions"]["v1.20"]["kubeapi"][EXTRA_FLAG.0] = json!(EXTRA_FLAG.1);
    }
    Ok(data)
}

pub fn kdm_data_drives_dry_run(ctx: &mut Ctx) -> anyhow::Result<()> {
    let listed = std::process::Command::new(env!("CARGO_BIN_EXE_rke"))
        .args(["config", "--list-version", "--all"])
        .env_remove("RANCHER_METADATA_URL")
        .env_remove("RKE_VERSION_TABLE")
        .output()?;
    let stdout = String::from_utf8_lossy(&listed.stdout);
    ensure!(
        listed.status.success()
            && stdout.contains("v1.20.15-rancher2-1")
            && !stdout.contains(VERSION),
        "the built-in table must list RKE1 v1.2.23's version and not {VERSION}: {stdout}"
    );
    let original = std::fs::read_to_string(ctx.config()).context("reading cluster.yml")?;
    let (yml, images) = without_system_images(&original, VERSION)?;
    std::fs::write(ctx.config(), &yml)?;
    let result = dry_runs(ctx, &images);
    ctx.rke_env.retain(|(k, _)| k != "RANCHER_METADATA_URL");
    std::fs::write(ctx.config(), original)?;
    result
}

fn dry_runs(ctx: &mut Ctx, images: &BTreeMap<String, String>) -> anyhow::Result<()> {
    // Without the data.json the version is unknown and nothing can name its images.
    let unknown = ctx.rke_up(&["--dry-run"]);
    ensure!(
        !matches!(unknown.code, Some(0) | Some(2)) && unknown.stderr.contains(VERSION),
        "without data.json, {VERSION} must be refused by name: {}",
        unknown.describe()
    );

    let path = ctx.work.join("data.json");
    std::fs::write(&path, serde_json::to_string(&kdm_data(images, false)?)?)?;
    ctx.rke_env
        .push(("RANCHER_METADATA_URL".into(), path.display().to_string()));
    // Same images, and RKE1's v1.20 flags, which are the built-in table's: nothing to change.
    ctx.dry_run(0)?;

    // One more kube-apiserver flag in the profile: exactly the two API servers change.
    std::fs::write(&path, serde_json::to_string(&kdm_data(images, true)?)?)?;
    let changed = ctx.dry_run(2)?;
    let flag = format!("--{}={}", EXTRA_FLAG.0, EXTRA_FLAG.1);
    for node in ["node1", "node2"] {
        ensure!(
            changed.stdout.contains(node),
            "the plan must name {node}: {}",
            changed.describe()
        );
    }
    // One line per change, indented under its node: two, both kube-apiserver's.
    let changes: Vec<&str> = changed
        .stdout
        .lines()
        .filter(|l| l.starts_with("  "))
        .collect();
    ensure!(
        changes.len() == 2 && changes.iter().all(|l| l.contains("kube-apiserver")),
        "exactly the two kube-apiservers must change: {}",
        changed.describe()
    );
    println!("      the plan names kube-apiserver on node1 and node2 ({flag})");
    Ok(())
}
