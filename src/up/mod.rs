//! `rke up`: turn `cluster.yml` into a running cluster and converge it on every re-run.
//!
//! [`crate::cluster::desired`] is the node-free part (validation, PKI, state file); [`run::up`]
//! does the node work in RKE1's order, as named [`phases`], each of which can list its pending
//! [`change::Change`]s (`--dry-run`, printed by [`render`]) or make them. Desired containers and files come from
//! [`crate::provision::spec`] (pure), and [`crate::provision::node`] applies the difference on
//! each node.

pub mod change;
mod etcd_guard;
mod etcd_plane;
mod kube_step;
pub mod metadata;
mod node;
pub(crate) mod phases;
mod planes;
pub mod recover;
pub mod render;
mod rollout;
mod run;
mod snapshot_agent;
mod unanswered;

pub use crate::plan::{Departed, departed_nodes};
pub use planes::batch_size;
pub use run::{Applied, Options, Outcome, STEPS, up};
pub use unanswered::name_unanswered;
