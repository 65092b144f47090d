//! `rke remove`: confirm, connect to every node, take the cluster off each reachable one
//! (see [`crate::remove`]), report per node, and delete the local kubeconfig and state file
//! only when every node was cleaned (or with `--force`).

use std::io::{BufRead, IsTerminal, Write};

use clap::Args;
use serde_json::json;

use super::ConfigArg;
use super::nodes::{self, ConnectArgs};
use crate::config::load;
use crate::error::{ErrorKind, classified, display_chain, kind_of};
use crate::events;
use crate::remove::{self, Options, local};

const PROMPT: &str = "Are you sure you want to remove Kubernetes cluster [y/N]: ";

#[derive(Debug, Args)]
pub struct RemoveArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Do not ask for confirmation; delete the local kubeconfig and state file even when
    /// some nodes could not be cleaned.
    #[arg(long)]
    pub force: bool,
    /// Also delete the local etcd snapshots on the nodes (/opt/rke/etcd-snapshots).
    #[arg(long)]
    pub remove_snapshots: bool,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// Where Ctrl-C or SIGTERM may stop `rke remove`: the nodes are cleaned in parallel, so a
/// stop lets that finish and keeps the local files.
const REMOVE_STEPS: crate::interrupt::Steps = crate::interrupt::Steps {
    names: &[
        "clean the nodes",
        "delete the local kubeconfig and state file",
    ],
};

pub fn run(args: &RemoveArgs) -> anyhow::Result<i32> {
    let config_path = &args.config.config;
    let cfg = load::load_valid(config_path)?.config;
    if !args.force {
        confirm()?;
    }
    let mut connect = args.connect.clone();
    // The engines are only cleaned: their version does not matter.
    connect.ignore_docker_version = true;
    let opts = Options {
        remove_snapshots: args.remove_snapshots,
        limit: args.connect.limit(),
    };
    let (conn_errors, reports) = nodes::runtime()?.block_on(async {
        crate::interrupt::install("rke remove")?;
        let connected = nodes::connect(&cfg, &connect).await;
        let reports = crate::lock::while_held(&connected.nodes, "rke remove", opts.limit, async {
            REMOVE_STEPS.before(0)?;
            let reports = remove::remove_nodes(&cfg, &connected.nodes, opts).await;
            // The nodes were cleaned (the step in flight finishes); the local files stay.
            REMOVE_STEPS.before(1)?;
            Ok(reports)
        })
        .await?;
        anyhow::Ok((connected.errors, reports))
    })?;

    // One line per node, in cluster.yml order; the first failure's class ends the run.
    let mut not_cleaned = Vec::new();
    let mut first_kind = None;
    let mut json_nodes = Vec::new();
    for node in &cfg.nodes {
        let name = &node.hostname_override;
        if let Some(e) = conn_errors.iter().find(|e| &e.node() == name) {
            println!("node {name}: not reachable: {e}");
            first_kind.get_or_insert(e.kind());
            not_cleaned.push(name.clone());
            events::report::add_error(e.kind(), Some(name), Some("connect"), &e.to_string());
            json_nodes.push(json!({"node": name, "cleaned": false, "error": e.to_string()}));
        } else if let Some(r) = reports.iter().find(|r| &r.node == name) {
            match &r.result {
                Ok(done) => {
                    println!("node {name}: {}", done.summary());
                    events::report::add_changed("nodes_cleaned", 1);
                    events::report::add_changed("containers_removed", done.containers.len() as u64);
                    events::report::add_changed("dirs_emptied", done.dirs.len() as u64);
                    json_nodes.push(json!({"node": name, "cleaned": true,
                        "containers": done.containers, "dirs": done.dirs,
                        "unmounted": done.unmounted}));
                }
                Err(e) => {
                    let message = display_chain(e);
                    println!("node {name}: error: {message}");
                    first_kind.get_or_insert(kind_of(e));
                    not_cleaned.push(name.clone());
                    events::report::add_error(kind_of(e), Some(name), Some("remove"), &message);
                    json_nodes.push(json!({"node": name, "cleaned": false, "error": message}));
                }
            }
        }
    }

    let total = cfg.nodes.len();
    let cleaned = total - not_cleaned.len();
    let decision = local::decide(&not_cleaned, args.force);
    events::report::set_data(json!({
        "nodes": json_nodes,
        "local_files_deleted": !matches!(decision, local::LocalFiles::Keep(_)),
    }));
    match decision {
        local::LocalFiles::Delete => {
            local::delete_files(config_path)?;
            println!(
                "Cluster removed: {cleaned} of {total} nodes cleaned; admin kubeconfig and state file deleted"
            );
        }
        local::LocalFiles::DeleteDespite(nodes) => {
            local::delete_files(config_path)?;
            println!(
                "Cluster removed with --force: {cleaned} of {total} nodes cleaned; admin kubeconfig and state file deleted; NOT cleaned: {}",
                nodes.join(", ")
            );
        }
        local::LocalFiles::Keep(nodes) => {
            println!(
                "Cluster partly removed: {cleaned} of {total} nodes cleaned; admin kubeconfig and state file kept so a re-run can finish: {}",
                nodes.join(", ")
            );
        }
    }
    match first_kind {
        None => Ok(0),
        Some(kind) => Err(classified(
            kind,
            format!("not cleaned: {}", not_cleaned.join(", ")),
        )),
    }
}

/// Ask on stderr; a non-terminal stdin never waits for an answer that cannot come.
fn confirm() -> anyhow::Result<()> {
    if !std::io::stdin().is_terminal() {
        return Err(classified(
            ErrorKind::UserAbort,
            "stdin is not a terminal, so removal cannot be confirmed: pass --force to remove the cluster without confirmation",
        ));
    }
    let mut stderr = std::io::stderr();
    write!(stderr, "{PROMPT}")?;
    stderr.flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if local::confirmed(&answer) {
        Ok(())
    } else {
        Err(classified(
            ErrorKind::UserAbort,
            "removal not confirmed; nothing was changed",
        ))
    }
}
