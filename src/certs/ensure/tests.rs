use super::*;
use crate::certs::input::KeyAlgorithm;
use crate::certs::test_support::{cert_der, cluster, node, now};
use std::collections::BTreeMap;
use time::Duration;
use x509_parser::prelude::X509Certificate;

fn parsed<'a>(der: &'a [u8]) -> X509Certificate<'a> {
    x509::parse(der).unwrap()
}

fn names(v: &[(String, String)]) -> Vec<&str> {
    v.iter().map(|(n, _)| n.as_str()).collect()
}

/// Entries whose PEMs differ between two bundles.
fn changed(a: &CertBundle, b: &CertBundle) -> Vec<String> {
    let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    keys.into_iter()
        .filter(|k| {
            let (x, y) = (a.get(*k), b.get(*k));
            x.map(|e| (&e.certificate_pem, &e.key_pem))
                != y.map(|e| (&e.certificate_pem, &e.key_pem))
        })
        .cloned()
        .collect()
}

const ALL_FIXED: [&str; 10] = [
    KUBE_CA,
    REQUEST_HEADER_CA,
    KUBE_APISERVER,
    SERVICE_ACCOUNT_TOKEN,
    KUBE_CONTROLLER_MANAGER,
    KUBE_SCHEDULER,
    KUBE_PROXY,
    KUBE_NODE,
    KUBE_ADMIN,
    API_PROXY_CLIENT,
];

#[test]
fn fresh_rsa_bundle_is_complete_correct_and_chains_to_its_cas() {
    let input = cluster(&[1], &[1, 2], &[3], KeyAlgorithm::Rsa2048);
    let (bundle, changes) = ensure(&input, &CertBundle::new(), now()).unwrap();

    let mut want: BTreeSet<String> = ALL_FIXED.iter().map(|s| s.to_string()).collect();
    want.extend([
        "kube-etcd-10-0-0-1".to_string(),
        "kube-etcd-10-0-0-2".to_string(),
    ]);
    assert_eq!(bundle.keys().cloned().collect::<BTreeSet<_>>(), want);
    assert_eq!(changes.added.len(), want.len());
    assert!(changes.regenerated.is_empty() && changes.removed.is_empty());

    let ca_der = cert_der(&bundle, KUBE_CA);
    let rh_der = cert_der(&bundle, REQUEST_HEADER_CA);
    let ca = parsed(&ca_der);
    let rh = parsed(&rh_der);
    assert!(ca.is_ca() && rh.is_ca());
    assert_eq!(ca.subject().to_string(), "CN=kube-ca");
    assert_eq!(
        rh.subject().to_string(),
        "CN=kube-apiserver-requestheader-ca"
    );

    // (CN, O, server EKU) per leaf, as RKE1 issues them.
    let expect: BTreeMap<&str, (&str, Option<&str>, bool)> = [
        (KUBE_APISERVER, ("kube-apiserver", None, true)),
        (
            SERVICE_ACCOUNT_TOKEN,
            ("kube-service-account-token", None, false),
        ),
        (
            KUBE_CONTROLLER_MANAGER,
            ("system:kube-controller-manager", None, false),
        ),
        (KUBE_SCHEDULER, ("system:kube-scheduler", None, false)),
        (KUBE_PROXY, ("system:kube-proxy", None, false)),
        (KUBE_NODE, ("system:node", Some("system:nodes"), false)),
        (KUBE_ADMIN, ("kube-admin", Some("system:masters"), false)),
        (
            API_PROXY_CLIENT,
            ("kube-apiserver-proxy-client", None, true),
        ),
        ("kube-etcd-10-0-0-1", ("kube-etcd", None, true)),
        ("kube-etcd-10-0-0-2", ("kube-etcd", None, true)),
    ]
    .into();
    let mut serials = BTreeSet::new();
    for (name, (cn, org, server)) in &expect {
        let entry = &bundle[*name];
        let der = cert_der(&bundle, name);
        let cert = parsed(&der);
        let issuer = if *name == API_PROXY_CLIENT { &rh } else { &ca };
        cert.verify_signature(Some(issuer.public_key()))
            .unwrap_or_else(|e| panic!("{name} does not verify: {e}"));
        let f = x509::facts(&cert).unwrap();
        assert_eq!(f.common_name, *cn, "{name}");
        assert_eq!(
            f.organizations,
            org.iter().map(|o| o.to_string()).collect::<Vec<_>>(),
            "{name}"
        );
        assert!(f.client_auth, "{name}");
        assert_eq!(f.server_auth, *server, "{name}");
        assert!(!f.is_ca, "{name}");
        let days = (f.not_after - f.not_before).whole_days();
        assert!((3649..=3651).contains(&days), "{name}: {days} days");
        assert!(
            entry.key_pem.starts_with("-----BEGIN RSA PRIVATE KEY-----"),
            "{name}"
        );
        assert!(
            Key::from_pem(&entry.key_pem).unwrap().matches(&cert),
            "{name}"
        );
        // RKE1 stores leaf + signing CA as certificatePEM.
        let chain = x509::pem_chain(&entry.certificate_pem).unwrap();
        assert_eq!(chain.len(), 2, "{name}");
        assert_eq!(chain[1], issuer.as_raw(), "{name}");
        assert!(cert.tbs_certificate.serial.bits() > 64, "{name}");
        assert!(
            serials.insert(cert.raw_serial().to_vec()),
            "{name}: duplicate serial"
        );
    }

    let api = x509::facts(&parsed(&cert_der(&bundle, KUBE_APISERVER))).unwrap();
    for san in [
        "1.1.1.1",
        "10.0.0.1",
        "node-1",
        "api.example.com",
        "127.0.0.1",
        "10.43.0.1",
        "localhost",
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        "kubernetes.default.svc.cluster.local",
    ] {
        assert!(api.sans.contains(&San::parse(san)), "apiserver lacks {san}");
    }
    assert_eq!(api.sans.len(), 11);
    let etcd = x509::facts(&parsed(&cert_der(&bundle, "kube-etcd-10-0-0-2"))).unwrap();
    for san in [
        "1.1.1.1",
        "10.0.0.1",
        "node-1",
        "1.1.1.2",
        "10.0.0.2",
        "node-2",
        "10.43.0.1",
    ] {
        assert!(etcd.sans.contains(&San::parse(san)), "etcd lacks {san}");
    }
    assert!(!etcd.sans.contains(&San::parse("api.example.com")));

    // RKE1's kube-node/kube-proxy shared key is not reproduced.
    assert_ne!(bundle[KUBE_NODE].key_pem, bundle[KUBE_PROXY].key_pem);

    // Metadata and kubeconfigs as RKE1 writes them.
    assert_eq!(bundle[KUBE_APISERVER].common_name, "system:kube-apiserver");
    assert_eq!(
        bundle[SERVICE_ACCOUNT_TOKEN].common_name,
        "kube-service-account-token"
    );
    assert_eq!(bundle[KUBE_ADMIN].common_name, "kube-admin");
    assert_eq!(bundle[KUBE_ADMIN].ou_name, "system:masters");
    assert_eq!(bundle[KUBE_ADMIN].config_path, "./kube_config_cluster.yml");
    assert!(
        bundle[KUBE_ADMIN]
            .config
            .contains("server: \"https://1.1.1.1:6443\"")
    );
    assert!(
        bundle[KUBE_ADMIN]
            .config
            .contains("name: \"kube-admin-prod\"")
    );
    assert!(
        bundle[KUBE_NODE]
            .config
            .contains("user: \"kube-node-local\"")
    );
    assert!(bundle[KUBE_APISERVER].config.is_empty());
}

