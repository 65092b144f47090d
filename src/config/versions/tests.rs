//! Tests of the embedded version table against KDM facts.

use super::*;

fn flag<'a>(map: &'a BTreeMap<String, String>, name: &str) -> Option<&'a str> {
    map.get(name).map(String::as_str)
}

const LAST_PER_MINOR: &[&str] = &[
    "v1.20.15-rancher2-2",
    "v1.21.14-rancher1-1",
    "v1.22.17-rancher1-2",
    "v1.23.16-rancher2-3",
    "v1.24.17-rancher1-1",
    "v1.25.16-rancher2-3",
    "v1.26.15-rancher1-1",
    "v1.27.16-rancher1-1",
    "v1.28.15-rancher1-1",
    "v1.29.15-rancher1-1",
    "v1.30.14-rancher1-1",
    "v1.31.14-rancher1-1",
    "v1.32.13-rancher1-2",
];

#[test]
fn embedded_table_parses_and_has_default() {
    let t = table();
    assert_eq!(t.default_version(), "v1.32.13-rancher1-2");
    assert!(t.get(t.default_version()).is_some());
    assert!(t.all().count() >= LAST_PER_MINOR.len());
}

#[test]
fn every_version_has_the_core_images() {
    for info in table().all() {
        for key in [
            "kubernetes",
            "etcd",
            "pod_infra_container",
            "nginx_proxy",
            "cert_downloader",
            "kubernetes_services_sidecar",
        ] {
            let image = info.images.get(key).map(String::as_str).unwrap_or("");
            assert!(!image.is_empty(), "{} lacks {key}", info.version);
        }
        // KDM's own invariant (k8s_defaults.go): the hyperkube tag names the version.
        let tag = info.version.rsplit_once('-').unwrap().0;
        assert!(
            info.images["kubernetes"].ends_with(&format!("hyperkube:{tag}")),
            "{}: {}",
            info.version,
            info.images["kubernetes"]
        );
    }
}

#[test]
fn every_image_key_is_a_system_images_key() {
    for info in table().all() {
        for key in info.images.keys() {
            assert!(
                SYSTEM_IMAGE_KEYS.contains(&key.as_str()),
                "{}: unknown key {key}",
                info.version
            );
        }
    }
}

#[test]
fn cri_dockerd_exactly_from_1_24() {
    for info in table().all() {
        let minor = K8sVersion::parse(&info.version).unwrap().minor;
        assert_eq!(info.cri_dockerd, minor >= 24, "{}", info.version);
    }
    let t = table();
    assert_eq!(t.uses_cri_dockerd("v1.20.2"), Some(false));
    assert_eq!(t.uses_cri_dockerd("v1.23.17-rancher1-1"), Some(false));
    assert_eq!(t.uses_cri_dockerd("v1.24.0"), Some(true));
    assert_eq!(t.uses_cri_dockerd("latest"), None);
}

#[test]
fn v1_20_options_match_rke1_reference() {
    let opts = &table().get("v1.20.15-rancher2-2").unwrap().service_options;
    let api = &opts.kube_api;
    for (name, value) in [
        ("anonymous-auth", "false"),
        ("insecure-port", "0"),
        ("service-account-issuer", "rke"),
        (
            "service-account-signing-key-file",
            "/etc/kubernetes/ssl/kube-service-account-token-key.pem",
        ),
        ("api-audiences", "unknown"),
        ("feature-gates", "ServiceAccountIssuerDiscovery=false"),
        ("runtime-config", "authorization.k8s.io/v1beta1=true"),
        ("bind-address", "0.0.0.0"),
        ("secure-port", "6443"),
        ("storage-backend", "etcd3"),
        ("allow-privileged", "true"),
    ] {
        assert_eq!(flag(api, name), Some(value), "kube-api {name}");
    }
    assert_eq!(
        flag(api, "enable-admission-plugins"),
        Some(
            "NamespaceLifecycle,LimitRanger,ServiceAccount,DefaultStorageClass,\
             DefaultTolerationSeconds,MutatingAdmissionWebhook,ValidatingAdmissionWebhook,\
             ResourceQuota,NodeRestriction,Priority,TaintNodesByCondition,\
             PersistentVolumeClaimResize"
        )
    );
    assert_eq!(api.len(), 19);
    assert_eq!(flag(&opts.kubelet, "network-plugin"), Some("cni"));
    assert_eq!(flag(&opts.kubelet, "cni-bin-dir"), Some("/opt/cni/bin"));
    assert_eq!(flag(&opts.kubelet, "enforce-node-allocatable"), Some(""));
    assert_eq!(flag(&opts.kubelet, "allow-privileged"), None);
    assert_eq!(flag(&opts.etcd, "enable-v2"), Some("true"));
    assert_eq!(flag(&opts.kube_controller, "address"), Some("0.0.0.0"));
    assert_eq!(
        flag(&opts.kube_controller, "pod-eviction-timeout"),
        Some("5m0s")
    );
    assert_eq!(flag(&opts.scheduler, "address"), Some("0.0.0.0"));
    assert_eq!(
        flag(&opts.kubeproxy, "healthz-bind-address"),
        Some("127.0.0.1")
    );
    assert_eq!(
        flag(&opts.windows_kubeproxy, "feature-gates"),
        Some("WinOverlay=true")
    );
}

