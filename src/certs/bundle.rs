//! The certificate bundle as stored in `cluster.rkestate` (`certificatesBundle`).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One entry of RKE1's `certificatesBundle` (Go `pki.CertificatePKI`), with RKE1's JSON keys.
///
/// `path`, `keyPath` and `configPath` are where the files live on nodes
/// (`/etc/kubernetes/ssl/...`); the `*EnvName` fields are RKE1's legacy deployment variable
/// names, kept so RKE1 can read a state file we write.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CertificatePki {
    #[serde(rename = "certificatePEM")]
    pub certificate_pem: String,
    #[serde(rename = "keyPEM")]
    pub key_pem: String,
    pub config: String,
    pub name: String,
    #[serde(rename = "commonName")]
    pub common_name: String,
    #[serde(rename = "ouName")]
    pub ou_name: String,
    #[serde(rename = "envName")]
    pub env_name: String,
    pub path: String,
    #[serde(rename = "keyEnvName")]
    pub key_env_name: String,
    #[serde(rename = "keyPath")]
    pub key_path: String,
    #[serde(rename = "configEnvName")]
    pub config_env_name: String,
    #[serde(rename = "configPath")]
    pub config_path: String,
}

/// Bundle name (`kube-ca`, `kube-etcd-10-0-0-1`, ...) → certificate. Sorted for stable output.
pub type CertBundle = BTreeMap<String, CertificatePki>;