#[test]
fn second_run_is_byte_identical() {
    let input = cluster(&[1], &[1, 2], &[3], KeyAlgorithm::EcdsaP256);
    let (first, _) = ensure(&input, &CertBundle::new(), now()).unwrap();
    let (second, changes) = ensure(&input, &first, now() + Duration::days(30)).unwrap();
    assert!(changes.is_empty(), "{changes:?}");
    assert_eq!(first, second);
    assert_eq!(
        serde_json::to_string(&first).unwrap(),
        serde_json::to_string(&second).unwrap()
    );
}

#[test]
fn adding_a_control_plane_node_reissues_only_the_api_server() {
    let before = cluster(&[1], &[1], &[], KeyAlgorithm::EcdsaP256);
    let (b1, _) = ensure(&before, &CertBundle::new(), now()).unwrap();
    let after = cluster(&[1, 4], &[1], &[], KeyAlgorithm::EcdsaP256);
    let (b2, changes) = ensure(&after, &b1, now()).unwrap();
    assert!(changes.added.is_empty() && changes.removed.is_empty());
    assert_eq!(names(&changes.regenerated), [KUBE_APISERVER]);
    assert!(
        changes.regenerated[0].1.contains("IP:1.1.1.4"),
        "{:?}",
        changes.regenerated
    );
    assert_eq!(changed(&b1, &b2), [KUBE_APISERVER]);
    // The key survives; the new certificate carries the new node's names.
    assert_eq!(b1[KUBE_APISERVER].key_pem, b2[KUBE_APISERVER].key_pem);
    let api = x509::facts(&parsed(&cert_der(&b2, KUBE_APISERVER))).unwrap();
    assert!(api.sans.contains(&San::parse("10.0.0.4")) && api.sans.contains(&San::parse("node-4")));
    // The server URL still points at the first control-plane node.
    assert_eq!(b1[KUBE_ADMIN].config, b2[KUBE_ADMIN].config);
}

