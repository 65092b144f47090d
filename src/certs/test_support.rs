//! Shared fixtures for the PKI unit tests.

use super::bundle::CertBundle;
use super::input::{KeyAlgorithm, NodeIdentity, PkiInput};
use super::x509;
use std::path::Path;
use time::OffsetDateTime;

/// Node `i`: public 1.1.1.i, internal 10.0.0.i, hostname node-i.
pub fn node(i: u8) -> NodeIdentity {
    NodeIdentity {
        address: format!("1.1.1.{i}"),
        internal_address: format!("10.0.0.{i}"),
        hostname: format!("node-{i}"),
    }
}

fn nodes(ids: &[u8]) -> Vec<NodeIdentity> {
    ids.iter().copied().map(node).collect()
}

/// A cluster with the given control-plane, etcd and worker-only node numbers.
pub fn cluster(cp: &[u8], etcd: &[u8], workers: &[u8], alg: KeyAlgorithm) -> PkiInput {
    let mut all: Vec<u8> = cp.iter().chain(etcd).chain(workers).copied().collect();
    all.sort_unstable();
    all.dedup();
    PkiInput {
        cluster_name: "prod".into(),
        control_plane: nodes(cp),
        etcd: nodes(etcd),
        all_nodes: nodes(&all),
        extra_sans: vec!["api.example.com".into()],
        key_algorithm: alg,
        ..PkiInput::default()
    }
}

pub fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap()
}

/// DER of the first certificate of a bundle entry.
pub fn cert_der(bundle: &CertBundle, name: &str) -> Vec<u8> {
    let entry = bundle
        .get(name)
        .unwrap_or_else(|| panic!("bundle has no {name}"));
    x509::first_cert(&entry.certificate_pem).unwrap()
}

/// Write a bundle as a custom-certificate directory (`<name>.pem`, `<name>-key.pem`).
pub fn write_dir(bundle: &CertBundle, dir: &Path) {
    for (name, e) in bundle {
        if !e.certificate_pem.is_empty() {
            std::fs::write(dir.join(format!("{name}.pem")), &e.certificate_pem).unwrap();
        }
        if !e.key_pem.is_empty() {
            std::fs::write(dir.join(format!("{name}-key.pem")), &e.key_pem).unwrap();
        }
    }
}
