//! The reading half of planning, and the only part that talks to the nodes: host facts and,
//! unless etcd is external, the etcd members and how each etcd container runs.

use std::collections::BTreeMap;

use super::facts::host_facts;
use super::membership;
use super::{Departed, Observed};
use crate::certs::CertBundle;
use crate::cluster::desired::DesiredCluster;
use crate::config::RkeConfigNode;
use crate::error::{ErrorKind, classified};
use crate::etcd::{EtcdClient, EtcdTls, Member};
use crate::provision::spec::{EtcdMembership, names};
use crate::transport::NodeConnection;

/// The reading half of [`super::plan_nodes`].
pub async fn observe(
    desired: &DesiredCluster,
    nodes: &[(&RkeConfigNode, &NodeConnection)],
    departed: &[Departed],
    require_members: bool,
    limit: usize,
) -> anyhow::Result<Observed> {
    let cfg = &desired.cfg;
    let facts = crate::parallel::map(nodes, limit, |(_, c)| host_facts(c)).await;
    let hosts: BTreeMap<String, _> = nodes
        .iter()
        .map(|(n, _)| n.address.clone())
        .zip(facts)
        .collect();
    if !cfg.services.etcd.external_urls.is_empty() {
        return Ok(Observed { hosts, etcd: None });
    }
    let mut candidates: Vec<(&RkeConfigNode, &NodeConnection)> = nodes.to_vec();
    candidates.sort_by_key(|(n, _)| !n.is_etcd());
    candidates.extend(
        departed
            .iter()
            .filter_map(|d| d.conn.as_ref().map(|c| (&d.cfg, c))),
    );
    let was_set_up = desired
        .applied_config()
        .is_some_and(|c| c.nodes.iter().any(|n| n.is_etcd()));
    // Before anything is replaced the members still present the running certificates.
    let view = discover(
        &candidates,
        desired.running_bundle(),
        was_set_up && require_members,
    )
    .await?;
    Ok(Observed {
        hosts,
        etcd: Some(view),
    })
}

/// What the nodes say about etcd before anything changes.
#[derive(Debug, Clone, Default)]
pub struct EtcdView {
    /// The member list, when a member answered.
    pub members: Option<Vec<Member>>,
    /// Per node (`hostname_override`), the membership flags its etcd container runs with.
    pub running: BTreeMap<String, EtcdMembership>,
}

/// Read the etcd containers' flags and ask the first running member (config nodes first, then
/// departing ones) for the member list. `require_members`: the cluster was set up before, so
/// a member must answer.
pub async fn discover(
    candidates: &[(&RkeConfigNode, &NodeConnection)],
    bundle: &CertBundle,
    require_members: bool,
) -> anyhow::Result<EtcdView> {
    let mut view = EtcdView::default();
    let mut asked = Vec::new();
    for (cfg, conn) in candidates {
        let Some((args, running)) = etcd_container(conn).await? else {
            continue;
        };
        if let Some(m) = membership::from_args(&args) {
            view.running.insert(cfg.hostname_override.clone(), m);
        }
        if !running || view.members.is_some() {
            continue;
        }
        let tls = EtcdTls::from_bundle(bundle)?;
        match EtcdClient::connect(conn, cfg.effective_internal_address(), tls).await {
            Ok(client) => match client.members().await {
                Ok(m) => view.members = Some(m),
                Err(e) => asked.push(format!("{e:#}")),
            },
            Err(e) => asked.push(format!("{e:#}")),
        }
    }
    if require_members && view.members.is_none() {
        return Err(classified(
            ErrorKind::Etcd,
            format!(
                "no etcd member answered, so the membership cannot be reconciled{}. Check the \
                 etcd containers (docker logs etcd on the etcd nodes); if every member is lost, \
                 restore from a snapshot",
                if asked.is_empty() {
                    " (no etcd container runs on any etcd node)".to_string()
                } else {
                    format!(": {}", asked.join("; "))
                }
            ),
        ));
    }
    Ok(view)
}

/// The `etcd` container's arguments and whether it runs; `None` when there is none.
async fn etcd_container(conn: &NodeConnection) -> anyhow::Result<Option<(Vec<String>, bool)>> {
    match conn.docker().inspect_container(names::ETCD, None).await {
        Ok(c) => {
            let args = c.config.and_then(|cfg| cfg.cmd).unwrap_or_default();
            let running = c.state.and_then(|s| s.running).unwrap_or(false);
            Ok(Some((args, running)))
        }
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(None),
        Err(e) => Err(classified(
            ErrorKind::Docker,
            format!("node {}: inspecting etcd: {e}", conn.name()),
        )),
    }
}
