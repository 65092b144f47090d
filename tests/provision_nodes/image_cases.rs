//! Image pulls with private-registry credentials (node3).

use bollard::query_parameters::RemoveImageOptionsBuilder;
use rke::error::{ErrorKind, kind_of};
use rke::provision::node::{credentials_for, ensure_image};

use super::node_connect::Nodes;

#[tokio::test(flavor = "multi_thread")]
async fn pulls_when_missing_with_credentials_and_names_node_and_image_on_failure() {
    let Some(nodes) = Nodes::load() else { return };
    let node = nodes.connect(2, "rke").await;
    let image = nodes.busybox();
    let good = [nodes.registry(None)];

    // Make it absent: untag only (noprune keeps the layers; force because other containers
    // may use it; they keep running on the image ID).
    let untag = RemoveImageOptionsBuilder::default()
        .force(true)
        .noprune(true)
        .build();
    let _ = node.docker().remove_image(&image, Some(untag), None).await;
    assert!(node.docker().inspect_image(&image).await.is_err());

    let pulled = ensure_image(&node, &image, credentials_for(&image, &good), false)
        .await
        .unwrap();
    assert!(pulled, "absent image must be pulled");
    node.docker().inspect_image(&image).await.unwrap();

    // Present: no pull, even with useless credentials.
    let again = ensure_image(&node, &image, None, false).await.unwrap();
    assert!(!again);

    // A forced pull with a wrong password fails and says where and what.
    let bad = [nodes.registry(Some("wrong-password"))];
    let err = ensure_image(&node, &image, credentials_for(&image, &bad), true)
        .await
        .unwrap_err();
    assert_eq!(kind_of(&err), ErrorKind::Docker);
    let text = err.to_string();
    assert!(
        text.starts_with(&format!("node node3: pulling image {image}: ")),
        "{text}"
    );
    // The image is still there after the failed pull.
    node.docker().inspect_image(&image).await.unwrap();
}
