//! Provisioning nodes. [`spec`] computes, as plain data, what every node should run and hold.
//!
//! [`spec`] is pure; [`node`] is the executor that compares specs with what runs on a node and
//! acts on the difference, the only part that talks to Docker.

pub mod health;
pub mod node;
pub mod spec;
