//! Snapshot archives on the etcd nodes, in RKE1's place (`/opt/rke/etcd-snapshots/`, not under
//! `prefix_path`): list them with size, time and the SHA-256 computed on the node, copy an
//! archive (and its sidecar) to a node, read one back. Everything goes through the node's
//! Docker API with the cluster's helper image (`system_images.alpine`: busybox `sh`, `stat`,
//! `sha256sum`), so checksums are computed where the bytes are and never travel.

use std::path::Path;
use std::time::Duration;

use super::naming::{ARCHIVE_EXTENSION, LOCAL_SNAPSHOT_DIR};
use super::package::{parse_sidecar, sidecar_file_name};
use crate::error::{ErrorKind, classified};
use crate::provision::node::{Helper, fetch_file, run_oneshot, upload_files, upload_local_file};
use crate::provision::spec::NodeFile;
use crate::transport::NodeConnection;

/// How long listing (hashing every archive) may take on one node.
const LIST_TIMEOUT: Duration = Duration::from_secs(600);

/// One snapshot file found on a node.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NodeSnapshot {
    /// The file name in the snapshot directory (`<name>.zip`, or a bare RKE1 snapshot).
    pub file_name: String,
    pub size: u64,
    /// Modification time, seconds since the epoch.
    pub modified: i64,
    /// SHA-256 of the file as the node computed it.
    pub sha256: String,
    /// What the `<file>.sha256` sidecar records, if there is one.
    pub recorded_sha256: Option<String>,
}

impl NodeSnapshot {
    /// The snapshot name: the file name without `.zip`.
    pub fn name(&self) -> &str {
        self.file_name
            .strip_suffix(&format!(".{ARCHIVE_EXTENSION}"))
            .unwrap_or(&self.file_name)
    }

    /// Whether the file differs from what its sidecar records.
    pub fn corrupt(&self) -> bool {
        self.recorded_sha256
            .as_ref()
            .is_some_and(|recorded| *recorded != self.sha256)
    }
}

/// The path of a file in the snapshot directory.
pub fn node_path(file_name: &str) -> String {
    format!("{LOCAL_SNAPSHOT_DIR}/{file_name}")
}

/// Every snapshot file on the node (sidecars and hidden or partial files excluded), by name.
pub async fn list(node: &NodeConnection, helper_image: &str) -> anyhow::Result<Vec<NodeSnapshot>> {
    list_files(node, &[], helper_image).await
}

/// The named files of the node's snapshot directory that exist there; only those are hashed,
/// so checking one snapshot does not read every archive on the node.
pub async fn find(
    node: &NodeConnection,
    file_names: &[&str],
    helper_image: &str,
) -> anyhow::Result<Vec<NodeSnapshot>> {
    if file_names.is_empty() {
        return Ok(Vec::new());
    }
    list_files(node, file_names, helper_image).await
}

/// `file_names`, or every file when empty.
async fn list_files(
    node: &NodeConnection,
    file_names: &[&str],
    helper_image: &str,
) -> anyhow::Result<Vec<NodeSnapshot>> {
    // One line per file: size, mtime, sha256, recorded sha256 or '-', then the name (last, so
    // names with spaces survive). Directory and names are positional parameters, never spliced
    // into the script.
    let script = r#"cd "$1" || exit 1
shift
[ $# -gt 0 ] || set -- *
for f in "$@"; do
  [ -f "$f" ] || continue
  case "$f" in .*|*.sha256|*.part) continue ;; esac
  s=$(stat -c '%s %Y' "$f") || exit 1
  h=$(sha256sum "$f") || exit 1
  r=-
  [ -f "$f.sha256" ] && r=$(head -c 64 "$f.sha256")
  echo "$s ${h%% *} ${r:--} $f"
done"#;
    let dir = LOCAL_SNAPSHOT_DIR;
    let mut entrypoint: Vec<String> = ["sh", "-c", script, "rke-snapshot-list", dir]
        .map(String::from)
        .to_vec();
    entrypoint.extend(file_names.iter().map(|f| f.to_string()));
    let helper = Helper {
        kind: "snapshot-list",
        what: "the snapshot lister",
        image: helper_image,
        entrypoint: Some(entrypoint),
        cmd: None,
        binds: vec![format!("{dir}:{dir}:ro")],
        security_opt: Some(vec!["label=disable".into()]),
    };
    let output = run_oneshot(node, helper, "listing etcd snapshots", LIST_TIMEOUT).await?;
    parse_listing(&output).map_err(|e| {
        classified(
            ErrorKind::Snapshot,
            format!("node {}: listing {dir}: {e}", node.name()),
        )
    })
}

