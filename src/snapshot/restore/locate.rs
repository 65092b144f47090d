//! Finding a snapshot and proving it good before anything is stopped: every etcd node's copy
//! is hashed on the node; copies must agree with each other, with their sidecars, and with S3's
//! copy when the snapshot comes from S3 (RKE1's per-node copies, which never agree, excepted:
//! the first etcd node's copy is used, as RKE1 does). The chosen archive is brought here, its etcd database
//! checked (etcd's SHA-256 trailer and the bbolt meta pages) and its cluster compared with this
//! one's CA.

use std::path::PathBuf;

use crate::error::{ErrorKind, classified};
use crate::snapshot::archive::read_archive;
use crate::snapshot::integrity::{
    ClusterMatch, same_cluster, sha256_bytes, sha256_file, verify_etcd_snapshot,
};
use crate::snapshot::naming::archive_file_name;
use crate::snapshot::on_node::{self, NodeSnapshot};
use crate::snapshot::package::{parse_sidecar, sidecar_file_name};
use crate::snapshot::s3::S3Store;
use crate::snapshot::save::EtcdHost;

/// A snapshot ready to restore, held in a local temporary directory.
pub struct Located {
    /// The file name on the nodes: `<name>.zip`, or `<name>` for a bare RKE1 snapshot.
    pub file_name: String,
    /// The file here, and its SHA-256.
    pub path: PathBuf,
    pub sha256: String,
    /// The extracted etcd database.
    pub db_path: PathBuf,
    /// The cluster state stored in the archive.
    pub state_json: Option<Vec<u8>>,
    /// Etcd nodes (`hostname_override`) that get the chosen copy: those that hold none, and
    /// those whose differing RKE1-made copy it replaces.
    pub missing_on: Vec<String>,
    _work: tempfile::TempDir,
}

fn refuse(msg: String) -> anyhow::Error {
    classified(ErrorKind::Snapshot, msg)
}

