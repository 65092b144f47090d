//! The etcd client against a real three-member etcd 3.4 cluster on the e2e nodes
//! (`tests/env/up.sh`; env.json as for the other node tests, `RKE_E2E_SKIP=1` skips).
//!
//! Members run as containers `rke-test-etcd` on the nodes' host network, on ports 12379/12380
//! so they never collide with a real etcd another test starts on 2379/2380. Certificates come
//! from `certs::ensure` for the node IPs and are copied into each container before it starts;
//! data lives in the container, so removing the container removes the data dir.

mod common;
use common::e2e;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, ensure};
use bollard::auth::DockerCredentials;
use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, CreateImageOptionsBuilder, RemoveContainerOptionsBuilder,
    UploadToContainerOptionsBuilder,
};
use futures_util::StreamExt;
use rke::certs::{self, CertBundle, KeyAlgorithm, NodeIdentity, PkiInput};
use rke::error::{ErrorKind, kind_of};
use rke::etcd::{EtcdClient, EtcdTls, check_quorum, member_name};
use rke::transport::{self, ConnectOptions, HostKeyPolicy, NodeConnection, SshAuth, SshTarget};
use serde_json::Value;

const CONTAINER: &str = "rke-test-etcd";
const CLIENT_PORT: u16 = 12379;
const PEER_PORT: u16 = 12380;
const SSL_DIR: &str = "/etc/kubernetes/ssl";

struct Node {
    conn: NodeConnection,
    ip: String,
    host: String,
}

fn peer(ip: &str) -> String {
    format!("https://{ip}:{PEER_PORT}")
}

fn identity(ip: &str, host: &str) -> NodeIdentity {
    NodeIdentity {
        address: ip.into(),
        internal_address: ip.into(),
        hostname: host.into(),
    }
}

fn bundle_for(nodes: &[(String, String)]) -> CertBundle {
    let ids: Vec<NodeIdentity> = nodes.iter().map(|(ip, h)| identity(ip, h)).collect();
    let input = PkiInput {
        control_plane: ids[..1].to_vec(),
        etcd: ids.clone(),
        all_nodes: ids,
        key_algorithm: KeyAlgorithm::EcdsaP256,
        ..PkiInput::default()
    };
    let now = time::OffsetDateTime::now_utc();
    certs::ensure(&input, &CertBundle::new(), now).unwrap().0
}

