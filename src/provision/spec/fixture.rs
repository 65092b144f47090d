//! One [`ContainerSpec`] for unit tests anywhere in the crate, so a new field is added in one
//! place; each test overrides (struct update syntax) only what it is about.

use std::collections::BTreeMap;

use super::{CONTAINER_NAME_LABEL, ContainerSpec, Plane};

/// A worker container `name` running `image`: host network, restart always, RKE1's name
/// label, nothing else. Not sealed: call [`ContainerSpec::sealed`] after any overrides.
pub fn test_spec(name: &str, image: &str) -> ContainerSpec {
    ContainerSpec {
        name: name.into(),
        image: image.into(),
        entrypoint: vec![],
        args: vec![],
        env: vec![],
        binds: vec![],
        volumes_from: vec![],
        network_mode: "host".into(),
        pid_mode: None,
        privileged: false,
        restart_always: true,
        user: None,
        security_opt: vec![],
        labels: BTreeMap::from([(CONTAINER_NAME_LABEL.to_string(), name.to_string())]),
        created_only: false,
        health: None,
        plane: Plane::Worker,
    }
}

impl ContainerSpec {
    /// The spec with its hash label set, as the planner hands it out.
    pub fn sealed(mut self) -> Self {
        self.seal();
        self
    }
}
