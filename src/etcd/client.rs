//! A client for one etcd member, reached through the SSH connection of a node (or directly,
//! from the node itself: [`EtcdClient::connect_direct`]).
//!
//! Every gRPC connection is a `direct-tcpip` channel from that node to `<ip>:2379`, so etcd
//! needs no port published to the machine running `rke`. TLS runs end to end over the tunnel,
//! and the server name checked against the member's certificate is its IP, as RKE1 issues
//! `kube-etcd-<ip>` certificates with IP SANs.

use std::future::Future;
use std::time::Duration;

use etcd_client::{AlarmAction, AlarmType, Client, GetOptions};
use hyper_util::rt::TokioIo;
use tonic::transport::{Endpoint, Uri};

use super::member::{Member, host_for_url};
use super::quorum::check_quorum;
use super::tls::EtcdTls;
use crate::error::{ErrorKind, classified};
use crate::transport::NodeConnection;

/// etcd's client port (`--listen-client-urls=https://<ip>:2379`).
pub const ETCD_CLIENT_PORT: u16 = 2379;

/// Deadline for connecting and for each call, unless [`EtcdClient::with_timeout`] changes it.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);

/// etcd's answer (`ErrGRPCUnhealthy`) while a membership change would be unsafe for now.
const TRANSIENT_RECONFIG: &str = "etcdserver: unhealthy cluster";
const RECONFIG_RETRY: Duration = Duration::from_secs(1);

/// What a healthy member reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    /// The member that answered.
    pub member_id: u64,
    /// The raft leader it knows (never 0 when healthy).
    pub leader: u64,
    /// etcd server version, e.g. `3.4.23`.
    pub version: String,
}

/// A connection to one etcd member through one node's SSH connection.
#[derive(Clone)]
pub struct EtcdClient {
    // Visible to sibling modules that add calls (snapshot.rs).
    pub(super) client: Client,
    /// `<ip>:2379 via <node>`, for messages.
    label: String,
    timeout: Duration,
}

impl std::fmt::Debug for EtcdClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EtcdClient")
            .field("endpoint", &self.label)
            .finish_non_exhaustive()
    }
}

impl EtcdClient {
    /// Connect to the member listening on `endpoint_ip:2379` as reached from `via`, presenting
    /// `tls`'s client certificate and verifying the member's certificate against its CA for the
    /// name `endpoint_ip`. Fails (class etcd) when the tunnel, TLS or etcd does not answer
    /// within [`DEFAULT_TIMEOUT`].
    pub async fn connect(
        via: &NodeConnection,
        endpoint_ip: &str,
        tls: EtcdTls,
    ) -> anyhow::Result<Self> {
        Self::connect_to(via, endpoint_ip, ETCD_CLIENT_PORT, tls, DEFAULT_TIMEOUT).await
    }

    /// [`connect`](Self::connect) to another client port, with a deadline for connecting and
    /// for each later call.
    pub async fn connect_to(
        via: &NodeConnection,
        endpoint_ip: &str,
        port: u16,
        tls: EtcdTls,
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        let label = format!(
            "etcd at {}:{port} via node {}",
            host_for_url(endpoint_ip),
            via.name()
        );
        // One SSH channel per HTTP/2 connection; tonic reconnects through it as needed.
        let node = via.clone();
        let target = endpoint_ip.to_string();
        let connector = tower::service_fn(move |_: Uri| {
            let node = node.clone();
            let target = target.clone();
            async move {
                let stream = node.open_tcp(&target, port).await?;
                Ok::<_, crate::transport::TransportError>(TokioIo::new(stream))
            }
        });
        Self::connect_with(label, endpoint_ip, port, tls, timeout, connector).await
    }

    /// Connect straight over TCP to `endpoint_ip:port`, for a client running on the etcd node
    /// itself (the recurring snapshot agent); otherwise as [`connect_to`](Self::connect_to).
    pub async fn connect_direct(
        endpoint_ip: &str,
        port: u16,
        tls: EtcdTls,
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        let label = format!("etcd at {}:{port}", host_for_url(endpoint_ip));
        let target = endpoint_ip.to_string();
        let connector = tower::service_fn(move |_: Uri| {
            let target = target.clone();
            async move {
                let stream = tokio::net::TcpStream::connect((target.as_str(), port)).await?;
                stream.set_nodelay(true)?;
                Ok::<_, std::io::Error>(TokioIo::new(stream))
            }
        });
        Self::connect_with(label, endpoint_ip, port, tls, timeout, connector).await
    }

