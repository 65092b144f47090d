//! `rke etcd snapshot-*` argument and precondition errors: each stops before any node is
//! contacted (the config's addresses are documentation addresses nobody answers on).

mod common;

use common::{THREE_NODES, rke, stderr_of, write};

#[test]
fn snapshot_save_without_a_state_file_says_to_run_up_first() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(dir.path(), "cluster.yml", THREE_NODES);
    let out = rke()
        .args(["etcd", "snapshot-save", "--name", "s1", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(11), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    assert!(
        err.contains("cluster.rkestate") && err.contains("rke up"),
        "{err}"
    );
}

#[test]
fn snapshot_restore_needs_a_name() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(dir.path(), "cluster.yml", THREE_NODES);
    let out = rke()
        .args(["etcd", "snapshot-restore", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("--name"), "{}", stderr_of(&out));
}

#[test]
fn snapshot_names_with_a_path_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(dir.path(), "cluster.yml", THREE_NODES);
    let out = rke()
        .args([
            "etcd",
            "snapshot-restore",
            "--name",
            "../etc/passwd",
            "--config",
        ])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).contains("../etc/passwd"),
        "{}",
        stderr_of(&out)
    );
}

#[test]
fn use_local_state_without_a_state_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(dir.path(), "cluster.yml", THREE_NODES);
    let out = rke()
        .args([
            "etcd",
            "snapshot-restore",
            "--name",
            "s1",
            "--use-local-state",
            "--config",
        ])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(11), "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).contains("--use-local-state"),
        "{}",
        stderr_of(&out)
    );
}

#[test]
fn s3_flags_without_a_bucket_are_a_config_error() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(dir.path(), "cluster.yml", THREE_NODES);
    let out = rke()
        .args([
            "etcd",
            "snapshot-list",
            "--s3",
            "--s3-endpoint",
            "http://127.0.0.1:9",
            "--config",
        ])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("bucket"), "{}", stderr_of(&out));
}
