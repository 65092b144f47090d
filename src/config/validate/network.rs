//! Cluster networking: service/pod CIDRs, DNS addresses, node ports, the network plugin.

use std::net::IpAddr;

use super::net::{self, CidrList};
use super::report::Report;
use super::suggest::one_of;
use super::syntax;
use super::version::K8sVersion;
use crate::config::RkeConfig;
use crate::config::path::child;

const API_SERVICE_RANGE: &str = "services.kube-api.service_cluster_ip_range";
const CONTROLLER_SERVICE_RANGE: &str = "services.kube-controller.service_cluster_ip_range";
const CLUSTER_CIDR: &str = "services.kube-controller.cluster_cidr";
const CLUSTER_DNS: &str = "services.kubelet.cluster_dns_server";
const NODE_PORT_RANGE: &str = "services.kube-api.service_node_port_range";

pub const NETWORK_PLUGINS: [&str; 6] = ["canal", "flannel", "calico", "weave", "aci", "none"];
/// Plugins allowed with dual-stack ranges: RKE1's `IPv6CompatibleNetworkPlugins` (calico, aci)
/// plus `none`, where the user deploys a CNI of their own that may well support it.
const DUAL_STACK_PLUGINS: [&str; 3] = ["calico", "aci", "none"];

pub fn check(cfg: &RkeConfig, version: Option<K8sVersion>, r: &mut Report) {
    let services = &cfg.services;
    let api_range = cidrs(
        API_SERVICE_RANGE,
        &services.kube_api.service_cluster_ip_range,
        r,
    );
    let ctl_range = cidrs(
        CONTROLLER_SERVICE_RANGE,
        &services.kube_controller.service_cluster_ip_range,
        r,
    );
    let pod_range = cidrs(CLUSTER_CIDR, &services.kube_controller.cluster_cidr, r);

    if let (Some(api), Some(ctl)) = (&api_range, &ctl_range)
        && api.nets != ctl.nets
    {
        r.error(
            CONTROLLER_SERVICE_RANGE,
            format!(
                "kube-controller's service range {:?} differs from kube-api's {:?}: both must \
                 name the same range",
                services.kube_controller.service_cluster_ip_range,
                services.kube_api.service_cluster_ip_range
            ),
        );
    }
    if let (Some(svc), Some(pods)) = (&api_range, &pod_range)
        && let Some((a, b)) = net::first_overlap(svc, pods)
    {
        r.error(
            CLUSTER_CIDR,
            format!("pod range {b} overlaps the service range {a}: they must be disjoint"),
        );
    }

    check_cluster_dns(&services.kubelet.cluster_dns_server, api_range.as_ref(), r);
    if let Err(why) = syntax::dns1123_subdomain(&services.kubelet.cluster_domain) {
        r.error(
            "services.kubelet.cluster_domain",
            format!(
                "cluster domain {:?} is not a valid DNS name: it {why}",
                services.kubelet.cluster_domain
            ),
        );
    }
    check_nodelocal(cfg, api_range.as_ref(), pod_range.as_ref(), r);

    let ports = &services.kube_api.service_node_port_range;
    if !ports.is_empty()
        && let Err(why) = net::port_range(ports)
    {
        r.error(NODE_PORT_RANGE, format!("node port range {why}"));
    }

    let dual_stack = [&api_range, &pod_range]
        .iter()
        .any(|l| l.as_ref().is_some_and(|l| l.nets.len() > 1));
    check_plugin(cfg, version, dual_stack, r);
}

fn cidrs(path: &str, value: &str, r: &mut Report) -> Option<CidrList> {
    match net::parse_cidr_list(value) {
        Ok(list) => {
            for entry in &list.host_bits_set {
                r.warning(
                    path,
                    format!(
                        "{entry:?} has host bits set; it means {}",
                        entry
                            .parse::<ipnet::IpNet>()
                            .map(|n| n.trunc().to_string())
                            .unwrap_or_default()
                    ),
                );
            }
            Some(list)
        }
        Err(why) => {
            r.error(path, format!("invalid CIDR {value:?}: {why}"));
            None
        }
    }
}

/// The DNS service IP must be a service address, and not the API server's (the range's first).
fn check_cluster_dns(value: &str, service: Option<&CidrList>, r: &mut Report) {
    if value.trim().is_empty() {
        r.error(CLUSTER_DNS, "cluster_dns_server must not be empty");
        return;
    }
    for part in value.split(',').map(str::trim) {
        let Ok(ip) = part.parse::<IpAddr>() else {
            r.error(CLUSTER_DNS, format!("{part:?} is not an IP address"));
            continue;
        };
        let Some(service) = service else { continue };
        if !net::contains(service, &ip) {
            let ranges: Vec<String> = service.nets.iter().map(|n| n.to_string()).collect();
            r.error(
                CLUSTER_DNS,
                format!(
                    "{ip} is outside the service range {}: the DNS service cannot get this address",
                    ranges.join(",")
                ),
            );
        } else if service.nets.iter().any(|n| first_host(n) == ip) {
            r.error(
                CLUSTER_DNS,
                format!(
                    "{ip} is the first service address, reserved for the kubernetes API service"
                ),
            );
        }
    }
}

