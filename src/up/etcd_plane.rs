//! The etcd plane (the running membership is discovered by [`crate::plan::discover`]): roll
//! the members that stay one at a time
//! (health-checked), add new members one at a time (member add, then start with
//! `initial-cluster-state=existing`, then a health check), and — once the control plane no
//! longer points at them — remove members that left `cluster.yml` (quorum checked before any
//! change, member removed before its container stops).

use anyhow::Context;

use super::Departed;
use super::etcd_guard::EtcdChange;
use super::node::{Node, empty_dirs};
use super::planes::{self, PlaneCtx};
use crate::config::RkeConfigNode;
use crate::error::{ErrorKind, classified};
use crate::etcd::{EtcdClient, EtcdTls, Member};
use crate::plan::membership::{EtcdNode, MembershipPlan};
use crate::provision::node::{etcd_cleanup_dirs, remove_containers};
use crate::provision::spec::{Plane, names};
use crate::transport::NodeConnection;

/// Everything the etcd plane step needs.
pub struct EtcdPlane<'a> {
    pub nodes: &'a [Node],
    pub departed: &'a [Departed],
    pub plan: &'a MembershipPlan,
    pub ctx: &'a PlaneCtx<'a>,
    pub prefix_path: &'a str,
    pub helper_image: &'a str,
    /// `--update-only`: leave existing members alone (membership changes still happen).
    pub update_only: bool,
    /// Replace every member at once, then check health: members with certificates of
    /// different CAs cannot form a cluster, so a CA rotation cannot roll.
    pub all_at_once: bool,
}

