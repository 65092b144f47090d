//! Emptying the kubelet's root directory safely. Pod volumes (tmpfs secrets, NFS, block
//! devices...) stay mounted below it after the kubelet is gone, and deleting through such a
//! mount would delete the volume's data. So: unmount everything below it, deepest first, in
//! the host's mount namespace; read the host's mount table again; and empty the directory
//! only when nothing is mounted below it any more.
//!
//! The mount work runs in a privileged one-shot helper in the host's PID namespace: it reads
//! `/proc/1/mountinfo` (the host's table, whatever the helper's own namespace shows) and
//! unmounts with `nsenter -t 1 -m -- umount`. A helper image without `nsenter` falls back to
//! unmounting through an `rshared` bind of the directory, whose unmounts propagate to the
//! host when the host mount is shared (as the kubelet's `shared` bind requires); the re-read
//! table is the judge either way.

use std::time::Duration;

use crate::provision::node::{Helper, HostAccess, clean_dirs, run_oneshot_with};
use crate::transport::NodeConnection;

const MOUNT_TIMEOUT: Duration = Duration::from_secs(120);
/// First line of the probe's output, saying whether `nsenter` is available.
const HAS_NSENTER: &str = "nsenter=yes";

/// What happened to the kubelet directories of one node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KubeletOutcome {
    /// Nothing was mounted below any more; contents deleted. `unmounted` mounts were taken
    /// off first.
    Emptied { unmounted: usize },
    /// Mount points that could not be unmounted; nothing was deleted.
    MountsRemain(Vec<String>),
}

/// Unmount everything below `dirs` on the node, then empty them if nothing remains mounted.
pub async fn empty_safely(
    node: &NodeConnection,
    dirs: &[String],
    helper_image: &str,
) -> anyhow::Result<KubeletOutcome> {
    let (nsenter, table) = probe(node, helper_image).await?;
    let before = mounts_below(&table, dirs);
    if !before.is_empty() {
        // Failures show in the re-read table; the script itself always succeeds.
        let output = unmount(node, helper_image, dirs, &before, nsenter).await?;
        for line in output.lines().filter(|l| !l.trim().is_empty()) {
            tracing::debug!(node = %node.name(), "unmount: {line}");
        }
    }
    let (_, table) = probe(node, helper_image).await?;
    let remaining = mounts_below(&table, dirs);
    if !remaining.is_empty() {
        return Ok(KubeletOutcome::MountsRemain(remaining));
    }
    clean_dirs(node, dirs, helper_image).await?;
    Ok(KubeletOutcome::Emptied {
        unmounted: before.len(),
    })
}

/// Whether `nsenter` is in the helper image, and the host's mount table.
async fn probe(node: &NodeConnection, image: &str) -> anyhow::Result<(bool, String)> {
    let script = format!(
        "if command -v nsenter >/dev/null 2>&1; then echo {HAS_NSENTER}; \
         else echo nsenter=no; fi; cat /proc/1/mountinfo"
    );
    let helper = Helper {
        kind: "mount-probe",
        what: "the mount probe",
        image,
        entrypoint: Some(vec!["sh".into(), "-c".into(), script]),
        cmd: None,
        binds: Vec::new(),
        security_opt: Some(vec!["label=disable".into()]),
    };
    let out = run_oneshot_with(
        node,
        helper,
        HostAccess::PrivilegedHostPid,
        "reading the host's mount table",
        MOUNT_TIMEOUT,
    )
    .await?;
    let (first, rest) = out.split_once('\n').unwrap_or((out.as_str(), ""));
    Ok((first.trim() == HAS_NSENTER, rest.to_string()))
}

async fn unmount(
    node: &NodeConnection,
    image: &str,
    dirs: &[String],
    mounts: &[String],
    nsenter: bool,
) -> anyhow::Result<String> {
    let (script, binds) = if nsenter {
        (UNMOUNT_NSENTER, Vec::new())
    } else {
        // Without nsenter: the same paths through a recursive, shared bind, so the
        // helper's unmounts propagate to the host's peers.
        let binds = dirs.iter().map(|d| format!("{d}:{d}:rshared")).collect();
        (UNMOUNT_PROPAGATED, binds)
    };
    let entrypoint = ["sh", "-c", script, "rke-unmount"]
        .into_iter()
        .map(str::to_string)
        .chain(mounts.iter().cloned())
        .collect();
    let helper = Helper {
        kind: "unmount",
        what: "the unmount helper",
        image,
        entrypoint: Some(entrypoint),
        cmd: None,
        binds,
        security_opt: Some(vec!["label=disable".into()]),
    };
    let what = format!(
        "unmounting {} mount(s) below the kubelet directory",
        mounts.len()
    );
    run_oneshot_with(
        node,
        helper,
        HostAccess::PrivilegedHostPid,
        &what,
        MOUNT_TIMEOUT,
    )
    .await
}

