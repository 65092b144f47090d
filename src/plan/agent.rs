//! The snapshot agent binary the plan names: the running `rke`, statically linked, for the
//! etcd nodes' architecture (it runs inside the etcd image as the recurring snapshot agent).
//! Reads this executable, no node.

use std::collections::BTreeMap;

use crate::config::RkeConfig;
use crate::error::{ErrorKind, classified};
use crate::provision::spec::{AgentBinary, HostFacts};
use crate::snapshot::agent::{self, LocalBinary};

/// The binary for the agents, or `None` when no etcd node runs one (snapshots off, external
/// etcd). Refuses a dynamically linked `rke` and etcd nodes of another architecture.
pub fn binary_for(
    cfg: &RkeConfig,
    hosts: &BTreeMap<String, HostFacts>,
) -> anyhow::Result<Option<LocalBinary>> {
    if crate::snapshot::schedule::schedule(&cfg.services.etcd)?.is_none() {
        return Ok(None);
    }
    for node in cfg.nodes.iter().filter(|n| n.is_etcd()) {
        let arch = hosts
            .get(&node.address)
            .map(|f| f.architecture.as_str())
            .unwrap_or("x86_64");
        if !agent::runs_on(arch) {
            return Err(classified(
                ErrorKind::Config,
                format!(
                    "node {}: its architecture is {arch}, but this rke is built for {}, and the \
                     recurring snapshot agent is this binary; set services.etcd.snapshot: false \
                     or run an rke built for {arch}",
                    node.hostname_override,
                    std::env::consts::ARCH
                ),
            ));
        }
    }
    agent::binary::current().map(Some)
}

/// What the plan calls the binary.
pub fn plan_binary(binary: &LocalBinary) -> AgentBinary {
    AgentBinary {
        sha256: binary.sha256.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(yaml: &str) -> RkeConfig {
        let text = format!(
            "nodes:\n  - address: 10.0.0.1\n    hostname_override: n1\n    user: rke\n    role: \
             [etcd, controlplane, worker]\n{yaml}"
        );
        crate::config::load::load_str(&text, std::path::Path::new("cluster.yml"))
            .expect("parses")
            .config
    }

    fn facts(arch: &str) -> BTreeMap<String, HostFacts> {
        BTreeMap::from([(
            "10.0.0.1".to_string(),
            HostFacts {
                architecture: arch.into(),
                ..HostFacts::default()
            },
        )])
    }

    #[test]
    fn no_binary_when_snapshots_are_off() {
        let off = cfg("services:\n  etcd:\n    snapshot: false\n");
        assert_eq!(binary_for(&off, &facts("s390x")).unwrap(), None);
    }

    #[test]
    fn another_architecture_is_a_config_error_naming_the_node() {
        let other = if std::env::consts::ARCH == "aarch64" {
            "x86_64"
        } else {
            "aarch64"
        };
        let err = binary_for(&cfg(""), &facts(other)).unwrap_err();
        assert_eq!(crate::error::kind_of(&err), ErrorKind::Config);
        let text = err.to_string();
        assert!(text.contains("node n1") && text.contains(other), "{text}");
        assert!(text.contains("services.etcd.snapshot: false"), "{text}");
    }

    #[test]
    fn the_test_binary_is_fit_for_matching_nodes() {
        let b = binary_for(&cfg(""), &facts(std::env::consts::ARCH))
            .unwrap()
            .unwrap();
        assert_eq!(b.sha256.len(), 64);
        assert!(plan_binary(&b).node_path().starts_with("/opt/rke/bin/rke-"));
    }
}
