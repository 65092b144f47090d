//! Writing a snapshot archive in rke-tools' layout.

use std::fs::{self, File, OpenOptions, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

use super::{PRIVATE_MODE, snapshot_entry, state_entry};
use crate::error::{ErrorKind, classified};
use crate::snapshot::naming::check_name;

/// Write `zip_path` (mode 0600) holding `snapshot_db_path` as `/backup/<name>` and, when
/// given, `state_json` as `/etc/kubernetes/<name>.rkestate`: the archive rke-tools writes.
/// The file appears complete or not at all (written beside it, synced, then renamed).
pub fn write_archive(
    zip_path: &Path,
    snapshot_db_path: &Path,
    name: &str,
    state_json: Option<&[u8]>,
) -> anyhow::Result<()> {
    let fail = |what: String| {
        classified(
            ErrorKind::Snapshot,
            format!(
                "cannot write snapshot archive {}: {what}",
                zip_path.display()
            ),
        )
    };
    let checked = check_name(name)?;
    if checked.name != name {
        return Err(fail(format!(
            "snapshot name {name:?} must be given without .zip"
        )));
    }
    let mut db = File::open(snapshot_db_path).map_err(|e| {
        fail(format!(
            "cannot read snapshot {}: {e}",
            snapshot_db_path.display()
        ))
    })?;
    let db_len = db
        .metadata()
        .map_err(|e| fail(format!("{}: {e}", snapshot_db_path.display())))?
        .len();

    let tmp = temp_path(zip_path);
    let result = (|| -> io::Result<()> {
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(PRIVATE_MODE)
            .open(&tmp)?;
        let mut zip = ZipWriter::new(file);
        zip.start_file(snapshot_entry(name), options(db_len))
            .map_err(io::Error::other)?;
        io::copy(&mut db, &mut zip)?;
        if let Some(state) = state_json {
            zip.start_file(state_entry(name), options(state.len() as u64))
                .map_err(io::Error::other)?;
            zip.write_all(state)?;
        }
        let file = zip.finish().map_err(io::Error::other)?;
        // An older file at the temp path keeps its mode through truncate; set it.
        file.set_permissions(Permissions::from_mode(PRIVATE_MODE))?;
        file.sync_all()?;
        fs::rename(&tmp, zip_path)?;
        File::open(parent_dir(zip_path))?.sync_all()
    })();
    result.map_err(|e| {
        let _ = fs::remove_file(&tmp);
        fail(e.to_string())
    })
}

/// Deflate, Unix mode 0600, the earliest zip time (rke-tools fixes the time too), ZIP64 when
/// the entry needs it.
fn options(len: u64) -> SimpleFileOptions {
    SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .unix_permissions(PRIVATE_MODE)
        .last_modified_time(DateTime::default())
        .large_file(len >= u64::from(u32::MAX))
}

/// `.<file name>.part` beside the archive.
fn temp_path(zip_path: &Path) -> PathBuf {
    let mut name = std::ffi::OsString::from(".");
    name.push(zip_path.file_name().unwrap_or_default());
    name.push(".part");
    zip_path.with_file_name(name)
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}