#[test]
fn every_minor_from_1_20_to_1_32_is_in_the_table() {
    let minors: Vec<u32> = LAST_PER_MINOR
        .iter()
        .map(|v| K8sVersion::parse(v).unwrap().minor)
        .collect();
    assert_eq!(minors, (20..=32).collect::<Vec<u32>>());
}

#[test]
fn v1_21_to_1_23_options_match_kdm() {
    for version in &LAST_PER_MINOR[1..4] {
        let opts = &table().get(version).unwrap().service_options;
        let minor = K8sVersion::parse(version).unwrap().minor;
        // getKubeAPIOptions121: the 1.20 flags without the feature gate.
        assert_eq!(
            flag(&opts.kube_api, "insecure-port"),
            Some("0"),
            "{version}"
        );
        assert_eq!(flag(&opts.kube_api, "feature-gates"), None, "{version}");
        assert_eq!(flag(&opts.kube_api, "api-audiences"), Some("unknown"));
        assert_eq!(flag(&opts.kubelet, "network-plugin"), Some("cni"));
        assert_eq!(flag(&opts.kube_controller, "address"), Some("0.0.0.0"));
        assert_eq!(flag(&opts.scheduler, "address"), Some("0.0.0.0"));
        // etcd v2 API only up to 1.21 (getETCDOptions117 vs 122).
        let v2 = (minor == 21).then_some("true");
        assert_eq!(flag(&opts.etcd, "enable-v2"), v2, "{version}");
        assert_eq!(flag(&opts.windows_kubelet, "feature-gates"), None);
        let dual_stack_gate = (minor < 23).then_some("IPv6DualStack=false");
        assert_eq!(
            flag(&opts.windows_kubeproxy, "feature-gates"),
            dual_stack_gate,
            "{version}"
        );
    }
    let pinned = table().service_options_for("v1.23.4-rancher1-2").unwrap();
    assert_eq!(
        flag(&pinned.etcd, "experimental-initial-corrupt-check"),
        Some("true")
    );
    let minor = table().service_options_for("v1.23.5-rancher1-1").unwrap();
    assert_eq!(
        flag(&minor.etcd, "experimental-initial-corrupt-check"),
        None
    );
}

#[test]
fn cri_dockerd_era_options_drop_removed_flags() {
    for version in &LAST_PER_MINOR[4..] {
        let minor = K8sVersion::parse(version).unwrap().minor;
        let opts = &table().get(version).unwrap().service_options;
        // KDM keeps pod-eviction-timeout until getKubeControllerOptions127.
        let eviction = (minor < 27).then_some("5m0s");
        assert_eq!(
            flag(&opts.kube_controller, "pod-eviction-timeout"),
            eviction,
            "{version}"
        );
        assert_eq!(flag(&opts.kube_api, "insecure-port"), None, "{version}");
        assert_eq!(flag(&opts.kube_api, "feature-gates"), None, "{version}");
        assert_eq!(
            flag(&opts.kube_api, "service-account-issuer"),
            Some("rke"),
            "{version}"
        );
        assert_eq!(flag(&opts.kubelet, "network-plugin"), None, "{version}");
        assert_eq!(flag(&opts.kubelet, "cni-conf-dir"), None, "{version}");
        assert_eq!(flag(&opts.kube_controller, "address"), None, "{version}");
        assert_eq!(flag(&opts.scheduler, "address"), None, "{version}");
        assert_eq!(flag(&opts.etcd, "enable-v2"), None, "{version}");
        assert_eq!(
            flag(&opts.windows_kubelet, "cert-dir"),
            Some("[PREFIX_PATH]/var/lib/kubelet/pki")
        );
        assert_eq!(flag(&opts.windows_kubelet, "feature-gates"), None);
        assert_eq!(
            flag(&opts.windows_kubeproxy, "proxy-mode"),
            Some("kernelspace")
        );
    }
}

