//! Collect the report from the connected nodes, reading only.

use super::components::node_components;
use super::etcd::member_statuses;
use super::{EtcdStatus, NodeStatus, Report, Summary, certificate_expiry};
use crate::cluster::desired::DesiredCluster;
use crate::plan::plan_nodes;
use crate::provision::node::observe;
use crate::transport::NodeConnection;

/// A node that could not be connected to.
#[derive(Debug, Clone)]
pub struct ConnectFailure {
    pub node: String,
    /// Its class (`connection`, `docker`, ...).
    pub kind: &'static str,
    pub error: String,
}

/// The report for `desired`'s config, from the nodes in `conns` (the others are listed with
/// their `failures`), reading `limit` nodes at a time. Fails only when the plans cannot be
/// computed (a config the planner refuses): node, Docker and etcd problems are part of the
/// report.
pub async fn gather(
    desired: &DesiredCluster,
    conns: &[NodeConnection],
    failures: &[ConnectFailure],
    limit: usize,
) -> anyhow::Result<Report> {
    let cfg = &desired.cfg;
    let connected = crate::cluster::connected_nodes(cfg, conns);
    let planned = plan_nodes(desired, &connected, &[], false, limit).await?;

    let external = !cfg.services.etcd.external_urls.is_empty();
    let was_set_up = desired
        .applied_config()
        .is_some_and(|c| c.nodes.iter().any(|n| n.is_etcd()));
    let etcd_unknown = !external && was_set_up && planned.members.is_none();
    let bundle = desired.running_bundle();
    let etcd = match &planned.members {
        _ if external => EtcdStatus {
            external: true,
            ..EtcdStatus::default()
        },
        Some(members) => EtcdStatus {
            external: false,
            members: member_statuses(members, &connected, bundle, limit).await,
            error: None,
        },
        None if cfg.nodes.iter().any(|n| n.is_etcd()) => EtcdStatus {
            error: Some(if was_set_up {
                "no etcd member answered (see the etcd containers below and `docker logs etcd` \
                 on the etcd nodes)"
                    .to_string()
            } else {
                "no etcd member answered: the cluster was never brought up".to_string()
            }),
            ..EtcdStatus::default()
        },
        None => EtcdStatus::default(),
    };

    let connected = &connected;
    let nodes = crate::parallel::map(
        cfg.nodes.iter().zip(&planned.plans),
        limit,
        |(node, plan)| async move {
            let mut status = NodeStatus {
                name: node.hostname_override.clone(),
                address: node.address.clone(),
                roles: node.role.clone(),
                reachable: false,
                error: None,
                error_kind: None,
                components: Vec::new(),
            };
            let Some((_, conn)) = connected
                .iter()
                .find(|(n, _)| n.hostname_override == node.hostname_override)
            else {
                if let Some(f) = failures.iter().find(|f| f.node == node.hostname_override) {
                    status.error = Some(f.error.clone());
                    status.error_kind = Some(f.kind);
                }
                return status;
            };
            status.reachable = true;
            match observe(conn).await {
                Ok(seen) => {
                    status.components = node_components(conn, plan, &seen, etcd_unknown).await;
                }
                Err(e) => {
                    status.error = Some(format!("{e:#}"));
                    status.error_kind = Some(crate::error::kind_of(&e).as_str());
                }
            }
            status
        },
    )
    .await;

    let current = &desired.applied.certificates_bundle;
    let certificates = certificate_expiry(
        if current.is_empty() {
            &desired.bundle
        } else {
            current
        },
        time::OffsetDateTime::now_utc(),
    );
    let summary = Summary::of(&nodes, &etcd, &certificates);
    Ok(Report {
        cluster_name: cfg.cluster_name.clone(),
        applied: desired.applied_config().is_some(),
        nodes,
        etcd,
        certificates,
        summary,
    })
}
