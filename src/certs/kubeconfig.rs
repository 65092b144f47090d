//! Kubeconfigs, text-identical to RKE1's templates (`pki/kubeconfig.go`): component configs
//! that reference files on the node, and the admin config with embedded data.

use super::bundle::CertBundle;
use super::keys::encode_pem;
use super::names::{KUBE_ADMIN, KUBE_CA};
use super::x509;
use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// RKE1 `getKubeConfigX509`: a kubeconfig pointing at certificate files on the node.
pub fn component_kubeconfig(
    server_url: &str,
    cluster_name: &str,
    component: &str,
    ca_path: &str,
    cert_path: &str,
    key_path: &str,
) -> String {
    format!(
        r#"apiVersion: v1
kind: Config
clusters:
- cluster:
    api-version: v1
    certificate-authority: {ca_path}
    server: "{server_url}"
  name: "{cluster_name}"
contexts:
- context:
    cluster: "{cluster_name}"
    user: "{component}-{cluster_name}"
  name: "{cluster_name}"
current-context: "{cluster_name}"
users:
- name: "{component}-{cluster_name}"
  user:
    client-certificate: {cert_path}
    client-key: {key_path}"#
    )
}

/// RKE1 `GetKubeConfigX509WithData`: a kubeconfig with base64-embedded PEMs.
pub fn embedded_kubeconfig(
    server_url: &str,
    cluster_name: &str,
    component: &str,
    ca_pem: &str,
    cert_pem: &str,
    key_pem: &str,
) -> String {
    let ca = STANDARD.encode(ca_pem);
    let crt = STANDARD.encode(cert_pem);
    let key = STANDARD.encode(key_pem);
    format!(
        r#"apiVersion: v1
kind: Config
clusters:
- cluster:
    api-version: v1
    certificate-authority-data: {ca}
    server: "{server_url}"
  name: "{cluster_name}"
contexts:
- context:
    cluster: "{cluster_name}"
    user: "{component}-{cluster_name}"
  name: "{cluster_name}"
current-context: "{cluster_name}"
users:
- name: "{component}-{cluster_name}"
  user:
    client-certificate-data: {crt}
    client-key-data: {key}"#
    )
}

/// The admin kubeconfig (`kube_config_cluster.yml`): cluster and context `cluster_name`, user
/// `kube-admin-<cluster_name>`, embedded kube-ca certificate and kube-admin certificate and key.
/// Only the first certificate of each entry is embedded, as RKE1 does.
pub fn admin_kubeconfig(
    bundle: &CertBundle,
    server_url: &str,
    cluster_name: &str,
) -> anyhow::Result<String> {
    let ca = bundle
        .get(KUBE_CA)
        .context("the certificate bundle has no kube-ca")?;
    let admin = bundle
        .get(KUBE_ADMIN)
        .context("the certificate bundle has no kube-admin")?;
    if admin.key_pem.is_empty() {
        anyhow::bail!("the kube-admin entry has no private key");
    }
    let ca_pem = encode_pem(
        "CERTIFICATE",
        x509::first_cert(&ca.certificate_pem).context("kube-ca certificate")?,
    );
    let admin_pem = encode_pem(
        "CERTIFICATE",
        x509::first_cert(&admin.certificate_pem).context("kube-admin certificate")?,
    );
    Ok(embedded_kubeconfig(
        server_url,
        cluster_name,
        KUBE_ADMIN,
        &ca_pem,
        &admin_pem,
        &admin.key_pem,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn component_config_matches_rke1_template() {
        let got = component_kubeconfig(
            "https://127.0.0.1:6443",
            "local",
            "kube-node",
            "/etc/kubernetes/ssl/kube-ca.pem",
            "/etc/kubernetes/ssl/kube-node.pem",
            "/etc/kubernetes/ssl/kube-node-key.pem",
        );
        let want = "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    api-version: v1\n    \
certificate-authority: /etc/kubernetes/ssl/kube-ca.pem\n    server: \"https://127.0.0.1:6443\"\n  \
name: \"local\"\ncontexts:\n- context:\n    cluster: \"local\"\n    user: \"kube-node-local\"\n  \
name: \"local\"\ncurrent-context: \"local\"\nusers:\n- name: \"kube-node-local\"\n  user:\n    \
client-certificate: /etc/kubernetes/ssl/kube-node.pem\n    client-key: /etc/kubernetes/ssl/kube-node-key.pem";
        assert_eq!(got, want);
    }

    #[test]
    fn embedded_config_is_valid_yaml_with_base64_data() {
        let got = embedded_kubeconfig(
            "https://1.2.3.4:6443",
            "prod",
            "kube-admin",
            "CA",
            "CRT",
            "KEY",
        );
        let v: serde_json::Value = serde_saphyr::from_str(&got).unwrap();
        assert_eq!(v["current-context"], "prod");
        assert_eq!(v["users"][0]["name"], "kube-admin-prod");
        assert_eq!(
            v["clusters"][0]["cluster"]["server"],
            "https://1.2.3.4:6443"
        );
        assert_eq!(
            v["clusters"][0]["cluster"]["certificate-authority-data"],
            "Q0E="
        );
        assert_eq!(v["users"][0]["user"]["client-key-data"], "S0VZ");
    }

    #[test]
    fn admin_kubeconfig_needs_ca_and_admin() {
        let err = admin_kubeconfig(&CertBundle::new(), "https://x:6443", "c").unwrap_err();
        assert!(err.to_string().contains("kube-ca"), "{err}");
    }
}
