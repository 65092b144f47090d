//! One minor version at a time: Kubernetes supports upgrading the control plane from one minor
//! to the next only (the version skew policy: kube-apiserver instances may differ by at most one
//! minor, and the kubelet must not be newer than the apiserver), and does not support going
//! back a minor at all (storage versions and etcd data only move forward). This is the pure
//! check of a `kubernetes_version` change against the version the cluster runs.

use std::fmt;

use super::VersionTable;
use super::k8s_version::minor_of;

/// Why a change of `kubernetes_version` is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepRefusal {
    /// The requested minor is more than one above the running one. `path` is every minor from
    /// the running one to the requested one, both included; `via` the newest table version of
    /// each minor in between (those the table has).
    Skip {
        running: String,
        requested: String,
        path: Vec<(u32, u32)>,
        via: Vec<String>,
    },
    /// The requested minor is below the running one.
    Downgrade { running: String, requested: String },
}

/// Check a change from `running` (what the state file says the cluster runs) to `requested`
/// (`kubernetes_version` in `cluster.yml`). Patch changes within a minor, either way, and one
/// minor up are allowed; so is anything where either version has no `vMAJOR.MINOR` to compare
/// (validation reports a malformed `kubernetes_version` on its own).
pub fn check_step(table: &VersionTable, running: &str, requested: &str) -> Result<(), StepRefusal> {
    let (Some(from), Some(to)) = (minor_of(running), minor_of(requested)) else {
        return Ok(());
    };
    if to < from {
        return Err(StepRefusal::Downgrade {
            running: running.to_string(),
            requested: requested.to_string(),
        });
    }
    if to == from || (to.0 == from.0 && to.1 == from.1 + 1) {
        return Ok(());
    }
    let path: Vec<(u32, u32)> = if to.0 == from.0 {
        (from.1..=to.1).map(|minor| (from.0, minor)).collect()
    } else {
        // A major change: no minor path to propose, only the two ends.
        vec![from, to]
    };
    let via = path[1..path.len() - 1]
        .iter()
        .filter_map(|pair| table.newest_of_minor(*pair))
        .map(str::to_string)
        .collect();
    Err(StepRefusal::Skip {
        running: running.to_string(),
        requested: requested.to_string(),
        path,
        via,
    })
}

fn minor_text((major, minor): (u32, u32)) -> String {
    format!("{major}.{minor}")
}

impl fmt::Display for StepRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StepRefusal::Skip {
                running,
                requested,
                path,
                via,
            } => {
                let steps: Vec<String> = path.iter().copied().map(minor_text).collect();
                write!(
                    f,
                    "cannot change from {running} (the version the cluster runs) to {requested}: \
                     that skips a minor version, and Kubernetes upgrades one minor at a time. \
                     Upgrade {}, running `rke up` at each step",
                    steps.join(" → ")
                )?;
                if !via.is_empty() {
                    write!(
                        f,
                        " (e.g. kubernetes_version {} first)",
                        via.join(", then ")
                    )?;
                }
                write!(f, "; --allow-version-skew skips this check")
            }
            StepRefusal::Downgrade { running, requested } => {
                let from = minor_of(running).map(minor_text).unwrap_or_default();
                let to = minor_of(requested).map(minor_text).unwrap_or_default();
                write!(
                    f,
                    "cannot change from {running} (the version the cluster runs) to {requested}: \
                     going back from {from} to {to} is not supported by Kubernetes. To return \
                     to {to}, restore an etcd snapshot taken before the upgrade \
                     (`rke etcd snapshot-restore`); --allow-version-skew skips this check"
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::versions::table;

    #[test]
    fn same_minor_and_next_minor_pass() {
        let t = table();
        for (from, to) in [
            ("v1.27.16-rancher1-1", "v1.27.16-rancher1-1"),
            ("v1.27.10-rancher1-1", "v1.27.16-rancher1-1"),
            ("v1.27.16-rancher1-1", "v1.27.10-rancher1-1"),
            ("v1.27.16-rancher1-1", "v1.28.15-rancher1-1"),
            ("v1.20.2", "v1.21.14-rancher1-1"),
            ("v1.23.16-rancher2-3", "v1.24.17-rancher1-1"),
        ] {
            assert_eq!(check_step(t, from, to), Ok(()), "{from} -> {to}");
        }
    }

    #[test]
    fn skipping_a_minor_names_the_path_and_the_versions_between() {
        let e = check_step(table(), "v1.27.16-rancher1-1", "v1.29.15-rancher1-1").unwrap_err();
        assert_eq!(
            e,
            StepRefusal::Skip {
                running: "v1.27.16-rancher1-1".into(),
                requested: "v1.29.15-rancher1-1".into(),
                path: vec![(1, 27), (1, 28), (1, 29)],
                via: vec!["v1.28.15-rancher1-1".into()],
            }
        );
        let text = e.to_string();
        assert!(text.contains("1.27 → 1.28 → 1.29"), "{text}");
        assert!(text.contains("v1.27.16-rancher1-1") && text.contains("v1.29.15-rancher1-1"));
        assert!(
            text.contains("kubernetes_version v1.28.15-rancher1-1 first"),
            "{text}"
        );
        assert!(text.contains("--allow-version-skew"), "{text}");
    }

    #[test]
    fn a_long_jump_lists_every_minor() {
        let e = check_step(table(), "v1.20.15-rancher2-2", "v1.32.13-rancher1-2").unwrap_err();
        let StepRefusal::Skip { path, via, .. } = &e else {
            panic!("{e:?}")
        };
        assert_eq!(path.len(), 13);
        assert_eq!(
            via.len(),
            11,
            "one table version per minor 1.21..=1.31: {via:?}"
        );
        assert_eq!(via[0], "v1.21.14-rancher1-1");
        assert!(e.to_string().contains("1.20 → 1.21 → 1.22"), "{e}");
    }

    #[test]
    fn going_back_a_minor_is_refused() {
        let e = check_step(table(), "v1.28.15-rancher1-1", "v1.27.16-rancher1-1").unwrap_err();
        assert!(matches!(e, StepRefusal::Downgrade { .. }));
        let text = e.to_string();
        assert!(text.contains("going back from 1.28 to 1.27"), "{text}");
        assert!(text.contains("snapshot-restore"), "{text}");
        assert!(
            check_step(table(), "v1.32.13-rancher1-2", "v1.20.15-rancher2-2").is_err(),
            "far back too"
        );
    }

    #[test]
    fn unparseable_versions_are_left_to_validation() {
        assert_eq!(check_step(table(), "latest", "v1.29.15-rancher1-1"), Ok(()));
        assert_eq!(
            check_step(table(), "v1.27.16-rancher1-1", "garbage"),
            Ok(())
        );
    }
}
