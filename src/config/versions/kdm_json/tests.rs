//! Against `tests/fixtures/kdm/data.json`, a small hand-written file in KDM's format: a skipped
//! 1.19 version, the built-in default, two 1.33 versions rke's own table does not have, a minor
//! profile with an exact-version override, Windows options, and keys this reader ignores.

use super::*;

const FIXTURE: &str = include_str!("../../../../tests/fixtures/kdm/data.json");

fn fixture() -> serde_json::Value {
    serde_json::from_str(FIXTURE).unwrap()
}

fn parse_value(v: &serde_json::Value) -> Result<VersionTable, KdmError> {
    parse(&v.to_string())
}

#[test]
fn reads_versions_images_profiles_and_docker_ranges() {
    let t = parse(FIXTURE).unwrap();
    let versions: Vec<&str> = t.all().map(|i| i.version.as_str()).collect();
    assert_eq!(
        versions,
        [
            "v1.32.13-rancher1-2",
            "v1.33.1-rancher1-1",
            "v1.33.2-rancher1-1"
        ],
        "1.19 is older than rke runs"
    );
    assert_eq!(t.default_version(), "v1.32.13-rancher1-2");

    let v133 = t.get("v1.33.1-rancher1-1").unwrap();
    assert_eq!(
        v133.images["kubernetes"],
        "rancher/hyperkube:v1.33.1-rancher1"
    );
    assert_eq!(
        v133.images["kubernetes_services_sidecar"],
        "rancher/rke-tools:v0.1.115"
    );
    assert_eq!(
        v133.images["aci_ovs_container"],
        "noiro/openvswitch:6.1.1.4.81c2369"
    );
    assert_eq!(
        v133.images["calico_flexvol"],
        "rancher/mirrored-calico-pod2daemon-flexvol:v3.30.2"
    );
    assert!(!v133.images.contains_key("weave_node"));
    assert!(v133.cri_dockerd);

    // The exact key wins over the minor key, as RKE1 looks them up.
    assert_eq!(v133.service_options.kube_api["v"], "3");
    let v1332 = t.get("v1.33.2-rancher1-1").unwrap();
    assert_eq!(v1332.service_options.kube_api["v"], "2");
    assert_eq!(
        v1332.service_options.kubelet["enforce-node-allocatable"],
        ""
    );
    assert_eq!(
        v1332.service_options.windows_kubelet["cert-dir"],
        "[PREFIX_PATH]/var/lib/kubelet/pki"
    );
    assert!(
        t.get("v1.32.13-rancher1-2")
            .unwrap()
            .service_options
            .windows_kubelet
            .is_empty()
    );
    // An unlisted patch of a known minor still finds its options, as with the built-in table.
    assert!(t.service_options_for("v1.33.9-rancher1-1").is_some());

    assert_eq!(
        t.docker_supported("v1.33.2-rancher1-1", "27.2.1"),
        Some(true)
    );
    assert_eq!(
        t.docker_supported("v1.33.2-rancher1-1", "28.0.1"),
        Some(false)
    );
}

#[test]
fn missing_pieces_name_the_kdm_key() {
    let mut v = fixture();
    v["K8sVersionRKESystemImages"]["v1.33.2-rancher1-1"]
        .as_object_mut()
        .unwrap()
        .remove("podInfraContainer");
    let e = parse_value(&v).unwrap_err();
    assert_eq!(
        e.to_string(),
        "K8sVersionRKESystemImages.v1.33.2-rancher1-1: no `podInfraContainer` image"
    );

    let mut v = fixture();
    v["K8sVersionServiceOptions"]
        .as_object_mut()
        .unwrap()
        .remove("v1.33");
    let e = parse_value(&v).unwrap_err();
    assert!(
        matches!(&e, KdmError::NoServiceOptions { version, .. } if version == "v1.33.2-rancher1-1"),
        "{e}"
    );

    let mut v = fixture();
    v["K8sVersionDockerInfo"]
        .as_object_mut()
        .unwrap()
        .remove("1.33");
    assert!(matches!(
        parse_value(&v),
        Err(KdmError::NoDockerVersions(..))
    ));

    let mut v = fixture();
    v["K8sVersionDockerInfo"]["1.33"][0] = "latest".into();
    assert!(matches!(
        parse_value(&v),
        Err(KdmError::BadDockerPattern { .. })
    ));

    let mut v = fixture();
    v["RKEDefaultK8sVersions"]["default"] = "v1.40.0-rancher1-1".into();
    assert_eq!(
        parse_value(&v).unwrap_err(),
        KdmError::DefaultMissing("v1.40.0-rancher1-1".into())
    );

    assert!(matches!(parse("[1, 2]"), Err(KdmError::Json(_))));
    assert_eq!(parse("{}").unwrap_err(), KdmError::NoVersions);
}

/// The v1.20 part of the data.json RKE v1.2.23 embeds (real KDM data, trimmed to 1.20 by
/// `tests/fixtures/kdm/rke1-v1.2.23-k8s-1.20.json`): every 1.20 version it lists is in rke's
/// built-in table with the same images, flags and Docker ranges, so an RKE1 v1.2 cluster keeps
/// exactly the components RKE1 gave it.
#[test]
fn builtin_table_matches_rke1_v1_2_23_for_1_20() {
    let rke1 = parse(include_str!(
        "../../../../tests/fixtures/kdm/rke1-v1.2.23-k8s-1.20.json"
    ))
    .unwrap();
    assert_eq!(rke1.default_version(), "v1.20.15-rancher2-1");
    let builtin = VersionTable::from_yaml(crate::config::versions::EMBEDDED).unwrap();
    let mut compared = 0;
    for theirs in rke1.all() {
        let ours = builtin
            .get(&theirs.version)
            .unwrap_or_else(|| panic!("{} is not in the built-in table", theirs.version));
        assert_eq!(ours, theirs, "{}", theirs.version);
        compared += 1;
    }
    assert_eq!(compared, 17);
}
