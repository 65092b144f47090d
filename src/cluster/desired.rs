//! The cluster `cluster.yml` asks for, before any node is touched (RKE1's `ClusterInit`):
//! validate `cluster.yml`, build or reuse the PKI and the encryption provider file, and write
//! the state file and the admin kubeconfig. `up`, `status`, `cert rotate` and
//! `etcd snapshot-restore` all start from it, so it is not part of `up`.

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::certs::{self, CertBundle};
use crate::cluster::{self, encryption};
use crate::config::{RkeConfig, load};
use crate::error::{Classify, ErrorKind, classified};
use crate::state::unknown::UnknownKeys;
use crate::state::{self, ClusterState, FullState};
use crate::{fsutil, paths};

/// The desired cluster: everything `rke up` needs before it connects to a node.
#[derive(Debug, Clone)]
pub struct DesiredCluster {
    /// `cluster.yml` with RKE1's defaults applied and validated.
    pub cfg: RkeConfig,
    pub bundle: CertBundle,
    /// How `bundle` differs from the bundle it started from.
    pub cert_changes: certs::CertChanges,
    /// The secrets encryption provider file; empty when encryption is off.
    pub encryption_config: String,
    /// What the last successful `rke up` applied (`currentState`); empty for a new cluster.
    pub applied: ClusterState,
    /// The config of the state file's `desiredState` before this run: after a snapshot
    /// restore, the config the snapshot's cluster ran (`currentState` is empty then).
    pub previous_desired_config: Option<RkeConfig>,
    /// Keys of the state file's `desiredState` and top level that this rke does not know (a
    /// newer version wrote them): written back with the new state.
    pub unknown_desired: UnknownKeys,
    pub unknown_top: UnknownKeys,
    pub state_path: PathBuf,
    pub kubeconfig_path: PathBuf,
    /// The admin kubeconfig for the first control-plane node.
    pub kubeconfig: String,
}

/// Where certificates come from.
#[derive(Debug, Clone, Default)]
pub struct CertSource {
    /// Read them from `cert_dir` (`--custom-certs`) instead of generating them.
    pub custom: bool,
    pub cert_dir: Option<PathBuf>,
    /// `rke cert rotate`: new keys for these entries of the bundle the cluster runs
    /// (`currentState`), which must exist.
    pub rotate: Option<certs::RotateRequest>,
}

/// Validate, then build or reuse the certificates. Writes nothing.
pub fn load(config_path: &Path, certs_from: &CertSource) -> anyhow::Result<DesiredCluster> {
    let state_path = paths::state_file(config_path);
    let state = match state::load::<RkeConfig>(&state_path)? {
        Some(l) => {
            for w in &l.warnings {
                tracing::warn!(
                    "{}: `{w}` is unknown to this rke (a newer version wrote it): kept as is",
                    state_path.display()
                );
            }
            Some(l.state)
        }
        None => None,
    };
    load_with_state(config_path, certs_from, state)
}

/// [`load`] with the state given instead of read from the state file (a state recovered from
/// the nodes); `None` is a cluster without state.
pub fn load_with_state(
    config_path: &Path,
    certs_from: &CertSource,
    state: Option<FullState>,
) -> anyhow::Result<DesiredCluster> {
    let cfg = load::load_valid(config_path)?.config;
    let state_path = paths::state_file(config_path);
    let (previous_desired, applied, unknown_top) = match state {
        Some(s) => (s.desired_state, s.current_state, s.unknown),
        None => Default::default(),
    };

    let input = cluster::pki_input(&cfg, config_path);
    let (bundle, cert_changes) = if let Some(request) = &certs_from.rotate {
        rotated_bundle(&input, &applied, request, &state_path)?
    } else if certs_from.custom {
        let dir = certs_from
            .cert_dir
            .clone()
            .unwrap_or_else(|| paths::cert_dir(config_path));
        let bundle = certs::load_custom_certs(&dir, &input).kind(ErrorKind::State)?;
        (bundle, certs::CertChanges::default())
    } else {
        let existing = if previous_desired.certificates_bundle.is_empty() {
            &applied.certificates_bundle
        } else {
            &previous_desired.certificates_bundle
        };
        let (bundle, changes) = certs::ensure(&input, existing, time::OffsetDateTime::now_utc())
            .kind(ErrorKind::State)?;
        report_cert_changes(&changes, bundle.len());
        (bundle, changes)
    };

    let encryption_config =
        encryption::provider_file(&cfg, &previous_desired.encryption_config)?.unwrap_or_default();
    let server = cluster::admin_server_url(&cfg)
        .ok_or_else(|| classified(ErrorKind::Config, "no controlplane node"))?;
    let kubeconfig =
        certs::admin_kubeconfig(&bundle, &server, &cfg.cluster_name).kind(ErrorKind::State)?;
    Ok(DesiredCluster {
        cfg,
        bundle,
        cert_changes,
        encryption_config,
        applied,
        previous_desired_config: previous_desired.rke_config.clone(),
        unknown_desired: previous_desired.unknown,
        unknown_top,
        state_path,
        kubeconfig_path: paths::admin_kubeconfig(config_path),
        kubeconfig,
    })
}

