//! The `etcd-rolling-snapshots` container (RKE1 `RunEtcdSnapshotSave` without `--once`) and
//! its files. Unlike RKE1 it runs no rke-tools image: the `rke` binary itself, uploaded to
//! the node, runs inside the etcd image as the recurring snapshot agent. Its settings,
//! including S3 keys, travel in a 0600 file, never in the environment or the arguments.

use super::context::{Cluster, Host, container};
use super::etcd;
use super::paths::{self, KUBERNETES_DIR};
use super::types::{ContainerSpec, NodeDir, NodeFile, Plane};
use crate::certs::KUBE_CA;
use crate::etcd::ETCD_CLIENT_PORT;
use crate::snapshot::agent::{AgentSettings, EtcdEndpoint};
use crate::snapshot::naming::LOCAL_SNAPSHOT_DIR;
use crate::snapshot::schedule::Schedule;

/// RKE1's container name (`EtcdSnapshotContainerName`).
pub const NAME: &str = "etcd-rolling-snapshots";
/// Where `rke up` puts agent binaries on every etcd node (not under `prefix_path`, like the
/// snapshot directory).
pub const NODE_BIN_DIR: &str = "/opt/rke/bin";
pub const SETTINGS_FILE: &str = "/etc/kubernetes/snapshot-agent/settings.json";
/// The cluster state embedded in every archive, as RKE1 embeds `full-cluster-state`.
pub const STATE_FILE: &str = "/etc/kubernetes/snapshot-agent/cluster.rkestate";
/// The agent's command line after the binary.
pub const AGENT_ARGS: &[&str] = &["etcd", "snapshot-agent", "--settings", SETTINGS_FILE];

/// The `rke` binary the agent runs, named on the node by its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentBinary {
    /// Lower-case hex SHA-256 of the binary.
    pub sha256: String,
}

impl AgentBinary {
    /// `/opt/rke/bin/rke-<first 16 hex digits of the SHA-256>`, the same path on the node and
    /// in the container.
    pub fn node_path(&self) -> String {
        let short: String = self.sha256.chars().take(16).collect();
        format!("{NODE_BIN_DIR}/rke-{short}")
    }
}

/// The agent container of an etcd node.
pub fn build(cluster: &Cluster, host: &Host, binary: &AgentBinary) -> ContainerSpec {
    let etcd_cfg = &cluster.cfg.services.etcd;
    let bin = binary.node_path();
    let mut spec = container(NAME, &etcd_cfg.image, Plane::Etcd);
    spec.entrypoint = vec![bin.clone()];
    spec.args = AGENT_ARGS.iter().map(|a| a.to_string()).collect();
    let mut binds = cluster.own_binds(vec![
        format!("{LOCAL_SNAPSHOT_DIR}:{LOCAL_SNAPSHOT_DIR}:z"),
        format!("{}:{KUBERNETES_DIR}:ro,z", host.path(KUBERNETES_DIR)),
    ]);
    binds.push(format!("{bin}:{bin}:ro"));
    spec.binds = binds;
    spec.user = etcd::etcd_user(etcd_cfg.uid, etcd_cfg.gid);
    spec
}

/// The settings file and the state file of an etcd node, owned by etcd's user when it has one.
pub fn files(cluster: &Cluster, host: &Host, schedule: &Schedule) -> Vec<NodeFile> {
    let cert = etcd::cert_name(host);
    let settings = AgentSettings {
        node: host.name().to_string(),
        etcd: EtcdEndpoint {
            ip: host.internal.clone(),
            port: ETCD_CLIENT_PORT,
            ca_file: paths::cert(KUBE_CA),
            cert_file: paths::cert(&cert),
            key_file: paths::key(&cert),
        },
        backup_dir: LOCAL_SNAPSHOT_DIR.to_string(),
        state_file: STATE_FILE.to_string(),
        creation_secs: schedule.creation.as_secs().max(1),
        retention_secs: schedule.retention.as_secs(),
        timeout_secs: schedule.timeout.as_secs().max(1),
        s3: schedule.s3.clone(),
    };
    let owner = etcd::owner(&cluster.cfg.services.etcd);
    let file = |path: &str, contents: Vec<u8>| NodeFile {
        path: host.path(path),
        contents,
        mode: 0o600,
        secret: true,
        owner,
    };
    vec![
        file(SETTINGS_FILE, settings.to_json().into_bytes()),
        file(STATE_FILE, cluster.inputs.state_json.clone().into_bytes()),
    ]
}

/// The snapshot directory, when etcd runs as a user who must be able to write there (as
/// root, the engine creates it when binding).
pub fn dirs(cluster: &Cluster) -> Vec<NodeDir> {
    etcd::owner(&cluster.cfg.services.etcd)
        .map(|owner| NodeDir {
            path: LOCAL_SNAPSHOT_DIR.to_string(),
            mode: 0o700,
            owner: Some(owner),
        })
        .into_iter()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_path_uses_the_first_16_hex_digits() {
        let b = AgentBinary {
            sha256: "0123456789abcdef".repeat(4),
        };
        assert_eq!(b.node_path(), "/opt/rke/bin/rke-0123456789abcdef");
    }
}
