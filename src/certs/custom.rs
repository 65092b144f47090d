//! User-provided certificates (`rke up --custom-certs --cert-dir DIR`, RKE1
//! `ReadCertsAndKeysFromDir` + `ValidateBundleContent`): `<name>.pem` and `<name>-key.pem` per
//! bundle entry, validated before anything is deployed.

use super::bundle::{CertBundle, CertificatePki};
use super::ensure::api_server_url;
use super::input::{PkiInput, San};
use super::keys::{Key, canonical_key_pem, encode_pem};
use super::names::*;
use super::spec::{self, SignerRef};
use super::{kubeconfig, x509};
use crate::error::{ErrorKind, classified};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn custom_error(path: &Path, what: impl std::fmt::Display) -> anyhow::Error {
    classified(
        ErrorKind::State,
        format!("custom certificate [{}]: {what}", path.display()),
    )
}

/// One certificate file (and optionally its key) as read from the directory.
#[derive(Clone)]
struct Loaded {
    cert_path: PathBuf,
    chain: Vec<Vec<u8>>,
    key_pem: Option<String>,
}

impl Loaded {
    fn certificate_pem(&self) -> String {
        // RKE1 re-encodes the parsed chain: only CERTIFICATE blocks survive.
        self.chain
            .iter()
            .map(|der| encode_pem("CERTIFICATE", der.clone()))
            .collect()
    }
}

fn read(path: &Path) -> anyhow::Result<String> {
    crate::limits::read_file_to_string(path, crate::limits::SMALL_FILE)
        .map_err(|e| custom_error(path, format!("cannot read: {e}")))
}

/// Read `<name>.pem` (required when `required`) and `<name>-key.pem` (required when
/// `key_required`), checking that the key belongs to the certificate.
fn load(
    dir: &Path,
    name: &str,
    required: bool,
    key_required: bool,
) -> anyhow::Result<Option<Loaded>> {
    let cert_path = dir.join(format!("{name}.pem"));
    let key_path = dir.join(format!("{name}-key.pem"));
    if !cert_path.exists() {
        if required {
            return Err(custom_error(&cert_path, "missing"));
        }
        return Ok(None);
    }
    let chain = x509::pem_chain(&read(&cert_path)?)
        .map_err(|e| custom_error(&cert_path, format!("{e:#}")))?;
    let leaf = x509::parse(&chain[0]).map_err(|e| custom_error(&cert_path, format!("{e:#}")))?;
    let key_pem = if key_path.exists() {
        let text = read(&key_path)?;
        let key = Key::from_pem(&text).map_err(|e| custom_error(&key_path, format!("{e:#}")))?;
        if !key.matches(&leaf) {
            return Err(custom_error(
                &key_path,
                format!("does not match certificate {}", cert_path.display()),
            ));
        }
        Some(canonical_key_pem(&text).map_err(|e| custom_error(&key_path, format!("{e:#}")))?)
    } else if key_required {
        return Err(custom_error(&key_path, "missing"));
    } else {
        None
    };
    Ok(Some(Loaded {
        cert_path,
        chain,
        key_pem,
    }))
}

/// The certificate must chain to the CA: each certificate in its file is signed by the next
/// (intermediates), and one of them is the CA or is signed by it.
fn verify_chain(loaded: &Loaded, ca: &Loaded, ca_name: &str) -> anyhow::Result<()> {
    let ca_der = &ca.chain[0];
    let ca_cert = x509::parse(ca_der).map_err(|e| custom_error(&ca.cert_path, e))?;
    let path = &loaded.cert_path;
    let certs = loaded
        .chain
        .iter()
        .map(|d| x509::parse(d))
        .collect::<anyhow::Result<Vec<_>>>()
        .map_err(|e| custom_error(path, e))?;
    for (i, cert) in certs.iter().enumerate() {
        if cert.as_raw() == ca_der.as_slice() || x509::verify_signed_by(cert, &ca_cert).is_ok() {
            return Ok(());
        }
        match certs.get(i + 1) {
            Some(next) if x509::verify_signed_by(cert, next).is_ok() => {}
            _ => {
                let why = x509::verify_signed_by(&certs[0], &ca_cert)
                    .err()
                    .map(|e| format!("{e:#}"))
                    .unwrap_or_default();
                return Err(custom_error(
                    path,
                    format!("not signed by {ca_name}: {why}"),
                ));
            }
        }
    }
    Err(custom_error(path, format!("does not chain to {ca_name}")))
}

