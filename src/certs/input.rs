//! What the PKI needs to know about the cluster (plain data, no dependency on config types),
//! and the subject alternative names RKE1 derives from it (`GetAltNames`,
//! `GetIPHostAltnamesForHost`, `GetKubernetesServiceIP`).

use crate::error::{ErrorKind, classified};
use std::fmt;
use std::net::IpAddr;

/// One node as the PKI sees it. `hostname` is the effective `hostname_override`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeIdentity {
    pub address: String,
    pub internal_address: String,
    pub hostname: String,
}

/// Algorithm for newly generated private keys. Existing keys keep their algorithm.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum KeyAlgorithm {
    /// RSA-2048, what RKE1 clusters use; keys are written as PKCS#1 like Go does.
    #[default]
    Rsa2048,
    /// ECDSA P-256; keys are written as PKCS#8 (`PRIVATE KEY`), which Go also reads.
    EcdsaP256,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PkiInput {
    /// `cluster_name`: names the cluster/context/user in the admin kubeconfig.
    pub cluster_name: String,
    /// `services.kubelet.cluster_domain`: gives the `kubernetes.default.svc.<domain>` SAN.
    pub cluster_domain: String,
    /// `services.kube-api.service_cluster_ip_range` (entries may hold comma-separated CIDRs for
    /// dual stack); the first IP of each CIDR is a SAN.
    pub service_cluster_ip_ranges: Vec<String>,
    pub control_plane: Vec<NodeIdentity>,
    pub etcd: Vec<NodeIdentity>,
    /// Every node, for kubelet serving certificates.
    pub all_nodes: Vec<NodeIdentity>,
    /// `authentication.sans`.
    pub extra_sans: Vec<String>,
    /// `services.kubelet.generate_serving_certificate`.
    pub generate_serving_certificate: bool,
    /// Lifetime of new certificates (RKE1: 10 years).
    pub validity_days: u32,
    pub key_algorithm: KeyAlgorithm,
    /// What RKE1 stores in kube-admin's `configPath` (see
    /// [`rke1_local_kubeconfig_path`](super::rke1_local_kubeconfig_path)).
    pub local_kubeconfig_path: String,
}

impl Default for PkiInput {
    fn default() -> Self {
        PkiInput {
            cluster_name: "local".into(),
            cluster_domain: "cluster.local".into(),
            service_cluster_ip_ranges: vec!["10.43.0.0/16".into()],
            control_plane: Vec::new(),
            etcd: Vec::new(),
            all_nodes: Vec::new(),
            extra_sans: Vec::new(),
            generate_serving_certificate: false,
            validity_days: 3650,
            key_algorithm: KeyAlgorithm::Rsa2048,
            local_kubeconfig_path: "./kube_config_cluster.yml".into(),
        }
    }
}

/// A subject alternative name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum San {
    Dns(String),
    Ip(IpAddr),
}

impl San {
    /// Like Go's `net.ParseIP` test in RKE1: an IP literal becomes an IP SAN, anything else DNS.
    pub fn parse(s: &str) -> San {
        match s.parse::<IpAddr>() {
            Ok(ip) => San::Ip(canonical_ip(ip)),
            Err(_) => San::Dns(s.to_string()),
        }
    }
}

impl fmt::Display for San {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            San::Dns(d) => write!(f, "DNS:{d}"),
            San::Ip(ip) => write!(f, "IP:{ip}"),
        }
    }
}

/// Go stores IPv4-mapped IPv6 addresses as IPv4; do the same so SAN sets compare equal.
fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

/// Ordered, de-duplicated SAN list: DNS names first, then IPs (Go's encoding order).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SanList(Vec<San>);

impl SanList {
    fn push(&mut self, san: San) {
        if !self.0.contains(&san) {
            self.0.push(san);
        }
    }

    pub fn as_slice(&self) -> &[San] {
        &self.0
    }

    fn sorted_dns_first(mut self) -> SanList {
        // Stable sort keeps RKE1's order inside each kind.
        self.0.sort_by_key(|s| matches!(s, San::Ip(_)));
        self
    }
}

/// `GetIPHostAltnamesForHost`: address, internal address (if different) and hostname (if
/// different from the address).
fn push_node(list: &mut SanList, node: &NodeIdentity) {
    list.push(San::parse(&node.address));
    if !node.internal_address.is_empty() && node.internal_address != node.address {
        list.push(San::parse(&node.internal_address));
    }
    if !node.hostname.is_empty() && node.hostname != node.address {
        // RKE1 always adds the hostname as a DNS name.
        list.push(San::Dns(node.hostname.clone()));
    }
}

