//! Writing local files that hold secrets (state file, kubeconfig): atomically and readable by
//! the owner only.

use std::fs::{self, File, OpenOptions, Permissions};
use std::io::{self, ErrorKind as IoKind, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

/// Mode of files that contain private keys, and of their backups.
const PRIVATE_MODE: u32 = 0o600;

/// Whether to keep the replaced file as `<path>.bak`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backup {
    Keep,
    None,
}

/// Replace `path` with `bytes` so a reader sees the old or the new file, never a partial one:
/// temp file (0600) in the same directory, fsync, optional backup of the old file, rename over,
/// fsync the directory. Writing identical content is a no-op (only loose permissions are
/// tightened).
pub fn write_private_atomic(path: &Path, bytes: &[u8], backup: Backup) -> io::Result<()> {
    // Write through a symlink to its target, as a plain write would.
    let path = match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => fs::canonicalize(path)?,
        _ => path.to_path_buf(),
    };
    let existed = match fs::read(&path) {
        // Same content: leave the file (and its backup) alone, only tighten loose permissions.
        Ok(old) if old == bytes => return ensure_mode(&path),
        Ok(_) => true,
        Err(e) if e.kind() == IoKind::NotFound => false,
        Err(e) => return Err(e),
    };
    let dir = parent_dir(&path);
    let mut tmp = TempFile::create(&dir, &path)?;
    tmp.file.write_all(bytes)?;
    tmp.file.sync_all()?;
    if existed && backup == Backup::Keep {
        keep_backup(&path, &dir)?;
    }
    fs::rename(&tmp.path, &path)?;
    tmp.keep();
    File::open(&dir)?.sync_all()
}

fn ensure_mode(path: &Path) -> io::Result<()> {
    if fs::metadata(path)?.permissions().mode() & 0o777 != PRIVATE_MODE {
        fs::set_permissions(path, Permissions::from_mode(PRIVATE_MODE))?;
    }
    Ok(())
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// `<path>.bak` (same directory, same name plus `.bak`).
pub fn backup_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".bak");
    PathBuf::from(name)
}

/// Make `<path>.bak` a 0600 copy of the current file, replacing any older backup atomically.
fn keep_backup(path: &Path, dir: &Path) -> io::Result<()> {
    let bak = backup_path(path);
    let staged = TempFile::reserve_name(dir, &bak)?;
    if fs::hard_link(path, &staged.path).is_err() {
        // Filesystems without hard links: copy instead.
        let mut copy = TempFile::create_at(&staged.path)?;
        io::copy(&mut File::open(path)?, &mut copy.file)?;
        copy.file.sync_all()?;
        copy.keep();
    }
    fs::set_permissions(&staged.path, Permissions::from_mode(PRIVATE_MODE))?;
    fs::rename(&staged.path, &bak)?;
    staged.keep_name();
    Ok(())
}

/// A file in the target directory that is removed on drop unless kept (so failed saves leave no
/// debris).
struct TempFile {
    path: PathBuf,
    file: File,
    keep: bool,
}

/// A reserved, not yet existing name in the target directory, cleaned up like [`TempFile`].
struct TempName {
    path: PathBuf,
    keep: bool,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn temp_name(dir: &Path, target: &Path) -> PathBuf {
    let base = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "state".into());
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    dir.join(format!(".{base}.tmp-{}-{n}", std::process::id()))
}

impl TempFile {
    fn create(dir: &Path, target: &Path) -> io::Result<TempFile> {
        loop {
            match TempFile::create_at(&temp_name(dir, target)) {
                Err(e) if e.kind() == IoKind::AlreadyExists => continue,
                other => return other,
            }
        }
    }

    /// Create `path` exclusively with mode 0600 (set again explicitly: umask may have removed bits).
    fn create_at(path: &Path) -> io::Result<TempFile> {
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(PRIVATE_MODE)
            .open(path)?;
        let tmp = TempFile {
            path: path.to_path_buf(),
            file,
            keep: false,
        };
        tmp.file
            .set_permissions(Permissions::from_mode(PRIVATE_MODE))?;
        Ok(tmp)
    }

    fn reserve_name(dir: &Path, target: &Path) -> io::Result<TempName> {
        loop {
            let path = temp_name(dir, target);
            match fs::symlink_metadata(&path) {
                Err(e) if e.kind() == IoKind::NotFound => {
                    return Ok(TempName { path, keep: false });
                }
                Err(e) => return Err(e),
                Ok(_) => continue,
            }
        }
    }

    fn keep(mut self) {
        self.keep = true;
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.keep {
            let _ = fs::remove_file(&self.path);
        }
    }
}

impl TempName {
    fn keep_name(mut self) {
        self.keep = true;
    }
}

impl Drop for TempName {
    fn drop(&mut self) {
        if !self.keep {
            let _ = fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_0600_without_backup_and_skips_identical_content() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("kube_config_cluster.yml");
        write_private_atomic(&p, b"one", Backup::None).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"one");
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let inode = std::os::unix::fs::MetadataExt::ino(&fs::metadata(&p).unwrap());
        write_private_atomic(&p, b"one", Backup::None).unwrap();
        assert_eq!(
            std::os::unix::fs::MetadataExt::ino(&fs::metadata(&p).unwrap()),
            inode
        );
        write_private_atomic(&p, b"two", Backup::None).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        let entries: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            entries.len(),
            1,
            "no backup and no temp files expected: {entries:?}"
        );
    }
}
