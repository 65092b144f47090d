//! Address helpers shared by the component builders.

use std::net::IpAddr;

/// An address ready to take `:port`: IPv6 literals get brackets.
pub fn host_port(address: &str) -> String {
    match address.parse::<IpAddr>() {
        Ok(IpAddr::V6(_)) => format!("[{address}]"),
        _ => address.to_string(),
    }
}

pub fn is_ip(address: &str) -> bool {
    address.parse::<IpAddr>().is_ok()
}

/// Whether a comma-separated CIDR list holds both an IPv4 and an IPv6 range (RKE1
/// `multipleCIDRsConfigured`).
pub fn is_dual_stack(cidrs: &str) -> bool {
    let families: Vec<bool> = cidrs
        .split(',')
        .filter_map(|c| c.trim().parse::<ipnet::IpNet>().ok())
        .map(|net| net.addr().is_ipv4())
        .collect();
    families.contains(&true) && families.contains(&false)
}

/// `path.Join(prefix, path)` for the absolute paths we use: `/` and `` leave `path` alone.
pub fn under_prefix(prefix: &str, path: &str) -> String {
    let prefix = prefix.trim_end_matches('/');
    format!("{prefix}{path}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brackets_only_ipv6() {
        assert_eq!(host_port("10.0.0.1"), "10.0.0.1");
        assert_eq!(host_port("fd00::1"), "[fd00::1]");
        assert_eq!(host_port("node1.example.com"), "node1.example.com");
    }

    #[test]
    fn dual_stack_needs_both_families() {
        assert!(is_dual_stack("10.42.0.0/16,fd42::/56"));
        assert!(!is_dual_stack("10.42.0.0/16"));
        assert!(!is_dual_stack("10.42.0.0/16,10.44.0.0/16"));
    }

    #[test]
    fn prefix_join_like_go_path_join() {
        assert_eq!(under_prefix("/", "/etc/kubernetes"), "/etc/kubernetes");
        assert_eq!(under_prefix("", "/etc/kubernetes"), "/etc/kubernetes");
        assert_eq!(
            under_prefix("/opt/rke", "/etc/kubernetes"),
            "/opt/rke/etc/kubernetes"
        );
        assert_eq!(
            under_prefix("/opt/rke/", "/var/lib/etcd"),
            "/opt/rke/var/lib/etcd"
        );
    }
}
