//! What must change on a node for its containers to match the plan. Pure: the rule is
//! "absent → create; spec hash differs → replace; stopped → start (unless it is only ever
//! created: a volume holder); same → leave; labelled by RKE but not planned → remove".

use std::collections::{BTreeMap, BTreeSet};

use crate::provision::spec::{CONTAINER_NAME_LABEL, ContainerSpec, SPEC_HASH_LABEL};

/// A container found on a node carrying RKE's name label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedContainer {
    /// Docker's name for it (without the leading `/`); `old-<name>` for a leftover of an
    /// interrupted replace.
    pub name: String,
    pub id: String,
    pub image: String,
    /// The [`SPEC_HASH_LABEL`] value; `None` for containers made by RKE1.
    pub spec_hash: Option<String>,
    /// Docker's state word: `running`, `exited`, `created`, `restarting`, ...
    pub state: String,
    pub labels: BTreeMap<String, String>,
}

impl ObservedContainer {
    /// Running or being restarted by its restart policy: either way, not ours to start.
    pub fn is_up(&self) -> bool {
        matches!(self.state.as_str(), "running" | "restarting")
    }
}

/// One step of convergence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Create(ContainerSpec),
    /// Rolling replace of container `old_id`; `changed` names what differs, for the log.
    Replace {
        spec: ContainerSpec,
        old_id: String,
        changed: Vec<String>,
    },
    /// Exists with the right spec but is stopped.
    Start {
        name: String,
        id: String,
    },
    Leave {
        name: String,
    },
    /// RKE-labelled but no longer planned.
    Remove {
        name: String,
        id: String,
    },
}

impl Action {
    /// Whether carrying out the action calls Docker at all.
    pub fn is_change(&self) -> bool {
        !matches!(self, Action::Leave { .. })
    }

    pub fn name(&self) -> &str {
        match self {
            Action::Create(spec) | Action::Replace { spec, .. } => &spec.name,
            Action::Start { name, .. } | Action::Leave { name } | Action::Remove { name, .. } => {
                name
            }
        }
    }
}

/// The actions taking `observed` to `planned`: one per planned container in plan order, then
/// removals in name order.
pub fn diff(planned: &[ContainerSpec], observed: &[ObservedContainer]) -> Vec<Action> {
    let by_name: BTreeMap<&str, &ObservedContainer> =
        observed.iter().map(|c| (c.name.as_str(), c)).collect();
    let mut actions: Vec<Action> = planned
        .iter()
        .map(|spec| match by_name.get(spec.name.as_str()) {
            None => Action::Create(spec.clone()),
            Some(seen) => {
                let changed = changed_fields(spec, seen);
                if !changed.is_empty() {
                    Action::Replace {
                        spec: spec.clone(),
                        old_id: seen.id.clone(),
                        changed,
                    }
                } else if seen.is_up() || spec.created_only {
                    Action::Leave {
                        name: spec.name.clone(),
                    }
                } else {
                    Action::Start {
                        name: spec.name.clone(),
                        id: seen.id.clone(),
                    }
                }
            }
        })
        .collect();
    let planned_names: BTreeSet<&str> = planned.iter().map(|s| s.name.as_str()).collect();
    actions.extend(
        by_name
            .values()
            .filter(|c| !planned_names.contains(c.name.as_str()))
            .map(|c| Action::Remove {
                name: c.name.clone(),
                id: c.id.clone(),
            }),
    );
    actions
}

