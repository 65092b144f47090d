//! Host facts that shape a node's containers, read once per run from `docker info` (already
//! fetched when connecting) and one SSH command.

use crate::provision::spec::HostFacts;
use crate::transport::NodeConnection;

/// The stub resolver address systemd-resolved writes into `/etc/resolv.conf`.
const RESOLVED_STUB: &str = "127.0.0.53";

pub async fn host_facts(node: &NodeConnection) -> HostFacts {
    let info = node.docker_facts();
    HostFacts {
        docker_root_dir: non_empty(&info.root_dir, "/var/lib/docker"),
        cgroup_driver: non_empty(&info.cgroup_driver, "cgroupfs"),
        architecture: non_empty(&info.architecture, "x86_64"),
        selinux: info.selinux,
        systemd_resolved: uses_systemd_resolved(node).await,
    }
}

fn non_empty(value: &str, default: &str) -> String {
    if value.is_empty() { default } else { value }.to_string()
}

/// Pods cannot reach the stub resolver, so the kubelet must read systemd-resolved's real file.
/// A node where the check cannot run keeps `/etc/resolv.conf` (RKE1's only behaviour).
async fn uses_systemd_resolved(node: &NodeConnection) -> bool {
    let probe = format!(
        "test -f /run/systemd/resolve/resolv.conf && grep -q '^nameserver {RESOLVED_STUB}' /etc/resolv.conf"
    );
    match node.exec_shell(&probe).await {
        Ok(out) => out.status == Some(0),
        Err(e) => {
            tracing::debug!(node = node.name(), "resolver check failed: {e}");
            false
        }
    }
}
