//! The addons RKE deploys itself: DNS, ingress, metrics.

use super::report::Report;
use super::suggest::one_of;
use crate::config::RkeConfig;

pub const DNS_PROVIDERS: [&str; 3] = ["coredns", "kube-dns", "none"];
pub const INGRESS_PROVIDERS: [&str; 2] = ["nginx", "none"];
pub const INGRESS_NETWORK_MODES: [&str; 3] = ["hostNetwork", "hostPort", "none"];
/// Pod `dnsPolicy` values Kubernetes accepts.
const DNS_POLICIES: [&str; 4] = ["ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"];
pub const MONITORING_PROVIDERS: [&str; 2] = ["metrics-server", "none"];

pub fn check(cfg: &RkeConfig, r: &mut Report) {
    if let Some(dns) = &cfg.dns
        && !dns.provider.is_empty()
        && !DNS_PROVIDERS.contains(&dns.provider.as_str())
    {
        r.error(
            "dns.provider",
            format!(
                "DNS provider {:?} is not supported: {}",
                dns.provider,
                one_of(&dns.provider, &DNS_PROVIDERS)
            ),
        );
    }
    if let Some(dns) = &cfg.dns
        && dns.provider == "kube-dns"
    {
        r.error(
            "dns.provider",
            super::network::not_deployed("dns.provider", "kube-dns"),
        );
    }
    check_ingress(cfg, r);
    let monitoring = &cfg.monitoring.provider;
    if !monitoring.is_empty() && !MONITORING_PROVIDERS.contains(&monitoring.as_str()) {
        r.error(
            "monitoring.provider",
            format!(
                "monitoring provider {monitoring:?} is not supported: {}",
                one_of(monitoring, &MONITORING_PROVIDERS)
            ),
        );
    }
}

fn check_ingress(cfg: &RkeConfig, r: &mut Report) {
    let ingress = &cfg.ingress;
    let provider = ingress.provider.as_str();
    if !provider.is_empty() && !INGRESS_PROVIDERS.contains(&provider) {
        r.error(
            "ingress.provider",
            format!(
                "ingress provider {provider:?} is not supported: {}",
                one_of(provider, &INGRESS_PROVIDERS)
            ),
        );
    }
    let mode = ingress.network_mode.as_str();
    if !mode.is_empty() && !INGRESS_NETWORK_MODES.contains(&mode) {
        r.error(
            "ingress.network_mode",
            format!(
                "ingress network_mode {mode:?} is not supported: {}",
                one_of(mode, &INGRESS_NETWORK_MODES)
            ),
        );
    }
    let policy = ingress.dns_policy.as_str();
    if !policy.is_empty() && !DNS_POLICIES.contains(&policy) {
        r.error(
            "ingress.dns_policy",
            format!(
                "dns_policy {policy:?} is not valid: {}",
                one_of(policy, &DNS_POLICIES)
            ),
        );
    }
    // 0 means "default" (80/443), as in RKE1.
    for (key, port) in [
        ("http_port", ingress.http_port),
        ("https_port", ingress.https_port),
    ] {
        if port != 0 && !(1..=65535).contains(&port) {
            r.error(
                format!("ingress.{key}"),
                format!("{key} {port} is outside 1-65535"),
            );
        }
    }
    if ingress.http_port != 0 && ingress.http_port == ingress.https_port {
        r.error(
            "ingress.https_port",
            format!(
                "http_port and https_port are both {}: they must differ",
                ingress.http_port
            ),
        );
    }
}
