//! Why a container would be replaced: its spec read back from the engine, with the image's
//! defaults taken out, compared field by field with the plan. Only reads.

use std::collections::BTreeMap;

use bollard::models::{ContainerInspectResponse, ImageConfig, RestartPolicyNameEnum};
use bollard::query_parameters::InspectContainerOptions;

use super::changes::field_changes;
use super::{docker_error, is_not_found};
use crate::provision::spec::{ContainerSpec, Plane, SPEC_HASH_LABEL};
use crate::transport::NodeConnection;

/// The spec `create_body` would have turned into this container, for the fields it sets.
/// The engine merges the image's defaults (environment, command, entrypoint, labels, user) into
/// what it reports; see [`without_image_defaults`]. Health and plane are not recorded on a
/// container: they come back as `None` and [`Plane::Worker`].
pub fn spec_from_inspect(c: &ContainerInspectResponse) -> ContainerSpec {
    let config = c.config.clone().unwrap_or_default();
    let host = c.host_config.clone().unwrap_or_default();
    let non_empty = |s: Option<String>| s.filter(|s| !s.is_empty());
    ContainerSpec {
        name: c
            .name
            .as_deref()
            .unwrap_or_default()
            .trim_start_matches('/')
            .to_string(),
        image: config.image.unwrap_or_default(),
        entrypoint: config.entrypoint.unwrap_or_default(),
        args: config.cmd.unwrap_or_default(),
        env: config.env.unwrap_or_default(),
        binds: host.binds.unwrap_or_default(),
        volumes_from: host.volumes_from.unwrap_or_default(),
        network_mode: host.network_mode.unwrap_or_default(),
        pid_mode: non_empty(host.pid_mode),
        privileged: host.privileged.unwrap_or(false),
        restart_always: host
            .restart_policy
            .and_then(|p| p.name)
            .is_some_and(|n| n == RestartPolicyNameEnum::ALWAYS),
        user: non_empty(config.user),
        security_opt: host.security_opt.unwrap_or_default(),
        labels: config
            .labels
            .unwrap_or_default()
            .into_iter()
            .collect::<BTreeMap<_, _>>(),
        // Not recorded on a container (only its state says whether it was started).
        created_only: false,
        health: None,
        plane: Plane::Worker,
    }
}

/// `running` without what the engine filled in from its image, where `planned` leaves the value
/// to the image: such a value is not something the plan changes. An entry the plan sets itself
/// is kept even when the image has the same one.
pub fn without_image_defaults(
    mut running: ContainerSpec,
    planned: &ContainerSpec,
    image: &ImageConfig,
) -> ContainerSpec {
    let image_list = |v: &Option<Vec<String>>| v.clone().unwrap_or_default();
    if planned.entrypoint.is_empty() && running.entrypoint == image_list(&image.entrypoint) {
        running.entrypoint.clear();
    }
    // The engine uses the image's command only when neither entrypoint nor command is given.
    if planned.args.is_empty()
        && planned.entrypoint.is_empty()
        && running.args == image_list(&image.cmd)
    {
        running.args.clear();
    }
    let image_env = image_list(&image.env);
    running
        .env
        .retain(|e| !image_env.contains(e) || planned.env.contains(e));
    if planned.user.is_none() && running.user.is_some() && running.user == image.user {
        running.user = None;
    }
    if let Some(labels) = &image.labels {
        running
            .labels
            .retain(|k, v| labels.get(k) != Some(v) || planned.labels.get(k) == Some(v));
    }
    running
}

/// `running` without what the engine adds by itself: Docker records `label=disable` in the
/// security options of every privileged container or one sharing the host's PID namespace
/// (SELinux labels cannot apply there), whether or not it was asked for.
pub fn without_engine_defaults(
    mut running: ContainerSpec,
    planned: &ContainerSpec,
) -> ContainerSpec {
    const LABEL_DISABLE: &str = "label=disable";
    let engine_adds = running.privileged || running.pid_mode.as_deref() == Some("host");
    if engine_adds && !planned.security_opt.iter().any(|o| o == LABEL_DISABLE) {
        running.security_opt.retain(|o| o != LABEL_DISABLE);
    }
    running
}

