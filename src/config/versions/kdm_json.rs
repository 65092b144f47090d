//! KDM's `data.json` (rancher/kontainer-driver-metadata, the file RKE1 read from
//! `RANCHER_METADATA_URL`) as a [`VersionTable`]: its system images, service options (already
//! resolved per key, `vMAJOR.MINOR` or a full version, as RKE1 looks them up), Windows service
//! options, Docker ranges and `RKEDefaultK8sVersions["default"]`. Pure: text in, table out.
//!
//! Keys this reader does not use (templates, CIS, K3s, RKE2, ...) are ignored, as RKE1 ignores
//! keys it has no field for. Versions of minors older than [`OLDEST_MINOR`] are skipped: rke does
//! not run them. Image keys RKE1 has no `system_images` key for are skipped too, so a newer KDM
//! with a new image still loads.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::data_file::minor_key;
use super::k8s_version::{K8sVersion, minor_of};
use super::{
    Entry, REQUIRED_IMAGE_KEYS, SYSTEM_IMAGE_KEYS, ServiceOptions, VersionInfo, VersionTable,
    docker,
};
use crate::state::rke1_json::json_name;

/// The oldest Kubernetes minor rke runs; older KDM entries are left out.
pub const OLDEST_MINOR: (u32, u32) = (1, 20);
/// RKE1's rule (cluster/defaults.go), not KDM data: the kubelet uses cri-dockerd from 1.24.
const CRI_DOCKERD_FROM: (u32, u32) = (1, 24);

type Flags = BTreeMap<String, String>;

/// Why a `data.json` cannot be used; each message names the KDM key and the entry.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KdmError {
    #[error("not KDM data.json: {0}")]
    Json(String),
    #[error("K8sVersionRKESystemImages has no version of Kubernetes 1.20 or later")]
    NoVersions,
    #[error("K8sVersionRKESystemImages.{version}: no `{key}` image")]
    MissingImage { version: String, key: String },
    #[error(
        "K8sVersionServiceOptions has neither `{version}` nor `{minor}` (service options of {version})"
    )]
    NoServiceOptions { version: String, minor: String },
    #[error("K8sVersionDockerInfo has no `{0}` (Docker versions of {1})")]
    NoDockerVersions(String, String),
    #[error("K8sVersionDockerInfo.{minor}: `{pattern}` is not a MAJOR.MINOR.x pattern")]
    BadDockerPattern { minor: String, pattern: String },
    #[error("RKEDefaultK8sVersions.default is missing")]
    NoDefault,
    #[error("RKEDefaultK8sVersions.default `{0}` is not in K8sVersionRKESystemImages")]
    DefaultMissing(String),
}

#[derive(Deserialize)]
struct KdmData {
    #[serde(rename = "K8sVersionRKESystemImages", default)]
    images: BTreeMap<String, BTreeMap<String, serde_json::Value>>,
    #[serde(rename = "K8sVersionServiceOptions", default)]
    service_options: BTreeMap<String, KdmOptions>,
    #[serde(rename = "K8sVersionWindowsServiceOptions", default)]
    windows_service_options: BTreeMap<String, KdmOptions>,
    #[serde(rename = "K8sVersionDockerInfo", default)]
    docker_info: BTreeMap<String, Vec<String>>,
    #[serde(rename = "RKEDefaultK8sVersions", default)]
    default_versions: BTreeMap<String, String>,
}

/// RKE1's `KubernetesServicesOptions` JSON; a component may be `null`.
#[derive(Deserialize, Default)]
struct KdmOptions {
    #[serde(default)]
    etcd: Option<Flags>,
    #[serde(default)]
    kubeapi: Option<Flags>,
    #[serde(default)]
    kubelet: Option<Flags>,
    #[serde(default)]
    kubeproxy: Option<Flags>,
    #[serde(rename = "kubeController", default)]
    kube_controller: Option<Flags>,
    #[serde(default)]
    scheduler: Option<Flags>,
}

