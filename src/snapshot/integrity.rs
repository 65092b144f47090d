//! Checks that a snapshot is whole and belongs to this cluster, run before a restore stops
//! anything.
//!
//! - A snapshot from etcd's Snapshot RPC is the bbolt database followed by the SHA-256 of those
//!   bytes: the server sends the digest as the last message, and `etcdctl snapshot save` keeps
//!   it. `etcdutl snapshot restore` (etcd-io/etcd `etcdutl/snapshot/v3_snapshot.go`,
//!   `copyAndVerifyDB`) takes a trailer to exist when `size % 512 == 32` and refuses a
//!   mismatch; without a trailer it refuses unless `--skip-hash-check`. [`verify_etcd_snapshot`]
//!   applies the same rule.
//! - The database must also open as bbolt (etcd-io/bbolt `internal/common/meta.go`, `page.go`):
//!   pages 0 and 1 are meta pages, each a 16-byte page header (`id u64, flags u16, count u16,
//!   overflow u32`; meta flag `0x04`) then `magic u32 = 0xED0CDAED, version u32 = 2,
//!   pageSize u32, flags u32, root {pgid u64, sequence u64}, freelist u64, pgid u64, txid u64,
//!   checksum u64`, the checksum being FNV-1a 64 of the meta bytes before it. bbolt opens a file
//!   when either meta page is valid. Fields are in the writer's native byte order.
//! - The state file inside an RKE1 archive names the cluster's `kube-ca`; [`same_cluster`]
//!   compares its public key with the current cluster's.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::certs::names::KUBE_CA;
use crate::error::{ErrorKind, classified};

/// Length of the SHA-256 trailer etcd appends.
const TRAILER_LEN: u64 = 32;
/// etcd's `hasChecksum`: a snapshot with a trailer has `size % 512 == 32`.
const SECTOR: u64 = 512;

const PAGE_HEADER_LEN: usize = 16;
const META_LEN: usize = 64;
const META_PAGE_FLAG: u16 = 0x04;
const BOLT_MAGIC: u32 = 0xED0C_DAED;
const BOLT_VERSION: u32 = 2;
const NO_FREELIST: u64 = u64::MAX;
const MIN_PAGE_SIZE: u32 = 512;
const MAX_PAGE_SIZE: u32 = 1 << 20;

/// SHA-256 of a file as lowercase hex, read in chunks.
pub fn sha256_file(path: &Path) -> anyhow::Result<String> {
    let mut file = File::open(path).map_err(|e| read_error(path, &e))?;
    let mut hasher = Sha256::new();
    io::copy(&mut file, &mut hasher).map_err(|e| read_error(path, &e))?;
    Ok(hex(&hasher.finalize()))
}

