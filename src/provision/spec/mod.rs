//! Desired node state as data: for every node of a defaulted `cluster.yml`, the containers it
//! should run and the files and directories it should hold. Pure functions, no I/O.
//!
//! Component flags follow RKE1 (`cluster/plan.go`): RKE-computed flags, then the version's KDM
//! defaults (an empty value removes a flag), then `extra_args`, then `extra_args_array`. Unlike
//! RKE1, binaries run directly (no rke-tools entrypoint; only cri-dockerd, which the Kubernetes
//! images lack, comes from rke-tools' sidekick volume), no secret is ever put in a container's
//! environment or command line, and each container carries [`SPEC_HASH_LABEL`]: the executor
//! replaces a container exactly when that hash differs.

mod apiserver;
mod args;
mod context;
mod control_plane;
mod cri_dockerd;
mod etcd;
mod files;
mod health;
mod inputs;
mod kubelet;
mod net;
mod paths;
mod proxy;
mod snapshot_agent;
mod types;

#[cfg(test)]
mod fixture;
#[cfg(test)]
mod tests;

pub use etcd::has_etcdutl;
#[cfg(test)]
pub(crate) use fixture::test_spec;
pub use inputs::{EtcdClusterState, EtcdMembership, HostFacts, PlanInputs};
pub use net::{host_port, under_prefix};
pub use paths::ETCD_HOST_DATA_DIR;
pub use snapshot_agent::{AGENT_ARGS, AgentBinary, NODE_BIN_DIR, STATE_FILE as AGENT_STATE_FILE};
pub use types::{
    CONTAINER_NAME_LABEL, ContainerSpec, FILES_HASH_LABEL, HealthCheck, NodeDir, NodeFile,
    NodePlan, Plane, SPEC_HASH_LABEL,
};

/// Container names, as RKE1 names them.
pub mod names {
    pub use super::apiserver::NAME as KUBE_APISERVER;
    pub use super::control_plane::{
        CONTROLLER_MANAGER as KUBE_CONTROLLER_MANAGER, SCHEDULER as KUBE_SCHEDULER,
    };
    pub use super::cri_dockerd::{NAME as CRI_DOCKERD, SIDEKICK as SERVICE_SIDEKICK};
    pub use super::etcd::NAME as ETCD;
    pub use super::kubelet::NAME as KUBELET;
    pub use super::proxy::{KUBE_PROXY_NAME as KUBE_PROXY, NGINX_PROXY};
    pub use super::snapshot_agent::NAME as ETCD_ROLLING_SNAPSHOTS;

    // Here, not in `up`: `up`, `status` and `remove` all act on this list.
    /// Containers rke (and RKE1) run that a node may hold but no longer needs. `etcd` is not
    /// here: only the etcd membership step removes it, after the member is gone.
    pub const MANAGED_CONTAINERS: &[&str] = &[
        KUBE_APISERVER,
        KUBE_CONTROLLER_MANAGER,
        KUBE_SCHEDULER,
        KUBELET,
        CRI_DOCKERD,
        KUBE_PROXY,
        NGINX_PROXY,
        ETCD_ROLLING_SNAPSHOTS,
        // After cri-dockerd, which mounts its volume.
        SERVICE_SIDEKICK,
    ];
}

use crate::certs::CertBundle;
use crate::config::{RkeConfig, RkeConfigNode};
use context::{Cluster, SELINUX_LABEL};
use files::ClusterFiles;

/// Plans for every node of a new cluster on default hosts. `cfg` must have RKE1's defaults
/// applied (`config::load`); `encryption_config` is the state's provider file, empty when
/// secrets encryption is off.
pub fn plan_cluster(
    cfg: &RkeConfig,
    certs: &CertBundle,
    encryption_config: &str,
) -> anyhow::Result<Vec<NodePlan>> {
    let inputs = PlanInputs {
        encryption_config: encryption_config.to_string(),
        ..PlanInputs::default()
    };
    plan_cluster_with(cfg, certs, &inputs)
}

/// Plans for every node, in `nodes:` order, with host facts and etcd membership given.
pub fn plan_cluster_with(
    cfg: &RkeConfig,
    certs: &CertBundle,
    inputs: &PlanInputs,
) -> anyhow::Result<Vec<NodePlan>> {
    let cluster = Cluster::new(cfg, certs, inputs)?;
    let shared = ClusterFiles::render(&cluster)?;
    cfg.nodes
        .iter()
        .map(|node| plan_node(&cluster, &shared, node))
        .collect()
}

fn plan_node(
    cluster: &Cluster,
    shared: &ClusterFiles,
    node: &RkeConfigNode,
) -> anyhow::Result<NodePlan> {
    let host = cluster.host(node);
    let mut files = files::node_files(cluster, shared, &host)?;
    let mut dirs = Vec::new();
    let mut containers = Vec::new();

    if node.is_etcd() && !cluster.external_etcd() {
        let membership = cluster
            .inputs
            .etcd
            .get(host.name())
            .cloned()
            .unwrap_or_else(|| EtcdMembership::new_cluster(cluster.cfg));
        containers.push(etcd::build(cluster, &host, &membership));
        dirs.push(NodeDir {
            path: host.path(paths::ETCD_HOST_DATA_DIR),
            mode: 0o700,
            owner: etcd::owner(&cluster.cfg.services.etcd),
        });
        // After etcd: the executor starts a plane's containers in plan order.
        if let Some(binary) = &cluster.inputs.snapshot_agent
            && let Some(schedule) = crate::snapshot::schedule::schedule(&cluster.cfg.services.etcd)?
        {
            containers.push(snapshot_agent::build(cluster, &host, binary));
            files.extend(snapshot_agent::files(cluster, &host, &schedule));
            files.sort_by(|a, b| a.path.cmp(&b.path));
            dirs.extend(snapshot_agent::dirs(cluster));
        }
    }
    if node.is_controlplane() {
        containers.push(apiserver::build(cluster, &host));
        containers.push(control_plane::controller_manager(cluster, &host));
        containers.push(control_plane::scheduler(cluster, &host));
    } else {
        containers.push(proxy::nginx_proxy(cluster, &host));
    }
    containers.extend(kubelet::build(cluster, &host));
    containers.push(proxy::kube_proxy(cluster, &host));

    let registry_file = host.path(paths::KUBELET_DOCKER_CONFIG);
    for spec in &mut containers {
        if cluster.drops_selinux_relabel() && host.facts.selinux {
            spec.security_opt.push(SELINUX_LABEL.to_string());
        }
        // The kubelet reads registry credentials from its root directory by convention, and
        // cri-dockerd through a bind of that one file, which keeps the file it was created with.
        let also = if spec.name == names::KUBELET || spec.name == names::CRI_DOCKERD {
            std::slice::from_ref(&registry_file)
        } else {
            &[]
        };
        if let Some(digest) = files::read_files_digest(spec, &files, &host.prefix, also) {
            spec.labels.insert(FILES_HASH_LABEL.to_string(), digest);
        }
        spec.seal();
    }
    Ok(NodePlan {
        node: host.name().to_string(),
        address: node.address.clone(),
        containers,
        files,
        dirs,
    })
}
