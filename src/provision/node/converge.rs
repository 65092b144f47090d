//! Reading a node's RKE containers and carrying out convergence actions, including RKE1's
//! rolling replace (stop and rename the old container, start the new one, then remove the
//! old one; put the old one back if the new one cannot be created or started).

use std::collections::HashMap;

use bollard::query_parameters::{
    CreateContainerOptionsBuilder, ListContainersOptionsBuilder, RemoveContainerOptionsBuilder,
    RenameContainerOptionsBuilder, StopContainerOptionsBuilder,
};

use super::diff::{Action, ObservedContainer};
use super::image::{credentials_for, ensure_image};
use super::{create::create_body, docker_error, is_not_found};
use crate::config::PrivateRegistry;
use crate::provision::spec::{CONTAINER_NAME_LABEL, ContainerSpec, SPEC_HASH_LABEL, names};
use crate::transport::NodeConnection;

/// Seconds a container gets to stop before it is killed.
const STOP_GRACE_SECS: i32 = 10;
/// kube-apiserver's: on SIGTERM it finishes its short requests in well under a second, then
/// waits for its watches (which only end when their clients go) until it is killed, so the
/// full grace was 10 s of every API server replace spent waiting for the kill. The watches'
/// clients reconnect to another API server either way.
const APISERVER_STOP_GRACE_SECS: i32 = 3;
const _: () = assert!(APISERVER_STOP_GRACE_SECS < STOP_GRACE_SECS);

/// The grace `container` gets between SIGTERM and SIGKILL when it is replaced.
fn stop_grace_secs(container: &str) -> i32 {
    if container == names::KUBE_APISERVER {
        APISERVER_STOP_GRACE_SECS
    } else {
        STOP_GRACE_SECS
    }
}

/// Containers RKE1 runs for good without its name label, found by name instead: RKE1 creates
/// `etcd-rolling-snapshots` with no labels at all, and a takeover must replace it, not collide
/// with it.
const UNLABELLED_RKE1_CONTAINERS: &[&str] = &[names::ETCD_ROLLING_SNAPSHOTS];

/// Every container on the node (running or not) carrying RKE's name label, RKE1's included,
/// and RKE1's unlabelled ones.
pub async fn observe(node: &NodeConnection) -> anyhow::Result<Vec<ObservedContainer>> {
    let mut found = observe_labelled(node, CONTAINER_NAME_LABEL).await?;
    for name in UNLABELLED_RKE1_CONTAINERS {
        // Docker's name filter is a regular expression over `/name`.
        let exact = format!("^/{name}$");
        for c in list(
            node,
            "name",
            &exact,
            &format!("looking for container {name}"),
        )
        .await?
        {
            if !found.iter().any(|f| f.id == c.id) {
                found.push(c);
            }
        }
    }
    Ok(found)
}

/// Every container on the node (running or not) carrying `label`.
pub async fn observe_labelled(
    node: &NodeConnection,
    label: &str,
) -> anyhow::Result<Vec<ObservedContainer>> {
    list(
        node,
        "label",
        label,
        &format!("listing containers labelled {label}"),
    )
    .await
}

/// Every container on the node (running or not) matching one Docker list filter.
async fn list(
    node: &NodeConnection,
    filter: &str,
    value: &str,
    what: &str,
) -> anyhow::Result<Vec<ObservedContainer>> {
    let filters = HashMap::from([(filter.to_string(), vec![value.to_string()])]);
    let options = ListContainersOptionsBuilder::default()
        .all(true)
        .filters(&filters)
        .build();
    let summaries = node
        .docker()
        .list_containers(Some(options))
        .await
        .map_err(|e| docker_error(node, what.to_string(), e))?;
    Ok(summaries
        .into_iter()
        .map(|c| {
            let labels: std::collections::BTreeMap<String, String> =
                c.labels.unwrap_or_default().into_iter().collect();
            let name = c
                .names
                .unwrap_or_default()
                .first()
                .map(|n| n.trim_start_matches('/').to_string())
                .unwrap_or_default();
            ObservedContainer {
                name,
                id: c.id.unwrap_or_default(),
                image: c.image.unwrap_or_default(),
                spec_hash: labels.get(SPEC_HASH_LABEL).cloned(),
                state: c.state.map(|s| s.to_string()).unwrap_or_default(),
                labels,
            }
        })
        .collect())
}

