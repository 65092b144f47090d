//! Configuration files RKE1 renders from `cluster.yml` (rke1.md §3.9): the consolidated
//! admission configuration, the audit policy and the kubelet's registry credentials.

use super::super::context::Cluster;
use crate::config::RkeConfig;
use crate::config::defaults::default_event_rate_limit_config;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

const EVENT_RATE_LIMIT: &str = "EventRateLimit";
const POD_SECURITY: &str = "PodSecurity";

fn has_plugin(config: &Value, name: &str) -> bool {
    config["plugins"]
        .as_array()
        .is_some_and(|plugins| plugins.iter().any(|p| p["name"] == name))
}

fn push_plugin(config: &mut Value, name: &str, configuration: Value) {
    if !config["plugins"].is_array() {
        config["plugins"] = json!([]);
    }
    if let Some(plugins) = config["plugins"].as_array_mut() {
        plugins.push(json!({ "name": name, "configuration": configuration }));
    }
}

/// The PodSecurity admission defaults RKE1 writes for `pod_security_configuration`
/// (`newDefaultPodSecurityPluginConfiguration*`): `v1beta1` for 1.23-1.24, `v1` after.
fn pod_security(level: &str, minor: u32) -> Option<Value> {
    let api_version = if minor >= 25 {
        "pod-security.admission.config.k8s.io/v1"
    } else {
        "pod-security.admission.config.k8s.io/v1beta1"
    };
    let defaults = match level {
        "privileged" => json!({ "enforce": "privileged", "enforce-version": "latest" }),
        "restricted" => json!({
            "enforce": "restricted", "enforce-version": "latest",
            "audit": "restricted", "audit-version": "latest",
            "warn": "restricted", "warn-version": "latest",
        }),
        _ => return None,
    };
    let mut config = json!({
        "apiVersion": api_version,
        "kind": "PodSecurityConfiguration",
        "defaults": defaults,
    });
    if level == "restricted" {
        config["exemptions"] = json!({ "namespaces": ["ingress-nginx", "kube-system"] });
    }
    Some(config)
}

/// RKE1 `getConsolidatedAdmissionConfiguration`: the user's admission configuration (or an
/// empty one) plus EventRateLimit and, from 1.23, PodSecurity, unless the user configured those
/// plugins themselves.
pub fn admission_config(cluster: &Cluster) -> anyhow::Result<String> {
    let api = &cluster.cfg.services.kube_api;
    let mut config = api.admission_configuration.clone().unwrap_or_else(|| {
        json!({
            "apiVersion": "apiserver.config.k8s.io/v1",
            "kind": "AdmissionConfiguration",
            "plugins": [],
        })
    });
    if let Some(limit) = api.event_rate_limit.as_ref().filter(|l| l.enabled)
        && !has_plugin(&config, EVENT_RATE_LIMIT)
    {
        let configuration = limit
            .configuration
            .clone()
            .unwrap_or_else(default_event_rate_limit_config);
        push_plugin(&mut config, EVENT_RATE_LIMIT, configuration);
    }
    if cluster.at_least(23)
        && !has_plugin(&config, POD_SECURITY)
        && let Some(pod_security) =
            pod_security(&api.pod_security_configuration, cluster.version.minor)
    {
        push_plugin(&mut config, POD_SECURITY, pod_security);
    }
    Ok(serde_saphyr::to_string(&config)?)
}

/// The audit policy file, when audit logging is on and the user did not point the API server
/// at their own policy file.
pub fn audit_policy(cfg: &RkeConfig) -> anyhow::Result<Option<String>> {
    let api = &cfg.services.kube_api;
    if api.extra_args.contains_key("audit-policy-file") {
        return Ok(None);
    }
    let policy = api
        .audit_log
        .as_ref()
        .filter(|a| a.enabled)
        .and_then(|a| a.configuration.as_ref())
        .and_then(|c| c.policy.as_ref());
    match policy {
        Some(policy) => Ok(Some(serde_saphyr::to_string(policy)?)),
        None => Ok(None),
    }
}

/// `/var/lib/kubelet/config.json` with the credentials of every private registry that has
/// them (RKE1 `GetKubeletDockerConfig`). RKE1 passed this base64 in the kubelet's environment;
/// here it is only ever a file.
pub fn registry_credentials(cfg: &RkeConfig) -> Option<String> {
    let mut auths = serde_json::Map::new();
    let mut registries: Vec<_> = cfg
        .private_registries
        .iter()
        .filter(|r| !r.user.is_empty())
        .collect();
    registries.sort_by(|a, b| a.url.cmp(&b.url));
    for r in registries {
        let auth = STANDARD.encode(format!("{}:{}", r.user, r.password));
        auths.insert(r.url.clone(), json!({ "auth": auth }));
    }
    if auths.is_empty() {
        return None;
    }
    Some(format!("{:#}\n", json!({ "auths": auths })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::PrivateRegistry;

    #[test]
    fn pod_security_levels_by_version() {
        let p = pod_security("privileged", 24).unwrap();
        assert_eq!(
            p["apiVersion"],
            "pod-security.admission.config.k8s.io/v1beta1"
        );
        assert_eq!(p["defaults"]["enforce"], "privileged");
        assert!(p.get("exemptions").is_none());
        let r = pod_security("restricted", 32).unwrap();
        assert_eq!(r["apiVersion"], "pod-security.admission.config.k8s.io/v1");
        assert_eq!(r["defaults"]["warn"], "restricted");
        assert_eq!(r["exemptions"]["namespaces"][1], "kube-system");
        assert!(pod_security("", 32).is_none());
    }

    #[test]
    fn registry_credentials_only_for_registries_with_users() {
        let mut cfg = RkeConfig::default();
        assert_eq!(registry_credentials(&cfg), None);
        cfg.private_registries = vec![
            PrivateRegistry {
                url: "registry.example.com".into(),
                user: "u".into(),
                password: "p".into(),
                ..Default::default()
            },
            PrivateRegistry {
                url: "public.example.com".into(),
                ..Default::default()
            },
        ];
        let text = registry_credentials(&cfg).unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["auths"]["registry.example.com"]["auth"], "dTpw");
        assert!(v["auths"].get("public.example.com").is_none());
    }
}
