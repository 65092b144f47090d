//! Reading certificates: PEM chains, the facts the PKI compares (subject, SANs, usages,
//! validity), and signature checks against an issuer.

use super::input::San;
use anyhow::{Context, bail};
use std::collections::BTreeSet;
use std::net::IpAddr;
use time::OffsetDateTime;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

/// Every `CERTIFICATE` block of a PEM text, in order (leaf first for a chain).
pub fn pem_chain(text: &str) -> anyhow::Result<Vec<Vec<u8>>> {
    let blocks = pem::parse_many(text).context("not valid PEM")?;
    let ders: Vec<Vec<u8>> = blocks
        .into_iter()
        .filter(|b| b.tag() == "CERTIFICATE")
        .map(pem::Pem::into_contents)
        .collect();
    if ders.is_empty() {
        bail!("no CERTIFICATE block found");
    }
    Ok(ders)
}

/// The first certificate of a PEM text, DER-encoded.
pub fn first_cert(text: &str) -> anyhow::Result<Vec<u8>> {
    Ok(pem_chain(text)?.swap_remove(0))
}

pub fn parse(der: &[u8]) -> anyhow::Result<X509Certificate<'_>> {
    let (rest, cert) = X509Certificate::from_der(der).map_err(|e| anyhow::anyhow!("{e}"))?;
    if !rest.is_empty() {
        bail!("trailing data after the certificate");
    }
    Ok(cert)
}

/// What the PKI compares and reports about one certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertFacts {
    pub common_name: String,
    pub organizations: Vec<String>,
    pub subject: String,
    pub issuer: String,
    pub sans: BTreeSet<San>,
    pub server_auth: bool,
    pub client_auth: bool,
    pub is_ca: bool,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    /// Lower-case hex, colon separated (as `openssl x509 -serial` groups it).
    pub serial: String,
}

pub fn facts(cert: &X509Certificate<'_>) -> anyhow::Result<CertFacts> {
    let subject = cert.subject();
    let common_name = subject
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .unwrap_or_default()
        .to_string();
    let organizations = subject
        .iter_organization()
        .filter_map(|o| o.as_str().ok().map(str::to_string))
        .collect();
    let sans = cert
        .subject_alternative_name()
        .map_err(|e| anyhow::anyhow!("bad subjectAltName: {e}"))?
        .map(|ext| sans_of(&ext.value.general_names))
        .unwrap_or_default();
    let (server_auth, client_auth) = match cert
        .extended_key_usage()
        .map_err(|e| anyhow::anyhow!("bad extendedKeyUsage: {e}"))?
    {
        Some(eku) => (eku.value.server_auth, eku.value.client_auth),
        None => (false, false),
    };
    Ok(CertFacts {
        common_name,
        organizations,
        subject: subject.to_string(),
        issuer: cert.issuer().to_string(),
        sans,
        server_auth,
        client_auth,
        is_ca: cert.is_ca(),
        not_before: cert.validity().not_before.to_datetime(),
        not_after: cert.validity().not_after.to_datetime(),
        serial: cert.raw_serial_as_string(),
    })
}

/// DNS and IP entries of a subjectAltName (other kinds play no part in Kubernetes TLS).
pub fn sans_of(names: &[GeneralName<'_>]) -> BTreeSet<San> {
    let mut sans = BTreeSet::new();
    for name in names {
        match name {
            GeneralName::DNSName(d) => {
                sans.insert(San::Dns((*d).to_string()));
            }
            GeneralName::IPAddress(bytes) => {
                if let Some(ip) = ip_from_bytes(bytes) {
                    sans.insert(San::parse(&ip.to_string()));
                }
            }
            _ => {}
        }
    }
    sans
}

fn ip_from_bytes(b: &[u8]) -> Option<IpAddr> {
    match b.len() {
        4 => Some(IpAddr::from(<[u8; 4]>::try_from(b).ok()?)),
        16 => Some(IpAddr::from(<[u8; 16]>::try_from(b).ok()?)),
        _ => None,
    }
}

/// Check that `child` names `issuer` as its issuer and carries a valid signature by its key.
pub fn verify_signed_by(
    child: &X509Certificate<'_>,
    issuer: &X509Certificate<'_>,
) -> anyhow::Result<()> {
    // Byte equality is the norm (issuers copy the CA's subject); the text form tolerates
    // re-encoded string types, as OpenSSL's canonical comparison does.
    if child.issuer().as_raw() != issuer.subject().as_raw()
        && child.issuer().to_string() != issuer.subject().to_string()
    {
        bail!(
            "issued by [{}], not by [{}]",
            child.issuer(),
            issuer.subject()
        );
    }
    child
        .verify_signature(Some(issuer.public_key()))
        .map_err(|e| anyhow::anyhow!("signature does not verify with [{}]: {e}", issuer.subject()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair};

    fn ca(cn: &str) -> (String, Issuer<'static, KeyPair>) {
        let key = KeyPair::generate().unwrap();
        let mut p = CertificateParams::default();
        p.distinguished_name = rcgen::DistinguishedName::new();
        p.distinguished_name.push(DnType::CommonName, cn);
        p.is_ca = IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let pem = p.self_signed(&key).unwrap().pem();
        (pem, Issuer::new(p, key))
    }

    #[test]
    fn facts_and_signatures() {
        let (ca_pem, issuer) = ca("test-ca");
        let (other_pem, _) = ca("test-ca");
        let leaf_key = KeyPair::generate().unwrap();
        let mut p = CertificateParams::new(vec!["a.example".into(), "10.0.0.1".into()]).unwrap();
        p.distinguished_name = rcgen::DistinguishedName::new();
        p.distinguished_name.push(DnType::CommonName, "leaf");
        p.distinguished_name
            .push(DnType::OrganizationName, "system:nodes");
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let leaf_pem = p.signed_by(&leaf_key, &issuer).unwrap().pem();

        let chain = pem_chain(&format!("{leaf_pem}{ca_pem}")).unwrap();
        assert_eq!(chain.len(), 2);
        let leaf = parse(&chain[0]).unwrap();
        let f = facts(&leaf).unwrap();
        assert_eq!(f.common_name, "leaf");
        assert_eq!(f.organizations, ["system:nodes"]);
        assert_eq!(f.subject, "CN=leaf, O=system:nodes");
        assert_eq!(f.issuer, "CN=test-ca");
        assert!(f.client_auth && !f.server_auth && !f.is_ca);
        let want: BTreeSet<San> = [San::parse("a.example"), San::parse("10.0.0.1")].into();
        assert_eq!(f.sans, want);

        let ca_der = first_cert(&ca_pem).unwrap();
        verify_signed_by(&leaf, &parse(&ca_der).unwrap()).unwrap();
        // Same subject, different key: the signature check must catch it.
        let other_der = first_cert(&other_pem).unwrap();
        let err = verify_signed_by(&leaf, &parse(&other_der).unwrap()).unwrap_err();
        assert!(err.to_string().contains("signature"), "{err}");
    }

    #[test]
    fn pem_without_certificates_is_an_error() {
        assert!(pem_chain("").is_err());
        assert!(pem_chain(&super::super::keys::encode_pem("X", vec![1])).is_err());
    }
}
