//! What `rke up` would deploy on each node, computed from the nodes without changing them:
//! [`observe`] reads host facts and the running etcd members from the nodes, [`plan`] turns
//! them into the etcd membership plan, the snapshot agent binary and the per-node plans. `rke up`
//! (and its `--dry-run`) and `rke status` share this, so status compares the nodes with exactly
//! the plans a run would apply.

use std::collections::BTreeMap;

use super::etcd_plane::{self, EtcdView};
use super::membership::{self, MembershipPlan};
use super::{Departed, snapshot_agent};
use crate::cluster::desired::DesiredCluster;
use crate::config::RkeConfigNode;
use crate::etcd::Member;
use crate::provision::spec::{HostFacts, NodePlan, PlanInputs, plan_cluster_with};
use crate::snapshot::agent::LocalBinary;
use crate::transport::NodeConnection;

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
) -> anyhow::Result<Planned> {
    let observed = observe(desired, nodes, departed, require_members).await?;
    plan(desired, observed)
}

/// The reading half of [`plan_nodes`], and the only part that talks to the nodes.
pub async fn observe(
    desired: &DesiredCluster,
    nodes: &[(&RkeConfigNode, &NodeConnection)],
    departed: &[Departed],
    require_members: bool,
) -> anyhow::Result<Observed> {
    let cfg = &desired.cfg;
    let facts =
        futures_util::future::join_all(nodes.iter().map(|(_, c)| super::facts::host_facts(c)))
            .await;
    let hosts: BTreeMap<String, _> = nodes
        .iter()
        .map(|(n, _)| n.address.clone())
        .zip(facts)
        .collect();
    if !cfg.services.etcd.external_urls.is_empty() {
        return Ok(Observed { hosts, etcd: None });
    }
    let mut candidates: Vec<(&RkeConfigNode, &NodeConnection)> = nodes.to_vec();
    candidates.sort_by_key(|(n, _)| !n.is_etcd());
    candidates.extend(
        departed
            .iter()
            .filter_map(|d| d.conn.as_ref().map(|c| (&d.cfg, c))),
    );
    let was_set_up = desired
        .applied_config()
        .is_some_and(|c| c.nodes.iter().any(|n| n.is_etcd()));
    // Before anything is replaced the members still present the running certificates.
    let view = etcd_plane::discover(
        &candidates,
        desired.running_bundle(),
        was_set_up && require_members,
    )
    .await?;
    Ok(Observed {
        hosts,
        etcd: Some(view),
    })
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
                &etcd_plane::etcd_nodes(&cfg.nodes),
                view.members.as_deref(),
                &view.running,
            )?;
            (plan, view.members)
        }
        None => (membership::plan(&[], None, &BTreeMap::new())?, None),
    };

    let agent_binary = snapshot_agent::binary_for(cfg, &hosts)?;
    let inputs = PlanInputs {
        encryption_config: desired.encryption_config.clone(),
        cloud_config: String::new(),
        hosts,
        etcd: etcd.memberships.clone(),
        snapshot_agent: agent_binary.as_ref().map(snapshot_agent::plan_binary),
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
