//! Address arithmetic for the network checks: CIDR lists (dual stack), overlap, port ranges.

use std::net::IpAddr;

use ipnet::IpNet;

/// A parsed CIDR list such as `10.43.0.0/16,fd98::/108`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CidrList {
    pub nets: Vec<IpNet>,
    /// Entries written with host bits set (`10.43.0.1/16`): accepted, as Go's `ParseCIDR` and
    /// Kubernetes do, but worth a warning because the range is not what it looks like.
    pub host_bits_set: Vec<String>,
}

/// Parse a comma-separated CIDR list: one range, or two of different families (dual stack).
pub fn parse_cidr_list(s: &str) -> Result<CidrList, String> {
    if s.trim().is_empty() {
        return Err("must not be empty".into());
    }
    let mut nets = Vec::new();
    let mut host_bits_set = Vec::new();
    for part in s.split(',') {
        let part = part.trim();
        let net: IpNet = part
            .parse()
            .map_err(|_| format!("{part:?} is not a CIDR (expected e.g. 10.43.0.0/16)"))?;
        if net.trunc() != net {
            host_bits_set.push(part.to_string());
        }
        nets.push(net.trunc());
    }
    match nets.as_slice() {
        [_] => {}
        [a, b] if is_v4(a) != is_v4(b) => {}
        [_, _] => return Err("a dual-stack list needs one IPv4 and one IPv6 range".into()),
        _ => return Err("at most two ranges (one IPv4, one IPv6) are allowed".into()),
    }
    Ok(CidrList {
        nets,
        host_bits_set,
    })
}

fn is_v4(n: &IpNet) -> bool {
    matches!(n, IpNet::V4(_))
}

/// Whether two ranges share any address.
pub fn overlaps(a: &IpNet, b: &IpNet) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

/// The first pair (one from each list) that overlaps.
pub fn first_overlap(a: &CidrList, b: &CidrList) -> Option<(IpNet, IpNet)> {
    a.nets
        .iter()
        .flat_map(|x| b.nets.iter().map(move |y| (*x, *y)))
        .find(|(x, y)| overlaps(x, y))
}

/// Whether `ip` lies in one of the list's ranges.
pub fn contains(list: &CidrList, ip: &IpAddr) -> bool {
    list.nets.iter().any(|n| n.contains(ip))
}

/// Parse a port written as a string or number (`"22"`): 1–65535.
pub fn port(s: &str) -> Result<u16, String> {
    match s.trim().parse::<u32>() {
        Ok(p) if (1..=65535).contains(&p) => Ok(p as u16),
        Ok(p) => Err(format!("{p} is outside 1-65535")),
        Err(_) => Err(format!("{s:?} is not a port number (1-65535)")),
    }
}

/// Parse a node-port range `A-B` with 1 ≤ A < B ≤ 65535.
pub fn port_range(s: &str) -> Result<(u16, u16), String> {
    let (a, b) = s
        .split_once('-')
        .ok_or_else(|| format!("{s:?} is not a range (expected e.g. 30000-32767)"))?;
    let a = port(a).map_err(|why| format!("start of range: {why}"))?;
    let b = port(b).map_err(|why| format!("end of range: {why}"))?;
    if a >= b {
        return Err(format!("start {a} must be below end {b}"));
    }
    Ok((a, b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_and_dual_stack() {
        let l = parse_cidr_list("10.43.0.0/16").unwrap();
        assert_eq!(l.nets, vec!["10.43.0.0/16".parse::<IpNet>().unwrap()]);
        assert!(l.host_bits_set.is_empty());
        let d = parse_cidr_list("10.42.0.0/16, fd00:42::/56").unwrap();
        assert_eq!(d.nets.len(), 2);
        assert!(
            parse_cidr_list("10.0.0.0/8,10.1.0.0/16")
                .unwrap_err()
                .contains("one IPv4 and one IPv6")
        );
        assert!(
            parse_cidr_list("10.0.0.0/8,fd00::/64,fd01::/64")
                .unwrap_err()
                .contains("at most two")
        );
    }

    #[test]
    fn rejects_non_cidrs() {
        for bad in ["10.43.0.0", "10.43.0.0/33", "ten/8", "", "10.43.0.0/16,"] {
            assert!(parse_cidr_list(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn host_bits_are_truncated_and_noted() {
        let l = parse_cidr_list("10.43.0.1/16").unwrap();
        assert_eq!(l.nets[0].to_string(), "10.43.0.0/16");
        assert_eq!(l.host_bits_set, vec!["10.43.0.1/16".to_string()]);
    }

    #[test]
    fn overlap_and_containment() {
        let svc = parse_cidr_list("10.43.0.0/16").unwrap();
        let pods = parse_cidr_list("10.42.0.0/16").unwrap();
        let wide = parse_cidr_list("10.0.0.0/8").unwrap();
        assert_eq!(first_overlap(&svc, &pods), None);
        assert!(first_overlap(&svc, &wide).is_some());
        assert!(first_overlap(&wide, &svc).is_some());
        assert!(contains(&svc, &"10.43.0.10".parse().unwrap()));
        assert!(!contains(&svc, &"10.42.0.10".parse().unwrap()));
    }

    #[test]
    fn ports_and_ranges() {
        assert_eq!(port("22"), Ok(22));
        assert!(port("0").is_err());
        assert!(port("65536").is_err());
        assert!(port("ssh").is_err());
        assert_eq!(port_range("30000-32767"), Ok((30000, 32767)));
        assert!(port_range("30000").is_err());
        assert!(port_range("32767-30000").unwrap_err().contains("below"));
        assert!(port_range("0-100").is_err());
        assert!(port_range("1-70000").is_err());
        assert!(port_range("5-5").is_err());
    }
}
