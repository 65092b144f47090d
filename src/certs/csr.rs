//! Certificate signing requests for an external CA (`rke cert generate-csr`, RKE1
//! `GenerateRKECSRs`): `<name>-csr.pem` and `<name>-key.pem` per certificate, reusing keys and
//! still-valid CSRs already in the directory.

use super::PkiInput;
use super::input::San;
use super::keys::Key;
use super::spec::{self, LeafSpec};
use super::{issue, x509};
use crate::error::{ErrorKind, classified};
use anyhow::Context;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use x509_parser::extensions::ParsedExtension;
use x509_parser::prelude::{FromDer, X509CertificationRequest};

/// RKE1 writes both with 0640. Private keys get 0600 here: nobody but the owner needs them.
const KEY_MODE: u32 = 0o600;
const CSR_MODE: u32 = 0o640;

fn file_error(path: &Path, what: impl std::fmt::Display) -> anyhow::Error {
    classified(ErrorKind::State, format!("[{}]: {what}", path.display()))
}

/// Write CSRs (and keys where none exist) for every certificate an external CA must sign.
/// Returns the files written, in generation order; files already correct are left untouched.
pub fn generate_csrs(input: &PkiInput, dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("creating certificate directory {}", dir.display()))?;
    let mut written = Vec::new();
    for spec in spec::leaf_specs(input)? {
        // The service-account key is ours, not a CA's: RKE1 makes no CSR for it either.
        if spec.key_only {
            continue;
        }
        let key_path = dir.join(format!("{}-key.pem", spec.name));
        let key = if key_path.exists() {
            let text = crate::limits::read_file_to_string(&key_path, crate::limits::SMALL_FILE)
                .map_err(|e| file_error(&key_path, format!("cannot read: {e}")))?;
            Key::from_pem(&text).map_err(|e| file_error(&key_path, format!("{e:#}")))?
        } else {
            let key = Key::generate(input.key_algorithm)?;
            write_file(&key_path, &key.pem, KEY_MODE)?;
            written.push(key_path);
            key
        };
        let csr_path = dir.join(format!("{}-csr.pem", spec.name));
        if !csr_is_current(&csr_path, &spec, &key) {
            let csr = issue::signing_request(&spec.subject, &key)?;
            write_file(&csr_path, &csr, CSR_MODE)?;
            written.push(csr_path);
        }
    }
    Ok(written)
}

/// An existing CSR is kept when it has the right subject, SANs and public key.
fn csr_is_current(path: &Path, spec: &LeafSpec, key: &Key) -> bool {
    let Ok(text) = crate::limits::read_file_to_string(path, crate::limits::SMALL_FILE) else {
        return false;
    };
    let Ok(block) = pem::parse(&text) else {
        return false;
    };
    let Ok((_, csr)) = X509CertificationRequest::from_der(block.contents()) else {
        return false;
    };
    let info = &csr.certification_request_info;
    let cn = info
        .subject
        .iter_common_name()
        .next()
        .and_then(|c| c.as_str().ok());
    let orgs: Vec<&str> = info
        .subject
        .iter_organization()
        .filter_map(|o| o.as_str().ok())
        .collect();
    let want_orgs: Vec<&str> = spec
        .subject
        .organization
        .iter()
        .map(String::as_str)
        .collect();
    let want_sans: BTreeSet<San> = spec.subject.sans.iter().cloned().collect();
    cn == Some(spec.subject.common_name.as_str())
        && orgs == want_orgs
        && csr_sans(&csr) == want_sans
        && info.subject_pki.subject_public_key.data.as_ref() == key.pair.public_key_raw()
}

fn csr_sans(csr: &X509CertificationRequest<'_>) -> BTreeSet<San> {
    let mut sans = BTreeSet::new();
    for ext in csr.requested_extensions().into_iter().flatten() {
        if let ParsedExtension::SubjectAlternativeName(san) = ext {
            sans.extend(x509::sans_of(&san.general_names));
        }
    }
    sans
}

