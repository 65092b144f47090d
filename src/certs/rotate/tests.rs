use super::*;
use crate::certs::input::KeyAlgorithm;
use crate::certs::test_support::{cluster, now};

/// cp 1, etcd 1+2, worker 3, kubelet serving certificates on.
fn fixture() -> (PkiInput, CertBundle) {
    let mut input = cluster(&[1], &[1, 2], &[3], KeyAlgorithm::EcdsaP256);
    input.generate_serving_certificate = true;
    let (bundle, _) = ensure(&input, &CertBundle::new(), now()).unwrap();
    (input, bundle)
}

/// Entries whose certificate or key differ (or that exist on one side only).
fn changed(a: &CertBundle, b: &CertBundle) -> BTreeSet<String> {
    a.keys()
        .chain(b.keys())
        .filter(|k| {
            a.get(*k).map(|e| (&e.certificate_pem, &e.key_pem))
                != b.get(*k).map(|e| (&e.certificate_pem, &e.key_pem))
        })
        .cloned()
        .collect()
}

/// Entries whose key changed.
fn new_keys(a: &CertBundle, b: &CertBundle) -> BTreeSet<String> {
    a.keys()
        .filter(|k| b.get(*k).is_some_and(|e| e.key_pem != a[*k].key_pem))
        .cloned()
        .collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

fn request(services: &[RotateService], rotate_ca: bool) -> RotateRequest {
    RotateRequest {
        services: services.to_vec(),
        rotate_ca,
    }
}

#[test]
fn service_names_round_trip_and_map_to_their_certificates() {
    for s in RotateService::ALL {
        assert_eq!(RotateService::from_name(s.name()), Some(s));
    }
    assert_eq!(RotateService::from_name("kube-admin"), None);
    let (_, bundle) = fixture();
    let entries = |s| RotateService::entries(s, &bundle);
    assert_eq!(entries(RotateService::KubeApiserver), ["kube-apiserver"]);
    assert_eq!(
        entries(RotateService::KubeControllerManager),
        ["kube-controller-manager"]
    );
    assert_eq!(entries(RotateService::KubeScheduler), ["kube-scheduler"]);
    assert_eq!(entries(RotateService::KubeProxy), ["kube-proxy"]);
    assert_eq!(
        entries(RotateService::Kubelet),
        [
            "kube-node",
            "kube-kubelet-10-0-0-1",
            "kube-kubelet-10-0-0-2",
            "kube-kubelet-10-0-0-3"
        ]
    );
    assert_eq!(
        entries(RotateService::Etcd),
        ["kube-etcd-10-0-0-1", "kube-etcd-10-0-0-2"]
    );
}

#[test]
fn one_service_changes_only_its_certificates_with_new_keys() {
    let (input, before) = fixture();
    let req = request(&[RotateService::KubeApiserver], false);
    let (after, changes) = rotate(&input, &before, &req, now()).unwrap();
    assert_eq!(changed(&before, &after), set(&["kube-apiserver"]));
    assert_eq!(new_keys(&before, &after), set(&["kube-apiserver"]));
    assert_eq!(changes.added, ["kube-apiserver"]);
    // Every other entry is byte-identical, metadata and kubeconfigs included.
    for (name, entry) in &before {
        if name != KUBE_APISERVER {
            assert_eq!(entry, &after[name], "{name}");
        }
    }

    let req = request(&[RotateService::Etcd, RotateService::Kubelet], false);
    let (after, changes) = rotate(&input, &before, &req, now()).unwrap();
    // What `rke cert rotate` lists is exactly what differs.
    assert_eq!(
        changes.names().into_iter().collect::<BTreeSet<_>>(),
        changed(&before, &after)
    );
    assert_eq!(
        new_keys(&before, &after),
        set(&[
            "kube-etcd-10-0-0-1",
            "kube-etcd-10-0-0-2",
            "kube-node",
            "kube-kubelet-10-0-0-1",
            "kube-kubelet-10-0-0-2",
            "kube-kubelet-10-0-0-3"
        ])
    );
}

#[test]
fn all_services_keep_the_cas_and_the_service_account_key() {
    let (input, before) = fixture();
    let (after, changes) = rotate(&input, &before, &RotateRequest::default(), now()).unwrap();
    assert_eq!(
        changes.names().into_iter().collect::<BTreeSet<_>>(),
        changed(&before, &after)
    );
    let untouched: BTreeSet<String> = before
        .keys()
        .filter(|k| !changed(&before, &after).contains(*k))
        .cloned()
        .collect();
    assert_eq!(
        untouched,
        set(&[KUBE_CA, REQUEST_HEADER_CA, SERVICE_ACCOUNT_TOKEN])
    );
    let rotated = new_keys(&before, &after);
    assert_eq!(rotated.len(), before.len() - 3, "{rotated:?}");
    assert!(rotated.contains(KUBE_ADMIN) && rotated.contains(API_PROXY_CLIENT));
    assert_eq!(
        after[SERVICE_ACCOUNT_TOKEN].key_pem,
        before[SERVICE_ACCOUNT_TOKEN].key_pem
    );
    // The new certificates chain to the unchanged CAs.
    verify_current_cas(&input, &after).unwrap();
}

#[test]
fn rotate_ca_renews_everything_including_the_service_account_key() {
    let (input, mut before) = fixture();
    // External etcd client material is not ours to rotate.
    let mut foreign = before[KUBE_NODE].clone();
    foreign.name = ETCD_CLIENT.to_string();
    before.insert(ETCD_CLIENT.to_string(), foreign);
    let req = request(&[RotateService::KubeProxy], true);
    let (after, _) = rotate(&input, &before, &req, now()).unwrap();
    let mut want: BTreeSet<String> = before.keys().cloned().collect();
    want.remove(ETCD_CLIENT);
    assert_eq!(new_keys(&before, &after), want);
    assert_eq!(after[ETCD_CLIENT], before[ETCD_CLIENT]);
    assert_ne!(
        after[KUBE_CA].certificate_pem,
        before[KUBE_CA].certificate_pem
    );
    verify_current_cas(&input, &after).unwrap();
    // The old CA no longer verifies the new certificates.
    let mut mixed = after.clone();
    mixed.insert(KUBE_CA.to_string(), before[KUBE_CA].clone());
    assert!(verify_current_cas(&input, &mixed).is_err());
}

#[test]
fn a_ca_that_does_not_verify_its_certificates_is_refused_without_rotate_ca() {
    let (input, mut bundle) = fixture();
    let (other, _) = ensure(&input, &CertBundle::new(), now()).unwrap();
    bundle.insert(KUBE_APISERVER.to_string(), other[KUBE_APISERVER].clone());
    let err = rotate(
        &input,
        &bundle,
        &request(&[RotateService::KubeScheduler], false),
        now(),
    )
    .unwrap_err();
    let text = format!("{err:#}");
    assert!(text.contains("--rotate-ca"), "{text}");
    assert!(text.contains("[kube-apiserver]"), "{text}");
    assert_eq!(crate::error::kind_of(&err), ErrorKind::State);
    let (fixed, _) = rotate(&input, &bundle, &request(&[], true), now()).unwrap();
    verify_current_cas(&input, &fixed).unwrap();
}

#[test]
fn an_empty_current_bundle_is_refused() {
    let (input, _) = fixture();
    let err = rotate(&input, &CertBundle::new(), &request(&[], false), now()).unwrap_err();
    assert!(err.to_string().contains("rke up"), "{err}");
}
