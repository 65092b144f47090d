//! Per node: each component container's state and drift, from the same spec-hash comparison
//! `rke up` converges with ([`diff`]).

use super::{Component, ContainerState, Drift};
use crate::provision::node::{Action, ObservedContainer, diff, explain_replace};
use crate::provision::spec::names::MANAGED_CONTAINERS;
use crate::provision::spec::{NodePlan, names};
use crate::transport::NodeConnection;

/// Whether rke manages a container of this name: a component, etcd, or a leftover
/// `old-<component>` of an interrupted replace.
pub fn is_managed(name: &str) -> bool {
    let base = name.strip_prefix("old-").unwrap_or(name);
    MANAGED_CONTAINERS.contains(&base) || base == names::ETCD
}

/// The components of one node: the planned containers in plan order, then the managed
/// containers the plan lacks (by name). `etcd_unknown`: no etcd member answered, so etcd's
/// planned flags are a guess and its drift is [`Drift::Unknown`]. `changes` of a differing
/// component list what the spec-hash comparison can see without inspecting.
pub fn classify(
    plan: &NodePlan,
    observed: &[ObservedContainer],
    etcd_unknown: bool,
) -> Vec<Component> {
    let (planned_seen, others): (Vec<ObservedContainer>, Vec<ObservedContainer>) = observed
        .iter()
        .cloned()
        .partition(|o| plan.container(&o.name).is_some());
    let seen = |name: &str| planned_seen.iter().find(|o| o.name == name);
    let mut out: Vec<Component> = diff(&plan.containers, &planned_seen)
        .into_iter()
        .filter_map(|action| {
            let name = action.name().to_string();
            let wanted_image = plan.container(&name).map(|s| s.image.clone());
            let current = seen(&name);
            let (drift, changes) = match action {
                Action::Create(_) => (Drift::Missing, Vec::new()),
                Action::Leave { .. } | Action::Start { .. } => (Drift::Matches, Vec::new()),
                Action::Replace { changed, .. } => (Drift::Differs, changed),
                // Only observed containers the plan lacks are removals, and none are passed.
                Action::Remove { .. } => return None,
            };
            let drift = if etcd_unknown && name == names::ETCD && drift != Drift::Missing {
                Drift::Unknown
            } else {
                drift
            };
            let holder = plan.container(&name).is_some_and(|s| s.created_only);
            Some(Component {
                state: current.map_or(ContainerState::Missing, |o| {
                    if holder && o.state == "created" {
                        ContainerState::Created
                    } else {
                        ContainerState::from_docker(&o.state)
                    }
                }),
                image: current.map(|o| o.image.clone()),
                name,
                wanted_image,
                drift,
                changes: if drift == Drift::Differs {
                    changes
                } else {
                    Vec::new()
                },
            })
        })
        .collect();
    let mut unwanted: Vec<&ObservedContainer> =
        others.iter().filter(|o| is_managed(&o.name)).collect();
    unwanted.sort_by(|a, b| a.name.cmp(&b.name));
    out.extend(unwanted.into_iter().map(|o| Component {
        name: o.name.clone(),
        state: ContainerState::from_docker(&o.state),
        image: Some(o.image.clone()),
        wanted_image: None,
        drift: Drift::NotWanted,
        changes: Vec::new(),
    }));
    out
}

