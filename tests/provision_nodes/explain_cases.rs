//! Dry-run explanations (node4): why a container would be replaced, and which files would be
//! written, read from the node without changing it.

use std::collections::BTreeMap;

use bollard::query_parameters::{CreateContainerOptionsBuilder, RemoveContainerOptionsBuilder};
use rke::provision::node::{
    Action, apply, create_body, credentials_for, ensure_image, explain_replace, stale_paths,
    upload_files,
};
use rke::provision::spec::SPEC_HASH_LABEL;
use rke::provision::spec::{CONTAINER_NAME_LABEL, ContainerSpec, NodeDir, NodeFile, Plane};
use rke::transport::NodeConnection;

use super::node_connect::{Nodes, PREFIX, sh};

fn sleeper(name: &str, image: &str, seconds: &str) -> ContainerSpec {
    let mut spec = ContainerSpec {
        name: name.into(),
        image: image.into(),
        entrypoint: vec!["sleep".into()],
        args: vec![seconds.into()],
        env: vec![],
        binds: vec![],
        volumes_from: vec![],
        network_mode: "none".into(),
        pid_mode: None,
        privileged: false,
        restart_always: true,
        user: None,
        security_opt: vec![],
        labels: BTreeMap::from([(CONTAINER_NAME_LABEL.to_string(), name.to_string())]),
        created_only: false,
        health: None,
        plane: Plane::Worker,
    };
    spec.seal();
    spec
}

async fn remove(node: &NodeConnection, name: &str) {
    let options = RemoveContainerOptionsBuilder::default().force(true).build();
    let _ = node.docker().remove_container(name, Some(options)).await;
}

/// `image` with its tag replaced.
fn retagged(image: &str, tag: &str) -> String {
    let (repo, _) = image.rsplit_once(':').unwrap();
    format!("{repo}:{tag}")
}

#[tokio::test(flavor = "multi_thread")]
async fn explain_replace_lists_exactly_the_changed_fields() {
    let Some(nodes) = Nodes::load() else { return };
    let node = nodes.connect(3, "rke").await;
    let busybox = nodes.busybox();
    let creds = credentials_for(&busybox, &[nodes.registry(None)]);
    ensure_image(&node, &busybox, creds, false).await.unwrap();

    let name = format!("{PREFIX}-explain");
    remove(&node, &name).await;
    let running = sleeper(&name, &busybox, "3600");
    apply(&node, &[Action::Create(running.clone())], &[])
        .await
        .unwrap();
    let id = node
        .docker()
        .inspect_container(&name, None)
        .await
        .unwrap()
        .id
        .unwrap();

    // The same spec: nothing to explain, although the engine merged busybox's PATH and CMD.
    assert_eq!(
        explain_replace(&node, &running, &id).await.unwrap(),
        Vec::<String>::new()
    );

    let newer = retagged(&busybox, "9.9.9");
    let planned = sleeper(&name, &newer, "3601");
    assert_eq!(
        explain_replace(&node, &planned, &id).await.unwrap(),
        [
            format!("image: {busybox} → {newer}"),
            "args: +3601 −3600".to_string()
        ]
    );
    remove(&node, &name).await;

    // A container without our hash label (as RKE1 makes them) says so first.
    let mut body = create_body(&running);
    body.labels.as_mut().unwrap().remove(SPEC_HASH_LABEL);
    let options = CreateContainerOptionsBuilder::default().name(&name).build();
    let created = node
        .docker()
        .create_container(Some(options), body)
        .await
        .unwrap();
    let lines = explain_replace(&node, &planned, &created.id).await.unwrap();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(lines[0].starts_with("created by RKE1"), "{lines:?}");
    remove(&node, &name).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn stale_paths_reads_without_writing_and_agrees_with_upload_files() {
    let Some(nodes) = Nodes::load() else { return };
    let user = nodes.connect(3, "rke").await;
    let root = nodes.connect(3, "root").await;
    let busybox = nodes.busybox();
    let creds = credentials_for(&busybox, &[nodes.registry(None)]);
    ensure_image(&user, &busybox, creds, false).await.unwrap();

    let base = format!("/tmp/{PREFIX}-stale");
    sh(&root, &format!("rm -rf {base}")).await;
    let dir = NodeDir {
        path: format!("{base}/d"),
        mode: 0o750,
        owner: None,
    };
    let file = NodeFile {
        path: format!("{base}/d/conf"),
        contents: b"setting\n".to_vec(),
        mode: 0o640,
        secret: false,
        owner: Some((52034, 52034)),
    };
    let files = [file.clone()];
    let dirs = [dir.clone()];

    let before = stale_paths(&user, &files, &dirs, &busybox).await.unwrap();
    assert_eq!(before, [dir.path.clone(), file.path.clone()]);
    // Nothing was created, not even the parent directory.
    assert_eq!(
        sh(
            &root,
            &format!("test -e {base} && echo exists || echo absent")
        )
        .await,
        "absent\n"
    );

    let written = upload_files(&user, &files, &dirs, &busybox).await.unwrap();
    assert_eq!(written.written, before);
    assert!(
        stale_paths(&user, &files, &dirs, &busybox)
            .await
            .unwrap()
            .is_empty()
    );

    sh(&root, &format!("chown 0:0 {}", file.path)).await;
    assert_eq!(
        stale_paths(&user, &files, &dirs, &busybox).await.unwrap(),
        [file.path.as_str()]
    );
    // The dry run did not repair it.
    assert_eq!(sh(&root, &format!("stat -c %u {}", file.path)).await, "0\n");
    sh(&root, &format!("rm -rf {base}")).await;
}
