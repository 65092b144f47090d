//! Round trips through our writer, and reading an archive made by Go's `archive/zip` the way
//! rke-tools makes them (`tests/fixtures/snapshot/gen_rke1_archive.go`).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use zip::{CompressionMethod, ZipArchive};

use super::*;
use crate::error::{ErrorKind, kind_of};
use crate::snapshot::integrity::test_db::snapshot_bytes;
use crate::snapshot::integrity::{ClusterMatch, same_cluster, verify_etcd_snapshot};

const STATE: &[u8] = br#"{"desiredState":{},"currentState":{}}"#;

fn fixture(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/snapshot")
        .join(file)
}

/// A snapshot file in `dir`, named as etcdctl would name it before zipping.
fn db_file(dir: &Path) -> PathBuf {
    let path = dir.join("raw.db");
    fs::write(&path, snapshot_bytes()).unwrap();
    path
}

/// Names, methods and Unix modes of the entries, in archive order.
fn layout(zip_path: &Path) -> Vec<(String, CompressionMethod, Option<u32>)> {
    let mut zip = ZipArchive::new(fs::File::open(zip_path).unwrap()).unwrap();
    (0..zip.len())
        .map(|i| {
            let entry = zip.by_index(i).unwrap();
            (
                entry.name().unwrap().into_owned(),
                entry.compression(),
                entry.unix_mode(),
            )
        })
        .collect()
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn round_trip_with_state() {
    let dir = tempfile::tempdir().unwrap();
    let zip_path = dir.path().join("nightly.zip");
    write_archive(&zip_path, &db_file(dir.path()), "nightly", Some(STATE)).unwrap();
    assert_eq!(mode(&zip_path), 0o600);
    assert_eq!(
        layout(&zip_path),
        vec![
            (
                "/backup/nightly".into(),
                CompressionMethod::Deflated,
                Some(0o100600)
            ),
            (
                "/etc/kubernetes/nightly.rkestate".into(),
                CompressionMethod::Deflated,
                Some(0o100600)
            ),
        ]
    );
    // No temp file left beside the archive.
    let names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(!names.iter().any(|n| n.ends_with(".part")), "{names:?}");

    let out = tempfile::tempdir().unwrap();
    let contents = read_archive(&zip_path, "nightly", out.path()).unwrap();
    assert_eq!(contents.db_path, out.path().join("nightly"));
    assert_eq!(fs::read(&contents.db_path).unwrap(), snapshot_bytes());
    assert_eq!(mode(&contents.db_path), 0o600);
    assert_eq!(contents.state_json.as_deref(), Some(STATE));
    verify_etcd_snapshot(&contents.db_path).unwrap();
}

#[test]
fn round_trip_without_state() {
    let dir = tempfile::tempdir().unwrap();
    let zip_path = dir.path().join("s.zip");
    write_archive(&zip_path, &db_file(dir.path()), "s", None).unwrap();
    assert_eq!(layout(&zip_path).len(), 1);
    let contents = read_archive(&zip_path, "s", dir.path()).unwrap();
    assert_eq!(contents.state_json, None);
    assert_eq!(fs::read(&contents.db_path).unwrap(), snapshot_bytes());
}

#[test]
fn rewriting_an_archive_replaces_it_and_keeps_mode() {
    let dir = tempfile::tempdir().unwrap();
    let zip_path = dir.path().join("s.zip");
    fs::write(&zip_path, b"old").unwrap();
    fs::set_permissions(&zip_path, fs::Permissions::from_mode(0o644)).unwrap();
    write_archive(&zip_path, &db_file(dir.path()), "s", Some(STATE)).unwrap();
    assert_eq!(mode(&zip_path), 0o600);
    assert_eq!(layout(&zip_path).len(), 2);
}

#[test]
fn write_refuses_bad_names_and_missing_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_file(dir.path());
    let zip_path = dir.path().join("x.zip");
    let err = write_archive(&zip_path, &db, "x.zip", None).unwrap_err();
    assert!(err.to_string().contains("without .zip"), "{err}");
    assert!(write_archive(&zip_path, &db, "../x", None).is_err());
    let err = write_archive(&zip_path, &dir.path().join("missing.db"), "x", None).unwrap_err();
    assert_eq!(kind_of(&err), ErrorKind::Snapshot);
    assert!(err.to_string().contains("missing.db"), "{err}");
    assert!(!zip_path.exists());
}

#[test]
fn reads_archive_made_like_rke_tools() {
    let out = tempfile::tempdir().unwrap();
    let zip_path = fixture("rke1-made.zip");
    // Go's writer: entries named by absolute path, deflated, the files' own modes.
    assert_eq!(
        layout(&zip_path),
        vec![
            (
                "/backup/rke1-made".into(),
                CompressionMethod::Deflated,
                Some(0o100600)
            ),
            (
                "/etc/kubernetes/rke1-made.rkestate".into(),
                CompressionMethod::Deflated,
                Some(0o100400)
            ),
        ]
    );
    let contents = read_archive(&zip_path, "rke1-made", out.path()).unwrap();
    verify_etcd_snapshot(&contents.db_path).unwrap();
    let state = contents.state_json.expect("state file in the archive");
    let ca = fs::read_to_string(fixture("kube-ca.pem")).unwrap();
    assert_eq!(
        same_cluster("rke1-made", Some(&state), &ca).unwrap(),
        ClusterMatch::Same
    );
}

