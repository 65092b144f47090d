//! Server-side apply that writes only when something would change: the same apply is first sent
//! with `dryRun=All`, and when the object the API server would store is the one it holds (its
//! field ownership included), nothing is written. A run over an unchanged cluster then makes no
//! API write; an object that differs, or is owned differently, is applied exactly as before.

use std::fmt::Debug;

use kube::Api;
use kube::api::{Patch, PatchParams};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Server-side apply `object` as `manager` (forcing conflicts), unless a dry run of it says the
/// stored object would not change. Returns whether it wrote.
pub async fn apply_if_changed<K>(
    api: &Api<K>,
    name: &str,
    manager: &str,
    object: &K,
) -> kube::Result<bool>
where
    K: Clone + Debug + Serialize + DeserializeOwned,
{
    let params = PatchParams::apply(manager).force();
    if let Some(live) = api.get_opt(name).await? {
        let would_be = api
            .patch(name, &params.clone().dry_run(), &Patch::Apply(object))
            .await?;
        if same_stored(&to_value(&live)?, &to_value(&would_be)?) {
            return Ok(false);
        }
    }
    api.patch(name, &params, &Patch::Apply(object)).await?;
    Ok(true)
}

fn to_value<K: Serialize>(object: &K) -> kube::Result<Value> {
    serde_json::to_value(object).map_err(kube::Error::SerdeError)
}

/// Whether `would_be` (a dry run's answer) stores the same as `live`: equal once the fields the
/// server sets on every write are left out (`resourceVersion`, the time of each field
/// manager's entry) and the managers' entries are put in one order.
pub fn same_stored(live: &Value, would_be: &Value) -> bool {
    normalized(live) == normalized(would_be)
}

fn normalized(object: &Value) -> Value {
    let mut object = object.clone();
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("resourceVersion");
        if let Some(Value::Array(entries)) = meta.get_mut("managedFields") {
            for entry in entries.iter_mut() {
                if let Some(entry) = entry.as_object_mut() {
                    entry.remove("time");
                }
            }
            entries.sort_by_key(|e| e.to_string());
        }
    }
    object
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn stored(rv: &str, time: &str, data: &str, manager: &str) -> Value {
        json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "x", "resourceVersion": rv, "managedFields": [
                {"manager": "kube-controller-manager", "operation": "Update",
                 "time": "2026-01-01T00:00:00Z", "fieldsV1": {"f:metadata": {}}},
                {"manager": manager, "operation": "Apply", "time": time,
                 "fieldsV1": {"f:data": {"f:k": {}}}},
            ]},
            "data": {"k": data},
        })
    }

    #[test]
    fn a_no_op_apply_differs_only_in_version_and_times() {
        let live = stored("10", "2026-01-01T00:00:00Z", "v", "rke");
        let mut would_be = stored("11", "2026-12-07T11:00:00Z", "v", "rke");
        assert!(same_stored(&live, &would_be));
        // The managers' entries in another order store the same.
        let entries = would_be["metadata"]["managedFields"]
            .as_array_mut()
            .unwrap();
        entries.reverse();
        assert!(same_stored(&live, &would_be));
    }

    #[test]
    fn changed_data_or_ownership_is_a_change() {
        let live = stored("10", "2026-01-01T00:00:00Z", "v", "rke");
        assert!(!same_stored(
            &live,
            &stored("10", "2026-01-01T00:00:00Z", "w", "rke")
        ));
        // Taking the fields over from another manager changes who owns them: written.
        let kubectl = stored("10", "2026-01-01T00:00:00Z", "v", "kubectl");
        assert!(!same_stored(
            &kubectl,
            &stored("10", "2026-01-01T00:00:00Z", "v", "rke")
        ));
    }
}