    /// TLS to `endpoint_ip` (the name checked against the member's certificate) over the
    /// streams `connector` opens, with `timeout` for connecting and for each later call.
    async fn connect_with<C>(
        label: String,
        endpoint_ip: &str,
        port: u16,
        tls: EtcdTls,
        timeout: Duration,
        connector: C,
    ) -> anyhow::Result<Self>
    where
        C: tower::Service<Uri> + Send + 'static,
        C::Response: hyper::rt::Read + hyper::rt::Write + Send + Unpin + 'static,
        C::Future: Send + 'static,
        Box<dyn std::error::Error + Send + Sync>: From<C::Error>,
    {
        let fail = |what: &str, detail: String| {
            classified(ErrorKind::Etcd, format!("{label}: {what}: {detail}"))
        };
        let uri = format!("https://{}:{port}", host_for_url(endpoint_ip));
        let endpoint = Endpoint::from_shared(uri)
            .map_err(|e| fail("invalid endpoint address", e.to_string()))?
            .tls_config(tls.tonic_config(endpoint_ip))
            .map_err(|e| fail("invalid TLS material", source_chain(&e)))?
            .connect_timeout(timeout)
            .timeout(timeout);
        let channel =
            match tokio::time::timeout(timeout, endpoint.connect_with_connector(connector)).await {
                Ok(Ok(channel)) => channel,
                Ok(Err(e)) => return Err(fail("cannot connect", source_chain(&e))),
                Err(_) => {
                    return Err(fail(
                        "cannot connect",
                        format!("no answer within {}s", timeout.as_secs()),
                    ));
                }
            };
        let client = match tokio::time::timeout(
            timeout,
            Client::from_channel(etcd_client::Channel::Tonic(channel), None),
        )
        .await
        {
            Ok(Ok(client)) => client,
            Ok(Err(e)) => return Err(fail("cannot set up the client", source_chain(&e))),
            Err(_) => {
                return Err(fail(
                    "cannot set up the client",
                    format!("no answer within {}s", timeout.as_secs()),
                ));
            }
        };
        Ok(EtcdClient {
            client,
            label,
            timeout,
        })
    }

    /// Change the deadline for each later call.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// `etcd at <ip>:2379 via node <name>`: how messages name this member.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// What etcd's `GET /health` checks: the member knows a leader, reports no errors, the
    /// cluster has no alarm raised, and a linearizable read (which needs a quorum) succeeds.
    pub async fn health(&self) -> anyhow::Result<Health> {
        let status = self
            .call("status", self.client.maintenance_client().status())
            .await?;
        if status.leader() == 0 {
            return Err(self.unhealthy("the member has no raft leader (no quorum)".into()));
        }
        if !status.errors().is_empty() {
            return Err(self.unhealthy(format!(
                "the member reports errors: {}",
                status.errors().join("; ")
            )));
        }
        let alarms = self
            .call(
                "alarm list",
                self.client
                    .maintenance_client()
                    .alarm(AlarmAction::Get, AlarmType::None, None),
            )
            .await?;
        if !alarms.alarms().is_empty() {
            let raised: Vec<String> = alarms
                .alarms()
                .iter()
                .map(|a| format!("{:?} on member {:x}", a.alarm(), a.member_id()))
                .collect();
            return Err(self.unhealthy(format!("alarms raised: {}", raised.join(", "))));
        }
        // etcd's own health check reads the key "health"; a missing key is a fine answer.
        self.call(
            "linearizable read",
            self.client
                .kv_client()
                .get("health", Some(GetOptions::new().with_count_only())),
        )
        .await?;
        let member_id = status.header().map(|h| h.member_id()).unwrap_or_default();
        Ok(Health {
            member_id,
            leader: status.leader(),
            version: status.version().to_string(),
        })
    }

    /// The cluster's members, in etcd's order.
    pub async fn members(&self) -> anyhow::Result<Vec<Member>> {
        let resp = self
            .call("member list", self.client.cluster_client().member_list())
            .await?;
        Ok(resp.members().iter().map(Member::from).collect())
    }

