use super::*;
use crate::config::{AciNetworkProvider, Nodelocal};

const API: &str = "services.kube-api.service_cluster_ip_range";
const CTL: &str = "services.kube-controller.service_cluster_ip_range";
const PODS: &str = "services.kube-controller.cluster_cidr";
const DNS: &str = "services.kubelet.cluster_dns_server";

#[test]
fn bad_cidrs_are_each_reported() {
    let mut c = valid();
    c.services.kube_api.service_cluster_ip_range = "10.43.0.0".into();
    c.services.kube_controller.service_cluster_ip_range = "10.43.0.0/33".into();
    c.services.kube_controller.cluster_cidr = "pods".into();
    assert_problems(
        &c,
        &[
            (E, API, "invalid CIDR"),
            (E, CTL, "invalid CIDR"),
            (E, PODS, "invalid CIDR"),
        ],
    );
}

#[test]
fn service_and_pod_ranges_must_not_overlap() {
    let mut c = valid();
    c.services.kube_controller.cluster_cidr = "10.0.0.0/8".into();
    assert_problems(&c, &[(E, PODS, "overlaps the service range 10.43.0.0/16")]);
}

#[test]
fn service_ranges_must_match() {
    let mut c = valid();
    c.services.kube_controller.service_cluster_ip_range = "10.44.0.0/16".into();
    assert_problems(&c, &[(E, CTL, "differs from kube-api")]);
}

#[test]
fn host_bits_are_a_warning() {
    let mut c = valid();
    c.services.kube_api.service_cluster_ip_range = "10.43.0.1/16".into();
    assert_problems(&c, &[(W, API, "it means 10.43.0.0/16")]);
}

#[test]
fn dual_stack_needs_a_capable_plugin() {
    let mut c = valid();
    for range in [
        &mut c.services.kube_api.service_cluster_ip_range,
        &mut c.services.kube_controller.service_cluster_ip_range,
    ] {
        *range = "10.43.0.0/16,fd98::/108".into();
    }
    c.services.kube_controller.cluster_cidr = "10.42.0.0/16,fd00:42::/56".into();
    assert_problems(&c, &[(E, "network.plugin", "does not support dual-stack")]);
    c.network.plugin = "calico".into();
    assert_problems(&c, &[]);
}

#[test]
fn cluster_dns_server_must_be_a_service_ip() {
    let mut c = valid();
    c.services.kubelet.cluster_dns_server = "10.42.0.10".into();
    assert_problems(&c, &[(E, DNS, "outside the service range 10.43.0.0/16")]);
    c.services.kubelet.cluster_dns_server = "dns".into();
    assert_problems(&c, &[(E, DNS, "not an IP address")]);
    c.services.kubelet.cluster_dns_server = "10.43.0.1".into();
    assert_problems(&c, &[(E, DNS, "reserved for the kubernetes API")]);
}

#[test]
fn nodelocal_ip_must_be_an_ip_outside_cluster_ranges() {
    let mut c = valid();
    let nodelocal = |ip: &str| {
        Some(Nodelocal {
            ip_address: ip.into(),
            ..Default::default()
        })
    };
    c.dns.as_mut().unwrap().nodelocal = nodelocal("169.254.20.10");
    assert_problems(&c, &[]);
    c.dns.as_mut().unwrap().nodelocal = nodelocal("169.254.20");
    assert_problems(&c, &[(E, "dns.nodelocal.ip_address", "not an IP address")]);
    c.dns.as_mut().unwrap().nodelocal = nodelocal("10.42.0.10");
    assert_problems(
        &c,
        &[(E, "dns.nodelocal.ip_address", "inside the pod range")],
    );
}

#[test]
fn node_port_range_syntax() {
    let mut c = valid();
    c.services.kube_api.service_node_port_range = "30000-20000".into();
    assert_problems(
        &c,
        &[(
            E,
            "services.kube-api.service_node_port_range",
            "must be below",
        )],
    );
    c.services.kube_api.service_node_port_range = "30000:32767".into();
    assert_problems(
        &c,
        &[(
            E,
            "services.kube-api.service_node_port_range",
            "not a range",
        )],
    );
    c.services.kube_api.service_node_port_range = "20000-40000".into();
    assert_problems(&c, &[]);
}

#[test]
fn network_plugins() {
    let mut c = valid();
    c.network.plugin = "flanel".into();
    assert_problems(&c, &[(E, "network.plugin", "did you mean \"flannel\"")]);
    for ok in ["flannel", "calico", "none"] {
        c.network.plugin = ok.into();
        assert_problems(&c, &[]);
    }
}

