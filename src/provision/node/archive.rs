//! The tar archive that carries a plan's files and directories to a node, and which host
//! directories the helper container must bind-mount to receive it. No I/O (the entries'
//! times are the clock's).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;

use anyhow::{Context, bail};

use crate::provision::spec::{NodeDir, NodeFile};

/// Host directories to bind-mount (at the same path) so every file and directory of the plan
/// lands on the host: each file's parent and each directory's parent, minus any directory
/// already under another one in the set (nested mounts would shadow each other's entries).
pub(crate) fn mount_points(files: &[NodeFile], dirs: &[NodeDir]) -> anyhow::Result<Vec<String>> {
    let mut wanted = BTreeSet::new();
    for path in files
        .iter()
        .map(|f| &f.path)
        .chain(dirs.iter().map(|d| &d.path))
    {
        wanted.insert(parent_of(path)?);
    }
    let mut kept: Vec<String> = Vec::new();
    // BTreeSet order puts "/a" before "/a/b", so an ancestor is always seen first.
    for dir in wanted {
        if !kept.iter().any(|k| is_under(&dir, k)) {
            kept.push(dir);
        }
    }
    Ok(kept)
}

fn parent_of(path: &str) -> anyhow::Result<String> {
    if !path.starts_with('/') || path.split('/').any(|c| c == "..") {
        bail!("node path {path:?} must be absolute and must not contain `..`");
    }
    let trimmed = path.trim_end_matches('/');
    match trimmed.rsplit_once('/') {
        Some(("", _)) | None => bail!("node path {path:?} has no parent directory to mount"),
        Some((parent, _)) => Ok(parent.to_string()),
    }
}

fn is_under(dir: &str, ancestor: &str) -> bool {
    dir == ancestor || dir.starts_with(&format!("{ancestor}/"))
}

/// An uncompressed tar with one entry per directory and file, paths relative to `/`, modes
/// and owners from the plan (root when none). Directories come first so a file inside a
/// planned directory is extracted after it.
pub(crate) fn build(files: &[NodeFile], dirs: &[NodeDir]) -> anyhow::Result<Vec<u8>> {
    let mut builder = tar::Builder::new(Vec::new());
    // The write time, as any file written on the node would carry (`ls -l`, snapshot lists).
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    for dir in dirs {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Directory);
        header.set_mode(dir.mode);
        let (uid, gid) = dir.owner.unwrap_or((0, 0));
        header.set_uid(uid.into());
        header.set_gid(gid.into());
        header.set_size(0);
        header.set_mtime(now);
        builder
            .append_data(&mut header, relative(&dir.path), std::io::empty())
            .with_context(|| format!("adding directory {} to the archive", dir.path))?;
    }
    for file in files {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_mode(file.mode);
        let (uid, gid) = file.owner.unwrap_or((0, 0));
        header.set_uid(uid.into());
        header.set_gid(gid.into());
        header.set_size(file.contents.len() as u64);
        header.set_mtime(now);
        builder
            .append_data(&mut header, relative(&file.path), file.contents.as_slice())
            .with_context(|| format!("adding {} to the archive", file.path))?;
    }
    builder.into_inner().context("finishing the archive")
}

fn relative(path: &str) -> &str {
    path.trim_start_matches('/')
}

/// A regular file as read back from a node: what decides whether it must be written again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileOnNode {
    pub contents: Vec<u8>,
    pub mode: u32,
    pub owner: (u32, u32),
}

impl FileOnNode {
    /// Whether the node already holds exactly what the plan wants.
    pub fn matches(&self, want: &NodeFile) -> bool {
        self.contents == want.contents
            && self.mode & 0o7777 == want.mode & 0o7777
            && self.owner == want.owner.unwrap_or((0, 0))
    }
}

/// The single regular file of an archive returned by `GET /containers/{id}/archive?path=FILE`;
/// `None` when the path is not a regular file.
pub(crate) fn single_file(archive: &[u8]) -> anyhow::Result<Option<FileOnNode>> {
    let mut reader = tar::Archive::new(archive);
    let mut entries = reader.entries().context("reading the archive")?;
    let Some(entry) = entries.next() else {
        return Ok(None);
    };
    let mut entry = entry.context("reading the archive entry")?;
    let header = entry.header();
    if header.entry_type() != tar::EntryType::Regular {
        return Ok(None);
    }
    let mode = header.mode().context("archive entry mode")?;
    let uid = header.uid().context("archive entry uid")?;
    let gid = header.gid().context("archive entry gid")?;
    let mut contents = Vec::new();
    entry
        .read_to_end(&mut contents)
        .context("reading the archive entry")?;
    Ok(Some(FileOnNode {
        contents,
        mode,
        owner: (
            u32::try_from(uid).unwrap_or(u32::MAX),
            u32::try_from(gid).unwrap_or(u32::MAX),
        ),
    }))
}

