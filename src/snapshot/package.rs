//! Turning a freshly saved etcd database into what lands in `/opt/rke/etcd-snapshots/`: the
//! RKE1 archive `<name>.zip` plus `<name>.zip.sha256`, the checksum every later step (copy,
//! list, restore) compares against. The sidecar is in `sha256sum` format, so an operator can
//! check an archive by hand with `sha256sum -c <name>.zip.sha256`. RKE1 writes no sidecar; its
//! archives are checked by comparing the copies on the nodes with each other.

use std::path::{Path, PathBuf};

use super::archive::write_archive;
use super::integrity::sha256_file;
use super::naming::archive_file_name;
use crate::error::{ErrorKind, classified};
use crate::fsutil;

/// An archive written by [`package`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packaged {
    pub zip_path: PathBuf,
    /// Lower-case hex SHA-256 of the archive.
    pub sha256: String,
    /// Size of the archive in bytes.
    pub size: u64,
}

/// `<archive file name>.sha256`.
pub fn sidecar_file_name(archive_file: &str) -> String {
    format!("{archive_file}.sha256")
}

/// The sidecar's content: `<hex>  <archive file name>\n`, as `sha256sum` prints it.
pub fn sidecar_text(sha256_hex: &str, archive_file: &str) -> String {
    format!("{sha256_hex}  {archive_file}\n")
}

/// The checksum in a sidecar, if it holds a well-formed one.
pub fn parse_sidecar(text: &str) -> Option<String> {
    let hex = text.split_whitespace().next()?;
    (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit())).then(|| hex.to_lowercase())
}

/// Write `<dir>/<name>.zip` (snapshot `db_path` plus `state_json`) and its sidecar; both appear
/// complete or not at all.
pub fn package(
    db_path: &Path,
    name: &str,
    state_json: Option<&[u8]>,
    dir: &Path,
) -> anyhow::Result<Packaged> {
    let file_name = archive_file_name(name);
    let zip_path = dir.join(&file_name);
    write_archive(&zip_path, db_path, name, state_json)?;
    let sha256 = sha256_file(&zip_path)?;
    let size = std::fs::metadata(&zip_path)
        .map_err(|e| classified(ErrorKind::Snapshot, format!("{}: {e}", zip_path.display())))?
        .len();
    let sidecar = dir.join(sidecar_file_name(&file_name));
    fsutil::write_private_atomic(
        &sidecar,
        sidecar_text(&sha256, &file_name).as_bytes(),
        fsutil::Backup::None,
    )
    .map_err(|e| {
        classified(
            ErrorKind::Snapshot,
            format!("cannot write {}: {e:#}", sidecar.display()),
        )
    })?;
    Ok(Packaged {
        zip_path,
        sha256,
        size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sidecar_round_trips_in_sha256sum_format() {
        let hex = "a".repeat(64);
        let text = sidecar_text(&hex, "x.zip");
        assert_eq!(text, format!("{hex}  x.zip\n"));
        assert_eq!(parse_sidecar(&text).as_deref(), Some(hex.as_str()));
        assert_eq!(
            parse_sidecar(&text.to_uppercase()).as_deref(),
            Some(hex.as_str())
        );
        assert_eq!(parse_sidecar("abc  x.zip"), None);
        assert_eq!(parse_sidecar(""), None);
        assert_eq!(parse_sidecar(&format!("{}  x.zip", "g".repeat(64))), None);
    }

    #[test]
    fn package_writes_the_archive_and_a_matching_sidecar() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("db");
        std::fs::write(&db, super::super::integrity::test_db::snapshot_bytes()).unwrap();
        let out = dir.path().join("out");
        std::fs::create_dir(&out).unwrap();
        let p = package(&db, "snap1", Some(b"{}"), &out).unwrap();
        assert_eq!(p.zip_path, out.join("snap1.zip"));
        assert_eq!(p.sha256, sha256_file(&p.zip_path).unwrap());
        assert_eq!(p.size, std::fs::metadata(&p.zip_path).unwrap().len());
        let sidecar = std::fs::read_to_string(out.join("snap1.zip.sha256")).unwrap();
        assert_eq!(parse_sidecar(&sidecar), Some(p.sha256));
    }
}
