//! Phase `etcd` (interrupt step "etcd plane"): a new etcd cluster, or the members that stay
//! rolled one at a time and new members added one at a time; then the snapshot agents are
//! checked. Before anything changes, [`guard`] refuses a roll into a quorum loss.

use super::prepare_nodes::Uploaded;
use super::{Run, plane_changes};
use crate::events::phase;
use crate::parallel;
use crate::provision::spec::Plane;
use crate::up::change::Change;
use crate::up::etcd_guard::EtcdChange;
use crate::up::etcd_plane::EtcdPlane;
use crate::up::node::Node;
use crate::up::planes::PlaneCtx;
use crate::up::{STEPS, snapshot_agent};

/// The etcd plane of the run (the membership phase removes members through it too).
pub fn plane<'r>(run: &'r Run<'_>, ctx: &'r PlaneCtx<'r>) -> EtcdPlane<'r> {
    EtcdPlane {
        nodes: &run.nodes,
        departed: &run.departed,
        plan: &run.etcd_plan,
        ctx,
        prefix_path: &run.cfg().prefix_path,
        helper_image: run.helper_image(),
        update_only: run.update_only(),
        all_at_once: run.desired.ca_rotated(),
    }
}

/// A new cluster or the members added, and every node's etcd container changes.
pub async fn plan(run: &Run<'_>) -> anyhow::Result<Vec<Change>> {
    let mut changes = Vec::new();
    let members: Vec<&Node> = run.nodes.iter().filter(|n| n.cfg.is_etcd()).collect();
    if run.etcd_plan.fresh && !members.is_empty() {
        changes.push(Change::EtcdNewCluster {
            members: members.iter().map(|n| n.name().to_string()).collect(),
        });
    }
    changes.extend(run.etcd_plan.add.iter().map(|a| Change::EtcdAddMember {
        name: a.name.clone(),
        peer_url: a.peer_url(),
    }));
    let all: Vec<&Node> = run.nodes.iter().collect();
    changes.extend(plane_changes(&all, Plane::Etcd, run.opts.limit).await?);
    Ok(changes)
}

/// Refuse a roll into a quorum loss before any node is touched (a real run only).
pub async fn guard(run: &Run<'_>) -> anyhow::Result<()> {
    if run.etcd_external() {
        return Ok(());
    }
    let change = EtcdChange {
        nodes: &run.nodes,
        departed: &run.departed,
        plan: &run.etcd_plan,
        members: run.live_members.as_deref(),
        running_bundle: run.desired.running_bundle(),
        update_only: run.update_only(),
        all_at_once: run.desired.ca_rotated(),
        limit: run.opts.limit,
    };
    change.check().await
}

/// Bring up the etcd plane, then check the snapshot agents and prune the agent binaries they
/// no longer use.
pub async fn apply(run: &Run<'_>, uploaded: &Uploaded) -> anyhow::Result<()> {
    if run.opts.update_only && !run.update_only() {
        tracing::info!("--update-only ignored: the cluster is new or its etcd membership changes");
    }
    let ctx = run.plane_ctx();
    let etcd = plane(run, &ctx);
    let etcd_members = run.nodes.iter().filter(|n| n.cfg.is_etcd()).count();
    if run.etcd_external() {
        crate::events::skipped("etcd", "external etcd");
    } else {
        phase("etcd", etcd_members, etcd.run())
            .await
            .map_err(|e| STEPS.within(1, e))?;
    }
    tracing::info!("etcd plane ready");
    let helper = run.helper_image();
    let agent_binary = run.agent_binary.as_ref();
    let uploaded = &uploaded.0;
    parallel::for_each(&run.nodes, run.opts.limit, |node| async move {
        snapshot_agent::check_started(node).await;
        if let Some(binary) = agent_binary
            && uploaded.iter().any(|n| n == node.name())
        {
            snapshot_agent::prune_old(node, binary, helper).await;
        }
        Ok(())
    })
    .await
}
