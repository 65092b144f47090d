//! The phases of `rke up`, in order. Each phase lives in its own module with two sides: `plan`
//! returns the [`Change`]s it would make (reading the nodes and the API, changing nothing) and
//! `apply` makes them. `--dry-run` runs every phase's `plan` side and no `apply` side; a real
//! run applies them in order ([`super::run`] lists both). The first two phases only read:
//! [`connect`] reaches the nodes and [`plan`] computes what they should run, the [`Run`] every
//! later phase works from.
//!
//! | phase            | plan side lists                        | apply side does                  |
//! |------------------|----------------------------------------|----------------------------------|
//! | connect          | —                                      | departing nodes, lost state      |
//! | plan             | —                                      | host facts, etcd members, plans  |
//! | prepare_nodes    | files to write, agent binary to upload | pulls images, writes files       |
//! | etcd             | new cluster, members added, etcd ctrs  | rolls and grows the etcd plane   |
//! | control_plane    | control-plane containers               | converges them in batches        |
//! | membership       | etcd members removed                   | removes them; API access, RBAC   |
//! | workers          | take-out, worker and role-less ctrs    | rolls the workers                |
//! | departed         | nodes leaving                          | deletes Nodes, cleans the hosts  |
//! | node_metadata    | labels, taints, annotations per node   | syncs Node metadata              |
//! | addons           | objects created, updated, deleted      | deploys addons                   |
//! | state            | —                                      | saves the state                  |

pub mod addons;
pub mod connect;
pub mod control_plane;
pub mod departed;
pub mod etcd;
pub mod membership;
pub mod node_metadata;
pub mod plan;
pub mod prepare_nodes;
pub mod state;
pub mod workers;

use super::Departed;
use super::change::{Change, ContainerPlane};
use super::node::Node;
use super::planes::PlaneCtx;
use super::render::PlannedNode;
use super::run::Options;
use crate::addons::Addon;
use crate::cluster::desired::DesiredCluster;
use crate::config::{NodeUpgradeStrategy, RkeConfig};
use crate::etcd::Member;
use crate::plan::membership::MembershipPlan;
use crate::provision::node::{Action, explain_replace};
use crate::snapshot::agent::LocalBinary;

/// What every phase after `plan` works from: the desired cluster, the connected nodes with
/// their plans, and what was observed before anything changed.
pub struct Run<'a> {
    pub desired: &'a DesiredCluster,
    pub opts: &'a Options,
    /// Every node of the config, in `nodes:` order.
    pub nodes: Vec<Node>,
    pub departed: Vec<Departed>,
    pub etcd_plan: MembershipPlan,
    /// The live etcd member list, when a member answered.
    pub live_members: Option<Vec<Member>>,
    /// The snapshot agent binary, when an etcd node runs the agent.
    pub agent_binary: Option<LocalBinary>,
    /// Rendered before anything changes, so their errors stop the run early.
    pub addons: Vec<Addon>,
}

impl Run<'_> {
    pub fn cfg(&self) -> &RkeConfig {
        &self.desired.cfg
    }

    /// The image files are written and directories cleaned through.
    pub fn helper_image(&self) -> &str {
        self.cfg().system_images.alpine.as_str()
    }

    pub fn etcd_external(&self) -> bool {
        !self.cfg().services.etcd.external_urls.is_empty()
    }

    /// `--update-only` as it applies: not to a new cluster nor to an etcd membership change.
    pub fn update_only(&self) -> bool {
        self.opts.update_only
            && self.desired.applied_config().is_some()
            && !self.etcd_plan.changes_membership()
    }

    pub fn plane_ctx(&self) -> PlaneCtx<'_> {
        PlaneCtx {
            bundle: &self.desired.bundle,
            registries: self.cfg().private_registries.as_slice(),
            limit: self.opts.limit,
            health_timeout: self.opts.health_timeout,
        }
    }

    /// The upgrade strategy the planes roll with. A new CA cannot roll: nodes signed by the
    /// old and the new CA do not trust each other, so every plane is replaced at once (the
    /// API is down meanwhile, as with RKE1).
    pub fn strategy(&self) -> NodeUpgradeStrategy {
        let mut strategy = self.cfg().upgrade_strategy.clone().unwrap_or_default();
        if self.desired.ca_rotated() {
            strategy.max_unavailable_controlplane = "100%".to_string();
            strategy.max_unavailable_worker = "100%".to_string();
        }
        strategy
    }

    /// The config's nodes as the plan names them.
    pub fn planned_nodes(&self) -> Vec<PlannedNode> {
        self.nodes
            .iter()
            .map(|n| PlannedNode {
                name: n.name().to_string(),
                address: n.cfg.address.clone(),
            })
            .collect()
    }
}

/// The container changes `actions` make on `node` (a replace says why, asking the node).
pub async fn container_changes(
    node: &Node,
    plane: ContainerPlane,
    actions: &[Action],
) -> anyhow::Result<Vec<Change>> {
    let mut changes = Vec::new();
    for action in actions {
        let node_name = node.name().to_string();
        changes.push(match action {
            Action::Leave { .. } => continue,
            Action::Create(spec) => Change::CreateContainer {
                node: node_name,
                plane,
                name: spec.name.clone(),
                image: spec.image.clone(),
            },
            Action::Start { name, .. } => Change::StartContainer {
                node: node_name,
                plane,
                name: name.clone(),
            },
            Action::Remove { name, .. } => Change::RemoveContainer {
                node: node_name,
                plane,
                name: name.clone(),
            },
            Action::Replace { spec, old_id, .. } => Change::ReplaceContainer {
                node: node_name,
                plane,
                name: spec.name.clone(),
                reasons: explain_replace(&node.conn, spec, old_id).await?,
            },
        });
    }
    Ok(changes)
}

/// The changes of one plane on every node given, read `limit` nodes at a time and listed in
/// the nodes' order.
pub async fn plane_changes(
    nodes: &[&Node],
    plane: crate::provision::spec::Plane,
    limit: usize,
) -> anyhow::Result<Vec<Change>> {
    let per_node = crate::parallel::try_map(nodes, limit, |node| async move {
        let actions = node.plane_actions(plane).await?;
        container_changes(node, plane.into(), &actions).await
    })
    .await?;
    Ok(per_node.into_iter().flatten().collect())
}

/// The API of a cluster already up, which the `node_metadata` and `addons` plans compare with;
/// `None` for a new cluster, or (with a warning) when it does not answer.
pub async fn cluster_api(run: &Run<'_>) -> Option<crate::kube_api::KubeClient> {
    run.desired.applied_config()?;
    let timeout = std::time::Duration::from_secs(10);
    super::kube_step::connect(&run.nodes, &run.desired.bundle, timeout)
        .await
        .inspect_err(|e| {
            tracing::warn!("Node metadata and addons not compared with the cluster: {e:#}")
        })
        .ok()
}
