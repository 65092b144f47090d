//! A state file in RKE1's exact format, read with the real config types and written back.

use rke::config::RkeConfig;
use rke::state;
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

#[test]
fn rke1_state_round_trips_byte_for_byte() {
    let original = std::fs::read(FIXTURE).unwrap();
    let loaded = state::load::<RkeConfig>(Path::new(FIXTURE))
        .unwrap()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cluster.rkestate");
    state::save(&out, &loaded.state).unwrap();
    let written = std::fs::read(&out).unwrap();
    // RKE1 writes no trailing newline; we add one. Everything else must be identical.
    let trimmed = written.strip_suffix(b"\n").unwrap_or(&written);
    let original = original.strip_suffix(b"\n").unwrap_or(&original);
    if trimmed != original {
        let a = String::from_utf8_lossy(original);
        let b = String::from_utf8_lossy(trimmed);
        let first = a
            .lines()
            .zip(b.lines())
            .position(|(x, y)| x != y)
            .unwrap_or(0);
        panic!(
            "re-saved state differs from RKE1's at line {}:\n  rke1: {}\n  ours: {}",
            first + 1,
            a.lines().nth(first).unwrap_or(""),
            b.lines().nth(first).unwrap_or("")
        );
    }
}
