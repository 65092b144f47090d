//! The local state file from before a restore (`<state file>.pre-restore`): kept until the
//! restored cluster is healthy, put back by a rollback.

use std::path::{Path, PathBuf};

use crate::error::{ErrorKind, classified};

/// The copy of the state file from before a restore.
pub fn kept_state_path(state_path: &Path) -> PathBuf {
    let mut name = state_path.as_os_str().to_owned();
    name.push(".pre-restore");
    PathBuf::from(name)
}

/// Keep the state file's bytes from before the restore (nothing when there is none).
pub fn keep_state(state_path: &Path, bytes: Option<&[u8]>) -> anyhow::Result<()> {
    let Some(bytes) = bytes else { return Ok(()) };
    let kept = kept_state_path(state_path);
    crate::fsutil::write_private_atomic(&kept, bytes, crate::fsutil::Backup::None).map_err(|e| {
        classified(
            ErrorKind::State,
            format!(
                "keeping the state from before the restore in {}: {e}",
                kept.display()
            ),
        )
    })
}

/// The restore completed: the kept state is no longer needed.
pub fn drop_kept_state(state_path: &Path) {
    let kept = kept_state_path(state_path);
    if let Err(e) = std::fs::remove_file(&kept)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!("could not delete {}: {e}", kept.display());
    }
}

/// Put the kept state back in place of the state file; only warns when there is none.
pub fn put_back_kept_state(state_path: &Path) -> anyhow::Result<()> {
    let kept = kept_state_path(state_path);
    if !kept.exists() {
        tracing::warn!(
            "no {}: the cluster comes up with the state the restore wrote (the snapshot's, same \
             CA)",
            kept.display()
        );
        return Ok(());
    }
    std::fs::rename(&kept, state_path).map_err(|e| {
        classified(
            ErrorKind::State,
            format!(
                "putting back the state from before the restore ({} -> {}): {e}",
                kept.display(),
                state_path.display()
            ),
        )
    })?;
    tracing::info!("put back the state file from before the restore");
    Ok(())
}

/// This machine's host name, for the journal's `by`.
pub fn local_host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "unknown-host".into())
}
