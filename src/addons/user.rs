//! User addons: `addons` (inline manifests) and `addons_include` (local files, relative to
//! cluster.yml's directory, or http(s) URLs).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use super::fetch;
use super::manifest::parse_documents;
use super::names::{USER_ADDON, USER_INCLUDES_ADDON};
use crate::error::{ErrorKind, classified};
use crate::limits;

/// Where one `addons_include` entry is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Include {
    Url(String),
    File(PathBuf),
}

/// RKE1 treats entries starting with `http` as URLs; anything else is a path, here taken
/// relative to the directory of cluster.yml (`~/` is the home directory).
pub fn resolve_include(entry: &str, config_dir: &Path) -> Include {
    let entry = entry.trim();
    if entry.starts_with("http://") || entry.starts_with("https://") {
        return Include::Url(entry.to_string());
    }
    if let Some(rest) = entry.strip_prefix("~/")
        && let Some(home) = std::env::var_os("HOME")
    {
        return Include::File(PathBuf::from(home).join(rest));
    }
    Include::File(config_dir.join(entry))
}

/// The objects of the inline `addons` text.
pub fn inline_objects(text: &str) -> anyhow::Result<Vec<Value>> {
    parse_documents(USER_ADDON, "addons", text)
}

/// The objects of every `addons_include` entry, in order.
pub async fn included_objects(
    entries: &[String],
    config_dir: &Path,
    timeout: Duration,
) -> anyhow::Result<Vec<Value>> {
    let mut objects = Vec::new();
    for entry in entries {
        let text = match resolve_include(entry, config_dir) {
            Include::Url(url) => fetch::fetch(&url, timeout, limits::ADDON_INCLUDE)
                .await
                .map_err(|e| {
                    classified(
                        ErrorKind::Config,
                        format!("addons_include {url}: fetching failed: {e:#}"),
                    )
                })?,
            Include::File(path) => limits::read_file_to_string(&path, limits::ADDON_INCLUDE)
                .map_err(|e| {
                    classified(
                        ErrorKind::Config,
                        format!("addons_include {entry} ({}): {e}", path.display()),
                    )
                })?,
        };
        let source = format!("addons_include {entry}");
        objects.extend(parse_documents(USER_INCLUDES_ADDON, &source, &text)?);
    }
    Ok(objects)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn includes_resolve_urls_and_paths_relative_to_the_config() {
        let dir = Path::new("/etc/cluster");
        assert_eq!(
            resolve_include("https://example.com/a.yaml", dir),
            Include::Url("https://example.com/a.yaml".into())
        );
        assert_eq!(
            resolve_include("addons/x.yaml", dir),
            Include::File("/etc/cluster/addons/x.yaml".into())
        );
        assert_eq!(
            resolve_include("/abs/y.yaml", dir),
            Include::File("/abs/y.yaml".into())
        );
    }

    #[tokio::test]
    async fn local_includes_are_read_and_errors_name_the_include() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("cm.yaml"),
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: inc, namespace: default}\n",
        )
        .unwrap();
        let objects = included_objects(&["cm.yaml".into()], dir.path(), Duration::from_secs(1))
            .await
            .unwrap();
        assert_eq!(objects[0]["metadata"]["name"], "inc");

        let err = included_objects(&["nope.yaml".into()], dir.path(), Duration::from_secs(1))
            .await
            .unwrap_err();
        assert!(
            format!("{err:#}").starts_with("addons_include nope.yaml ("),
            "{err:#}"
        );

        std::fs::write(dir.path().join("bad.yaml"), "kind: [\n").unwrap();
        let err = included_objects(&["bad.yaml".into()], dir.path(), Duration::from_secs(1))
            .await
            .unwrap_err();
        assert!(
            format!("{err:#}")
                .starts_with("rke-user-includes-addons: addons_include bad.yaml: document 1"),
            "{err:#}"
        );

        let big = std::fs::File::create(dir.path().join("big.yaml")).unwrap();
        big.set_len(limits::ADDON_INCLUDE.bytes + 1).unwrap();
        let err = included_objects(&["big.yaml".into()], dir.path(), Duration::from_secs(1))
            .await
            .unwrap_err();
        assert!(
            format!("{err:#}").contains(
                "too large: 33554433 bytes, more than the 32 MiB limit for an addons_include manifest"
            ),
            "{err:#}"
        );
    }
}
