//! Size limits on every file and HTTP body `rke` reads, so a hostile or broken input (a
//! truncated download that never ends, a zip bomb, a multi-gigabyte "config") is refused with an
//! error naming the input and the limit instead of exhausting memory or disk.
//!
//! Each limit is far above what a real cluster produces (the comment on each says why), so an
//! operator never meets one by accident. docs/limits.md lists them.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

pub mod yaml;

const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;

/// The most `rke` reads of one kind of input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// What the limit is for, as the error names it ("cluster.yml").
    pub what: &'static str,
    pub bytes: u64,
}

/// `cluster.yml`: a 100-node config is ~50 KiB; inline `addons` may add a few MiB of manifests.
pub const CLUSTER_YML: Limit = Limit {
    what: "cluster.yml",
    bytes: 16 * MIB,
};

/// `cluster.rkestate` (and the state entry of a snapshot archive): certificates and keys of
/// every node plus the config, a few hundred KiB for large clusters.
pub const STATE_FILE: Limit = Limit {
    what: "cluster.rkestate",
    bytes: 64 * MIB,
};

/// One `addons_include` file or URL body: the largest common manifests (CRD bundles of
/// operators) are a few MiB.
pub const ADDON_INCLUDE: Limit = Limit {
    what: "an addons_include manifest",
    bytes: 32 * MIB,
};

/// KDM's `data.json` (`RANCHER_METADATA_URL`, ~10 MiB today) or an `RKE_VERSION_TABLE` file.
pub const VERSION_DATA: Limit = Limit {
    what: "Kubernetes version data",
    bytes: 128 * MIB,
};

/// The etcd database in a snapshot archive, decompressed: etcd refuses writes past its quota
/// (`--quota-backend-bytes`, 2 GiB by default, 8 GiB the documented maximum), so a real
/// snapshot stays well below this.
pub const SNAPSHOT_DB: Limit = Limit {
    what: "the etcd database of a snapshot",
    bytes: 64 * GIB,
};

/// SSH keys and certificates, etcd TLS files, `--s3-endpoint-ca`, the snapshot agent's
/// settings: a key is a few KiB, a CA bundle (Mozilla's whole store) ~220 KiB.
pub const SMALL_FILE: Limit = Limit {
    what: "a key, certificate or settings file",
    bytes: 4 * MIB,
};

/// `~/.ssh/known_hosts`: a line is ~100 bytes; even 100 000 hosts stay under 16 MiB.
pub const KNOWN_HOSTS: Limit = Limit {
    what: "known_hosts",
    bytes: 64 * MIB,
};

impl Limit {
    /// "too large: 20.5 MiB, more than the 16 MiB limit for cluster.yml".
    pub fn exceeded(&self, size: u64) -> String {
        format!(
            "too large: {}, more than the {} limit for {}",
            human(size),
            human(self.bytes),
            self.what
        )
    }

    /// As [`Limit::exceeded`] when only a lower bound of the size is known (reading stopped).
    pub fn exceeded_at_least(&self) -> String {
        format!(
            "too large: more than the {} limit for {}",
            human(self.bytes),
            self.what
        )
    }

    /// An error of kind [`io::ErrorKind::FileTooLarge`] saying so.
    fn error(&self, message: String) -> io::Error {
        io::Error::new(io::ErrorKind::FileTooLarge, message)
    }
}

/// Read all of `path`, refusing one larger than `limit`. The size is checked before reading and
/// again while reading, as the file may grow or be a pipe.
pub fn read_file(path: &Path, limit: Limit) -> io::Result<Vec<u8>> {
    let file = File::open(path)?;
    let len = file.metadata()?.len();
    if len > limit.bytes {
        return Err(limit.error(limit.exceeded(len)));
    }
    read_bounded(file, limit, len as usize)
}

/// As [`read_file`], as UTF-8 text.
pub fn read_file_to_string(path: &Path, limit: Limit) -> io::Result<String> {
    String::from_utf8(read_file(path, limit)?)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// Read `reader` to its end, refusing more than `limit` bytes.
pub fn read_bounded(reader: impl Read, limit: Limit, hint: usize) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::with_capacity(hint.min(limit.bytes as usize));
    reader.take(limit.bytes + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit.bytes {
        return Err(limit.error(limit.exceeded_at_least()));
    }
    Ok(bytes)
}

/// Bytes in the unit an operator reads: "16 MiB", "20.5 MiB", "64 GiB", "512 bytes".
fn human(bytes: u64) -> String {
    let (unit, name) = match bytes {
        b if b >= GIB => (GIB, "GiB"),
        b if b >= MIB => (MIB, "MiB"),
        b if b >= 1024 => (1024, "KiB"),
        _ => return format!("{bytes} bytes"),
    };
    let rounded = format!("{:.1}", bytes as f64 / unit as f64);
    if bytes.is_multiple_of(unit) {
        format!("{} {name}", bytes / unit)
    } else if rounded.ends_with(".0") {
        // Just past a limit, "32.0 MiB, more than the 32 MiB limit" would read as a contradiction.
        format!("{bytes} bytes")
    } else {
        format!("{rounded} {name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TINY: Limit = Limit {
        what: "a test file",
        bytes: 10,
    };

    #[test]
    fn a_file_within_the_limit_is_read_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"0123456789").unwrap();
        assert_eq!(read_file(&path, TINY).unwrap(), b"0123456789");
        assert_eq!(read_file_to_string(&path, TINY).unwrap(), "0123456789");
    }

    #[test]
    fn a_file_over_the_limit_is_refused_naming_size_and_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"0123456789a").unwrap();
        let err = read_file(&path, TINY).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::FileTooLarge);
        assert_eq!(
            err.to_string(),
            "too large: 11 bytes, more than the 10 bytes limit for a test file"
        );
    }

    #[test]
    fn a_stream_over_the_limit_is_refused_while_reading() {
        // A reader whose length is not known up front (a pipe, a growing file).
        let endless = io::repeat(b'x');
        let err = read_bounded(endless, TINY, 0).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::FileTooLarge);
        assert!(
            err.to_string()
                .contains("too large: more than the 10 bytes limit"),
            "{err}"
        );
        assert_eq!(read_bounded(&b"short"[..], TINY, 0).unwrap(), b"short");
    }

    #[test]
    fn sizes_are_printed_in_binary_units() {
        assert_eq!(human(16 * MIB), "16 MiB");
        assert_eq!(human(20 * MIB + MIB / 2), "20.5 MiB");
        assert_eq!(human(64 * GIB), "64 GiB");
        assert_eq!(human(2048), "2 KiB");
        assert_eq!(human(16 * MIB + 1), "16777217 bytes");
        assert_eq!(
            CLUSTER_YML.exceeded(17 * MIB),
            "too large: 17 MiB, more than the 16 MiB limit for cluster.yml"
        );
    }
}
