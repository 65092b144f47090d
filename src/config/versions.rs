//! The Kubernetes version table: for each version RKE1 can install, its system images, the default
//! component flags ("service options"), the Docker versions it accepts and whether the kubelet
//! needs cri-dockerd. The facts live in `data/k8s-versions.yaml` (copied from KDM), embedded in the
//! binary and parsed once.

mod data_file;
mod docker;
mod k8s_version;
mod kdm_json;
mod sources;
mod upgrade_step;

use std::collections::BTreeMap;
use std::sync::OnceLock;

pub use data_file::{DATA_FILE, VersionTableError};
pub use docker::major_minor as docker_major_minor;
pub use k8s_version::{K8sVersion, minor_of};
pub use kdm_json::KdmError;
pub use upgrade_step::{StepRefusal, check_step};

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

pub(crate) const EMBEDDED: &str = include_str!("../../data/k8s-versions.yaml");

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

/// Environment variable RKE1 read KDM's `data.json` from (a path or an http(s) URL); here it
/// replaces the embedded table the same way [`TABLE_ENV`] does.
pub const METADATA_ENV: &str = "RANCHER_METADATA_URL";

/// Load the table named by `RKE_VERSION_TABLE` or `RANCHER_METADATA_URL`, if one is set. Called
/// once at start-up so a bad file is a clear error (naming the file and the entry) before any
/// work starts.
pub fn init_from_env() -> anyhow::Result<()> {
    let table_file = std::env::var_os(TABLE_ENV).filter(|v| !v.is_empty());
    let metadata = std::env::var(METADATA_ENV).ok().filter(|v| !v.is_empty());
    let parsed = match (table_file, metadata) {
        (None, None) => return Ok(()),
        (Some(_), Some(_)) => {
            return Err(crate::error::classified(
                crate::error::ErrorKind::Config,
                format!("set {TABLE_ENV} or {METADATA_ENV}, not both"),
            ));
        }
        (Some(path), None) => sources::table_file(std::path::Path::new(&path))?,
        (None, Some(source)) => sources::kdm_data(&source)?,
    };
    let _ = TABLE.set(parsed);
    Ok(())
}

impl VersionTable {
    /// Read KDM's `data.json` (RKE1's `RANCHER_METADATA_URL` format).
    pub fn from_kdm_json(text: &str) -> Result<VersionTable, KdmError> {
        kdm_json::parse(text)
    }

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

    /// The newest table version of a `(major, minor)`, e.g. `v1.28.15-rancher1-1` for `(1, 28)`.
    pub fn newest_of_minor(&self, pair: (u32, u32)) -> Option<&str> {
        self.entries
            .iter()
            .filter(|e| e.parsed.minor_pair() == pair)
            .max_by_key(|e| e.parsed)
            .map(|e| e.info.version.as_str())
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

    /// The first `(major, minor)` whose kubelet uses cri-dockerd by default.
    pub fn cri_dockerd_from(&self) -> (u32, u32) {
        self.cri_dockerd_from
    }
}

#[cfg(test)]
mod tests;
