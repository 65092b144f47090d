//! Snapshot archives (`<name>.zip`): finding and extracting the etcd database and the state
//! entry, as `rke etcd snapshot-restore` does with a downloaded archive.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::io::Cursor;
use std::sync::LazyLock;

static DEST: LazyLock<tempfile::TempDir> =
    LazyLock::new(|| tempfile::tempdir().expect("a temporary directory"));

fuzz_target!(|data: &[u8]| {
    let origin = std::path::Path::new("fuzz.zip");
    let _ =
        rke::snapshot::archive::read_archive_from(Cursor::new(data), origin, "snap", DEST.path());
});