/// What differs between the container `id` on the node and `planned`, one line each (see
/// [`field_changes`]). A container without our spec-hash label (made by RKE1) gets a first
/// line saying so.
pub async fn explain_replace(
    node: &NodeConnection,
    planned: &ContainerSpec,
    id: &str,
) -> anyhow::Result<Vec<String>> {
    let inspected = node
        .docker()
        .inspect_container(id, None::<InspectContainerOptions>)
        .await
        .map_err(|e| docker_error(node, format!("inspecting {}", planned.name), e))?;
    let mut running = without_engine_defaults(spec_from_inspect(&inspected), planned);
    if let Some(image_id) = inspected.image.as_deref() {
        match node.docker().inspect_image(image_id).await {
            Ok(image) => {
                if let Some(config) = image.config {
                    running = without_image_defaults(running, planned, &config);
                }
            }
            // The image was removed under the container: its defaults stay in the comparison.
            Err(e) if is_not_found(&e) => {}
            Err(e) => {
                return Err(docker_error(
                    node,
                    format!("inspecting image {image_id}"),
                    e,
                ));
            }
        }
    }
    let mut lines = Vec::new();
    let running_hash = running.labels.get(SPEC_HASH_LABEL);
    if running_hash.is_none() {
        lines.push(format!(
            "created by RKE1 (no {SPEC_HASH_LABEL} label): replaced once to adopt it"
        ));
    }
    lines.extend(field_changes(planned, &running));
    if lines.is_empty() && running_hash.is_some_and(|h| *h != planned.spec_hash()) {
        lines.push("spec hash differs, no property differs visibly".into());
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provision::node::create_body;
    use crate::provision::spec::test_spec;
    use bollard::models::{ContainerConfig, HostConfig};

    fn spec() -> ContainerSpec {
        ContainerSpec {
            entrypoint: vec!["kube-proxy".into()],
            args: vec!["--v=2".into()],
            env: vec!["A=1".into()],
            binds: vec!["/etc/kubernetes:/etc/kubernetes:z".into()],
            volumes_from: vec!["service-sidekick".into()],
            pid_mode: Some("host".into()),
            privileged: true,
            user: Some("1:2".into()),
            security_opt: vec!["label=disable".into()],
            ..test_spec("kube-proxy", "img:1")
        }
        .sealed()
    }

    /// What the engine reports for a container created from `body`, image defaults merged.
    fn inspect_of(s: &ContainerSpec, image: &ImageConfig) -> ContainerInspectResponse {
        let body = create_body(s);
        let mut env = body.env.clone().unwrap_or_default();
        for e in image.env.clone().unwrap_or_default() {
            let name = e.split('=').next().unwrap_or_default();
            if !env.iter().any(|x| x.split('=').next() == Some(name)) {
                env.push(e);
            }
        }
        let mut labels = image.labels.clone().unwrap_or_default();
        labels.extend(body.labels.clone().unwrap_or_default());
        let entrypoint = body.entrypoint.clone().or(image.entrypoint.clone());
        let cmd = match (&body.entrypoint, &body.cmd) {
            (None, None) => image.cmd.clone(),
            (_, cmd) => cmd.clone(),
        };
        let host = body.host_config.clone().unwrap();
        ContainerInspectResponse {
            name: Some(format!("/{}", s.name)),
            image: Some("sha256:0123".into()),
            config: Some(ContainerConfig {
                image: body.image.clone(),
                entrypoint,
                cmd,
                env: Some(env),
                user: body
                    .user
                    .clone()
                    .or(image.user.clone())
                    .or(Some(String::new())),
                labels: Some(labels),
                ..ContainerConfig::default()
            }),
            host_config: Some(HostConfig {
                pid_mode: host.pid_mode.clone().or(Some(String::new())),
                ..host
            }),
            ..ContainerInspectResponse::default()
        }
    }

    #[test]
    fn inspect_inverts_create_body() {
        let s = spec();
        let back = spec_from_inspect(&inspect_of(&s, &ImageConfig::default()));
        assert_eq!(back, s);
        assert!(field_changes(&s, &back).is_empty());

        let mut bare = spec();
        bare.pid_mode = None;
        bare.user = None;
        bare.restart_always = false;
        bare.security_opt.clear();
        bare.volumes_from.clear();
        bare.seal();
        let back = spec_from_inspect(&inspect_of(&bare, &ImageConfig::default()));
        assert_eq!(back, bare);
    }

    #[test]
    fn label_disable_the_engine_adds_to_privileged_containers_is_not_a_change() {
        let mut planned = spec();
        planned.security_opt.clear();
        planned.privileged = true;
        let mut running = planned.clone();
        running.security_opt = vec!["label=disable".into()];
        let running = without_engine_defaults(running, &planned);
        assert!(field_changes(&planned, &running).is_empty());

        // Asked for by the plan (SELinux nodes): kept, and compared as usual.
        let mut planned = planned.clone();
        planned.security_opt = vec!["label=disable".into()];
        let mut running = planned.clone();
        running.security_opt = vec!["label=disable".into()];
        assert_eq!(
            without_engine_defaults(running, &planned).security_opt,
            ["label=disable"]
        );

        // Not privileged, not host PID: the engine adds nothing, so it is a real difference.
        let mut planned = spec();
        planned.security_opt.clear();
        planned.privileged = false;
        planned.pid_mode = None;
        let mut running = planned.clone();
        running.security_opt = vec!["label=disable".into()];
        let running = without_engine_defaults(running, &planned);
        assert_eq!(
            field_changes(&planned, &running),
            ["security_opt: −label=disable"]
        );
    }

    #[test]
    fn image_defaults_the_plan_leaves_alone_are_not_changes() {
        let image = ImageConfig {
            env: Some(vec!["PATH=/bin".into(), "A=1".into()]),
            cmd: Some(vec!["sh".into()]),
            entrypoint: Some(vec!["/entry.sh".into()]),
            user: Some("nobody".into()),
            labels: Some([("maintainer".to_string(), "x".to_string())].into()),
            ..ImageConfig::default()
        };
        let mut s = spec();
        s.entrypoint.clear();
        s.args.clear();
        s.user = None;
        s.seal();
        let running = spec_from_inspect(&inspect_of(&s, &image));
        assert_ne!(running.env, s.env, "the engine merged PATH in");
        let cleaned = without_image_defaults(running, &s, &image);
        assert!(field_changes(&s, &cleaned).is_empty(), "{cleaned:?}");
        // A=1 is set by the plan and by the image: kept.
        assert_eq!(cleaned.env, ["A=1"]);
        assert_eq!(cleaned.labels, s.labels);

        // With its own entrypoint the image's command is not used, so an equal command stays.
        let mut own = spec();
        own.args.clear();
        own.seal();
        let mut running = spec_from_inspect(&inspect_of(&own, &image));
        running.args = vec!["sh".into()];
        let cleaned = without_image_defaults(running, &own, &image);
        assert_eq!(field_changes(&own, &cleaned), ["args: −sh"]);
    }
}
