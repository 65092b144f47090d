//! Authentication, authorization, pod security and secrets encryption.

use super::report::Report;
use super::suggest::one_of;
use super::version::K8sVersion;
use crate::config::RkeConfig;

const AUTHN_STRATEGIES: [&str; 2] = ["x509", "webhook"];
const AUTHZ_MODES: [&str; 2] = ["rbac", "none"];
const POD_SECURITY_LEVELS: [&str; 2] = ["privileged", "restricted"];

pub fn check(cfg: &RkeConfig, version: Option<K8sVersion>, r: &mut Report) {
    check_authentication(&cfg.authentication.strategy, r);
    let mode = cfg.authorization.mode.as_str();
    if !mode.is_empty() && !AUTHZ_MODES.contains(&mode) {
        r.error(
            "authorization.mode",
            format!(
                "authorization mode {mode:?} is not supported: {}",
                one_of(mode, &AUTHZ_MODES)
            ),
        );
    }
    let rbac = mode.is_empty() || mode == "rbac";
    check_pod_security(cfg, version, rbac, r);
    if let Some(enc) = &cfg.services.kube_api.secrets_encryption_config
        && enc.custom_config.is_some()
        && !enc.enabled
    {
        r.warning(
            "services.kube-api.secrets_encryption_config.custom_config",
            "custom_config is ignored because secrets encryption is not enabled (set enabled: true)",
        );
    }
}

/// `strategy` is a `|`-separated list (`x509|webhook`); x509 is mandatory because rke's own
/// components authenticate with certificates.
fn check_authentication(strategy: &str, r: &mut Report) {
    const PATH: &str = "authentication.strategy";
    if strategy.trim().is_empty() {
        return;
    }
    let mut has_x509 = false;
    for part in strategy.split('|').map(|s| s.trim().to_lowercase()) {
        if part == "x509" {
            has_x509 = true;
        } else if !AUTHN_STRATEGIES.contains(&part.as_str()) {
            r.error(
                PATH,
                format!(
                    "authentication strategy {part:?} is not supported: {}",
                    one_of(&part, &AUTHN_STRATEGIES)
                ),
            );
        }
    }
    if !has_x509 {
        r.error(
            PATH,
            format!(
                "authentication strategy {strategy:?} must include x509 (e.g. \"x509|webhook\")"
            ),
        );
    }
}

fn check_pod_security(cfg: &RkeConfig, version: Option<K8sVersion>, rbac: bool, r: &mut Report) {
    let api = &cfg.services.kube_api;
    let level = api.pod_security_configuration.as_str();
    if !level.is_empty() {
        const PATH: &str = "services.kube-api.pod_security_configuration";
        if !POD_SECURITY_LEVELS.contains(&level) {
            r.error(
                PATH,
                format!(
                    "pod_security_configuration {level:?} is not supported: {}",
                    one_of(level, &POD_SECURITY_LEVELS)
                ),
            );
        }
        if !rbac {
            r.error(PATH, "pod security needs authorization mode rbac");
        }
        if let Some(v) = version
            && !v.at_least(1, 23)
        {
            r.error(
                PATH,
                format!(
                    "pod_security_configuration needs Kubernetes 1.23 or newer (this is v{}.{})",
                    v.major, v.minor
                ),
            );
        }
    }
    if api.pod_security_policy {
        const PATH: &str = "services.kube-api.pod_security_policy";
        if !rbac {
            r.error(PATH, "PodSecurityPolicy needs authorization mode rbac");
        }
        if let Some(v) = version
            && v.at_least(1, 25)
        {
            r.error(
                PATH,
                "PodSecurityPolicy was removed in Kubernetes 1.25: use pod_security_configuration",
            );
        }
    }
}
