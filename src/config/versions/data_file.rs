//! Reading `data/k8s-versions.yaml` into a [`VersionTable`]: deserialize, resolve option profiles,
//! and check every cross-reference so a bad edit fails loudly (the tests parse the embedded file).

use std::collections::BTreeMap;

use serde::Deserialize;

use super::docker;
use super::k8s_version::{K8sVersion, minor_of};
use super::{
    Entry, REQUIRED_IMAGE_KEYS, SYSTEM_IMAGE_KEYS, ServiceOptions, VersionInfo, VersionTable,
};

/// Where the table comes from, for error messages.
pub const DATA_FILE: &str = "data/k8s-versions.yaml";

type Flags = BTreeMap<String, String>;

/// Why the version table could not be built. Every message names the data file and the entry.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VersionTableError {
    #[error("{DATA_FILE}: {0}")]
    Yaml(String),
    #[error("{DATA_FILE}: version `{0}` is not of the form vMAJOR.MINOR.PATCH-rancherN-M")]
    BadVersion(String),
    #[error("{DATA_FILE}: version `{version}` has unknown system image key `{key}`")]
    UnknownImageKey { version: String, key: String },
    #[error("{DATA_FILE}: version `{version}` has no `{key}` image")]
    MissingImage { version: String, key: String },
    #[error("{DATA_FILE}: `{referenced_by}` refers to unknown option profile `{profile}`")]
    UnknownProfile {
        referenced_by: String,
        profile: String,
    },
    #[error("{DATA_FILE}: option profile `{0}` extends itself through a cycle")]
    ProfileCycle(String),
    #[error("{DATA_FILE}: option profile `{profile}` unsets `{flag}`, which it does not inherit")]
    UnsetMissingFlag { profile: String, flag: String },
    #[error("{DATA_FILE}: service_options key `{0}` is neither vMAJOR.MINOR nor a full version")]
    BadServiceOptionsKey(String),
    #[error("{DATA_FILE}: version `{0}` has no service_options (exact or by minor)")]
    NoServiceOptions(String),
    #[error("{DATA_FILE}: docker_versions key `{0}` is not MAJOR.MINOR")]
    BadDockerKey(String),
    #[error(
        "{DATA_FILE}: docker_versions `{minor}` entry `{pattern}` is not a MAJOR.MINOR.x pattern"
    )]
    BadDockerPattern { minor: String, pattern: String },
    #[error("{DATA_FILE}: version `{0}` has no docker_versions for its minor")]
    NoDockerVersions(String),
    #[error("{DATA_FILE}: cri_dockerd_from `{0}` is not MAJOR.MINOR")]
    BadCriDockerdFrom(String),
    #[error("{DATA_FILE}: default version `{0}` is not listed under versions")]
    DefaultMissing(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DataFile {
    default: String,
    cri_dockerd_from: String,
    option_profiles: BTreeMap<String, Profile>,
    service_options: BTreeMap<String, ServiceOptionRefs>,
    docker_versions: BTreeMap<String, Vec<String>>,
    versions: BTreeMap<String, VersionEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Profile {
    #[serde(default)]
    extends: Option<String>,
    #[serde(default)]
    set: Flags,
    #[serde(default)]
    unset: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ServiceOptionRefs {
    etcd: String,
    kube_api: String,
    kube_controller: String,
    scheduler: String,
    kubelet: String,
    kubeproxy: String,
    #[serde(default)]
    windows_kubelet: Option<String>,
    #[serde(default)]
    windows_kubeproxy: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VersionEntry {
    images: BTreeMap<String, String>,
}

/// Parse and validate the YAML text of a version table.
pub fn parse(text: &str) -> Result<VersionTable, VersionTableError> {
    let file: DataFile =
        serde_saphyr::from_str(text).map_err(|e| VersionTableError::Yaml(e.to_string()))?;

    let profiles = resolve_profiles(&file.option_profiles)?;
    let service_options = build_service_options(&file.service_options, &profiles)?;
    let docker_versions = build_docker_versions(&file.docker_versions)?;
    let cri_dockerd_from = minor_of(&file.cri_dockerd_from)
        .ok_or_else(|| VersionTableError::BadCriDockerdFrom(file.cri_dockerd_from.clone()))?;

    let mut entries = Vec::with_capacity(file.versions.len());
    for (name, entry) in file.versions {
        let parsed = K8sVersion::parse(&name)
            .filter(|v| v.rancher.is_some())
            .ok_or_else(|| VersionTableError::BadVersion(name.clone()))?;
        check_images(&name, &entry.images)?;
        let options = service_options
            .get(&name)
            .or_else(|| service_options.get(&minor_key(parsed.minor_pair())))
            .ok_or_else(|| VersionTableError::NoServiceOptions(name.clone()))?;
        let docker = docker_versions
            .get(&parsed.minor_pair())
            .ok_or_else(|| VersionTableError::NoDockerVersions(name.clone()))?;
        entries.push(Entry {
            parsed,
            info: VersionInfo {
                version: name,
                images: entry.images,
                service_options: options.clone(),
                docker_versions: docker.clone(),
                cri_dockerd: parsed.minor_pair() >= cri_dockerd_from,
            },
        });
    }
    entries.sort_by_key(|e| e.parsed);

    if !entries.iter().any(|e| e.info.version == file.default) {
        return Err(VersionTableError::DefaultMissing(file.default));
    }

    Ok(VersionTable {
        default_version: file.default,
        entries,
        service_options,
        docker_versions,
        cri_dockerd_from,
    })
}

/// The service_options key for a minor: `v1.32`.
pub fn minor_key((major, minor): (u32, u32)) -> String {
    format!("v{major}.{minor}")
}

fn check_images(version: &str, images: &BTreeMap<String, String>) -> Result<(), VersionTableError> {
    for (key, image) in images {
        if !SYSTEM_IMAGE_KEYS.contains(&key.as_str()) {
            return Err(VersionTableError::UnknownImageKey {
                version: version.to_string(),
                key: key.clone(),
            });
        }
        if image.trim().is_empty() {
            return Err(VersionTableError::MissingImage {
                version: version.to_string(),
                key: key.clone(),
            });
        }
    }
    for key in REQUIRED_IMAGE_KEYS {
        if !images.contains_key(*key) {
            return Err(VersionTableError::MissingImage {
                version: version.to_string(),
                key: key.to_string(),
            });
        }
    }
    Ok(())
}

/// Flatten every profile: the parent's flags, then `set`, then `unset`.
fn resolve_profiles(
    raw: &BTreeMap<String, Profile>,
) -> Result<BTreeMap<String, Flags>, VersionTableError> {
    let mut done = BTreeMap::new();
    for name in raw.keys() {
        resolve_one(name, raw, &mut done, &mut Vec::new())?;
    }
    Ok(done)
}

fn resolve_one(
    name: &str,
    raw: &BTreeMap<String, Profile>,
    done: &mut BTreeMap<String, Flags>,
    stack: &mut Vec<String>,
) -> Result<Flags, VersionTableError> {
    if let Some(flags) = done.get(name) {
        return Ok(flags.clone());
    }
    if stack.iter().any(|s| s == name) {
        return Err(VersionTableError::ProfileCycle(name.to_string()));
    }
    let profile = &raw[name];
    stack.push(name.to_string());
    let mut flags = match &profile.extends {
        None => Flags::new(),
        Some(parent) if raw.contains_key(parent) => resolve_one(parent, raw, done, stack)?,
        Some(parent) => {
            return Err(VersionTableError::UnknownProfile {
                referenced_by: format!("option_profiles.{name}.extends"),
                profile: parent.clone(),
            });
        }
    };
    stack.pop();
    flags.extend(profile.set.clone());
    for flag in &profile.unset {
        if flags.remove(flag).is_none() {
            return Err(VersionTableError::UnsetMissingFlag {
                profile: name.to_string(),
                flag: flag.clone(),
            });
        }
    }
    done.insert(name.to_string(), flags.clone());
    Ok(flags)
}

fn build_service_options(
    raw: &BTreeMap<String, ServiceOptionRefs>,
    profiles: &BTreeMap<String, Flags>,
) -> Result<BTreeMap<String, ServiceOptions>, VersionTableError> {
    let mut out = BTreeMap::new();
    for (key, refs) in raw {
        let is_minor =
            key.starts_with('v') && minor_of(key).is_some_and(|pair| minor_key(pair) == *key);
        let is_full = K8sVersion::parse(key).is_some_and(|v| v.rancher.is_some());
        if !is_minor && !is_full {
            return Err(VersionTableError::BadServiceOptionsKey(key.clone()));
        }
        let lookup = |field: &str, profile: &str| {
            profiles
                .get(profile)
                .cloned()
                .ok_or_else(|| VersionTableError::UnknownProfile {
                    referenced_by: format!("service_options.{key}.{field}"),
                    profile: profile.to_string(),
                })
        };
        let optional = |field: &str, profile: &Option<String>| match profile {
            Some(p) => lookup(field, p),
            None => Ok(Flags::new()),
        };
        let options = ServiceOptions {
            etcd: lookup("etcd", &refs.etcd)?,
            kube_api: lookup("kube_api", &refs.kube_api)?,
            kube_controller: lookup("kube_controller", &refs.kube_controller)?,
            scheduler: lookup("scheduler", &refs.scheduler)?,
            kubelet: lookup("kubelet", &refs.kubelet)?,
            kubeproxy: lookup("kubeproxy", &refs.kubeproxy)?,
            windows_kubelet: optional("windows_kubelet", &refs.windows_kubelet)?,
            windows_kubeproxy: optional("windows_kubeproxy", &refs.windows_kubeproxy)?,
        };
        out.insert(key.clone(), options);
    }
    Ok(out)
}

fn build_docker_versions(
    raw: &BTreeMap<String, Vec<String>>,
) -> Result<BTreeMap<(u32, u32), Vec<String>>, VersionTableError> {
    let mut out = BTreeMap::new();
    for (key, patterns) in raw {
        let pair = minor_of(key)
            .filter(|(major, minor)| format!("{major}.{minor}") == *key)
            .ok_or_else(|| VersionTableError::BadDockerKey(key.clone()))?;
        for pattern in patterns {
            if docker::major_minor(pattern).is_none() {
                return Err(VersionTableError::BadDockerPattern {
                    minor: key.clone(),
                    pattern: pattern.clone(),
                });
            }
        }
        out.insert(pair, patterns.clone());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small valid table; tests break one thing at a time.
    const VALID: &str = r#"
default: v1.32.5-rancher1-1
cri_dockerd_from: "1.24"
option_profiles:
  base:
    set: {a: "1", b: "2", gone: "x"}
  child:
    extends: base
    set: {b: "3", c: ""}
    unset: [gone]
service_options:
  v1.32:
    etcd: base
    kube_api: child
    kube_controller: base
    scheduler: base
    kubelet: child
    kubeproxy: base
    windows_kubelet: child
  v1.32.5-rancher1-1:
    etcd: child
    kube_api: child
    kube_controller: child
    scheduler: child
    kubelet: child
    kubeproxy: child
docker_versions:
  "1.32": ["20.10.x", "27.2.x"]
versions:
  v1.32.5-rancher1-1:
    images: &imgs
      etcd: e
      alpine: t
      nginx_proxy: t
      cert_downloader: t
      kubernetes_services_sidecar: t
      kubernetes: k
      pod_infra_container: p
  v1.32.6-rancher1-1:
    images: *imgs
"#;

    fn broken(from: &str, to: &str) -> VersionTableError {
        assert!(VALID.contains(from), "fixture lacks {from:?}");
        match parse(&VALID.replacen(from, to, 1)) {
            Ok(_) => panic!("replacing {from:?} by {to:?} should fail"),
            Err(e) => e,
        }
    }

    #[test]
    fn valid_fixture_resolves_profiles_and_lookup_order() {
        let table = parse(VALID).unwrap();
        let exact = &table.get("v1.32.5-rancher1-1").unwrap().service_options;
        let expected: Flags = [("a", "1"), ("b", "3"), ("c", "")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(exact.etcd, expected, "exact key wins over the minor key");
        assert!(exact.windows_kubelet.is_empty());
        let by_minor = &table.get("v1.32.6-rancher1-1").unwrap().service_options;
        assert_eq!(by_minor.etcd.get("gone").map(String::as_str), Some("x"));
        assert_eq!(by_minor.windows_kubelet, expected);
        assert!(table.get("v1.32.6-rancher1-1").unwrap().cri_dockerd);
    }

    #[test]
    fn rejects_unknown_image_key() {
        let e = broken(
            "      kubernetes: k",
            "      kubernetes: k\n      kubernets: typo",
        );
        assert_eq!(
            e,
            VersionTableError::UnknownImageKey {
                version: "v1.32.5-rancher1-1".into(),
                key: "kubernets".into()
            }
        );
        assert!(e.to_string().contains("data/k8s-versions.yaml"));
    }

    #[test]
    fn rejects_missing_required_image() {
        let e = broken("      pod_infra_container: p\n", "");
        assert!(
            matches!(e, VersionTableError::MissingImage { ref key, .. } if key == "pod_infra_container")
        );
        let e = broken("      kubernetes: k", "      kubernetes: \"\"");
        assert!(
            matches!(e, VersionTableError::MissingImage { ref key, .. } if key == "kubernetes")
        );
    }

    #[test]
    fn rejects_bad_profiles() {
        assert_eq!(
            broken("extends: base", "extends: nope"),
            VersionTableError::UnknownProfile {
                referenced_by: "option_profiles.child.extends".into(),
                profile: "nope".into()
            }
        );
        assert_eq!(
            broken("  base:\n    set:", "  base:\n    extends: child\n    set:"),
            VersionTableError::ProfileCycle("base".into())
        );
        assert_eq!(
            broken("unset: [gone]", "unset: [never]"),
            VersionTableError::UnsetMissingFlag {
                profile: "child".into(),
                flag: "never".into()
            }
        );
        assert!(matches!(
            broken("    scheduler: base", "    scheduler: missing"),
            VersionTableError::UnknownProfile { ref referenced_by, .. } if referenced_by == "service_options.v1.32.scheduler"
        ));
    }

    #[test]
    fn rejects_bad_keys_and_missing_links() {
        assert_eq!(
            broken("  v1.32:\n", "  v1.33:\n"),
            VersionTableError::NoServiceOptions("v1.32.6-rancher1-1".into())
        );
        assert_eq!(
            broken("  v1.32:\n", "  1.32:\n"),
            VersionTableError::BadServiceOptionsKey("1.32".into())
        );
        assert_eq!(
            broken("\"1.32\": [", "\"1.33\": ["),
            VersionTableError::NoDockerVersions("v1.32.5-rancher1-1".into())
        );
        assert_eq!(
            broken("\"1.32\": [", "\"v1.32\": ["),
            VersionTableError::BadDockerKey("v1.32".into())
        );
        assert!(matches!(
            broken("\"27.2.x\"", "\"latest\""),
            VersionTableError::BadDockerPattern { .. }
        ));
        assert_eq!(
            broken("default: v1.32.5-rancher1-1", "default: v1.99.0-rancher1-1"),
            VersionTableError::DefaultMissing("v1.99.0-rancher1-1".into())
        );
        assert_eq!(
            broken("  v1.32.6-rancher1-1:\n", "  v1.32.6:\n"),
            VersionTableError::BadVersion("v1.32.6".into())
        );
        assert_eq!(
            broken("cri_dockerd_from: \"1.24\"", "cri_dockerd_from: soon"),
            VersionTableError::BadCriDockerdFrom("soon".into())
        );
    }

    #[test]
    fn rejects_unknown_fields_with_location() {
        let e = broken(
            "cri_dockerd_from:",
            "cri_dockerd_since: x\ncri_dockerd_from:",
        );
        match e {
            VersionTableError::Yaml(msg) => assert!(msg.contains("cri_dockerd_since"), "{msg}"),
            other => panic!("expected a YAML error, got {other:?}"),
        }
    }
}
