//! Files and directories written through the helper container (node1).

use bollard::query_parameters::{InspectContainerOptions, ListContainersOptionsBuilder};
use rke::provision::node::{credentials_for, ensure_image, upload_files};
use rke::provision::spec::{NodeDir, NodeFile};

use super::node_connect::{Nodes, PREFIX, sh};

const SSL: &str = "/etc/kubernetes/ssl";

fn file(path: String, contents: &str, mode: u32, secret: bool) -> NodeFile {
    NodeFile {
        path,
        contents: contents.as_bytes().to_vec(),
        mode,
        secret,
        owner: None,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn files_land_with_modes_owners_and_no_trace_of_secrets() {
    let Some(nodes) = Nodes::load() else { return };
    let user = nodes.connect(0, "rke").await;
    let root = nodes.connect(0, "root").await;
    let busybox = nodes.busybox();
    let creds = credentials_for(&busybox, &[nodes.registry(None)]);
    ensure_image(&user, &busybox, creds, false).await.unwrap();

    let base = format!("/var/lib/{PREFIX}");
    let key_text = format!(
        "-----BEGIN PRIVATE KEY-----\n{PREFIX}-secret-{}\n-----END PRIVATE KEY-----\n",
        std::process::id()
    );
    let key = file(format!("{SSL}/{PREFIX}-key.pem"), &key_text, 0o600, true);
    let cert = file(format!("{SSL}/{PREFIX}.pem"), "certificate\n", 0o644, false);
    let mut owned = file(format!("{base}/data/owned.conf"), "owned\n", 0o640, false);
    owned.owner = Some((52034, 52035));
    let files = vec![key.clone(), cert.clone(), owned.clone()];
    let dirs = vec![NodeDir {
        path: format!("{base}/data"),
        mode: 0o700,
        owner: Some((52034, 52034)),
    }];

    let first = upload_files(&user, &files, &dirs, &busybox).await.unwrap();
    assert_eq!(first.written.len(), 4, "{first:?}");

    let stat = |p: &str| format!("stat -c '%a %u:%g %F' {p}");
    assert_eq!(sh(&root, &stat(&key.path)).await, "600 0:0 regular file\n");
    assert_eq!(sh(&root, &stat(&cert.path)).await, "644 0:0 regular file\n");
    assert_eq!(
        sh(&root, &stat(&owned.path)).await,
        "640 52034:52035 regular file\n"
    );
    assert_eq!(
        sh(&root, &stat(&format!("{base}/data"))).await,
        "700 52034:52034 directory\n"
    );
    assert_eq!(sh(&root, &format!("cat {}", key.path)).await, key_text);
    assert_eq!(sh(&root, &format!("cat {}", owned.path)).await, "owned\n");

    // The helper is gone and nothing the engine knows about carries the key.
    let all = ListContainersOptionsBuilder::default().all(true).build();
    let containers = user.docker().list_containers(Some(all)).await.unwrap();
    assert!(
        containers.iter().all(|c| !c
            .labels
            .as_ref()
            .is_some_and(|l| l.contains_key("io.rke.file-helper"))),
        "a file helper was left behind"
    );
    for c in &containers {
        let id = c.id.as_deref().unwrap();
        let inspect = user
            .docker()
            .inspect_container(id, None::<InspectContainerOptions>)
            .await
            .unwrap();
        let json = serde_json::to_string(&inspect).unwrap();
        assert!(
            !json.contains(&format!("{PREFIX}-secret")),
            "{id} shows the key"
        );
    }

    // Same plan again: nothing written.
    let again = upload_files(&user, &files, &dirs, &busybox).await.unwrap();
    assert!(again.written.is_empty(), "{again:?}");
    assert_eq!(again.unchanged, 4);

    // Drift on the node is repaired, and only the drifted paths are written.
    sh(
        &root,
        &format!("chmod 644 {}; echo tampered > {}", key.path, cert.path),
    )
    .await;
    let repair = upload_files(&user, &files, &dirs, &busybox).await.unwrap();
    assert_eq!(repair.written, [key.path.clone(), cert.path.clone()]);
    assert_eq!(sh(&root, &stat(&key.path)).await, "600 0:0 regular file\n");
    assert_eq!(
        sh(&root, &format!("cat {}", cert.path)).await,
        "certificate\n"
    );

    sh(&root, &format!("rm -rf {base} {} {}", key.path, cert.path)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_helper_image_is_a_docker_error_naming_the_node() {
    let Some(nodes) = Nodes::load() else { return };
    let user = nodes.connect(0, "rke").await;
    let files = [file(format!("/tmp/{PREFIX}-never"), "x", 0o644, false)];
    let err = upload_files(&user, &files, &[], &format!("{PREFIX}/absent:0"))
        .await
        .unwrap_err();
    assert_eq!(rke::error::kind_of(&err), rke::error::ErrorKind::Docker);
    let text = err.to_string();
    assert!(
        text.starts_with("node node1: creating file helper from rke-exec-test/absent:0"),
        "{text}"
    );
}
