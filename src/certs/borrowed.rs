//! A short-lived `kube-admin` credential made from a CA found on a control-plane node, for
//! reaching the API when the state file (and with it the admin certificate) is lost. It lives
//! in memory only and is never written anywhere.

use time::OffsetDateTime;

use super::bundle::{CertBundle, CertificatePki};
use super::input::KeyAlgorithm;
use super::issue::{Signer, Subject, signed_leaf};
use super::keys::Key;
use super::names::{KUBE_ADMIN, KUBE_ADMIN_ORG, KUBE_CA};

/// A bundle holding `kube-ca` and a one-day `kube-admin` (group `system:masters`) signed by it.
pub fn admin_from_ca(ca_cert_pem: &str, ca_key_pem: &str) -> anyhow::Result<CertBundle> {
    let ca_key = Key::from_pem(ca_key_pem)?;
    let signer = Signer::from_entry(KUBE_CA, ca_cert_pem, Some(ca_key))?;
    let key = Key::generate(KeyAlgorithm::EcdsaP256)?;
    let subject = Subject {
        common_name: KUBE_ADMIN.to_string(),
        organization: Some(KUBE_ADMIN_ORG.to_string()),
        server: false,
        sans: Vec::new(),
    };
    let cert = signed_leaf(&subject, &key, &signer, OffsetDateTime::now_utc(), 1)?;
    let entry = |name: &str, certificate_pem: String, key_pem: String| CertificatePki {
        certificate_pem,
        key_pem,
        name: name.to_string(),
        ..CertificatePki::default()
    };
    Ok([
        (
            KUBE_CA.to_string(),
            entry(KUBE_CA, ca_cert_pem.to_string(), String::new()),
        ),
        (KUBE_ADMIN.to_string(), entry(KUBE_ADMIN, cert, key.pem)),
    ]
    .into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::certs::issue::self_signed_ca;
    use crate::certs::x509;

    #[test]
    fn the_admin_is_signed_by_the_given_ca_and_in_system_masters() {
        let ca_key = Key::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let ca = self_signed_ca("kube-ca", &ca_key, OffsetDateTime::now_utc(), 10).unwrap();
        let bundle = admin_from_ca(&ca, &ca_key.pem).unwrap();
        assert_eq!(bundle[KUBE_CA].certificate_pem, ca);
        let admin = &bundle[KUBE_ADMIN];
        let der = x509::first_cert(&admin.certificate_pem).unwrap();
        let cert = x509::parse(&der).unwrap();
        let subject = cert.subject().to_string();
        assert!(subject.contains("CN=kube-admin"), "{subject}");
        assert!(subject.contains("O=system:masters"), "{subject}");
        let ca_der = x509::first_cert(&ca).unwrap();
        let ca_cert = x509::parse(&ca_der).unwrap();
        x509::verify_signed_by(&cert, &ca_cert).unwrap();
        assert!(Key::from_pem(&admin.key_pem).unwrap().matches(&cert));
        assert!(admin_from_ca(&ca, "not a key").is_err());
    }
}