/// `GetAltNames`: SANs of the API server (control-plane nodes plus `authentication.sans`) and of
/// the etcd certificates (etcd nodes, no extra SANs).
pub fn cluster_sans(
    nodes: &[NodeIdentity],
    extra: &[String],
    service_ips: &[IpAddr],
    cluster_domain: &str,
) -> SanList {
    let mut list = SanList::default();
    for node in nodes {
        push_node(&mut list, node);
    }
    for s in extra {
        list.push(San::parse(s));
    }
    list.push(San::Ip(IpAddr::from([127, 0, 0, 1])));
    for ip in service_ips {
        list.push(San::Ip(*ip));
    }
    for dns in [
        "localhost",
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
    ] {
        list.push(San::Dns(dns.into()));
    }
    list.push(San::Dns(format!("kubernetes.default.svc.{cluster_domain}")));
    list.sorted_dns_first()
}

/// SANs of one node's kubelet serving certificate.
pub fn node_sans(node: &NodeIdentity) -> SanList {
    let mut list = SanList::default();
    push_node(&mut list, node);
    list.sorted_dns_first()
}

/// `GetKubernetesServiceIP`: network address + 1 of every service CIDR.
pub fn kubernetes_service_ips(ranges: &[String]) -> anyhow::Result<Vec<IpAddr>> {
    let mut ips = Vec::new();
    for cidr in ranges.iter().flat_map(|r| r.split(',')).map(str::trim) {
        if cidr.is_empty() {
            continue;
        }
        let net: ipnet::IpNet = cidr.parse().map_err(|e| {
            classified(
                ErrorKind::Config,
                format!("services.kube-api.service_cluster_ip_range: [{cidr}] is not a CIDR: {e}"),
            )
        })?;
        let ip = match net.network() {
            IpAddr::V4(a) => IpAddr::V4(u32::from(a).wrapping_add(1).into()),
            IpAddr::V6(a) => IpAddr::V6(u128::from(a).wrapping_add(1).into()),
        };
        ips.push(ip);
    }
    if ips.is_empty() {
        return Err(classified(
            ErrorKind::Config,
            "services.kube-api.service_cluster_ip_range is empty: the API server certificate \
             needs the first service IP",
        ));
    }
    Ok(ips)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(a: &str, i: &str, h: &str) -> NodeIdentity {
        NodeIdentity {
            address: a.into(),
            internal_address: i.into(),
            hostname: h.into(),
        }
    }

    #[test]
    fn service_ip_is_network_plus_one() {
        let ips = kubernetes_service_ips(&["10.43.0.0/16".into()]).unwrap();
        assert_eq!(ips, vec!["10.43.0.1".parse::<IpAddr>().unwrap()]);
        // Host bits are masked off first, as Go does.
        let ips =
            kubernetes_service_ips(&["10.43.7.9/16, fd98::/108".into(), "172.16.0.0/12".into()])
                .unwrap();
        let want: Vec<IpAddr> = ["10.43.0.1", "fd98::1", "172.16.0.1"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        assert_eq!(ips, want);
    }

    #[test]
    fn bad_service_cidr_is_a_config_error() {
        let err = kubernetes_service_ips(&["10.43.0.0".into()]).unwrap_err();
        assert_eq!(crate::error::kind_of(&err), ErrorKind::Config);
        assert!(
            err.to_string().contains("service_cluster_ip_range"),
            "{err}"
        );
        assert!(kubernetes_service_ips(&[]).is_err());
    }

    #[test]
    fn api_sans_match_rke1_get_alt_names() {
        let cp = [
            node("1.1.1.1", "10.0.0.1", "cp1"),
            node("cp2.example.com", "cp2.example.com", "cp2.example.com"),
        ];
        let sans = cluster_sans(
            &cp,
            &["lb.example.com".into(), "9.9.9.9".into()],
            &["10.43.0.1".parse().unwrap()],
            "cluster.local",
        );
        let text: Vec<String> = sans.as_slice().iter().map(|s| s.to_string()).collect();
        assert_eq!(
            text,
            [
                "DNS:cp1",
                "DNS:cp2.example.com",
                "DNS:lb.example.com",
                "DNS:localhost",
                "DNS:kubernetes",
                "DNS:kubernetes.default",
                "DNS:kubernetes.default.svc",
                "DNS:kubernetes.default.svc.cluster.local",
                "IP:1.1.1.1",
                "IP:10.0.0.1",
                "IP:9.9.9.9",
                "IP:127.0.0.1",
                "IP:10.43.0.1",
            ]
        );
    }

    #[test]
    fn node_sans_skip_duplicates() {
        let sans = node_sans(&node("10.0.0.5", "10.0.0.5", "10.0.0.5"));
        assert_eq!(sans.as_slice(), &[San::parse("10.0.0.5")]);
        let sans = node_sans(&node("10.0.0.5", "", "worker-5"));
        assert_eq!(
            sans.as_slice(),
            &[San::Dns("worker-5".into()), San::parse("10.0.0.5")]
        );
    }

    #[test]
    fn mapped_ipv6_equals_ipv4() {
        assert_eq!(San::parse("::ffff:10.0.0.1"), San::parse("10.0.0.1"));
    }
}
