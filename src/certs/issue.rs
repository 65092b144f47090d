//! Issuing certificates with rcgen: self-signed CAs, CA-signed leaves and CSRs. Every field
//! rcgen would otherwise default (validity 1975-4096, DN "rcgen self signed cert", serial =
//! hash of the key) is set explicitly.

use super::input::San;
use super::keys::{Key, encode_pem};
use super::x509;
use anyhow::Context;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, PKCS_RSA_SHA256, SanType, SerialNumber,
};
use time::{Duration, OffsetDateTime};

/// Backdating absorbs small clock differences between this machine and the nodes.
const BACKDATE: Duration = Duration::minutes(1);

/// What a certificate says about its subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    pub common_name: String,
    pub organization: Option<String>,
    /// serverAuth in addition to clientAuth.
    pub server: bool,
    pub sans: Vec<San>,
}

/// A CA able to sign: its certificate (DER and the bundle's PEM text) and rcgen issuer.
pub struct Signer {
    pub name: &'static str,
    pub der: Vec<u8>,
    /// The CA entry's `certificatePEM`, appended to leaves as their chain (as RKE1 does).
    pub chain_pem: String,
    pub not_after: OffsetDateTime,
    pub issuer: Option<Issuer<'static, KeyPair>>,
}

impl Signer {
    /// Build from a CA bundle entry; without a private key the CA can only verify.
    pub fn from_entry(
        name: &'static str,
        certificate_pem: &str,
        key: Option<Key>,
    ) -> anyhow::Result<Signer> {
        let der = x509::first_cert(certificate_pem)?;
        let not_after = x509::facts(&x509::parse(&der)?)?.not_after;
        let issuer = key
            .map(|k| Issuer::from_ca_cert_der(&der.clone().into(), k.pair))
            .transpose()
            .with_context(|| format!("{name}: cannot use the CA certificate for signing"))?;
        Ok(Signer {
            name,
            der,
            chain_pem: certificate_pem.to_string(),
            not_after,
            issuer,
        })
    }
}

/// 16 random bytes, top bit cleared so the DER INTEGER is positive, never zero.
fn random_serial() -> SerialNumber {
    let mut bytes: [u8; 16] = rand::random();
    bytes[0] &= 0x7f;
    bytes[0] |= 0x01;
    SerialNumber::from_slice(&bytes)
}

fn distinguished_name(common_name: &str, organization: Option<&str>) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    if let Some(o) = organization {
        dn.push(DnType::OrganizationName, o);
    }
    dn.push(DnType::CommonName, common_name);
    dn
}

fn base_params(
    subject: &DistinguishedName,
    now: OffsetDateTime,
    not_after: OffsetDateTime,
) -> CertificateParams {
    let mut p = CertificateParams::default();
    p.distinguished_name = subject.clone();
    p.not_before = now - BACKDATE;
    p.not_after = not_after;
    p.serial_number = Some(random_serial());
    p
}

/// A self-signed CA (`kube-ca`, `kube-apiserver-requestheader-ca`); returns its PEM.
pub fn self_signed_ca(
    common_name: &str,
    key: &Key,
    now: OffsetDateTime,
    validity_days: u32,
) -> anyhow::Result<String> {
    let not_after = now + Duration::days(i64::from(validity_days));
    let mut p = base_params(&distinguished_name(common_name, None), now, not_after);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
    ];
    let cert = p
        .self_signed(&key.pair)
        .with_context(|| format!("self-signing CA {common_name}"))?;
    Ok(encode_pem("CERTIFICATE", cert.der().to_vec()))
}

fn san_types(sans: &[San]) -> anyhow::Result<Vec<SanType>> {
    sans.iter()
        .map(|s| {
            Ok(match s {
                San::Ip(ip) => SanType::IpAddress(*ip),
                San::Dns(d) => SanType::DnsName(
                    d.clone()
                        .try_into()
                        .with_context(|| format!("[{d}] is not a valid DNS name for a SAN"))?,
                ),
            })
        })
        .collect()
}

fn ext_key_usages(server: bool) -> Vec<ExtendedKeyUsagePurpose> {
    let mut usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    if server {
        usages.push(ExtendedKeyUsagePurpose::ServerAuth);
    }
    usages
}

/// A leaf signed by `signer`; returns the leaf PEM followed by the signer's chain (RKE1 stores
/// `certificatePEM` as leaf + CA chain). The leaf never outlives its CA.
pub fn signed_leaf(
    subject: &Subject,
    key: &Key,
    signer: &Signer,
    now: OffsetDateTime,
    validity_days: u32,
) -> anyhow::Result<String> {
    let issuer = signer
        .issuer
        .as_ref()
        .with_context(|| format!("{} has no private key in the bundle", signer.name))?;
    if signer.not_after <= now {
        anyhow::bail!(
            "{} expired on {}; rotate it (rke cert rotate --rotate-ca)",
            signer.name,
            signer.not_after.date()
        );
    }
    let not_after = (now + Duration::days(i64::from(validity_days))).min(signer.not_after);
    let dn = distinguished_name(&subject.common_name, subject.organization.as_deref());
    let mut p = base_params(&dn, now, not_after);
    p.subject_alt_names = san_types(&subject.sans)?;
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    // keyEncipherment only means something for RSA keys (TLS RSA key exchange).
    if key.pair.algorithm() == &PKCS_RSA_SHA256 {
        p.key_usages.push(KeyUsagePurpose::KeyEncipherment);
    }
    p.extended_key_usages = ext_key_usages(subject.server);
    p.use_authority_key_identifier_extension = true;
    let cert = p
        .signed_by(&key.pair, issuer)
        .with_context(|| format!("signing {} with {}", subject.common_name, signer.name))?;
    let mut pem = encode_pem("CERTIFICATE", cert.der().to_vec());
    pem.push_str(&signer.chain_pem);
    Ok(pem)
}