/// Every regular file of an archive returned by `GET /containers/{id}/archive?path=DIR`, by
/// its path inside the archive (`<basename of DIR>/<relative path>`).
pub(crate) fn files_in(archive: &[u8]) -> anyhow::Result<BTreeMap<String, FileOnNode>> {
    let mut reader = tar::Archive::new(archive);
    let mut files = BTreeMap::new();
    for entry in reader.entries().context("reading the archive")? {
        let mut entry = entry.context("reading an archive entry")?;
        let header = entry.header();
        if header.entry_type() != tar::EntryType::Regular {
            continue;
        }
        let mode = header.mode().context("archive entry mode")?;
        let uid = header.uid().context("archive entry uid")?;
        let gid = header.gid().context("archive entry gid")?;
        let path = entry
            .path()
            .context("archive entry path")?
            .to_string_lossy()
            .trim_end_matches('/')
            .to_string();
        let mut contents = Vec::new();
        entry
            .read_to_end(&mut contents)
            .context("reading an archive entry")?;
        files.insert(
            path,
            FileOnNode {
                contents,
                mode,
                owner: (
                    u32::try_from(uid).unwrap_or(u32::MAX),
                    u32::try_from(gid).unwrap_or(u32::MAX),
                ),
            },
        );
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, body: &str, mode: u32) -> NodeFile {
        NodeFile {
            path: path.into(),
            contents: body.as_bytes().to_vec(),
            mode,
            secret: false,
            owner: None,
        }
    }

    #[test]
    fn mounts_are_minimal_parents() {
        let files = [
            file("/etc/kubernetes/ssl/kube-ca.pem", "x", 0o644),
            file("/etc/kubernetes/ssl/kube-ca-key.pem", "x", 0o600),
            file("/etc/kubernetes/admission.yaml", "x", 0o600),
            file("/opt/cni/conf", "x", 0o644),
        ];
        let dirs = [NodeDir {
            path: "/var/lib/etcd".into(),
            mode: 0o700,
            owner: Some((52034, 52034)),
        }];
        assert_eq!(
            mount_points(&files, &dirs).unwrap(),
            ["/etc/kubernetes", "/opt/cni", "/var/lib"]
        );
    }

    #[test]
    fn mounts_refuse_relative_and_root_level_paths() {
        for bad in ["etc/x", "/x", "/etc/../x"] {
            let err = mount_points(&[file(bad, "", 0o644)], &[]).unwrap_err();
            assert!(err.to_string().contains(bad), "{err}");
        }
    }

    #[test]
    fn every_regular_file_of_a_directory_archive_by_path() {
        let mut key = file("/etc/kubernetes/ssl/key.pem", "secret", 0o600);
        key.owner = Some((1, 2));
        let conf = file("/etc/kubernetes/admission.yaml", "a: b", 0o644);
        let dirs = [NodeDir {
            path: "/etc/kubernetes/empty".into(),
            mode: 0o700,
            owner: None,
        }];
        let bytes = build(&[key.clone(), conf.clone()], &dirs).unwrap();
        let files = files_in(&bytes).unwrap();
        assert_eq!(
            files.keys().collect::<Vec<_>>(),
            [
                "etc/kubernetes/admission.yaml",
                "etc/kubernetes/ssl/key.pem"
            ]
        );
        assert!(files["etc/kubernetes/ssl/key.pem"].matches(&key));
        assert!(files["etc/kubernetes/admission.yaml"].matches(&conf));
    }

    #[test]
    fn archive_round_trips_modes_owners_and_bytes() {
        let mut key = file("/etc/kubernetes/ssl/key.pem", "secret", 0o600);
        key.owner = Some((52034, 52035));
        let dirs = [NodeDir {
            path: "/var/lib/etcd".into(),
            mode: 0o700,
            owner: None,
        }];
        let bytes = build(&[key.clone(), file("/a/b", "hello", 0o644)], &dirs).unwrap();
        let mut archive = tar::Archive::new(bytes.as_slice());
        let seen: Vec<(String, u32, u64, tar::EntryType)> = archive
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let h = e.header();
                (
                    e.path().unwrap().display().to_string(),
                    h.mode().unwrap(),
                    h.uid().unwrap(),
                    h.entry_type(),
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                ("var/lib/etcd".into(), 0o700, 0, tar::EntryType::Directory),
                (
                    "etc/kubernetes/ssl/key.pem".into(),
                    0o600,
                    52034,
                    tar::EntryType::Regular
                ),
                ("a/b".into(), 0o644, 0, tar::EntryType::Regular),
            ]
        );
        let only_key = build(std::slice::from_ref(&key), &[]).unwrap();
        let back = single_file(&only_key).unwrap().unwrap();
        assert_eq!(back.contents, b"secret");
        assert!(back.matches(&key));
        let mut changed = key.clone();
        changed.mode = 0o644;
        assert!(!back.matches(&changed));
        changed = key.clone();
        changed.owner = None;
        assert!(!back.matches(&changed));
        changed = key;
        changed.contents = b"other".to_vec();
        assert!(!back.matches(&changed));
    }

    #[test]
    fn a_directory_archive_is_not_a_file() {
        let dirs = [NodeDir {
            path: "/d/e".into(),
            mode: 0o755,
            owner: None,
        }];
        assert_eq!(single_file(&build(&[], &dirs).unwrap()).unwrap(), None);
        assert_eq!(single_file(&build(&[], &[]).unwrap()).unwrap(), None);
    }
}
