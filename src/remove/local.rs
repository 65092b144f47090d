//! The local side of `rke remove`: the confirmation answer, and whether the admin kubeconfig
//! and the state file may go.

use std::path::{Path, PathBuf};

use crate::error::{Classify, ErrorKind};

/// Only `y` or `yes` (any case, surrounding blanks ignored) confirms.
pub fn confirmed(answer: &str) -> bool {
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

/// What to do with the local files once the nodes are done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocalFiles {
    /// Every node was cleaned.
    Delete,
    /// `--force`: delete although these nodes were not cleaned.
    DeleteDespite(Vec<String>),
    /// Keep them so a re-run can finish these nodes.
    Keep(Vec<String>),
}

pub fn decide(not_cleaned: &[String], force: bool) -> LocalFiles {
    match (not_cleaned.is_empty(), force) {
        (true, _) => LocalFiles::Delete,
        (false, true) => LocalFiles::DeleteDespite(not_cleaned.to_vec()),
        (false, false) => LocalFiles::Keep(not_cleaned.to_vec()),
    }
}

/// Delete the admin kubeconfig and the state file of `config`; returns those that existed.
pub fn delete_files(config: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut deleted = Vec::new();
    for path in [
        crate::paths::admin_kubeconfig(config),
        crate::paths::state_file(config),
    ] {
        match std::fs::remove_file(&path) {
            Ok(()) => deleted.push(path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                let e = anyhow::Error::new(e).context(format!("deleting {}", path.display()));
                return Err(e).kind(ErrorKind::State);
            }
        }
    }
    Ok(deleted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_y_or_yes_confirms() {
        for yes in ["y", "Y", "yes", "YES", " yes\n", "Yes"] {
            assert!(confirmed(yes), "{yes:?}");
        }
        for no in ["", "\n", "n", "no", "ye", "yess", "y es", "true", "1"] {
            assert!(!confirmed(no), "{no:?}");
        }
    }

    #[test]
    fn local_files_go_only_when_all_nodes_were_cleaned_or_forced() {
        assert_eq!(decide(&[], false), LocalFiles::Delete);
        assert_eq!(decide(&[], true), LocalFiles::Delete);
        let failed = vec!["node2".to_string()];
        assert_eq!(decide(&failed, false), LocalFiles::Keep(failed.clone()));
        assert_eq!(decide(&failed, true), LocalFiles::DeleteDespite(failed));
    }

    #[test]
    fn delete_files_removes_kubeconfig_and_state_and_tolerates_missing() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("c.yml");
        std::fs::write(&config, "nodes: []").unwrap();
        std::fs::write(dir.path().join("c.rkestate"), "{}").unwrap();
        std::fs::write(dir.path().join("kube_config_c.yml"), "x").unwrap();
        let deleted = delete_files(&config).unwrap();
        assert_eq!(deleted.len(), 2);
        assert!(!dir.path().join("c.rkestate").exists());
        assert!(!dir.path().join("kube_config_c.yml").exists());
        assert!(config.exists());
        assert!(delete_files(&config).unwrap().is_empty());
    }
}