/// A PKCS#10 request with the subject, SANs and extended key usages (as RKE1's
/// `GenerateCertSigningRequestAndKey`); returns its PEM.
pub fn signing_request(subject: &Subject, key: &Key) -> anyhow::Result<String> {
    let mut p = CertificateParams::default();
    p.distinguished_name =
        distinguished_name(&subject.common_name, subject.organization.as_deref());
    p.subject_alt_names = san_types(&subject.sans)?;
    p.extended_key_usages = ext_key_usages(subject.server);
    let csr = p
        .serialize_request(&key.pair)
        .with_context(|| format!("creating the CSR for {}", subject.common_name))?;
    Ok(encode_pem("CERTIFICATE REQUEST", csr.der().to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::certs::input::KeyAlgorithm;

    fn now() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap()
    }

    #[test]
    fn ca_has_explicit_fields() {
        let key = Key::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let pem = self_signed_ca("kube-ca", &key, now(), 3650).unwrap();
        let der = x509::first_cert(&pem).unwrap();
        let cert = x509::parse(&der).unwrap();
        let f = x509::facts(&cert).unwrap();
        assert_eq!(f.subject, "CN=kube-ca");
        assert!(f.is_ca);
        assert_eq!(f.not_before, now() - BACKDATE);
        assert_eq!(f.not_after, now() + Duration::days(3650));
        let ku = cert.key_usage().unwrap().unwrap().value;
        assert!(ku.key_cert_sign() && ku.crl_sign() && ku.digital_signature());
        assert!(cert.tbs_certificate.serial.bits() > 100);
        x509::verify_signed_by(&cert, &cert).unwrap();
    }

    #[test]
    fn leaf_is_capped_by_ca_lifetime_and_carries_aki() {
        let ca_key = Key::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let ca_pem = self_signed_ca("kube-ca", &ca_key, now(), 10).unwrap();
        let signer = Signer::from_entry("kube-ca", &ca_pem, Some(ca_key)).unwrap();
        let key = Key::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let subject = Subject {
            common_name: "kube-etcd".into(),
            organization: None,
            server: true,
            sans: vec![San::parse("10.0.0.1")],
        };
        let pem = signed_leaf(&subject, &key, &signer, now(), 3650).unwrap();
        let chain = x509::pem_chain(&pem).unwrap();
        assert_eq!(chain.len(), 2);
        assert_eq!(chain[1], signer.der);
        let leaf = x509::parse(&chain[0]).unwrap();
        let f = x509::facts(&leaf).unwrap();
        assert_eq!(f.not_after, signer.not_after);
        assert!(f.server_auth && f.client_auth);
        let aki = leaf
            .iter_extensions()
            .find_map(|e| match e.parsed_extension() {
                x509_parser::extensions::ParsedExtension::AuthorityKeyIdentifier(a) => {
                    a.key_identifier.as_ref().map(|k| k.0.to_vec())
                }
                _ => None,
            })
            .expect("authority key identifier");
        let ca = x509::parse(&signer.der).unwrap();
        let ski = ca
            .iter_extensions()
            .find_map(|e| match e.parsed_extension() {
                x509_parser::extensions::ParsedExtension::SubjectKeyIdentifier(k) => {
                    Some(k.0.to_vec())
                }
                _ => None,
            })
            .expect("subject key identifier on the CA");
        assert_eq!(aki, ski);
    }

    #[test]
    fn signing_needs_the_ca_key() {
        let ca_key = Key::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let ca_pem = self_signed_ca("kube-ca", &ca_key, now(), 10).unwrap();
        let signer = Signer::from_entry("kube-ca", &ca_pem, None).unwrap();
        let key = Key::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let subject = Subject {
            common_name: "x".into(),
            organization: None,
            server: false,
            sans: vec![],
        };
        let err = signed_leaf(&subject, &key, &signer, now(), 1).unwrap_err();
        assert!(
            err.to_string().contains("kube-ca has no private key"),
            "{err}"
        );

        // An expired CA must not hand out certificates that are born expired.
        let ca_key = Key::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let ca_pem = self_signed_ca("kube-ca", &ca_key, now(), 10).unwrap();
        let signer = Signer::from_entry("kube-ca", &ca_pem, Some(ca_key)).unwrap();
        let later = now() + Duration::days(11);
        let err = signed_leaf(&subject, &key, &signer, later, 1).unwrap_err();
        assert!(err.to_string().contains("kube-ca expired on"), "{err}");
    }
}
