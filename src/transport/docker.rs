//! The Docker Engine API of a node, reached through `direct-streamlocal@openssh.com` channels
//! of its SSH session: one channel per pooled HTTP connection.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bollard::{ClientVersion, Docker};
use bytes::Bytes;
use http_body_util::{BodyExt as _, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::rt::{TokioExecutor, TokioIo};
use russh::client::Msg;
use russh::{ChannelOpenFailure, ChannelStream};

use super::error::TransportError;
use super::exec::{self, command_line};
use super::session::{SshSession, StreamlocalError};

/// bollard's limit on waiting for response headers, in seconds. Image pulls stream their body
/// afterwards, so this bounds only unresponsive engines.
const DOCKER_HEADER_TIMEOUT_SECS: u64 = 120;

/// One HTTP connection: a streamlocal channel adapted to hyper's I/O traits.
pub(crate) struct SshIo(TokioIo<ChannelStream<Msg>>);

impl hyper::rt::Read for SshIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl hyper::rt::Write for SshIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

impl Connection for SshIo {
    fn connected(&self) -> Connected {
        Connected::new()
    }
}

/// hyper connector: every new HTTP connection is a fresh streamlocal channel to the socket.
#[derive(Clone)]
pub(crate) struct StreamlocalConnector {
    pub session: Arc<SshSession>,
    pub socket: Arc<str>,
}

impl tower_service::Service<hyper::Uri> for StreamlocalConnector {
    type Response = SshIo;
    type Error = std::io::Error;
    type Future = Pin<Box<dyn Future<Output = Result<SshIo, std::io::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: hyper::Uri) -> Self::Future {
        let (session, socket) = (self.session.clone(), self.socket.clone());
        Box::pin(async move {
            match session.streamlocal(&socket).await {
                Ok(ch) => Ok(SshIo(TokioIo::new(ch.into_stream()))),
                Err(StreamlocalError::Refused(reason)) => Err(std::io::Error::new(
                    std::io::ErrorKind::PermissionDenied,
                    format!(
                        "sshd on {} refused a channel to {socket}: {reason:?}",
                        session.name
                    ),
                )),
                Err(StreamlocalError::Transport(e)) => Err(std::io::Error::other(e.to_string())),
            }
        })
    }
}

/// The engine's answer to an unversioned `GET /version`, and the bollard client built for it.
pub(crate) struct DockerLink {
    pub docker: Docker,
    pub version: bollard::models::SystemVersion,
    pub negotiated: ClientVersion,
}

/// Open the node's Docker API. Failures to reach the socket are diagnosed into precise errors
/// (forwarding disabled, user not in the docker group, socket missing, engine down).
pub(crate) async fn connect(
    session: Arc<SshSession>,
    socket: &str,
) -> Result<DockerLink, TransportError> {
    let version = match probe_version(&session, socket).await {
        Ok(v) => v,
        Err(Probe::Refused(reason)) => return Err(diagnose(&session, socket, Some(reason)).await),
        Err(Probe::Broken(detail)) => {
            let e = diagnose(&session, socket, None).await;
            return Err(match e {
                TransportError::DockerApi { node, context, .. } => TransportError::DockerApi {
                    node,
                    context,
                    reason: detail,
                },
                other => other,
            });
        }
        Err(Probe::Failed(e)) => return Err(e),
    };
    let negotiated = negotiate(version.api_version.as_deref());
    let connector = StreamlocalConnector {
        session: session.clone(),
        socket: socket.into(),
    };
    let client = Arc::new(
        Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(8)
            .build(connector),
    );
    let node = session.name.clone();
    let docker = Docker::connect_with_custom_transport(
        move |req: bollard::BollardRequest| {
            let client = client.clone();
            crate::events::writes::note_engine(&node, req.method(), req.uri().path());
            async move {
                client
                    .request(req)
                    .await
                    .map_err(bollard::errors::Error::from)
            }
        },
        Some("http://docker"),
        DOCKER_HEADER_TIMEOUT_SECS,
        &negotiated,
    )
    .map_err(|e| TransportError::DockerApi {
        node: session.name.clone(),
        context: "creating the client".into(),
        reason: e.to_string(),
    })?;
    Ok(DockerLink {
        docker,
        version,
        negotiated,
    })
}

/// The API version to speak: the engine's, capped at what bollard knows.
pub(crate) fn negotiate(server_api: Option<&str>) -> ClientVersion {
    let ours = bollard::API_DEFAULT_VERSION;
    let parsed = server_api.and_then(|v| {
        let (major, minor) = v.trim().split_once('.')?;
        Some(ClientVersion {
            major_version: major.parse().ok()?,
            minor_version: minor.parse().ok()?,
        })
    });
    match parsed {
        Some(theirs)
            if (theirs.major_version, theirs.minor_version)
                < (ours.major_version, ours.minor_version) =>
        {
            theirs
        }
        _ => ClientVersion {
            major_version: ours.major_version,
            minor_version: ours.minor_version,
        },
    }
}

enum Probe {
    /// sshd refused the channel.
    Refused(ChannelOpenFailure),
    /// The channel opened but HTTP failed (closed at once, garbage, error status).
    Broken(String),
    /// The session itself failed.
    Failed(TransportError),
}