#[test]
fn service_options_for_unlisted_versions_use_the_minor() {
    let t = table();
    let v1202 = t.service_options_for("v1.20.2").unwrap();
    assert_eq!(
        v1202,
        &t.get("v1.20.15-rancher2-2").unwrap().service_options
    );
    assert!(t.service_options_for("v1.19.16-rancher2-1").is_none());
}

#[test]
fn docker_matching() {
    let t = table();
    assert_eq!(
        t.docker_supported("v1.20.15-rancher2-2", "20.10.24"),
        Some(true)
    );
    assert_eq!(t.docker_supported("v1.20.2", "20.10.24"), Some(true));
    assert_eq!(t.docker_supported("v1.20.2", "17.03.2-ce"), Some(true));
    assert_eq!(t.docker_supported("v1.20.2", "24.0.7"), Some(false));
    assert_eq!(
        t.docker_supported("v1.32.13-rancher1-2", "27.2.1"),
        Some(true)
    );
    assert_eq!(
        t.docker_supported("v1.32.13-rancher1-2", "28.2.2"),
        Some(false)
    );
    assert_eq!(
        t.docker_supported("v1.30.14-rancher1-1", "26.1.4"),
        Some(true)
    );
    assert_eq!(t.docker_supported("v1.19.16-rancher2-1", "20.10.24"), None);
    let v120 = t.docker_versions_for("v1.20.2").unwrap();
    assert_eq!(v120.first().map(String::as_str), Some("1.13.x"));
    assert_eq!(v120.last().map(String::as_str), Some("20.10.x"));
}

#[test]
fn supported_is_newest_patch_per_minor() {
    assert_eq!(table().supported(), LAST_PER_MINOR);
}

#[test]
fn all_is_sorted_oldest_first() {
    let parsed: Vec<K8sVersion> = table()
        .all()
        .map(|i| K8sVersion::parse(&i.version).unwrap())
        .collect();
    assert!(parsed.windows(2).all(|w| w[0] < w[1]), "{parsed:?}");
    assert_eq!(table().all().next().unwrap().version, "v1.20.4-rancher1-1");
}

/// RKE v1.2.23's own default (its embedded KDM): the version an RKE1 v1.2 user's cluster runs.
#[test]
fn rke1_v1_2_default_is_listed_with_its_images() {
    let t = table();
    let info = t.get("v1.20.15-rancher2-1").expect("listed");
    let images = &info.images;
    assert_eq!(
        images.get("kubernetes").map(String::as_str),
        Some("rancher/hyperkube:v1.20.15-rancher2")
    );
    assert_eq!(
        images.get("alpine").map(String::as_str),
        Some("rancher/rke-tools:v0.1.80")
    );
}

#[test]
fn get_is_exact() {
    let t = table();
    assert!(t.get("v1.32.5-rancher1-1").is_some());
    assert!(t.get("v1.32.5").is_none());
    assert!(t.get("1.32.5-rancher1-1").is_none());
}

