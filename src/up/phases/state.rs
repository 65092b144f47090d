//! Phase `state` (interrupt step "addons and state", second half): `currentState` is advanced,
//! in the state file and in the cluster's state Secret, only once everything else succeeded,
//! so a failed run is simply run again. A dry run writes nothing, so it lists nothing here.

use anyhow::Context;

use super::Run;
use crate::kube_api::KubeClient;

pub async fn apply(run: &Run<'_>, kube: &KubeClient) -> anyhow::Result<()> {
    run.desired.write_applied()?;
    kube.save_state(&run.desired.applied_state().to_compact_string()?)
        .await
        .context("saving the state in the cluster")
}