/// RKE1's `getCommonName` / `getOUName` for entries read from a directory.
fn custom_entry(name: &str, loaded: &Loaded) -> CertificatePki {
    let (cn, ou) = match name {
        KUBE_NODE => (KUBE_NODE_CN, KUBE_NODE_ORG),
        KUBE_ADMIN => (KUBE_ADMIN, KUBE_ADMIN_ORG),
        _ => (name, ""),
    };
    CertificatePki::rke1_entry(
        name,
        cn,
        ou,
        loaded.certificate_pem(),
        loaded.key_pem.clone().unwrap_or_default(),
    )
}

/// Load and validate a custom certificate directory into a bundle.
pub fn load_custom_certs(dir: &Path, input: &PkiInput) -> anyhow::Result<CertBundle> {
    if !dir.is_dir() {
        return Err(custom_error(dir, "directory not found"));
    }
    let mut bundle = CertBundle::new();
    let kube_ca = load(dir, KUBE_CA, true, false)?.expect("required");
    bundle.insert(KUBE_CA.into(), custom_entry(KUBE_CA, &kube_ca));

    let request_header_ca = match load(dir, REQUEST_HEADER_CA, false, false)? {
        Some(ca) => {
            bundle.insert(
                REQUEST_HEADER_CA.into(),
                custom_entry(REQUEST_HEADER_CA, &ca),
            );
            ca
        }
        None => {
            tracing::warn!(
                "custom certificates: no {REQUEST_HEADER_CA}.pem in {}, using kube-ca as the \
                 request header CA",
                dir.display()
            );
            bundle.insert(
                REQUEST_HEADER_CA.into(),
                CertificatePki::rke1_entry(
                    REQUEST_HEADER_CA,
                    REQUEST_HEADER_CA,
                    "",
                    kube_ca.certificate_pem(),
                    String::new(),
                ),
            );
            kube_ca.clone()
        }
    };

    for spec in spec::leaf_specs(input)? {
        if spec.key_only {
            continue;
        }
        let loaded = load(dir, &spec.name, true, true)?.expect("required");
        let (ca, ca_name) = match spec.signer {
            SignerRef::KubeCa => (&kube_ca, KUBE_CA),
            SignerRef::RequestHeaderCa => (&request_header_ca, REQUEST_HEADER_CA),
        };
        verify_chain(&loaded, ca, ca_name)?;
        if !spec.subject.sans.is_empty() {
            warn_missing_sans(&loaded, &spec.subject.sans);
        }
        bundle.insert(spec.name.clone(), custom_entry(&spec.name, &loaded));
    }

    let sa = match load(dir, SERVICE_ACCOUNT_TOKEN, false, true)? {
        Some(loaded) => custom_entry(SERVICE_ACCOUNT_TOKEN, &loaded),
        None => {
            // RKE1 falls back to the API server key for signing service-account tokens.
            let api = &bundle[KUBE_APISERVER];
            CertificatePki::rke1_entry(
                SERVICE_ACCOUNT_TOKEN,
                SERVICE_ACCOUNT_TOKEN,
                "",
                api.certificate_pem.clone(),
                api.key_pem.clone(),
            )
        }
    };
    bundle.insert(SERVICE_ACCOUNT_TOKEN.into(), sa);

    if let Some(cp) = input.control_plane.first() {
        let config = kubeconfig::admin_kubeconfig(
            &bundle,
            &api_server_url(&cp.address),
            &input.cluster_name,
        )?;
        let admin = bundle.get_mut(KUBE_ADMIN).expect("loaded above");
        admin.config = config;
        admin.config_path = input.local_kubeconfig_path.clone();
    }
    Ok(bundle)
}

