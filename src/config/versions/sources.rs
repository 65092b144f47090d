//! Reading a replacement version table at start-up: a file in this repository's format
//! (`RKE_VERSION_TABLE`) or KDM's `data.json` from a path or an http(s) URL
//! (`RANCHER_METADATA_URL`, as RKE1's `metadata.loadData` did). Parsing is in
//! [`super::data_file`] and [`super::kdm_json`]; this file only fetches and reports.

use std::path::Path;
use std::time::Duration;

use super::{METADATA_ENV, TABLE_ENV, VersionTable};
use crate::error::{ErrorKind, classified};
use crate::limits;

/// How long fetching `data.json` may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(30);

fn config_error(message: String) -> anyhow::Error {
    classified(ErrorKind::Config, message)
}

/// `RKE_VERSION_TABLE`: a file in the `data/k8s-versions.yaml` format.
pub fn table_file(path: &Path) -> anyhow::Result<VersionTable> {
    let text = limits::read_file_to_string(path, limits::VERSION_DATA)
        .map_err(|e| config_error(format!("{TABLE_ENV}: cannot read {}: {e}", path.display())))?;
    if let Err(bomb) = limits::yaml::check_aliases(&text) {
        return Err(config_error(format!(
            "{TABLE_ENV}: {}:{}:{}: {bomb}",
            path.display(),
            bomb.line,
            bomb.column
        )));
    }
    let table = VersionTable::from_yaml(&text)
        .map_err(|e| config_error(format!("{TABLE_ENV}: {}: {e}", path.display())))?;
    tracing::info!("using the version table {}", path.display());
    Ok(table)
}

/// `RANCHER_METADATA_URL`: KDM's `data.json`, from `http://`/`https://` or a local path.
pub fn kdm_data(source: &str) -> anyhow::Result<VersionTable> {
    let text = if source.starts_with("https://") || source.starts_with("http://") {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        runtime
            .block_on(crate::addons::fetch::fetch(
                source,
                FETCH_TIMEOUT,
                limits::VERSION_DATA,
            ))
            .map_err(|e| config_error(format!("{METADATA_ENV}: cannot fetch {source}: {e:#}")))?
    } else if source.contains("://") {
        return Err(config_error(format!(
            "{METADATA_ENV}: {source}: only http(s) URLs and local paths are supported"
        )));
    } else {
        limits::read_file_to_string(Path::new(source), limits::VERSION_DATA)
            .map_err(|e| config_error(format!("{METADATA_ENV}: cannot read {source}: {e}")))?
    };
    let table = VersionTable::from_kdm_json(&text)
        .map_err(|e| config_error(format!("{METADATA_ENV}: {source}: {e}")))?;
    tracing::info!(
        "using Kubernetes versions from {source} ({} versions, default {})",
        table.all().count(),
        table.default_version()
    );
    Ok(table)
}
