//! `rke etcd snapshot-save`: one snapshot, stored on every etcd node (and in S3 with `--s3`).

use clap::Args;

use super::{cluster_bundle, connect_etcd, ensure_images, etcd_hosts, load_cluster};
use crate::cli::nodes::{self, ConnectArgs};
use crate::cli::{ConfigArg, OutputFormat};
use crate::snapshot::naming::{check_name, one_off_name};
use crate::snapshot::s3::{self, S3Args};
use crate::snapshot::save;

#[derive(Debug, Args)]
pub struct SaveArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Snapshot name, without .zip (default: rke_etcd_snapshot_<time>).
    #[arg(long)]
    pub name: Option<String>,
    #[command(flatten)]
    pub s3: S3Args,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

pub fn run(args: &SaveArgs) -> anyhow::Result<i32> {
    let loaded = load_cluster(&args.config.config)?;
    let name = match &args.name {
        Some(n) => {
            let checked = check_name(n)?;
            if let Some(w) = &checked.warning {
                tracing::warn!("{w}");
            }
            checked.name
        }
        None => {
            let n = one_off_name(time::OffsetDateTime::now_utc());
            tracing::warn!("no --name given: the snapshot is named {n}");
            n
        }
    };
    let bundle = cluster_bundle(&loaded)?;
    let settings = s3::settings(&args.s3, &loaded.cfg)?;
    let helper = loaded.cfg.system_images.alpine.clone();
    /// Where Ctrl-C or SIGTERM may stop a save (the save itself always finishes).
    const SAVE_STEPS: crate::interrupt::Steps = crate::interrupt::Steps {
        names: &["helper image", "snapshot save"],
    };
    let saved = nodes::runtime()?.block_on(async {
        crate::interrupt::install("rke etcd snapshot-save")?;
        let conns = connect_etcd(&loaded.cfg, &args.connect).await?;
        let limit = args.connect.limit();
        crate::lock::while_held(&conns, "rke etcd snapshot-save", limit, async {
            SAVE_STEPS.before(0)?;
            ensure_images(&loaded.cfg, &conns, &[&helper], limit).await?;
            SAVE_STEPS.before(1)?;
            let hosts = etcd_hosts(&loaded.cfg, &conns);
            let saving = save::save(
                &hosts,
                bundle,
                &name,
                loaded.state_bytes.as_deref(),
                settings.as_ref(),
                &helper,
                limit,
            );
            crate::events::phase("snapshot-save", hosts.len(), saving).await
        })
        .await
    })?;
    crate::events::report::add_changed("snapshots_saved", 1);
    SAVE_STEPS.before(SAVE_STEPS.names.len())?;
    match crate::cli::output_format() {
        OutputFormat::Json => crate::cli::output::print_json(&saved)?,
        OutputFormat::Text => println!(
            "Snapshot {} saved in {:.1}s: {} bytes (etcd database {} bytes), sha256 {}, from \
             {}, on {}{}",
            saved.name,
            saved.seconds,
            saved.archive_size,
            saved.db_size,
            saved.sha256,
            saved.taken_from,
            saved.nodes.join(", "),
            saved
                .s3_key
                .as_ref()
                .map(|k| format!(", and in S3 as {k}"))
                .unwrap_or_default()
        ),
    }
    Ok(0)
}
