//! TCP tunnels through a node's SSH session (`direct-tcpip`): a stream for in-process clients,
//! and a local listener for clients that insist on dialing an address themselves.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::error::TransportError;
use super::session::SshSession;

/// A listener on `127.0.0.1:<ephemeral>` whose connections are forwarded to `host:port` as seen
/// from the node. Stops when dropped.
#[derive(Debug)]
pub struct LocalForward {
    local: SocketAddr,
    remote: String,
    task: JoinHandle<()>,
}

impl LocalForward {
    /// The local address to connect to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// `host:port` on the node's side.
    pub fn remote(&self) -> &str {
        &self.remote
    }
}

impl Drop for LocalForward {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Start forwarding `127.0.0.1:0` → `host:port` through `session`.
pub(crate) async fn forward_local(
    session: Arc<SshSession>,
    host: &str,
    port: u16,
) -> Result<LocalForward, TransportError> {
    let listener = TcpListener::bind(("127.0.0.1", 0))
        .await
        .map_err(|e| TransportError::Ssh {
            node: session.name.clone(),
            context: format!("local listener for {host}:{port}"),
            reason: e.to_string(),
        })?;
    let local = listener.local_addr().map_err(|e| TransportError::Ssh {
        node: session.name.clone(),
        context: "local listener address".into(),
        reason: e.to_string(),
    })?;
    let host = host.to_string();
    let remote = format!("{host}:{port}");
    let task = tokio::spawn(async move {
        loop {
            let Ok((mut local_conn, _)) = listener.accept().await else {
                continue;
            };
            // A reply arriving in several channel packets is written in several pieces; with
            // Nagle's algorithm on, each piece after the first waits for the client's delayed
            // ACK (40 ms on Linux), on every API request.
            let _ = local_conn.set_nodelay(true);
            let session = session.clone();
            let host = host.clone();
            tokio::spawn(async move {
                match session.direct_tcpip(&host, port).await {
                    Ok(channel) => {
                        let mut remote = channel.into_stream();
                        let _ = tokio::io::copy_bidirectional(&mut local_conn, &mut remote).await;
                    }
                    // The client sees its connection closed; the reason goes to the log.
                    Err(e) => tracing::warn!("forwarding to {host}:{port} failed: {e}"),
                }
            });
        }
    });
    Ok(LocalForward {
        local,
        remote,
        task,
    })
}
