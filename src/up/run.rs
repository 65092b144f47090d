//! The order of `rke up` once the nodes are connected (RKE1's `ClusterUp`): host facts, etcd
//! membership, plans; then images and files on every node, the etcd plane, the control
//! plane, the API objects, the worker plane, departed nodes, Node metadata, and last the
//! state. `currentState` is only advanced when everything succeeded, so a failed run is
//! simply run again.

use std::time::Duration;

use anyhow::Context;

use super::etcd_guard::EtcdChange;
use super::etcd_plane::EtcdPlane;
use super::metadata::{self, NodeMetadataChange};
use super::node::{Node, empty_dirs};
use super::planes::{self, PlaneCtx};
use super::rollout::Rollout;
use super::{Departed, dry_run, kube_step, parallel, plan, snapshot_agent};
use crate::addons::AddonChange;
use crate::cluster::desired::DesiredCluster;
use crate::config::{RkeConfig, RkeConfigNode};
use crate::error::{ErrorKind, classified};
use crate::events::{phase, step};
use crate::interrupt::Steps;
use crate::kube_api::{DrainOptions, KubeClient};
use crate::provision::node::{etcd_cleanup_dirs, host_cleanup_dirs, remove_containers};
use crate::provision::spec::{Plane, names};
use crate::transport::NodeConnection;

/// The steps of `rke up` that change nodes, in order: a SIGINT or SIGTERM stops the run
/// between two of them (or between two nodes of a rolling one) and names them.
pub const STEPS: Steps = Steps {
    names: &[
        "images and files",
        "etcd plane",
        "control plane",
        "API access",
        "worker plane",
        "departed nodes and Node metadata",
        "addons and state",
    ],
};

/// How `rke up` runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Report what would change and change nothing.
    pub dry_run: bool,
    /// RKE1's `--update-only`: leave existing etcd and control-plane containers alone and only
    /// bring up worker components on nodes new to the cluster.
    pub update_only: bool,
    /// Nodes worked on at once.
    pub limit: usize,
    /// How long components get to become healthy, and nodes to register.
    pub health_timeout: Duration,
    /// After a snapshot restore: delete Node objects the config does not list.
    pub delete_unlisted_nodes: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            dry_run: false,
            update_only: false,
            limit: 50,
            health_timeout: Duration::from_secs(120),
            delete_unlisted_nodes: false,
        }
    }
}

/// How a run ended.
#[derive(Debug)]
pub enum Outcome {
    /// The cluster now matches `cluster.yml`.
    Applied(Box<Applied>),
    /// `--dry-run`: this many changes would be made, among them these of addons and Node
    /// metadata (listed in the JSON report).
    DryRun {
        changes: usize,
        addons: Vec<AddonChange>,
        node_metadata: Vec<NodeMetadataChange>,
    },
}

/// What a successful run hands back, so a caller can go on without connecting again.
#[derive(Debug)]
pub struct Applied {
    /// The connections `up` was given, one per node of the config.
    pub conns: Vec<NodeConnection>,
    /// The API client `up` used (it answered at the end of the run).
    pub kube: KubeClient,
}

