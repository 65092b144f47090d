//! `rke util get-state-file` and `rke util get-kubeconfig` (RKE1 `cmd/util.go`).
//!
//! get-state-file reads Secret `kube-system/full-cluster-state` (or the legacy ConfigMap)
//! with the local admin kubeconfig, as RKE1 does; when that fails it goes through a
//! control-plane node's SSH connection instead, with the kube-admin credentials of the local
//! state file. get-kubeconfig rebuilds the admin kubeconfig from the local state file.

use std::path::Path;

use clap::{Args, Subcommand};

use super::nodes::{self, ConnectArgs};
use super::{ConfigArg, local_kube};
use crate::certs::{self, CertBundle};
use crate::config::{RkeConfig, load};
use crate::error::{Classify, ErrorKind, classified, display_chain};
use crate::kube_api::{FULL_STATE_NAME, FULL_STATE_NAMESPACE, KubeClient};
use crate::{cluster, fsutil, paths, state};

#[derive(Debug, Subcommand)]
pub enum UtilCommand {
    /// Retrieve the state file from the cluster (Secret kube-system/full-cluster-state).
    GetStateFile(UtilArgs),
    /// Rebuild the admin kubeconfig from the local state file.
    GetKubeconfig(UtilArgs),
}

#[derive(Debug, Args)]
pub struct UtilArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

pub fn run(cmd: &UtilCommand) -> anyhow::Result<i32> {
    match cmd {
        UtilCommand::GetStateFile(args) => get_state_file(args),
        UtilCommand::GetKubeconfig(args) => get_kubeconfig(&args.config.config),
    }
}

fn get_state_file(args: &UtilArgs) -> anyhow::Result<i32> {
    let config_path = &args.config.config;
    let cfg = load::load_valid(config_path)?.config;
    let kubeconfig = paths::admin_kubeconfig(config_path);
    let json = nodes::runtime()?.block_on(async {
        match from_kubeconfig(&kubeconfig).await {
            Ok(json) => Ok(json),
            Err(e) => {
                tracing::info!(
                    "cannot read the state with {}, trying the control-plane nodes: {}",
                    kubeconfig.display(),
                    display_chain(&e)
                );
                from_control_plane(&cfg, config_path, &args.connect).await
            }
        }
    })?;
    let origin = format!("Secret {FULL_STATE_NAMESPACE}/{FULL_STATE_NAME}");
    let loaded = state::decode::<RkeConfig>(json.as_bytes(), &origin)?;
    for w in &loaded.warnings {
        tracing::warn!(
            "{origin}: `{w}` is unknown to this rke (a newer version wrote it): kept as is"
        );
    }
    let path = paths::state_file(config_path);
    // Atomic, with the replaced file kept as `<file>.bak`.
    state::save(&path, &loaded.state)?;
    println!("Wrote {} from the cluster", path.display());
    crate::events::report::set_data(serde_json::json!({ "state_file": path }));
    Ok(0)
}

async fn from_kubeconfig(kubeconfig: &Path) -> anyhow::Result<String> {
    let client = local_kube::client(kubeconfig).await?;
    crate::kube_api::read_state(&client)
        .await?
        .ok_or_else(missing_state)
}

/// Through the first control-plane node whose API server answers on its loopback.
async fn from_control_plane(
    cfg: &RkeConfig,
    config_path: &Path,
    connect: &ConnectArgs,
) -> anyhow::Result<String> {
    let bundle = local_bundle(config_path)?;
    let mut cp = cfg.clone();
    cp.nodes.retain(|n| n.is_controlplane());
    let mut connect = connect.clone();
    connect.ignore_docker_version = true;
    let connected = nodes::connect(&cp, &connect).await;
    let mut errors: Vec<String> = connected
        .errors
        .iter()
        .map(|e| format!("node {}: {e}", e.node()))
        .collect();
    for conn in &connected.nodes {
        let attempt = async {
            let client = KubeClient::connect(conn, "127.0.0.1", &bundle).await?;
            client.read_state().await
        };
        match attempt.await {
            Ok(Some(json)) => return Ok(json),
            Ok(None) => return Err(missing_state()),
            Err(e) => errors.push(format!("node {}: {}", conn.name(), display_chain(&e))),
        }
    }
    Err(classified(
        ErrorKind::KubernetesApi,
        format!(
            "no control-plane node gave the cluster state: {}",
            errors.join("; ")
        ),
    ))
}

fn missing_state() -> anyhow::Error {
    classified(
        ErrorKind::KubernetesApi,
        format!(
            "the cluster has no Secret (or ConfigMap) {FULL_STATE_NAMESPACE}/{FULL_STATE_NAME}"
        ),
    )
}

/// The certificates of the local state file: what the cluster runs (`currentState`), else
/// what the last run meant to apply.
fn local_bundle(config_path: &Path) -> anyhow::Result<CertBundle> {
    let path = paths::state_file(config_path);
    let loaded = state::load::<RkeConfig>(&path)?.ok_or_else(|| {
        classified(
            ErrorKind::State,
            format!(
                "no state file {}: its kube-admin certificate is needed to reach the API server through a node",
                path.display()
            ),
        )
    })?;
    let s = loaded.state;
    let bundle = if s.current_state.certificates_bundle.is_empty() {
        s.desired_state.certificates_bundle
    } else {
        s.current_state.certificates_bundle
    };
    if bundle.is_empty() {
        return Err(classified(
            ErrorKind::State,
            format!("state file {} holds no certificates", path.display()),
        ));
    }
    Ok(bundle)
}

fn get_kubeconfig(config_path: &Path) -> anyhow::Result<i32> {
    let cfg = load::load_valid(config_path)?.config;
    let bundle = local_bundle(config_path)?;
    let server = cluster::admin_server_url(&cfg)
        .ok_or_else(|| classified(ErrorKind::Config, "no controlplane node"))?;
    let text =
        certs::admin_kubeconfig(&bundle, &server, &cfg.cluster_name).kind(ErrorKind::State)?;
    let path = paths::admin_kubeconfig(config_path);
    fsutil::write_private_atomic(&path, text.as_bytes(), fsutil::Backup::Keep)
        .map_err(|e| classified(ErrorKind::State, format!("writing {}: {e}", path.display())))?;
    println!("Wrote {}", path.display());
    crate::events::report::set_kubeconfig(&path);
    Ok(0)
}
