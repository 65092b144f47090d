//! What rke manages on a Node object: role labels, user labels/annotations and taints from
//! cluster.yml. Only keys rke set before (the previous config) are ever removed, so labels and
//! taints added by others (the node controller, users) survive.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Node, Taint};

use crate::config::RkeTaint;

/// Labels, annotations and taints rke wants on one node.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NodeMetadata {
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub taints: Vec<Taint>,
}

impl NodeMetadata {
    /// Role labels plus the node's cluster.yml labels and taints.
    pub fn for_node(
        roles: &[String],
        labels: &BTreeMap<String, String>,
        taints: &[RkeTaint],
    ) -> Self {
        let mut all = role_labels(roles);
        all.extend(labels.iter().map(|(k, v)| (k.clone(), v.clone())));
        NodeMetadata {
            labels: all,
            annotations: BTreeMap::new(),
            taints: taints.iter().map(to_taint).collect(),
        }
    }
}

/// `node-role.kubernetes.io/<role>=true` for each RKE role the node has (as RKE1).
pub fn role_labels(roles: &[String]) -> BTreeMap<String, String> {
    ["etcd", "controlplane", "worker"]
        .into_iter()
        .filter(|r| roles.iter().any(|have| have == r))
        .map(|r| (format!("node-role.kubernetes.io/{r}"), "true".to_string()))
        .collect()
}

impl NodeMetadata {
    /// What a live Node object carries.
    pub fn of_node(node: &Node) -> Self {
        NodeMetadata {
            labels: node.metadata.labels.clone().unwrap_or_default(),
            annotations: node.metadata.annotations.clone().unwrap_or_default(),
            taints: node
                .spec
                .as_ref()
                .and_then(|s| s.taints.clone())
                .unwrap_or_default(),
        }
    }
}

/// What a node's labels, annotations and taints become when rke syncs them: `existing` with
/// what rke set before (`previous`) and no longer wants removed, and `desired` written.
pub fn merge_metadata(
    existing: &NodeMetadata,
    desired: &NodeMetadata,
    previous: &NodeMetadata,
) -> NodeMetadata {
    NodeMetadata {
        labels: merge_map(&existing.labels, &desired.labels, &previous.labels),
        annotations: merge_map(
            &existing.annotations,
            &desired.annotations,
            &previous.annotations,
        ),
        taints: merge_taints(&existing.taints, &desired.taints, &previous.taints),
    }
}

fn to_taint(t: &RkeTaint) -> Taint {
    Taint {
        key: t.key.clone(),
        value: (!t.value.is_empty()).then(|| t.value.clone()),
        effect: t.effect.clone(),
        time_added: None,
    }
}

/// A taint's identity: the API server allows one taint per key and effect.
fn same_slot(a: &Taint, b: &Taint) -> bool {
    a.key == b.key && a.effect == b.effect
}

/// The node's new taint list: `existing` minus the ones rke set before (`previous`) and no
/// longer wants, with every `desired` taint added or updated in place.
pub fn merge_taints(existing: &[Taint], desired: &[Taint], previous: &[Taint]) -> Vec<Taint> {
    let dropped = |t: &Taint| {
        previous.iter().any(|p| same_slot(p, t)) && !desired.iter().any(|d| same_slot(d, t))
    };
    let mut out: Vec<Taint> = existing.iter().filter(|t| !dropped(t)).cloned().collect();
    for d in desired {
        match out.iter_mut().find(|t| same_slot(t, d)) {
            Some(t) => t.value = d.value.clone(),
            None => out.push(d.clone()),
        }
    }
    out
}

/// `existing` with keys rke set before and no longer wants removed, and `desired` written.
fn merge_map(
    existing: &BTreeMap<String, String>,
    desired: &BTreeMap<String, String>,
    previous: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = existing
        .iter()
        .filter(|(k, _)| !previous.contains_key(*k) || desired.contains_key(*k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    out.extend(desired.iter().map(|(k, v)| (k.clone(), v.clone())));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn taint(key: &str, value: &str, effect: &str) -> Taint {
        Taint {
            key: key.into(),
            value: (!value.is_empty()).then(|| value.into()),
            effect: effect.into(),
            time_added: None,
        }
    }

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn role_labels_follow_roles_only() {
        let labels = role_labels(&["worker".into(), "etcd".into(), "bogus".into()]);
        assert_eq!(
            labels,
            map(&[
                ("node-role.kubernetes.io/etcd", "true"),
                ("node-role.kubernetes.io/worker", "true")
            ])
        );
    }

    #[test]
    fn for_node_combines_roles_user_labels_and_taints() {
        let m = NodeMetadata::for_node(
            &["controlplane".into()],
            &map(&[("tier", "gold")]),
            &[RkeTaint {
                key: "dedicated".into(),
                value: "db".into(),
                effect: "NoSchedule".into(),
                time_added: None,
            }],
        );
        assert_eq!(
            m.labels,
            map(&[
                ("node-role.kubernetes.io/controlplane", "true"),
                ("tier", "gold")
            ])
        );
        assert_eq!(m.taints, [taint("dedicated", "db", "NoSchedule")]);
    }

    #[test]
    fn taints_rke_dropped_go_others_stay_desired_update_in_place() {
        let existing = [
            taint("node.kubernetes.io/not-ready", "", "NoSchedule"),
            taint("old", "x", "NoSchedule"),
            taint("keep", "v1", "NoExecute"),
        ];
        let previous = [
            taint("old", "x", "NoSchedule"),
            taint("keep", "v1", "NoExecute"),
        ];
        let desired = [
            taint("keep", "v2", "NoExecute"),
            taint("new", "", "PreferNoSchedule"),
        ];
        let out = merge_taints(&existing, &desired, &previous);
        assert_eq!(
            out,
            [
                taint("node.kubernetes.io/not-ready", "", "NoSchedule"),
                taint("keep", "v2", "NoExecute"),
                taint("new", "", "PreferNoSchedule"),
            ]
        );
        // Applying again changes nothing.
        assert_eq!(merge_taints(&out, &desired, &desired), out);
    }

    #[test]
    fn labels_only_previous_rke_keys_are_removed() {
        let existing = map(&[
            ("kubernetes.io/hostname", "n1"),
            ("tier", "gold"),
            ("zone", "a"),
        ]);
        let out = merge_map(
            &existing,
            &map(&[("zone", "b")]),
            &map(&[("tier", "gold"), ("zone", "a")]),
        );
        assert_eq!(out, map(&[("kubernetes.io/hostname", "n1"), ("zone", "b")]));
    }
}
