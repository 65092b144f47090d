//! Files each node holds: certificates and kubeconfigs, rendered configuration, and the
//! workers' proxy configuration. Also which of them a container reads, for its files digest.

mod certs;
mod configs;

pub use configs::registry_credentials;

use super::context::{Cluster, Host};
use super::net::under_prefix;
use super::paths;
use super::proxy::nginx_config;
use super::types::{ContainerSpec, NodeFile, sha256_hex};
use std::collections::{BTreeMap, BTreeSet};

/// Files rendered once per cluster and shared by the nodes that need them.
pub struct ClusterFiles {
    admission: Option<String>,
    audit_policy: Option<String>,
    nginx: String,
    registry: Option<String>,
}

impl ClusterFiles {
    pub fn render(cluster: &Cluster) -> anyhow::Result<ClusterFiles> {
        let api = &cluster.cfg.services.kube_api;
        let admission = if api.extra_args.contains_key("admission-control-config-file") {
            None
        } else {
            Some(configs::admission_config(cluster)?)
        };
        Ok(ClusterFiles {
            admission,
            audit_policy: configs::audit_policy(cluster.cfg)?,
            nginx: nginx_config(cluster),
            registry: registry_credentials(cluster.cfg),
        })
    }
}

fn file(host: &Host, path: &str, contents: &str, mode: u32, secret: bool) -> NodeFile {
    NodeFile {
        path: host.path(path),
        contents: contents.as_bytes().to_vec(),
        mode,
        secret,
        owner: None,
    }
}

/// Every file the node should hold, sorted by path.
pub fn node_files(
    cluster: &Cluster,
    shared: &ClusterFiles,
    host: &Host,
) -> anyhow::Result<Vec<NodeFile>> {
    let mut files = certs::cert_files(cluster, host)?;
    // Cloud configs and webhook kubeconfigs may hold credentials: treat them as secrets.
    if cluster.has_cloud_provider() {
        files.push(file(
            host,
            paths::CLOUD_CONFIG,
            cluster.cloud_config(),
            0o600,
            true,
        ));
    }
    if let Some(registry) = &shared.registry {
        files.push(file(
            host,
            paths::KUBELET_DOCKER_CONFIG,
            registry,
            0o600,
            true,
        ));
    }
    if host.node.is_controlplane() {
        if let Some(admission) = &shared.admission {
            files.push(file(host, paths::ADMISSION_CONFIG, admission, 0o600, false));
        }
        if let Some(policy) = &shared.audit_policy {
            files.push(file(host, paths::AUDIT_POLICY, policy, 0o600, false));
        }
        if !cluster.inputs.encryption_config.is_empty() {
            let text = &cluster.inputs.encryption_config;
            files.push(file(host, paths::ENCRYPTION_CONFIG, text, 0o600, true));
        }
        if let Some(webhook) = &cluster.cfg.authentication.webhook {
            let text = &webhook.config_file;
            files.push(file(host, paths::AUTHN_WEBHOOK_CONFIG, text, 0o600, true));
        }
    } else {
        files.push(file(
            host,
            paths::NGINX_PROXY_CONFIG,
            &shared.nginx,
            0o644,
            false,
        ));
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

/// Node paths named by a container: `/etc/kubernetes/...` in its flags and environment (the
/// same path under `prefix_path` on the node) and the sources of its binds.
fn named_paths(spec: &ContainerSpec, prefix: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for item in spec.args.iter().chain(&spec.env) {
        for token in item.split(['=', ',']) {
            if token.starts_with(paths::KUBERNETES_DIR) {
                out.insert(under_prefix(prefix, token));
            }
        }
    }
    for bind in &spec.binds {
        if let Some(source) = bind.split(':').next() {
            out.insert(source.to_string());
        }
    }
    out
}

/// The files a kubeconfig points at (`certificate-authority`, `client-certificate`,
/// `client-key`).
fn kubeconfig_references(contents: &[u8], prefix: &str) -> Vec<String> {
    let text = String::from_utf8_lossy(contents);
    text.lines()
        .filter_map(|line| {
            let (key, value) = line.trim().split_once(": ")?;
            matches!(
                key,
                "certificate-authority" | "client-certificate" | "client-key"
            )
            .then(|| under_prefix(prefix, value.trim().trim_matches('"')))
        })
        .collect()
}

/// One digest over every node file the container reads, following kubeconfigs to the
/// certificates they name. `also` adds files a component reads by convention (the kubelet's
/// registry credentials). `None` when it reads none of them.
pub fn read_files_digest(
    spec: &ContainerSpec,
    files: &[NodeFile],
    prefix: &str,
    also: &[String],
) -> Option<String> {
    let mut wanted = named_paths(spec, prefix);
    wanted.extend(also.iter().cloned());
    let mut read: BTreeMap<&str, &NodeFile> = BTreeMap::new();
    let mut pending: Vec<String> = wanted.into_iter().collect();
    while let Some(path) = pending.pop() {
        if let Some(f) = files.iter().find(|f| f.path == path)
            && read.insert(&f.path, f).is_none()
        {
            pending.extend(kubeconfig_references(&f.contents, prefix));
        }
    }
    if read.is_empty() {
        return None;
    }
    let mut listing = String::new();
    for (path, f) in read {
        listing.push_str(&format!("{path} {}\n", sha256_hex(&f.contents)));
    }
    Some(sha256_hex(listing.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubeconfig_paths_are_found() {
        let text =
            b"clusters:\n- cluster:\n    certificate-authority: /etc/kubernetes/ssl/kube-ca.pem\n\
            users:\n- user:\n    client-certificate: /etc/kubernetes/ssl/kube-node.pem\n\
            \x20   client-key: /etc/kubernetes/ssl/kube-node-key.pem";
        assert_eq!(
            kubeconfig_references(text, "/opt/rke"),
            [
                "/opt/rke/etc/kubernetes/ssl/kube-ca.pem",
                "/opt/rke/etc/kubernetes/ssl/kube-node.pem",
                "/opt/rke/etc/kubernetes/ssl/kube-node-key.pem"
            ]
        );
    }
}
