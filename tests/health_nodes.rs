//! Health probes through the SSH tunnel against real containers on node1 of the e2e
//! environment (`tests/env/up.sh`; `RKE_E2E_SKIP=1` skips). Containers are named
//! `rke-health-test-*`, listen only on high ports on the host network (a real control plane
//! may run on the same node) and are removed at the end.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use bollard::query_parameters::RemoveContainerOptionsBuilder;
use rke::certs::{self, CertBundle, KUBE_CA, KUBE_NODE, NodeIdentity, PkiInput};
use rke::error::{ErrorKind, kind_of};
use rke::provision::health::{probe, wait_healthy};
use rke::provision::node::{apply, diff, ensure_image, upload_files};
use rke::provision::spec::{CONTAINER_NAME_LABEL, ContainerSpec, HealthCheck, NodeFile, Plane};
use rke::transport::NodeConnection;
use tokio::time::Instant;

use common::node_connect::Nodes;

const PREFIX: &str = "rke-health-test";
const HTTPD_PORT: u16 = 18481;
const SILENT_PORT: u16 = 18482;
const ETCD_CLIENT_PORT: u16 = 22379;
const ETCD_PEER_PORT: u16 = 22380;
const SSL_DIR: &str = "/opt/rke-health-test/ssl";

fn container(name: &str, image: &str, entrypoint: &[&str], args: Vec<String>) -> ContainerSpec {
    let name = format!("{PREFIX}-{name}");
    let mut spec = ContainerSpec {
        name: name.clone(),
        image: image.into(),
        entrypoint: entrypoint.iter().map(|s| s.to_string()).collect(),
        args,
        env: vec![],
        binds: vec![],
        volumes_from: vec![],
        network_mode: "host".into(),
        pid_mode: None,
        privileged: false,
        restart_always: false,
        user: None,
        security_opt: vec![],
        labels: BTreeMap::from([(CONTAINER_NAME_LABEL.to_string(), name)]),
        created_only: false,
        health: None,
        plane: Plane::Worker,
    };
    spec.seal();
    spec
}

async fn remove(node: &NodeConnection, name: &str) {
    let opts = RemoveContainerOptionsBuilder::default()
        .force(true)
        .v(true)
        .build();
    // Absent is fine: this also clears leftovers of a killed run.
    let _ = node.docker().remove_container(name, Some(opts)).await;
}

/// Start `spec` fresh (any leftover of the same name is removed first).
async fn start(nodes: &Nodes, node: &NodeConnection, spec: &ContainerSpec) {
    remove(node, &spec.name).await;
    apply(
        node,
        &diff(std::slice::from_ref(spec), &[]),
        &[nodes.registry(None)],
    )
    .await
    .unwrap_or_else(|e| panic!("starting {}: {e:#}", spec.name));
}

fn http_check(port: u16, path: &str) -> HealthCheck {
    HealthCheck {
        url: format!("http://localhost:{port}{path}"),
        client_cert: None,
        verify_ca: None,
    }
}

#[tokio::test]
async fn http_probe_against_busybox_httpd() {
    let Some(nodes) = Nodes::load() else { return };
    let node = nodes.connect(0, "root").await;
    let script = format!(
        "mkdir -p /www/ready && echo ok > /www/ready/healthz && exec httpd -f -p {HTTPD_PORT} -h /www"
    );
    let spec = container("httpd", &nodes.busybox(), &["sh", "-c"], vec![script]);
    start(&nodes, &node, &spec).await;
    let bundle = CertBundle::new();

    let good = http_check(HTTPD_PORT, "/ready/healthz");
    let deadline = Instant::now() + Duration::from_secs(30);
    let waited = wait_healthy(
        &node,
        &spec.name,
        &good,
        &bundle,
        deadline,
        Duration::from_millis(200),
    )
    .await;
    let ok = probe(&node, &good, &bundle).await;
    let missing = probe(&node, &http_check(HTTPD_PORT, "/nope/healthz"), &bundle).await;
    let closed = probe(&node, &http_check(SILENT_PORT, "/healthz"), &bundle).await;
    remove(&node, &spec.name).await;

    waited.unwrap();
    ok.unwrap();
    let missing = format!("{:#}", missing.unwrap_err());
    assert!(missing.contains("HTTP status 404"), "{missing}");
    let closed = format!("{:#}", closed.unwrap_err());
    assert!(
        closed.contains(&format!("127.0.0.1:{SILENT_PORT}")),
        "{closed}"
    );
}