/// Lower-case hex SHA-256 of bytes in memory.
pub fn sha256_bytes(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Refuse a snapshot file that `etcdutl snapshot restore` would refuse or that is not a bbolt
/// database: missing or wrong SHA-256 trailer, no valid meta page, or a database shorter than
/// its meta page says. Errors read "corrupt snapshot <path>: ...".
pub fn verify_etcd_snapshot(db_path: &Path) -> anyhow::Result<()> {
    let corrupt = |why: String| {
        classified(
            ErrorKind::Snapshot,
            format!("corrupt snapshot {}: {why}", db_path.display()),
        )
    };
    let mut file = File::open(db_path).map_err(|e| read_error(db_path, &e))?;
    let size = file.metadata().map_err(|e| read_error(db_path, &e))?.len();
    if size % SECTOR != TRAILER_LEN {
        return Err(corrupt(format!(
            "{size} bytes is not a database plus etcd's 32-byte SHA-256 (the size of a snapshot \
             from etcd is a multiple of 512 plus 32); the file is truncated, padded, or a copy \
             of a data directory's db"
        )));
    }
    let db_len = size - TRAILER_LEN;

    let mut hasher = Sha256::new();
    let copied = io::copy(&mut (&mut file).take(db_len), &mut hasher)
        .map_err(|e| read_error(db_path, &e))?;
    if copied != db_len {
        return Err(corrupt(format!(
            "the file shrank while reading ({copied} of {db_len} bytes)"
        )));
    }
    let mut trailer = [0u8; TRAILER_LEN as usize];
    file.read_exact(&mut trailer)
        .map_err(|e| read_error(db_path, &e))?;
    let digest = hasher.finalize();
    if digest.as_slice() != trailer {
        return Err(corrupt(format!(
            "SHA-256 mismatch: the trailer says {}, the data hashes to {}",
            hex(&trailer),
            hex(&digest)
        )));
    }

    check_bolt(&mut file, db_len).map_err(corrupt)
}

/// The database part of the file opens as bbolt: a valid meta page whose high-water mark fits
/// in the file.
fn check_bolt(file: &mut File, db_len: u64) -> Result<(), String> {
    let mut first = [0u8; PAGE_HEADER_LEN + META_LEN];
    if db_len < first.len() as u64 {
        return Err(format!(
            "{db_len} bytes of data is too short for a bbolt database"
        ));
    }
    read_at(file, 0, &mut first).map_err(|e| e.to_string())?;
    let meta0 = Meta::parse(&first);
    // Page 1 sits one page further; the page size comes from page 0, or from page 1 itself
    // when page 0 is damaged, so try the usual sizes too.
    let mut sizes = vec![];
    if let Ok(m) = &meta0 {
        sizes.push(m.page_size);
    }
    sizes.extend([4096, 8192, 16384, 65536]);
    let mut meta1 = Err("no second meta page".to_string());
    for page_size in sizes {
        let mut buf = [0u8; PAGE_HEADER_LEN + META_LEN];
        if u64::from(page_size) + buf.len() as u64 > db_len {
            continue;
        }
        if read_at(file, u64::from(page_size), &mut buf).is_err() {
            continue;
        }
        meta1 = Meta::parse(&buf).and_then(|m| {
            if m.page_size == page_size {
                Ok(m)
            } else {
                Err(format!(
                    "page size {} does not match its offset {page_size}",
                    m.page_size
                ))
            }
        });
        if meta1.is_ok() {
            break;
        }
    }
    // bbolt uses the valid meta with the higher transaction id.
    let meta = match (meta0, meta1) {
        (Ok(a), Ok(b)) => {
            if a.txid >= b.txid {
                a
            } else {
                b
            }
        }
        (Ok(m), Err(_)) | (Err(_), Ok(m)) => m,
        (Err(a), Err(b)) => {
            return Err(format!(
                "not a bbolt database (meta page 0: {a}; meta page 1: {b})"
            ));
        }
    };
    let needed = meta.high_water.saturating_mul(u64::from(meta.page_size));
    if needed > db_len {
        return Err(format!(
            "the bbolt database is truncated: its meta page counts {} pages of {} bytes \
             ({needed} bytes), the file holds {db_len}",
            meta.high_water, meta.page_size
        ));
    }
    if meta.root >= meta.high_water
        || (meta.freelist != NO_FREELIST && meta.freelist >= meta.high_water)
    {
        return Err("the bbolt meta page points past the end of the database".into());
    }
    Ok(())
}

/// What [`same_cluster`] could establish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClusterMatch {
    /// The archive's state has the same `kube-ca` key as the cluster.
    Same,
    /// Nothing to compare (no state file, or no `kube-ca` in it); print the warning.
    Unverified(String),
}

/// Whether snapshot `name` was taken from this cluster: the `kube-ca` certificate in the
/// state file inside its archive (`desiredState`, else `currentState`) must carry the same
/// public key as `current_ca_pem`. Comparing keys rather than whole certificates accepts a CA
/// that was re-issued with its key kept, which still verifies every certificate it signed.
pub fn same_cluster(
    name: &str,
    snapshot_state_json: Option<&[u8]>,
    current_ca_pem: &str,
) -> anyhow::Result<ClusterMatch> {
    let Some(json) = snapshot_state_json else {
        return Ok(ClusterMatch::Unverified(format!(
            "snapshot {name} holds no cluster state file, so it cannot be checked to come from \
             this cluster"
        )));
    };
    let origin = format!("in snapshot {name}");
    let loaded = crate::state::decode::<serde_json::Value>(json, &origin)?;
    let state = loaded.state;
    let Some(theirs) = [&state.desired_state, &state.current_state]
        .into_iter()
        .filter_map(|side| side.certificates_bundle.get(KUBE_CA))
        .map(|ca| ca.certificate_pem.as_str())
        .find(|pem| !pem.trim().is_empty())
    else {
        return Ok(ClusterMatch::Unverified(format!(
            "the state file in snapshot {name} has no {KUBE_CA} certificate, so the snapshot \
             cannot be checked to come from this cluster"
        )));
    };
    let ours = public_key(current_ca_pem).map_err(|e| {
        classified(
            ErrorKind::State,
            format!("the cluster's {KUBE_CA} certificate is unreadable: {e}"),
        )
    })?;
    let theirs = public_key(theirs).map_err(|e| {
        classified(
            ErrorKind::Snapshot,
            format!("snapshot {name}: its state file's {KUBE_CA} certificate is unreadable: {e}"),
        )
    })?;
    if ours == theirs {
        Ok(ClusterMatch::Same)
    } else {
        Err(classified(
            ErrorKind::Snapshot,
            format!("snapshot {name} was taken from a different cluster (its {KUBE_CA} differs)"),
        ))
    }
}

