//! Taking RKE off a node: removing containers (with their `old-` leftovers) and emptying the
//! directories RKE wrote, as RKE1's `kube-cleaner` does (`hosts/hosts.go` `CleanUp`).
//!
//! Directories are emptied, not removed, through one short-lived container with each directory
//! bind-mounted at its own path, so only the Docker API is needed (no root shell on the node).
//! Nothing here unmounts: callers never pass `/var/lib/kubelet`, the one RKE directory that can
//! hold a kubelet's bind mounts (RKE1 does not clean it either).

use std::time::Duration;

use super::helper::{self, Helper};
use super::oneshot;
use crate::error::{ErrorKind, classified};
use crate::transport::NodeConnection;

/// How long the cleaner may run before it is given up on.
const CLEAN_TIMEOUT: Duration = Duration::from_secs(120);

/// Force-remove (with anonymous volumes) each named container and its `old-<name>` leftover of
/// an interrupted replace. Absent containers are fine. Returns the names actually removed.
pub async fn remove_containers(
    node: &NodeConnection,
    names: &[&str],
) -> anyhow::Result<Vec<String>> {
    let mut removed = Vec::new();
    for name in names {
        for candidate in [name.to_string(), format!("old-{name}")] {
            if helper::force_remove(node, &candidate, &candidate).await? {
                removed.push(candidate);
            }
        }
    }
    Ok(removed)
}

/// RKE1's cleanup list for worker and control-plane hosts (`CleanUpWorkerHost`,
/// `CleanUpControlHost`): `prefix_path` applies to RKE's own directories only, not to the CNI
/// ones, as in RKE1.
pub fn host_cleanup_dirs(prefix_path: &str) -> Vec<String> {
    vec![
        under_prefix(prefix_path, "/etc/kubernetes/"),
        "/etc/cni/".to_string(),
        "/opt/cni/".to_string(),
        "/var/run/calico/".to_string(),
        under_prefix(prefix_path, "/var/lib/cni/"),
    ]
}

/// RKE1's cleanup list for etcd hosts.
pub fn etcd_cleanup_dirs(prefix_path: &str) -> Vec<String> {
    vec![under_prefix(prefix_path, "/var/lib/etcd/")]
}

/// The same joining as the node plans use: an empty prefix or `/` means none.
fn under_prefix(prefix: &str, path: &str) -> String {
    format!("{}{path}", prefix.trim_end_matches('/'))
}

/// Delete everything inside each of `dirs` on the node, keeping the directories themselves.
/// `helper_image` must already be on the node and have a POSIX `sh` and `find` (busybox, alpine,
/// rke-tools). A directory that does not exist is created empty by the bind mount, as in RKE1.
/// Refuses, before running anything, any path that is relative, `/`, contains `..` or `:`.
pub async fn clean_dirs(
    node: &NodeConnection,
    dirs: &[String],
    helper_image: &str,
) -> anyhow::Result<()> {
    let dirs = dirs
        .iter()
        .map(|d| checked_dir(d))
        .collect::<anyhow::Result<Vec<_>>>()
        .map_err(|e| classified(ErrorKind::General, format!("node {}: {e:#}", node.name())))?;
    if dirs.is_empty() {
        return Ok(());
    }
    let what = format!("cleaning {}", dirs.join(", "));
    oneshot::run(node, cleaner(helper_image, &dirs), &what, CLEAN_TIMEOUT)
        .await
        .map(drop)
}

/// `dir` without trailing slashes, or why it may not be cleaned.
fn checked_dir(dir: &str) -> anyhow::Result<String> {
    let trimmed = dir.trim_end_matches('/');
    if !dir.starts_with('/') {
        anyhow::bail!("refusing to clean {dir:?}: not an absolute path");
    }
    if trimmed.is_empty() {
        anyhow::bail!("refusing to clean {dir:?}: that is the root directory");
    }
    if trimmed.split('/').any(|c| c == "..") {
        anyhow::bail!("refusing to clean {dir:?}: it contains `..`");
    }
    // `:` would split the bind specification into other fields.
    if trimmed.contains(':') {
        anyhow::bail!("refusing to clean {dir:?}: it contains `:`");
    }
    Ok(trimmed.to_string())
}

/// The cleaner's command: RKE1's `find <dir> -mindepth 1 -delete` in POSIX terms (`-delete`
/// and `-mindepth` are extensions some busybox builds lack): each direct child of the directory
/// (`-prune` stops the descent) is removed with `rm -rf`. The directories come as positional
/// parameters, never spliced into the script, so no path needs quoting.
fn cleaner_command(dirs: &[String]) -> Vec<String> {
    let script =
        r#"for d in "$@"; do find "$d/." ! -name . -prune -exec rm -rf {} + || exit 1; done"#;
    ["sh", "-c", script, "rke-cleaner"]
        .into_iter()
        .map(str::to_string)
        .chain(dirs.iter().cloned())
        .collect()
}

fn cleaner<'a>(image: &'a str, dirs: &[String]) -> Helper<'a> {
    Helper {
        kind: "cleaner",
        what: "the cleaner",
        image,
        // As the entrypoint, so an image's own entrypoint (rke-tools has one) is bypassed.
        entrypoint: Some(cleaner_command(dirs)),
        cmd: None,
        binds: dirs.iter().map(|d| format!("{d}:{d}")).collect(),
        // Deleting under SELinux-labelled host directories needs no relabelling this way.
        security_opt: Some(vec!["label=disable".into()]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleanup_lists_follow_rke1_and_the_prefix() {
        let plain = [
            "/etc/kubernetes/",
            "/etc/cni/",
            "/opt/cni/",
            "/var/run/calico/",
            "/var/lib/cni/",
        ];
        assert_eq!(host_cleanup_dirs(""), plain);
        assert_eq!(host_cleanup_dirs("/"), plain);
        assert_eq!(
            host_cleanup_dirs("/opt/rke/"),
            [
                "/opt/rke/etc/kubernetes/",
                "/etc/cni/",
                "/opt/cni/",
                "/var/run/calico/",
                "/opt/rke/var/lib/cni/",
            ]
        );
        assert_eq!(etcd_cleanup_dirs(""), ["/var/lib/etcd/"]);
        assert_eq!(etcd_cleanup_dirs("/opt/rke"), ["/opt/rke/var/lib/etcd/"]);
    }

    #[test]
    fn only_safe_absolute_dirs_are_accepted() {
        assert_eq!(checked_dir("/etc/cni/").unwrap(), "/etc/cni");
        assert_eq!(checked_dir("/var/lib/etcd").unwrap(), "/var/lib/etcd");
        for bad in [
            "",
            "/",
            "//",
            "etc/cni",
            "./x",
            "/a/../etc",
            "/a/..",
            "/a:/b",
        ] {
            assert!(checked_dir(bad).is_err(), "{bad:?} accepted");
        }
        assert!(
            checked_dir("/")
                .unwrap_err()
                .to_string()
                .contains("root directory")
        );
    }

    #[test]
    fn directories_are_parameters_not_script() {
        let cmd = cleaner_command(&["/a b".into(), "/c$(x)".into()]);
        assert_eq!(&cmd[..2], ["sh", "-c"]);
        assert!(cmd[2].contains(r#"find "$d/." ! -name . -prune -exec rm -rf {} +"#));
        assert!(!cmd[2].contains("/a b"));
        assert_eq!(&cmd[3..], ["rke-cleaner", "/a b", "/c$(x)"]);
    }
}
