//! Addons that RKE1 deployed, taken over without re-rolling them. RKE1 keeps what each addon
//! job applied in ConfigMap `kube-system/<addon>` (data key `<addon>`: the rendered YAML). While
//! an addon's settings stay what RKE1 applied, rke keeps RKE1's objects as they are: it records
//! them in its inventory (adopts them) and applies nothing, because rke's own rendering of a
//! built-in addon differs from RKE1's and applying it would re-roll the CNI or DNS of a running
//! cluster. The first change of the addon's settings moves it to rke's rendering; what RKE1 had
//! and rke does not render is then deleted through the inventory as usual.

use serde::Serialize;
use serde_json::Value;

use super::Addon;
use super::apply::Applier;
use super::inventory::Inventory;
use super::manifest::{ObjectRef, parse_documents};
use crate::config::RkeConfig;

/// The inventory ConfigMap's annotation listing the addons whose objects are RKE1's
/// (comma-separated addon names).
pub const ADOPTED_ANNOTATION: &str = "rke.io/adopted-from-rke1";

/// What happens to one addon this run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Handling {
    /// rke's rendering is applied (the usual case).
    Apply,
    /// First run after RKE1: RKE1's objects are recorded as the addon's and kept as they are.
    Adopt,
    /// Adopted earlier and the settings have not changed: RKE1's objects stay.
    Keep,
    /// Adopted earlier and the settings changed: rke's rendering replaces RKE1's objects.
    Replace,
}

/// What rke knows of one addon's past, for [`handling`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Past {
    /// The inventory marks the addon's objects as RKE1's.
    pub adopted: bool,
    /// The inventory records objects rke applied for the addon.
    pub deployed_by_rke: bool,
    /// RKE1's ConfigMap for the addon exists and holds objects.
    pub deployed_by_rke1: bool,
    /// The addon's settings are those RKE1 (or the last run) applied: see [`settings_unchanged`].
    pub settings_unchanged: bool,
}

/// The decision, pure: adopt only what rke never applied itself and whose settings are RKE1's.
pub fn handling(past: Past) -> Handling {
    match (past.adopted, past.settings_unchanged) {
        (true, true) => Handling::Keep,
        (true, false) => Handling::Replace,
        (false, true) if past.deployed_by_rke1 && !past.deployed_by_rke => Handling::Adopt,
        (false, _) => Handling::Apply,
    }
}

/// Whether `addon`'s settings are those last applied. A user addon (`addons`,
/// `addons_include`) is its YAML: unchanged when the objects are those in RKE1's ConfigMap
/// (`rke1_objects`). A built-in addon is rendered from cluster.yml's settings: unchanged when
/// rke renders the same objects from the last applied config (`applied`, RKE1's own after a
/// takeover) as from the current one; a config rke cannot render counts as changed.
pub fn settings_unchanged(
    addon: &Addon,
    applied: Option<&RkeConfig>,
    rke1_objects: Option<&[Value]>,
) -> bool {
    if !addon.critical {
        return rke1_objects.is_some_and(|objects| objects == addon.objects.as_slice());
    }
    let Some(applied) = applied else {
        return false;
    };
    match super::render::builtin_addons(applied) {
        Ok(before) => before
            .iter()
            .find(|a| a.name == addon.name)
            .is_some_and(|a| a.objects == addon.objects),
        Err(e) => {
            tracing::debug!(
                addon = addon.name,
                "the applied config does not render: {e:#}"
            );
            false
        }
    }
}

/// The objects RKE1 applied for `addon`, from its ConfigMap's data (`None` when RKE1 left no
/// ConfigMap, or it holds nothing).
pub fn rke1_objects(addon: &str, config_map: Option<&Value>) -> anyhow::Result<Option<Vec<Value>>> {
    let Some(text) = config_map
        .and_then(|cm| cm["data"][addon].as_str())
        .filter(|t| !t.trim().is_empty())
    else {
        return Ok(None);
    };
    let source = format!("ConfigMap kube-system/{addon} (RKE1's)");
    let objects = parse_documents(addon, &source, text)?;
    Ok((!objects.is_empty()).then_some(objects))
}

/// One addon's handling this run; with [`Handling::Adopt`], the objects RKE1 applied.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub handling: Handling,
    pub rke1_objects: Vec<ObjectRef>,
}

/// Decide, for every addon (in order), whether RKE1's objects are adopted, kept, replaced or
/// rke's rendering is simply applied. Reads RKE1's ConfigMap of an addon only where it can
/// matter: never for an addon rke applied itself.
pub async fn decide(
    applier: &mut Applier,
    addons: &[Addon],
    applied: Option<&RkeConfig>,
    inventory: &Inventory,
) -> anyhow::Result<Vec<Decision>> {
    let mut out = Vec::with_capacity(addons.len());
    for addon in addons {
        let adopted = inventory.adopted.contains(addon.name);
        let deployed_by_rke = !adopted && !inventory.objects(addon.name).is_empty();
        let rke1 = if deployed_by_rke || (addon.critical && adopted) {
            None
        } else {
            let cm = applier.get(&rke1_config_map(addon.name)).await?;
            rke1_objects(addon.name, cm.as_ref())?
        };
        let past = Past {
            adopted,
            deployed_by_rke,
            deployed_by_rke1: rke1.is_some(),
            settings_unchanged: !deployed_by_rke
                && settings_unchanged(addon, applied, rke1.as_deref()),
        };
        let handling = handling(past);
        let rke1_objects = match (&handling, &rke1) {
            (Handling::Adopt, Some(objects)) => objects.iter().map(ObjectRef::of).collect(),
            _ => Vec::new(),
        };
        out.push(Decision {
            handling,
            rke1_objects,
        });
    }
    Ok(out)
}

