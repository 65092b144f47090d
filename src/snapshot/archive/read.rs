//! Reading a snapshot archive made by rke-tools or by [`super::write_archive`].

use std::fs::{self, File, OpenOptions, Permissions};
use std::io::{self, Read};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use zip::ZipArchive;

use super::{PRIVATE_MODE, snapshot_entry, state_entry};
use crate::error::{ErrorKind, classified};
use crate::limits::{self, Limit};

/// What [`read_archive`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveContents {
    /// The extracted snapshot: `<dest_dir>/<name>`, mode 0600 (where rke-tools puts it too).
    pub db_path: PathBuf,
    /// The cluster state file stored with the snapshot, if the archive has one.
    pub state_json: Option<Vec<u8>>,
}

/// Open `zip_path`, extract the snapshot of `name` to `<dest_dir>/<name>` and read the state
/// file if present. Entry names follow rke-tools (`/backup/<name>`,
/// `/etc/kubernetes/<name>.rkestate`); the same names without the leading slash, or bare
/// (`<name>`, `<name>.rkestate`), are accepted too. The zip's CRC-32 of each entry is checked,
/// and neither entry may grow past its limit when decompressed (see [`crate::limits`]).
pub fn read_archive(
    zip_path: &Path,
    name: &str,
    dest_dir: &Path,
) -> anyhow::Result<ArchiveContents> {
    let file = File::open(zip_path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => failure(zip_path, "does not exist".into()),
        _ => failure(zip_path, format!("cannot open: {e}")),
    })?;
    read_archive_from(file, zip_path, name, dest_dir)
}

fn failure(zip_path: &Path, what: String) -> anyhow::Error {
    classified(
        ErrorKind::Snapshot,
        format!("snapshot archive {}: {what}", zip_path.display()),
    )
}

/// As [`read_archive`], from an archive already open (`zip_path` names it in messages).
pub fn read_archive_from<R: io::Read + io::Seek>(
    archive: R,
    zip_path: &Path,
    name: &str,
    dest_dir: &Path,
) -> anyhow::Result<ArchiveContents> {
    let limits = EntryLimits {
        db: limits::SNAPSHOT_DB,
        state: limits::STATE_FILE,
    };
    read_limited(archive, zip_path, name, dest_dir, limits)
}

/// The most each entry may hold once decompressed.
#[derive(Debug, Clone, Copy)]
pub(super) struct EntryLimits {
    pub db: Limit,
    pub state: Limit,
}

pub(super) fn read_limited<R: io::Read + io::Seek>(
    archive: R,
    zip_path: &Path,
    name: &str,
    dest_dir: &Path,
    limits: EntryLimits,
) -> anyhow::Result<ArchiveContents> {
    let fail = |what: String| failure(zip_path, what);
    let mut zip =
        ZipArchive::new(archive).map_err(|e| fail(format!("not a readable zip file: {e}")))?;

    let db_entry = snapshot_entry(name);
    let Some(db_index) = find_entry(&zip, &db_entry, name) else {
        return Err(fail(format!(
            "has no entry {db_entry} for snapshot {name} (entries: {})",
            entry_list(&zip)
        )));
    };
    let db_path = dest_dir.join(name);
    extract(&mut zip, db_index, &db_path, limits.db).map_err(|e| {
        fail(format!(
            "cannot extract {db_entry} to {}: {e}",
            db_path.display()
        ))
    })?;

    let state_name = state_entry(name);
    let state_json = match find_entry(&zip, &state_name, &format!("{name}.rkestate")) {
        None => None,
        Some(index) => Some(
            read_small(&mut zip, index, limits.state)
                .map_err(|e| fail(format!("cannot read {state_name}: {e}")))?,
        ),
    };
    Ok(ArchiveContents {
        db_path,
        state_json,
    })
}

/// Index of the entry named `full` (e.g. `/backup/x`), `full` without its leading slash, or
/// `bare` (e.g. `x`).
fn find_entry<R: io::Read + io::Seek>(
    zip: &ZipArchive<R>,
    full: &str,
    bare: &str,
) -> Option<usize> {
    let relative = full.trim_start_matches('/');
    [full, relative, bare]
        .into_iter()
        .find_map(|candidate| zip.index_for_name(candidate))
}

fn entry_list<R: io::Read + io::Seek>(zip: &ZipArchive<R>) -> String {
    let names: Vec<String> = zip
        .file_names()
        .map(|n| n.map_or_else(|e| format!("<unreadable name: {e}>"), |n| n.into_owned()))
        .collect();
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

/// Stream entry `index` to `dest` through `.<name>.part`, so a failed or damaged extraction
/// never leaves a file under the final name.
fn extract<R: io::Read + io::Seek>(
    zip: &mut ZipArchive<R>,
    index: usize,
    dest: &Path,
    limit: Limit,
) -> io::Result<()> {
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(dest.file_name().unwrap_or_default());
    tmp_name.push(".part");
    let tmp = dest.with_file_name(tmp_name);
    let result = (|| {
        let mut entry = zip.by_index(index).map_err(io::Error::other)?;
        let mut out = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(PRIVATE_MODE)
            .open(&tmp)?;
        out.set_permissions(Permissions::from_mode(PRIVATE_MODE))?;
        // The header's size can lie (a zip bomb): count what decompression really yields.
        // Reading to the end makes the zip reader compare the entry's CRC-32.
        if entry.size() > limit.bytes {
            return Err(io::Error::other(limit.exceeded(entry.size())));
        }
        let copied = io::copy(&mut (&mut entry).take(limit.bytes + 1), &mut out)?;
        if copied > limit.bytes {
            return Err(io::Error::other(limit.exceeded_at_least()));
        }
        out.sync_all()?;
        fs::rename(&tmp, dest)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn read_small<R: io::Read + io::Seek>(
    zip: &mut ZipArchive<R>,
    index: usize,
    limit: Limit,
) -> io::Result<Vec<u8>> {
    let entry = zip.by_index(index).map_err(io::Error::other)?;
    if entry.size() > limit.bytes {
        return Err(io::Error::other(limit.exceeded(entry.size())));
    }
    let hint = entry.size() as usize;
    limits::read_bounded(entry, limit, hint)
}
