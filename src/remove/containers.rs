//! Which containers `rke remove` takes off a node: rke's and RKE1's by name (with their
//! `old-<name>` leftovers), leftover rke helpers, and the pod containers the kubelet started.
//! The kubelet goes first, so nothing restarts pods while they are being removed.

use std::collections::HashMap;

use bollard::query_parameters::{ListContainersOptionsBuilder, RemoveContainerOptionsBuilder};

use crate::error::{ErrorKind, classified};
use crate::provision::node::{HELPER_LABEL, remove_containers};
use crate::provision::spec::{CONTAINER_NAME_LABEL, names};
use crate::transport::NodeConnection;
use crate::up::MANAGED_CONTAINERS;

/// The Docker label the kubelet (dockershim or cri-dockerd) puts on every pod container.
pub const POD_NAME_LABEL: &str = "io.kubernetes.pod.name";

/// RKE1's long-running and one-shot containers (rke1.md §10) that a node RKE1 managed may
/// still hold.
pub const RKE1_CONTAINERS: &[&str] = &[
    "service-sidekick",
    "kube-cleaner",
    "rke-log-cleaner",
    "rke-log-linker",
    "etcd-snapshot-once",
    "etcd-rolling-snapshots",
    "etcd-remove-snapshot",
    "etcd-restore",
    "etcd-download-backup",
    "etcd-Serve-backup",
    "etcd-checksum-checker",
    "etcd-extract-statefile",
    "etcd-fix-perm",
    "rke-bundle-cert",
    "cluster-state-deployer",
    "cert-deployer",
    "cert-fetcher",
    "file-deployer",
    "rke-etcd-port-listener",
    "rke-cp-port-listener",
    "rke-worker-port-listener",
    "rke-port-checker",
    "rke-selinux-checker",
    "extract-statefile-configmap",
];

/// Every container name to remove, the kubelet first, each once.
pub fn named_containers() -> Vec<&'static str> {
    let mut all = vec![names::KUBELET];
    for name in MANAGED_CONTAINERS
        .iter()
        .chain([&names::ETCD])
        .chain(RKE1_CONTAINERS)
    {
        if !all.contains(name) {
            all.push(name);
        }
    }
    all
}

/// Remove everything rke and the kubelet started on the node; returns the names removed.
pub async fn remove_all(node: &NodeConnection) -> anyhow::Result<Vec<String>> {
    let mut removed = remove_containers(node, &named_containers()).await?;
    // Then what is only known by label: containers of ours under other names, helpers left
    // by a crashed run, and the pods' containers.
    for label in [CONTAINER_NAME_LABEL, HELPER_LABEL, POD_NAME_LABEL] {
        for (id, name) in labelled(node, label).await? {
            force_remove(node, &id, &name).await?;
            removed.push(name);
        }
    }
    Ok(removed)
}

/// `(id, name)` of every container (running or not) carrying `label`.
async fn labelled(node: &NodeConnection, label: &str) -> anyhow::Result<Vec<(String, String)>> {
    let filters = HashMap::from([("label".to_string(), vec![label.to_string()])]);
    let options = ListContainersOptionsBuilder::default()
        .all(true)
        .filters(&filters)
        .build();
    let list = node
        .docker()
        .list_containers(Some(options))
        .await
        .map_err(|e| docker_failure(node, format!("listing containers labelled {label}"), &e))?;
    Ok(list
        .into_iter()
        .filter_map(|c| {
            let id = c.id?;
            let name = c
                .names
                .unwrap_or_default()
                .first()
                .map(|n| n.trim_start_matches('/').to_string())
                .unwrap_or_else(|| id.clone());
            Some((id, name))
        })
        .collect())
}

async fn force_remove(node: &NodeConnection, id: &str, name: &str) -> anyhow::Result<()> {
    let options = RemoveContainerOptionsBuilder::default()
        .force(true)
        .v(true)
        .build();
    match node.docker().remove_container(id, Some(options)).await {
        Ok(()) => Ok(()),
        // Gone meanwhile (a pod container removed with its sandbox): nothing to do.
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(()),
        Err(e) => Err(docker_failure(
            node,
            format!("removing container {name}"),
            &e,
        )),
    }
}

fn docker_failure(
    node: &NodeConnection,
    what: String,
    err: &bollard::errors::Error,
) -> anyhow::Error {
    let reason = match err {
        bollard::errors::Error::DockerResponseServerError { message, .. } => message.clone(),
        other => other.to_string(),
    };
    classified(
        ErrorKind::Docker,
        format!("node {}: {what}: {reason}", node.name()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubelet_first_every_name_once_with_rke1_and_etcd() {
        let all = named_containers();
        assert_eq!(all[0], "kubelet");
        for name in [
            "kube-apiserver",
            "kube-proxy",
            "nginx-proxy",
            "etcd",
            "etcd-rolling-snapshots",
            "service-sidekick",
            "kube-cleaner",
            "rke-log-linker",
            "etcd-snapshot-once",
            "rke-bundle-cert",
            "cluster-state-deployer",
            "cert-deployer",
        ] {
            assert_eq!(all.iter().filter(|n| **n == name).count(), 1, "{name} once");
        }
        assert_eq!(
            all.len(),
            all.iter().collect::<std::collections::HashSet<_>>().len()
        );
    }
}
