//! `rke cert rotate`: renew certificates in the bundle the cluster runs, then converge the
//! cluster with `rke up`'s machinery (the certificate files are part of each container's spec,
//! so exactly the containers reading a changed file are replaced, rolling where the CA stays).
//! After a CA rotation the service-account tokens are regenerated.

use std::collections::BTreeMap;
use std::time::Instant;

use super::ConfigArg;
use super::nodes::{self, ConnectArgs};
use crate::certs::{RotateRequest, RotateService};
use crate::cluster::desired::{self, CertSource, DesiredCluster};
use crate::kube_api::KubeClient;
use crate::provision::node::observe;
use crate::transport::NodeConnection;
use crate::up::{self, Options, Outcome};
use anyhow::Context;
use clap::Args;
use clap::builder::PossibleValuesParser;

#[derive(Debug, Args)]
pub struct RotateArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Rotate only this service's certificates (repeatable). Without it every service
    /// certificate is rotated, except the service-account token key.
    #[arg(long = "service", value_parser = PossibleValuesParser::new(RotateService::NAMES))]
    pub services: Vec<String>,
    /// Rotate all certificates including the CA certificates and the service-account key
    /// (the API is down while every node is restarted).
    #[arg(long)]
    pub rotate_ca: bool,
    /// Seconds components get to become healthy (and nodes to register).
    #[arg(long, default_value_t = 120, value_parser = clap::value_parser!(u64).range(1..))]
    pub health_timeout: u64,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

impl RotateArgs {
    fn request(&self) -> RotateRequest {
        let mut services: Vec<RotateService> = self
            .services
            .iter()
            .filter_map(|s| RotateService::from_name(s))
            .collect();
        services.sort_unstable();
        services.dedup();
        RotateRequest {
            services,
            rotate_ca: self.rotate_ca,
        }
    }
}

/// Container IDs per node, then per container name.
type ContainerIds = BTreeMap<String, BTreeMap<String, String>>;

pub fn run(args: &RotateArgs) -> anyhow::Result<i32> {
    let started = Instant::now();
    let source = CertSource {
        rotate: Some(args.request()),
        ..CertSource::default()
    };
    let desired = desired::load(&args.config.config, &source)?;
    let rotated = desired.cert_changes.names();
    println!("Rotating {} certificate(s):", rotated.len());
    for name in &rotated {
        println!("  {name}");
    }
    if desired.ca_rotated() {
        println!(
            "The CA changes: every node is restarted at once; the API is unavailable until the \
             control plane is back"
        );
    }
    let opts = Options {
        limit: args.connect.limit(),
        health_timeout: std::time::Duration::from_secs(args.health_timeout),
        ..Options::default()
    };
    let restarted = nodes::runtime()?.block_on(converge(&desired, args, &opts))?;
    crate::up::STEPS.before(crate::up::STEPS.names.len())?;
    let mut replaced = 0;
    for (node, names) in &restarted {
        if !names.is_empty() {
            replaced += names.len();
            println!("node {node}: restarted {}", names.join(", "));
        }
    }
    println!(
        "Certificates rotated ({} certificate(s), {replaced} container(s) restarted) in {:.1}s. \
         Kubeconfig: {}",
        rotated.len(),
        started.elapsed().as_secs_f64(),
        desired.kubeconfig_path.display()
    );
    Ok(0)
}

/// Run `rke up` with the rotated bundle; returns, per node, the containers that were replaced.
async fn converge(
    desired: &DesiredCluster,
    args: &RotateArgs,
    opts: &Options,
) -> anyhow::Result<BTreeMap<String, Vec<String>>> {
    crate::interrupt::install("rke cert rotate")?;
    let conns = nodes::connect_or_fail(&desired.cfg, &args.connect).await?;
    let locked = conns.clone();
    crate::lock::while_held(&locked, "rke cert rotate", opts.limit, async move {
        let before = container_ids(&conns, opts.limit).await?;
        let departed = crate::up::phases::connect::departed(desired, &args.connect).await;
        let Outcome::Applied(applied) = up::up(desired, conns, departed, opts).await? else {
            anyhow::bail!("internal: `rke up` without --dry-run made no changes");
        };
        let after = container_ids(&applied.conns, opts.limit).await?;
        if desired.ca_rotated() {
            refresh_tokens(&applied.kube).await?;
        }
        Ok(replaced_containers(&before, &after))
    })
    .await
}

/// Every node's container IDs by name, `limit` nodes read at a time.
async fn container_ids(conns: &[NodeConnection], limit: usize) -> anyhow::Result<ContainerIds> {
    let seen = crate::parallel::try_map(conns, limit, observe).await?;
    Ok(conns
        .iter()
        .zip(seen)
        .map(|(conn, containers)| {
            let ids = containers.into_iter().map(|c| (c.name, c.id)).collect();
            (conn.name().to_string(), ids)
        })
        .collect())
}

/// Containers whose ID changed (or that appeared), per node.
fn replaced_containers(
    before: &ContainerIds,
    after: &ContainerIds,
) -> BTreeMap<String, Vec<String>> {
    after
        .iter()
        .map(|(node, now)| {
            let was = before.get(node);
            let names = now
                .iter()
                .filter(|(name, id)| was.and_then(|w| w.get(*name)) != Some(*id))
                .map(|(name, _)| name.clone())
                .collect();
            (node.clone(), names)
        })
        .collect()
}

/// Tokens signed with the old service-account key are refused now: delete them and the pods
/// that use them, through the API server `rke up` finished with.
async fn refresh_tokens(kube: &KubeClient) -> anyhow::Result<()> {
    let done = kube
        .refresh_service_account_tokens()
        .await
        .context("regenerating service-account tokens")?;
    println!(
        "Service-account tokens: {} token Secret(s) and {} pod(s) deleted to be recreated with \
         the new key",
        done.secrets_deleted.len(),
        done.pods_deleted.len()
    );
    for pod in &done.pods_deleted {
        tracing::info!("deleted pod {pod}: its controller recreates it");
    }
    if !done.bare_pods.is_empty() {
        tracing::warn!(
            "these pods use a service-account token signed with the old key and have no \
             controller to recreate them; recreate them yourself: {}",
            done.bare_pods.join(", ")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(v: &[(&str, &[(&str, &str)])]) -> ContainerIds {
        v.iter()
            .map(|(n, cs)| {
                (
                    n.to_string(),
                    cs.iter()
                        .map(|(a, b)| (a.to_string(), b.to_string()))
                        .collect(),
                )
            })
            .collect()
    }

    #[test]
    fn replaced_containers_are_those_with_a_new_id() {
        let before = ids(&[("node1", &[("kube-apiserver", "a"), ("kubelet", "b")])]);
        let after = ids(&[
            ("node1", &[("kube-apiserver", "a2"), ("kubelet", "b")]),
            ("node2", &[("kubelet", "c")]),
        ]);
        let r = replaced_containers(&before, &after);
        assert_eq!(r["node1"], ["kube-apiserver"]);
        assert_eq!(r["node2"], ["kubelet"]);
    }

    #[test]
    fn services_are_deduplicated_in_a_stable_order() {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            args: RotateArgs,
        }
        let cli = Cli::try_parse_from([
            "rke",
            "--service",
            "etcd",
            "--service",
            "kubelet",
            "--service",
            "etcd",
        ])
        .unwrap();
        assert_eq!(
            cli.args.request().services,
            [RotateService::Kubelet, RotateService::Etcd]
        );
        let err = Cli::try_parse_from(["rke", "--service", "kube-admin"])
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("kube-apiserver") && err.contains("etcd"),
            "{err}"
        );
    }
}
