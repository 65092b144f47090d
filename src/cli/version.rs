//! `rke version`: this binary's version and, when the admin kubeconfig of `--config` exists,
//! the cluster's Kubernetes version (RKE1 printed only the latter, from the same kubeconfig).

use clap::Args;

use super::ConfigArg;
use super::{local_kube, nodes};
use crate::events::report;
use crate::paths;

#[derive(Debug, Args)]
pub struct VersionArgs {
    #[command(flatten)]
    pub config: ConfigArg,
}

pub fn run(args: &VersionArgs) -> anyhow::Result<i32> {
    println!("rke version v{}", env!("CARGO_PKG_VERSION"));
    let kubeconfig = paths::admin_kubeconfig(&args.config.config);
    if !kubeconfig.exists() {
        eprintln!(
            "no admin kubeconfig at {}: no server version to show (run `rke up` first)",
            kubeconfig.display()
        );
        report::set_data(data(None));
        return Ok(0);
    }
    let version = nodes::runtime()?.block_on(local_kube::server_version(&kubeconfig))?;
    println!("Server Version: {version}");
    report::set_data(data(Some(&version)));
    Ok(0)
}

/// The result's `data` under `--output json`.
fn data(server_version: Option<&str>) -> serde_json::Value {
    serde_json::json!({
        "rke_version": env!("CARGO_PKG_VERSION"),
        "server_version": server_version,
    })
}
