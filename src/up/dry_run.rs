//! `rke up --dry-run`: what a run would do, per node, without changing anything. The exit code
//! (0 nothing pending, 2 changes pending) lets CI gate on it.

use super::Departed;
use super::membership::MembershipPlan;
use super::metadata::NodeMetadataChange;
use super::node::Node;
use super::planes::is_disruptive;
use super::snapshot_agent;
use crate::addons::AddonChange;
use crate::provision::node::{Action, explain_replace, stale_paths};
use crate::provision::spec::Plane;
use crate::snapshot::agent::LocalBinary;

/// The changes planned through the cluster's API: Node metadata and addon objects.
pub struct ApiChanges<'a> {
    pub node_metadata: &'a [NodeMetadataChange],
    pub addons: &'a [AddonChange],
}

/// Print the report on stdout (Node metadata changes with their node, addon changes last);
/// returns the number of pending changes.
pub async fn report(
    nodes: &[Node],
    departed: &[Departed],
    etcd: &MembershipPlan,
    helper_image: &str,
    agent_binary: Option<&LocalBinary>,
    drain: bool,
    api: ApiChanges<'_>,
) -> anyhow::Result<usize> {
    let ApiChanges {
        node_metadata,
        addons,
    } = api;
    let mut total = 0;
    if etcd.fresh && nodes.iter().any(|n| n.cfg.is_etcd()) {
        let names: Vec<&str> = nodes
            .iter()
            .filter(|n| n.cfg.is_etcd())
            .map(|n| n.name())
            .collect();
        println!("etcd: new cluster with members {}", names.join(", "));
    }
    for m in &etcd.remove {
        println!("etcd: remove member {} ({})", m.name, m.peer_urls.join(" "));
        total += 1;
    }
    for a in &etcd.add {
        println!("etcd: add member {} ({})", a.name, a.peer_url());
        total += 1;
    }
    for node in nodes {
        let mut lines = node_changes(node, helper_image, drain).await?;
        lines.extend(snapshot_agent::dry_run_line(node, agent_binary, helper_image).await);
        let on_node = node_metadata.iter().filter(|c| c.node == node.name());
        lines.extend(on_node.map(NodeMetadataChange::what));
        if lines.is_empty() {
            println!("{} ({}): no changes", node.name(), node.cfg.address);
        } else {
            println!("{} ({}):", node.name(), node.cfg.address);
            for line in &lines {
                println!("  {line}");
            }
        }
        total += lines.len();
    }
    for d in departed {
        println!(
            "{} ({}): leaves the cluster: cordon and delete its Node, remove its containers, \
             empty its directories{}",
            d.cfg.hostname_override,
            d.cfg.address,
            if d.conn.is_some() {
                ""
            } else {
                " (not reachable: only the Kubernetes side will be done)"
            }
        );
        total += 1;
    }
    for change in addons {
        println!("{change}");
    }
    total += addons.len();
    if total == 0 {
        println!("Dry run: no changes");
    } else {
        println!("Dry run: {total} change(s) pending");
    }
    Ok(total)
}

/// One line per change on the node: files to write, then containers by plane.
async fn node_changes(node: &Node, helper_image: &str, drain: bool) -> anyhow::Result<Vec<String>> {
    let mut lines = Vec::new();
    match stale_paths(&node.conn, &node.plan.files, &node.plan.dirs, helper_image).await {
        Ok(paths) => lines.extend(paths.into_iter().map(|p| format!("write {p}"))),
        Err(e) => lines.push(format!(
            "write all {} files and {} directories (cannot compare with the node: {e:#})",
            node.plan.files.len(),
            node.plan.dirs.len()
        )),
    }
    for plane in [Plane::Etcd, Plane::ControlPlane, Plane::Worker] {
        let actions = node.plane_actions(plane).await?;
        if plane == Plane::Worker && node.cfg.is_worker() && is_disruptive(&actions) {
            lines.push(take_out_line(drain).to_string());
        }
        for action in actions {
            lines.extend(describe(node, &action).await?);
        }
    }
    for action in node.unplanned_actions().await? {
        lines.extend(describe(node, &action).await?);
    }
    Ok(lines)
}

/// How a worker node is taken out of service while its worker components are replaced.
fn take_out_line(drain: bool) -> &'static str {
    if drain {
        "cordon and drain while its worker components are replaced, then uncordon"
    } else {
        "cordon while its worker components are replaced, then uncordon"
    }
}

async fn describe(node: &Node, action: &Action) -> anyhow::Result<Option<String>> {
    Ok(match action {
        Action::Leave { .. } => None,
        Action::Create(spec) => Some(format!("create {} ({})", spec.name, spec.image)),
        Action::Start { name, .. } => Some(format!("start {name} (exists, stopped)")),
        Action::Remove { name, .. } => Some(format!("remove {name}")),
        Action::Replace { spec, old_id, .. } => {
            let fields = explain_replace(&node.conn, spec, old_id).await?;
            Some(format!("replace {}: {}", spec.name, fields.join("; ")))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_take_out_line_says_whether_the_node_is_drained() {
        assert!(take_out_line(true).starts_with("cordon and drain"));
        assert!(!take_out_line(false).contains("drain"));
    }
}
