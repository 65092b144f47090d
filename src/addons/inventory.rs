//! What each addon created, kept in the cluster (ConfigMap `kube-system/rke-addon-inventory`,
//! one data key per addon, a JSON list of object refs), so a later run deletes what is no
//! longer rendered.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::manifest::ObjectRef;
use crate::error::{ErrorKind, classified};

pub const INVENTORY_NAMESPACE: &str = "kube-system";
pub const INVENTORY_NAME: &str = "rke-addon-inventory";

/// Addon name → the objects it created.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inventory {
    pub addons: BTreeMap<String, Vec<ObjectRef>>,
    /// Addons whose recorded objects are RKE1's, kept as RKE1 applied them (`super::adopt`).
    pub adopted: BTreeSet<String>,
}

impl Inventory {
    /// Read the ConfigMap's `data` (absent ConfigMap: pass an empty map).
    pub fn from_config_map(cm: &Value) -> anyhow::Result<Inventory> {
        let data: BTreeMap<String, String> =
            serde_json::from_value(cm["data"].clone()).unwrap_or_default();
        let mut inventory = Inventory::from_data(&data)?;
        inventory.adopted = super::adopt::parse_adopted(
            cm["metadata"]["annotations"][super::adopt::ADOPTED_ANNOTATION].as_str(),
        );
        Ok(inventory)
    }

    pub fn from_data(data: &BTreeMap<String, String>) -> anyhow::Result<Inventory> {
        let mut addons = BTreeMap::new();
        for (addon, text) in data {
            let refs: Vec<ObjectRef> = serde_json::from_str(text).map_err(|e| {
                classified(
                    ErrorKind::KubernetesApi,
                    format!(
                        "ConfigMap {INVENTORY_NAMESPACE}/{INVENTORY_NAME}: key {addon}: not a list of objects: {e}"
                    ),
                )
            })?;
            addons.insert(addon.clone(), refs);
        }
        Ok(Inventory {
            addons,
            adopted: BTreeSet::new(),
        })
    }

    /// The ConfigMap's `data`; addons without objects are left out.
    pub fn to_data(&self) -> BTreeMap<String, String> {
        self.addons
            .iter()
            .filter(|(_, refs)| !refs.is_empty())
            .map(|(addon, refs)| {
                let text = serde_json::to_string(refs).unwrap_or_else(|_| "[]".into());
                (addon.clone(), text)
            })
            .collect()
    }

    /// The whole ConfigMap, for server-side apply.
    pub fn config_map(&self) -> Value {
        let mut metadata =
            serde_json::json!({"name": INVENTORY_NAME, "namespace": INVENTORY_NAMESPACE});
        if !self.adopted.is_empty() {
            let names: Vec<&str> = self.adopted.iter().map(String::as_str).collect();
            metadata["annotations"] =
                serde_json::json!({ super::adopt::ADOPTED_ANNOTATION: names.join(",") });
        }
        serde_json::json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": metadata,
            "data": self.to_data(),
        })
    }

    pub fn objects(&self, addon: &str) -> &[ObjectRef] {
        self.addons.get(addon).map(Vec::as_slice).unwrap_or(&[])
    }
}

/// Objects recorded for `addon` that no addon renders any more, newest first (reverse
/// creation order, so dependents go before what they depend on), CRDs and namespaces last.
pub fn stale<'a>(recorded: &'a [ObjectRef], rendered_anywhere: &[ObjectRef]) -> Vec<&'a ObjectRef> {
    let mut gone: Vec<&ObjectRef> = recorded
        .iter()
        .rev()
        .filter(|r| !rendered_anywhere.iter().any(|o| o.same_object(r)))
        .collect();
    gone.sort_by_key(|r| matches!(r.kind.as_str(), "CustomResourceDefinition" | "Namespace"));
    gone
}

