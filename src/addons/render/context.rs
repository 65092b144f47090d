//! The values the templates see, computed from the effective config (defaults applied,
//! `system_images` merged): plain JSON, with Kubernetes field names where a value is
//! inserted into a manifest as is (tolerations, update strategies).

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::config::types::{
    DaemonSetUpdateStrategy, DeploymentStrategy, IntOrString, RkeConfig, RollingUpdateDeployment,
    Toleration,
};

/// The part every template shares.
pub fn common(cfg: &RkeConfig) -> Map<String, Value> {
    let images: BTreeMap<&str, &str> = cfg.system_images.iter().collect();
    let mut ctx = Map::new();
    ctx.insert("rbac".into(), json!(cfg.authorization.mode == "rbac"));
    ctx.insert("images".into(), json!(images));
    let services = &cfg.services;
    ctx.insert(
        "cluster_cidr".into(),
        json!(services.kube_controller.cluster_cidr),
    );
    ctx.insert(
        "service_cidr".into(),
        json!(services.kube_controller.service_cluster_ip_range),
    );
    ctx.insert(
        "cluster_dns_server".into(),
        json!(services.kubelet.cluster_dns_server),
    );
    ctx.insert(
        "cluster_domain".into(),
        json!(services.kubelet.cluster_domain),
    );
    ctx
}

fn int_or_string(v: &IntOrString) -> Value {
    match v {
        IntOrString::Int(n) => json!(n),
        IntOrString::String(s) => json!(s),
    }
}

fn rolling(r: &Option<RollingUpdateDeployment>) -> Option<Value> {
    let r = r.as_ref()?;
    let mut m = Map::new();
    if let Some(v) = &r.max_unavailable {
        m.insert("maxUnavailable".into(), int_or_string(v));
    }
    if let Some(v) = &r.max_surge {
        m.insert("maxSurge".into(), int_or_string(v));
    }
    Some(Value::Object(m))
}

fn strategy(kind: &str, rolling_update: &Option<RollingUpdateDeployment>) -> Value {
    let mut m = Map::new();
    if !kind.is_empty() {
        m.insert("type".into(), json!(kind));
    }
    // `rollingUpdate` is only valid with the rolling strategy.
    if (kind.is_empty() || kind == "RollingUpdate")
        && let Some(r) = rolling(rolling_update)
    {
        m.insert("rollingUpdate".into(), r);
    }
    Value::Object(m)
}

/// A DaemonSet `updateStrategy`, or null when the config has none.
pub fn daemonset_strategy(s: &Option<DaemonSetUpdateStrategy>) -> Value {
    s.as_ref()
        .map(|s| strategy(&s.strategy, &s.rolling_update))
        .unwrap_or(Value::Null)
}

/// A Deployment `strategy`, or null when the config has none.
pub fn deployment_strategy(s: &Option<DeploymentStrategy>) -> Value {
    s.as_ref()
        .map(|s| strategy(&s.strategy, &s.rolling_update))
        .unwrap_or(Value::Null)
}

/// Tolerations with Kubernetes field names, empty fields left out.
pub fn tolerations(list: &[Toleration]) -> Value {
    let out: Vec<Value> = list
        .iter()
        .map(|t| {
            let mut m = Map::new();
            for (k, v) in [
                ("key", &t.key),
                ("operator", &t.operator),
                ("value", &t.value),
                ("effect", &t.effect),
            ] {
                if !v.is_empty() {
                    m.insert(k.into(), json!(v));
                }
            }
            if let Some(s) = t.toleration_seconds {
                m.insert("tolerationSeconds".into(), json!(s));
            }
            Value::Object(m)
        })
        .collect();
    Value::Array(out)
}

/// An option's value, or `default` when unset or empty.
pub fn option<'a>(options: &'a BTreeMap<String, String>, key: &str, default: &'a str) -> &'a str {
    options
        .get(key)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
        .unwrap_or(default)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strategies_use_kubernetes_field_names() {
        let ds = DaemonSetUpdateStrategy {
            strategy: "RollingUpdate".into(),
            rolling_update: Some(RollingUpdateDeployment {
                max_unavailable: Some(IntOrString::String("20%".into())),
                max_surge: Some(IntOrString::Int(1)),
            }),
        };
        assert_eq!(
            daemonset_strategy(&Some(ds)),
            json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "20%", "maxSurge": 1}})
        );
        let recreate = DeploymentStrategy {
            strategy: "Recreate".into(),
            rolling_update: Some(RollingUpdateDeployment::default()),
        };
        assert_eq!(
            deployment_strategy(&Some(recreate)),
            json!({"type": "Recreate"})
        );
        assert_eq!(deployment_strategy(&None), Value::Null);
    }

    #[test]
    fn tolerations_leave_out_empty_fields() {
        let t = Toleration {
            key: "k".into(),
            operator: "Exists".into(),
            toleration_seconds: Some(30),
            ..Default::default()
        };
        assert_eq!(
            tolerations(&[t]),
            json!([{"key": "k", "operator": "Exists", "tolerationSeconds": 30}])
        );
    }
}
