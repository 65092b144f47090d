//! Phase `workers` (interrupt step "worker plane"): kubelet, kube-proxy and nginx-proxy,
//! rolled `max_unavailable_worker` nodes at a time, each cordoned (and drained, when the
//! upgrade strategy says so) while its components are replaced; then the components of roles
//! a node no longer has are removed. With `--update-only` only nodes new to the cluster.

use anyhow::Context;

use super::{Run, container_changes};
use crate::config::RkeConfig;
use crate::events::phase;
use crate::kube_api::{DrainOptions, KubeClient};
use crate::parallel;
use crate::provision::spec::Plane;
use crate::up::STEPS;
use crate::up::change::{Change, ContainerPlane};
use crate::up::node::Node;
use crate::up::planes::{self, is_disruptive};
use crate::up::rollout::Rollout;

/// Per node: the take-out when worker containers are replaced, the worker container changes,
/// and the removal of components of roles it no longer has.
pub async fn plan(run: &Run<'_>) -> anyhow::Result<Vec<Change>> {
    // The configured strategy: the dry run does not apply a CA rotation's all-at-once.
    let drain = run
        .cfg()
        .upgrade_strategy
        .as_ref()
        .and_then(DrainOptions::from_strategy)
        .is_some();
    let per_node = parallel::try_map(&run.nodes, run.opts.limit, |node| async move {
        let mut changes = Vec::new();
        let actions = node.plane_actions(Plane::Worker).await?;
        if node.cfg.is_worker() && is_disruptive(&actions) {
            changes.push(Change::TakeOut {
                node: node.name().to_string(),
                drain,
            });
        }
        changes.extend(container_changes(node, ContainerPlane::Worker, &actions).await?);
        let unplanned = node.unplanned_actions().await?;
        changes.extend(container_changes(node, ContainerPlane::Unplanned, &unplanned).await?);
        anyhow::Ok(changes)
    })
    .await?;
    Ok(per_node.into_iter().flatten().collect())
}

pub async fn apply(run: &Run<'_>, kube: &KubeClient) -> anyhow::Result<()> {
    let ctx = run.plane_ctx();
    let strategy = run.strategy();
    let update_only = run.update_only();
    let workers: Vec<&Node> = run
        .nodes
        .iter()
        .filter(|n| !update_only || !was_applied(run.desired.applied_config(), n))
        .collect();
    let rollout = Rollout {
        kube,
        ctx: &ctx,
        batch: planes::batch_size(&strategy.max_unavailable_worker, workers.len()),
        drain: DrainOptions::from_strategy(&strategy),
    };
    phase("worker", workers.len(), rollout.run(&workers))
        .await
        .map_err(|e| STEPS.within(4, e))?;
    let registries = ctx.registries;
    parallel::for_each(&run.nodes, run.opts.limit, |node| async move {
        let actions = node.unplanned_actions().await?;
        node.apply(&actions, registries).await
    })
    .await
    .context("removing components of roles nodes no longer have")?;
    tracing::info!("worker plane ready");
    Ok(())
}

fn was_applied(applied: Option<&RkeConfig>, node: &Node) -> bool {
    applied.is_some_and(|c| c.nodes.iter().any(|o| o.address == node.cfg.address))
}