/// The DER of the SubjectPublicKeyInfo of the first certificate in `pem_text`.
fn public_key(pem_text: &str) -> Result<Vec<u8>, String> {
    let block = pem::parse(pem_text.trim()).map_err(|e| format!("invalid PEM: {e}"))?;
    if block.tag() != "CERTIFICATE" {
        return Err(format!(
            "expected a CERTIFICATE PEM block, found {}",
            block.tag()
        ));
    }
    let (_, cert) = x509_parser::parse_x509_certificate(block.contents())
        .map_err(|e| format!("invalid certificate: {e}"))?;
    Ok(cert.tbs_certificate.subject_pki.raw.to_vec())
}

/// The fields of a bbolt meta page that the checks use.
#[derive(Debug)]
struct Meta {
    page_size: u32,
    root: u64,
    freelist: u64,
    high_water: u64,
    txid: u64,
}

impl Meta {
    /// Parse a page header plus meta, in whichever byte order makes the magic match.
    fn parse(page: &[u8; PAGE_HEADER_LEN + META_LEN]) -> Result<Meta, String> {
        let meta = &page[PAGE_HEADER_LEN..];
        let little = u32::from_le_bytes(field(meta, 0)) == BOLT_MAGIC;
        let big = u32::from_be_bytes(field(meta, 0)) == BOLT_MAGIC;
        if !little && !big {
            return Err("bad magic".into());
        }
        let u16_at = |b: &[u8], at: usize| {
            let raw = field(b, at);
            if little {
                u16::from_le_bytes(raw)
            } else {
                u16::from_be_bytes(raw)
            }
        };
        let u32_at = |at: usize| {
            let raw = field(meta, at);
            if little {
                u32::from_le_bytes(raw)
            } else {
                u32::from_be_bytes(raw)
            }
        };
        let u64_at = |at: usize| {
            let raw = field(meta, at);
            if little {
                u64::from_le_bytes(raw)
            } else {
                u64::from_be_bytes(raw)
            }
        };
        if u16_at(page, 8) & META_PAGE_FLAG == 0 {
            return Err("the page is not flagged as a meta page".into());
        }
        let version = u32_at(4);
        if version != BOLT_VERSION {
            return Err(format!(
                "bbolt format version {version}, expected {BOLT_VERSION}"
            ));
        }
        if u64_at(56) != fnv1a64(&meta[..56]) {
            return Err("meta checksum mismatch".into());
        }
        let page_size = u32_at(8);
        if !(MIN_PAGE_SIZE..=MAX_PAGE_SIZE).contains(&page_size) || !page_size.is_power_of_two() {
            return Err(format!("implausible page size {page_size}"));
        }
        Ok(Meta {
            page_size,
            root: u64_at(16),
            freelist: u64_at(32),
            high_water: u64_at(40),
            txid: u64_at(48),
        })
    }
}

fn field<const N: usize>(bytes: &[u8], at: usize) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(&bytes[at..at + N]);
    out
}

/// FNV-1a, 64 bit: bbolt's meta checksum (Go `hash/fnv.New64a`).
fn fnv1a64(bytes: &[u8]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes
        .iter()
        .fold(OFFSET, |h, b| (h ^ u64::from(*b)).wrapping_mul(PRIME))
}

