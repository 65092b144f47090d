//! `rke up`. This build has the `--init` phase: validate, build or reuse the PKI, write the
//! state file and the admin kubeconfig, touching no node.

use super::ConfigArg;
use crate::certs::{self, CertBundle};
use crate::cluster::{self, encryption};
use crate::config::{RkeConfig, load};
use crate::error::{Classify, ErrorKind, classified};
use crate::state::{self, ClusterState, FullState};
use crate::{fsutil, paths};
use anyhow::Context;
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct UpArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Only generate certificates, the state file and the admin kubeconfig; touch no node.
    /// (Required in this build: provisioning nodes is not part of it yet.)
    #[arg(long, required = true)]
    pub init: bool,
    /// Use certificates from --cert-dir instead of generating them.
    #[arg(long)]
    pub custom_certs: bool,
    /// Directory of custom certificates (default: `<config>_certs` next to the config).
    #[arg(long)]
    pub cert_dir: Option<PathBuf>,
}

pub fn run(args: &UpArgs) -> anyhow::Result<i32> {
    let config_path = &args.config.config;
    let loaded = load::load_valid(config_path)?;
    let cfg = loaded.config;

    let state_path = paths::state_file(config_path);
    let previous = state::load::<RkeConfig>(&state_path)?;
    let (previous_desired, current) = match previous {
        Some(l) => {
            for w in &l.warnings {
                tracing::warn!("{}: {w}", state_path.display());
            }
            (l.state.desired_state, l.state.current_state)
        }
        None => (ClusterState::default(), ClusterState::default()),
    };

    let input = cluster::pki_input(&cfg, config_path);
    let bundle: CertBundle = if args.custom_certs {
        let dir = args
            .cert_dir
            .clone()
            .unwrap_or_else(|| paths::cert_dir(config_path));
        certs::load_custom_certs(&dir, &input).kind(ErrorKind::State)?
    } else {
        let existing = if previous_desired.certificates_bundle.is_empty() {
            &current.certificates_bundle
        } else {
            &previous_desired.certificates_bundle
        };
        let (bundle, changes) = certs::ensure(&input, existing, time::OffsetDateTime::now_utc())
            .kind(ErrorKind::State)?;
        report_changes(&changes, bundle.len());
        bundle
    };

    let encryption_config =
        encryption::provider_file(&cfg, &previous_desired.encryption_config)?.unwrap_or_default();
    let server = cluster::admin_server_url(&cfg)
        .ok_or_else(|| classified(ErrorKind::Config, "no controlplane node"))?;
    let kubeconfig =
        certs::admin_kubeconfig(&bundle, &server, &cfg.cluster_name).kind(ErrorKind::State)?;

    let full = FullState {
        desired_state: ClusterState {
            rke_config: Some(cfg),
            certificates_bundle: bundle,
            encryption_config,
        },
        current_state: current,
    };
    state::save(&state_path, &full)?;

    let kubeconfig_path = paths::admin_kubeconfig(config_path);
    fsutil::write_private_atomic(
        &kubeconfig_path,
        kubeconfig.as_bytes(),
        fsutil::Backup::None,
    )
    .with_context(|| format!("writing {}", kubeconfig_path.display()))
    .kind(ErrorKind::State)?;
    println!(
        "Initialized {}: state {}, admin kubeconfig {}",
        config_path.display(),
        state_path.display(),
        kubeconfig_path.display()
    );
    Ok(0)
}

fn report_changes(changes: &certs::CertChanges, total: usize) {
    for name in &changes.added {
        tracing::debug!("certificate {name}: generated");
    }
    for (name, why) in &changes.regenerated {
        tracing::info!("certificate {name}: regenerated ({why})");
    }
    for name in &changes.removed {
        tracing::info!("certificate {name}: removed");
    }
    let reused = total - changes.added.len() - changes.regenerated.len();
    tracing::info!(
        "certificates: {reused} reused, {} generated, {} regenerated, {} removed",
        changes.added.len(),
        changes.regenerated.len(),
        changes.removed.len()
    );
}
