//! Reading and atomically writing `cluster.rkestate`.
//!
//! A state file holds the cluster's CA keys: losing or corrupting it means new certificates on the
//! next `up`. So a damaged file is an error (never silently treated as "no state"), and a save
//! either fully replaces the file or leaves it untouched. `<file>.bak` holds the file as it was
//! when the command started: a command saves several times (`up` records its desired state
//! before touching nodes, then the applied state), and only its first real change makes the
//! backup, so a failed run never leaves its own midpoint as the only copy to go back to.

use super::model::{FullState, Loaded};
use crate::error::{ErrorKind, classified};
pub use crate::fsutil::backup_path;
use crate::fsutil::{self, Backup};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::HashSet;
use std::fs;
use std::io::ErrorKind as IoKind;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// State files this process (one command) has already replaced or created: later saves keep
/// their `.bak` as it is.
static CHANGED_THIS_RUN: Mutex<Option<HashSet<PathBuf>>> = Mutex::new(None);

/// Parse state file content. `origin` names the source in error messages (a path, or e.g. the
/// in-cluster ConfigMap). Errors are classified [`ErrorKind::State`].
pub fn decode<C: DeserializeOwned>(bytes: &[u8], origin: &str) -> anyhow::Result<Loaded<C>> {
    let fail = |msg: String| classified(ErrorKind::State, format!("state file {origin}: {msg}"));
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(fail("the file is empty".into()));
    }
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        if e.is_eof() {
            fail(format!(
                "the file is truncated (JSON ends early at line {}, column {})",
                e.line(),
                e.column()
            ))
        } else {
            fail(format!("invalid JSON: {e}"))
        }
    })?;
    FullState::from_json(&value).map_err(|e| fail(format!("{e:#}")))
}

/// Load the state file. `Ok(None)` when it does not exist; any other problem is an error.
pub fn load<C: DeserializeOwned>(path: &Path) -> anyhow::Result<Option<Loaded<C>>> {
    match crate::limits::read_file(path, crate::limits::STATE_FILE) {
        Ok(bytes) => decode(&bytes, &path.display().to_string()).map(Some),
        Err(e) if e.kind() == IoKind::NotFound => Ok(None),
        Err(e) => Err(classified(
            ErrorKind::State,
            format!("cannot read state file {}: {e}", path.display()),
        )),
    }
}

