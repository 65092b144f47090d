//! Which host directories `rke remove` empties on a node: RKE1's own list plus the ones RKE1
//! left behind. `/var/lib/kubelet` is not here: it may hold pod volume mounts and is handled
//! by [`super::kubelet_dir`] only once nothing is mounted below it.

use crate::config::{RkeConfig, RkeConfigNode};
use crate::provision::node::{etcd_cleanup_dirs, host_cleanup_dirs};
use crate::provision::spec::NODE_BIN_DIR;
use crate::snapshot::naming::LOCAL_SNAPSHOT_DIR;
use crate::snapshot::restore::RESTORE_DIR;
use crate::snapshot::restore::journal::JOURNAL_DIR;

/// Where RKE1's `rke-log-linker` put the container log symlinks (never prefixed in RKE1).
pub const LOG_LINK_DIR: &str = "/var/lib/rancher/rke/log";
/// The kubelet's root directory before `prefix_path`.
pub const KUBELET_DIR: &str = "/var/lib/kubelet";
/// cri-dockerd's root directory before `prefix_path`.
pub const CRI_DOCKERD_DIR: &str = "/var/lib/cri-dockerd";

/// The directories whose contents are deleted on `node`. Local snapshots only with
/// `remove_snapshots`: they are the only way back after a mistaken removal.
pub fn node_dirs(cfg: &RkeConfig, node: &RkeConfigNode, remove_snapshots: bool) -> Vec<String> {
    let mut dirs = host_cleanup_dirs(&cfg.prefix_path);
    if node.is_etcd() && cfg.services.etcd.external_urls.is_empty() {
        dirs.extend(etcd_cleanup_dirs(&cfg.prefix_path));
    }
    dirs.extend(
        // The restore journal too: a later cluster on these nodes must not see it.
        [LOG_LINK_DIR, NODE_BIN_DIR, RESTORE_DIR, JOURNAL_DIR]
            .into_iter()
            .map(|d| format!("{d}/")),
    );
    // cri-dockerd's sandbox checkpoints (RKE1 mounts it from 1.24 and never cleans it): stale
    // ones would make a later cluster's cri-dockerd report sandboxes that are gone.
    dirs.push(format!(
        "{}{CRI_DOCKERD_DIR}/",
        cfg.prefix_path.trim_end_matches('/')
    ));
    if remove_snapshots {
        dirs.push(format!("{LOCAL_SNAPSHOT_DIR}/"));
    }
    dirs
}

/// The kubelet root directories to empty safely: the prefixed one the kubelet used and, with
/// a prefix, the unprefixed one too (flex volume plugins are always installed there).
pub fn kubelet_dirs(prefix_path: &str) -> Vec<String> {
    let prefixed = format!("{}{KUBELET_DIR}", prefix_path.trim_end_matches('/'));
    let mut dirs = vec![prefixed];
    if dirs[0] != KUBELET_DIR {
        dirs.push(KUBELET_DIR.to_string());
    }
    dirs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(roles: &[&str]) -> RkeConfigNode {
        RkeConfigNode {
            address: "10.0.0.1".into(),
            hostname_override: "n1".into(),
            role: roles.iter().map(|r| r.to_string()).collect(),
            ..RkeConfigNode::default()
        }
    }

    #[test]
    fn worker_gets_rke1_list_plus_forgotten_dirs_without_etcd_or_snapshots() {
        let cfg = RkeConfig::default();
        assert_eq!(
            node_dirs(&cfg, &node(&["worker"]), false),
            [
                "/etc/kubernetes/",
                "/etc/cni/",
                "/opt/cni/",
                "/var/run/calico/",
                "/var/lib/cni/",
                "/var/lib/rancher/rke/log/",
                "/opt/rke/bin/",
                "/opt/rke/etcd-snapshots-restore/",
                "/opt/rke/etcd-restore/",
                "/var/lib/cri-dockerd/",
            ]
        );
    }

    #[test]
    fn etcd_data_only_on_etcd_nodes_of_internal_etcd_and_snapshots_only_on_request() {
        let mut cfg = RkeConfig::default();
        let etcd = node(&["etcd"]);
        let dirs = node_dirs(&cfg, &etcd, true);
        assert!(dirs.contains(&"/var/lib/etcd/".to_string()));
        assert_eq!(dirs.last().unwrap(), "/opt/rke/etcd-snapshots/");
        assert!(!node_dirs(&cfg, &etcd, false).contains(&"/opt/rke/etcd-snapshots/".to_string()));
        cfg.services.etcd.external_urls = vec!["https://etcd.example:2379".into()];
        assert!(!node_dirs(&cfg, &etcd, false).contains(&"/var/lib/etcd/".to_string()));
    }

    #[test]
    fn prefix_applies_to_rke_dirs_and_kubelet() {
        let cfg = RkeConfig {
            prefix_path: "/opt/rke/".into(),
            ..RkeConfig::default()
        };
        let dirs = node_dirs(&cfg, &node(&["etcd"]), false);
        assert_eq!(dirs[0], "/opt/rke/etc/kubernetes/");
        assert!(dirs.contains(&"/opt/rke/var/lib/etcd/".to_string()));
        assert!(dirs.contains(&"/opt/rke/var/lib/cri-dockerd/".to_string()));
        assert_eq!(kubelet_dirs(""), ["/var/lib/kubelet"]);
        assert_eq!(kubelet_dirs("/"), ["/var/lib/kubelet"]);
        assert_eq!(
            kubelet_dirs("/opt/rke/"),
            ["/opt/rke/var/lib/kubelet", "/var/lib/kubelet"]
        );
    }
}
