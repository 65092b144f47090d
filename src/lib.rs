//! rke: a Kubernetes installer that is a drop-in successor to RKE1.
//!
//! Data flows one way (see `shared/design.md`):
//! `cluster.yml` → [`config`] → [`certs`] → [`state`], with [`cli`] wiring commands together.

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
pub mod paths;
pub mod plan;
pub mod provision;
pub mod remove;
pub mod snapshot;
pub mod state;
pub mod status;
pub mod transport;
pub mod up;
