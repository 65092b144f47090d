//! Provisioning nodes. [`spec`] computes, as plain data, what every node should run and hold.
//!
//! [`spec`] is pure; [`node`] is the executor that compares specs with what runs on a node and
//! acts on the difference, and [`health`] waits for what it started to answer. Most Docker
//! calls go through [`node`]; [`health`] inspects containers too, and a few steps outside
//! `provision` (etcd discovery in `plan`, the snapshot agent and the lost-state check in `up`,
//! stopping and starting members in `snapshot::restore`) call the node's Docker API directly.

pub mod health;
pub mod node;
pub mod spec;
