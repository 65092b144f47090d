//! Spot checks against RKE1's arguments (rke1.md §3.11-3.15) and the merge rules.

use super::*;
use crate::provision::spec::names::*;

#[test]
fn v120_apiserver_matches_rke1() {
    let p = plans(&config(V120, ""));
    let api = spec(&p, "node2", KUBE_APISERVER);
    for (name, value) in [
        ("insecure-port", "0"),
        ("service-account-issuer", "rke"),
        ("authorization-mode", "Node,RBAC"),
        ("advertise-address", "10.0.0.12"),
        ("etcd-prefix", "/registry"),
        ("etcd-certfile", "/etc/kubernetes/ssl/kube-node.pem"),
        ("feature-gates", "ServiceAccountIssuerDiscovery=false"),
        ("audit-log-path", "/var/log/kube-audit/audit-log.json"),
        ("audit-policy-file", "/etc/kubernetes/audit-policy.yaml"),
        (
            "admission-control-config-file",
            "/etc/kubernetes/admission.yaml",
        ),
        (
            "service-account-key-file",
            "/etc/kubernetes/ssl/kube-service-account-token-key.pem",
        ),
        ("service-cluster-ip-range", "10.43.0.0/16"),
        ("cloud-provider", ""),
    ] {
        assert_eq!(arg(api, name), Some(value), "--{name}");
    }
    // Its own etcd first, then the others, each on its internal address.
    assert_eq!(
        arg(api, "etcd-servers"),
        Some("https://10.0.0.12:2379,https://10.0.0.11:2379,https://192.168.1.13:2379")
    );
    assert_eq!(api.entrypoint, ["kube-apiserver"]);
    assert!(
        api.binds
            .contains(&"/etc/kubernetes:/etc/kubernetes:z".to_string())
    );
    assert!(
        api.binds
            .contains(&"/var/log/kube-audit:/var/log/kube-audit".to_string())
    );
    assert_eq!(
        api.health.as_ref().unwrap().url,
        "https://localhost:6443/healthz"
    );
    let mut sorted = api.args.clone();
    sorted.sort();
    assert_eq!(api.args, sorted);
}

#[test]
fn v120_worker_side_uses_dockershim() {
    let p = plans(&config(V120, ""));
    let kubelet = spec(&p, "node3", KUBELET);
    assert_eq!(arg(kubelet, "network-plugin"), Some("cni"));
    assert_eq!(arg(kubelet, "hostname-override"), Some("node3"));
    assert_eq!(arg(kubelet, "cluster-dns"), Some("10.43.0.10"));
    assert_eq!(
        arg(kubelet, "pod-infra-container-image"),
        Some("rancher/mirrored-pause:3.6")
    );
    // KDM's empty `enforce-node-allocatable` means "no such flag".
    assert!(!has_flag(kubelet, "enforce-node-allocatable"));
    assert!(!has_flag(kubelet, "container-runtime-endpoint"));
    assert!(!has_flag(kubelet, "node-ip"), "node3 has one address");
    assert_eq!(
        arg(spec(&p, "node1", KUBELET), "node-ip"),
        Some("10.0.0.11")
    );
    assert!(node(&p, "node3").container(CRI_DOCKERD).is_none());
    assert!(kubelet.privileged);
    assert_eq!(kubelet.pid_mode.as_deref(), Some("host"));

    let proxy = spec(&p, "node3", KUBE_PROXY);
    assert_eq!(arg(proxy, "healthz-bind-address"), Some("127.0.0.1"));
    assert_eq!(arg(proxy, "cluster-cidr"), Some("10.42.0.0/16"));
    assert_eq!(
        arg(proxy, "kubeconfig"),
        Some("/etc/kubernetes/ssl/kubecfg-kube-proxy.yaml")
    );
}

#[test]
fn health_checks_follow_the_version() {
    let old = plans(&config(V120, ""));
    let new = plans(&config(V132, ""));
    let url = |p: &[NodePlan], c: &str| spec(p, "node1", c).health.clone().unwrap().url;
    assert_eq!(
        url(&old, KUBE_CONTROLLER_MANAGER),
        "http://localhost:10252/healthz"
    );
    assert_eq!(url(&old, KUBE_SCHEDULER), "http://localhost:10251/healthz");
    assert_eq!(
        url(&new, KUBE_CONTROLLER_MANAGER),
        "https://localhost:10257/healthz"
    );
    assert_eq!(url(&new, KUBE_SCHEDULER), "https://localhost:10259/healthz");
    assert_eq!(url(&new, KUBELET), "http://localhost:10248/healthz");
    assert_eq!(url(&new, KUBE_PROXY), "http://localhost:10256/healthz");
    assert_eq!(url(&new, ETCD), "https://10.0.0.11:2379/health");
    let etcd = spec(&new, "node1", ETCD).health.clone().unwrap();
    assert_eq!(etcd.client_cert.as_deref(), Some("kube-node"));
}

