//! The worker plane's rolling upgrade (RKE1's `UpgradeWorkerPlaneForWorkerAndEtcdNodes`):
//! nodes that only need new containers go at once; nodes whose kubelet, kube-proxy or
//! nginx-proxy must be replaced go in batches, etcd+worker nodes one at a time first, then the
//! rest `max_unavailable_worker` at a time. A worker node is cordoned (and drained when the
//! strategy says so) around its replacement, then must be healthy and Ready before it is
//! uncordoned. The first node that fails stops the rollout, and the error says which nodes run
//! the new spec and which the old.

use std::time::Duration;

use anyhow::Context;
use tokio::time::Instant;

use super::node::Node;
use super::planes::{PlaneCtx, converge_node, is_disruptive};
use crate::error::{classified, display_chain, kind_of};
use crate::kube_api::{DrainOptions, KubeClient, is_ready};
use crate::parallel;
use crate::provision::node::Action;
use crate::provision::spec::Plane;

/// How the worker plane rolls.
pub struct Rollout<'a> {
    pub kube: &'a KubeClient,
    pub ctx: &'a PlaneCtx<'a>,
    /// `max_unavailable_worker` as a node count.
    pub batch: usize,
    pub drain: Option<DrainOptions>,
}

impl Rollout<'_> {
    /// Converge the worker plane on `nodes`, then lift the cordons an earlier failed run left.
    pub async fn run(&self, nodes: &[&Node]) -> anyhow::Result<()> {
        let observed =
            parallel::map(nodes, self.ctx.limit, |n| n.plane_actions(Plane::Worker)).await;
        let mut fresh = Vec::new();
        let mut rolling = Vec::new();
        for (node, actions) in nodes.iter().zip(observed) {
            match actions {
                Ok(actions) if !is_disruptive(&actions) => fresh.push((*node, actions)),
                // A node that cannot be observed now is tried again in its turn, so it
                // stops the rollout there and not before the nodes ahead of it.
                _ => rolling.push(*node),
            }
        }
        parallel::for_each(&fresh, self.ctx.limit, |(node, actions)| {
            converge_node(node, actions, Plane::Worker, self.ctx)
        })
        .await?;

        let order: Vec<(&str, bool)> = rolling
            .iter()
            .map(|n| (n.name(), n.cfg.is_etcd() && n.cfg.is_worker()))
            .collect();
        let started = Instant::now();
        let all = batches(&order, self.batch);
        let first: Vec<&str> = fresh.iter().map(|(n, _)| n.name()).collect();
        let named: Vec<Vec<&str>> = all
            .iter()
            .map(|b| b.iter().map(|&j| order[j].0).collect())
            .collect();
        for (i, batch) in all.iter().enumerate() {
            // The batch in flight finishes; none starts after a signal.
            let (done, left) = crate::interrupt::batch_progress(&first, &named, i);
            crate::interrupt::between_nodes("worker plane", &done, &left)?;
            let members: Vec<&Node> = batch.iter().map(|&i| rolling[i]).collect();
            let results = parallel::map(&members, self.ctx.limit, |n| self.roll_node(n)).await;
            let failed: Vec<(String, anyhow::Error)> = members
                .iter()
                .zip(results)
                .filter_map(|(n, r)| r.err().map(|e| (n.name().to_string(), e)))
                .collect();
            if !failed.is_empty() {
                return Err(self.stopped(&rolling, failed).await);
            }
        }
        if !rolling.is_empty() {
            tracing::info!(
                "worker plane rolled on {} node(s) in {:.1}s",
                rolling.len(),
                started.elapsed().as_secs_f64()
            );
        }
        for name in self.kube.upgrade_cordoned().await? {
            if nodes.iter().any(|n| n.name() == name) {
                self.kube.uncordon_after_upgrade(&name).await?;
            }
        }
        Ok(())
    }

    /// One node: observe, cordon and drain if it is a worker, replace, wait healthy and
    /// Ready, uncordon.
    async fn roll_node(&self, node: &Node) -> anyhow::Result<()> {
        let name = node.name();
        let started = Instant::now();
        let actions = node
            .plane_actions(Plane::Worker)
            .await
            .context("observing its containers")?;
        if !is_disruptive(&actions) {
            return converge_node(node, &actions, Plane::Worker, self.ctx).await;
        }
        let was_ready = self
            .kube
            .get_node(name)
            .await?
            .is_some_and(|n| is_ready(&n));
        let mut held = false;
        let mut drained = None;
        if node.cfg.is_worker() {
            held = self.kube.cordon_for_upgrade(name).await?;
            if let Some(opts) = &self.drain {
                drained = Some(self.kube.drain(name, opts).await?);
            }
        }
        converge_node(node, &actions, Plane::Worker, self.ctx).await?;
        // A node that was not Ready before (no network plugin yet) cannot be held to it. The
        // old kubelet is gone now: a lease renewal after this read is the new kubelet's.
        if was_ready {
            let before = self.kube.lease_renewed(name).await.unwrap_or(None);
            self.kube
                .wait_ready_with_new_heartbeat(name, before, self.ctx.health_timeout)
                .await?;
        }
        if held {
            self.kube.uncordon_after_upgrade(name).await?;
        }
        tracing::info!(
            node = name,
            "worker components replaced{} in {:.1}s",
            match drained {
                Some(n) => format!(" (cordoned, {n} pod(s) evicted)"),
                None if held => " (cordoned)".to_string(),
                None => String::new(),
            },
            started.elapsed().as_secs_f64()
        );
        Ok(())
    }

    /// The error for a stopped rollout: the failures, then which nodes run the new spec
    /// (their containers match the plan) and came back, and which do not.
    async fn stopped(
        &self,
        rolling: &[&Node],
        failed: Vec<(String, anyhow::Error)>,
    ) -> anyhow::Error {
        let kind = kind_of(&failed[0].1);
        let observed =
            parallel::map(rolling, self.ctx.limit, |n| n.plane_actions(Plane::Worker)).await;
        let mut updated = Vec::new();
        let mut not_updated = Vec::new();
        for (node, actions) in rolling.iter().zip(observed) {
            // A node that failed is not updated even when its new containers exist: it did
            // not come back healthy and Ready.
            let failed_here = failed.iter().any(|(n, _)| n == node.name());
            let current = !failed_here
                && actions.is_ok_and(|a| a.iter().all(|a| matches!(a, Action::Leave { .. })));
            if current {
                updated.push(node.name().to_string());
            } else {
                not_updated.push(node.name().to_string());
            }
        }
        let versions =
            match tokio::time::timeout(Duration::from_secs(10), self.kube.kubelet_versions()).await
            {
                Ok(Ok(v)) => v
                    .into_iter()
                    .filter(|(n, _)| rolling.iter().any(|r| r.name() == n))
                    .collect(),
                _ => Vec::new(),
            };
        let causes: Vec<(String, String)> = failed
            .iter()
            .map(|(n, e)| (n.clone(), display_chain(e)))
            .collect();
        classified(
            kind,
            progress_report(&causes, &updated, &not_updated, &versions),
        )
    }
}