/// `GET /version` without a version prefix (any engine answers it), on a channel of our own so
/// that a refused or broken socket is seen directly rather than through hyper's pool errors.
async fn probe_version(
    session: &SshSession,
    socket: &str,
) -> Result<bollard::models::SystemVersion, Probe> {
    let channel = match session.streamlocal(socket).await {
        Ok(ch) => ch,
        Err(StreamlocalError::Refused(reason)) => return Err(Probe::Refused(reason)),
        Err(StreamlocalError::Transport(e)) => return Err(Probe::Failed(e)),
    };
    let io = TokioIo::new(channel.into_stream());
    let broken = |what: &str, e: &dyn std::fmt::Display| Probe::Broken(format!("{what}: {e}"));
    let (mut sender, conn) = hyper::client::conn::http1::handshake::<_, Empty<Bytes>>(io)
        .await
        .map_err(|e| broken("HTTP handshake on the Docker socket", &e))?;
    let driver = tokio::spawn(conn);
    let request = hyper::Request::get("/version")
        .header(hyper::header::HOST, "docker")
        .body(Empty::new())
        .map_err(|e| broken("building GET /version", &e))?;
    let response = tokio::time::timeout(session.timeout, sender.send_request(request))
        .await
        .map_err(|_| {
            Probe::Failed(TransportError::Timeout {
                node: session.name.clone(),
                addr: session.addr.clone(),
                secs: session.timeout.as_secs().max(1),
                stage: super::error::TimeoutStage::Docker,
            })
        })?
        .map_err(|e| broken("GET /version", &e))?;
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| broken("reading GET /version", &e))?
        .to_bytes();
    driver.abort();
    if !status.is_success() {
        return Err(Probe::Broken(format!(
            "GET /version answered {status}: {}",
            String::from_utf8_lossy(&body).trim()
        )));
    }
    serde_json::from_slice(&body).map_err(|e| broken("GET /version returned unexpected JSON", &e))
}

/// Find out why the Docker socket cannot be used, by looking at it from a shell on the node.
/// `refused` is sshd's reason when it refused the channel. sshd gives the same reason when
/// forwarding is disabled and when its own connect() to the socket fails (EACCES, ENOENT):
/// "administratively prohibited" in older OpenSSH, "connect failed" in OpenSSH 9 (seen on
/// Debian 12). The reason alone cannot tell them apart.
pub(crate) async fn diagnose(
    session: &SshSession,
    socket: &str,
    refused: Option<ChannelOpenFailure>,
) -> TransportError {
    let script = r#"s="$1"
if [ ! -e "$s" ]; then echo missing
elif [ ! -S "$s" ]; then echo not-a-socket
elif [ ! -r "$s" ] || [ ! -w "$s" ]; then echo denied
elif command -v docker >/dev/null 2>&1; then
  if docker -H "unix://$s" version >/dev/null 2>&1; then echo reachable; else echo daemon-down; fi
else echo unknown
fi
id -Gn 2>/dev/null"#;
    let command = command_line(&["sh", "-c", script, "rke-diagnose", socket]);
    let node = session.name.clone();
    let verdict = exec::run(session, &command)
        .await
        .ok()
        .filter(|o| o.success());
    let (what, groups) = match &verdict {
        Some(out) => {
            let text = out.stdout_text();
            let mut lines = text.lines();
            (
                lines.next().unwrap_or_default().trim().to_string(),
                lines.next().unwrap_or_default().trim().to_string(),
            )
        }
        None => (String::new(), String::new()),
    };
    match (what.as_str(), &refused) {
        ("missing" | "not-a-socket", _) => TransportError::DockerSocketMissing {
            node,
            socket: socket.into(),
        },
        ("denied", _) => TransportError::DockerSocketPermission {
            node,
            user: session.user.clone(),
            socket: socket.into(),
            groups: if groups.is_empty() {
                "unknown".into()
            } else {
                groups
            },
        },
        ("daemon-down", _) => TransportError::DockerNotRunning {
            node,
            socket: socket.into(),
        },
        (_, Some(ChannelOpenFailure::UnknownChannelType)) => TransportError::DockerApi {
            node,
            context: format!("opening {socket}"),
            reason: "this sshd cannot forward Unix sockets (direct-streamlocal@openssh.com needs OpenSSH 6.7 or later)".into(),
        },
        // Refused although the user can reach the engine: sshd's own policy.
        ("reachable", Some(reason)) => TransportError::StreamLocalForbidden {
            node,
            socket: socket.into(),
            reason: refusal_text(reason).into(),
            certain: true,
        },
        (_, Some(reason)) => TransportError::StreamLocalForbidden {
            node,
            socket: socket.into(),
            reason: refusal_text(reason).into(),
            certain: false,
        },
        (_, None) => TransportError::DockerApi {
            node,
            context: format!("talking to {socket}"),
            reason: "the connection failed".into(),
        },
    }
}

/// sshd's refusal as words. Older OpenSSH answers "administratively prohibited" when
/// forwarding is disabled; OpenSSH 9 answers "connect failed" for that and for a failed
/// connect() to the socket alike.
fn refusal_text(reason: &ChannelOpenFailure) -> &'static str {
    match reason {
        ChannelOpenFailure::AdministrativelyProhibited => "administratively prohibited",
        ChannelOpenFailure::ConnectFailed => "connect failed",
        ChannelOpenFailure::UnknownChannelType => "unknown channel type",
        ChannelOpenFailure::ResourceShortage => "resource shortage",
        ChannelOpenFailure::Other { .. } => "refused",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_caps_at_bollard_and_steps_down() {
        let v = negotiate(Some("1.41"));
        assert_eq!((v.major_version, v.minor_version), (1, 41));
        let ours = bollard::API_DEFAULT_VERSION;
        let v = negotiate(Some("1.99"));
        assert_eq!(
            (v.major_version, v.minor_version),
            (ours.major_version, ours.minor_version)
        );
        let v = negotiate(None);
        assert_eq!(
            (v.major_version, v.minor_version),
            (ours.major_version, ours.minor_version)
        );
        let v = negotiate(Some("garbage"));
        assert_eq!(v.major_version, ours.major_version);
    }
}
