//! Which containers `rke remove` takes off a node: rke's and RKE1's by name (with their
//! `old-<name>` leftovers), leftover rke helpers, and the pod containers the kubelet started.
//! The kubelet goes first, so nothing restarts pods while they are being removed.

use crate::provision::node::{HELPER_LABEL, force_remove, observe_labelled, remove_containers};
use crate::provision::spec::names::MANAGED_CONTAINERS;
use crate::provision::spec::{CONTAINER_NAME_LABEL, names};
use crate::transport::NodeConnection;

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
        for c in observe_labelled(node, label).await? {
            // Gone meanwhile (a pod container removed with its sandbox) is fine.
            if force_remove(node, &c.id, &c.name).await? {
                removed.push(c.name);
            }
        }
    }
    Ok(removed)
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
