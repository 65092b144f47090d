//! What planning needs besides `cluster.yml` and the certificates: facts about each host (from
//! `docker info`) and the etcd membership each etcd node should start with.

use super::snapshot_agent::AgentBinary;
use crate::config::RkeConfig;
use std::collections::BTreeMap;

/// Facts about one host that change its containers, as `docker info` reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostFacts {
    /// `DockerRootDir`; the kubelet needs it mounted at the same path.
    pub docker_root_dir: String,
    /// `CgroupDriver` (`cgroupfs` or `systemd`); the kubelet must use the same one.
    pub cgroup_driver: String,
    /// `Architecture` (`x86_64`, `aarch64`, ...); etcd refuses unknown ones unless told.
    pub architecture: String,
    /// Docker reports SELinux in `SecurityOptions`: from Kubernetes 1.22 containers then get
    /// RKE1's `label=type:rke_container_t` instead of `:z` relabelling.
    pub selinux: bool,
    /// The host runs systemd-resolved, whose `/etc/resolv.conf` points at a stub resolver that
    /// pods cannot reach; the kubelet then reads the real file instead (as rke-tools does).
    pub systemd_resolved: bool,
}

impl Default for HostFacts {
    fn default() -> Self {
        HostFacts {
            docker_root_dir: "/var/lib/docker".into(),
            cgroup_driver: "cgroupfs".into(),
            architecture: "x86_64".into(),
            selinux: false,
            systemd_resolved: false,
        }
    }
}

/// How an etcd member starts: with whom, and whether it founds the cluster or joins it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtcdMembership {
    /// `(hostname_override, internal address)` of each member, in `--initial-cluster` order.
    pub members: Vec<(String, String)>,
    pub state: EtcdClusterState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EtcdClusterState {
    New,
    Existing,
}

impl EtcdClusterState {
    pub fn as_str(self) -> &'static str {
        match self {
            EtcdClusterState::New => "new",
            EtcdClusterState::Existing => "existing",
        }
    }
}

impl EtcdMembership {
    /// Every etcd node of the config founding a new cluster (RKE1's first `rke up`).
    pub fn new_cluster(cfg: &RkeConfig) -> EtcdMembership {
        EtcdMembership {
            members: cfg
                .nodes
                .iter()
                .filter(|n| n.is_etcd())
                .map(|n| {
                    (
                        n.hostname_override.clone(),
                        n.effective_internal_address().to_string(),
                    )
                })
                .collect(),
            state: EtcdClusterState::New,
        }
    }

    /// RKE1 `GetEtcdInitialCluster`: `etcd-<name>=https://<ip>:2380,...`.
    pub fn initial_cluster(&self) -> String {
        self.members
            .iter()
            .map(|(name, ip)| format!("etcd-{name}=https://{}:2380", super::net::host_port(ip)))
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// Everything [`plan_cluster_with`](super::plan_cluster_with) takes besides config and
/// certificates. The default is right for a new cluster on plain x86-64 Docker hosts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanInputs {
    /// Secrets encryption provider file (the state's `encryptionConfig`); empty when disabled.
    pub encryption_config: String,
    /// The rendered `/etc/kubernetes/cloud-config`; empty means "use `customCloudProvider`".
    pub cloud_config: String,
    /// Per node address; nodes not listed get [`HostFacts::default`].
    pub hosts: BTreeMap<String, HostFacts>,
    /// Per etcd node (`hostname_override`); nodes not listed found a new cluster with every
    /// etcd node of the config.
    pub etcd: BTreeMap<String, EtcdMembership>,
    /// The binary the recurring snapshot agent runs. `None` plans no agent (nor its files)
    /// even when `services.etcd.snapshot` is on: there is nothing to run it with.
    pub snapshot_agent: Option<AgentBinary>,
    /// The cluster state JSON the agent embeds in every archive (what `rke up` records).
    pub state_json: String,
}
