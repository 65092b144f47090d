//! Putting a node's desired state on the node: files and directories through a short-lived
//! helper container's archive API, images pulled when missing, and containers converged on
//! the plan by their spec-hash label; removed nodes cleaned; and, for dry runs, explanations
//! of what would change (stale files, differing container fields). Everything goes through the
//! node's Docker API (one transport), so a user in the `docker` group is enough.

mod archive;
mod binary;
mod changes;
mod clean;
mod converge;
mod create;
mod diff;
mod explain;
mod files;
mod helper;
mod image;
mod logs;
mod mounts;
mod oneshot;
mod pull;

pub use binary::{binary_present, prune_binaries, upload_local_file};
pub use changes::field_changes;
pub use clean::{clean_dirs, etcd_cleanup_dirs, host_cleanup_dirs, remove_containers};
pub use converge::{apply, observe, observe_labelled};
pub use create::create_body;
pub use diff::{Action, ObservedContainer, diff};
pub use explain::{explain_replace, spec_from_inspect, without_image_defaults};
pub use files::{FileUpload, fetch_file, read_host_files, stale_paths, upload_files};
pub use helper::HELPER_LABEL;
pub(crate) use helper::{Helper, HostAccess, force_remove};
pub use image::{credentials_for, ensure_image, registry_host};
pub use logs::tail_logs;
pub(crate) use oneshot::run as run_oneshot;
pub(crate) use oneshot::run_with as run_oneshot_with;

use crate::error::{ErrorKind, classified};
use crate::transport::NodeConnection;

/// A failed Docker call, classified as a Docker error and naming the node and what was done.
fn docker_error(
    node: &NodeConnection,
    what: impl std::fmt::Display,
    err: bollard::errors::Error,
) -> anyhow::Error {
    classified(
        ErrorKind::Docker,
        format!("node {}: {what}: {}", node.name(), docker_reason(&err)),
    )
}

/// The engine's own message when it sent one, else bollard's description.
fn docker_reason(err: &bollard::errors::Error) -> String {
    match err {
        bollard::errors::Error::DockerResponseServerError { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

/// Whether the engine answered 404 (no such container, image or path).
fn is_not_found(err: &bollard::errors::Error) -> bool {
    matches!(
        err,
        bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}
