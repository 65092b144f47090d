//! The connect phase: every node in parallel (bounded), each checked end to end — SSH, host
//! key, authentication, Docker socket, `docker version` + `docker info`, version policy.
//! Unreachable nodes are reported, never silently dropped (RKE1 dropped them).

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::OnceCell;

use super::auth::{Credentials, KeyLoader};
use super::docker;
use super::error::{NodeError, TimeoutStage, TransportError};
use super::facts::{DockerFacts, DockerVersionCheck};
use super::node::NodeConnection;
use super::session::{self, SshSession};
use super::target::{ConnectOptions, SshTarget};

type BastionKey = (String, u16, String);
type BastionSlot = Arc<OnceCell<Result<Arc<SshSession>, TransportError>>>;

/// Connect to all `targets`. Returns the connected nodes and one error per failed node, both in
/// the order of `targets`. `docker_check` gets each engine's version (e.g. from
/// [`super::supported_docker_versions`]) unless `ignore_docker_version` is set.
pub async fn connect_all(
    targets: &[SshTarget],
    opts: &ConnectOptions,
    docker_check: &DockerVersionCheck,
    ignore_docker_version: bool,
) -> (Vec<NodeConnection>, Vec<NodeError>) {
    connect_all_with(
        targets,
        opts,
        docker_check,
        ignore_docker_version,
        KeyLoader::default(),
    )
    .await
}

/// Connect to one node, without a Docker version policy.
pub async fn connect(
    target: &SshTarget,
    opts: &ConnectOptions,
) -> Result<NodeConnection, NodeError> {
    let (mut ok, mut errors) =
        connect_all(std::slice::from_ref(target), opts, &|_| Ok(()), true).await;
    match (ok.pop(), errors.pop()) {
        (Some(node), _) => Ok(node),
        (None, Some(e)) => Err(e),
        (None, None) => unreachable!("connect_all returns one result per target"),
    }
}

pub(crate) async fn connect_all_with(
    targets: &[SshTarget],
    opts: &ConnectOptions,
    docker_check: &DockerVersionCheck,
    ignore_docker_version: bool,
    mut keys: KeyLoader,
) -> (Vec<NodeConnection>, Vec<NodeError>) {
    // Credentials first, sequentially: a passphrase prompt must not race other connections.
    let mut creds: Vec<Result<(Credentials, Option<Credentials>), TransportError>> = Vec::new();
    for t in targets {
        let node = keys.credentials(&t.name, &t.auth);
        let bastion =
            match &t.bastion {
                None => Ok(None),
                Some(b) => keys.credentials(&b.name, &b.auth).map(Some).map_err(|e| {
                    TransportError::Bastion {
                        node: t.name.clone(),
                        bastion: b.name.clone(),
                        source: Box::new(e),
                    }
                }),
            };
        creds.push(node.and_then(|n| bastion.map(|b| (n, b))));
    }

    // One SSH connection per distinct bastion, shared by all nodes behind it: sshd's
    // MaxStartups would otherwise drop some of many simultaneous handshakes.
    let mut bastions: HashMap<BastionKey, BastionSlot> = HashMap::new();
    for t in targets {
        if let Some(b) = &t.bastion {
            bastions
                .entry((b.address.clone(), b.port, b.user.clone()))
                .or_default();
        }
    }
    let bastions = Arc::new(bastions);

    // In `targets` order, `concurrency` at a time.
    let results = crate::parallel::map(
        targets.iter().zip(creds),
        opts.concurrency,
        |(target, creds)| {
            let bastions = bastions.clone();
            async move {
                match creds {
                    Err(e) => Err(e),
                    Ok((node_creds, bastion_creds)) => {
                        connect_node(
                            target,
                            &node_creds,
                            bastion_creds.as_ref(),
                            &bastions,
                            opts,
                            docker_check,
                            ignore_docker_version,
                        )
                        .await
                    }
                }
            }
        },
    )
    .await;
    let mut nodes = Vec::new();
    let mut errors = Vec::new();
    for result in results {
        match result {
            Ok(n) => nodes.push(n),
            Err(e) => {
                tracing::error!("{e}");
                errors.push(e);
            }
        }
    }
    (nodes, errors)
}

async fn connect_node(
    target: &SshTarget,
    creds: &Credentials,
    bastion_creds: Option<&Credentials>,
    bastions: &HashMap<BastionKey, BastionSlot>,
    opts: &ConnectOptions,
    docker_check: &DockerVersionCheck,
    ignore_docker_version: bool,
) -> Result<NodeConnection, NodeError> {
    let via = match (&target.bastion, bastion_creds) {
        (Some(b), Some(bc)) => {
            let slot = bastions
                .get(&(b.address.clone(), b.port, b.user.clone()))
                .expect("every bastion has a slot");
            let shared = slot
                .get_or_init(|| async { session::open(b, bc, opts, None).await.map(Arc::new) })
                .await;
            match shared {
                Ok(s) => Some(s.clone()),
                Err(e) => {
                    return Err(TransportError::Bastion {
                        node: target.name.clone(),
                        bastion: b.name.clone(),
                        source: Box::new(e.clone()),
                    });
                }
            }
        }
        _ => None,
    };
    let session = Arc::new(session::open(target, creds, opts, via).await?);
    tracing::debug!(node = %target.name, "SSH session established to {}", session.addr);

    let link = docker::connect(session.clone(), &target.docker_socket).await?;
    let info = tokio::time::timeout(opts.timeout, link.docker.info())
        .await
        .map_err(|_| TransportError::Timeout {
            node: target.name.clone(),
            addr: session.addr.clone(),
            secs: opts.timeout.as_secs().max(1),
            stage: TimeoutStage::Docker,
        })?
        .map_err(|e| TransportError::DockerApi {
            node: target.name.clone(),
            context: "docker info".into(),
            reason: e.to_string(),
        })?;
    let facts = DockerFacts::from_api(&link.version, &info, &link.negotiated);
    if !ignore_docker_version && let Err(supported) = docker_check(&facts.server_version) {
        return Err(TransportError::DockerVersionUnsupported {
            node: target.name.clone(),
            version: facts.server_version.clone(),
            supported,
        });
    }
    tracing::info!(
        node = %target.name,
        "connected: Docker {} (API {}), {} {}",
        facts.server_version,
        facts.negotiated_api_version,
        facts.operating_system,
        facts.architecture
    );
    Ok(NodeConnection::new(
        target.address.clone(),
        session,
        link.docker,
        facts,
        info,
        link.version,
    ))
}