/// Parse a KDM `data.json` into a version table.
pub fn parse(text: &str) -> Result<VersionTable, KdmError> {
    let data: KdmData = serde_json::from_str(text).map_err(|e| KdmError::Json(e.to_string()))?;
    let service_options = service_options(&data);
    let docker_versions = docker_versions(&data.docker_info)?;

    let mut entries = Vec::new();
    for (version, raw_images) in &data.images {
        let Some(parsed) = K8sVersion::parse(version).filter(|v| v.rancher.is_some()) else {
            continue;
        };
        if parsed.minor_pair() < OLDEST_MINOR {
            continue;
        }
        let images = images(version, raw_images)?;
        let minor = minor_key(parsed.minor_pair());
        let options = service_options
            .get(version)
            .or_else(|| service_options.get(&minor))
            .ok_or_else(|| KdmError::NoServiceOptions {
                version: version.clone(),
                minor: minor.clone(),
            })?;
        let docker = docker_versions.get(&parsed.minor_pair()).ok_or_else(|| {
            KdmError::NoDockerVersions(minor.trim_start_matches('v').into(), version.clone())
        })?;
        entries.push(Entry {
            parsed,
            info: VersionInfo {
                version: version.clone(),
                images,
                service_options: options.clone(),
                docker_versions: docker.clone(),
                cri_dockerd: parsed.minor_pair() >= CRI_DOCKERD_FROM,
            },
        });
    }
    if entries.is_empty() {
        return Err(KdmError::NoVersions);
    }
    entries.sort_by_key(|e| e.parsed);

    let default_version = data
        .default_versions
        .get("default")
        .cloned()
        .ok_or(KdmError::NoDefault)?;
    if !entries.iter().any(|e| e.info.version == default_version) {
        return Err(KdmError::DefaultMissing(default_version));
    }
    Ok(VersionTable {
        default_version,
        entries,
        service_options,
        docker_versions,
        cri_dockerd_from: CRI_DOCKERD_FROM,
    })
}

/// `system_images` keys → images, from RKE1's JSON names; unknown keys and empty values skipped.
fn images(
    version: &str,
    raw: &BTreeMap<String, serde_json::Value>,
) -> Result<BTreeMap<String, String>, KdmError> {
    let mut out = BTreeMap::new();
    for key in SYSTEM_IMAGE_KEYS {
        let image = raw
            .get(json_name(key).as_ref())
            .and_then(serde_json::Value::as_str)
            .unwrap_or("");
        if !image.is_empty() {
            out.insert(key.to_string(), image.to_string());
        }
    }
    for key in REQUIRED_IMAGE_KEYS {
        if !out.contains_key(*key) {
            return Err(KdmError::MissingImage {
                version: version.to_string(),
                key: json_name(key).into_owned(),
            });
        }
    }
    Ok(out)
}

/// Linux and Windows options merged per key, for the keys rke can look up.
fn service_options(data: &KdmData) -> BTreeMap<String, ServiceOptions> {
    let empty = KdmOptions::default();
    data.service_options
        .iter()
        .filter(|(key, _)| {
            let is_minor = minor_of(key).is_some_and(|pair| minor_key(pair) == **key);
            is_minor || K8sVersion::parse(key).is_some_and(|v| v.rancher.is_some())
        })
        .map(|(key, linux)| {
            let windows = data.windows_service_options.get(key).unwrap_or(&empty);
            let flags = |f: &Option<Flags>| f.clone().unwrap_or_default();
            let options = ServiceOptions {
                etcd: flags(&linux.etcd),
                kube_api: flags(&linux.kubeapi),
                kube_controller: flags(&linux.kube_controller),
                scheduler: flags(&linux.scheduler),
                kubelet: flags(&linux.kubelet),
                kubeproxy: flags(&linux.kubeproxy),
                windows_kubelet: flags(&windows.kubelet),
                windows_kubeproxy: flags(&windows.kubeproxy),
            };
            (key.clone(), options)
        })
        .collect()
}

fn docker_versions(
    raw: &BTreeMap<String, Vec<String>>,
) -> Result<BTreeMap<(u32, u32), Vec<String>>, KdmError> {
    let mut out = BTreeMap::new();
    for (key, patterns) in raw {
        let Some(pair) = minor_of(key).filter(|(a, b)| format!("{a}.{b}") == *key) else {
            continue;
        };
        if let Some(bad) = patterns.iter().find(|p| docker::major_minor(p).is_none()) {
            return Err(KdmError::BadDockerPattern {
                minor: key.clone(),
                pattern: bad.clone(),
            });
        }
        out.insert(pair, patterns.clone());
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