fn read_at(file: &mut File, offset: u64, buf: &mut [u8]) -> io::Result<()> {
    file.seek(SeekFrom::Start(offset))?;
    file.read_exact(buf)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn read_error(path: &Path, e: &io::Error) -> anyhow::Error {
    classified(
        ErrorKind::Snapshot,
        format!("cannot read snapshot file {}: {e}", path.display()),
    )
}

#[cfg(test)]
pub(crate) mod test_db {
    //! A minimal bbolt file as etcd's Snapshot RPC sends it, built byte by byte.
    use super::*;

    /// Four 4096-byte pages: two meta pages (txid 1 and 2), a freelist and an empty leaf, in
    /// little-endian order, followed by the SHA-256 trailer.
    pub(crate) fn snapshot_bytes() -> Vec<u8> {
        let page = 4096usize;
        let mut db = vec![0u8; 4 * page];
        for (id, txid) in [(0u64, 2u64), (1, 1)] {
            let p = &mut db[id as usize * page..];
            p[0..8].copy_from_slice(&id.to_le_bytes());
            p[8..10].copy_from_slice(&META_PAGE_FLAG.to_le_bytes());
            let m = &mut p[PAGE_HEADER_LEN..PAGE_HEADER_LEN + META_LEN];
            m[0..4].copy_from_slice(&BOLT_MAGIC.to_le_bytes());
            m[4..8].copy_from_slice(&BOLT_VERSION.to_le_bytes());
            m[8..12].copy_from_slice(&(page as u32).to_le_bytes());
            m[16..24].copy_from_slice(&3u64.to_le_bytes()); // root bucket page
            m[32..40].copy_from_slice(&2u64.to_le_bytes()); // freelist page
            m[40..48].copy_from_slice(&4u64.to_le_bytes()); // high-water mark
            m[48..56].copy_from_slice(&txid.to_le_bytes());
            let sum = fnv1a64(&m[..56]);
            m[56..64].copy_from_slice(&sum.to_le_bytes());
        }
        db[2 * page..2 * page + 8].copy_from_slice(&2u64.to_le_bytes());
        db[2 * page + 8..2 * page + 10].copy_from_slice(&0x10u16.to_le_bytes());
        db[3 * page..3 * page + 8].copy_from_slice(&3u64.to_le_bytes());
        db[3 * page + 8..3 * page + 10].copy_from_slice(&0x02u16.to_le_bytes());
        with_trailer(db)
    }

    pub(crate) fn with_trailer(mut db: Vec<u8>) -> Vec<u8> {
        let digest = Sha256::digest(&db);
        db.extend_from_slice(&digest);
        db
    }
}

#[cfg(test)]
mod tests {
    use super::test_db::{snapshot_bytes, with_trailer};
    use super::*;

    fn write(dir: &Path, bytes: &[u8]) -> std::path::PathBuf {
        let path = dir.join("snap.db");
        std::fs::write(&path, bytes).unwrap();
        path
    }

    fn verify_err(bytes: &[u8]) -> String {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), bytes);
        let err = verify_etcd_snapshot(&path).unwrap_err();
        assert_eq!(crate::error::kind_of(&err), ErrorKind::Snapshot);
        let msg = err.to_string();
        assert!(
            msg.starts_with(&format!("corrupt snapshot {}: ", path.display())),
            "{msg}"
        );
        msg
    }

    #[test]
    fn sha256_file_matches_known_digest() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), b"abc");
        assert_eq!(
            sha256_file(&path).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let missing = sha256_file(&dir.path().join("nope"))
            .unwrap_err()
            .to_string();
        assert!(missing.contains("nope"), "{missing}");
    }

    #[test]
    fn fnv1a64_matches_reference_vectors() {
        assert_eq!(fnv1a64(b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a64(b"a"), 0xaf63dc4c8601ec8c);
    }

    #[test]
    fn valid_snapshot_passes() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), &snapshot_bytes());
        verify_etcd_snapshot(&path).unwrap();
    }

    #[test]
    fn flipped_data_byte_fails_the_hash() {
        let mut bytes = snapshot_bytes();
        bytes[3 * 4096 + 100] ^= 0x01;
        assert!(verify_err(&bytes).contains("SHA-256 mismatch"));
    }

    #[test]
    fn flipped_trailer_byte_fails_the_hash() {
        let mut bytes = snapshot_bytes();
        let last = bytes.len() - 1;
        bytes[last] ^= 0x80;
        assert!(verify_err(&bytes).contains("SHA-256 mismatch"));
    }

    #[test]
    fn missing_trailer_or_truncation_is_refused() {
        let bytes = snapshot_bytes();
        assert!(verify_err(&bytes[..bytes.len() - 32]).contains("multiple of 512 plus 32"));
        assert!(verify_err(&bytes[..bytes.len() - 1]).contains("multiple of 512 plus 32"));
        assert!(verify_err(b"").contains("multiple of 512 plus 32"));
    }

    #[test]
    fn hash_correct_but_not_bbolt_is_refused() {
        let msg = verify_err(&with_trailer(vec![0x5a; 4096]));
        assert!(msg.contains("not a bbolt database"), "{msg}");
    }

    #[test]
    fn one_damaged_meta_page_is_tolerated_like_bbolt() {
        let mut bytes = snapshot_bytes();
        bytes.truncate(bytes.len() - 32);
        bytes[16 + 20] ^= 0xff; // meta 0 flags field: its checksum no longer matches
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), &with_trailer(bytes.clone()));
        verify_etcd_snapshot(&path).unwrap();

        bytes[4096 + 16 + 20] ^= 0xff; // now meta 1 as well
        let msg = verify_err(&with_trailer(bytes));
        assert!(msg.contains("meta checksum mismatch"), "{msg}");
    }

    #[test]
    fn database_shorter_than_its_meta_says_is_refused() {
        let mut bytes = snapshot_bytes();
        bytes.truncate(3 * 4096); // drop the last page and the trailer, then re-hash
        let msg = verify_err(&with_trailer(bytes));
        assert!(msg.contains("truncated"), "{msg}");
    }

    fn ca_pem(key: &rcgen::KeyPair, cn: &str) -> String {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, cn);
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.self_signed(key).unwrap().pem()
    }

    fn state_with_ca(side: &str, pem: &str) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "desiredState": {},
            "currentState": {},
            side: { "certificatesBundle": { "kube-ca": {
                "certificatePEM": pem, "name": "kube-ca", "commonName": "kube-ca" } } }
        }))
        .unwrap()
    }

    #[test]
    fn same_cluster_compares_kube_ca_keys() {
        let key = rcgen::KeyPair::generate().unwrap();
        let ours = ca_pem(&key, "kube-ca");
        let state = state_with_ca("desiredState", &ours);
        assert_eq!(
            same_cluster("s1", Some(&state), &ours).unwrap(),
            ClusterMatch::Same
        );

        // Re-issued with the same key (different subject and serial): still this cluster.
        let reissued = ca_pem(&key, "kube-ca-renewed");
        assert_ne!(reissued, ours);
        assert_eq!(
            same_cluster("s1", Some(&state), &reissued).unwrap(),
            ClusterMatch::Same
        );
        // Only currentState carries the CA: used as well.
        let current_only = state_with_ca("currentState", &ours);
        assert_eq!(
            same_cluster("s1", Some(&current_only), &ours).unwrap(),
            ClusterMatch::Same
        );
    }

    #[test]
    fn same_cluster_refuses_another_clusters_ca() {
        let ours = ca_pem(&rcgen::KeyPair::generate().unwrap(), "kube-ca");
        let theirs = ca_pem(&rcgen::KeyPair::generate().unwrap(), "kube-ca");
        let err = same_cluster(
            "nightly",
            Some(&state_with_ca("desiredState", &theirs)),
            &ours,
        )
        .unwrap_err();
        assert_eq!(crate::error::kind_of(&err), ErrorKind::Snapshot);
        assert_eq!(
            err.to_string(),
            "snapshot nightly was taken from a different cluster (its kube-ca differs)"
        );
    }

    #[test]
    fn same_cluster_without_state_or_ca_only_warns() {
        let ours = ca_pem(&rcgen::KeyPair::generate().unwrap(), "kube-ca");
        let ClusterMatch::Unverified(w) = same_cluster("s", None, &ours).unwrap() else {
            panic!("expected a warning")
        };
        assert!(w.contains("holds no cluster state file"), "{w}");
        let empty = br#"{"desiredState":{},"currentState":{}}"#;
        let ClusterMatch::Unverified(w) = same_cluster("s", Some(empty), &ours).unwrap() else {
            panic!("expected a warning")
        };
        assert!(w.contains("has no kube-ca certificate"), "{w}");
    }

    #[test]
    fn same_cluster_reports_unreadable_inputs() {
        let ours = ca_pem(&rcgen::KeyPair::generate().unwrap(), "kube-ca");
        let err = same_cluster("s", Some(b"{not json"), &ours)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("in snapshot s") && err.contains("invalid JSON"),
            "{err}"
        );
        let junk = state_with_ca(
            "desiredState",
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        );
        let err = same_cluster("s", Some(&junk), &ours)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("snapshot s: its state file's kube-ca certificate is unreadable"),
            "{err}"
        );
        let err = same_cluster("s", Some(&junk), "garbage").unwrap_err();
        assert_eq!(crate::error::kind_of(&err), ErrorKind::State);
    }
}