#[test]
fn etcd_membership_changes_touch_only_etcd_certificates() {
    let two = cluster(&[1], &[1, 2], &[], KeyAlgorithm::EcdsaP256);
    let (b2, _) = ensure(&two, &CertBundle::new(), now()).unwrap();

    let three = cluster(&[1], &[1, 2, 3], &[], KeyAlgorithm::EcdsaP256);
    let (b3, changes) = ensure(&three, &b2, now()).unwrap();
    assert_eq!(changes.added, ["kube-etcd-10-0-0-3"]);
    assert_eq!(
        names(&changes.regenerated),
        ["kube-etcd-10-0-0-1", "kube-etcd-10-0-0-2"]
    );
    assert!(changes.removed.is_empty());
    assert_eq!(
        changed(&b2, &b3),
        [
            "kube-etcd-10-0-0-1",
            "kube-etcd-10-0-0-2",
            "kube-etcd-10-0-0-3"
        ]
    );
    let new = x509::facts(&parsed(&cert_der(&b3, "kube-etcd-10-0-0-1"))).unwrap();
    assert!(new.sans.contains(&San::parse("10.0.0.3")));

    let back = cluster(&[1], &[1, 3], &[], KeyAlgorithm::EcdsaP256);
    let (b4, changes) = ensure(&back, &b3, now()).unwrap();
    assert_eq!(changes.removed, ["kube-etcd-10-0-0-2"]);
    assert!(changes.added.is_empty());
    assert_eq!(
        names(&changes.regenerated),
        ["kube-etcd-10-0-0-1", "kube-etcd-10-0-0-3"]
    );
    assert!(!b4.contains_key("kube-etcd-10-0-0-2"));
    assert_eq!(
        changed(&b3, &b4),
        [
            "kube-etcd-10-0-0-1",
            "kube-etcd-10-0-0-2",
            "kube-etcd-10-0-0-3"
        ]
    );
}

#[test]
fn kubelet_serving_certificates_follow_the_flag_and_the_nodes() {
    let mut input = cluster(&[1], &[1], &[2], KeyAlgorithm::EcdsaP256);
    let (plain, _) = ensure(&input, &CertBundle::new(), now()).unwrap();
    input.generate_serving_certificate = true;
    let (served, changes) = ensure(&input, &plain, now()).unwrap();
    assert_eq!(
        changes.added,
        ["kube-kubelet-10-0-0-1", "kube-kubelet-10-0-0-2"]
    );
    assert!(changes.regenerated.is_empty());
    let k = x509::facts(&parsed(&cert_der(&served, "kube-kubelet-10-0-0-2"))).unwrap();
    assert_eq!(k.common_name, "kube-kubelet-10-0-0-2");
    assert!(k.server_auth);
    let want: BTreeSet<San> = ["1.1.1.2", "10.0.0.2", "node-2"]
        .iter()
        .map(|s| San::parse(s))
        .collect();
    assert_eq!(k.sans, want);

    input.all_nodes.retain(|n| n.address != "1.1.1.2");
    let (fewer, changes) = ensure(&input, &served, now()).unwrap();
    assert_eq!(changes.removed, ["kube-kubelet-10-0-0-2"]);
    assert!(fewer.contains_key("kube-kubelet-10-0-0-1"));

    input.generate_serving_certificate = false;
    let (_, changes) = ensure(&input, &fewer, now()).unwrap();
    assert_eq!(changes.removed, ["kube-kubelet-10-0-0-1"]);
}

