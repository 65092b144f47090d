//! The addon step of `rke up`: apply each addon in order, wait for its rollout, delete what
//! it created before and no longer renders, and record what it created. Built-in addon
//! failures abort; user addon failures are warned about (as RKE1) and the run goes on.

use std::time::Duration;

use serde_json::Value;

use super::Addon;
use super::adopt::{self, Handling};
use super::apply::{Applier, apply_order, is_crd};
use super::inventory::{INVENTORY_NAME, INVENTORY_NAMESPACE, Inventory, record, stale};
use super::manifest::ObjectRef;
use super::rollout;
use crate::config::RkeConfig;
use crate::kube_api::KubeClient;

fn inventory_ref() -> ObjectRef {
    ObjectRef {
        api_version: "v1".into(),
        kind: "ConfigMap".into(),
        namespace: INVENTORY_NAMESPACE.into(),
        name: INVENTORY_NAME.into(),
    }
}

pub(super) async fn read_inventory(applier: &mut Applier) -> anyhow::Result<Inventory> {
    let Some(cm) = applier.get(&inventory_ref()).await? else {
        return Ok(Inventory::default());
    };
    Inventory::from_config_map(&cm)
}

/// Apply one addon: CRDs and Namespaces first (waiting for the CRDs to be served), then the
/// rest, then its rollout. Returns what was applied.
async fn apply_addon(
    applier: &mut Applier,
    addon: &Addon,
    timeout: Duration,
) -> anyhow::Result<Vec<ObjectRef>> {
    let (first, rest) = apply_order(&addon.objects);
    let mut applied = Vec::new();
    for object in &first {
        applied.push(applier.apply(addon.name, object).await?);
    }
    for object in first.iter().filter(|o| is_crd(o)) {
        let name = object["metadata"]["name"].as_str().unwrap_or_default();
        applier
            .wait_crd_established(addon.name, name, timeout)
            .await?;
    }
    for object in &rest {
        applied.push(applier.apply(addon.name, object).await?);
    }
    rollout::wait(applier, addon.name, &applied, timeout).await?;
    Ok(applied)
}

/// Deploy `addons` (every addon, in order; empty ones delete what they had) with
/// `timeout` per addon for CRDs and rollouts. `applied` is the config of the last run (RKE1's
/// after a takeover): addons RKE1 deployed keep RKE1's objects while their settings are those
/// (`super::adopt`).
pub async fn deploy(
    kube: &KubeClient,
    addons: &[Addon],
    applied: Option<&RkeConfig>,
    timeout: Duration,
) -> anyhow::Result<()> {
    let mut applier = Applier::new(kube.client.clone());
    let previous = read_inventory(&mut applier).await?;
    let decisions = adopt::decide(&mut applier, addons, applied, &previous).await?;
    let rendered: Vec<ObjectRef> = addons
        .iter()
        .flat_map(|a| a.objects.iter().map(ObjectRef::of))
        .collect();
    let mut next = Inventory::default();
    let mut failure = None;
    for (i, (addon, decision)) in addons.iter().zip(&decisions).enumerate() {
        let before = previous.objects(addon.name);
        adopt::announce(addon.name, decision, false);
        match decision.handling {
            Handling::Adopt => {
                next.addons
                    .insert(addon.name.into(), decision.rke1_objects.clone());
                next.adopted.insert(addon.name.into());
                continue;
            }
            Handling::Keep => {
                next.addons.insert(addon.name.into(), before.to_vec());
                next.adopted.insert(addon.name.into());
                continue;
            }
            Handling::Apply | Handling::Replace => {}
        }
        let attempt = async {
            let applied = apply_addon(&mut applier, addon, timeout).await?;
            for r in stale(before, &rendered) {
                tracing::info!(addon = addon.name, "deleting {r}: no longer in the addon");
                applier.delete(r).await?;
            }
            anyhow::Ok(applied)
        }
        .await;
        match attempt {
            Ok(applied) => {
                if !applied.is_empty() {
                    tracing::info!(
                        addon = addon.name,
                        objects = applied.len(),
                        "addon deployed"
                    );
                }
                next.addons
                    .insert(addon.name.into(), record(before, &applied, true));
            }
            Err(e) => {
                let wanted: Vec<ObjectRef> = addon.objects.iter().map(ObjectRef::of).collect();
                next.addons
                    .insert(addon.name.into(), record(before, &wanted, false));
                if addon.critical {
                    // Remember what the addons not reached had, so a later run still
                    // cleans up after them.
                    for later in &addons[i + 1..] {
                        next.addons
                            .insert(later.name.into(), previous.objects(later.name).to_vec());
                        if previous.adopted.contains(later.name) {
                            next.adopted.insert(later.name.into());
                        }
                    }
                    failure = Some(e.context(format!("deploying addon {}", addon.name)));
                    break;
                }
                tracing::warn!(
                    "!!! USER ADDON {} FAILED (rke up goes on, as RKE1 does): {e:#}",
                    addon.name
                );
            }
        }
    }
    write_inventory(&mut applier, &next).await?;
    match failure {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

async fn write_inventory(applier: &mut Applier, inventory: &Inventory) -> anyhow::Result<()> {
    let cm: Value = inventory.config_map();
    // Replace the whole data map: keys of addons without objects must disappear, which a
    // server-side apply by the same manager does.
    applier.apply("inventory", &cm).await.map(|_| ())
}
