//! One minor at a time, as `rke validate` and `rke up` apply it: the state file next to the
//! config says which Kubernetes version the cluster runs (`currentState`, what the last
//! successful `rke up` applied), and a `kubernetes_version` that skips a minor or goes back one
//! is refused ([`crate::config::versions::check_step`]) unless `--allow-version-skew` is given.

use std::path::Path;

use clap::Args;
use serde::Deserialize;

use crate::config::validate::Problem;
use crate::config::versions;
use crate::error::{ErrorKind, classified};
use crate::{paths, state};

const VERSION_PATH: &str = "kubernetes_version";

/// `--allow-version-skew` (`rke validate`, `rke up`).
#[derive(Debug, Clone, Args)]
pub struct VersionSkewArg {
    /// Accept a kubernetes_version that skips a minor version or goes back one (refused by
    /// default: Kubernetes upgrades one minor at a time and cannot downgrade). For experts
    /// who know the components can take it, e.g. when the cluster was already moved by hand.
    #[arg(long)]
    pub allow_version_skew: bool,
}

/// Only the field this check needs, so a state file written by any RKE1 version decodes.
#[derive(Debug, Deserialize)]
struct VersionOnly {
    #[serde(default)]
    kubernetes_version: String,
}

/// The Kubernetes version the cluster runs according to the state file of `config`, or `None`
/// for a cluster never brought up (no state file, or no `currentState` config yet).
pub fn running_version(config: &Path) -> anyhow::Result<Option<String>> {
    let path = paths::state_file(config);
    let Some(loaded) = state::load::<VersionOnly>(&path)? else {
        return Ok(None);
    };
    Ok(loaded
        .state
        .current_state
        .rke_config
        .map(|c| c.kubernetes_version)
        .filter(|v| !v.is_empty()))
}

/// `rke up`: a refused step is a config error (exit 3), before anything is written or any
/// node is contacted; with the override it is a warning on stderr.
pub fn enforce(running: Option<&str>, requested: &str, allow: bool) -> anyhow::Result<()> {
    let Some(running) = running else {
        return Ok(());
    };
    match versions::check_step(versions::table(), running, requested) {
        Ok(()) => Ok(()),
        Err(refusal) if allow => {
            tracing::warn!("{VERSION_PATH}: {refusal} (overridden by --allow-version-skew)");
            Ok(())
        }
        Err(refusal) => Err(classified(
            ErrorKind::Config,
            format!("{VERSION_PATH}: {refusal}"),
        )),
    }
}

/// `rke validate`: the problem a refused step adds to the report (an error, or a warning with
/// the override). An unreadable state file is a warning: validation of `cluster.yml` goes on.
pub fn problem(config: &Path, requested: &str, allow: bool) -> Option<Problem> {
    let running = match running_version(config) {
        Ok(v) => v?,
        Err(e) => {
            return Some(Problem::warning(
                VERSION_PATH,
                format!("cannot check the version step against the state file: {e:#}"),
            ));
        }
    };
    let refusal = versions::check_step(versions::table(), &running, requested).err()?;
    Some(if allow {
        Problem::warning(
            VERSION_PATH,
            format!("{refusal} (overridden by --allow-version-skew)"),
        )
    } else {
        Problem::error(VERSION_PATH, refusal.to_string())
    })
}