/// Mount points come as positional parameters (never spliced into the script). A busy mount
/// is detached lazily: the pods using it are gone, and a detached mount is out of the path
/// the cleaner walks.
const UNMOUNT_NSENTER: &str = r#"for m in "$@"; do nsenter -t 1 -m -- umount "$m" 2>/dev/null || nsenter -t 1 -m -- umount -l "$m" || echo "could not unmount $m"; done; exit 0"#;
const UNMOUNT_PROPAGATED: &str = r#"for m in "$@"; do umount "$m" 2>/dev/null || umount -l "$m" || echo "could not unmount $m"; done; exit 0"#;

/// Mount points strictly below any of `dirs` in a `/proc/<pid>/mountinfo` text, deepest first
/// (a path mounted several times appears as often, one unmount each).
pub fn mounts_below(mountinfo: &str, dirs: &[String]) -> Vec<String> {
    let mut found: Vec<String> = mountinfo
        .lines()
        .filter_map(mount_point)
        .filter(|m| dirs.iter().any(|d| is_strictly_below(m, d)))
        .collect();
    // Deepest first; among equal depth, later mounts (stacked on top) first.
    found.reverse();
    found.sort_by_key(|m| std::cmp::Reverse(m.matches('/').count()));
    found
}

fn is_strictly_below(path: &str, dir: &str) -> bool {
    let dir = dir.trim_end_matches('/');
    path.strip_prefix(dir)
        .is_some_and(|rest| rest.starts_with('/') && rest.len() > 1)
}

/// Field 5 of a mountinfo line, with the kernel's octal escapes (`\040` for a space) decoded.
fn mount_point(line: &str) -> Option<String> {
    let field = line.split(' ').nth(4)?;
    Some(unescape_octal(field))
}

fn unescape_octal(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && i + 3 < bytes.len()
            && bytes[i + 1..i + 4]
                .iter()
                .all(|b| (b'0'..=b'7').contains(b))
        {
            let v = (bytes[i + 1] - b'0') * 64 + (bytes[i + 2] - b'0') * 8 + (bytes[i + 3] - b'0');
            out.push(v);
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str = "\
22 1 0:21 / / rw,relatime shared:1 - overlay overlay rw
30 22 0:25 / /var/lib/kubelet rw,relatime shared:5 - ext4 /dev/sdb rw
31 30 0:26 / /var/lib/kubelet/pods/abc/volumes/kubernetes.io~secret/token rw shared:6 - tmpfs tmpfs rw
32 30 0:27 / /var/lib/kubelet/pods/abc/volumes/kubernetes.io~nfs/data rw shared:7 - nfs srv:/x rw
33 32 0:28 / /var/lib/kubelet/pods/abc/volumes/kubernetes.io~nfs/data/sub rw shared:8 - tmpfs tmpfs rw
34 22 0:29 / /var/lib/kubelet-other rw shared:9 - tmpfs tmpfs rw
35 30 0:30 / /var/lib/kubelet/pods/with\\040space rw shared:10 - tmpfs tmpfs rw
36 31 0:31 / /var/lib/kubelet/pods/abc/volumes/kubernetes.io~secret/token rw shared:11 - tmpfs tmpfs rw
";

    fn dirs() -> Vec<String> {
        vec!["/var/lib/kubelet".to_string()]
    }

    #[test]
    fn only_mounts_strictly_below_are_found_deepest_first() {
        let found = mounts_below(TABLE, &dirs());
        assert_eq!(
            found,
            [
                "/var/lib/kubelet/pods/abc/volumes/kubernetes.io~nfs/data/sub",
                "/var/lib/kubelet/pods/abc/volumes/kubernetes.io~secret/token",
                "/var/lib/kubelet/pods/abc/volumes/kubernetes.io~nfs/data",
                "/var/lib/kubelet/pods/abc/volumes/kubernetes.io~secret/token",
                "/var/lib/kubelet/pods/with space",
            ]
        );
        // The directory itself (its own disk) and a sibling with a common prefix are not
        // below it.
        assert!(!found.iter().any(|m| m == "/var/lib/kubelet"));
        assert!(
            !found
                .iter()
                .any(|m| m.starts_with("/var/lib/kubelet-other"))
        );
    }

    #[test]
    fn nothing_below_means_empty_and_trailing_slash_is_ignored() {
        assert!(mounts_below("22 1 0:21 / / rw - overlay overlay rw\n", &dirs()).is_empty());
        assert_eq!(
            mounts_below(TABLE, &["/var/lib/kubelet/".to_string()]).len(),
            5
        );
        assert!(mounts_below("", &dirs()).is_empty());
    }

    #[test]
    fn octal_escapes_are_decoded() {
        assert_eq!(unescape_octal(r"/a\040b\011c\134d"), "/a b\tc\\d");
        assert_eq!(unescape_octal(r"/no\escape\04"), r"/no\escape\04");
    }

    #[test]
    fn mount_points_are_arguments_not_script() {
        assert!(UNMOUNT_NSENTER.contains(r#"nsenter -t 1 -m -- umount "$m""#));
        assert!(!UNMOUNT_NSENTER.contains("/var/lib/kubelet"));
        assert!(UNMOUNT_PROPAGATED.contains(r#"umount -l "$m""#));
    }
}
