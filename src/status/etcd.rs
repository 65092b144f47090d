//! etcd members and the health of each, asked through the SSH tunnel of a connected node with
//! the running certificates (as the etcd plane of `rke up` does).

use super::MemberStatus;
use crate::certs::CertBundle;
use crate::config::RkeConfigNode;
use crate::etcd::{EtcdClient, EtcdTls, Health, Member};
use crate::transport::NodeConnection;

/// The host of a URL such as `https://10.0.0.1:2379` or `https://[fd00::1]:2379`.
pub fn url_host(url: &str) -> Option<&str> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split('/').next().unwrap_or(rest);
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(v6),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    (!host.is_empty()).then_some(host)
}

/// The connection to reach the member through: the node that runs it when connected, else
/// the first connected etcd node, else any connected node; and the address to dial.
fn route<'a>(
    member: &Member,
    nodes: &[(&'a RkeConfigNode, &'a NodeConnection)],
) -> Option<(&'a NodeConnection, String)> {
    let ip = member
        .client_urls
        .iter()
        .chain(&member.peer_urls)
        .find_map(|u| url_host(u))?
        .to_string();
    let own = nodes
        .iter()
        .find(|(n, _)| n.effective_internal_address() == ip || n.address == ip);
    let via = own
        .or_else(|| nodes.iter().find(|(n, _)| n.is_etcd()))
        .or_else(|| nodes.first())?;
    Some((via.1, ip))
}

/// One row per member, in etcd's order, with its health (`limit` members asked at a time).
pub async fn member_statuses(
    members: &[Member],
    nodes: &[(&RkeConfigNode, &NodeConnection)],
    bundle: &CertBundle,
    limit: usize,
) -> Vec<MemberStatus> {
    crate::parallel::map(members, limit, |m| async move {
        let health = match route(m, nodes) {
            None => Err("no connected node to reach it through".to_string()),
            Some((via, ip)) => ask(via, &ip, bundle).await.map_err(|e| format!("{e:#}")),
        };
        row(m, health)
    })
    .await
}

async fn ask(via: &NodeConnection, ip: &str, bundle: &CertBundle) -> anyhow::Result<Health> {
    let tls = EtcdTls::from_bundle(bundle)?;
    EtcdClient::connect(via, ip, tls).await?.health().await
}

/// A member and what its health check said.
pub fn row(m: &Member, health: Result<Health, String>) -> MemberStatus {
    let (healthy, leader, version, error) = match health {
        Ok(h) => (true, h.leader == m.id, Some(h.version), None),
        Err(e) => (false, false, None, Some(e)),
    };
    MemberStatus {
        name: m.name.clone(),
        id: format!("{:x}", m.id),
        peer_urls: m.peer_urls.clone(),
        client_urls: m.client_urls.clone(),
        learner: m.is_learner,
        healthy,
        leader,
        version,
        error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(id: u64) -> Member {
        Member {
            id,
            name: format!("etcd-n{id}"),
            peer_urls: vec![format!("https://10.0.0.{id}:2380")],
            client_urls: vec![format!("https://10.0.0.{id}:2379")],
            is_learner: false,
        }
    }

    #[test]
    fn hosts_of_urls() {
        assert_eq!(url_host("https://10.0.0.1:2379"), Some("10.0.0.1"));
        assert_eq!(url_host("https://[fd00::1]:2380"), Some("fd00::1"));
        assert_eq!(
            url_host("https://etcd.example.com"),
            Some("etcd.example.com")
        );
        assert_eq!(url_host("https://:2379"), None);
    }

    #[test]
    fn rows_say_health_leader_and_error() {
        let healthy = row(
            &member(0xa1),
            Ok(Health {
                member_id: 0xa1,
                leader: 0xa1,
                version: "3.5.16".into(),
            }),
        );
        assert!(healthy.healthy && healthy.leader);
        assert_eq!(healthy.id, "a1");
        assert_eq!(healthy.version.as_deref(), Some("3.5.16"));
        let follower = row(
            &member(2),
            Ok(Health {
                member_id: 2,
                leader: 0xa1,
                version: "3.5.16".into(),
            }),
        );
        assert!(follower.healthy && !follower.leader);
        let down = row(&member(3), Err("cannot connect".into()));
        assert!(!down.healthy && !down.leader);
        assert_eq!(down.error.as_deref(), Some("cannot connect"));
        let json = serde_json::to_value(&follower).unwrap();
        assert!(json.get("error").is_none());
        assert_eq!(json["peer_urls"][0], "https://10.0.0.2:2380");
    }
}
