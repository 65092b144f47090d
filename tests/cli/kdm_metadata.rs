//! `RANCHER_METADATA_URL` pointing at a KDM `data.json` (tests/fixtures/kdm/data.json, written
//! in KDM's format) replaces the built-in version table: its versions are listed, a version only
//! it has validates and `rke up --init` (no node touched) takes its images.

use crate::common::*;
use std::path::PathBuf;

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/kdm/data.json")
}

#[test]
fn lists_the_versions_of_the_data_json() {
    let out = rke()
        .env("RANCHER_METADATA_URL", fixture())
        .args(["config", "--list-version", "--all"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let listed: Vec<String> = stdout_of(&out).lines().map(str::to_string).collect();
    assert_eq!(
        listed,
        [
            "v1.32.13-rancher1-2",
            "v1.33.1-rancher1-1",
            "v1.33.2-rancher1-1"
        ]
    );
}

#[test]
fn a_version_only_the_data_json_has_validates_and_inits() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(
        dir.path(),
        "cluster.yml",
        &THREE_NODES.replace("v1.20.15-rancher2-2", "v1.33.1-rancher1-1"),
    );
    // Without the data.json, the built-in table does not know it.
    let out = rke()
        .args(["validate", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr_of(&out));

    let out = rke()
        .env("RANCHER_METADATA_URL", fixture())
        .args(["validate", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));

    let out = rke()
        .env("RANCHER_METADATA_URL", fixture())
        .args(["up", "--init", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("cluster.rkestate")).unwrap())
            .unwrap();
    assert_eq!(
        state["desiredState"]["rkeConfig"]["systemImages"]["kubernetes"],
        "rancher/hyperkube:v1.33.1-rancher1"
    );
}

#[test]
fn a_bad_source_is_a_config_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let bad = write(
        dir.path(),
        "data.json",
        "{\"K8sVersionRKESystemImages\": {}}",
    );
    let out = rke()
        .env("RANCHER_METADATA_URL", &bad)
        .args(["config", "--list-version"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = stderr_of(&out);
    assert!(
        err.contains("RANCHER_METADATA_URL") && err.contains("data.json"),
        "{err}"
    );

    let out = rke()
        .env("RANCHER_METADATA_URL", "ftp://example.invalid/data.json")
        .args(["config", "--list-version"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));

    let out = rke()
        .env("RANCHER_METADATA_URL", fixture())
        .env("RKE_VERSION_TABLE", "data/k8s-versions.yaml")
        .args(["config", "--list-version"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr_of(&out).contains("not both"), "{}", stderr_of(&out));
}
