//! Reading what the nodes hold of a cluster (the I/O half of the lost-state check): each
//! node's rke containers, its CA certificate and the snapshot agent's state copy, read through
//! a never-started helper that sees the node's root read-only (so nothing is created on a
//! fresh node), then Secret `kube-system/full-cluster-state` through a control-plane node,
//! with an in-memory admin certificate signed by the CA key that node holds.

use std::time::Duration;

use super::decide::{NodeTraces, SecretLookup};
use crate::certs;
use crate::config::{RkeConfig, RkeConfigNode};
use crate::error::display_chain;
use crate::kube_api::KubeClient;
use crate::provision::node::{observe, read_host_files};
use crate::provision::spec::{AGENT_STATE_FILE, under_prefix};
use crate::transport::NodeConnection;

/// A Secret lookup through one node gives up after this long.
const SECRET_TIMEOUT: Duration = Duration::from_secs(45);

/// One node's traces, plus the CA key of a control-plane node (kept out of the traces: it is
/// only used here, to sign the temporary admin certificate).
pub struct Observed {
    pub traces: NodeTraces,
    ca_key: Option<String>,
    controlplane: bool,
}

/// Read every node's traces, `limit` nodes at a time, in config order.
pub async fn nodes(
    cfg: &RkeConfig,
    nodes: &[(&RkeConfigNode, &NodeConnection)],
    helper_image: &str,
    limit: usize,
) -> Vec<Observed> {
    crate::parallel::map(nodes, limit, |(n, c)| {
        node(n, c, &cfg.prefix_path, helper_image)
    })
    .await
}

async fn node(
    cfg: &RkeConfigNode,
    conn: &NodeConnection,
    prefix: &str,
    helper_image: &str,
) -> Observed {
    let mut observed = Observed {
        traces: NodeTraces {
            node: cfg.hostname_override.clone(),
            ..NodeTraces::default()
        },
        ca_key: None,
        controlplane: cfg.is_controlplane(),
    };
    let traces = &mut observed.traces;
    let containers = match observe(conn).await {
        Ok(c) => c,
        Err(e) => {
            traces.unreadable = Some(format!("listing containers: {}", display_chain(&e)));
            return observed;
        }
    };
    traces.containers = containers.iter().map(|c| c.name.clone()).collect();
    // No image at all: no cluster can have run on this engine.
    let Some(image) = reader_image(conn, helper_image, &containers).await else {
        return observed;
    };
    // Where `rke up` (and RKE1) put them: see provision::spec.
    let paths: Vec<String> = [
        certs::names::cert_path(certs::KUBE_CA),
        certs::names::key_path(certs::KUBE_CA),
        AGENT_STATE_FILE.to_string(),
    ]
    .iter()
    .map(|p| under_prefix(prefix, p))
    .collect();
    match read_host_files(conn, &paths, &image).await {
        Ok(files) => {
            let text = |i: usize| {
                files
                    .get(i)
                    .cloned()
                    .flatten()
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
            };
            traces.ca_cert = text(0);
            traces.agent_state = text(2);
            observed.ca_key = text(1);
        }
        Err(e) => traces.unreadable = Some(display_chain(&e)),
    }
    observed
}

/// An image present on the node to create the reading helper from (it is never started):
/// the helper image, else one a cluster container runs, else any. No pull: looking must not
/// change the node.
async fn reader_image(
    conn: &NodeConnection,
    helper_image: &str,
    containers: &[crate::provision::node::ObservedContainer],
) -> Option<String> {
    if conn.docker().inspect_image(helper_image).await.is_ok() {
        return Some(helper_image.to_string());
    }
    if let Some(c) = containers.iter().find(|c| !c.image.is_empty()) {
        return Some(c.image.clone());
    }
    let images = conn
        .docker()
        .list_images(None::<bollard::query_parameters::ListImagesOptions>)
        .await
        .ok()?;
    images
        .into_iter()
        .find_map(|i| i.repo_tags.into_iter().find(|t| t != "<none>:<none>"))
}

/// Ask the API for the state Secret through each control-plane node holding the CA key, until
/// one answers.
pub async fn secret(observed: &[Observed], conns: &[&NodeConnection]) -> SecretLookup {
    let mut errors = Vec::new();
    for (o, conn) in observed.iter().zip(conns) {
        if !o.controlplane {
            continue;
        }
        let (Some(ca), Some(key)) = (&o.traces.ca_cert, &o.ca_key) else {
            continue;
        };
        let name = &o.traces.node;
        let attempt = async {
            let bundle = certs::admin_from_ca(ca, key)?;
            let client = KubeClient::connect(conn, "127.0.0.1", &bundle).await?;
            client.read_state().await
        };
        match tokio::time::timeout(SECRET_TIMEOUT, attempt).await {
            Ok(Ok(Some(json))) => {
                return SecretLookup::Found {
                    json,
                    via: name.clone(),
                };
            }
            Ok(Ok(None)) => errors.push(format!("{name}: the cluster has no such Secret")),
            Ok(Err(e)) => errors.push(format!("{name}: {}", display_chain(&e))),
            Err(_) => errors.push(format!(
                "{name}: no answer within {} s",
                SECRET_TIMEOUT.as_secs()
            )),
        }
    }
    if errors.is_empty() {
        SecretLookup::NotTried(
            "no control-plane node holds /etc/kubernetes/ssl/kube-ca.pem and its key".into(),
        )
    } else {
        SecretLookup::Failed(errors)
    }
}
