//! A v1.20.2 cluster on the e2e nodes, planned and converged with rke's own modules, and its
//! removal.

use std::path::Path;
use std::time::Duration;

use rke::certs::{self, CertBundle};
use rke::cluster::{pki_input, targets::ConnectionOverrides, targets::ssh_targets};
use rke::config::RkeConfig;
use rke::provision::node::{apply, credentials_for, diff, ensure_image, observe, upload_files};
use rke::provision::spec::{Plane, plan_cluster};
use rke::transport::{self, ConnectOptions, HostKeyPolicy, NodeConnection};
use serde_json::Value;

use super::e2e;

pub struct Cluster {
    pub env: Value,
    pub bundle: CertBundle,
    pub conns: Vec<NodeConnection>,
    pub addresses: Vec<String>,
    pub node_names: Vec<String>,
}

fn s(env: &Value, pointer: &str) -> String {
    env.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("env.json has no {pointer}"))
        .to_string()
}

fn cluster_yml(env: &Value) -> String {
    let busybox = s(env, "/images/busybox");
    let extra = format!(
        "network: {{plugin: none}}\n\
         dns: {{provider: none}}\n\
         monitoring: {{provider: none}}\n\
         ingress: {{provider: none}}\n\
         services:\n  etcd: {{snapshot: false}}\n  kubeproxy:\n    extra_args: {{conntrack-max-per-core: \"0\"}}\n\
         system_images:\n  etcd: {}\n  kubernetes: {}\n  pod_infra_container: {}\n  nginx_proxy: {}\n  \
         alpine: {busybox}\n  cert_downloader: {busybox}\n  kubernetes_services_sidecar: {busybox}\n\
         private_registries:\n  - url: {}\n    user: {}\n    password: {}\n",
        s(env, "/images/etcd"),
        s(env, "/images/kubernetes"),
        s(env, "/images/pause"),
        s(env, "/images/nginx"),
        s(env, "/registry/address"),
        s(env, "/registry/username"),
        s(env, "/registry/password"),
    );
    e2e::cluster_yml(env, "v1.20.15-rancher2-2", &extra)
}

impl Cluster {
    pub async fn up(env: Value) -> Cluster {
        let started = std::time::Instant::now();
        let path = Path::new("cluster.yml");
        let loaded = rke::config::load::load_str(&cluster_yml(&env), path).unwrap();
        let errors: Vec<_> = loaded.errors().collect();
        assert!(errors.is_empty(), "{errors:?}");
        let cfg: RkeConfig = loaded.config;
        let now = time::OffsetDateTime::now_utc();
        let bundle = certs::ensure(&pki_input(&cfg, path), &CertBundle::new(), now)
            .unwrap()
            .0;
        let plans = plan_cluster(&cfg, &bundle, "").unwrap();
        let targets = ssh_targets(&cfg, &ConnectionOverrides::default());
        let opts = ConnectOptions {
            known_hosts: s(&env, "/ssh/known_hosts").into(),
            policy: HostKeyPolicy::Strict,
            timeout: Duration::from_secs(15),
            concurrency: 4,
        };
        let any_version = |_: &str| Ok(());
        let (conns, errs) = transport::connect_all(&targets, &opts, &any_version, true).await;
        assert!(errs.is_empty(), "{errs:?}");
        let registries = cfg.private_registries.clone();
        let helper = cfg.system_images.alpine.clone();
        for (conn, plan) in conns.iter().zip(&plans) {
            let mut images: Vec<&str> = plan.containers.iter().map(|c| c.image.as_str()).collect();
            images.push(&helper);
            images.sort();
            images.dedup();
            for image in images {
                ensure_image(conn, image, credentials_for(image, &registries), false)
                    .await
                    .unwrap_or_else(|e| panic!("{}: {image}: {e:#}", conn.name()));
            }
            upload_files(conn, &plan.files, &plan.dirs, &helper)
                .await
                .unwrap_or_else(|e| panic!("{}: files: {e:#}", conn.name()));
        }
        for plane in [Plane::Etcd, Plane::ControlPlane, Plane::Worker] {
            for (conn, plan) in conns.iter().zip(&plans) {
                let wanted: Vec<_> = plan
                    .containers
                    .iter()
                    .filter(|c| c.plane == plane)
                    .cloned()
                    .collect();
                let mut seen = observe(conn).await.unwrap();
                seen.retain(|o| wanted.iter().any(|w| w.name == o.name));
                let actions = diff(&wanted, &seen);
                apply(conn, &actions, &registries)
                    .await
                    .unwrap_or_else(|e| panic!("{}: {plane:?}: {e:#}", conn.name()));
            }
        }
        eprintln!("cluster containers up in {:?}", started.elapsed());
        Cluster {
            addresses: plans.iter().map(|p| p.address.clone()).collect(),
            node_names: plans.iter().map(|p| p.node.clone()).collect(),
            env,
            bundle,
            conns,
        }
    }
}
