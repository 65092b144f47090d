//! Container convergence and rolling replace (node2).

use std::collections::BTreeMap;

use std::collections::HashMap;

use bollard::query_parameters::{EventsOptions, StopContainerOptionsBuilder};
use rke::provision::node::{Action, ObservedContainer, apply, diff, observe, tail_logs};
use rke::provision::spec::{CONTAINER_NAME_LABEL, ContainerSpec, Plane};
use rke::transport::NodeConnection;

use super::node_connect::{Nodes, PREFIX};

fn sleeper(name: &str, image: &str, greeting: &str) -> ContainerSpec {
    let name = format!("{PREFIX}-{name}");
    let mut spec = ContainerSpec {
        name: name.clone(),
        image: image.into(),
        entrypoint: vec!["sh".into(), "-c".into()],
        args: vec![format!("echo {greeting}; exec sleep 3600")],
        env: vec![],
        binds: vec![],
        volumes_from: vec![],
        network_mode: "none".into(),
        pid_mode: None,
        privileged: false,
        restart_always: true,
        user: None,
        security_opt: vec![],
        labels: BTreeMap::from([
            (CONTAINER_NAME_LABEL.to_string(), name),
            ("io.rke.test".to_string(), "exec".to_string()),
        ]),
        created_only: false,
        health: None,
        plane: Plane::Worker,
    };
    spec.seal();
    spec
}

/// Only this test's containers: the node may run others carrying RKE's label.
async fn ours(node: &NodeConnection) -> Vec<ObservedContainer> {
    let mut seen = observe(node).await.unwrap();
    seen.retain(|c| c.name.starts_with(PREFIX) || c.name.starts_with(&format!("old-{PREFIX}")));
    seen.sort_by(|a, b| a.name.cmp(&b.name));
    seen
}

async fn converge(node: &NodeConnection, plan: &[ContainerSpec]) -> Vec<String> {
    let actions = diff(plan, &ours(node).await);
    apply(node, &actions, &[]).await.unwrap()
}

fn now() -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    format!("{}.{:09}", t.as_secs(), t.subsec_nanos())
}

/// The engine's events about this test's containers between two instants (create, start,
/// rename, destroy, ...): any write call leaves one.
async fn events_between(node: &NodeConnection, since: String, until: String) -> Vec<String> {
    use futures_util::TryStreamExt as _;
    let filters = HashMap::from([
        ("type".to_string(), vec!["container".to_string()]),
        ("label".to_string(), vec!["io.rke.test=exec".to_string()]),
    ]);
    let options = EventsOptions {
        since: Some(since),
        until: Some(until),
        filters: Some(filters),
    };
    let events: Vec<_> = node
        .docker()
        .events(Some(options))
        .try_collect()
        .await
        .unwrap();
    events
        .into_iter()
        .map(|e| e.action.unwrap_or_default())
        .collect()
}

fn ids(seen: &[ObservedContainer]) -> BTreeMap<String, String> {
    seen.iter()
        .map(|c| (c.name.clone(), c.id.clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn converge_create_leave_replace_start_remove_and_restore() {
    let Some(nodes) = Nodes::load() else { return };
    let node = nodes.connect(1, "rke").await;
    let image = nodes.busybox();
    // The image must be present: apply pulls without credentials here.
    rke::provision::node::ensure_image(
        &node,
        &image,
        rke::provision::node::credentials_for(&image, &[nodes.registry(None)]),
        false,
    )
    .await
    .unwrap();
    // Leftovers of an earlier, interrupted run.
    converge(&node, &[]).await;

    let a = sleeper("a", &image, "hello-a");
    let b = sleeper("b", &image, "hello-b");
    let done = converge(&node, &[a.clone(), b.clone()]).await;
    assert_eq!(
        done,
        [format!("created {}", a.name), format!("created {}", b.name)]
    );
    let first = ours(&node).await;
    assert_eq!(first.len(), 2);
    assert!(first.iter().all(|c| c.state == "running"), "{first:?}");
    assert_eq!(first[0].spec_hash.as_deref(), Some(a.spec_hash().as_str()));
    let logs = tail_logs(&node, &a.name, 10).await.unwrap();
    assert_eq!(logs.trim(), "hello-a");

    // Same plan: nothing to do, same containers.
    let actions = diff(&[a.clone(), b.clone()], &first);
    assert!(
        actions.iter().all(|x| matches!(x, Action::Leave { .. })),
        "{actions:?}"
    );
    let since = now();
    assert!(converge(&node, &[a.clone(), b.clone()]).await.is_empty());
    let until = now();
    assert_eq!(
        events_between(&node, since, until).await,
        Vec::<String>::new()
    );
    assert_eq!(ids(&ours(&node).await), ids(&first));

    // One spec changes: only that container is replaced, and no old- copy remains.
    let b2 = sleeper("b", &image, "hello-b2");
    let since = now();
    let done = converge(&node, &[a.clone(), b2.clone()]).await;
    let seen_events = events_between(&node, since, now()).await;
    for action in ["create", "start", "rename", "destroy"] {
        assert!(
            seen_events.iter().any(|e| e == action),
            "{action} missing from {seen_events:?}"
        );
    }
    assert_eq!(done.len(), 1, "{done:?}");
    assert!(
        done[0].starts_with(&format!("replaced {}", b.name)),
        "{done:?}"
    );
    let second = ours(&node).await;
    assert_eq!(second.len(), 2, "{second:?}");
    assert_eq!(second[0].id, first[0].id, "a untouched");
    assert_ne!(second[1].id, first[1].id, "b replaced");
    assert_eq!(
        tail_logs(&node, &b2.name, 10).await.unwrap().trim(),
        "hello-b2"
    );

    // A stopped container is started again, keeping its ID.
    let stop = StopContainerOptionsBuilder::default().t(1).build();
    node.docker()
        .stop_container(&b2.name, Some(stop))
        .await
        .unwrap();
    let done = converge(&node, &[a.clone(), b2.clone()]).await;
    assert_eq!(done, [format!("started {}", b2.name)]);
    let third = ours(&node).await;
    assert_eq!(third[1].id, second[1].id);
    assert_eq!(third[1].state, "running");

    // A replacement that cannot be created puts the old container back, running.
    let mut broken = sleeper("b", &image, "never");
    // A container path must be absolute: the engine refuses the create.
    broken.binds = vec!["/tmp:relative".into()];
    broken.seal();
    let actions = diff(&[a.clone(), broken.clone()], &ours(&node).await);
    let err = apply(&node, &actions, &[]).await.unwrap_err();
    let text = format!("{err:#}");
    assert!(text.contains("was restored"), "{text}");
    assert!(
        text.contains(&format!("node node2: creating {}", broken.name)),
        "{text}"
    );
    let fourth = ours(&node).await;
    assert_eq!(ids(&fourth), ids(&third), "old b is back under its name");
    assert!(fourth.iter().all(|c| c.state == "running"), "{fourth:?}");

    // Dropped from the plan: removed.
    let done = converge(&node, std::slice::from_ref(&b2)).await;
    assert_eq!(done, [format!("removed {}", a.name)]);
    assert_eq!(ours(&node).await.len(), 1);

    converge(&node, &[]).await;
    assert!(ours(&node).await.is_empty());
}