/// Empty when the hashes agree. Otherwise the image and labels that differ (visible without
/// inspecting), or the hashed properties as a whole when only the hash tells them apart.
fn changed_fields(spec: &ContainerSpec, seen: &ObservedContainer) -> Vec<String> {
    let want = spec.spec_hash();
    let Some(have) = &seen.spec_hash else {
        return vec!["spec-hash (container not created by this tool)".into()];
    };
    if *have == want {
        return Vec::new();
    }
    let mut changed = Vec::new();
    if seen.image != spec.image {
        changed.push(format!("image ({} → {})", seen.image, spec.image));
    }
    let keys: BTreeSet<&String> = spec.labels.keys().chain(seen.labels.keys()).collect();
    for key in keys {
        if key == SPEC_HASH_LABEL || key == CONTAINER_NAME_LABEL {
            continue;
        }
        if spec.labels.get(key) != seen.labels.get(key) {
            changed.push(format!("label {key}"));
        }
    }
    if changed.is_empty() {
        changed.push("entrypoint, arguments, environment, binds or host settings".into());
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provision::spec::{FILES_HASH_LABEL, test_spec};

    fn seen(s: &ContainerSpec, id: &str, state: &str) -> ObservedContainer {
        ObservedContainer {
            name: s.name.clone(),
            id: id.into(),
            image: s.image.clone(),
            spec_hash: Some(s.spec_hash()),
            state: state.into(),
            labels: s.labels.clone(),
        }
    }

    #[test]
    fn the_four_cases_and_removal() {
        let a = test_spec("a", "img:1").sealed();
        let b = test_spec("b", "img:1").sealed();
        let c = test_spec("c", "img:1").sealed();
        let mut b2 = test_spec("b", "img:2").sealed();
        b2.labels.insert(FILES_HASH_LABEL.into(), "f".into());
        b2.seal();
        let observed = [
            seen(&a, "ida", "running"),
            seen(&b, "idb", "running"),
            seen(&c, "idc", "exited"),
            seen(&test_spec("gone", "img:1").sealed(), "idg", "running"),
        ];
        let planned = [a.clone(), b2.clone(), c, test_spec("d", "img:1").sealed()];
        let actions = diff(&planned, &observed);
        assert_eq!(
            actions,
            [
                Action::Leave { name: "a".into() },
                Action::Replace {
                    spec: b2,
                    old_id: "idb".into(),
                    changed: vec![
                        "image (img:1 → img:2)".into(),
                        format!("label {FILES_HASH_LABEL}")
                    ],
                },
                Action::Start {
                    name: "c".into(),
                    id: "idc".into()
                },
                Action::Create(planned[3].clone()),
                Action::Remove {
                    name: "gone".into(),
                    id: "idg".into()
                },
            ]
        );
        assert_eq!(
            actions.iter().filter(|a| a.is_change()).count(),
            4,
            "all but Leave"
        );
    }

    #[test]
    fn same_plan_twice_is_all_leave() {
        let planned = [
            test_spec("a", "img:1").sealed(),
            test_spec("b", "img:1").sealed(),
        ];
        let observed: Vec<_> = planned.iter().map(|s| seen(s, "id", "running")).collect();
        assert!(diff(&planned, &observed).iter().all(|a| !a.is_change()));
        let restarting = [seen(&planned[0], "id", "restarting")];
        assert_eq!(
            diff(&planned[..1], &restarting),
            [Action::Leave { name: "a".into() }]
        );
    }

    #[test]
    fn hidden_changes_and_foreign_containers_are_replaced() {
        let a = test_spec("a", "img:1").sealed();
        let mut a2 = a.clone();
        a2.args.push("--x".into());
        a2.seal();
        match &diff(std::slice::from_ref(&a2), &[seen(&a, "id", "running")])[0] {
            Action::Replace { changed, .. } => {
                assert_eq!(
                    changed,
                    &["entrypoint, arguments, environment, binds or host settings"]
                )
            }
            other => panic!("{other:?}"),
        }
        let mut rke1 = seen(&a, "id", "running");
        rke1.spec_hash = None;
        assert!(matches!(
            &diff(&[a], &[rke1])[0],
            Action::Replace { changed, .. } if changed[0].starts_with("spec-hash")
        ));
    }

    #[test]
    fn a_volume_holder_is_never_started() {
        let holder = ContainerSpec {
            created_only: true,
            ..test_spec("service-sidekick", "tools:1")
        }
        .sealed();
        assert_eq!(
            diff(
                std::slice::from_ref(&holder),
                &[seen(&holder, "id", "created")]
            ),
            [Action::Leave {
                name: "service-sidekick".into()
            }]
        );
    }

    #[test]
    fn leftover_of_an_interrupted_replace_is_removed() {
        let a = test_spec("a", "img:1").sealed();
        let mut old = seen(&a, "idold", "exited");
        old.name = "old-a".into();
        assert_eq!(
            diff(std::slice::from_ref(&a), &[old]),
            [
                Action::Create(a),
                Action::Remove {
                    name: "old-a".into(),
                    id: "idold".into()
                }
            ]
        );
    }
}
