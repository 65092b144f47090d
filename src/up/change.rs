//! The changes a run of `rke up` would make, as values. Each phase's planning side returns
//! them ([`super::phases`]); `--dry-run` prints them and counts them ([`super::render`]), so
//! the plan a user sees and the exit code come from one list.

use std::fmt;

use serde::Serialize;

/// Which group of a node's containers a container change belongs to: the phase that makes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ContainerPlane {
    Etcd,
    ControlPlane,
    Worker,
    /// A managed container the node's plan no longer has (a role was taken away); removed
    /// after the worker plane.
    Unplanned,
}

impl From<crate::provision::spec::Plane> for ContainerPlane {
    fn from(plane: crate::provision::spec::Plane) -> Self {
        use crate::provision::spec::Plane;
        match plane {
            Plane::Etcd => ContainerPlane::Etcd,
            Plane::ControlPlane => ContainerPlane::ControlPlane,
            Plane::Worker => ContainerPlane::Worker,
        }
    }
}

/// One pending change of `rke up`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    /// No etcd member runs yet: the etcd nodes start a new cluster.
    EtcdNewCluster { members: Vec<String> },
    /// A node joins the etcd cluster (member add, then its container starts).
    EtcdAddMember { name: String, peer_url: String },
    /// A member leaves the etcd cluster (after the control plane no longer points at it).
    EtcdRemoveMember {
        name: String,
        peer_urls: Vec<String>,
    },
    /// A file or directory on the node differs from the plan.
    WriteFile { node: String, path: String },
    /// The node's files could not be compared: all of them are written.
    WriteAllFiles {
        node: String,
        files: usize,
        dirs: usize,
        reason: String,
    },
    /// The snapshot agent binary is put on the node (`unchecked`: why the node could not be
    /// asked whether it already has it).
    UploadAgent {
        node: String,
        path: String,
        size: u64,
        unchecked: Option<String>,
    },
    /// The worker node is cordoned (and drained) while its worker components are replaced.
    TakeOut { node: String, drain: bool },
    CreateContainer {
        node: String,
        plane: ContainerPlane,
        name: String,
        image: String,
    },
    /// The container exists with the planned spec but is stopped.
    StartContainer {
        node: String,
        plane: ContainerPlane,
        name: String,
    },
    /// The container runs with another spec; `reasons` say what differs.
    ReplaceContainer {
        node: String,
        plane: ContainerPlane,
        name: String,
        reasons: Vec<String>,
    },
    RemoveContainer {
        node: String,
        plane: ContainerPlane,
        name: String,
    },
    /// A node the last applied config had and `cluster.yml` no longer has.
    NodeLeaves {
        node: String,
        address: String,
        reachable: bool,
    },
    /// An addon's object created, updated, deleted, or RKE1's adopted ([`crate::addons::plan`]).
    Addon(crate::addons::AddonChange),
    /// A label, taint or annotation of a node's Node object ([`crate::up::metadata`]).
    NodeMetadata(crate::up::metadata::NodeMetadataChange),
}

impl Change {
    /// The node the change is made on, if it is made on one.
    pub fn node(&self) -> Option<&str> {
        match self {
            Change::WriteFile { node, .. }
            | Change::WriteAllFiles { node, .. }
            | Change::UploadAgent { node, .. }
            | Change::TakeOut { node, .. }
            | Change::CreateContainer { node, .. }
            | Change::StartContainer { node, .. }
            | Change::ReplaceContainer { node, .. }
            | Change::RemoveContainer { node, .. }
            | Change::NodeLeaves { node, .. } => Some(node),
            Change::NodeMetadata(change) => Some(&change.node),
            Change::EtcdNewCluster { .. }
            | Change::EtcdAddMember { .. }
            | Change::EtcdRemoveMember { .. }
            | Change::Addon(_) => None,
        }
    }

    /// Whether the plan lists the change before the nodes (the etcd membership, which every
    /// node's etcd change follows from).
    pub fn is_cluster_wide(&self) -> bool {
        matches!(
            self,
            Change::EtcdNewCluster { .. }
                | Change::EtcdAddMember { .. }
                | Change::EtcdRemoveMember { .. }
        )
    }
}

/// How a worker node is taken out of service while its worker components are replaced.
fn take_out_text(drain: bool) -> &'static str {
    if drain {
        "cordon and drain while its worker components are replaced, then uncordon"
    } else {
        "cordon while its worker components are replaced, then uncordon"
    }
}

/// The one-line text of the plan. A node's own changes leave the node out: the plan lists
/// them under the node.
impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::EtcdNewCluster { members } => {
                write!(f, "etcd: new cluster with members {}", members.join(", "))
            }
            Change::EtcdAddMember { name, peer_url } => {
                write!(f, "etcd: add member {name} ({peer_url})")
            }
            Change::EtcdRemoveMember { name, peer_urls } => {
                write!(f, "etcd: remove member {name} ({})", peer_urls.join(" "))
            }
            Change::WriteFile { path, .. } => write!(f, "write {path}"),
            Change::WriteAllFiles {
                files,
                dirs,
                reason,
                ..
            } => write!(
                f,
                "write all {files} files and {dirs} directories (cannot compare with the node: \
                 {reason})"
            ),
            Change::UploadAgent {
                path,
                size,
                unchecked: None,
                ..
            } => write!(f, "upload {path} (the snapshot agent, {size} bytes)"),
            Change::UploadAgent {
                path,
                unchecked: Some(reason),
                ..
            } => write!(
                f,
                "upload {path} (the snapshot agent; cannot check the node: {reason})"
            ),
            Change::TakeOut { drain, .. } => f.write_str(take_out_text(*drain)),
            Change::CreateContainer { name, image, .. } => write!(f, "create {name} ({image})"),
            Change::StartContainer { name, .. } => write!(f, "start {name} (exists, stopped)"),
            Change::ReplaceContainer { name, reasons, .. } => {
                write!(f, "replace {name}: {}", reasons.join("; "))
            }
            Change::RemoveContainer { name, .. } => write!(f, "remove {name}"),
            Change::NodeLeaves {
                node,
                address,
                reachable,
            } => write!(
                f,
                "{node} ({address}): leaves the cluster: cordon and delete its Node, remove its \
                 containers, empty its directories{}",
                if *reachable {
                    ""
                } else {
                    " (not reachable: only the Kubernetes side will be done)"
                }
            ),
            Change::Addon(change) => write!(f, "{change}"),
            // Listed under its node, whose name the line leaves out.
            Change::NodeMetadata(change) => f.write_str(&change.what()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_take_out_line_says_whether_the_node_is_drained() {
        assert!(take_out_text(true).starts_with("cordon and drain"));
        assert!(!take_out_text(false).contains("drain"));
    }

    #[test]
    fn container_changes_are_tagged_and_name_their_node() {
        let change = Change::ReplaceContainer {
            node: "n1".into(),
            plane: ContainerPlane::ControlPlane,
            name: "kube-apiserver".into(),
            reasons: vec!["image (a → b)".into(), "args".into()],
        };
        assert_eq!(change.node(), Some("n1"));
        assert_eq!(
            change.to_string(),
            "replace kube-apiserver: image (a → b); args"
        );
        let json = serde_json::to_value(&change).unwrap();
        assert_eq!(json["change"], "replace_container");
        assert_eq!(json["plane"], "control_plane");
    }
}
