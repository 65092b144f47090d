//! Flags that exist: every flag rke renders for each component, for every minor of the version
//! table, is one that component accepts in that version, per `component_flags.yaml` (upstream's
//! flag definitions and removals, each removal with its source).

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use super::*;
use crate::config::versions::{self, K8sVersion};

const DATA: &str = include_str!("component_flags.yaml");

/// Containers whose command line is not a component's flags: rke-tools scripts, the never
/// started volume holder, and the snapshot agent (rke's own binary, tested with its own
/// argument list).
const NOT_COMPONENTS: &[&str] = &[
    names::NGINX_PROXY,
    names::SERVICE_SIDEKICK,
    names::ETCD_ROLLING_SNAPSHOTS,
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Component {
    version_of: String,
    flags: BTreeSet<String>,
    removed: BTreeMap<String, Removal>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Removal {
    #[serde(rename = "in")]
    version: String,
    source: String,
}

fn data() -> BTreeMap<String, Component> {
    serde_saphyr::from_str(DATA).expect("component_flags.yaml parses")
}

fn major_minor(text: &str) -> (u32, u32) {
    versions::minor_of(text).unwrap_or_else(|| panic!("{text:?} has no MAJOR.MINOR"))
}

/// `(major, minor)` of the version that decides a component's flags; `None` when the data has
/// a single list for every version (cri-dockerd).
fn component_version(component: &Component, k8s: &str, spec: &ContainerSpec) -> Option<(u32, u32)> {
    match component.version_of.as_str() {
        "kubernetes" => Some(major_minor(k8s)),
        "etcd" => {
            let tag = spec.image.rsplit_once(':').map(|(_, t)| t).unwrap_or("");
            Some(major_minor(tag))
        }
        "cri-dockerd" => None,
        other => panic!("component_flags.yaml: unknown version_of {other:?}"),
    }
}

/// The flags of `spec` that `component` does not accept at `version`, with why.
fn unknown_flags(
    component: &Component,
    version: Option<(u32, u32)>,
    spec: &ContainerSpec,
) -> Vec<String> {
    let mut problems = Vec::new();
    for arg in &spec.args {
        let Some(flag) = arg.strip_prefix("--") else {
            continue;
        };
        let name = flag.split_once('=').map(|(n, _)| n).unwrap_or(flag);
        if component.flags.contains(name) {
            continue;
        }
        match (component.removed.get(name), version) {
            (Some(removal), Some(v)) if v < major_minor(&removal.version) => {}
            (Some(removal), _) => problems.push(format!(
                "--{name} was removed in {} ({})",
                removal.version, removal.source
            )),
            (None, _) => problems.push(format!(
                "--{name} is not in component_flags.yaml: look up where upstream defines it"
            )),
        }
    }
    problems
}

/// Configs that together make rke render every flag it can for a component: the default, and
/// one with audit log, secrets encryption, kubelet serving certificates, a control-plane-only
/// node and a worker-only node.
fn variants(version: &str) -> Vec<RkeConfig> {
    let nodes = format!(
        "{THREE_NODES}  - address: 192.168.1.14\n    hostname_override: node4\n    user: rke\n    \
         role: [controlplane]\n  - address: 192.168.1.15\n    hostname_override: node5\n    \
         user: rke\n    role: [worker]\n"
    );
    let extra = "services:\n  kube-api:\n    audit_log:\n      enabled: true\n    \
                 secrets_encryption_config:\n      enabled: true\n  kubelet:\n    \
                 generate_serving_certificate: true\n";
    vec![config(version, ""), config_with(version, &nodes, extra)]
}

#[test]
fn every_rendered_flag_exists_in_its_version() {
    let data = data();
    let mut problems = Vec::new();
    let mut checked: BTreeMap<String, BTreeSet<u32>> = BTreeMap::new();
    let minors = versions::table().supported();
    for version in &minors {
        for cfg in variants(version) {
            for plan in plans(&cfg) {
                for spec in &plan.containers {
                    if NOT_COMPONENTS.contains(&spec.name.as_str()) {
                        continue;
                    }
                    let component = data.get(&spec.name).unwrap_or_else(|| {
                        panic!("{}: component_flags.yaml has no {}", version, spec.name)
                    });
                    let v = component_version(component, version, spec);
                    for p in unknown_flags(component, v, spec) {
                        problems.push(format!("{version} {} on {}: {p}", spec.name, plan.node));
                    }
                    let minor = K8sVersion::parse(version).unwrap().minor;
                    checked.entry(spec.name.clone()).or_default().insert(minor);
                }
            }
        }
    }
    problems.sort();
    problems.dedup();
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    // All 13 minors, every component; cri-dockerd exactly where the kubelet needs it.
    assert_eq!(minors.len(), 13, "{minors:?}");
    let all: BTreeSet<u32> = (20..=32).collect();
    for name in [
        names::KUBE_APISERVER,
        names::KUBE_CONTROLLER_MANAGER,
        names::KUBE_SCHEDULER,
        names::KUBELET,
        names::KUBE_PROXY,
        names::ETCD,
    ] {
        assert_eq!(checked.get(name), Some(&all), "{name}");
    }
    let cri: BTreeSet<u32> = (24..=32).collect();
    assert_eq!(checked.get(names::CRI_DOCKERD), Some(&cri));
}

#[test]
fn the_check_catches_a_removed_flag() {
    let data = data();
    let kubelet = &data[names::KUBELET];
    let spec = ContainerSpec {
        args: vec![
            "--container-runtime=remote".into(),
            "--network-plugin=cni".into(),
            "--v=2".into(),
            "--made-up-flag=1".into(),
        ],
        ..test_spec(names::KUBELET, "k")
    };
    assert_eq!(unknown_flags(kubelet, Some((1, 23)), &spec).len(), 1);
    let at_124 = unknown_flags(kubelet, Some((1, 24)), &spec);
    assert_eq!(at_124.len(), 2, "{at_124:?}");
    assert!(
        at_124[0].contains("--network-plugin was removed in 1.24"),
        "{at_124:?}"
    );
    let at_127 = unknown_flags(kubelet, Some((1, 27)), &spec);
    assert!(
        at_127
            .iter()
            .any(|p| p.contains("--container-runtime was removed in 1.27")),
        "{at_127:?}"
    );
    assert!(
        at_127
            .iter()
            .any(|p| p.contains("--made-up-flag is not in"))
    );
}

#[test]
fn the_data_is_consistent() {
    for (name, component) in data() {
        for (flag, removal) in &component.removed {
            assert!(
                !component.flags.contains(flag),
                "{name}: --{flag} is both always there and removed"
            );
            assert!(
                !removal.source.is_empty(),
                "{name}: --{flag} needs a source"
            );
            major_minor(&removal.version);
        }
    }
}