/// RKE1 does not check SANs of custom certificates; a warning names what clients will miss.
fn warn_missing_sans(loaded: &Loaded, want: &[San]) {
    let have = x509::parse(&loaded.chain[0])
        .and_then(|c| x509::facts(&c))
        .map(|f| f.sans)
        .unwrap_or_default();
    let missing: BTreeSet<String> = want
        .iter()
        .filter(|s| !have.contains(s))
        .map(San::to_string)
        .collect();
    if !missing.is_empty() {
        tracing::warn!(
            "custom certificate {} lacks SANs the cluster uses: {}",
            loaded.cert_path.display(),
            missing.into_iter().collect::<Vec<_>>().join(", ")
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::certs::ensure::ensure;
    use crate::certs::input::KeyAlgorithm;
    use crate::certs::issue::{self, Signer};
    use crate::certs::test_support::{cluster, now, write_dir};

    fn setup() -> (PkiInput, CertBundle, tempfile::TempDir) {
        let input = cluster(&[1], &[1, 2], &[], KeyAlgorithm::EcdsaP256);
        let (bundle, _) = ensure(&input, &CertBundle::new(), now()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        write_dir(&bundle, dir.path());
        (input, bundle, dir)
    }

    fn err_text(dir: &Path, input: &PkiInput) -> String {
        let err = load_custom_certs(dir, input).unwrap_err();
        assert_eq!(crate::error::kind_of(&err), ErrorKind::State);
        err.to_string()
    }

    #[test]
    fn a_complete_directory_loads_like_rke1() {
        let (input, bundle, dir) = setup();
        let loaded = load_custom_certs(dir.path(), &input).unwrap();
        assert_eq!(
            loaded.keys().collect::<Vec<_>>(),
            bundle.keys().collect::<Vec<_>>()
        );
        for (name, e) in &loaded {
            assert_eq!(e.certificate_pem, bundle[name].certificate_pem, "{name}");
            assert_eq!(e.key_pem, bundle[name].key_pem, "{name}");
        }
        // RKE1's getCommonName/getOUName for directory entries.
        assert_eq!(loaded[KUBE_APISERVER].common_name, "kube-apiserver");
        assert_eq!(loaded[KUBE_NODE].common_name, "system:node");
        assert_eq!(loaded[KUBE_NODE].ou_name, "system:nodes");
        assert_eq!(loaded[KUBE_ADMIN].ou_name, "system:masters");
        assert_eq!(loaded[KUBE_ADMIN].config, bundle[KUBE_ADMIN].config);
        assert_eq!(loaded[KUBE_ADMIN].config_path, "./kube_config_cluster.yml");
        assert!(
            loaded[KUBE_SCHEDULER]
                .config
                .contains("client-certificate: /etc/kubernetes/ssl/kube-scheduler.pem")
        );
        // A loaded custom bundle needs nothing from `ensure`.
        let (_, changes) = ensure(&input, &loaded, now()).unwrap();
        assert!(changes.is_empty(), "{changes:?}");
    }

    #[test]
    fn missing_files_are_named() {
        let (input, _, dir) = setup();
        std::fs::remove_file(dir.path().join("kube-etcd-10-0-0-2.pem")).unwrap();
        let text = err_text(dir.path(), &input);
        assert!(text.contains("kube-etcd-10-0-0-2.pem]: missing"), "{text}");

        let (input, _, dir) = setup();
        std::fs::remove_file(dir.path().join("kube-scheduler-key.pem")).unwrap();
        let text = err_text(dir.path(), &input);
        assert!(text.contains("kube-scheduler-key.pem]: missing"), "{text}");

        let (input, _, dir) = setup();
        std::fs::remove_file(dir.path().join("kube-ca.pem")).unwrap();
        assert!(err_text(dir.path(), &input).contains("kube-ca.pem]: missing"));

        let text = err_text(&dir.path().join("nope"), &input);
        assert!(text.contains("nope]: directory not found"), "{text}");
    }

    #[test]
    fn a_key_that_does_not_match_is_named() {
        let (input, bundle, dir) = setup();
        std::fs::write(
            dir.path().join("kube-proxy-key.pem"),
            &bundle[KUBE_NODE].key_pem,
        )
        .unwrap();
        let text = err_text(dir.path(), &input);
        assert!(
            text.contains("kube-proxy-key.pem]: does not match certificate"),
            "{text}"
        );
    }

    #[test]
    fn a_certificate_from_another_ca_is_named() {
        let (input, _, dir) = setup();
        let (foreign, _) = ensure(&input, &CertBundle::new(), now()).unwrap();
        let name = KUBE_CONTROLLER_MANAGER;
        std::fs::write(
            dir.path().join(format!("{name}.pem")),
            &foreign[name].certificate_pem,
        )
        .unwrap();
        std::fs::write(
            dir.path().join(format!("{name}-key.pem")),
            &foreign[name].key_pem,
        )
        .unwrap();
        let text = err_text(dir.path(), &input);
        assert!(
            text.contains("kube-controller-manager.pem]: not signed by kube-ca: signature"),
            "{text}"
        );
    }

    #[test]
    fn request_header_ca_and_sa_key_fall_back_like_rke1() {
        let (input, bundle, dir) = setup();
        for f in [
            "kube-apiserver-requestheader-ca.pem",
            "kube-apiserver-requestheader-ca-key.pem",
            "kube-service-account-token.pem",
            "kube-service-account-token-key.pem",
        ] {
            std::fs::remove_file(dir.path().join(f)).unwrap();
        }
        // Without its own CA the proxy client must come from kube-ca.
        let ca = &bundle[KUBE_CA];
        let signer = Signer::from_entry(
            KUBE_CA,
            &ca.certificate_pem,
            Some(Key::from_pem(&ca.key_pem).unwrap()),
        )
        .unwrap();
        let key = Key::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let spec = spec::leaf_specs(&input)
            .unwrap()
            .into_iter()
            .find(|s| s.name == API_PROXY_CLIENT)
            .unwrap();
        let pem = issue::signed_leaf(&spec.subject, &key, &signer, now(), 365).unwrap();
        std::fs::write(dir.path().join(format!("{API_PROXY_CLIENT}.pem")), pem).unwrap();
        std::fs::write(
            dir.path().join(format!("{API_PROXY_CLIENT}-key.pem")),
            &key.pem,
        )
        .unwrap();

        let loaded = load_custom_certs(dir.path(), &input).unwrap();
        let rh = &loaded[REQUEST_HEADER_CA];
        assert_eq!(rh.certificate_pem, loaded[KUBE_CA].certificate_pem);
        assert!(rh.key_pem.is_empty());
        assert_eq!(rh.common_name, REQUEST_HEADER_CA);
        let sa = &loaded[SERVICE_ACCOUNT_TOKEN];
        assert_eq!(sa.key_pem, loaded[KUBE_APISERVER].key_pem);
        assert_eq!(sa.common_name, SERVICE_ACCOUNT_TOKEN);
    }

    #[test]
    fn certificates_from_an_intermediate_ca_are_accepted() {
        let (input, bundle, dir) = setup();
        let ca = &bundle[KUBE_CA];
        let root = Signer::from_entry(
            KUBE_CA,
            &ca.certificate_pem,
            Some(Key::from_pem(&ca.key_pem).unwrap()),
        )
        .unwrap();
        let int_key = Key::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let mut p = rcgen::CertificateParams::default();
        p.distinguished_name = rcgen::DistinguishedName::new();
        p.distinguished_name
            .push(rcgen::DnType::CommonName, "intermediate");
        p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        p.not_before = now();
        p.not_after = now() + time::Duration::days(100);
        let int_pem = p
            .signed_by(&int_key.pair, root.issuer.as_ref().unwrap())
            .unwrap()
            .pem();
        let intermediate = Signer::from_entry(KUBE_CA, &int_pem, Some(int_key)).unwrap();
        let spec = spec::leaf_specs(&input)
            .unwrap()
            .into_iter()
            .find(|s| s.name == KUBE_SCHEDULER)
            .unwrap();
        let key = Key::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let pem = issue::signed_leaf(&spec.subject, &key, &intermediate, now(), 30).unwrap();
        std::fs::write(dir.path().join("kube-scheduler.pem"), &pem).unwrap();
        std::fs::write(dir.path().join("kube-scheduler-key.pem"), &key.pem).unwrap();
        let loaded = load_custom_certs(dir.path(), &input).unwrap();
        assert_eq!(
            x509::pem_chain(&loaded[KUBE_SCHEDULER].certificate_pem)
                .unwrap()
                .len(),
            2
        );

        // Without the intermediate in the file, the chain is broken.
        let leaf_only = encode_pem("CERTIFICATE", x509::first_cert(&pem).unwrap());
        std::fs::write(dir.path().join("kube-scheduler.pem"), leaf_only).unwrap();
        let text = err_text(dir.path(), &input);
        assert!(
            text.contains("kube-scheduler.pem]: not signed by kube-ca"),
            "{text}"
        );
    }
}
