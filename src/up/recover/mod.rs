//! A lost state file never re-keys a cluster. Before `rke up` treats a cluster without
//! `currentState` as new, it looks at the nodes ([`observe`]) and decides ([`decide`], pure):
//! a new cluster, a recovered state (written atomically, then the run converges with it, so
//! nothing is replaced), or a refusal naming what the nodes hold and how to recover.

pub mod decide;
mod observe;

use std::path::Path;

use crate::cluster::desired::{self, CertSource, DesiredCluster};
use crate::config::RkeConfigNode;
use crate::error::{ErrorKind, classified};
use crate::state;
use crate::transport::NodeConnection;
use decide::{Decision, Observations, SecretLookup};

pub use decide::OVERRIDE_FLAG;

/// How the check runs.
pub struct RecoverOptions<'a> {
    pub config_path: &'a Path,
    pub certs: &'a CertSource,
    /// `--new-cluster-over-existing-data`.
    pub over_existing: bool,
    /// `--dry-run`: a recovered state is used for the plan but not written.
    pub dry_run: bool,
    /// Nodes read at once (`--max-parallel`).
    pub limit: usize,
}

/// `desired` when the cluster has a current state or the nodes hold none; otherwise the
/// cluster rebuilt from its recovered state, or an error (class `state`) when that cannot be
/// had. `conns` are the connections of the config's nodes.
pub async fn ensure_known(
    desired: DesiredCluster,
    conns: &[NodeConnection],
    opts: &RecoverOptions<'_>,
) -> anyhow::Result<DesiredCluster> {
    if desired.applied_config().is_some() {
        return Ok(desired);
    }
    let cfg = &desired.cfg;
    let pairs = crate::cluster::connected_nodes(cfg, conns);
    let observed = crate::events::phase(
        "recover",
        pairs.len(),
        observe_all(&desired, &pairs, opts.limit),
    )
    .await?;
    match decide::decide(&observed, opts.over_existing) {
        Decision::New => Ok(desired),
        Decision::Unfinished => {
            tracing::info!(
                "the nodes carry the CA of {}: continuing the cluster an earlier run of it began",
                desired.state_path.display()
            );
            Ok(desired)
        }
        Decision::NewOverExisting { warning } => {
            tracing::warn!("{warning}");
            Ok(desired)
        }
        Decision::Refuse { message } => Err(classified(ErrorKind::State, message)),
        Decision::Recover { source, state } => {
            let path = &desired.state_path;
            if opts.dry_run {
                tracing::warn!(
                    "no cluster state in {}: using the running cluster's state from {source} \
                     (not written: --dry-run)",
                    path.display()
                );
            } else {
                state::save(path, &*state)?;
                tracing::warn!(
                    "no cluster state in {}: recovered the running cluster's state from \
                     {source} and wrote it to {}",
                    path.display(),
                    path.display()
                );
            }
            desired::load_with_state(opts.config_path, opts.certs, Some(*state))
        }
    }
}

async fn observe_all(
    desired: &DesiredCluster,
    pairs: &[(&RkeConfigNode, &NodeConnection)],
    limit: usize,
) -> anyhow::Result<Observations> {
    let helper = desired.cfg.system_images.alpine.as_str();
    let observed = observe::nodes(&desired.cfg, pairs, helper, limit).await;
    let holds_any = observed.iter().any(|o| o.traces.holds_a_cluster());
    let secret = if holds_any {
        let conns: Vec<&NodeConnection> = pairs.iter().map(|(_, c)| *c).collect();
        observe::secret(&observed, &conns).await
    } else {
        SecretLookup::NotTried("the nodes hold no cluster".into())
    };
    Ok(Observations {
        state_file: desired.state_path.display().to_string(),
        nodes: observed.into_iter().map(|o| o.traces).collect(),
        secret,
        planned_ca: desired
            .bundle
            .get(crate::certs::KUBE_CA)
            .map(|e| e.certificate_pem.clone()),
    })
}
