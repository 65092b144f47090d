//! The dry run's plan as text and as the JSON result's `data`, from the changes alone (pure).
//! Text: the etcd membership first, then every node of the config (its changes indented under
//! it, or "no changes", Node metadata among them), then the rest (departing nodes, addons), and last the `Dry run:` line
//! scripts read.

use std::fmt::Write as _;

use serde::Serialize;
use serde_json::{Value, json};

use super::change::Change;

/// A node of the config, as the plan names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedNode {
    pub name: String,
    pub address: String,
}

/// What a dry run found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DryRunPlan {
    /// Every node of the config, in `nodes:` order: each gets a line, changed or not.
    pub nodes: Vec<PlannedNode>,
    /// In phase order.
    pub changes: Vec<Change>,
}

impl DryRunPlan {
    /// The exit code's count: every change.
    pub fn pending(&self) -> usize {
        self.changes.len()
    }
}

/// The printed plan and the JSON `data` of a dry run.
pub fn render(plan: &DryRunPlan) -> (String, Value) {
    let mut text = String::new();
    let on_listed_node = |c: &Change| {
        c.node()
            .is_some_and(|n| plan.nodes.iter().any(|p| p.name == n))
    };
    for change in plan.changes.iter().filter(|c| c.is_cluster_wide()) {
        let _ = writeln!(text, "{change}");
    }
    for node in &plan.nodes {
        let mine: Vec<&Change> = plan
            .changes
            .iter()
            .filter(|c| !c.is_cluster_wide() && c.node() == Some(node.name.as_str()))
            .collect();
        if mine.is_empty() {
            let _ = writeln!(text, "{} ({}): no changes", node.name, node.address);
            continue;
        }
        let _ = writeln!(text, "{} ({}):", node.name, node.address);
        for change in mine {
            let _ = writeln!(text, "  {change}");
        }
    }
    for change in plan
        .changes
        .iter()
        .filter(|c| !c.is_cluster_wide() && !on_listed_node(c))
    {
        let _ = writeln!(text, "{change}");
    }
    let pending = plan.pending();
    if pending == 0 {
        text.push_str("Dry run: no changes\n");
    } else {
        let _ = writeln!(text, "Dry run: {pending} change(s) pending");
    }
    let data = json!({
        "dry_run": true,
        "pending_changes": pending,
        "changes": plan.changes,
    });
    (text, data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::addons::{AddonChange, ObjectAction};
    use crate::up::change::ContainerPlane;
    use crate::up::metadata::{MetadataKind, NodeMetadataChange};

    fn node(name: &str, address: &str) -> PlannedNode {
        PlannedNode {
            name: name.into(),
            address: address.into(),
        }
    }

    /// One change of every kind, on two nodes, a quiet third and a departing fourth.
    fn every_kind() -> DryRunPlan {
        let n1 = || "node1".to_string();
        let n2 = || "node2".to_string();
        DryRunPlan {
            nodes: vec![
                node("node1", "10.0.0.1"),
                node("node2", "10.0.0.2"),
                node("node3", "10.0.0.3"),
            ],
            changes: vec![
                Change::WriteFile {
                    node: n1(),
                    path: "/etc/kubernetes/ssl/kube-apiserver.pem".into(),
                },
                Change::WriteAllFiles {
                    node: n2(),
                    files: 12,
                    dirs: 3,
                    reason: "node2: connection reset".into(),
                },
                Change::UploadAgent {
                    node: n1(),
                    path: "/opt/rke/bin/rke-0123abcd".into(),
                    size: 12_345_678,
                    unchecked: None,
                },
                Change::UploadAgent {
                    node: n2(),
                    path: "/opt/rke/bin/rke-0123abcd".into(),
                    size: 12_345_678,
                    unchecked: Some("node2: exec failed".into()),
                },
                Change::EtcdNewCluster {
                    members: vec![n1(), n2()],
                },
                Change::EtcdAddMember {
                    name: n2(),
                    peer_url: "https://10.0.0.2:2380".into(),
                },
                Change::CreateContainer {
                    node: n2(),
                    plane: ContainerPlane::Etcd,
                    name: "etcd".into(),
                    image: "rancher/mirrored-coreos-etcd:v3.5.9".into(),
                },
                Change::ReplaceContainer {
                    node: n1(),
                    plane: ContainerPlane::ControlPlane,
                    name: "kube-apiserver".into(),
                    reasons: vec!["image (k8s:1 → k8s:2)".into(), "args: --v=2 added".into()],
                },
                Change::StartContainer {
                    node: n1(),
                    plane: ContainerPlane::ControlPlane,
                    name: "kube-scheduler".into(),
                },
                Change::EtcdRemoveMember {
                    name: "node4".into(),
                    peer_urls: vec![
                        "https://10.0.0.4:2380".into(),
                        "https://[fd00::4]:2380".into(),
                    ],
                },
                Change::TakeOut {
                    node: n1(),
                    drain: true,
                },
                Change::TakeOut {
                    node: n2(),
                    drain: false,
                },
                Change::ReplaceContainer {
                    node: n1(),
                    plane: ContainerPlane::Worker,
                    name: "kubelet".into(),
                    reasons: vec!["env: HTTP_PROXY changed".into()],
                },
                Change::RemoveContainer {
                    node: n2(),
                    plane: ContainerPlane::Unplanned,
                    name: "kube-apiserver".into(),
                },
                Change::NodeLeaves {
                    node: "node4".into(),
                    address: "10.0.0.4".into(),
                    reachable: true,
                },
                Change::NodeLeaves {
                    node: "node5".into(),
                    address: "10.0.0.5".into(),
                    reachable: false,
                },
                Change::NodeMetadata(NodeMetadataChange {
                    node: n1(),
                    kind: MetadataKind::Label,
                    key: "tier".into(),
                    from: Some("gold".into()),
                    to: Some("silver".into()),
                }),
                Change::NodeMetadata(NodeMetadataChange {
                    node: n2(),
                    kind: MetadataKind::Taint,
                    key: "dedicated:NoSchedule".into(),
                    from: None,
                    to: Some("db".into()),
                }),
                Change::Addon(AddonChange {
                    addon: "rke-coredns-addon".into(),
                    action: ObjectAction::Adopt,
                    kind: "Deployment".into(),
                    namespace: Some("kube-system".into()),
                    name: "coredns".into(),
                    detail: None,
                }),
                Change::Addon(AddonChange {
                    addon: "rke-user-addon".into(),
                    action: ObjectAction::Update,
                    kind: "ConfigMap".into(),
                    namespace: Some("default".into()),
                    name: "ceo-probe".into(),
                    detail: Some("data.greeting".into()),
                }),
                Change::Addon(AddonChange {
                    addon: "rke-user-addon".into(),
                    action: ObjectAction::Delete,
                    kind: "Namespace".into(),
                    namespace: None,
                    name: "probe".into(),
                    detail: None,
                }),
            ],
        }
    }

    /// Compare with (or, with `UPDATE_GOLDEN=1`, write) `tests/golden/up/<name>`.
    fn golden(name: &str, got: &str) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/golden/up")
            .join(name);
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, got).unwrap();
            return;
        }
        let want = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_GOLDEN=1 writes it)", path.display()));
        assert_eq!(
            got,
            want,
            "{} differs (UPDATE_GOLDEN=1 rewrites it)",
            path.display()
        );
    }

    #[test]
    fn the_plan_of_every_kind_of_change_matches_the_golden_files() {
        let (text, data) = render(&every_kind());
        golden("plan.txt", &text);
        golden(
            "plan.json",
            &(serde_json::to_string_pretty(&data).unwrap() + "\n"),
        );
    }

    /// Which kind a change is. Exhaustive: a new variant of `Change` fails to compile here
    /// until it is named, and then [`the_golden_plan_covers_every_kind_of_change`] asks for it
    /// in `every_kind`.
    fn kind(change: &Change) -> usize {
        match change {
            Change::EtcdNewCluster { .. } => 0,
            Change::EtcdAddMember { .. } => 1,
            Change::EtcdRemoveMember { .. } => 2,
            Change::WriteFile { .. } => 3,
            Change::WriteAllFiles { .. } => 4,
            Change::UploadAgent { .. } => 5,
            Change::TakeOut { .. } => 6,
            Change::CreateContainer { .. } => 7,
            Change::StartContainer { .. } => 8,
            Change::ReplaceContainer { .. } => 9,
            Change::RemoveContainer { .. } => 10,
            Change::NodeLeaves { .. } => 11,
            Change::Addon(_) => 12,
            Change::NodeMetadata(_) => 13,
        }
    }
    const KINDS: usize = 14;

    #[test]
    fn the_golden_plan_covers_every_kind_of_change() {
        let kinds: std::collections::BTreeSet<usize> =
            every_kind().changes.iter().map(kind).collect();
        assert_eq!(kinds, (0..KINDS).collect());
    }

    #[test]
    fn nothing_pending_is_said_on_the_last_line_and_exits_clean() {
        let plan = DryRunPlan {
            nodes: vec![node("node1", "10.0.0.1")],
            changes: vec![],
        };
        let (text, data) = render(&plan);
        assert_eq!(text, "node1 (10.0.0.1): no changes\nDry run: no changes\n");
        assert_eq!(data["pending_changes"], 0);
        assert_eq!(plan.pending(), 0);
    }

    #[test]
    fn the_same_plan_renders_the_same_bytes() {
        let (a, ja) = render(&every_kind());
        let (b, jb) = render(&every_kind());
        assert_eq!(a, b);
        assert_eq!(ja.to_string(), jb.to_string());
    }
}