/// Carry out `actions` in order; images come with credentials from `registries`. Returns one
/// line per change made (`Leave` makes no Docker call and no line).
pub async fn apply(
    node: &NodeConnection,
    actions: &[Action],
    registries: &[PrivateRegistry],
) -> anyhow::Result<Vec<String>> {
    let mut done = Vec::new();
    for action in actions {
        match action {
            Action::Leave { .. } => continue,
            Action::Create(spec) => {
                pull(node, spec, registries).await?;
                create_and_start(node, spec).await?;
                done.push(format!("created {}", spec.name));
            }
            Action::Replace {
                spec,
                old_id,
                changed,
            } => {
                replace(node, spec, old_id, registries).await?;
                done.push(format!("replaced {} ({})", spec.name, changed.join(", ")));
            }
            Action::Start { name, id } => {
                start(node, id, name).await?;
                done.push(format!("started {name}"));
            }
            Action::Remove { name, id } => {
                remove(node, id, name).await?;
                done.push(format!("removed {name}"));
            }
        }
    }
    Ok(done)
}

async fn pull(
    node: &NodeConnection,
    spec: &ContainerSpec,
    registries: &[PrivateRegistry],
) -> anyhow::Result<()> {
    let creds = credentials_for(&spec.image, registries);
    ensure_image(node, &spec.image, creds, false).await?;
    Ok(())
}

async fn replace(
    node: &NodeConnection,
    spec: &ContainerSpec,
    old_id: &str,
    registries: &[PrivateRegistry],
) -> anyhow::Result<()> {
    // Pull before touching the running container, so a bad image leaves it serving.
    pull(node, spec, registries).await?;
    let old_name = format!("old-{}", spec.name);
    // A leftover from an interrupted replace would block the rename.
    remove_if_present(node, &old_name).await?;
    stop(node, old_id, &spec.name).await?;
    rename(node, old_id, &old_name).await?;
    if let Err(failure) = create_and_start(node, spec).await {
        return Err(match restore(node, old_id, spec).await {
            Ok(()) => failure.context(format!(
                "the previous {} was restored and runs again",
                spec.name
            )),
            Err(restore_err) => failure.context(format!(
                "restoring the previous {} failed too: {restore_err:#}",
                spec.name
            )),
        });
    }
    remove(node, old_id, &old_name).await
}

/// Undo a failed replace: drop whatever new container exists, give the old one its name back
/// and start it.
async fn restore(node: &NodeConnection, old_id: &str, spec: &ContainerSpec) -> anyhow::Result<()> {
    remove_if_present(node, &spec.name).await?;
    rename(node, old_id, &spec.name).await?;
    if spec.created_only {
        return Ok(());
    }
    start(node, old_id, &spec.name).await
}

/// Create the container and start it, unless it only holds volumes for others.
async fn create_and_start(node: &NodeConnection, spec: &ContainerSpec) -> anyhow::Result<()> {
    let options = CreateContainerOptionsBuilder::default()
        .name(&spec.name)
        .build();
    let created = node
        .docker()
        .create_container(Some(options), create_body(spec))
        .await
        .map_err(|e| {
            docker_error(
                node,
                format!("creating {} from {}", spec.name, spec.image),
                e,
            )
        })?;
    if spec.created_only {
        return Ok(());
    }
    start(node, &created.id, &spec.name).await
}

async fn start(node: &NodeConnection, id: &str, name: &str) -> anyhow::Result<()> {
    node.docker()
        .start_container(id, None)
        .await
        .map_err(|e| docker_error(node, format!("starting {name}"), e))
}

async fn stop(node: &NodeConnection, id: &str, name: &str) -> anyhow::Result<()> {
    let options = StopContainerOptionsBuilder::default()
        .t(stop_grace_secs(name))
        .build();
    match node.docker().stop_container(id, Some(options)).await {
        Ok(()) => Ok(()),
        // 304: already stopped.
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 304, ..
        }) => Ok(()),
        Err(e) => Err(docker_error(node, format!("stopping {name}"), e)),
    }
}

async fn rename(node: &NodeConnection, id: &str, new_name: &str) -> anyhow::Result<()> {
    let options = RenameContainerOptionsBuilder::default()
        .name(new_name)
        .build();
    node.docker()
        .rename_container(id, options)
        .await
        .map_err(|e| docker_error(node, format!("renaming container to {new_name}"), e))
}

async fn remove(node: &NodeConnection, id: &str, name: &str) -> anyhow::Result<()> {
    let options = RemoveContainerOptionsBuilder::default().force(true).build();
    match node.docker().remove_container(id, Some(options)).await {
        Ok(()) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        Err(e) => Err(docker_error(node, format!("removing {name}"), e)),
    }
}

async fn remove_if_present(node: &NodeConnection, name: &str) -> anyhow::Result<()> {
    remove(node, name, name).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_api_server_gets_the_short_stop_grace() {
        assert_eq!(
            stop_grace_secs(names::KUBE_APISERVER),
            APISERVER_STOP_GRACE_SECS
        );
        for other in [names::ETCD, names::KUBELET, names::KUBE_CONTROLLER_MANAGER] {
            assert_eq!(stop_grace_secs(other), STOP_GRACE_SECS, "{other}");
        }
    }
}
