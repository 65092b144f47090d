//! A Kubernetes client from the local admin kubeconfig (`kube_config_<config>`), as RKE1's
//! `version` and `util get-state-file` use it: straight to the server the file names.

use std::path::Path;
use std::time::Duration;

use kube::config::{KubeConfigOptions, Kubeconfig};

use crate::error::{ErrorKind, classified};

/// A client for the kubeconfig at `path`; a missing or unreadable file is a State error.
pub async fn client(path: &Path) -> anyhow::Result<kube::Client> {
    let kubeconfig = Kubeconfig::read_from(path).map_err(|e| {
        classified(
            ErrorKind::State,
            format!("cannot read kubeconfig {}: {e}", path.display()),
        )
    })?;
    let api = |what: &str, e: &dyn std::fmt::Display| {
        classified(
            ErrorKind::KubernetesApi,
            format!("{what} from {}: {e}", path.display()),
        )
    };
    let mut config =
        kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
            .await
            .map_err(|e| api("client configuration", &e))?;
    config.connect_timeout = Some(Duration::from_secs(10));
    config.read_timeout = Some(Duration::from_secs(30));
    crate::kube_api::counted_client(config).map_err(|e| api("building the client", &e))
}

/// The API server's version (`/version`) through the kubeconfig at `path`.
pub async fn server_version(path: &Path) -> anyhow::Result<String> {
    let client = client(path).await?;
    let info = client.apiserver_version().await.map_err(|e| {
        classified(
            ErrorKind::KubernetesApi,
            format!("API server version through {}: {e}", path.display()),
        )
    })?;
    Ok(info.git_version)
}
