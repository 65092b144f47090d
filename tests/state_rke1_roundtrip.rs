//! A state file in RKE1's exact format, read with the real config types and written back.

use rke::config::RkeConfig;
use rke::state;
use serde_json::Value;
use std::path::Path;

const FIXTURE: &str = "tests/fixtures/state/rke1-v1.4.rkestate";

#[test]
fn rke1_state_loads_with_every_key_known() {
    let loaded = state::load::<RkeConfig>(Path::new(FIXTURE))
        .unwrap()
        .expect("fixture exists");
    assert!(
        loaded.warnings.is_empty(),
        "keys our types do not know: {:?}",
        loaded.warnings
    );
    let cfg = loaded.state.desired_state.rke_config.as_ref().unwrap();
    assert_eq!(cfg.nodes.len(), 3);
    assert!(!cfg.services.kube_api.service_cluster_ip_range.is_empty());
    assert!(
        loaded
            .state
            .desired_state
            .certificates_bundle
            .contains_key("kube-ca")
    );
}

/// Go reads an absent key as the zero value, so `null`, `""`, `[]` and `{}` equal absence. RKE1
/// also writes `false` for the two plain-bool fields without `omitempty`; we leave them out.
fn go_equivalent(v: &Value) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, x)| (k.clone(), go_equivalent(x)))
                .filter(|(k, x)| {
                    let zero = x.is_null()
                        || x.as_str() == Some("")
                        || x.as_array().is_some_and(|a| a.is_empty())
                        || x.as_object().is_some_and(|o| o.is_empty());
                    let plain_false = (k == "sshAgentAuth" || k == "rotateEncryptionKey")
                        && x.as_bool() == Some(false);
                    !zero && !plain_false
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(go_equivalent).collect()),
        other => other.clone(),
    }
}

#[test]
fn rke1_state_round_trips_through_the_real_types() {
    let original: Value = serde_json::from_slice(&std::fs::read(FIXTURE).unwrap()).unwrap();
    let loaded = state::load::<RkeConfig>(Path::new(FIXTURE))
        .unwrap()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cluster.rkestate");
    state::save(&out, &loaded.state).unwrap();
    let written: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(go_equivalent(&written), go_equivalent(&original));
    // Certificates are carried byte for byte.
    assert_eq!(
        written["desiredState"]["certificatesBundle"],
        original["desiredState"]["certificatesBundle"]
    );
    // And what we wrote loads again to the same state.
    let again = state::load::<RkeConfig>(&out).unwrap().unwrap();
    assert_eq!(again.state, loaded.state);
}
