//! A large executable on a node (the `rke` binary the snapshot agent runs), placed once: its
//! presence is checked by path and size through a helper container (one `HEAD` on the archive
//! API, never reading the bytes back, so a no-op `rke up` stays fast), and it is written only
//! when missing. Paths are content-addressed by the caller, so "present with this size" means
//! "this binary".

use std::path::Path;
use std::time::Duration;

use bollard::query_parameters::{
    ContainerArchiveInfoOptionsBuilder, UploadToContainerOptionsBuilder,
};

use super::helper::{self, Helper};
use super::oneshot;
use super::{docker_error, is_not_found};
use crate::error::{ErrorKind, classified};
use crate::transport::NodeConnection;

/// Where the presence check sees the node's root (read-only, so a dry run creates nothing).
const HOST_VIEW: &str = "/rke-host";
const PRUNE_TIMEOUT: Duration = Duration::from_secs(60);

/// Whether the node holds a regular file at `path` of exactly `size` bytes.
pub async fn binary_present(
    node: &NodeConnection,
    path: &str,
    size: u64,
    helper_image: &str,
) -> anyhow::Result<bool> {
    let name = create(node, helper_image, vec![format!("/:{HOST_VIEW}:ro")]).await?;
    let options = ContainerArchiveInfoOptionsBuilder::default()
        .path(&format!("{HOST_VIEW}{path}"))
        .build();
    let stat = node
        .docker()
        .get_container_archive_info(&name, Some(options))
        .await;
    let removed = helper::force_remove(node, &name, &format!("file helper {name}")).await;
    let present = match stat {
        Ok(s) => u64::try_from(s.size).ok() == Some(size) && is_regular(s.file_mode),
        Err(e) if is_not_found(&e) => false,
        Err(e) => return Err(docker_error(node, format!("checking {path}"), e)),
    };
    removed?;
    Ok(present)
}

/// Copy `local` to `path` on the node (mode 0755, root-owned), creating its directory.
pub async fn upload_binary(
    node: &NodeConnection,
    local: &Path,
    path: &str,
    helper_image: &str,
) -> anyhow::Result<()> {
    let (dir, file) = path
        .rsplit_once('/')
        .filter(|(dir, file)| dir.starts_with('/') && !file.is_empty())
        .ok_or_else(|| {
            anyhow::anyhow!(
                "node {}: {path:?} is not an absolute file path",
                node.name()
            )
        })?;
    let bytes = tokio::fs::read(local).await.map_err(|e| {
        classified(
            ErrorKind::General,
            format!("cannot read {}: {e}", local.display()),
        )
    })?;
    let tar = one_file_tar(file, &bytes)?;
    let name = create(node, helper_image, vec![format!("{dir}:{dir}")]).await?;
    let options = UploadToContainerOptionsBuilder::default()
        .path(dir)
        .copy_uidgid("true")
        .build();
    let result = node
        .docker()
        .upload_to_container(&name, Some(options), bollard::body_full(tar.into()))
        .await
        .map_err(|e| docker_error(node, format!("writing {path}"), e));
    let removed = helper::force_remove(node, &name, &format!("file helper {name}")).await;
    result?;
    removed?;
    Ok(())
}

/// Delete the files `<dir>/<prefix>*` except `keep` (names within `dir`); returns what was
/// deleted. Runs a shell in `helper_image` (the cluster's busybox image).
pub async fn prune_binaries(
    node: &NodeConnection,
    dir: &str,
    prefix: &str,
    keep: &[&str],
    helper_image: &str,
) -> anyhow::Result<Vec<String>> {
    // Positional parameters: $1 the directory, $2 the prefix, the rest are kept.
    let script = r#"cd "$1" || exit 0
p="$2"; shift 2
for f in "$p"*; do
  [ -f "$f" ] || continue
  k=0; for x in "$@"; do [ "$f" = "$x" ] && k=1; done
  [ $k = 1 ] || { rm -f "$f" && echo "$f"; }
done"#;
    let mut entrypoint: Vec<String> = ["sh", "-c", script, "rke-prune", dir, prefix]
        .map(String::from)
        .to_vec();
    entrypoint.extend(keep.iter().map(|k| k.to_string()));
    let helper = Helper {
        kind: "bin-prune",
        what: "the binary cleaner",
        image: helper_image,
        entrypoint: Some(entrypoint),
        cmd: None,
        binds: vec![format!("{dir}:{dir}")],
        security_opt: Some(vec!["label=disable".into()]),
    };
    let out = oneshot::run(node, helper, "removing old binaries", PRUNE_TIMEOUT).await?;
    Ok(out.lines().map(str::to_string).collect())
}

async fn create(node: &NodeConnection, image: &str, binds: Vec<String>) -> anyhow::Result<String> {
    helper::create(
        node,
        Helper {
            kind: "file-helper",
            what: "file helper",
            image,
            entrypoint: None,
            // Never started; a command only so images without a default one are accepted.
            cmd: Some(vec!["true".into()]),
            binds,
            security_opt: None,
        },
    )
    .await
}

/// A tar holding `name` (mode 0755, root) with `bytes`.
fn one_file_tar(name: &str, bytes: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut builder = tar::Builder::new(Vec::with_capacity(bytes.len() + 1024));
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Regular);
    header.set_mode(0o755);
    header.set_uid(0);
    header.set_gid(0);
    header.set_size(bytes.len() as u64);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    header.set_mtime(now);
    header.set_cksum();
    builder
        .append_data(&mut header, name, bytes)
        .map_err(|e| anyhow::anyhow!("building the archive for {name}: {e}"))?;
    builder
        .into_inner()
        .map_err(|e| anyhow::anyhow!("building the archive for {name}: {e}"))
}

/// Whether a Go `os.FileMode` (the engine's path stat) is a regular file: none of ModeDir,
/// ModeSymlink, ModeDevice, ModeNamedPipe, ModeSocket, ModeCharDevice, ModeIrregular.
fn is_regular(mode: u32) -> bool {
    const TYPE_BITS: u32 = 1 << 31 | 1 << 27 | 1 << 26 | 1 << 25 | 1 << 24 | 1 << 21 | 1 << 19;
    mode & TYPE_BITS == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tar_holds_one_executable() {
        let tar = one_file_tar("rke-0123", b"\x7fELF...").unwrap();
        let mut archive = tar::Archive::new(tar.as_slice());
        let entries: Vec<(String, u32, u64)> = archive
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.path().unwrap().display().to_string(),
                    e.header().mode().unwrap(),
                    e.header().size().unwrap(),
                )
            })
            .collect();
        assert_eq!(entries, [("rke-0123".to_string(), 0o755, 7)]);
    }

    #[test]
    fn only_plain_files_count() {
        assert!(is_regular(0o755));
        assert!(!is_regular(1 << 31 | 0o755));
        assert!(!is_regular(1 << 27 | 0o777));
    }
}