/// What to record for an addon after its run: what it rendered when it was applied; when
/// it failed, also what it had before, so nothing is forgotten and a later run still
/// cleans up.
pub fn record(previous: &[ObjectRef], rendered: &[ObjectRef], applied: bool) -> Vec<ObjectRef> {
    let mut out: Vec<ObjectRef> = if applied {
        Vec::new()
    } else {
        previous.to_vec()
    };
    for r in rendered {
        if let Some(existing) = out.iter_mut().find(|o| o.same_object(r)) {
            *existing = r.clone();
        } else {
            out.push(r.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(kind: &str, ns: &str, name: &str) -> ObjectRef {
        let api_version = match kind {
            "Deployment" => "apps/v1",
            "CustomResourceDefinition" => "apiextensions.k8s.io/v1",
            _ => "v1",
        };
        ObjectRef {
            api_version: api_version.into(),
            kind: kind.into(),
            namespace: ns.into(),
            name: name.into(),
        }
    }

    #[test]
    fn stale_objects_are_those_no_addon_renders_in_reverse_order_crds_last() {
        let recorded = vec![
            r("CustomResourceDefinition", "", "crd"),
            r("Namespace", "", "ns"),
            r("ConfigMap", "ns", "a"),
            r("Deployment", "ns", "d"),
            r("ConfigMap", "ns", "kept"),
            r("ConfigMap", "ns", "moved"),
        ];
        let rendered = vec![r("ConfigMap", "ns", "kept"), r("ConfigMap", "ns", "moved")];
        let gone: Vec<String> = stale(&recorded, &rendered)
            .iter()
            .map(|r| r.to_string())
            .collect();
        assert_eq!(
            gone,
            [
                "Deployment ns/d",
                "ConfigMap ns/a",
                "Namespace ns",
                "CustomResourceDefinition crd"
            ]
        );
    }

    #[test]
    fn a_new_api_version_of_the_same_object_is_not_stale() {
        let mut old = r("Deployment", "x", "d");
        old.api_version = "apps/v1beta2".into();
        assert!(stale(&[old], &[r("Deployment", "x", "d")]).is_empty());
    }

    #[test]
    fn failed_addons_keep_what_they_had() {
        let previous = vec![r("ConfigMap", "x", "old")];
        let rendered = vec![r("ConfigMap", "x", "new")];
        assert_eq!(record(&previous, &rendered, true), rendered);
        assert_eq!(
            record(&previous, &rendered, false),
            vec![r("ConfigMap", "x", "old"), r("ConfigMap", "x", "new")]
        );
    }

    #[test]
    fn data_round_trip_leaves_out_empty_addons() {
        let mut inv = Inventory::default();
        inv.addons
            .insert("rke-user-addon".into(), vec![r("ConfigMap", "x", "a")]);
        inv.addons.insert("rke-metrics-addon".into(), vec![]);
        let data = inv.to_data();
        assert_eq!(
            data["rke-user-addon"],
            r#"[{"apiVersion":"v1","kind":"ConfigMap","namespace":"x","name":"a"}]"#
        );
        assert!(!data.contains_key("rke-metrics-addon"));
        let back = Inventory::from_data(&data).unwrap();
        assert_eq!(
            back.objects("rke-user-addon"),
            inv.objects("rke-user-addon")
        );
        let mut adopted = inv.clone();
        adopted.adopted.insert("rke-coredns-addon".into());
        let cm = adopted.config_map();
        assert_eq!(
            cm["metadata"]["annotations"][crate::addons::adopt::ADOPTED_ANNOTATION],
            "rke-coredns-addon"
        );
        let back = Inventory::from_config_map(&cm).unwrap();
        assert_eq!(back.adopted, adopted.adopted);
        assert!(inv.config_map()["metadata"].get("annotations").is_none());
        let bad = BTreeMap::from([("k".to_string(), "{".to_string())]);
        let err = Inventory::from_data(&bad).unwrap_err();
        assert!(format!("{err}").contains("key k"), "{err}");
    }
}
