//! rke: a Kubernetes installer that is a drop-in successor to RKE1.
//!
//! Data flows one way: `cluster.yml` → [`config`] → [`cluster::desired`] (PKI, [`state`]) →
//! [`plan`] → [`provision`] → nodes, with [`up`]'s phases applying it and [`cli`] only parsing,
//! calling and printing. See `docs/architecture.md` for the data flow, the phases of `rke up`,
//! the module map, and how to add a component or a command.

pub mod addons;
pub mod certs;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod error;
pub mod etcd;
pub mod events;
pub mod fsutil;
pub mod interrupt;
pub mod kube_api;
pub mod limits;
pub mod lock;
pub mod parallel;
pub mod paths;
pub mod plan;
pub mod provision;
pub mod remove;
pub mod snapshot;
pub mod state;
pub mod status;
pub mod transport;
pub mod up;
