//! The certificate bundle as stored in `cluster.rkestate` (`certificatesBundle`).

use super::{kubeconfig, names};
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

impl CertificatePki {
    /// An entry filled as RKE1's `ToCertObject` fills it: `commonName` defaults to
    /// `system:<name>`, env names and node paths derive from `name`, and components that RKE1
    /// gives a kubeconfig get one pointing at `https://127.0.0.1:6443` (cluster `local`).
    pub fn rke1_entry(
        name: &str,
        common_name: &str,
        ou_name: &str,
        certificate_pem: String,
        key_pem: String,
    ) -> CertificatePki {
        let common_name = if common_name.is_empty() {
            names::default_cn(name)
        } else {
            common_name.to_string()
        };
        let env_name = names::env_name(name);
        let path = names::cert_path(name);
        let key_path = names::key_path(name);
        let (config, config_path, config_env_name) = if names::has_component_kubeconfig(name) {
            (
                kubeconfig::component_kubeconfig(
                    names::LOCAL_API_URL,
                    names::LOCAL_CLUSTER,
                    name,
                    &names::cert_path(names::KUBE_CA),
                    &path,
                    &key_path,
                ),
                names::config_path(name),
                format!("KUBECFG_{env_name}"),
            )
        } else {
            (String::new(), String::new(), String::new())
        };
        CertificatePki {
            certificate_pem,
            key_pem,
            config,
            name: name.to_string(),
            common_name,
            ou_name: ou_name.to_string(),
            key_env_name: format!("{env_name}_KEY"),
            env_name,
            path,
            key_path,
            config_env_name,
            config_path,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_metadata_matches_rke1_to_cert_object() {
        let e = CertificatePki::rke1_entry("kube-proxy", "", "", "C".into(), "K".into());
        assert_eq!(e.common_name, "system:kube-proxy");
        assert_eq!(e.env_name, "KUBE_PROXY");
        assert_eq!(e.key_env_name, "KUBE_PROXY_KEY");
        assert_eq!(e.config_env_name, "KUBECFG_KUBE_PROXY");
        assert_eq!(e.path, "/etc/kubernetes/ssl/kube-proxy.pem");
        assert_eq!(e.key_path, "/etc/kubernetes/ssl/kube-proxy-key.pem");
        assert_eq!(e.config_path, "/etc/kubernetes/ssl/kubecfg-kube-proxy.yaml");
        assert!(
            e.config
                .contains("client-certificate: /etc/kubernetes/ssl/kube-proxy.pem")
        );
        assert!(
            e.config
                .contains("certificate-authority: /etc/kubernetes/ssl/kube-ca.pem")
        );

        let e = CertificatePki::rke1_entry("kube-etcd-10-0-0-1", "", "", "C".into(), "K".into());
        assert_eq!(e.common_name, "system:kube-etcd-10-0-0-1");
        assert!(e.config.is_empty() && e.config_path.is_empty() && e.config_env_name.is_empty());

        let e = CertificatePki::rke1_entry(
            "kube-node",
            "system:node",
            "system:nodes",
            "C".into(),
            "K".into(),
        );
        assert_eq!(
            (e.common_name.as_str(), e.ou_name.as_str()),
            ("system:node", "system:nodes")
        );
    }

    #[test]
    fn json_keys_are_rke1s() {
        let e = CertificatePki::rke1_entry("kube-ca", "", "", "C".into(), "K".into());
        let v = serde_json::to_value(&e).unwrap();
        for key in [
            "certificatePEM",
            "keyPEM",
            "config",
            "name",
            "commonName",
            "ouName",
            "envName",
            "path",
            "keyEnvName",
            "keyPath",
            "configEnvName",
            "configPath",
        ] {
            assert!(v.get(key).is_some(), "{key}");
        }
        assert_eq!(v.as_object().unwrap().len(), 12);
    }
}