/// The first usable address of a range (the `kubernetes` Service's ClusterIP).
fn first_host(net: &ipnet::IpNet) -> IpAddr {
    match net {
        ipnet::IpNet::V4(n) => IpAddr::V4((u32::from(n.network()).saturating_add(1)).into()),
        ipnet::IpNet::V6(n) => IpAddr::V6((u128::from(n.network()).saturating_add(1)).into()),
    }
}

fn check_nodelocal(
    cfg: &RkeConfig,
    service: Option<&CidrList>,
    pods: Option<&CidrList>,
    r: &mut Report,
) {
    let Some(nodelocal) = cfg.dns.as_ref().and_then(|d| d.nodelocal.as_ref()) else {
        return;
    };
    let value = &nodelocal.ip_address;
    if value.is_empty() {
        return;
    }
    let path = "dns.nodelocal.ip_address";
    let Ok(ip) = value.parse::<IpAddr>() else {
        r.error(path, format!("{value:?} is not an IP address"));
        return;
    };
    for (list, what) in [(service, "service"), (pods, "pod")] {
        if list.is_some_and(|l| net::contains(l, &ip)) {
            r.error(
                path,
                format!(
                    "{ip} is inside the {what} range: NodeLocal DNS listens on every node and \
                     needs an address of its own (usually link-local, 169.254.20.10)"
                ),
            );
        }
    }
}

fn check_plugin(cfg: &RkeConfig, version: Option<K8sVersion>, dual_stack: bool, r: &mut Report) {
    let network = &cfg.network;
    let plugin = network.plugin.as_str();
    if !NETWORK_PLUGINS.contains(&plugin) {
        r.error(
            "network.plugin",
            format!(
                "network plugin {plugin:?} is not supported: {}",
                one_of(plugin, &NETWORK_PLUGINS)
            ),
        );
        return;
    }
    if plugin == "weave" || plugin == "aci" {
        r.error("network.plugin", not_deployed("network.plugin", plugin));
    }
    if plugin == "weave"
        && let Some(v) = version
    {
        if v.at_least(1, 30) {
            r.error(
                "network.plugin",
                format!(
                    "weave is not available for Kubernetes v{}.{}: it was removed in 1.30; \
                     use canal, calico or flannel",
                    v.major, v.minor
                ),
            );
        } else if v.at_least(1, 27) {
            r.warning(
                "network.plugin",
                "weave is deprecated since Kubernetes 1.27 and removed in 1.30",
            );
        }
    }
    if plugin == "flannel" && network.mtu != 0 {
        r.error(
            "network.mtu",
            "flannel does not support setting the MTU: remove mtu or use canal/calico",
        );
    }
    if network.mtu < 0 {
        r.error(
            "network.mtu",
            format!("mtu {} must be positive", network.mtu),
        );
    }
    if dual_stack && !DUAL_STACK_PLUGINS.contains(&plugin) {
        r.error(
            "network.plugin",
            format!(
                "{plugin} does not support dual-stack (IPv4+IPv6) ranges: use one of {}",
                DUAL_STACK_PLUGINS.join(", ")
            ),
        );
    }
    if plugin == "aci" {
        check_aci(cfg, r);
    }
}

/// RKE1 deploys these itself; rke has no template for them, so `rke up` would stop before
/// changing anything: refuse here, before any node is contacted.
pub fn not_deployed(key: &str, value: &str) -> String {
    format!("{value} is not deployed by rke: set {key}: none and deploy it as a user addon")
}

/// ACI needs its controller connection and fabric settings; RKE1 rejects any that is missing.
fn check_aci(cfg: &RkeConfig, r: &mut Report) {
    let base = "network.aci_network_provider";
    let Some(aci) = cfg.network.aci_network_provider.as_ref() else {
        r.error(
            "network.plugin",
            "network plugin aci needs network.aci_network_provider (APIC hosts, credentials, \
             fabric settings)",
        );
        return;
    };
    let required: [(&str, &str); 19] = [
        ("system_id", &aci.system_identifier),
        ("token", &aci.token),
        ("apic_user_name", &aci.apic_user_name),
        ("apic_user_key", &aci.apic_user_key),
        ("apic_user_crt", &aci.apic_user_crt),
        ("encap_type", &aci.encap_type),
        ("mcast_range_start", &aci.mcast_range_start),
        ("mcast_range_end", &aci.mcast_range_end),
        ("node_subnet", &aci.node_subnet),
        ("aep", &aci.aep),
        ("vrf_name", &aci.vrf_name),
        ("vrf_tenant", &aci.vrf_tenant),
        ("l3out", &aci.l3out),
        ("extern_dynamic", &aci.dynamic_external_subnet),
        ("extern_static", &aci.static_external_subnet),
        ("node_svc_subnet", &aci.service_graph_subnet),
        ("kube_api_vlan", &aci.kube_api_vlan),
        ("service_vlan", &aci.service_vlan),
        ("infra_vlan", &aci.infra_vlan),
    ];
    for (key, value) in required {
        if value.trim().is_empty() {
            r.error(
                child(base, key),
                format!("{key} is required for network plugin aci"),
            );
        }
    }
    for (key, list) in [
        ("apic_hosts", &aci.apic_hosts),
        ("l3out_external_networks", &aci.l3out_external_networks),
    ] {
        if list.is_empty() {
            r.error(
                child(base, key),
                format!("{key} is required for network plugin aci"),
            );
        }
    }
}
