//! Short-lived helper containers (the file helper, the cleaner): created from any small image
//! with host directories bind-mounted, labelled so a crashed run's leftovers are recognisable,
//! and force-removed afterwards.

use std::sync::atomic::{AtomicU32, Ordering};

use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{CreateContainerOptionsBuilder, RemoveContainerOptionsBuilder};

use super::{docker_error, is_not_found};
use crate::transport::NodeConnection;

/// Label marking helper containers, so a crashed run's leftovers can be recognised.
pub const HELPER_LABEL: &str = "io.rke.file-helper";

/// What a helper container runs and sees.
pub(crate) struct Helper<'a> {
    /// Names it `rke-<kind>-<pid>-<seq>`; `what` names it in errors.
    pub kind: &'a str,
    pub what: &'a str,
    pub image: &'a str,
    pub entrypoint: Option<Vec<String>>,
    pub cmd: Option<Vec<String>>,
    /// `Binds` (not `Mounts`) so the engine creates missing host directories.
    pub binds: Vec<String>,
    pub security_opt: Option<Vec<String>>,
}

/// Create (not start) the helper; returns its name.
pub(crate) async fn create(node: &NodeConnection, helper: Helper<'_>) -> anyhow::Result<String> {
    create_with(node, helper, HostAccess::Confined).await
}

/// How much of the host a helper sees beyond its bind mounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HostAccess {
    /// The default: its own namespaces, no privileges.
    Confined,
    /// Privileged and in the host's PID namespace, so it can read the host's mount table
    /// (`/proc/1/mountinfo`) and act in the host's mount namespace (`nsenter -t 1 -m`).
    PrivilegedHostPid,
}

/// Create (not start) the helper with the given host access; returns its name.
pub(crate) async fn create_with(
    node: &NodeConnection,
    helper: Helper<'_>,
    access: HostAccess,
) -> anyhow::Result<String> {
    static SEQ: AtomicU32 = AtomicU32::new(0);
    let name = format!(
        "rke-{}-{}-{}",
        helper.kind,
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    );
    let body = ContainerCreateBody {
        image: Some(helper.image.to_string()),
        entrypoint: helper.entrypoint,
        cmd: helper.cmd,
        labels: Some([(HELPER_LABEL.to_string(), "true".to_string())].into()),
        network_disabled: Some(true),
        host_config: Some(HostConfig {
            binds: Some(helper.binds),
            network_mode: Some("none".into()),
            security_opt: helper.security_opt,
            privileged: (access == HostAccess::PrivilegedHostPid).then_some(true),
            pid_mode: (access == HostAccess::PrivilegedHostPid).then(|| "host".to_string()),
            ..HostConfig::default()
        }),
        ..ContainerCreateBody::default()
    };
    let options = CreateContainerOptionsBuilder::default().name(&name).build();
    node.docker()
        .create_container(Some(options), body)
        .await
        .map_err(|e| {
            docker_error(
                node,
                format!("creating {} from {}", helper.what, helper.image),
                e,
            )
        })?;
    Ok(name)
}

/// Force-remove a container with its anonymous volumes. Returns whether it existed.
pub(crate) async fn force_remove(
    node: &NodeConnection,
    name: &str,
    what: &str,
) -> anyhow::Result<bool> {
    let options = RemoveContainerOptionsBuilder::default()
        .force(true)
        .v(true)
        .build();
    match node.docker().remove_container(name, Some(options)).await {
        Ok(()) => Ok(true),
        Err(e) if is_not_found(&e) => Ok(false),
        Err(e) => Err(docker_error(node, format!("removing {what}"), e)),
    }
}

/// Create a helper that is never started, only mounted (`binds`) so the engine's archive API
/// can read and write the node's files through it.
pub(crate) async fn create_idle(
    node: &NodeConnection,
    image: &str,
    binds: Vec<String>,
) -> anyhow::Result<String> {
    create(
        node,
        Helper {
            kind: "file-helper",
            what: "file helper",
            image,
            entrypoint: None,
            // Never started; a command is given only so images without a default one are
            // accepted.
            cmd: Some(vec!["true".into()]),
            binds,
            security_opt: None,
        },
    )
    .await
}
