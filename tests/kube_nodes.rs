//! The Kubernetes API step against a real v1.20.2 control plane on the e2e nodes
//! (`tests/env/up.sh`; `RKE_E2E_SKIP=1` skips, a missing environment fails).
//!
//! Brings up etcd, control plane and worker containers exactly as `rke up` plans them, then
//! checks: authz objects let kubelets register, nodes go Ready with the environment's network plugin,
//! labels/taints sync (and rke-set ones are removed), the state Secret round-trips, cordon,
//! node deletion. Everything rke created on the nodes is removed at the end, pass or fail.

mod common;
use common::{e2e, nodes};
#[path = "kube_nodes/bringup.rs"]
mod bringup;

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, ensure};
use futures_util::FutureExt as _;
use k8s_openapi::api::core::v1::{ConfigMap, Taint};
use k8s_openapi::api::rbac::v1::ClusterRoleBinding;
use kube::Api;
use kube::api::PostParams;
use rke::kube_api::{KubeClient, NodeMetadata, role_labels};

async fn exercise(up: &bringup::Cluster) -> anyhow::Result<()> {
    let api = KubeClient::connect(&up.conns[0], &up.addresses[0], &up.bundle).await?;
    let version = api.wait_api_ready(Duration::from_secs(120)).await?;
    ensure!(version.starts_with("v1.20"), "server version {version}");

    api.apply_authz().await?;
    api.apply_authz()
        .await
        .context("second apply is idempotent")?;
    let crbs: Api<ClusterRoleBinding> = Api::all(api.client().clone());
    let node_binding = crbs.get("system:node").await?;
    ensure!(node_binding.subjects.unwrap()[0].name == "system:nodes");

    // The environment's network plugin (a DaemonSet), so kubelets report Ready.
    let manifest = e2e::network_addon_yaml(&up.env);
    let objects = rke::addons::manifest::parse_documents("network", "network-addon.sh", &manifest)?;
    let mut applier = rke::addons::apply::Applier::new(api.client().clone());
    for object in &objects {
        applier.apply("rke-e2e-network", object).await?;
    }
    let names: Vec<String> = up.node_names.clone();
    api.wait_nodes_ready(&names, Duration::from_secs(180))
        .await?;
    let err = api
        .wait_nodes_ready(&["no-such-node".into()], Duration::from_secs(3))
        .await
        .unwrap_err();
    ensure!(err.to_string().contains("no-such-node"), "{err}");

    // Labels and taints: first sync, then one that drops what rke set before.
    let first = NodeMetadata {
        labels: {
            let mut l = role_labels(&["etcd".into(), "worker".into()]);
            l.insert("rke.test/tier".into(), "gold".into());
            l
        },
        annotations: BTreeMap::from([("rke.test/note".into(), "hello".into())]),
        taints: vec![Taint {
            key: "rke.test/dedicated".into(),
            value: Some("db".into()),
            effect: "NoSchedule".into(),
            time_added: None,
        }],
    };
    let target = &names[2];
    ensure!(
        api.sync_node_metadata(target, &first, &NodeMetadata::default())
            .await?
    );
    ensure!(
        !api.sync_node_metadata(target, &first, &first).await?,
        "second sync changes nothing"
    );
    let node = api.get_node(target).await?.context("node registered")?;
    let labels = node.metadata.labels.clone().unwrap();
    ensure!(
        labels
            .get("node-role.kubernetes.io/etcd")
            .map(String::as_str)
            == Some("true")
    );
    ensure!(labels.get("rke.test/tier").map(String::as_str) == Some("gold"));
    ensure!(
        labels.contains_key("kubernetes.io/hostname"),
        "kubelet's labels kept"
    );
    let taints = node.spec.clone().unwrap().taints.unwrap_or_default();
    ensure!(
        taints.iter().any(|t| t.key == "rke.test/dedicated"),
        "{taints:?}"
    );

    let second = NodeMetadata {
        labels: role_labels(&["etcd".into(), "worker".into()]),
        ..NodeMetadata::default()
    };
    ensure!(api.sync_node_metadata(target, &second, &first).await?);
    let node = api.get_node(target).await?.unwrap();
    let labels = node.metadata.labels.clone().unwrap();
    ensure!(!labels.contains_key("rke.test/tier"), "{labels:?}");
    ensure!(labels.contains_key("node-role.kubernetes.io/worker"));
    ensure!(
        !node
            .metadata
            .annotations
            .clone()
            .unwrap_or_default()
            .contains_key("rke.test/note")
    );
    let taints = node.spec.clone().unwrap().taints.unwrap_or_default();
    ensure!(
        !taints.iter().any(|t| t.key == "rke.test/dedicated"),
        "{taints:?}"
    );

    // State: a legacy ConfigMap is replaced by the Secret, and reads back byte for byte.
    let maps: Api<ConfigMap> = Api::namespaced(api.client().clone(), "kube-system");
    let legacy = ConfigMap {
        metadata: kube::api::ObjectMeta {
            name: Some("full-cluster-state".into()),
            ..Default::default()
        },
        data: Some(BTreeMap::from([(
            "full-cluster-state".into(),
            "{\"old\":1}".into(),
        )])),
        ..Default::default()
    };
    maps.create(&PostParams::default(), &legacy).await?;
    ensure!(
        api.read_state().await?.as_deref() == Some("{\"old\":1}"),
        "legacy fallback"
    );
    let state = r#"{"desiredState":{"rkeConfig":{"nodes":[]}},"currentState":{}}"#;
    api.save_state(state).await?;
    ensure!(api.read_state().await?.as_deref() == Some(state));
    ensure!(
        maps.get_opt("full-cluster-state").await?.is_none(),
        "legacy ConfigMap deleted"
    );
    api.save_state(state).await.context("saving again")?;

    // Cordon, then delete a node object.
    api.cordon(target).await?;
    let node = api.get_node(target).await?.unwrap();
    ensure!(node.spec.unwrap().unschedulable == Some(true));
    api.uncordon(target).await?;
    api.delete_node(target).await?;
    ensure!(api.get_node(target).await?.is_none(), "node deleted");
    api.delete_node(target)
        .await
        .context("deleting an absent node")?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kubernetes_api_step_on_a_real_control_plane() {
    let Some(env) = e2e::env() else { return };
    nodes::cleanup(&env);
    let up = bringup::Cluster::up(env).await;
    let outcome = std::panic::AssertUnwindSafe(async {
        let started = std::time::Instant::now();
        let r = exercise(&up).await;
        eprintln!("API checks took {:?}", started.elapsed());
        r
    })
    .catch_unwind()
    .await;
    nodes::cleanup(&up.env);
    match outcome {
        Ok(r) => r.unwrap(),
        Err(panic) => std::panic::resume_unwind(panic),
    }
}
