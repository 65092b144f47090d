//! `rke etcd snapshot-save`: a consistent snapshot streamed with etcd's Snapshot RPC from a
//! healthy member (through that node's SSH connection), packaged in RKE1's archive layout with
//! the cluster state file, then copied to every etcd node's snapshot directory (and to S3 when
//! configured), each copy checked by the SHA-256 the node computes.

use std::time::Instant;

use super::naming::archive_file_name;
use super::on_node;
use super::package::{package, sidecar_file_name};
use super::s3::{S3Settings, S3Store};
use crate::certs::CertBundle;
use crate::config::RkeConfigNode;
use crate::error::{ErrorKind, classified};
use crate::etcd::{EtcdClient, EtcdTls};
use crate::transport::NodeConnection;

/// What a save produced.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Saved {
    pub name: String,
    /// Size of the etcd database and of the archive, in bytes.
    pub db_size: u64,
    pub archive_size: u64,
    pub sha256: String,
    /// The member the snapshot was taken from (`hostname_override`).
    pub taken_from: String,
    /// Nodes now holding the archive, verified.
    pub nodes: Vec<String>,
    /// Object key in S3, when uploaded.
    pub s3_key: Option<String>,
    pub seconds: f64,
}

/// An etcd node with its connection.
pub struct EtcdHost<'a> {
    pub cfg: &'a RkeConfigNode,
    pub conn: &'a NodeConnection,
}

/// Take snapshot `name` from the first healthy member of `hosts` and store it on all of them,
/// `limit` at a time.
pub async fn save(
    hosts: &[EtcdHost<'_>],
    bundle: &CertBundle,
    name: &str,
    state_json: Option<&[u8]>,
    s3: Option<&S3Settings>,
    helper_image: &str,
    limit: usize,
) -> anyhow::Result<Saved> {
    let started = Instant::now();
    let store = match s3 {
        // Connect first: bad S3 settings should fail before etcd is asked for anything.
        Some(settings) => Some(S3Store::connect(settings).await?),
        None => None,
    };
    let (client, taken_from) = healthy_member(hosts, bundle).await?;
    let work = tempfile::Builder::new()
        .prefix("rke-snapshot-")
        .tempdir()
        .map_err(|e| classified(ErrorKind::Snapshot, format!("temporary directory: {e}")))?;
    let db_path = work.path().join(name);
    let db_size = crate::events::step(&taken_from, "snapshot", async {
        client.snapshot_to(&db_path).await
    })
    .await?;
    tracing::info!(member = %taken_from, bytes = db_size, "snapshot {name} taken");
    if state_json.is_none() {
        tracing::warn!("no cluster state file: snapshot {name} is saved without one");
    }
    let packaged = package(&db_path, name, state_json, work.path())?;
    let file_name = archive_file_name(name);

    let copies = crate::parallel::map(hosts, limit, |h| {
        let store = store_on(
            h.conn,
            &file_name,
            &packaged.zip_path,
            &packaged.sha256,
            helper_image,
        );
        crate::events::step(&h.cfg.hostname_override, "store", store)
    })
    .await;
    let mut nodes = Vec::new();
    let mut failed = Vec::new();
    for (host, result) in hosts.iter().zip(copies) {
        match result {
            Ok(()) => nodes.push(host.cfg.hostname_override.clone()),
            Err(e) => failed.push(format!("{e:#}")),
        }
    }
    let s3_key = match &store {
        Some(store) => {
            crate::events::phase("s3-upload", 0, async {
                store.put(&file_name, &packaged.zip_path).await?;
                let sidecar = work.path().join(sidecar_file_name(&file_name));
                store.put(&sidecar_file_name(&file_name), &sidecar).await?;
                anyhow::Ok(Some(store.key(&file_name)?))
            })
            .await?
        }
        None => None,
    };
    if !failed.is_empty() {
        return Err(classified(
            ErrorKind::Snapshot,
            format!(
                "snapshot {name} was taken but not stored on every etcd node ({}): {}",
                if nodes.is_empty() {
                    "on none".to_string()
                } else {
                    format!("stored on {}", nodes.join(", "))
                },
                failed.join("; ")
            ),
        ));
    }
    Ok(Saved {
        name: name.to_string(),
        db_size,
        archive_size: packaged.size,
        sha256: packaged.sha256,
        taken_from,
        nodes,
        s3_key,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Connect to each member in turn through its own node; the first that reports healthy.
async fn healthy_member(
    hosts: &[EtcdHost<'_>],
    bundle: &CertBundle,
) -> anyhow::Result<(EtcdClient, String)> {
    let mut tried = Vec::new();
    for h in hosts {
        let tls = EtcdTls::from_bundle(bundle)?;
        let attempt = async {
            let client =
                EtcdClient::connect(h.conn, h.cfg.effective_internal_address(), tls).await?;
            client.health().await?;
            anyhow::Ok(client)
        };
        match attempt.await {
            Ok(client) => return Ok((client, h.cfg.hostname_override.clone())),
            Err(e) => tried.push(format!("{e:#}")),
        }
    }
    Err(classified(
        ErrorKind::Etcd,
        format!(
            "no healthy etcd member to take a snapshot from: {}",
            if tried.is_empty() {
                "the config has no etcd node".to_string()
            } else {
                tried.join("; ")
            }
        ),
    ))
}

/// Copy the archive to one node and check what landed there by the node's own checksum.
async fn store_on(
    conn: &NodeConnection,
    file_name: &str,
    local: &std::path::Path,
    sha256: &str,
    helper_image: &str,
) -> anyhow::Result<()> {
    on_node::put(conn, file_name, local, sha256, helper_image).await?;
    let listed = on_node::find(conn, &[file_name], helper_image).await?;
    match listed.iter().find(|s| s.file_name == file_name) {
        Some(s) if s.sha256 == sha256 => Ok(()),
        Some(s) => Err(classified(
            ErrorKind::Snapshot,
            format!(
                "node {}: {file_name} was written but reads back with sha256 {} instead of {sha256}",
                conn.name(),
                s.sha256
            ),
        )),
        None => Err(classified(
            ErrorKind::Snapshot,
            format!(
                "node {}: {file_name} is missing right after it was written",
                conn.name()
            ),
        )),
    }
}
