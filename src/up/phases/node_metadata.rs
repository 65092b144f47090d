//! Phase `node metadata` (interrupt step "departed nodes and Node metadata", second half):
//! every node's kubelet has registered, and each Node's labels, taints and annotations are
//! brought to `cluster.yml`, removing what the previous config set and this one does not.

use super::Run;
use crate::kube_api::KubeClient;
use crate::up::change::Change;
use crate::up::kube_step;

/// The labels, taints and annotations that would change on each node
/// ([`crate::up::metadata`]); every node is taken as unregistered without the API (`kube`).
pub async fn plan(run: &Run<'_>, kube: Option<&KubeClient>) -> anyhow::Result<Vec<Change>> {
    let changes = crate::up::metadata::plan(kube, run.cfg(), run.desired.applied_config()).await?;
    Ok(changes.into_iter().map(Change::NodeMetadata).collect())
}

pub async fn apply(run: &Run<'_>, kube: &KubeClient) -> anyhow::Result<()> {
    kube_step::sync_metadata(
        kube,
        run.cfg(),
        run.desired.applied_config(),
        run.opts.health_timeout,
    )
    .await
}
