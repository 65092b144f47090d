//! `rke etcd snapshot-*` argument and precondition errors: each stops before any node is
//! contacted (the config's addresses are documentation addresses nobody answers on).

use crate::common::{THREE_NODES, rke, stderr_of, write};

/// `rke etcd <args> --config <a three-node cluster.yml with no state file>`: exit code, stderr.
fn etcd(args: &[&str]) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(dir.path(), "cluster.yml", THREE_NODES);
    let out = rke()
        .arg("etcd")
        .args(args)
        .arg("--config")
        .arg(&cfg)
        .output()
        .unwrap();
    (out.status.code(), stderr_of(&out))
}

#[test]
fn snapshot_save_without_a_state_file_says_to_run_up_first() {
    let (code, err) = etcd(&["snapshot-save", "--name", "s1"]);
    assert_eq!(code, Some(11), "{err}");
    assert!(
        err.contains("cluster.rkestate") && err.contains("rke up"),
        "{err}"
    );
}

#[test]
fn snapshot_restore_needs_a_name() {
    let (code, err) = etcd(&["snapshot-restore"]);
    assert_eq!(code, Some(3), "{err}");
    assert!(err.contains("--name"), "{err}");
}

/// `--rollback` undoes the interrupted restore the nodes journal: it takes no snapshot name.
#[test]
fn rollback_takes_no_name_and_no_local_state_flag() {
    for extra in [&["--name", "s1"][..], &["--use-local-state"][..]] {
        let mut args = vec!["snapshot-restore", "--rollback"];
        args.extend(extra);
        let (code, err) = etcd(&args);
        assert_eq!(code, Some(3), "{args:?}: {err}");
        assert!(err.contains("--rollback"), "{err}");
    }
}

#[test]
fn snapshot_names_with_a_path_are_refused() {
    let (code, err) = etcd(&["snapshot-restore", "--name", "../etc/passwd"]);
    assert_ne!(code, Some(0), "{err}");
    assert!(err.contains("../etc/passwd"), "{err}");
}

#[test]
fn use_local_state_without_a_state_file_is_refused() {
    let (code, err) = etcd(&["snapshot-restore", "--name", "s1", "--use-local-state"]);
    assert_eq!(code, Some(11), "{err}");
    assert!(err.contains("--use-local-state"), "{err}");
}

#[test]
fn s3_flags_without_a_bucket_are_a_config_error() {
    let (code, err) = etcd(&[
        "snapshot-list",
        "--s3",
        "--s3-endpoint",
        "http://127.0.0.1:9",
    ]);
    assert_eq!(code, Some(3), "{err}");
    assert!(err.contains("bucket"), "{err}");
}