#[test]
fn v132_control_plane_flags() {
    let p = plans(&config(V132, ""));
    let api = spec(&p, "node1", KUBE_APISERVER);
    assert!(!has_flag(api, "insecure-port"));
    assert_eq!(arg(api, "service-account-issuer"), Some("rke"));
    let cm = spec(&p, "node1", KUBE_CONTROLLER_MANAGER);
    assert!(!has_flag(cm, "address"));
    assert_eq!(
        arg(cm, "authentication-kubeconfig"),
        Some("/etc/kubernetes/ssl/kubecfg-kube-controller-manager.yaml")
    );
    assert_eq!(arg(cm, "use-service-account-credentials"), Some("true"));
    let sched = spec(&p, "node1", KUBE_SCHEDULER);
    assert_eq!(
        arg(sched, "authorization-kubeconfig"),
        Some("/etc/kubernetes/ssl/kubecfg-kube-scheduler.yaml")
    );
    // From 1.22 RKE1 no longer relabels mounts.
    for plan in &p {
        for c in &plan.containers {
            assert!(
                c.binds
                    .iter()
                    .all(|b| !b.ends_with(":z") && !b.contains(",z")),
                "{}: {:?}",
                c.name,
                c.binds
            );
        }
    }
}

#[test]
fn etcd_listens_and_clusters_like_rke1() {
    let p = plans(&config(V120, ""));
    let e1 = spec(&p, "node1", ETCD);
    assert_eq!(e1.entrypoint, ["/usr/local/bin/etcd"]);
    assert_eq!(arg(e1, "name"), Some("etcd-node1"));
    assert_eq!(
        arg(e1, "listen-client-urls"),
        Some("https://10.0.0.11:2379")
    );
    assert_eq!(
        arg(e1, "advertise-client-urls"),
        Some("https://10.0.0.11:2379")
    );
    assert_eq!(
        arg(e1, "initial-cluster"),
        Some(
            "etcd-node1=https://10.0.0.11:2380,etcd-node2=https://10.0.0.12:2380,\
             etcd-node3=https://192.168.1.13:2380"
        )
    );
    assert_eq!(arg(e1, "initial-cluster-state"), Some("new"));
    assert_eq!(
        arg(e1, "cert-file"),
        Some("/etc/kubernetes/ssl/kube-etcd-10-0-0-11.pem")
    );
    assert_eq!(arg(e1, "election-timeout"), Some("5000"));
    assert_eq!(arg(e1, "enable-v2"), Some("true"));
    assert!(arg(e1, "cipher-suites").is_some(), "etcd 3.4.15");
    assert!(e1.env.contains(&"ETCDCTL_API=3".to_string()));
    // node3 is reached on its only address: it may be NATed, so etcd listens everywhere.
    let e3 = spec(&p, "node3", ETCD);
    assert_eq!(arg(e3, "listen-peer-urls"), Some("https://0.0.0.0:2380"));
    assert!(
        e3.env
            .contains(&"ETCDCTL_ENDPOINTS=https://127.0.0.1:2379".to_string())
    );
    assert_eq!(
        node(&p, "node3").dirs,
        [NodeDir {
            path: "/var/lib/etcd".into(),
            mode: 0o700,
            owner: None
        }]
    );
}

#[test]
fn etcd_membership_is_an_input() {
    let cfg = config(V132, "");
    let mut inputs = PlanInputs::default();
    inputs.etcd.insert(
        "node3".into(),
        EtcdMembership {
            members: vec![
                ("node1".into(), "10.0.0.11".into()),
                ("node3".into(), "192.168.1.13".into()),
            ],
            state: EtcdClusterState::Existing,
        },
    );
    let p = plans_with(&cfg, &inputs);
    let e3 = spec(&p, "node3", ETCD);
    assert_eq!(arg(e3, "initial-cluster-state"), Some("existing"));
    assert_eq!(
        arg(e3, "initial-cluster"),
        Some("etcd-node1=https://10.0.0.11:2380,etcd-node3=https://192.168.1.13:2380")
    );
    assert_eq!(
        arg(spec(&p, "node1", ETCD), "initial-cluster-state"),
        Some("new")
    );
}

