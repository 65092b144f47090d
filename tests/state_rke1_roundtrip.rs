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

/// Keys a newer version wrote, at every level rke models, each with where it sits.
fn newer_keys() -> Vec<(Vec<Value>, Value)> {
    use serde_json::json;
    let at = |path: &[Value], value: Value| (path.to_vec(), value);
    vec![
        at(&[json!("schemaVersion")], json!(3)),
        at(
            &[json!("desiredState"), json!("futureSection")],
            json!({"x": [1, {"y": "z"}]}),
        ),
        at(
            &[json!("currentState"), json!("futureSection")],
            json!({"x": [2]}),
        ),
        at(
            &[
                json!("desiredState"),
                json!("rkeConfig"),
                json!("newTopSetting"),
            ],
            json!("on"),
        ),
        at(
            &[
                json!("desiredState"),
                json!("rkeConfig"),
                json!("services"),
                json!("kubeApi"),
                json!("newApiSetting"),
            ],
            json!({"enabled": true, "level": 2}),
        ),
        at(
            &[
                json!("currentState"),
                json!("rkeConfig"),
                json!("nodes"),
                json!(1),
                json!("newNodeField"),
            ],
            json!("n1"),
        ),
        // Under an object the encoder leaves out while it holds only defaults.
        at(
            &[
                json!("desiredState"),
                json!("rkeConfig"),
                json!("restore"),
                json!("futureRestoreMode"),
            ],
            json!("fast"),
        ),
        at(
            &[
                json!("desiredState"),
                json!("certificatesBundle"),
                json!("kube-ca"),
                json!("futureCertField"),
            ],
            json!({"keyAlgorithm": "ed25519"}),
        ),
    ]
}

fn pointer(path: &[Value]) -> String {
    path.iter()
        .map(|s| match s {
            Value::String(k) => format!("/{k}"),
            other => format!("/{other}"),
        })
        .collect()
}

#[test]
fn keys_from_a_newer_version_survive_load_and_save() {
    let mut doc: Value = serde_json::from_slice(&std::fs::read(FIXTURE).unwrap()).unwrap();
    for (path, value) in newer_keys() {
        let (key, parent) = path.split_last().unwrap();
        let parent = doc
            .pointer_mut(&pointer(parent))
            .expect("parent in fixture");
        let key = key.as_str().unwrap().to_string();
        parent.as_object_mut().unwrap().insert(key, value);
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cluster.rkestate");
    std::fs::write(&path, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();

    let loaded = state::load::<RkeConfig>(&path).unwrap().unwrap();
    assert_eq!(
        loaded.warnings.len(),
        newer_keys().len(),
        "{:?}",
        loaded.warnings
    );
    let out = dir.path().join("saved.rkestate");
    state::save(&out, &loaded.state).unwrap();
    let written: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    for (path, value) in newer_keys() {
        assert_eq!(written.pointer(&pointer(&path)), Some(&value), "{path:?}");
    }
    // Nothing else changed: the whole document means the same as the one read.
    assert_eq!(go_equivalent(&written), go_equivalent(&doc));
    // The in-cluster copy keeps them too, and a second round changes nothing.
    let compact: Value = serde_json::from_str(&loaded.state.to_compact_string().unwrap()).unwrap();
    assert_eq!(compact, written);
    let again = state::load::<RkeConfig>(&out).unwrap().unwrap();
    assert_eq!(again.state, loaded.state);
    assert_eq!(
        again.state.to_file_bytes().unwrap(),
        std::fs::read(&out).unwrap()
    );
}
