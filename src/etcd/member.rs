//! One etcd member as the plane sees it, and RKE1's naming of members and peer URLs.

use std::fmt;
use std::net::IpAddr;

/// The peer port RKE1 configures (`--listen-peer-urls=https://<ip>:2380`).
pub const ETCD_PEER_PORT: u16 = 2380;

/// One member from the cluster's member list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub id: u64,
    /// Empty while an added member has not started yet (etcd reports it unnamed).
    pub name: String,
    pub peer_urls: Vec<String>,
    pub client_urls: Vec<String>,
    pub is_learner: bool,
}

impl Member {
    /// Whether this member votes in raft (learners do not count towards quorum).
    pub fn is_voter(&self) -> bool {
        !self.is_learner
    }

    /// True when one of the member's peer URLs is `url` (RKE1 `IsEtcdMember` matches peer URLs,
    /// which also finds members added but never started).
    pub fn has_peer_url(&self, url: &str) -> bool {
        self.peer_urls.iter().any(|u| u == url)
    }
}

impl fmt::Display for Member {
    /// `name (id hex)`, the id printed as etcdctl does.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = if self.name.is_empty() {
            "<unstarted>"
        } else {
            &self.name
        };
        write!(f, "{name} ({:x})", self.id)
    }
}

impl From<&etcd_client::Member> for Member {
    fn from(m: &etcd_client::Member) -> Self {
        Member {
            id: m.id(),
            name: m.name().to_string(),
            peer_urls: m.peer_urls().to_vec(),
            client_urls: m.client_urls().to_vec(),
            is_learner: m.is_learner(),
        }
    }
}

/// RKE1's member name for a node: `etcd-<hostname_override>`.
pub fn member_name(hostname: &str) -> String {
    format!("etcd-{hostname}")
}

/// The peer URL of a node: always `https://` (etcd-client would prepend `http://` to a bare
/// address), IPv6 addresses in brackets.
pub fn peer_url(ip: &str) -> String {
    format!("https://{}:{ETCD_PEER_PORT}", host_for_url(ip))
}

/// An address as it goes into a URL authority.
pub(crate) fn host_for_url(ip: &str) -> String {
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) => format!("[{v6}]"),
        _ => ip.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(id: u64, name: &str, peer: &str) -> Member {
        Member {
            id,
            name: name.into(),
            peer_urls: vec![peer.into()],
            client_urls: vec![],
            is_learner: false,
        }
    }

    #[test]
    fn peer_urls_are_https_on_2380() {
        assert_eq!(peer_url("10.0.0.1"), "https://10.0.0.1:2380");
        assert_eq!(peer_url("fd00::1"), "https://[fd00::1]:2380");
        assert_eq!(member_name("node1"), "etcd-node1");
    }

    #[test]
    fn display_names_unstarted_members() {
        assert_eq!(
            member(0xabc, "etcd-n1", "https://a:2380").to_string(),
            "etcd-n1 (abc)"
        );
        assert_eq!(
            member(255, "", "https://a:2380").to_string(),
            "<unstarted> (ff)"
        );
    }

    #[test]
    fn finds_members_by_peer_url() {
        let m = member(1, "etcd-n1", "https://10.0.0.1:2380");
        assert!(m.has_peer_url(&peer_url("10.0.0.1")));
        assert!(!m.has_peer_url(&peer_url("10.0.0.2")));
    }
}