#[test]
fn nginx_proxy_only_where_there_is_no_api_server() {
    let p = plans(&config(V132, ""));
    assert!(node(&p, "node1").container(NGINX_PROXY).is_none());
    let proxy = spec(&p, "node3", NGINX_PROXY);
    assert_eq!(proxy.entrypoint, ["nginx"]);
    assert_eq!(
        proxy.args,
        [
            "-g",
            "daemon off;",
            "-c",
            "/etc/kubernetes/nginx-proxy/nginx.conf"
        ]
    );
    assert_eq!(
        proxy.binds,
        ["/etc/kubernetes/nginx-proxy:/etc/kubernetes/nginx-proxy:ro"]
    );
    let conf = node(&p, "node3")
        .file("/etc/kubernetes/nginx-proxy/nginx.conf")
        .unwrap();
    let text = String::from_utf8(conf.contents.clone()).unwrap();
    assert!(text.starts_with("# Written by rke"));
    assert!(text.contains("include /etc/nginx/modules-enabled/*.conf;\n"));
    assert!(text.contains("server 10.0.0.11:6443;\n    server 10.0.0.12:6443;\n"));
    assert!(text.contains("listen 6443;"));
}

#[test]
fn extra_args_override_and_arrays_repeat() {
    let cfg = config(
        V132,
        "services:
  kubelet:
    extra_args:
      v: '4'
      max-pods: '250'
    extra_binds: [/srv/data:/srv/data]
    extra_env: [HTTP_PROXY=http://proxy:3128]
  kube-api:
    extra_args_array:
      tls-sni-cert-key: [/etc/kubernetes/b.pem, /etc/kubernetes/a.pem]
  scheduler:
    extra_args:
      profiling: ''
",
    );
    let p = plans(&cfg);
    let kubelet = spec(&p, "node1", KUBELET);
    assert_eq!(arg(kubelet, "v"), Some("4"), "extra_args beat KDM's 2");
    assert_eq!(arg(kubelet, "max-pods"), Some("250"));
    assert_eq!(
        kubelet.binds.last().map(String::as_str),
        Some("/srv/data:/srv/data")
    );
    assert_eq!(kubelet.env, ["HTTP_PROXY=http://proxy:3128"]);
    let api = spec(&p, "node1", KUBE_APISERVER);
    let sni: Vec<&String> = api
        .args
        .iter()
        .filter(|a| a.starts_with("--tls-sni-cert-key="))
        .collect();
    assert_eq!(
        sni,
        [
            "--tls-sni-cert-key=/etc/kubernetes/a.pem",
            "--tls-sni-cert-key=/etc/kubernetes/b.pem"
        ]
    );
    assert_eq!(
        arg(spec(&p, "node1", KUBE_SCHEDULER), "profiling"),
        Some("")
    );
}

#[test]
fn prefix_path_moves_every_host_path() {
    let p = plans(&config(V120, "prefix_path: /opt/rke\n"));
    let kubelet = spec(&p, "node1", KUBELET);
    assert_eq!(arg(kubelet, "root-dir"), Some("/opt/rke/var/lib/kubelet"));
    for bind in [
        "/opt/rke/etc/kubernetes:/etc/kubernetes:z",
        "/opt/rke/var/lib/kubelet:/opt/rke/var/lib/kubelet:shared,z",
        "/var/lib/kubelet/volumeplugins:/var/lib/kubelet/volumeplugins:shared,z",
    ] {
        assert!(kubelet.binds.contains(&bind.to_string()), "{bind}");
    }
    assert!(
        spec(&p, "node1", ETCD)
            .binds
            .contains(&"/opt/rke/var/lib/etcd:/var/lib/rancher/etcd/:z".to_string())
    );
    // Paths inside containers do not move.
    assert_eq!(
        arg(kubelet, "kubeconfig"),
        Some("/etc/kubernetes/ssl/kubecfg-kube-node.yaml")
    );
    for f in &node(&p, "node3").files {
        assert!(f.path.starts_with("/opt/rke/etc/kubernetes/"), "{}", f.path);
    }
    assert_eq!(node(&p, "node1").dirs[0].path, "/opt/rke/var/lib/etcd");
}

#[test]
fn host_facts_shape_the_containers() {
    let facts = HostFacts {
        docker_root_dir: "/data/docker".into(),
        cgroup_driver: "systemd".into(),
        architecture: "aarch64".into(),
        selinux: true,
        systemd_resolved: true,
    };
    let inputs = PlanInputs {
        hosts: [("192.168.1.11".to_string(), facts)].into(),
        ..PlanInputs::default()
    };
    let p = plans_with(&config(V132, ""), &inputs);
    let kubelet = spec(&p, "node1", KUBELET);
    assert_eq!(arg(kubelet, "cgroup-driver"), Some("systemd"));
    assert_eq!(
        arg(kubelet, "resolv-conf"),
        Some("/run/systemd/resolve/resolv.conf")
    );
    assert!(
        kubelet
            .binds
            .contains(&"/data/docker:/data/docker:rw,rslave".to_string())
    );
    assert!(
        spec(&p, "node1", ETCD)
            .env
            .contains(&"ETCD_UNSUPPORTED_ARCH=arm64".to_string())
    );
    for c in &node(&p, "node1").containers {
        assert_eq!(c.security_opt, ["label=type:rke_container_t"], "{}", c.name);
    }
    // Other hosts keep the defaults.
    assert_eq!(
        arg(spec(&p, "node2", KUBELET), "cgroup-driver"),
        Some("cgroupfs")
    );
    assert!(spec(&p, "node2", KUBELET).security_opt.is_empty());

    // Before 1.22 RKE1 relabels mounts instead of labelling containers.
    let old = plans_with(&config(V120, ""), &inputs);
    assert!(spec(&old, "node1", KUBELET).security_opt.is_empty());
}

#[test]
fn private_registry_credentials_stay_in_a_file() {
    let cfg = config(
        V132,
        "private_registries:
  - url: registry.example.com
    user: robot
    password: s3cr3t-registry-pass
    is_default: true
",
    );
    let p = plans(&cfg);
    let kubelet = spec(&p, "node1", KUBELET);
    assert_eq!(
        kubelet.image,
        "registry.example.com/rke-extended-life/hyperkube:v1.32.13-rancher1"
    );
    let file = node(&p, "node1")
        .file("/var/lib/kubelet/config.json")
        .unwrap();
    assert!(file.secret);
    assert_eq!(file.mode, 0o600);
    assert!(kubelet.labels.contains_key(FILES_HASH_LABEL));
    let cri = spec(&p, "node1", CRI_DOCKERD);
    assert!(
        cri.binds
            .contains(&"/var/lib/kubelet/config.json:/.docker/config.json:ro".to_string())
    );
    // A file bind keeps the file it was created with: new credentials need a new container.
    assert!(cri.labels.contains_key(FILES_HASH_LABEL));
}

#[test]
fn external_etcd_replaces_the_etcd_plane() {
    let cfg = config_with(
        V132,
        &THREE_NODES.replace("etcd, ", ""),
        "services:
  etcd:
    external_urls: [https://etcd.example.com:2379]
    path: /cluster-a
    ca_cert: |
      -----BEGIN CERTIFICATE-----
      Y2E=
      -----END CERTIFICATE-----
    cert: |
      -----BEGIN CERTIFICATE-----
      Y2VydA==
      -----END CERTIFICATE-----
    key: |
      -----BEGIN RSA PRIVATE KEY-----
      a2V5
      -----END RSA PRIVATE KEY-----
",
    );
    let p = plans(&cfg);
    assert!(p.iter().all(|plan| plan.container(ETCD).is_none()));
    let api = spec(&p, "node1", KUBE_APISERVER);
    assert_eq!(
        arg(api, "etcd-servers"),
        Some("https://etcd.example.com:2379")
    );
    assert_eq!(arg(api, "etcd-prefix"), Some("/cluster-a"));
    assert_eq!(
        arg(api, "etcd-keyfile"),
        Some("/etc/kubernetes/ssl/kube-etcd-client-key.pem")
    );
    let n1 = node(&p, "node1");
    assert!(
        n1.file("/etc/kubernetes/ssl/kube-etcd-client-key.pem")
            .unwrap()
            .secret
    );
    assert!(
        n1.file("/etc/kubernetes/ssl/kube-etcd-client-ca.pem")
            .is_some()
    );
    assert!(
        node(&p, "node3")
            .file("/etc/kubernetes/ssl/kube-etcd-client.pem")
            .is_none()
    );
}

#[test]
fn missing_certificate_is_a_clear_error() {
    let cfg = config(V132, "");
    let mut bundle = fake_bundle(&cfg);
    bundle.remove("kube-scheduler");
    let err = plan_cluster(&cfg, &bundle, "").unwrap_err().to_string();
    assert!(
        err.contains("node node1") && err.contains("`kube-scheduler`"),
        "{err}"
    );
}

#[test]
fn typed_cloud_options_need_a_rendered_cloud_config() {
    // Validation refuses typed options; the planner must still never write an empty file.
    let mut cfg = config(V120, "cloud_provider:\n  name: openstack\n");
    cfg.cloud_provider.openstack_cloud_provider = Some(Default::default());
    let err = plan_cluster(&cfg, &fake_bundle(&cfg), "")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("cloud_provider") && err.contains("openstack"),
        "{err}"
    );
    let inputs = PlanInputs {
        cloud_config: "[Global]\nauth-url = https://keystone.example.com\n".into(),
        ..PlanInputs::default()
    };
    let p = plans_with(&cfg, &inputs);
    let file = node(&p, "node3")
        .file("/etc/kubernetes/cloud-config")
        .unwrap();
    assert_eq!(file.contents, inputs.cloud_config.as_bytes());
    assert_eq!(
        arg(spec(&p, "node3", KUBELET), "cloud-provider"),
        Some("openstack")
    );
    assert_eq!(
        arg(spec(&p, "node3", KUBE_PROXY), "bind-address"),
        Some("192.168.1.13")
    );
}
