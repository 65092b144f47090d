//! Phase `membership` (interrupt step "API access"): the etcd members that left are removed,
//! now that no API server points at them; then the API server is reached and RKE1's
//! authorization objects applied. Its client serves the later phases.

use anyhow::Context;

use super::Run;
use crate::kube_api::KubeClient;
use crate::up::change::Change;
use crate::up::kube_step;

/// The etcd members to remove.
pub fn plan(run: &Run<'_>) -> Vec<Change> {
    run.etcd_plan
        .remove
        .iter()
        .map(|m| Change::EtcdRemoveMember {
            name: m.name.clone(),
            peer_urls: m.peer_urls.clone(),
        })
        .collect()
}

pub async fn apply(run: &Run<'_>) -> anyhow::Result<KubeClient> {
    let ctx = run.plane_ctx();
    super::etcd::plane(run, &ctx).remove_members().await?;
    let kube = kube_step::connect(&run.nodes, &run.desired.bundle, run.opts.health_timeout)
        .await
        .context("control plane")?;
    kube.apply_authz().await?;
    tracing::info!("control plane ready");
    Ok(kube)
}
