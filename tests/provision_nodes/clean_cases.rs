//! Cleaning a node (node4): directories emptied through the cleaner container, containers and
//! their `old-` leftovers removed. Only `/tmp/rke-exec-test-*` and `rke-exec-test-*` containers
//! are touched: another test may run a cluster on the same nodes.

use bollard::models::ContainerCreateBody;
use bollard::query_parameters::{CreateContainerOptionsBuilder, ListContainersOptionsBuilder};
use rke::error::{ErrorKind, kind_of};
use rke::provision::node::{clean_dirs, credentials_for, ensure_image, remove_containers};
use rke::transport::NodeConnection;

use super::node_connect::{Nodes, PREFIX, sh};

/// Names of the cleaner containers on the node; each run must leave none.
async fn cleaners(node: &NodeConnection) -> Vec<String> {
    let all = ListContainersOptionsBuilder::default().all(true).build();
    let list = node.docker().list_containers(Some(all)).await.unwrap();
    list.into_iter()
        .flat_map(|c| c.names.unwrap_or_default())
        .filter(|n| n.trim_start_matches('/').starts_with("rke-cleaner-"))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn clean_dirs_empties_listed_dirs_only_and_reports_failures() {
    let Some(nodes) = Nodes::load() else { return };
    let user = nodes.connect(3, "rke").await;
    let root = nodes.connect(3, "root").await;
    let busybox = nodes.busybox();
    let creds = credentials_for(&busybox, &[nodes.registry(None)]);
    ensure_image(&user, &busybox, creds, false).await.unwrap();

    let base = format!("/tmp/{PREFIX}-clean");
    sh(
        &root,
        &format!(
            "umount {base}/busy/mnt 2>/dev/null; rm -rf {base}; \
             mkdir -p {base}/a/sub/deep {base}/b {base}/busy/mnt && cd {base} && \
             echo 1 > a/file && echo 2 > a/.hidden && echo 3 > a/sub/deep/file && \
             chmod 000 a/sub/deep/file && chown 52034:52034 a/sub && \
             ln -s {base}/b/keep a/link && echo keep > b/keep"
        ),
    )
    .await;

    let dirs = vec![format!("{base}/a/"), format!("{base}/missing")];
    clean_dirs(&user, &dirs, &busybox).await.unwrap();
    assert_eq!(sh(&root, &format!("ls -A {base}/a")).await, "");
    assert_eq!(
        sh(&root, &format!("stat -c %F {base}/a")).await,
        "directory\n"
    );
    // The sibling and the symlink's target are untouched.
    assert_eq!(sh(&root, &format!("cat {base}/b/keep")).await, "keep\n");
    // A missing directory is no error; the bind mount leaves it created and empty, as RKE1.
    assert_eq!(sh(&root, &format!("ls -A {base}/missing")).await, "");
    assert!(cleaners(&user).await.is_empty());

    // Nothing to clean: nothing runs.
    clean_dirs(&user, &[], &busybox).await.unwrap();

    // A mount point inside the directory cannot be deleted: the error names the node and
    // quotes the cleaner's output, and the cleaner is still removed.
    sh(&root, &format!("mount -t tmpfs tmpfs {base}/busy/mnt")).await;
    let err = clean_dirs(&user, &[format!("{base}/busy")], &busybox)
        .await
        .unwrap_err();
    sh(&root, &format!("umount {base}/busy/mnt")).await;
    assert_eq!(kind_of(&err), ErrorKind::Docker);
    let text = format!("{err:#}");
    assert!(
        text.starts_with(&format!(
            "node node4: cleaning {base}/busy: exited with status"
        )),
        "{text}"
    );
    // Find names it `<dir>/./mnt`.
    assert!(text.contains(&format!("{base}/busy/./mnt")), "{text}");
    assert!(cleaners(&user).await.is_empty());

    // Unsafe paths are refused before anything runs.
    sh(&root, &format!("echo 1 > {base}/b/more")).await;
    let err = clean_dirs(&user, &[format!("{base}/b"), "/".into()], &busybox)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("node node4: refusing to clean \"/\""),
        "{err}"
    );
    assert_eq!(sh(&root, &format!("ls {base}/b")).await, "keep\nmore\n");

    // A missing helper image: a Docker error naming the node; nothing deleted.
    let err = clean_dirs(&user, &[format!("{base}/b")], &format!("{PREFIX}/absent:0"))
        .await
        .unwrap_err();
    assert_eq!(kind_of(&err), ErrorKind::Docker);
    assert!(
        err.to_string()
            .starts_with("node node4: creating the cleaner from rke-exec-test/absent:0"),
        "{err}"
    );
    assert_eq!(sh(&root, &format!("ls {base}/b")).await, "keep\nmore\n");

    sh(&root, &format!("rm -rf {base}")).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn remove_containers_takes_the_old_leftover_too_and_is_idempotent() {
    let Some(nodes) = Nodes::load() else { return };
    let user = nodes.connect(3, "rke").await;
    let busybox = nodes.busybox();
    let creds = credentials_for(&busybox, &[nodes.registry(None)]);
    ensure_image(&user, &busybox, creds, false).await.unwrap();

    let name = format!("{PREFIX}-rm");
    let old = format!("old-{name}");
    let _ = remove_containers(&user, &[&name]).await;
    for (container, start) in [(&name, true), (&old, false)] {
        let body = ContainerCreateBody {
            image: Some(busybox.clone()),
            cmd: Some(vec!["sleep".into(), "3600".into()]),
            ..ContainerCreateBody::default()
        };
        let options = CreateContainerOptionsBuilder::default()
            .name(container)
            .build();
        user.docker()
            .create_container(Some(options), body)
            .await
            .unwrap();
        if start {
            user.docker()
                .start_container(container, None)
                .await
                .unwrap();
        }
    }

    let absent = format!("{PREFIX}-never-created");
    let removed = remove_containers(&user, &[&name, &absent]).await.unwrap();
    assert_eq!(removed, [name.clone(), old.clone()]);
    for container in [&name, &old] {
        assert!(
            user.docker()
                .inspect_container(container, None)
                .await
                .is_err(),
            "{container} still exists"
        );
    }
    let again = remove_containers(&user, &[&name, &absent]).await.unwrap();
    assert!(again.is_empty(), "{again:?}");
}
