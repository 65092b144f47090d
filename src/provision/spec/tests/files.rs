//! Which files reach which node (RKE1 `getCertKeys` and deploy rules).

use super::*;

const FOUR_NODES: &str = "
nodes:
  - address: 10.0.0.1
    hostname_override: cp
    user: rke
    role: [controlplane]
  - address: 10.0.0.2
    hostname_override: etcd
    user: rke
    role: [etcd]
  - address: 10.0.0.3
    hostname_override: worker
    user: rke
    role: [worker]
  - address: 10.0.0.4
    hostname_override: all
    user: rke
    role: [controlplane, etcd, worker]
";

fn paths(plan: &NodePlan) -> Vec<&str> {
    plan.files.iter().map(|f| f.path.as_str()).collect()
}

fn ssl(name: &str) -> String {
    format!("/etc/kubernetes/ssl/{name}")
}

#[test]
fn every_node_gets_the_worker_set() {
    let p = plans(&config_with(V132, FOUR_NODES, ""));
    for plan in &p {
        for name in [
            "kube-ca.pem",
            "kube-node.pem",
            "kube-node-key.pem",
            "kubecfg-kube-node.yaml",
            "kube-proxy.pem",
            "kube-proxy-key.pem",
            "kubecfg-kube-proxy.yaml",
        ] {
            assert!(plan.file(&ssl(name)).is_some(), "{}: {name}", plan.node);
        }
    }
}

#[test]
fn ca_key_and_control_plane_certificates_only_on_control_plane() {
    let p = plans(&config_with(V132, FOUR_NODES, ""));
    for (name, is_cp) in [
        ("cp", true),
        ("etcd", false),
        ("worker", false),
        ("all", true),
    ] {
        let plan = node(&p, name);
        for file in [
            "kube-ca-key.pem",
            "kube-apiserver-key.pem",
            "kube-service-account-token-key.pem",
            "kubecfg-kube-controller-manager.yaml",
            "kubecfg-kube-scheduler.yaml",
            "kube-apiserver-requestheader-ca.pem",
            "kube-apiserver-proxy-client-key.pem",
        ] {
            assert_eq!(plan.file(&ssl(file)).is_some(), is_cp, "{name}: {file}");
        }
        assert_eq!(
            plan.file("/etc/kubernetes/admission.yaml").is_some(),
            is_cp,
            "{name}"
        );
        assert_eq!(
            plan.file("/etc/kubernetes/nginx-proxy/nginx.conf")
                .is_some(),
            !is_cp,
            "{name}"
        );
    }
    assert!(
        paths(node(&p, "worker"))
            .iter()
            .all(|f| !f.contains("kube-admin"))
    );
}

#[test]
fn every_etcd_certificate_on_every_etcd_node_and_nowhere_else() {
    let p = plans(&config_with(V132, FOUR_NODES, ""));
    for (name, is_etcd) in [
        ("cp", false),
        ("etcd", true),
        ("worker", false),
        ("all", true),
    ] {
        let plan = node(&p, name);
        for cert in ["kube-etcd-10-0-0-2", "kube-etcd-10-0-0-4"] {
            assert_eq!(
                plan.file(&ssl(&format!("{cert}-key.pem"))).is_some(),
                is_etcd,
                "{name}: {cert}"
            );
        }
    }
}

#[test]
fn keys_are_private_and_secret() {
    let p = plans(&config(V120, ""));
    for plan in &p {
        for f in &plan.files {
            if f.path.ends_with("-key.pem") {
                assert_eq!(f.mode, 0o600, "{}", f.path);
                assert!(f.secret, "{}", f.path);
            } else if f.path.ends_with(".pem") {
                assert_eq!(f.mode, 0o644, "{}", f.path);
                assert!(!f.secret, "{}", f.path);
            }
        }
    }
}

#[test]
fn serving_certificates_only_for_their_own_kubelet() {
    let cfg = config(
        V132,
        "services:\n  kubelet:\n    generate_serving_certificate: true\n",
    );
    let p = plans(&cfg);
    let n1 = node(&p, "node1");
    assert!(n1.file(&ssl("kube-kubelet-10-0-0-11-key.pem")).is_some());
    assert!(n1.file(&ssl("kube-kubelet-10-0-0-12-key.pem")).is_none());
    let kubelet = spec(&p, "node1", names::KUBELET);
    assert_eq!(
        arg(kubelet, "tls-private-key-file"),
        Some("/etc/kubernetes/ssl/kube-kubelet-10-0-0-11-key.pem")
    );
    assert_eq!(
        arg(
            spec(&p, "node1", names::KUBE_APISERVER),
            "kubelet-certificate-authority"
        ),
        Some("/etc/kubernetes/ssl/kube-ca.pem")
    );
}