/// Bring the cluster to `prepared`'s config. `conns` must hold a connection for every node of
/// the config; `departed` are the nodes the last applied config had and this one has not.
pub async fn up(
    prepared: &DesiredCluster,
    conns: Vec<NodeConnection>,
    departed: Vec<Departed>,
    opts: &Options,
) -> anyhow::Result<Outcome> {
    let cfg = &prepared.cfg;
    let matched = match_connections(cfg, conns)?;
    let etcd_external = !cfg.services.etcd.external_urls.is_empty();
    let planned = {
        let refs: Vec<(&RkeConfigNode, &NodeConnection)> =
            matched.iter().map(|(n, c)| (n, c)).collect();
        plan::plan_nodes(prepared, &refs, &departed, true).await?
    };
    let plan::Planned {
        plans,
        etcd: etcd_plan,
        members: live_members,
        agent_binary,
    } = planned;
    let nodes: Vec<Node> = matched
        .into_iter()
        .zip(plans)
        .map(|((cfg, conn), plan)| Node { cfg, conn, plan })
        .collect();
    let helper_image = cfg.system_images.alpine.as_str();

    // Addons are rendered (and includes read) before anything changes, so their errors stop
    // the run early; includes are relative to cluster.yml's directory (the state file's).
    let config_dir = prepared
        .state_path
        .parent()
        .unwrap_or(std::path::Path::new("."));
    let addons = crate::addons::desired(cfg, config_dir)
        .await
        .context("addons")?;
    if opts.dry_run {
        // The API of a cluster already up says which addons keep RKE1's objects.
        let kube = match prepared.applied_config() {
            Some(_) => kube_step::connect(&nodes, &prepared.bundle, Duration::from_secs(10))
                .await
                .inspect_err(|e| tracing::warn!("addons not compared with the cluster: {e:#}"))
                .ok(),
            None => None,
        };
        let addon_changes =
            crate::addons::plan_addons(kube.as_ref(), &addons, prepared.addons_baseline()).await?;
        let node_metadata = metadata::plan(kube.as_ref(), cfg, prepared.applied_config()).await?;
        let changes = dry_run::report(
            &nodes,
            &departed,
            &etcd_plan,
            helper_image,
            agent_binary.as_ref(),
            cfg.upgrade_strategy
                .as_ref()
                .and_then(DrainOptions::from_strategy)
                .is_some(),
            dry_run::ApiChanges {
                node_metadata: &node_metadata,
                addons: &addon_changes,
            },
        )
        .await?;
        return Ok(Outcome::DryRun {
            changes,
            addons: addon_changes,
            node_metadata,
        });
    }

    // Refuse a roll into a quorum loss before any node is touched.
    if !etcd_external {
        let change = EtcdChange {
            nodes: &nodes,
            departed: &departed,
            plan: &etcd_plan,
            members: live_members.as_deref(),
            running_bundle: prepared.running_bundle(),
            update_only: opts.update_only
                && prepared.applied_config().is_some()
                && !etcd_plan.changes_membership(),
            all_at_once: prepared.ca_rotated(),
        };
        change.check().await?;
    }
    STEPS.before(0)?;
    prepared.write_desired()?;
    let registries = cfg.private_registries.as_slice();
    let always_pull = cfg.services.kube_api.always_pull_images;
    let agent_binary = agent_binary.as_ref();
    let uploaded = std::sync::Mutex::new(Vec::new());
    let prepare_nodes = parallel::for_each(&nodes, opts.limit, |node| {
        let uploaded = &uploaded;
        async move {
            let name = node.name();
            step(name, "images", async {
                node.ensure_images(helper_image, registries, always_pull)
                    .await
                    .context("images")
            })
            .await?;
            step(name, "files", async {
                if snapshot_agent::ensure_binary(node, agent_binary, helper_image).await? {
                    uploaded
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(name.to_string());
                }
                node.upload_files(helper_image).await.context("files")?;
                anyhow::Ok(())
            })
            .await
        }
    });
    phase("prepare", nodes.len(), prepare_nodes).await?;
    STEPS.before(1)?;
    let uploaded = uploaded.into_inner().unwrap_or_else(|e| e.into_inner());
    let uploaded = &uploaded;

    let ctx = PlaneCtx {
        bundle: &prepared.bundle,
        registries,
        limit: opts.limit,
        health_timeout: opts.health_timeout,
    };
    let new_cluster = prepared.applied_config().is_none();
    let update_only = opts.update_only && !new_cluster && !etcd_plan.changes_membership();
    if opts.update_only && !update_only {
        tracing::info!("--update-only ignored: the cluster is new or its etcd membership changes");
    }
    let etcd = EtcdPlane {
        nodes: &nodes,
        departed: &departed,
        plan: &etcd_plan,
        ctx: &ctx,
        prefix_path: &cfg.prefix_path,
        helper_image,
        update_only,
        all_at_once: prepared.ca_rotated(),
    };
    let etcd_members = nodes.iter().filter(|n| n.cfg.is_etcd()).count();
    if etcd_external {
        crate::events::skipped("etcd", "external etcd");
    } else {
        phase("etcd", etcd_members, etcd.run())
            .await
            .map_err(|e| STEPS.within(1, e))?;
    }
    tracing::info!("etcd plane ready");
    parallel::for_each(&nodes, opts.limit, |node| async move {
        snapshot_agent::check_started(node).await;
        if let Some(binary) = agent_binary
            && uploaded.iter().any(|n| n == node.name())
        {
            snapshot_agent::prune_old(node, binary, helper_image).await;
        }
        Ok(())
    })
    .await?;

    let mut strategy = cfg.upgrade_strategy.clone().unwrap_or_default();
    if prepared.ca_rotated() {
        restart_all_at_once(&mut strategy);
    }
    STEPS.before(2)?;
    if !update_only {
        let control: Vec<&Node> = nodes.iter().filter(|n| n.cfg.is_controlplane()).collect();
        let batch = planes::batch_size(&strategy.max_unavailable_controlplane, control.len());
        let converge = planes::converge(&control, Plane::ControlPlane, batch, &ctx);
        phase("controlplane", control.len(), converge)
            .await
            .map_err(|e| STEPS.within(2, e))?;
    } else {
        crate::events::skipped("controlplane", "--update-only");
    }
    STEPS.before(3)?;
    etcd.remove_members().await?;
    let kube = kube_step::connect(&nodes, &prepared.bundle, opts.health_timeout)
        .await
        .context("control plane")?;
    kube.apply_authz().await?;
    tracing::info!("control plane ready");

    STEPS.before(4)?;
    let workers: Vec<&Node> = nodes
        .iter()
        .filter(|n| !update_only || !was_applied(prepared.applied_config(), n))
        .collect();
    let rollout = Rollout {
        kube: &kube,
        ctx: &ctx,
        batch: planes::batch_size(&strategy.max_unavailable_worker, workers.len()),
        drain: DrainOptions::from_strategy(&strategy),
    };
    phase("worker", workers.len(), rollout.run(&workers))
        .await
        .map_err(|e| STEPS.within(4, e))?;
    parallel::for_each(&nodes, opts.limit, |node| async move {
        let actions = node.unplanned_actions().await?;
        node.apply(&actions, registries).await
    })
    .await
    .context("removing components of roles nodes no longer have")?;
    tracing::info!("worker plane ready");

    STEPS.before(5)?;
    kube_step::delete_departed(&kube, &departed).await?;
    if opts.delete_unlisted_nodes {
        kube_step::delete_unlisted(&kube, cfg).await?;
    }
    for d in &departed {
        clean_departed(d, cfg, etcd_external).await;
    }
    kube_step::sync_metadata(&kube, cfg, prepared.applied_config(), opts.health_timeout).await?;

    STEPS.before(6)?;
    // ---- Addons (RKE1's ConfigureCluster): network plugin, DNS, metrics-server, ingress,
    // user addons. Also with --update-only, as RKE1.
    let deploy = crate::addons::deploy(
        &kube,
        &addons,
        prepared.addons_baseline(),
        crate::addons::addon_timeout(cfg),
    );
    phase("addons", 0, async { deploy.await.context("addons") }).await?;
    // ---- end of addons

    prepared.write_applied()?;
    kube.save_state(&prepared.applied_state().to_compact_string()?)
        .await
        .context("saving the state in the cluster")?;
    Ok(Outcome::Applied(Box::new(Applied {
        conns: nodes.into_iter().map(|n| n.conn).collect(),
        kube,
    })))
}

