//! The TLS material an etcd client presents: the cluster CA to verify the member's serving
//! certificate, and the client certificate etcd's `--client-cert-auth` demands.

use crate::certs::{CertBundle, KUBE_CA, KUBE_NODE};
use crate::error::{ErrorKind, classified};

/// PEM strings for one etcd client. RKE1 uses `kube-ca` and the `kube-node` client
/// certificate for every etcd call it makes (`services/etcd.go`).
#[derive(Clone, PartialEq, Eq)]
pub struct EtcdTls {
    pub ca_pem: String,
    pub cert_pem: String,
    pub key_pem: String,
}

impl std::fmt::Debug for EtcdTls {
    // Keeps private keys out of logs and panic messages.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EtcdTls").finish_non_exhaustive()
    }
}

impl EtcdTls {
    pub fn new(ca_pem: String, cert_pem: String, key_pem: String) -> Self {
        EtcdTls {
            ca_pem,
            cert_pem,
            key_pem,
        }
    }

    /// `kube-ca` + `kube-node` from the cluster's certificate bundle.
    pub fn from_bundle(bundle: &CertBundle) -> anyhow::Result<Self> {
        let entry = |name: &str| {
            bundle.get(name).ok_or_else(|| {
                classified(
                    ErrorKind::State,
                    format!("certificate bundle has no {name} certificate, needed for etcd"),
                )
            })
        };
        let ca = entry(KUBE_CA)?;
        let node = entry(KUBE_NODE)?;
        if node.key_pem.trim().is_empty() {
            return Err(classified(
                ErrorKind::State,
                format!("certificate bundle has no private key for {KUBE_NODE}, needed for etcd"),
            ));
        }
        Ok(EtcdTls::new(
            ca.certificate_pem.clone(),
            node.certificate_pem.clone(),
            node.key_pem.clone(),
        ))
    }

    /// From PEM files, as the snapshot agent finds them on the etcd node. Read afresh for every
    /// connection, so renewed certificates are picked up without a restart.
    pub fn from_pem_files(
        ca: &std::path::Path,
        cert: &std::path::Path,
        key: &std::path::Path,
    ) -> anyhow::Result<Self> {
        let read = |path: &std::path::Path| {
            crate::limits::read_file_to_string(path, crate::limits::SMALL_FILE).map_err(|e| {
                classified(
                    ErrorKind::State,
                    format!("cannot read etcd TLS file {}: {e}", path.display()),
                )
            })
        };
        Ok(EtcdTls::new(read(ca)?, read(cert)?, read(key)?))
    }

    pub(crate) fn tonic_config(&self, server_name: &str) -> tonic::transport::ClientTlsConfig {
        tonic::transport::ClientTlsConfig::new()
            .ca_certificate(tonic::transport::Certificate::from_pem(&self.ca_pem))
            .identity(tonic::transport::Identity::from_pem(
                &self.cert_pem,
                &self.key_pem,
            ))
            .domain_name(server_name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::certs::CertificatePki;

    fn entry(cert: &str, key: &str) -> CertificatePki {
        CertificatePki {
            certificate_pem: cert.into(),
            key_pem: key.into(),
            ..Default::default()
        }
    }

    #[test]
    fn takes_kube_ca_and_kube_node() {
        let mut b = CertBundle::new();
        b.insert(KUBE_CA.into(), entry("CA", "CAKEY"));
        b.insert(KUBE_NODE.into(), entry("NODE", "NODEKEY"));
        let tls = EtcdTls::from_bundle(&b).unwrap();
        assert_eq!(
            tls,
            EtcdTls::new("CA".into(), "NODE".into(), "NODEKEY".into())
        );
        assert!(!format!("{tls:?}").contains("NODEKEY"));
    }

    #[test]
    fn reads_pem_files_and_names_a_missing_one() {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in [("ca", "CA"), ("cert", "CERT"), ("key", "KEY")] {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        let p = |n: &str| dir.path().join(n);
        let tls = EtcdTls::from_pem_files(&p("ca"), &p("cert"), &p("key")).unwrap();
        assert_eq!(tls, EtcdTls::new("CA".into(), "CERT".into(), "KEY".into()));
        let err = EtcdTls::from_pem_files(&p("ca"), &p("cert"), &p("nope"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("nope"), "{err}");
    }

    #[test]
    fn names_the_missing_certificate() {
        let mut b = CertBundle::new();
        b.insert(KUBE_CA.into(), entry("CA", "CAKEY"));
        let err = EtcdTls::from_bundle(&b).unwrap_err();
        assert!(
            err.to_string().contains("no kube-node certificate"),
            "{err}"
        );
        b.insert(KUBE_NODE.into(), entry("NODE", ""));
        let err = EtcdTls::from_bundle(&b).unwrap_err();
        assert!(
            err.to_string().contains("no private key for kube-node"),
            "{err}"
        );
    }
}