/// Save the state atomically (see the module docs). Writing the same content again is a no-op.
pub fn save<C: Serialize>(path: &Path, state: &FullState<C>) -> anyhow::Result<()> {
    let bytes = state.to_file_bytes().map_err(|e| {
        classified(
            ErrorKind::State,
            format!("cannot encode the state for {}: {e:#}", path.display()),
        )
    })?;
    let key = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut changed = CHANGED_THIS_RUN.lock().unwrap_or_else(|e| e.into_inner());
    let changed = changed.get_or_insert_with(HashSet::new);
    let backup = if changed.contains(&key) {
        Backup::None
    } else {
        Backup::Keep
    };
    // An unchanged file is not rewritten: the run's first real change still makes the backup.
    let unchanged = fs::read(path).is_ok_and(|old| old == bytes);
    fsutil::write_private_atomic(path, &bytes, backup).map_err(|e| {
        classified(
            ErrorKind::State,
            format!("cannot write state file {}: {e}", path.display()),
        )
    })?;
    if !unchanged {
        changed.insert(key);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::certs::{CertBundle, CertificatePki};
    use crate::error::kind_of;
    use crate::state::ClusterState;
    use serde::Deserialize;
    use std::fs::{self, Permissions};
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
    #[serde(default)]
    struct MiniConfig {
        kubernetes_version: String,
    }

    fn state(version: &str) -> FullState<MiniConfig> {
        let mut bundle = CertBundle::new();
        bundle.insert(
            "kube-ca".into(),
            CertificatePki {
                name: "kube-ca".into(),
                key_pem: "-----BEGIN RSA PRIVATE KEY-----\nx\n-----END RSA PRIVATE KEY-----\n"
                    .into(),
                ..CertificatePki::default()
            },
        );
        FullState {
            desired_state: ClusterState {
                rke_config: Some(MiniConfig {
                    kubernetes_version: version.into(),
                }),
                certificates_bundle: bundle,
                encryption_config: String::new(),
                ..ClusterState::default()
            },
            current_state: ClusterState::default(),
            ..FullState::default()
        }
    }

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().mode() & 0o777
    }

    fn dir_entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    fn state_error(result: anyhow::Result<Option<Loaded<MiniConfig>>>) -> String {
        let err = result.unwrap_err();
        assert_eq!(kind_of(&err), ErrorKind::State);
        err.to_string()
    }

    #[test]
    fn missing_file_is_none() {
        let dir = tempfile::tempdir().unwrap();
        let loaded = load::<MiniConfig>(&dir.path().join("cluster.rkestate")).unwrap();
        assert!(loaded.is_none());
    }

    #[test]
    fn save_then_load_round_trips_with_mode_0600_and_no_debris() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cluster.rkestate");
        save(&path, &state("v1")).unwrap();
        assert_eq!(mode(&path), 0o600);
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("{\n  \"desiredState\": {\n    \"rkeConfig\": {\n"));
        assert!(text.ends_with("}\n"));
        let loaded = load::<MiniConfig>(&path).unwrap().unwrap();
        assert_eq!(loaded.state, state("v1"));
        assert!(loaded.warnings.is_empty());
        assert_eq!(dir_entries(dir.path()), ["cluster.rkestate"]);
    }

    #[test]
    fn previous_version_is_kept_as_bak_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cluster.rkestate");
        // A file written by someone else with looser permissions.
        fs::write(&path, state("v1").to_file_bytes().unwrap()).unwrap();
        fs::set_permissions(&path, Permissions::from_mode(0o644)).unwrap();
        let first = fs::read(&path).unwrap();

        save(&path, &state("v2")).unwrap();
        let bak = backup_path(&path);
        assert_eq!(bak, dir.path().join("cluster.rkestate.bak"));
        assert_eq!(fs::read(&bak).unwrap(), first);
        assert_eq!(mode(&bak), 0o600);
        assert_eq!(mode(&path), 0o600);
        let loaded = load::<MiniConfig>(&path).unwrap().unwrap();
        assert_eq!(loaded.state, state("v2"));

        // Later saves of the same run (process) keep the backup from before the run, not
        // their own midpoint.
        save(&path, &state("v3")).unwrap();
        assert_eq!(fs::read(&bak).unwrap(), first);
        let loaded = load::<MiniConfig>(&path).unwrap().unwrap();
        assert_eq!(loaded.state, state("v3"));
        assert_eq!(
            dir_entries(dir.path()),
            ["cluster.rkestate", "cluster.rkestate.bak"]
        );
    }

    #[test]
    fn unchanged_content_is_not_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cluster.rkestate");
        save(&path, &state("v1")).unwrap();
        let inode = fs::metadata(&path).unwrap().ino();
        save(&path, &state("v1")).unwrap();
        assert_eq!(
            fs::metadata(&path).unwrap().ino(),
            inode,
            "file was replaced"
        );
        assert!(!backup_path(&path).exists(), "no backup for a no-op save");

        // Same content with loose permissions: only the mode is fixed.
        fs::set_permissions(&path, Permissions::from_mode(0o644)).unwrap();
        save(&path, &state("v1")).unwrap();
        assert_eq!(fs::metadata(&path).unwrap().ino(), inode);
        assert_eq!(mode(&path), 0o600);
        assert!(!backup_path(&path).exists());
    }

    #[test]
    fn the_backup_is_the_file_from_before_the_run() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cluster.rkestate");
        let before = state("v1").to_file_bytes().unwrap();
        fs::write(&path, &before).unwrap();
        // A first save that changes nothing does not count: the next one backs up v1.
        save(&path, &state("v1")).unwrap();
        assert!(!backup_path(&path).exists());
        save(&path, &state("v2")).unwrap();
        save(&path, &state("v3")).unwrap();
        assert_eq!(fs::read(backup_path(&path)).unwrap(), before);

        // A file this run created has no earlier version: later saves make no backup of it.
        let fresh = dir.path().join("new.rkestate");
        save(&fresh, &state("v1")).unwrap();
        save(&fresh, &state("v2")).unwrap();
        assert!(!backup_path(&fresh).exists());
    }

    #[test]
    fn save_through_a_symlink_updates_the_target() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.rkestate");
        let link = dir.path().join("cluster.rkestate");
        save(&real, &state("v1")).unwrap();
        std::os::unix::fs::symlink(&real, &link).unwrap();
        save(&link, &state("v2")).unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        let loaded = load::<MiniConfig>(&real).unwrap().unwrap();
        assert_eq!(loaded.state, state("v2"));
    }

    #[test]
    fn failed_save_leaves_old_file_and_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cluster.rkestate");
        // Written before this run, so this run's first save backs it up.
        fs::write(&path, state("v1").to_file_bytes().unwrap()).unwrap();
        // Make the backup step fail: a directory where the .bak must go.
        fs::create_dir(backup_path(&path)).unwrap();
        let err = save(&path, &state("v2")).unwrap_err();
        assert_eq!(kind_of(&err), ErrorKind::State);
        assert!(err.to_string().contains("cluster.rkestate"), "{err}");
        let loaded = load::<MiniConfig>(&path).unwrap().unwrap();
        assert_eq!(loaded.state, state("v1"));
        assert_eq!(
            dir_entries(dir.path()),
            ["cluster.rkestate", "cluster.rkestate.bak"]
        );
    }

    #[test]
    fn corrupt_file_is_a_state_error_naming_the_file_and_position() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cluster.rkestate");
        fs::write(&path, "{\n  \"desiredState\": {,\n}").unwrap();
        let msg = state_error(load::<MiniConfig>(&path));
        assert!(msg.contains(&path.display().to_string()), "{msg}");
        assert!(
            msg.contains("invalid JSON") && msg.contains("line 2 column 20"),
            "{msg}"
        );
    }

    #[test]
    fn truncated_file_is_a_state_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cluster.rkestate");
        let full = state("v1").to_file_bytes().unwrap();
        fs::write(&path, &full[..full.len() / 2]).unwrap();
        let msg = state_error(load::<MiniConfig>(&path));
        assert!(
            msg.contains("cluster.rkestate") && msg.contains("truncated"),
            "{msg}"
        );
    }

    #[test]
    fn empty_file_is_a_state_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cluster.rkestate");
        fs::write(&path, "\n").unwrap();
        let msg = state_error(load::<MiniConfig>(&path));
        assert!(
            msg.contains("cluster.rkestate") && msg.contains("empty"),
            "{msg}"
        );
    }

    #[test]
    fn wrong_shape_is_a_state_error_naming_the_field() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cluster.rkestate");
        fs::write(
            &path,
            r#"{"desiredState": {"rkeConfig": {"kubernetesVersion": 5}}}"#,
        )
        .unwrap();
        let msg = state_error(load::<MiniConfig>(&path));
        assert!(
            msg.contains("desiredState.rkeConfig") && msg.contains("kubernetesVersion"),
            "{msg}"
        );
    }

    #[test]
    fn unreadable_path_is_a_state_error() {
        let dir = tempfile::tempdir().unwrap();
        // A directory cannot be read as a file.
        let msg = state_error(load::<MiniConfig>(dir.path()));
        assert!(msg.contains("cannot read state file"), "{msg}");
    }

    #[test]
    fn a_state_file_over_the_size_limit_is_refused_naming_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cluster.rkestate");
        let file = fs::File::create(&path).unwrap();
        file.set_len(crate::limits::STATE_FILE.bytes + 1).unwrap();
        let err = load::<MiniConfig>(&path).unwrap_err();
        assert_eq!(kind_of(&err), ErrorKind::State);
        assert!(
            err.to_string()
                .contains("more than the 64 MiB limit for cluster.rkestate"),
            "{err}"
        );
    }
}
