//! The Kubernetes version table: for each version RKE1 can install, its system images, the default
//! component flags ("service options"), the Docker versions it accepts and whether the kubelet
//! needs cri-dockerd. The facts live in `data/k8s-versions.yaml` (copied from KDM), embedded in the
//! binary and parsed once.

mod data_file;
mod docker;
mod k8s_version;

use std::collections::BTreeMap;
use std::sync::OnceLock;

pub use data_file::{DATA_FILE, VersionTableError};
pub use docker::major_minor as docker_major_minor;
pub use k8s_version::{K8sVersion, minor_of};

/// Every key RKE1 accepts under `system_images` in `cluster.yml` (`types.RKESystemImages`).
pub const SYSTEM_IMAGE_KEYS: &[&str] = &[
    "etcd",
    "alpine",
    "nginx_proxy",
    "cert_downloader",
    "kubernetes_services_sidecar",
    "kubedns",
    "dnsmasq",
    "kubedns_sidecar",
    "kubedns_autoscaler",
    "coredns",
    "coredns_autoscaler",
    "nodelocal",
    "kubernetes",
    "flannel",
    "flannel_cni",
    "calico_node",
    "calico_cni",
    "calico_controllers",
    "calico_ctl",
    "calico_flexvol",
    "canal_node",
    "canal_cni",
    "canal_controllers",
    "canal_flannel",
    "canal_flexvol",
    "weave_node",
    "weave_cni",
    "pod_infra_container",
    "ingress",
    "ingress_backend",
    "ingress_webhook",
    "metrics_server",
    "windows_pod_infra_container",
    "aci_cni_deploy_container",
    "aci_host_container",
    "aci_opflex_container",
    "aci_mcast_container",
    "aci_ovs_container",
    "aci_controller_container",
    "aci_gbp_server_container",
    "aci_opflex_server_container",
];

/// Images without which no cluster can come up: every table entry must have them.
pub const REQUIRED_IMAGE_KEYS: &[&str] = &[
    "etcd",
    "alpine",
    "nginx_proxy",
    "cert_downloader",
    "kubernetes_services_sidecar",
    "kubernetes",
    "pod_infra_container",
];

const EMBEDDED: &str = include_str!("../../data/k8s-versions.yaml");

/// Default flags per component, flag name without `--` → value. An empty value means RKE1 removes
/// that flag from the command line. The Windows maps are empty where KDM has none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceOptions {
    pub etcd: BTreeMap<String, String>,
    pub kube_api: BTreeMap<String, String>,
    pub kube_controller: BTreeMap<String, String>,
    pub scheduler: BTreeMap<String, String>,
    pub kubelet: BTreeMap<String, String>,
    pub kubeproxy: BTreeMap<String, String>,
    pub windows_kubelet: BTreeMap<String, String>,
    pub windows_kubeproxy: BTreeMap<String, String>,
}

/// Everything the table knows about one Kubernetes version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionInfo {
    /// e.g. `v1.32.5-rancher1-1`
    pub version: String,
    /// `system_images` key → image reference, exactly as KDM lists them.
    pub images: BTreeMap<String, String>,
    /// Fully resolved default flags.
    pub service_options: ServiceOptions,
    /// Docker version patterns accepted for this minor, e.g. `["1.13.x", …, "20.10.x"]`.
    pub docker_versions: Vec<String>,
    /// The kubelet reaches Docker through cri-dockerd (Kubernetes ≥ 1.24).
    pub cri_dockerd: bool,
}

/// One table row with its parsed version, kept for ordering.
#[derive(Debug)]
struct Entry {
    parsed: K8sVersion,
    info: VersionInfo,
}

/// The parsed table. Obtain the embedded one with [`table`].
#[derive(Debug)]
pub struct VersionTable {
    default_version: String,
    /// Sorted by version, oldest first.
    entries: Vec<Entry>,
    /// Keyed `v1.32` or by a full version that overrides its minor.
    service_options: BTreeMap<String, ServiceOptions>,
    docker_versions: BTreeMap<(u32, u32), Vec<String>>,
    cri_dockerd_from: (u32, u32),
}

static TABLE: OnceLock<VersionTable> = OnceLock::new();

/// Environment variable naming a version table file that replaces the embedded one (the role
/// RKE1's `RANCHER_METADATA_URL` played: new patch releases or Docker versions without a new
/// binary, e.g. in air-gapped sites).
pub const TABLE_ENV: &str = "RKE_VERSION_TABLE";

