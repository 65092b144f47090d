//! Phase `addons` (interrupt step "addons and state", first half; RKE1's `ConfigureCluster`):
//! network plugin, DNS, metrics-server, ingress and the user's addons, applied through the
//! API server (also with `--update-only`, as RKE1).

use std::time::Duration;

use anyhow::Context;

use super::Run;
use crate::events::phase;
use crate::kube_api::KubeClient;
use crate::up::change::Change;
use crate::up::kube_step;

/// The addons RKE1 deployed that change hands. The API of a cluster already up says which
/// (a cluster whose API does not answer is planned without it, with a warning).
pub async fn plan(run: &Run<'_>) -> anyhow::Result<Vec<Change>> {
    let kube = match run.desired.applied_config() {
        Some(_) => kube_step::connect(&run.nodes, &run.desired.bundle, Duration::from_secs(10))
            .await
            .inspect_err(|e| tracing::warn!("addons not compared with the cluster: {e:#}"))
            .ok(),
        None => None,
    };
    // Interim, until the addons' per-object plan (`Change::Addon`) replaces it.
    crate::addons::dry_run(kube.as_ref(), &run.addons, run.desired.addons_baseline()).await
}

pub async fn apply(run: &Run<'_>, kube: &KubeClient) -> anyhow::Result<()> {
    let deploy = crate::addons::deploy(
        kube,
        &run.addons,
        run.desired.addons_baseline(),
        crate::addons::addon_timeout(run.cfg()),
    );
    phase("addons", 0, async { deploy.await.context("addons") }).await
}
