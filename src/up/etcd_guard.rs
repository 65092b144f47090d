//! Before `rke up` touches any node: refuse an etcd change that could lose quorum. Which
//! members the run would restart or remove comes from the plans and the containers on the
//! nodes; each member's health is asked through the nodes; [`check_disruption`] (pure) decides.
//! The etcd plane asks again before each member it restarts.

use std::time::Duration;

use anyhow::Context;

use super::Departed;
use super::node::Node;
use crate::certs::CertBundle;
use crate::config::RkeConfigNode;
use crate::etcd::{
    Disruption, ETCD_CLIENT_PORT, EtcdClient, EtcdTls, Member, MemberHealth, check_disruption,
    peer_url,
};
use crate::plan::membership::MembershipPlan;
use crate::provision::node::Action;
use crate::provision::spec::{Plane, names};
use crate::transport::NodeConnection;

/// How long one member gets to answer its health check: a stopped member refuses at once,
/// a frozen one must not hold the run for long.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(10);

/// What the run is about to do to etcd.
#[derive(Clone, Copy)]
pub struct EtcdChange<'a> {
    pub nodes: &'a [Node],
    pub departed: &'a [Departed],
    pub plan: &'a MembershipPlan,
    /// The live member list from planning (`None`: no cluster yet).
    pub members: Option<&'a [Member]>,
    /// The certificates the members run with now.
    pub running_bundle: &'a CertBundle,
    /// `--update-only` as the run applies it: existing members are left alone.
    pub update_only: bool,
    /// Every member is replaced at once (a CA rotation).
    pub all_at_once: bool,
    /// Members asked at once (`--max-parallel`).
    pub limit: usize,
}

impl EtcdChange<'_> {
    /// Refuse (class etcd, naming the unhealthy members) when restarting or removing the
    /// members this run would restart or remove could lose quorum. Asks nothing when the run
    /// stops no member.
    pub async fn check(&self) -> anyhow::Result<()> {
        let Some(members) = self.members else {
            return Ok(());
        };
        if self.plan.fresh {
            return Ok(());
        }
        let restarting = self.restarting(members).await?;
        let removing: Vec<u64> = self.plan.remove.iter().map(|m| m.id).collect();
        if restarting.is_empty() && removing.is_empty() {
            return Ok(());
        }
        let health = self.health(members).await;
        let roll = if self.all_at_once {
            Disruption::RestartAll
        } else {
            Disruption::Roll(&restarting)
        };
        let rolled = if restarting.is_empty() {
            Ok(())
        } else {
            check_disruption(&health, roll)
        };
        rolled
            .and_then(|()| check_disruption(&health, Disruption::Remove(&removing)))
            .context("etcd: nothing was changed")
    }

    /// Right before the roll restarts `node`'s member: the check again for that member alone,
    /// with health asked now (a member may have stopped since the run began).
    pub async fn check_restart(&self, node: &Node, members: &[Member]) -> anyhow::Result<()> {
        let Some(id) = self.restarted_member(node, members).await? else {
            return Ok(());
        };
        let health = self.health(members).await;
        check_disruption(&health, Disruption::Roll(&[id]))
    }

    /// Members whose etcd container the etcd plane would replace, in the plane's order
    /// (members being added are started, not restarted).
    async fn restarting(&self, members: &[Member]) -> anyhow::Result<Vec<u64>> {
        if self.update_only {
            return Ok(Vec::new());
        }
        let mut ids = Vec::new();
        for node in self.nodes {
            if let Some(id) = self.restarted_member(node, members).await? {
                ids.push(id);
            }
        }
        Ok(ids)
    }

    /// The member on `node` when the etcd plane would replace its container.
    async fn restarted_member(
        &self,
        node: &Node,
        members: &[Member],
    ) -> anyhow::Result<Option<u64>> {
        if node.plan.container(names::ETCD).is_none()
            || self.plan.add.iter().any(|a| a.name == node.name())
        {
            return Ok(None);
        }
        let actions = node.plane_actions(Plane::Etcd).await?;
        let replaced = actions
            .iter()
            .any(|a| matches!(a, Action::Replace { spec, .. } if spec.name == names::ETCD));
        if !replaced {
            return Ok(None);
        }
        let url = peer_url(node.cfg.effective_internal_address());
        Ok(members.iter().find(|m| m.has_peer_url(&url)).map(|m| m.id))
    }

    /// Every member's health, asked at its own address through the node that runs it (or any
    /// connected node, for a member on no connected node), `limit` at a time.
    async fn health(&self, members: &[Member]) -> Vec<MemberHealth> {
        let holders: Vec<(&RkeConfigNode, &NodeConnection)> = self
            .nodes
            .iter()
            .map(|n| (&n.cfg, &n.conn))
            .chain(
                self.departed
                    .iter()
                    .filter_map(|d| Some((&d.cfg, d.conn.as_ref()?))),
            )
            .collect();
        crate::parallel::map(members, self.limit, |member| {
            let holder = holders
                .iter()
                .find(|(cfg, _)| member.has_peer_url(&peer_url(cfg.effective_internal_address())));
            let via = holder.or(holders.first()).map(|(_, conn)| *conn);
            async move {
                let error = self.member_error(member, via).await;
                MemberHealth {
                    member: member.clone(),
                    node: holder
                        .map(|(cfg, _)| format!("{} ({})", cfg.hostname_override, cfg.address)),
                    error,
                }
            }
        })
        .await
    }

    /// Why `member` is not healthy, or `None` when it is.
    async fn member_error(&self, member: &Member, via: Option<&NodeConnection>) -> Option<String> {
        if member.name.is_empty() {
            return Some("added to the cluster but never started".to_string());
        }
        let Some(ip) = member.peer_urls.first().and_then(|u| url_host(u)) else {
            return Some(format!("no usable peer URL in {:?}", member.peer_urls));
        };
        let Some(via) = via else {
            return Some("no node is connected to reach it through".to_string());
        };
        let result = async {
            let tls = EtcdTls::from_bundle(self.running_bundle)?;
            EtcdClient::connect_to(via, &ip, ETCD_CLIENT_PORT, tls, HEALTH_TIMEOUT)
                .await?
                .health()
                .await
        }
        .await;
        result.err().map(|e| format!("{e:#}"))
    }
}

/// The host of a URL such as `https://10.0.0.1:2380` or `https://[fd00::1]:2380`.
fn url_host(url: &str) -> Option<String> {
    let authority = url.split_once("://")?.1.split('/').next()?;
    let host = authority.rsplit_once(':').map_or(authority, |(h, _)| h);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    (!host.is_empty()).then(|| host.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_of_peer_urls() {
        assert_eq!(
            url_host("https://10.0.0.1:2380").as_deref(),
            Some("10.0.0.1")
        );
        assert_eq!(
            url_host("https://[fd00::1]:2380").as_deref(),
            Some("fd00::1")
        );
        assert_eq!(url_host("https://node:2380/").as_deref(), Some("node"));
        assert_eq!(url_host("10.0.0.1:2380"), None);
        assert_eq!(url_host("https://:2380"), None);
    }
}
