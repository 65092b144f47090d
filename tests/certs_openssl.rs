//! Independent verification of the PKI with the system `openssl`: every generated leaf must
//! verify against its CA, server certificates for TLS server use, and keys written as PKCS#1
//! must be what OpenSSL (and Go) read. `openssl` is required: CI installs it, and a missing
//! binary fails these tests instead of skipping them.

use rke::certs::{
    CertBundle, CertificatePki, KeyAlgorithm, NodeIdentity, PkiInput, admin_kubeconfig, check,
    ensure,
};
use std::path::{Path, PathBuf};
use std::process::Command;
use time::OffsetDateTime;

/// Run openssl; returns (success, stdout + stderr). Panics when openssl cannot be started.
fn openssl(args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("the system `openssl` binary is required for this test: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn openssl_ok(args: &[&str]) -> String {
    let (ok, text) = openssl(args);
    assert!(ok, "openssl {} failed:\n{text}", args.join(" "));
    text
}

fn node(i: u8) -> NodeIdentity {
    NodeIdentity {
        address: format!("192.168.1.{i}"),
        internal_address: format!("10.1.0.{i}"),
        hostname: format!("node{i}"),
    }
}

fn input() -> PkiInput {
    PkiInput {
        cluster_name: "prod".into(),
        control_plane: vec![node(1)],
        etcd: vec![node(1), node(2)],
        all_nodes: vec![node(1), node(2), node(3)],
        generate_serving_certificate: true,
        ..PkiInput::default()
    }
}

/// Write `<name>.pem` / `<name>-key.pem` for every entry.
fn write_bundle(bundle: &CertBundle, dir: &Path) {
    for (name, e) in bundle {
        std::fs::write(dir.join(format!("{name}.pem")), &e.certificate_pem).unwrap();
        if !e.key_pem.is_empty() {
            std::fs::write(dir.join(format!("{name}-key.pem")), &e.key_pem).unwrap();
        }
    }
}

fn path(dir: &Path, file: &str) -> String {
    dir.join(file).to_string_lossy().into_owned()
}

/// The modulus OpenSSL reads from a certificate and from a key must be the same.
fn assert_key_matches(dir: &Path, name: &str) {
    let cert_mod = openssl_ok(&[
        "x509",
        "-noout",
        "-modulus",
        "-in",
        &path(dir, &format!("{name}.pem")),
    ]);
    let key_mod = openssl_ok(&[
        "rsa",
        "-noout",
        "-modulus",
        "-in",
        &path(dir, &format!("{name}-key.pem")),
    ]);
    assert_eq!(cert_mod.trim(), key_mod.trim(), "{name}");
}

#[test]
fn openssl_verifies_every_generated_certificate() {
    let now = OffsetDateTime::now_utc();
    let (bundle, _) = ensure(&input(), &CertBundle::new(), now).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write_bundle(&bundle, dir);

    let server = [
        "kube-apiserver",
        "kube-apiserver-proxy-client",
        "kube-etcd-10-1-0-1",
        "kube-etcd-10-1-0-2",
        "kube-kubelet-10-1-0-1",
        "kube-kubelet-10-1-0-2",
        "kube-kubelet-10-1-0-3",
    ];
    let mut checked = 0;
    for name in bundle.keys() {
        if name == "kube-ca" || name == "kube-apiserver-requestheader-ca" {
            continue;
        }
        let ca = if name == "kube-apiserver-proxy-client" {
            "kube-apiserver-requestheader-ca.pem"
        } else {
            "kube-ca.pem"
        };
        let leaf = path(dir, &format!("{name}.pem"));
        let out = openssl_ok(&[
            "verify",
            "-CAfile",
            &path(dir, ca),
            "-purpose",
            "sslclient",
            &leaf,
        ]);
        assert!(out.contains(": OK"), "{name}: {out}");
        if server.contains(&name.as_str()) {
            let out = openssl_ok(&[
                "verify",
                "-CAfile",
                &path(dir, ca),
                "-purpose",
                "sslserver",
                &leaf,
            ]);
            assert!(out.contains(": OK"), "{name}: {out}");
        } else {
            let (ok, out) = openssl(&[
                "verify",
                "-CAfile",
                &path(dir, ca),
                "-purpose",
                "sslserver",
                &leaf,
            ]);
            assert!(!ok, "{name} must not be a server certificate: {out}");
        }
        // The wrong CA must not verify it.
        let wrong = if ca == "kube-ca.pem" {
            "kube-apiserver-requestheader-ca.pem"
        } else {
            "kube-ca.pem"
        };
        let (ok, _) = openssl(&["verify", "-CAfile", &path(dir, wrong), &leaf]);
        assert!(!ok, "{name} verified against the wrong CA");
        assert_key_matches(dir, name);
        checked += 1;
    }
    assert_eq!(checked, 13);

    // Subjects, SANs and key format as OpenSSL sees them.
    let subject = openssl_ok(&[
        "x509",
        "-noout",
        "-subject",
        "-in",
        &path(dir, "kube-node.pem"),
    ]);
    assert_eq!(subject.trim(), "subject=O = system:nodes, CN = system:node");
    let sans = openssl_ok(&[
        "x509",
        "-noout",
        "-ext",
        "subjectAltName",
        "-in",
        &path(dir, "kube-apiserver.pem"),
    ]);
    for want in [
        "DNS:node1",
        "DNS:kubernetes.default.svc.cluster.local",
        "IP Address:192.168.1.1",
        "IP Address:10.1.0.1",
        "IP Address:10.43.0.1",
        "IP Address:127.0.0.1",
    ] {
        assert!(
            sans.contains(want),
            "kube-apiserver SANs lack {want}: {sans}"
        );
    }
    let key = std::fs::read_to_string(dir.join("kube-admin-key.pem")).unwrap();
    assert!(key.starts_with("-----BEGIN RSA PRIVATE KEY-----\n"));
    assert!(
        openssl_ok(&[
            "rsa",
            "-check",
            "-noout",
            "-in",
            &path(dir, "kube-admin-key.pem")
        ])
        .contains("RSA key ok")
    );
    let bits = openssl_ok(&[
        "rsa",
        "-text",
        "-noout",
        "-in",
        &path(dir, "kube-admin-key.pem"),
    ]);
    assert!(bits.contains("Private-Key: (2048 bit"), "{bits}");
    let ca_text = openssl_ok(&["x509", "-noout", "-text", "-in", &path(dir, "kube-ca.pem")]);
    assert!(
        ca_text.contains("CA:TRUE") && ca_text.contains("Certificate Sign, CRL Sign"),
        "{ca_text}"
    );

    // The admin kubeconfig carries the same material.
    let cfg = admin_kubeconfig(&bundle, "https://192.168.1.1:6443", "prod").unwrap();
    assert_eq!(cfg, bundle["kube-admin"].config);

    let report = check(&bundle, now);
    assert_eq!(report.len(), bundle.len());
    assert!(
        report
            .iter()
            .all(|s| !s.warning && (3648..=3650).contains(&s.days_left))
    );
}

/// A kube-ca made by OpenSSL with a PKCS#1 key (`genrsa -traditional`, the format Go and RKE1
/// write) is kept as-is and signs everything; a leaf key from OpenSSL is reused.
#[test]
fn rke1_style_pkcs1_keys_from_openssl_are_used() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let ca_key = path(dir, "ca-key.pem");
    let ca_crt = path(dir, "ca.pem");
    openssl_ok(&["genrsa", "-traditional", "-out", &ca_key, "2048"]);
    openssl_ok(&[
        "req",
        "-x509",
        "-new",
        "-key",
        &ca_key,
        "-subj",
        "/CN=kube-ca",
        "-days",
        "3650",
        "-out",
        &ca_crt,
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
    ]);
    let ca_key_pem = std::fs::read_to_string(&ca_key).unwrap();
    assert!(ca_key_pem.starts_with("-----BEGIN RSA PRIVATE KEY-----"));

    // Leaf keys in the three forms found in the wild: PKCS#1 (`genrsa -traditional`), PKCS#8
    // (`genpkey`) and SEC1 EC preceded by an `EC PARAMETERS` block (`ecparam -genkey`).
    let admin_key = path(dir, "admin-key.pem");
    openssl_ok(&["genrsa", "-traditional", "-out", &admin_key, "2048"]);
    let node_key = path(dir, "node-key.pem");
    openssl_ok(&[
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:2048",
        "-out",
        &node_key,
    ]);
    let proxy_key = path(dir, "proxy-key.pem");
    openssl_ok(&[
        "ecparam",
        "-name",
        "prime256v1",
        "-genkey",
        "-out",
        &proxy_key,
    ]);
    let leaf_keys = [
        ("kube-proxy", std::fs::read_to_string(&proxy_key).unwrap()),
        ("kube-node", std::fs::read_to_string(&node_key).unwrap()),
        ("kube-admin", std::fs::read_to_string(&admin_key).unwrap()),
    ];
    assert!(leaf_keys[0].1.contains("-----BEGIN EC PRIVATE KEY-----"));
    assert!(leaf_keys[1].1.starts_with("-----BEGIN PRIVATE KEY-----"));
    assert!(
        leaf_keys[2]
            .1
            .starts_with("-----BEGIN RSA PRIVATE KEY-----")
    );

    let mut existing = CertBundle::new();
    existing.insert(
        "kube-ca".into(),
        CertificatePki {
            certificate_pem: std::fs::read_to_string(&ca_crt).unwrap(),
            key_pem: ca_key_pem.clone(),
            ..CertificatePki::default()
        },
    );
    for (name, key) in &leaf_keys {
        existing.insert(
            name.to_string(),
            CertificatePki {
                key_pem: key.clone(),
                ..CertificatePki::default()
            },
        );
    }
    let (bundle, changes) = ensure(&input(), &existing, OffsetDateTime::now_utc()).unwrap();
    assert!(!changes.added.contains(&"kube-ca".to_string()));
    assert_eq!(
        bundle["kube-ca"].certificate_pem,
        existing["kube-ca"].certificate_pem
    );
    assert_eq!(bundle["kube-ca"].key_pem, ca_key_pem);
    let regenerated: Vec<(&str, &str)> = changes
        .regenerated
        .iter()
        .map(|(n, r)| (n.as_str(), r.as_str()))
        .collect();
    assert_eq!(
        regenerated,
        [
            ("kube-proxy", "certificate missing"),
            ("kube-node", "certificate missing"),
            ("kube-admin", "certificate missing"),
        ]
    );
    for (name, key) in &leaf_keys {
        assert_eq!(
            &bundle[*name].key_pem, key,
            "{name} key must be reused as stored"
        );
    }

    let out_dir = dir.join("bundle");
    std::fs::create_dir(&out_dir).unwrap();
    write_bundle(&bundle, &out_dir);
    for name in [
        "kube-admin",
        "kube-apiserver",
        "kube-etcd-10-1-0-2",
        "kube-node",
        "kube-proxy",
    ] {
        let leaf = path(&out_dir, &format!("{name}.pem"));
        let out = openssl_ok(&["verify", "-CAfile", &ca_crt, &leaf]);
        assert!(out.contains(": OK"), "{name}: {out}");
    }
    assert_key_matches(&out_dir, "kube-admin");
    assert_key_matches(&out_dir, "kube-node");
    let cert_pub = openssl_ok(&[
        "x509",
        "-noout",
        "-pubkey",
        "-in",
        &path(&out_dir, "kube-proxy.pem"),
    ]);
    let key_pub = openssl_ok(&["pkey", "-pubout", "-in", &proxy_key]);
    assert_eq!(cert_pub.trim(), key_pub.trim());
}

#[test]
fn ecdsa_bundles_verify_too() {
    let pki = PkiInput {
        key_algorithm: KeyAlgorithm::EcdsaP256,
        ..input()
    };
    let (bundle, _) = ensure(&pki, &CertBundle::new(), OffsetDateTime::now_utc()).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    write_bundle(&bundle, tmp.path());
    let ca: PathBuf = tmp.path().join("kube-ca.pem");
    for name in ["kube-apiserver", "kube-etcd-10-1-0-1"] {
        let out = openssl_ok(&[
            "verify",
            "-CAfile",
            &ca.to_string_lossy(),
            "-purpose",
            "sslserver",
            &path(tmp.path(), &format!("{name}.pem")),
        ]);
        assert!(out.contains(": OK"), "{name}: {out}");
    }
    let key = openssl_ok(&[
        "pkey",
        "-noout",
        "-text",
        "-in",
        &path(tmp.path(), "kube-node-key.pem"),
    ]);
    assert!(key.contains("prime256v1") || key.contains("P-256"), "{key}");
}