/// A minimal ustar archive of regular files (0644) under their directories.
fn tar(files: &[(String, String)]) -> Vec<u8> {
    fn header(name: &str, size: usize, kind: u8, mode: &str) -> [u8; 512] {
        let mut h = [0u8; 512];
        h[..name.len()].copy_from_slice(name.as_bytes());
        let mut put = |at: usize, s: &str| h[at..at + s.len()].copy_from_slice(s.as_bytes());
        put(100, mode);
        put(108, "0000000");
        put(116, "0000000");
        put(124, &format!("{size:011o}"));
        put(136, "00000000000");
        put(148, "        ");
        put(257, "ustar");
        put(263, "00");
        h[156] = kind;
        let sum: u32 = h.iter().map(|b| *b as u32).sum();
        h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        h
    }
    let mut out = Vec::new();
    out.extend_from_slice(&header("etc/kubernetes/", 0, b'5', "0000755"));
    out.extend_from_slice(&header("etc/kubernetes/ssl/", 0, b'5', "0000755"));
    for (name, body) in files {
        out.extend_from_slice(&header(name, body.len(), b'0', "0000644"));
        out.extend_from_slice(body.as_bytes());
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.resize(out.len() + 1024, 0);
    out
}

fn etcd_args(n: &Node, initial: &[(String, String)], state: &str) -> Vec<String> {
    let crt = certs::crt_name_for_host(&identity(&n.ip, &n.host), "kube-etcd");
    let cluster: Vec<String> = initial
        .iter()
        .map(|(ip, h)| format!("{}={}", member_name(h), peer(ip)))
        .collect();
    [
        "/usr/local/bin/etcd".to_string(),
        format!("--name={}", member_name(&n.host)),
        "--data-dir=/var/lib/rancher/etcd/".into(),
        format!("--listen-client-urls=https://{}:{CLIENT_PORT}", n.ip),
        format!("--advertise-client-urls=https://{}:{CLIENT_PORT}", n.ip),
        format!("--listen-peer-urls={}", peer(&n.ip)),
        format!("--initial-advertise-peer-urls={}", peer(&n.ip)),
        "--initial-cluster-token=rke-test-etcd".into(),
        format!("--initial-cluster={}", cluster.join(",")),
        format!("--initial-cluster-state={state}"),
        format!("--trusted-ca-file={SSL_DIR}/kube-ca.pem"),
        format!("--peer-trusted-ca-file={SSL_DIR}/kube-ca.pem"),
        format!("--cert-file={SSL_DIR}/{crt}.pem"),
        format!("--key-file={SSL_DIR}/{crt}-key.pem"),
        format!("--peer-cert-file={SSL_DIR}/{crt}.pem"),
        format!("--peer-key-file={SSL_DIR}/{crt}-key.pem"),
        "--client-cert-auth=true".into(),
        "--peer-client-cert-auth=true".into(),
        "--election-timeout=5000".into(),
        "--heartbeat-interval=500".into(),
    ]
    .to_vec()
}

async fn remove_member_container(n: &Node) {
    let opts = RemoveContainerOptionsBuilder::default()
        .force(true)
        .v(true)
        .build();
    // Absent is fine: this also clears leftovers of a killed run.
    let _ = n
        .conn
        .docker()
        .remove_container(CONTAINER, Some(opts))
        .await;
}

async fn start_member(
    n: &Node,
    image: &str,
    bundle: &CertBundle,
    initial: &[(String, String)],
    state: &str,
) -> anyhow::Result<()> {
    remove_member_container(n).await;
    let d = n.conn.docker();
    let body = ContainerCreateBody {
        image: Some(image.into()),
        cmd: Some(etcd_args(n, initial, state)),
        host_config: Some(HostConfig {
            network_mode: Some("host".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    d.create_container(
        Some(
            CreateContainerOptionsBuilder::default()
                .name(CONTAINER)
                .build(),
        ),
        body,
    )
    .await
    .with_context(|| format!("create {CONTAINER} on {}", n.conn.name()))?;
    let crt = certs::crt_name_for_host(&identity(&n.ip, &n.host), "kube-etcd");
    let files: Vec<(String, String)> = ["kube-ca".to_string(), crt]
        .iter()
        .flat_map(|name| {
            let e = &bundle[name];
            [
                (
                    format!("etc/kubernetes/ssl/{name}.pem"),
                    e.certificate_pem.clone(),
                ),
                (
                    format!("etc/kubernetes/ssl/{name}-key.pem"),
                    e.key_pem.clone(),
                ),
            ]
        })
        .filter(|(_, body)| !body.is_empty())
        .collect();
    d.upload_to_container(
        CONTAINER,
        Some(UploadToContainerOptionsBuilder::default().path("/").build()),
        bollard::body_full(tar(&files).into()),
    )
    .await
    .with_context(|| format!("upload certificates to {}", n.conn.name()))?;
    d.start_container(
        CONTAINER,
        None::<bollard::query_parameters::StartContainerOptions>,
    )
    .await
    .with_context(|| format!("start {CONTAINER} on {}", n.conn.name()))?;
    Ok(())
}

/// Retry `f` until it succeeds or `limit` passes; the last error explains a failure.
async fn eventually<T, F, Fut>(limit: Duration, mut f: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<T>>,
{
    let start = Instant::now();
    loop {
        match f().await {
            Ok(v) => return Ok(v),
            Err(e) if start.elapsed() > limit => return Err(e.context("gave up retrying")),
            Err(_) => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }
}

async fn client(n: &Node, tls: &EtcdTls) -> anyhow::Result<EtcdClient> {
    EtcdClient::connect_to(
        &n.conn,
        &n.ip,
        CLIENT_PORT,
        tls.clone(),
        Duration::from_secs(10),
    )
    .await
}

fn names(members: &[rke::etcd::Member]) -> BTreeSet<String> {
    members.iter().map(|m| m.name.clone()).collect()
}

async fn scenario(nodes: &[Node], image: &str) -> anyhow::Result<()> {
    let all: Vec<(String, String)> = nodes
        .iter()
        .map(|n| (n.ip.clone(), n.host.clone()))
        .collect();
    let bundle = bundle_for(&all);
    let tls = EtcdTls::from_bundle(&bundle)?;

    let t = Instant::now();
    for n in nodes {
        start_member(n, image, &bundle, &all, "new").await?;
    }
    let c1 = eventually(Duration::from_secs(60), || client(&nodes[0], &tls)).await?;
    let health = eventually(Duration::from_secs(60), || c1.health()).await?;
    ensure!(
        health.leader != 0 && health.version.starts_with("3.4"),
        "{health:?}"
    );
    eprintln!("3 members healthy after {:?}", t.elapsed());

    let members = c1.members().await?;
    ensure!(members.len() == 3, "{members:?}");
    let expected: BTreeSet<String> = all.iter().map(|(_, h)| member_name(h)).collect();
    ensure!(names(&members) == expected, "{members:?}");
    for (ip, h) in &all {
        let m = members.iter().find(|m| m.name == member_name(h)).unwrap();
        ensure!(m.peer_urls == vec![peer(ip)], "{m:?}");
        ensure!(
            m.client_urls == vec![format!("https://{ip}:{CLIENT_PORT}")],
            "{m:?}"
        );
        ensure!(!m.is_learner);
    }

    // Quorum: two of three may not go at once; one may.
    let (h2, h3) = (member_name(&all[1].1), member_name(&all[2].1));
    let err = c1.quorum_check(&[&h2, &h3]).await.unwrap_err();
    ensure!(kind_of(&err) == ErrorKind::Etcd, "{err:#}");
    ensure!(
        err.to_string().contains("only 1 of 3 voting members"),
        "{err:#}"
    );
    ensure!(err.to_string().contains(&nodes[0].ip), "{err:#}");
    c1.quorum_check(&[&h3]).await?;
    check_quorum(&members, &[&h3], "test")?;

    // Remove the third member, then its container and data.
    let t = Instant::now();
    let third = members.iter().find(|m| m.name == h3).unwrap().clone();
    c1.remove_member(third.id).await?;
    remove_member_container(&nodes[2]).await;
    let after = c1.members().await?;
    ensure!(
        after.len() == 2 && !names(&after).contains(&h3),
        "{after:?}"
    );
    eventually(Duration::from_secs(30), || c1.health()).await?;
    eprintln!("member removed, 2 healthy after {:?}", t.elapsed());

    // Add it back: member add, then start with initial-cluster-state=existing and fresh data.
    let t = Instant::now();
    let added = c1.add_member(&peer(&nodes[2].ip)).await?;
    ensure!(
        added.name.is_empty() && added.peer_urls == vec![peer(&nodes[2].ip)],
        "{added:?}"
    );
    ensure!(added.id != third.id, "a re-added member gets a new id");
    // Asking again finds the pending member instead of adding a second one.
    let again = c1.add_member(&peer(&nodes[2].ip)).await?;
    ensure!(again.id == added.id, "{again:?} vs {added:?}");
    ensure!(c1.members().await?.len() == 3);
    start_member(&nodes[2], image, &bundle, &all, "existing").await?;
    let c3 = eventually(Duration::from_secs(60), || client(&nodes[2], &tls)).await?;
    let h = eventually(Duration::from_secs(60), || c3.health()).await?;
    ensure!(
        h.member_id == added.id,
        "{h:?} answered, expected {added:?}"
    );
    let back = eventually(Duration::from_secs(30), || async {
        let m = c1.members().await?;
        if names(&m) == expected {
            Ok(m)
        } else {
            Err(anyhow!("not yet started: {m:?}"))
        }
    })
    .await?;
    ensure!(back.len() == 3);
    eprintln!("member re-added and healthy after {:?}", t.elapsed());

    // A client that trusts another CA is refused by TLS, classified as etcd, naming the node.
    let other = bundle_for(&all[..1]);
    let wrong = EtcdTls::from_bundle(&other)?;
    let err = EtcdClient::connect_to(
        &nodes[1].conn,
        &nodes[1].ip,
        CLIENT_PORT,
        wrong,
        Duration::from_secs(5),
    )
    .await
    .unwrap_err();
    ensure!(kind_of(&err) == ErrorKind::Etcd, "{err:#}");
    ensure!(err.to_string().contains(&nodes[1].ip), "{err:#}");
    // A port where nothing listens: the tunnel open fails, reported as "cannot connect".
    let err = EtcdClient::connect_to(
        &nodes[1].conn,
        &nodes[1].ip,
        1,
        tls.clone(),
        Duration::from_secs(5),
    )
    .await
    .unwrap_err();
    ensure!(
        kind_of(&err) == ErrorKind::Etcd && err.to_string().contains("cannot connect"),
        "{err:#}"
    );
    Ok(())
}

async fn pull(conn: &NodeConnection, image: &str, env: &Value) -> anyhow::Result<()> {
    let creds = DockerCredentials {
        username: env["registry"]["username"].as_str().map(str::to_string),
        password: env["registry"]["password"].as_str().map(str::to_string),
        serveraddress: env["registry"]["address"].as_str().map(str::to_string),
        ..Default::default()
    };
    let mut s = conn.docker().create_image(
        Some(
            CreateImageOptionsBuilder::default()
                .from_image(image)
                .build(),
        ),
        None,
        Some(creds),
    );
    while let Some(ev) = s.next().await {
        ev.with_context(|| format!("pull {image} on {}", conn.name()))?;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etcd_membership_through_ssh() {
    let Some(env) = e2e::env() else { return };
    let image = env["images"]["etcd"].as_str().unwrap().to_string();
    let opts = ConnectOptions {
        known_hosts: PathBuf::from(env["ssh"]["known_hosts"].as_str().unwrap()),
        policy: HostKeyPolicy::Strict,
        timeout: Duration::from_secs(15),
        concurrency: 3,
    };
    let mut nodes = Vec::new();
    for (i, ip) in e2e::node_addresses(&env).into_iter().take(3).enumerate() {
        let target = SshTarget::new(ip.clone(), "root", SshAuth::key_file(e2e::ssh_key(&env)));
        let conn = transport::connect(&target, &opts).await.unwrap();
        pull(&conn, &image, &env).await.unwrap();
        nodes.push(Node {
            conn,
            ip,
            host: format!("node{}", i + 1),
        });
    }
    let result = scenario(&nodes, &image).await;
    for n in &nodes {
        remove_member_container(n).await;
    }
    for n in &nodes {
        let left = n.conn.docker().inspect_container(CONTAINER, None).await;
        assert!(left.is_err(), "{CONTAINER} left on {}", n.conn.name());
    }
    if let Err(e) = result {
        panic!("{e:#}");
    }
}
