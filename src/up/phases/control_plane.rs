//! Phase `control plane` (interrupt step "control plane"): the API servers, controller
//! managers and schedulers, new nodes at once, running ones `max_unavailable_controlplane` at
//! a time. Left alone with `--update-only`.

use super::{Run, plane_changes};
use crate::events::phase;
use crate::provision::spec::Plane;
use crate::up::change::Change;
use crate::up::node::Node;
use crate::up::{STEPS, planes};

/// Every node's control-plane container changes.
pub async fn plan(run: &Run<'_>) -> anyhow::Result<Vec<Change>> {
    let all: Vec<&Node> = run.nodes.iter().collect();
    plane_changes(&all, Plane::ControlPlane, run.opts.limit).await
}

pub async fn apply(run: &Run<'_>) -> anyhow::Result<()> {
    if run.desired.ca_rotated() {
        tracing::info!("the CA changes: every plane is replaced at once, not rolled");
    }
    if run.update_only() {
        crate::events::skipped("controlplane", "--update-only");
        return Ok(());
    }
    let ctx = run.plane_ctx();
    let control: Vec<&Node> = run
        .nodes
        .iter()
        .filter(|n| n.cfg.is_controlplane())
        .collect();
    let strategy = run.strategy();
    let batch = planes::batch_size(&strategy.max_unavailable_controlplane, control.len());
    let converge = planes::converge(&control, Plane::ControlPlane, batch, &ctx);
    phase("controlplane", control.len(), converge)
        .await
        .map_err(|e| STEPS.within(2, e))
}
