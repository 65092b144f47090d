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
    std::fs::read_to_string(path).map_err(|e| custom_error(path, format!("cannot read: {e}")))
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
                return Err(custom_error(path, format!("not signed by {ca_name}: {why}")));
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
            bundle.insert(REQUEST_HEADER_CA.into(), custom_entry(REQUEST_HEADER_CA, &ca));
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