/// Log what a decision means for `addon`, in the words of the dry run (`dry_run`) or of the
/// run; returns whether it is a change (adopting writes the inventory).
pub fn announce(addon: &str, decision: &Decision, dry_run: bool) -> bool {
    match decision.handling {
        Handling::Apply | Handling::Keep => false,
        Handling::Adopt => {
            let verb = if dry_run { "would adopt" } else { "adopted" };
            tracing::info!(
                addon,
                "{verb} RKE1's {} objects as they are (settings unchanged since RKE1 applied them; rke's rendering is not applied)",
                decision.rke1_objects.len()
            );
            true
        }
        Handling::Replace => {
            let verb = if dry_run {
                "would replace"
            } else {
                "replacing"
            };
            tracing::info!(
                addon,
                "settings changed since RKE1 applied it: {verb} RKE1's objects with rke's rendering"
            );
            true
        }
    }
}

/// RKE1's ConfigMap for an addon.
pub fn rke1_config_map(addon: &str) -> ObjectRef {
    ObjectRef {
        api_version: "v1".into(),
        kind: "ConfigMap".into(),
        namespace: "kube-system".into(),
        name: addon.into(),
    }
}

/// The addon names in the annotation's value.
pub fn parse_adopted(value: Option<&str>) -> std::collections::BTreeSet<String> {
    value
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn past(adopted: bool, by_rke: bool, by_rke1: bool, unchanged: bool) -> Past {
        Past {
            adopted,
            deployed_by_rke: by_rke,
            deployed_by_rke1: by_rke1,
            settings_unchanged: unchanged,
        }
    }

    #[test]
    fn rke1_addons_are_adopted_only_when_rke_never_applied_them_and_settings_are_rke1s() {
        assert_eq!(handling(past(false, false, true, true)), Handling::Adopt);
        // Settings changed in the same run as the takeover: rke's rendering at once.
        assert_eq!(handling(past(false, false, true, false)), Handling::Apply);
        // rke applied it before (e.g. after a Replace): never adopted again.
        assert_eq!(handling(past(false, true, true, true)), Handling::Apply);
        assert_eq!(handling(past(false, false, false, true)), Handling::Apply);
    }

    #[test]
    fn adopted_addons_stay_until_their_settings_change() {
        assert_eq!(handling(past(true, true, true, true)), Handling::Keep);
        assert_eq!(handling(past(true, true, true, false)), Handling::Replace);
    }

    fn cm(addon: &str, yaml: &str) -> Value {
        serde_json::json!({"data": {addon: yaml}})
    }

    #[test]
    fn a_user_addon_is_unchanged_when_rke1_applied_the_same_objects() {
        let yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  k: v\n";
        let objects = parse_documents("rke-user-addon", "addons", yaml).unwrap();
        let addon = Addon::user("rke-user-addon", objects);
        let rke1 = rke1_objects("rke-user-addon", Some(&cm("rke-user-addon", yaml)))
            .unwrap()
            .unwrap();
        assert!(settings_unchanged(&addon, None, Some(&rke1)));
        let other = rke1_objects(
            "rke-user-addon",
            Some(&cm("rke-user-addon", &yaml.replace("k: v", "k: w"))),
        )
        .unwrap()
        .unwrap();
        assert!(!settings_unchanged(&addon, None, Some(&other)));
        assert!(!settings_unchanged(&addon, None, None));
    }

    #[test]
    fn rke1_config_maps_without_objects_are_nothing_to_adopt() {
        assert!(rke1_objects("x", None).unwrap().is_none());
        assert!(rke1_objects("x", Some(&cm("x", "  \n"))).unwrap().is_none());
        assert!(
            rke1_objects("x", Some(&cm("y", "kind: ConfigMap")))
                .unwrap()
                .is_none()
        );
        let err = rke1_objects("x", Some(&cm("x", "a: [")))
            .unwrap_err()
            .to_string();
        assert!(err.contains("ConfigMap kube-system/x (RKE1's)"), "{err}");
    }

    #[test]
    fn the_annotation_lists_addon_names() {
        let set = parse_adopted(Some("rke-coredns-addon, rke-user-addon,"));
        assert_eq!(
            set.into_iter().collect::<Vec<_>>(),
            ["rke-coredns-addon", "rke-user-addon"]
        );
        assert!(parse_adopted(None).is_empty());
    }
}
