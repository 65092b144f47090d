//! Phase `addons` (interrupt step "addons and state", first half; RKE1's `ConfigureCluster`):
//! network plugin, DNS, metrics-server, ingress and the user's addons, applied through the
//! API server (also with `--update-only`, as RKE1).

use anyhow::Context;

use super::Run;
use crate::events::phase;
use crate::kube_api::KubeClient;
use crate::up::change::Change;

/// Per addon, the objects that would be created, updated or deleted, and RKE1's objects that
/// change hands ([`crate::addons::plan`]); against the cluster's API when it answers (`kube`).
pub async fn plan(run: &Run<'_>, kube: Option<&KubeClient>) -> anyhow::Result<Vec<Change>> {
    let changes =
        crate::addons::plan_addons(kube, &run.addons, run.desired.addons_baseline()).await?;
    Ok(changes.into_iter().map(Change::Addon).collect())
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