#[tokio::test]
async fn wait_healthy_times_out_with_the_container_log() {
    let Some(nodes) = Nodes::load() else { return };
    let node = nodes.connect(0, "root").await;
    let script = "echo health-test-first-line; echo health-test-second-line >&2; exec sleep 3600";
    let spec = container(
        "silent",
        &nodes.busybox(),
        &["sh", "-c"],
        vec![script.into()],
    );
    start(&nodes, &node, &spec).await;
    let check = http_check(SILENT_PORT, "/healthz");
    let started = Instant::now();
    let result = wait_healthy(
        &node,
        &spec.name,
        &check,
        &CertBundle::new(),
        started + Duration::from_secs(3),
        Duration::from_millis(500),
    )
    .await;
    let took = started.elapsed();
    remove(&node, &spec.name).await;

    let err = result.unwrap_err();
    assert_eq!(kind_of(&err), ErrorKind::HealthTimeout, "{err:#}");
    let text = format!("{err:#}");
    for want in [
        "node1",
        spec.name.as_str(),
        check.url.as_str(),
        "health-test-first-line",
        "health-test-second-line",
        &format!("127.0.0.1:{SILENT_PORT}"),
    ] {
        assert!(text.contains(want), "missing {want:?} in: {text}");
    }
    assert!(took < Duration::from_secs(15), "took {took:?}");
}

/// Certificates for a one-member etcd on node1's address.
fn etcd_bundle(ip: &str) -> (CertBundle, String) {
    let me = NodeIdentity {
        address: ip.into(),
        internal_address: ip.into(),
        hostname: "node1".into(),
    };
    let input = PkiInput {
        control_plane: vec![me.clone()],
        etcd: vec![me.clone()],
        all_nodes: vec![me.clone()],
        ..PkiInput::default()
    };
    let (bundle, _) =
        certs::ensure(&input, &CertBundle::new(), time::OffsetDateTime::now_utc()).unwrap();
    (bundle, certs::crt_name_for_host(&me, "kube-etcd"))
}

fn pem_file(name: &str, text: &str, secret: bool) -> NodeFile {
    NodeFile {
        path: format!("{SSL_DIR}/{name}"),
        contents: text.as_bytes().to_vec(),
        mode: if secret { 0o600 } else { 0o644 },
        secret,
        owner: None,
    }
}