#[test]
fn weave_is_deprecated_then_removed() {
    let mut c = valid();
    c.network.plugin = "weave".into();
    let not_deployed = (E, "network.plugin", "not deployed by rke");
    c.version = "v1.26.15-rancher1-1".into();
    assert_problems(&c, &[not_deployed]);
    c.version = "v1.27.16-rancher1-1".into();
    assert_problems(&c, &[not_deployed, (W, "network.plugin", "deprecated")]);
    c.version = "v1.32.5-rancher1-1".into();
    assert_problems(
        &c,
        &[not_deployed, (E, "network.plugin", "removed in 1.30")],
    );
}

#[test]
fn flannel_rejects_mtu() {
    let mut c = valid();
    c.network.mtu = 1450;
    assert_problems(&c, &[]);
    c.network.plugin = "flannel".into();
    assert_problems(
        &c,
        &[(E, "network.mtu", "does not support setting the MTU")],
    );
}

#[test]
fn aci_needs_its_settings() {
    let mut c = valid();
    c.network.plugin = "aci".into();
    let not_deployed = (E, "network.plugin", "not deployed by rke");
    assert_problems(
        &c,
        &[
            not_deployed,
            (E, "network.plugin", "needs network.aci_network_provider"),
        ],
    );

    let mut aci = AciNetworkProvider {
        apic_hosts: vec!["10.9.0.1".into()],
        l3out_external_networks: vec!["net".into()],
        ..Default::default()
    };
    for field in [
        &mut aci.system_identifier,
        &mut aci.token,
        &mut aci.apic_user_name,
        &mut aci.apic_user_key,
        &mut aci.apic_user_crt,
        &mut aci.encap_type,
        &mut aci.mcast_range_start,
        &mut aci.mcast_range_end,
        &mut aci.node_subnet,
        &mut aci.aep,
        &mut aci.vrf_name,
        &mut aci.vrf_tenant,
        &mut aci.l3out,
        &mut aci.dynamic_external_subnet,
        &mut aci.static_external_subnet,
        &mut aci.service_graph_subnet,
        &mut aci.kube_api_vlan,
        &mut aci.service_vlan,
        &mut aci.infra_vlan,
    ] {
        *field = "x".into();
    }
    c.network.aci_network_provider = Some(aci.clone());
    assert_problems(&c, &[not_deployed]);
    aci.vrf_name.clear();
    aci.apic_hosts.clear();
    c.network.aci_network_provider = Some(aci);
    assert_problems(
        &c,
        &[
            not_deployed,
            (E, "network.aci_network_provider.vrf_name", "required"),
            (E, "network.aci_network_provider.apic_hosts", "required"),
        ],
    );
}

#[test]
fn addon_providers() {
    let mut c = valid();
    c.dns.as_mut().unwrap().provider = "core-dns".into();
    c.ingress.provider = "traefik".into();
    c.monitoring.provider = "prometheus".into();
    assert_problems(
        &c,
        &[
            (E, "dns.provider", "did you mean \"coredns\""),
            (E, "ingress.provider", "expected one of nginx, none"),
            (
                E,
                "monitoring.provider",
                "expected one of metrics-server, none",
            ),
        ],
    );
    c.dns.as_mut().unwrap().provider = "kube-dns".into();
    c.ingress.provider = "none".into();
    c.monitoring.provider = "none".into();
    assert_problems(&c, &[(E, "dns.provider", "not deployed by rke")]);
    c.dns.as_mut().unwrap().provider = "none".into();
    assert_problems(&c, &[]);
}

#[test]
fn ingress_mode_policy_and_ports() {
    let mut c = valid();
    c.ingress.network_mode = "hostnetwork".into();
    c.ingress.dns_policy = "ClusterFirstWithHostNetwork".into();
    c.ingress.http_port = 70000;
    c.ingress.https_port = 70000;
    assert_problems(
        &c,
        &[
            (E, "ingress.network_mode", "did you mean \"hostNetwork\""),
            (
                E,
                "ingress.dns_policy",
                "did you mean \"ClusterFirstWithHostNet\"",
            ),
            (E, "ingress.http_port", "outside 1-65535"),
            (E, "ingress.https_port", "outside 1-65535"),
            (E, "ingress.https_port", "must differ"),
        ],
    );
    c.ingress.network_mode = "hostNetwork".into();
    c.ingress.dns_policy = "ClusterFirstWithHostNet".into();
    c.ingress.http_port = 8080;
    c.ingress.https_port = 8443;
    assert_problems(&c, &[]);
}

#[test]
fn cluster_domain_must_be_a_dns_name() {
    let mut c = valid();
    c.services.kubelet.cluster_domain = "corp.example".into();
    assert_problems(&c, &[]);
    c.services.kubelet.cluster_domain = "Cluster_Local".into();
    assert_problems(
        &c,
        &[(E, "services.kubelet.cluster_domain", "not a valid DNS name")],
    );
}