/// Batches of indexes into `nodes` (name, has etcd and worker roles), in RKE1's order:
/// etcd+worker nodes one at a time, then the others `size` at a time (at least 1).
pub fn batches(nodes: &[(&str, bool)], size: usize) -> Vec<Vec<usize>> {
    let (first, rest): (Vec<usize>, Vec<usize>) = (0..nodes.len()).partition(|&i| nodes[i].1);
    let mut out: Vec<Vec<usize>> = first.into_iter().map(|i| vec![i]).collect();
    out.extend(rest.chunks(size.max(1)).map(<[usize]>::to_vec));
    out
}

/// "rollout stopped at node4: <cause>; updated: node1, node2; not updated: node4, node5",
/// with the kubelet versions the API reports when it answered.
pub fn progress_report(
    failed: &[(String, String)],
    updated: &[String],
    not_updated: &[String],
    kubelet_versions: &[(String, String)],
) -> String {
    let list = |names: &[String]| {
        if names.is_empty() {
            "none".to_string()
        } else {
            names.join(", ")
        }
    };
    let causes: Vec<String> = failed.iter().map(|(n, c)| format!("{n}: {c}")).collect();
    let mut text = format!(
        "worker plane: rollout stopped at {}; updated: {}; not updated: {}",
        causes.join("; "),
        list(updated),
        list(not_updated)
    );
    if !kubelet_versions.is_empty() {
        let versions: Vec<String> = kubelet_versions
            .iter()
            .map(|(n, v)| format!("{n} {v}"))
            .collect();
        text.push_str(&format!(" (kubelet versions: {})", versions.join(", ")));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etcd_workers_go_one_at_a_time_first() {
        let nodes = [
            ("w1", false),
            ("ew1", true),
            ("w2", false),
            ("ew2", true),
            ("w3", false),
        ];
        assert_eq!(batches(&nodes, 2), [vec![1], vec![3], vec![0, 2], vec![4]]);
        assert_eq!(
            batches(&nodes, 1),
            [vec![1], vec![3], vec![0], vec![2], vec![4]]
        );
        assert_eq!(batches(&nodes, 0), batches(&nodes, 1));
        assert_eq!(batches(&nodes[..1], 10), [vec![0]]);
        assert!(batches(&[], 3).is_empty());
    }

    #[test]
    fn percent_batches_round_down_to_at_least_one() {
        assert_eq!(super::super::planes::batch_size("10%", 5), 1);
        assert_eq!(super::super::planes::batch_size("40%", 5), 2);
        assert_eq!(super::super::planes::batch_size("99%", 5), 4);
    }

    #[test]
    fn the_report_says_where_the_rollout_stopped() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let text = progress_report(
            &[("node4".into(), "Docker engine unreachable".into())],
            &s(&["node1", "node2", "node3"]),
            &s(&["node4", "node5"]),
            &[("node1".into(), "v1.20.2".into())],
        );
        assert_eq!(
            text,
            "worker plane: rollout stopped at node4: Docker engine unreachable; updated: node1, \
             node2, node3; not updated: node4, node5 (kubelet versions: node1 v1.20.2)"
        );
        let none = progress_report(&[("a".into(), "x".into())], &[], &s(&["a"]), &[]);
        assert_eq!(
            none,
            "worker plane: rollout stopped at a: x; updated: none; not updated: a"
        );
    }
}
