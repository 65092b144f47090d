//! Streaming a snapshot from one member with etcd's Snapshot RPC.
//!
//! The member sends its bbolt database in chunks and then, as the last message, the SHA-256 of
//! those bytes; `remaining_bytes()` reaches 0 before that last message, so the stream is read
//! until it ends, never until `remaining_bytes() == 0`. The file then holds exactly what
//! `etcdctl snapshot save` writes, which `etcdutl snapshot restore` verifies.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::AsyncWriteExt;

use super::client::EtcdClient;
use crate::error::{ErrorKind, classified};
use crate::snapshot::integrity::verify_etcd_snapshot;

/// Longest a whole snapshot may take: RKE1's default `backup_config.timeout` is 300 s for the
/// snapshot container; a large database over an SSH tunnel gets more.
pub const SNAPSHOT_TIMEOUT: Duration = Duration::from_secs(30 * 60);

impl EtcdClient {
    /// Save a snapshot of this member's database to `path` and return its size in bytes. The
    /// data goes to `.<file name>.part` beside `path`, is synced, verified
    /// ([`verify_etcd_snapshot`]) and only then renamed to `path`; on failure nothing is left.
    /// The stream may take up to [`SNAPSHOT_TIMEOUT`] in all, but each message must arrive
    /// within the client's per-call deadline, so a stalled member is noticed early.
    pub async fn snapshot_to(&self, path: &Path) -> anyhow::Result<u64> {
        let tmp = part_path(path);
        let result = tokio::time::timeout(SNAPSHOT_TIMEOUT, self.stream_to(&tmp)).await;
        let outcome = match result {
            Ok(Ok(size)) => finish(&tmp, path).await.map(|()| size),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(classified(
                ErrorKind::Snapshot,
                format!(
                    "{}: snapshot not complete within {} minutes",
                    self.label(),
                    SNAPSHOT_TIMEOUT.as_secs() / 60
                ),
            )),
        };
        if outcome.is_err() {
            let _ = tokio::fs::remove_file(&tmp).await;
        }
        outcome
    }

    /// Write every message's blob to `tmp`, fsync, and return the byte count.
    async fn stream_to(&self, tmp: &Path) -> anyhow::Result<u64> {
        let fail = |what: String| {
            classified(
                ErrorKind::Snapshot,
                format!("{}: snapshot to {}: {what}", self.label(), tmp.display()),
            )
        };
        let mut maintenance = self.client.maintenance_client();
        let mut stream = self.call("snapshot", maintenance.snapshot()).await?;
        let mut file = tokio::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(tmp)
            .await
            .map_err(|e| fail(format!("cannot create the file: {e}")))?;
        let mut size = 0u64;
        while let Some(message) = self.call("snapshot stream", stream.message()).await? {
            file.write_all(message.blob())
                .await
                .map_err(|e| fail(format!("cannot write: {e}")))?;
            size += message.blob().len() as u64;
        }
        file.flush()
            .await
            .map_err(|e| fail(format!("cannot write: {e}")))?;
        file.sync_all()
            .await
            .map_err(|e| fail(format!("cannot sync: {e}")))?;
        Ok(size)
    }
}

/// Verify the finished file, then move it to its final name and sync the directory.
async fn finish(tmp: &Path, path: &Path) -> anyhow::Result<()> {
    let (tmp_owned, path_owned) = (tmp.to_path_buf(), path.to_path_buf());
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        verify_etcd_snapshot(&tmp_owned)?;
        let io_fail = |e: std::io::Error| {
            classified(
                ErrorKind::Snapshot,
                format!("cannot move snapshot to {}: {e}", path_owned.display()),
            )
        };
        std::fs::rename(&tmp_owned, &path_owned).map_err(io_fail)?;
        let dir = match path_owned.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io_fail)
    })
    .await
    .map_err(|e| classified(ErrorKind::Snapshot, format!("snapshot check stopped: {e}")))?
}

/// `.<file name>.part` beside `path`.
fn part_path(path: &Path) -> PathBuf {
    let mut name = std::ffi::OsString::from(".");
    name.push(path.file_name().unwrap_or_default());
    name.push(".part");
    path.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_file_sits_beside_the_target() {
        assert_eq!(
            part_path(Path::new("/opt/rke/etcd-snapshots/nightly")),
            Path::new("/opt/rke/etcd-snapshots/.nightly.part")
        );
        assert_eq!(part_path(Path::new("snap")), Path::new(".snap.part"));
    }
}
