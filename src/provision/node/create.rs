//! A [`ContainerSpec`] as the body of `POST /containers/create`. Pure.

use bollard::models::{ContainerCreateBody, HostConfig, RestartPolicy, RestartPolicyNameEnum};

use crate::provision::spec::{CONTAINER_NAME_LABEL, ContainerSpec, SPEC_HASH_LABEL};

/// The create body for `spec`. Labels always carry RKE's name label and the spec hash computed
/// now (whether or not the spec was sealed), so observation can compare hashes later.
pub fn create_body(spec: &ContainerSpec) -> ContainerCreateBody {
    let mut labels: std::collections::HashMap<String, String> = spec
        .labels
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    labels.insert(CONTAINER_NAME_LABEL.to_string(), spec.name.clone());
    labels.insert(SPEC_HASH_LABEL.to_string(), spec.spec_hash());
    let non_empty = |v: &Vec<String>| (!v.is_empty()).then(|| v.clone());
    ContainerCreateBody {
        image: Some(spec.image.clone()),
        entrypoint: non_empty(&spec.entrypoint),
        cmd: non_empty(&spec.args),
        env: non_empty(&spec.env),
        user: spec.user.clone(),
        labels: Some(labels),
        host_config: Some(HostConfig {
            binds: non_empty(&spec.binds),
            volumes_from: non_empty(&spec.volumes_from),
            network_mode: Some(spec.network_mode.clone()),
            pid_mode: spec.pid_mode.clone(),
            privileged: Some(spec.privileged),
            security_opt: non_empty(&spec.security_opt),
            restart_policy: spec.restart_always.then_some(RestartPolicy {
                name: Some(RestartPolicyNameEnum::ALWAYS),
                maximum_retry_count: None,
            }),
            ..HostConfig::default()
        }),
        ..ContainerCreateBody::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provision::spec::test_spec;
    use std::collections::BTreeMap;

    /// Unsealed and without the name label: the body must add both.
    fn spec() -> ContainerSpec {
        ContainerSpec {
            entrypoint: vec!["kubelet".into()],
            args: vec!["--v=2".into(), "--x=y".into()],
            env: vec!["A=1".into()],
            binds: vec!["/etc/kubernetes:/etc/kubernetes:z".into()],
            volumes_from: vec!["service-sidekick".into()],
            pid_mode: Some("host".into()),
            privileged: true,
            user: Some("52034:52034".into()),
            security_opt: vec!["label=disable".into()],
            labels: BTreeMap::from([("x".to_string(), "y".to_string())]),
            ..test_spec("kubelet", "img:1")
        }
    }

    #[test]
    fn every_property_reaches_the_body() {
        let s = spec();
        let body = create_body(&s);
        assert_eq!(body.image.as_deref(), Some("img:1"));
        assert_eq!(body.entrypoint, Some(vec!["kubelet".to_string()]));
        assert_eq!(body.cmd, Some(s.args.clone()));
        assert_eq!(body.env, Some(s.env.clone()));
        assert_eq!(body.user.as_deref(), Some("52034:52034"));
        let labels = body.labels.unwrap();
        assert_eq!(labels["x"], "y");
        assert_eq!(labels[CONTAINER_NAME_LABEL], "kubelet");
        assert_eq!(labels[SPEC_HASH_LABEL], s.spec_hash());
        let host = body.host_config.unwrap();
        assert_eq!(host.binds, Some(s.binds.clone()));
        assert_eq!(host.volumes_from, Some(s.volumes_from.clone()));
        assert_eq!(host.network_mode.as_deref(), Some("host"));
        assert_eq!(host.pid_mode.as_deref(), Some("host"));
        assert_eq!(host.privileged, Some(true));
        assert_eq!(host.security_opt, Some(s.security_opt.clone()));
        assert_eq!(
            host.restart_policy.unwrap().name,
            Some(RestartPolicyNameEnum::ALWAYS)
        );
    }

    #[test]
    fn empty_lists_leave_image_defaults() {
        let mut s = spec();
        s.entrypoint.clear();
        s.args.clear();
        s.env.clear();
        s.volumes_from.clear();
        s.restart_always = false;
        let body = create_body(&s);
        assert_eq!(body.entrypoint, None);
        assert_eq!(body.cmd, None);
        assert_eq!(body.env, None);
        let host = body.host_config.unwrap();
        assert!(host.restart_policy.is_none());
        assert_eq!(host.volumes_from, None);
    }
}
