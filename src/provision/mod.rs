//! Provisioning nodes. [`spec`] computes, as plain data, what every node should run and hold.
//!
//! Everything here is pure: the executor that compares specs with what runs on a node and acts on
//! the difference lives next to it and is the only part that talks to Docker.

pub mod spec;