#[test]
fn images_match_kdm() {
    let t = table();
    let img = |v: &str, k: &str| t.get(v).unwrap().images[k].clone();
    assert_eq!(
        img("v1.32.13-rancher1-2", "kubernetes"),
        "rke-extended-life/hyperkube:v1.32.13-rancher1"
    );
    assert_eq!(
        img("v1.32.13-rancher1-2", "ingress"),
        "rancher/nginx-ingress-controller:nginx-1.14.5-rancher1"
    );
    assert_eq!(
        img("v1.32.5-rancher1-1", "etcd"),
        "rancher/mirrored-coreos-etcd:v3.5.16"
    );
    assert_eq!(
        img("v1.32.5-rancher1-1", "calico_cni"),
        "rancher/calico-cni:v3.29.3-rancher1"
    );
    assert_eq!(
        img("v1.20.15-rancher2-2", "calico_cni"),
        "rancher/mirrored-calico-cni:v3.17.2"
    );
    assert_eq!(
        img("v1.20.15-rancher2-2", "pod_infra_container"),
        "rancher/mirrored-pause:3.6"
    );
    assert_eq!(
        img("v1.20.15-rancher2-2", "aci_gbp_server_container"),
        "noiro/gbp-server:5.2.3.2.1d150da"
    );
    assert_eq!(
        img("v1.28.15-rancher1-1", "ingress_webhook"),
        "rancher/mirrored-ingress-nginx-kube-webhook-certgen:v20231226-1a7112e06"
    );
    assert!(
        !t.get("v1.30.14-rancher1-1")
            .unwrap()
            .images
            .contains_key("weave_node")
    );
    assert!(
        t.get("v1.29.15-rancher1-1")
            .unwrap()
            .images
            .contains_key("weave_node")
    );
}

#[test]
fn images_unique_is_sorted_and_deduplicated() {
    let t = table();
    let images = t.images_unique("v1.32.13-rancher1-2").unwrap();
    let mut sorted = images.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(images, sorted);
    let tools = images
        .iter()
        .filter(|i| i.as_str() == "rancher/rke-tools:v0.1.114")
        .count();
    assert_eq!(tools, 1);
    // 37 keys collapse to 26: rke-tools ×4, pause ×2, canal reusing the 5 calico/flannel
    // images, one autoscaler for kubedns and coredns, one opflex for opflex and mcast.
    assert_eq!(images.len(), 26);
    assert!(t.images_unique("v9.9.9-rancher1-1").is_none());
}

#[test]
fn older_patch_versions_match_kdm() {
    let t = table();
    let img = |v: &str, k: &str| t.get(v).unwrap().images.get(k).cloned();
    // KDM's own slip, kept verbatim: the node-cache image as kubedns.
    assert_eq!(
        img("v1.23.4-rancher1-1", "kubedns").as_deref(),
        Some("rancher/mirrored-k8s-dns-node-cache:1.21.1")
    );
    assert_eq!(
        img("v1.23.12-rancher1-1", "kubedns").as_deref(),
        Some("rancher/mirrored-k8s-dns-kube-dns:1.21.1")
    );
    // v1.22.13 moved calico-cni to v3.21.3 while calico-node stayed at v3.21.1.
    assert_eq!(
        img("v1.22.13-rancher1-1", "calico_cni").as_deref(),
        Some("rancher/calico-cni:v3.21.3-rancher1")
    );
    assert_eq!(
        img("v1.22.13-rancher1-1", "calico_node").as_deref(),
        Some("rancher/mirrored-calico-node:v3.21.1")
    );
    // ACI 6.0 dropped the gbp and opflex servers.
    assert!(img("v1.25.12-rancher1-1", "aci_gbp_server_container").is_some());
    assert!(img("v1.25.13-rancher1-1", "aci_gbp_server_container").is_none());
    // Weave left KDM with 1.30.
    assert!(img("v1.29.12-rancher1-1", "weave_node").is_some());
    assert!(img("v1.30.2-rancher1-1", "weave_node").is_none());
    assert_eq!(
        img("v1.29.12-rancher1-1", "ingress_backend").as_deref(),
        Some("rancher/mirrored-nginx-ingress-controller-defaultbackend:1.5-rancher2")
    );
    assert_eq!(
        img("v1.21.7-rancher1-1", "windows_pod_infra_container").as_deref(),
        Some("rancher/kubelet-pause:v0.1.6")
    );
    let per_minor = |minor: u32| {
        t.all()
            .filter(|i| K8sVersion::parse(&i.version).unwrap().minor == minor)
            .count()
    };
    for (minor, at_least) in [
        (21, 5),
        (22, 11),
        (23, 9),
        (24, 4),
        (25, 9),
        (26, 5),
        (27, 8),
    ] {
        assert!(
            per_minor(minor) >= at_least,
            "1.{minor}: {}",
            per_minor(minor)
        );
    }
}
