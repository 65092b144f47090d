//! `rke up`: turn `cluster.yml` into a running cluster and converge it on every re-run.
//!
//! [`crate::cluster::desired`] is the node-free part (validation, PKI, state file); [`run::up`]
//! does the node work in RKE1's order. Desired containers and files come from
//! [`crate::provision::spec`] (pure), and [`crate::provision::node`] applies the difference on
//! each node.

mod dry_run;
mod etcd_guard;
mod etcd_plane;
mod facts;
mod kube_step;
pub mod membership;
pub mod metadata;
mod node;
mod parallel;
pub mod plan;
mod planes;
pub mod recover;
mod rollout;
mod run;
mod snapshot_agent;
mod unanswered;

pub use planes::batch_size;
pub use run::{Applied, Options, Outcome, STEPS, up};
pub use unanswered::name_unanswered;

use crate::config::RkeConfigNode;
use crate::transport::NodeConnection;

/// A node the last applied config had and `cluster.yml` no longer has, with its connection
/// when it could be reached.
pub struct Departed {
    pub cfg: RkeConfigNode,
    pub conn: Option<NodeConnection>,
}

/// The nodes of `applied` whose address is not in `desired` (RKE1 identifies hosts by
/// address when adding and removing).
pub fn departed_nodes<'a>(
    applied: &'a [RkeConfigNode],
    desired: &[RkeConfigNode],
) -> Vec<&'a RkeConfigNode> {
    applied
        .iter()
        .filter(|o| !desired.iter().any(|n| n.address == o.address))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(address: &str, name: &str) -> RkeConfigNode {
        RkeConfigNode {
            address: address.into(),
            hostname_override: name.into(),
            ..RkeConfigNode::default()
        }
    }

    #[test]
    fn departed_nodes_are_matched_by_address_like_rke1() {
        let applied = [
            node("10.0.0.1", "a"),
            node("10.0.0.2", "b"),
            node("10.0.0.3", "c"),
        ];
        // b renamed (same address) stays; c is gone; d is new.
        let desired = [
            node("10.0.0.1", "a"),
            node("10.0.0.2", "b2"),
            node("10.0.0.4", "d"),
        ];
        let gone: Vec<&str> = departed_nodes(&applied, &desired)
            .iter()
            .map(|n| n.hostname_override.as_str())
            .collect();
        assert_eq!(gone, ["c"]);
    }
}
