//! Establishing one authenticated SSH session, directly or through a bastion.

use std::sync::Arc;
use std::time::Duration;

use russh::client::{self, Msg};
use russh::{Channel, ChannelOpenFailure};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout_at};

use super::auth::{Credentials, authenticate};
use super::error::{TimeoutStage, TransportError};
use super::host_key::{ClientHandler, HandlerError, HostKeyCheck};
use super::target::{ConnectOptions, SshTarget};

/// An authenticated SSH connection. Channels (exec, direct-tcpip, direct-streamlocal) are
/// multiplexed over it, so one per node serves a whole run.
pub(crate) struct SshSession {
    pub name: String,
    pub user: String,
    /// `address:port`, for messages.
    pub addr: String,
    pub handle: client::Handle<ClientHandler>,
    /// Bound on opening a channel.
    pub timeout: Duration,
    /// Keeps the bastion's session alive as long as this one.
    _via: Option<Arc<SshSession>>,
}

impl std::fmt::Debug for SshSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SshSession")
            .field("name", &self.name)
            .field("user", &self.user)
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

/// Keepalives find dead peers during long runs (a node rebooted under us) within a minute.
const KEEPALIVE: Duration = Duration::from_secs(15);

/// Connect, verify the host key, and authenticate `target`. `via` is an established session
/// to the bastion when the target is behind one.
pub(crate) async fn open(
    target: &SshTarget,
    creds: &Credentials,
    opts: &ConnectOptions,
    via: Option<Arc<SshSession>>,
) -> Result<SshSession, TransportError> {
    let addr = format!("{}:{}", target.address, target.port);
    let secs = opts.timeout.as_secs().max(1);
    let timed_out = |stage| TransportError::Timeout {
        node: target.name.clone(),
        addr: addr.clone(),
        secs,
        stage,
    };
    let check = Arc::new(HostKeyCheck {
        node: target.name.clone(),
        address: target.address.clone(),
        port: target.port,
        known_hosts: opts.known_hosts.clone(),
        policy: opts.policy,
    });
    let config = Arc::new(client::Config {
        preferred: check.preferred(),
        keepalive_interval: Some(KEEPALIVE),
        keepalive_max: 4,
        nodelay: true,
        ..client::Config::default()
    });
    let handler = ClientHandler { check };
    let deadline = Instant::now() + opts.timeout;

    let handshake = match &via {
        None => {
            let tcp = timeout_at(
                deadline,
                TcpStream::connect((target.address.as_str(), target.port)),
            )
            .await
            .map_err(|_| timed_out(TimeoutStage::Tcp))?
            .map_err(|e| TransportError::Unreachable {
                node: target.name.clone(),
                addr: addr.clone(),
                reason: describe_io(&e, target.port),
            })?;
            let _ = tcp.set_nodelay(true);
            timeout_at(deadline, client::connect_stream(config, tcp, handler)).await
        }
        Some(bastion) => {
            let channel = timeout_at(
                deadline,
                bastion.handle.channel_open_direct_tcpip(
                    target.address.clone(),
                    target.port as u32,
                    "127.0.0.1",
                    0,
                ),
            )
            .await
            .map_err(|_| timed_out(TimeoutStage::Tcp))?
            .map_err(|e| TransportError::Unreachable {
                node: target.name.clone(),
                addr: addr.clone(),
                reason: describe_bastion_failure(&bastion.name, &e),
            })?;
            timeout_at(
                deadline,
                client::connect_stream(config, channel.into_stream(), handler),
            )
            .await
        }
    };
    let mut handle = match handshake {
        Err(_) => return Err(timed_out(TimeoutStage::Handshake)),
        Ok(Err(HandlerError::HostKey(e))) => return Err(e),
        Ok(Err(HandlerError::Ssh(e))) => {
            return Err(TransportError::Ssh {
                node: target.name.clone(),
                context: format!("handshake with {addr}"),
                reason: describe_handshake(&e),
            });
        }
        Ok(Ok(h)) => h,
    };
    timeout_at(
        Instant::now() + opts.timeout,
        authenticate(&mut handle, &target.name, &target.user, creds),
    )
    .await
    .map_err(|_| timed_out(TimeoutStage::Auth))??;
    Ok(SshSession {
        name: target.name.clone(),
        user: target.user.clone(),
        addr,
        handle,
        timeout: opts.timeout,
        _via: via,
    })
}

impl SshSession {
    fn channel_timeout(&self) -> TransportError {
        TransportError::Timeout {
            node: self.name.clone(),
            addr: self.addr.clone(),
            secs: self.timeout.as_secs().max(1),
            stage: TimeoutStage::Channel,
        }
    }