#[test]
fn our_layout_matches_rke_tools_layout() {
    let dir = tempfile::tempdir().unwrap();
    let zip_path = dir.path().join("rke1-made.zip");
    write_archive(&zip_path, &db_file(dir.path()), "rke1-made", Some(STATE)).unwrap();
    let names = |p: &Path| {
        layout(p)
            .into_iter()
            .map(|(n, m, _)| (n, m))
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&zip_path), names(&fixture("rke1-made.zip")));
}

#[test]
fn accepts_entries_without_leading_slash_or_directory() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    for (db_name, state_name) in [
        ("backup/s", "etc/kubernetes/s.rkestate"),
        ("s", "s.rkestate"),
    ] {
        let zip_path = dir.path().join("s.zip");
        let mut zip = zip::ZipWriter::new(fs::File::create(&zip_path).unwrap());
        let opts = zip::write::SimpleFileOptions::default();
        zip.start_file(db_name, opts).unwrap();
        zip.write_all(&snapshot_bytes()).unwrap();
        zip.start_file(state_name, opts).unwrap();
        zip.write_all(STATE).unwrap();
        zip.finish().unwrap();
        let contents = read_archive(&zip_path, "s", dir.path()).unwrap();
        assert_eq!(
            fs::read(&contents.db_path).unwrap(),
            snapshot_bytes(),
            "{db_name}"
        );
        assert_eq!(contents.state_json.as_deref(), Some(STATE), "{state_name}");
    }
}

#[test]
fn read_errors_name_the_archive_and_entry() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("gone.zip");
    let err = read_archive(&missing, "gone", dir.path()).unwrap_err();
    assert_eq!(kind_of(&err), ErrorKind::Snapshot);
    assert_eq!(
        err.to_string(),
        format!("snapshot archive {}: does not exist", missing.display())
    );

    let not_zip = dir.path().join("plain.zip");
    fs::write(&not_zip, b"this is not a zip file at all").unwrap();
    let err = read_archive(&not_zip, "plain", dir.path())
        .unwrap_err()
        .to_string();
    assert!(err.contains("plain.zip: not a readable zip file"), "{err}");

    // The archive of another snapshot: the entry list says what is there.
    let err = read_archive(&fixture("rke1-made.zip"), "other", dir.path())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(
            "has no entry /backup/other for snapshot other (entries: /backup/rke1-made, \
                      /etc/kubernetes/rke1-made.rkestate)"
        ),
        "{err}"
    );
    assert!(!dir.path().join("other").exists());
}

#[test]
fn damaged_entry_is_refused_and_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let zip_path = dir.path().join("s.zip");
    write_archive(&zip_path, &db_file(dir.path()), "s", None).unwrap();
    let mut bytes = fs::read(&zip_path).unwrap();
    // The first entry's data starts after its 30-byte local header, name and extra field.
    let name_len = u16::from_le_bytes([bytes[26], bytes[27]]) as usize;
    let extra_len = u16::from_le_bytes([bytes[28], bytes[29]]) as usize;
    let data = 30 + name_len + extra_len;
    bytes[data + 10] ^= 0x55;
    fs::write(&zip_path, &bytes).unwrap();

    let out = tempfile::tempdir().unwrap();
    let err = read_archive(&zip_path, "s", out.path())
        .unwrap_err()
        .to_string();
    assert!(err.contains("cannot extract /backup/s"), "{err}");
    assert_eq!(fs::read_dir(out.path()).unwrap().count(), 0);
}

/// An archive whose snapshot entry is `db_len` zeros (deflate shrinks them ~1000 times: the
/// shape of a zip bomb) and whose state entry is `state_len` spaces.
fn bomb(dir: &Path, db_len: usize, state_len: usize) -> PathBuf {
    use std::io::Write;
    let path = dir.join("bomb.zip");
    let mut zip = zip::ZipWriter::new(fs::File::create(&path).unwrap());
    let options =
        zip::write::SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    zip.start_file("/backup/snap", options).unwrap();
    zip.write_all(&vec![0u8; db_len]).unwrap();
    zip.start_file("/etc/kubernetes/snap.rkestate", options)
        .unwrap();
    zip.write_all(&vec![b' '; state_len]).unwrap();
    zip.finish().unwrap();
    path
}

#[test]
fn entries_past_their_limits_are_refused_and_leave_no_file() {
    use crate::limits::Limit;
    let dir = tempfile::tempdir().unwrap();
    let limits = read::EntryLimits {
        db: Limit {
            what: "a test database",
            bytes: 4096,
        },
        state: Limit {
            what: "a test state",
            bytes: 100,
        },
    };
    let read = |zip: &Path| {
        let file = fs::File::open(zip).unwrap();
        read::read_limited(file, zip, "snap", dir.path(), limits)
    };

    let zip = bomb(dir.path(), 1 << 20, 10);
    let err = read(&zip).unwrap_err();
    assert_eq!(kind_of(&err), ErrorKind::Snapshot);
    assert!(
        err.to_string()
            .contains("more than the 4 KiB limit for a test database"),
        "{err}"
    );
    assert!(!dir.path().join("snap").exists());
    assert!(!dir.path().join(".snap.part").exists());

    let zip = bomb(dir.path(), 4096, 101);
    let err = read(&zip).unwrap_err();
    assert!(
        err.to_string()
            .contains("more than the 100 bytes limit for a test state"),
        "{err}"
    );

    let zip = bomb(dir.path(), 4096, 100);
    let contents = read(&zip).unwrap();
    assert_eq!(fs::metadata(&contents.db_path).unwrap().len(), 4096);
    assert_eq!(contents.state_json.unwrap().len(), 100);
}