fn parse_listing(output: &str) -> Result<Vec<NodeSnapshot>, String> {
    let mut found = Vec::new();
    for line in output.lines().filter(|l| !l.trim().is_empty()) {
        let mut fields = line.splitn(5, ' ');
        let (Some(size), Some(mtime), Some(sha), Some(recorded), Some(file)) = (
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
        ) else {
            return Err(format!("unexpected line {line:?}"));
        };
        let bad = || format!("unexpected line {line:?}");
        found.push(NodeSnapshot {
            file_name: file.to_string(),
            size: size.parse().map_err(|_| bad())?,
            modified: mtime.parse().map_err(|_| bad())?,
            sha256: parse_sidecar(sha).ok_or_else(bad)?,
            recorded_sha256: parse_sidecar(recorded),
        });
    }
    found.sort_by(|a, b| a.file_name.cmp(&b.file_name));
    Ok(found)
}

/// Copy the local archive `local` to `<file_name>` in the node's snapshot directory (streamed;
/// mode 0600: archives hold the cluster state with its keys), then its sidecar.
pub async fn put(
    node: &NodeConnection,
    file_name: &str,
    local: &Path,
    sha256: &str,
    helper_image: &str,
) -> anyhow::Result<()> {
    let sidecar = NodeFile {
        path: node_path(&sidecar_file_name(file_name)),
        contents: super::package::sidecar_text(sha256, file_name).into_bytes(),
        mode: 0o600,
        secret: false,
        owner: None,
    };
    let copied = async {
        upload_local_file(node, local, &node_path(file_name), 0o600, helper_image).await?;
        upload_files(node, &[sidecar], &[], helper_image).await
    };
    copied.await.map(drop).map_err(|e| {
        classified(
            ErrorKind::Snapshot,
            format!("copying snapshot {file_name}: {e:#}"),
        )
    })
}

/// The bytes of a file in the node's snapshot directory, `None` when it has none.
pub async fn get(
    node: &NodeConnection,
    file_name: &str,
    helper_image: &str,
) -> anyhow::Result<Option<Vec<u8>>> {
    fetch_file(node, &node_path(file_name), helper_image).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listing_lines_parse_with_and_without_sidecars() {
        let a = "a".repeat(64);
        let b = "b".repeat(64);
        let out =
            format!("2048 1700000000 {a} {a} snap one.zip\n10 1700000001 {b} - raw_snapshot\n\n");
        let found = parse_listing(&out).unwrap();
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].file_name, "raw_snapshot");
        assert_eq!(found[0].recorded_sha256, None);
        assert!(!found[0].corrupt());
        assert_eq!(found[1].name(), "snap one");
        assert_eq!(found[1].size, 2048);
        assert_eq!(found[1].modified, 1_700_000_000);
        assert_eq!(found[1].recorded_sha256.as_deref(), Some(a.as_str()));
        let corrupt = format!("5 1 {a} {b} x.zip\n");
        assert!(parse_listing(&corrupt).unwrap()[0].corrupt());
        assert!(parse_listing("garbage").is_err());
        assert!(parse_listing(&format!("x 1 {a} - f")).is_err());
    }
}
