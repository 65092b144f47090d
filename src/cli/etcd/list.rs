//! `rke etcd snapshot-list`: every snapshot on each etcd node and in S3, with size, time,
//! checksum, and whether all copies hold the same bytes.

use std::collections::BTreeMap;

use serde::Serialize;

use clap::Args;

use super::{connect_etcd, ensure_images, load_cluster, s3_store};
use crate::cli::nodes::{self, ConnectArgs};
use crate::cli::{ConfigArg, OutputFormat};
use crate::snapshot::on_node::{self, NodeSnapshot};
use crate::snapshot::s3::S3Args;

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    #[command(flatten)]
    pub s3: S3Args,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// One snapshot as seen across the nodes and S3.
#[derive(Debug, Default, Serialize)]
struct Row {
    name: String,
    file: String,
    /// Per node: its copy's size, time and checksum.
    nodes: BTreeMap<String, NodeSnapshot>,
    /// Size and time of the S3 object, when there is one.
    s3: Option<S3Copy>,
    /// Every node copy has the same checksum, and none differs from its sidecar.
    consistent: bool,
    /// Nodes whose copy differs from its sidecar.
    corrupt_on: Vec<String>,
    /// Etcd nodes without a copy.
    missing_on: Vec<String>,
}

#[derive(Debug, Serialize)]
struct S3Copy {
    key: String,
    size: u64,
    modified: String,
}

pub fn run(args: &ListArgs) -> anyhow::Result<i32> {
    let loaded = load_cluster(&args.config.config)?;
    let helper = loaded.cfg.system_images.alpine.clone();
    let rows = nodes::runtime()?.block_on(async {
        let store = s3_store(&args.s3, &loaded.cfg).await?;
        let conns = connect_etcd(&loaded.cfg, &args.connect).await?;
        let limit = args.connect.limit();
        ensure_images(&loaded.cfg, &conns, &[&helper], limit).await?;
        let listings =
            crate::parallel::try_map(&conns, limit, |c| on_node::list(c, &helper)).await?;
        let mut rows: BTreeMap<String, Row> = BTreeMap::new();
        for (conn, listing) in conns.iter().zip(listings) {
            for s in listing {
                let row = rows.entry(s.file_name.clone()).or_default();
                row.nodes.insert(conn.name().to_string(), s);
            }
        }
        if let Some(store) = &store {
            for o in store.list().await? {
                if o.name.ends_with(".sha256") {
                    continue;
                }
                let row = rows.entry(o.name.clone()).or_default();
                row.s3 = Some(S3Copy {
                    key: store.key(&o.name)?,
                    size: o.size,
                    modified: rfc3339(o.last_modified),
                });
            }
        }
        for (file, row) in rows.iter_mut() {
            row.file = file.clone();
            row.name = file.strip_suffix(".zip").unwrap_or(file).to_string();
            row.corrupt_on = row
                .nodes
                .iter()
                .filter(|(_, s)| s.corrupt())
                .map(|(n, _)| n.clone())
                .collect();
            let mut sums = row.nodes.values().map(|s| &s.sha256);
            let first = sums.next();
            row.consistent = row.corrupt_on.is_empty() && sums.all(|s| Some(s) == first);
            row.missing_on = conns
                .iter()
                .map(|c| c.name().to_string())
                .filter(|n| !row.nodes.contains_key(n))
                .collect();
        }
        anyhow::Ok(rows.into_values().collect::<Vec<_>>())
    })?;
    match crate::cli::output_format() {
        OutputFormat::Json => crate::cli::output::print_json(&rows)?,
        OutputFormat::Text => print_table(&rows),
    }
    Ok(0)
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn print_table(rows: &[Row]) {
    if rows.is_empty() {
        println!("No snapshots.");
        return;
    }
    println!(
        "{:<44} {:>12} {:<20} {:<16} {:<12} {:<4} COPIES",
        "NAME", "SIZE", "TIME (UTC)", "SHA256", "NODES", "S3"
    );
    for r in rows {
        let newest = r.nodes.values().max_by_key(|s| s.modified);
        let size = newest
            .map(|s| s.size)
            .or(r.s3.as_ref().map(|s| s.size))
            .unwrap_or_default();
        let when = newest
            .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s.modified).ok())
            .map(rfc3339)
            .or(r.s3.as_ref().map(|s| s.modified.clone()))
            .unwrap_or_default();
        let sha = newest
            .map(|s| s.sha256[..16].to_string())
            .unwrap_or("-".into());
        let copies = if r.nodes.is_empty() {
            "S3 only".to_string()
        } else if !r.corrupt_on.is_empty() {
            format!("CORRUPT on {}", r.corrupt_on.join(", "))
        } else if !r.consistent {
            "DIFFER between nodes".to_string()
        } else if r.missing_on.is_empty() {
            "same bytes everywhere".to_string()
        } else {
            format!("same bytes; missing on {}", r.missing_on.join(", "))
        };
        println!(
            "{:<44} {:>12} {:<20} {:<16} {:<12} {:<4} {}",
            r.name,
            size,
            when.trim_end_matches('Z').replace('T', " "),
            sha,
            format!("{}/{}", r.nodes.len(), r.nodes.len() + r.missing_on.len()),
            if r.s3.is_some() { "yes" } else { "-" },
            copies
        );
    }
}
