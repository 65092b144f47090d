//! Names of the files that derive from the config file's path, exactly as RKE1 names them.

use std::path::{Path, PathBuf};

fn stem_and_dir(config: &Path) -> (PathBuf, String) {
    let dir = config.parent().map(Path::to_path_buf).unwrap_or_default();
    let stem = config
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "cluster".to_string());
    (dir, stem)
}

/// `foo/bar.yml` → `foo/bar.rkestate`.
pub fn state_file(config: &Path) -> PathBuf {
    let (dir, stem) = stem_and_dir(config);
    dir.join(format!("{stem}.rkestate"))
}

/// `foo/bar.yml` → `foo/kube_config_bar.yml`.
pub fn admin_kubeconfig(config: &Path) -> PathBuf {
    let (dir, _) = stem_and_dir(config);
    let name = config
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "cluster.yml".to_string());
    dir.join(format!("kube_config_{name}"))
}

/// `foo/bar.yml` → `foo/bar_certs` (custom certificates and CSRs).
pub fn cert_dir(config: &Path) -> PathBuf {
    let (dir, stem) = stem_and_dir(config);
    dir.join(format!("{stem}_certs"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_rke1() {
        let c = Path::new("foo/bar.yml");
        assert_eq!(state_file(c), Path::new("foo/bar.rkestate"));
        assert_eq!(admin_kubeconfig(c), Path::new("foo/kube_config_bar.yml"));
        assert_eq!(cert_dir(c), Path::new("foo/bar_certs"));
        let c = Path::new("cluster.yml");
        assert_eq!(state_file(c), Path::new("cluster.rkestate"));
        assert_eq!(admin_kubeconfig(c), Path::new("kube_config_cluster.yml"));
    }
}