/// The version table in use: the file named by `RKE_VERSION_TABLE` if [`init_from_env`] loaded
/// one, else the embedded table, parsed on first use.
pub fn table() -> &'static VersionTable {
    TABLE.get_or_init(|| match VersionTable::from_yaml(EMBEDDED) {
        Ok(table) => table,
        // The file is compiled in and checked by the unit tests, so this is a build defect.
        Err(e) => panic!("embedded version table is invalid: {e}"),
    })
}

/// Load the table named by `RKE_VERSION_TABLE`, if set. Called once at start-up so a bad file is
/// a clear error (naming the file and the entry) before any work starts.
pub fn init_from_env() -> anyhow::Result<()> {
    let Some(path) = std::env::var_os(TABLE_ENV) else {
        return Ok(());
    };
    let path = std::path::PathBuf::from(path);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        crate::error::classified(
            crate::error::ErrorKind::Config,
            format!("{TABLE_ENV}: cannot read {}: {e}", path.display()),
        )
    })?;
    let parsed = VersionTable::from_yaml(&text).map_err(|e| {
        crate::error::classified(
            crate::error::ErrorKind::Config,
            format!("{TABLE_ENV}: {}: {e}", path.display()),
        )
    })?;
    tracing::info!("using the version table {}", path.display());
    let _ = TABLE.set(parsed);
    Ok(())
}

impl VersionTable {
    /// Parse and validate a table in the `data/k8s-versions.yaml` format.
    pub fn from_yaml(text: &str) -> Result<VersionTable, VersionTableError> {
        data_file::parse(text)
    }

    /// The version used when `cluster.yml` has no `kubernetes_version` (RKE1 v1.8's default).
    pub fn default_version(&self) -> &str {
        &self.default_version
    }

    /// The entry for exactly this version string.
    pub fn get(&self, version: &str) -> Option<&VersionInfo> {
        self.entries
            .iter()
            .find(|e| e.info.version == version)
            .map(|e| &e.info)
    }

    /// Every entry, oldest version first.
    pub fn all(&self) -> impl Iterator<Item = &VersionInfo> {
        self.entries.iter().map(|e| &e.info)
    }

    /// The newest version of each minor, oldest minor first (`rke config --list-version --all`).
    pub fn supported(&self) -> Vec<&str> {
        let mut newest: BTreeMap<(u32, u32), &Entry> = BTreeMap::new();
        for entry in &self.entries {
            let slot = newest.entry(entry.parsed.minor_pair()).or_insert(entry);
            if entry.parsed > slot.parsed {
                *slot = entry;
            }
        }
        newest.values().map(|e| e.info.version.as_str()).collect()
    }

    /// All images of a version, sorted and without duplicates (`rke config --system-images`).
    pub fn images_unique(&self, version: &str) -> Option<Vec<String>> {
        let info = self.get(version)?;
        let mut images: Vec<String> = info.images.values().cloned().collect();
        images.sort();
        images.dedup();
        Some(images)
    }

    /// Docker version patterns for the minor of any version string (`v1.20.2` works even though
    /// the table has no such entry); `None` when the table has nothing for that minor.
    pub fn docker_versions_for(&self, version: &str) -> Option<&[String]> {
        self.docker_versions
            .get(&minor_of(version)?)
            .map(Vec::as_slice)
    }

    /// Whether a Docker server version (`docker info` ServerVersion, e.g. `20.10.24`) is accepted
    /// for this Kubernetes version: same major.minor as one KDM pattern. `None` when the table
    /// has no Docker list for the version's minor.
    pub fn docker_supported(&self, version: &str, docker_server_version: &str) -> Option<bool> {
        let patterns = self.docker_versions_for(version)?;
        Some(docker::is_supported(docker_server_version, patterns))
    }

    /// Default flags for any version string, looked up as RKE1 does: the exact version key, then
    /// its `vMAJOR.MINOR` key. Works for versions without a table entry (custom `system_images`).
    pub fn service_options_for(&self, version: &str) -> Option<&ServiceOptions> {
        self.service_options.get(version).or_else(|| {
            self.service_options
                .get(&data_file::minor_key(minor_of(version)?))
        })
    }

    /// Whether the kubelet of any version string needs cri-dockerd; `None` if it has no minor.
    pub fn uses_cri_dockerd(&self, version: &str) -> Option<bool> {
        Some(minor_of(version)? >= self.cri_dockerd_from)
    }
}

#[cfg(test)]
mod tests {
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
            assert_eq!(flag(&opts.kube_api, "insecure-port"), Some("0"), "{version}");
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
        assert_eq!(flag(&minor.etcd, "experimental-initial-corrupt-check"), None);
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
        assert_eq!(table().all().next().unwrap().version, "v1.20.15-rancher2-2");
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
}
