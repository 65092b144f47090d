//! The Kubernetes API step of `rke up`: a client reaching a control-plane node's API server
//! through SSH, RKE1's authorization objects, the cluster state Secret, and node bookkeeping
//! (readiness, labels/taints, cordon, drain, delete).

mod apply;
mod authz;
mod connect;
mod drain;
mod heartbeat;
mod metadata;
mod nodes;
mod service_accounts;
mod state;

pub use apply::{apply_if_changed, same_stored};
pub use authz::{AUTHZ_FIELD_MANAGER, authz_objects};
pub use connect::{API_PORT, KubeClient, admin_kubeconfig_json, counted_client};
pub use drain::{
    DrainOptions, PodVerdict, UPGRADE_CORDONED, cordoned_by_rke, plan_drain, pod_verdict,
};
pub use heartbeat::renewed_since;
pub use metadata::{NodeMetadata, merge_metadata, merge_taints, role_labels};
pub use nodes::is_ready;
pub use service_accounts::{
    SA_TOKEN_SECRET_TYPE, TokenRefresh, recreating_owner, uses_service_account_token,
};
pub use state::{FULL_STATE_NAME, FULL_STATE_NAMESPACE, read_state};

use crate::error::{ErrorKind, classified, display_chain};

/// A Kubernetes API failure as a classified error naming what was being done.
pub(crate) fn api_error(
    context: impl std::fmt::Display,
    err: impl Into<anyhow::Error>,
) -> anyhow::Error {
    let err: anyhow::Error = err.into();
    classified(
        ErrorKind::KubernetesApi,
        format!("{context}: {}", display_chain(&err)),
    )
}
