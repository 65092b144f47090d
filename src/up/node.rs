//! One node of the run: its `cluster.yml` entry, its connection and its plan, and the steps
//! that touch only that node.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::time::Instant;

use crate::certs::CertBundle;
use crate::config::{PrivateRegistry, RkeConfigNode};
use crate::provision::health::wait_healthy;
use crate::provision::node::{
    Action, ObservedContainer, apply, clean_dirs, credentials_for, diff, ensure_image, observe,
    upload_files,
};
use crate::provision::spec::names::{self, MANAGED_CONTAINERS};
use crate::provision::spec::{NodePlan, Plane};
use crate::transport::NodeConnection;

/// How often a container's health is probed while waiting for it.
const HEALTH_INTERVAL: Duration = Duration::from_millis(500);

pub struct Node {
    pub cfg: RkeConfigNode,
    pub conn: NodeConnection,
    pub plan: NodePlan,
}

impl Node {
    /// `hostname_override`, the name every message uses.
    pub fn name(&self) -> &str {
        &self.cfg.hostname_override
    }

    /// Pull the plan's images that are missing (all of them with `always`), and the helper
    /// image files are written through.
    pub async fn ensure_images(
        &self,
        helper_image: &str,
        registries: &[PrivateRegistry],
        always: bool,
    ) -> anyhow::Result<()> {
        let mut images: Vec<&str> = self
            .plan
            .containers
            .iter()
            .map(|c| c.image.as_str())
            .chain([helper_image])
            .collect();
        images.sort_unstable();
        images.dedup();
        for image in images {
            ensure_image(
                &self.conn,
                image,
                credentials_for(image, registries),
                always,
            )
            .await?;
        }
        Ok(())
    }

    /// Write the plan's certificates, kubeconfigs and config files.
    pub async fn upload_files(&self, helper_image: &str) -> anyhow::Result<Vec<String>> {
        let done =
            upload_files(&self.conn, &self.plan.files, &self.plan.dirs, helper_image).await?;
        Ok(done.written)
    }

    /// The actions that would bring `plane`'s containers to the plan.
    pub async fn plane_actions(&self, plane: Plane) -> anyhow::Result<Vec<Action>> {
        let wanted: Vec<_> = self
            .plan
            .containers
            .iter()
            .filter(|c| c.plane == plane)
            .cloned()
            .collect();
        let mut seen = observe(&self.conn).await?;
        seen.retain(|o| wanted.iter().any(|w| w.name == o.name));
        Ok(diff(&wanted, &seen))
    }

    /// Containers rke manages that the plan no longer has (a role was taken away).
    pub async fn unplanned_actions(&self) -> anyhow::Result<Vec<Action>> {
        let seen = observe(&self.conn).await?;
        Ok(unplanned(&self.plan, &seen))
    }

    /// Carry out `actions`, logging each change.
    pub async fn apply(
        &self,
        actions: &[Action],
        registries: &[PrivateRegistry],
    ) -> anyhow::Result<()> {
        for line in apply(&self.conn, actions, registries).await? {
            tracing::info!(node = self.name(), "{line}");
        }
        // `apply` stops at the first failure, so reaching here means every action was done.
        for (what, n) in changed_counts(actions) {
            crate::events::report::add_changed(what, n);
        }
        Ok(())
    }

    /// Wait until every container of `plane` that has a health check answers it.
    pub async fn wait_healthy(
        &self,
        plane: Plane,
        bundle: &CertBundle,
        timeout: Duration,
    ) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        for spec in self.plan.containers.iter().filter(|c| c.plane == plane) {
            if let Some(check) = &spec.health {
                wait_healthy(
                    &self.conn,
                    &spec.name,
                    check,
                    bundle,
                    deadline,
                    HEALTH_INTERVAL,
                )
                .await?;
            }
        }
        Ok(())
    }
}