#[test]
fn etcd_user_owns_its_certificates_and_data() {
    let cfg = config(V132, "services:\n  etcd:\n    uid: 52034\n    gid: 52035\n");
    let p = plans(&cfg);
    let n3 = node(&p, "node3");
    assert_eq!(
        spec(&p, "node3", names::ETCD).user.as_deref(),
        Some("52034:52035")
    );
    let key = n3.file(&ssl("kube-etcd-10-0-0-11-key.pem")).unwrap();
    assert_eq!(key.owner, Some((52034, 52035)));
    assert_eq!(n3.file(&ssl("kube-node-key.pem")).unwrap().owner, None);
    assert_eq!(n3.dirs[0].owner, Some((52034, 52035)));
}

#[test]
fn config_files_follow_the_cluster_settings() {
    let cfg = config(
        V132,
        "services:
  kube-api:
    event_rate_limit:
      enabled: true
    pod_security_configuration: restricted
    secrets_encryption_config:
      enabled: true
cloud_provider:
  name: custom
  customCloudProvider: |
    [Global]
    password = cloud-pass
",
    );
    let inputs = PlanInputs {
        encryption_config: crate::cluster::encryption::aescbc_provider_file("key-1", "c2VjcmV0"),
        ..PlanInputs::default()
    };
    let p = plans_with(&cfg, &inputs);
    let n1 = node(&p, "node1");
    let admission = String::from_utf8(
        n1.file("/etc/kubernetes/admission.yaml")
            .unwrap()
            .contents
            .clone(),
    )
    .unwrap();
    assert!(admission.contains("name: EventRateLimit"), "{admission}");
    assert!(admission.contains("name: PodSecurity"), "{admission}");
    assert!(
        admission.contains("pod-security.admission.config.k8s.io/v1\n"),
        "{admission}"
    );
    assert!(admission.contains("enforce: restricted"), "{admission}");
    let api = spec(&p, "node1", names::KUBE_APISERVER);
    assert!(
        arg(api, "enable-admission-plugins")
            .unwrap()
            .ends_with(",EventRateLimit")
    );
    assert_eq!(
        arg(api, "encryption-provider-config"),
        Some("/etc/kubernetes/ssl/encryption.yaml")
    );
    assert_eq!(
        arg(api, "cloud-config"),
        Some("/etc/kubernetes/cloud-config")
    );
    assert_eq!(arg(api, "cloud-provider"), Some("custom"));
    let enc = n1.file("/etc/kubernetes/ssl/encryption.yaml").unwrap();
    assert!(enc.secret && enc.mode == 0o600);
    assert!(
        node(&p, "node3")
            .file("/etc/kubernetes/ssl/encryption.yaml")
            .is_none()
    );
    let cloud = node(&p, "node3")
        .file("/etc/kubernetes/cloud-config")
        .unwrap();
    assert!(cloud.secret);
    assert!(String::from_utf8_lossy(&cloud.contents).contains("cloud-pass"));
}

#[test]
fn default_admission_file_for_v120_is_empty_of_plugins() {
    let p = plans(&config(V120, ""));
    let text = String::from_utf8(
        node(&p, "node1")
            .file("/etc/kubernetes/admission.yaml")
            .unwrap()
            .contents
            .clone(),
    )
    .unwrap();
    assert!(text.contains("kind: AdmissionConfiguration"), "{text}");
    assert!(
        !text.contains("PodSecurity"),
        "PodSecurity needs 1.23: {text}"
    );
}

#[test]
fn user_admission_file_is_not_overwritten() {
    let cfg = config(
        V132,
        "services:\n  kube-api:\n    extra_args:\n      admission-control-config-file: /etc/kubernetes/my.yaml\n",
    );
    let p = plans(&cfg);
    assert!(
        node(&p, "node1")
            .file("/etc/kubernetes/admission.yaml")
            .is_none()
    );
    assert_eq!(
        arg(
            spec(&p, "node1", names::KUBE_APISERVER),
            "admission-control-config-file"
        ),
        Some("/etc/kubernetes/my.yaml")
    );
}
