//! Node labels, taints and annotations in the plan: what the Node metadata step
//! ([`super::kube_step::sync_metadata`]) would change on each node's object. The same merge
//! decides both ([`merge_metadata`]): keys rke set before and no longer wants go, what
//! `cluster.yml` asks for is written, and everything else (Kubernetes' own labels, users')
//! stays. The planning is pure ([`plan_node_metadata`]); [`plan`] reads the Nodes.

use serde::Serialize;

use k8s_openapi::api::core::v1::{Node, Taint};

use super::kube_step;
use crate::config::RkeConfig;
use crate::kube_api::{KubeClient, NodeMetadata, merge_metadata};

/// Which part of a Node's metadata a change is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MetadataKind {
    Label,
    Taint,
    Annotation,
}

impl MetadataKind {
    fn word(self) -> &'static str {
        match self {
            MetadataKind::Label => "label",
            MetadataKind::Taint => "taint",
            MetadataKind::Annotation => "annotation",
        }
    }
}

/// One label, taint or annotation that would change on a node. A taint's key is
/// `key:effect` (its identity) and its value the taint's value (empty when it has none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeMetadataChange {
    pub node: String,
    pub kind: MetadataKind,
    pub key: String,
    /// The value now; `None` when the key is added.
    pub from: Option<String>,
    /// The value after the run; `None` when the key is removed.
    pub to: Option<String>,
}

fn quoted(value: &str) -> String {
    if value.is_empty() {
        "\"\"".to_string()
    } else {
        value.to_string()
    }
}

impl NodeMetadataChange {
    /// The change without the node's name: `label foo: bar -> baz`, `label foo: added (bar)`,
    /// `label foo: removed (was bar)`.
    pub fn what(&self) -> String {
        let how = match (&self.from, &self.to) {
            (None, Some(to)) => format!("added ({})", quoted(to)),
            (Some(from), None) => format!("removed (was {})", quoted(from)),
            (Some(from), Some(to)) => format!("{} -> {}", quoted(from), quoted(to)),
            (None, None) => "unchanged".to_string(),
        };
        format!("{} {}: {how}", self.kind.word(), self.key)
    }
}

impl std::fmt::Display for NodeMetadataChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.node, self.what())
    }
}

/// The metadata changes on every node of `cfg`, given the config of the last run
/// (`previous`: what rke set then may be removed) and the live Node objects (`live`; a node not
/// among them is not registered yet and gets everything).
pub fn plan_node_metadata(
    cfg: &RkeConfig,
    previous: Option<&RkeConfig>,
    live: &[Node],
) -> Vec<NodeMetadataChange> {
    let mut changes = Vec::new();
    for node in &cfg.nodes {
        let name = node.hostname_override.as_str();
        let before = previous
            .and_then(|p| p.nodes.iter().find(|o| o.hostname_override == name))
            .map(kube_step::metadata)
            .unwrap_or_default();
        let existing = live
            .iter()
            .find(|n| n.metadata.name.as_deref() == Some(name))
            .map(NodeMetadata::of_node)
            .unwrap_or_default();
        let after = merge_metadata(&existing, &kube_step::metadata(node), &before);
        let mut push = |kind, key: &str, from: Option<&String>, to: Option<&String>| {
            if from != to {
                changes.push(NodeMetadataChange {
                    node: name.to_string(),
                    kind,
                    key: key.to_string(),
                    from: from.cloned(),
                    to: to.cloned(),
                });
            }
        };
        for (kind, now, then) in [
            (MetadataKind::Label, &existing.labels, &after.labels),
            (
                MetadataKind::Annotation,
                &existing.annotations,
                &after.annotations,
            ),
        ] {
            let keys = now
                .keys()
                .chain(then.keys().filter(|k| !now.contains_key(*k)));
            for key in keys {
                push(kind, key, now.get(key), then.get(key));
            }
        }
        // The sync writes the taint list when it differs in any way; name the taints.
        if existing.taints != after.taints {
            let now = taint_values(&existing.taints);
            let then = taint_values(&after.taints);
            let keys = now
                .keys()
                .chain(then.keys().filter(|k| !now.contains_key(*k)));
            for key in keys {
                push(MetadataKind::Taint, key, now.get(key), then.get(key));
            }
        }
    }
    changes
}

/// Taints by identity (`key:effect`) with their value.
fn taint_values(taints: &[Taint]) -> std::collections::BTreeMap<String, String> {
    taints
        .iter()
        .map(|t| {
            (
                format!("{}:{}", t.key, t.effect),
                t.value.clone().unwrap_or_default(),
            )
        })
        .collect()
}

