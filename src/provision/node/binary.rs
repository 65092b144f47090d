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
use super::mounts::Mounts;
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
    // Through a container already binding it (the agent's own), so nothing is created.
    // A container whose bind the engine cannot mount (its source gone) answers with an error
    // other than 404: then a helper looks.
    let existing = Mounts::of(node).await?;
    let through_existing = match existing.route(path) {
        Some((container, inner)) => match stat_path(node, container, &inner).await {
            Err(e) if !is_not_found(&e) => {
                tracing::debug!(
                    node = node.name(),
                    "{path} not readable through {container}: {e}"
                );
                None
            }
            stat => Some(stat),
        },
        None => None,
    };
    let (stat, removed) = match through_existing {
        Some(stat) => (stat, Ok(false)),
        None => {
            let name =
                helper::create_idle(node, helper_image, vec![format!("/:{HOST_VIEW}:ro")]).await?;
            let stat = stat_path(node, &name, &format!("{HOST_VIEW}{path}")).await;
            let removed = helper::force_remove(node, &name, &format!("file helper {name}")).await;
            (stat, removed)
        }
    };
    let present = match stat {
        Ok(s) => u64::try_from(s.size).ok() == Some(size) && is_regular(s.file_mode),
        Err(e) if is_not_found(&e) => false,
        Err(e) => return Err(docker_error(node, format!("checking {path}"), e)),
    };
    removed?;
    Ok(present)
}

/// The engine's stat of `path` in `container` (`HEAD` on its archive).
async fn stat_path(
    node: &NodeConnection,
    container: &str,
    path: &str,
) -> Result<bollard::container::PathStatResponse, bollard::errors::Error> {
    let options = ContainerArchiveInfoOptionsBuilder::default()
        .path(path)
        .build();
    node.docker()
        .get_container_archive_info(container, Some(options))
        .await
}

/// Copy `local` to `path` on the node (root-owned, `mode`), creating its directory. The file
/// is streamed, never held in memory whole (agent binaries, snapshot archives).
pub async fn upload_local_file(
    node: &NodeConnection,
    local: &Path,
    path: &str,
    mode: u32,
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
    let read_error = |e: std::io::Error| {
        classified(
            ErrorKind::General,
            format!("cannot read {}: {e}", local.display()),
        )
    };
    let source = tokio::fs::File::open(local).await.map_err(read_error)?;
    let size = source.metadata().await.map_err(read_error)?.len();
    let header = tar_header(file, size, mode)?;
    let name = helper::create_idle(node, helper_image, vec![format!("{dir}:{dir}")]).await?;
    let options = UploadToContainerOptionsBuilder::default()
        .path(dir)
        .copy_uidgid("true")
        .build();
    let result = node
        .docker()
        .upload_to_container(
            &name,
            Some(options),
            bollard::body_try_stream(tar_stream(header, source, size)),
        )
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

const BLOCK: usize = 512;
const CHUNK: usize = 1 << 20;

/// The tar header of one regular root-owned file `name` of `size` bytes.
fn tar_header(name: &str, size: u64, mode: u32) -> anyhow::Result<[u8; BLOCK]> {
    let mut header = tar::Header::new_gnu();
    header
        .set_path(name)
        .map_err(|e| anyhow::anyhow!("building the archive for {name}: {e}"))?;
    header.set_entry_type(tar::EntryType::Regular);
    header.set_mode(mode);
    header.set_uid(0);
    header.set_gid(0);
    header.set_size(size);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    header.set_mtime(now);
    header.set_cksum();
    let mut block = [0u8; BLOCK];
    block.copy_from_slice(header.as_bytes());
    Ok(block)
}

/// A one-file tar archive, streamed: the header, exactly `size` bytes of `source` in 1 MiB
/// chunks, padding to a whole block, and the two zero blocks that end an archive.
fn tar_stream<R>(
    header: [u8; BLOCK],
    source: R,
    size: u64,
) -> impl futures_util::Stream<Item = Result<bytes::Bytes, std::io::Error>> + Send + 'static
where
    R: tokio::io::AsyncRead + Unpin + Send + 'static,
{
    use futures_util::StreamExt;
    use tokio::io::AsyncReadExt;
    let padding = (BLOCK - (size % BLOCK as u64) as usize) % BLOCK;
    let body = futures_util::stream::try_unfold((source, size), |(mut source, left)| async move {
        if left == 0 {
            return Ok(None);
        }
        let want = usize::try_from(left).map_or(CHUNK, |l| l.min(CHUNK));
        let mut buf = vec![0u8; want];
        source.read_exact(&mut buf).await?;
        Ok(Some((
            bytes::Bytes::from(buf),
            (source, left - want as u64),
        )))
    });
    futures_util::stream::once(async move { Ok(bytes::Bytes::copy_from_slice(&header)) })
        .chain(body)
        .chain(futures_util::stream::once(async move {
            Ok(bytes::Bytes::from(vec![0u8; padding + 2 * BLOCK]))
        }))
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

    async fn streamed(content: &[u8], size: u64) -> Result<Vec<u8>, std::io::Error> {
        use futures_util::TryStreamExt;
        let header = tar_header("rke-0123", size, 0o755).unwrap();
        let source = std::io::Cursor::new(content.to_vec());
        let chunks: Vec<bytes::Bytes> = tar_stream(header, source, size).try_collect().await?;
        Ok(chunks.concat())
    }

    #[tokio::test]
    async fn streamed_tar_holds_one_executable() {
        for len in [0usize, 7, 512, 1 << 20, (1 << 20) + 513] {
            let content: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let tar = streamed(&content, len as u64).await.unwrap();
            assert_eq!(tar.len() % 512, 0, "{len}");
            let mut archive = tar::Archive::new(tar.as_slice());
            let mut entries = archive.entries().unwrap();
            let mut entry = entries.next().unwrap().unwrap();
            assert_eq!(entry.path().unwrap().to_str(), Some("rke-0123"));
            assert_eq!(entry.header().mode().unwrap(), 0o755);
            let mut read = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut read).unwrap();
            assert_eq!(read, content, "{len}");
            drop(entry);
            assert!(entries.next().is_none());
        }
        // A file that shrank while being sent fails rather than sending a short binary.
        assert!(streamed(b"short", 10).await.is_err());
    }

    #[test]
    fn only_plain_files_count() {
        assert!(is_regular(0o755));
        assert!(!is_regular(1 << 31 | 0o755));
        assert!(!is_regular(1 << 27 | 0o777));
    }
}
