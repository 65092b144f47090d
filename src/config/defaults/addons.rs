//! Addon defaults: DNS provider, ingress, metrics-server and the update strategies RKE1 gives
//! their DaemonSets and Deployments (`setAddonsDefaults`, `setClusterDNSDefaults`).

use crate::config::types::{
    DaemonSetUpdateStrategy, DeploymentStrategy, DnsConfig, IntOrString, LinearAutoscalerParams,
    RkeConfig, RollingUpdateDeployment,
};

pub const DEFAULT_HTTP_PORT: i64 = 80;
pub const DEFAULT_HTTPS_PORT: i64 = 443;
const ROLLING_UPDATE: &str = "RollingUpdate";

/// `coredns` from Kubernetes 1.14 on, `kube-dns` before. An unknown version counts as current.
pub(super) fn set_dns_provider(cfg: &mut RkeConfig, version: Option<(u64, u64, u64)>) {
    let dns = cfg.dns.get_or_insert_with(DnsConfig::default);
    if dns.provider.is_empty() {
        let old = version.is_some_and(|v| v < (1, 14, 0));
        dns.provider = if old { "kube-dns" } else { "coredns" }.to_string();
    }
}

pub(super) fn set_addons_defaults(cfg: &mut RkeConfig, version: Option<(u64, u64, u64)>) {
    daemonset_defaults(&mut cfg.ingress.update_strategy);
    daemonset_defaults(&mut cfg.network.update_strategy);
    if let Some(dns) = &mut cfg.dns {
        dns_deployment_defaults(&mut dns.update_strategy, &dns.provider);
        if dns.linear_autoscaler_params.is_none() {
            dns.linear_autoscaler_params = Some(LinearAutoscalerParams {
                cores_per_replica: 128.0,
                nodes_per_replica: 4.0,
                min: 1,
                max: 0,
                prevent_single_point_failure: true,
            });
        }
    }
    deployment_defaults(&mut cfg.monitoring.update_strategy);
    if cfg.monitoring.replicas.is_none() {
        cfg.monitoring.replicas = Some(1);
    }

    let ingress = &mut cfg.ingress;
    // From 1.21 RKE1 runs ingress-nginx with host ports and without the default backend.
    if let Some(v) = version {
        let v121 = v >= (1, 21, 0);
        if ingress.network_mode.is_empty() {
            ingress.network_mode = if v121 { "hostPort" } else { "hostNetwork" }.to_string();
        }
        if ingress.default_backend.is_none() {
            ingress.default_backend = Some(!v121);
        }
    }
    if ingress.http_port == 0 {
        ingress.http_port = DEFAULT_HTTP_PORT;
    }
    if ingress.https_port == 0 {
        ingress.https_port = DEFAULT_HTTPS_PORT;
    }
    if ingress.default_ingress_class.is_none() {
        ingress.default_ingress_class = Some(true);
    }
}

/// An empty strategy becomes `RollingUpdate`; says whether the strategy is `RollingUpdate`
/// (another, such as `Recreate` or `OnDelete`, is the user's and gets no defaults).
fn rolling_update_chosen(strategy: &mut String) -> bool {
    if strategy.is_empty() {
        *strategy = ROLLING_UPDATE.to_string();
    }
    strategy == ROLLING_UPDATE
}

/// A rolling update strategy (or none) gets `maxUnavailable: 1`; `OnDelete` is left alone.
fn daemonset_defaults(slot: &mut Option<DaemonSetUpdateStrategy>) {
    let strategy = slot.get_or_insert_with(Default::default);
    if !rolling_update_chosen(&mut strategy.strategy) {
        return;
    }
    let rolling = strategy
        .rolling_update
        .get_or_insert_with(RollingUpdateDeployment::default);
    if rolling.max_unavailable.is_none() {
        rolling.max_unavailable = Some(IntOrString::Int(1));
    }
}

/// CoreDNS: one pod at a time, no surge; kube-dns: surge 10%, never unavailable. As in RKE1, a
/// user's `rollingUpdate` only gets the provider's key setting (`maxUnavailable` for CoreDNS,
/// `maxSurge` for kube-dns); the other is left to Kubernetes.
fn dns_deployment_defaults(slot: &mut Option<DeploymentStrategy>, provider: &str) {
    let (max_unavailable, max_surge, fill_unavailable) = match provider {
        "coredns" => (IntOrString::Int(1), IntOrString::Int(0), true),
        "kube-dns" => (
            IntOrString::Int(0),
            IntOrString::String("10%".into()),
            false,
        ),
        _ => return,
    };
    let strategy = slot.get_or_insert_with(Default::default);
    if !rolling_update_chosen(&mut strategy.strategy) {
        return;
    }
    match &mut strategy.rolling_update {
        None => {
            strategy.rolling_update = Some(RollingUpdateDeployment {
                max_unavailable: Some(max_unavailable),
                max_surge: Some(max_surge),
            })
        }
        Some(rolling) if fill_unavailable => {
            rolling.max_unavailable.get_or_insert(max_unavailable);
        }
        Some(rolling) => {
            rolling.max_surge.get_or_insert(max_surge);
        }
    }
}

/// Rolling update with `maxUnavailable`/`maxSurge` of 25% where not set; `Recreate` is kept.
fn deployment_defaults(slot: &mut Option<DeploymentStrategy>) {
    let strategy = slot.get_or_insert_with(Default::default);
    if !rolling_update_chosen(&mut strategy.strategy) {
        return;
    }
    let rolling = strategy
        .rolling_update
        .get_or_insert_with(RollingUpdateDeployment::default);
    let quarter = IntOrString::String("25%".into());
    rolling.max_unavailable.get_or_insert(quarter.clone());
    rolling.max_surge.get_or_insert(quarter);
}