impl EtcdPlane<'_> {
    fn etcd_node(&self, name: &str) -> Option<&Node> {
        self.nodes
            .iter()
            .find(|n| n.name() == name && n.plan.container(names::ETCD).is_some())
    }

    pub async fn run(&self) -> anyhow::Result<()> {
        let members: Vec<&Node> = self
            .nodes
            .iter()
            .filter(|n| n.plan.container(names::ETCD).is_some())
            .collect();
        if members.is_empty() {
            return Ok(());
        }
        if self.plan.fresh {
            return planes::converge(&members, Plane::Etcd, members.len(), self.ctx).await;
        }
        // Roll the members that stay while the departing ones still count towards quorum:
        // restarting one of two members after a removal would stop the cluster (their etcd
        // certificates change whenever the member set does, so they do restart).
        if !self.update_only {
            let staying: Vec<&Node> = members
                .iter()
                .copied()
                .filter(|n| !self.plan.add.iter().any(|a| a.name == n.name()))
                .collect();
            if self.all_at_once {
                planes::converge(&staying, Plane::Etcd, staying.len(), self.ctx).await?;
            } else {
                self.roll(&staying).await?;
            }
        }
        if !self.plan.changes_membership() {
            return Ok(());
        }
        // Connected after the roll, so the client does not start on a restarted member.
        let client = self.client().await?;
        self.check_quorum(&client).await?;
        for add in &self.plan.add {
            let node = self.etcd_node(&add.name).ok_or_else(|| {
                anyhow::anyhow!(
                    "etcd plane: node {} has no etcd container planned",
                    add.name
                )
            })?;
            self.add_member(&client, node, add).await?;
        }
        Ok(())
    }

    /// One member at a time, each checked right before its restart (`rke up` checked them
    /// all before touching anything; one may have stopped since), each healthy before the next.
    async fn roll(&self, staying: &[&Node]) -> anyhow::Result<()> {
        let guard = EtcdChange {
            nodes: self.nodes,
            departed: self.departed,
            plan: self.plan,
            members: None,
            running_bundle: self.ctx.bundle,
            update_only: false,
            all_at_once: false,
            limit: self.ctx.limit,
        };
        for node in staying {
            let actions = node
                .plane_actions(Plane::Etcd)
                .await
                .context("etcd plane")?;
            if planes::is_disruptive(&actions) {
                let members = self.client().await?.members().await?;
                guard.check_restart(node, &members).await.with_context(|| {
                    format!("etcd plane: before restarting etcd on {}", node.name())
                })?;
                self.lead_elsewhere(node, &members).await;
            }
            planes::converge(&[*node], Plane::Etcd, 1, self.ctx).await?;
        }
        Ok(())
    }

    /// When the member on `node` leads, hand leadership to another started member before its
    /// restart: otherwise the others elect a new leader, a second or more in which every API
    /// server reports etcd unhealthy. Best effort: if it fails, the restart still goes ahead
    /// (the health check above showed quorum survives it).
    async fn lead_elsewhere(&self, node: &Node, members: &[Member]) {
        let handed = async {
            let tls = EtcdTls::from_bundle(self.ctx.bundle)?;
            let own =
                EtcdClient::connect(&node.conn, node.cfg.effective_internal_address(), tls).await?;
            let health = own.health().await?;
            if health.leader != health.member_id {
                return anyhow::Ok(None);
            }
            let Some(target) = members
                .iter()
                .find(|m| m.id != health.member_id && !m.name.is_empty())
            else {
                return Ok(None);
            };
            own.move_leader(target.id).await?;
            Ok(Some(target.name.clone()))
        }
        .await;
        match handed {
            Ok(Some(to)) => tracing::info!(
                node = node.name(),
                "etcd: leadership moved to {to} before restarting this member"
            ),
            Ok(None) => {}
            Err(e) => tracing::warn!(
                node = node.name(),
                "etcd: could not hand leadership over before restarting this member (the others \
                 elect a new leader): {e:#}"
            ),
        }
    }

    /// A client through the first member that stays and answers.
    async fn client(&self) -> anyhow::Result<EtcdClient> {
        let mut errors = Vec::new();
        for node in self.nodes {
            let member = self.plan.memberships.contains_key(node.name());
            if !member || self.plan.add.iter().any(|a| a.name == node.name()) {
                continue;
            }
            let tls = EtcdTls::from_bundle(self.ctx.bundle)?;
            match EtcdClient::connect(&node.conn, node.cfg.effective_internal_address(), tls).await
            {
                Ok(c) => return Ok(c),
                Err(e) => errors.push(format!("{e:#}")),
            }
        }
        Err(classified(
            ErrorKind::Etcd,
            format!(
                "etcd plane: no staying member answered: {}",
                errors.join("; ")
            ),
        ))
    }

    /// Refuse, before anything changes, removals the staying members could not carry.
    async fn check_quorum(&self, client: &EtcdClient) -> anyhow::Result<()> {
        if self.plan.remove.is_empty() {
            return Ok(());
        }
        let names: Vec<&str> = self.plan.remove.iter().map(|m| m.name.as_str()).collect();
        client
            .quorum_check(&names)
            .await
            .context("etcd plane: refusing to remove members")
    }

    /// Take the departed members out. Called after the control plane has been converged, so
    /// no API server still lists a member that is about to stop (a Kubernetes 1.20 API server
    /// reports etcd unhealthy while one of its `--etcd-servers` is gone).
    pub async fn remove_members(&self) -> anyhow::Result<()> {
        if self.plan.fresh || self.plan.remove.is_empty() {
            return Ok(());
        }
        let client = self.client().await?;
        self.check_quorum(&client).await?;
        self.keep_leader_on_staying_member(&client).await?;
        for member in &self.plan.remove {
            client
                .remove_member(member.id)
                .await
                .with_context(|| format!("etcd plane: removing member {}", member.name))?;
            tracing::info!("etcd: removed member {} ({:x})", member.name, member.id);
            match self.holder_of(member) {
                Some((_, conn)) => self.stop_and_clean(conn).await?,
                None => tracing::warn!(
                    "etcd: the node of member {} is not reachable; its etcd container and data \
                     stay on it",
                    member.name
                ),
            }
        }
        Ok(())
    }

    /// Removing the leader makes the rest elect a new one, a few seconds in which the API
    /// servers report etcd unhealthy; hand leadership to a staying member first.
    async fn keep_leader_on_staying_member(&self, client: &EtcdClient) -> anyhow::Result<()> {
        let health = client.health().await.context("etcd plane")?;
        let Some(leader) = self.plan.remove.iter().find(|m| m.id == health.leader) else {
            return Ok(());
        };
        let Some((holder, conn)) = self.holder_of(leader) else {
            tracing::warn!(
                "etcd: member {} leads but its node is not reachable; removing it makes the \
                 others elect a new leader",
                leader.name
            );
            return Ok(());
        };
        let tls = EtcdTls::from_bundle(self.ctx.bundle)?;
        let on_leader = EtcdClient::connect(conn, holder.effective_internal_address(), tls)
            .await
            .context("etcd plane: connecting to the leaving leader")?;
        on_leader
            .move_leader(health.member_id)
            .await
            .context("etcd plane: handing leadership to a staying member")?;
        tracing::info!(
            "etcd: leadership moved from {} to member {:x}",
            leader.name,
            health.member_id
        );
        Ok(())
    }

    /// The connected node that ran `member`: a departing node, or a node that lost its etcd role.
    fn holder_of(&self, member: &Member) -> Option<(&RkeConfigNode, &NodeConnection)> {
        let departed = self.departed.iter().filter_map(|d| {
            let conn = d.conn.as_ref()?;
            Some((&d.cfg, conn))
        });
        let staying = self.nodes.iter().map(|n| (&n.cfg, &n.conn));
        departed.chain(staying).find(|(cfg, _)| {
            member.has_peer_url(&crate::etcd::peer_url(cfg.effective_internal_address()))
        })
    }

    /// Remove a node's etcd container and empty its data directory: a removed member's data
    /// must never be reused, and a node that joins again starts from nothing.
    async fn stop_and_clean(&self, conn: &NodeConnection) -> anyhow::Result<()> {
        remove_containers(conn, &[names::ETCD_ROLLING_SNAPSHOTS, names::ETCD])
            .await
            .context("etcd plane")?;
        let dirs = etcd_cleanup_dirs(self.prefix_path);
        empty_dirs(conn, &dirs, self.helper_image, self.ctx.registries)
            .await
            .context("etcd plane")
    }

    async fn add_member(
        &self,
        client: &EtcdClient,
        node: &Node,
        add: &EtcdNode,
    ) -> anyhow::Result<()> {
        // An etcd container on a node that is not a member holds stale data. (The snapshot
        // agent, also in the etcd plane, says nothing about it.)
        if node
            .plane_actions(Plane::Etcd)
            .await?
            .iter()
            .filter(|a| a.name() == names::ETCD)
            .any(|a| !matches!(a, crate::provision::node::Action::Create(_)))
        {
            self.stop_and_clean(&node.conn).await?;
        }
        let member = client
            .add_member(&add.peer_url())
            .await
            .with_context(|| format!("etcd plane: adding node {} as a member", add.name))?;
        tracing::info!("etcd: added member for {} ({:x})", add.name, member.id);
        let actions = node.plane_actions(Plane::Etcd).await?;
        node.apply(&actions, self.ctx.registries)
            .await
            .context("etcd plane")?;
        node.wait_healthy(Plane::Etcd, self.ctx.bundle, self.ctx.health_timeout)
            .await
            .context("etcd plane")
    }
}
