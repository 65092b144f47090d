//! Reaching the API server of a control-plane node through its SSH connection, as `kube-admin`.

use std::time::Duration;

use base64::Engine as _;
use kube::config::{KubeConfigOptions, Kubeconfig};

use super::api_error;
use crate::certs::{CertBundle, KUBE_ADMIN, KUBE_CA};
use crate::error::{ErrorKind, classified};
use crate::transport::{LocalForward, NodeConnection};

/// The port kube-apiserver listens on (RKE1 fixes it).
pub const API_PORT: u16 = 6443;

/// A client for one cluster's API server. Keeps the SSH forward it dials through alive.
pub struct KubeClient {
    pub(crate) client: kube::Client,
    /// The node the API server was reached through, for error messages.
    pub(crate) via: String,
    /// The SSH tunnel the client talks through (none for a client built in a test).
    _forward: Option<LocalForward>,
}

impl std::fmt::Debug for KubeClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeClient")
            .field("via", &self.via)
            .finish_non_exhaustive()
    }
}

/// An in-memory kubeconfig (JSON, which is YAML) for `kube-admin` at `server`, verifying the
/// API server's certificate against `kube-ca` under the name `tls_server_name`.
pub fn admin_kubeconfig_json(
    bundle: &CertBundle,
    server: &str,
    tls_server_name: &str,
) -> anyhow::Result<String> {
    let entry = |name: &str| {
        bundle.get(name).ok_or_else(|| {
            classified(
                ErrorKind::State,
                format!(
                    "certificate bundle has no {name} certificate, needed for the Kubernetes API"
                ),
            )
        })
    };
    let ca = entry(KUBE_CA)?;
    let admin = entry(KUBE_ADMIN)?;
    if admin.key_pem.trim().is_empty() {
        return Err(classified(
            ErrorKind::State,
            format!(
                "certificate bundle has no private key for {KUBE_ADMIN}, needed for the Kubernetes API"
            ),
        ));
    }
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let doc = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "rke", "cluster": {
            "server": server,
            "certificate-authority-data": b64(&ca.certificate_pem),
            "tls-server-name": tls_server_name,
        }}],
        "users": [{"name": KUBE_ADMIN, "user": {
            "client-certificate-data": b64(&admin.certificate_pem),
            "client-key-data": b64(&admin.key_pem),
        }}],
        "contexts": [{"name": "rke", "context": {"cluster": "rke", "user": KUBE_ADMIN}}],
        "current-context": "rke",
    });
    Ok(doc.to_string())
}

/// A client for `config` whose requests are counted as the run's API writes (see
/// [`crate::events::writes`]).
pub fn counted_client(config: kube::Config) -> Result<kube::Client, kube::Error> {
    let builder = kube::client::ClientBuilder::try_from(config)?;
    let count =
        tower::util::MapRequestLayer::new(|req: hyper::http::Request<kube::client::Body>| {
            crate::events::writes::note_api(req.method(), req.uri());
            req
        });
    Ok(builder.with_layer(&count).build())
}

impl KubeClient {
    /// Connect to the API server on `api_host:6443` as seen from `via` (a control-plane node's
    /// SSH connection). The API certificate has `kubernetes` among its SANs on every RKE
    /// cluster, so that is the name TLS verifies.
    pub async fn connect(
        via: &NodeConnection,
        api_host: &str,
        bundle: &CertBundle,
    ) -> anyhow::Result<Self> {
        let forward = via.forward_local(api_host, API_PORT).await.map_err(|e| {
            api_error(
                format!("tunnel to {api_host}:{API_PORT} through {}", via.name()),
                e,
            )
        })?;
        let server = format!("https://{}", forward.local_addr());
        let text = admin_kubeconfig_json(bundle, &server, "kubernetes")?;
        let kubeconfig = Kubeconfig::from_yaml(&text)
            .map_err(|e| api_error("in-memory kube-admin kubeconfig", e))?;
        let mut config =
            kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
                .await
                .map_err(|e| api_error("kube-admin client configuration", e))?;
        config.connect_timeout = Some(Duration::from_secs(20));
        config.read_timeout = Some(Duration::from_secs(60));
        let client =
            counted_client(config).map_err(|e| api_error("building the Kubernetes client", e))?;
        Ok(KubeClient {
            client,
            via: via.name().to_string(),
            _forward: Some(forward),
        })
    }

    /// A client over any `kube::Client` (an in-process fake API server in tests).
    #[cfg(test)]
    pub(crate) fn from_client(client: kube::Client) -> KubeClient {
        KubeClient {
            client,
            via: "test".into(),
            _forward: None,
        }
    }

    /// The underlying `kube` client, for callers that need other resources.
    pub fn client(&self) -> &kube::Client {
        &self.client
    }

    /// Poll `/version` until the API server answers (it takes a few seconds after its
    /// container starts); the error after `timeout` carries the last failure.
    pub async fn wait_api_ready(&self, timeout: Duration) -> anyhow::Result<String> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            match self.server_version().await {
                Ok(v) => return Ok(v),
                Err(e) if std::time::Instant::now() >= deadline => {
                    return Err(e.context(format!(
                        "API server through {} not ready after {}s",
                        self.via,
                        timeout.as_secs()
                    )));
                }
                Err(_) => tokio::time::sleep(Duration::from_secs(2)).await,
            }
        }
    }

    /// The API server's version (`/version`): a cheap reachability and authentication check.
    pub async fn server_version(&self) -> anyhow::Result<String> {
        let info = self
            .client
            .apiserver_version()
            .await
            .map_err(|e| api_error(format!("API server version through {}", self.via), e))?;
        Ok(info.git_version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::certs::CertificatePki;

    fn bundle(with_key: bool) -> CertBundle {
        let mut b = CertBundle::new();
        let pki = |c: &str, k: &str| CertificatePki {
            certificate_pem: c.into(),
            key_pem: k.into(),
            ..Default::default()
        };
        b.insert(KUBE_CA.to_string(), pki("CA-PEM", ""));
        b.insert(
            KUBE_ADMIN.to_string(),
            pki("ADMIN-PEM", if with_key { "ADMIN-KEY" } else { "" }),
        );
        b
    }

    #[test]
    fn kubeconfig_carries_ca_admin_identity_and_server_name() {
        let text =
            admin_kubeconfig_json(&bundle(true), "https://127.0.0.1:4000", "kubernetes").unwrap();
        let kc = Kubeconfig::from_yaml(&text).unwrap();
        let cluster = kc.clusters[0].cluster.as_ref().unwrap();
        assert_eq!(cluster.server.as_deref(), Some("https://127.0.0.1:4000"));
        assert_eq!(cluster.tls_server_name.as_deref(), Some("kubernetes"));
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        assert_eq!(
            cluster.certificate_authority_data.as_deref(),
            Some(b64("CA-PEM").as_str())
        );
        let user = kc.auth_infos[0].auth_info.as_ref().unwrap();
        assert_eq!(
            user.client_certificate_data.as_deref(),
            Some(b64("ADMIN-PEM").as_str())
        );
        assert_eq!(kc.current_context.as_deref(), Some("rke"));
    }

    #[test]
    fn missing_admin_key_is_a_state_error() {
        let err = admin_kubeconfig_json(&bundle(false), "https://x", "kubernetes").unwrap_err();
        assert_eq!(crate::error::kind_of(&err), ErrorKind::State);
        assert!(err.to_string().contains("kube-admin"), "{err}");
    }
}
