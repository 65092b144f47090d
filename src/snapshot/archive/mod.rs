//! `<name>.zip` snapshot archives, byte-compatible in layout with the ones RKE1 makes, so a
//! snapshot taken by either tool restores with the other.
//!
//! What rke-tools does (rancher/rke-tools `main.go`; the container binds the host's
//! `/opt/rke/etcd-snapshots` to `/backup`):
//! - `CreateBackup`: `etcdctl snapshot save /backup/<name>`, then `compressFiles` zips that file
//!   plus `/etc/kubernetes/<name>.rkestate` when it exists into `/backup/<name>.zip`, removes
//!   both originals and `chmod 0600`s the zip.
//! - `AddFileToZip`: the header comes from `zip.FileInfoHeader` (Unix creator, the file's mode,
//!   e.g. `0600` as etcdctl writes snapshots), then `header.Name = <absolute path>`: entries are
//!   named **`/backup/<name>`** and **`/etc/kubernetes/<name>.rkestate`**, with the leading
//!   slash and no directory entries; method Deflate; modification time fixed at the Unix epoch.
//! - `decompressFile(zip, entry, dest)` finds an entry by that exact name: `serve` and
//!   `download` extract `/backup/<name>` to `/backup/<name>` (what `etcdctl snapshot restore`
//!   then reads), `extractstatefile` extracts `/etc/kubernetes/<name>.rkestate` to
//!   `/tmp/cluster.rkestate`; extracted files are `chmod 0600`. A missing state entry is an
//!   error there, which RKE1 treats as "no state in the snapshot" and falls back to the local
//!   `cluster.rkestate`.
//!
//! [`write_archive`] writes that layout (with the MS-DOS epoch 1980-01-01 as the time, since a
//! zip cannot hold 1970); [`read_archive`] reads it, and also accepts the same names without
//! the leading slash or directory, as other zip tools may have rewritten them.

mod read;
mod write;

#[cfg(test)]
mod tests;

pub use read::{ArchiveContents, read_archive, read_archive_from};
pub use write::write_archive;

/// Entry holding the etcd snapshot: `/backup/<name>`.
pub fn snapshot_entry(name: &str) -> String {
    format!("/backup/{name}")
}

/// Entry holding the cluster state file: `/etc/kubernetes/<name>.rkestate`.
pub fn state_entry(name: &str) -> String {
    format!("/etc/kubernetes/{name}.rkestate")
}

/// Mode of the archive and of files extracted from it (rke-tools `chmod 0600`s both).
const PRIVATE_MODE: u32 = 0o600;