    /// Add a voting member with this peer URL (build it with [`peer_url`]:
    /// `https://<ip>:2380`). When a member with that peer URL already exists (added before,
    /// perhaps never started), it is returned unchanged, as RKE1's `IsEtcdMember` check does.
    /// Start etcd on the node afterwards with `--initial-cluster-state=existing`.
    ///
    /// [`peer_url`]: super::peer_url
    pub async fn add_member(&self, peer_url: &str) -> anyhow::Result<Member> {
        // etcd-client would turn a URL without a scheme into http://, which RKE1's TLS-only
        // peers refuse; insist on https.
        if !peer_url.starts_with("https://") {
            return Err(classified(
                ErrorKind::Etcd,
                format!(
                    "{}: member add {peer_url}: peer URLs must start with https://",
                    self.label
                ),
            ));
        }
        let url = peer_url.to_string();
        if let Some(existing) = self
            .members()
            .await?
            .into_iter()
            .find(|m| m.has_peer_url(&url))
        {
            return Ok(existing);
        }
        let resp = self
            .reconfigure(&format!("member add {url}"), || {
                let mut cluster = self.client.cluster_client();
                let urls = vec![url.clone()];
                async move { cluster.member_add(urls, None).await }
            })
            .await?;
        resp.member().map(Member::from).ok_or_else(|| {
            classified(
                ErrorKind::Etcd,
                format!(
                    "{}: member add {url}: etcd answered without the new member",
                    self.label
                ),
            )
        })
    }

    /// Hand raft leadership to member `target`. Only the current leader accepts this, so
    /// call it on a client connected to the leader.
    pub async fn move_leader(&self, target: u64) -> anyhow::Result<()> {
        self.call(
            &format!("move leader to {target:x}"),
            self.client.maintenance_client().move_leader(target),
        )
        .await?;
        Ok(())
    }

    /// Remove the member with this id.
    pub async fn remove_member(&self, id: u64) -> anyhow::Result<()> {
        self.reconfigure(&format!("member remove {id:x}"), || {
            let mut cluster = self.client.cluster_client();
            async move { cluster.member_remove(id).await }
        })
        .await?;
        Ok(())
    }

    /// Refuse removing the members named in `removing` (`etcd-<host>`) when the voters that
    /// stay could not carry the removals by themselves (see [`check_quorum`]).
    pub async fn quorum_check(&self, removing: &[&str]) -> anyhow::Result<()> {
        let members = self.members().await?;
        check_quorum(&members, removing, &self.label)
    }

    /// A membership change. etcd's strict reconfiguration check answers "unhealthy cluster"
    /// until every member has been connected for a few seconds (right after a start or
    /// another change), so that answer is retried until the deadline; any other is final.
    async fn reconfigure<T, F, Fut>(&self, what: &str, mut attempt: F) -> anyhow::Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, etcd_client::Error>>,
    {
        let deadline = tokio::time::Instant::now() + self.timeout;
        loop {
            match self.call(what, attempt()).await {
                Err(e)
                    if e.to_string().contains(TRANSIENT_RECONFIG)
                        && tokio::time::Instant::now() + RECONFIG_RETRY < deadline =>
                {
                    tokio::time::sleep(RECONFIG_RETRY).await;
                }
                other => return other,
            }
        }
    }

    /// Run one call with the deadline, classifying failures as etcd errors naming the member.
    pub(super) async fn call<T>(
        &self,
        what: &str,
        fut: impl Future<Output = Result<T, etcd_client::Error>>,
    ) -> anyhow::Result<T> {
        match tokio::time::timeout(self.timeout, fut).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(classified(
                ErrorKind::Etcd,
                format!("{}: {what} failed: {}", self.label, source_chain(&e)),
            )),
            Err(_) => Err(classified(
                ErrorKind::Etcd,
                format!(
                    "{}: {what}: no answer within {}s",
                    self.label,
                    self.timeout.as_secs()
                ),
            )),
        }
    }

    fn unhealthy(&self, reason: String) -> anyhow::Error {
        classified(
            ErrorKind::Etcd,
            format!("{}: unhealthy: {reason}", self.label),
        )
    }
}

/// An error and its sources, "outer: inner"; tonic's outer messages alone ("transport error")
/// do not say what went wrong.
fn source_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(s) = cur {
        let text = s.to_string();
        if !parts.last().is_some_and(|p| p.contains(&text)) {
            parts.push(text);
        }
        cur = s.source();
    }
    parts.join(": ")
}