/// Locate snapshot `name` (from `store` when given, else on the nodes) and verify it.
/// `current_ca_pem`: this cluster's CA from the local state, if there is one. The nodes are
/// asked `limit` at a time.
pub async fn locate(
    name: &str,
    hosts: &[EtcdHost<'_>],
    store: Option<&S3Store>,
    current_ca_pem: Option<&str>,
    helper_image: &str,
    limit: usize,
) -> anyhow::Result<Located> {
    let work = tempfile::Builder::new()
        .prefix("rke-restore-")
        .tempdir()
        .map_err(|e| refuse(format!("temporary directory: {e}")))?;
    let zip_name = archive_file_name(name);
    // The archive, and the bare database RKE1 also accepts.
    let candidates = [zip_name.as_str(), name];
    let listings = crate::parallel::map(hosts, limit, |h| {
        on_node::find(h.conn, &candidates, helper_image)
    })
    .await;
    let mut listed: Vec<(&EtcdHost, Vec<NodeSnapshot>)> = Vec::new();
    for (h, l) in hosts.iter().zip(listings) {
        listed.push((h, l?));
    }
    let has = |file: &str| {
        listed
            .iter()
            .any(|(_, l)| l.iter().any(|s| s.file_name == file))
    };
    // An archive is preferred; a bare database placed by hand is accepted as RKE1 does.
    let file_name = if store.is_some() || has(&zip_name) || !has(name) {
        zip_name
    } else {
        name.to_string()
    };
    let copies: Vec<(&EtcdHost, &NodeSnapshot)> = listed
        .iter()
        .filter_map(|(h, l)| l.iter().find(|s| s.file_name == file_name).map(|s| (*h, s)))
        .collect();
    for (h, s) in &copies {
        if s.corrupt() {
            return Err(refuse(format!(
                "snapshot {name} on node {} is corrupt: its sha256 is {} but {} records {}; \
                 nothing was stopped. Delete that copy (rke copies a good one there) or restore \
                 another snapshot",
                h.cfg.hostname_override,
                s.sha256,
                sidecar_file_name(&file_name),
                s.recorded_sha256.as_deref().unwrap_or_default()
            )));
        }
    }
    let local = work.path().join(&file_name);
    let sha256 = match store {
        Some(store) => fetch_from_s3(store, &file_name, &local, work.path()).await?,
        None => {
            let Some((first, copy)) = copies.first() else {
                return Err(refuse(format!(
                    "snapshot {name} not found: no etcd node has {} (looked on {})",
                    on_node::node_path(&file_name),
                    hosts
                        .iter()
                        .map(|h| h.cfg.hostname_override.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            };
            let bytes = on_node::get(first.conn, &file_name, helper_image)
                .await?
                .ok_or_else(|| {
                    refuse(format!(
                        "node {}: {file_name} disappeared while it was read",
                        first.cfg.hostname_override
                    ))
                })?;
            if sha256_bytes(&bytes) != copy.sha256 {
                return Err(refuse(format!(
                    "snapshot {name} changed while it was copied here; nothing was stopped"
                )));
            }
            std::fs::write(&local, &bytes)
                .map_err(|e| refuse(format!("{}: {e}", local.display())))?;
            copy.sha256.clone()
        }
    };
    let differing: Vec<String> = copies
        .iter()
        .filter(|(_, s)| s.sha256 != sha256)
        .map(|(h, s)| format!("{} has sha256 {}", h.cfg.hostname_override, s.sha256))
        .collect();
    // RKE1 takes a recurring or one-off snapshot on every etcd node separately, so its copies
    // (no sidecar: rke writes one with every archive) always differ. RKE1's restore serves the
    // first etcd node's copy to the others (`PrepareBackup`: `etcd-Serve-backup` and
    // `etcd-download-backup`), replacing theirs; rke does the same, and says so.
    let made_by_rke1 = store.is_none() && copies.iter().all(|(_, s)| s.recorded_sha256.is_none());
    let mut replaced_on: Vec<String> = Vec::new();
    if !differing.is_empty() && made_by_rke1 {
        let source = copies
            .first()
            .map(|(h, _)| h.cfg.hostname_override.as_str())
            .unwrap_or_default();
        tracing::warn!(
            "the copies of snapshot {name} differ, as RKE1's per-node snapshots do (none has a \
             sha256 sidecar): restoring {source}'s copy (sha256 {sha256}) on every member, as \
             RKE1 does; it replaces the copies on {}",
            copies
                .iter()
                .filter(|(_, s)| s.sha256 != sha256)
                .map(|(h, _)| h.cfg.hostname_override.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
        replaced_on = copies
            .iter()
            .filter(|(_, s)| s.sha256 != sha256)
            .map(|(h, _)| h.cfg.hostname_override.clone())
            .collect();
    } else if !differing.is_empty() {
        return Err(refuse(format!(
            "the copies of snapshot {name} are not the same (expected sha256 {sha256}{}): {}; \
             nothing was stopped. Remove the bad copies and run the restore again",
            if store.is_some() { ", as in S3" } else { "" },
            differing.join(", ")
        )));
    }

    let (db_path, state_json) = if file_name.ends_with(".zip") {
        let extracted = work.path().join("extracted");
        std::fs::create_dir(&extracted)
            .map_err(|e| refuse(format!("{}: {e}", extracted.display())))?;
        let contents = read_archive(&local, name, &extracted)?;
        (contents.db_path, contents.state_json)
    } else {
        (local.clone(), None::<Vec<u8>>)
    };
    verify_etcd_snapshot(&db_path).map_err(|e| {
        refuse(format!(
            "snapshot {name} fails etcd's integrity check: {e:#}; nothing was stopped"
        ))
    })?;
    if let Some(ca) = current_ca_pem {
        match same_cluster(name, state_json.as_deref(), ca)? {
            ClusterMatch::Same => {}
            ClusterMatch::Unverified(why) => tracing::warn!("{why}"),
        }
    }
    let missing_on = listed
        .iter()
        .filter(|(_, l)| !l.iter().any(|s| s.file_name == file_name))
        .map(|(h, _)| h.cfg.hostname_override.clone())
        .chain(replaced_on)
        .collect();
    Ok(Located {
        file_name,
        path: local,
        sha256,
        db_path,
        state_json,
        missing_on,
        _work: work,
    })
}

/// Download `file_name` (and its sidecar, when S3 has one) and return the archive's SHA-256,
/// refusing an archive that differs from its sidecar.
async fn fetch_from_s3(
    store: &S3Store,
    file_name: &str,
    local: &std::path::Path,
    dir: &std::path::Path,
) -> anyhow::Result<String> {
    let listing = store.list().await?;
    if !listing.iter().any(|o| o.name == file_name) {
        return Err(refuse(format!(
            "snapshot {file_name} not found in S3 at {}",
            store.key(file_name)?
        )));
    }
    store.get(file_name, local).await?;
    let sha256 = sha256_file(local)?;
    let sidecar = sidecar_file_name(file_name);
    if listing.iter().any(|o| o.name == sidecar) {
        let path = dir.join(&sidecar);
        store.get(&sidecar, &path).await?;
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        if let Some(recorded) = parse_sidecar(&text)
            && recorded != sha256
        {
            return Err(refuse(format!(
                "snapshot {file_name} in S3 is corrupt: its sha256 is {sha256} but {sidecar} \
                 records {recorded}; nothing was stopped"
            )));
        }
    }
    Ok(sha256)
}