/// Empty `dirs` on a node through a cleaner container, pulling the helper image first if the
/// node lacks it (a node being cleaned may never have had it).
pub async fn empty_dirs(
    conn: &NodeConnection,
    dirs: &[String],
    helper_image: &str,
    registries: &[PrivateRegistry],
) -> anyhow::Result<()> {
    let creds = credentials_for(helper_image, registries);
    ensure_image(conn, helper_image, creds, false).await?;
    clean_dirs(conn, dirs, helper_image).await
}

/// Removals for managed containers (and leftovers of interrupted replaces) the plan lacks.
pub fn unplanned(plan: &NodePlan, seen: &[ObservedContainer]) -> Vec<Action> {
    seen.iter()
        .filter(|o| match o.name.strip_prefix("old-") {
            // A leftover of an interrupted replace, etcd's included: the new one is in place.
            Some(base) => MANAGED_CONTAINERS.contains(&base) || base == names::ETCD,
            None => {
                MANAGED_CONTAINERS.contains(&o.name.as_str()) && plan.container(&o.name).is_none()
            }
        })
        .map(|o| Action::Remove {
            name: o.name.clone(),
            id: o.id.clone(),
        })
        .collect()
}

/// The result's `changed` counter an action adds to; `None` for one that changes nothing.
fn changed_key(action: &Action) -> Option<&'static str> {
    match action {
        Action::Create(_) => Some("containers_created"),
        Action::Replace { .. } => Some("containers_replaced"),
        Action::Start { .. } => Some("containers_started"),
        Action::Remove { .. } => Some("containers_removed"),
        Action::Leave { .. } => None,
    }
}

/// How many of `actions` each `changed` counter gets once they are all carried out.
fn changed_counts(actions: &[Action]) -> BTreeMap<&'static str, u64> {
    let mut counts = BTreeMap::new();
    for what in actions.iter().filter_map(changed_key) {
        *counts.entry(what).or_default() += 1;
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provision::spec::test_spec;

    fn seen(name: &str) -> ObservedContainer {
        ObservedContainer {
            name: name.into(),
            id: format!("id-{name}"),
            image: "img".into(),
            spec_hash: None,
            state: "running".into(),
            labels: BTreeMap::new(),
        }
    }

    #[test]
    fn changed_counts_come_from_the_action_kinds() {
        let remove = |name: &str| Action::Remove {
            name: name.into(),
            id: format!("id-{name}"),
        };
        let actions = [
            Action::Create(test_spec("etcd", "etcd:1")),
            Action::Leave {
                name: "kubelet".into(),
            },
            Action::Replace {
                spec: test_spec("kube-proxy", "k8s:2"),
                old_id: "id-kube-proxy".into(),
                changed: vec!["image (k8s:1 → k8s:2)".into()],
            },
            Action::Create(test_spec("nginx-proxy", "nginx:1")),
            Action::Start {
                name: "cri-dockerd".into(),
                id: "id-cri-dockerd".into(),
            },
            remove("kube-apiserver"),
            remove("old-kubelet"),
            remove("etcd-rolling-snapshots"),
        ];
        assert_eq!(
            changed_counts(&actions),
            BTreeMap::from([
                ("containers_created", 2),
                ("containers_removed", 3),
                ("containers_replaced", 1),
                ("containers_started", 1),
            ])
        );
        let only_leaves = [Action::Leave { name: "a".into() }];
        assert!(changed_counts(&only_leaves).is_empty());
    }

    #[test]
    fn only_managed_unplanned_containers_are_removed() {
        let plan = NodePlan {
            node: "n".into(),
            address: "10.0.0.1".into(),
            containers: vec![],
            files: vec![],
            dirs: vec![],
        };
        let observed = [
            seen("kube-apiserver"),
            seen("old-kubelet"),
            seen("etcd"),
            seen("old-etcd"),
            seen("rke-exec-test-1"),
            seen("etcd-rolling-snapshots"),
        ];
        let removed: Vec<String> = unplanned(&plan, &observed)
            .iter()
            .map(|a| a.name().to_string())
            .collect();
        assert_eq!(
            removed,
            [
                "kube-apiserver",
                "old-kubelet",
                "old-etcd",
                "etcd-rolling-snapshots"
            ]
        );
    }
}
