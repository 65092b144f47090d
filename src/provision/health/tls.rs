//! TLS client settings for one health check, built from the cluster's certificate bundle.
//! aws-lc-rs is the only crypto provider in the tree, so it is named explicitly.

use std::sync::Arc;

use anyhow::{Context, Result, anyhow};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, aws_lc_rs};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::certs::{CertBundle, CertificatePki};
use crate::provision::spec::HealthCheck;

fn provider() -> Arc<CryptoProvider> {
    Arc::new(aws_lc_rs::default_provider())
}

/// The client configuration `check` asks for: the named CA as the only trust root (or no
/// verification when it names none: self-signed component certificates), and the named client
/// certificate when it names one.
pub fn client_config(check: &HealthCheck, bundle: &CertBundle) -> Result<ClientConfig> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?;
    let builder = match &check.verify_ca {
        Some(ca) => {
            let entry = bundle_entry(bundle, ca)?;
            let mut roots = RootCertStore::empty();
            for cert in certificates(entry)? {
                roots
                    .add(cert)
                    .with_context(|| format!("certificate {ca:?} cannot serve as a trust root"))?;
            }
            builder.with_root_certificates(roots)
        }
        None => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyServerCert { provider })),
    };
    match &check.client_cert {
        Some(name) => {
            let entry = bundle_entry(bundle, name)?;
            let key = PrivateKeyDer::from_pem_slice(entry.key_pem.as_bytes())
                .with_context(|| format!("certificate {name:?}: unreadable private key"))?;
            builder
                .with_client_auth_cert(certificates(entry)?, key)
                .with_context(|| format!("certificate {name:?} as a TLS client certificate"))
        }
        None => Ok(builder.with_no_client_auth()),
    }
}

/// The name the server's certificate must carry: the URL's host (DNS name or IP literal).
pub fn server_name(host: &str) -> Result<ServerName<'static>> {
    ServerName::try_from(host.to_string())
        .map_err(|e| anyhow!("{host:?} is not a valid TLS server name: {e}"))
}

fn bundle_entry<'a>(bundle: &'a CertBundle, name: &str) -> Result<&'a CertificatePki> {
    bundle
        .get(name)
        .ok_or_else(|| anyhow!("the certificate bundle has no {name:?}"))
}

fn certificates(entry: &CertificatePki) -> Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_slice_iter(entry.certificate_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("certificate {:?}: unreadable PEM", entry.name))?;
    if certs.is_empty() {
        return Err(anyhow!(
            "certificate {:?}: no certificate in its PEM",
            entry.name
        ));
    }
    Ok(certs)
}

/// For components that serve a certificate they signed themselves (controller-manager and
/// scheduler secure ports): the handshake still proves the peer holds the key for what it
/// presented, but nothing is trusted about who it is. Only used for a yes/no health answer.
#[derive(Debug)]
struct AcceptAnyServerCert {
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for AcceptAnyServerCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