#[tokio::test]
async fn https_probe_of_etcd_with_kube_node_client_certificate() {
    let Some(nodes) = Nodes::load() else { return };
    let node = nodes.connect(0, "root").await;
    let ip = nodes.env["nodes"][0]["address"]
        .as_str()
        .unwrap()
        .to_string();
    let (bundle, crt) = etcd_bundle(&ip);

    let busybox = nodes.busybox();
    ensure_image(&node, &busybox, None, false).await.unwrap();
    let files = vec![
        pem_file("kube-ca.pem", &bundle[KUBE_CA].certificate_pem, false),
        pem_file(&format!("{crt}.pem"), &bundle[&crt].certificate_pem, false),
        pem_file(&format!("{crt}-key.pem"), &bundle[&crt].key_pem, true),
    ];
    upload_files(&node, &files, &[], &busybox).await.unwrap();

    let peer = format!("http://127.0.0.1:{ETCD_PEER_PORT}");
    let args = vec![
        "--name=health-test".to_string(),
        "--data-dir=/tmp/etcd-data".into(),
        format!("--listen-client-urls=https://{ip}:{ETCD_CLIENT_PORT}"),
        format!("--advertise-client-urls=https://{ip}:{ETCD_CLIENT_PORT}"),
        format!("--listen-peer-urls={peer}"),
        format!("--initial-advertise-peer-urls={peer}"),
        format!("--initial-cluster=health-test={peer}"),
        format!("--trusted-ca-file={SSL_DIR}/kube-ca.pem"),
        format!("--cert-file={SSL_DIR}/{crt}.pem"),
        format!("--key-file={SSL_DIR}/{crt}-key.pem"),
        "--client-cert-auth=true".into(),
    ];
    let mut spec = container(
        "etcd",
        &nodes.s("/images/etcd"),
        &["/usr/local/bin/etcd"],
        args,
    );
    spec.binds = vec![format!("{SSL_DIR}:{SSL_DIR}:ro")];
    spec.seal();
    start(&nodes, &node, &spec).await;

    let check = HealthCheck {
        url: format!("https://{ip}:{ETCD_CLIENT_PORT}/health"),
        client_cert: Some(KUBE_NODE.into()),
        verify_ca: Some(KUBE_CA.into()),
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    let waited = wait_healthy(
        &node,
        &spec.name,
        &check,
        &bundle,
        deadline,
        Duration::from_millis(500),
    )
    .await;
    let ok = probe(&node, &check, &bundle).await;
    // Trusting another cluster's CA must fail the handshake.
    let (other, _) = etcd_bundle(&ip);
    let mut wrong_ca = bundle.clone();
    wrong_ca.insert(KUBE_CA.into(), other[KUBE_CA].clone());
    let wrong = probe(&node, &check, &wrong_ca).await;
    // A client certificate etcd's CA did not sign is refused too.
    let mut foreign_client = bundle.clone();
    foreign_client.insert(KUBE_NODE.into(), other[KUBE_NODE].clone());
    let refused = probe(&node, &check, &foreign_client).await;
    remove(&node, &spec.name).await;
    let cleaned = node.exec(&["rm", "-rf", "/opt/rke-health-test"]).await;

    waited.unwrap();
    ok.unwrap();
    let wrong = format!("{:#}", wrong.unwrap_err());
    assert!(wrong.contains("TLS handshake"), "{wrong}");
    assert!(
        refused.is_err(),
        "etcd accepted a foreign client certificate"
    );
    assert!(cleaned.unwrap().success());
}

#[tokio::test]
async fn a_certificate_missing_from_the_bundle_fails_at_once() {
    let Some(nodes) = Nodes::load() else { return };
    let node = nodes.connect(0, "root").await;
    let check = HealthCheck {
        url: format!("https://localhost:{SILENT_PORT}/healthz"),
        client_cert: Some(KUBE_NODE.into()),
        verify_ca: Some(KUBE_CA.into()),
    };
    let started = Instant::now();
    let err = wait_healthy(
        &node,
        &format!("{PREFIX}-absent"),
        &check,
        &CertBundle::new(),
        started + Duration::from_secs(30),
        Duration::from_millis(200),
    )
    .await
    .unwrap_err();
    // Waiting cannot cure a missing certificate: no retries until the deadline.
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(kind_of(&err), ErrorKind::State, "{err:#}");
    let text = format!("{err:#}");
    assert!(text.contains("node1") && text.contains(KUBE_CA), "{text}");
}

#[tokio::test]
async fn a_container_that_does_not_exist_fails_before_the_deadline() {
    let Some(nodes) = Nodes::load() else { return };
    let node = nodes.connect(0, "root").await;
    let check = HealthCheck {
        url: format!("http://localhost:{SILENT_PORT}/healthz"),
        client_cert: None,
        verify_ca: None,
    };
    let started = Instant::now();
    let name = format!("{PREFIX}-never-created");
    let err = wait_healthy(
        &node,
        &name,
        &check,
        &CertBundle::new(),
        started + Duration::from_secs(60),
        Duration::from_millis(200),
    )
    .await
    .unwrap_err();
    // Nothing will ever answer: the engine says the container is gone, so no waiting.
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(kind_of(&err), ErrorKind::Docker, "{err:#}");
    let text = format!("{err:#}");
    assert!(text.contains("node1") && text.contains(&name), "{text}");
}