/// The bundle `rke cert rotate` converges to: the running bundle with `request`'s entries
/// renewed. A cluster that was never brought up has nothing to rotate.
fn rotated_bundle(
    input: &certs::PkiInput,
    applied: &ClusterState,
    request: &certs::RotateRequest,
    state_path: &Path,
) -> anyhow::Result<(CertBundle, certs::CertChanges)> {
    if applied.rke_config.is_none() || applied.certificates_bundle.is_empty() {
        return Err(classified(
            ErrorKind::State,
            format!(
                "{} has no current state: the cluster was never brought up, so there are no \
                 certificates to rotate (run `rke up` first)",
                state_path.display()
            ),
        ));
    }
    let (bundle, changes) = certs::rotate(
        input,
        &applied.certificates_bundle,
        request,
        time::OffsetDateTime::now_utc(),
    )
    .kind(ErrorKind::State)?;
    report_cert_changes(&changes, bundle.len());
    Ok((bundle, changes))
}

impl DesiredCluster {
    /// Whether this run replaces the cluster's `kube-ca`: then members signed by the old and
    /// the new CA cannot talk to each other, so nothing can roll.
    pub fn ca_rotated(&self) -> bool {
        let ca = |b: &CertBundle| {
            b.get(certs::KUBE_CA)
                .map(|e| e.certificate_pem.clone())
                .unwrap_or_default()
        };
        !self.applied.certificates_bundle.is_empty()
            && ca(&self.applied.certificates_bundle) != ca(&self.bundle)
    }

    /// The certificates the running containers present and trust until they are replaced:
    /// the applied bundle when the CA changes, else this run's (same CA, so either works).
    pub fn running_bundle(&self) -> &CertBundle {
        if self.ca_rotated() {
            &self.applied.certificates_bundle
        } else {
            &self.bundle
        }
    }

    fn desired(&self) -> ClusterState {
        ClusterState {
            rke_config: Some(self.cfg.clone()),
            certificates_bundle: self.bundle.clone(),
            encryption_config: self.encryption_config.clone(),
            unknown: self.unknown_desired.clone(),
        }
    }

    /// The state once this run has been applied: `currentState` equal to `desiredState`.
    pub fn applied_state(&self) -> FullState {
        FullState {
            desired_state: self.desired(),
            current_state: self.desired(),
            unknown: self.unknown_top.clone(),
        }
    }

    /// Record the new `desiredState` (keeping `currentState`, which only a finished run
    /// advances) and write the admin kubeconfig, as RKE1's `ClusterInit` does.
    pub fn write_desired(&self) -> anyhow::Result<()> {
        let full = FullState {
            desired_state: self.desired(),
            current_state: self.applied.clone(),
            unknown: self.unknown_top.clone(),
        };
        state::save(&self.state_path, &full)?;
        fsutil::write_private_atomic(
            &self.kubeconfig_path,
            self.kubeconfig.as_bytes(),
            fsutil::Backup::None,
        )
        .with_context(|| format!("writing {}", self.kubeconfig_path.display()))
        .kind(ErrorKind::State)
    }

    /// Record that this run's config is now what the cluster runs.
    pub fn write_applied(&self) -> anyhow::Result<()> {
        state::save(&self.state_path, &self.applied_state())
    }

    /// The config the last successful run applied, if any.
    pub fn applied_config(&self) -> Option<&RkeConfig> {
        self.applied.rke_config.as_ref()
    }

    /// The config the cluster's addons were last deployed with: the applied one, or after a
    /// snapshot restore, the restored cluster's (`previous_desired_config`).
    pub fn addons_baseline(&self) -> Option<&RkeConfig> {
        self.applied_config()
            .or(self.previous_desired_config.as_ref())
    }
}

fn report_cert_changes(changes: &certs::CertChanges, total: usize) {
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
