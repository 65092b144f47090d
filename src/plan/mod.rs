//! What `rke up` would deploy on each node. [`observe`] reads host facts and the running etcd
//! members from the nodes (the only I/O); [`plan`] turns them into the etcd membership plan,
//! the snapshot agent binary and the per-node plans, talking to no node. `rke up` (and its
//! `--dry-run`), `rke status`, `rke cert rotate` and `rke etcd snapshot-restore` (through
//! `rke up`) share this, so status compares the nodes with exactly the plans a run applies.
//! Below [`crate::up`], above [`crate::provision::spec`] (the per-node plans as data).

mod agent;
mod facts;
pub mod membership;
mod observe;

pub use agent::{binary_for, plan_binary};
pub use observe::{EtcdView, discover, observe};

use std::collections::BTreeMap;

use crate::cluster::desired::DesiredCluster;
use crate::config::RkeConfigNode;
use crate::etcd::Member;
use crate::provision::spec::{HostFacts, NodePlan, PlanInputs, plan_cluster_with};
use crate::snapshot::agent::LocalBinary;
use crate::transport::NodeConnection;
use membership::{EtcdNode, MembershipPlan};

/// A node the last applied config had and `cluster.yml` no longer has, with its connection
/// when it could be reached.
pub struct Departed {
    pub cfg: RkeConfigNode,
    pub conn: Option<NodeConnection>,
}

/// The nodes of `applied` whose address is not in `desired` (RKE1 identifies hosts by
/// address when adding and removing).
pub fn departed_nodes<'a>(
    applied: &'a [RkeConfigNode],
    desired: &[RkeConfigNode],
) -> Vec<&'a RkeConfigNode> {
    applied
        .iter()
        .filter(|o| !desired.iter().any(|n| n.address == o.address))
        .collect()
}

/// The config's etcd nodes, as the membership plan names them.
pub fn etcd_nodes(nodes: &[RkeConfigNode]) -> Vec<EtcdNode> {
    nodes
        .iter()
        .filter(|n| n.is_etcd())
        .map(|n| EtcdNode {
            name: n.hostname_override.clone(),
            internal: n.effective_internal_address().to_string(),
        })
        .collect()
}

/// The plans and what they were computed from.
#[derive(Debug)]
pub struct Planned {
    /// One plan per node of the config, in `nodes:` order.
    pub plans: Vec<NodePlan>,
    pub etcd: MembershipPlan,
    /// The live member list, when a member answered (`None` with external etcd too).
    pub members: Option<Vec<Member>>,
    pub agent_binary: Option<LocalBinary>,
}

/// What the nodes said that the plans depend on: each node's host facts (by address) and,
/// unless etcd is external, the etcd members and how each etcd container runs.
#[derive(Debug)]
pub struct Observed {
    pub hosts: BTreeMap<String, HostFacts>,
    pub etcd: Option<EtcdView>,
}

/// Plan every node of `desired`'s config: [`observe`] the nodes, then [`plan`]. `nodes` are the
/// connected nodes of the config (a node without a connection is planned with default host
/// facts); `departed` nodes are asked for the etcd member list too. `require_members`: fail
/// (class etcd) when the cluster had etcd set up and no member answers, as `rke up` must;
/// otherwise plan as if etcd were new.
pub async fn plan_nodes(
    desired: &DesiredCluster,
    nodes: &[(&RkeConfigNode, &NodeConnection)],
    departed: &[Departed],
    require_members: bool,
    limit: usize,
) -> anyhow::Result<Planned> {
    let observed = observe(desired, nodes, departed, require_members, limit).await?;
    plan(desired, observed)
}

/// The planning half of [`plan_nodes`]: the etcd membership plan and every node's plan from
/// what was observed. Talks to no node (it does read this rke binary, which is the snapshot
/// agent).
pub fn plan(desired: &DesiredCluster, observed: Observed) -> anyhow::Result<Planned> {
    let cfg = &desired.cfg;
    let Observed { hosts, etcd } = observed;
    let (etcd, members) = match etcd {
        Some(view) => {
            let plan = membership::plan(
                &etcd_nodes(&cfg.nodes),
                view.members.as_deref(),
                &view.running,
            )?;
            (plan, view.members)
        }
        None => (membership::plan(&[], None, &BTreeMap::new())?, None),
    };

    let agent_binary = binary_for(cfg, &hosts)?;
    let inputs = PlanInputs {
        encryption_config: desired.encryption_config.clone(),
        cloud_config: String::new(),
        hosts,
        etcd: etcd.memberships.clone(),
        snapshot_agent: agent_binary.as_ref().map(plan_binary),
        state_json: desired.applied_state().to_compact_string()?,
    };
    let plans = plan_cluster_with(cfg, &desired.bundle, &inputs)?;
    Ok(Planned {
        plans,
        etcd,
        members,
        agent_binary,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(address: &str, name: &str) -> RkeConfigNode {
        RkeConfigNode {
            address: address.into(),
            hostname_override: name.into(),
            ..RkeConfigNode::default()
        }
    }

    #[test]
    fn departed_nodes_are_matched_by_address_like_rke1() {
        let applied = [
            node("10.0.0.1", "a"),
            node("10.0.0.2", "b"),
            node("10.0.0.3", "c"),
        ];
        // b renamed (same address) stays; c is gone; d is new.
        let desired = [
            node("10.0.0.1", "a"),
            node("10.0.0.2", "b2"),
            node("10.0.0.4", "d"),
        ];
        let gone: Vec<&str> = departed_nodes(&applied, &desired)
            .iter()
            .map(|n| n.hostname_override.as_str())
            .collect();
        assert_eq!(gone, ["c"]);
    }
}
