//! `rke etcd snapshot-restore --rollback`: connect and lock, undo an interrupted restore
//! ([`crate::snapshot::restore::workflow::roll_back_restore`]), print what was put back.

use std::time::Instant;

use super::load_cluster;
use super::restore::RestoreArgs;
use crate::cli::nodes;
use crate::events::report;
use crate::snapshot::restore::workflow;

pub fn run(args: &RestoreArgs) -> anyhow::Result<i32> {
    let started = Instant::now();
    let config_path = &args.config.config;
    let loaded = load_cluster(config_path)?;
    let cfg = &loaded.cfg;
    let certs = args.certs.source();
    let local = loaded.local(config_path, &certs);
    let settings = args.up_settings();
    let (snapshot, put_back) = nodes::runtime()?.block_on(async {
        let conns = nodes::connect_or_fail(cfg, &args.connect).await?;
        let locked = conns.clone();
        let rolling = workflow::roll_back_restore(&local, &conns, &settings);
        let command = "rke etcd snapshot-restore --rollback";
        crate::lock::while_held(&locked, command, settings.limit, rolling).await
    })?;
    let kubeconfig = crate::paths::admin_kubeconfig(config_path);
    report::set_kubeconfig(&kubeconfig);
    report::set_data(serde_json::json!({
        "snapshot": snapshot,
        "outcome": "rolled_back",
        "data_put_back_on": put_back,
    }));
    let nodes = if put_back.is_empty() {
        "no member's data had been replaced yet".to_string()
    } else {
        format!("the data from before it is back on {}", put_back.join(", "))
    };
    println!(
        "Rolled back the interrupted restore of snapshot {snapshot} in {:.1}s: {nodes}. \
         Kubeconfig: {}",
        started.elapsed().as_secs_f64(),
        kubeconfig.display()
    );
    Ok(0)
}
