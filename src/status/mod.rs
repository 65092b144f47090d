//! `rke status`: a read-only report of the cluster: per node its reachability and, per
//! component container, its state, image and drift from what `rke up` would deploy now; the
//! etcd members and their health; the expiry of every certificate of the state. Nothing on
//! the nodes or in the state file changes.
//!
//! [`gather`] collects it (plans from [`crate::plan`], the same as `rke up`), [`text`]
//! prints it as a table; the types serialize as the JSON form.

mod certs;
mod components;
mod etcd;
mod gather;
pub mod text;

pub use certs::certificate_expiry;
pub use components::{classify, is_managed};
pub use gather::{ConnectFailure, gather};

use serde::Serialize;

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub cluster_name: String,
    /// The state file's `currentState` holds a cluster (`rke up` finished at least once).
    pub applied: bool,
    pub nodes: Vec<NodeStatus>,
    pub etcd: EtcdStatus,
    pub certificates: Vec<CertExpiry>,
    pub summary: Summary,
}

/// One node of `cluster.yml`.
#[derive(Debug, Clone, Serialize)]
pub struct NodeStatus {
    /// `hostname_override`.
    pub name: String,
    pub address: String,
    pub roles: Vec<String>,
    pub reachable: bool,
    /// Why the node could not be reached or its containers listed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The error's class (`connection`, `docker`, ...), as exit codes name them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_kind: Option<&'static str>,
    /// Planned containers in plan order, then managed containers the plan lacks.
    pub components: Vec<Component>,
}

/// One component container on a node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Component {
    pub name: String,
    pub state: ContainerState,
    /// The image the container runs; `None` when it is missing.
    pub image: Option<String>,
    /// The image `rke up` would run; `None` when the component is not wanted.
    pub wanted_image: Option<String>,
    pub drift: Drift,
    /// For `differs`: what differs, one line each.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ContainerState {
    Running,
    /// Restarted by its restart policy (crashing, or coming back).
    Restarting,
    /// Exists but does not run (exited, created, paused, dead).
    Stopped,
    /// Created and never started, as planned: a volume holder (`service-sidekick`).
    Created,
    Missing,
}

impl ContainerState {
    /// Docker's state word for a container that exists.
    pub fn from_docker(state: &str) -> Self {
        match state {
            "running" => ContainerState::Running,
            "restarting" => ContainerState::Restarting,
            _ => ContainerState::Stopped,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ContainerState::Running => "running",
            ContainerState::Restarting => "restarting",
            ContainerState::Stopped => "stopped",
            ContainerState::Created => "created",
            ContainerState::Missing => "missing",
        }
    }
}

/// How a component compares with what `rke up` would deploy now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Drift {
    /// Same spec hash: `rke up` leaves it (and starts it if stopped).
    Matches,
    /// Another spec: `rke up` would replace it.
    Differs,
    /// Planned but absent: `rke up` would create it.
    Missing,
    /// Managed by rke but not planned on this node: `rke up` would remove it.
    NotWanted,
    /// Cannot be told (etcd's flags depend on a member list no member gave).
    Unknown,
}

impl Drift {
    pub fn describe(self) -> &'static str {
        match self {
            Drift::Matches => "matches",
            Drift::Differs => "differs (would be replaced)",
            Drift::Missing => "missing (would be created)",
            Drift::NotWanted => "not wanted (would be removed)",
            Drift::Unknown => "unknown (no etcd member answered)",
        }
    }
}

/// The cluster's etcd.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EtcdStatus {
    /// `services.etcd.external_urls` is set: rke runs no etcd and does not check it.
    pub external: bool,
    pub members: Vec<MemberStatus>,
    /// Why there is no member list.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemberStatus {
    /// Empty for a member added but never started.
    pub name: String,
    /// Hexadecimal, as etcdctl prints it.
    pub id: String,
    pub peer_urls: Vec<String>,
    pub client_urls: Vec<String>,
    pub learner: bool,
    pub healthy: bool,
    pub leader: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One certificate of the state's bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertExpiry {
    pub name: String,
    /// RFC 3339, UTC; empty when unreadable.
    pub not_after: String,
    /// Whole days left; negative once expired.
    pub days_left: i64,
    pub state: CertState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CertState {
    Ok,
    /// Fewer than [`crate::certs::EXPIRY_WARN_DAYS`] days left.
    Expiring,
    Expired,
    Unreadable,
}

/// Counts for a one-line verdict.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub nodes: usize,
    pub reachable: usize,
    pub components: usize,
    pub matching: usize,
    pub differing: usize,
    pub missing: usize,
    pub not_wanted: usize,
    pub unknown: usize,
    /// Components that exist but do not run (stopped, or restarting).
    pub not_running: usize,
    pub etcd_members: usize,
    pub etcd_healthy: usize,
    pub certificates: usize,
    pub certificates_expiring: usize,
    pub certificates_expired: usize,
}

impl Summary {
    pub fn of(nodes: &[NodeStatus], etcd: &EtcdStatus, certs: &[CertExpiry]) -> Self {
        let all: Vec<&Component> = nodes.iter().flat_map(|n| &n.components).collect();
        let drift = |d: Drift| all.iter().filter(|c| c.drift == d).count();
        let cert = |s: CertState| certs.iter().filter(|c| c.state == s).count();
        Summary {
            nodes: nodes.len(),
            reachable: nodes.iter().filter(|n| n.reachable).count(),
            components: all.len(),
            matching: drift(Drift::Matches),
            differing: drift(Drift::Differs),
            missing: drift(Drift::Missing),
            not_wanted: drift(Drift::NotWanted),
            unknown: drift(Drift::Unknown),
            not_running: all
                .iter()
                .filter(|c| {
                    matches!(
                        c.state,
                        ContainerState::Stopped | ContainerState::Restarting
                    )
                })
                .count(),
            etcd_members: etcd.members.len(),
            etcd_healthy: etcd.members.iter().filter(|m| m.healthy).count(),
            certificates: certs.len(),
            certificates_expiring: cert(CertState::Expiring),
            certificates_expired: cert(CertState::Expired) + cert(CertState::Unreadable),
        }
    }

    /// Every component matches and runs, every node answered, every etcd member is healthy
    /// and no certificate needs attention.
    pub fn all_good(&self) -> bool {
        self.reachable == self.nodes
            && self.matching == self.components
            && self.not_running == 0
            && self.etcd_healthy == self.etcd_members
            && self.certificates_expiring == 0
            && self.certificates_expired == 0
    }
}
