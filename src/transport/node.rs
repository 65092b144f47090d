//! The handle later phases use for one node: its Docker API, command execution and tunnels,
//! all over one SSH connection.

use std::sync::Arc;

use bollard::Docker;
use bollard::models::{SystemInfo, SystemVersion};
use russh::ChannelStream;
use russh::client::Msg;

use super::error::TransportError;
use super::exec::{self, ExecOutput, command_line};
use super::facts::DockerFacts;
use super::session::SshSession;
use super::tunnel::{self, LocalForward};

/// A connected node. Cheap to clone; all clones share one SSH connection.
#[derive(Clone)]
pub struct NodeConnection {
    inner: Arc<Inner>,
}

struct Inner {
    address: String,
    session: Arc<SshSession>,
    docker: Docker,
    facts: DockerFacts,
    docker_info: SystemInfo,
    docker_version: SystemVersion,
}

impl std::fmt::Debug for NodeConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeConnection")
            .field("name", &self.inner.session.name)
            .field("address", &self.inner.address)
            .field("docker", &self.inner.facts.server_version)
            .finish()
    }
}

impl NodeConnection {
    pub(crate) fn new(
        address: String,
        session: Arc<SshSession>,
        docker: Docker,
        facts: DockerFacts,
        docker_info: SystemInfo,
        docker_version: SystemVersion,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                address,
                session,
                docker,
                facts,
                docker_info,
                docker_version,
            }),
        }
    }

    /// The node's name in messages (`hostname_override` or address).
    pub fn name(&self) -> &str {
        &self.inner.session.name
    }

    pub fn address(&self) -> &str {
        &self.inner.address
    }

    pub fn user(&self) -> &str {
        &self.inner.session.user
    }

    /// The node's Docker Engine API, tunnelled through SSH.
    pub fn docker(&self) -> &Docker {
        &self.inner.docker
    }

    /// Docker facts recorded at connect time (a summary; [`Self::docker_info`] is all of
    /// `docker info`).
    pub fn docker_facts(&self) -> &DockerFacts {
        &self.inner.facts
    }

    /// The full `docker info` answer.
    pub fn docker_info(&self) -> &SystemInfo {
        &self.inner.docker_info
    }

    /// The full unversioned `docker version` answer.
    pub fn docker_version(&self) -> &SystemVersion {
        &self.inner.docker_version
    }

    /// Run a command given as an argv; arguments are shell-quoted.
    pub async fn exec<S: AsRef<str>>(&self, argv: &[S]) -> Result<ExecOutput, TransportError> {
        exec::run(&self.inner.session, &command_line(argv)).await
    }

    /// Run a command line as the login shell parses it (no quoting applied). Commands get
    /// [`exec::COMMAND_DEADLINE`] to finish, as with [`exec`](Self::exec).
    pub async fn exec_shell(&self, command: &str) -> Result<ExecOutput, TransportError> {
        exec::run(&self.inner.session, command).await
    }

    /// [`exec_shell`](Self::exec_shell) with another deadline (a timeout error naming the
    /// node when the command has not finished by then).
    pub async fn exec_shell_within(
        &self,
        command: &str,
        deadline: std::time::Duration,
    ) -> Result<ExecOutput, TransportError> {
        exec::run_within(&self.inner.session, command, deadline).await
    }

    /// A byte stream to `host:port` as reachable from the node (`direct-tcpip`), for clients
    /// that accept any AsyncRead + AsyncWrite (etcd, Kubernetes API, health checks).
    pub async fn open_tcp(
        &self,
        host: &str,
        port: u16,
    ) -> Result<ChannelStream<Msg>, TransportError> {
        Ok(self
            .inner
            .session
            .direct_tcpip(host, port)
            .await?
            .into_stream())
    }

    /// A local `127.0.0.1:<port>` listener forwarding to `host:port` from the node.
    pub async fn forward_local(
        &self,
        host: &str,
        port: u16,
    ) -> Result<LocalForward, TransportError> {
        tunnel::forward_local(self.inner.session.clone(), host, port).await
    }

    /// True once the SSH connection has gone away (the node rebooted, the network dropped).
    pub fn is_closed(&self) -> bool {
        self.inner.session.handle.is_closed()
    }
}