/// [`classify`], with each differing component's changes spelled out field by field from
/// the running container, as `rke up --dry-run` prints them (the coarse list stays when the
/// container cannot be inspected).
pub async fn node_components(
    conn: &NodeConnection,
    plan: &NodePlan,
    observed: &[ObservedContainer],
    etcd_unknown: bool,
) -> Vec<Component> {
    let mut components = classify(plan, observed, etcd_unknown);
    for c in components.iter_mut().filter(|c| c.drift == Drift::Differs) {
        let (Some(spec), Some(seen)) = (
            plan.container(&c.name),
            observed.iter().find(|o| o.name == c.name),
        ) else {
            continue;
        };
        match explain_replace(conn, spec, &seen.id).await {
            Ok(lines) if !lines.is_empty() => c.changes = lines,
            Ok(_) => {}
            Err(e) => tracing::debug!(node = conn.name(), "explaining {}: {e:#}", c.name),
        }
    }
    components
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provision::spec::{ContainerSpec, test_spec};

    fn seen(s: &ContainerSpec, state: &str) -> ObservedContainer {
        ObservedContainer {
            name: s.name.clone(),
            id: format!("id-{}", s.name),
            image: s.image.clone(),
            spec_hash: Some(s.spec_hash()),
            state: state.into(),
            labels: s.labels.clone(),
        }
    }

    fn plan(containers: Vec<ContainerSpec>) -> NodePlan {
        NodePlan {
            node: "n1".into(),
            address: "10.0.0.1".into(),
            containers,
            files: vec![],
            dirs: vec![],
        }
    }

    #[test]
    fn every_drift_and_state() {
        let etcd = test_spec("etcd", "etcd:1").sealed();
        let kubelet = test_spec("kubelet", "k8s:1").sealed();
        let proxy = test_spec("kube-proxy", "k8s:1").sealed();
        let sched = test_spec("kube-scheduler", "k8s:1").sealed();
        let holder = ContainerSpec {
            created_only: true,
            ..test_spec("service-sidekick", "tools:1")
        }
        .sealed();
        let plan = plan(vec![
            holder.clone(),
            etcd.clone(),
            kubelet.clone(),
            proxy.clone(),
            sched,
        ]);
        let mut kubelet_now = kubelet.clone();
        kubelet_now.args.push("--max-pods=50".into());
        kubelet_now.seal();
        let observed = [
            seen(&holder, "created"),
            seen(&etcd, "running"),
            seen(&kubelet_now, "running"),
            seen(&proxy, "exited"),
            seen(&test_spec("kube-apiserver", "k8s:0").sealed(), "running"),
            seen(&test_spec("old-kubelet", "k8s:0").sealed(), "exited"),
            // A helper container carries the name label too; it is not a component.
            seen(&test_spec("rke-exec-probe", "alpine").sealed(), "exited"),
        ];
        let got = classify(&plan, &observed, false);
        let rows: Vec<(&str, ContainerState, Drift, Option<&str>)> = got
            .iter()
            .map(|c| (c.name.as_str(), c.state, c.drift, c.image.as_deref()))
            .collect();
        use ContainerState::*;
        assert_eq!(
            rows,
            [
                ("service-sidekick", Created, Drift::Matches, Some("tools:1")),
                ("etcd", Running, Drift::Matches, Some("etcd:1")),
                ("kubelet", Running, Drift::Differs, Some("k8s:1")),
                ("kube-proxy", Stopped, Drift::Matches, Some("k8s:1")),
                ("kube-scheduler", Missing, Drift::Missing, None),
                ("kube-apiserver", Running, Drift::NotWanted, Some("k8s:0")),
                ("old-kubelet", Stopped, Drift::NotWanted, Some("k8s:0")),
            ]
        );
        assert_eq!(got[4].wanted_image.as_deref(), Some("k8s:1"));
        assert_eq!(got[5].wanted_image, None);
        assert!(!got[2].changes.is_empty(), "a differing component says why");
        assert!(
            got.iter()
                .filter(|c| c.drift != Drift::Differs)
                .all(|c| c.changes.is_empty())
        );
    }

    #[test]
    fn etcd_drift_is_unknown_without_a_member_list() {
        let etcd = test_spec("etcd", "etcd:1").sealed();
        let mut running = etcd.clone();
        running.args.push("--initial-cluster-state=existing".into());
        running.seal();
        let got = classify(
            &plan(vec![etcd.clone()]),
            &[seen(&running, "running")],
            true,
        );
        assert_eq!(got[0].drift, Drift::Unknown);
        // Absent stays absent whatever the members.
        let got = classify(&plan(vec![etcd]), &[], true);
        assert_eq!(got[0].drift, Drift::Missing);
    }

    #[test]
    fn managed_names() {
        assert!(is_managed("kubelet") && is_managed("etcd") && is_managed("old-etcd"));
        assert!(is_managed("service-sidekick") && is_managed("etcd-rolling-snapshots"));
        assert!(!is_managed("rke-exec-probe") && !is_managed("old-something"));
    }
}