#[test]
fn a_missing_ca_takes_everything_it_signed_with_it() {
    let input = cluster(&[1], &[1], &[], KeyAlgorithm::EcdsaP256);
    let (b1, _) = ensure(&input, &CertBundle::new(), now()).unwrap();
    let mut without_ca = b1.clone();
    without_ca.remove(KUBE_CA);
    let (b2, changes) = ensure(&input, &without_ca, now()).unwrap();
    assert_eq!(changes.added, [KUBE_CA]);
    let mut regenerated = names(&changes.regenerated);
    regenerated.sort_unstable();
    let mut want = vec![
        KUBE_APISERVER,
        SERVICE_ACCOUNT_TOKEN,
        KUBE_CONTROLLER_MANAGER,
        KUBE_SCHEDULER,
        KUBE_PROXY,
        KUBE_NODE,
        KUBE_ADMIN,
        "kube-etcd-10-0-0-1",
    ];
    want.sort_unstable();
    assert_eq!(regenerated, want);
    assert!(
        changes
            .regenerated
            .iter()
            .all(|(_, r)| r == "kube-ca was regenerated")
    );
    // Keys are kept (the SA key in particular), signatures come from the new CA.
    assert_eq!(
        b1[SERVICE_ACCOUNT_TOKEN].key_pem,
        b2[SERVICE_ACCOUNT_TOKEN].key_pem
    );
    let ca_der = cert_der(&b2, KUBE_CA);
    let ca = parsed(&ca_der);
    let node_der = cert_der(&b2, KUBE_NODE);
    parsed(&node_der)
        .verify_signature(Some(ca.public_key()))
        .unwrap();
    // The request-header CA and what it signed are untouched.
    assert_eq!(b1[API_PROXY_CLIENT], b2[API_PROXY_CLIENT]);
}

#[test]
fn a_broken_ca_is_a_state_error_not_a_silent_new_ca() {
    let input = cluster(&[1], &[1], &[], KeyAlgorithm::EcdsaP256);
    let (mut bundle, _) = ensure(&input, &CertBundle::new(), now()).unwrap();
    bundle.get_mut(KUBE_CA).unwrap().certificate_pem = "garbage".into();
    let err = ensure(&input, &bundle, now()).unwrap_err();
    assert_eq!(crate::error::kind_of(&err), ErrorKind::State);
    assert!(err.to_string().contains("[kube-ca]"), "{err}");

    let (mut bundle, _) = ensure(&input, &CertBundle::new(), now()).unwrap();
    let other = Key::generate(KeyAlgorithm::EcdsaP256).unwrap();
    bundle.get_mut(KUBE_CA).unwrap().key_pem = other.pem;
    let err = ensure(&input, &bundle, now()).unwrap_err();
    assert!(err.to_string().contains("does not match"), "{err}");
}

#[test]
fn wrong_leaves_are_reissued_with_a_reason() {
    let input = cluster(&[1], &[1], &[], KeyAlgorithm::EcdsaP256);
    let (good, _) = ensure(&input, &CertBundle::new(), now()).unwrap();
    let mut bad = good.clone();
    // kube-proxy with kube-scheduler's certificate: wrong key and wrong CN.
    bad.get_mut(KUBE_PROXY).unwrap().certificate_pem = good[KUBE_SCHEDULER].certificate_pem.clone();
    bad.get_mut(KUBE_NODE).unwrap().key_pem = String::new();
    bad.get_mut(KUBE_ADMIN).unwrap().certificate_pem = "junk".into();
    let (fixed, changes) = ensure(&input, &bad, now()).unwrap();
    let reasons: BTreeMap<&str, &str> = changes
        .regenerated
        .iter()
        .map(|(n, r)| (n.as_str(), r.as_str()))
        .collect();
    assert_eq!(reasons.len(), 3, "{reasons:?}");
    assert_eq!(
        reasons[KUBE_PROXY],
        "private key does not match the certificate"
    );
    assert_eq!(reasons[KUBE_NODE], "private key missing");
    assert!(reasons[KUBE_ADMIN].starts_with("certificate unreadable"));
    // kube-proxy kept its key; the fixed bundle is stable.
    assert_eq!(fixed[KUBE_PROXY].key_pem, good[KUBE_PROXY].key_pem);
    let (again, changes) = ensure(&input, &fixed, now()).unwrap();
    assert!(changes.is_empty());
    assert_eq!(again, fixed);
}

#[test]
fn zero_validity_is_a_config_error() {
    let mut input = cluster(&[1], &[1], &[], KeyAlgorithm::EcdsaP256);
    input.validity_days = 0;
    let err = ensure(&input, &CertBundle::new(), now()).unwrap_err();
    assert_eq!(crate::error::kind_of(&err), ErrorKind::Config);
}

#[test]
fn expired_leaves_are_reissued() {
    let mut input = cluster(&[1], &[1], &[], KeyAlgorithm::EcdsaP256);
    let (mut bundle, _) = ensure(&input, &CertBundle::new(), now()).unwrap();
    input.validity_days = 1;
    bundle.remove(KUBE_SCHEDULER);
    let (short, _) = ensure(&input, &bundle, now()).unwrap();
    input.validity_days = 3650;
    let later = now() + Duration::days(2);
    let (_, changes) = ensure(&input, &short, later).unwrap();
    assert_eq!(names(&changes.regenerated), [KUBE_SCHEDULER]);
    assert!(changes.regenerated[0].1.starts_with("expired on"));
}

