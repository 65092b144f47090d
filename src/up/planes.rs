//! Bringing the control plane and the worker plane to their plans: new nodes in parallel,
//! nodes whose containers must be replaced or restarted in small batches with a health check
//! before the next batch, so the API and the workloads stay served.

use std::time::Duration;

use anyhow::Context;

use super::node::Node;
use crate::certs::CertBundle;
use crate::config::PrivateRegistry;
use crate::parallel;
use crate::provision::node::Action;
use crate::provision::spec::Plane;

/// What every plane step shares.
pub struct PlaneCtx<'a> {
    pub bundle: &'a CertBundle,
    pub registries: &'a [PrivateRegistry],
    /// Nodes worked on at once (`--max-parallel`).
    pub limit: usize,
    /// How long a node's components get to become healthy.
    pub health_timeout: Duration,
}

pub fn plane_label(plane: Plane) -> &'static str {
    match plane {
        Plane::Etcd => "etcd plane",
        Plane::ControlPlane => "control plane",
        Plane::Worker => "worker plane",
    }
}

/// Converge `plane` on `nodes`. Nodes whose containers only need creating go first, all at
/// once; then nodes with running containers to replace or restart, `batch` at a time.
pub async fn converge(
    nodes: &[&Node],
    plane: Plane,
    batch: usize,
    ctx: &PlaneCtx<'_>,
) -> anyhow::Result<()> {
    let observed = parallel::map(nodes, ctx.limit, |n| n.plane_actions(plane)).await;
    let mut fresh = Vec::new();
    let mut rolling = Vec::new();
    for (node, actions) in nodes.iter().zip(observed) {
        let actions = actions.with_context(|| plane_label(plane))?;
        if is_disruptive(&actions) {
            rolling.push((*node, actions));
        } else {
            fresh.push((*node, actions));
        }
    }
    parallel::for_each(&fresh, ctx.limit, |(node, actions)| {
        converge_node(node, actions, plane, ctx)
    })
    .await?;
    let first: Vec<&str> = fresh.iter().map(|(n, _)| n.name()).collect();
    let named: Vec<Vec<&str>> = rolling
        .chunks(batch.max(1))
        .map(|c| c.iter().map(|(n, _)| n.name()).collect())
        .collect();
    for (i, chunk) in rolling.chunks(batch.max(1)).enumerate() {
        let (done, left) = crate::interrupt::batch_progress(&first, &named, i);
        crate::interrupt::between_nodes(plane_label(plane), &done, &left)?;
        parallel::for_each(chunk, ctx.limit, |(node, actions)| {
            converge_node(node, actions, plane, ctx)
        })
        .await?;
    }
    Ok(())
}

/// Whether carrying out `actions` takes running containers away (a replace or a removal).
pub fn is_disruptive(actions: &[Action]) -> bool {
    actions
        .iter()
        .any(|a| matches!(a, Action::Replace { .. } | Action::Remove { .. }))
}

/// Apply a node's actions for `plane` and wait for its health checks.
pub async fn converge_node(
    node: &Node,
    actions: &[Action],
    plane: Plane,
    ctx: &PlaneCtx<'_>,
) -> anyhow::Result<()> {
    let work = async {
        node.apply(actions, ctx.registries)
            .await
            .with_context(|| plane_label(plane))?;
        node.wait_healthy(plane, ctx.bundle, ctx.health_timeout)
            .await
            .with_context(|| plane_label(plane))
    };
    crate::events::step(node.name(), plane_step(plane), work).await
}

/// The step name of converging `plane` on a node, in events.
pub fn plane_step(plane: Plane) -> &'static str {
    match plane {
        Plane::Etcd => "etcd",
        Plane::ControlPlane => "controlplane",
        Plane::Worker => "worker",
    }
}

/// `max_unavailable_*` as a node count: a number, or a percentage of `total` rounded down;
/// at least 1 (RKE1's rule).
pub fn batch_size(spec: &str, total: usize) -> usize {
    let spec = spec.trim();
    let n = match spec.strip_suffix('%') {
        Some(pct) => pct
            .trim()
            .parse::<usize>()
            .map(|p| total * p / 100)
            .unwrap_or(1),
        None => spec.parse::<usize>().unwrap_or(1),
    };
    n.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_sizes_follow_rke1() {
        assert_eq!(batch_size("10%", 3), 1);
        assert_eq!(batch_size("50%", 10), 5);
        assert_eq!(batch_size("2", 10), 2);
        assert_eq!(batch_size("0", 10), 1);
        assert_eq!(batch_size("", 10), 1);
    }
}