    fn channel_error(&self, what: &str, e: russh::Error) -> TransportError {
        TransportError::Ssh {
            node: self.name.clone(),
            context: what.to_string(),
            reason: e.to_string(),
        }
    }

    /// A session channel (for exec). Failures here mean the connection itself is unusable.
    pub async fn session_channel(&self) -> Result<Channel<Msg>, TransportError> {
        tokio::time::timeout(self.timeout, self.handle.channel_open_session())
            .await
            .map_err(|_| self.channel_timeout())?
            .map_err(|e| self.channel_error("session channel", e))
    }

    /// A `direct-streamlocal@openssh.com` channel to a unix socket on the node. The raw russh
    /// error is kept so callers can tell "refused" from other failures.
    pub async fn streamlocal(&self, socket: &str) -> Result<Channel<Msg>, StreamlocalError> {
        match tokio::time::timeout(
            self.timeout,
            self.handle.channel_open_direct_streamlocal(socket),
        )
        .await
        {
            Err(_) => Err(StreamlocalError::Transport(self.channel_timeout())),
            Ok(Ok(ch)) => Ok(ch),
            Ok(Err(russh::Error::ChannelOpenFailure(reason))) => {
                Err(StreamlocalError::Refused(reason))
            }
            Ok(Err(e)) => Err(StreamlocalError::Transport(
                self.channel_error(&format!("direct-streamlocal channel to {socket}"), e),
            )),
        }
    }

    /// A `direct-tcpip` channel: the node connects to `host:port` from its own network view.
    pub async fn direct_tcpip(
        &self,
        host: &str,
        port: u16,
    ) -> Result<Channel<Msg>, TransportError> {
        let open =
            self.handle
                .channel_open_direct_tcpip(host.to_string(), port as u32, "127.0.0.1", 0);
        match tokio::time::timeout(self.timeout, open).await {
            Err(_) => Err(self.channel_timeout()),
            Ok(Ok(ch)) => Ok(ch),
            Ok(Err(russh::Error::ChannelOpenFailure(ChannelOpenFailure::AdministrativelyProhibited))) => {
                Err(TransportError::Ssh {
                    node: self.name.clone(),
                    context: format!("TCP tunnel to {host}:{port}"),
                    reason: "sshd refused it ('administratively prohibited'): set AllowTcpForwarding yes in /etc/ssh/sshd_config and restart sshd".into(),
                })
            }
            Ok(Err(russh::Error::ChannelOpenFailure(ChannelOpenFailure::ConnectFailed))) => {
                Err(TransportError::Ssh {
                    node: self.name.clone(),
                    context: format!("TCP tunnel to {host}:{port}"),
                    reason: format!("the node could not connect to {host}:{port} (nothing listening?)"),
                })
            }
            Ok(Err(e)) => Err(self.channel_error(&format!("TCP tunnel to {host}:{port}"), e)),
        }
    }
}

/// A failed streamlocal open: refused by sshd (with its reason code), or a transport problem.
#[derive(Debug)]
pub(crate) enum StreamlocalError {
    Refused(ChannelOpenFailure),
    Transport(TransportError),
}

fn describe_io(e: &std::io::Error, port: u16) -> String {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::ConnectionRefused => {
            format!("connection refused: is sshd running and listening on port {port}?")
        }
        K::HostUnreachable | K::NetworkUnreachable => format!("{e}: check the address and routing"),
        _ => e.to_string(),
    }
}

fn describe_bastion_failure(bastion: &str, e: &russh::Error) -> String {
    match e {
        russh::Error::ChannelOpenFailure(ChannelOpenFailure::AdministrativelyProhibited) => {
            format!(
                "bastion {bastion} refused to forward the connection ('administratively prohibited'): set AllowTcpForwarding yes in its sshd_config"
            )
        }
        russh::Error::ChannelOpenFailure(ChannelOpenFailure::ConnectFailed) => {
            format!(
                "bastion {bastion} could not connect to it (host down, wrong port, or firewalled from the bastion)"
            )
        }
        other => format!("bastion {bastion}: {other}"),
    }
}

fn describe_handshake(e: &russh::Error) -> String {
    match e {
        russh::Error::Disconnect | russh::Error::HUP | russh::Error::IO(_) => format!(
            "{e}: the server closed the connection during the handshake (is this an SSH server? sshd MaxStartups or TCP wrappers may refuse connections)"
        ),
        russh::Error::NoCommonAlgo { .. } => {
            format!("{e}: the server offers no algorithm rke supports")
        }
        other => other.to_string(),
    }
}