/// [`plan_node_metadata`] against the cluster: the Node objects in one list call when the API
/// answers (`kube`); without it every node is taken as not registered yet.
pub async fn plan(
    kube: Option<&KubeClient>,
    cfg: &RkeConfig,
    previous: Option<&RkeConfig>,
) -> anyhow::Result<Vec<NodeMetadataChange>> {
    let live = match kube {
        Some(kube) => kube.list_nodes().await?,
        None => Vec::new(),
    };
    Ok(plan_node_metadata(cfg, previous, &live))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{RkeConfigNode, RkeTaint};
    use std::collections::BTreeMap;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn cfg_node(labels: &[(&str, &str)], taints: &[(&str, &str, &str)]) -> RkeConfigNode {
        RkeConfigNode {
            address: "10.0.0.1".into(),
            hostname_override: "node1".into(),
            role: vec!["worker".into()],
            labels: map(labels),
            taints: taints
                .iter()
                .map(|(k, v, e)| RkeTaint {
                    key: k.to_string(),
                    value: v.to_string(),
                    effect: e.to_string(),
                    time_added: None,
                })
                .collect(),
            ..RkeConfigNode::default()
        }
    }

    fn config(node: RkeConfigNode) -> RkeConfig {
        RkeConfig {
            nodes: vec![node],
            ..RkeConfig::default()
        }
    }

    /// The Node as the last sync left it for `node`, plus Kubernetes' own metadata.
    fn synced(node: &RkeConfigNode) -> Node {
        let m = kube_step::metadata(node);
        let mut labels = m.labels.clone();
        labels.insert("kubernetes.io/hostname".into(), "node1".into());
        let mut annotations = m.annotations.clone();
        annotations.insert("node.alpha.kubernetes.io/ttl".into(), "0".into());
        let mut taints = m.taints.clone();
        taints.push(Taint {
            key: "node.kubernetes.io/unschedulable".into(),
            value: None,
            effect: "NoSchedule".into(),
            time_added: None,
        });
        Node {
            metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                name: Some("node1".into()),
                labels: Some(labels),
                annotations: Some(annotations),
                ..Default::default()
            },
            spec: Some(k8s_openapi::api::core::v1::NodeSpec {
                taints: Some(taints),
                ..Default::default()
            }),
            status: None,
        }
    }

    fn lines(changes: &[NodeMetadataChange]) -> Vec<String> {
        changes.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn a_synced_node_has_no_changes() {
        let node = cfg_node(&[("tier", "gold")], &[("dedicated", "db", "NoSchedule")]);
        let cfg = config(node.clone());
        assert!(plan_node_metadata(&cfg, Some(&cfg), &[synced(&node)]).is_empty());
    }

    #[test]
    fn labels_added_changed_and_removed() {
        let old = cfg_node(&[("tier", "gold"), ("zone", "a")], &[]);
        let new = cfg_node(&[("tier", "silver"), ("rack", "r1")], &[]);
        let changes = plan_node_metadata(&config(new), Some(&config(old.clone())), &[synced(&old)]);
        assert_eq!(
            lines(&changes),
            [
                "node1: label tier: gold -> silver",
                "node1: label zone: removed (was a)",
                "node1: label rack: added (r1)",
            ]
        );
        assert_eq!(changes[2].from, None);
        assert_eq!(changes[1].to, None);
    }

    #[test]
    fn taints_added_changed_and_removed_others_kept() {
        let old = cfg_node(
            &[],
            &[("dedicated", "db", "NoSchedule"), ("gone", "", "NoExecute")],
        );
        let new = cfg_node(
            &[],
            &[
                ("dedicated", "web", "NoSchedule"),
                ("fresh", "", "PreferNoSchedule"),
            ],
        );
        let changes = plan_node_metadata(&config(new), Some(&config(old.clone())), &[synced(&old)]);
        assert_eq!(
            lines(&changes),
            [
                "node1: taint dedicated:NoSchedule: db -> web",
                "node1: taint gone:NoExecute: removed (was \"\")",
                "node1: taint fresh:PreferNoSchedule: added (\"\")",
            ]
        );
    }

    #[test]
    fn annotations_follow_the_address() {
        let old = cfg_node(&[], &[]);
        let mut new = old.clone();
        new.address = "10.0.0.9".into();
        let changes = plan_node_metadata(&config(new), Some(&config(old.clone())), &[synced(&old)]);
        assert_eq!(
            lines(&changes),
            [
                "node1: annotation rke.cattle.io/external-ip: 10.0.0.1 -> 10.0.0.9",
                "node1: annotation rke.cattle.io/internal-ip: 10.0.0.1 -> 10.0.0.9",
            ]
        );
    }

    #[test]
    fn keys_rke_never_set_are_left_alone() {
        let node = cfg_node(&[], &[]);
        let mut live = synced(&node);
        let labels = live.metadata.labels.as_mut().unwrap();
        labels.insert("team".into(), "infra".into());
        // A key rke wants, set by someone else to another value, is brought back.
        labels.insert("node-role.kubernetes.io/worker".into(), "false".into());
        // Without a previous config nothing is removed, even a key rke might have set.
        let changes = plan_node_metadata(&config(node), None, &[live]);
        assert_eq!(
            lines(&changes),
            ["node1: label node-role.kubernetes.io/worker: false -> true"]
        );
    }

    #[test]
    fn a_node_not_registered_gets_everything_rke_sets() {
        let node = cfg_node(&[("tier", "gold")], &[("dedicated", "db", "NoSchedule")]);
        let changes = plan_node_metadata(&config(node), None, &[]);
        assert_eq!(
            lines(&changes),
            [
                "node1: label node-role.kubernetes.io/worker: added (true)",
                "node1: label tier: added (gold)",
                "node1: annotation rke.cattle.io/external-ip: added (10.0.0.1)",
                "node1: annotation rke.cattle.io/internal-ip: added (10.0.0.1)",
                "node1: taint dedicated:NoSchedule: added (db)",
            ]
        );
        let json = serde_json::to_value(&changes[4]).unwrap();
        assert_eq!(json["kind"], "taint");
        assert_eq!(json["from"], serde_json::Value::Null);
    }
}