#[test]
fn the_service_account_key_is_never_replaced_while_present() {
    let input = cluster(&[1], &[1], &[], KeyAlgorithm::EcdsaP256);
    let (mut bundle, _) = ensure(&input, &CertBundle::new(), now()).unwrap();
    // Old RKE1 clusters store the API server certificate and key as the SA token entry.
    let api = bundle[KUBE_APISERVER].clone();
    let sa = bundle.get_mut(SERVICE_ACCOUNT_TOKEN).unwrap();
    sa.certificate_pem = api.certificate_pem.clone();
    sa.key_pem = api.key_pem.clone();
    let (kept, changes) = ensure(&input, &bundle, now()).unwrap();
    assert!(changes.is_empty(), "{changes:?}");
    assert_eq!(kept[SERVICE_ACCOUNT_TOKEN].key_pem, api.key_pem);

    bundle.get_mut(SERVICE_ACCOUNT_TOKEN).unwrap().key_pem =
        "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n".into();
    let err = ensure(&input, &bundle, now()).unwrap_err();
    assert!(
        err.to_string().contains("[kube-service-account-token]"),
        "{err}"
    );
    assert!(err.to_string().contains("never replaced"), "{err}");

    // A key without a certificate gets a certificate for that same key.
    let (mut bundle, _) = ensure(&input, &CertBundle::new(), now()).unwrap();
    let key = bundle[SERVICE_ACCOUNT_TOKEN].key_pem.clone();
    bundle
        .get_mut(SERVICE_ACCOUNT_TOKEN)
        .unwrap()
        .certificate_pem
        .clear();
    let (fixed, changes) = ensure(&input, &bundle, now()).unwrap();
    assert_eq!(names(&changes.regenerated), [SERVICE_ACCOUNT_TOKEN]);
    assert_eq!(fixed[SERVICE_ACCOUNT_TOKEN].key_pem, key);
}

#[test]
fn foreign_entries_are_carried_over_and_ca_without_key_cannot_sign() {
    let input = cluster(&[1], &[1], &[], KeyAlgorithm::EcdsaP256);
    let (mut bundle, _) = ensure(&input, &CertBundle::new(), now()).unwrap();
    let client = CertificatePki::rke1_entry(ETCD_CLIENT, "", "", "C".into(), "K".into());
    bundle.insert(ETCD_CLIENT.into(), client.clone());
    let (out, changes) = ensure(&input, &bundle, now()).unwrap();
    assert!(changes.is_empty());
    assert_eq!(out[ETCD_CLIENT], client);

    // Custom-certificate bundles may come without the CA key: fine until something must be signed.
    bundle.get_mut(KUBE_CA).unwrap().key_pem.clear();
    let (_, changes) = ensure(&input, &bundle, now()).unwrap();
    assert!(changes.is_empty());
    let more = cluster(&[1], &[1, 2], &[], KeyAlgorithm::EcdsaP256);
    let err = ensure(&more, &bundle, now()).unwrap_err();
    assert!(
        err.to_string().contains("kube-ca has no private key"),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("[kube-etcd-10-0-0-1]: cannot issue (SANs changed"),
        "{err}"
    );
}

#[test]
fn admin_config_follows_cluster_name_and_first_control_plane() {
    let mut input = cluster(&[1], &[1], &[], KeyAlgorithm::EcdsaP256);
    let (b1, _) = ensure(&input, &CertBundle::new(), now()).unwrap();
    input.cluster_name = "staging".into();
    input.control_plane.insert(0, node(9));
    let (b2, changes) = ensure(&input, &b1, now()).unwrap();
    assert_eq!(names(&changes.regenerated), [KUBE_APISERVER]);
    assert_eq!(
        b1[KUBE_ADMIN].certificate_pem,
        b2[KUBE_ADMIN].certificate_pem
    );
    assert!(
        b2[KUBE_ADMIN]
            .config
            .contains("server: \"https://1.1.1.9:6443\"")
    );
    assert!(
        b2[KUBE_ADMIN]
            .config
            .contains("current-context: \"staging\"")
    );
    assert_eq!(
        b2[KUBE_ADMIN].config,
        kubeconfig::admin_kubeconfig(&b2, "https://1.1.1.9:6443", "staging").unwrap()
    );
    assert_eq!(api_server_url("fd00::1"), "https://[fd00::1]:6443");
}