fn write_file(path: &Path, contents: &str, mode: u32) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(path)
        .map_err(|e| file_error(path, format!("cannot write: {e}")))?;
    // `mode` only applies on creation; tighten files that already existed too.
    f.set_permissions(std::fs::Permissions::from_mode(mode))
        .and_then(|()| f.write_all(contents.as_bytes()))
        .map_err(|e| file_error(path, format!("cannot write: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::certs::input::KeyAlgorithm;
    use crate::certs::test_support::cluster;
    use std::os::unix::fs::PermissionsExt;
    use x509_parser::extensions::ParsedExtension;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    fn file_names(paths: &[PathBuf]) -> Vec<String> {
        paths
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn csrs_and_keys_for_every_externally_signed_certificate() {
        let input = cluster(&[1], &[1, 2], &[], KeyAlgorithm::EcdsaP256);
        let dir = tempfile::tempdir().unwrap();
        let written = generate_csrs(&input, dir.path()).unwrap();
        let names = file_names(&written);
        for n in [
            "kube-apiserver",
            "kube-controller-manager",
            "kube-scheduler",
            "kube-proxy",
            "kube-node",
            "kube-admin",
            "kube-apiserver-proxy-client",
            "kube-etcd-10-0-0-1",
            "kube-etcd-10-0-0-2",
        ] {
            assert!(names.contains(&format!("{n}-key.pem")), "{n}");
            assert!(names.contains(&format!("{n}-csr.pem")), "{n}");
            assert_eq!(mode(&dir.path().join(format!("{n}-key.pem"))), 0o600, "{n}");
            assert_eq!(mode(&dir.path().join(format!("{n}-csr.pem"))), 0o640, "{n}");
        }
        assert_eq!(written.len(), 18);
        assert!(
            !names
                .iter()
                .any(|n| n.contains("service-account") || n.contains("kube-ca"))
        );

        let text = std::fs::read_to_string(dir.path().join("kube-apiserver-csr.pem")).unwrap();
        let block = pem::parse(&text).unwrap();
        assert_eq!(block.tag(), "CERTIFICATE REQUEST");
        let (_, csr) = X509CertificationRequest::from_der(block.contents()).unwrap();
        csr.verify_signature().unwrap();
        assert_eq!(
            csr.certification_request_info.subject.to_string(),
            "CN=kube-apiserver"
        );
        let sans = csr_sans(&csr);
        assert!(
            sans.contains(&San::parse("10.43.0.1"))
                && sans.contains(&San::parse("api.example.com"))
        );
        let eku = csr
            .requested_extensions()
            .unwrap()
            .find_map(|e| match e {
                ParsedExtension::ExtendedKeyUsage(u) => Some((u.server_auth, u.client_auth)),
                _ => None,
            })
            .unwrap();
        assert_eq!(eku, (true, true));

        let text = std::fs::read_to_string(dir.path().join("kube-node-csr.pem")).unwrap();
        let block = pem::parse(&text).unwrap();
        let (_, csr) = X509CertificationRequest::from_der(block.contents()).unwrap();
        assert_eq!(
            csr.certification_request_info.subject.to_string(),
            "O=system:nodes, CN=system:node"
        );

        // Nothing to do the second time.
        assert!(generate_csrs(&input, dir.path()).unwrap().is_empty());
    }

    #[test]
    fn existing_keys_are_reused_and_stale_csrs_rewritten() {
        let input = cluster(&[1], &[1], &[], KeyAlgorithm::EcdsaP256);
        let dir = tempfile::tempdir().unwrap();
        let own = Key::generate(KeyAlgorithm::Rsa2048).unwrap();
        std::fs::write(dir.path().join("kube-admin-key.pem"), &own.pem).unwrap();
        let written = file_names(&generate_csrs(&input, dir.path()).unwrap());
        assert!(!written.contains(&"kube-admin-key.pem".to_string()));
        assert!(written.contains(&"kube-admin-csr.pem".to_string()));
        let text = std::fs::read_to_string(dir.path().join("kube-admin-csr.pem")).unwrap();
        let block = pem::parse(&text).unwrap();
        let (_, csr) = X509CertificationRequest::from_der(block.contents()).unwrap();
        assert_eq!(
            csr.certification_request_info
                .subject_pki
                .subject_public_key
                .data
                .as_ref(),
            own.pair.public_key_raw()
        );

        let etcd_key = std::fs::read(dir.path().join("kube-etcd-10-0-0-1-key.pem")).unwrap();
        let grown = cluster(&[1], &[1, 2], &[], KeyAlgorithm::EcdsaP256);
        let written = file_names(&generate_csrs(&grown, dir.path()).unwrap());
        assert_eq!(
            written,
            [
                "kube-etcd-10-0-0-1-csr.pem",
                "kube-etcd-10-0-0-2-key.pem",
                "kube-etcd-10-0-0-2-csr.pem"
            ]
        );
        assert_eq!(
            std::fs::read(dir.path().join("kube-etcd-10-0-0-1-key.pem")).unwrap(),
            etcd_key
        );

        std::fs::write(dir.path().join("kube-proxy-key.pem"), "junk").unwrap();
        let err = generate_csrs(&grown, dir.path()).unwrap_err();
        assert!(err.to_string().contains("kube-proxy-key.pem]"), "{err}");
    }
}
