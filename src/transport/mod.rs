//! Transport: SSH sessions to nodes (keys, agent, certificates, bastion, verified host keys),
//! command execution, TCP tunnels, and each node's Docker Engine API through the SSH
//! connection (`direct-streamlocal@openssh.com`).
//!
//! Entry points: [`connect_all`] for the connect phase of a run, [`connect`] for one node.
//! Both return [`NodeConnection`] handles (one SSH connection per node, shared by clones).

// `TransportError` carries everything a person needs to act (node, fingerprints, file, fix).
// It is built only on failure paths, so its size does not matter; boxing would only add noise.
#![allow(clippy::result_large_err)]

mod auth;
mod connect;
mod docker;
mod error;
mod exec;
mod facts;
mod host_key;
pub mod known_hosts;
mod node;
mod session;
mod target;
mod tunnel;

#[cfg(test)]
mod testkit;
#[cfg(test)]
mod tests;

pub use connect::{connect, connect_all};
pub use error::{NodeError, TimeoutStage, TransportError};
pub use exec::{ExecOutput, command_line, shell_quote};
pub use facts::{DockerFacts, DockerVersionCheck, supported_docker_versions};
pub use node::NodeConnection;
pub use target::{
    ConnectOptions, DEFAULT_DOCKER_SOCKET, DEFAULT_PASSPHRASE_ENV, HostKeyPolicy, SshAuth,
    SshTarget, expand_tilde,
};
pub use tunnel::LocalForward;
