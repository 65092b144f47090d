//! Phase `node metadata` (interrupt step "departed nodes and Node metadata", second half):
//! every node's kubelet has registered, and each Node's labels, taints and annotations are
//! brought to `cluster.yml`, removing what the previous config set and this one does not.

use super::Run;
use crate::kube_api::KubeClient;
use crate::up::change::Change;
use crate::up::kube_step;

/// Nothing listed yet: the labels, taints and annotations that would change per node come
/// with `Change::NodeMetadata` (see `crate::up::change`), wired in after the addplan branch.
pub fn plan(_run: &Run<'_>) -> Vec<Change> {
    Vec::new()
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