/// Pair every node of the config with its connection (by `hostname_override`).
fn match_connections(
    cfg: &RkeConfig,
    mut conns: Vec<NodeConnection>,
) -> anyhow::Result<Vec<(RkeConfigNode, NodeConnection)>> {
    cfg.nodes
        .iter()
        .map(|node| {
            let i = conns
                .iter()
                .position(|c| c.name() == node.hostname_override)
                .ok_or_else(|| {
                    classified(
                        ErrorKind::Connection,
                        format!("node {}: not connected", node.hostname_override),
                    )
                })?;
            Ok((node.clone(), conns.swap_remove(i)))
        })
        .collect()
}

/// A new CA cannot roll: nodes signed by the old and the new CA do not trust each other, so
/// every plane is replaced at once (the API is down meanwhile, as with RKE1).
fn restart_all_at_once(strategy: &mut crate::config::NodeUpgradeStrategy) {
    tracing::info!("the CA changes: every plane is replaced at once, not rolled");
    strategy.max_unavailable_controlplane = "100%".to_string();
    strategy.max_unavailable_worker = "100%".to_string();
}

fn was_applied(applied: Option<&RkeConfig>, node: &Node) -> bool {
    applied.is_some_and(|c| c.nodes.iter().any(|o| o.address == node.cfg.address))
}

/// Remove everything rke put on a node that left the cluster. Failures only warn (as in
/// RKE1): the node is already out of the cluster, and a later `rke remove` can finish it.
async fn clean_departed(d: &Departed, cfg: &RkeConfig, etcd_external: bool) {
    let name = &d.cfg.hostname_override;
    let Some(conn) = &d.conn else {
        tracing::warn!(node = %name, "not reachable: its containers and files stay on it");
        return;
    };
    let helper = cfg.system_images.alpine.as_str();
    let mut containers: Vec<&str> = crate::provision::spec::names::MANAGED_CONTAINERS.to_vec();
    containers.push(names::ETCD);
    let mut dirs = host_cleanup_dirs(&cfg.prefix_path);
    if d.cfg.is_etcd() && !etcd_external {
        dirs.extend(etcd_cleanup_dirs(&cfg.prefix_path));
    }
    let result = async {
        remove_containers(conn, &containers).await?;
        empty_dirs(conn, &dirs, helper, &cfg.private_registries).await
    }
    .await;
    match result {
        Ok(()) => tracing::info!(node = %name, "containers removed and directories emptied"),
        Err(e) => tracing::warn!(node = %name, "cleaning up after removal failed: {e:#}"),
    }
}
